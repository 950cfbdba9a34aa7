//! Aggregations keep their state in changelog topics (named as ksqlDB names
//! them, compacted, written with the output and the offsets in one step): a
//! restart restores the state from there and reads none of its input again.

mod durable;

use std::collections::BTreeMap;
use std::sync::Arc;

use durable::{
    insert, latest, live_keys, open, open_stored, per_user_counts, read_since_start,
    restored_records, run_with_restart, terminate,
};
use sluice_engine::log::{EmbeddedLog, Log};
use sluice_engine::{Engine, EngineConfig};

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
        groups = durable::groups(&e);
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

#[test]
fn a_restart_restores_the_local_store_and_reads_only_the_changelog_after_its_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let counts = |e: &Engine| latest(e.log().as_ref(), "PER_USER");
    let expected = |n: i64| per_user_counts(n, "C");
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
    assert_eq!(restored_records(&e), 0);
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
    assert!(restored_records(&e) >= 10, "{}", restored_records(&e));
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
