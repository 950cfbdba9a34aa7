//! Servers of one service on one Apache Kafka cluster know each other:
//! `/clusterStatus` on any of them lists them all; they share a stateful
//! query by partition, and when one is SIGKILLed the others take its
//! partitions and its state over and count on exactly.

mod common;

use std::process::Child;
use std::time::{Duration, Instant};

use serde_json::Value;
use sluice_testkit::kafka::KafkaCluster;

struct Server(Child, String);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(cluster: &KafkaCluster, dir: &std::path::Path) -> Server {
    start_with(cluster, dir, &[])
}

/// A server of the `pair_` service on `cluster`, with `extra` arguments.
fn start_with(cluster: &KafkaCluster, dir: &std::path::Path, extra: &[&str]) -> Server {
    let port = sluice_testkit::free_port();
    let (child, _) = common::spawn_kafka_server(
        &cluster.bootstrap_servers(),
        port,
        "pair_",
        &dir.join("data"),
        extra,
    );
    Server(child, format!("127.0.0.1:{port}"))
}

fn ksql(server: &Server, sql: &str) {
    let resp = reqwest::blocking::Client::new()
        .post(format!("http://{}/ksql", server.1))
        .body(serde_json::json!({ "ksql": sql }).to_string())
        .send()
        .expect("POST /ksql");
    let status = resp.status();
    let text = resp.text().unwrap_or_default();
    assert!(status.is_success(), "{sql}: {status} {text}");
}

/// The count of every id of the COUNTS table, by a pull query on `server`.
fn counts(server: &Server) -> std::collections::BTreeMap<i64, i64> {
    let Ok(resp) = reqwest::blocking::Client::new()
        .post(format!("http://{}/query", server.1))
        .body(r#"{"ksql": "SELECT id, n FROM counts;"}"#)
        .send()
    else {
        return Default::default();
    };
    let rows: Value = resp.json().unwrap_or(Value::Null);
    rows.as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| {
            let c = &r["row"]["columns"];
            Some((c[0].as_i64()?, c[1].as_i64()?))
        })
        .collect()
}

/// Records the query has read on `server` since it started (`/metrics`).
fn consumed(server: &Server) -> u64 {
    let text = reqwest::blocking::get(format!("http://{}/metrics", server.1))
        .and_then(|r| r.text())
        .unwrap_or_default();
    text.lines()
        .filter(|l| l.starts_with("sluice_query_records_consumed_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

fn cluster_status(server: &Server) -> Vec<String> {
    let v: Value = reqwest::blocking::get(format!("http://{}/clusterStatus", server.1))
        .expect("GET /clusterStatus")
        .json()
        .expect("JSON");
    let hosts = v["clusterStatus"].as_object().expect("clusterStatus");
    for h in hosts.values() {
        assert_eq!(h["hostAlive"], true);
    }
    hosts.keys().cloned().collect()
}

#[test]
fn cluster_status_lists_every_server_of_the_service() {
    let cluster = KafkaCluster::start();
    let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = start(&cluster, a_dir.path());
    let b = start(&cluster, b_dir.path());
    let mut want = vec![a.1.clone(), b.1.clone()];
    want.sort();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (seen_a, seen_b) = (cluster_status(&a), cluster_status(&b));
        if (seen_a == want && seen_b == want) || Instant::now() > deadline {
            assert_eq!(seen_a, want);
            assert_eq!(seen_b, want);
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[test]
fn three_servers_share_a_stateful_query_and_count_on_exactly_when_one_is_sigkilled() {
    let cluster = KafkaCluster::start();
    let dirs: Vec<tempfile::TempDir> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    // a member that vanishes is noticed within seconds
    let extra = [
        "--set",
        "session.timeout.ms=6000",
        "--set",
        "heartbeat.interval.ms=500",
        "--set",
        "auto.offset.reset=earliest",
    ];
    let a = start_with(&cluster, dirs[0].path(), &extra);
    ksql(
        &a,
        "CREATE STREAM src (id INT KEY, v INT) WITH (kafka_topic='src', value_format='JSON', partitions=6);
         CREATE TABLE counts AS SELECT id, COUNT(*) AS n FROM src GROUP BY id;",
    );
    let mut servers = vec![
        a,
        start_with(&cluster, dirs[1].path(), &extra),
        start_with(&cluster, dirs[2].path(), &extra),
    ];
    let insert_round = |server: &Server| {
        let rows: Vec<String> = (0..20)
            .map(|id| format!("INSERT INTO src (id, v) VALUES ({id}, 1);"))
            .collect();
        ksql(server, &rows.join("\n"));
    };
    let wait_for = |server: &Server, round: i64| {
        let want: std::collections::BTreeMap<i64, i64> = (0..20).map(|id| (id, round)).collect();
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            let got = counts(server);
            if got == want {
                return;
            }
            assert!(Instant::now() < deadline, "round {round}: counts {got:?}");
            std::thread::sleep(Duration::from_millis(300));
        }
    };
    // every server joins the query's group before the first records
    std::thread::sleep(Duration::from_secs(5));
    for round in 1..=3 {
        insert_round(&servers[0]);
        wait_for(&servers[0], round);
    }
    let read: Vec<u64> = servers.iter().map(consumed).collect();
    assert!(
        read.iter().all(|n| *n > 0),
        "records read per server: {read:?}"
    );
    // SIGKILL one: no leave, no commit; the others notice it gone, take its
    // partitions and restore their state from the changelog
    drop(servers.remove(1));
    for round in 4..=5 {
        insert_round(&servers[0]);
        wait_for(&servers[1], round);
    }
}
