//! Stateless bids query on the embedded log, against a baseline in the same process.
//!
//! Query: `SELECT auction, bidder, price * 0.908 AS price_eur, ROWTIME AS ts FROM bids`
//! over JSON. Baseline: parse each JSON record with serde_json and write the projected
//! JSON, nothing else. Prints events/s per core (this is single-threaded) and the ratio.
//!
//! Run: `cargo bench --bench stateless` (SLUICE_BENCH_EVENTS to change the count).

mod common;

use std::time::Instant;

use sluice_engine::log::Record;

/// Returns records written and the time the query took (setup and input loading excluded).
fn sluice(records: &[Record]) -> (usize, std::time::Duration) {
    let (log, mut engine) = common::bids_engine(records, "");
    common::timed_csas(
        &mut engine,
        log.as_ref(),
        "CREATE STREAM out AS SELECT auction, bidder, price * 0.908 AS price_eur, ROWTIME AS ts FROM bids;",
        "OUT",
    )
}

fn main() {
    let n: usize = std::env::var("SLUICE_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500_000);
    let records = common::wide_bids(n);
    let base = common::best_rate(n, || {
        let t = Instant::now();
        let done = common::stateless_baseline(&records);
        (done, t.elapsed())
    });
    let ours = common::best_rate(n, || sluice(&records));
    println!("stateless bids query, {n} JSON events, 1 core");
    println!("  baseline (serde_json parse + project + write): {base:>12.0} events/s");
    println!("  sluice   (embedded log, CSAS):                 {ours:>12.0} events/s");
    println!("  ratio sluice/baseline: {:.2}", ours / base);
}
