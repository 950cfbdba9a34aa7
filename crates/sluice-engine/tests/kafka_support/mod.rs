//! What the tests of the engine on Apache Kafka share: servers of one
//! service on their own connections, producing ids, reading topics back and
//! waiting for what the queries write.

#![allow(dead_code)]

use std::sync::Arc;

use sluice_engine::log::KafkaLog;
use sluice_engine::{Engine, EngineConfig};
use sluice_testkit::kafka::KafkaCluster;

/// Every record of `topic`, partition by partition.
pub fn all_records(log: &KafkaLog, topic: &str) -> Vec<sluice_log::StoredRecord> {
    use sluice_log::Log;
    let partitions = log.describe_topic(topic).map_or(0, |d| d.partitions.len());
    let mut out = Vec::new();
    for p in 0..partitions as i32 {
        loop {
            let at = out
                .iter()
                .filter(|r: &&sluice_log::StoredRecord| r.partition == p)
                .count() as i64;
            let batch = log.fetch(topic, p, at, 500).unwrap_or_default();
            if batch.is_empty() {
                break;
            }
            out.extend(batch);
        }
    }
    out
}

/// The ids (the key, a KAFKA-format INT) of `records`, sorted, and how many
/// records there were.
pub fn ids_of(records: &[sluice_log::StoredRecord]) -> (Vec<i64>, usize) {
    let mut ids: Vec<i64> = records
        .iter()
        .filter_map(|r| r.record.key.as_deref())
        .filter_map(|k| <[u8; 4]>::try_from(k).ok())
        .map(|k| i64::from(i32::from_be_bytes(k)))
        .collect();
    let n = ids.len();
    ids.sort_unstable();
    ids.dedup();
    (ids, n)
}

/// A server: an engine on its own connection, replaying the service's command
/// topic and running its queries until told to stop.
pub fn server(
    props: std::collections::BTreeMap<String, String>,
    stop: Arc<std::sync::atomic::AtomicBool>,
) -> std::thread::JoinHandle<()> {
    counting_server(props, stop, Arc::default())
}

/// Writes `ids` to `src` (KAFKA INT keys, JSON values) as a producer would.
pub fn produce_ids(log: &KafkaLog, ids: std::ops::Range<i32>) {
    use sluice_log::{Log, Record};
    let records = ids
        .map(|id| {
            let value = format!("{{\"V\":{id}}}").into_bytes();
            (
                None,
                Record::new(Some(id.to_be_bytes().to_vec()), Some(value), 0),
            )
        })
        .collect();
    log.produce("src", records).unwrap();
}

/// Client settings for servers sharing `broker` (members that go away
/// without leaving are noticed within seconds), and the statements `sql`
/// declared once by a first server of the service, as a user would.
pub fn shared_service(
    broker: &KafkaCluster,
    sql: &str,
) -> std::collections::BTreeMap<String, String> {
    let mut props = broker.properties();
    props.insert("session.timeout.ms".into(), "6000".into());
    props.insert("heartbeat.interval.ms".into(), "500".into());
    let log = Arc::new(KafkaLog::connect(&props).unwrap());
    let config = EngineConfig::default()
        .with("auto.offset.reset", "earliest")
        .with("ksql.service.id", "pair_");
    let mut e = Engine::new(log, config).with_command_topic().unwrap();
    e.execute_sql(sql).unwrap();
    props
}

/// Polls `probe` until `done` holds for its answer or 90 s pass; the last answer.
pub fn wait_until<T>(probe: impl Fn() -> T, done: impl Fn(&T) -> bool) -> T {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
    loop {
        let answer = probe();
        if done(&answer) || std::time::Instant::now() > deadline {
            return answer;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

/// Waits until `topic` holds every id in `0..n`: the ids and the record count.
pub fn wait_for_ids(log: &KafkaLog, topic: &str, n: i64) -> (Vec<i64>, usize) {
    wait_until(
        || ids_of(&all_records(log, topic)),
        |(ids, _)| ids.len() as i64 >= n,
    )
}

/// The newest `N` per key of a table's topic (KAFKA INT keys, JSON values).
pub fn latest_counts(log: &KafkaLog, topic: &str) -> std::collections::BTreeMap<i32, i64> {
    let mut records = all_records(log, topic);
    records.sort_by_key(|r| r.record.timestamp);
    let mut out = std::collections::BTreeMap::new();
    for r in records {
        let (Some(k), Some(v)) = (r.record.key.as_deref(), r.record.value.as_deref()) else {
            continue;
        };
        let Ok(k) = <[u8; 4]>::try_from(k) else {
            continue;
        };
        let v: serde_json::Value = serde_json::from_slice(v).unwrap();
        out.insert(i32::from_be_bytes(k), v["N"].as_i64().unwrap_or(-1));
    }
    out
}

/// Every key `0..20` counting `n`.
/// The stateful query several tests share between servers: 4 partitions
/// of ids, counted per id.
pub const COUNTS_PER_ID: &str =
    "CREATE STREAM src (id INT KEY, v INT) WITH (kafka_topic='src', value_format='JSON', partitions=4);
     CREATE TABLE counts AS SELECT id, COUNT(*) AS n FROM src GROUP BY id;";

pub fn every_key_counts(n: i64) -> std::collections::BTreeMap<i32, i64> {
    (0..20).map(|k| (k, n)).collect()
}

/// Waits until every key `0..20` counts at least `n` in `topic`.
pub fn wait_for_counts(
    log: &KafkaLog,
    topic: &str,
    n: i64,
) -> std::collections::BTreeMap<i32, i64> {
    wait_until(
        || latest_counts(log, topic),
        |counts| counts.len() == 20 && counts.values().all(|c| *c >= n),
    )
}

/// A server like [`server`] that also publishes how many input records its
/// queries have read.
pub fn counting_server(
    props: std::collections::BTreeMap<String, String>,
    stop: Arc<std::sync::atomic::AtomicBool>,
    read: Arc<std::sync::atomic::AtomicU64>,
) -> std::thread::JoinHandle<()> {
    use std::sync::atomic::Ordering;
    reporting_server(props, None, stop, move |e| {
        read.store(
            e.queries().map(|q| q.status().records_in).sum(),
            Ordering::Relaxed,
        );
    })
}

/// A server of the service on its own connection (its state stores under
/// `state_dir` with `num.standby.replicas` 1, when given), running its
/// queries until told to stop and handing itself to `report` after each
/// round.
pub fn reporting_server(
    props: std::collections::BTreeMap<String, String>,
    state_dir: Option<std::path::PathBuf>,
    stop: Arc<std::sync::atomic::AtomicBool>,
    report: impl Fn(&Engine) + Send + 'static,
) -> std::thread::JoinHandle<()> {
    use std::sync::atomic::Ordering;
    std::thread::spawn(move || {
        let log = Arc::new(KafkaLog::connect(&props).unwrap());
        let mut config = EngineConfig::default()
            .with("auto.offset.reset", "earliest")
            .with("ksql.service.id", "pair_");
        let mut e = match &state_dir {
            Some(dir) => {
                config = config.with("ksql.streams.num.standby.replicas", "1");
                Engine::new(log, config).with_state_dir(dir).unwrap()
            }
            None => Engine::new(log, config),
        }
        .with_command_topic()
        .unwrap();
        while !stop.load(Ordering::Relaxed) {
            let _ = e.run_until_idle();
            report(&e);
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    })
}

/// A running server: what stops it, what it has read, its thread.
pub type Running = (
    Arc<std::sync::atomic::AtomicBool>,
    Arc<std::sync::atomic::AtomicU64>,
    std::thread::JoinHandle<()>,
);

/// Two servers of the service running its query; ids from 1000 on go to
/// `src` (eight every half second) until both have read some, so each owns
/// some of the partitions. The servers and how many ids were written.
pub fn two_sharing_servers(
    props: &std::collections::BTreeMap<String, String>,
    observer: &KafkaLog,
) -> ([Running; 2], i32) {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    let servers = [0, 1].map(|_| {
        let stop = Arc::new(AtomicBool::new(false));
        let read = Arc::new(AtomicU64::new(0));
        let handle = counting_server(props.clone(), stop.clone(), read.clone());
        (stop, read, handle)
    });
    let mut produced = 0;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
    while servers
        .iter()
        .any(|(_, read, _)| read.load(Ordering::Relaxed) == 0)
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the servers never shared the query"
        );
        produce_ids(observer, 1000 + produced..1000 + produced + 8);
        produced += 8;
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    (servers, produced)
}

/// What a server with on-disk stores tells about its queries.
#[derive(Default)]
pub struct StoreCounters {
    pub read: std::sync::atomic::AtomicU64,
    pub restored: std::sync::atomic::AtomicU64,
    pub standby: std::sync::atomic::AtomicU64,
    /// The partitions other servers own that it keeps warm copies of.
    pub warm: std::sync::Mutex<Vec<i32>>,
}

/// Produces a round of ids 0..20 and waits for its counts, round after
/// round, until every server of `counters` has read some (each then owns
/// some partitions); gives the number of rounds.
pub fn count_until_all_read(log: &KafkaLog, counters: &[&Arc<StoreCounters>]) -> i64 {
    use std::sync::atomic::Ordering;
    let mut round = 0;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while counters.iter().any(|c| c.read.load(Ordering::Relaxed) == 0) {
        assert!(
            std::time::Instant::now() < deadline,
            "the servers never shared the query"
        );
        round += 1;
        produce_ids(log, 0..20);
        wait_for_counts(log, "COUNTS", round);
    }
    round
}

/// A server with its state stores under `dir` and `num.standby.replicas`
/// 1, publishing what its queries read, restored and kept warm.
pub fn standby_server(
    props: std::collections::BTreeMap<String, String>,
    dir: std::path::PathBuf,
    stop: Arc<std::sync::atomic::AtomicBool>,
    counters: Arc<StoreCounters>,
) -> std::thread::JoinHandle<()> {
    use std::sync::atomic::Ordering;
    reporting_server(props, Some(dir), stop, move |e| {
        let statuses: Vec<_> = e.queries().map(|q| q.status()).collect();
        let sum = |f: fn(&sluice_engine::QueryStatus) -> u64| statuses.iter().map(f).sum();
        counters
            .read
            .store(sum(|s| s.records_in), Ordering::Relaxed);
        counters
            .restored
            .store(sum(|s| s.restored_records), Ordering::Relaxed);
        counters
            .standby
            .store(sum(|s| s.standby_records), Ordering::Relaxed);
        *counters.warm.lock().unwrap() = statuses
            .iter()
            .flat_map(|s| s.standby_partitions.iter().copied())
            .collect();
    })
}
