//! Sluice against Kafka Streams, its fairest peer (ksqlDB runs on it), on one
//! Apache Kafka broker in one run, per CPU-second of each engine's process.
//!
//! Queries, over the same input topic of wide JSON bids:
//! * stateless: `SELECT auction, bidder, price * 0.908 AS price_eur, ROWTIME AS ts FROM bids`
//! * aggregate: `SELECT auction, COUNT(*) AS n, MAX(price) AS max_price FROM bids GROUP BY auction`
//!
//! Sluice runs as `sluice server` (the release binary) with the queries
//! submitted over REST; Kafka Streams as the Java application under
//! `benches/kafka-streams` (built here with Maven), configured as ksqlDB
//! configures Kafka Streams (at_least_once, 10 MB record cache, 2 s commit
//! interval, one stream thread). Each engine first runs the query over a
//! warm-up input (the JVM's JIT compiles its hot paths; Sluice does the same
//! work for symmetry), then over the measured input; the figure is input
//! records per CPU-second of the engine's own process (user + system time of
//! all its threads, from /proc), broker excluded, between the start of the
//! measured run and the moment its whole output is in the output topic.
//!
//! Run: `cargo bench --bench peer` (`SLUICE_BENCH_EVENTS`, default 1,000,000;
//! `SLUICE_BENCH_WARMUP`, default 200,000).

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sluice_engine::log::{KafkaLog, Log, TopicSpec};
use sluice_testkit::kafka::{KafkaCluster, KafkaOptions};

const STATELESS: &str = "SELECT auction, bidder, price * 0.908 AS price_eur, ROWTIME AS ts FROM";
const AGGREGATE: &str =
    "SELECT auction, COUNT(*) AS n, MAX(price) AS max_price FROM {input} GROUP BY auction";

/// CPU seconds (user + system, every thread) a process has used so far.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("/proc/PID/stat");
    // fields after the parenthesised command name; utime and stime are 14 and 15
    let rest = &stat[stat.rfind(')').expect("comm") + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks / clock_ticks()
}

fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

/// One measured run: records, CPU seconds of the engine, wall seconds.
struct Measured {
    records: usize,
    cpu: f64,
    wall: f64,
}

impl Measured {
    fn per_cpu_second(&self) -> f64 {
        self.records as f64 / self.cpu
    }
}

use common::SluiceServer;

/// `sluice server` on Kafka, for the measured runs.
fn sluice_server(bootstrap: &str) -> SluiceServer {
    SluiceServer::start(&[
        "--bootstrap-servers",
        bootstrap,
        "--set",
        "ksql.service.id=peer_",
        "--set",
        "auto.offset.reset=earliest",
    ])
}

/// Runs `CREATE ... AS <select over input>` on `server` and waits until the
/// query has committed its whole input (its output is written before each
/// commit); then terminates it, so no idle query polls during the next run.
fn run_query(
    server: &SluiceServer,
    log: &KafkaLog,
    create: &str,
    select: &str,
    input: &str,
) -> Measured {
    let pid = server.child.id();
    let end: i64 = log.end_offsets(input).expect("input ends").iter().sum();
    let (cpu0, t0) = (cpu_seconds(pid), Instant::now());
    let created = server.ksql(&format!("{create} AS {select};"));
    let id = created[0]["commandStatus"]["queryId"]
        .as_str()
        .unwrap_or_else(|| panic!("a query id: {created}"))
        .to_string();
    let group = format!("_confluent-ksql-peer_query_{id}");
    loop {
        let committed: i64 = log
            .committed(&group, input)
            .expect("committed offsets")
            .iter()
            .map(|o| o.unwrap_or(0))
            .sum();
        if committed >= end {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let measured = Measured {
        records: end as usize,
        cpu: cpu_seconds(pid) - cpu0,
        wall: t0.elapsed().as_secs_f64(),
    };
    server.ksql(&format!("TERMINATE {id};"));
    measured
}

/// Builds the Kafka Streams application's jar with Maven; its path.
fn kafka_streams_jar() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../benches/kafka-streams");
    let out = Command::new("mvn")
        .args(["-q", "-B", "package"])
        .current_dir(&dir)
        .output()
        .expect("run mvn");
    assert!(
        out.status.success(),
        "building the Kafka Streams peer failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    dir.join("target/kafka-streams-peer.jar")
}

/// Runs the Kafka Streams application over `input` (a warm-up over its first
/// `warmup` records, then the measured run over all of it).
fn kafka_streams(
    jar: &Path,
    bootstrap: &str,
    query: &str,
    input: &str,
    records: usize,
    warmup: usize,
) -> Measured {
    let app = format!("ks-{query}-{}", std::process::id());
    let mut child = Command::new(sluice_testkit::kafka::java())
        .args(["-Xms1g", "-Xmx1g", "-jar"])
        .arg(jar)
        .args(["--bootstrap", bootstrap, "--query", query, "--input", input])
        .args(["--output", &format!("{app}-out"), "--app-id", &app])
        .args(["--expect", &records.to_string(), "--threads", "1"])
        .args(["--warmup", &warmup.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the Kafka Streams peer");
    let pid = child.id();
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut start = None;
    let mut done = None;
    for line in lines.by_ref() {
        let line = line.expect("peer stdout");
        if line == "STARTED" {
            start = Some((cpu_seconds(pid), Instant::now()));
        } else if line.starts_with("DONE ") {
            done = Some((cpu_seconds(pid), Instant::now()));
            break;
        }
    }
    let status = child.wait().expect("peer exit");
    let ((cpu0, t0), (cpu1, t1)) = match (start, done) {
        (Some(s), Some(d)) => (s, d),
        _ => panic!("the Kafka Streams peer ended without finishing ({status})"),
    };
    Measured {
        records,
        cpu: cpu1 - cpu0,
        wall: (t1 - t0).as_secs_f64(),
    }
}

fn main() {
    let n = common::env_usize("SLUICE_BENCH_EVENTS", 1_000_000);
    let warmup = common::env_usize("SLUICE_BENCH_WARMUP", 200_000);
    let jar = kafka_streams_jar();
    let cluster = KafkaCluster::start_with(KafkaOptions {
        heap_mb: 1024,
        ..KafkaOptions::default()
    });
    let bootstrap = cluster.bootstrap_servers();
    let log = Arc::new(KafkaLog::connect(&cluster.properties()).expect("connect"));
    for (topic, count) in [("bids", n), ("bids_warmup", warmup)] {
        log.create_topic(&TopicSpec::new(topic, 1)).expect("topic");
        for chunk in common::wide_bids(count).chunks(20_000) {
            log.produce(topic, chunk.iter().cloned().map(|r| (Some(0), r)).collect())
                .expect("load input");
        }
    }
    let server = sluice_server(&bootstrap);
    let columns =
        "(auction BIGINT, bidder BIGINT, price DOUBLE, channel STRING, url STRING, extra STRING)";
    for input in ["bids", "bids_warmup"] {
        server.ksql(&format!(
            "CREATE STREAM {input} {columns} WITH (kafka_topic='{input}', value_format='JSON');"
        ));
    }

    println!(
        "Sluice vs Kafka Streams {} on one Apache Kafka {} broker (loopback), {n} JSON bids \
         after {warmup} of warm-up, one thread each",
        kafka_streams_version(),
        sluice_testkit::kafka::kafka_version()
    );
    println!(
        "  {:<10} {:<14} {:>14} {:>12} {:>8}",
        "query", "engine", "records/CPU-s", "records/s", "CPU s"
    );
    let stateless = format!("{STATELESS} {{input}}");
    for (query, create, select) in [
        ("stateless", "CREATE STREAM", stateless.as_str()),
        ("aggregate", "CREATE TABLE", AGGREGATE),
    ] {
        let warm = select.replace("{input}", "bids_warmup");
        run_query(
            &server,
            &log,
            &format!("{create} warm_{query}"),
            &warm,
            "bids_warmup",
        );
        let sluice = run_query(
            &server,
            &log,
            &format!("{create} out_{query}"),
            &select.replace("{input}", "bids"),
            "bids",
        );
        let peer = kafka_streams(&jar, &bootstrap, query, "bids", n, warmup);
        for (engine, m) in [("sluice", &sluice), ("kafka-streams", &peer)] {
            println!(
                "  {query:<10} {engine:<14} {:>14.0} {:>12.0} {:>8.2}",
                m.per_cpu_second(),
                m.records as f64 / m.wall,
                m.cpu
            );
        }
        println!(
            "  {query:<10} ratio sluice/kafka-streams per CPU-second: {:.2}",
            sluice.per_cpu_second() / peer.per_cpu_second()
        );
    }
}

/// The Kafka Streams version the peer is built with (from its pom).
fn kafka_streams_version() -> String {
    let pom = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../benches/kafka-streams/pom.xml"),
    )
    .unwrap_or_default();
    pom.split("<kafka.version>")
        .nth(1)
        .and_then(|r| r.split('<').next())
        .unwrap_or("?")
        .to_string()
}
