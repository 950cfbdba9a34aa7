//! The stateless bids query over 4 partitions on the embedded log (input
//! preloaded), on 1 and on 2 stream threads: both rates, the speed-up, and the
//! 1-thread (per-core) rate against a same-process baseline.
//!
//! Query: `SELECT auction, bidder, price * 0.908 AS price_eur, ROWTIME AS ts FROM bids`
//! over JSON. On 2 threads the query runs as 2 tasks, each reading 2 of the 4
//! partitions. Baseline: serde_json parsing each record and writing the
//! projected JSON on one thread, nothing else (`common::stateless_baseline`).
//!
//! Run: `cargo bench --bench parallel` (`SLUICE_BENCH_EVENTS`, default 1,000,000).

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use sluice_engine::log::{EmbeddedLog, Log, Record, TopicSpec};
use sluice_engine::{Engine, EngineConfig};

const PARTITIONS: i32 = 4;

/// Events per second of the query on `threads` stream threads.
fn sluice(records: &[Record], threads: usize) -> (usize, Duration) {
    let log = Arc::new(EmbeddedLog::in_memory());
    log.create_topic(&TopicSpec::new("bids", PARTITIONS))
        .expect("topic");
    for (p, chunk) in records
        .chunks(records.len().div_ceil(PARTITIONS as usize))
        .enumerate()
    {
        log.produce(
            "bids",
            chunk.iter().cloned().map(|r| (Some(p as i32), r)).collect(),
        )
        .expect("load");
    }
    let mut engine = Engine::new(
        log.clone(),
        EngineConfig::default().with("auto.offset.reset", "earliest"),
    )
    .with_stream_threads(threads);
    engine
        .execute_sql(
            "CREATE STREAM bids (auction BIGINT, bidder BIGINT, price DOUBLE, channel STRING, url STRING, extra STRING) \
             WITH (kafka_topic='bids', value_format='JSON');",
        )
        .expect("create");
    let start = Instant::now();
    engine
        .execute_sql(
            "CREATE STREAM out AS SELECT auction, bidder, price * 0.908 AS price_eur, ROWTIME AS ts FROM bids;",
        )
        .expect("csas");
    engine.run_until_idle().expect("run");
    let took = start.elapsed();
    let written: i64 = log.end_offsets("OUT").expect("out").iter().sum();
    (written as usize, took)
}

fn main() {
    let n = common::env_usize("SLUICE_BENCH_EVENTS", 1_000_000);
    let records = common::wide_bids(n);
    let base = common::best_rate(n, || {
        let t = Instant::now();
        let done = common::stateless_baseline(&records);
        (done, t.elapsed())
    });
    let one = common::best_rate(n, || sluice(&records, 1));
    let two = common::best_rate(n, || sluice(&records, 2));
    println!("stateless bids query, {n} JSON events over {PARTITIONS} partitions (embedded log)");
    println!("  baseline (serde_json parse + project + write, 1 thread): {base:>12.0} events/s");
    println!("  sluice on 1 stream thread:                              {one:>12.0} events/s");
    println!("  sluice on 2 stream threads:                             {two:>12.0} events/s");
    println!("  speed-up 2 threads / 1: {:.2}", two / one);
    println!(
        "  per-core ratio sluice (1 thread) / baseline: {:.2}",
        one / base
    );
}
