//! The Kafka backend against Apache Kafka (a KRaft broker on loopback, started
//! here by the test kit).

use sluice_log::testing;
use sluice_log::{KafkaLog, Log, LogError, TopicSpec};
use sluice_testkit::kafka::{KafkaCluster, KafkaOptions};

#[test]
fn kafka_log_passes_the_backend_conformance_suite() {
    let cluster = KafkaCluster::start();
    let log = KafkaLog::connect(&cluster.properties()).unwrap();
    testing::conformance_suite(&log);
}

#[test]
fn kafka_log_passes_the_conformance_suite_over_sasl_ssl() {
    // what managed Kafka asks for: TLS to the brokers, SCRAM-SHA-512 users
    let cluster = KafkaCluster::start_with(KafkaOptions::sasl_ssl());
    let props = cluster.properties();
    assert_eq!(props["security.protocol"], "SASL_SSL");
    let log = KafkaLog::connect(&props).unwrap();
    testing::conformance_suite(&log);
}

#[test]
fn an_unreachable_cluster_is_one_clear_error() {
    // a port free a moment ago may have gone to a broker another test of
    // this binary started meanwhile: then another port is tried
    let (port, err) = (0..5)
        .find_map(|_| {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let props = [("bootstrap.servers".to_string(), format!("127.0.0.1:{port}"))].into();
            KafkaLog::connect(&props).err().map(|e| (port, e))
        })
        .expect("no broker there");
    let msg = err.to_string();
    assert!(
        msg.contains(&format!(
            "connecting to the Kafka cluster at 127.0.0.1:{port}"
        )),
        "{msg}"
    );
}

#[test]
fn unknown_topics_are_named() {
    let cluster = KafkaCluster::shared();
    let log = KafkaLog::connect(&cluster.properties()).unwrap();
    let err = log.fetch("no-such-topic", 0, 0, 10).unwrap_err();
    assert!(
        matches!(err, LogError::UnknownTopic(ref t) if t == "no-such-topic"),
        "{err}"
    );
    log.create_topic(&TopicSpec::new("unknown_topics_t1", 2))
        .unwrap();
    let err = log
        .create_topic(&TopicSpec::new("unknown_topics_t1", 2))
        .unwrap_err();
    assert!(matches!(err, LogError::TopicExists(_)), "{err}");
}

#[test]
fn a_failed_authentication_says_why() {
    let cluster = KafkaCluster::start_with(KafkaOptions::sasl_ssl());
    let mut props = cluster.properties();
    props.insert("sasl.password".into(), "wrong".into());
    let err = KafkaLog::connect(&props)
        .err()
        .expect("refused")
        .to_string();
    assert!(
        err.starts_with(&format!(
            "Kafka error while connecting to the Kafka cluster at {}:",
            cluster.bootstrap_servers()
        )),
        "{err}"
    );
    assert!(err.contains("SCRAM-SHA-512"), "{err}");
    assert!(err.contains("Authentication failed"), "{err}");
}
