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
//! keys are not strings; [`write`]) and read back ([`read`]); the Avro
//! binary is written and read by the `apache-avro` crate.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::Value as Json;

use crate::convert::Converter;
use crate::data::{decimal_from_bytes, Schema, SchemaType, Value};
use crate::error::{ConnectError, Result};

mod read;
mod write;

use read::{connect_schema, from_avro};
pub use write::avro_schema;
use write::{bytes_of, to_avro};

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

/// A full name split at its last dot: namespace and name.
fn split_name(name: &str) -> (Option<&str>, &str) {
    match name.rsplit_once('.') {
        Some((ns, short)) => (Some(ns), short),
        None => (None, name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{Field, TIMESTAMP};

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
