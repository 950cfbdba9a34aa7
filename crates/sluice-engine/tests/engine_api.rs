//! The engine API as the REPL, REST server and test runner use it.

mod results;

use std::sync::Arc;

use arrow::array::{Array, AsArray};
use results::rows;
use sluice_engine::log::EmbeddedLog;
use sluice_engine::{Engine, EngineConfig, Listing, Session, StatementKind, StatementResult};

fn engine() -> Engine {
    Engine::new(
        Arc::new(EmbeddedLog::in_memory()),
        EngineConfig::default().with("auto.offset.reset", "earliest"),
    )
}

#[test]
fn create_insert_and_query_a_stream() {
    let mut e = engine();
    e.execute_sql(
        "CREATE STREAM s (id INT KEY, name STRING) WITH (kafka_topic='s', partitions=1, value_format='JSON');
         INSERT INTO s (id, name) VALUES (1, 'a');
         INSERT INTO s (id, name) VALUES (2, 'b');",
    )
    .unwrap();
    let r = e
        .execute_sql("SELECT id, UCASE(name) AS n FROM s EMIT CHANGES;")
        .unwrap();
    assert_eq!(rows(&r), vec![vec!["1", "A"], vec!["2", "B"]]);
}

#[test]
fn persistent_query_follows_new_input() {
    let mut e = engine();
    e.execute_sql(
        "CREATE STREAM s (id INT KEY, v INT) WITH (kafka_topic='s', partitions=1, value_format='JSON');
         CREATE STREAM big AS SELECT id, v FROM s WHERE v > 10;
         INSERT INTO s (id, v) VALUES (1, 5);
         INSERT INTO s (id, v) VALUES (2, 50);",
    )
    .unwrap();
    e.run_until_idle().unwrap();
    let r = e.execute_sql("SELECT * FROM big EMIT CHANGES;").unwrap();
    assert_eq!(rows(&r), vec![vec!["2", "50"]]);
    let shown = e.execute_sql("SHOW QUERIES;").unwrap();
    let StatementResult::Listing(Listing::Queries(queries)) = &shown[0] else {
        panic!("not a query listing: {shown:?}")
    };
    assert_eq!(queries.len(), 1);
    assert!(queries[0].id.starts_with("CSAS_BIG"));
    assert_eq!(queries[0].sink, "BIG");
    assert_eq!(queries[0].status.state.name(), "RUNNING");
}

#[test]
fn drop_refuses_a_source_with_queries_until_terminated() {
    let mut e = engine();
    e.execute_sql(
        "CREATE STREAM s (id INT KEY, v INT) WITH (kafka_topic='s', partitions=1, value_format='JSON');
         CREATE STREAM t AS SELECT * FROM s;",
    )
    .unwrap();
    let err = e.execute_sql("DROP STREAM s;").unwrap_err().to_string();
    assert!(err.contains("Cannot drop S"), "{err}");
    let id = e.queries().next().unwrap().id.clone();
    e.execute_sql(&format!("TERMINATE {id};")).unwrap();
    e.execute_sql("DROP STREAM t DELETE TOPIC; DROP STREAM s;")
        .unwrap();
    assert!(!e.log().topic_exists("T").unwrap());
}

#[test]
fn variables_substitute_into_later_statements() {
    let mut e = engine();
    e.execute_sql(
        "DEFINE topic = 'vars';
         CREATE STREAM s (id INT KEY) WITH (kafka_topic='${topic}', partitions=1, value_format='JSON');",
    )
    .unwrap();
    assert!(e.log().topic_exists("vars").unwrap());
}

#[test]
fn errors_name_the_problem_and_keep_earlier_work() {
    let mut e = engine();
    let err = e
        .execute_sql(
            "CREATE STREAM s (id INT KEY, v INT) WITH (kafka_topic='s', partitions=1, value_format='JSON');
             CREATE STREAM o AS SELECT id, nope FROM s;",
        )
        .unwrap_err()
        .to_string();
    assert!(err.contains("NOPE"), "{err}");
    // the first statement stayed done
    e.execute_sql("DESCRIBE s;").unwrap();
    let err = e.execute_sql("SELEC 1;").unwrap_err().to_string();
    assert!(
        err.contains("line 1:1: Syntax Error\nUnknown statement 'SELEC'\nDid you mean 'SELECT'?"),
        "{err}"
    );
    // the position is the script's
    let err = e
        .execute_sql("DESCRIBE s;\n  DESCRIBE s; SELECT * FROM s WHERE 1 2;")
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("line 2:39: Syntax Error"), "{err}");
}

#[test]
fn group_by_counts_per_key() {
    let mut e = engine();
    e.execute_sql(
        "CREATE STREAM words (word STRING) WITH (kafka_topic='words', partitions=1, value_format='JSON');
         INSERT INTO words (word) VALUES ('a');
         INSERT INTO words (word) VALUES ('b');
         INSERT INTO words (word) VALUES ('a');
         CREATE TABLE counts AS SELECT word, COUNT(*) AS n FROM words GROUP BY word;",
    )
    .unwrap();
    e.run_until_idle().unwrap();
    let out = e.log().fetch("COUNTS", 0, 0, 100).unwrap();
    let values: Vec<String> = out
        .iter()
        .map(|r| String::from_utf8(r.record.value.clone().unwrap()).unwrap())
        .collect();
    assert_eq!(values, vec![r#"{"N":1}"#, r#"{"N":1}"#, r#"{"N":2}"#]);
}

#[test]
fn embedded_log_persists_topics_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = Arc::new(EmbeddedLog::open(dir.path()).unwrap());
        let mut e = Engine::new(log, EngineConfig::default());
        e.execute_sql(
            "CREATE STREAM s (id INT KEY, v STRING) WITH (kafka_topic='s', partitions=1, value_format='JSON');
             INSERT INTO s (id, v) VALUES (7, 'kept');",
        )
        .unwrap();
    }
    let log = Arc::new(EmbeddedLog::open(dir.path()).unwrap());
    let mut e = Engine::new(
        log,
        EngineConfig::default().with("auto.offset.reset", "earliest"),
    );
    let r = e
        .execute_sql(
            "CREATE STREAM s (id INT KEY, v STRING) WITH (kafka_topic='s', value_format='JSON');
             SELECT * FROM s EMIT CHANGES;",
        )
        .unwrap();
    let StatementResult::Rows { batches, .. } = r.last().unwrap() else {
        panic!()
    };
    let v = batches[0].column(1).as_string::<i32>();
    assert_eq!(v.value(0), "kept");
    assert_eq!(batches[0].column(0).len(), 1);
}

#[test]
fn pull_queries_read_a_tables_current_rows() {
    let mut e = engine();
    e.execute_sql(
        "CREATE TABLE users_in (id INT PRIMARY KEY, name STRING, age INT) WITH (kafka_topic='users_in', partitions=1, value_format='JSON');
         CREATE TABLE users AS SELECT * FROM users_in;
         INSERT INTO users_in (id, name, age) VALUES (1, 'ann', 30);
         INSERT INTO users_in (id, name, age) VALUES (2, 'bo', 17);
         INSERT INTO users_in (id, name, age) VALUES (3, 'cy', 45);
         INSERT INTO users_in (id, name, age) VALUES (1, 'ann', 31);",
    )
    .unwrap();
    // key lookup sees the latest value
    let r = e
        .execute_sql("SELECT name, age FROM users WHERE id = 1;")
        .unwrap();
    assert_eq!(rows(&r), vec![vec!["ann", "31"]]);
    // range over a value column
    let r = e
        .execute_sql("SELECT id FROM users WHERE age BETWEEN 18 AND 40;")
        .unwrap();
    assert_eq!(rows(&r), vec![vec!["1"]]);
    // scan
    let r = e.execute_sql("SELECT * FROM users;").unwrap();
    assert_eq!(rows(&r).len(), 3);
    // a tombstone removes the key
    e.log()
        .produce(
            "users_in",
            vec![(
                None,
                sluice_engine::log::Record::new(Some(2i32.to_be_bytes().to_vec()), None, 0),
            )],
        )
        .unwrap();
    let r = e.execute_sql("SELECT id FROM users;").unwrap();
    assert_eq!(rows(&r), vec![vec!["1"], vec!["3"]]);
    // a table over a new topic of the same name shows that topic's rows only
    // (pull queries keep what they read of a topic until it is deleted)
    let id = e.queries().next().unwrap().id.clone();
    e.execute_sql(&format!(
        "TERMINATE {id}; DROP TABLE users DELETE TOPIC;
         CREATE TABLE more_users (id INT PRIMARY KEY, name STRING, age INT) WITH (kafka_topic='more_users', partitions=1, value_format='JSON');"
    ))
    .unwrap();
    for id in 10..18 {
        e.execute_sql(&format!(
            "INSERT INTO more_users (id, name, age) VALUES ({id}, 'x', 1);"
        ))
        .unwrap();
    }
    e.execute_sql("CREATE TABLE users AS SELECT * FROM more_users;")
        .unwrap();
    let r = e.execute_sql("SELECT id FROM users;").unwrap();
    assert_eq!(
        rows(&r),
        (10..18).map(|i| vec![i.to_string()]).collect::<Vec<_>>()
    );
}

#[test]
fn key_lookups_find_their_keys_whatever_the_literal_and_keep_the_last_good_value() {
    let mut e = engine();
    e.execute_sql(
        "CREATE TABLE t_in (id BIGINT PRIMARY KEY, name STRING) WITH (kafka_topic='t_in', partitions=3, value_format='JSON');
         CREATE TABLE t AS SELECT * FROM t_in;",
    )
    .unwrap();
    for id in 0..50 {
        e.execute_sql(&format!(
            "INSERT INTO t_in (id, name) VALUES ({id}, 'n{id}');"
        ))
        .unwrap();
    }
    let ask = |e: &mut Engine, sql: &str| rows(&e.execute_sql(sql).unwrap());
    // an INT literal for a BIGINT key, on either side; IN keeps its order,
    // each key once; a missing key is no row
    assert_eq!(
        ask(&mut e, "SELECT name FROM t WHERE id = 7;"),
        vec![vec!["n7"]]
    );
    assert_eq!(
        ask(&mut e, "SELECT name FROM t WHERE 8 = id;"),
        vec![vec!["n8"]]
    );
    assert_eq!(
        ask(&mut e, "SELECT id FROM t WHERE id IN (40, 3, 40, 99, 12);"),
        vec![vec!["40"], vec!["3"], vec!["12"]]
    );
    assert!(ask(&mut e, "SELECT id FROM t WHERE id = 99;").is_empty());
    // a lookup still applies the whole WHERE
    assert!(ask(&mut e, "SELECT id FROM t WHERE id = 7.5;").is_empty());
    // updates since the last pull query are seen; a record that cannot be
    // decoded leaves the key's last good value, as in ksqlDB's store
    e.execute_sql("INSERT INTO t_in (id, name) VALUES (7, 'seven');")
        .unwrap();
    assert_eq!(
        ask(&mut e, "SELECT name FROM t WHERE id = 7;"),
        vec![vec!["seven"]]
    );
    e.log()
        .produce(
            "T",
            vec![(
                None,
                sluice_engine::log::Record::new(
                    Some(7i64.to_be_bytes().to_vec()),
                    Some(b"{not json".to_vec()),
                    0,
                ),
            )],
        )
        .unwrap();
    assert_eq!(
        ask(&mut e, "SELECT name FROM t WHERE id = 7;"),
        vec![vec!["seven"]]
    );
    assert_eq!(ask(&mut e, "SELECT * FROM t;").len(), 50);
    // read in one go: of a key's records only the last counts, unless it
    // cannot be decoded (then the one before it stands)
    let record = |id: i64, value: &[u8]| {
        (
            Some(0),
            sluice_engine::log::Record::new(
                Some(id.to_be_bytes().to_vec()),
                Some(value.to_vec()),
                0,
            ),
        )
    };
    e.log()
        .produce(
            "T",
            vec![
                record(100, br#"{"NAME":"x"}"#),
                record(101, br#"{"NAME":"p"}"#),
                record(100, br#"{"NAME":"y"}"#),
                record(101, br#"{"NAME":"q"}"#),
                record(100, b"{not json"),
                record(101, br#"{"NAME":"r"}"#),
            ],
        )
        .unwrap();
    assert_eq!(
        ask(&mut e, "SELECT id, name FROM t WHERE id IN (100, 101);"),
        vec![vec!["100", "y"], vec!["101", "r"]]
    );
}

/// An engine over files in `dir` with its command log there: a restart is opening
/// it again.
fn durable_engine(dir: &std::path::Path) -> Engine {
    let log = Arc::new(EmbeddedLog::open(dir.join("data")).unwrap());
    Engine::new(log, EngineConfig::default())
        .with_command_log(&dir.join("command.log"))
        .unwrap()
}

#[test]
fn command_log_restores_sources_and_queries_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let open = || durable_engine(dir.path());
    {
        let mut e = open();
        e.execute_sql(
            "SET 'auto.offset.reset' = 'earliest';
             CREATE STREAM s (id INT KEY, v INT) WITH (kafka_topic='s', partitions=1, value_format='JSON');
             CREATE STREAM doubled AS SELECT id, v * 2 AS w FROM s;
             INSERT INTO s (id, v) VALUES (1, 10);",
        )
        .unwrap();
        e.run_until_idle().unwrap();
    }
    let mut e = open();
    // the stream, the sink and the query are back, under the same query id
    assert!(e.execute_sql("DESCRIBE doubled;").is_ok());
    assert_eq!(e.queries().count(), 1);
    assert!(e.queries().next().unwrap().id.starts_with("CSAS_DOUBLED_"));
    // the query resumes after what it already processed: no duplicate output
    e.execute_sql("INSERT INTO s (id, v) VALUES (2, 20);")
        .unwrap();
    e.run_until_idle().unwrap();
    let out = e.log().fetch("DOUBLED", 0, 0, 100).unwrap();
    let values: Vec<String> = out
        .iter()
        .map(|r| String::from_utf8(r.record.value.clone().unwrap()).unwrap())
        .collect();
    assert_eq!(values, vec![r#"{"W":20}"#, r#"{"W":40}"#]);
}

#[test]
fn a_declared_source_registers_its_schemas_when_created() {
    let mut e = engine();
    e.execute_sql(
        "CREATE STREAM a (id STRING KEY, v INT) WITH (kafka_topic='a', partitions=1, key_format='AVRO', value_format='AVRO');",
    )
    .unwrap();
    let registry = e.registry().clone();
    let (_, key) = registry.latest("a-key").unwrap().expect("a-key registered");
    assert!(key.schema.contains("string"), "{}", key.schema);
    let (_, value) = registry
        .latest("a-value")
        .unwrap()
        .expect("a-value registered");
    assert!(value.schema.contains("\"V\""), "{}", value.schema);
    // a subject that has a schema keeps it: nothing new is registered
    e.execute_sql(
        "CREATE STREAM a2 (id STRING KEY, w STRING) WITH (kafka_topic='a', key_format='AVRO', value_format='AVRO');",
    )
    .unwrap();
    let (_, again) = registry.latest("a-value").unwrap().unwrap();
    assert_eq!(again.schema, value.schema);
}

#[test]
fn altered_sources_keep_their_new_columns_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let open = || durable_engine(dir.path());
    {
        let mut e = open();
        e.execute_sql(
            "CREATE STREAM s (id INT KEY, v INT) WITH (kafka_topic='s', partitions=1, value_format='JSON');
             ALTER STREAM s ADD COLUMN w STRING;",
        )
        .unwrap();
    }
    let mut e = open();
    e.execute_sql(
        "SET 'auto.offset.reset' = 'earliest';
         INSERT INTO s (id, v, w) VALUES (1, 10, 'x');
         CREATE STREAM o AS SELECT id, w FROM s;",
    )
    .unwrap();
    e.run_until_idle().unwrap();
    let out = e.log().fetch("O", 0, 0, 100).unwrap();
    assert_eq!(out[0].record.value.as_deref(), Some(&br#"{"W":"x"}"#[..]));
}

#[test]
fn aggregate_state_is_rebuilt_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let open = || durable_engine(dir.path());
    let counts = |e: &Engine| -> Vec<String> {
        e.log()
            .fetch("COUNTS", 0, 0, 100)
            .unwrap()
            .iter()
            .map(|r| String::from_utf8(r.record.value.clone().unwrap()).unwrap())
            .collect()
    };
    {
        let mut e = open();
        e.execute_sql(
            "CREATE STREAM s (id INT KEY, v INT) WITH (kafka_topic='s', partitions=1, value_format='JSON');
             INSERT INTO s (id, v) VALUES (1, 1);
             CREATE TABLE counts AS SELECT id, COUNT(*) AS n, SUM(v) AS total FROM s GROUP BY id;
             INSERT INTO s (id, v) VALUES (1, 10);
             INSERT INTO s (id, v) VALUES (1, 20);",
        )
        .unwrap();
        e.run_until_idle().unwrap();
        // started at `latest`: the first row is not counted
        assert_eq!(
            counts(&e),
            vec![r#"{"N":1,"TOTAL":10}"#, r#"{"N":2,"TOTAL":30}"#]
        );
    }
    let mut e = open();
    e.execute_sql("INSERT INTO s (id, v) VALUES (1, 5);")
        .unwrap();
    e.run_until_idle().unwrap();
    // the count continues from the state before the restart, with nothing re-emitted
    assert_eq!(
        counts(&e),
        vec![
            r#"{"N":1,"TOTAL":10}"#,
            r#"{"N":2,"TOTAL":30}"#,
            r#"{"N":3,"TOTAL":35}"#
        ]
    );
}

#[test]
fn select_star_over_a_windowed_table_shows_the_window_bounds() {
    let mut e = engine();
    e.execute_sql(
        "CREATE STREAM clicks (user_id STRING KEY, page STRING) WITH (kafka_topic='clicks', partitions=1, value_format='JSON');
         CREATE TABLE per_minute AS SELECT user_id, COUNT(*) AS n FROM clicks
           WINDOW TUMBLING (SIZE 1 MINUTE) GROUP BY user_id;
         INSERT INTO clicks (user_id, page, ROWTIME) VALUES ('ann', 'a', 61000);
         INSERT INTO clicks (user_id, page, ROWTIME) VALUES ('ann', 'b', 62000);",
    )
    .unwrap();
    e.run_until_idle().unwrap();
    let r = e
        .execute_sql("SELECT * FROM per_minute WHERE user_id = 'ann';")
        .unwrap();
    let StatementResult::Rows { batches, .. } = r.last().unwrap() else {
        panic!("{r:?}")
    };
    let names: Vec<String> = batches[0]
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    assert_eq!(names, vec!["USER_ID", "WINDOWSTART", "WINDOWEND", "N"]);
    assert_eq!(rows(&r), vec![vec!["ann", "60000", "120000", "2"]]);
}

#[test]
fn windowed_results_are_partitioned_by_the_key_without_its_window() {
    let mut e = engine();
    e.execute_sql(
        "CREATE STREAM clicks (user_id STRING KEY, page STRING) WITH (kafka_topic='clicks', partitions=4, value_format='JSON');
         CREATE TABLE per_second AS SELECT user_id, COUNT(*) AS n FROM clicks
           WINDOW TUMBLING (SIZE 1 SECOND) GROUP BY user_id;",
    )
    .unwrap();
    for t in 0..20 {
        e.execute_sql(&format!(
            "INSERT INTO clicks (user_id, page, ROWTIME) VALUES ('ann', 'p', {});",
            t * 1000
        ))
        .unwrap();
    }
    e.run_until_idle().unwrap();
    let ends = e.log().end_offsets("PER_SECOND").unwrap();
    assert_eq!(ends.len(), 4);
    // twenty windows of one key: all in the partition Kafka Streams would choose
    let expected = sluice_engine::log::default_partition(b"ann", 4) as usize;
    let counts: Vec<i64> = ends.clone();
    assert_eq!(counts.iter().sum::<i64>(), 20, "{counts:?}");
    assert_eq!(counts[expected], 20, "{counts:?}");
}

#[test]
fn table_pull_queries_refuse_record_positions() {
    let mut e = engine();
    e.execute_sql(
        "CREATE SOURCE TABLE users (id INT PRIMARY KEY, name STRING) WITH (kafka_topic='users', partitions=1, value_format='JSON');",
    )
    .unwrap();
    let err = e
        .execute_sql("SELECT id, ROWPARTITION FROM users;")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(
            "Pull queries don't support the following columns in SELECT clauses: `ROWPARTITION`"
        ),
        "{err}"
    );
    let err = e
        .execute_sql("SELECT id FROM users WHERE ROWOFFSET > 1;")
        .unwrap_err()
        .to_string();
    assert!(err.contains("in WHERE clauses: `ROWOFFSET`"), "{err}");
    // ROWTIME stays available
    assert!(e.execute_sql("SELECT id, ROWTIME FROM users;").is_ok());
}

#[test]
fn pull_queries_need_materialized_state() {
    let mut e = engine();
    e.execute_sql(
        "CREATE TABLE t (id INT PRIMARY KEY, v STRING) WITH (kafka_topic='t', partitions=1, value_format='JSON');
         CREATE STREAM s (id INT KEY, v STRING) WITH (kafka_topic='s', partitions=1, value_format='JSON');",
    )
    .unwrap();
    let err = |e: &mut Engine, sql: &str| e.execute_sql(sql).unwrap_err().to_string();
    // a plain CREATE TABLE has no state store to read
    let msg = err(&mut e, "SELECT * FROM t;");
    assert!(msg.contains("The `T` table isn't queryable."), "{msg}");
    assert!(
        msg.contains("CREATE TABLE QUERYABLE_T AS SELECT * FROM T"),
        "{msg}"
    );
    // once a query materializes it, it is
    e.execute_sql("CREATE TABLE t_view AS SELECT * FROM t;")
        .unwrap();
    assert!(e.execute_sql("SELECT * FROM t_view;").is_ok());
    // clauses that need a running computation need EMIT CHANGES
    for (sql, clause) in [
        ("SELECT id, COUNT(*) FROM s GROUP BY id;", "GROUP BY"),
        ("SELECT * FROM s WINDOW TUMBLING (SIZE 1 SECOND);", "WINDOW"),
        ("SELECT * FROM t_view JOIN t ON t_view.id = t.id;", "JOIN"),
    ] {
        let msg = err(&mut e, sql);
        assert!(
            msg.contains(&format!("Pull queries don't support {clause} clauses.")),
            "{sql}: {msg}"
        );
    }
    // persistent queries have no LIMIT
    let msg = err(&mut e, "CREATE STREAM s2 AS SELECT * FROM s LIMIT 5;");
    assert!(
        msg.contains("CREATE STREAM AS SELECT statements don't support LIMIT clause."),
        "{msg}"
    );
    let msg = err(&mut e, "SELECT * FROM t_view LIMIT -1;");
    assert!(
        msg.contains("negative integers in the LIMIT clause"),
        "{msg}"
    );
}

#[test]
fn a_push_query_may_aggregate_a_whole_stream() {
    let mut e = engine();
    e.execute_sql(
        "CREATE STREAM s (k INT KEY, v INT) WITH (kafka_topic='s', partitions=1, value_format='JSON');
         INSERT INTO s (k, v) VALUES (1, 10);
         INSERT INTO s (k, v) VALUES (2, 5);",
    )
    .unwrap();
    e.execute_sql("SET 'auto.offset.reset'='earliest';")
        .unwrap();
    let mut q = e
        .start_push_query("SELECT SUM(v) AS total, COUNT(*) AS n FROM s EMIT CHANGES LIMIT 2;")
        .unwrap();
    let mut got = Vec::new();
    for b in e.poll_push_query(&mut q).unwrap() {
        for r in 0..b.num_rows() {
            got.push(
                b.columns()
                    .iter()
                    .map(|c| arrow::util::display::array_value_to_string(c, r).unwrap())
                    .collect::<Vec<_>>(),
            );
        }
    }
    assert_eq!(got, vec![vec!["10", "1"], vec!["15", "2"]]);
    // a persistent query must say what it groups by
    let err = e
        .execute_sql("CREATE TABLE t AS SELECT COUNT(*) AS n FROM s;")
        .unwrap_err()
        .to_string();
    assert!(err.contains("must have a GROUP BY clause"), "{err}");
}

#[test]
fn insert_values_refuses_pseudo_columns_and_miscounted_values() {
    let mut e = engine();
    e.execute_sql("CREATE STREAM s (k STRING KEY, id INT) WITH (kafka_topic='s', partitions=1, value_format='JSON');")
        .unwrap();
    let err = |e: &mut Engine, sql: &str| e.execute_sql(sql).unwrap_err().to_string();
    assert!(err(&mut e, "INSERT INTO s (k, id) VALUES ('10');")
        .contains("Expected number columns and values to match: 2, 1"));
    for pseudo in ["ROWPARTITION", "ROWOFFSET"] {
        let msg = err(
            &mut e,
            &format!("INSERT INTO s (k, {pseudo}) VALUES ('a', 1);"),
        );
        assert!(
            msg.contains(&format!("Inserting into column `{pseudo}` is not allowed.")),
            "{msg}"
        );
    }
}

/// Runs every statement of `sql` in `session`; the last result.
fn run_in(e: &mut Engine, session: &mut Session, sql: &str) -> StatementResult {
    let mut last = None;
    for text in sluice_engine::split_statements(sql) {
        for stmt in session.prepare(text).unwrap() {
            last = Some(e.execute_in(session, &stmt).unwrap());
        }
    }
    last.expect("a statement")
}

fn property_listing(r: StatementResult) -> Vec<(String, String, String)> {
    let StatementResult::Listing(Listing::Properties(props)) = r else {
        panic!("not a property listing: {r:?}")
    };
    props
        .into_iter()
        .map(|p| (p.name, p.scope, p.value))
        .collect()
}

#[test]
fn sessions_keep_their_overrides_and_variables_to_themselves() {
    let mut e = engine();
    let mut a = Session::with(
        [(
            "ksql.streams.cache.max.bytes.buffering".to_string(),
            "0".to_string(),
        )],
        [("topic".to_string(), "events".to_string())],
    );
    let mut b = Session::new();
    // a's variable names a's topic; a's SET stays in a
    run_in(
        &mut e,
        &mut a,
        "CREATE STREAM s (id INT KEY) WITH (kafka_topic='${topic}', partitions=1, value_format='JSON');
         SET 'auto.offset.reset'='latest';",
    );
    assert_eq!(a.property("auto.offset.reset"), Some("latest"));
    assert_eq!(b.property("auto.offset.reset"), None);
    assert_eq!(e.property("auto.offset.reset"), Some("earliest"));
    let shown = property_listing(run_in(&mut e, &mut a, "SHOW PROPERTIES;"));
    assert!(shown.contains(&(
        "auto.offset.reset".to_string(),
        "SESSION".to_string(),
        "latest".to_string()
    )));
    let shown = property_listing(run_in(&mut e, &mut b, "SHOW PROPERTIES;"));
    assert!(shown.contains(&(
        "auto.offset.reset".to_string(),
        "SERVER".to_string(),
        "earliest".to_string()
    )));
    // what nobody set is listed with the default it runs with, once, and a
    // setting set under another of its names is not listed as a default
    let default = |name: &str| {
        shown
            .iter()
            .filter(|(n, scope, _)| n == name && scope == "DEFAULT")
            .map(|(_, _, v)| v.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(default("ksql.service.id"), ["default_"]);
    assert_eq!(default("ksql.query.retry.backoff.initial.ms"), ["15000"]);
    assert_eq!(default("auto.offset.reset"), Vec::<String>::new());
    let shown = property_listing(run_in(&mut e, &mut a, "SHOW PROPERTIES;"));
    assert!(!shown
        .iter()
        .any(|(n, _, _)| n == "ksql.streams.statestore.cache.max.bytes"));
    // and the default is what the engine reads
    assert_eq!(
        e.setting(&sluice_engine::settings::RETRY_BACKOFF_INITIAL_MS),
        Some("15000")
    );
    let StatementResult::Listing(Listing::Sources { sources, .. }) =
        run_in(&mut e, &mut b, "SHOW STREAMS;")
    else {
        panic!("not a source listing")
    };
    assert_eq!(
        sources.iter().find(|s| s.name == "S").unwrap().topic,
        "events"
    );
}

#[test]
fn prepared_statements_say_how_a_client_routes_them() {
    let session = Session::new();
    let kinds: Vec<StatementKind> = session
        .prepare(
            "SELECT * FROM s EMIT CHANGES; SELECT * FROM t; PRINT 'x'; SHOW STREAMS; \
             SET 'a'='b'; DEFINE v='1'; RUN SCRIPT '/tmp/x.sql'; DROP STREAM s;",
        )
        .unwrap()
        .iter()
        .map(|p| p.kind())
        .collect();
    assert_eq!(
        kinds,
        vec![
            StatementKind::PushQuery,
            StatementKind::PullQuery,
            StatementKind::Print,
            StatementKind::Listing,
            StatementKind::Session,
            StatementKind::Session,
            StatementKind::RunScript {
                path: "/tmp/x.sql".into()
            },
            StatementKind::Command,
        ]
    );
}

#[test]
fn topics_are_created_with_ksqldb_s_cleanup_policies() {
    let mut e = engine();
    e.execute_sql(
        "CREATE STREAM s (id INT KEY, v INT) WITH (kafka_topic='s', partitions=1, value_format='JSON');
         CREATE TABLE t (id INT PRIMARY KEY, v INT) WITH (kafka_topic='t', partitions=1, value_format='JSON');
         CREATE STREAM copy AS SELECT * FROM s;
         CREATE TABLE counts AS SELECT id, COUNT(*) AS n FROM s GROUP BY id;
         CREATE TABLE windowed AS SELECT id, COUNT(*) AS n FROM s
           WINDOW TUMBLING (SIZE 1 MINUTE, RETENTION 2 HOURS) GROUP BY id;",
    )
    .unwrap();
    let config = |topic: &str, key: &str| {
        e.log()
            .describe_topic(topic)
            .unwrap()
            .configs
            .get(key)
            .cloned()
    };
    assert_eq!(config("s", "cleanup.policy").as_deref(), Some("delete"));
    assert_eq!(config("t", "cleanup.policy").as_deref(), Some("compact"));
    assert_eq!(config("COPY", "cleanup.policy").as_deref(), Some("delete"));
    assert_eq!(
        config("COUNTS", "cleanup.policy").as_deref(),
        Some("compact")
    );
    assert_eq!(
        config("WINDOWED", "cleanup.policy").as_deref(),
        Some("compact,delete")
    );
    assert_eq!(
        config("WINDOWED", "retention.ms").as_deref(),
        Some("7200000")
    );
}

#[test]
fn a_pull_query_looks_keys_up_in_the_order_its_in_list_names_them() {
    let mut e = engine();
    e.execute_sql(
        "CREATE STREAM s (id BIGINT KEY, v INT) WITH (kafka_topic='s', partitions=4, value_format='JSON');
         CREATE TABLE counts AS SELECT id, COUNT(*) AS n FROM s GROUP BY id;",
    )
    .unwrap();
    for id in [11, 10, 9, 8, 12] {
        e.execute_sql(&format!("INSERT INTO s (id, v) VALUES ({id}, 1);"))
            .unwrap();
    }
    e.run_until_idle().unwrap();
    for (list, want) in [
        ("10, 8", vec!["10", "8"]),
        ("8, 12, 10", vec!["8", "12", "10"]),
    ] {
        let r = e
            .execute_sql(&format!("SELECT id FROM counts WHERE id IN ({list});"))
            .unwrap();
        let got: Vec<String> = rows(&r).into_iter().map(|r| r[0].clone()).collect();
        assert_eq!(got, want, "IN ({list})");
    }
}

#[test]
fn without_table_scans_a_pull_query_must_look_keys_up() {
    let mut e = engine();
    e.execute_sql(
        "CREATE STREAM s (id STRING KEY, n INT) WITH (kafka_topic='s', partitions=1, value_format='JSON');
         CREATE TABLE counts AS SELECT id, COUNT(*) AS c FROM s GROUP BY id;
         CREATE STREAM s2 (a STRING KEY, b INT KEY, n INT) WITH (kafka_topic='s2', partitions=1, value_format='JSON', key_format='JSON');
         CREATE TABLE pairs AS SELECT a, b, COUNT(*) AS c FROM s2 GROUP BY a, b;
         INSERT INTO s (id, n) VALUES ('x', 1);
         SET 'ksql.query.pull.table.scan.enabled'='false';",
    )
    .unwrap();
    e.run_until_idle().unwrap();
    // key lookups and a range over a STRING key run
    for ok in [
        "SELECT * FROM counts WHERE id = 'x';",
        "SELECT * FROM counts WHERE id IN ('x', 'y');",
        "SELECT * FROM counts WHERE id < 'z';",
        "SELECT * FROM pairs WHERE a = 'x' AND b = 1;",
    ] {
        e.execute_sql(ok)
            .unwrap_or_else(|err| panic!("{ok}: {err}"));
    }
    let mut err = |sql: &str| match e.execute_sql(sql) {
        Ok(r) => panic!("{sql} ran: {r:?}"),
        Err(e) => e.to_string(),
    };
    assert!(err("SELECT * FROM counts WHERE c = 100;")
        .contains("WHERE clause missing key column for disjunct: (C = 100)"));
    assert!(err("SELECT * FROM counts WHERE id != 'x';")
        .contains("Bound on key columns '[`ID` STRING KEY]' must currently be '='"));
    assert!(err("SELECT * FROM counts WHERE id = c;")
        .contains("A comparison must be between a key column and a resolvable expression"));
    assert!(
        err("SELECT * FROM counts WHERE id = 'x' AND id IN ('x', 'y');")
            .contains("cannot be combined with other comparisons such as an IN predicate")
    );
    assert!(err("SELECT * FROM pairs WHERE a = 'x';")
        .contains("Multi-column sources must specify every key in the WHERE clause"));
    assert!(err("SELECT * FROM pairs WHERE a = 'x' AND b > 1;")
        .contains("Query requires table scan to be enabled"));
}

#[test]
fn a_key_in_list_takes_values_of_the_key_s_type() {
    let mut e = engine();
    e.execute_sql(
        "CREATE STREAM s (id INT KEY, n INT) WITH (kafka_topic='s', partitions=1, value_format='JSON');
         CREATE TABLE counts AS SELECT id, COUNT(*) AS c FROM s GROUP BY id;",
    )
    .unwrap();
    let err = |e: &mut Engine, sql: &str| e.execute_sql(sql).unwrap_err().to_string();
    assert!(err(&mut e, "SELECT * FROM counts WHERE id IN ('10', 8);")
        .contains("'10' can not be converted to the type of the key column: ID INTEGER KEY"));
    assert!(err(&mut e, "SELECT * FROM counts WHERE id IN (NULL);")
        .contains("Primary key columns can not be NULL: (ID = null)"));
    e.execute_sql("SELECT * FROM counts WHERE id IN (10, 8);")
        .unwrap();
}
