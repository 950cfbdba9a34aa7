//! Pull-query key lookups over REST: `sluice server` (release, embedded
//! log) materializes a table of N keys (`LATEST_BY_OFFSET` per id over a
//! stream of N rows, 4 partitions), then clients ask
//! `SELECT * FROM latest WHERE id = k` for random keys at a fixed rate (4
//! threads sharing it) for a few seconds. Prints p50/p99/max latency and the
//! rate reached; baseline in the same run: `GET /info` at the same rate.
//! Then the server is killed (SIGKILL) and started again on its data dir:
//! how long until it listens and the first lookup answers, and how many
//! records of the table's topic its pull-query index read again.
//!
//! Run: `cargo bench --bench pull` (`SLUICE_BENCH_KEYS`, default 1,000,000;
//! `SLUICE_BENCH_QPS`, default 1,000).

mod common;

use std::time::{Duration, Instant};

use common::{client, env_usize, ksql, SluiceServer};

const THREADS: usize = 4;
const SECONDS: u64 = 5;

/// Latencies of requests made by `THREADS` threads at `qps` in all for
/// `SECONDS`, each request made by `ask(thread, i)` (which checks its answer).
fn paced(qps: usize, ask: impl Fn(usize, usize) + Sync) -> (Vec<Duration>, f64) {
    let interval = Duration::from_secs_f64(THREADS as f64 / qps as f64);
    let per_thread = (qps as u64 * SECONDS) as usize / THREADS;
    let start = Instant::now();
    let mut all = std::thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let ask = &ask;
                s.spawn(move || {
                    let mut times = Vec::with_capacity(per_thread);
                    let begin = Instant::now() + interval.mul_f64(t as f64 / THREADS as f64);
                    for i in 0..per_thread {
                        let due = begin + interval * i as u32;
                        if let Some(wait) = due.checked_duration_since(Instant::now()) {
                            std::thread::sleep(wait);
                        }
                        let t0 = Instant::now();
                        ask(t, i);
                        times.push(t0.elapsed());
                    }
                    times
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("client thread"))
            .collect::<Vec<_>>()
    });
    let rate = all.len() as f64 / start.elapsed().as_secs_f64();
    all.sort();
    (all, rate)
}

fn report(name: &str, (times, rate): &(Vec<Duration>, f64)) {
    let at = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)];
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "  {name:<28} p50 {:>6.2} ms   p99 {:>6.2} ms   max {:>7.2} ms   {:>6.0} requests/s",
        ms(at(0.5)),
        ms(at(0.99)),
        ms(*times.last().expect("requests")),
        rate
    );
}

fn main() {
    let keys = env_usize("SLUICE_BENCH_KEYS", 1_000_000);
    let qps = env_usize("SLUICE_BENCH_QPS", 1_000);
    let data = tempfile::tempdir().expect("a data dir");
    let dir = data.path().to_str().expect("a UTF-8 path").to_string();
    let server = SluiceServer::start(&["--data-dir", &dir]);
    ksql(
        &server.url,
        "CREATE STREAM src (id BIGINT KEY, name STRING, score BIGINT) \
         WITH (kafka_topic='src', value_format='JSON', partitions=4);",
    );
    for chunk in (0..keys).collect::<Vec<_>>().chunks(100_000) {
        let rows: Vec<String> = chunk
            .iter()
            .map(|&i| {
                serde_json::json!({"ID": i, "NAME": format!("user-{i}"), "SCORE": i * 3})
                    .to_string()
            })
            .collect();
        common::insert_rows(&server.url, "SRC", &rows);
    }
    let (_, took) = common::run_until_read(
        &server.url,
        "CREATE TABLE latest AS SELECT id, LATEST_BY_OFFSET(name) AS name, \
         LATEST_BY_OFFSET(score) AS score FROM src GROUP BY id;",
        keys as u64,
    );
    println!(
        "table of {keys} keys materialized in {:.2} s",
        took.as_secs_f64()
    );

    let lookup_at = |url: &str, k: usize| {
        let body = serde_json::json!({"ksql": format!("SELECT * FROM latest WHERE id = {k};")});
        let text = client()
            .post(format!("{url}/query"))
            .body(body.to_string())
            .send()
            .and_then(|r| r.text())
            .expect("pull query");
        let rows: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        let score = rows
            .as_array()
            .and_then(|r| r.iter().find_map(|r| r["row"]["columns"][2].as_i64()));
        assert_eq!(score, Some(k as i64 * 3), "{text}");
    };
    let url = server.url.clone();
    let lookup = |k: usize| lookup_at(&url, k);
    let t = Instant::now();
    lookup(0);
    println!(
        "first pull query after materializing: {:.3} s",
        t.elapsed().as_secs_f64()
    );

    // a cheap pseudo-random key per request
    let key = |t: usize, i: usize| (t * 7_919 + i * 104_729) % keys;
    let info = paced(qps, |_, _| {
        let status = client()
            .get(format!("{url}/info"))
            .send()
            .expect("GET /info")
            .status();
        assert!(status.is_success());
    });
    let pulls = paced(qps, |t, i| lookup(key(t, i)));
    println!(
        "key lookups on a table of {keys} keys, {qps} requests/s over REST ({THREADS} clients):"
    );
    report("GET /info (baseline)", &info);
    report("SELECT ... WHERE id = k", &pulls);

    // killed and started again on its data dir: the table's index comes
    // back from its store, only what was written after its checkpoint read
    drop(server);
    let t = Instant::now();
    let server = SluiceServer::start(&["--data-dir", &dir]);
    let listening = t.elapsed();
    let t = Instant::now();
    lookup_at(&server.url, keys / 2);
    let first = t.elapsed();
    println!(
        "after a SIGKILL and a restart: listening after {:.3} s, first pull query {:.3} s, \
         records of the table's topic read again: {}",
        listening.as_secs_f64(),
        first.as_secs_f64(),
        index_reads(&server.url)
    );
}

/// `sluice_pull_index_records_read_total` of table LATEST on the server at
/// `url`.
fn index_reads(url: &str) -> String {
    let text = client()
        .get(format!("{url}/metrics"))
        .send()
        .and_then(|r| r.text())
        .expect("GET /metrics");
    text.lines()
        .find(|l| l.starts_with("sluice_pull_index_records_read_total{table=\"LATEST\"}"))
        .and_then(|l| l.split_whitespace().last())
        .unwrap_or("none reported")
        .to_string()
}
