//! Records written by Confluent's own Python AvroSerializer (confluent-kafka,
//! installed by the test) are read by a Sluice query, and what the query writes is
//! read back by Confluent's AvroDeserializer — both through Sluice's embedded schema
//! registry, on the embedded log and on Apache Kafka (a broker on loopback).

mod common;

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use sluice_engine::log::Log;
use sluice_server::{engine_for, Server, ServerConfig};
use sluice_testkit::kafka::KafkaCluster;

const ORDERS: &str = "{\"ID\": \"o1\", \"AMOUNT\": 5.0}\n\
                      {\"ID\": \"o2\", \"AMOUNT\": 25.5}\n\
                      {\"ID\": \"o3\", \"AMOUNT\": 40.0}\n";

const STATEMENTS: &str = "CREATE STREAM ORDERS WITH (kafka_topic='orders', value_format='AVRO');\
     CREATE STREAM BIG_ORDERS AS SELECT ID, AMOUNT FROM ORDERS WHERE AMOUNT > 10;";

/// Runs the Python client script; its stdout.
fn script(args: &[&str], stdin: &str) -> String {
    let python = common::install_confluent_kafka();
    let path = common::repo_root().join("tests/clients/confluent-roundtrip.py");
    let mut child = Command::new(python)
        .arg(path)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the confluent-kafka script");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    let out = child.wait_with_output().expect("script output");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{args:?}: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// A server (REST API and schema registry on free ports) in this process.
struct Running {
    rt: tokio::runtime::Runtime,
    url: String,
    registry: String,
    log: Arc<dyn Log>,
}

fn start(configure: impl FnOnce(&mut ServerConfig)) -> Running {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut config = ServerConfig {
        listeners: vec!["http://127.0.0.1:0".into()],
        schema_registry_listeners: vec!["http://127.0.0.1:0".into()],
        ..ServerConfig::default()
    };
    config.set("auto.offset.reset", "earliest").unwrap();
    configure(&mut config);
    let backend = engine_for(&config).expect("engine");
    let log = backend.engine.log().clone();
    let server = rt.block_on(Server::bind(config, backend)).expect("bind");
    let url = server.urls()[0].clone();
    let registry = server.registry_urls()[0].clone();
    rt.spawn(server.run(std::future::pending()));
    Running {
        rt,
        url,
        registry,
        log,
    }
}

impl Running {
    fn ksql(&self, sql: &str) {
        let client = reqwest::blocking::Client::new();
        let resp = client
            .post(format!("{}/ksql", self.url))
            .body(serde_json::json!({ "ksql": sql }).to_string())
            .send()
            .expect("POST /ksql");
        let status = resp.status();
        let text = resp.text().unwrap_or_default();
        assert!(status.is_success(), "{sql}: {text}");
    }

    /// The raw values of `topic` once it holds `n` records.
    fn values(&self, topic: &str, n: usize) -> Vec<Vec<u8>> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ends = self.log.end_offsets(topic).unwrap_or_default();
            if ends.iter().sum::<i64>() as usize >= n {
                break;
            }
            assert!(Instant::now() < deadline, "{topic} never got {n} records");
            std::thread::sleep(Duration::from_millis(50));
        }
        let records = common::fetch_topic(self.log.as_ref(), topic);
        records.into_iter().filter_map(|r| r.record.value).collect()
    }
}

fn parse_lines(text: &str) -> Vec<Value> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect()
}

fn expected() -> Vec<Value> {
    parse_lines("{\"AMOUNT\": 25.5, \"ID\": \"o2\"}\n{\"AMOUNT\": 40.0, \"ID\": \"o3\"}\n")
}

#[test]
fn confluent_avro_records_flow_through_sluice_on_the_embedded_log() {
    let s = start(|_| {});
    // the serializer registers its schema in Sluice's registry and frames records
    let framed = script(&["serialize", &s.registry, "orders"], ORDERS);
    let records: Vec<sluice_engine::log::Record> = framed
        .lines()
        .map(|hex| {
            let bytes = (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
                .collect();
            sluice_engine::log::Record::new(None, Some(bytes), 0)
        })
        .collect();
    s.log
        .create_topic(&sluice_engine::log::TopicSpec::new("orders", 1))
        .unwrap();
    s.log
        .produce(
            "orders",
            records.into_iter().map(|r| (Some(0), r)).collect(),
        )
        .unwrap();
    s.ksql(STATEMENTS);
    let hex: String = s
        .values("BIG_ORDERS", 2)
        .iter()
        .map(|v| v.iter().map(|b| format!("{b:02x}")).collect::<String>() + "\n")
        .collect();
    let decoded = script(&["deserialize", &s.registry, "BIG_ORDERS"], &hex);
    assert_eq!(parse_lines(&decoded), expected());
    drop(s.rt);
}

#[test]
fn confluent_avro_records_flow_through_sluice_on_kafka() {
    let broker = KafkaCluster::start();
    let s = start(|c| {
        for (k, v) in broker.properties() {
            c.set(&k, &v).unwrap();
        }
    });
    let bootstrap = broker.bootstrap_servers();
    s.log
        .create_topic(&sluice_engine::log::TopicSpec::new("orders", 1))
        .unwrap();
    script(&["produce", &s.registry, "orders", &bootstrap], ORDERS);
    s.ksql(STATEMENTS);
    let decoded = script(&["consume", &s.registry, "BIG_ORDERS", &bootstrap, "2"], "");
    assert_eq!(parse_lines(&decoded), expected());
    drop(s.rt);
}
