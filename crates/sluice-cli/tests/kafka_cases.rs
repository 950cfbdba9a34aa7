//! The project's own QTT-format cases rerun on a real Kafka-protocol broker
//! (Apache Kafka on loopback, started here): every case that passes on the embedded log
//! passes on Kafka too.

mod common;

use sluice_testkit::kafka::KafkaCluster;

#[test]
fn own_qtt_cases_pass_on_kafka() {
    let broker = KafkaCluster::start();
    let args = vec![
        "--bootstrap-servers".to_string(),
        broker.bootstrap_servers(),
    ];
    let (stdout, report) = common::run_case_dir_with("qtt", &args);
    let (_, embedded) = common::run_case_dir("qtt");
    let passed = |r: &serde_json::Value| {
        r["cases"]
            .as_array()
            .expect("cases")
            .iter()
            .filter(|c| c["status"] == "pass")
            .count()
    };
    assert!(passed(&embedded) > 0);
    assert_eq!(passed(&report), passed(&embedded), "{stdout}");
    assert!(stdout.contains(" passed, 0 failed"), "{stdout}");
}
