//! The KAFKA format: Kafka's own primitive serializers for a single column.
//!
//! INT is 4 bytes big-endian, BIGINT 8 bytes big-endian, DOUBLE 8 bytes
//! big-endian IEEE 754, STRING UTF-8, BYTES raw. A NULL column is no payload.

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::{DataType, Float64Type, Int32Type, Int64Type};

use crate::builder::{decode_batch, ColumnBuilder, Outcome};
use crate::types::SqlBase;
use crate::{Codec, DecodedBatch, FormatError, Layout};

pub(crate) struct KafkaCodec {
    layout: Layout,
    base: SqlBase,
}

impl KafkaCodec {
    /// `layout` has exactly one column of a KAFKA type (checked by `check_schema`).
    pub(crate) fn new(layout: Layout) -> Result<KafkaCodec, FormatError> {
        let base = layout
            .schema
            .fields()
            .first()
            .and_then(|f| SqlBase::of(f.data_type()))
            .ok_or_else(|| {
                FormatError::Serialization("The 'KAFKA' format needs one column".to_string())
            })?;
        Ok(KafkaCodec { layout, base })
    }
}

fn fixed<const N: usize>(bytes: &[u8], deserializer: &str) -> Result<[u8; N], String> {
    bytes
        .try_into()
        .map_err(|_| format!("Size of data received by {deserializer} is not {N}"))
}

/// Appends one KAFKA-serialized primitive.
fn append_primitive(builder: &mut ColumnBuilder, bytes: &[u8]) -> Result<(), String> {
    match builder {
        ColumnBuilder::Int32(b) => {
            b.append_value(i32::from_be_bytes(fixed(bytes, "IntegerDeserializer")?))
        }
        ColumnBuilder::Int64(b) => {
            b.append_value(i64::from_be_bytes(fixed(bytes, "LongDeserializer")?))
        }
        ColumnBuilder::Float64(b) => {
            b.append_value(f64::from_be_bytes(fixed(bytes, "DoubleDeserializer")?))
        }
        ColumnBuilder::Utf8(b) => b.append_value(String::from_utf8_lossy(bytes)),
        ColumnBuilder::Binary(b) => b.append_value(bytes),
        other => {
            return Err(format!(
                "The 'KAFKA' format does not support type '{}'",
                other.base().name()
            ))
        }
    }
    Ok(())
}

fn malformed(data_type: &DataType) -> FormatError {
    FormatError::Serialization(format!("malformed {data_type} column"))
}

impl Codec for KafkaCodec {
    fn decode(&self, payloads: &[Option<&[u8]>]) -> DecodedBatch {
        decode_batch(&self.layout.schema, payloads.len(), |builders, i| {
            match (builders, payloads[i]) {
                (_, None) => Ok(Outcome::Null),
                ([only], Some(bytes)) => append_primitive(only, bytes).map(|()| Outcome::Appended),
                _ => Err("The 'KAFKA' format only supports a single field".to_string()),
            }
        })
    }

    fn encode(
        &self,
        columns: &[ArrayRef],
        num_rows: usize,
    ) -> Result<Vec<Option<Vec<u8>>>, FormatError> {
        let Some(column) = columns.first() else {
            return Ok(vec![None; num_rows]);
        };
        let column = column.as_ref();
        let dt = column.data_type();
        let mut out = Vec::with_capacity(num_rows);
        macro_rules! each_row {
            ($array:expr, |$v:ident| $bytes:expr) => {{
                let array = $array.ok_or_else(|| malformed(dt))?;
                for row in 0..num_rows {
                    out.push((!array.is_null(row)).then(|| {
                        let $v = array.value(row);
                        $bytes
                    }));
                }
            }};
        }
        match self.base {
            SqlBase::Integer => each_row!(column.as_primitive_opt::<Int32Type>(), |v| v
                .to_be_bytes()
                .to_vec()),
            SqlBase::Bigint => each_row!(column.as_primitive_opt::<Int64Type>(), |v| v
                .to_be_bytes()
                .to_vec()),
            SqlBase::Double => each_row!(column.as_primitive_opt::<Float64Type>(), |v| v
                .to_be_bytes()
                .to_vec()),
            SqlBase::String => each_row!(column.as_string_opt::<i32>(), |v| v.as_bytes().to_vec()),
            SqlBase::Bytes => each_row!(column.as_binary_opt::<i32>(), |v| v.to_vec()),
            other => {
                return Err(FormatError::Serialization(format!(
                    "The 'KAFKA' format does not support type '{}'",
                    other.name()
                )))
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{BinaryArray, Float64Array, Int32Array, Int64Array, StringArray};
    use arrow::datatypes::{Field, Schema, SchemaRef};
    use serde_json::json;

    use super::*;
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

    fn codecs(s: &SchemaRef, is_key: bool) -> (RecordDecoder, RecordEncoder) {
        let o = FormatOptions::default();
        match (
            RecordDecoder::new(FormatKind::Kafka, s.clone(), &o, is_key),
            RecordEncoder::new(FormatKind::Kafka, s.clone(), &o, is_key),
        ) {
            (Ok(d), Ok(e)) => (d, e),
            _ => panic!("kafka codecs for {s:?}"),
        }
    }

    fn round_trip(data_type: DataType, column: ArrayRef, expected: Vec<Option<Vec<u8>>>) {
        let s = schema(vec![("V", data_type)]);
        let (d, e) = codecs(&s, false);
        let n = column.len();
        let bytes = e.encode(std::slice::from_ref(&column), n);
        assert_eq!(bytes.as_ref().ok(), Some(&expected));
        let payloads: Vec<Option<&[u8]>> = expected.iter().map(|p| p.as_deref()).collect();
        let batch = d.decode(&payloads);
        let ok = batch.num_ok_rows();
        assert_eq!(ok, expected.iter().filter(|p| p.is_some()).count());
        let not_null: Vec<usize> = (0..n).filter(|r| !column.is_null(*r)).collect();
        for (i, r) in not_null.into_iter().enumerate() {
            assert_eq!(
                arrow_value_to_json(batch.columns[0].as_ref(), i),
                arrow_value_to_json(column.as_ref(), r)
            );
        }
    }

    #[test]
    fn primitives_round_trip() {
        round_trip(
            DataType::Int32,
            Arc::new(Int32Array::from(vec![Some(1), None, Some(-2)])),
            vec![Some(vec![0, 0, 0, 1]), None, Some(vec![255, 255, 255, 254])],
        );
        round_trip(
            DataType::Int64,
            Arc::new(Int64Array::from(vec![258])),
            vec![Some(vec![0, 0, 0, 0, 0, 0, 1, 2])],
        );
        round_trip(
            DataType::Float64,
            Arc::new(Float64Array::from(vec![1.5])),
            vec![Some(1.5f64.to_be_bytes().to_vec())],
        );
        round_trip(
            DataType::Utf8,
            Arc::new(StringArray::from(vec![Some("héllo"), Some("")])),
            vec![Some("héllo".as_bytes().to_vec()), Some(Vec::new())],
        );
        round_trip(
            DataType::Binary,
            Arc::new(BinaryArray::from(vec![[0u8, 255].as_ref()])),
            vec![Some(vec![0, 255])],
        );
    }

    #[test]
    fn wrong_sizes_are_row_errors() {
        let s = schema(vec![("K", DataType::Int32)]);
        let (d, _) = codecs(&s, true);
        let batch = d.decode(&[Some(&[1, 2, 3]), Some(&[0, 0, 0, 9]), None]);
        assert_eq!(
            batch.status[0],
            RowStatus::Error(
                "Failed to deserialize key. Size of data received by IntegerDeserializer is not 4"
                    .into()
            )
        );
        assert_eq!(batch.status[1], RowStatus::Ok);
        assert_eq!(batch.status[2], RowStatus::Null);
        assert_eq!(arrow_value_to_json(batch.columns[0].as_ref(), 0), json!(9));
        let s = schema(vec![("K", DataType::Float64)]);
        let (d, _) = codecs(&s, true);
        assert!(matches!(&d.decode(&[Some(&[0; 4])]).status[0],
            RowStatus::Error(m) if m.ends_with("DoubleDeserializer is not 8")));
    }

    #[test]
    fn zero_columns_ignore_the_key() {
        let s = schema(vec![]);
        let (d, e) = codecs(&s, true);
        let batch = d.decode(&[Some(b"whatever"), None]);
        assert_eq!(batch.status, vec![RowStatus::Ok, RowStatus::Ok]);
        assert!(batch.columns.is_empty());
        assert_eq!(e.encode(&[], 2).ok(), Some(vec![None, None]));
    }

    #[test]
    fn unsupported_types_rejected_at_construction() {
        let s = schema(vec![("K", DataType::Boolean)]);
        assert!(RecordDecoder::new(FormatKind::Kafka, s, &FormatOptions::default(), true).is_err());
    }
}
