//! The JSON format: one JSON document per payload.
//!
//! A wrapped layout is an object with one member per column (matched as
//! ksqlDB does, see [`crate::arrow_json::lookup_field`]); an unwrapped layout
//! is the single column's bare value.

use arrow::array::{Array, ArrayRef};
use arrow::datatypes::{DataType, Fields};
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use serde_json::Value;

mod members;

use crate::arrow_json::{append_json, append_object, JsonCell, JsonError};
use crate::builder::{decode_batch, ColumnBuilder, Outcome};
use crate::types::sql_type_name;
use crate::{Codec, DecodedBatch, FormatError, Layout};
use members::{Matched, Members};

pub(crate) struct JsonCodec {
    layout: Layout,
    /// `STRUCT<...>` of the whole row, for "not an object" errors.
    row_type: String,
    /// The columns by name, to read a wrapped row's members as they stream.
    members: Members,
}

impl JsonCodec {
    pub(crate) fn new(layout: Layout) -> JsonCodec {
        let row_type = sql_type_name(&DataType::Struct(layout.schema.fields().clone()));
        let members = Members::new(layout.schema.fields().iter().map(|f| f.name().as_str()));
        JsonCodec {
            layout,
            row_type,
            members,
        }
    }

    /// The column list being read and written.
    pub(crate) fn schema(&self) -> &arrow::datatypes::Schema {
        &self.layout.schema
    }

    /// Parses and appends one payload.
    pub(crate) fn decode_row(
        &self,
        builders: &mut [ColumnBuilder],
        payload: Option<&[u8]>,
    ) -> Result<Outcome, String> {
        self.decode_row_with(builders, payload, &mut Vec::new())
    }

    /// [`JsonCodec::decode_row`], reusing `slots` between rows.
    fn decode_row_with(
        &self,
        builders: &mut [ColumnBuilder],
        payload: Option<&[u8]>,
        slots: &mut Vec<Matched>,
    ) -> Result<Outcome, String> {
        let Some(bytes) = payload else {
            return Ok(Outcome::Null);
        };
        // a wrapped row, read member by member (anything else, or anything
        // wrong, takes the general path below)
        if !self.layout.unwrapped && self.members.read(bytes, slots).is_some() {
            let fields = self.layout.schema.fields();
            for ((builder, field), slot) in
                builders.iter_mut().zip(fields.iter()).zip(slots.drain(..))
            {
                match slot {
                    Some((value, _)) => append_json(builder, &value)
                        .map_err(|e| e.within(format!(".{}", field.name())).render())?,
                    None => builder.append_null(),
                }
            }
            return Ok(Outcome::Appended);
        }
        let value: Value =
            serde_json::from_slice(bytes).map_err(|e| format!("Invalid JSON: {e}"))?;
        if value.is_null() {
            // A JSON null value is a tombstone; a JSON null key is a NULL key.
            if !self.layout.is_key {
                return Ok(Outcome::Null);
            }
            builders.iter_mut().for_each(ColumnBuilder::append_null);
            return Ok(Outcome::Appended);
        }
        let appended = match (self.layout.unwrapped, builders, &value) {
            (true, [only], v) => append_json(only, v),
            (false, builders, Value::Object(object)) => {
                append_object(builders, self.layout.schema.fields(), object)
            }
            (_, _, other) => Err(JsonError::convert(other, &self.row_type)),
        };
        appended.map(|()| Outcome::Appended).map_err(|e| e.render())
    }
}

impl Codec for JsonCodec {
    fn decode(&self, payloads: &[Option<&[u8]>]) -> DecodedBatch {
        let mut slots = Vec::new();
        decode_batch(&self.layout.schema, payloads.len(), |builders, i| {
            self.decode_row_with(builders, payloads[i], &mut slots)
        })
    }

    fn encode(
        &self,
        columns: &[ArrayRef],
        num_rows: usize,
    ) -> Result<Vec<Option<Vec<u8>>>, FormatError> {
        let fields = self.layout.schema.fields();
        let mut out = Vec::with_capacity(num_rows);
        let mut capacity = 64;
        for row in 0..num_rows {
            let mut buf = Vec::with_capacity(capacity);
            let written = match columns {
                [only] if self.layout.unwrapped => {
                    if self.layout.is_key && only.is_null(row) {
                        out.push(None);
                        continue;
                    }
                    serde_json::to_writer(
                        &mut buf,
                        &JsonCell {
                            array: only.as_ref(),
                            row,
                        },
                    )
                }
                _ => serde_json::to_writer(
                    &mut buf,
                    &RowObject {
                        fields,
                        columns,
                        row,
                    },
                ),
            };
            written.map_err(|e| FormatError::Serialization(e.to_string()))?;
            capacity = buf.len() + 16;
            out.push(Some(buf));
        }
        Ok(out)
    }
}

/// One row as a JSON object, members in schema order.
struct RowObject<'a> {
    fields: &'a Fields,
    columns: &'a [ArrayRef],
    row: usize,
}

impl Serialize for RowObject<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.fields.len()))?;
        for (field, column) in self.fields.iter().zip(self.columns) {
            map.serialize_entry(
                field.name(),
                &JsonCell {
                    array: column.as_ref(),
                    row: self.row,
                },
            )?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{
        BinaryArray, BooleanArray, Date32Array, Decimal128Array, Float64Array, Int32Array,
        Int64Array, StringArray, Time32MillisecondArray, TimestampMillisecondArray,
    };
    use arrow::datatypes::{Field, Schema, SchemaRef};
    use serde_json::json;

    use crate::{
        arrow_value_to_json, FormatKind, FormatOptions, RecordDecoder, RecordEncoder, RowStatus,
    };

    fn schema(cols: Vec<(&str, DataType)>) -> SchemaRef {
        Arc::new(Schema::new(
            cols.into_iter()
                .map(|(n, t)| Field::new(n, t, true))
                .collect::<Vec<_>>(),
        ))
    }

    use super::*;

    fn opts(wrap: Option<bool>) -> FormatOptions {
        FormatOptions {
            delimiter: None,
            wrap_single_value: wrap,
        }
    }

    fn decoder(s: &SchemaRef, wrap: Option<bool>, is_key: bool) -> RecordDecoder {
        match RecordDecoder::new(FormatKind::Json, s.clone(), &opts(wrap), is_key) {
            Ok(d) => d,
            Err(e) => panic!("decoder: {e}"),
        }
    }

    fn encoder(s: &SchemaRef, wrap: Option<bool>, is_key: bool) -> RecordEncoder {
        match RecordEncoder::new(FormatKind::Json, s.clone(), &opts(wrap), is_key) {
            Ok(d) => d,
            Err(e) => panic!("encoder: {e}"),
        }
    }

    fn texts(payloads: Vec<Option<Vec<u8>>>) -> Vec<Option<String>> {
        payloads
            .into_iter()
            .map(|p| p.map(|b| String::from_utf8_lossy(&b).into_owned()))
            .collect()
    }

    fn encode(e: &RecordEncoder, columns: &[ArrayRef], rows: usize) -> Vec<Option<String>> {
        match e.encode(columns, rows) {
            Ok(p) => texts(p),
            Err(err) => panic!("encode: {err}"),
        }
    }

    #[test]
    fn wrapped_value_decode_and_statuses() {
        let s = schema(vec![("ID", DataType::Int64), ("NAME", DataType::Utf8)]);
        let d = decoder(&s, None, false).with_topic("orders");
        let payloads: Vec<Option<&[u8]>> = vec![
            Some(br#"{"id": 7, "name": "ann", "other": true}"#),
            None,
            Some(b"null"),
            Some(br#"{"ID": "x"}"#),
            Some(b"{not json"),
            Some(br#"{"NAME": 12}"#),
            Some(b"[1]"),
        ];
        let batch = d.decode(&payloads);
        assert_eq!(batch.status[0], RowStatus::Ok);
        assert_eq!(batch.status[1], RowStatus::Null);
        assert_eq!(batch.status[2], RowStatus::Null);
        assert_eq!(
            batch.status[3],
            RowStatus::Error(
                "Failed to deserialize value from topic: orders. Can't coerce string to type. \
                 targetType: BIGINT, path: $.ID"
                    .into()
            )
        );
        assert!(matches!(&batch.status[4], RowStatus::Error(m) if m.contains("Invalid JSON")));
        assert_eq!(batch.status[5], RowStatus::Ok);
        assert!(matches!(&batch.status[6], RowStatus::Error(m)
            if m.ends_with("Can't convert type. sourceType: ArrayNode, requiredType: STRUCT<`ID` BIGINT, `NAME` STRING>, path: $")));
        assert_eq!(batch.num_ok_rows(), 2);
        assert_eq!(batch.columns[0].len(), 2);
        assert_eq!(arrow_value_to_json(batch.columns[0].as_ref(), 0), json!(7));
        assert_eq!(
            arrow_value_to_json(batch.columns[1].as_ref(), 0),
            json!("ann")
        );
        assert_eq!(
            arrow_value_to_json(batch.columns[0].as_ref(), 1),
            Value::Null
        );
        assert_eq!(
            arrow_value_to_json(batch.columns[1].as_ref(), 1),
            json!("12")
        );
    }

    #[test]
    fn single_key_is_unwrapped_and_null_key_is_a_null_column() {
        let s = schema(vec![("K", DataType::Utf8)]);
        let d = decoder(&s, None, true);
        let batch = d.decode(&[Some(b"\"a\""), Some(b"null"), None]);
        assert_eq!(
            batch.status,
            vec![RowStatus::Ok, RowStatus::Ok, RowStatus::Null]
        );
        assert_eq!(batch.columns[0].len(), 2);
        assert!(batch.columns[0].is_null(1));
        let e = encoder(&s, None, true);
        assert_eq!(
            encode(&e, &batch.columns, 2),
            vec![Some("\"a\"".to_string()), None]
        );
    }

    #[test]
    fn value_wrapping() {
        let s = schema(vec![("V", DataType::Float64)]);
        let col: ArrayRef = Arc::new(Float64Array::from(vec![Some(1.5), None]));
        let wrapped = encoder(&s, None, false);
        assert_eq!(
            encode(&wrapped, std::slice::from_ref(&col), 2),
            vec![Some(r#"{"V":1.5}"#.into()), Some(r#"{"V":null}"#.into())]
        );
        let bare = encoder(&s, Some(false), false);
        assert_eq!(
            encode(&bare, std::slice::from_ref(&col), 2),
            vec![Some("1.5".into()), Some("null".into())]
        );
        let d = decoder(&s, Some(false), false);
        let batch = d.decode(&[Some(b"2.25"), Some(b"\"3\""), Some(b"null")]);
        assert_eq!(
            batch.status,
            vec![RowStatus::Ok, RowStatus::Ok, RowStatus::Null]
        );
        assert_eq!(
            arrow_value_to_json(batch.columns[0].as_ref(), 1),
            json!(3.0)
        );
        // A wrapped single column does not accept a bare value.
        let batch = decoder(&s, None, false).decode(&[Some(b"2.25")]);
        assert!(matches!(batch.status[0], RowStatus::Error(_)));
    }

    #[test]
    fn every_type_round_trips() {
        let list = DataType::List(Arc::new(Field::new("item", DataType::Int32, true)));
        let entries = Field::new(
            "entries",
            DataType::Struct(Fields::from(vec![
                Field::new("key", DataType::Int32, false),
                Field::new("value", DataType::Utf8, true),
            ])),
            false,
        );
        let map = DataType::Map(Arc::new(entries), false);
        let st = DataType::Struct(Fields::from(vec![
            Field::new("A", DataType::Boolean, true),
            Field::new("b", list.clone(), true),
        ]));
        let s = schema(vec![
            ("B", DataType::Boolean),
            ("I", DataType::Int32),
            ("L", DataType::Int64),
            ("D", DataType::Float64),
            ("DEC", DataType::Decimal128(5, 2)),
            ("S", DataType::Utf8),
            ("BY", DataType::Binary),
            ("DT", DataType::Date32),
            (
                "T",
                DataType::Time32(arrow::datatypes::TimeUnit::Millisecond),
            ),
            (
                "TS",
                DataType::Timestamp(arrow::datatypes::TimeUnit::Millisecond, None),
            ),
            ("ARR", list),
            ("M", map),
            ("ST", st),
        ]);
        let input = concat!(
            r#"{"B":true,"I":-4,"L":9007199254740993,"D":5.0,"DEC":1.10,"S":"x\"y","BY":"AAE=","#,
            r#""DT":19000,"T":3600000,"TS":1700000000000,"ARR":[1,null,3],"M":{"1":"a","2":null},"#,
            r#""ST":{"A":false,"b":[]}}"#
        );
        let batch = decoder(&s, None, false).decode(&[Some(input.as_bytes()), Some(b"{}")]);
        assert_eq!(batch.status, vec![RowStatus::Ok, RowStatus::Ok]);
        let out = encode(&encoder(&s, None, false), &batch.columns, 2);
        assert_eq!(out[0].as_deref(), Some(input));
        let nulls = concat!(
            r#"{"B":null,"I":null,"L":null,"D":null,"DEC":null,"S":null,"BY":null,"DT":null,"#,
            r#""T":null,"TS":null,"ARR":null,"M":null,"ST":null}"#
        );
        assert_eq!(out[1].as_deref(), Some(nulls));
        // Explicit Arrow arrays encode the same way.
        let cols: Vec<ArrayRef> = vec![
            Arc::new(BooleanArray::from(vec![true])),
            Arc::new(Int32Array::from(vec![-4])),
            Arc::new(Int64Array::from(vec![9007199254740993])),
            Arc::new(Float64Array::from(vec![5.0])),
            Arc::new(
                Decimal128Array::from(vec![110])
                    .with_precision_and_scale(5, 2)
                    .unwrap_or_else(|_| Decimal128Array::from(vec![0])),
            ),
            Arc::new(StringArray::from(vec!["x\"y"])),
            Arc::new(BinaryArray::from(vec![[0u8, 1].as_ref()])),
            Arc::new(Date32Array::from(vec![19000])),
            Arc::new(Time32MillisecondArray::from(vec![3600000])),
            Arc::new(TimestampMillisecondArray::from(vec![1700000000000])),
            batch.columns[10].slice(0, 1),
            batch.columns[11].slice(0, 1),
            batch.columns[12].slice(0, 1),
        ];
        assert_eq!(
            encode(&encoder(&s, None, false), &cols, 1)[0].as_deref(),
            Some(input)
        );
    }

    #[test]
    fn bad_rows_are_dropped_without_disturbing_neighbours() {
        let st = DataType::Struct(Fields::from(vec![
            Field::new("X", DataType::Int32, true),
            Field::new("Y", DataType::Int32, true),
        ]));
        let s = schema(vec![("A", DataType::Int32), ("S", st)]);
        let d = decoder(&s, None, false);
        let batch = d.decode(&[
            Some(br#"{"A":1,"S":{"X":1,"Y":1}}"#),
            Some(br#"{"A":2,"S":{"X":2,"Y":"bad"}}"#),
            Some(br#"{"A":3,"S":{"X":3,"Y":3}}"#),
        ]);
        assert!(matches!(&batch.status[1], RowStatus::Error(m) if m.ends_with("path: $.S.Y")));
        assert_eq!(batch.columns[0].len(), 2);
        assert_eq!(arrow_value_to_json(batch.columns[0].as_ref(), 1), json!(3));
        assert_eq!(
            arrow_value_to_json(batch.columns[1].as_ref(), 1),
            json!({"X": 3, "Y": 3})
        );
    }

    #[test]
    fn multi_column_key_is_an_object() {
        let s = schema(vec![("K1", DataType::Int32), ("K2", DataType::Utf8)]);
        let d = decoder(&s, None, true);
        let batch = d.decode(&[Some(br#"{"K1":1,"K2":"b"}"#), Some(b"null")]);
        assert_eq!(batch.status, vec![RowStatus::Ok, RowStatus::Ok]);
        let out = encode(&encoder(&s, None, true), &batch.columns, 2);
        assert_eq!(out[0].as_deref(), Some(r#"{"K1":1,"K2":"b"}"#));
        assert_eq!(out[1].as_deref(), Some(r#"{"K1":null,"K2":null}"#));
    }

    #[test]
    fn encode_checks_columns() {
        let s = schema(vec![("A", DataType::Int32)]);
        let e = encoder(&s, None, false);
        assert!(e.encode(&[], 1).is_err());
        let short: ArrayRef = Arc::new(Int32Array::from(vec![1]));
        assert!(e.encode(&[short], 2).is_err());
    }
}
