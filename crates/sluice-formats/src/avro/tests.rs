use std::sync::Arc;

use apache_avro::types::Value as AvroValue;
use arrow::array::{
    BinaryArray, BooleanArray, Date32Array, Decimal128Array, Float64Array, Int32Array, Int64Array,
    StringArray, Time32MillisecondArray, TimestampMillisecondArray,
};
use arrow::datatypes::{Field, Fields, Schema, SchemaRef, TimeUnit};
use serde_json::json;

use super::*;
use crate::RegisteredSchema;
use crate::{
    bytes_to_json_with_registry, json_to_bytes_with_registry, FormatKind, FormatOptions,
    MemoryRegistry, RecordDecoder, RecordEncoder, RowStatus, SchemaRegistry,
};

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn schema(cols: Vec<(&str, DataType)>) -> SchemaRef {
    Arc::new(Schema::new(
        cols.into_iter()
            .map(|(n, t)| Field::new(n, t, true))
            .collect::<Vec<_>>(),
    ))
}

fn opts(wrap: Option<bool>) -> FormatOptions {
    FormatOptions {
        delimiter: None,
        wrap_single_value: wrap,
    }
}

fn registry() -> Arc<dyn SchemaRegistry> {
    Arc::new(MemoryRegistry::new())
}

fn encoder(
    s: &SchemaRef,
    wrap: Option<bool>,
    is_key: bool,
    reg: &Arc<dyn SchemaRegistry>,
) -> Result<RecordEncoder, FormatError> {
    Ok(
        RecordEncoder::new(FormatKind::Avro, s.clone(), &opts(wrap), is_key)?
            .with_registry(reg.clone(), "t"),
    )
}

fn decoder(
    s: &SchemaRef,
    wrap: Option<bool>,
    is_key: bool,
    reg: &Arc<dyn SchemaRegistry>,
) -> Result<RecordDecoder, FormatError> {
    Ok(
        RecordDecoder::new(FormatKind::Avro, s.clone(), &opts(wrap), is_key)?
            .with_registry(reg.clone(), "t"),
    )
}

fn json_of(batch: &DecodedBatch, row: usize) -> Vec<Value> {
    batch
        .columns
        .iter()
        .map(|c| arrow_value_to_json(c.as_ref(), row))
        .collect()
}

/// A payload written by apache-avro's own encoder, behind the header of `id`.
#[allow(deprecated)]
fn foreign_payload(
    id: i32,
    writer: &str,
    value: AvroValue,
) -> Result<Vec<u8>, Box<dyn std::error::Error>> {
    let schema = AvroSchema::parse_str(writer)?;
    let mut out = Vec::new();
    write_header(id, &mut out);
    out.extend(apache_avro::to_avro_datum(&schema, value)?);
    Ok(out)
}

/// A JSON number keeping its text (serde_json's arbitrary_precision).
fn num(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or(Value::Null)
}

fn map_type(value: DataType) -> DataType {
    DataType::Map(
        Arc::new(Field::new(
            "entries",
            DataType::Struct(Fields::from(vec![
                Field::new("key", DataType::Utf8, false),
                Field::new("value", value, true),
            ])),
            false,
        )),
        false,
    )
}

fn every_type() -> SchemaRef {
    let list = DataType::List(Arc::new(Field::new("item", DataType::Int64, true)));
    let st = DataType::Struct(Fields::from(vec![
        Field::new("A", DataType::Boolean, true),
        Field::new("L", list.clone(), true),
        Field::new(
            "N",
            DataType::Struct(Fields::from(vec![Field::new("X", DataType::Int32, true)])),
            true,
        ),
    ]));
    schema(vec![
        ("B", DataType::Boolean),
        ("I", DataType::Int32),
        ("L", DataType::Int64),
        ("D", DataType::Float64),
        ("DEC", DataType::Decimal128(5, 2)),
        ("S", DataType::Utf8),
        ("BY", DataType::Binary),
        ("DT", DataType::Date32),
        ("T", DataType::Time32(TimeUnit::Millisecond)),
        ("TS", DataType::Timestamp(TimeUnit::Millisecond, None)),
        ("ARR", list),
        ("M", map_type(DataType::Utf8)),
        ("ST", st),
        (
            "AS",
            DataType::List(Arc::new(Field::new(
                "item",
                DataType::Struct(Fields::from(vec![Field::new("Q", DataType::Utf8, true)])),
                true,
            ))),
        ),
    ])
}

#[test]
fn every_type_round_trips_and_matches_apache_avro() -> TestResult {
    let s = every_type();
    let reg = registry();
    let input = json!({
        "B": true, "I": -4, "L": 9007199254740993i64, "D": 2.5, "DEC": -12.05, "S": "héllo",
        "BY": "AAH/", "DT": 19000, "T": 3600000, "TS": 1700000000123i64,
        "ARR": [1, null, -3], "M": {"a": "x", "b": null},
        "ST": {"A": false, "L": [], "N": {"X": 7}}, "AS": [{"Q": "q"}, null]
    });
    let nulls = json!({
        "B": null, "I": null, "L": null, "D": null, "DEC": null, "S": null, "BY": null,
        "DT": null, "T": null, "TS": null, "ARR": null, "M": null, "ST": null, "AS": null
    });
    let rows = [
        json_to_columns(&s, false, &input)?,
        json_to_columns(&s, false, &nulls)?,
    ];
    let enc = encoder(&s, None, false, &reg)?;
    let dec = decoder(&s, None, false, &reg)?;
    for (row, expected) in rows.iter().zip([&input, &nulls]) {
        let payloads = enc.encode(row, 1)?;
        let bytes = payloads[0].clone().ok_or("no payload")?;
        assert_eq!(&bytes[..5], &[0, 0, 0, 0, 1]);
        let batch = dec.decode(&[Some(&bytes)]);
        assert_eq!(batch.status, vec![RowStatus::Ok]);
        let got: serde_json::Map<String, Value> = s
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .zip(json_of(&batch, 0))
            .collect();
        assert_eq!(&Value::Object(got), expected);
        // apache-avro reads our bytes with the registered schema.
        let registered = reg.schema_by_id(1)?;
        let writer = AvroSchema::parse_str(&registered.schema)?;
        #[allow(deprecated)]
        let value = apache_avro::from_avro_datum(&writer, &mut &bytes[5..], None)?;
        assert!(matches!(value, AvroValue::Record(ref f) if f.len() == 14));
    }
    let registered = reg.latest("t-value")?.ok_or("not registered")?;
    assert_eq!(registered.0, 1);
    assert!(registered.1.schema.starts_with(
        r#"{"type":"record","name":"KsqlDataSourceSchema","namespace":"io.confluent.ksql.avro_schemas""#
    ));
    Ok(())
}

#[test]
fn explicit_arrays_encode() -> TestResult {
    let s = schema(vec![
        ("B", DataType::Boolean),
        ("DEC", DataType::Decimal128(5, 2)),
        ("BY", DataType::Binary),
        ("DT", DataType::Date32),
        ("T", DataType::Time32(TimeUnit::Millisecond)),
        ("TS", DataType::Timestamp(TimeUnit::Millisecond, None)),
        ("L", DataType::Int64),
        ("D", DataType::Float64),
        ("S", DataType::Utf8),
        ("I", DataType::Int32),
    ]);
    let cols: Vec<ArrayRef> = vec![
        Arc::new(BooleanArray::from(vec![true])),
        Arc::new(Decimal128Array::from(vec![110]).with_precision_and_scale(5, 2)?),
        Arc::new(BinaryArray::from(vec![[0u8, 1].as_ref()])),
        Arc::new(Date32Array::from(vec![-1])),
        Arc::new(Time32MillisecondArray::from(vec![1])),
        Arc::new(TimestampMillisecondArray::from(vec![-5])),
        Arc::new(Int64Array::from(vec![i64::MIN])),
        Arc::new(Float64Array::from(vec![f64::NAN])),
        Arc::new(StringArray::from(vec![""])),
        Arc::new(Int32Array::from(vec![i32::MAX])),
    ];
    let reg = registry();
    let bytes = encoder(&s, None, false, &reg)?.encode(&cols, 1)?;
    let batch = decoder(&s, None, false, &reg)?.decode(&[bytes[0].as_deref()]);
    assert_eq!(
        json_of(&batch, 0),
        vec![
            json!(true),
            num("1.10"),
            json!("AAE="),
            json!(-1),
            json!(1),
            json!(-5),
            json!(i64::MIN),
            json!("NaN"),
            json!(""),
            json!(i32::MAX)
        ]
    );
    Ok(())
}

#[test]
fn keys_and_wrapping() -> TestResult {
    let reg = registry();
    // A single key column is the bare type.
    let k = schema(vec![("K", DataType::Utf8)]);
    let col: ArrayRef = Arc::new(StringArray::from(vec![Some("a"), None]));
    let out = encoder(&k, None, true, &reg)?.encode(std::slice::from_ref(&col), 2)?;
    assert_eq!(out[0].as_deref(), Some([0, 0, 0, 0, 1, 2, b'a'].as_ref()));
    assert_eq!(out[1], None);
    assert_eq!(
        reg.latest("t-key")?.map(|(_, s)| s.schema),
        Some("\"string\"".into())
    );
    let batch = decoder(&k, None, true, &reg)?.decode(&[out[0].as_deref(), None]);
    assert_eq!(batch.status, vec![RowStatus::Ok, RowStatus::Null]);
    assert_eq!(json_of(&batch, 0), vec![json!("a")]);

    // Several key columns are a record.
    let k2 = schema(vec![("K1", DataType::Int32), ("K2", DataType::Utf8)]);
    let cols = json_to_columns(&k2, false, &json!({"K1": 1, "K2": null}))?;
    let out = encoder(&k2, None, true, &reg)?.encode(&cols, 1)?;
    let batch = decoder(&k2, None, true, &reg)?.decode(&[out[0].as_deref()]);
    assert_eq!(json_of(&batch, 0), vec![json!(1), Value::Null]);

    // Values: wrapped by default, bare with WRAP_SINGLE_VALUE=false.
    let v = schema(vec![("V", DataType::Int64)]);
    let col: ArrayRef = Arc::new(Int64Array::from(vec![Some(-2), None]));
    let wrapped = encoder(&v, None, false, &reg)?.encode(std::slice::from_ref(&col), 2)?;
    let bare = encoder(&v, Some(false), false, &reg)?.encode(std::slice::from_ref(&col), 2)?;
    assert_eq!(
        wrapped[0].as_ref().map(|b| b[5..].to_vec()),
        Some(vec![2, 3])
    );
    assert_eq!(wrapped[1].as_ref().map(|b| b[5..].to_vec()), Some(vec![0]));
    assert_eq!(bare[0].as_ref().map(|b| b[5..].to_vec()), Some(vec![3]));
    assert_eq!(bare[1], None);
    let batch = decoder(&v, Some(false), false, &reg)?.decode(&[bare[0].as_deref()]);
    assert_eq!(json_of(&batch, 0), vec![json!(-2)]);
    // A wrapped decoder does not accept a bare long.
    let batch = decoder(&v, None, false, &reg)?.decode(&[bare[0].as_deref()]);
    assert!(matches!(&batch.status[0], RowStatus::Error(m)
        if m.ends_with("Can't convert type. sourceType: long, requiredType: STRUCT<`V` BIGINT>, path: $")));
    Ok(())
}

#[test]
fn decodes_other_writer_schemas() -> TestResult {
    let reg = MemoryRegistry::new();
    let writer = r#"{"type":"record","name":"other","namespace":"x.y","fields":[
        {"name":"extra","type":{"type":"array","items":{"type":"map","values":"string"}}},
        {"name":"name","type":{"type":"enum","name":"Suit","symbols":["SPADES","HEARTS"]}},
        {"name":"id","type":"int"},
        {"name":"amount","type":"float"},
        {"name":"nested","type":["null",{"type":"record","name":"inner","fields":[
            {"name":"f1","type":"int"},{"name":"skip","type":["null","string"]}]}]},
        {"name":"again","type":["null","inner"]},
        {"name":"tags","type":{"type":"array","items":"int"}},
        {"name":"price","type":{"type":"bytes","logicalType":"decimal","precision":6,"scale":3}}
    ]}"#;
    reg.register_with_id(
        "t-value",
        &RegisteredSchema::new(SchemaType::Avro, writer),
        42,
    )?;
    let inner = AvroValue::Record(vec![
        ("f1".into(), AvroValue::Int(5)),
        (
            "skip".into(),
            AvroValue::Union(1, Box::new(AvroValue::String("s".into()))),
        ),
    ]);
    let record = AvroValue::Record(vec![
        (
            "extra".into(),
            AvroValue::Array(vec![AvroValue::Map(
                [("k".to_string(), AvroValue::String("v".into()))]
                    .into_iter()
                    .collect(),
            )]),
        ),
        ("name".into(), AvroValue::Enum(1, "HEARTS".into())),
        ("id".into(), AvroValue::Int(7)),
        ("amount".into(), AvroValue::Float(1.5)),
        (
            "nested".into(),
            AvroValue::Union(1, Box::new(inner.clone())),
        ),
        (
            "again".into(),
            AvroValue::Union(0, Box::new(AvroValue::Null)),
        ),
        (
            "tags".into(),
            AvroValue::Array(vec![AvroValue::Int(1), AvroValue::Int(2)]),
        ),
        (
            "price".into(),
            AvroValue::Decimal(apache_avro::Decimal::from(vec![0x04, 0xce])),
        ),
    ]);
    let bytes = foreign_payload(42, writer, record)?;
    // Columns in another order, wider types, a missing column, STRING from enum.
    let nested = DataType::Struct(Fields::from(vec![
        Field::new("F1", DataType::Int64, true),
        Field::new("F2", DataType::Utf8, true),
    ]));
    let s = schema(vec![
        ("AMOUNT", DataType::Float64),
        ("ID", DataType::Int64),
        ("NAME", DataType::Utf8),
        ("MISSING", DataType::Boolean),
        ("NESTED", nested.clone()),
        ("AGAIN", nested),
        (
            "TAGS",
            DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
        ),
        ("PRICE", DataType::Decimal128(5, 2)),
    ]);
    let reg: Arc<dyn SchemaRegistry> = Arc::new(reg);
    let batch = decoder(&s, None, false, &reg)?.decode(&[Some(&bytes)]);
    assert_eq!(batch.status, vec![RowStatus::Ok]);
    assert_eq!(
        json_of(&batch, 0),
        vec![
            json!(1.5),
            json!(7),
            json!("HEARTS"),
            Value::Null,
            json!({"F1": 5, "F2": null}),
            Value::Null,
            json!(["1", "2"]),
            json!(1.23)
        ]
    );
    // A column too narrow for the writer type is a row error with a path.
    let narrow = schema(vec![("ID", DataType::Boolean)]);
    let batch = decoder(&narrow, None, false, &reg)?.decode(&[Some(&bytes)]);
    assert!(matches!(&batch.status[0], RowStatus::Error(m)
        if m.ends_with("Can't convert type. sourceType: int, requiredType: BOOLEAN, path: $.ID")));
    // A decimal that does not fit the column without rounding.
    let tight = schema(vec![("PRICE", DataType::Decimal128(3, 1))]);
    let batch = decoder(&tight, None, false, &reg)?.decode(&[Some(&bytes)]);
    assert!(matches!(&batch.status[0], RowStatus::Error(m) if m.contains("$.PRICE")));
    Ok(())
}

#[test]
fn nullable_roots_and_map_entry_arrays() -> TestResult {
    let reg = MemoryRegistry::new();
    let root = r#"["null",{"type":"record","name":"r","fields":[{"name":"A","type":"long"}]}]"#;
    reg.register_with_id("t-value", &RegisteredSchema::new(SchemaType::Avro, root), 3)?;
    let entries = r#"{"type":"array","items":{"type":"record","name":"MapEntry","fields":[
        {"name":"key","type":"int"},{"name":"value","type":["null","double"]}]}}"#;
    reg.register_with_id(
        "t-value",
        &RegisteredSchema::new(SchemaType::Avro, entries),
        4,
    )?;
    let reg: Arc<dyn SchemaRegistry> = Arc::new(reg);
    let null = foreign_payload(3, root, AvroValue::Union(0, Box::new(AvroValue::Null)))?;
    let row = foreign_payload(
        3,
        root,
        AvroValue::Union(
            1,
            Box::new(AvroValue::Record(vec![("A".into(), AvroValue::Long(9))])),
        ),
    )?;
    let s = schema(vec![("A", DataType::Int64)]);
    let batch = decoder(&s, None, false, &reg)?.decode(&[Some(&null), Some(&row)]);
    assert_eq!(batch.status, vec![RowStatus::Null, RowStatus::Ok]);
    let batch = decoder(&s, None, true, &reg)?.decode(&[Some(&null)]);
    assert_eq!(batch.status, vec![RowStatus::Ok]);
    assert_eq!(json_of(&batch, 0), vec![Value::Null]);

    let entry = |k: i32, v: f64| {
        AvroValue::Record(vec![
            ("key".into(), AvroValue::Int(k)),
            (
                "value".into(),
                AvroValue::Union(1, Box::new(AvroValue::Double(v))),
            ),
        ])
    };
    let bytes = foreign_payload(
        4,
        entries,
        AvroValue::Array(vec![entry(1, 0.5), entry(2, 1.5)]),
    )?;
    let m = schema(vec![("M", map_type(DataType::Float64))]);
    let batch = decoder(&m, Some(false), false, &reg)?.decode(&[Some(&bytes)]);
    assert_eq!(json_of(&batch, 0), vec![json!({"1": 0.5, "2": 1.5})]);
    Ok(())
}

#[test]
fn bad_payloads_are_row_errors() -> TestResult {
    let reg = registry();
    let s = schema(vec![("A", DataType::Int32), ("B", DataType::Utf8)]);
    let cols = json_to_columns(&s, false, &json!({"A": 1, "B": "hello"}))?;
    let good = encoder(&s, None, false, &reg)?.encode(&cols, 1)?[0]
        .clone()
        .ok_or("none")?;
    let mut unknown = good.clone();
    unknown[4] = 9;
    let truncated = &good[..good.len() - 2];
    let mut bad_union = good.clone();
    bad_union[5] = 8;
    let payloads: Vec<Option<&[u8]>> = vec![
        Some(&good),
        Some(b"{\"A\":1}"),
        Some(&unknown),
        Some(truncated),
        Some(&[0, 0]),
        Some(&bad_union),
        Some(&good),
    ];
    let batch = decoder(&s, None, false, &reg)?.decode(&payloads);
    let errors: Vec<String> = batch
        .status
        .iter()
        .filter_map(|s| match s {
            RowStatus::Error(m) => Some(m.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(batch.num_ok_rows(), 2);
    assert_eq!(errors.len(), 5);
    assert_eq!(
        errors[0],
        "Failed to deserialize value from topic: t. Unknown magic byte!"
    );
    assert!(errors[1].starts_with(
        "Failed to deserialize value from topic: t. Error retrieving Avro value schema for id 9"
    ));
    assert!(errors[2].contains("Unexpected end of Avro data, path: $.B"));
    assert!(errors[3].contains("fewer than 5 bytes"));
    assert!(errors[4].contains("Invalid Avro union index 4, path: $.A"));
    assert_eq!(json_of(&batch, 1), vec![json!(1), json!("hello")]);

    // Without a registry: rows fail, encoding fails.
    let bare = RecordDecoder::new(FormatKind::Avro, s.clone(), &opts(None), false)?;
    let batch = bare.decode(&[Some(&good), None]);
    assert_eq!(
        batch.status,
        vec![
            RowStatus::Error("Failed to deserialize value. no schema registry configured".into()),
            RowStatus::Null
        ]
    );
    let bare = RecordEncoder::new(FormatKind::Avro, s, &opts(None), false)?;
    assert!(bare.encode(&cols, 1).is_err());
    Ok(())
}

#[test]
fn schema_full_name() -> TestResult {
    let reg = registry();
    let k = schema(vec![(
        "K",
        DataType::Struct(Fields::from(vec![Field::new("F1", DataType::Utf8, true)])),
    )]);
    let enc = encoder(&k, None, true, &reg)?
        .with_schema_full_name("io.confluent.ksql.avro_schemas.OutputKey")?;
    let cols = json_to_columns(&k, true, &json!({"F1": "x"}))?;
    enc.encode(&cols, 1)?;
    let text = reg
        .latest("t-key")?
        .map(|(_, s)| s.schema)
        .unwrap_or_default();
    assert_eq!(
        text,
        concat!(
            r#"{"type":"record","name":"OutputKey","namespace":"io.confluent.ksql.avro_schemas","#,
            r#""fields":[{"name":"F1","type":["null","string"],"default":null}],"#,
            r#""connect.name":"io.confluent.ksql.avro_schemas.OutputKey"}"#
        )
    );
    assert!(encoder(&k, None, true, &reg)?
        .with_schema_full_name("bad name!")
        .is_err());
    Ok(())
}

#[test]
fn qtt_values() -> TestResult {
    let reg = registry();
    let o = opts(None);
    let s = schema(vec![
        ("FOO", DataType::Utf8),
        ("D", DataType::Decimal128(4, 2)),
    ]);
    let value = json!({"foo": 10, "D": 1.5});
    let r = Some((&reg, "in"));
    // No registered schema: the columns' schema is generated and registered.
    let bytes = json_to_bytes_with_registry(FormatKind::Avro, &s, &o, false, &value, r)?
        .ok_or("no payload")?;
    let back = bytes_to_json_with_registry(FormatKind::Avro, &s, &o, false, Some(&bytes), r);
    assert_eq!(back, json!({"FOO": "10", "D": num("1.50")}));

    // A registered writer schema is used as is.
    let writer = r#"{"type":"record","name":"blah","fields":[
        {"name":"c1","type":"int"},{"name":"c2","type":["null","string"]}]}"#;
    reg.register("w-value", &RegisteredSchema::new(SchemaType::Avro, writer))?;
    let w = Some((&reg, "w"));
    let value = json!({"c1": "3", "c2": null, "c3": true});
    let bytes = json_to_bytes_with_registry(FormatKind::Avro, &s, &o, false, &value, w)?
        .ok_or("no payload")?;
    assert_eq!(&bytes[5..], &[6, 0]);
    let back = bytes_to_json_with_registry(FormatKind::Avro, &s, &o, false, Some(&bytes), w);
    assert_eq!(back, json!({"c1": 3, "c2": null}));
    // Fields the columns cannot hold (a multi-type union) are written as NULL.
    let union = r#"{"type":"record","name":"u","fields":[
        {"name":"u","type":["null","int","string"]},{"name":"c1","type":"int"}]}"#;
    reg.register("u-value", &RegisteredSchema::new(SchemaType::Avro, union))?;
    let u = Some((&reg, "u"));
    let bytes = json_to_bytes_with_registry(FormatKind::Avro, &s, &o, false, &json!({"c1": 1}), u)?;
    assert_eq!(bytes.as_ref().map(|b| b[5..].to_vec()), Some(vec![0, 2]));
    let k = schema(vec![("K", DataType::Int32)]);
    let key = json_to_bytes_with_registry(FormatKind::Avro, &k, &o, true, &json!(5), w)?;
    let back = bytes_to_json_with_registry(FormatKind::Avro, &k, &o, true, key.as_deref(), w);
    assert_eq!(back, json!(5));
    assert_eq!(
        json_to_bytes_with_registry(FormatKind::Avro, &k, &o, true, &Value::Null, w)?,
        None
    );
    assert!(json_to_bytes_with_registry(FormatKind::Avro, &k, &o, true, &json!(1), None).is_err());
    assert_eq!(
        bytes_to_json_with_registry(FormatKind::Avro, &k, &o, true, Some(b"x"), w),
        json!("x")
    );

    // JSON_SR keeps the test's JSON text behind the header.
    let sr = json_to_bytes_with_registry(FormatKind::JsonSr, &s, &o, false, &value, r)?
        .ok_or("no payload")?;
    assert_eq!(sr[0], 0);
    assert_eq!(&sr[5..], br#"{"c1":"3","c2":null,"c3":true}"#);
    let back = bytes_to_json_with_registry(FormatKind::JsonSr, &s, &o, false, Some(&sr), r);
    assert_eq!(back, value);
    Ok(())
}
