//! How fast a statement run on one server of a service applies on another
//! (they follow the command topic), on one Apache Kafka broker: two `sluice
//! server`s (release binary), ten rounds of each, p50 and max.
//!
//! * `CREATE STREAM` on the first until `SHOW STREAMS` on the second lists it;
//! * `CREATE STREAM ... AS SELECT` on the first until `SHOW QUERIES` on the
//!   second lists it RUNNING;
//! * `ALTER SYSTEM` on the second until `SHOW PROPERTIES` on the first shows it.
//!
//! Baseline in the same run: the same `SHOW` on the server that ran the
//! statement (what a client sees without another server involved).
//!
//! Run: `cargo bench --bench command_topic` (`SLUICE_BENCH_ROUNDS`, default 10).

mod common;

use std::time::{Duration, Instant};

use common::{env_usize, SluiceServer};
use sluice_testkit::kafka::KafkaCluster;

/// Polls `check` every 5 ms until it holds; how long that took.
fn until(mut check: impl FnMut() -> bool) -> Duration {
    let started = Instant::now();
    while !check() {
        assert!(started.elapsed() < Duration::from_secs(60), "never applied");
        std::thread::sleep(Duration::from_millis(5));
    }
    started.elapsed()
}

fn lists(server: &SluiceServer, show: &str, needle: &str) -> bool {
    server.ksql(show).to_string().contains(needle)
}

fn p50_max(mut times: Vec<Duration>) -> String {
    times.sort();
    format!(
        "p50 {:>6.1} ms  max {:>6.1} ms",
        times[times.len() / 2].as_secs_f64() * 1000.0,
        times[times.len() - 1].as_secs_f64() * 1000.0
    )
}

fn main() {
    let rounds = env_usize("SLUICE_BENCH_ROUNDS", 10);
    let cluster = KafkaCluster::start();
    let bootstrap = cluster.bootstrap_servers();
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let start = |dir: &tempfile::TempDir| {
        let data = dir.path().join("data");
        SluiceServer::start(&[
            "--bootstrap-servers",
            &bootstrap,
            "--set",
            "ksql.service.id=bench_",
            "--set",
            "connect.listeners=none",
            "--data-dir",
            data.to_str().unwrap(),
        ])
    };
    let (a, b) = (start(&dirs[0]), start(&dirs[1]));
    let mut here = Vec::new();
    let mut there = Vec::new();
    let mut query_there = Vec::new();
    let mut system_there = Vec::new();
    for i in 0..rounds {
        let name = format!("S{i}");
        a.ksql(&format!(
            "CREATE STREAM {name} (k STRING KEY, v INT) WITH (kafka_topic='{name}', value_format='JSON', partitions=2);"
        ));
        let needle = format!("\"{name}\"");
        here.push(until(|| lists(&a, "SHOW STREAMS;", &needle)));
        there.push(until(|| lists(&b, "SHOW STREAMS;", &needle)));
        a.ksql(&format!("CREATE STREAM C{i} AS SELECT * FROM {name};"));
        let id = format!("CSAS_C{i}_");
        query_there.push(until(|| {
            let shown = b.ksql("SHOW QUERIES;").to_string();
            shown.contains(&id) && shown.contains("RUNNING")
        }));
        b.ksql(&format!("ALTER SYSTEM 'ksql.bench.round'='{i}';"));
        let round = i.to_string();
        system_there.push(until(|| {
            a.ksql("SHOW PROPERTIES;")[0]["properties"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|p| p["name"] == "ksql.bench.round" && p["value"] == round.as_str())
        }));
    }
    println!("Statements across two servers on one Apache Kafka broker, {rounds} rounds (release)");
    println!(
        "baseline, SHOW STREAMS on the server that ran it:  {}",
        p50_max(here)
    );
    println!(
        "CREATE STREAM listed on the other server:          {}",
        p50_max(there)
    );
    println!(
        "CREATE STREAM AS SELECT running on the other:      {}",
        p50_max(query_there)
    );
    println!(
        "ALTER SYSTEM shown by the other server:            {}",
        p50_max(system_there)
    );
}
