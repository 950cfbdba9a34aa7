//! Stateful bids queries on the embedded log: GROUP BY count/max per key, and a
//! 10-second tumbling window. Prints events/s (one core) and the peak heap the
//! query's state added per key, against the stateless query in the same process.
//! State is the operator's own accounting once caught up (windows still open
//! included); peak heap is the excess over the stateless query's peak, since the
//! in-memory log holds every output record too.
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
    let stateless = run(
        DDL,
        &topics,
        "CREATE STREAM out AS SELECT auction, bidder, price * 0.908 AS price_eur FROM bids;",
        n,
    );
    let grouped = run(
        DDL,
        &topics,
        "CREATE TABLE per_auction AS SELECT auction, COUNT(*) AS n, MAX(price) AS top FROM bids GROUP BY auction;",
        n,
    );
    let windowed = run(
        DDL,
        &topics,
        "CREATE TABLE per_window AS SELECT auction, COUNT(*) AS n, MAX(price) AS top FROM bids WINDOW TUMBLING (SIZE 10 SECONDS) GROUP BY auction;",
        n,
    );
    let expiring = run(
        DDL,
        &topics,
        "CREATE TABLE per_window AS SELECT auction, COUNT(*) AS n, MAX(price) AS top FROM bids WINDOW TUMBLING (SIZE 10 SECONDS, GRACE PERIOD 1 SECOND) GROUP BY auction;",
        n,
    );
    let sessions = run(
        DDL,
        &topics,
        "CREATE TABLE per_session AS SELECT auction, COUNT(*) AS n, MAX(price) AS top FROM bids WINDOW SESSION (5 SECONDS) GROUP BY auction;",
        n,
    );
    println!("stateful bids queries, {n} JSON events, {keys} keys, 1 core");
    println!(
        "  stateless projection (baseline):   {:>10.0} events/s",
        stateless.events_per_sec
    );
    for (name, m) in [
        ("GROUP BY count/max:", &grouped),
        ("10 s tumbling window count/max:", &windowed),
        ("same, GRACE PERIOD 1 SECOND:", &expiring),
        ("5 s session window count/max:", &sessions),
    ] {
        println!(
            "  {name:<34} {:>10.0} events/s  ratio {:.2}  state {} bytes/key  peak heap {} bytes/key",
            m.events_per_sec,
            m.events_per_sec / stateless.events_per_sec,
            m.state_bytes / keys,
            m.peak_heap.saturating_sub(stateless.peak_heap) / keys
        );
    }
}
