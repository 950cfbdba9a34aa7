//! The Kafka backend against librdkafka's in-process mock cluster, for what the
//! loopback broker lacks: transactions and injected request errors.

use std::collections::BTreeMap;

use rdkafka::mocking::MockCluster;
use rdkafka::types::{RDKafkaApiKey, RDKafkaRespErr};
use sluice_log::testing::{fetch_all, rec};
use sluice_log::{KafkaLog, Log};

fn values(log: &KafkaLog, topic: &str) -> Vec<String> {
    fetch_all(log, topic, 0, 0)
        .into_iter()
        .map(|r| String::from_utf8(r.record.value.unwrap_or_default()).unwrap())
        .collect()
}

#[test]
fn exactly_once_leaves_no_duplicate_after_an_injected_failure() {
    let mock = MockCluster::new(1).unwrap();
    mock.create_topic("in", 1, 1).unwrap();
    mock.create_topic("out", 1, 1).unwrap();
    let props = BTreeMap::from([
        ("bootstrap.servers".to_string(), mock.bootstrap_servers()),
        (
            "processing.guarantee".to_string(),
            "exactly_once_v2".to_string(),
        ),
    ]);
    let log = KafkaLog::connect(&props).unwrap();
    let batch = |v: &str| vec![("out".to_string(), Some(0), rec(None, v, 1))];

    // (the mock cluster accepts offsets sent to a transaction but does not
    // store them, so only the records are checked here)
    log.produce_and_commit(batch("a"), "q1", &[("in".into(), 0, 1)])
        .unwrap();

    // the broker refuses to add the output partition to the transaction: the
    // produce fails, the transaction is aborted and the producer stays usable
    // (the mock cluster does not filter aborted records from fetches, so the
    // failure is injected before any record is written)
    mock.request_errors(
        RDKafkaApiKey::AddPartitionsToTxn,
        &[RDKafkaRespErr::RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED],
    );
    let failed = log.produce_and_commit(batch("b"), "q1", &[("in".into(), 0, 2)]);
    assert!(failed.is_err(), "{failed:?}");
    mock.clear_request_errors(RDKafkaApiKey::AddPartitionsToTxn);

    // the task retries from its committed offset: "b" once
    log.produce_and_commit(batch("b"), "q1", &[("in".into(), 0, 2)])
        .unwrap();
    assert_eq!(values(&log, "out"), ["a", "b"]);
}

#[test]
fn a_bad_processing_guarantee_is_refused() {
    let mock = MockCluster::new(1).unwrap();
    let props = BTreeMap::from([
        ("bootstrap.servers".to_string(), mock.bootstrap_servers()),
        (
            "processing.guarantee".to_string(),
            "at_most_once".to_string(),
        ),
    ]);
    let err = KafkaLog::connect(&props)
        .err()
        .expect("refused")
        .to_string();
    assert!(
        err.contains("Invalid processing.guarantee 'at_most_once'"),
        "{err}"
    );
}
