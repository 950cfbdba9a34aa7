//! Persistent queries on stream threads: a failing query is seen as failed and
//! retried while the others go on; PAUSE and RESUME.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sluice_engine::lifecycle::merged_status;
use sluice_engine::log::{EmbeddedLog, Log, TopicSpec};
use sluice_engine::{Engine, EngineConfig, QueryState, StatementResult};

fn engine() -> (Engine, Arc<EmbeddedLog>) {
    let log = Arc::new(EmbeddedLog::in_memory());
    let config = EngineConfig::default()
        .with("auto.offset.reset", "earliest")
        .with("ksql.query.retry.backoff.initial.ms", "100")
        .with("ksql.query.retry.backoff.max.ms", "200");
    (Engine::new(log.clone(), config).with_stream_threads(2), log)
}

fn records(log: &EmbeddedLog, topic: &str) -> i64 {
    log.end_offsets(topic).map_or(0, |e| e.iter().sum())
}

/// The last result as the CLI's text table.
fn table(r: &[StatementResult]) -> Vec<Vec<String>> {
    match r.last().cloned().map(StatementResult::tabulated) {
        Some(StatementResult::Table { rows, .. }) => rows,
        other => panic!("not a table: {other:?}"),
    }
}

/// How many tasks each query runs as, by sink.
fn task_counts(e: &Engine) -> Vec<(String, usize)> {
    e.queries()
        .map(|q| (q.sink.clone(), q.handles.len()))
        .collect()
}

/// Waits up to 30 s for `done`.
fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn insert(e: &mut Engine, from: i32, to: i32) {
    for i in from..to {
        e.execute_sql(&format!("INSERT INTO src (id, v) VALUES ({i}, {i});"))
            .unwrap();
    }
}

#[test]
fn a_failing_query_shows_error_is_retried_and_never_stalls_the_others() {
    let (mut e, log) = engine();
    e.execute_sql(
        "CREATE STREAM src (id INT KEY, v INT) WITH (kafka_topic='src', value_format='JSON', partitions=1);
         CREATE STREAM a AS SELECT * FROM src;
         CREATE STREAM b AS SELECT * FROM src;",
    )
    .unwrap();
    insert(&mut e, 0, 5);
    e.run_until_idle().unwrap();
    assert_eq!((records(&log, "A"), records(&log, "B")), (5, 5));

    // the sink of A goes away under it: A fails, B goes on
    log.delete_topic("A").unwrap();
    insert(&mut e, 5, 10);
    eventually("B to take the new rows", || records(&log, "B") == 10);
    let (id, a) = e
        .queries()
        .find(|q| q.sink == "A")
        .map(|q| (q.id.clone(), q.handles.clone()))
        .unwrap();
    let a = || merged_status(&a);
    eventually("A to fail", || a().state == QueryState::Error);
    let status = a();
    assert!(status.retries >= 1);
    let why = &status.errors.last().unwrap().message;
    assert!(why.contains("'A' does not exist"), "{why}");
    let shown = table(&e.execute_sql("SHOW QUERIES;").unwrap());
    let row = shown.iter().find(|r| r[3] == "A").unwrap();
    assert_eq!(row[2], "ERROR:1", "{shown:?}");
    // it keeps failing while the cause lasts, and B keeps running
    insert(&mut e, 10, 12);
    eventually("B to take more rows", || records(&log, "B") == 12);
    let retries = a().retries;
    eventually("A to retry again", || a().retries > retries);

    // the cause is gone: A comes back and writes what it had not committed
    log.create_topic(&TopicSpec::new("A", 1)).unwrap();
    e.execute_sql(&format!("RESUME {id};")).unwrap();
    eventually("A to run again", || a().state == QueryState::Running);
    eventually("A to catch up", || records(&log, "A") == 7);
    let shown = table(&e.execute_sql("SHOW QUERIES;").unwrap());
    assert!(shown.iter().all(|r| r[2] == "RUNNING:1"), "{shown:?}");
}

#[test]
fn paused_queries_read_nothing_until_resumed() {
    let (mut e, log) = engine();
    e.execute_sql(
        "CREATE STREAM src (id INT KEY, v INT) WITH (kafka_topic='src', value_format='JSON', partitions=1);
         CREATE STREAM a AS SELECT * FROM src;",
    )
    .unwrap();
    let id = e.queries().next().unwrap().id.clone();
    insert(&mut e, 0, 3);
    e.run_until_idle().unwrap();
    assert_eq!(records(&log, "A"), 3);

    e.execute_sql(&format!("PAUSE {id};")).unwrap();
    let shown = table(&e.execute_sql("SHOW QUERIES;").unwrap());
    assert_eq!(shown[0][2], "PAUSED:1");
    insert(&mut e, 3, 6);
    e.run_until_idle().unwrap();
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(records(&log, "A"), 3, "a paused query writes nothing");

    e.execute_sql("RESUME ALL;").unwrap();
    e.run_until_idle().unwrap();
    assert_eq!(records(&log, "A"), 6);
    let err = e.execute_sql("PAUSE nope;").unwrap_err().to_string();
    assert!(err.contains("Query with id:NOPE does not exist"), "{err}");
}

#[test]
fn statements_never_wait_for_a_query_catching_up() {
    let (mut e, log) = engine();
    e.execute_sql(
        "CREATE STREAM src (id INT KEY, v INT) WITH (kafka_topic='src', value_format='JSON', partitions=1);",
    )
    .unwrap();
    let batch: Vec<_> = (0..200_000)
        .map(|i: i32| {
            let value = format!("{{\"V\":{i}}}").into_bytes();
            (
                Some(0),
                sluice_engine::log::Record::new(Some(i.to_be_bytes().to_vec()), Some(value), 0),
            )
        })
        .collect();
    log.produce("src", batch).unwrap();
    e.execute_sql("CREATE STREAM copy AS SELECT * FROM src;")
        .unwrap();
    // while the copy catches up, statements answer at once
    let started = Instant::now();
    for _ in 0..20 {
        e.execute_sql("SHOW STREAMS;").unwrap();
    }
    let took = started.elapsed();
    assert!(records(&log, "COPY") < 200_000, "the test needs a backlog");
    assert!(
        took < Duration::from_secs(2),
        "20 SHOW STREAMS took {took:?}"
    );
    e.run_until_idle().unwrap();
    assert_eq!(records(&log, "COPY"), 200_000);
}

#[test]
fn a_query_splits_its_partitions_over_the_stream_threads_when_its_state_allows() {
    let (mut e, log) = engine();
    e.execute_sql(
        "CREATE STREAM src (id INT KEY, v INT) WITH (kafka_topic='src', value_format='JSON', partitions=4);
         CREATE TABLE other (id INT PRIMARY KEY, w INT) WITH (kafka_topic='other', value_format='JSON', partitions=4);
         CREATE STREAM copy AS SELECT id, v * 2 AS v2 FROM src;
         CREATE TABLE counts AS SELECT id, COUNT(*) AS n FROM src GROUP BY id;
         CREATE TABLE by_v AS SELECT v, COUNT(*) AS n FROM src GROUP BY v;
         CREATE STREAM enriched AS SELECT s.id AS id, v, w FROM src s JOIN other o ON s.id = o.id;",
    )
    .unwrap();
    let tasks = task_counts(&e);
    // two stream threads: what each partition can do alone runs as two
    // tasks, and so does an aggregate grouped by a value column, its state
    // kept by the partitions of its repartition topic
    for (sink, n) in [("COPY", 2), ("COUNTS", 2), ("ENRICHED", 2), ("BY_V", 2)] {
        assert!(tasks.contains(&(sink.to_string(), n)), "{sink}: {tasks:?}");
    }
    for i in 0..200 {
        e.execute_sql(&format!(
            "INSERT INTO other (id, w) VALUES ({i}, {});",
            i * 10
        ))
        .unwrap();
    }
    e.run_until_idle().unwrap();
    insert(&mut e, 0, 200);
    insert(&mut e, 0, 50);
    e.run_until_idle().unwrap();
    assert_eq!(records(&log, "COPY"), 250, "each record once");
    assert_eq!(records(&log, "ENRICHED"), 250, "each record joined once");
    let copy = e.queries().find(|q| q.sink == "COPY").unwrap();
    assert_eq!(copy.status().records_in, 250);
    assert_eq!(copy.state(), QueryState::Running);
    // every key counted in one place: the latest count per key is exact
    // (v is the id: grouped by v, the counts are the same)
    for sql in ["SELECT id, n FROM counts;", "SELECT v, n FROM by_v;"] {
        let counts = pull_counts(&mut e, sql);
        assert_eq!(counts.len(), 200, "{sql}");
        assert!(
            counts
                .iter()
                .all(|(id, n)| *n == if *id < 50 { 2 } else { 1 }),
            "{sql}: {counts:?}"
        );
    }
}

/// The rows of a pull query `SELECT <INT key>, <BIGINT count> ...`.
fn pull_counts(e: &mut Engine, sql: &str) -> std::collections::BTreeMap<i32, i64> {
    let StatementResult::Rows { batches, .. } = e.execute_sql(sql).unwrap().remove(0) else {
        panic!("rows")
    };
    let mut counts = std::collections::BTreeMap::new();
    for b in &batches {
        let ids = b
            .column(0)
            .as_any()
            .downcast_ref::<arrow::array::Int32Array>()
            .unwrap();
        let ns = b
            .column(1)
            .as_any()
            .downcast_ref::<arrow::array::Int64Array>()
            .unwrap();
        for r in 0..b.num_rows() {
            counts.insert(ids.value(r), ns.value(r));
        }
    }
    counts
}

#[test]
fn joins_on_value_columns_run_partition_by_partition_through_repartition_topics() {
    let (mut e, log) = engine();
    e.execute_sql(
        "CREATE STREAM orders (id INT KEY, item INT, qty INT) WITH (kafka_topic='orders', value_format='JSON', partitions=4);
         CREATE STREAM shipments (sid INT KEY, item INT, at STRING) WITH (kafka_topic='shipments', value_format='JSON', partitions=4);
         CREATE TABLE items (item INT PRIMARY KEY, name STRING) WITH (kafka_topic='items', value_format='JSON', partitions=4);
         CREATE STREAM shipped AS SELECT o.item AS item, o.id AS id, qty, at FROM orders o
           JOIN shipments s WITHIN 1 HOUR ON o.item = s.item;
         CREATE STREAM named AS SELECT o.item AS item, id, name FROM orders o JOIN items i ON o.item = i.item;",
    )
    .unwrap();
    let tasks = task_counts(&e);
    for sink in ["SHIPPED", "NAMED"] {
        assert!(tasks.contains(&(sink.to_string(), 2)), "{sink}: {tasks:?}");
    }
    let groups: std::collections::BTreeMap<String, String> = e
        .queries()
        .map(|q| (q.sink.clone(), q.group.clone()))
        .collect();
    // both sides of the stream-stream join are re-keyed by item; the
    // stream of the stream-table join too (the table is keyed by it)
    for topic in [
        format!("{}-Join-left-repartition", groups["SHIPPED"]),
        format!("{}-Join-right-repartition", groups["SHIPPED"]),
        format!("{}-Join-repartition", groups["NAMED"]),
    ] {
        assert_eq!(log.end_offsets(&topic).unwrap().len(), 4, "{topic}");
    }
    for item in 0..20 {
        e.execute_sql(&format!(
            "INSERT INTO items (item, name) VALUES ({item}, 'n{item}');"
        ))
        .unwrap();
    }
    e.run_until_idle().unwrap();
    for i in 0..200 {
        e.execute_sql(&format!(
            "INSERT INTO orders (ROWTIME, id, item, qty) VALUES ({i}, {i}, {}, 1);",
            i % 20
        ))
        .unwrap();
    }
    for i in 0..40 {
        e.execute_sql(&format!(
            "INSERT INTO shipments (ROWTIME, sid, item, at) VALUES ({}, {i}, {}, 'x');",
            200 + i,
            i % 20
        ))
        .unwrap();
    }
    e.run_until_idle().unwrap();
    // every order of an item meets each of the item's two shipments once
    assert_eq!(records(&log, "SHIPPED"), 400);
    assert_eq!(records(&log, "NAMED"), 200);
}
