//! Stateless bids query with AVRO in and out, against apache-avro alone in the
//! same process.
//!
//! Query: `SELECT auction, bidder, price * 0.908 AS price_eur, ROWTIME AS ts FROM bids`
//! over Confluent-framed AVRO (magic byte, schema id, datum), the input schema taken
//! from the registry. Baseline: for each record, strip the frame, decode the datum with
//! apache-avro, build the projected record and encode it with apache-avro behind a new
//! frame — nothing else. Prints events/s per core (single-threaded) and the ratio.
//!
//! Run: `cargo bench --bench avro` (SLUICE_BENCH_EVENTS to change the count).

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use apache_avro::reader::datum::GenericDatumReader;
use apache_avro::types::Value as Avro;
use apache_avro::writer::datum::GenericDatumWriter;
use apache_avro::Schema;
use sluice_engine::log::{EmbeddedLog, Log, Record, TopicSpec};
use sluice_engine::{Engine, EngineConfig};
use sluice_formats::{RegisteredSchema, SchemaType};

const BID: &str = r#"{"type":"record","name":"Bid","fields":[
  {"name":"auction","type":"long"},{"name":"bidder","type":"long"},
  {"name":"price","type":"double"},{"name":"channel","type":"string"},
  {"name":"url","type":"string"},{"name":"extra","type":"string"}]}"#;
const OUT: &str = r#"{"type":"record","name":"Out","fields":[
  {"name":"AUCTION","type":["null","long"]},{"name":"BIDDER","type":["null","long"]},
  {"name":"PRICE_EUR","type":["null","double"]},{"name":"TS","type":["null","long"]}]}"#;

fn framed(id: i32, datum: Vec<u8>) -> Vec<u8> {
    let mut out = Vec::with_capacity(datum.len() + 5);
    out.push(0);
    out.extend_from_slice(&id.to_be_bytes());
    out.extend(datum);
    out
}

fn bids(schema: &Schema, id: i32, n: usize) -> Vec<Record> {
    let writer = GenericDatumWriter::builder(schema).build().expect("writer");
    (0..n)
        .map(|i| {
            let value = Avro::Record(vec![
                ("auction".into(), Avro::Long(1000 + (i % 997) as i64)),
                ("bidder".into(), Avro::Long(5000 + (i % 7919) as i64)),
                (
                    "price".into(),
                    Avro::Double((100 + (i * 37) % 100_000) as f64),
                ),
                (
                    "channel".into(),
                    Avro::String(if i % 3 == 0 { "web" } else { "mobile" }.into()),
                ),
                (
                    "url".into(),
                    Avro::String(format!("https://bid.example/{}", i % 101)),
                ),
                ("extra".into(), Avro::String("xxxxxxxxxxxxxxxxxxxx".into())),
            ]);
            let datum = writer.write_value_to_vec(value).expect("encode");
            Record::new(None, Some(framed(id, datum)), i as i64)
        })
        .collect()
}

/// Decode, project and re-encode each record with apache-avro: the least any
/// engine must do.
fn baseline(records: &[Record], input: &Schema, output: &Schema) -> usize {
    let reader = GenericDatumReader::builder(input).build().expect("reader");
    let writer = GenericDatumWriter::builder(output).build().expect("writer");
    let mut out = Vec::with_capacity(records.len());
    for r in records {
        let Some(bytes) = &r.value else { continue };
        let Ok(Avro::Record(fields)) = reader.read_value(&mut &bytes[5..]) else {
            continue;
        };
        let field = |name: &str| {
            fields
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
        };
        let price = match field("price") {
            Some(Avro::Double(p)) => p * 0.908,
            _ => 0.0,
        };
        let union = |v: Avro| Avro::Union(1, Box::new(v));
        let projected = Avro::Record(vec![
            (
                "AUCTION".into(),
                union(field("auction").unwrap_or(Avro::Null)),
            ),
            (
                "BIDDER".into(),
                union(field("bidder").unwrap_or(Avro::Null)),
            ),
            ("PRICE_EUR".into(), union(Avro::Double(price))),
            ("TS".into(), union(Avro::Long(r.timestamp))),
        ]);
        if let Ok(datum) = writer.write_value_to_vec(projected) {
            out.push(framed(2, datum));
        }
    }
    out.len()
}

fn sluice(n: usize) -> (usize, Duration) {
    let log = Arc::new(EmbeddedLog::in_memory());
    log.create_topic(&TopicSpec::new("bids", 1)).expect("topic");
    let mut engine = Engine::new(
        log.clone(),
        EngineConfig::default().with("auto.offset.reset", "earliest"),
    );
    let id = engine
        .registry()
        .register("bids-value", &RegisteredSchema::new(SchemaType::Avro, BID))
        .expect("register");
    let schema = Schema::parse_str(BID).expect("schema");
    log.produce(
        "bids",
        bids(&schema, id, n)
            .into_iter()
            .map(|r| (Some(0), r))
            .collect(),
    )
    .expect("produce");
    engine
        .execute_sql("CREATE STREAM bids WITH (kafka_topic='bids', value_format='AVRO');")
        .expect("create");
    common::timed_csas(
        &mut engine,
        log.as_ref(),
        "CREATE STREAM out AS SELECT auction, bidder, price * 0.908 AS price_eur, ROWTIME AS ts FROM bids;",
        "OUT",
    )
}

fn main() {
    let n: usize = std::env::var("SLUICE_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300_000);
    let input = Schema::parse_str(BID).expect("schema");
    let output = Schema::parse_str(OUT).expect("schema");
    let records = bids(&input, 1, n);
    let base = common::best_rate(n, || {
        let t = Instant::now();
        let done = baseline(&records, &input, &output);
        (done, t.elapsed())
    });
    let ours = common::best_rate(n, || sluice(n));
    println!("stateless bids query, {n} AVRO events in and out, 1 core");
    println!("  baseline (apache-avro decode + project + encode): {base:>12.0} events/s");
    println!("  sluice   (embedded log, CSAS, schema registry):   {ours:>12.0} events/s");
    println!("  ratio sluice/baseline: {:.2}", ours / base);
}
