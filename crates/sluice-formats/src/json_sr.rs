//! The JSON_SR format: JSON text behind Confluent's 5-byte header (magic byte
//! 0, 4-byte big-endian schema id), with a JSON Schema in the registry.
//!
//! The JSON itself is read and written by the JSON format's codec. Encoding
//! registers a JSON Schema generated from the columns as Connect's
//! `JsonSchemaData` does for ksqlDB (optional members as
//! `{"oneOf": [{"type": "null"}, T]}`, `connect.index` / `connect.type`
//! annotations, logical types titled with their Connect name). Decoding only
//! checks and skips the header, like ksqlDB, so it needs no registry.

mod infer;

use arrow::array::{Array, ArrayRef};
use arrow::datatypes::{DataType, Fields};
use serde_json::{json, Map, Value};

use crate::builder::{decode_batch, ColumnBuilder, Outcome};
use crate::json::JsonCodec;
use crate::registry::{read_header, write_header, Binding, WriterSchemas, NO_REGISTRY};
use crate::types::map_entry_fields;
use crate::{Codec, DecodedBatch, FormatError, Layout, SchemaType};

pub(crate) use infer::json_columns;
pub use infer::json_schema_to_columns;

pub(crate) struct JsonSrCodec {
    json: JsonCodec,
    unwrapped: bool,
    binding: Option<Binding>,
    /// The generated schema (registered on first write), or the fixed one.
    schemas: WriterSchemas<()>,
}

impl JsonSrCodec {
    /// `fixed_id`: write behind the header of this registered schema
    /// (`KEY_/VALUE_SCHEMA_ID`) instead of registering a generated one.
    pub(crate) fn new(
        layout: Layout,
        binding: Option<Binding>,
        fixed_id: Option<i32>,
    ) -> JsonSrCodec {
        let schema_text = generate(&layout).to_string();
        JsonSrCodec {
            unwrapped: layout.unwrapped,
            json: JsonCodec::new(layout),
            binding,
            schemas: WriterSchemas::new(SchemaType::Json, schema_text).with_fixed_id(fixed_id),
        }
    }

    fn schema_id(&self) -> Result<i32, FormatError> {
        if let Some(id) = self.schemas.fixed_id() {
            return Ok(id);
        }
        let binding = self
            .binding
            .as_ref()
            .ok_or_else(|| FormatError::Serialization(NO_REGISTRY.to_string()))?;
        self.schemas.writer_id(binding)
    }

    fn decode_row(
        &self,
        builders: &mut [ColumnBuilder],
        payload: Option<&[u8]>,
    ) -> Result<Outcome, String> {
        match payload {
            None => Ok(Outcome::Null),
            Some(bytes) => {
                let (_, body) = read_header(bytes)?;
                self.json.decode_row(builders, Some(body))
            }
        }
    }
}

impl Codec for JsonSrCodec {
    fn register_schema(&self) -> Result<(), FormatError> {
        self.schemas.register_if_new(self.binding.as_ref())
    }

    fn decode(&self, payloads: &[Option<&[u8]>]) -> DecodedBatch {
        decode_batch(self.json.schema(), payloads.len(), |builders, i| {
            self.decode_row(builders, payloads[i])
        })
    }

    fn encode(
        &self,
        columns: &[ArrayRef],
        num_rows: usize,
    ) -> Result<Vec<Option<Vec<u8>>>, FormatError> {
        let id = self.schema_id()?;
        let texts = self.json.encode(columns, num_rows)?;
        Ok(texts
            .into_iter()
            .enumerate()
            .map(|(row, text)| {
                // A NULL unwrapped column is no payload, as Confluent's
                // serializer writes nothing for `null`.
                let null = self.unwrapped && columns.first().is_some_and(|c| c.is_null(row));
                text.filter(|_| !null).map(|text| with_header(id, &text))
            })
            .collect())
    }
}

/// `text` behind the header for schema `id`.
pub(crate) fn with_header(id: i32, text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() + crate::registry::HEADER_LEN);
    write_header(id, &mut out);
    out.extend_from_slice(text);
    out
}

/// The JSON Schema for a layout: an object with one optional property per
/// column, or for an unwrapped layout the single column's optional schema.
pub(crate) fn generate(layout: &Layout) -> Value {
    let fields = layout.schema.fields();
    match (layout.unwrapped, fields.first()) {
        (true, Some(only)) => optional(type_schema(only.data_type())),
        _ => object(fields),
    }
}

fn optional(inner: Value) -> Value {
    json!({"oneOf": [{"type": "null"}, inner]})
}

fn object(fields: &Fields) -> Value {
    let properties: Map<String, Value> = fields
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let mut property = Map::new();
            property.insert("connect.index".into(), json!(i));
            if let Value::Object(inner) = optional(type_schema(f.data_type())) {
                property.extend(inner);
            }
            (f.name().clone(), Value::Object(property))
        })
        .collect();
    json!({"type": "object", "properties": properties})
}

fn logical(base: &str, connect_type: &str, name: &str) -> Value {
    json!({
        "type": base,
        "title": format!("org.apache.kafka.connect.data.{name}"),
        "connect.version": 1,
        "connect.type": connect_type,
    })
}

fn type_schema(data_type: &DataType) -> Value {
    match data_type {
        DataType::Boolean => json!({"type": "boolean"}),
        DataType::Int32 => json!({"type": "integer", "connect.type": "int32"}),
        DataType::Int64 => json!({"type": "integer", "connect.type": "int64"}),
        DataType::Float64 => json!({"type": "number", "connect.type": "float64"}),
        DataType::Utf8 => json!({"type": "string"}),
        DataType::Binary => json!({"type": "string", "connect.type": "bytes"}),
        DataType::Decimal128(p, s) => {
            let mut out = logical("number", "bytes", "Decimal");
            out["connect.parameters"] =
                json!({"scale": s.to_string(), "connect.decimal.precision": p.to_string()});
            out
        }
        DataType::Date32 => logical("integer", "int32", "Date"),
        DataType::Time32(_) => logical("integer", "int32", "Time"),
        DataType::Timestamp(_, _) => logical("integer", "int64", "Timestamp"),
        DataType::List(item) => {
            json!({"type": "array", "items": optional(type_schema(item.data_type()))})
        }
        DataType::Map(entries, _) => {
            let value = map_entry_fields(entries)
                .map(|(_, v)| optional(type_schema(v.data_type())))
                .unwrap_or(Value::Null);
            json!({"type": "object", "additionalProperties": value, "connect.type": "map"})
        }
        DataType::Struct(fields) => object(fields),
        // Outside the SQL mapping: rejected by `check_schema` before we get here.
        other => json!({"type": format!("{other}")}),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Decimal128Array, Int32Array, StringArray};
    use arrow::datatypes::{Field, Schema, SchemaRef};

    use super::*;
    use crate::{
        arrow_value_to_json, FormatKind, FormatOptions, MemoryRegistry, RecordDecoder,
        RecordEncoder, RowStatus, SchemaRegistry,
    };

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

    fn codecs(
        s: &SchemaRef,
        wrap: Option<bool>,
        is_key: bool,
        registry: &Arc<dyn SchemaRegistry>,
    ) -> Result<(RecordEncoder, RecordDecoder), FormatError> {
        let o = opts(wrap);
        Ok((
            RecordEncoder::new(FormatKind::JsonSr, s.clone(), &o, is_key)?
                .with_registry(registry.clone(), "t"),
            RecordDecoder::new(FormatKind::JsonSr, s.clone(), &o, is_key)?,
        ))
    }

    #[test]
    fn generated_schemas() {
        let s = schema(vec![("FOO", DataType::Int32)]);
        let wrapped = Layout::new(s.clone(), &opts(None), false);
        assert_eq!(
            generate(&wrapped).to_string(),
            r#"{"type":"object","properties":{"FOO":{"connect.index":0,"oneOf":[{"type":"null"},{"type":"integer","connect.type":"int32"}]}}}"#
        );
        let key = Layout::new(s, &opts(None), true);
        assert_eq!(
            generate(&key),
            json!({"oneOf": [{"type": "null"}, {"type": "integer", "connect.type": "int32"}]})
        );
        assert_eq!(
            type_schema(&DataType::Decimal128(4, 2)),
            json!({"type": "number", "title": "org.apache.kafka.connect.data.Decimal",
                   "connect.version": 1, "connect.type": "bytes",
                   "connect.parameters": {"scale": "2", "connect.decimal.precision": "4"}})
        );
    }

    #[test]
    fn round_trip_with_header() -> Result<(), FormatError> {
        let registry: Arc<dyn SchemaRegistry> = Arc::new(MemoryRegistry::new());
        let s = schema(vec![
            ("ID", DataType::Int32),
            ("D", DataType::Decimal128(5, 2)),
        ]);
        let (enc, dec) = codecs(&s, None, false, &registry)?;
        let dec = dec.with_topic("t");
        let d = Decimal128Array::from(vec![Some(1050), None])
            .with_precision_and_scale(5, 2)
            .map_err(|e| FormatError::Serialization(e.to_string()))?;
        let cols: Vec<ArrayRef> = vec![Arc::new(Int32Array::from(vec![7, 8])), Arc::new(d)];
        let out = enc.encode(&cols, 2)?;
        let first = out[0].clone().unwrap_or_default();
        assert_eq!(&first[..5], &[0, 0, 0, 0, 1]);
        assert_eq!(&first[5..], br#"{"ID":7,"D":10.50}"#);
        let latest = registry
            .latest("t-value")?
            .map(|(id, s)| (id, s.schema_type));
        assert_eq!(latest, Some((1, SchemaType::Json)));
        let payloads: Vec<Option<&[u8]>> = vec![
            out[0].as_deref(),
            out[1].as_deref(),
            Some(br#"{"ID":1}"#),
            Some(&[0, 0, 0]),
            None,
        ];
        let batch = dec.decode(&payloads);
        assert_eq!(batch.status[0], RowStatus::Ok);
        assert_eq!(batch.status[1], RowStatus::Ok);
        assert_eq!(
            batch.status[2],
            RowStatus::Error(
                "Failed to deserialize value from topic: t. Unknown magic byte!".into()
            )
        );
        assert!(matches!(batch.status[3], RowStatus::Error(_)));
        assert_eq!(batch.status[4], RowStatus::Null);
        let expected: Value = serde_json::from_str("10.50").unwrap_or_default();
        assert_eq!(arrow_value_to_json(batch.columns[1].as_ref(), 0), expected);
        assert_eq!(arrow_value_to_json(batch.columns[0].as_ref(), 1), json!(8));
        Ok(())
    }

    #[test]
    fn unwrapped_nulls_and_no_registry() -> Result<(), FormatError> {
        let registry: Arc<dyn SchemaRegistry> = Arc::new(MemoryRegistry::new());
        let s = schema(vec![("K", DataType::Utf8)]);
        let (enc, dec) = codecs(&s, None, true, &registry)?;
        let col: ArrayRef = Arc::new(StringArray::from(vec![Some("a"), None]));
        let out = enc.encode(std::slice::from_ref(&col), 2)?;
        assert_eq!(out[0].as_deref(), Some(b"\0\0\0\0\x01\"a\"".as_ref()));
        assert_eq!(out[1], None);
        let batch = dec.decode(&[out[0].as_deref()]);
        assert_eq!(
            arrow_value_to_json(batch.columns[0].as_ref(), 0),
            json!("a")
        );
        let (enc, _) = codecs(&s, Some(false), false, &registry)?;
        assert_eq!(enc.encode(&[col], 2)?[1], None);
        let bare = RecordEncoder::new(FormatKind::JsonSr, s, &opts(None), true)?;
        let no_reg = bare.encode(&[Arc::new(StringArray::from(vec!["a"])) as ArrayRef], 1);
        assert!(no_reg.is_err_and(|e| e.to_string().contains(NO_REGISTRY)));
        Ok(())
    }
}
