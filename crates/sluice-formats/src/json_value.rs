//! A record's key or value as a JSON value, in and out of any format's bytes:
//! how people write records down (ksqlDB's test files, REST clients, Kafka
//! Connect's JSON view of a record) and how PRINT shows them.

use std::sync::Arc;

use arrow::datatypes::Schema;
use serde_json::Value;

use crate::arrow_json::json_to_columns;
use crate::registry::{read_header, Binding, NO_REGISTRY};
use crate::{
    arrow_value_to_json, avro, json_sr, protobuf, subject_name, FormatError, FormatKind,
    FormatOptions, Layout, RecordDecoder, RecordEncoder, RegisteredSchema, RowStatus,
    SchemaOptions, SchemaRegistry, SchemaType,
};

/// A string's own text; anything else as JSON text.
fn plain_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A registry and the topic whose subjects it holds.
pub type RegistryTopic<'a> = (&'a Arc<dyn SchemaRegistry>, &'a str);

fn binding(registry: Option<RegistryTopic<'_>>, is_key: bool) -> Option<Binding> {
    registry.map(|(registry, topic)| Binding {
        registry: registry.clone(),
        subject: subject_name(topic, is_key),
    })
}

/// Turns a key or value given as JSON into the bytes a producer would have
/// written for a topic in `kind` (JSON `null` → no payload):
///
/// * JSON: the value as JSON text;
/// * DELIMITED: the value is the record text (a JSON string);
/// * KAFKA: the JSON primitive encoded as the single column's type (coerced
///   like JSON decoding, so `"10"` works for an INT; BYTES are base64); with no
///   columns the text is written as is, since it is ignored anyway;
/// * NONE: no payload;
/// * AVRO / JSON_SR: an error; see [`json_to_bytes_with_registry`].
pub fn json_to_bytes(
    kind: FormatKind,
    schema: &Schema,
    options: &FormatOptions,
    is_key: bool,
    value: &Value,
) -> Result<Option<Vec<u8>>, FormatError> {
    json_to_bytes_with_registry(kind, schema, options, is_key, value, None)
}

/// [`json_to_bytes`], plus the schema formats, which need `registry`
/// (the registry and the topic, for the `<topic>-key`/`-value` subject):
///
/// * AVRO: when the subject has an Avro schema (say the test file's
///   `valueSchema`, registered by the runner), the value is written with its
///   latest version, fields matched by name with the JSON coercions; otherwise
///   the value is read into the columns (JSON coercions) and encoded as a
///   sink would, registering the generated schema.
/// * JSON_SR: the value's JSON text behind the header of the subject's latest
///   JSON schema, or of the schema generated from the columns (registered).
/// * PROTOBUF: like AVRO, with the subject's newest Protobuf schema (its first
///   message), else the columns' generated schema;
/// * PROTOBUF_NOSR: the value read into the columns and encoded (no registry).
///
/// See [`json_to_bytes_with_options`] for the full name and the
/// Protobuf nullable representation.
pub fn json_to_bytes_with_registry(
    kind: FormatKind,
    schema: &Schema,
    options: &FormatOptions,
    is_key: bool,
    value: &Value,
    registry: Option<RegistryTopic<'_>>,
) -> Result<Option<Vec<u8>>, FormatError> {
    let defaults = SchemaOptions::default();
    json_to_bytes_with_options(kind, schema, options, &defaults, is_key, value, registry)
}

/// [`json_to_bytes_with_registry`] with the source's [`SchemaOptions`]:
/// the generated schema's full name and nullable representation, and for
/// PROTOBUF with a registered schema, the message named by the full name.
pub fn json_to_bytes_with_options(
    kind: FormatKind,
    schema: &Schema,
    options: &FormatOptions,
    schema_options: &SchemaOptions,
    is_key: bool,
    value: &Value,
    registry: Option<RegistryTopic<'_>>,
) -> Result<Option<Vec<u8>>, FormatError> {
    let encode = |registry| {
        encode_columns(
            kind,
            schema,
            options,
            schema_options,
            is_key,
            value,
            registry,
        )
    };
    if value.is_null() {
        return Ok(None);
    }
    let layout = || Layout::new(Arc::new(schema.clone()), options, is_key);
    let with_registry = |binding: Option<Binding>| {
        binding.ok_or_else(|| FormatError::Serialization(NO_REGISTRY.to_string()))
    };
    match kind {
        FormatKind::None => Ok(None),
        FormatKind::Json => to_json_text(value).map(Some),
        FormatKind::Delimited => Ok(Some(plain_text(value).into_bytes())),
        FormatKind::Kafka if schema.fields().is_empty() => Ok(Some(plain_text(value).into_bytes())),
        FormatKind::Kafka | FormatKind::ProtobufNoSr => encode(None),
        FormatKind::Avro => {
            let binding = with_registry(binding(registry, is_key))?;
            match binding.registry.latest(&binding.subject)? {
                Some((id, s)) if s.schema_type == SchemaType::Avro => {
                    avro::json_to_avro_with_writer(&binding, id, is_key, value)
                }
                _ => encode(registry),
            }
        }
        FormatKind::Protobuf => {
            let binding = with_registry(binding(registry, is_key))?;
            match binding.registry.latest(&binding.subject)? {
                Some((id, s)) if s.schema_type == SchemaType::Protobuf => {
                    let full_name = schema_options.full_name.as_deref();
                    protobuf::json_to_protobuf_with_writer(&binding, id, &s, full_name, value)
                }
                _ => encode(registry),
            }
        }
        FormatKind::JsonSr => {
            let binding = with_registry(binding(registry, is_key))?;
            let id = match binding.registry.latest(&binding.subject)? {
                Some((id, s)) if s.schema_type == SchemaType::Json => id,
                _ => {
                    let generated = json_sr::generate(&layout()).to_string();
                    let schema = RegisteredSchema::new(SchemaType::Json, generated);
                    binding.registry.register(&binding.subject, &schema)?
                }
            };
            Ok(Some(json_sr::with_header(id, &to_json_text(value)?)))
        }
    }
}

fn to_json_text(value: &Value) -> Result<Vec<u8>, FormatError> {
    serde_json::to_vec(value).map_err(|e| FormatError::Serialization(e.to_string()))
}

/// The value read into the columns with the JSON coercions, then encoded.
fn encode_columns(
    kind: FormatKind,
    schema: &Schema,
    options: &FormatOptions,
    schema_options: &SchemaOptions,
    is_key: bool,
    value: &Value,
    registry: Option<RegistryTopic<'_>>,
) -> Result<Option<Vec<u8>>, FormatError> {
    let schema = Arc::new(schema.clone());
    // KAFKA and DELIMITED have no wrapping: a single column is always bare;
    // PROTOBUF is always wrapped.
    let unwrapped = (Layout::new(schema.clone(), options, is_key).unwrapped
        && kind.supports_unwrapping())
        || (schema.fields().len() == 1 && !kind.supports_wrapping());
    let columns = json_to_columns(&schema, unwrapped, value)?;
    let mut encoder =
        RecordEncoder::new(kind, schema, options, is_key)?.with_schema_options(schema_options)?;
    if let Some((registry, topic)) = registry {
        encoder = encoder.with_registry(registry.clone(), topic);
    }
    Ok(encoder.encode(&columns, 1)?.into_iter().next().flatten())
}

/// The inverse of [`json_to_bytes`], for comparing produced records with
/// how records are written down. No payload → JSON `null`; JSON → the parsed
/// document (unparsable text → a JSON string of it); DELIMITED → the record as
/// a string; KAFKA → the single column decoded by type (INT/BIGINT → integer,
/// DOUBLE → number, STRING → string, BYTES → base64 string), or the text as a
/// string when it cannot be decoded. AVRO and JSON_SR: see
/// [`bytes_to_json_with_registry`].
pub fn bytes_to_json(
    kind: FormatKind,
    schema: &Schema,
    options: &FormatOptions,
    is_key: bool,
    bytes: Option<&[u8]>,
) -> Value {
    bytes_to_json_with_registry(kind, schema, options, is_key, bytes, None)
}

/// [`bytes_to_json`], plus the schema formats:
///
/// * AVRO: the datum read with its writer schema from `registry` — a record
///   as an object of its fields (names as in the schema), anything else as the
///   bare value, each value rendered as [`arrow_value_to_json`] does;
/// * JSON_SR: the JSON document behind the header;
/// * PROTOBUF: the message read with its writer schema from `registry`, as an
///   object of its fields (names as in the schema);
/// * PROTOBUF_NOSR: the message read with the columns' schema, as an object
///   of the columns.
///
/// Payloads that cannot be read (no registry, bad header, unknown id) come
/// back as a string of their text, as for the other formats.
pub fn bytes_to_json_with_registry(
    kind: FormatKind,
    schema: &Schema,
    options: &FormatOptions,
    is_key: bool,
    bytes: Option<&[u8]>,
    registry: Option<RegistryTopic<'_>>,
) -> Value {
    let defaults = SchemaOptions::default();
    bytes_to_json_with_options(kind, schema, options, &defaults, is_key, bytes, registry)
}

/// [`bytes_to_json_with_registry`] with the source's [`SchemaOptions`]
/// (PROTOBUF_NOSR reads with the schema they generate).
pub fn bytes_to_json_with_options(
    kind: FormatKind,
    schema: &Schema,
    options: &FormatOptions,
    schema_options: &SchemaOptions,
    is_key: bool,
    bytes: Option<&[u8]>,
    registry: Option<RegistryTopic<'_>>,
) -> Value {
    let Some(bytes) = bytes else {
        return Value::Null;
    };
    let text = || Value::String(String::from_utf8_lossy(bytes).into_owned());
    let json = |b: &[u8]| serde_json::from_slice(b).unwrap_or_else(|_| text());
    match kind {
        FormatKind::Json => json(bytes),
        FormatKind::JsonSr => match read_header(bytes) {
            Ok((_, body)) => json(body),
            Err(_) => text(),
        },
        FormatKind::Avro => binding(registry, is_key)
            .and_then(|b| avro::avro_to_json_with_writer(&b, is_key, bytes).ok())
            .unwrap_or_else(text),
        FormatKind::Protobuf => binding(registry, is_key)
            .and_then(|b| protobuf::protobuf_to_json_with_writer(&b, is_key, bytes).ok())
            .unwrap_or_else(text),
        FormatKind::ProtobufNoSr => {
            let decoder = RecordDecoder::new(kind, Arc::new(schema.clone()), options, is_key)
                .and_then(|d| d.with_schema_options(schema_options));
            let Ok(decoder) = decoder else {
                return text();
            };
            let batch = decoder.decode(&[Some(bytes)]);
            if batch.status.first() != Some(&RowStatus::Ok) {
                return text();
            }
            Value::Object(
                schema
                    .fields()
                    .iter()
                    .zip(&batch.columns)
                    .map(|(f, c)| (f.name().clone(), arrow_value_to_json(c.as_ref(), 0)))
                    .collect(),
            )
        }
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
        let bytes = json_to_bytes(kind, schema, &o, is_key, &v).unwrap_or_else(|e| panic!("{e}"));
        let back = bytes_to_json(kind, schema, &o, is_key, bytes.as_deref());
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
            bytes_to_json(FormatKind::Json, &s, &o, false, Some(b"{oops")),
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
            bytes_to_json(
                FormatKind::Kafka,
                &one(DataType::Int32),
                &o,
                true,
                Some(b"ab")
            ),
            json!("ab")
        );
        assert!(json_to_bytes(
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
