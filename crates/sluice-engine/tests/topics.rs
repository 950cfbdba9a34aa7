//! Topic administration statements, on the embedded log and on Apache Kafka
//! (a KRaft broker on loopback, started here).

use std::sync::Arc;

use sluice_engine::log::{EmbeddedLog, KafkaLog, Log};
use sluice_engine::{Engine, EngineConfig, StatementResult};
use sluice_testkit::kafka::KafkaCluster;

/// The last result as the CLI's text table.
fn table(r: &[StatementResult]) -> Vec<Vec<String>> {
    match r.last().cloned().map(StatementResult::tabulated) {
        Some(StatementResult::Table { rows, .. }) => rows,
        other => panic!("not a table: {other:?}"),
    }
}

fn ack(r: &[StatementResult]) -> String {
    match r.last() {
        Some(StatementResult::Ack { message }) => message.clone(),
        other => panic!("not an ack: {other:?}"),
    }
}

fn topic_statements(log: Arc<dyn Log>) {
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

    // an unquoted name is the topic's name as typed
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

    // names as typed, quoted or not: Kafka's topic names are case-sensitive
    e.execute_sql("CREATE TOPIC bar_Admin;").unwrap();
    assert!(e.log().topic_exists("bar_Admin").unwrap());
    let err = e.execute_sql("DROP TOPIC BAR_ADMIN;").unwrap_err();
    assert_eq!(err.to_string(), "Topic 'BAR_ADMIN' does not exist.");
    assert_eq!(
        ack(&e.execute_sql("DROP TOPIC bar_Admin;").unwrap()),
        "Dropped topic 'bar_Admin'."
    );
    assert!(e.execute_sql("DROP TOPIC IF EXISTS bar_Admin;").is_ok());
}

#[test]
fn topic_statements_on_the_embedded_log() {
    topic_statements(Arc::new(EmbeddedLog::in_memory()));
}

#[test]
fn topic_statements_on_kafka() {
    let broker = KafkaCluster::start();
    let log = KafkaLog::connect(&broker.properties()).unwrap();
    topic_statements(Arc::new(log));
}

fn text(r: &[StatementResult]) -> String {
    match r.last().cloned().map(StatementResult::tabulated) {
        Some(StatementResult::Text(t)) => t,
        other => panic!("not text: {other:?}"),
    }
}

#[test]
fn print_detects_formats_and_honours_from_beginning_interval_and_limit() {
    let mut e = Engine::new(Arc::new(EmbeddedLog::in_memory()), EngineConfig::default());
    e.execute_sql(
        "CREATE STREAM s (k STRING KEY, v INT) WITH (kafka_topic='s_topic', value_format='JSON', partitions=1);
         INSERT INTO s (ROWTIME, k, v) VALUES (0, 'a', 1);
         INSERT INTO s (ROWTIME, k, v) VALUES (1000, 'b', 2);
         INSERT INTO s (ROWTIME, k, v) VALUES (2000, 'c', 3);",
    )
    .unwrap();
    let out = text(
        &e.execute_sql("PRINT 's_topic' FROM BEGINNING LIMIT 2;")
            .unwrap(),
    );
    assert_eq!(
        out,
        "Key format: KAFKA_STRING\n\
         Value format: JSON or KAFKA_STRING\n\
         rowtime: 1970/01/01 00:00:00.000 Z, key: a, value: {\"V\":1}, partition: 0\n\
         rowtime: 1970/01/01 00:00:01.000 Z, key: b, value: {\"V\":2}, partition: 0"
    );
    // every second record; an unquoted name finds the topic ignoring case
    let out = text(
        &e.execute_sql("PRINT s_topic FROM BEGINNING INTERVAL 2;")
            .unwrap(),
    );
    let keys: Vec<&str> = out
        .lines()
        .filter_map(|l| l.split("key: ").nth(1))
        .map(|l| &l[..1])
        .collect();
    assert_eq!(keys, ["a", "c"], "{out}");
    // without FROM BEGINNING only new records print
    assert_eq!(text(&e.execute_sql("PRINT 's_topic';").unwrap()), "");
    let err = e.execute_sql("PRINT 'nope';").unwrap_err().to_string();
    assert!(err.contains("Could not find topic 'nope'"), "{err}");

    // schema-registry framed values are decoded with their registered schema
    e.execute_sql(
        "CREATE STREAM a (id INT KEY, name STRING) WITH (kafka_topic='a_topic', value_format='AVRO', partitions=1);
         INSERT INTO a (id, name) VALUES (7, 'x');",
    )
    .unwrap();
    let out = text(&e.execute_sql("PRINT 'a_topic' FROM BEGINNING;").unwrap());
    assert!(out.contains("Key format: KAFKA_INT\n"), "{out}");
    assert!(out.contains("Value format: AVRO\n"), "{out}");
    assert!(out.contains("key: 7, value: {\"NAME\":\"x\"}"), "{out}");
}

#[test]
fn print_streams_new_records() {
    let mut e = Engine::new(Arc::new(EmbeddedLog::in_memory()), EngineConfig::default());
    e.execute_sql(
        "CREATE STREAM s (v STRING) WITH (kafka_topic='t', value_format='KAFKA', partitions=2);",
    )
    .unwrap();
    let mut cursor = e.start_print("PRINT t LIMIT 2;").unwrap();
    assert!(e.poll_print(&mut cursor).unwrap().is_empty());
    e.execute_sql("INSERT INTO s (v) VALUES ('one'); INSERT INTO s (v) VALUES ('two'); INSERT INTO s (v) VALUES ('three');")
        .unwrap();
    let lines = e.poll_print(&mut cursor).unwrap();
    assert_eq!(lines.len(), 4, "{lines:?}");
    assert!(cursor.is_done());
    assert!(lines[2].contains("key: <null>, value: "), "{lines:?}");
}

fn asserted(e: &mut Engine, sql: &str) -> String {
    match e.execute_sql(sql).unwrap().pop() {
        Some(StatementResult::Asserted(a)) => a.message(),
        other => panic!("{sql}: {other:?}"),
    }
}

fn refused(e: &mut Engine, sql: &str) -> String {
    e.execute_sql(sql).unwrap_err().to_string()
}

#[test]
fn assert_topic_and_schema_wait_for_what_they_assert_and_refuse_with_ksqldbs_words() {
    let log = Arc::new(EmbeddedLog::in_memory());
    let mut e = Engine::new(log.clone(), EngineConfig::default());
    e.execute_sql(
        "CREATE STREAM orders (id INT KEY, amount INT) WITH (kafka_topic='orders', partitions=3, format='AVRO');",
    )
    .unwrap();
    // topics: unquoted names are upper-cased, as ksqlDB's resource names
    assert_eq!(
        asserted(
            &mut e,
            "ASSERT TOPIC 'orders' WITH (PARTITIONS=3, REPLICAS=1);"
        ),
        "Topic orders exists."
    );
    assert_eq!(
        asserted(
            &mut e,
            "ASSERT NOT EXISTS TOPIC orders TIMEOUT 100 MILLISECONDS;"
        ),
        "Topic ORDERS does not exist."
    );
    assert_eq!(
        refused(&mut e, "ASSERT TOPIC 'orders' WITH (PARTITIONS=2, replicas=1, cleanup='x') TIMEOUT 100 MILLISECONDS;"),
        "Mismatched configuration for topic orders: For config partitions, expected 2 got 3\n\
         Cannot assert unknown topic property: CLEANUP"
    );
    assert_eq!(
        refused(
            &mut e,
            "ASSERT NOT EXISTS TOPIC 'orders' TIMEOUT 100 MILLISECONDS;"
        ),
        "Topic orders exists"
    );
    let started = std::time::Instant::now();
    assert_eq!(
        refused(&mut e, "ASSERT TOPIC 'later';"),
        "Topic later does not exist"
    );
    // the default timeout (ksql.assert.topic.default.timeout.ms): 1 s
    assert!(started.elapsed() >= std::time::Duration::from_millis(900));
    // a topic made while the assertion waits makes it hold
    let maker = {
        let log = log.clone();
        std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(300));
            log.create_topic(&sluice_engine::log::TopicSpec::new("later", 1))
                .unwrap();
        })
    };
    assert_eq!(
        asserted(&mut e, "ASSERT TOPIC 'later' TIMEOUT 10 SECONDS;"),
        "Topic later exists."
    );
    maker.join().unwrap();

    // schemas: the stream registered orders-key and orders-value
    assert_eq!(
        asserted(&mut e, "ASSERT SCHEMA SUBJECT 'orders-value';"),
        "Schema with subject orders-value exists."
    );
    assert_eq!(
        asserted(&mut e, "ASSERT SCHEMA SUBJECT 'orders-key' ID 1;"),
        "Schema with subject orders-key id 1 exists."
    );
    assert_eq!(
        asserted(
            &mut e,
            "ASSERT NOT EXISTS SCHEMA ID 99 TIMEOUT 100 MILLISECONDS;"
        ),
        "Schema with id 99 does not exist."
    );
    assert_eq!(
        refused(
            &mut e,
            "ASSERT SCHEMA SUBJECT 'orders-value' ID 1 TIMEOUT 100 MILLISECONDS;"
        ),
        "Schema with subject name orders-value id 1 does not exist"
    );
    assert_eq!(
        refused(
            &mut e,
            "ASSERT NOT EXISTS SCHEMA SUBJECT 'orders-value' TIMEOUT 100 MILLISECONDS;"
        ),
        "Schema with subject name orders-value exists"
    );
}
