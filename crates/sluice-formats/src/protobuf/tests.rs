use arrow::array::{
    Array, BinaryArray, BooleanArray, Date32Array, Decimal128Array, Float64Array, Int32Array,
    Int64Array, ListArray, MapArray, StringArray, StructArray, Time32MillisecondArray,
    TimestampMillisecondArray,
};
use arrow::buffer::OffsetBuffer;
use arrow::datatypes::{Field, Fields, SchemaRef, TimeUnit};
use serde_json::json;

use super::*;
use crate::{
    bytes_to_json_with_options, json_to_bytes_with_options, FormatKind, FormatOptions,
    MemoryRegistry, RecordDecoder, RecordEncoder, RowStatus, SchemaOptions,
};

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn schema(cols: Vec<(&str, DataType)>) -> SchemaRef {
    Arc::new(Schema::new(
        cols.into_iter()
            .map(|(n, t)| Field::new(n, t, true))
            .collect::<Vec<_>>(),
    ))
}

fn registry() -> Arc<dyn SchemaRegistry> {
    Arc::new(MemoryRegistry::new())
}

fn nullable(n: ProtobufNullable) -> SchemaOptions {
    SchemaOptions {
        protobuf_nullable: n,
        ..Default::default()
    }
}

/// Encoder and decoder for `kind` (a registry is attached for PROTOBUF).
fn codecs(
    kind: FormatKind,
    s: &SchemaRef,
    is_key: bool,
    options: &SchemaOptions,
    reg: &Arc<dyn SchemaRegistry>,
) -> Result<(RecordEncoder, RecordDecoder), FormatError> {
    let o = FormatOptions::default();
    let mut enc = RecordEncoder::new(kind, s.clone(), &o, is_key)?.with_schema_options(options)?;
    let mut dec = RecordDecoder::new(kind, s.clone(), &o, is_key)?.with_schema_options(options)?;
    if kind == FormatKind::Protobuf {
        enc = enc.with_registry(reg.clone(), "t");
        dec = dec.with_registry(reg.clone(), "t");
    }
    Ok((enc, dec))
}

fn json_of(batch: &DecodedBatch, row: usize) -> Vec<Json> {
    batch
        .columns
        .iter()
        .map(|c| arrow_value_to_json(c.as_ref(), row))
        .collect()
}

fn list_of(values: ArrayRef, offsets: Vec<i32>, nulls: Option<Vec<bool>>) -> ListArray {
    let field = Arc::new(Field::new("item", values.data_type().clone(), true));
    ListArray::new(
        field,
        OffsetBuffer::new(offsets.into()),
        values,
        nulls.map(Into::into),
    )
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

/// A column of every type, two rows: values, then NULLs.
fn every_type() -> Result<(SchemaRef, Vec<ArrayRef>), Box<dyn std::error::Error>> {
    let st_fields = Fields::from(vec![Field::new("F0", DataType::Int32, true)]);
    let st = StructArray::new(
        st_fields.clone(),
        vec![Arc::new(Int32Array::from(vec![Some(5), None])) as ArrayRef],
        Some(vec![true, false].into()),
    );
    let list = list_of(
        Arc::new(Int64Array::from(vec![12, 34, 999])),
        vec![0, 3, 3],
        Some(vec![true, false]),
    );
    let map_ty = map_type(DataType::Float64);
    let DataType::Map(entries, _) = &map_ty else {
        return Err("map".into());
    };
    let DataType::Struct(kv) = entries.data_type() else {
        return Err("entries".into());
    };
    let map = MapArray::new(
        entries.clone(),
        OffsetBuffer::new(vec![0, 2, 2].into()),
        StructArray::new(
            kv.clone(),
            vec![
                Arc::new(StringArray::from(vec!["a", "b"])) as ArrayRef,
                Arc::new(Float64Array::from(vec![1.5, -2.25])),
            ],
            None,
        ),
        Some(vec![true, false].into()),
        false,
    );
    let s = schema(vec![
        ("B", DataType::Boolean),
        ("I", DataType::Int32),
        ("L", DataType::Int64),
        ("D", DataType::Float64),
        ("S", DataType::Utf8),
        ("BY", DataType::Binary),
        ("DEC", DataType::Decimal128(5, 2)),
        ("DT", DataType::Date32),
        ("TM", DataType::Time32(TimeUnit::Millisecond)),
        ("TS", DataType::Timestamp(TimeUnit::Millisecond, None)),
        ("ARR", list.data_type().clone()),
        ("M", map_ty.clone()),
        ("ST", DataType::Struct(st_fields)),
    ]);
    let columns: Vec<ArrayRef> = vec![
        Arc::new(BooleanArray::from(vec![Some(true), None])),
        Arc::new(Int32Array::from(vec![Some(-7), None])),
        Arc::new(Int64Array::from(vec![Some(998877665544332211), None])),
        Arc::new(Float64Array::from(vec![Some(1.25), None])),
        Arc::new(StringArray::from(vec![Some("héllo"), None])),
        Arc::new(BinaryArray::from(vec![Some(b"\x00\xff".as_ref()), None])),
        Arc::new(Decimal128Array::from(vec![Some(-12345), None]).with_precision_and_scale(5, 2)?),
        Arc::new(Date32Array::from(vec![Some(19000), None])),
        Arc::new(Time32MillisecondArray::from(vec![Some(45_296_789), None])),
        Arc::new(TimestampMillisecondArray::from(vec![Some(-1_500), None])),
        Arc::new(list),
        Arc::new(map),
        Arc::new(st),
    ];
    Ok((s, columns))
}

const VALUES: &str = r#"[true, -7, 998877665544332211, 1.25, "héllo", "AP8=", -123.45, 19000,
    45296789, -1500, [12, 34, 999], {"a": 1.5, "b": -2.25}, {"F0": 5}]"#;

#[test]
fn round_trip_every_type_both_formats() -> TestResult {
    let (s, columns) = every_type()?;
    let expected: Vec<Json> = serde_json::from_str(VALUES)?;
    for kind in [FormatKind::Protobuf, FormatKind::ProtobufNoSr] {
        for n in [
            ProtobufNullable::Plain,
            ProtobufNullable::Optional,
            ProtobufNullable::Wrapper,
        ] {
            let reg = registry();
            let (enc, dec) = codecs(kind, &s, false, &nullable(n), &reg)?;
            let out = enc.encode(&columns, 2)?;
            let payloads: Vec<Option<&[u8]>> = out.iter().map(|p| p.as_deref()).collect();
            let batch = dec.decode(&payloads);
            assert_eq!(batch.status, vec![RowStatus::Ok; 2], "{kind} {n:?}");
            assert_eq!(json_of(&batch, 0), expected, "{kind} {n:?}");
            // NULLs: scalars default unless they have presence; messages are
            // NULL; repeated fields and maps empty.
            let scalar_null = |default: Json| match n {
                ProtobufNullable::Plain => default,
                _ => Json::Null,
            };
            let nulls = vec![
                scalar_null(json!(false)),
                scalar_null(json!(0)),
                scalar_null(json!(0)),
                scalar_null(json!(0.0)),
                scalar_null(json!("")),
                scalar_null(json!("")),
                Json::Null,
                Json::Null,
                Json::Null,
                Json::Null,
                json!([]),
                json!({}),
                Json::Null,
            ];
            assert_eq!(json_of(&batch, 1), nulls, "{kind} {n:?}");
            let registered = reg.latest("t-value")?.map(|(_, s)| s.schema_type);
            let expect_registered = (kind == FormatKind::Protobuf).then_some(SchemaType::Protobuf);
            assert_eq!(registered, expect_registered);
        }
    }
    Ok(())
}

#[test]
fn generated_schema_matches_ksqldb() -> Result<(), FormatError> {
    let cols = Fields::from(vec![
        Field::new("I", DataType::Int32, true),
        Field::new("S", DataType::Utf8, true),
    ]);
    assert_eq!(
        schema::generate(&cols, None, ProtobufNullable::Plain)?,
        "syntax = \"proto3\";\n\nmessage ConnectDefault1 {\n  int32 I = 1;\n  string S = 2;\n}\n"
    );
    assert_eq!(
        schema::generate(&cols, None, ProtobufNullable::Optional)?,
        "syntax = \"proto3\";\n\nmessage ConnectDefault1 {\n  optional int32 I = 1;\n  \
         optional string S = 2;\n}\n"
    );
    assert_eq!(
        schema::generate(&cols, Some("my.pkg.Row"), ProtobufNullable::Wrapper)?,
        "syntax = \"proto3\";\n\npackage my.pkg;\n\nimport \"google/protobuf/wrappers.proto\";\n\n\
         message Row {\n  google.protobuf.Int32Value I = 1;\n  google.protobuf.StringValue S = 2;\n}\n"
    );
    let nested = Fields::from(vec![
        Field::new(
            "A",
            DataType::Struct(Fields::from(vec![Field::new("X", DataType::Boolean, true)])),
            true,
        ),
        Field::new("M", map_type(DataType::Int64), true),
    ]);
    assert_eq!(
        schema::generate(&nested, None, ProtobufNullable::Plain)?,
        "syntax = \"proto3\";\n\nmessage ConnectDefault1 {\n  ConnectDefault2 A = 1;\n  \
         repeated ConnectDefault3Entry M = 2;\n\n  message ConnectDefault2 {\n    bool X = 1;\n  \
         }\n\n  message ConnectDefault3Entry {\n    string key = 1;\n    int64 value = 2;\n  }\n}\n"
    );
    Ok(())
}

#[test]
fn single_key_column_is_a_message_named_by_full_name() -> TestResult {
    let reg = registry();
    let s = schema(vec![("F1", DataType::Boolean)]);
    let options = SchemaOptions {
        full_name: Some("io.example.Key".to_string()),
        ..Default::default()
    };
    let (enc, dec) = codecs(FormatKind::Protobuf, &s, true, &options, &reg)?;
    let out = enc.encode(&[Arc::new(BooleanArray::from(vec![true])) as ArrayRef], 1)?;
    // Header, message index 0, then field 1 (varint) = true.
    assert_eq!(
        out[0].as_deref(),
        Some([0, 0, 0, 0, 1, 0, 0x08, 1].as_ref())
    );
    let latest = reg.latest("t-key")?.map(|(_, s)| s.schema);
    assert!(
        latest.is_some_and(|t| t.contains("package io.example;") && t.contains("message Key {"))
    );
    let batch = dec.decode(&[out[0].as_deref(), None]);
    assert_eq!(batch.status, vec![RowStatus::Ok, RowStatus::Null]);
    assert_eq!(json_of(&batch, 0), vec![json!(true)]);
    Ok(())
}

#[test]
fn message_indexes() {
    for (indexes, bytes) in [
        (vec![0], vec![0u8]),
        (vec![1], vec![2, 2]),
        (vec![0, 2], vec![4, 0, 4]),
        (vec![70], vec![2, 0x8c, 0x01]),
    ] {
        let mut out = Vec::new();
        write_indexes(&indexes, &mut out);
        assert_eq!(out, bytes);
        out.push(9);
        assert_eq!(read_indexes(&out), Ok((indexes, [9u8].as_ref())));
    }
    assert!(read_indexes(&[]).is_err());
    assert!(read_indexes(&[4, 0]).is_err());
    assert!(read_indexes(&[0xff; 6]).is_err());
}

/// A payload of the `name`d message of a registered schema, built with
/// prost-reflect directly.
fn foreign_payload(
    reg: &Arc<dyn SchemaRegistry>,
    text: &str,
    name: &str,
    set: &[(&str, prost_reflect::Value)],
) -> Result<Vec<u8>, Box<dyn std::error::Error>> {
    let id = reg.register("other", &RegisteredSchema::new(SchemaType::Protobuf, text))?;
    let parsed = ProtoSchema::parse(text, &[])?;
    let descriptor = parsed.message_named(name).ok_or("no message")?;
    let mut message = DynamicMessage::new(descriptor.clone());
    for (field, value) in set {
        message.try_set_field_by_name(field, value.clone())?;
    }
    let mut out = Vec::new();
    write_header(id, &mut out);
    write_indexes(&indexes_of(&descriptor), &mut out);
    message.encode(&mut out)?;
    Ok(out)
}

#[test]
fn decodes_with_a_different_writer_schema() -> TestResult {
    use prost_reflect::Value as V;
    let reg = registry();
    let text = r#"syntax = "proto3";
        import 'google/protobuf/wrappers.proto';
        message Other { int32 x = 1; }
        message Outer {
          message Row {
            enum Suit { SPADES = 0; HEARTS = 1; }
            string extra = 1;
            Suit suit = 2;
            float ratio = 3;
            uint32 count = 4;
            google.protobuf.Int64Value big = 5;
            map<string, int32> tags = 6;
            repeated sint32 nums = 7;
          }
        }"#;
    let payload = foreign_payload(
        &reg,
        text,
        "Outer.Row",
        &[
            ("extra", V::String("ignored".into())),
            ("suit", V::EnumNumber(1)),
            ("ratio", V::F32(1.1234)),
            ("count", V::U32(u32::MAX)),
            (
                "tags",
                V::Map([(prost_reflect::MapKey::String("k".into()), V::I32(3))].into()),
            ),
            ("nums", V::List(vec![V::I32(-1), V::I32(2)])),
        ],
    )?;
    // Index path [1, 0]: second top-level message, its first nested one.
    assert_eq!(&payload[5..8], &[4, 2, 0]);
    let s = schema(vec![
        (
            "NUMS",
            DataType::List(Arc::new(Field::new("item", DataType::Int64, true))),
        ),
        ("SUIT", DataType::Utf8),
        ("MISSING", DataType::Int32),
        ("RATIO", DataType::Float64),
        ("COUNT", DataType::Int64),
        ("BIG", DataType::Int64),
        ("TAGS", map_type(DataType::Utf8)),
    ]);
    let (_, dec) = codecs(
        FormatKind::Protobuf,
        &s,
        false,
        &SchemaOptions::default(),
        &reg,
    )?;
    let batch = dec.decode(&[Some(&payload)]);
    assert_eq!(batch.status, vec![RowStatus::Ok]);
    assert_eq!(
        json_of(&batch, 0),
        vec![
            json!([-1, 2]),
            json!("HEARTS"),
            Json::Null,
            json!(1.1233999729156494),
            json!(4294967295u64),
            Json::Null,
            json!({"k": "3"}),
        ]
    );
    Ok(())
}

#[test]
fn bad_payloads_are_row_errors() -> TestResult {
    let reg = registry();
    let s = schema(vec![("I", DataType::Int32), ("S", DataType::Utf8)]);
    let (enc, dec) = codecs(
        FormatKind::Protobuf,
        &s,
        false,
        &SchemaOptions::default(),
        &reg,
    )?;
    let dec = dec.with_topic("t");
    let cols: Vec<ArrayRef> = vec![
        Arc::new(Int32Array::from(vec![1])),
        Arc::new(StringArray::from(vec!["abc"])),
    ];
    let good = enc.encode(&cols, 1)?.remove(0).ok_or("payload")?;
    let mut unknown_id = good.clone();
    unknown_id[4] = 99;
    let truncated = &good[..good.len() - 1];
    let batch = dec.decode(&[
        Some(b"{}"),
        Some(&unknown_id),
        Some(truncated),
        Some(&[0, 0]),
        Some(&good),
    ]);
    let err = |i: usize| match &batch.status[i] {
        RowStatus::Error(e) => e.clone(),
        other => format!("{other:?}"),
    };
    assert_eq!(
        err(0),
        "Failed to deserialize value from topic: t. Unknown magic byte!"
    );
    assert!(err(1).contains("Error retrieving Protobuf value schema for id 99"));
    assert!(err(2).contains("Error deserializing Protobuf message"));
    assert!(err(3).contains("fewer than 5 bytes"));
    assert_eq!(batch.status[4], RowStatus::Ok);
    assert_eq!(batch.num_ok_rows(), 1);
    // A value of the wrong type for the column.
    let text = "syntax = \"proto3\"; message M { string I = 1; }";
    let payload = foreign_payload(
        &reg,
        text,
        "M",
        &[("I", prost_reflect::Value::String("x".into()))],
    )?;
    let batch = dec.decode(&[Some(&payload)]);
    assert!(matches!(&batch.status[0], RowStatus::Error(e) if e.contains("Can't convert type")));
    // No registry at all.
    let bare = RecordDecoder::new(
        FormatKind::Protobuf,
        s.clone(),
        &FormatOptions::default(),
        false,
    )?;
    let batch = bare.decode(&[Some(&good)]);
    assert!(matches!(&batch.status[0], RowStatus::Error(e) if e.contains(NO_REGISTRY)));
    let bare = RecordEncoder::new(FormatKind::Protobuf, s, &FormatOptions::default(), false)?;
    assert!(bare.encode(&cols, 1).is_err());
    Ok(())
}

#[test]
fn nosr_is_bare_protobuf() -> TestResult {
    let reg = registry();
    let s = schema(vec![("A", DataType::Int64), ("B", DataType::Utf8)]);
    let (enc, dec) = codecs(
        FormatKind::ProtobufNoSr,
        &s,
        false,
        &SchemaOptions::default(),
        &reg,
    )?;
    let cols: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from(vec![Some(150), None])),
        Arc::new(StringArray::from(vec![Some("hi"), Some("")])),
    ];
    let out = enc.encode(&cols, 2)?;
    assert_eq!(
        out[0].as_deref(),
        Some([0x08, 0x96, 0x01, 0x12, 2, b'h', b'i'].as_ref())
    );
    assert_eq!(out[1].as_deref(), Some([].as_ref()));
    let batch = dec.decode(&[out[0].as_deref(), out[1].as_deref(), Some(&[0xff])]);
    assert_eq!(json_of(&batch, 0), vec![json!(150), json!("hi")]);
    assert_eq!(json_of(&batch, 1), vec![json!(0), json!("")]);
    assert!(matches!(batch.status[2], RowStatus::Error(_)));
    assert!(reg.latest("t-value")?.is_none());
    Ok(())
}

#[test]
fn test_values_with_registered_schemas() -> TestResult {
    let reg = registry();
    let text = "syntax = \"proto3\"; message First {float c1 = 1;} \
                message Second {string k1 = 1; uint32 c2 = 2; repeated string xs = 3;}";
    reg.register(
        "in-value",
        &RegisteredSchema::new(SchemaType::Protobuf, text),
    )?;
    let columns = Schema::new(vec![Field::new("IGNORED", DataType::Int32, true)]);
    let o = FormatOptions::default();
    let second = SchemaOptions {
        full_name: Some("Second".to_string()),
        ..Default::default()
    };
    let rt = (&reg, "in");
    let value = json!({"k1": "key", "c2": "7", "xs": ["a", "b"]});
    let bytes = json_to_bytes_with_options(
        FormatKind::Protobuf,
        &columns,
        &o,
        &second,
        false,
        &value,
        Some(rt),
    )?
    .ok_or("payload")?;
    assert_eq!(&bytes[..7], &[0, 0, 0, 0, 1, 2, 2]);
    let back = bytes_to_json_with_options(
        FormatKind::Protobuf,
        &columns,
        &o,
        &second,
        false,
        Some(&bytes),
        Some(rt),
    );
    assert_eq!(back, json!({"k1": "key", "c2": 7, "xs": ["a", "b"]}));
    // Without a registered schema: the columns' generated one, registered.
    let cols = Schema::new(vec![
        Field::new("I", DataType::Int32, true),
        Field::new("L", DataType::Int64, true),
    ]);
    let opt = nullable(ProtobufNullable::Optional);
    for kind in [FormatKind::Protobuf, FormatKind::ProtobufNoSr] {
        let value = json!({"i": null, "L": 0});
        let bytes =
            json_to_bytes_with_options(kind, &cols, &o, &opt, false, &value, Some((&reg, "out")))?;
        let back = bytes_to_json_with_options(
            kind,
            &cols,
            &o,
            &opt,
            false,
            bytes.as_deref(),
            Some((&reg, "out")),
        );
        assert_eq!(back, json!({"I": null, "L": 0}), "{kind}");
    }
    assert!(reg
        .latest("out-value")?
        .is_some_and(|(_, s)| s.schema.contains("optional int32 I = 1;")));
    // Unreadable bytes come back as text.
    let text_back = bytes_to_json_with_options(
        FormatKind::Protobuf,
        &cols,
        &o,
        &opt,
        false,
        Some(b"oops"),
        Some((&reg, "out")),
    );
    assert_eq!(text_back, json!("oops"));
    Ok(())
}

#[test]
fn schema_references_are_fetched_from_the_registry() -> TestResult {
    let reg = registry();
    let event = "syntax = \"proto3\";\nmessage Event {\n int64 timestamp = 1;\n}";
    reg.register(
        "event.proto",
        &RegisteredSchema::new(SchemaType::Protobuf, event),
    )?;
    let mut main = RegisteredSchema::new(
        SchemaType::Protobuf,
        "syntax = \"proto3\";\nimport \"event.proto\";\nmessage Shipment {\n Event event = 1;\n}",
    );
    main.references.push(crate::SchemaReference {
        name: "event.proto".into(),
        subject: "event.proto".into(),
        version: 1,
    });
    reg.register("r-value", &main)?;
    let columns = Schema::new(vec![Field::new("EVENT", DataType::Int32, true)]);
    let o = FormatOptions::default();
    let d = SchemaOptions::default();
    let value = json!({"event": {"timestamp": 123}});
    let bytes = json_to_bytes_with_options(
        FormatKind::Protobuf,
        &columns,
        &o,
        &d,
        false,
        &value,
        Some((&reg, "r")),
    )?;
    let back = bytes_to_json_with_options(
        FormatKind::Protobuf,
        &columns,
        &o,
        &d,
        false,
        bytes.as_deref(),
        Some((&reg, "r")),
    );
    assert_eq!(back, value);
    let refs = [("event.proto".to_string(), event.to_string())];
    let inferred = protobuf_schema_to_columns_with(&main.schema, false, None, &refs)?;
    assert_eq!(
        crate::column_list(&inferred, false),
        "[`EVENT` STRUCT<`TIMESTAMP` BIGINT>]"
    );
    Ok(())
}

#[test]
fn inference() -> Result<(), FormatError> {
    let text = r#"syntax = "proto3";
        import "google/protobuf/wrappers.proto";
        import "google/protobuf/timestamp.proto";
        message Sample {
          enum Color { RED = 0; }
          message Inner { int32 f1 = 1; }
          google.protobuf.BoolValue c1 = 1;
          float c2 = 2;
          uint32 c3 = 3;
          sint32 c4 = 4;
          Color c5 = 5;
          Inner c6 = 6;
          repeated bytes c7 = 7;
          map<string, Inner> c8 = 8;
          google.protobuf.Timestamp c9 = 9;
          oneof choice { string c10 = 10; }
        }
        message Second { string z = 1; }"#;
    let cols = protobuf_schema_to_columns(text, false)?;
    assert_eq!(
        crate::column_list(&cols, false),
        "[`C1` BOOLEAN, `C2` DOUBLE, `C3` BIGINT, `C4` INTEGER, `C5` STRING, \
         `C6` STRUCT<`F1` INTEGER>, `C7` ARRAY<BYTES>, `C8` MAP<STRING, STRUCT<`F1` INTEGER>>, \
         `C9` TIMESTAMP]"
    );
    assert_eq!(protobuf_schema_to_columns(text, true)?.fields().len(), 9);
    let second = protobuf_schema_to_columns_with(text, true, Some("Second"), &[])?;
    assert_eq!(crate::column_list(&second, true), "[`Z` STRING KEY]");
    assert!(protobuf_schema_to_columns_with(text, false, Some("Nope"), &[]).is_err());
    assert!(protobuf_schema_to_columns("syntax = \"proto3\";", false).is_err());
    assert!(protobuf_schema_to_columns("message {", false).is_err());
    let recursive = "syntax = \"proto3\"; message N { N next = 1; int32 v = 2; }";
    assert_eq!(
        crate::column_list(&protobuf_schema_to_columns(recursive, false)?, false),
        "[`V` INTEGER]"
    );
    Ok(())
}

#[test]
fn nullable_representation_parses() {
    assert_eq!(
        ProtobufNullable::parse("optional"),
        Ok(ProtobufNullable::Optional)
    );
    assert_eq!(
        ProtobufNullable::parse("WRAPPER"),
        Ok(ProtobufNullable::Wrapper)
    );
    assert!(ProtobufNullable::parse("nope").is_err());
}

#[test]
fn null_items_are_written_as_defaults() -> TestResult {
    let reg = registry();
    let items = list_of(
        Arc::new(Int64Array::from(vec![Some(1), None])),
        vec![0, 2],
        None,
    );
    let s = schema(vec![("XS", items.data_type().clone())]);
    for kind in [FormatKind::Protobuf, FormatKind::ProtobufNoSr] {
        let (enc, dec) = codecs(kind, &s, false, &SchemaOptions::default(), &reg)?;
        let out = enc.encode(&[Arc::new(items.clone()) as ArrayRef], 1)?;
        let batch = dec.decode(&[out[0].as_deref()]);
        assert_eq!(json_of(&batch, 0), vec![json!([1, 0])]);
    }
    Ok(())
}
