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

/// A transaction's commit marker takes an offset no reader ever gets: a
/// fetch at it ends as soon as the consumer reaches the partition's end
/// (librdkafka's partition EOF), instead of waiting for a record that
/// never comes, and a fetch of records that are there returns them all.
#[test]
fn a_fetch_at_a_commit_marker_ends_when_the_consumer_reaches_the_end() {
    let cluster = KafkaCluster::shared();
    let mut props = cluster.properties();
    props.insert("processing.guarantee".into(), "exactly_once_v2".into());
    let writer = KafkaLog::connect(&props).unwrap();
    writer
        .create_topic(&TopicSpec::new("marker_src", 1))
        .unwrap();
    writer
        .create_topic(&TopicSpec::new("marker_out", 1))
        .unwrap();
    let records = (0..3)
        .map(|i| {
            let value = format!("v{i}").into_bytes();
            (
                "marker_out".to_string(),
                Some(0),
                sluice_log::Record::new(None, Some(value), i),
            )
        })
        .collect();
    writer
        .produce_and_commit(records, "marker_group", &[("marker_src".into(), 0, 0)])
        .unwrap();

    // a reader reading on from the records to the marker, and one seeking
    // straight to it
    let reader = KafkaLog::connect(&props).unwrap();
    // the three records and the marker
    assert_eq!(reader.end_offsets("marker_out").unwrap(), vec![4]);
    let started = std::time::Instant::now();
    let got = reader.fetch("marker_out", 0, 0, 10).unwrap();
    assert_eq!(got.iter().map(|r| r.offset).collect::<Vec<_>>(), [0, 1, 2]);
    assert!(reader.fetch("marker_out", 0, 3, 10).unwrap().is_empty());
    let fresh = KafkaLog::connect(&props).unwrap();
    assert!(fresh.fetch("marker_out", 0, 3, 10).unwrap().is_empty());
    // a wait for records that may still come would take 20 s
    eprintln!("read to the marker in {:?}", started.elapsed());
    assert!(
        started.elapsed() < std::time::Duration::from_secs(4),
        "reading to the marker took {:?}",
        started.elapsed()
    );
}
