//! Shared by the benchmarks: a heap counter (to report what state costs), the bids
//! generator, and running one query to completion on the embedded log.

#![allow(dead_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use serde_json::json;
use sluice_engine::log::{EmbeddedLog, Log, Record, TopicSpec};
use sluice_engine::{Engine, EngineConfig};

/// Counts live heap bytes; install with `#[global_allocator]` in the bench.
pub struct Counting;
pub static LIVE: AtomicUsize = AtomicUsize::new(0);
pub static PEAK: AtomicUsize = AtomicUsize::new(0);

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

pub fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Bids as JSON, one per millisecond, `keys` distinct auctions, auction as key when `keyed`.
pub fn bids(n: usize, keys: usize, keyed: bool) -> Vec<Record> {
    (0..n)
        .map(|i| {
            let auction = (i % keys) as i64;
            let value = json!({
                "auction": auction,
                "bidder": 5000 + (i % 7919),
                "price": 100 + (i * 37) % 100_000,
            });
            let key = keyed.then(|| auction.to_be_bytes().to_vec());
            Record::new(key, Some(value.to_string().into_bytes()), i as i64)
        })
        .collect()
}

/// Bid `i` as a row to insert (`/inserts-stream`): the six columns of the wide
/// bids, named as the stream's columns.
#[allow(dead_code)]
pub fn wide_bid_row(i: usize) -> serde_json::Value {
    json!({
        "AUCTION": 1000 + (i % 997),
        "BIDDER": 5000 + (i % 7919),
        "PRICE": 100 + (i * 37) % 100_000,
        "CHANNEL": if i.is_multiple_of(3) { "web" } else { "mobile" },
        "URL": format!("https://bid.example/{}", i % 101),
        "EXTRA": "xxxxxxxxxxxxxxxxxxxx",
    })
}

/// The wide bids of the stateless benchmarks: six JSON fields, keyless, one per
/// millisecond.
pub fn wide_bids(n: usize) -> Vec<Record> {
    (0..n)
        .map(|i| {
            let value = json!({
                "auction": 1000 + (i % 997),
                "bidder": 5000 + (i % 7919),
                "price": 100 + (i * 37) % 100_000,
                "channel": if i % 3 == 0 { "web" } else { "mobile" },
                "url": format!("https://bid.example/{}", i % 101),
                "extra": "xxxxxxxxxxxxxxxxxxxx",
            });
            Record::new(None, Some(value.to_string().into_bytes()), i as i64)
        })
        .collect()
}

/// Events per second of the best of three runs of `f` (which returns how many
/// events came out and how long it took), to keep one-off stalls out of ratios.
pub fn best_rate(n: usize, f: impl Fn() -> (usize, std::time::Duration)) -> f64 {
    (0..3)
        .map(|_| {
            let (done, took) = f();
            assert_eq!(done, n, "every record must come out");
            n as f64 / took.as_secs_f64()
        })
        .fold(0.0, f64::max)
}

/// The wide bids' stream (`bids`, one partition) holding `records` on a
/// fresh in-memory log, and an engine over it that has run `ddl` first.
pub fn bids_engine(records: &[Record], ddl: &str) -> (Arc<EmbeddedLog>, Engine) {
    let log = Arc::new(EmbeddedLog::in_memory());
    log.create_topic(&TopicSpec::new("bids", 1)).expect("topic");
    let mut engine = Engine::new(
        log.clone(),
        EngineConfig::default().with("auto.offset.reset", "earliest"),
    );
    engine
        .execute_sql(&format!(
            "CREATE STREAM bids (auction BIGINT, bidder BIGINT, price DOUBLE, channel STRING, url STRING, extra STRING) \
             WITH (kafka_topic='bids', value_format='JSON'); {ddl}"
        ))
        .expect("create");
    log.produce(
        "bids",
        records.iter().cloned().map(|r| (Some(0), r)).collect(),
    )
    .expect("produce");
    (log, engine)
}

/// Runs `csas` on `engine` until it is caught up: the records its `output`
/// topic then holds, and how long that took.
pub fn timed_csas(
    engine: &mut Engine,
    log: &dyn Log,
    csas: &str,
    output: &str,
) -> (usize, std::time::Duration) {
    let start = Instant::now();
    engine.execute_sql(csas).expect("csas");
    engine.run_until_idle().expect("run");
    let produced: i64 = log.end_offsets(output).expect("output").iter().sum();
    (produced as usize, start.elapsed())
}

/// What one benchmark run measured.
pub struct Measured {
    pub events_per_sec: f64,
    /// Peak heap the query added (the in-memory log's copy of the output included).
    pub peak_heap: usize,
    /// Bytes in the query's operator state once it caught up.
    pub state_bytes: usize,
}

/// A fresh engine with `ddl` run and `topics` filled, then `query` timed to completion.
pub fn run(ddl: &str, topics: &[(&str, &[Record])], query: &str, events: usize) -> Measured {
    let log = Arc::new(EmbeddedLog::in_memory());
    for (name, records) in topics {
        log.create_topic(&TopicSpec::new(*name, 1)).expect("topic");
        log.produce(
            name,
            records.iter().cloned().map(|r| (Some(0), r)).collect(),
        )
        .expect("produce");
    }
    let mut engine = Engine::new(
        log,
        EngineConfig::default().with("auto.offset.reset", "earliest"),
    );
    engine.execute_sql(ddl).expect("ddl");
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let start = Instant::now();
    engine.execute_sql(query).expect("query");
    engine.run_until_idle().expect("run");
    let events_per_sec = events as f64 / start.elapsed().as_secs_f64();
    let state_bytes = engine.queries().map(|q| q.status().state_bytes).sum();
    Measured {
        events_per_sec,
        peak_heap: PEAK.load(Ordering::Relaxed).saturating_sub(base),
        state_bytes,
    }
}

/// Parse each record and write the projected JSON: the least any engine must do.
pub fn stateless_baseline(records: &[Record]) -> usize {
    let mut out = Vec::with_capacity(records.len());
    for r in records {
        let Some(bytes) = &r.value else { continue };
        let v: serde_json::Value = match serde_json::from_slice(bytes) {
            Ok(v) => v,
            Err(_) => continue,
        };
        let price = v["price"].as_f64().unwrap_or(0.0) * 0.908;
        let projected = serde_json::json!({
            "AUCTION": v["auction"],
            "BIDDER": v["bidder"],
            "PRICE_EUR": price,
            "TS": r.timestamp,
        });
        out.push(serde_json::to_vec(&projected).unwrap_or_default());
    }
    out.len()
}

/// `sluice server` (the bench's release binary) on a random loopback port,
/// with `args` after `server`; killed on drop.
pub struct SluiceServer {
    pub child: std::process::Child,
    /// `http://127.0.0.1:PORT`
    pub url: String,
}

impl SluiceServer {
    pub fn start(args: &[&str]) -> SluiceServer {
        use std::io::{BufRead, BufReader};
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_sluice"))
            .args(["server", "--listeners", "http://127.0.0.1:0"])
            .args(["--set", "schema.registry.listeners=none"])
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit())
            .spawn()
            .expect("start sluice server");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout"));
        let mut first = String::new();
        lines.read_line(&mut first).expect("first line");
        let url = first
            .trim()
            .strip_prefix("Sluice server listening on ")
            .unwrap_or_else(|| panic!("sluice server said: {first}"))
            .to_string();
        // keep its stdout drained
        std::thread::spawn(move || for _ in lines.lines() {});
        SluiceServer { child, url }
    }

    /// POSTs `sql` to `/ksql`: see [`ksql`].
    pub fn ksql(&self, sql: &str) -> serde_json::Value {
        ksql(&self.url, sql)
    }
}

/// An HTTP client without a timeout (a bench's request may take long).
pub fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(None)
        .build()
        .expect("client")
}

/// POSTs `sql` to `url`'s `/ksql` (earliest offsets); the parsed answer,
/// which must be a success.
pub fn ksql(url: &str, sql: &str) -> serde_json::Value {
    let resp = client()
        .post(format!("{url}/ksql"))
        .body(
            serde_json::json!({"ksql": sql, "streamsProperties": {"auto.offset.reset": "earliest"}})
                .to_string(),
        )
        .send()
        .expect("POST /ksql");
    let status = resp.status();
    let text = resp.text().expect("body");
    assert!(status.is_success(), "{sql}: {status} {text}");
    serde_json::from_str(&text).expect("JSON")
}

impl Drop for SluiceServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Records query `id` of the server at `url` has read, from `/metrics`.
pub fn consumed(url: &str, id: &str) -> u64 {
    metric(url, "sluice_query_records_consumed_total", id).unwrap_or(0.0) as u64
}

/// The value of series `name` of query `id` in the `/metrics` of the server
/// at `url`.
pub fn metric(url: &str, name: &str, id: &str) -> Option<f64> {
    let text = client()
        .get(format!("{url}/metrics"))
        .send()
        .and_then(|r| r.text())
        .unwrap_or_default();
    let prefix = format!("{name}{{query_id=\"{id}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|v| v.trim().parse().ok())
}

/// Resident memory of process `pid` now and at its peak (`VmRSS`, `VmHWM`), in MiB.
pub fn resident_mib(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Posts `rows` (JSON objects, one per line) to `/inserts-stream` of the
/// server at `url` for stream `target` and checks every one was
/// acknowledged as stored.
pub fn insert_rows<S: AsRef<str>>(url: &str, target: &str, rows: &[S]) {
    use std::io::Read;
    let mut body = format!("{{\"target\":\"{target}\"}}\n");
    for r in rows {
        body.push_str(r.as_ref());
        body.push('\n');
    }
    let mut acks = String::new();
    client()
        .post(format!("{url}/inserts-stream"))
        .body(body)
        .send()
        .expect("inserts")
        .read_to_string(&mut acks)
        .expect("acks");
    assert_eq!(
        acks.lines().filter(|l| l.contains("\"ok\"")).count(),
        rows.len(),
        "every row acknowledged: {}",
        acks.lines().last().unwrap_or("")
    );
}

/// Inserts `row(0)` .. `row(n - 1)` into stream `target` of the server at
/// `url` over `/inserts-stream`, 100,000 rows a request, each acknowledged;
/// the bytes of JSON sent.
pub fn insert_generated(
    url: &str,
    target: &str,
    n: usize,
    row: impl Fn(usize) -> serde_json::Value,
) -> usize {
    let mut bytes = 0;
    for chunk in (0..n).collect::<Vec<_>>().chunks(100_000) {
        let rows: Vec<String> = chunk.iter().map(|&i| row(i).to_string()).collect();
        bytes += rows.iter().map(String::len).sum::<usize>();
        insert_rows(url, target, &rows);
    }
    bytes
}

/// Creates a persistent query with `sql` on the server at `url` and waits
/// until it has read `n` records: its id, and how long that took.
pub fn run_until_read(url: &str, sql: &str, n: u64) -> (String, std::time::Duration) {
    let start = std::time::Instant::now();
    let created = ksql(url, sql);
    let id = created[0]["commandStatus"]["queryId"]
        .as_str()
        .unwrap_or_else(|| panic!("a query id: {created}"))
        .to_string();
    while consumed(url, &id) < n {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    (id, start.elapsed())
}
