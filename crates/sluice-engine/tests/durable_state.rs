//! Aggregations keep their state in changelog topics (named as ksqlDB names
//! them, compacted, written with the output and the offsets in one step): a
//! restart restores the state from there and reads none of its input again.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use sluice_engine::log::{EmbeddedLog, Log};
use sluice_engine::{Engine, EngineConfig};

/// An engine over a persistent log and command log in `dir`, its queries on
/// two stream threads.
fn open(dir: &Path) -> Engine {
    let log = Arc::new(EmbeddedLog::open(dir.join("log")).unwrap());
    Engine::new(
        log,
        EngineConfig::default().with("auto.offset.reset", "earliest"),
    )
    .with_command_log(&dir.join("command.log"))
    .unwrap()
    .with_stream_threads(2)
}

fn insert(e: &mut Engine, from: i64, to: i64) {
    insert_keyed(e, "clicks (ROWTIME, u, v)", "u", from, to);
}

/// Rows `from..to` into `target` (`name (ROWTIME, key, value)`): row i at
/// i seconds, keyed `<prefix><i % 10>`, its value i.
fn insert_keyed(e: &mut Engine, target: &str, prefix: &str, from: i64, to: i64) {
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
fn latest(log: &dyn Log, topic: &str) -> BTreeMap<Vec<u8>, String> {
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
fn live_keys(log: &dyn Log, topic: &str) -> usize {
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
fn per_user_counts(n: i64, column: &str) -> BTreeMap<Vec<u8>, String> {
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
fn terminate(e: &mut Engine, sink: &str) {
    let id = e.queries().find(|q| q.sink == sink).unwrap().id.clone();
    e.execute_sql(&format!("TERMINATE {id};")).unwrap();
}

/// Records each query has read since the engine started, by sink.
fn read_since_start(e: &Engine) -> BTreeMap<String, u64> {
    e.queries()
        .map(|q| (q.sink.clone(), q.status().records_in))
        .collect()
}

#[test]
fn aggregations_restore_their_state_from_changelogs_without_reading_their_input_again() {
    let dir = tempfile::tempdir().unwrap();
    let groups;
    {
        let mut e = open(dir.path());
        e.execute_sql(
            "CREATE STREAM clicks (u STRING KEY, v INT) WITH (kafka_topic='clicks', value_format='JSON', partitions=2);
             CREATE TABLE per_user AS SELECT u, COUNT(*) AS n, SUM(v) AS total FROM clicks GROUP BY u;
             CREATE TABLE per_window AS SELECT u, COUNT(*) AS n, MAX(v) AS top FROM clicks
               WINDOW TUMBLING (SIZE 10 SECONDS) GROUP BY u;
             CREATE TABLE by_parity AS SELECT v % 2 AS parity, COUNT(*) AS n FROM clicks GROUP BY v % 2;",
        )
        .unwrap();
        insert(&mut e, 0, 200);
        e.run_until_idle().unwrap();
        groups = e
            .queries()
            .map(|q| (q.sink.clone(), q.group.clone()))
            .collect::<BTreeMap<_, _>>();
        // keyed by the source's key: one changelog partition per source
        // partition; grouped by a value: one per partition of the
        // repartition topic keyed by the group (as many as the source's)
        for (sink, partitions) in [("PER_USER", 2), ("PER_WINDOW", 2), ("BY_PARITY", 2)] {
            let topic = format!("{}-Aggregate-Aggregate-Materialize-changelog", groups[sink]);
            let d = e.log().describe_topic(&topic).unwrap();
            assert_eq!(d.partitions.len(), partitions, "{topic}");
            assert_eq!(
                d.configs.get("cleanup.policy").map(String::as_str),
                Some("compact")
            );
        }
        let repartition = format!("{}-Aggregate-GroupBy-repartition", groups["BY_PARITY"]);
        assert_eq!(e.log().end_offsets(&repartition).unwrap().len(), 2);
        for sink in ["PER_USER", "PER_WINDOW"] {
            let topic = format!("{}-Aggregate-GroupBy-repartition", groups[sink]);
            assert!(!e.log().topic_exists(&topic).unwrap(), "{topic}");
        }
    }
    // restarted: the state comes back from the changelogs, no input is read
    let mut e = open(dir.path());
    e.run_until_idle().unwrap();
    assert!(
        read_since_start(&e).values().all(|n| *n == 0),
        "{:?}",
        read_since_start(&e)
    );
    insert(&mut e, 200, 250);
    e.run_until_idle().unwrap();
    // each new record read once; BY_PARITY reads it again from its
    // repartition topic
    let read = read_since_start(&e);
    assert_eq!(
        read,
        BTreeMap::from([
            ("BY_PARITY".to_string(), 100),
            ("PER_USER".to_string(), 50),
            ("PER_WINDOW".to_string(), 50)
        ])
    );
    // and the results go on from the state before the restart
    let per_user = latest(e.log().as_ref(), "PER_USER");
    assert_eq!(per_user.len(), 10);
    for u in 0..10i64 {
        let n = (0..250).filter(|i| i % 10 == u).count();
        let total: i64 = (0..250).filter(|i| i % 10 == u).sum();
        assert_eq!(
            per_user[format!("u{u}").as_bytes()],
            format!(r#"{{"N":{n},"TOTAL":{total}}}"#)
        );
    }
    let by_parity = latest(e.log().as_ref(), "BY_PARITY");
    assert_eq!(
        by_parity.values().cloned().collect::<Vec<_>>(),
        vec![r#"{"N":125}"#, r#"{"N":125}"#]
    );
    // one window per 10 s per user: 25 windows of the 250 s, each a count of 1
    let per_window = latest(e.log().as_ref(), "PER_WINDOW");
    assert_eq!(per_window.len(), 250);
    assert!(per_window.values().all(|v| v.starts_with(r#"{"N":1,"#)));
    // a terminated query's changelog goes with it
    terminate(&mut e, "BY_PARITY");
    for internal in [
        "Aggregate-Aggregate-Materialize-changelog",
        "Aggregate-GroupBy-repartition",
    ] {
        let topic = format!("{}-{internal}", groups["BY_PARITY"]);
        assert!(!e.log().topic_exists(&topic).unwrap(), "{topic}");
    }
}

/// Runs `ddl` and `query`, inserts `rows` (with a restart of the engine
/// after the first `restart_after`, if any), and gives the latest value per
/// key of `sink`.
fn run_with_restart(
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

#[test]
fn every_aggregate_function_goes_on_exactly_after_a_restart() {
    let ddl = "CREATE STREAM s (k STRING KEY, v INT, d DOUBLE, t STRING) \
               WITH (kafka_topic='s', value_format='JSON', partitions=2);";
    let query = "CREATE TABLE agg AS SELECT k, COUNT(*) AS c, SUM(v) AS sv, AVG(d) AS ad, \
                 MIN(v) AS mn, MAX(d) AS mx, COLLECT_LIST(t) AS cl, COLLECT_SET(t) AS cs, \
                 TOPK(v, 2) AS tk, TOPKDISTINCT(v, 2) AS tkd, EARLIEST_BY_OFFSET(t) AS e, \
                 LATEST_BY_OFFSET(t) AS l, HISTOGRAM(t) AS h, STDDEV_SAMP(d) AS sd, \
                 COUNT_DISTINCT(t) AS cd, CORRELATION(d, CAST(v AS DOUBLE)) AS co, ATTR(t) AS a \
                 FROM s GROUP BY k;";
    let rows: Vec<String> = (0..120)
        .map(|i| {
            format!(
                "INSERT INTO s (ROWTIME, k, v, d, t) VALUES ({}, 'k{}', {}, {}, 't{}');",
                i * 100,
                i % 4,
                (i * 7) % 23,
                (i as f64) * 0.5,
                i % 5
            )
        })
        .collect();
    let straight = run_with_restart(ddl, query, "AGG", &rows, None);
    let restarted = run_with_restart(ddl, query, "AGG", &rows, Some(60));
    assert_eq!(straight.len(), 4);
    assert_eq!(restarted, straight);
}

#[test]
fn windowed_and_session_aggregates_go_on_exactly_after_a_restart() {
    let ddl = "CREATE STREAM s (k STRING KEY, v INT) \
               WITH (kafka_topic='s', value_format='JSON', partitions=1);";
    let rows: Vec<String> = (0..120)
        .map(|i| {
            // bursts of 10 records 1 s apart, then a 30 s pause: sessions
            let ts = (i / 10) * 40_000 + (i % 10) * 1000;
            format!(
                "INSERT INTO s (ROWTIME, k, v) VALUES ({ts}, 'k{}', {i});",
                i % 3
            )
        })
        .collect();
    for query in [
        "CREATE TABLE w AS SELECT k, COUNT(*) AS c, SUM(v) AS sv FROM s \
         WINDOW HOPPING (SIZE 20 SECONDS, ADVANCE BY 5 SECONDS) GROUP BY k;",
        "CREATE TABLE w AS SELECT k, COUNT(*) AS c, MAX(v) AS mx FROM s \
         WINDOW SESSION (10 SECONDS) GROUP BY k;",
        "CREATE TABLE w AS SELECT k, COUNT(*) AS c FROM s \
         WINDOW TUMBLING (SIZE 30 SECONDS, GRACE PERIOD 0 SECONDS) GROUP BY k EMIT FINAL;",
    ] {
        let straight = run_with_restart(ddl, query, "W", &rows, None);
        let restarted = run_with_restart(ddl, query, "W", &rows, Some(55));
        assert!(!straight.is_empty(), "{query}");
        assert_eq!(restarted, straight, "{query}");
    }
}

#[test]
fn counts_stay_exact_after_retention_deleted_the_input_they_read() {
    let dir = tempfile::tempdir().unwrap();
    let counts = |e: &Engine| latest(e.log().as_ref(), "PER_USER");
    let expected = |n: i64| per_user_counts(n, "N");
    {
        let mut e = open(dir.path());
        e.execute_sql(
            "CREATE STREAM clicks (u STRING KEY, v INT) WITH (kafka_topic='clicks', value_format='JSON', partitions=1);
             CREATE TABLE per_user AS SELECT u, COUNT(*) AS n FROM clicks GROUP BY u;",
        )
        .unwrap();
        // small segments, kept (the rows are stamped in 1970) until asked
        let set = BTreeMap::from([
            ("segment.bytes".to_string(), "2000".to_string()),
            ("retention.ms".to_string(), "-1".to_string()),
        ]);
        e.log().alter_topic_configs("clicks", &set).unwrap();
        insert(&mut e, 0, 300);
        e.run_until_idle().unwrap();
        assert_eq!(counts(&e), expected(300));
        // then only the last 5,000 bytes are kept
        let set = BTreeMap::from([("retention.bytes".to_string(), "5000".to_string())]);
        e.log().alter_topic_configs("clicks", &set).unwrap();
        let start = e.log().start_offsets("clicks").unwrap()[0];
        assert!(start > 150, "input deleted up to {start}");
    }
    let mut e = open(dir.path());
    e.run_until_idle().unwrap();
    assert!(read_since_start(&e).values().all(|n| *n == 0));
    insert(&mut e, 300, 350);
    e.run_until_idle().unwrap();
    assert_eq!(counts(&e), expected(350));
    // a query started now reads what is still stored, from the start offset
    e.execute_sql("CREATE TABLE again AS SELECT u, COUNT(*) AS n FROM clicks GROUP BY u;")
        .unwrap();
    e.run_until_idle().unwrap();
    let stored = {
        let start = e.log().start_offsets("clicks").unwrap()[0];
        350 - start
    };
    let again: u64 = latest(e.log().as_ref(), "AGAIN")
        .values()
        .map(|v| {
            v.trim_start_matches(r#"{"N":"#)
                .trim_end_matches('}')
                .parse::<u64>()
                .unwrap()
        })
        .sum();
    assert_eq!(again as i64, stored);
}

#[test]
fn closed_windows_leave_the_state_and_the_changelog() {
    let dir = tempfile::tempdir().unwrap();
    let mut e = open(dir.path());
    e.execute_sql(
        "CREATE STREAM s (k STRING KEY, v INT) WITH (kafka_topic='s', value_format='JSON', partitions=1);
         CREATE TABLE w AS SELECT k, COUNT(*) AS c FROM s
           WINDOW TUMBLING (SIZE 10 SECONDS, GRACE PERIOD 0 SECONDS) GROUP BY k;",
    )
    .unwrap();
    let insert = |e: &mut Engine, ts: i64, k: i64| {
        e.execute_sql(&format!(
            "INSERT INTO s (ROWTIME, k, v) VALUES ({ts}, 'k{k}', 1);"
        ))
        .unwrap();
    };
    // 100 s of records, three keys: ten windows per key
    for i in 0..100 {
        insert(&mut e, i * 1000, i % 3);
    }
    e.run_until_idle().unwrap();
    let group = e.queries().next().unwrap().group.clone();
    let changelog = format!("{group}-Aggregate-Aggregate-Materialize-changelog");
    // every window got its results; only the open one is still kept, in
    // state and in the changelog (the closed ones have tombstones there)
    let windows = latest(e.log().as_ref(), "W");
    assert_eq!(windows.len(), 30);
    assert_eq!(live_keys(e.log().as_ref(), &changelog), 3);
    // the open windows are held: live in the cache or encoded in the store
    let state: usize = e.queries().map(|q| q.status().state_bytes).sum();
    let stored: u64 = e.queries().map(|q| q.status().stored_bytes).sum();
    // a late record for a closed window is dropped
    insert(&mut e, 5_000, 0);
    e.run_until_idle().unwrap();
    assert_eq!(latest(e.log().as_ref(), "W"), windows);
    // after a restart the open window counts on
    drop(e);
    let mut e = open(dir.path());
    e.run_until_idle().unwrap();
    insert(&mut e, 99_500, 0);
    e.run_until_idle().unwrap();
    let after = latest(e.log().as_ref(), "W");
    let changed: Vec<&String> = after
        .iter()
        .filter(|(k, v)| windows.get(*k) != Some(*v))
        .map(|(_, v)| v)
        .collect();
    // window [90 s, 100 s) of k0 had 90, 93, 96, 99: now five records
    assert_eq!(changed, vec![r#"{"C":5}"#], "{after:?}");
    assert!(state > 0 || stored > 0);
}

/// [`open`] with the state stores on disk under `dir/state`, caching at
/// most `cache` bytes of live groups.
fn open_stored(dir: &Path, cache: usize) -> Engine {
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

#[test]
fn a_restart_restores_the_local_store_and_reads_only_the_changelog_after_its_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let counts = |e: &Engine| latest(e.log().as_ref(), "PER_USER");
    let expected = |n: i64| per_user_counts(n, "C");
    let restored = |e: &Engine| -> u64 { e.queries().map(|q| q.status().restored_records).sum() };
    // no cache: every group is read back from the disk store when it changes
    let mut e = open_stored(dir.path(), 0);
    e.execute_sql(
        "CREATE STREAM clicks (u STRING KEY, v INT) WITH (kafka_topic='clicks', value_format='JSON', partitions=2);
         CREATE TABLE per_user AS SELECT u, COUNT(*) AS c FROM clicks GROUP BY u;",
    )
    .unwrap();
    insert(&mut e, 0, 200);
    e.run_until_idle().unwrap();
    assert_eq!(counts(&e), expected(200));
    // a task that caught up moves its checkpoints to the changelog's end
    insert(&mut e, 200, 210);
    e.run_until_idle().unwrap();
    let group = e.queries().next().unwrap().group.clone();
    drop(e);

    // restarted: the stores hold everything their checkpoints say
    let mut e = open_stored(dir.path(), 0);
    insert(&mut e, 210, 230);
    e.run_until_idle().unwrap();
    assert_eq!(counts(&e), expected(230));
    assert_eq!(restored(&e), 0);
    assert_eq!(read_since_start(&e)["PER_USER"], 20);
    drop(e);

    // without their checkpoints the stores are emptied and rebuilt from the
    // whole changelog — still without reading the input again
    let checkpoints = dir.path().join("state").join("checkpoints");
    let mut removed = 0;
    for f in std::fs::read_dir(&checkpoints).unwrap() {
        let f = f.unwrap().path();
        assert!(f.to_string_lossy().contains(&group), "{f:?}");
        std::fs::remove_file(f).unwrap();
        removed += 1;
    }
    assert_eq!(
        removed, 2,
        "a store and a checkpoint per changelog partition"
    );
    let mut e = open_stored(dir.path(), 1 << 20);
    insert(&mut e, 230, 240);
    e.run_until_idle().unwrap();
    assert_eq!(counts(&e), expected(240));
    assert!(restored(&e) >= 10, "{}", restored(&e));
    assert_eq!(read_since_start(&e)["PER_USER"], 10);

    // TERMINATE deletes the stores and their checkpoints with the changelog
    let id = e.queries().next().unwrap().id.clone();
    e.execute_sql(&format!("TERMINATE {id};")).unwrap();
    assert_eq!(std::fs::read_dir(&checkpoints).unwrap().count(), 0);
}

#[test]
fn a_value_grouped_aggregation_purges_what_it_read_of_its_repartition_topic() {
    let log = Arc::new(EmbeddedLog::in_memory());
    let mut e = Engine::new(
        log.clone(),
        EngineConfig::default()
            .with("auto.offset.reset", "earliest")
            .with("ksql.streams.repartition.purge.interval.ms", "0"),
    )
    .with_stream_threads(2);
    e.execute_sql(
        "CREATE STREAM clicks (u STRING KEY, v INT) WITH (kafka_topic='clicks', value_format='JSON', partitions=2);
         CREATE TABLE by_digit AS SELECT v % 10 AS digit, COUNT(*) AS n FROM clicks GROUP BY v % 10;",
    )
    .unwrap();
    insert(&mut e, 0, 100);
    e.run_until_idle().unwrap();
    insert(&mut e, 100, 120);
    e.run_until_idle().unwrap();
    let group = e.queries().next().unwrap().group.clone();
    let topic = format!("{group}-Aggregate-GroupBy-repartition");
    // every record read once from the source went through the topic, and
    // what the aggregation consumed of it is gone
    let ends: i64 = log.end_offsets(&topic).unwrap().iter().sum();
    assert_eq!(ends, 120);
    let starts = log.start_offsets(&topic).unwrap();
    let ends = log.end_offsets(&topic).unwrap();
    assert!(ends.iter().all(|e| *e > 0), "end offsets {ends:?}");
    assert!(starts.iter().all(|s| *s > 0), "start offsets {starts:?}");
    let counts = latest(log.as_ref(), "BY_DIGIT");
    assert_eq!(counts.len(), 10);
    assert!(counts.values().all(|v| v == r#"{"N":12}"#), "{counts:?}");
}

/// Records in every partition of `topic`.
fn record_count(log: &dyn Log, topic: &str) -> i64 {
    log.end_offsets(topic).unwrap().iter().sum()
}

#[test]
fn joins_restore_their_windows_and_tables_from_changelogs_without_replay() {
    let dir = tempfile::tempdir().unwrap();
    let groups;
    let left_rows = |e: &mut Engine, from: i64, to: i64| {
        insert_keyed(e, "l (ROWTIME, id, a)", "k", from, to);
    };
    {
        let mut e = open(dir.path());
        e.execute_sql(
            "CREATE STREAM l (id STRING KEY, a INT) WITH (kafka_topic='l', value_format='JSON', partitions=2);
             CREATE STREAM r (id STRING KEY, b INT) WITH (kafka_topic='r', value_format='JSON', partitions=2);
             CREATE TABLE t (id STRING PRIMARY KEY, c INT) WITH (kafka_topic='t', value_format='JSON', partitions=2);
             CREATE STREAM inner_joined AS SELECT l.id, a, b FROM l JOIN r WITHIN 1 HOUR ON l.id = r.id;
             CREATE STREAM left_joined AS SELECT l.id, a, b FROM l LEFT JOIN r WITHIN 1 HOUR ON l.id = r.id;
             CREATE STREAM enriched AS SELECT l.id, a, c FROM l JOIN t ON l.id = t.id;",
        )
        .unwrap();
        for k in 0..10 {
            e.execute_sql(&format!("INSERT INTO t (id, c) VALUES ('k{k}', {k});"))
                .unwrap();
        }
        e.run_until_idle().unwrap();
        left_rows(&mut e, 0, 20);
        e.run_until_idle().unwrap();
        groups = e
            .queries()
            .map(|q| (q.sink.clone(), q.group.clone()))
            .collect::<BTreeMap<_, _>>();
        // the window stores' changelogs, named as ksqlDB's topology names
        // them, a partition per input partition, rows leaving by retention
        for (sink, stores) in [
            (
                "INNER_JOINED",
                ["JOINTHIS-0000000008", "JOINOTHER-0000000009"],
            ),
            (
                "LEFT_JOINED",
                ["JOINTHIS-0000000008", "OUTEROTHER-0000000009"],
            ),
        ] {
            for store in stores {
                let topic = format!("{}-KSTREAM-{store}-store-changelog", groups[sink]);
                let d = e.log().describe_topic(&topic).unwrap();
                assert_eq!(d.partitions.len(), 2, "{topic}");
                assert_eq!(
                    d.configs.get("cleanup.policy").map(String::as_str),
                    Some("delete")
                );
            }
            // the left rows, gathered by poll and partition: at most a
            // record per row, at least one per partition that has rows
            let this = format!("{}-KSTREAM-{}-store-changelog", groups[sink], stores[0]);
            let records = record_count(e.log().as_ref(), &this);
            assert!((2..=20).contains(&records), "{this}: {records}");
            let other = format!("{}-KSTREAM-{}-store-changelog", groups[sink], stores[1]);
            assert_eq!(record_count(e.log().as_ref(), &other), 0);
        }
        // the joined table's rows: a compacted changelog named after the
        // table's store in ksqlDB's topology, a record per row put
        let table = format!("{}-KafkaTopic_Right-Reduce-changelog", groups["ENRICHED"]);
        let d = e.log().describe_topic(&table).unwrap();
        assert_eq!(d.partitions.len(), 2, "{table}");
        assert_eq!(
            d.configs.get("cleanup.policy").map(String::as_str),
            Some("compact")
        );
        assert_eq!(record_count(e.log().as_ref(), &table), 10);
        assert_eq!(record_count(e.log().as_ref(), "INNER_JOINED"), 0);
        assert_eq!(record_count(e.log().as_ref(), "LEFT_JOINED"), 20);
        assert_eq!(record_count(e.log().as_ref(), "ENRICHED"), 20);
    }
    // restarted: the windows and the table come back from the
    // changelogs; no input is read again
    let mut e = open(dir.path());
    e.run_until_idle().unwrap();
    let read = read_since_start(&e);
    assert_eq!(read["INNER_JOINED"], 0, "{read:?}");
    assert_eq!(read["LEFT_JOINED"], 0, "{read:?}");
    assert_eq!(read["ENRICHED"], 0, "{read:?}");
    // a left row per key, then a right row per key: the new left rows are
    // earlier than the right ones (and written first), so each is written
    // unmatched by the left join, then each right row joins the three left
    // rows of its key, two of them held since before the restart
    left_rows(&mut e, 20, 30);
    for k in 0..10 {
        e.execute_sql(&format!(
            "INSERT INTO r (ROWTIME, id, b) VALUES ({}, 'k{k}', {});",
            30_000 + k,
            100 + k
        ))
        .unwrap();
    }
    e.run_until_idle().unwrap();
    let log = e.log();
    assert_eq!(record_count(log.as_ref(), "INNER_JOINED"), 30);
    assert_eq!(record_count(log.as_ref(), "LEFT_JOINED"), 20 + 10 + 30);
    assert_eq!(record_count(log.as_ref(), "ENRICHED"), 30);
    let mut joined: Vec<String> = Vec::new();
    for (p, end) in log
        .end_offsets("INNER_JOINED")
        .unwrap()
        .into_iter()
        .enumerate()
    {
        for r in log
            .fetch("INNER_JOINED", p as i32, 0, end as usize)
            .unwrap()
        {
            joined.push(String::from_utf8(r.record.value.unwrap()).unwrap());
        }
    }
    joined.sort();
    let mut expected: Vec<String> = (0..30)
        .map(|i| format!(r#"{{"A":{i},"B":{}}}"#, 100 + i % 10))
        .collect();
    expected.sort();
    assert_eq!(joined, expected);
    // a terminated join's changelogs go with it
    terminate(&mut e, "LEFT_JOINED");
    let prefix = format!("{}-", groups["LEFT_JOINED"]);
    let left: Vec<String> = e
        .log()
        .list_topics()
        .unwrap()
        .into_iter()
        .filter(|t| t.starts_with(&prefix))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn a_table_join_rekeys_a_table_into_the_join_key_format_and_restores_both_tables() {
    let dir = tempfile::tempdir().unwrap();
    let group;
    {
        let mut e = open(dir.path());
        // INT keys serialize differently in KAFKA and DELIMITED: the right
        // table is re-keyed into the left's key format (ksqlDB's
        // `RightSourceKeyed-SelectKey`) before the join
        e.execute_sql(
            "CREATE TABLE t1 (id INT PRIMARY KEY, name STRING) WITH (kafka_topic='t1', key_format='KAFKA', value_format='JSON', partitions=2);
             CREATE TABLE t2 (id INT PRIMARY KEY, f INT) WITH (kafka_topic='t2', key_format='DELIMITED', value_format='JSON', partitions=2);
             CREATE TABLE joined AS SELECT t1.id, name, f FROM t1 LEFT JOIN t2 ON t1.id = t2.id;",
        )
        .unwrap();
        for k in 0..6 {
            e.execute_sql(&format!("INSERT INTO t1 (id, name) VALUES ({k}, 'n{k}');"))
                .unwrap();
            e.execute_sql(&format!("INSERT INTO t2 (id, f) VALUES ({k}, {k});"))
                .unwrap();
        }
        e.run_until_idle().unwrap();
        group = e.queries().next().unwrap().group.clone();
        let log = e.log();
        for (suffix, policy) in [
            ("RightSourceKeyed-SelectKey-repartition", "delete"),
            ("RightSourceKeyed-Materialize-changelog", "compact"),
            ("KafkaTopic_Left-Reduce-changelog", "compact"),
        ] {
            let topic = format!("{group}-{suffix}");
            let d = log.describe_topic(&topic).unwrap();
            assert_eq!(d.partitions.len(), 2, "{topic}");
            assert_eq!(
                d.configs.get("cleanup.policy").map(String::as_str),
                Some(policy),
                "{topic}"
            );
        }
        assert_eq!(
            record_count(
                log.as_ref(),
                &format!("{group}-RightSourceKeyed-Materialize-changelog")
            ),
            6
        );
        assert!(!log
            .topic_exists(&format!("{group}-KafkaTopic_Right-Reduce-changelog"))
            .unwrap());
    }
    // restarted: both tables come back from their changelogs, nothing of
    // the sources is read again, and changes on either side join with the
    // restored rows (a right delete leaves the left row with no F)
    let mut e = open(dir.path());
    e.run_until_idle().unwrap();
    assert_eq!(read_since_start(&e)["JOINED"], 0);
    e.execute_sql("INSERT INTO t1 (id, name) VALUES (1, 'one');")
        .unwrap();
    // a tombstone for key 2 of t2, its DELIMITED key "2"
    let tombstone = sluice_engine::log::Record::new(Some(b"2".to_vec()), None, 10);
    e.log().produce("t2", vec![(None, tombstone)]).unwrap();
    e.run_until_idle().unwrap();
    let log = e.log();
    let by_id: BTreeMap<i32, String> = latest(log.as_ref(), "JOINED")
        .into_iter()
        .map(|(k, v)| (i32::from_be_bytes(k.try_into().unwrap()), v))
        .collect();
    assert_eq!(by_id.len(), 6, "{by_id:?}");
    assert_eq!(by_id[&1], r#"{"NAME":"one","F":1}"#);
    assert_eq!(by_id[&2], r#"{"NAME":"n2","F":null}"#);
    assert_eq!(by_id[&3], r#"{"NAME":"n3","F":3}"#);
}

#[test]
fn a_left_join_with_a_grace_period_holds_unmatched_rows_in_a_changelogged_store_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let group;
    {
        let mut e = open(dir.path());
        e.execute_sql(
            "CREATE STREAM l (id STRING KEY, a INT) WITH (kafka_topic='l', value_format='JSON', partitions=1);
             CREATE STREAM r (id STRING KEY, b INT) WITH (kafka_topic='r', value_format='JSON', partitions=1);
             CREATE STREAM j AS SELECT l.id, a, b FROM l LEFT JOIN r WITHIN 1 SECOND GRACE PERIOD 1 SECOND ON l.id = r.id;",
        )
        .unwrap();
        e.execute_sql("INSERT INTO l (ROWTIME, id, a) VALUES (1000, 'k1', 1);")
            .unwrap();
        e.run_until_idle().unwrap();
        group = e.queries().next().unwrap().group.clone();
        // no match yet, and its window has not closed: held, not emitted
        assert_eq!(record_count(e.log().as_ref(), "J"), 0);
        let outer = format!("{group}-KSTREAM-OUTERSHARED-0000000008-store-changelog");
        let d = e.log().describe_topic(&outer).unwrap();
        assert_eq!(
            d.configs.get("cleanup.policy").map(String::as_str),
            Some("compact")
        );
        assert_eq!(record_count(e.log().as_ref(), &outer), 1);
    }
    // restarted: the held row comes back from its changelog and goes out
    // once a later row moves stream time past its window and grace
    let mut e = open(dir.path());
    e.run_until_idle().unwrap();
    e.execute_sql("INSERT INTO l (ROWTIME, id, a) VALUES (10000, 'k2', 2);")
        .unwrap();
    e.run_until_idle().unwrap();
    assert_eq!(read_since_start(&e)["J"], 1);
    let rows = latest(e.log().as_ref(), "J");
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[b"k1".as_slice()], r#"{"A":1,"B":null}"#);
}

#[test]
fn n_way_joins_keep_every_join_state_in_changelogs_and_restore_without_replay() {
    let dir = tempfile::tempdir().unwrap();
    let groups;
    {
        let mut e = open(dir.path());
        e.execute_sql(
            "CREATE STREAM s1 (id STRING KEY, a INT) WITH (kafka_topic='s1', value_format='JSON', partitions=2);
             CREATE STREAM s2 (id STRING KEY, b INT) WITH (kafka_topic='s2', value_format='JSON', partitions=2);
             CREATE TABLE t3 (id STRING PRIMARY KEY, c INT) WITH (kafka_topic='t3', value_format='JSON', partitions=2);
             CREATE TABLE t1 (id STRING PRIMARY KEY, x INT) WITH (kafka_topic='t1', value_format='JSON', partitions=2);
             CREATE TABLE t2 (id STRING PRIMARY KEY, y INT) WITH (kafka_topic='t2', value_format='JSON', partitions=2);
             CREATE STREAM j AS SELECT s1.id, a, b, c FROM s1 JOIN s2 WITHIN 1 HOUR ON s1.id = s2.id JOIN t3 ON s1.id = t3.id;
             CREATE TABLE tj AS SELECT t1.id, x, y, c FROM t1 JOIN t2 ON t1.id = t2.id LEFT JOIN t3 ON t1.id = t3.id;",
        )
        .unwrap();
        for k in 0..5 {
            e.execute_sql(&format!("INSERT INTO t3 (id, c) VALUES ('k{k}', {k});"))
                .unwrap();
            e.execute_sql(&format!(
                "INSERT INTO s1 (ROWTIME, id, a) VALUES (1000, 'k{k}', {k});"
            ))
            .unwrap();
            e.execute_sql(&format!("INSERT INTO t1 (id, x) VALUES ('k{k}', {k});"))
                .unwrap();
            e.execute_sql(&format!("INSERT INTO t2 (id, y) VALUES ('k{k}', {k});"))
                .unwrap();
        }
        e.run_until_idle().unwrap();
        groups = e
            .queries()
            .map(|q| (q.sink.clone(), q.group.clone()))
            .collect::<BTreeMap<_, _>>();
        // each join's stores, named as ksqlDB's topology names them: the
        // stream-stream join's after the table and two streams built before
        // it, the earlier joins' tables under their L_ prefix
        for (sink, store) in [
            ("J", "KSTREAM-JOINTHIS-0000000014-store"),
            ("J", "KSTREAM-JOINOTHER-0000000015-store"),
            ("J", "KafkaTopic_Right-Reduce"),
            ("TJ", "KafkaTopic_L_Left-Reduce"),
            ("TJ", "KafkaTopic_L_Right-Reduce"),
            ("TJ", "KafkaTopic_Right-Reduce"),
        ] {
            let topic = format!("{}-{store}-changelog", groups[sink]);
            assert!(e.log().topic_exists(&topic).unwrap(), "{topic}");
        }
        assert_eq!(record_count(e.log().as_ref(), "J"), 0);
        assert_eq!(live_keys(e.log().as_ref(), "TJ"), 5);
    }
    // restarted: every join's state comes back from its changelogs; new
    // rows join with it, and nothing of the sources is read again
    let mut e = open(dir.path());
    e.run_until_idle().unwrap();
    for k in 0..5 {
        e.execute_sql(&format!(
            "INSERT INTO s2 (ROWTIME, id, b) VALUES (2000, 'k{k}', {});",
            10 + k
        ))
        .unwrap();
    }
    e.execute_sql("INSERT INTO t2 (id, y) VALUES ('k3', 33);")
        .unwrap();
    let tombstone = sluice_engine::log::Record::new(Some(b"k0".to_vec()), None, 10);
    e.log().produce("t1", vec![(None, tombstone)]).unwrap();
    e.run_until_idle().unwrap();
    let read = read_since_start(&e);
    assert_eq!(read["J"], 5, "{read:?}");
    assert_eq!(read["TJ"], 2, "{read:?}");
    let log = e.log();
    let joined = latest(log.as_ref(), "J");
    assert_eq!(joined.len(), 5, "{joined:?}");
    assert_eq!(joined[b"k2".as_slice()], r#"{"A":2,"B":12,"C":2}"#);
    let table = latest(log.as_ref(), "TJ");
    assert_eq!(table.len(), 4, "{table:?}");
    assert!(!table.contains_key(b"k0".as_slice()));
    assert_eq!(table[b"k3".as_slice()], r#"{"X":3,"Y":33,"C":3}"#);
}
