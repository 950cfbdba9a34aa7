//! State larger than memory: `sluice server --data-dir` (release binary,
//! embedded log) counts and sums 1,000,000 bids by bidder, every bidder
//! distinct, with the state stores' memory budget
//! (`ksql.streams.statestore.cache.max.bytes`) at 32 MiB. Baseline in the
//! same run: the same query on a server whose budget holds every group
//! live, which tells how big the state is in memory. Prints both servers'
//! resident memory (before the query, after it, peak), the state's size
//! against the budget, the bytes of the stores on disk per group, and both
//! rates.
//!
//! Run: `cargo bench --bench large_state` (`SLUICE_BENCH_EVENTS`, default
//! 1,000,000; `SLUICE_BENCH_BUDGET_MIB`, default 32).

mod common;

use common::{ksql, metric, resident_mib, run_until_read, SluiceServer};

struct Run {
    before: f64,
    after: f64,
    peak: f64,
    seconds: f64,
    live_state: f64,
    stored: f64,
}

fn run(n: usize, budget: usize) -> Run {
    let data = tempfile::tempdir().expect("a data dir");
    let budget_setting = format!("ksql.streams.statestore.cache.max.bytes={budget}");
    let server = SluiceServer::start(&[
        "--data-dir",
        data.path().to_str().expect("a UTF-8 path"),
        "--set",
        &budget_setting,
    ]);
    let pid = server.child.id();
    let url = server.url.clone();
    ksql(
        &url,
        "CREATE STREAM bids (auction BIGINT, bidder BIGINT, price DOUBLE, url STRING) \
         WITH (kafka_topic='bids', value_format='JSON', partitions=1);",
    );
    common::insert_generated(&url, "BIDS", n, |i| {
        serde_json::json!({
            "AUCTION": 1000 + (i % 997),
            // every bidder once, in an order that is not the key order
            "BIDDER": (i as u64).wrapping_mul(2_654_435_761) % 4_294_967_291,
            "PRICE": 100 + (i * 37) % 100_000,
            "URL": format!("https://bid.example/{}", i % 101),
        })
    });
    let (before, _) = resident_mib(pid);
    let (id, took) = run_until_read(
        &url,
        "CREATE TABLE per_bidder AS SELECT bidder, COUNT(*) AS n, SUM(price) AS total, \
         LATEST_BY_OFFSET(url) AS last_url FROM bids GROUP BY bidder;",
        n as u64,
    );
    // the last commits settle
    std::thread::sleep(std::time::Duration::from_secs(2));
    let (after, peak) = resident_mib(pid);
    Run {
        before,
        after,
        peak,
        seconds: took.as_secs_f64(),
        live_state: metric(&url, "sluice_query_state_bytes", &id).unwrap_or(0.0),
        stored: metric(&url, "sluice_query_store_bytes", &id).unwrap_or(0.0),
    }
}

fn main() {
    let n = common::env_usize("SLUICE_BENCH_EVENTS", 1_000_000);
    let budget_mib = common::env_usize("SLUICE_BENCH_BUDGET_MIB", 32);
    let budget = budget_mib << 20;
    let all_live = run(n, 64 << 30);
    let budgeted = run(n, budget);
    let mib = |b: f64| b / 1048576.0;
    println!("GROUP BY bidder over {n} bids, {n} distinct bidders (COUNT, SUM, LATEST_BY_OFFSET)");
    for (name, r) in [
        ("every group live (baseline)", &all_live),
        (&*format!("budget {budget_mib} MiB"), &budgeted),
    ] {
        println!(
            "  {name:<28} {:>7.0} bids/s; resident {:>6.1} MiB before, {:>6.1} after, peak {:>6.1}; \
             live groups {:>6.1} MiB, stores on disk {:>6.1} MiB",
            n as f64 / r.seconds,
            r.before,
            r.after,
            r.peak,
            mib(r.live_state),
            mib(r.stored),
        );
    }
    println!(
        "  state in memory (baseline's live groups) / budget: {:.1}x",
        all_live.live_state / budget as f64
    );
    println!(
        "  budgeted peak {:.1} MiB against budget + 200 MiB = {} MiB; rate {:.2} of the baseline",
        budgeted.peak,
        budget_mib + 200,
        all_live.seconds / budgeted.seconds
    );
    println!(
        "  stores on disk per group: {:.1} bytes",
        budgeted.stored / n as f64
    );
}
