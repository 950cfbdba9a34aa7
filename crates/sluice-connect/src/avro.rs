//! Confluent's `io.confluent.connect.avro.AvroConverter`: Connect data as Avro
//! in Confluent's wire format (magic byte 0, the schema's registry id in 4
//! big-endian bytes, the Avro binary), its schema registered under
//! `<topic>-key` / `<topic>-value` as Confluent's `AvroData` writes it (with
//! its `connect.*` properties, so the Connect schema comes back whole), and
//! read back by the id a record carries.
//!
//! The schema text is built here, in `AvroData`'s layout (key order, unions
//! `["null", T]` for optional schemas with `"default": null` on their fields,
//! `ConnectDefault` for unnamed structs, `MapEntry` records for maps whose
//! keys are not strings); the Avro binary is written and read by the
//! `apache-avro` crate.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use apache_avro::types::Value as Avro;
use serde_json::{json, Map as JsonMap, Value as Json};

use crate::convert::Converter;
use crate::data::{decimal_be, decimal_from_bytes, Field, Schema, SchemaType, Value};
use crate::data::{DATE, DECIMAL, TIME, TIMESTAMP};
use crate::error::{ConnectError, Result};

pub const AVRO_CONVERTER: &str = "io.confluent.connect.avro.AvroConverter";

/// A schema registry as the converter uses it: Avro schema text in, ids out.
pub trait Registry: Send + Sync {
    /// Registers `schema` under `subject` (the same text keeps its id).
    fn register(&self, subject: &str, schema: &str) -> std::result::Result<i32, String>;
    /// The schema text with this id.
    fn schema(&self, id: i32) -> std::result::Result<String, String>;
}

/// The registry a converter's `schema.registry.url` names.
pub type Registries = Arc<dyn Fn(&str) -> Result<Arc<dyn Registry>> + Send + Sync>;

const NAMESPACE: &str = "io.confluent.connect.avro";
const CONNECT_DEFAULT: &str = "ConnectDefault";
const MAP_ENTRY: &str = "MapEntry";
const PRECISION: &str = "connect.decimal.precision";

pub struct AvroConverter {
    /// `schema.registry.url`, and what finds the registry it names (on the
    /// first record, as Connect's converter first reaches its registry).
    url: String,
    registries: Option<Registries>,
    registry: std::sync::OnceLock<Arc<dyn Registry>>,
    key: bool,
    /// The last schema written: its Avro form and id (a batch shares one).
    written: Mutex<Option<Written>>,
    /// The schemas read, by id.
    read: Mutex<HashMap<i32, Arc<Read>>>,
}

struct Written {
    schema: Schema,
    avro: apache_avro::Schema,
    id: i32,
}

struct Read {
    avro: apache_avro::Schema,
    connect: Schema,
}

impl AvroConverter {
    /// The converter of a key (or value) whose registry is at `url`.
    pub fn new(url: &str, registries: Option<Registries>, key: bool) -> AvroConverter {
        AvroConverter {
            url: url.to_string(),
            registries,
            registry: std::sync::OnceLock::new(),
            key,
            written: Mutex::new(None),
            read: Mutex::new(HashMap::new()),
        }
    }

    /// The converter over `registry` itself.
    pub fn with_registry(registry: Arc<dyn Registry>, key: bool) -> AvroConverter {
        let c = AvroConverter::new("", None, key);
        let _ = c.registry.set(registry);
        c
    }

    fn registry(&self) -> std::result::Result<&Arc<dyn Registry>, String> {
        if let Some(r) = self.registry.get() {
            return Ok(r);
        }
        let registries = self
            .registries
            .as_ref()
            .ok_or_else(|| format!("no schema registry for {} here", self.url))?;
        let found = registries(&self.url).map_err(|e| e.to_string())?;
        Ok(self.registry.get_or_init(|| found))
    }

    fn subject(&self, topic: &str) -> String {
        format!("{topic}-{}", if self.key { "key" } else { "value" })
    }
}

impl Converter for AvroConverter {
    fn encode(
        &self,
        topic: &str,
        schema: Option<&Schema>,
        value: &Value,
    ) -> Result<Option<Vec<u8>>> {
        let failed = |e: String| {
            ConnectError::conversion(format!(
                "Failed to serialize Avro data from topic {topic}: {e}"
            ))
        };
        let Some(schema) = schema else {
            if value.is_null() {
                return Ok(None);
            }
            return Err(failed(
                "the Avro converter writes data with a schema; this record has none".into(),
            ));
        };
        if value.is_null() {
            if schema.optional {
                return Ok(None);
            }
            return Err(failed("Found null value for non-optional schema".into()));
        }
        let mut written = self.written.lock().unwrap_or_else(|e| e.into_inner());
        if written.as_ref().is_none_or(|w| w.schema != *schema) {
            let text = avro_schema(schema).to_string();
            let avro = apache_avro::Schema::parse_str(&text).map_err(|e| failed(e.to_string()))?;
            let id = self
                .registry()
                .and_then(|r| r.register(&self.subject(topic), &text))
                .map_err(failed)?;
            *written = Some(Written {
                schema: schema.clone(),
                avro,
                id,
            });
        }
        let w = written.as_ref().expect("set above");
        let mut out = vec![0];
        out.extend_from_slice(&w.id.to_be_bytes());
        if schema.ty == SchemaType::Bytes && !schema.optional {
            // a top-level BYTES (or DECIMAL) is its bytes, unframed
            out.extend_from_slice(&bytes_of(schema, value).map_err(failed)?);
            return Ok(Some(out));
        }
        let datum = to_avro(schema, value).map_err(failed)?;
        let body = apache_avro::writer::datum::GenericDatumWriter::builder(&w.avro)
            .build()
            .and_then(|writer| writer.write_value_to_vec(datum))
            .map_err(|e| failed(e.to_string()))?;
        out.extend_from_slice(&body);
        Ok(Some(out))
    }

    fn decode(&self, topic: &str, bytes: Option<&[u8]>) -> Result<(Option<Schema>, Value)> {
        let Some(bytes) = bytes else {
            return Ok((None, Value::Null));
        };
        let failed = |e: String| {
            ConnectError::conversion(format!(
                "Failed to deserialize data for topic {topic} to Avro: {e}"
            ))
        };
        if bytes.len() < 5 || bytes[0] != 0 {
            return Err(failed("Unknown magic byte!".into()));
        }
        let id = i32::from_be_bytes([bytes[1], bytes[2], bytes[3], bytes[4]]);
        let read = self.schema_read(id).map_err(failed)?;
        let body = &bytes[5..];
        if read.connect.ty == SchemaType::Bytes && !read.connect.optional {
            let value = match read.connect.decimal_scale() {
                Some(scale) => Value::Decimal(
                    decimal_from_bytes(body)
                        .ok_or_else(|| failed("a DECIMAL wider than 16 bytes".into()))?,
                    scale,
                ),
                None => Value::Bytes(body.to_vec()),
            };
            return Ok((Some(read.connect.clone()), value));
        }
        let datum = apache_avro::reader::datum::GenericDatumReader::builder(&read.avro)
            .build()
            .and_then(|reader| reader.read_value(&mut &body[..]))
            .map_err(|e| failed(e.to_string()))?;
        let value = from_avro(&read.connect, datum).map_err(failed)?;
        Ok((Some(read.connect.clone()), value))
    }
}

impl AvroConverter {
    fn schema_read(&self, id: i32) -> std::result::Result<Arc<Read>, String> {
        if let Some(r) = self.read.lock().unwrap_or_else(|e| e.into_inner()).get(&id) {
            return Ok(r.clone());
        }
        let text = self.registry()?.schema(id)?;
        let json: Json = serde_json::from_str(&text).map_err(|e| e.to_string())?;
        let avro = apache_avro::Schema::parse_str(&text).map_err(|e| e.to_string())?;
        let connect = connect_schema(&json, None, &mut HashMap::new())?;
        let read = Arc::new(Read { avro, connect });
        self.read
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, read.clone());
        Ok(read)
    }
}

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

/// A full name split at its last dot: namespace and name.
fn split_name(name: &str) -> (Option<&str>, &str) {
    match name.rsplit_once('.') {
        Some((ns, short)) => (Some(ns), short),
        None => (None, name),
    }
}

fn bytes_of(schema: &Schema, value: &Value) -> std::result::Result<Vec<u8>, String> {
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
fn to_avro(schema: &Schema, value: &Value) -> std::result::Result<Avro, String> {
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

/// The Connect schema `AvroData.toConnectSchema` reads from an Avro schema
/// (its JSON), with `connect.*` properties honoured; `named` holds the
/// named types seen so far for references to them.
fn connect_schema(
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
fn from_avro(schema: &Schema, value: Avro) -> std::result::Result<Value, String> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Field;

    #[derive(Default)]
    struct Memory(Mutex<Vec<(String, String)>>);

    impl Registry for Memory {
        fn register(&self, subject: &str, schema: &str) -> std::result::Result<i32, String> {
            let mut all = self.0.lock().unwrap();
            if let Some(i) = all.iter().position(|(_, s)| s == schema) {
                return Ok(i as i32 + 1);
            }
            all.push((subject.to_string(), schema.to_string()));
            Ok(all.len() as i32)
        }
        fn schema(&self, id: i32) -> std::result::Result<String, String> {
            let all = self.0.lock().unwrap();
            all.get(id as usize - 1)
                .map(|(_, s)| s.clone())
                .ok_or_else(|| format!("Schema {id} not found"))
        }
    }

    fn jdbc_row_schema() -> Schema {
        let mut ts = Schema::of(SchemaType::Int64).named(TIMESTAMP);
        ts.version = Some(1);
        Schema::structure(vec![
            Field::new("id", Schema::of(SchemaType::Int32)),
            Field::new("name", Schema::of(SchemaType::String).optional()),
            Field::new("price", Schema::decimal(2).optional()),
            Field::new("added", ts.optional()),
            Field::new("small", Schema::of(SchemaType::Int16).optional()),
        ])
        .named("items")
    }

    /// The schema text is `AvroData`'s, as a JDBC source's records show in a
    /// registry next to Confluent's converter.
    #[test]
    fn schemas_are_written_in_avro_datas_layout() {
        assert_eq!(
            avro_schema(&jdbc_row_schema()).to_string(),
            concat!(
                r#"{"type":"record","name":"items","fields":["#,
                r#"{"name":"id","type":"int"},"#,
                r#"{"name":"name","type":["null","string"],"default":null},"#,
                r#"{"name":"price","type":["null",{"type":"bytes","scale":2,"precision":64,"connect.version":1,"connect.parameters":{"scale":"2"},"connect.name":"org.apache.kafka.connect.data.Decimal","logicalType":"decimal"}],"default":null},"#,
                r#"{"name":"added","type":["null",{"type":"long","connect.version":1,"connect.name":"org.apache.kafka.connect.data.Timestamp","logicalType":"timestamp-millis"}],"default":null},"#,
                r#"{"name":"small","type":["null",{"type":"int","connect.type":"int16"}],"default":null}"#,
                r#"],"connect.name":"items"}"#
            )
        );
        let unnamed = Schema::structure(vec![Field::new(
            "inner",
            Schema::structure(vec![Field::new("x", Schema::of(SchemaType::Boolean))]).optional(),
        )]);
        assert_eq!(
            avro_schema(&unnamed).to_string(),
            r#"{"type":"record","name":"ConnectDefault","namespace":"io.confluent.connect.avro","fields":[{"name":"inner","type":["null",{"type":"record","name":"ConnectDefault2","namespace":"io.confluent.connect.avro","fields":[{"name":"x","type":"boolean"}]}],"default":null}]}"#
        );
    }

    #[test]
    fn values_round_trip_through_the_registry() {
        let registry = Arc::new(Memory::default());
        let writer = AvroConverter::with_registry(registry.clone(), false);
        let schema = jdbc_row_schema();
        let value = Value::Struct(vec![
            ("id".into(), Value::Int(7)),
            ("name".into(), Value::String("seven".into())),
            ("price".into(), Value::Decimal(1234, 2)),
            ("added".into(), Value::Int(1_700_000_000_000)),
            ("small".into(), Value::Null),
        ]);
        let bytes = writer
            .encode("items", Some(&schema), &value)
            .unwrap()
            .unwrap();
        assert_eq!(&bytes[..5], &[0, 0, 0, 0, 1], "magic byte and id 1");
        assert_eq!(registry.0.lock().unwrap()[0].0, "items-value");
        // a reader of its own, as a sink on another server would be
        let reader = AvroConverter::with_registry(registry.clone(), false);
        let (read_schema, read) = reader.decode("items", Some(&bytes)).unwrap();
        assert_eq!(read, value);
        assert_eq!(read_schema.as_ref(), Some(&schema));
        // the same schema keeps its id; a tombstone stays one
        let again = writer
            .encode("items", Some(&schema), &value)
            .unwrap()
            .unwrap();
        assert_eq!(again, bytes);
        assert_eq!(
            writer
                .encode("items", Some(&schema.clone().optional()), &Value::Null)
                .unwrap(),
            None
        );
        assert_eq!(reader.decode("items", None).unwrap(), (None, Value::Null));
    }

    #[test]
    fn maps_arrays_and_bad_input() {
        let registry = Arc::new(Memory::default());
        let c = AvroConverter::with_registry(registry, true);
        let schema = Schema::structure(vec![
            Field::new(
                "tags",
                Schema::map(
                    Schema::of(SchemaType::String),
                    Schema::of(SchemaType::Int64),
                ),
            ),
            Field::new(
                "by_id",
                Schema::map(
                    Schema::of(SchemaType::Int32),
                    Schema::of(SchemaType::String),
                ),
            ),
            Field::new(
                "list",
                Schema::array(Schema::of(SchemaType::Float64).optional()),
            ),
        ]);
        let value = Value::Struct(vec![
            (
                "tags".into(),
                Value::Map(vec![(Value::String("a".into()), Value::Int(1))]),
            ),
            (
                "by_id".into(),
                Value::Map(vec![(Value::Int(3), Value::String("c".into()))]),
            ),
            (
                "list".into(),
                Value::Array(vec![Value::Float(1.5), Value::Null]),
            ),
        ]);
        let bytes = c.encode("t", Some(&schema), &value).unwrap().unwrap();
        let (_, read) = c.decode("t", Some(&bytes)).unwrap();
        assert_eq!(read, value);
        assert!(avro_schema(&schema)
            .to_string()
            .contains(r#""name":"MapEntry","namespace":"io.confluent.connect.avro""#));
        let e = c
            .decode("t", Some(&[1, 0, 0, 0, 1, 0]))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("Unknown magic byte!") && e.contains("topic t"),
            "{e}"
        );
        let e = c
            .encode(
                "t",
                Some(&schema),
                &Value::Struct(vec![("tags".into(), Value::Int(1))]),
            )
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("Failed to serialize Avro data from topic t"),
            "{e}"
        );
        let e = c
            .decode("t", Some(&[0, 0, 0, 0, 9]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("Schema 9 not found"), "{e}");
    }

    /// A top-level DECIMAL is its bytes after the id, without Avro's length.
    #[test]
    fn top_level_bytes_are_not_framed() {
        let c = AvroConverter::with_registry(Arc::new(Memory::default()), true);
        let bytes = c
            .encode("t", Some(&Schema::decimal(1)), &Value::Decimal(-5, 1))
            .unwrap()
            .unwrap();
        assert_eq!(bytes, vec![0, 0, 0, 0, 1, 0xfb]);
        assert_eq!(
            c.decode("t", Some(&bytes)).unwrap().1,
            Value::Decimal(-5, 1)
        );
    }
}
