//! A query catching up on a backlog, alone and next to a query in ERROR, while
//! a client keeps asking `/info` and `SHOW STREAMS`: how long the catch-up
//! takes each time, and how long the server takes to answer meanwhile.
//!
//! `sluice server` (release binary, embedded log in a fresh data dir) gets
//! 1,000,000 bids through `/inserts-stream`; then `CREATE STREAM copy_a AS
//! SELECT * FROM bids` is timed until it has taken every record. Then a query
//! that cannot write (its sink topic is compacted, its rows have no key: Kafka
//! refuses them) goes to ERROR and retries, and `copy_b`, the same copy, is
//! timed the same way. A client thread asks `GET /info` and `SHOW STREAMS`
//! in turn the whole time; their latencies are printed per phase.
//!
//! Run: `cargo bench --bench responsiveness` (`SLUICE_BENCH_EVENTS`, default 1,000,000).

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{client, ksql, SluiceServer};

/// Creates the copy `name` and waits until it has read `n` records.
fn timed_copy(url: &str, name: &str, n: u64) -> Duration {
    common::run_until_read(
        url,
        &format!("CREATE STREAM {name} AS SELECT * FROM bids;"),
        n,
    )
    .1
}

/// Asks `/info` and `SHOW STREAMS` in turn until `stop`; their latencies.
fn probe(url: String, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<(Vec<f64>, Vec<f64>)> {
    std::thread::spawn(move || {
        let c = client();
        let (mut info, mut show) = (Vec::new(), Vec::new());
        while !stop.load(Ordering::Relaxed) {
            let t = Instant::now();
            let ok = c
                .get(format!("{url}/info"))
                .send()
                .is_ok_and(|r| r.status().is_success());
            assert!(ok, "/info failed");
            info.push(t.elapsed().as_secs_f64() * 1000.0);
            let t = Instant::now();
            let ok = c
                .post(format!("{url}/ksql"))
                .body(r#"{"ksql": "SHOW STREAMS;"}"#)
                .send()
                .is_ok_and(|r| r.status().is_success());
            assert!(ok, "SHOW STREAMS failed");
            show.push(t.elapsed().as_secs_f64() * 1000.0);
            std::thread::sleep(Duration::from_millis(20));
        }
        (info, show)
    })
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn summary(name: &str, mut ms: Vec<f64>) -> (f64, f64) {
    ms.sort_by(|a, b| a.total_cmp(b));
    let (p50, p99, max) = (
        percentile(&ms, 0.5),
        percentile(&ms, 0.99),
        ms.last().copied().unwrap_or(0.0),
    );
    println!(
        "    {name:<13} {:>5} requests  p50 {p50:>7.2} ms  p99 {p99:>7.2} ms  max {max:>7.2} ms",
        ms.len()
    );
    (p99, max)
}

/// Runs `phase` with the probe asking meanwhile; its result and the latencies.
fn probed<T>(url: &str, phase: impl FnOnce() -> T) -> (T, Vec<f64>, Vec<f64>) {
    let stop = Arc::new(AtomicBool::new(false));
    let handle = probe(url.to_string(), stop.clone());
    let out = phase();
    stop.store(true, Ordering::Relaxed);
    let (info, show) = handle.join().expect("probe");
    (out, info, show)
}

fn main() {
    let n = common::env_usize("SLUICE_BENCH_EVENTS", 1_000_000) as u64;
    let data = tempfile::tempdir().expect("a data dir");
    let server = SluiceServer::start(&["--data-dir", data.path().to_str().expect("a UTF-8 path")]);
    let url = server.url.clone();

    ksql(
        &url,
        "CREATE STREAM bids (auction BIGINT, bidder BIGINT, price DOUBLE, channel STRING, url STRING, extra STRING) \
         WITH (kafka_topic='bids', value_format='JSON', partitions=1);",
    );
    let rows: Vec<String> = common::wide_bids(n as usize)
        .into_iter()
        .map(|r| String::from_utf8(r.value.unwrap_or_default()).expect("UTF-8 JSON"))
        .collect();
    common::insert_rows(&url, "BIDS", &rows);

    println!(
        "a copy query catching up on {n} records, while /info and SHOW STREAMS are asked in turn"
    );
    let (alone, info_a, show_a) = probed(&url, || timed_copy(&url, "copy_a", n));
    println!("  alone: {:.2} s", alone.as_secs_f64());
    summary("/info", info_a);
    summary("SHOW STREAMS", show_a);

    // a query that cannot write its rows: ERROR, retried with backoff
    ksql(
        &url,
        "CREATE TOPIC 'refusing' WITH (PARTITIONS=1, 'cleanup.policy'='compact');\
         CREATE STREAM failing WITH (kafka_topic='refusing') AS SELECT * FROM bids;",
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let shown = ksql(&url, "SHOW QUERIES;");
        let state = shown[0]["queries"]
            .as_array()
            .and_then(|qs| qs.iter().find(|q| q["sinks"][0] == "FAILING"))
            .map(|q| q["state"].as_str().unwrap_or_default().to_string())
            .unwrap_or_default();
        if state == "ERROR" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the failing query never failed ({state})"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let (beside, info_b, show_b) = probed(&url, || timed_copy(&url, "copy_b", n));
    println!("  next to a query in ERROR: {:.2} s", beside.as_secs_f64());
    let (p99_info, max_info) = summary("/info", info_b);
    let (p99_show, max_show) = summary("SHOW STREAMS", show_b);
    println!(
        "  ratio (next to ERROR / alone): {:.2}",
        beside.as_secs_f64() / alone.as_secs_f64()
    );
    println!(
        "  worst while catching up next to ERROR: p99 {:.2} ms, max {:.2} ms",
        p99_info.max(p99_show),
        max_info.max(max_show)
    );
    drop(server);
}
