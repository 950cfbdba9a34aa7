//! Rough throughput check against plain serde_json parse + serialize.
//! Run with `cargo test -p sluice-formats --release -- --ignored --nocapture`.

use std::sync::Arc;
use std::time::Instant;

use arrow::datatypes::{DataType, Field, Schema};
use sluice_formats::{FormatKind, FormatOptions, RecordDecoder, RecordEncoder, RowStatus};

#[test]
#[ignore]
fn json_throughput_vs_serde_json() {
    let schema = Arc::new(Schema::new(vec![
        Field::new("ID", DataType::Int64, true),
        Field::new("NAME", DataType::Utf8, true),
        Field::new("PRICE", DataType::Float64, true),
        Field::new("QTY", DataType::Int32, true),
        Field::new(
            "TAGS",
            DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
            true,
        ),
    ]));
    let rows: Vec<Vec<u8>> = (0..200_000)
        .map(|i| {
            format!(
                r#"{{"ID":{i},"NAME":"customer-{i}","PRICE":{}.25,"QTY":{},"TAGS":["a","b{i}"]}}"#,
                i % 977,
                i % 13
            )
            .into_bytes()
        })
        .collect();
    let payloads: Vec<Option<&[u8]>> = rows.iter().map(|r| Some(r.as_slice())).collect();
    let options = FormatOptions::default();
    let decoder = RecordDecoder::new(FormatKind::Json, schema.clone(), &options, false)
        .unwrap_or_else(|e| panic!("{e}"));
    let encoder = RecordEncoder::new(FormatKind::Json, schema, &options, false)
        .unwrap_or_else(|e| panic!("{e}"));

    let start = Instant::now();
    let mut out_bytes = 0;
    let (mut decoding, mut encoding) = (0.0, 0.0);
    for chunk in payloads.chunks(1000) {
        let t = Instant::now();
        let batch = decoder.decode(chunk);
        decoding += t.elapsed().as_secs_f64();
        assert!(batch.status.iter().all(|s| *s == RowStatus::Ok));
        let t = Instant::now();
        let encoded = encoder
            .encode(&batch.columns, chunk.len())
            .unwrap_or_else(|e| panic!("{e}"));
        encoding += t.elapsed().as_secs_f64();
        out_bytes += encoded.iter().flatten().map(Vec::len).sum::<usize>();
    }
    let ours = start.elapsed();
    println!("decode {decoding:.3}s, encode {encoding:.3}s");

    let start = Instant::now();
    let mut plain_bytes = 0;
    let (mut parsing, mut writing) = (0.0, 0.0);
    for row in &rows {
        let t = Instant::now();
        let v: serde_json::Value = serde_json::from_slice(row).unwrap_or_default();
        parsing += t.elapsed().as_secs_f64();
        let t = Instant::now();
        plain_bytes += serde_json::to_vec(&v).map(|b| b.len()).unwrap_or(0);
        writing += t.elapsed().as_secs_f64();
    }
    let plain = start.elapsed();
    println!("parse {parsing:.3}s, serialize {writing:.3}s");
    println!(
        "sluice decode+encode: {ours:?} ({out_bytes} bytes); serde_json parse+serialize: {plain:?} \
         ({plain_bytes} bytes); ratio {:.2}",
        ours.as_secs_f64() / plain.as_secs_f64()
    );
}
