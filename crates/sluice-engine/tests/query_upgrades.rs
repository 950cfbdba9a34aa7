//! CREATE OR REPLACE over a running query upgrades it in place, as ksqlDB
//! does: same query id and consumer group, so it goes on from its committed
//! offsets (each input record is output once) and keeps its state; changes
//! ksqlDB cannot upgrade are refused with its messages.

mod durable;

use std::collections::BTreeMap;

use durable::{latest, open};
use sluice_engine::log::Log;
use sluice_engine::Engine;

/// Rows `from..to` into `src`: id `i % 5`, v `i`.
fn insert(e: &mut Engine, from: i64, to: i64) {
    for i in from..to {
        e.execute_sql(&format!("INSERT INTO src (id, v) VALUES ({}, {i});", i % 5))
            .unwrap();
    }
}

/// Every value record of `topic`, by v (how many times each was written).
fn written(log: &dyn Log, topic: &str) -> BTreeMap<i64, Vec<serde_json::Value>> {
    let mut out: BTreeMap<i64, Vec<serde_json::Value>> = BTreeMap::new();
    for (p, end) in log.end_offsets(topic).unwrap().into_iter().enumerate() {
        for r in log.fetch(topic, p as i32, 0, end as usize).unwrap() {
            let v: serde_json::Value = serde_json::from_slice(&r.record.value.unwrap()).unwrap();
            out.entry(v["V"].as_i64().unwrap()).or_default().push(v);
        }
    }
    out
}

fn query_ids(e: &Engine) -> Vec<String> {
    let mut ids: Vec<String> = e.queries().map(|q| q.id.clone()).collect();
    ids.sort();
    ids
}

fn refusal(e: &mut Engine, sql: &str) -> String {
    e.execute_sql(sql).unwrap_err().to_string()
}

#[test]
fn create_or_replace_upgrades_running_queries_in_place() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut e = open(dir.path());
        e.execute_sql(
            "CREATE STREAM src (id INT KEY, v INT) WITH (kafka_topic='src', value_format='JSON', partitions=2);
             CREATE STREAM copy AS SELECT id, v FROM src;
             CREATE TABLE counts AS SELECT id, COUNT(*) AS n FROM src GROUP BY id;",
        )
        .unwrap();
        insert(&mut e, 0, 100);
        e.run_until_idle().unwrap();
        let before = query_ids(&e);
        // a column more on each: same queries, going on from their offsets
        e.execute_sql(
            "CREATE OR REPLACE STREAM copy AS SELECT id, v, v * 2 AS w FROM src;
             CREATE OR REPLACE TABLE counts AS SELECT id, COUNT(*) AS n, AS_VALUE(id) AS id_val FROM src GROUP BY id;",
        )
        .unwrap();
        assert_eq!(query_ids(&e), before);
        insert(&mut e, 100, 150);
        e.run_until_idle().unwrap();

        // what ksqlDB refuses
        assert!(refusal(
            &mut e,
            "CREATE OR REPLACE STREAM copy AS SELECT id, v FROM src;"
        )
        .contains("(The following columns are changed, missing or reordered: [`W` INTEGER])"));
        assert!(refusal(&mut e, "CREATE OR REPLACE STREAM copy AS SELECT * FROM src PARTITION BY v;")
            .contains("(Key columns must be identical. The following key columns are changed, missing or reordered: [`ID` INTEGER KEY])"));
        assert_eq!(
            refusal(&mut e, "CREATE OR REPLACE TABLE counts AS SELECT id, COUNT(*) AS n, AS_VALUE(id) AS id_val, SUM(v) AS total FROM src GROUP BY id;"),
            "Query is not upgradeable. Plan step of type StreamAggregate must have matching aggregate functions. Values differ: [COUNT(*)] vs. [COUNT(*), SUM(V)]"
        );
        e.execute_sql(
            "CREATE STREAM other (id INT KEY, x INT) WITH (kafka_topic='other', value_format='JSON', partitions=2);
             CREATE STREAM joined AS SELECT src.id, v, x FROM src JOIN other WITHIN 1 HOUR ON src.id = other.id;",
        )
        .unwrap();
        assert_eq!(
            refusal(&mut e, "CREATE OR REPLACE STREAM joined AS SELECT src.id, v, x, x + 1 AS y FROM src JOIN other WITHIN 1 HOUR ON src.id = other.id;"),
            "Upgrades not yet supported for StreamStreamJoin"
        );
        // refused: the running queries are as they were
        assert_eq!(query_ids(&e).len(), 3);
    }
    // restarted: the command log replays the upgrades under the same ids
    let mut e = open(dir.path());
    insert(&mut e, 150, 200);
    e.run_until_idle().unwrap();
    let log = e.log();
    let copy = written(log.as_ref(), "COPY");
    // every input row output exactly once: before the upgrade without W
    assert_eq!(copy.len(), 200);
    for (v, records) in &copy {
        assert_eq!(records.len(), 1, "v={v}: {records:?}");
        let w = &records[0]["W"];
        if *v < 100 {
            assert!(w.is_null(), "v={v}: {records:?}");
        } else {
            assert_eq!(w.as_i64(), Some(v * 2), "v={v}");
        }
    }
    // the counts went on from their state: 40 rows per id
    let counts = latest(log.as_ref(), "COUNTS");
    assert_eq!(counts.len(), 5);
    for (key, value) in counts {
        let id = i32::from_be_bytes(key.try_into().unwrap());
        assert_eq!(value, format!(r#"{{"N":40,"ID_VAL":{id}}}"#));
    }
}
