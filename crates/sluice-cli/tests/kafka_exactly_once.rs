//! Exactly-once on Apache Kafka with real transactions: `sluice server` under
//! `processing.guarantee=exactly_once_v2` copies a stream that a producer keeps
//! writing, and is SIGKILLed at random points and started again. Its output,
//! read with `isolation.level=read_committed`, must hold every input record
//! exactly once, a COUNT grouped by a value (through its repartition topic
//! and changelog) must count each once, and the broker's own segments must show aborted
//! transactions (kills that landed mid-transaction). A restarted server must
//! take its partitions back at once (static membership, stable
//! transactional ids), not after the group's session timeout.
//!
//! `SLUICE_EOS_TRIALS` sets the number of kills (3 here; `tests/eos-sigkill.sh`
//! runs 20).

mod common;

use std::collections::BTreeMap;
use std::process::Child;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use serde_json::{json, Value};
use sluice_testkit::kafka::KafkaCluster;

const PARTITIONS: i32 = 2;

/// Records sent at once before every other kill.
const BURST: i64 = 20_000;

/// A running `sluice server`, SIGKILLed on drop.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `sluice server` on `port` (the same each time: the port names the
/// server's group instance) against `cluster`, and waits until it listens.
fn start_server(cluster: &KafkaCluster, port: u16, dir: &std::path::Path) -> Server {
    let extra = [
        "--set",
        "processing.guarantee=exactly_once_v2",
        "--set",
        "auto.offset.reset=earliest",
    ];
    let data = dir.join("data");
    let (child, _) =
        common::spawn_kafka_server(&cluster.bootstrap_servers(), port, "eos_", &data, &extra);
    Server(child)
}

fn ksql(port: u16, sql: &str) -> Value {
    let body = json!({ "ksql": sql }).to_string();
    let resp = reqwest::blocking::Client::new()
        .post(format!("http://127.0.0.1:{port}/ksql"))
        .body(body)
        .send()
        .expect("POST /ksql");
    let status = resp.status();
    let text = resp.text().expect("body");
    assert!(status.is_success(), "{status}: {text}");
    serde_json::from_str(&text).expect("JSON")
}

fn client(cluster: &KafkaCluster) -> ClientConfig {
    client_of(&cluster.properties())
}

fn client_of(properties: &BTreeMap<String, String>) -> ClientConfig {
    let mut c = ClientConfig::new();
    for (k, v) in properties {
        c.set(k, v);
    }
    c
}

/// Writes ids `0, 1, ...` to `EOS_IN` (BIGINT keys, JSON values) at about
/// `rate` per second until `stop` is set, plus, whenever `burst` is set, that
/// many at once (it is reset when they are sent); `written` follows the sent
/// ones. Returns how many were written (all acknowledged).
fn produce(
    properties: &BTreeMap<String, String>,
    rate: u64,
    written: &AtomicI64,
    burst: &AtomicI64,
    stop: &AtomicBool,
) -> i64 {
    let producer: BaseProducer = client_of(properties)
        .set("enable.idempotence", "true")
        .set("linger.ms", "5")
        .create()
        .expect("producer");
    let started = Instant::now();
    let mut id = 0i64;
    // records sent in bursts, outside the steady pace
    let mut bursts = 0i64;
    let mut burst_left = 0i64;
    while !stop.load(Ordering::Relaxed) {
        if burst_left == 0 {
            burst_left = burst.swap(0, Ordering::Relaxed);
        }
        let key = id.to_be_bytes();
        let value = format!("{{\"V\":{id}}}");
        let mut record = BaseRecord::to("EOS_IN").key(&key[..]).payload(&value);
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((_, back)) => {
                    producer.poll(Duration::from_millis(10));
                    record = back;
                }
            }
        }
        producer.poll(Duration::ZERO);
        id += 1;
        written.store(id, Ordering::Relaxed);
        if burst_left > 0 {
            burst_left -= 1;
            bursts += 1;
            continue;
        }
        // pace the stream so the kills land while it flows
        let due = started + Duration::from_micros((id - bursts) as u64 * 1_000_000 / rate);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
    }
    producer.flush(Duration::from_secs(60)).expect("flush");
    id
}

/// Every record of `EOS_OUT` a read_committed consumer sees until it holds
/// `n` distinct ids (or `timeout` passes), then a little longer to catch
/// duplicates: id → times seen.
fn read_output(cluster: &KafkaCluster, n: usize, timeout: Duration) -> BTreeMap<i64, usize> {
    let consumer: BaseConsumer = client(cluster)
        .set("group.id", "eos-check")
        .set("isolation.level", "read_committed")
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    for p in 0..PARTITIONS {
        tpl.add_partition_offset("EOS_OUT", p, Offset::Beginning)
            .unwrap();
    }
    consumer.assign(&tpl).expect("assign");
    let mut seen: BTreeMap<i64, usize> = BTreeMap::new();
    let deadline = Instant::now() + timeout;
    let mut complete_at: Option<Instant> = None;
    while Instant::now() < deadline {
        if complete_at.is_some_and(|t| t.elapsed() > Duration::from_secs(3)) {
            break;
        }
        let Some(m) = consumer.poll(Duration::from_millis(200)) else {
            continue;
        };
        let m = m.expect("consume EOS_OUT");
        let key = m.key().expect("a key");
        let id = i64::from_be_bytes(key.try_into().expect("an 8-byte BIGINT key"));
        let value: Value = serde_json::from_slice(m.payload().expect("a value")).unwrap();
        assert_eq!(value["V"], json!(id), "the value follows its key");
        *seen.entry(id).or_default() += 1;
        if complete_at.is_none() && seen.len() >= n {
            complete_at = Some(Instant::now());
        }
    }
    seen
}

/// Time-seeded pseudo-random milliseconds in `lo..hi` (no rand crate needed).
fn random_ms(lo: u64, hi: u64) -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos(),
    );
    lo + h.finish() % (hi - lo)
}

/// The committed offsets of the query's consumer group, summed over the
/// input's partitions (what the output has taken in).
fn committed_input(cluster: &KafkaCluster, group: &str) -> i64 {
    let consumer: BaseConsumer = client(cluster)
        .set("group.id", group)
        .create()
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    for p in 0..PARTITIONS {
        tpl.add_partition("EOS_IN", p);
    }
    match consumer.committed_offsets(tpl, Duration::from_secs(10)) {
        Ok(got) => got
            .elements()
            .iter()
            .filter_map(|e| match e.offset() {
                Offset::Offset(o) => Some(o),
                _ => None,
            })
            .sum(),
        Err(_) => -1,
    }
}

/// The counts of `EOS_COUNTS` by bucket, by a pull query, and the server's
/// answer as it came (for the failure message).
fn bucket_counts(port: u16) -> (BTreeMap<i64, i64>, String) {
    let answer = reqwest::blocking::Client::new()
        .post(format!("http://127.0.0.1:{port}/query"))
        .body(json!({ "ksql": "SELECT bucket, n FROM eos_counts;" }).to_string())
        .send()
        .and_then(|r| r.text())
        .unwrap_or_else(|e| format!("no answer: {e}"));
    let rows: Value = serde_json::from_str(&answer).unwrap_or(Value::Null);
    let counts = rows
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| {
            let c = r["row"]["columns"].as_array()?;
            Some((c.first()?.as_i64()?, c.get(1)?.as_i64()?))
        })
        .collect();
    (counts, answer)
}

#[test]
fn exactly_once_survives_sigkills_at_random_points() {
    let trials: usize = std::env::var("SLUICE_EOS_TRIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let cluster = KafkaCluster::start();
    let dir = tempfile::tempdir().unwrap();
    let port = sluice_testkit::free_port();
    let mut server = start_server(&cluster, port, dir.path());
    ksql(
        port,
        &format!(
            "CREATE STREAM eos_in (id BIGINT KEY, v BIGINT) \
             WITH (kafka_topic='EOS_IN', value_format='JSON', partitions={PARTITIONS});\
             CREATE STREAM eos_out AS SELECT id, v FROM eos_in;\
             CREATE TABLE eos_counts AS SELECT v % 10 AS bucket, COUNT(*) AS n FROM eos_in GROUP BY v % 10;"
        ),
    );
    let queries = ksql(port, "SHOW QUERIES;");
    let query_id = queries[0]["queries"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|q| q["id"].as_str())
        .find(|id| id.contains("EOS_OUT"))
        .unwrap_or_else(|| panic!("the copy query: {queries}"))
        .to_string();
    let group = format!("_confluent-ksql-eos_query_{query_id}");

    // a steady stream until the last kill is done
    let rate = 1_000;
    let written = Arc::new(AtomicI64::new(0));
    let burst = Arc::new(AtomicI64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let producer = {
        let (written, burst, stop) = (written.clone(), burst.clone(), stop.clone());
        let props = cluster.properties();
        std::thread::spawn(move || produce(&props, rate, &written, &burst, &stop))
    };

    // kill at random points while the stream flows: until `trials` kills are
    // done and at least one of them left a transaction to abort (at most
    // three times as many kills). Every other kill lands while the server
    // works through a burst of records, its transactions back to back, so
    // that kills inside a transaction do not depend on luck.
    let mut kills = 0;
    let mut resumes = Vec::new();
    while kills < trials || (cluster.transaction_markers("EOS_OUT").1 == 0 && kills < 3 * trials) {
        std::thread::sleep(Duration::from_millis(random_ms(700, 2_200)));
        let mut before = committed_input(&cluster, &group);
        if kills % 2 == 0 {
            let start = written.load(Ordering::Relaxed);
            burst.store(BURST, Ordering::Relaxed);
            let deadline = Instant::now() + Duration::from_secs(60);
            // the burst is out and the server is into it
            while (written.load(Ordering::Relaxed) < start + BURST
                || committed_input(&cluster, &group) < start + BURST / 10)
                && Instant::now() < deadline
            {
                std::thread::sleep(Duration::from_millis(10));
            }
            before = committed_input(&cluster, &group);
        }
        drop(server); // SIGKILL
        kills += 1;
        let restarted = Instant::now();
        server = start_server(&cluster, port, dir.path());
        // the restarted server commits new input soon: it did not wait for
        // the group to time its previous life out
        let resumed = loop {
            let now = committed_input(&cluster, &group);
            if now > before {
                break restarted.elapsed();
            }
            assert!(
                restarted.elapsed() < Duration::from_secs(40),
                "kill {kills}: no progress 40 s after the restart (committed {now}, before {before}); server log:\n{}",
                sluice_testkit::process::log_tail(&dir.path().join("server.log"), 30)
            );
            std::thread::sleep(Duration::from_millis(100));
        };
        eprintln!(
            "kill {kills}: {} records written, resumed {:.1} s after the restart",
            written.load(Ordering::Relaxed),
            resumed.as_secs_f64()
        );
        resumes.push(resumed);
    }
    // a last stretch of stream after the last restart
    std::thread::sleep(Duration::from_secs(2));
    stop.store(true, Ordering::Relaxed);
    let n = producer.join().expect("the producer");

    let seen = read_output(&cluster, n as usize, Duration::from_secs(120));
    // the aggregation grouped by a value (through its repartition topic and
    // changelog, in the same transactions) counts every record once
    let want: BTreeMap<i64, i64> = (0..10)
        .map(|b| (b, (0..n).filter(|v| v % 10 == b).count() as i64))
        .collect();
    let deadline = Instant::now() + Duration::from_secs(120);
    let (counts, answer) = loop {
        let (got, answer) = bucket_counts(port);
        if got == want || Instant::now() > deadline {
            break (got, answer);
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    drop(server);
    assert_eq!(
        counts,
        want,
        "COUNT(*) per v % 10 after the kills; the last answer: {}; server log:\n{}",
        answer.chars().take(2_000).collect::<String>(),
        sluice_testkit::process::log_tail(&dir.path().join("server.log"), 40)
    );
    let missing: Vec<i64> = (0..n).filter(|id| !seen.contains_key(id)).collect();
    let twice: Vec<(&i64, &usize)> = seen.iter().filter(|(_, c)| **c > 1).collect();
    let (commits, aborts) = cluster.transaction_markers("EOS_OUT");
    eprintln!(
        "{kills} kills: {} distinct of {n}, {} missing, {} duplicated; \
         transaction markers in EOS_OUT: {commits} commits, {aborts} aborts; \
         slowest resume {:.1} s",
        seen.len(),
        missing.len(),
        twice.len(),
        resumes.iter().max().map_or(0.0, Duration::as_secs_f64)
    );
    assert!(
        missing.is_empty(),
        "lost {} records, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(10)]
    );
    assert!(
        twice.is_empty(),
        "{} records twice, e.g. {:?}",
        twice.len(),
        &twice[..twice.len().min(10)]
    );
    assert_eq!(seen.len() as i64, n);
    assert!(aborts > 0, "no kill left an open transaction to abort");
    assert!(commits > 0);
}
