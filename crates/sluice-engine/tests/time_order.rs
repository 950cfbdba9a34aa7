//! A task takes a backlog in time order across its partitions and sources, as
//! Kafka Streams does: a join or window over input written out of order gives
//! the results of the same records arriving one at a time in timestamp order,
//! and those are Kafka Streams' own results: its test driver
//! (`TopologyTestDriver`, run over the same records by
//! `tests/kafka_streams/TimeOrderReference.java`) confirms them.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use sluice_engine::log::{EmbeddedLog, Log, Record, StoredRecord};
use sluice_engine::{Engine, EngineConfig};

/// (topic, partition, key, value, timestamp)
type Input = (&'static str, i32, String, String, i64);

/// An output record: (key, value, timestamp).
type Output = (String, String, i64);

fn engine(sql: &str) -> (Engine, Arc<EmbeddedLog>) {
    let log = Arc::new(EmbeddedLog::in_memory());
    let mut e = Engine::new(
        log.clone(),
        EngineConfig::default().with("auto.offset.reset", "earliest"),
    );
    e.execute_sql(sql).unwrap();
    (e, log)
}

fn write(log: &EmbeddedLog, records: &[Input]) {
    for (topic, p, key, value, ts) in records {
        let r = Record::new(
            Some(key.as_bytes().to_vec()),
            Some(value.as_bytes().to_vec()),
            *ts,
        );
        log.produce(topic, vec![(Some(*p), r)]).unwrap();
    }
}

/// Every record of `topic` (key, value, timestamp), partition by partition.
fn records(log: &EmbeddedLog, topic: &str) -> Vec<StoredRecord> {
    let mut out = Vec::new();
    for (p, end) in log.end_offsets(topic).unwrap().into_iter().enumerate() {
        out.extend(log.fetch(topic, p as i32, 0, end as usize).unwrap());
    }
    out
}

/// Every record of `topic` as (key, value, timestamp), sorted.
fn output(log: &EmbeddedLog, topic: &str) -> Vec<Output> {
    let text = |b: Option<Vec<u8>>| {
        b.map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    };
    let mut out: Vec<Output> = records(log, topic)
        .into_iter()
        // windowed keys carry their window's bytes after the key
        .map(|r| (text(r.record.key), text(r.record.value), r.record.timestamp))
        .collect();
    out.sort();
    out
}

/// A JSON value's integer member `name`, as text.
fn member(value: &[u8], name: &str) -> String {
    let v: serde_json::Value = serde_json::from_slice(value).expect("a JSON value");
    v[name].to_string()
}

/// Kafka Streams' results for `query` (`join` or `window`) over `inputs`,
/// as lines `TimeOrderReference.java` prints them, sorted.
fn kafka_streams(query: &str, inputs: &[Input]) -> Vec<String> {
    let source =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/kafka_streams/TimeOrderReference.java");
    let stdin: String = inputs
        .iter()
        .map(|(topic, _, key, value, ts)| format!("{topic}\t{key}\t{value}\t{ts}\n"))
        .collect();
    let mut lines: Vec<String> =
        sluice_testkit::kafka::run_streams_program(&source, &[query], &stdin)
            .lines()
            .map(String::from)
            .collect();
    lines.sort();
    lines
}

/// The output of `sql` over `inputs` written as a backlog in the given order
/// before the query runs, and over the same records fed one at a time in
/// timestamp order (the query running after each); and the backlog's log.
fn backlog_and_one_by_one(
    sql: &str,
    sink: &str,
    inputs: &[Input],
) -> (Vec<Output>, Vec<Output>, Arc<EmbeddedLog>) {
    let (ddl, query) = sql.split_once("--QUERY--").unwrap();
    let (mut e, log) = engine(ddl);
    write(&log, inputs);
    e.execute_sql(query).unwrap();
    e.run_until_idle().unwrap();
    let backlog = output(&log, sink);
    let backlog_log = log;

    let (mut e, log) = engine(ddl);
    e.execute_sql(query).unwrap();
    let mut in_time_order = inputs.to_vec();
    in_time_order.sort_by_key(|r| r.4);
    for r in &in_time_order {
        write(&log, std::slice::from_ref(r));
        e.run_until_idle().unwrap();
    }
    (backlog, output(&log, sink), backlog_log)
}

#[test]
fn a_stream_stream_join_over_a_backlog_pairs_as_in_time_order() {
    // the left stream's records were all written before the right one's;
    // with a short grace, reading source by source would drop the right
    // records as late and miss every pair
    let mut inputs: Vec<Input> = (0..20)
        .map(|i| {
            (
                "l",
                0,
                format!("k{}", i % 4),
                format!("{{\"A\":{i}}}"),
                i * 1000,
            )
        })
        .collect();
    inputs.extend((0..20).map(|i| {
        (
            "r",
            0,
            format!("k{}", i % 4),
            format!("{{\"B\":{i}}}"),
            i * 1000 + 500,
        )
    }));
    let sql = "CREATE STREAM l (k STRING KEY, a INT) WITH (kafka_topic='l', value_format='JSON', partitions=1);
               CREATE STREAM r (k STRING KEY, b INT) WITH (kafka_topic='r', value_format='JSON', partitions=1);
               --QUERY--
               CREATE STREAM j AS SELECT l.k AS k, a, b FROM l JOIN r WITHIN 2 SECONDS GRACE PERIOD 1 SECOND ON l.k = r.k;";
    let (backlog, expected, log) = backlog_and_one_by_one(sql, "J", &inputs);
    assert!(!expected.is_empty());
    assert_eq!(backlog, expected);
    // key, A,B, timestamp: as Kafka Streams' join gives them
    let mut ours: Vec<String> = records(&log, "J")
        .into_iter()
        .map(|r| {
            let value = r.record.value.expect("a joined row");
            format!(
                "{}\t{},{}\t{}",
                String::from_utf8(r.record.key.expect("a key")).unwrap(),
                member(&value, "A"),
                member(&value, "B"),
                r.record.timestamp
            )
        })
        .collect();
    ours.sort();
    assert_eq!(ours, kafka_streams("join", &inputs));
}

#[test]
fn a_window_over_partitions_written_out_of_order_counts_as_in_time_order() {
    // partition 0 holds the later records, and was written first: reading
    // partition by partition would close the early windows before their
    // records are read, and drop them as late
    let mut inputs: Vec<Input> = (0..30)
        .map(|i| {
            (
                "clicks",
                0,
                format!("u{}", i % 3),
                "{}".to_string(),
                30_000 + i * 1000,
            )
        })
        .collect();
    inputs.extend((0..30).map(|i| {
        (
            "clicks",
            1,
            format!("v{}", i % 3),
            "{}".to_string(),
            i * 1000,
        )
    }));
    let sql = "CREATE STREAM clicks (u STRING KEY) WITH (kafka_topic='clicks', value_format='JSON', partitions=2);
               --QUERY--
               CREATE TABLE per_user AS SELECT u, COUNT(*) AS n FROM clicks
                 WINDOW TUMBLING (SIZE 10 SECONDS, GRACE PERIOD 0 SECONDS) GROUP BY u;";
    let (backlog, expected, log) = backlog_and_one_by_one(sql, "PER_USER", &inputs);
    let counted: BTreeMap<String, usize> =
        expected.iter().fold(BTreeMap::new(), |mut m, (k, _, _)| {
            *m.entry(k.clone()).or_default() += 1;
            m
        });
    assert!(counted.keys().any(|k| k.starts_with('v')), "{counted:?}");
    assert_eq!(backlog, expected);
    // key, window start, count, timestamp: as Kafka Streams' windowed count
    // gives them (a windowed key is the key's bytes, then the window start)
    let mut ours: Vec<String> = records(&log, "PER_USER")
        .into_iter()
        .map(|r| {
            let key = r.record.key.expect("a windowed key");
            let (user, start) = key.split_at(key.len() - 8);
            format!(
                "{}\t{}\t{}\t{}",
                String::from_utf8(user.to_vec()).unwrap(),
                i64::from_be_bytes(start.try_into().unwrap()),
                member(&r.record.value.expect("a count"), "N"),
                r.record.timestamp
            )
        })
        .collect();
    ours.sort();
    assert_eq!(ours, kafka_streams("window", &inputs));
}

/// Rows read and held back for time order are dropped with their partition
/// when a rebalance takes it away. Given back with nothing committed for it
/// (nobody processed it meanwhile), the partition is read again from where
/// processing stood, not from past the rows dropped.
#[test]
fn a_partition_taken_away_and_given_back_uncommitted_is_read_again() {
    let embedded = Arc::new(EmbeddedLog::in_memory());
    let both = vec![("clicks".to_string(), 0), ("clicks".to_string(), 1)];
    // the first poll owns both partitions, the second only 0, then both
    embedded.script_assignments(vec![both.clone(), vec![("clicks".to_string(), 0)], both]);
    let mut e = Engine::new(
        embedded.clone(),
        EngineConfig::default().with("auto.offset.reset", "earliest"),
    );
    e.execute_sql(
        "CREATE STREAM clicks (u STRING KEY, v INT) WITH (kafka_topic='clicks', value_format='JSON', partitions=2);",
    )
    .unwrap();
    // more early records in partition 0 than one poll reads, so the late
    // one in partition 1 waits for them (read, not processed)
    let early = sluice_engine::lifecycle::POLL_BATCH as i64 + 100;
    let mut records: Vec<Input> = (0..early)
        .map(|i| ("clicks", 0, "a".to_string(), format!("{{\"V\":{i}}}"), i))
        .collect();
    records.push(("clicks", 1, "b".into(), "{\"V\":0}".into(), 1_000_000_000));
    write(&embedded, &records);
    e.execute_sql("CREATE TABLE counts AS SELECT u, COUNT(*) AS n FROM clicks GROUP BY u;")
        .unwrap();
    e.run_until_idle().unwrap();
    let mut latest = BTreeMap::new();
    for p in 0..2 {
        for r in embedded.fetch("COUNTS", p, 0, usize::MAX).unwrap() {
            let key = String::from_utf8(r.record.key.unwrap()).unwrap();
            latest.insert(key, String::from_utf8(r.record.value.unwrap()).unwrap());
        }
    }
    assert_eq!(
        latest,
        BTreeMap::from([
            ("a".to_string(), format!("{{\"N\":{early}}}")),
            ("b".to_string(), "{\"N\":1}".to_string()),
        ])
    );
}
