//! The Kafka backend against a real broker (tansu on loopback, started here).

use sluice_log::test_broker::TestBroker;
use sluice_log::testing;
use sluice_log::{KafkaLog, Log, LogError, TopicSpec};

#[test]
fn kafka_log_passes_the_backend_conformance_suite() {
    let broker = TestBroker::start();
    let log = KafkaLog::connect(&broker.properties()).unwrap();
    testing::conformance_suite(&log);
}

#[test]
fn an_unreachable_cluster_is_one_clear_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let props = [("bootstrap.servers".to_string(), format!("127.0.0.1:{port}"))].into();
    let err = KafkaLog::connect(&props).err().expect("no broker there");
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
    let broker = TestBroker::start();
    let log = KafkaLog::connect(&broker.properties()).unwrap();
    let err = log.fetch("no-such-topic", 0, 0, 10).unwrap_err();
    assert!(
        matches!(err, LogError::UnknownTopic(ref t) if t == "no-such-topic"),
        "{err}"
    );
    log.create_topic(&TopicSpec::new("t1", 2)).unwrap();
    let err = log.create_topic(&TopicSpec::new("t1", 2)).unwrap_err();
    assert!(matches!(err, LogError::TopicExists(_)), "{err}");
}
