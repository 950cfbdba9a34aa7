//! `sluice server` on the embedded log, SIGKILLed five times in the middle
//! of a stream of inserts and started again on the same data dir. Every
//! acknowledged insert must be in the source afterwards, a copy query must
//! hold each source row exactly once, and a COUNT per key must sum to the
//! source's rows.

mod common;

use common::start_embedded as start;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sluice_log::{EmbeddedLog, Log};

fn ksql(url: &str, sql: &str) {
    common::post_ksql(url, sql);
}

/// Posts rows `from..from + n` to `/inserts-stream`; the ids acknowledged
/// as stored (fewer when the server dies under the request).
fn insert(url: &str, from: i64, n: i64) -> Vec<i64> {
    let mut body = String::from("{\"target\":\"SRC\"}\n");
    for id in from..from + n {
        body.push_str(&json!({"ID": id, "K": format!("k{}", id % 7), "V": id}).to_string());
        body.push('\n');
    }
    let Ok(resp) = reqwest::blocking::Client::new()
        .post(format!("{url}/inserts-stream"))
        .timeout(Duration::from_secs(30))
        .body(body)
        .send()
    else {
        return Vec::new();
    };
    let mut acked = Vec::new();
    for line in BufReader::new(resp).lines() {
        let Ok(line) = line else { break };
        let Ok(ack) = serde_json::from_str::<Value>(&line) else {
            continue;
        };
        assert_eq!(ack["status"], "ok", "{line}");
        acked.push(from + ack["seq"].as_i64().expect("seq"));
    }
    acked
}

/// The records of every partition of `topic`.
fn records(log: &EmbeddedLog, topic: &str) -> Vec<sluice_log::StoredRecord> {
    let mut out = Vec::new();
    for (p, end) in log.end_offsets(topic).unwrap().into_iter().enumerate() {
        let mut at = log.start_offsets(topic).unwrap()[p];
        while at < end {
            let got = log.fetch(topic, p as i32, at, 10_000).unwrap();
            at = got.last().map_or(end, |r| r.offset + 1);
            out.extend(got);
        }
    }
    out
}

fn id_of(r: &sluice_log::StoredRecord) -> i64 {
    let key: [u8; 8] = r.record.key.as_deref().unwrap().try_into().unwrap();
    i64::from_be_bytes(key)
}

#[test]
fn acknowledged_inserts_and_query_results_survive_five_sigkills() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path());
    ksql(
        &server.1,
        "CREATE STREAM src (id BIGINT KEY, k STRING, v BIGINT) \
           WITH (kafka_topic='src', value_format='JSON', partitions=2);
         CREATE STREAM copy AS SELECT * FROM src;
         CREATE TABLE counts AS SELECT k, COUNT(*) AS n FROM src GROUP BY k;",
    );
    let url = Arc::new(Mutex::new(server.1.clone()));
    let mut server = Some(server);
    let stop = Arc::new(AtomicBool::new(false));
    // a client inserting batches of rows until told to stop, across restarts
    let inserter = {
        let (url, stop) = (url.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut acked = Vec::new();
            let mut next = 0i64;
            while !stop.load(Ordering::Relaxed) {
                let at = url.lock().unwrap().clone();
                acked.extend(insert(&at, next, 500));
                next += 500;
            }
            (acked, next)
        })
    };
    // kills at pseudo-random moments while the inserts flow
    let mut seed = 0x2545_f491_u64;
    for kill in 0..5 {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        std::thread::sleep(Duration::from_millis(400 + (seed >> 33) % 900));
        drop(server.take()); // SIGKILL
        let restarted = start(dir.path());
        *url.lock().unwrap() = restarted.1.clone();
        server = Some(restarted);
        eprintln!("kill {}: restarted", kill + 1);
    }
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::Relaxed);
    let (acked, sent) = inserter.join().unwrap();
    assert!(
        acked.len() > 1000,
        "{} of {sent} rows acknowledged",
        acked.len()
    );

    // let the queries catch up, then read the topics with the server stopped
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        std::thread::sleep(Duration::from_secs(2));
        drop(server.take());
        let log = EmbeddedLog::open(dir.path().join("data")).unwrap();
        let src = records(&log, "src");
        let copy = records(&log, "COPY");
        let mut counts = BTreeMap::new();
        for r in records(&log, "COUNTS") {
            let v: Value = serde_json::from_slice(r.record.value.as_deref().unwrap()).unwrap();
            counts.insert(r.record.key.clone(), v["N"].as_i64().unwrap());
        }
        let counted: i64 = counts.values().sum();
        if copy.len() < src.len() || (counted as usize) < src.len() {
            assert!(
                Instant::now() < deadline,
                "not caught up: {} source rows, {} copied, {counted} counted",
                src.len(),
                copy.len()
            );
            drop(log);
            server = Some(start(dir.path()));
            continue;
        }
        let source: BTreeSet<i64> = src.iter().map(id_of).collect();
        assert_eq!(source.len(), src.len(), "each inserted row stored once");
        let missing: Vec<&i64> = acked.iter().filter(|id| !source.contains(id)).collect();
        assert!(
            missing.is_empty(),
            "acknowledged but not stored: {missing:?}"
        );
        let mut copied: Vec<i64> = copy.iter().map(id_of).collect();
        copied.sort_unstable();
        assert_eq!(
            copied,
            source.iter().copied().collect::<Vec<_>>(),
            "the copy holds each source row once"
        );
        assert_eq!(counts.len(), 7);
        assert_eq!(
            counted as usize,
            src.len(),
            "the counts sum to the source rows"
        );
        eprintln!(
            "{sent} rows sent, {} acknowledged, {} stored (unacknowledged ones stored: {})",
            acked.len(),
            src.len(),
            src.len() - acked.len()
        );
        break;
    }
}
