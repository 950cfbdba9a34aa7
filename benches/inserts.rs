//! `/inserts-stream` throughput: rows of the bids shape sent over loopback to
//! `sluice server` (release binary, embedded log in a fresh data dir), every one acknowledged
//! (`{"status":"ok","seq":n}` once stored), against a baseline in the same
//! run: the same JSON rows appended to an in-memory log in the bench's own
//! process (parse, encode, append: no HTTP, no acknowledgements).
//!
//! Run: `cargo bench --bench inserts` (`SLUICE_BENCH_EVENTS`, default 500,000).

mod common;

use std::io::Read;
use std::time::Instant;

use serde_json::{json, Value};
use sluice_engine::log::{EmbeddedLog, Log, Record, TopicSpec};

fn rows(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| common::wide_bid_row(i).to_string())
        .collect()
}

/// Parse each row and append it re-encoded: the least a server must do.
fn baseline(rows: &[String]) -> f64 {
    let log = EmbeddedLog::in_memory();
    log.create_topic(&TopicSpec::new("bids", 1)).expect("topic");
    let start = Instant::now();
    for chunk in rows.chunks(10_000) {
        let records = chunk
            .iter()
            .map(|r| {
                let v: Value = serde_json::from_str(r).expect("json");
                let bytes = serde_json::to_vec(&v).expect("encode");
                (None, Record::new(None, Some(bytes), 0))
            })
            .collect();
        log.produce("bids", records).expect("append");
    }
    rows.len() as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    let n = common::env_usize("SLUICE_BENCH_EVENTS", 500_000);
    let rows = rows(n);
    let base = baseline(&rows);

    let data = tempfile::tempdir().expect("a data dir");
    let server =
        common::SluiceServer::start(&["--data-dir", data.path().to_str().expect("a UTF-8 path")]);
    let url = server.url.clone();
    let client = common::client();
    let created = client
        .post(format!("{url}/ksql"))
        .body(json!({"ksql": "CREATE STREAM bids (auction BIGINT, bidder BIGINT, price DOUBLE, channel STRING, url STRING, extra STRING) WITH (kafka_topic='bids', value_format='JSON', partitions=1);"}).to_string())
        .send()
        .expect("create");
    assert!(created.status().is_success(), "{:?}", created.text());

    let mut body = String::from("{\"target\":\"BIDS\"}\n");
    for r in &rows {
        body.push_str(r);
        body.push('\n');
    }
    let start = Instant::now();
    let mut response = client
        .post(format!("{url}/inserts-stream"))
        .body(body)
        .send()
        .expect("inserts-stream");
    let mut acks = String::new();
    response.read_to_string(&mut acks).expect("acks");
    let took = start.elapsed();
    let ok = acks
        .lines()
        .filter(|l| l.contains("\"status\":\"ok\""))
        .count();
    drop(server);
    assert_eq!(
        ok,
        n,
        "every row acknowledged: {}",
        acks.lines().last().unwrap_or("")
    );
    let ours = n as f64 / took.as_secs_f64();
    println!("/inserts-stream, {n} rows of the bids shape over loopback, every row acknowledged");
    println!("  baseline (parse + encode + append in process): {base:>12.0} rows/s");
    println!("  sluice server (HTTP, acknowledged):            {ours:>12.0} rows/s");
    println!("  ratio sluice/baseline: {:.2}", ours / base);
}
