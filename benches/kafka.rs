//! Stateless bids query through Kafka on loopback, against plain rdkafka in the
//! same process.
//!
//! Query: `SELECT auction, bidder, price * 0.908 AS price_eur, ROWTIME AS ts FROM bids`
//! over JSON, reading and writing topics of an Apache Kafka broker (started here
//! by the test kit; `SLUICE_BENCH_BOOTSTRAP` points at another broker instead). Baseline: an
//! rdkafka consumer reading the same input topic and an rdkafka producer writing
//! every record, unchanged, to another topic — the transport alone, no parsing.
//! Prints events/s per core (both run on one thread) and the ratio.
//!
//! Run: `cargo bench --bench kafka` (SLUICE_BENCH_EVENTS to change the count).

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{Offset, TopicPartitionList};
use sluice_engine::log::{KafkaLog, Log, TopicSpec};
use sluice_engine::{Engine, EngineConfig};
use sluice_testkit::kafka::KafkaCluster;

fn client(properties: &BTreeMap<String, String>) -> ClientConfig {
    let mut c = ClientConfig::new();
    for (k, v) in properties {
        c.set(k, v);
    }
    c
}

/// Consume `input` from the start and produce each record to `output`.
fn baseline(
    properties: &BTreeMap<String, String>,
    input: &str,
    output: &str,
    n: usize,
) -> (usize, Duration) {
    let consumer: BaseConsumer = client(properties)
        .set("group.id", format!("bench-baseline-{output}"))
        .set("enable.auto.commit", "false")
        .set("fetch.wait.max.ms", "20")
        .create()
        .expect("consumer");
    let producer: BaseProducer = client(properties)
        .set("linger.ms", "1")
        .create()
        .expect("producer");
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(input, 0, Offset::Beginning)
        .expect("tpl");
    consumer.assign(&tpl).expect("assign");
    let start = Instant::now();
    let mut done = 0;
    while done < n {
        let Some(m) = consumer.poll(Duration::from_millis(100)) else {
            continue;
        };
        let m = m.expect("consume");
        let mut record = BaseRecord::<[u8], [u8]>::to(output).partition(0);
        if let Some(v) = m.payload() {
            record = record.payload(v);
        }
        if let Some(ts) = m.timestamp().to_millis() {
            record = record.timestamp(ts);
        }
        while let Err((_, back)) = producer.send(record) {
            producer.poll(Duration::from_millis(1));
            record = back;
        }
        producer.poll(Duration::ZERO);
        done += 1;
    }
    producer.flush(Duration::from_secs(60)).expect("flush");
    (done, start.elapsed())
}

/// Run the CSAS over `input` until its output holds every record.
fn sluice(log: &Arc<KafkaLog>, input: &str, run: usize) -> (usize, Duration) {
    let mut engine = Engine::new(
        log.clone(),
        EngineConfig::default()
            .with("auto.offset.reset", "earliest")
            .with("ksql.service.id", &format!("bench_{run}_")),
    );
    engine
        .execute_sql(&format!(
            "CREATE STREAM bids (auction BIGINT, bidder BIGINT, price DOUBLE, channel STRING, url STRING, extra STRING) \
             WITH (kafka_topic='{input}', value_format='JSON');"
        ))
        .expect("create");
    let start = Instant::now();
    engine
        .execute_sql(&format!(
            "CREATE STREAM out_{run} AS SELECT auction, bidder, price * 0.908 AS price_eur, ROWTIME AS ts FROM bids;"
        ))
        .expect("csas");
    engine.run_until_idle().expect("run");
    let produced: i64 = log
        .end_offsets(&format!("OUT_{run}"))
        .expect("out")
        .iter()
        .sum();
    (produced as usize, start.elapsed())
}

fn main() {
    let n: usize = std::env::var("SLUICE_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    let broker = match std::env::var("SLUICE_BENCH_BOOTSTRAP") {
        Ok(_) => None,
        Err(_) => Some(KafkaCluster::start()),
    };
    let properties = match (&broker, std::env::var("SLUICE_BENCH_BOOTSTRAP")) {
        (Some(b), _) => b.properties(),
        (None, Ok(servers)) => BTreeMap::from([("bootstrap.servers".to_string(), servers)]),
        (None, Err(_)) => unreachable!("a broker was started"),
    };
    let log = Arc::new(KafkaLog::connect(&properties).expect("connect"));
    log.create_topic(&TopicSpec::new("bids", 1)).expect("topic");
    for chunk in common::wide_bids(n).chunks(10_000) {
        log.produce(
            "bids",
            chunk.iter().cloned().map(|r| (Some(0), r)).collect(),
        )
        .expect("load input");
    }
    let mut base: f64 = 0.0;
    let mut ours: f64 = 0.0;
    // best of three each, interleaved, to keep one-off stalls out of the ratio
    for run in 0..3 {
        let copy = format!("copy_{run}");
        log.create_topic(&TopicSpec::new(&copy, 1)).expect("topic");
        let (done, took) = baseline(&properties, "bids", &copy, n);
        assert_eq!(done, n);
        base = base.max(n as f64 / took.as_secs_f64());
        let (done, took) = sluice(&log, "bids", run);
        assert_eq!(done, n, "every record must come out");
        ours = ours.max(n as f64 / took.as_secs_f64());
    }
    println!("stateless bids query through Kafka (loopback), {n} JSON events, 1 core");
    println!("  baseline (rdkafka consume + produce, no parsing): {base:>12.0} events/s");
    println!("  sluice   (Kafka log, CSAS):                        {ours:>12.0} events/s");
    println!("  ratio sluice/baseline: {:.2}", ours / base);
}
