//! Avro to Connect: the Connect schema `AvroData.toConnectSchema` reads from
//! an Avro schema's JSON (its `connect.*` properties honoured) and a datum
//! as Connect data of that schema.

use std::collections::HashMap;

use apache_avro::types::Value as Avro;
use serde_json::{Map as JsonMap, Value as Json};

use super::{split_name, CONNECT_DEFAULT, MAP_ENTRY, NAMESPACE, PRECISION};
use crate::data::{decimal_from_bytes, Field, Schema, SchemaType, Value};
use crate::data::{DATE, TIME, TIMESTAMP};

/// The Connect schema `AvroData.toConnectSchema` reads from an Avro schema
/// (its JSON), with `connect.*` properties honoured; `named` holds the
/// named types seen so far for references to them.
pub(super) fn connect_schema(
    json: &Json,
    namespace: Option<&str>,
    named: &mut HashMap<String, Schema>,
) -> std::result::Result<Schema, String> {
    match json {
        Json::String(name) => primitive(name)
            .or_else(|| {
                named
                    .get(name.as_str())
                    .or_else(|| namespace.and_then(|ns| named.get(&format!("{ns}.{name}"))))
                    .cloned()
            })
            .ok_or_else(|| format!("unknown Avro type {name}")),
        Json::Array(branches) => {
            let non_null: Vec<&Json> = branches.iter().filter(|b| *b != "null").collect();
            let nullable = non_null.len() < branches.len();
            match non_null.as_slice() {
                [] => Err("Standalone null schemas are not supported by this converter".into()),
                [only] => {
                    let mut s = connect_schema(only, namespace, named)?;
                    s.optional |= nullable;
                    Ok(s)
                }
                many => {
                    // a general union: a struct with one field per branch
                    let mut fields = Vec::with_capacity(many.len());
                    for b in many {
                        let s = connect_schema(b, namespace, named)?;
                        let name = union_field_name(b, &s);
                        fields.push(Field::new(&name, s.optional()));
                    }
                    let mut s = Schema::structure(fields).named("io.confluent.connect.avro.Union");
                    s.optional = nullable;
                    Ok(s)
                }
            }
        }
        Json::Object(o) => {
            let ty = o.get("type").ok_or("an Avro schema without a type")?;
            let mut s = match ty.as_str() {
                Some("record") => {
                    let (full, ns) = full_name(o, namespace)?;
                    let mut fields = Vec::new();
                    for f in o
                        .get("fields")
                        .and_then(Json::as_array)
                        .into_iter()
                        .flatten()
                    {
                        let name = f["name"].as_str().ok_or("a field without a name")?;
                        let fs = connect_schema(&f["type"], ns.as_deref(), named)?;
                        fields.push(Field::new(name, fs));
                    }
                    let mut s = Schema::structure(fields);
                    if !full.starts_with(&format!("{NAMESPACE}.{CONNECT_DEFAULT}")) {
                        s.name = Some(full.clone());
                    }
                    named.insert(full, s.clone());
                    s
                }
                Some("array") => {
                    let items = connect_schema(&o["items"], namespace, named)?;
                    let entry = items.ty == SchemaType::Struct
                        && items.fields.len() == 2
                        && items.fields[0].name == "key"
                        && items.fields[1].name == "value"
                        && is_map_entry(&o["items"]);
                    if entry {
                        Schema::map(
                            items.fields[0].schema.clone(),
                            items.fields[1].schema.clone(),
                        )
                    } else {
                        Schema::array(items)
                    }
                }
                Some("map") => Schema::map(
                    Schema::of(SchemaType::String),
                    connect_schema(&o["values"], namespace, named)?,
                ),
                Some("enum") => {
                    let (full, _) = full_name(o, namespace)?;
                    let s = Schema::of(SchemaType::String);
                    named.insert(full, s.clone());
                    s
                }
                Some("fixed") => {
                    let (full, _) = full_name(o, namespace)?;
                    let mut s = Schema::of(SchemaType::Bytes);
                    if let Some(size) = o.get("size").and_then(Json::as_i64) {
                        s.parameters
                            .insert("connect.fixed.size".into(), size.to_string());
                    }
                    s.name = Some(full.clone());
                    named.insert(full, s.clone());
                    s
                }
                Some(other) => {
                    primitive(other).ok_or_else(|| format!("unknown Avro type {other}"))?
                }
                None => connect_schema(ty, namespace, named)?,
            };
            // logical types and Connect's own properties
            match o.get("logicalType").and_then(Json::as_str) {
                Some("decimal") if matches!(s.ty, SchemaType::Bytes) => {
                    let scale = o.get("scale").and_then(Json::as_u64).unwrap_or(0) as u32;
                    let precision = o.get("precision").and_then(Json::as_u64);
                    s = Schema::decimal(scale);
                    if let Some(p) = precision.filter(|p| *p != 64) {
                        s.parameters.insert(PRECISION.into(), p.to_string());
                    }
                }
                Some("date") if s.ty == SchemaType::Int32 => s = logical(SchemaType::Int32, DATE),
                Some("time-millis") if s.ty == SchemaType::Int32 => {
                    s = logical(SchemaType::Int32, TIME)
                }
                Some("timestamp-millis") if s.ty == SchemaType::Int64 => {
                    s = logical(SchemaType::Int64, TIMESTAMP)
                }
                _ => {}
            }
            match o.get("connect.type").and_then(Json::as_str) {
                Some("int8") if s.ty == SchemaType::Int32 => s.ty = SchemaType::Int8,
                Some("int16") if s.ty == SchemaType::Int32 => s.ty = SchemaType::Int16,
                _ => {}
            }
            if let Some(v) = o.get("connect.version").and_then(Json::as_i64) {
                s.version = Some(v as i32);
            }
            if let Some(Json::Object(params)) = o.get("connect.parameters") {
                for (k, v) in params {
                    if let Some(v) = v.as_str() {
                        s.parameters.insert(k.clone(), v.to_string());
                    }
                }
            }
            if let Some(name) = o.get("connect.name").and_then(Json::as_str) {
                s.name = Some(name.to_string());
            }
            Ok(s)
        }
        other => Err(format!("an Avro schema cannot be {other}")),
    }
}

fn logical(ty: SchemaType, name: &str) -> Schema {
    let mut s = Schema::of(ty).named(name);
    s.version = Some(1);
    s
}

fn primitive(name: &str) -> Option<Schema> {
    Some(Schema::of(match name {
        "int" => SchemaType::Int32,
        "long" => SchemaType::Int64,
        "float" => SchemaType::Float32,
        "double" => SchemaType::Float64,
        "boolean" => SchemaType::Boolean,
        "string" => SchemaType::String,
        "bytes" => SchemaType::Bytes,
        _ => return None,
    }))
}

fn is_map_entry(items: &Json) -> bool {
    let full = match (
        items.get("namespace").and_then(Json::as_str),
        items.get("name").and_then(Json::as_str),
    ) {
        (Some(ns), Some(n)) => format!("{ns}.{n}"),
        (None, Some(n)) => n.to_string(),
        _ => return false,
    };
    full == format!("{NAMESPACE}.{MAP_ENTRY}")
        || items.get("connect.internal.type").and_then(Json::as_str) == Some(MAP_ENTRY)
}

/// A named type's full name and the namespace its members inherit.
fn full_name(
    o: &JsonMap<String, Json>,
    namespace: Option<&str>,
) -> std::result::Result<(String, Option<String>), String> {
    let name = o
        .get("name")
        .and_then(Json::as_str)
        .ok_or("a named Avro type without a name")?;
    if name.contains('.') {
        let (ns, _) = split_name(name);
        return Ok((name.to_string(), ns.map(str::to_string)));
    }
    let ns = o
        .get("namespace")
        .and_then(Json::as_str)
        .map(str::to_string)
        .or_else(|| namespace.map(str::to_string))
        .filter(|ns| !ns.is_empty());
    Ok((
        ns.as_ref()
            .map_or(name.to_string(), |ns| format!("{ns}.{name}")),
        ns,
    ))
}

fn union_field_name(branch: &Json, schema: &Schema) -> String {
    match branch {
        Json::String(s) => s.rsplit('.').next().unwrap_or(s).to_string(),
        Json::Object(o) => match o.get("name").and_then(Json::as_str) {
            Some(n) => n.rsplit('.').next().unwrap_or(n).to_string(),
            None => o
                .get("type")
                .and_then(Json::as_str)
                .unwrap_or(schema.ty.name())
                .to_string(),
        },
        _ => schema.ty.name().to_string(),
    }
}

/// An Avro datum as Connect data of `schema` (what [`connect_schema`] read).
pub(super) fn from_avro(schema: &Schema, value: Avro) -> std::result::Result<Value, String> {
    let value = match value {
        Avro::Union(_, v) if schema.name.as_deref() != Some("io.confluent.connect.avro.Union") => {
            *v
        }
        v => v,
    };
    Ok(match value {
        Avro::Null => Value::Null,
        Avro::Boolean(b) => Value::Bool(b),
        Avro::Int(i) | Avro::Date(i) | Avro::TimeMillis(i) => Value::Int(i as i64),
        Avro::Long(i) | Avro::TimestampMillis(i) => Value::Int(i),
        Avro::TimeMicros(i) | Avro::TimestampMicros(i) => Value::Int(i / 1000),
        Avro::Float(f) => Value::Float(f as f64),
        Avro::Double(f) => Value::Float(f),
        Avro::String(s) | Avro::Enum(_, s) => Value::String(s),
        Avro::Bytes(b) | Avro::Fixed(_, b) => Value::Bytes(b),
        Avro::Decimal(d) => {
            let bytes = <Vec<u8>>::try_from(&d).map_err(|e| e.to_string())?;
            let unscaled = decimal_from_bytes(&bytes).ok_or("a DECIMAL wider than 16 bytes")?;
            Value::Decimal(unscaled, schema.decimal_scale().unwrap_or(0))
        }
        Avro::Array(items) => match schema.ty {
            SchemaType::Map => {
                let (k, v) = match (schema.key.as_deref(), schema.value.as_deref()) {
                    (Some(k), Some(v)) => (k, v),
                    _ => return Err("a map schema without its key and value".into()),
                };
                let mut entries = Vec::with_capacity(items.len());
                for item in items {
                    let Avro::Record(mut kv) = item else {
                        return Err("a map entry that is not a record".into());
                    };
                    let value = kv.pop().map(|(_, v)| v).unwrap_or(Avro::Null);
                    let key = kv.pop().map(|(_, v)| v).unwrap_or(Avro::Null);
                    entries.push((from_avro(k, key)?, from_avro(v, value)?));
                }
                Value::Map(entries)
            }
            _ => {
                let element = schema
                    .value
                    .as_deref()
                    .ok_or("an array schema without items")?;
                Value::Array(
                    items
                        .into_iter()
                        .map(|v| from_avro(element, v))
                        .collect::<std::result::Result<_, _>>()?,
                )
            }
        },
        Avro::Map(map) => {
            let element = schema
                .value
                .as_deref()
                .ok_or("a map schema without values")?;
            let mut entries: Vec<(Value, Value)> = Vec::with_capacity(map.len());
            for (k, v) in map {
                entries.push((Value::String(k), from_avro(element, v)?));
            }
            Value::Map(entries)
        }
        Avro::Record(fields) => {
            let mut out = Vec::with_capacity(fields.len());
            for ((name, v), f) in fields.into_iter().zip(&schema.fields) {
                out.push((
                    crate::data::Name::from(name.as_str()),
                    from_avro(&f.schema, v)?,
                ));
            }
            Value::Struct(out)
        }
        Avro::Union(index, v) => {
            // a general union: the struct with the branch's field set
            let mut out: Vec<(crate::data::Name, Value)> = schema
                .fields
                .iter()
                .map(|f| (crate::data::Name::from(f.name.as_str()), Value::Null))
                .collect();
            // the branches are the fields, after a null first when optional
            let at = (index as usize).saturating_sub(usize::from(schema.optional));
            if at < out.len() && !matches!(*v, Avro::Null) {
                let f = &schema.fields[at];
                out[at].1 = from_avro(&f.schema, *v)?;
            }
            Value::Struct(out)
        }
        other => return Err(format!("an Avro value Sluice does not read: {other:?}")),
    })
}
