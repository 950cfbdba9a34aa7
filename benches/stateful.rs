//! Stateful bids queries on the embedded log: GROUP BY count/max per key, and a
//! 10-second tumbling window. Prints events/s (one core) and the peak heap the
//! query's state added per key, against the stateless query in the same process.
//! The in-memory log holds every output record too, so state is reported as the
//! peak above the stateless query's peak (which writes at least as many records).
//!
//! Run: `cargo bench --bench stateful` (SLUICE_BENCH_EVENTS, SLUICE_BENCH_KEYS).

mod common;

use common::{bids, env_usize, run, Counting};

#[global_allocator]
static ALLOC: Counting = Counting;

const DDL: &str = "CREATE STREAM bids (auction BIGINT, bidder BIGINT, price DOUBLE) WITH (kafka_topic='bids', value_format='JSON');";

fn main() {
    let n = env_usize("SLUICE_BENCH_EVENTS", 200_000);
    let keys = env_usize("SLUICE_BENCH_KEYS", 1_000);
    let records = bids(n, keys, false);
    let topics = [("bids", records.as_slice())];
    let (stateless, stateless_peak) = run(
        DDL,
        &topics,
        "CREATE STREAM out AS SELECT auction, bidder, price * 0.908 AS price_eur FROM bids;",
        n,
    );
    let (grouped, grouped_peak) = run(
        DDL,
        &topics,
        "CREATE TABLE per_auction AS SELECT auction, COUNT(*) AS n, MAX(price) AS top FROM bids GROUP BY auction;",
        n,
    );
    let (windowed, windowed_peak) = run(
        DDL,
        &topics,
        "CREATE TABLE per_window AS SELECT auction, COUNT(*) AS n, MAX(price) AS top FROM bids WINDOW TUMBLING (SIZE 10 SECONDS) GROUP BY auction;",
        n,
    );
    println!("stateful bids queries, {n} JSON events, {keys} keys, 1 core");
    println!("  stateless projection (baseline):   {stateless:>10.0} events/s");
    println!(
        "  GROUP BY count/max:                {grouped:>10.0} events/s  ratio {:.2}  peak state {} bytes/key",
        grouped / stateless,
        grouped_peak.saturating_sub(stateless_peak) / keys
    );
    println!(
        "  10 s tumbling window count/max:    {windowed:>10.0} events/s  ratio {:.2}  peak state {} bytes/key",
        windowed / stateless,
        windowed_peak.saturating_sub(stateless_peak) / keys
    );
}
