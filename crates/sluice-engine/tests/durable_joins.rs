//! Joins keep their state in changelog topics (named as ksqlDB's topology
//! names its stores, written with the output and the offsets in one step): a
//! restart restores windows and tables from there and reads none of the
//! joins' input again.

mod durable;

use std::collections::BTreeMap;

use durable::{
    insert_keyed, latest, live_keys, open, read_since_start, record_count, run_with_restart,
    terminate,
};
use sluice_engine::Engine;

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
        groups = durable::groups(&e);
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
        groups = durable::groups(&e);
        // each join's stores, named as ksqlDB's topology names them: the
        // stream-stream join's after the table and two streams built before
        // it, the earlier joins' tables under their L_ prefix
        durable::assert_changelogs(
            &e,
            &groups,
            &[
                ("J", "KSTREAM-JOINTHIS-0000000014-store"),
                ("J", "KSTREAM-JOINOTHER-0000000015-store"),
                ("J", "KafkaTopic_Right-Reduce"),
                ("TJ", "KafkaTopic_L_Left-Reduce"),
                ("TJ", "KafkaTopic_L_Right-Reduce"),
                ("TJ", "KafkaTopic_Right-Reduce"),
            ],
        );
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

/// A LEFT JOIN's rows of each order, by order id (`{"AMOUNT":..,"NAME":..}`).
fn orders_by_id(e: &Engine, sink: &str) -> BTreeMap<i32, String> {
    latest(e.log().as_ref(), sink)
        .into_iter()
        .map(|(k, v)| (i32::from_be_bytes(k.try_into().unwrap()), v))
        .collect()
}

#[test]
fn foreign_key_joins_restore_both_tables_from_changelogs_without_replay() {
    let dir = tempfile::tempdir().unwrap();
    let group;
    {
        let mut e = open(dir.path());
        // a foreign-key join needs no co-partitioning: 2 and 3 partitions
        e.execute_sql(
            "CREATE TABLE orders (id INT PRIMARY KEY, customer INT, amount INT) WITH (kafka_topic='orders', value_format='JSON', partitions=2);
             CREATE TABLE customers (id INT PRIMARY KEY, name STRING) WITH (kafka_topic='customers', value_format='JSON', partitions=3);
             CREATE TABLE enriched AS SELECT o.id, amount, name FROM orders o JOIN customers c ON o.customer = c.id;",
        )
        .unwrap();
        for c in 0..3 {
            e.execute_sql(&format!(
                "INSERT INTO customers (id, name) VALUES ({c}, 'c{c}');"
            ))
            .unwrap();
        }
        // orders of customers 0..3; customer 3 does not exist yet
        for o in 0..8 {
            e.execute_sql(&format!(
                "INSERT INTO orders (id, customer, amount) VALUES ({o}, {}, {o}0);",
                o % 4
            ))
            .unwrap();
        }
        e.run_until_idle().unwrap();
        group = e.queries().next().unwrap().group.clone();
        let log = e.log();
        // the stores of ksqlDB's foreign-key join topology, compacted
        for (store, records) in [
            ("KafkaTopic_Left-Reduce", 8),
            ("KafkaTopic_Right-Reduce", 3),
        ] {
            let topic = format!("{group}-{store}-changelog");
            let d = log.describe_topic(&topic).unwrap();
            assert_eq!(
                d.configs.get("cleanup.policy").map(String::as_str),
                Some("compact"),
                "{topic}"
            );
            assert_eq!(record_count(log.as_ref(), &topic), records, "{topic}");
        }
        assert_eq!(orders_by_id(&e, "ENRICHED").len(), 6);
    }
    // restarted: both tables and the foreign keys come back from the
    // changelogs; changes on either side join with them as before
    let mut e = open(dir.path());
    e.run_until_idle().unwrap();
    // a new customer joins its waiting orders, a renamed one re-joins its
    // orders, a deleted one takes its orders' joined rows away, and an order
    // moved to another customer joins that one
    e.execute_sql(
        "INSERT INTO customers (id, name) VALUES (3, 'c3');
         INSERT INTO customers (id, name) VALUES (1, 'one');
         INSERT INTO orders (id, customer, amount) VALUES (0, 1, 1);",
    )
    .unwrap();
    let tombstone = sluice_engine::log::Record::new(Some(2i32.to_be_bytes().to_vec()), None, 10);
    e.log()
        .produce("customers", vec![(None, tombstone)])
        .unwrap();
    e.run_until_idle().unwrap();
    let read = read_since_start(&e);
    assert_eq!(read["ENRICHED"], 4, "{read:?}");
    let by_id = orders_by_id(&e, "ENRICHED");
    let expected: BTreeMap<i32, String> = [
        (0, r#"{"AMOUNT":1,"NAME":"one"}"#.to_string()),
        (1, r#"{"AMOUNT":10,"NAME":"one"}"#.to_string()),
        (3, r#"{"AMOUNT":30,"NAME":"c3"}"#.to_string()),
        (4, r#"{"AMOUNT":40,"NAME":"c0"}"#.to_string()),
        (5, r#"{"AMOUNT":50,"NAME":"one"}"#.to_string()),
        (7, r#"{"AMOUNT":70,"NAME":"c3"}"#.to_string()),
    ]
    .into();
    assert_eq!(by_id, expected);
}

#[test]
fn aggregations_over_joins_restore_the_join_and_the_groups_without_replay() {
    let dir = tempfile::tempdir().unwrap();
    let groups;
    let clicks = |e: &mut Engine, from: i64, to: i64| {
        for i in from..to {
            e.execute_sql(&format!(
                "INSERT INTO clicks (ROWTIME, u, v) VALUES ({}, 'u{}', {i});
                 INSERT INTO views (ROWTIME, u, w) VALUES ({}, 'u{}', {i});",
                (i + 1) * 1000,
                i % 10,
                (i + 1) * 1000,
                i % 10
            ))
            .unwrap();
        }
    };
    {
        let mut e = open(dir.path());
        e.execute_sql(
            "CREATE STREAM clicks (u STRING KEY, v INT) WITH (kafka_topic='clicks', value_format='JSON', partitions=2);
             CREATE STREAM views (u STRING KEY, w INT) WITH (kafka_topic='views', value_format='JSON', partitions=2);
             CREATE TABLE users (u STRING PRIMARY KEY, region STRING) WITH (kafka_topic='users', value_format='JSON', partitions=2);
             CREATE TABLE per_region AS SELECT region, COUNT(*) AS n, SUM(v) AS total
               FROM clicks JOIN users ON clicks.u = users.u GROUP BY region;
             CREATE TABLE pairs AS SELECT clicks.u, COUNT(*) AS n
               FROM clicks JOIN views WITHIN 2 SECONDS ON clicks.u = views.u GROUP BY clicks.u;",
        )
        .unwrap();
        // the users are there before the first click (joins go in time order)
        for u in 0..10 {
            e.execute_sql(&format!(
                "INSERT INTO users (ROWTIME, u, region) VALUES (0, 'u{u}', 'r{}');",
                u % 2
            ))
            .unwrap();
        }
        clicks(&mut e, 0, 100);
        e.run_until_idle().unwrap();
        groups = durable::groups(&e);
        durable::assert_changelogs(
            &e,
            &groups,
            &[
                ("PER_REGION", "KafkaTopic_Right-Reduce"),
                ("PER_REGION", "Aggregate-Aggregate-Materialize"),
                ("PAIRS", "KSTREAM-JOINTHIS-0000000008-store"),
                ("PAIRS", "Aggregate-Aggregate-Materialize"),
            ],
        );
    }
    // restarted: the users table, the join windows and the groups come back
    // from their changelogs; new clicks join and count on from there
    let mut e = open(dir.path());
    e.run_until_idle().unwrap();
    clicks(&mut e, 100, 120);
    e.run_until_idle().unwrap();
    let read = read_since_start(&e);
    assert_eq!(read["PER_REGION"], 20, "{read:?}");
    assert_eq!(read["PAIRS"], 40, "{read:?}");
    let log = e.log();
    let total = |r: i64| (0..120).filter(|i| i % 2 == r).sum::<i64>();
    let per_region = latest(log.as_ref(), "PER_REGION");
    assert_eq!(
        per_region[b"r0".as_slice()],
        format!(r#"{{"N":60,"TOTAL":{}}}"#, total(0))
    );
    assert_eq!(
        per_region[b"r1".as_slice()],
        format!(r#"{{"N":60,"TOTAL":{}}}"#, total(1))
    );
    // each click joins the view of its own second only (the next view of
    // its user is 10 seconds away): 12 pairs per user
    let pairs = latest(log.as_ref(), "PAIRS");
    assert_eq!(pairs.len(), 10, "{pairs:?}");
    assert!(pairs.values().all(|v| v == r#"{"N":12}"#), "{pairs:?}");
}

/// Customers, their loyalty points and their regions, changed row by row:
/// customers move between regions, regions are renamed, points change;
/// from row 45 on only points change (each joins with the rows the joins
/// before made).
fn customer_rows() -> Vec<String> {
    (0..60)
        .map(|i| match if i < 45 { i % 3 } else { 1 } {
            0 => format!(
                "INSERT INTO customers (id, name, region_id) VALUES ({}, 'c{i}', {});",
                i % 7,
                (i * 5) % 4
            ),
            1 => format!(
                "INSERT INTO loyalty (id, points) VALUES ({}, {i});",
                (i * 3) % 7
            ),
            _ => format!(
                "INSERT INTO regions (rid, rname) VALUES ({}, 'r{i}');",
                i % 4
            ),
        })
        .collect()
}

/// ksqlDB takes a foreign-key join as the first join of an n-way join only.
#[test]
fn a_join_over_a_foreign_key_join_goes_on_exactly_after_a_restart() {
    let ddl = "CREATE TABLE customers (id INT PRIMARY KEY, name STRING, region_id INT) \
                 WITH (kafka_topic='customers', value_format='JSON', partitions=2);
               CREATE TABLE loyalty (id INT PRIMARY KEY, points INT) \
                 WITH (kafka_topic='loyalty', value_format='JSON', partitions=2);
               CREATE TABLE regions (rid INT PRIMARY KEY, rname STRING) \
                 WITH (kafka_topic='regions', value_format='JSON', partitions=2);";
    for query in [
        "CREATE TABLE enriched AS SELECT c.id, name, points, rname FROM customers c \
         JOIN regions r ON c.region_id = r.rid JOIN loyalty l ON c.id = l.id;",
        "CREATE TABLE enriched AS SELECT c.id, name, points, rname FROM customers c \
         LEFT JOIN regions r ON c.region_id = r.rid LEFT JOIN loyalty l ON c.id = l.id;",
        "CREATE TABLE enriched AS SELECT c.id, name, points, rname FROM customers c \
         LEFT JOIN regions r ON c.region_id = r.rid JOIN loyalty l ON c.id = l.id;",
    ] {
        let rows = customer_rows();
        let straight = run_with_restart(ddl, query, "ENRICHED", &rows, None);
        // the restart asserts that only the rows after it are read
        let restarted = run_with_restart(ddl, query, "ENRICHED", &rows, Some(45));
        assert!(straight.len() >= 5, "{query}: {straight:?}");
        assert_eq!(restarted, straight, "{query}");
    }
}

/// An n-way join whose later join is on something else than the earlier
/// join's key (ksqlDB re-keys the joined rows through a repartition topic)
/// keeps its state in changelogs too.
#[test]
fn an_n_way_join_on_another_key_goes_on_exactly_after_a_restart() {
    let ddl = "CREATE STREAM s1 (id STRING KEY, k2 STRING, a INT) \
                 WITH (kafka_topic='s1', value_format='JSON', partitions=2);
               CREATE STREAM s2 (id STRING KEY, b INT) \
                 WITH (kafka_topic='s2', value_format='JSON', partitions=2);
               CREATE TABLE t3 (id STRING PRIMARY KEY, c INT) \
                 WITH (kafka_topic='t3', value_format='JSON', partitions=2);";
    let query = "CREATE STREAM j AS SELECT s1.id, s1.k2, a, b, c FROM s1 \
                 JOIN s2 WITHIN 1 HOUR ON s1.id = s2.id JOIN t3 ON s1.k2 = t3.id;";
    let rows: Vec<String> = (0..60)
        .map(|i| match i % 3 {
            0 => format!(
                "INSERT INTO t3 (ROWTIME, id, c) VALUES ({}, 't{}', {i});",
                i * 1000,
                i % 4
            ),
            1 => format!(
                "INSERT INTO s1 (ROWTIME, id, k2, a) VALUES ({}, 'k{}', 't{}', {i});",
                i * 1000,
                i % 5,
                i % 4
            ),
            _ => format!(
                "INSERT INTO s2 (ROWTIME, id, b) VALUES ({}, 'k{}', {i});",
                i * 1000,
                i % 5
            ),
        })
        .collect();
    let straight = run_with_restart(ddl, query, "J", &rows, None);
    let restarted = run_with_restart(ddl, query, "J", &rows, Some(30));
    assert!(!straight.is_empty());
    assert_eq!(restarted, straight);
}
