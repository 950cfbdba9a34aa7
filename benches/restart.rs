//! Restart of a stateful query: `sluice server --data-dir` (release binary,
//! embedded log) counts N bids per auction (1,000 auctions) with
//! `GROUP BY auction`, is killed with SIGKILL once caught up, and started
//! again on the same data dir; timed from the new process's start to the
//! first correct pull-query answer, with how many input records the
//! restarted query read (it restores its state from its changelog). Run for
//! 100,000 and 1,000,000 bids: both times and their ratio.
//!
//! Run: `cargo bench --bench restart`.

mod common;

use std::time::{Duration, Instant};

use common::{client, consumed, ksql, SluiceServer};

const AUCTIONS: usize = 1000;

fn ingest(url: &str, n: usize) {
    common::insert_generated(url, "BIDS", n, |i| {
        serde_json::json!({
            "AUCTION": 1000 + (i % AUCTIONS),
            "BIDDER": 5000 + (i % 7919),
            "PRICE": 100 + (i * 37) % 100_000,
        })
    });
}

/// The count of auction 1000 by a pull query, if the server answers one.
fn pull_count(url: &str) -> Option<i64> {
    let resp = client()
        .post(format!("{url}/query"))
        .body(r#"{"ksql": "SELECT N FROM counts WHERE auction = 1000;"}"#)
        .send()
        .ok()?;
    let rows: serde_json::Value = resp.json().ok()?;
    rows.as_array()?
        .iter()
        .find_map(|r| r["row"]["columns"][0].as_i64())
}

/// Seconds from the restarted server's start to its first correct answer,
/// and the input records the restarted query read.
fn restart(n: usize) -> (f64, u64) {
    let data = tempfile::tempdir().expect("a data dir");
    let dir = data.path().to_str().expect("a UTF-8 path").to_string();
    let server = SluiceServer::start(&["--data-dir", &dir]);
    ksql(
        &server.url,
        "CREATE STREAM bids (auction BIGINT, bidder BIGINT, price DOUBLE) \
         WITH (kafka_topic='bids', value_format='JSON', partitions=1);",
    );
    ingest(&server.url, n);
    let (id, _) = common::run_until_read(
        &server.url,
        "CREATE TABLE counts AS SELECT auction, COUNT(*) AS n FROM bids GROUP BY auction;",
        n as u64,
    );
    let expected = (n / AUCTIONS) as i64;
    while pull_count(&server.url) != Some(expected) {
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(server); // SIGKILL

    let start = Instant::now();
    let server = SluiceServer::start(&["--data-dir", &dir]);
    let listening = start.elapsed().as_secs_f64();
    // asked again every millisecond: the answer's time is known to 1 ms
    let mut asked = 0;
    let mut first = None;
    loop {
        let t = Instant::now();
        let got = pull_count(&server.url);
        first.get_or_insert(t.elapsed().as_secs_f64());
        asked += 1;
        if got == Some(expected) {
            break;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let took = start.elapsed().as_secs_f64();
    println!(
        "  {n} bids: {asked} pull queries until the right answer, the first took {:.3} s",
        first.unwrap_or_default()
    );
    let t = Instant::now();
    pull_count(&server.url);
    println!(
        "  {n} bids: listening after {listening:.3} s, answered after {took:.3} s; one more pull query {:.3} s",
        t.elapsed().as_secs_f64()
    );
    (took, consumed(&server.url, &id))
}

fn main() {
    let (small, small_read) = restart(100_000);
    let (large, large_read) = restart(1_000_000);
    println!(
        "restart of `sluice server --data-dir` after SIGKILL, GROUP BY over {AUCTIONS} auctions,"
    );
    println!("to the first correct pull-query answer:");
    println!("  after 100,000 bids:   {small:>6.3} s  (input records read again: {small_read})");
    println!("  after 1,000,000 bids: {large:>6.3} s  (input records read again: {large_read})");
    println!("  ratio 1,000,000 / 100,000: {:.2}", large / small);
}
