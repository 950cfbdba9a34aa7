//! What the durable-state tests share: an engine over a persistent log in a
//! directory, inserts, and what a topic or a query holds.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use sluice_engine::log::{EmbeddedLog, Log};
use sluice_engine::{Engine, EngineConfig};

/// [`open`] with the state stores on disk under `dir/state`, caching at
/// most `cache` bytes of live groups.
pub fn open_stored(dir: &Path, cache: usize) -> Engine {
    let log = Arc::new(EmbeddedLog::open(dir.join("log")).unwrap());
    Engine::new(
        log,
        EngineConfig::default()
            .with("auto.offset.reset", "earliest")
            .with(
                "ksql.streams.statestore.cache.max.bytes",
                &cache.to_string(),
            ),
    )
    .with_state_dir(&dir.join("state"))
    .unwrap()
    .with_command_log(&dir.join("command.log"))
    .unwrap()
    .with_stream_threads(2)
}

/// An engine over a persistent log and command log in `dir`, its queries on
/// two stream threads.
pub fn open(dir: &Path) -> Engine {
    let log = Arc::new(EmbeddedLog::open(dir.join("log")).unwrap());
    Engine::new(
        log,
        EngineConfig::default().with("auto.offset.reset", "earliest"),
    )
    .with_command_log(&dir.join("command.log"))
    .unwrap()
    .with_stream_threads(2)
}

pub fn insert(e: &mut Engine, from: i64, to: i64) {
    insert_keyed(e, "clicks (ROWTIME, u, v)", "u", from, to);
}

/// Rows `from..to` into `target` (`name (ROWTIME, key, value)`): row i at
/// i seconds, keyed `<prefix><i % 10>`, its value i.
pub fn insert_keyed(e: &mut Engine, target: &str, prefix: &str, from: i64, to: i64) {
    for i in from..to {
        e.execute_sql(&format!(
            "INSERT INTO {target} VALUES ({}, '{prefix}{}', {i});",
            i * 1000,
            i % 10
        ))
        .unwrap();
    }
}

/// The latest value of every key of `topic` (keys as text; a windowed key's
/// window bytes as they are).
pub fn latest(log: &dyn Log, topic: &str) -> BTreeMap<Vec<u8>, String> {
    let mut out = BTreeMap::new();
    for (p, end) in log.end_offsets(topic).unwrap().into_iter().enumerate() {
        for r in log.fetch(topic, p as i32, 0, end as usize).unwrap() {
            let key = r.record.key.unwrap_or_default();
            match r.record.value {
                Some(v) => out.insert(key, String::from_utf8(v).unwrap()),
                None => out.remove(&key),
            };
        }
    }
    out
}

/// How many keys of `topic` have a value (their latest record is not a tombstone).
pub fn live_keys(log: &dyn Log, topic: &str) -> usize {
    let mut live = std::collections::BTreeSet::new();
    for (p, end) in log.end_offsets(topic).unwrap().into_iter().enumerate() {
        for r in log.fetch(topic, p as i32, 0, end as usize).unwrap() {
            let key = r.record.key.unwrap_or_default();
            match r.record.value {
                Some(_) => live.insert(key),
                None => live.remove(&key),
            };
        }
    }
    live.len()
}

/// What `COUNT(*) AS <column> ... GROUP BY u` gives after [`insert`] of
/// records 0 to `n` (user `i % 10`), as the sink's latest values.
pub fn per_user_counts(n: i64, column: &str) -> BTreeMap<Vec<u8>, String> {
    (0..10)
        .map(|u| {
            let c = (0..n).filter(|i| i % 10 == u).count();
            (
                format!("u{u}").into_bytes(),
                format!(r#"{{"{column}":{c}}}"#),
            )
        })
        .collect()
}

/// TERMINATE of the query writing `sink`.
pub fn terminate(e: &mut Engine, sink: &str) {
    let id = e.queries().find(|q| q.sink == sink).unwrap().id.clone();
    e.execute_sql(&format!("TERMINATE {id};")).unwrap();
}

/// Records each query has read since the engine started, by sink.
pub fn read_since_start(e: &Engine) -> BTreeMap<String, u64> {
    e.queries()
        .map(|q| (q.sink.clone(), q.status().records_in))
        .collect()
}

/// Changelog records each query's tasks read back into their stores since
/// the engine started, over all queries.
pub fn restored_records(e: &Engine) -> u64 {
    e.queries().map(|q| q.status().restored_records).sum()
}

/// The names of the checkpoint files under `dir/state` (sorted).
pub fn checkpoint_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir.join("state").join("checkpoints"))
        .map(|entries| {
            entries
                .filter_map(|e| e.ok()?.file_name().into_string().ok())
                .filter(|n| n.ends_with(".checkpoint"))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Records in every partition of `topic`.
pub fn record_count(log: &dyn Log, topic: &str) -> i64 {
    log.end_offsets(topic).unwrap().iter().sum()
}

/// Each persistent query's consumer group, by the sink it writes.
pub fn groups(e: &Engine) -> BTreeMap<String, String> {
    e.queries()
        .map(|q| (q.sink.clone(), q.group.clone()))
        .collect()
}

/// Asserts that each `(sink, store)` has its changelog topic
/// (`<group of sink's query>-<store>-changelog`).
pub fn assert_changelogs(e: &Engine, groups: &BTreeMap<String, String>, stores: &[(&str, &str)]) {
    for (sink, store) in stores {
        let topic = format!("{}-{store}-changelog", groups[*sink]);
        assert!(e.log().topic_exists(&topic).unwrap(), "{topic}");
    }
}

/// Runs `ddl` and `query`, inserts `rows` (with a restart of the engine
/// after the first `restart_after`, if any), and gives the latest value per
/// key of `sink`.
pub fn run_with_restart(
    ddl: &str,
    query: &str,
    sink: &str,
    rows: &[String],
    restart_after: Option<usize>,
) -> BTreeMap<Vec<u8>, String> {
    let dir = tempfile::tempdir().unwrap();
    let mut e = open(dir.path());
    e.execute_sql(ddl).unwrap();
    e.execute_sql(query).unwrap();
    for (i, row) in rows.iter().enumerate() {
        if Some(i) == restart_after {
            e.run_until_idle().unwrap();
            drop(e);
            e = open(dir.path());
        }
        e.execute_sql(row).unwrap();
    }
    e.run_until_idle().unwrap();
    if let Some(at) = restart_after {
        // the restarted engine read only what came after the restart
        let read: u64 = e.queries().map(|q| q.status().records_in).sum();
        assert_eq!(read as usize, rows.len() - at);
    }
    latest(e.log().as_ref(), sink)
}
