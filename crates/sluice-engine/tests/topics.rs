//! Topic administration statements, on the embedded log and on Kafka (a tansu
//! broker on loopback, started here).

use std::sync::Arc;

use sluice_engine::log::{EmbeddedLog, KafkaLog, Log};
use sluice_engine::{Engine, EngineConfig, StatementResult};
use sluice_log::test_broker::TestBroker;

fn table(r: &[StatementResult]) -> Vec<Vec<String>> {
    match r.last() {
        Some(StatementResult::Table { rows, .. }) => rows.clone(),
        other => panic!("not a table: {other:?}"),
    }
}

fn ack(r: &[StatementResult]) -> String {
    match r.last() {
        Some(StatementResult::Ack { message }) => message.clone(),
        other => panic!("not an ack: {other:?}"),
    }
}

/// Whether the log's broker can alter configs and add partitions (tansu cannot).
fn topic_statements(log: Arc<dyn Log>, full_admin: bool) {
    let mut e = Engine::new(log, EngineConfig::default());
    let r = e
        .execute_sql("CREATE TOPIC 'clicks' WITH (PARTITIONS=3, 'retention.ms'='60000');")
        .unwrap();
    assert_eq!(
        ack(&r),
        "Created topic 'clicks' with 3 partition(s) and 1 replica(s)."
    );
    let err = e.execute_sql("CREATE TOPIC 'clicks';").unwrap_err();
    assert_eq!(err.to_string(), "Topic 'clicks' already exists.");
    assert!(e
        .execute_sql("CREATE TOPIC IF NOT EXISTS 'clicks';")
        .is_ok());
    let err = e
        .execute_sql("CREATE TOPIC bad WITH (PARTITIONS=0);")
        .unwrap_err();
    assert!(err.to_string().contains("PARTITIONS"), "{err}");

    // an unquoted name finds the topic whatever its case
    let d = table(&e.execute_sql("DESCRIBE TOPIC clicks;").unwrap());
    let partitions: Vec<&Vec<String>> = d.iter().filter(|r| r[0] == "partition").collect();
    assert_eq!(partitions.len(), 3);
    assert!(d.contains(&vec![
        "config".to_string(),
        "retention.ms".to_string(),
        "60000".to_string()
    ]));

    // a stream and a query reading it show up as a consumer group with its lag
    e.execute_sql(
        "CREATE STREAM clicks (user STRING KEY, url STRING) WITH (kafka_topic='clicks', value_format='JSON');
         CREATE STREAM long_clicks AS SELECT * FROM clicks WHERE LEN(url) > 3;
         INSERT INTO clicks (user, url) VALUES ('ann', '/home');",
    )
    .unwrap();
    e.run_until_idle().unwrap();
    let topics = table(&e.execute_sql("SHOW TOPICS EXTENDED;").unwrap());
    let clicks = topics
        .iter()
        .find(|r| r[0] == "clicks")
        .expect("clicks listed");
    assert_eq!(clicks[1..], ["3", "1", "3", "1", "0"], "{topics:?}");
    let err = e.execute_sql("DROP TOPIC 'clicks';").unwrap_err();
    assert!(err.to_string().contains("used by CLICKS"), "{err}");

    if full_admin {
        let r = e
            .execute_sql("ALTER TOPIC 'clicks' ADD PARTITIONS 2;")
            .unwrap();
        assert_eq!(ack(&r), "Topic 'clicks' now has 5 partitions.");
        e.execute_sql("ALTER TOPIC 'clicks' SET ('cleanup.policy'='delete');")
            .unwrap();
        let d = table(&e.execute_sql("DESCRIBE TOPIC 'clicks';").unwrap());
        assert!(d
            .iter()
            .any(|r| r[1] == "cleanup.policy" && r[2] == "delete"));
        assert!(d.iter().any(|r| r[1] == "retention.ms" && r[2] == "60000"));
    } else {
        // the broker's refusal names what it does not support
        let err = e
            .execute_sql("ALTER TOPIC 'clicks' SET ('cleanup.policy'='delete');")
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("does not support the request to alter the configs"),
            "{err}"
        );
    }

    e.execute_sql("CREATE TOPIC scratch;").unwrap();
    assert_eq!(
        ack(&e.execute_sql("DROP TOPIC scratch;").unwrap()),
        "Dropped topic 'SCRATCH'."
    );
    let err = e.execute_sql("DROP TOPIC scratch;").unwrap_err();
    assert_eq!(err.to_string(), "Topic 'SCRATCH' does not exist.");
    assert!(e.execute_sql("DROP TOPIC IF EXISTS scratch;").is_ok());
}

#[test]
fn topic_statements_on_the_embedded_log() {
    topic_statements(Arc::new(EmbeddedLog::in_memory()), true);
}

#[test]
fn topic_statements_on_kafka() {
    let broker = TestBroker::start();
    let log = KafkaLog::connect(&broker.properties()).unwrap();
    topic_statements(Arc::new(log), false);
}
