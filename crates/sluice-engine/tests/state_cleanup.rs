//! A partition that moved to another server leaves its on-disk store here
//! for `state.cleanup.delay.ms` (Kafka Streams' state cleaner), so that it
//! restores from the changelog's tail if it comes back soon; after that the
//! store is deleted, and a partition that comes back later restores from
//! the changelog's start.

mod durable;

use std::path::Path;
use std::sync::Arc;

use durable::{checkpoint_files, latest, per_user_counts};
use sluice_engine::log::EmbeddedLog;
use sluice_engine::{Engine, EngineConfig};

/// The checkpoint files of the aggregation stores under `dir/state`, by
/// the partition ending their names.
fn store_checkpoints(dir: &Path) -> Vec<String> {
    checkpoint_files(dir)
        .into_iter()
        .filter(|n| n.contains("-Aggregate-Aggregate-Materialize-"))
        .map(|n| n.rsplit('-').next().unwrap_or_default().to_string())
        .collect()
}

/// Counts per user over a two-partition stream, partition 1 taken away and
/// given back; the checkpoints of the stores while it was away.
fn move_partition_away_and_back(delay_ms: u64) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let embedded = Arc::new(EmbeddedLog::open(dir.path().join("log")).unwrap());
    let mut e = Engine::new(
        embedded.clone(),
        EngineConfig::default()
            .with("auto.offset.reset", "earliest")
            .with("ksql.streams.state.cleanup.delay.ms", &delay_ms.to_string()),
    )
    .with_state_dir(&dir.path().join("state"))
    .unwrap();
    e.execute_sql(
        "CREATE STREAM clicks (u STRING KEY, v INT) WITH (kafka_topic='clicks', value_format='JSON', partitions=2);
         CREATE TABLE per_user AS SELECT u, COUNT(*) AS n FROM clicks GROUP BY u;",
    )
    .unwrap();
    let p = |n: i32| ("clicks".to_string(), n);
    durable::insert(&mut e, 0, 100);
    e.run_until_idle().unwrap();
    assert_eq!(
        store_checkpoints(dir.path()),
        ["0.checkpoint", "1.checkpoint"]
    );
    // partition 1 goes to another server (which does nothing with it)
    embedded.script_assignments(vec![vec![p(0)]]);
    e.run_until_idle().unwrap();
    // the stores are looked at once a second
    std::thread::sleep(std::time::Duration::from_millis(1100));
    durable::insert(&mut e, 100, 110);
    e.run_until_idle().unwrap();
    let away = store_checkpoints(dir.path());
    // and comes back: its state from the changelog, the counts go on
    embedded.script_assignments(vec![vec![p(0), p(1)]]);
    e.run_until_idle().unwrap();
    durable::insert(&mut e, 110, 200);
    e.run_until_idle().unwrap();
    assert_eq!(
        latest(e.log().as_ref(), "PER_USER"),
        per_user_counts(200, "N")
    );
    away
}

#[test]
fn a_store_neither_owned_nor_kept_warm_is_deleted_after_the_cleanup_delay() {
    assert_eq!(move_partition_away_and_back(0), ["0.checkpoint"]);
}

#[test]
fn a_store_stays_within_the_cleanup_delay() {
    assert_eq!(
        move_partition_away_and_back(600_000),
        ["0.checkpoint", "1.checkpoint"]
    );
}
