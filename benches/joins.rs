//! Join benchmarks on the embedded log: a Nexmark-style stream-table join (bids ⋈
//! auctions) and a stream-stream join WITHIN 10 SECONDS. Prints events/s (one core),
//! the peak heap the join state added (above the stateless query's peak, since the
//! in-memory log also holds the output), and the ratio to the stateless bids query
//! in the same run.
//!
//! Run: `cargo bench --bench joins` (SLUICE_BENCH_EVENTS, SLUICE_BENCH_KEYS).

mod common;

use common::{bids, env_usize, run, Counting};
use serde_json::json;
use sluice_engine::log::Record;

#[global_allocator]
static ALLOC: Counting = Counting;

const DDL: &str = "CREATE STREAM bids (auction BIGINT KEY, bidder BIGINT, price DOUBLE) WITH (kafka_topic='bids', value_format='JSON');
CREATE TABLE auctions (id BIGINT PRIMARY KEY, seller BIGINT, category INT) WITH (kafka_topic='auctions', value_format='JSON');
CREATE STREAM offers (auction BIGINT KEY, amount DOUBLE) WITH (kafka_topic='offers', value_format='JSON');";

fn main() {
    let n = env_usize("SLUICE_BENCH_EVENTS", 200_000);
    let keys = env_usize("SLUICE_BENCH_KEYS", 1_000);
    // one bid per 100 ms: each auction sees a bid every 100 s, so a 10 s window
    // pairs each bid with the one offer made at the same moment
    let bid_records: Vec<Record> = bids(n, keys, true)
        .into_iter()
        .map(|mut r| {
            r.timestamp *= 100;
            r
        })
        .collect();
    let auctions: Vec<Record> = (0..keys as i64)
        .map(|id| {
            let v = json!({"seller": id * 7, "category": (id % 13) as i32});
            Record::new(
                Some(id.to_be_bytes().to_vec()),
                Some(v.to_string().into_bytes()),
                0,
            )
        })
        .collect();
    let offers: Vec<Record> = (0..n)
        .map(|i| {
            let auction = (i % keys) as i64;
            let v = json!({"amount": (i % 1000) as f64});
            Record::new(
                Some(auction.to_be_bytes().to_vec()),
                Some(v.to_string().into_bytes()),
                i as i64 * 100,
            )
        })
        .collect();
    let topics = [
        ("bids", bid_records.as_slice()),
        ("auctions", auctions.as_slice()),
        ("offers", offers.as_slice()),
    ];
    let stateless = run(
        DDL,
        &topics,
        "CREATE STREAM out AS SELECT auction, bidder, price * 0.908 AS price_eur FROM bids;",
        n,
    );
    let stream_table = run(
        DDL,
        &topics,
        "CREATE STREAM enriched AS SELECT b.auction, bidder, price, seller, category FROM bids b JOIN auctions a ON b.auction = a.id;",
        n + keys,
    );
    let stream_stream = run(
        DDL,
        &topics,
        "CREATE STREAM matched AS SELECT b.auction, price, amount FROM bids b JOIN offers o WITHIN 10 SECONDS ON b.auction = o.auction;",
        2 * n,
    );
    // the stream-stream join keeps every record of both streams (the bids
    // span less than its 24 h default grace): their key and value bytes
    let raw = |records: &[Record]| -> usize {
        records
            .iter()
            .map(|r| r.key.as_ref().map_or(0, Vec::len) + r.value.as_ref().map_or(0, Vec::len))
            .sum()
    };
    let window_raw = raw(&bid_records) + raw(&offers);
    println!("join benchmarks, {n} bids, {keys} auctions, 1 core");
    println!(
        "  stateless bids query (baseline):     {:>10.0} events/s",
        stateless.events_per_sec
    );
    for (name, m) in [
        ("stream-table join (bids x auctions):", &stream_table),
        ("stream-stream join WITHIN 10 s:", &stream_stream),
    ] {
        println!(
            "  {name:<37} {:>10.0} events/s  ratio {:.2}  join state {} bytes  peak heap {} bytes",
            m.events_per_sec,
            m.events_per_sec / stateless.events_per_sec,
            m.state_bytes,
            m.peak_heap.saturating_sub(stateless.peak_heap)
        );
    }
    println!(
        "  stream-stream join state / raw bytes of the rows in its window ({window_raw}): {:.2}",
        stream_stream.state_bytes as f64 / window_raw as f64
    );
}
