//! Apache Kafka's own Kafka Connect worker (distributed mode, one worker) on
//! loopback, over a [`KafkaCluster`]: the JVM Connect cluster that
//! `ksql.connect.url` names in the tests. Its jars (`connect-runtime`,
//! `connect-file`, `connect-json` of the broker's release, pinned in
//! `maven/kafka-connect.xml`) come from Maven Central once per machine, as
//! the broker's do. The worker finds Kafka's file connectors on its class
//! path and answers Connect's REST API at [`ConnectWorker::url`].

use std::time::Duration;

use crate::kafka::{classpath, java, kafka_version, maven_libs, KafkaCluster};
use crate::process::{Service, ServiceSpec};
use crate::{free_port, wait_for};

const CONNECT_POM: &str = include_str!("../maven/kafka-connect.xml");

pub struct ConnectWorker {
    url: String,
    _service: Service,
    _dir: tempfile::TempDir,
}

impl ConnectWorker {
    /// A worker of its own group (and config, offset and status topics) on
    /// `kafka`, ready when its REST API answers.
    pub fn start(kafka: &KafkaCluster) -> ConnectWorker {
        assert!(
            CONNECT_POM.contains(&format!("<kafka.version>{}<", kafka_version())),
            "kafka-connect.xml pins another release than kafka-broker.xml"
        );
        let libs = maven_libs(
            &format!("kafka-connect-{}", kafka_version()),
            "Kafka Connect",
            CONNECT_POM,
        );
        let dir = tempfile::Builder::new()
            .prefix("sluice-connect-")
            .tempdir()
            .expect("a directory for the Connect worker");
        let port = free_port();
        let group = format!("sluice-test-connect-{port}");
        let properties = format!(
            "bootstrap.servers={bootstrap}\n\
             group.id={group}\n\
             config.storage.topic={group}-configs\n\
             offset.storage.topic={group}-offsets\n\
             status.storage.topic={group}-status\n\
             config.storage.replication.factor=1\n\
             offset.storage.replication.factor=1\n\
             status.storage.replication.factor=1\n\
             offset.storage.partitions=1\n\
             status.storage.partitions=1\n\
             key.converter=org.apache.kafka.connect.json.JsonConverter\n\
             value.converter=org.apache.kafka.connect.json.JsonConverter\n\
             listeners=http://127.0.0.1:{port}\n\
             offset.flush.interval.ms=1000\n\
             plugin.discovery=only_scan\n",
            bootstrap = kafka.bootstrap_servers(),
        );
        let file = dir.path().join("worker.properties");
        std::fs::write(&file, properties).expect("writing the worker's properties");
        let spec = ServiceSpec::new(
            "kafka connect worker",
            java(),
            &dir.path().join("connect.log"),
        )
        .args([
            "-Xmx256m",
            "-XX:+UseG1GC",
            "-XX:+ExitOnOutOfMemoryError",
            "-Djava.awt.headless=true",
            "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
            "-cp",
        ])
        .arg(classpath(&libs))
        .arg("org.apache.kafka.connect.cli.ConnectDistributed")
        .arg(&file);
        let service = Service::start(&spec).unwrap_or_else(|e| panic!("{e}"));
        let url = format!("http://127.0.0.1:{port}");
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(5)))
            .build()
            .into();
        wait_for("the Kafka Connect worker", Duration::from_secs(180), || {
            // the worker answers once it has joined its group
            match agent.get(format!("{url}/connectors")).call() {
                Ok(r) if r.status().as_u16() == 200 => Ok(()),
                Ok(r) => Err(format!("HTTP {}", r.status())),
                Err(e) => Err(e.to_string()),
            }
        });
        ConnectWorker {
            url,
            _service: service,
            _dir: dir,
        }
    }

    /// Where its REST API listens (`http://127.0.0.1:<port>`).
    pub fn url(&self) -> &str {
        &self.url
    }
}
