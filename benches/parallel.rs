//! The stateless bids query over 4 partitions on the embedded log (input
//! preloaded), on 1 and on 2 stream threads: both rates, the speed-up, and the
//! 1-thread (per-core) rate against a same-process baseline.
//!
//! Query: `SELECT auction, bidder, price * 0.908 AS price_eur, ROWTIME AS ts FROM bids`
//! over JSON. On 2 threads the query runs as 2 tasks, each reading 2 of the 4
//! partitions. Baseline: serde_json parsing each record and writing the
//! projected JSON on one thread, nothing else (`common::stateless_baseline`).
//!
//! Then the same on 1 and 2 threads for `COUNT(*)`/`MAX(price)` per auction
//! over the events keyed and partitioned by auction: grouped by its source's
//! key, the aggregate needs no repartition and runs as one task per thread,
//! each keeping the state of its partitions' keys.
//!
//! Run: `cargo bench --bench parallel` (`SLUICE_BENCH_EVENTS`, default 1,000,000).

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use sluice_engine::log::{EmbeddedLog, Log, Record, TopicSpec};
use sluice_engine::{Engine, EngineConfig};

const PARTITIONS: i32 = 4;

/// The two queries measured.
#[derive(Clone, Copy)]
enum Query {
    /// The stateless bids query over unkeyed records spread over the partitions.
    Stateless,
    /// COUNT and MAX per auction over records keyed (and partitioned) by
    /// auction: its state is split by key over the tasks.
    AggregateByKey,
}

/// The records the query took, and how long it took, on `threads` stream threads.
fn sluice(records: &[Record], threads: usize, query: Query) -> (usize, Duration) {
    let log = Arc::new(EmbeddedLog::in_memory());
    log.create_topic(&TopicSpec::new("bids", PARTITIONS))
        .expect("topic");
    let (create, csas) = match query {
        Query::Stateless => {
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
            (
                "CREATE STREAM bids (auction BIGINT, bidder BIGINT, price DOUBLE, channel STRING, url STRING, extra STRING) \
                 WITH (kafka_topic='bids', value_format='JSON');",
                "CREATE STREAM out AS SELECT auction, bidder, price * 0.908 AS price_eur, ROWTIME AS ts FROM bids;",
            )
        }
        Query::AggregateByKey => {
            let keyed = records
                .iter()
                .map(|r| {
                    let v: serde_json::Value =
                        serde_json::from_slice(r.value.as_deref().unwrap_or_default())
                            .expect("json");
                    let auction = v["auction"].as_i64().expect("auction");
                    let mut r = r.clone();
                    r.key = Some(auction.to_be_bytes().to_vec());
                    (Some((auction % PARTITIONS as i64) as i32), r)
                })
                .collect();
            log.produce("bids", keyed).expect("load");
            (
                "CREATE STREAM bids (auction BIGINT KEY, bidder BIGINT, price DOUBLE, channel STRING, url STRING, extra STRING) \
                 WITH (kafka_topic='bids', key_format='KAFKA', value_format='JSON');",
                "CREATE TABLE out AS SELECT auction, COUNT(*) AS n, MAX(price) AS top FROM bids GROUP BY auction;",
            )
        }
    };
    let mut engine = Engine::new(
        log.clone(),
        EngineConfig::default().with("auto.offset.reset", "earliest"),
    )
    .with_stream_threads(threads);
    engine.execute_sql(create).expect("create");
    let start = Instant::now();
    engine.execute_sql(csas).expect("csas");
    engine.run_until_idle().expect("run");
    let took = start.elapsed();
    let q = engine.queries().next().expect("the query");
    let taken = match query {
        Query::Stateless => log.end_offsets("OUT").expect("out").iter().sum::<i64>(),
        Query::AggregateByKey => log
            .committed(&q.group, "bids")
            .expect("committed")
            .iter()
            .map(|o| o.unwrap_or(0))
            .sum::<i64>(),
    };
    (taken as usize, took)
}

fn main() {
    let n = common::env_usize("SLUICE_BENCH_EVENTS", 1_000_000);
    let records = common::wide_bids(n);
    let base = common::best_rate(n, || {
        let t = Instant::now();
        let done = common::stateless_baseline(&records);
        (done, t.elapsed())
    });
    let one = common::best_rate(n, || sluice(&records, 1, Query::Stateless));
    let two = common::best_rate(n, || sluice(&records, 2, Query::Stateless));
    println!("stateless bids query, {n} JSON events over {PARTITIONS} partitions (embedded log)");
    println!("  baseline (serde_json parse + project + write, 1 thread): {base:>12.0} events/s");
    println!("  sluice on 1 stream thread:                              {one:>12.0} events/s");
    println!("  sluice on 2 stream threads:                             {two:>12.0} events/s");
    println!("  speed-up 2 threads / 1: {:.2}", two / one);
    println!(
        "  per-core ratio sluice (1 thread) / baseline: {:.2}",
        one / base
    );
    let one = common::best_rate(n, || sluice(&records, 1, Query::AggregateByKey));
    let two = common::best_rate(n, || sluice(&records, 2, Query::AggregateByKey));
    println!("COUNT/MAX per auction over the same events keyed by auction (state split by key)");
    println!("  sluice on 1 stream thread:                              {one:>12.0} events/s");
    println!("  sluice on 2 stream threads:                             {two:>12.0} events/s");
    println!("  speed-up 2 threads / 1: {:.2}", two / one);
}
