//! Aggregations over tables keep what each of the table's keys contributed
//! to its group in a changelog of their own (`KsqlTopic-Reduce-changelog`,
//! compacted, written with the output): after a restart an update or a
//! delete of a key still takes its old values back exactly, and the table's
//! topic is not read again.

mod durable;

use std::collections::BTreeMap;

use durable::{
    groups, latest, live_keys, open, open_stored, read_since_start, restored_records,
    run_with_restart,
};
use sluice_engine::log::{Log, Record};

const DDL: &str = "CREATE TABLE t (id STRING PRIMARY KEY, region STRING, amount INT, tag STRING) \
                   WITH (kafka_topic='t', value_format='JSON', partitions=2);";

/// 120 rows over 15 ids, so most rows update a key seen before, moving it
/// between regions; every 11th row has no region (its key leaves its group).
fn rows() -> Vec<String> {
    (0..120)
        .map(|i| {
            let region = if i % 11 == 5 {
                "NULL".to_string()
            } else {
                format!("'r{}'", (i * 7) % 4)
            };
            format!(
                "INSERT INTO t (ROWTIME, id, region, amount, tag) VALUES ({}, 'i{}', {region}, {}, 'g{}');",
                i * 100,
                i % 15,
                (i * 13) % 29,
                i % 3
            )
        })
        .collect()
}

#[test]
fn an_aggregation_over_a_table_takes_back_what_a_key_gave_before_a_restart() {
    for (query, groups_expected) in [
        // grouped by a value: one task over every partition
        (
            "CREATE TABLE agg AS SELECT region, COUNT(*) AS c, SUM(amount) AS s, \
             AVG(amount) AS a, COLLECT_LIST(tag) AS cl, HISTOGRAM(tag) AS h, \
             STDDEV_SAMPLE(CAST(amount AS DOUBLE)) AS sd FROM t GROUP BY region;",
            4,
        ),
        // grouped by the table's key: state per partition
        (
            "CREATE TABLE agg AS SELECT id, COUNT(*) AS c, SUM(amount) AS s FROM t GROUP BY id;",
            15,
        ),
    ] {
        let straight = run_with_restart(DDL, query, "AGG", &rows(), None);
        // the restart asserts that only the rows after it are read
        let restarted = run_with_restart(DDL, query, "AGG", &rows(), Some(60));
        assert_eq!(straight.len(), groups_expected, "{query}: {straight:?}");
        assert_eq!(restarted, straight, "{query}");
    }
}

#[test]
fn an_aggregation_over_a_table_table_join_goes_on_exactly_after_a_restart() {
    let ddl = format!(
        "{DDL} CREATE TABLE w (id STRING PRIMARY KEY, weight INT) \
         WITH (kafka_topic='w', value_format='JSON', partitions=2);"
    );
    let query = "CREATE TABLE agg AS SELECT t.region, COUNT(*) AS c, SUM(w.weight) AS s \
                 FROM t JOIN w ON t.id = w.id GROUP BY t.region;";
    // the weights change too: a joined row changes from either side
    let rows: Vec<String> = rows()
        .into_iter()
        .enumerate()
        .flat_map(|(i, row)| {
            let weight = format!(
                "INSERT INTO w (ROWTIME, id, weight) VALUES ({}, 'i{}', {});",
                i * 100 + 50,
                (i * 4) % 15,
                i % 9
            );
            [row, weight]
        })
        .collect();
    let straight = run_with_restart(&ddl, query, "AGG", &rows, None);
    let restarted = run_with_restart(&ddl, query, "AGG", &rows, Some(121));
    assert_eq!(straight.len(), 4, "{straight:?}");
    assert_eq!(restarted, straight);
}

#[test]
fn a_table_aggregation_writes_each_changed_key_to_its_compacted_changelog() {
    let dir = tempfile::tempdir().unwrap();
    let mut e = open(dir.path());
    e.execute_sql(DDL).unwrap();
    e.execute_sql("CREATE TABLE agg AS SELECT region, SUM(amount) AS s FROM t GROUP BY region;")
        .unwrap();
    for row in rows() {
        e.execute_sql(&row).unwrap();
    }
    e.run_until_idle().unwrap();
    let topic = format!("{}-KsqlTopic-Reduce-changelog", groups(&e)["AGG"]);
    let described = e.log().describe_topic(&topic).unwrap();
    assert_eq!(
        described.configs.get("cleanup.policy").map(String::as_str),
        Some("compact")
    );
    // the latest record of each id is its contribution; an id whose last
    // row had no region contributes nothing (a tombstone)
    let without_region: Vec<usize> = (0..15)
        .filter(|id| {
            let last = (0..120).filter(|i| i % 15 == *id).max().unwrap();
            last % 11 == 5
        })
        .collect();
    assert!(!without_region.is_empty());
    assert_eq!(
        live_keys(e.log().as_ref(), &topic),
        15 - without_region.len(),
        "{without_region:?}"
    );
}

/// The rows of [`rows`] with a delete of every 7th row's key after it (a
/// tombstone in the table's topic, its KAFKA key the id's bytes), over
/// on-disk stores with no cache (every group read back from its store),
/// restarted after `restart_after` steps: the latest value of each region.
fn with_deletes(restart_after: Option<usize>) -> BTreeMap<Vec<u8>, String> {
    let dir = tempfile::tempdir().unwrap();
    let mut e = open_stored(dir.path(), 0);
    e.execute_sql(DDL).unwrap();
    e.execute_sql(
        "CREATE TABLE agg AS SELECT region, COUNT(*) AS c, SUM(amount) AS s, \
         COLLECT_LIST(tag) AS cl FROM t GROUP BY region;",
    )
    .unwrap();
    let mut read_after = 0;
    for (i, row) in rows().iter().enumerate() {
        if Some(i) == restart_after {
            e.run_until_idle().unwrap();
            drop(e);
            e = open_stored(dir.path(), 0);
            e.run_until_idle().unwrap();
            assert_eq!(read_since_start(&e)["AGG"], 0);
        }
        e.execute_sql(row).unwrap();
        read_after += u64::from(restart_after.is_some_and(|at| i >= at));
        if i % 7 == 3 {
            let key = format!("i{}", i % 15).into_bytes();
            let tombstone = Record::new(Some(key), None, i as i64 * 100 + 1);
            e.log().produce("t", vec![(None, tombstone)]).unwrap();
            read_after += u64::from(restart_after.is_some_and(|at| i >= at));
        }
        // a commit every few rows, so groups leave the cache in between
        if i % 5 == 4 {
            e.run_until_idle().unwrap();
        }
    }
    e.run_until_idle().unwrap();
    if restart_after.is_some() {
        assert_eq!(read_since_start(&e)["AGG"], read_after);
    }
    latest(e.log().as_ref(), "AGG")
}

#[test]
fn deletes_take_back_a_key_after_a_restart_with_every_group_read_back_from_disk() {
    let straight = with_deletes(None);
    assert_eq!(straight.len(), 4, "{straight:?}");
    // the deletes left some region with fewer rows than its inserts
    let counted: u64 = straight
        .values()
        .map(|v| {
            let n = v
                .split(r#""C":"#)
                .nth(1)
                .unwrap()
                .split(',')
                .next()
                .unwrap();
            n.parse::<u64>().unwrap()
        })
        .sum();
    assert!(counted < 15, "{straight:?}");
    for at in [30, 61, 100] {
        assert_eq!(with_deletes(Some(at)), straight, "restarted after {at}");
    }
}

/// A table aggregation grouped by the table's key keeps its state by
/// partition: a partition taken away takes its keys' contributions along,
/// and given back it restores them from the changelog, so an update of a
/// key still replaces what the key gave before.
#[test]
fn a_partition_given_back_restores_its_keys_contributions() {
    let embedded = std::sync::Arc::new(sluice_engine::log::EmbeddedLog::in_memory());
    let mut e = sluice_engine::Engine::new(
        embedded.clone(),
        sluice_engine::EngineConfig::default().with("auto.offset.reset", "earliest"),
    );
    e.execute_sql(DDL).unwrap();
    e.execute_sql(
        "CREATE TABLE agg AS SELECT id, COUNT(*) AS c, SUM(amount) AS s FROM t GROUP BY id;",
    )
    .unwrap();
    let put = |p: i32, id: &str, amount: i32, ts: i64| {
        let value = format!(r#"{{"REGION":"r","AMOUNT":{amount},"TAG":"g"}}"#);
        let record = Record::new(Some(id.as_bytes().to_vec()), Some(value.into_bytes()), ts);
        embedded.produce("t", vec![(Some(p), record)]).unwrap();
    };
    let agg = |e: &sluice_engine::Engine| {
        latest(e.log().as_ref(), "AGG")
            .into_iter()
            .map(|(k, v)| (String::from_utf8(k).unwrap(), v))
            .collect::<BTreeMap<_, _>>()
    };
    put(0, "a", 1, 1);
    put(1, "b", 5, 2);
    e.run_until_idle().unwrap();
    let p = |n: i32| ("t".to_string(), n);
    // partition 1 goes to another server (which does nothing with it) ...
    embedded.script_assignments(vec![vec![p(0)]]);
    put(0, "a", 2, 3);
    e.run_until_idle().unwrap();
    // ... and comes back
    embedded.script_assignments(vec![vec![p(0), p(1)]]);
    e.run_until_idle().unwrap();
    put(1, "b", 7, 4);
    put(0, "a", 3, 5);
    e.run_until_idle().unwrap();
    assert_eq!(
        agg(&e),
        BTreeMap::from([
            ("a".to_string(), r#"{"C":1,"S":3}"#.to_string()),
            ("b".to_string(), r#"{"C":1,"S":7}"#.to_string()),
        ])
    );
}

/// With stores on disk, a restart after the task caught up reads nothing
/// of either changelog (the groups' and the contributions'): both stores
/// come back from disk up to their checkpoints.
#[test]
fn a_restart_reads_neither_changelog_when_both_stores_are_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let query = "CREATE TABLE agg AS SELECT region, COUNT(*) AS c, SUM(amount) AS s \
                 FROM t GROUP BY region;";
    let rows = rows();
    {
        let mut e = open_stored(dir.path(), 1 << 20);
        e.execute_sql(DDL).unwrap();
        e.execute_sql(query).unwrap();
        for row in &rows[..80] {
            e.execute_sql(row).unwrap();
        }
        e.run_until_idle().unwrap();
    }
    let mut e = open_stored(dir.path(), 1 << 20);
    e.run_until_idle().unwrap();
    assert_eq!(restored_records(&e), 0);
    for row in &rows[80..] {
        e.execute_sql(row).unwrap();
    }
    e.run_until_idle().unwrap();
    let restarted = latest(e.log().as_ref(), "AGG");
    let straight = run_with_restart(DDL, query, "AGG", &rows, None);
    assert_eq!(restarted, straight);
}
