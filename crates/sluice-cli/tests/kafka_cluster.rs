//! Servers of one service on one Apache Kafka cluster know each other:
//! `/clusterStatus` on any of them lists them all; a statement on one is
//! applied by the others while they run (the command topic); they share stateful
//! queries by partition (grouped by the key, and grouped by a value through
//! a repartition topic), and when one is SIGKILLed the others take its
//! partitions and its state over and count on exactly.

mod common;

use common::ServerProcess as Server;

use std::time::{Duration, Instant};

use serde_json::Value;
use sluice_testkit::kafka::KafkaCluster;

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
    common::post_ksql(&format!("http://{}", server.1), sql);
}

/// The count of every key of `table` (`SELECT <key>, n FROM table`), by a
/// pull query on `server`, keys as text.
fn counts(server: &Server, key: &str, table: &str) -> std::collections::BTreeMap<String, i64> {
    common::pull_rows(&server.1, &format!("SELECT {key}, n FROM {table};"))
        .iter()
        .filter_map(|c| {
            let k = match c.first()? {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            Some((k, c.get(1)?.as_i64()?))
        })
        .collect()
}

/// Records the queries whose id contains `query` have read on `server`
/// since it started (`/metrics`).
fn consumed(server: &Server, query: &str) -> u64 {
    let text = reqwest::blocking::get(format!("http://{}/metrics", server.1))
        .and_then(|r| r.text())
        .unwrap_or_default();
    text.lines()
        .filter(|l| l.starts_with("sluice_query_records_consumed_total{") && l.contains(query))
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

/// Names listed by `SHOW <what>` on `server` (`streams`, `queries`: the
/// entity's array and the field naming each).
fn listed(server: &Server, what: &str, array: &str, field: &str) -> Vec<String> {
    let body = common::post_ksql(&format!("http://{}", server.1), &format!("SHOW {what};"));
    body[0][array]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e[field].as_str().map(str::to_string))
        .collect()
}

/// Waits (generously) until `check` holds.
fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn two_servers_list_each_other_and_apply_each_others_statements_live() {
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

    // a statement on one server reaches the other while both run; its
    // commandSequenceNumber (its offset in the command topic) makes a
    // request to the other wait until it applied it
    let (url_a, url_b) = (format!("http://{}", a.1), format!("http://{}", b.1));
    let created = common::post_ksql(
        &url_a,
        "CREATE STREAM live (k STRING KEY, v INT) WITH (kafka_topic='live', value_format='JSON', partitions=2);",
    );
    let seq = created[0]["commandSequenceNumber"]
        .as_i64()
        .expect("a sequence number");
    let (status, shown) = common::post_ksql_request(
        &url_b,
        serde_json::json!({"ksql": "SHOW STREAMS;", "commandSequenceNumber": seq}),
    );
    assert_eq!(status, 200, "{shown}");
    assert!(shown.to_string().contains("\"LIVE\""), "{shown}");
    // a query created on the second runs on both
    ksql(
        &b,
        "CREATE TABLE live_counts AS SELECT k, COUNT(*) AS n FROM live GROUP BY k;",
    );
    eventually("the query on the first server", || {
        listed(&a, "QUERIES", "queries", "id").contains(&"CTAS_LIVE_COUNTS_0".to_string())
    });
    for v in 0..6 {
        ksql(
            &a,
            &format!("INSERT INTO live (k, v) VALUES ('k{}', {v});", v % 2),
        );
    }
    let want: std::collections::BTreeMap<String, i64> =
        [("k0".to_string(), 3), ("k1".to_string(), 3)].into();
    eventually("the counts", || counts(&b, "k", "live_counts") == want);
    // terminated on the first, gone from the second
    ksql(&a, "TERMINATE CTAS_LIVE_COUNTS_0;");
    eventually("the query gone from the second server", || {
        listed(&b, "QUERIES", "queries", "id").is_empty()
    });
    // a system property changed on the second is the first's too
    ksql(&b, "ALTER SYSTEM 'ksql.live.check'='on';");
    eventually("the system property on the first server", || {
        let body = common::post_ksql(&url_a, "SHOW PROPERTIES;");
        body[0]["properties"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|p| p["name"] == "ksql.live.check" && p["value"] == "on")
    });
    // a sequence number no server reached: ksqlDB's refusal after the
    // response timeout
    let (status, body) = common::post_ksql_request(
        &url_b,
        serde_json::json!({"ksql": "SHOW STREAMS;", "commandSequenceNumber": seq + 1000}),
    );
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error_code"], 50301);
    assert_eq!(
        body["message"],
        format!(
            "Timed out while waiting for a previous command to execute. command sequence number: {}",
            seq + 1000
        )
    );
}

#[test]
fn three_servers_share_stateful_queries_and_count_on_exactly_when_one_is_sigkilled() {
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
        "CREATE STREAM src (id INT KEY, v INT, region STRING) WITH (kafka_topic='src', value_format='JSON', partitions=6);
         CREATE TABLE counts AS SELECT id, COUNT(*) AS n FROM src GROUP BY id;
         CREATE TABLE by_region AS SELECT region, COUNT(*) AS n FROM src GROUP BY region;",
    );
    let mut servers = vec![
        a,
        start_with(&cluster, dirs[1].path(), &extra),
        start_with(&cluster, dirs[2].path(), &extra),
    ];
    let insert_round = |server: &Server| {
        let rows: Vec<String> = (0..20)
            .map(|id| {
                format!(
                    "INSERT INTO src (id, v, region) VALUES ({id}, 1, 'r{}');",
                    id % 5
                )
            })
            .collect();
        ksql(server, &rows.join("\n"));
    };
    let wait_for = |server: &Server, round: i64| {
        let per_id: std::collections::BTreeMap<String, i64> =
            (0..20).map(|id| (id.to_string(), round)).collect();
        let per_region: std::collections::BTreeMap<String, i64> =
            (0..5).map(|r| (format!("r{r}"), 4 * round)).collect();
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            let got = (
                counts(server, "id", "counts"),
                counts(server, "region", "by_region"),
            );
            if got == (per_id.clone(), per_region.clone()) {
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
    // each server reads some partitions of each query (the value-grouped
    // one's of the source and of its repartition topic)
    for query in ["CTAS_COUNTS", "CTAS_BY_REGION"] {
        let read: Vec<u64> = servers.iter().map(|s| consumed(s, query)).collect();
        assert!(
            read.iter().all(|n| *n > 0),
            "{query}: records read per server: {read:?}"
        );
    }
    // SIGKILL one: no leave, no commit; the others notice it gone, take its
    // partitions and restore their state from the changelog
    drop(servers.remove(1));
    for round in 4..=5 {
        insert_round(&servers[0]);
        wait_for(&servers[1], round);
    }
}
