//! Pull queries keep what they read of a table in a state store (on disk
//! with a state directory) with a checkpoint: after a restart they read
//! only what was written to the table's topic since, and a dropped table's
//! store goes with it.

mod durable;
mod results;

use durable::{checkpoint_files, insert, open_stored, record_count};
use results::rows;
use sluice_engine::Engine;

/// The rows of a pull query, each as its columns' text.
fn pull(e: &mut Engine, sql: &str) -> Vec<Vec<String>> {
    rows(&e.execute_sql(sql).unwrap())
}

fn read(e: &Engine, table: &str) -> u64 {
    e.pull_index_records_read()
        .into_iter()
        .find(|(t, _)| t == table)
        .map_or(0, |(_, n)| n)
}

/// The checkpoint files of pull-query indexes under the state directory.
fn index_checkpoints(dir: &std::path::Path) -> Vec<String> {
    checkpoint_files(dir)
        .into_iter()
        .filter(|n| n.starts_with("pull#"))
        .collect()
}

#[test]
fn after_a_restart_a_pull_query_reads_only_what_came_after_its_index_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let lookup = "SELECT u, n FROM per_user WHERE u = 'u3';";
    let scan = "SELECT u, n FROM per_user;";
    {
        let mut e = open_stored(dir.path(), 1 << 20);
        e.execute_sql(
            "CREATE STREAM clicks (u STRING KEY, v INT) WITH (kafka_topic='clicks', value_format='JSON', partitions=2);
             CREATE TABLE per_user AS SELECT u, COUNT(*) AS n FROM clicks GROUP BY u;",
        )
        .unwrap();
        insert(&mut e, 0, 300);
        e.run_until_idle().unwrap();
        assert_eq!(pull(&mut e, lookup), vec![vec!["u3", "30"]]);
        // the first pull query read the whole topic
        assert_eq!(
            read(&e, "PER_USER") as i64,
            record_count(e.log().as_ref(), "PER_USER")
        );
        assert_eq!(pull(&mut e, scan).len(), 10);
        assert_eq!(index_checkpoints(dir.path()).len(), 1);
        // another table over the same topic has an index of its own; when
        // it is dropped, its index goes and this one's stays on disk (the
        // restart replays the DROP, and leaves it alone too)
        e.execute_sql(
            "CREATE SOURCE TABLE other (u STRING PRIMARY KEY, n BIGINT) WITH (kafka_topic='PER_USER', value_format='JSON');",
        )
        .unwrap();
        assert_eq!(
            pull(&mut e, "SELECT u, n FROM other WHERE u = 'u4';"),
            vec![vec!["u4", "30"]]
        );
        assert_eq!(index_checkpoints(dir.path()).len(), 2);
        e.execute_sql("DROP TABLE other;").unwrap();
        assert_eq!(index_checkpoints(dir.path()).len(), 1);
        assert_eq!(pull(&mut e, lookup), vec![vec!["u3", "30"]]);
        assert_eq!(read(&e, "PER_USER"), 0);
    }
    let mut e = open_stored(dir.path(), 1 << 20);
    e.run_until_idle().unwrap();
    assert_eq!(pull(&mut e, lookup), vec![vec!["u3", "30"]]);
    assert_eq!(pull(&mut e, scan).len(), 10);
    assert_eq!(read(&e, "PER_USER"), 0);
    // what comes after is read once
    let before = record_count(e.log().as_ref(), "PER_USER");
    insert(&mut e, 300, 350);
    e.run_until_idle().unwrap();
    assert_eq!(pull(&mut e, lookup), vec![vec!["u3", "35"]]);
    let written = record_count(e.log().as_ref(), "PER_USER") - before;
    assert!(written > 0);
    assert_eq!(read(&e, "PER_USER") as i64, written);
    let mut rows = pull(&mut e, scan);
    rows.sort();
    let expected: Vec<Vec<String>> = (0..10)
        .map(|u| vec![format!("u{u}"), "35".into()])
        .collect();
    assert_eq!(rows, expected);
    // a dropped table's index goes with it
    let id = e.queries().next().unwrap().id.clone();
    e.execute_sql(&format!("TERMINATE {id}; DROP TABLE per_user;"))
        .unwrap();
    assert!(index_checkpoints(dir.path()).is_empty());
}
