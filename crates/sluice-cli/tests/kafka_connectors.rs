//! Connectors on Apache Kafka: servers of one service share the command
//! topic, so each runs the connectors declared there; a source task runs on
//! one server only (its group over the offsets topic places it) and goes on
//! from the offsets stored with its records, and a sink reads its topic as
//! consumer group `connect-<name>`.

mod common;

use common::ServerProcess as Server;

use std::time::{Duration, Instant};

use serde_json::Value;
use sluice_log::Log;
use sluice_testkit::kafka::KafkaCluster;

fn start(cluster: &KafkaCluster, dir: &std::path::Path) -> Server {
    let port = sluice_testkit::free_port();
    let (child, _) = common::spawn_kafka_server(
        &cluster.bootstrap_servers(),
        port,
        "conn_",
        &dir.join("data"),
        &["--set", "connect.listeners=none"],
    );
    Server(child, format!("127.0.0.1:{port}"))
}

fn ksql(server: &Server, sql: &str) -> Value {
    common::post_ksql(&format!("http://{}", server.1), sql)
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let until = Instant::now() + Duration::from_secs(120);
    while !done() {
        assert!(Instant::now() < until, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn task_state(server: &Server, connector: &str) -> String {
    let body = ksql(server, &format!("DESCRIBE CONNECTOR {connector};"));
    body[0]["status"]["tasks"][0]["state"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn a_source_runs_once_among_the_servers_of_a_service_and_a_sink_reads_its_topic() {
    let cluster = KafkaCluster::start();
    let log = sluice_log::KafkaLog::connect(&cluster.properties()).unwrap();
    let records = |topic: &str| -> i64 {
        if !log.topic_exists(topic).unwrap_or(false) {
            return 0;
        }
        log.end_offsets(topic).unwrap().iter().sum()
    };
    let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = start(&cluster, a_dir.path());
    ksql(
        &a,
        "CREATE SOURCE CONNECTOR gen WITH ('connector.class'='DatagenConnector', \
         'kafka.topic'='orders', 'quickstart'='orders', 'max.interval'='0', 'iterations'='300');",
    );
    ksql(
        &a,
        "CREATE SOURCE CONNECTOR ticker WITH ('connector.class'='DatagenConnector', \
         'kafka.topic'='views', 'quickstart'='pageviews', 'max.interval'='20');",
    );
    wait_for("300 generated orders", || records("orders") >= 300);
    wait_for("the datagen task to finish", || {
        task_state(&a, "gen") == "FAILED"
    });

    // a second server of the service runs the connector from the command
    // topic: it goes on from the stored offsets, so it adds nothing
    let b = start(&cluster, b_dir.path());
    wait_for("the connector on the second server", || {
        let state = task_state(&b, "gen");
        state == "FAILED" || state == "UNASSIGNED"
    });
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(records("orders"), 300, "each order generated once");
    // a task that keeps running runs on one of the two servers at a time
    wait_for("the ticker placed on one server", || {
        let mut states = [task_state(&a, "ticker"), task_state(&b, "ticker")];
        states.sort();
        states == ["RUNNING", "UNASSIGNED"]
    });
    let before = records("views");
    wait_for("views still flowing", || records("views") > before + 20);

    // a sink on Kafka: every record of the topic once into its file
    let out = a_dir.path().join("orders.txt");
    ksql(
        &a,
        &format!(
            "CREATE SINK CONNECTOR orders_file WITH ('connector.class'='FileStreamSink', \
             'topics'='orders', 'file'='{}');",
            out.display()
        ),
    );
    wait_for("300 lines", || {
        std::fs::read_to_string(&out).map_or(0, |t| t.lines().count()) >= 300
    });
    let text = std::fs::read_to_string(&out).unwrap();
    // each order once: they differ by their orderid
    let distinct: std::collections::BTreeSet<&str> = text.lines().collect();
    assert_eq!((text.lines().count(), distinct.len()), (300, 300));
    let committed = log.committed("connect-ORDERS_FILE", "orders").unwrap();
    assert_eq!(
        committed.iter().flatten().sum::<i64>(),
        300,
        "the sink's group committed its reads"
    );
}
