//! Connector statements over the engine: a file source feeding a stream, a
//! CSAS transforming it and a file sink writing the result, kept across a
//! restart by the command log; datagen into a stream; ksqlDB's refusals.

mod durable;

use std::sync::Arc;
use std::time::{Duration, Instant};

use durable::open;
use sluice_engine::log::EmbeddedLog;
use sluice_engine::{Engine, EngineConfig, Listing, StatementResult};

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let until = Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(Instant::now() < until, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn one(e: &mut Engine, sql: &str) -> StatementResult {
    e.execute_sql(sql).unwrap().pop().unwrap()
}

fn error(e: &mut Engine, sql: &str) -> String {
    e.execute_sql(sql).unwrap_err().to_string()
}

#[test]
fn file_source_csas_and_file_sink_survive_a_restart_without_doubling_anything() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.csv");
    let output = dir.path().join("out.txt");
    std::fs::write(&input, "1,apple\n2,pear\n").unwrap();
    let statements = format!(
        "CREATE SOURCE CONNECTOR fruit_in WITH ('connector.class'='FileStreamSource', \
           'file'='{}', 'topic'='fruit', \
           'value.converter'='org.apache.kafka.connect.storage.StringConverter');
         CREATE STREAM fruit (id INT, name STRING) WITH (KAFKA_TOPIC='fruit', VALUE_FORMAT='DELIMITED');
         CREATE STREAM loud WITH (KAFKA_TOPIC='loud', VALUE_FORMAT='DELIMITED') AS
           SELECT id, UCASE(name) AS name FROM fruit;
         CREATE SINK CONNECTOR loud_out WITH ('connector.class'='FileStreamSink', \
           'file'='{}', 'topics'='loud', \
           'value.converter'='org.apache.kafka.connect.storage.StringConverter');",
        input.display(),
        output.display()
    );
    let read = || std::fs::read_to_string(&output).unwrap_or_default();
    {
        let mut e = open(dir.path());
        let results = e.execute_sql(&statements).unwrap();
        match &results[0] {
            StatementResult::ConnectorCreated(info) => {
                assert_eq!(info.name, "FRUIT_IN");
                assert_eq!(info.tasks, 1);
            }
            other => panic!("{other:?}"),
        }
        wait_for("two lines", || read() == "1,APPLE\n2,PEAR\n");
        match one(&mut e, "SHOW CONNECTORS;") {
            StatementResult::Listing(Listing::Connectors(list)) => {
                let names: Vec<_> = list
                    .iter()
                    .map(|c| (c.name.as_str(), c.state.as_str()))
                    .collect();
                assert_eq!(
                    names,
                    vec![
                        ("FRUIT_IN", "RUNNING (1/1 tasks RUNNING)"),
                        ("LOUD_OUT", "RUNNING (1/1 tasks RUNNING)")
                    ]
                );
            }
            other => panic!("{other:?}"),
        }
        match one(&mut e, "DESCRIBE CONNECTOR fruit_in;") {
            StatementResult::Listing(Listing::Connector(d)) => {
                assert_eq!(d.topics, vec!["fruit"]);
                let sources: Vec<_> = d.sources.iter().map(|s| s.source.name.as_str()).collect();
                assert_eq!(sources, vec!["FRUIT"]);
            }
            other => panic!("{other:?}"),
        }
    }
    // a restart replays the connectors from the command log: the source goes
    // on after its stored offset, the sink after its committed one
    std::fs::write(&input, "1,apple\n2,pear\n3,fig\n").unwrap();
    let mut e = open(dir.path());
    wait_for("the third line", || read() == "1,APPLE\n2,PEAR\n3,FIG\n");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(read(), "1,APPLE\n2,PEAR\n3,FIG\n");
    match one(&mut e, "DROP CONNECTOR loud_out;") {
        StatementResult::ConnectorDropped { name } => assert_eq!(name, "LOUD_OUT"),
        other => panic!("{other:?}"),
    }
    drop(e);
    // dropped stays dropped
    let mut e = open(dir.path());
    match one(&mut e, "SHOW SINK CONNECTORS;") {
        StatementResult::Listing(Listing::Connectors(list)) => assert!(list.is_empty(), "{list:?}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn datagen_feeds_a_stream_declared_over_its_topic() {
    let dir = tempfile::tempdir().unwrap();
    let mut e = open(dir.path());
    e.execute_sql(
        "CREATE SOURCE CONNECTOR pv WITH ('connector.class'='io.confluent.kafka.connect.datagen.DatagenConnector', \
           'kafka.topic'='pageviews', 'quickstart'='pageviews', 'max.interval'='0', 'iterations'='100');
         CREATE STREAM pageviews (k STRING KEY, viewtime BIGINT, userid STRING, pageid STRING) \
           WITH (KAFKA_TOPIC='pageviews', VALUE_FORMAT='JSON');
         CREATE TABLE per_user AS SELECT userid, COUNT(*) AS n FROM pageviews GROUP BY userid;",
    )
    .unwrap();
    wait_for("100 page views counted", || {
        e.run_until_idle().unwrap();
        let total: i64 = match e.execute_sql("SELECT * FROM per_user;") {
            Ok(mut r) => match r.pop() {
                Some(StatementResult::Rows { batches, .. }) => batches
                    .iter()
                    .map(|b| {
                        let n = b
                            .column(1)
                            .as_any()
                            .downcast_ref::<arrow::array::Int64Array>()
                            .unwrap();
                        n.iter().flatten().sum::<i64>()
                    })
                    .sum(),
                _ => 0,
            },
            Err(_) => 0,
        };
        total == 100
    });
    match one(&mut e, "DESCRIBE CONNECTOR PV;") {
        StatementResult::Listing(Listing::Connector(d)) => {
            assert_eq!(d.status.tasks[0].state.name(), "FAILED");
            assert!(d.status.tasks[0]
                .trace
                .as_deref()
                .unwrap()
                .contains("100 number of messages"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn connector_statements_are_refused_as_ksqldb_refuses_them() {
    let dir = tempfile::tempdir().unwrap();
    let mut e = open(dir.path());
    let m = error(&mut e, "CREATE SOURCE CONNECTOR d WITH ('connector.class'='io.debezium.connector.postgresql.PostgresConnector');");
    assert!(
        m.starts_with("Validation error: ")
            && m.contains("io.debezium.connector.postgresql.PostgresConnector"),
        "{m}"
    );
    let m = error(
        &mut e,
        "CREATE SOURCE CONNECTOR d WITH ('connector.class'='FileStreamSource', 'topic'='t');",
    );
    assert_eq!(m, "Validation error: file - Missing required configuration \"file\" which has no default value.");
    let m = error(&mut e, "CREATE SINK CONNECTOR d WITH ('connector.class'='FileStreamSource', 'topic'='t', 'file'='/dev/null');");
    assert!(
        m.contains("is a source connector, not a sink connector"),
        "{m}"
    );
    let m = error(&mut e, "CREATE SOURCE CONNECTOR d WITH ('file'='x');");
    assert!(m.contains("connector.class"), "{m}");
    let sink = "CREATE SINK CONNECTOR IF NOT EXISTS s WITH ('connector.class'='FileStreamSink', 'topics'='t', 'file'='/dev/null');";
    assert!(matches!(
        one(&mut e, sink),
        StatementResult::ConnectorCreated(_)
    ));
    match one(&mut e, sink) {
        StatementResult::Warning { message } => assert_eq!(message, "Connector S already exists"),
        other => panic!("{other:?}"),
    }
    let m = error(&mut e, &sink.replace("IF NOT EXISTS ", ""));
    assert_eq!(m, "Connector S already exists");
    match one(&mut e, "DROP CONNECTOR IF EXISTS nope;") {
        StatementResult::Warning { message } => {
            assert_eq!(message, "Connector 'NOPE' does not exist.")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        error(&mut e, "DROP CONNECTOR nope;"),
        "Failed to drop connector: Connector NOPE not found"
    );
    assert_eq!(
        error(&mut e, "DESCRIBE CONNECTOR nope;"),
        "Failed to query connector status: Connector NOPE not found"
    );
    match one(&mut e, "SHOW CONNECTOR PLUGINS;") {
        StatementResult::Listing(Listing::ConnectorPlugins(p)) => assert_eq!(p.len(), 5),
        other => panic!("{other:?}"),
    }
}

#[test]
fn secrets_are_sealed_in_the_command_log_and_opened_at_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut e = open(dir.path());
        e.execute_sql(
            "CREATE SINK CONNECTOR s WITH ('connector.class'='FileStreamSink', 'topics'='t', \
               'file'='/dev/null', 'connection.password'='hunter2');",
        )
        .unwrap();
    }
    let logged = std::fs::read_to_string(dir.path().join("command.log")).unwrap();
    assert!(
        logged.contains("CONNECTOR") && logged.contains("ENC[v1:"),
        "{logged}"
    );
    assert!(!logged.contains("hunter2"), "{logged}");
    let e = open(dir.path());
    let config = e.connect_worker().config("S").unwrap();
    assert_eq!(config.get("connection.password"), Some("hunter2"));
    assert_eq!(config.get("file"), Some("/dev/null"));
}

#[test]
fn secrets_in_a_command_topic_need_a_shared_key() {
    let log = Arc::new(EmbeddedLog::in_memory());
    let statement =
        "CREATE SINK CONNECTOR s WITH ('connector.class'='FileStreamSink', 'topics'='t', \
                     'file'='/dev/null', 'connection.password'='hunter2');";
    let mut e = Engine::new(log.clone(), EngineConfig::default())
        .with_command_topic()
        .unwrap();
    let m = error(&mut e, statement);
    assert!(m.contains("ksql.connect.secrets.key"), "{m}");
    assert!(
        e.connect_worker().list().is_empty(),
        "nothing runs when it cannot be logged"
    );
    drop(e);
    let key = "ksql.connect.secrets.key";
    let shared = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    let mut e = Engine::new(log.clone(), EngineConfig::default().with(key, shared))
        .with_command_topic()
        .unwrap();
    e.execute_sql(statement).unwrap();
    drop(e);
    // another server of the service, same key: the connector with its password
    let e = Engine::new(log, EngineConfig::default().with(key, shared))
        .with_command_topic()
        .unwrap();
    assert_eq!(
        e.connect_worker()
            .config("S")
            .unwrap()
            .get("connection.password"),
        Some("hunter2")
    );
}

/// Confluent's AvroConverter both ways over the engine's own registry: a
/// stream written as AVRO by ksqlDB's rules reaches a SQLite table through a
/// JDBC sink reading it with the converter, and a JDBC source reading that
/// table writes Avro that a stream declared without columns infers from the
/// registry.
#[test]
fn avro_converter_carries_rows_through_the_registry_both_ways() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shop.db");
    let log = Arc::new(EmbeddedLog::in_memory());
    let mut e = Engine::new(
        log.clone(),
        EngineConfig::default().with("auto.offset.reset", "earliest"),
    )
    .with_stream_threads(2);
    let registry = "'value.converter'='io.confluent.connect.avro.AvroConverter', \
                    'value.converter.schema.registry.url'='http://localhost:8081'";
    e.execute_sql(&format!(
        "CREATE STREAM orders (id INT KEY, item STRING, amount DOUBLE) \
           WITH (KAFKA_TOPIC='orders', VALUE_FORMAT='AVRO', PARTITIONS=1);
         INSERT INTO orders (id, item, amount) VALUES (1, 'apple', 1.5);
         INSERT INTO orders (id, item, amount) VALUES (2, 'pear', 2.25);
         INSERT INTO orders (id, item, amount) VALUES (3, NULL, 3.0);
         CREATE SINK CONNECTOR orders_out WITH ( \
           'connector.class'='io.confluent.connect.jdbc.JdbcSinkConnector', \
           'connection.url'='jdbc:sqlite:{db}', 'topics'='orders', 'auto.create'='true', \
           'pk.mode'='record_key', 'pk.fields'='ID', 'insert.mode'='upsert', \
           'key.converter'='org.apache.kafka.connect.converters.IntegerConverter', {registry});
         CREATE SOURCE CONNECTOR orders_in WITH ( \
           'connector.class'='io.confluent.connect.jdbc.JdbcSourceConnector', \
           'connection.url'='jdbc:sqlite:{db}', 'table.whitelist'='orders', 'mode'='incrementing', \
           'incrementing.column.name'='ID', 'topic.prefix'='lite_', 'poll.interval.ms'='200', \
           {registry});",
        db = db.display()
    ))
    .unwrap();
    let end = |topic: &str| {
        use sluice_engine::log::Log;
        log.topic_exists(topic).unwrap_or(false)
            && log.end_offsets(topic).unwrap().iter().sum::<i64>() >= 3
    };
    wait_for("the rows back from SQLite", || end("lite_orders"));
    // the stream's columns come from the schema the source registered
    e.execute_sql(
        "CREATE STREAM lite WITH (KAFKA_TOPIC='lite_orders', VALUE_FORMAT='AVRO');
         CREATE STREAM copied WITH (KAFKA_TOPIC='copied', VALUE_FORMAT='JSON') AS SELECT * FROM lite;",
    )
    .unwrap();
    wait_for("the copy", || {
        e.run_until_idle().unwrap();
        end("copied")
    });
    use sluice_engine::log::Log;
    let copied: Vec<serde_json::Value> = log
        .fetch("copied", 0, 0, 10)
        .unwrap()
        .iter()
        .map(|r| serde_json::from_slice(r.record.value.as_deref().unwrap()).unwrap())
        .collect();
    assert_eq!(
        copied,
        vec![
            serde_json::json!({"ID": 1, "ITEM": "apple", "AMOUNT": 1.5}),
            serde_json::json!({"ID": 2, "ITEM": "pear", "AMOUNT": 2.25}),
            serde_json::json!({"ID": 3, "ITEM": null, "AMOUNT": 3.0}),
        ]
    );
    // the source's schema, as Confluent's converter registers it
    let (_, schema) = e
        .registry()
        .latest("lite_orders-value")
        .unwrap()
        .expect("a registered value schema");
    assert!(
        schema.schema.starts_with(
            r#"{"type":"record","name":"orders","fields":[{"name":"ID","type":["null","long"],"default":null}"#
        ) && schema.schema.ends_with(r#"],"connect.name":"orders"}"#),
        "{}",
        schema.schema
    );
    // a converter without its registry URL is refused by name
    let refused = error(
        &mut e,
        "CREATE SINK CONNECTOR nope WITH ('connector.class'='FileStreamSink', 'topics'='t', \
           'file'='/dev/null', 'value.converter'='io.confluent.connect.avro.AvroConverter');",
    );
    assert!(
        refused.contains("value.converter.schema.registry.url")
            && refused.contains("Missing required configuration"),
        "{refused}"
    );
}

/// Records in every partition of `topic` (0 when it is not there yet).
fn records(e: &Engine, topic: &str) -> i64 {
    e.log()
        .end_offsets(topic)
        .map(|ends| ends.iter().sum())
        .unwrap_or(0)
}

/// Whether connector `name` keeps `count` records in `topic` for a while
/// (a paused or stopped one reads nothing new).
fn stays_at(e: &Engine, topic: &str, count: i64) -> bool {
    std::thread::sleep(Duration::from_millis(700));
    records(e, topic) == count
}

#[test]
fn paused_and_stopped_connectors_stay_so_across_restarts() {
    use sluice_engine::connect::State;
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.txt");
    std::fs::write(&input, "a\nb\n").unwrap();
    let append = |line: &str| {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&input)
            .unwrap();
        writeln!(f, "{line}").unwrap();
    };
    let state = |e: &Engine| e.connect_worker().status("LINES_IN").unwrap().state;
    {
        let mut e = open(dir.path());
        e.execute_sql(&format!(
            "CREATE SOURCE CONNECTOR lines_in WITH ('connector.class'='FileStreamSource', \
               'file'='{}', 'topic'='lines', \
               'value.converter'='org.apache.kafka.connect.storage.StringConverter');",
            input.display()
        ))
        .unwrap();
        wait_for("two lines", || records(&e, "lines") == 2);
        match one(&mut e, "PAUSE CONNECTOR lines_in;") {
            StatementResult::Ack { message } => assert_eq!(message, "Connector LINES_IN paused"),
            other => panic!("{other:?}"),
        }
        assert_eq!(state(&e), State::Paused);
        append("c");
        assert!(stays_at(&e, "lines", 2));
        // a new configuration (Connect's PUT .../config) keeps it paused
        let mut config = std::collections::BTreeMap::new();
        config.insert(
            "connector.class".to_string(),
            "FileStreamSource".to_string(),
        );
        config.insert("file".to_string(), input.display().to_string());
        config.insert("topic".to_string(), "lines".to_string());
        config.insert(
            "value.converter".to_string(),
            "org.apache.kafka.connect.storage.StringConverter".to_string(),
        );
        e.put_connector("LINES_IN", config, true).unwrap();
        assert_eq!(state(&e), State::Paused);
        assert!(stays_at(&e, "lines", 2));
    }
    // restarted: the connector comes back paused, and reads nothing yet
    {
        let mut e = open(dir.path());
        assert_eq!(state(&e), State::Paused);
        assert!(stays_at(&e, "lines", 2));
        one(&mut e, "RESUME CONNECTOR lines_in;");
        wait_for("the line added while paused", || records(&e, "lines") == 3);
        one(&mut e, "STOP CONNECTOR lines_in;");
        assert_eq!(state(&e), State::Stopped);
    }
    // stopped stays stopped (no tasks) until resumed
    let mut e = open(dir.path());
    assert_eq!(state(&e), State::Stopped);
    assert!(e
        .connect_worker()
        .status("LINES_IN")
        .unwrap()
        .tasks
        .is_empty());
    append("d");
    assert!(stays_at(&e, "lines", 3));
    one(&mut e, "RESUME CONNECTOR lines_in;");
    wait_for("the line added while stopped", || records(&e, "lines") == 4);
    assert_eq!(state(&e), State::Running);
    // an unknown connector is refused as Connect refuses it
    assert!(
        error(&mut e, "PAUSE CONNECTOR nope;").contains("NOPE"),
        "{}",
        error(&mut e, "PAUSE CONNECTOR nope;")
    );
}
