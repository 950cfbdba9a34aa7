//! The JDBC connectors against real PostgreSQL and MariaDB servers (started
//! by the test support; a missing server fails the test) and SQLite files.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{failure, records, wait_for, worker};
use sluice_connect::ConnectorConfig;
use sluice_log::{EmbeddedLog, Log, Record, TopicSpec};
use sluice_testkit::mariadb::MariaDb;
use sluice_testkit::postgres::Postgres;

#[test]
fn a_postgres_table_is_read_incrementally_keyed_by_a_column_and_resumes_after_a_restart() {
    let pg = Postgres::start();
    pg.execute(
        "CREATE TABLE items (id INT PRIMARY KEY, name TEXT, price NUMERIC(10,2), added TIMESTAMP, ok BOOLEAN);
         INSERT INTO items SELECT i, 'item ' || i, i * 1.5, TIMESTAMP '2024-01-01 00:00:00' + i * INTERVAL '1 second', i % 2 = 0
           FROM generate_series(1, 250) AS i;",
    );
    let log: Arc<dyn Log> = Arc::new(EmbeddedLog::in_memory());
    let source = ConnectorConfig::from_pairs(&[
        (
            "connector.class",
            "io.confluent.connect.jdbc.JdbcSourceConnector",
        ),
        ("connection.url", &pg.jdbc_url()),
        ("connection.user", pg.user()),
        ("connection.password", pg.password()),
        ("mode", "incrementing"),
        ("incrementing.column.name", "id"),
        ("table.whitelist", "items"),
        ("topic.prefix", "pg_"),
        ("poll.interval.ms", "100"),
        ("batch.max.rows", "100"),
        ("transforms", "createKey,extractInt"),
        (
            "transforms.createKey.type",
            "org.apache.kafka.connect.transforms.ValueToKey",
        ),
        ("transforms.createKey.fields", "id"),
        (
            "transforms.extractInt.type",
            "org.apache.kafka.connect.transforms.ExtractField$Key",
        ),
        ("transforms.extractInt.field", "id"),
        ("value.converter.decimal.format", "NUMERIC"),
    ]);
    {
        let w = worker(&log);
        w.create("pg", source.clone()).unwrap();
        wait_for("250 rows", || {
            assert_eq!(failure(&w, "pg"), None);
            records(log.as_ref(), "pg_items").len() == 250
        });
    }
    let rows = records(log.as_ref(), "pg_items");
    assert_eq!(rows[0].0, "1");
    // NUMERIC(10,2) at its scale, the timestamp as epoch milliseconds
    assert_eq!(
        rows[0].1,
        r#"{"id":1,"name":"item 1","price":1.50,"added":1704067201000,"ok":false}"#
    );
    // rows added while no worker ran are read once a worker runs again,
    // and nothing of before is read twice
    pg.execute("INSERT INTO items VALUES (251, 'late', 1.00, NULL, NULL), (252, 'later', NULL, NULL, true);");
    let w = worker(&log);
    w.create("pg", source).unwrap();
    wait_for("252 rows", || {
        records(log.as_ref(), "pg_items").len() == 252
    });
    std::thread::sleep(Duration::from_millis(400));
    let keys: Vec<String> = records(log.as_ref(), "pg_items")
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    let expected: Vec<String> = (1..=252).map(|i| i.to_string()).collect();
    assert_eq!(keys, expected);
}

#[test]
fn a_mariadb_sink_upserts_by_record_key_creates_and_evolves_its_table_and_deletes_on_tombstones() {
    let db = MariaDb::start();
    let log: Arc<dyn Log> = Arc::new(EmbeddedLog::in_memory());
    log.create_topic(&TopicSpec::new("orders", 2)).unwrap();
    let put = |id: i32, value: Option<&str>| {
        log.produce(
            "orders",
            vec![(
                None,
                Record::new(
                    Some(id.to_be_bytes().to_vec()),
                    value.map(|v| v.as_bytes().to_vec()),
                    0,
                ),
            )],
        )
        .unwrap();
    };
    for id in 0..100 {
        put(id, Some(&format!(r#"{{"NAME":"n{id}","UNITS":{id}}}"#)));
    }
    put(7, Some(r#"{"NAME":"seven","UNITS":77}"#));
    let w = worker(&log);
    w.create(
        "orders_out",
        ConnectorConfig::from_pairs(&[
            (
                "connector.class",
                "io.confluent.connect.jdbc.JdbcSinkConnector",
            ),
            ("connection.url", &db.jdbc_mysql_url()),
            ("connection.user", db.user()),
            ("connection.password", db.password()),
            ("topics", "orders"),
            ("insert.mode", "upsert"),
            ("pk.mode", "record_key"),
            ("pk.fields", "ID"),
            ("auto.create", "true"),
            ("auto.evolve", "true"),
            ("delete.enabled", "true"),
            (
                "key.converter",
                "org.apache.kafka.connect.converters.IntegerConverter",
            ),
        ]),
    )
    .unwrap();
    let count = || {
        db.query("SELECT COUNT(*) FROM orders")
            .first()
            .cloned()
            .unwrap_or_default()
    };
    wait_for("100 rows", || {
        assert_eq!(failure(&w, "orders_out"), None);
        db.query("SHOW TABLES LIKE 'orders'").len() == 1 && count() == "100"
    });
    assert_eq!(
        db.query("SELECT NAME, UNITS FROM orders WHERE ID = 7"),
        vec!["seven\t77"]
    );
    // a new field is a new column; a tombstone deletes the row
    put(1, Some(r#"{"NAME":"one","UNITS":1,"NOTE":"evolved"}"#));
    put(2, None);
    wait_for("the delete", || count() == "99");
    assert_eq!(
        db.query("SELECT NOTE FROM orders WHERE ID = 1"),
        vec!["evolved"]
    );
    assert_eq!(
        db.query("SELECT COUNT(*) FROM orders WHERE NOTE IS NULL"),
        vec!["98"]
    );
    // a record that is not an object stops the task with its position
    put(3, Some("42"));
    wait_for("a failed task", || failure(&w, "orders_out").is_some());
    let trace = failure(&w, "orders_out").unwrap();
    assert!(
        trace.contains("struct (or a JSON object)") && trace.contains("topic orders"),
        "{trace}"
    );
}

#[test]
fn sqlite_to_sqlite_through_a_topic_with_timestamp_incrementing_mode() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src.db");
    let dst = dir.path().join("dst.db");
    let log: Arc<dyn Log> = Arc::new(EmbeddedLog::in_memory());
    let w = worker(&log);
    // the sink creates its own file; the source's table is made through a sink too
    let setup = ConnectorConfig::from_pairs(&[
        ("connector.class", "JdbcSinkConnector"),
        ("connection.url", &format!("jdbc:sqlite:{}", src.display())),
        ("topics", "seed"),
        ("pk.mode", "record_value"),
        ("pk.fields", "id"),
        ("insert.mode", "upsert"),
        ("auto.create", "true"),
        (
            "value.converter",
            "org.apache.kafka.connect.json.JsonConverter",
        ),
    ]);
    log.create_topic(&TopicSpec::new("seed", 1)).unwrap();
    let rows: Vec<(Option<i32>, Record)> = (1..=20)
        .map(|i| {
            // with its schema (JsonConverter's envelope): ts is a Connect Timestamp
            let v = format!(
                r#"{{"schema":{{"type":"struct","fields":[{{"field":"id","type":"int32"}},{{"field":"ts","type":"int64","name":"org.apache.kafka.connect.data.Timestamp","version":1}},{{"field":"label","type":"string","optional":true}}]}},"payload":{{"id":{i},"ts":{},"label":"l{i}"}}}}"#,
                1_000 * (i / 2)
            );
            (None, Record::new(None, Some(v.into_bytes()), 0))
        })
        .collect();
    log.produce("seed", rows).unwrap();
    w.create("seed", setup).unwrap();
    wait_for("the seeded table", || {
        assert_eq!(failure(&w, "seed"), None);
        sqlite_count(&src, "seed") == Some(20)
    });
    let seeded = || records(log.as_ref(), "copy_seed").len();
    w.create(
        "src",
        ConnectorConfig::from_pairs(&[
            ("connector.class", "JdbcSourceConnector"),
            ("connection.url", &format!("jdbc:sqlite:{}", src.display())),
            ("mode", "timestamp+incrementing"),
            ("timestamp.column.name", "ts"),
            ("incrementing.column.name", "id"),
            ("topic.prefix", "copy_"),
            ("poll.interval.ms", "100"),
            ("batch.max.rows", "7"),
        ]),
    )
    .unwrap();
    wait_for("20 copied rows", || {
        assert_eq!(failure(&w, "src"), None);
        seeded() == 20
    });
    w.create(
        "dst",
        ConnectorConfig::from_pairs(&[
            ("connector.class", "JdbcSinkConnector"),
            ("connection.url", &format!("jdbc:sqlite:{}", dst.display())),
            ("topics.regex", "copy_.*"),
            ("table.name.format", "out_${topic}"),
            ("auto.create", "true"),
        ]),
    )
    .unwrap();
    wait_for("the copy", || {
        assert_eq!(failure(&w, "dst"), None);
        w.topics("dst").unwrap() == vec!["copy_seed"]
            && sqlite_count(&dst, "out_copy_seed") == Some(20)
    });
}

/// Rows of `table` in the SQLite file, through a throwaway worker-free pool.
fn sqlite_count(path: &std::path::Path, table: &str) -> Option<i64> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}?mode=ro", path.display()))
            .await
            .ok()?;
        let n: (i64,) = sqlx::query_as(&format!("SELECT COUNT(*) FROM \"{table}\""))
            .fetch_one(&pool)
            .await
            .ok()?;
        Some(n.0)
    })
}

/// A sink's transaction that fails (a duplicate primary key in insert
/// mode) fails its task with the database's message. The batches before it
/// stay written with their offsets committed; neither it nor any batch after
/// it counts as written (the sink starts the next batch's transaction while
/// the last runs, and chains it after that one: it must not run).
#[test]
fn a_failed_sink_transaction_fails_the_task_and_nothing_after_it_counts_as_written() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("dst.db");
    let log: Arc<dyn Log> = Arc::new(EmbeddedLog::in_memory());
    log.create_topic(&TopicSpec::new("rows", 1)).unwrap();
    // a task takes 500 records a poll: ids 0..500, then a batch whose id 3
    // is there already, then one more batch
    let ids = (0..500).chain([1000, 3, 1001]).chain(1002..1600);
    let rows: Vec<(Option<i32>, Record)> = ids
        .map(|id: i32| {
            let v = format!(r#"{{"id":{id},"v":"r{id}"}}"#);
            (
                None,
                Record::new(Some(id.to_be_bytes().to_vec()), Some(v.into_bytes()), 0),
            )
        })
        .collect();
    log.produce("rows", rows).unwrap();
    let w = worker(&log);
    w.create(
        "dst",
        ConnectorConfig::from_pairs(&[
            ("connector.class", "JdbcSinkConnector"),
            ("connection.url", &format!("jdbc:sqlite:{}", db.display())),
            ("topics", "rows"),
            ("pk.mode", "record_key"),
            ("pk.fields", "id"),
            ("auto.create", "true"),
            (
                "key.converter",
                "org.apache.kafka.connect.converters.IntegerConverter",
            ),
            (
                "value.converter",
                "org.apache.kafka.connect.json.JsonConverter",
            ),
            ("value.converter.schemas.enable", "false"),
        ]),
    )
    .unwrap();
    wait_for("the failed task", || failure(&w, "dst").is_some());
    let trace = failure(&w, "dst").unwrap();
    assert!(trace.to_uppercase().contains("UNIQUE"), "{trace}");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(sqlite_count(&db, "rows"), Some(500));
    let committed: i64 = log
        .committed("connect-dst", "rows")
        .unwrap()
        .iter()
        .flatten()
        .sum();
    assert_eq!(committed, 500);
}
