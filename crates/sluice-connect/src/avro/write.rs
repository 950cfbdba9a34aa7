//! Connect to Avro: the schema `AvroData.fromConnectSchema` writes (key
//! order, `connect.*` properties, unions with null for optional schemas) and
//! a value as the datum of that schema.

use std::collections::HashMap;

use apache_avro::types::Value as Avro;
use serde_json::{json, Map as JsonMap, Value as Json};

use super::{split_name, CONNECT_DEFAULT, MAP_ENTRY, NAMESPACE, PRECISION};
use crate::data::{decimal_be, Schema, SchemaType, Value};
use crate::data::{DATE, DECIMAL, TIME, TIMESTAMP};

/// The Avro schema `AvroData.fromConnectSchema` makes of `schema`.
pub fn avro_schema(schema: &Schema) -> Json {
    let mut unnamed = 0;
    with_optional(schema, &mut unnamed)
}

/// `schema` as a union with null when it is optional.
fn with_optional(schema: &Schema, unnamed: &mut usize) -> Json {
    let base = base_schema(schema, unnamed);
    if schema.optional {
        json!(["null", base])
    } else {
        base
    }
}

fn base_schema(schema: &Schema, unnamed: &mut usize) -> Json {
    let mut props = JsonMap::new();
    let primitive = |name: &str| Json::String(name.to_string());
    let mut out = match schema.ty {
        SchemaType::Int8 | SchemaType::Int16 | SchemaType::Int32 => primitive("int"),
        SchemaType::Int64 => primitive("long"),
        SchemaType::Float32 => primitive("float"),
        SchemaType::Float64 => primitive("double"),
        SchemaType::Boolean => primitive("boolean"),
        SchemaType::String => primitive("string"),
        SchemaType::Bytes => primitive("bytes"),
        SchemaType::Array => {
            let items = schema
                .value
                .as_deref()
                .map_or(Json::Null, |v| with_optional(v, unnamed));
            json!({"type": "array", "items": items})
        }
        SchemaType::Map => {
            let key = schema.key.as_deref();
            let value = schema.value.as_deref();
            let string_keys = key.is_some_and(|k| k.ty == SchemaType::String && !k.optional);
            let value_json = value.map_or(Json::Null, |v| with_optional(v, unnamed));
            if string_keys {
                json!({"type": "map", "values": value_json})
            } else {
                let key_json = key.map_or(Json::Null, |k| with_optional(k, unnamed));
                let mut entry = record(schema.name.as_deref(), || MAP_ENTRY.to_string());
                let fields = [("key", key, key_json), ("value", value, value_json)]
                    .into_iter()
                    .map(|(name, s, ty)| field_json(name, s.is_some_and(|s| s.optional), ty))
                    .collect::<Vec<_>>();
                entry.insert("fields".into(), Json::Array(fields));
                if schema.name.is_some() {
                    entry.insert("connect.internal.type".into(), json!(MAP_ENTRY));
                }
                json!({"type": "array", "items": Json::Object(entry)})
            }
        }
        SchemaType::Struct => {
            let mut record = record(schema.name.as_deref(), || {
                *unnamed += 1;
                if *unnamed == 1 {
                    CONNECT_DEFAULT.to_string()
                } else {
                    format!("{CONNECT_DEFAULT}{unnamed}")
                }
            });
            let fields = schema
                .fields
                .iter()
                .map(|f| {
                    let ty = with_optional(&f.schema, unnamed);
                    field_json(&f.name, f.schema.optional, ty)
                })
                .collect();
            record.insert("fields".into(), Json::Array(fields));
            Json::Object(record)
        }
    };
    if let Some(scale) = schema.decimal_scale() {
        let precision = schema
            .parameters
            .get(PRECISION)
            .and_then(|p| p.parse::<i64>().ok())
            .unwrap_or(64);
        props.insert("scale".into(), json!(scale));
        props.insert("precision".into(), json!(precision));
    }
    if let Some(v) = schema.version {
        props.insert("connect.version".into(), json!(v));
    }
    if !schema.parameters.is_empty() {
        let params: JsonMap<String, Json> = schema
            .parameters
            .iter()
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect();
        props.insert("connect.parameters".into(), Json::Object(params));
    }
    if let Some(name) = &schema.name {
        props.insert("connect.name".into(), json!(name));
    }
    match schema.ty {
        SchemaType::Int8 => {
            props.insert("connect.type".into(), json!("int8"));
        }
        SchemaType::Int16 => {
            props.insert("connect.type".into(), json!("int16"));
        }
        _ => {}
    }
    let logical = match schema.name.as_deref() {
        Some(n) if n.eq_ignore_ascii_case(DECIMAL) => Some("decimal"),
        Some(n) if n.eq_ignore_ascii_case(DATE) => Some("date"),
        Some(n) if n.eq_ignore_ascii_case(TIME) => Some("time-millis"),
        Some(n) if n.eq_ignore_ascii_case(TIMESTAMP) => Some("timestamp-millis"),
        _ => None,
    };
    if let Some(l) = logical {
        props.insert("logicalType".into(), json!(l));
    }
    if props.is_empty() {
        return out;
    }
    if let Json::String(ty) = &out {
        out = json!({ "type": ty });
    }
    if let Json::Object(o) = &mut out {
        o.extend(props);
    }
    out
}

/// A record's `type`, `name` and `namespace`: its Connect name split at the
/// last dot, or `unnamed()` in Connect's Avro namespace.
fn record(name: Option<&str>, unnamed: impl FnOnce() -> String) -> JsonMap<String, Json> {
    let mut record = JsonMap::new();
    record.insert("type".into(), json!("record"));
    let (ns, short) = match name {
        Some(name) => {
            let (ns, short) = split_name(name);
            (ns.map(str::to_string), short.to_string())
        }
        None => (Some(NAMESPACE.to_string()), unnamed()),
    };
    record.insert("name".into(), json!(short));
    if let Some(ns) = ns {
        record.insert("namespace".into(), json!(ns));
    }
    record
}

fn field_json(name: &str, optional: bool, ty: Json) -> Json {
    let mut f = JsonMap::new();
    f.insert("name".into(), json!(name));
    f.insert("type".into(), ty);
    if optional {
        f.insert("default".into(), Json::Null);
    }
    Json::Object(f)
}

pub(super) fn bytes_of(schema: &Schema, value: &Value) -> std::result::Result<Vec<u8>, String> {
    match (schema.decimal_scale(), value) {
        (Some(scale), Value::Decimal(u, s)) => {
            let unscaled = rescale(*u, *s, scale)?;
            let (bytes, start) = decimal_be(unscaled);
            Ok(bytes[start..].to_vec())
        }
        (None, Value::Bytes(b)) => Ok(b.clone()),
        (_, other) => Err(format!("{} is not {}", other.display(), describe(schema))),
    }
}

/// A decimal's unscaled value at the schema's scale (Connect insists they
/// match; a smaller scale widens exactly).
fn rescale(unscaled: i128, scale: u32, to: u32) -> std::result::Result<i128, String> {
    match scale.cmp(&to) {
        std::cmp::Ordering::Equal => Ok(unscaled),
        std::cmp::Ordering::Less => 10i128
            .checked_pow(to - scale)
            .and_then(|f| unscaled.checked_mul(f))
            .ok_or_else(|| "a DECIMAL too wide for its schema".to_string()),
        std::cmp::Ordering::Greater => Err(format!(
            "BigDecimal has mismatching scale value for given Decimal schema: {scale} instead of {to}"
        )),
    }
}

fn describe(schema: &Schema) -> String {
    schema
        .name
        .clone()
        .unwrap_or_else(|| schema.ty.name().to_string())
}

/// `value` as the Avro datum of [`avro_schema`]`(schema)`.
pub(super) fn to_avro(schema: &Schema, value: &Value) -> std::result::Result<Avro, String> {
    if schema.optional {
        return Ok(match value {
            Value::Null => Avro::Union(0, Box::new(Avro::Null)),
            v => Avro::Union(1, Box::new(to_base_avro(schema, v)?)),
        });
    }
    if value.is_null() {
        return Err("Found null value for non-optional schema".into());
    }
    to_base_avro(schema, value)
}

fn to_base_avro(schema: &Schema, value: &Value) -> std::result::Result<Avro, String> {
    let mismatch = || format!("{} is not {}", value.display(), describe(schema));
    let logical = schema.name.as_deref();
    Ok(match (schema.ty, value) {
        (SchemaType::Int32, Value::Int(v)) if logical == Some(DATE) => Avro::Date(int(*v)?),
        (SchemaType::Int32, Value::Int(v)) if logical == Some(TIME) => Avro::TimeMillis(int(*v)?),
        (SchemaType::Int64, Value::Int(v)) if logical == Some(TIMESTAMP) => {
            Avro::TimestampMillis(*v)
        }
        (SchemaType::Int8 | SchemaType::Int16 | SchemaType::Int32, Value::Int(v)) => {
            Avro::Int(int(*v)?)
        }
        (SchemaType::Int64, Value::Int(v)) => Avro::Long(*v),
        (SchemaType::Float32, Value::Float(f)) => Avro::Float(*f as f32),
        (SchemaType::Float64, Value::Float(f)) => Avro::Double(*f),
        (SchemaType::Float32, Value::Int(i)) => Avro::Float(*i as f32),
        (SchemaType::Float64, Value::Int(i)) => Avro::Double(*i as f64),
        (SchemaType::Boolean, Value::Bool(b)) => Avro::Boolean(*b),
        (SchemaType::String, Value::String(s)) => Avro::String(s.clone()),
        (SchemaType::Bytes, _) if schema.decimal_scale().is_some() => {
            Avro::Decimal(apache_avro::Decimal::from(bytes_of(schema, value)?))
        }
        (SchemaType::Bytes, Value::Bytes(b)) => Avro::Bytes(b.clone()),
        (SchemaType::Array, Value::Array(items)) => {
            let element = schema.value.as_deref().ok_or_else(mismatch)?;
            Avro::Array(
                items
                    .iter()
                    .map(|v| to_avro(element, v))
                    .collect::<std::result::Result<_, _>>()?,
            )
        }
        (SchemaType::Map, Value::Map(entries)) => {
            let (key, val) = match (schema.key.as_deref(), schema.value.as_deref()) {
                (Some(k), Some(v)) => (k, v),
                _ => return Err(mismatch()),
            };
            if key.ty == SchemaType::String && !key.optional {
                let mut map = HashMap::with_capacity(entries.len());
                for (k, v) in entries {
                    let Value::String(k) = k else {
                        return Err(mismatch());
                    };
                    map.insert(k.clone(), to_avro(val, v)?);
                }
                Avro::Map(map)
            } else {
                Avro::Array(
                    entries
                        .iter()
                        .map(|(k, v)| {
                            Ok(Avro::Record(vec![
                                ("key".into(), to_avro(key, k)?),
                                ("value".into(), to_avro(val, v)?),
                            ]))
                        })
                        .collect::<std::result::Result<_, String>>()?,
                )
            }
        }
        (SchemaType::Struct, Value::Struct(fields)) => {
            let mut out = Vec::with_capacity(schema.fields.len());
            for f in &schema.fields {
                let v = fields
                    .iter()
                    .find(|(n, _)| **n == *f.name)
                    .map_or(&Value::Null, |(_, v)| v);
                out.push((
                    f.name.clone(),
                    to_avro(&f.schema, v).map_err(|e| format!("field {}: {e}", f.name))?,
                ));
            }
            Avro::Record(out)
        }
        (SchemaType::Struct, Value::Map(entries)) => {
            // schemaless-looking data under a struct schema: by field name
            let mut out = Vec::with_capacity(schema.fields.len());
            for f in &schema.fields {
                let v = entries
                    .iter()
                    .find(|(k, _)| matches!(k, Value::String(s) if *s == f.name))
                    .map_or(&Value::Null, |(_, v)| v);
                out.push((f.name.clone(), to_avro(&f.schema, v)?));
            }
            Avro::Record(out)
        }
        _ => return Err(mismatch()),
    })
}

fn int(v: i64) -> std::result::Result<i32, String> {
    i32::try_from(v).map_err(|_| format!("{v} does not fit in an Avro int"))
}
