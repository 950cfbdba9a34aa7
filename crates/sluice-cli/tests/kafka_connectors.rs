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
    // a batch's offsets are committed once the task has flushed it, which
    // follows its write: wait for that
    wait_for("the sink's group to commit its reads", || {
        let committed = log.committed("connect-ORDERS_FILE", "orders").unwrap();
        committed.iter().flatten().sum::<i64>() == 300
    });
}

/// `ksql.connect.url` naming another Connect cluster (Apache Kafka's own
/// worker, a JVM): connector statements go there as ksqlDB sends them, and
/// its connectors are what SHOW, DESCRIBE and DROP see.
#[test]
fn connector_statements_go_to_the_connect_cluster_ksql_connect_url_names() {
    let cluster = KafkaCluster::shared();
    let worker = sluice_testkit::connect::ConnectWorker::start(cluster);
    let dir = tempfile::tempdir().unwrap();
    let port = sluice_testkit::free_port();
    let connect_url = format!("ksql.connect.url={}", worker.url());
    let (child, _) = common::spawn_kafka_server(
        &cluster.bootstrap_servers(),
        port,
        "extconn_",
        &dir.path().join("data"),
        &["--set", "connect.listeners=none", "--set", &connect_url],
    );
    let server = Server(child, format!("127.0.0.1:{port}"));
    let base = format!("http://{}", server.1);
    let post = |sql: &str| common::post_ksql_answer(&base, sql);
    let input = dir.path().join("lines.txt");
    std::fs::write(&input, "first\nsecond\nthird\n").unwrap();
    let created = ksql(
        &server,
        &format!(
            "CREATE SOURCE CONNECTOR lines_in WITH ( \
               'connector.class'='org.apache.kafka.connect.file.FileStreamSourceConnector', \
               'file'='{}', 'topic'='extconn_lines', \
               'value.converter'='org.apache.kafka.connect.storage.StringConverter');",
            input.display()
        ),
    );
    assert_eq!(created[0]["@type"], "connector_info", "{created}");
    assert_eq!(created[0]["info"]["name"], "LINES_IN", "{created}");
    // the worker has it, not Sluice
    let on_worker: Value = reqwest::blocking::get(format!("{}/connectors", worker.url()))
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(on_worker, serde_json::json!(["LINES_IN"]));
    let log = sluice_log::KafkaLog::connect(&cluster.properties()).unwrap();
    wait_for("three lines on the topic", || {
        log.topic_exists("extconn_lines").unwrap_or(false)
            && log
                .end_offsets("extconn_lines")
                .unwrap()
                .iter()
                .sum::<i64>()
                >= 3
    });
    let values: Vec<String> = common::fetch_topic(&log, "extconn_lines")
        .iter()
        .map(|r| String::from_utf8(r.record.value.clone().unwrap()).unwrap())
        .collect();
    assert_eq!(values, vec!["first", "second", "third"]);
    // a stream of this server over its topic
    ksql(
        &server,
        "CREATE STREAM lines (line STRING) WITH (KAFKA_TOPIC='extconn_lines', VALUE_FORMAT='KAFKA');",
    );
    wait_for("the connector listed as running", || {
        let listed = ksql(&server, "SHOW CONNECTORS;");
        listed[0]["connectors"][0]["state"] == "RUNNING (1/1 tasks RUNNING)"
    });
    let listed = ksql(&server, "SHOW SOURCE CONNECTORS;");
    assert_eq!(listed[0]["connectors"][0]["name"], "LINES_IN", "{listed}");
    assert_eq!(
        listed[0]["connectors"][0]["className"],
        "org.apache.kafka.connect.file.FileStreamSourceConnector",
        "{listed}"
    );
    let described = ksql(&server, "DESCRIBE CONNECTOR lines_in;");
    assert_eq!(
        described[0]["@type"], "connector_description",
        "{described}"
    );
    assert_eq!(
        described[0]["status"]["connector"]["state"], "RUNNING",
        "{described}"
    );
    wait_for("the connector's topic and the stream over it", || {
        let d = ksql(&server, "DESCRIBE CONNECTOR lines_in;");
        d[0]["topics"] == serde_json::json!(["extconn_lines"])
            && d[0]["sources"][0]["name"] == "LINES"
    });
    let plugins = ksql(&server, "SHOW CONNECTOR PLUGINS;");
    assert!(
        plugins[0]["connectorsPlugins"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["className"] == "org.apache.kafka.connect.file.FileStreamSinkConnector"),
        "{plugins}"
    );
    // Connect's own refusals, as ksqlDB passes them on
    let (status, body) =
        post("CREATE SOURCE CONNECTOR nope WITH ('connector.class'='com.acme.Nope');");
    assert_eq!(status, 400, "{body}");
    let message = body["message"].as_str().unwrap();
    assert!(
        message.starts_with("Validation error: ") && message.contains("com.acme.Nope"),
        "{message}"
    );
    let (status, body) = post(&format!(
        "CREATE SOURCE CONNECTOR lines_in WITH ('connector.class'='FileStreamSource', 'file'='{}', 'topic'='x');",
        input.display()
    ));
    assert_eq!(status, 409, "{body}");
    assert_eq!(
        body["message"], "Connector LINES_IN already exists",
        "{body}"
    );
    // dropped there too
    let dropped = ksql(&server, "DROP CONNECTOR lines_in;");
    assert_eq!(dropped[0]["@type"], "drop_connector", "{dropped}");
    let on_worker: Value = reqwest::blocking::get(format!("{}/connectors", worker.url()))
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(on_worker, serde_json::json!([]));
    let (status, body) = post("DROP CONNECTOR lines_in;");
    assert_eq!(status, 404, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .starts_with("Failed to drop connector: "),
        "{body}"
    );
    let warned = ksql(&server, "DROP CONNECTOR IF EXISTS lines_in;");
    assert_eq!(warned[0]["@type"], "warning_entity", "{warned}");
}
