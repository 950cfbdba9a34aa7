//! Stateful bids queries on the embedded log: GROUP BY count/max per key, and a
//! 10-second tumbling window. Prints events/s (one core) and the peak heap the
//! query's state added per key, against the stateless query in the same process.
//!
//! Run: `cargo bench --bench stateful` (SLUICE_BENCH_EVENTS, SLUICE_BENCH_KEYS).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use serde_json::json;
use sluice_engine::log::{EmbeddedLog, Log, Record, TopicSpec};
use sluice_engine::{Engine, EngineConfig};

/// Counts live heap bytes so the benchmark can report what state costs.
struct Counting;
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn bids(n: usize, keys: usize) -> Vec<Record> {
    (0..n)
        .map(|i| {
            let value = json!({
                "auction": i % keys,
                "bidder": 5000 + (i % 7919),
                "price": 100 + (i * 37) % 100_000,
            });
            // one bid per millisecond: the run spans n/10_000 ten-second windows
            Record::new(None, Some(value.to_string().into_bytes()), i as i64)
        })
        .collect()
}

/// Events/s of `query` over the records, and the peak heap above the starting point.
fn run(records: &[Record], query: &str) -> (f64, usize) {
    let log = Arc::new(EmbeddedLog::in_memory());
    log.create_topic(&TopicSpec::new("bids", 1)).expect("topic");
    let mut engine = Engine::new(
        log.clone(),
        EngineConfig::default().with("auto.offset.reset", "earliest"),
    );
    engine
        .execute_sql("CREATE STREAM bids (auction BIGINT, bidder BIGINT, price DOUBLE) WITH (kafka_topic='bids', value_format='JSON');")
        .expect("create");
    log.produce(
        "bids",
        records.iter().cloned().map(|r| (Some(0), r)).collect(),
    )
    .expect("produce");
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let start = Instant::now();
    engine.execute_sql(query).expect("query");
    engine.run_until_idle().expect("run");
    let rate = records.len() as f64 / start.elapsed().as_secs_f64();
    let peak = PEAK.load(Ordering::Relaxed).saturating_sub(base);
    (rate, peak)
}

fn main() {
    let n: usize = std::env::var("SLUICE_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    let keys: usize = std::env::var("SLUICE_BENCH_KEYS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000);
    let records = bids(n, keys);
    let (stateless, _) = run(
        &records,
        "CREATE STREAM out AS SELECT auction, bidder, price * 0.908 AS price_eur FROM bids;",
    );
    let (grouped, grouped_peak) = run(
        &records,
        "CREATE TABLE per_auction AS SELECT auction, COUNT(*) AS n, MAX(price) AS top FROM bids GROUP BY auction;",
    );
    let (windowed, windowed_peak) = run(
        &records,
        "CREATE TABLE per_window AS SELECT auction, COUNT(*) AS n, MAX(price) AS top FROM bids WINDOW TUMBLING (SIZE 10 SECONDS) GROUP BY auction;",
    );
    println!("stateful bids queries, {n} JSON events, {keys} keys, 1 core");
    println!("  stateless projection (baseline):   {stateless:>10.0} events/s");
    println!(
        "  GROUP BY count/max:                {grouped:>10.0} events/s  ratio {:.2}  peak state {} bytes/key",
        grouped / stateless,
        grouped_peak / keys
    );
    println!(
        "  10 s tumbling window count/max:    {windowed:>10.0} events/s  ratio {:.2}  peak state {} bytes/key",
        windowed / stateless,
        windowed_peak / keys
    );
}
