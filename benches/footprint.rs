//! Memory of `sluice server` (release binary, embedded log in a fresh data
//! dir) holding and processing the bids: resident memory when idle, after
//! 1,000,000 bids arrived through `/inserts-stream`, and after a copy and a
//! 10 s tumbling window aggregate read them all; against the size of the
//! input itself (the JSON the log stores), printed in the same run.
//!
//! The bids carry their event time (`ts`, 1 ms apart: 1,000 s of events, 100
//! windows per auction).
//!
//! Run: `cargo bench --bench footprint` (`SLUICE_BENCH_EVENTS`, default 1,000,000).

mod common;

use std::time::Duration;

use common::{ksql, metric, resident_mib, run_until_read, SluiceServer};

fn main() {
    let n = common::env_usize("SLUICE_BENCH_EVENTS", 1_000_000);
    let data = tempfile::tempdir().expect("a data dir");
    let server = SluiceServer::start(&["--data-dir", data.path().to_str().expect("a UTF-8 path")]);
    let pid = server.child.id();
    let url = server.url.clone();
    std::thread::sleep(Duration::from_millis(500));
    let (idle, _) = resident_mib(pid);

    ksql(
        &url,
        "CREATE STREAM bids (auction BIGINT, bidder BIGINT, price DOUBLE, channel STRING, url STRING, extra STRING, ts BIGINT) \
         WITH (kafka_topic='bids', value_format='JSON', partitions=1, timestamp='ts');",
    );
    let input_bytes = common::insert_generated(&url, "BIDS", n, |i| {
        let mut row = common::wide_bid_row(i);
        row["TS"] = (1_700_000_000_000i64 + i as i64).into();
        row
    });
    let (ingested, _) = resident_mib(pid);
    let (_, copy) = run_until_read(&url, "CREATE STREAM copy AS SELECT * FROM bids;", n as u64);
    let (copied, _) = resident_mib(pid);
    let (window_id, window) = run_until_read(
        &url,
        "CREATE TABLE per_window AS SELECT auction, COUNT(*) AS n, MAX(price) AS top FROM bids \
         WINDOW TUMBLING (SIZE 10 SECONDS) GROUP BY auction;",
        n as u64,
    );
    // the last commits settle, the task catches up and its stores write out
    std::thread::sleep(Duration::from_secs(3));
    let (windowed, peak) = resident_mib(pid);
    let live = metric(&url, "sluice_query_state_bytes", &window_id).unwrap_or(0.0);
    let stored = metric(&url, "sluice_query_store_bytes", &window_id).unwrap_or(0.0);
    // one group per auction and 10 s window the bids fell in
    let groups: std::collections::HashSet<(usize, i64)> = (0..n)
        .map(|i| (i % 997, (1_700_000_000_000i64 + i as i64) / 10_000))
        .collect();
    // the key (BIGINT), the window's bounds and the accumulators (COUNT, MAX)
    let raw = 8 + 16 + 8 + 8;
    println!(
        "sluice server on the embedded log, {n} bids ({:.0} MiB of JSON)",
        input_bytes as f64 / 1048576.0
    );
    println!("  resident when idle:                       {idle:>8.1} MiB");
    println!("  after the bids arrived:                   {ingested:>8.1} MiB");
    println!(
        "  after a copy read them ({:>5.2} s):        {copied:>8.1} MiB",
        copy.as_secs_f64()
    );
    println!(
        "  after a 10 s window aggregate ({:>5.2} s): {windowed:>8.1} MiB",
        window.as_secs_f64()
    );
    println!("  peak:                                     {peak:>8.1} MiB");
    let per_group = |bytes: f64| bytes / groups.len() as f64;
    println!(
        "  window state per group ({} groups): {:.1} bytes in its store on disk, {:.1} bytes of live groups cached in memory; key and accumulators {raw} bytes: disk {:.2}x",
        groups.len(),
        per_group(stored),
        per_group(live),
        per_group(stored) / raw as f64
    );
    println!(
        "  log held in memory (after arrival - idle) / input bytes: {:.2}",
        (ingested - idle) / (input_bytes as f64 / 1048576.0)
    );
    drop(server);
}
