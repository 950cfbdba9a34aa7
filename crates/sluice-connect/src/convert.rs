//! Converters: a record's key or value between Connect data and bytes, chosen
//! by Kafka Connect's class names (`key.converter`, `value.converter`) with
//! their own settings under `key.converter.` / `value.converter.`.

use base64::Engine as _;
use serde_json::{json, Map as JsonMap, Value as Json};

use crate::config::ConnectorConfig;
use crate::data::{
    decimal_be, decimal_from_bytes, decimal_string, parse_decimal, Field, Schema, SchemaType,
    Value, DATE, TIME, TIMESTAMP,
};
use crate::error::{ConnectError, Result};

/// Bytes ⇄ Connect data for one side (key or value) of a connector's records.
pub trait Converter: Send + Sync {
    /// Serializes `value` (with its schema, when it has one); `None` for null.
    fn encode(
        &self,
        topic: &str,
        schema: Option<&Schema>,
        value: &Value,
    ) -> Result<Option<Vec<u8>>>;
    /// Deserializes `bytes` (`None`: no key / a tombstone).
    fn decode(&self, topic: &str, bytes: Option<&[u8]>) -> Result<(Option<Schema>, Value)>;
}

pub const STRING_CONVERTER: &str = "org.apache.kafka.connect.storage.StringConverter";
pub const JSON_CONVERTER: &str = "org.apache.kafka.connect.json.JsonConverter";
pub const BYTE_ARRAY_CONVERTER: &str = "org.apache.kafka.connect.converters.ByteArrayConverter";
const NUMBER_CONVERTERS: [(&str, SchemaType); 5] = [
    (
        "org.apache.kafka.connect.converters.IntegerConverter",
        SchemaType::Int32,
    ),
    (
        "org.apache.kafka.connect.converters.LongConverter",
        SchemaType::Int64,
    ),
    (
        "org.apache.kafka.connect.converters.ShortConverter",
        SchemaType::Int16,
    ),
    (
        "org.apache.kafka.connect.converters.FloatConverter",
        SchemaType::Float32,
    ),
    (
        "org.apache.kafka.connect.converters.DoubleConverter",
        SchemaType::Float64,
    ),
];
pub use crate::avro::AVRO_CONVERTER;

/// The converter of `side` (`key` or `value`), as a Connect worker picks it:
/// the connector's `<side>.converter` with the connector's `<side>.converter.*`
/// settings, else the worker's with the worker's settings, else
/// `default_class` with plain JSON (`schemas.enable=false`), so that what a
/// connector writes with no converter named reads as a `VALUE_FORMAT='JSON'`
/// stream.
pub fn converter_for(
    side: &str,
    connector: &ConnectorConfig,
    worker: &ConnectorConfig,
    default_class: &str,
    registries: Option<&crate::avro::Registries>,
) -> Result<Box<dyn Converter>> {
    let key = format!("{side}.converter");
    let prefix = format!("{key}.");
    let (class, settings) = if let Some(class) = connector.get(&key) {
        (class, connector.with_prefix(&prefix))
    } else if let Some(class) = worker.get(&key) {
        (class, worker.with_prefix(&prefix))
    } else {
        let mut settings = connector.with_prefix(&prefix);
        if settings.get("schemas.enable").is_none() {
            settings.set("schemas.enable", "false");
        }
        (default_class, settings)
    };
    let class = class.trim().to_string();
    Ok(match class.as_str() {
        STRING_CONVERTER => Box::new(StringConverter),
        BYTE_ARRAY_CONVERTER => Box::new(ByteArrayConverter),
        JSON_CONVERTER => Box::new(JsonConverter::new(
            settings.boolean("schemas.enable", true)?,
            settings.choice("decimal.format", &["base64", "numeric"], "base64")? == "numeric",
        )),
        other => match NUMBER_CONVERTERS.iter().find(|(c, _)| *c == other) {
            Some((_, ty)) => Box::new(NumberConverter(*ty)),
            None if other == AVRO_CONVERTER => {
                let url = settings
                    .list("schema.registry.url")
                    .into_iter()
                    .next()
                    .ok_or_else(|| {
                        ConnectError::config(
                            &format!("{prefix}schema.registry.url"),
                            "Missing required configuration \"schema.registry.url\" which has no default value.",
                        )
                    })?;
                Box::new(crate::avro::AvroConverter::new(
                    &url,
                    registries.cloned(),
                    side == "key",
                ))
            }
            None => {
                return Err(ConnectError::config(
                    &key,
                    format!("Invalid value {other} for configuration {key}: Class {other} could not be found."),
                ))
            }
        },
    })
}

/// `StringConverter`: a value's text (Java's `toString`), UTF-8.
pub struct StringConverter;

impl Converter for StringConverter {
    fn encode(&self, _: &str, _: Option<&Schema>, value: &Value) -> Result<Option<Vec<u8>>> {
        Ok(match value {
            Value::Null => None,
            v => Some(v.display().into_bytes()),
        })
    }

    fn decode(&self, _: &str, bytes: Option<&[u8]>) -> Result<(Option<Schema>, Value)> {
        let schema = Some(Schema::of(SchemaType::String).optional());
        Ok(match bytes {
            None => (schema, Value::Null),
            Some(b) => (
                schema,
                Value::String(String::from_utf8(b.to_vec()).map_err(|e| {
                    ConnectError::conversion(format!("StringConverter: not UTF-8: {e}"))
                })?),
            ),
        })
    }
}

/// `ByteArrayConverter`: bytes as they are.
pub struct ByteArrayConverter;

impl Converter for ByteArrayConverter {
    fn encode(&self, _: &str, _: Option<&Schema>, value: &Value) -> Result<Option<Vec<u8>>> {
        match value {
            Value::Null => Ok(None),
            Value::Bytes(b) => Ok(Some(b.clone())),
            other => Err(ConnectError::conversion(format!(
                "ByteArrayConverter is not compatible with objects of type {}",
                kind(other)
            ))),
        }
    }

    fn decode(&self, _: &str, bytes: Option<&[u8]>) -> Result<(Option<Schema>, Value)> {
        let schema = Some(Schema::of(SchemaType::Bytes).optional());
        Ok((
            schema,
            bytes.map_or(Value::Null, |b| Value::Bytes(b.to_vec())),
        ))
    }
}

/// `IntegerConverter`, `LongConverter`, ...: big-endian numbers, as Kafka's
/// serializers (and ksqlDB's KAFKA format) write them.
pub struct NumberConverter(SchemaType);

impl Converter for NumberConverter {
    fn encode(&self, _: &str, _: Option<&Schema>, value: &Value) -> Result<Option<Vec<u8>>> {
        let bad = || {
            ConnectError::conversion(format!(
                "{} converter cannot serialize {}",
                self.0.name(),
                kind(value)
            ))
        };
        Ok(match (self.0, value) {
            (_, Value::Null) => None,
            (SchemaType::Int16, Value::Int(i)) => {
                Some(i16::try_from(*i).map_err(|_| bad())?.to_be_bytes().to_vec())
            }
            (SchemaType::Int32, Value::Int(i)) => {
                Some(i32::try_from(*i).map_err(|_| bad())?.to_be_bytes().to_vec())
            }
            (SchemaType::Int64, Value::Int(i)) => Some(i.to_be_bytes().to_vec()),
            (SchemaType::Float32, Value::Float(f)) => Some((*f as f32).to_be_bytes().to_vec()),
            (SchemaType::Float64, Value::Float(f)) => Some(f.to_be_bytes().to_vec()),
            (SchemaType::Float64, Value::Int(i)) => Some((*i as f64).to_be_bytes().to_vec()),
            _ => return Err(bad()),
        })
    }

    fn decode(&self, _: &str, bytes: Option<&[u8]>) -> Result<(Option<Schema>, Value)> {
        let schema = Some(Schema::of(self.0).optional());
        let Some(b) = bytes else {
            return Ok((schema, Value::Null));
        };
        let wrong = || {
            ConnectError::conversion(format!(
                "{} converter: {} bytes is the wrong size",
                self.0.name(),
                b.len()
            ))
        };
        let value = match self.0 {
            SchemaType::Int16 => {
                Value::Int(i16::from_be_bytes(b.try_into().map_err(|_| wrong())?) as i64)
            }
            SchemaType::Int32 => {
                Value::Int(i32::from_be_bytes(b.try_into().map_err(|_| wrong())?) as i64)
            }
            SchemaType::Int64 => Value::Int(i64::from_be_bytes(b.try_into().map_err(|_| wrong())?)),
            SchemaType::Float32 => {
                Value::Float(f32::from_be_bytes(b.try_into().map_err(|_| wrong())?) as f64)
            }
            _ => Value::Float(f64::from_be_bytes(b.try_into().map_err(|_| wrong())?)),
        };
        Ok((schema, value))
    }
}

/// `JsonConverter`: JSON text; with `schemas.enable` (Connect's default) an
/// envelope `{"schema": ..., "payload": ...}`. DECIMALs as base64 of their
/// unscaled bytes, or as numbers with `decimal.format=NUMERIC`.
pub struct JsonConverter {
    pub schemas: bool,
    pub decimal_numeric: bool,
    /// The last schema written and its JSON text.
    schema_text: std::sync::Mutex<Option<(Schema, String)>>,
}

impl Converter for JsonConverter {
    fn encode(&self, _: &str, schema: Option<&Schema>, value: &Value) -> Result<Option<Vec<u8>>> {
        if value.is_null() && !self.schemas {
            return Ok(None);
        }
        let mut out = Vec::with_capacity(128);
        if self.schemas {
            out.extend_from_slice(b"{\"schema\":");
            match schema {
                Some(s) => {
                    // a batch's records share a schema: its JSON is made once
                    let mut cached = self.schema_text.lock().unwrap_or_else(|e| e.into_inner());
                    if cached.as_ref().is_none_or(|(c, _)| c != s) {
                        *cached = Some((s.clone(), schema_json(s).to_string()));
                    }
                    out.extend_from_slice(cached.as_ref().expect("just set").1.as_bytes());
                }
                None => out.extend_from_slice(b"null"),
            }
            out.extend_from_slice(b",\"payload\":");
            self.write_value(value, &mut out);
            out.push(b'}');
        } else {
            self.write_value(value, &mut out);
        }
        Ok(Some(out))
    }

    fn decode(&self, _: &str, bytes: Option<&[u8]>) -> Result<(Option<Schema>, Value)> {
        let Some(bytes) = bytes else {
            return Ok((None, Value::Null));
        };
        let failed = |e: serde_json::Error| {
            ConnectError::conversion(format!(
                "Converting byte[] to Kafka Connect data failed due to serialization error: {e}"
            ))
        };
        if !self.schemas {
            return Ok((None, crate::schemaless::from_slice(bytes).map_err(failed)?));
        }
        let json: Json = serde_json::from_slice(bytes).map_err(failed)?;
        let envelope = json
            .as_object()
            .filter(|o| o.len() == 2 && o.contains_key("schema") && o.contains_key("payload"));
        let Some(envelope) = envelope else {
            return Err(ConnectError::conversion(
                "JsonConverter with schemas.enable requires \"schema\" and \"payload\" fields and may not contain additional fields. If you are trying to deserialize plain JSON data, set schemas.enable=false in your converter configuration.",
            ));
        };
        if envelope["schema"].is_null() {
            return Ok((None, schemaless(&envelope["payload"])));
        }
        let schema = parse_schema(&envelope["schema"])?;
        let value = typed(&schema, &envelope["payload"])?;
        Ok((Some(schema), value))
    }
}

impl JsonConverter {
    pub fn new(schemas: bool, decimal_numeric: bool) -> Self {
        JsonConverter {
            schemas,
            decimal_numeric,
            schema_text: std::sync::Mutex::new(None),
        }
    }

    /// `value` as JSON text straight into `out` (what `value_json` gives,
    /// without building the tree).
    fn write_value(&self, value: &Value, out: &mut Vec<u8>) {
        let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
        let string = |s: &str, out: &mut Vec<u8>| {
            let _ = serde_json::to_writer(&mut *out, s);
        };
        match value {
            Value::Null => out.extend_from_slice(b"null"),
            Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
            Value::Int(i) => {
                let _ = serde_json::to_writer(&mut *out, i);
            }
            Value::Float(f) if f.is_finite() => {
                let _ = serde_json::to_writer(&mut *out, f);
            }
            Value::Float(_) => out.extend_from_slice(b"null"),
            Value::Decimal(unscaled, scale) => {
                if self.decimal_numeric {
                    out.extend_from_slice(decimal_string(*unscaled, *scale).as_bytes());
                } else {
                    // base64 needs no escaping: straight between the quotes
                    let (bytes, start) = decimal_be(*unscaled);
                    let mut text = [0u8; 24];
                    let n = base64::engine::general_purpose::STANDARD
                        .encode_slice(&bytes[start..], &mut text)
                        .unwrap_or(0);
                    out.push(b'"');
                    out.extend_from_slice(&text[..n]);
                    out.push(b'"');
                }
            }
            Value::String(s) => string(s, out),
            Value::Bytes(b) => string(&b64(b), out),
            Value::Array(items) => {
                out.push(b'[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    self.write_value(v, out);
                }
                out.push(b']');
            }
            Value::Map(entries) if entries.iter().all(|(k, _)| matches!(k, Value::String(_))) => {
                out.push(b'{');
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    string(&k.display(), out);
                    out.push(b':');
                    self.write_value(v, out);
                }
                out.push(b'}');
            }
            Value::Map(entries) => {
                // Connect writes maps with other keys as [key, value] pairs
                out.push(b'[');
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    out.push(b'[');
                    self.write_value(k, out);
                    out.push(b',');
                    self.write_value(v, out);
                    out.push(b']');
                }
                out.push(b']');
            }
            Value::Struct(fields) => {
                out.push(b'{');
                for (i, (n, v)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    string(n, out);
                    out.push(b':');
                    self.write_value(v, out);
                }
                out.push(b'}');
            }
        }
    }

    #[cfg(test)]
    fn value_json(&self, value: &Value) -> Json {
        match value {
            Value::Null => Json::Null,
            Value::Bool(b) => Json::Bool(*b),
            Value::Int(i) => Json::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f).map_or(Json::Null, Json::Number),
            Value::Decimal(unscaled, scale) => {
                if self.decimal_numeric {
                    let text = decimal_string(*unscaled, *scale);
                    serde_json::from_str(&text).unwrap_or(Json::String(text))
                } else {
                    Json::String(
                        base64::engine::general_purpose::STANDARD
                            .encode(crate::data::decimal_bytes(*unscaled)),
                    )
                }
            }
            Value::String(s) => Json::String(s.clone()),
            Value::Bytes(b) => Json::String(base64::engine::general_purpose::STANDARD.encode(b)),
            Value::Array(items) => Json::Array(items.iter().map(|v| self.value_json(v)).collect()),
            Value::Map(entries) => {
                if entries.iter().all(|(k, _)| matches!(k, Value::String(_))) {
                    Json::Object(
                        entries
                            .iter()
                            .map(|(k, v)| (k.display(), self.value_json(v)))
                            .collect(),
                    )
                } else {
                    // Connect writes maps with other keys as [key, value] pairs
                    Json::Array(
                        entries
                            .iter()
                            .map(|(k, v)| json!([self.value_json(k), self.value_json(v)]))
                            .collect(),
                    )
                }
            }
            Value::Struct(fields) => Json::Object(
                fields
                    .iter()
                    .map(|(n, v)| (n.to_string(), self.value_json(v)))
                    .collect::<JsonMap<_, _>>(),
            ),
        }
    }
}

/// A schema as JsonConverter writes it.
pub fn schema_json(schema: &Schema) -> Json {
    let mut out = JsonMap::new();
    out.insert("type".into(), json!(schema.ty.name()));
    match schema.ty {
        SchemaType::Struct => {
            let fields: Vec<Json> = schema
                .fields
                .iter()
                .map(|f| {
                    let mut j = schema_json(&f.schema);
                    j["field"] = json!(f.name);
                    j
                })
                .collect();
            out.insert("fields".into(), Json::Array(fields));
        }
        SchemaType::Array => {
            if let Some(v) = &schema.value {
                out.insert("items".into(), schema_json(v));
            }
        }
        SchemaType::Map => {
            if let (Some(k), Some(v)) = (&schema.key, &schema.value) {
                out.insert("keys".into(), schema_json(k));
                out.insert("values".into(), schema_json(v));
            }
        }
        _ => {}
    }
    out.insert("optional".into(), json!(schema.optional));
    if let Some(name) = &schema.name {
        out.insert("name".into(), json!(name));
    }
    if let Some(version) = schema.version {
        out.insert("version".into(), json!(version));
    }
    if !schema.parameters.is_empty() {
        out.insert("parameters".into(), json!(schema.parameters));
    }
    Json::Object(out)
}

/// A schema from JsonConverter's form.
pub fn parse_schema(json: &Json) -> Result<Schema> {
    let bad =
        |what: &str| ConnectError::conversion(format!("Invalid JSON schema: {what} in {json}"));
    let ty = json
        .get("type")
        .and_then(Json::as_str)
        .and_then(SchemaType::from_name)
        .ok_or_else(|| bad("unknown or missing \"type\""))?;
    let mut schema = Schema::of(ty);
    schema.optional = json
        .get("optional")
        .and_then(Json::as_bool)
        .unwrap_or(false);
    schema.name = json.get("name").and_then(Json::as_str).map(str::to_string);
    schema.version = json.get("version").and_then(Json::as_i64).map(|v| v as i32);
    if let Some(params) = json.get("parameters").and_then(Json::as_object) {
        for (k, v) in params {
            let v = v.as_str().map_or_else(|| v.to_string(), str::to_string);
            schema.parameters.insert(k.clone(), v);
        }
    }
    match ty {
        SchemaType::Struct => {
            for f in json
                .get("fields")
                .and_then(Json::as_array)
                .ok_or_else(|| bad("a struct without \"fields\""))?
            {
                let name = f
                    .get("field")
                    .and_then(Json::as_str)
                    .ok_or_else(|| bad("a field without a name"))?;
                schema.fields.push(Field::new(name, parse_schema(f)?));
            }
        }
        SchemaType::Array => {
            schema.value = Some(Box::new(parse_schema(
                json.get("items")
                    .ok_or_else(|| bad("an array without \"items\""))?,
            )?));
        }
        SchemaType::Map => {
            schema.key = Some(Box::new(parse_schema(
                json.get("keys")
                    .ok_or_else(|| bad("a map without \"keys\""))?,
            )?));
            schema.value = Some(Box::new(parse_schema(
                json.get("values")
                    .ok_or_else(|| bad("a map without \"values\""))?,
            )?));
        }
        _ => {}
    }
    Ok(schema)
}

/// A JSON payload read by its schema.
fn typed(schema: &Schema, json: &Json) -> Result<Value> {
    let mismatch = || {
        ConnectError::conversion(format!(
            "JSON value {json} does not match schema type {}",
            schema.ty.name()
        ))
    };
    if json.is_null() {
        return if schema.optional {
            Ok(Value::Null)
        } else {
            Err(ConnectError::conversion(format!(
                "Invalid null value for required {} field",
                schema.ty.name()
            )))
        };
    }
    if let Some(scale) = schema.decimal_scale() {
        return match json {
            Json::String(s) => base64::engine::general_purpose::STANDARD
                .decode(s)
                .ok()
                .and_then(|b| decimal_from_bytes(&b))
                .map(|u| Value::Decimal(u, scale))
                .ok_or_else(mismatch),
            Json::Number(n) => parse_decimal(&n.to_string(), scale)
                .map(|u| Value::Decimal(u, scale))
                .ok_or_else(mismatch),
            _ => Err(mismatch()),
        };
    }
    Ok(match schema.ty {
        SchemaType::Int8 | SchemaType::Int16 | SchemaType::Int32 | SchemaType::Int64 => {
            Value::Int(json.as_i64().ok_or_else(mismatch)?)
        }
        SchemaType::Float32 | SchemaType::Float64 => {
            Value::Float(json.as_f64().ok_or_else(mismatch)?)
        }
        SchemaType::Boolean => Value::Bool(json.as_bool().ok_or_else(mismatch)?),
        SchemaType::String => Value::String(json.as_str().ok_or_else(mismatch)?.to_string()),
        SchemaType::Bytes => Value::Bytes(
            base64::engine::general_purpose::STANDARD
                .decode(json.as_str().ok_or_else(mismatch)?)
                .map_err(|_| mismatch())?,
        ),
        SchemaType::Array => {
            let element = schema.value.as_deref().ok_or_else(mismatch)?;
            Value::Array(
                json.as_array()
                    .ok_or_else(mismatch)?
                    .iter()
                    .map(|v| typed(element, v))
                    .collect::<Result<_>>()?,
            )
        }
        SchemaType::Map => {
            let (k, v) = (
                schema.key.as_deref().ok_or_else(mismatch)?,
                schema.value.as_deref().ok_or_else(mismatch)?,
            );
            match json {
                Json::Object(o) => Value::Map(
                    o.iter()
                        .map(|(key, val)| Ok((Value::String(key.clone()), typed(v, val)?)))
                        .collect::<Result<_>>()?,
                ),
                Json::Array(pairs) => Value::Map(
                    pairs
                        .iter()
                        .map(|p| match p.as_array().map(Vec::as_slice) {
                            Some([key, val]) => Ok((typed(k, key)?, typed(v, val)?)),
                            _ => Err(mismatch()),
                        })
                        .collect::<Result<_>>()?,
                ),
                _ => return Err(mismatch()),
            }
        }
        SchemaType::Struct => {
            let o = json.as_object().ok_or_else(mismatch)?;
            Value::Struct(
                schema
                    .fields
                    .iter()
                    .map(|f| {
                        Ok((
                            f.name.as_str().into(),
                            typed(&f.schema, o.get(&f.name).unwrap_or(&Json::Null))?,
                        ))
                    })
                    .collect::<Result<_>>()?,
            )
        }
    })
}

/// Schemaless JSON as Connect reads it: objects become maps.
fn schemaless(json: &Json) -> Value {
    match json {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Json::String(s) => Value::String(s.clone()),
        Json::Array(items) => Value::Array(items.iter().map(schemaless).collect()),
        Json::Object(o) => Value::Map(
            o.iter()
                .map(|(k, v)| (Value::String(k.clone()), schemaless(v)))
                .collect(),
        ),
    }
}

/// The logical type a schema names, for messages.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "Boolean",
        Value::Int(_) => "Long",
        Value::Float(_) => "Double",
        Value::Decimal(..) => "BigDecimal",
        Value::String(_) => "String",
        Value::Bytes(_) => "byte[]",
        Value::Array(_) => "List",
        Value::Map(_) => "Map",
        Value::Struct(_) => "Struct",
    }
}

/// Whether a schema is one of Connect's date/time logical types.
pub fn is_temporal(schema: &Schema) -> bool {
    matches!(schema.name.as_deref(), Some(DATE | TIME | TIMESTAMP))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row() -> (Schema, Value) {
        let schema = Schema::structure(vec![
            Field::new("id", Schema::of(SchemaType::Int32)),
            Field::new("name", Schema::of(SchemaType::String).optional()),
            Field::new("price", Schema::decimal(2)),
        ]);
        let value = Value::Struct(vec![
            ("id".into(), Value::Int(7)),
            ("name".into(), Value::Null),
            ("price".into(), Value::Decimal(1999, 2)),
        ]);
        (schema, value)
    }

    #[test]
    fn json_with_schemas_round_trips() {
        let c = JsonConverter::new(true, false);
        let (schema, value) = row();
        let bytes = c.encode("t", Some(&schema), &value).unwrap().unwrap();
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(
            text.starts_with("{\"schema\":{\"type\":\"struct\""),
            "{text}"
        );
        let (back_schema, back) = c.decode("t", Some(&bytes)).unwrap();
        assert_eq!(back_schema.unwrap(), schema);
        assert_eq!(back, value);
    }

    #[test]
    fn json_is_written_as_serde_json_writes_it() {
        let v = Value::Struct(vec![
            ("s".into(), Value::String("a \"quoted\"\n\u{1}line".into())),
            ("f".into(), Value::Float(3.0)),
            ("g".into(), Value::Float(-0.25e-10)),
            ("nan".into(), Value::Float(f64::NAN)),
            ("b".into(), Value::Bytes(vec![0, 255])),
            ("d".into(), Value::Decimal(-5, 3)),
            (
                "m".into(),
                Value::Map(vec![(
                    Value::Int(1),
                    Value::Array(vec![Value::Bool(true), Value::Null]),
                )]),
            ),
            (
                "o".into(),
                Value::Map(vec![(Value::String("k".into()), Value::Int(-9))]),
            ),
        ]);
        for c in [
            JsonConverter::new(false, false),
            JsonConverter::new(false, true),
        ] {
            let mut out = Vec::new();
            c.write_value(&v, &mut out);
            assert_eq!(
                String::from_utf8(out).unwrap(),
                c.value_json(&v).to_string()
            );
        }
    }

    #[test]
    fn plain_json_and_numeric_decimals() {
        let c = JsonConverter::new(false, true);
        let (schema, value) = row();
        let bytes = c.encode("t", Some(&schema), &value).unwrap().unwrap();
        assert_eq!(
            String::from_utf8(bytes).unwrap(),
            r#"{"id":7,"name":null,"price":19.99}"#
        );
        let (_, v) = c.decode("t", Some(br#"{"a":1}"#)).unwrap();
        assert_eq!(v.get("a"), Some(&Value::Int(1)));
        let e = JsonConverter::new(true, false)
            .decode("t", Some(br#"{"a":1}"#))
            .unwrap_err()
            .to_string();
        assert!(e.contains("schemas.enable=false"), "{e}");
    }

    #[test]
    fn converters_are_chosen_by_class() {
        let none = ConnectorConfig::default();
        let mut c = ConnectorConfig::default();
        c.set(
            "key.converter",
            "org.apache.kafka.connect.converters.IntegerConverter",
        );
        let k = converter_for("key", &c, &none, STRING_CONVERTER, None).unwrap();
        assert_eq!(
            k.encode("t", None, &Value::Int(5)).unwrap(),
            Some(vec![0, 0, 0, 5])
        );
        c.set("value.converter", "com.example.Nope");
        let e = converter_for("value", &c, &none, JSON_CONVERTER, None)
            .err()
            .unwrap()
            .to_string();
        assert!(
            e.contains("com.example.Nope") && e.starts_with("value.converter"),
            "{e}"
        );
    }
}
