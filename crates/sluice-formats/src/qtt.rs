//! Conversions for ksqlDB's query-validation-test (QTT) files, whose inputs
//! and outputs give each record's key and value as JSON values.

use std::sync::Arc;

use arrow::datatypes::Schema;
use serde_json::Value;

use crate::arrow_json::append_json;
use crate::builder::ColumnBuilder;
use crate::{
    arrow_value_to_json, FormatError, FormatKind, FormatOptions, RecordDecoder, RecordEncoder,
    RowStatus,
};

/// A string's own text; anything else as JSON text.
fn plain_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Turns a test file's key or value into the bytes a producer would have
/// written for a topic in `kind` (JSON `null` → no payload):
///
/// * JSON: the value as JSON text;
/// * DELIMITED: the value is the record text (a JSON string);
/// * KAFKA: the JSON primitive encoded as the single column's type (coerced
///   like JSON decoding, so `"10"` works for an INT; BYTES are base64); with no
///   columns the text is written as is, since it is ignored anyway;
/// * NONE: no payload.
pub fn test_value_to_bytes(
    kind: FormatKind,
    schema: &Schema,
    options: &FormatOptions,
    is_key: bool,
    value: &Value,
) -> Result<Option<Vec<u8>>, FormatError> {
    if value.is_null() {
        return Ok(None);
    }
    match kind {
        FormatKind::None => Ok(None),
        FormatKind::Json => serde_json::to_vec(value)
            .map(Some)
            .map_err(|e| FormatError::Serialization(e.to_string())),
        FormatKind::Delimited => Ok(Some(plain_text(value).into_bytes())),
        FormatKind::Kafka => {
            let Some(field) = schema.fields().first() else {
                return Ok(Some(plain_text(value).into_bytes()));
            };
            let mut builder = ColumnBuilder::new(field.data_type(), 1)?;
            append_json(&mut builder, value).map_err(|e| FormatError::Serialization(e.render()))?;
            let column = builder.finish()?;
            let encoder = RecordEncoder::new(kind, Arc::new(schema.clone()), options, is_key)?;
            Ok(encoder.encode(&[column], 1)?.into_iter().next().flatten())
        }
    }
}

/// The inverse of [`test_value_to_bytes`], for comparing produced records with
/// a test file's expectations. No payload → JSON `null`; JSON → the parsed
/// document (unparsable text → a JSON string of it); DELIMITED → the record as
/// a string; KAFKA → the single column decoded by type (INT/BIGINT → integer,
/// DOUBLE → number, STRING → string, BYTES → base64 string), or the text as a
/// string when it cannot be decoded.
pub fn bytes_to_test_value(
    kind: FormatKind,
    schema: &Schema,
    options: &FormatOptions,
    is_key: bool,
    bytes: Option<&[u8]>,
) -> Value {
    let Some(bytes) = bytes else {
        return Value::Null;
    };
    let text = || Value::String(String::from_utf8_lossy(bytes).into_owned());
    match kind {
        FormatKind::Json => serde_json::from_slice(bytes).unwrap_or_else(|_| text()),
        FormatKind::Delimited | FormatKind::None => text(),
        FormatKind::Kafka => {
            if schema.fields().len() != 1 {
                return text();
            }
            let Ok(decoder) = RecordDecoder::new(kind, Arc::new(schema.clone()), options, is_key)
            else {
                return text();
            };
            let batch = decoder.decode(&[Some(bytes)]);
            match (batch.status.first(), batch.columns.first()) {
                (Some(RowStatus::Ok), Some(column)) => arrow_value_to_json(column.as_ref(), 0),
                _ => text(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use arrow::datatypes::{DataType, Field};
    use serde_json::json;

    use super::*;

    fn one(t: DataType) -> Schema {
        Schema::new(vec![Field::new("V", t, true)])
    }

    fn there_and_back(
        kind: FormatKind,
        schema: &Schema,
        is_key: bool,
        v: Value,
    ) -> (Option<Vec<u8>>, Value) {
        let o = FormatOptions::default();
        let bytes =
            test_value_to_bytes(kind, schema, &o, is_key, &v).unwrap_or_else(|e| panic!("{e}"));
        let back = bytes_to_test_value(kind, schema, &o, is_key, bytes.as_deref());
        (bytes, back)
    }

    #[test]
    fn json_values() {
        let s = one(DataType::Int32);
        // Numbers keep their text (serde_json's arbitrary_precision).
        let value: Value = serde_json::from_str(r#"{"V": 1.50}"#).unwrap_or_default();
        let (bytes, back) = there_and_back(FormatKind::Json, &s, false, value.clone());
        assert_eq!(bytes.as_deref(), Some(br#"{"V":1.50}"#.as_ref()));
        assert_eq!(back, value);
        assert_eq!(
            there_and_back(FormatKind::Json, &s, false, Value::Null),
            (None, Value::Null)
        );
        let o = FormatOptions::default();
        assert_eq!(
            bytes_to_test_value(FormatKind::Json, &s, &o, false, Some(b"{oops")),
            json!("{oops")
        );
    }

    #[test]
    fn delimited_values() {
        let s = one(DataType::Utf8);
        let (bytes, back) = there_and_back(FormatKind::Delimited, &s, false, json!("a,\"b\""));
        assert_eq!(bytes.as_deref(), Some(b"a,\"b\"".as_ref()));
        assert_eq!(back, json!("a,\"b\""));
        assert_eq!(
            there_and_back(FormatKind::Delimited, &s, true, json!(5)).1,
            json!("5")
        );
    }

    #[test]
    fn kafka_values() {
        let (bytes, back) =
            there_and_back(FormatKind::Kafka, &one(DataType::Int32), true, json!(7));
        assert_eq!(bytes, Some(vec![0, 0, 0, 7]));
        assert_eq!(back, json!(7));
        let (bytes, back) =
            there_and_back(FormatKind::Kafka, &one(DataType::Int64), false, json!("12"));
        assert_eq!(bytes, Some(12i64.to_be_bytes().to_vec()));
        assert_eq!(back, json!(12));
        assert_eq!(
            there_and_back(
                FormatKind::Kafka,
                &one(DataType::Float64),
                false,
                json!(2.2)
            )
            .1,
            json!(2.2)
        );
        assert_eq!(
            there_and_back(FormatKind::Kafka, &one(DataType::Utf8), true, json!("foo")).1,
            json!("foo")
        );
        let (bytes, back) = there_and_back(
            FormatKind::Kafka,
            &one(DataType::Binary),
            false,
            json!("aGk="),
        );
        assert_eq!(bytes, Some(b"hi".to_vec()));
        assert_eq!(back, json!("aGk="));
        let empty = Schema::empty();
        assert_eq!(
            there_and_back(FormatKind::Kafka, &empty, true, json!("ignored")).1,
            json!("ignored")
        );
        let o = FormatOptions::default();
        assert_eq!(
            bytes_to_test_value(
                FormatKind::Kafka,
                &one(DataType::Int32),
                &o,
                true,
                Some(b"ab")
            ),
            json!("ab")
        );
        assert!(test_value_to_bytes(
            FormatKind::Kafka,
            &one(DataType::Int32),
            &o,
            true,
            &json!({})
        )
        .is_err());
    }

    #[test]
    fn none_values() {
        let empty = Schema::empty();
        assert_eq!(
            there_and_back(FormatKind::None, &empty, true, json!("x")),
            (None, Value::Null)
        );
    }
}
