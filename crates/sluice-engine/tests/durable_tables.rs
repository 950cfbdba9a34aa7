//! Aggregations over tables keep what each of the table's keys contributed
//! to its group in a changelog of their own (`KsqlTopic-Reduce-changelog`,
//! compacted, written with the output): after a restart an update or a
//! delete of a key still takes its old values back exactly, and the table's
//! topic is not read again.

mod durable;

use durable::{groups, live_keys, open, run_with_restart};

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
