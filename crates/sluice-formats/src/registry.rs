//! A Confluent-Schema-Registry-shaped seam for the schema formats (AVRO,
//! JSON_SR), an in-memory implementation, and the Confluent wire header.
//!
//! Schema-format payloads start with a 5-byte header: magic byte `0`, then the
//! writer schema's id as a 4-byte big-endian integer. Subjects follow
//! Confluent's `TopicNameStrategy`: `<topic>-key` / `<topic>-value`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use crate::FormatError;

/// The kind of a registered schema, as Confluent names it (`schemaType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SchemaType {
    /// An Avro schema (JSON text).
    Avro,
    /// A JSON Schema document.
    Json,
    /// A `.proto` file.
    Protobuf,
}

impl SchemaType {
    /// Confluent's `schemaType` name: `AVRO`, `JSON`, `PROTOBUF`.
    pub fn name(self) -> &'static str {
        match self {
            SchemaType::Avro => "AVRO",
            SchemaType::Json => "JSON",
            SchemaType::Protobuf => "PROTOBUF",
        }
    }
}

/// A reference from one schema to another registered one (Confluent's
/// `references` entry).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SchemaReference {
    /// The name the referencing schema uses (a full Avro name, a file name, ...).
    pub name: String,
    /// The subject the referenced schema is registered under.
    pub subject: String,
    /// The referenced version of that subject.
    pub version: i32,
}

/// A schema as stored in the registry.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RegisteredSchema {
    /// Avro, JSON Schema or Protobuf.
    pub schema_type: SchemaType,
    /// The schema text. Registering the same text again yields the same id.
    pub schema: String,
    /// Other schemas this one refers to.
    pub references: Vec<SchemaReference>,
}

impl RegisteredSchema {
    /// A schema of `schema_type` without references.
    pub fn new(schema_type: SchemaType, schema: impl Into<String>) -> Self {
        RegisteredSchema {
            schema_type,
            schema: schema.into(),
            references: Vec::new(),
        }
    }
}

/// What the schema formats need from a schema registry.
pub trait SchemaRegistry: Send + Sync {
    /// Registers `schema` under `subject` and returns its id. The same schema
    /// under the same subject keeps its id; anything else becomes a new
    /// version (no compatibility checks).
    fn register(&self, subject: &str, schema: &RegisteredSchema) -> Result<i32, FormatError>;
    /// The schema with this id.
    fn schema_by_id(&self, id: i32) -> Result<RegisteredSchema, FormatError>;
    /// The newest version registered under `subject`, with its id.
    fn latest(&self, subject: &str) -> Result<Option<(i32, RegisteredSchema)>, FormatError>;
    /// The subjects schema `id` is registered under (none: no such id).
    fn subjects_of(&self, id: i32) -> Result<Vec<String>, FormatError>;
    /// Registers `schema` under `subject` with a chosen id (Confluent's IMPORT
    /// mode; a test fixture with a fixed `KEY_/VALUE_SCHEMA_ID`). Registries
    /// that cannot choose ids refuse.
    fn register_with_id(
        &self,
        subject: &str,
        schema: &RegisteredSchema,
        id: i32,
    ) -> Result<(), FormatError> {
        let _ = (subject, schema);
        Err(FormatError::Serialization(format!(
            "this schema registry cannot register a schema with a chosen id ({id})"
        )))
    }
}

/// The subject of a topic's key or value schema: `<topic>-key` / `<topic>-value`.
pub fn subject_name(topic: &str, is_key: bool) -> String {
    format!("{topic}-{}", if is_key { "key" } else { "value" })
}

/// A thread-safe in-memory registry. Ids start at 1 and are global across
/// subjects: the same schema registered under two subjects has one id, as in
/// Confluent's registry.
#[derive(Debug, Default)]
pub struct MemoryRegistry {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    by_id: HashMap<i32, RegisteredSchema>,
    next_id: i32,
    /// Versions of each subject, oldest first, as schema ids.
    subjects: HashMap<String, Vec<i32>>,
}

impl Inner {
    fn id_of(&self, schema: &RegisteredSchema) -> Option<i32> {
        self.by_id
            .iter()
            .filter(|(_, s)| *s == schema)
            .map(|(id, _)| *id)
            .min()
    }

    fn add_version(&mut self, subject: &str, id: i32) {
        let versions = self.subjects.entry(subject.to_string()).or_default();
        if versions.last() != Some(&id) {
            versions.retain(|v| *v != id);
            versions.push(id);
        }
    }
}

impl MemoryRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Inner>, FormatError> {
        self.inner
            .lock()
            .map_err(|_| FormatError::Serialization("schema registry lock poisoned".into()))
    }
}

impl SchemaRegistry for MemoryRegistry {
    fn register(&self, subject: &str, schema: &RegisteredSchema) -> Result<i32, FormatError> {
        let mut inner = self.lock()?;
        let id = match inner.id_of(schema) {
            Some(id) => id,
            None => {
                inner.next_id += 1;
                let id = inner.next_id;
                inner.by_id.insert(id, schema.clone());
                id
            }
        };
        inner.add_version(subject, id);
        Ok(id)
    }

    fn schema_by_id(&self, id: i32) -> Result<RegisteredSchema, FormatError> {
        self.lock()?.by_id.get(&id).cloned().ok_or_else(|| {
            FormatError::Serialization(format!("Schema {id} not found; error code: 40403"))
        })
    }

    fn latest(&self, subject: &str) -> Result<Option<(i32, RegisteredSchema)>, FormatError> {
        let inner = self.lock()?;
        Ok(inner
            .subjects
            .get(subject)
            .and_then(|versions| versions.last())
            .and_then(|id| inner.by_id.get(id).map(|s| (*id, s.clone()))))
    }

    fn subjects_of(&self, id: i32) -> Result<Vec<String>, FormatError> {
        let inner = self.lock()?;
        let mut subjects: Vec<String> = inner
            .subjects
            .iter()
            .filter(|(_, ids)| ids.contains(&id))
            .map(|(s, _)| s.clone())
            .collect();
        subjects.sort();
        Ok(subjects)
    }

    /// Fails if the id is taken by a different schema.
    fn register_with_id(
        &self,
        subject: &str,
        schema: &RegisteredSchema,
        id: i32,
    ) -> Result<(), FormatError> {
        let mut inner = self.lock()?;
        match inner.by_id.get(&id) {
            Some(existing) if existing != schema => {
                return Err(FormatError::Serialization(format!(
                    "Schema id {id} is already registered with a different schema"
                )))
            }
            Some(_) => {}
            None => {
                inner.by_id.insert(id, schema.clone());
                inner.next_id = inner.next_id.max(id);
            }
        }
        inner.add_version(subject, id);
        Ok(())
    }
}

/// Where a schema format's codec registers and looks up schemas.
#[derive(Clone)]
pub(crate) struct Binding {
    pub(crate) registry: Arc<dyn SchemaRegistry>,
    /// `<topic>-key` / `<topic>-value`.
    pub(crate) subject: String,
}

/// A codec's schemas on the registry side: the writer schema it generated (registered
/// on first write, its id remembered) and the parsed writer schemas of payloads it
/// decoded, by id.
pub(crate) struct WriterSchemas<T> {
    kind: SchemaType,
    text: String,
    /// `KEY_/VALUE_SCHEMA_ID`: a registered schema to write with instead.
    fixed: Option<i32>,
    id: OnceLock<i32>,
    by_id: RwLock<HashMap<i32, Arc<T>>>,
}

impl<T> WriterSchemas<T> {
    pub(crate) fn new(kind: SchemaType, text: String) -> Self {
        WriterSchemas {
            kind,
            text,
            fixed: None,
            id: OnceLock::new(),
            by_id: RwLock::new(HashMap::new()),
        }
    }

    /// Writes with the registered schema `id` (when given) instead of the
    /// generated one.
    pub(crate) fn with_fixed_id(mut self, id: Option<i32>) -> Self {
        self.fixed = id;
        self
    }

    /// The registered schema id to write with, when one was fixed.
    pub(crate) fn fixed_id(&self) -> Option<i32> {
        self.fixed
    }

    /// The writer schema's id: the fixed one, else the generated schema's,
    /// registering it under the binding's subject once.
    pub(crate) fn writer_id(&self, binding: &Binding) -> Result<i32, FormatError> {
        if let Some(id) = self.fixed {
            return Ok(id);
        }
        if let Some(id) = self.id.get() {
            return Ok(*id);
        }
        let schema = RegisteredSchema::new(self.kind, self.text.clone());
        let id = binding.registry.register(&binding.subject, &schema)?;
        Ok(*self.id.get_or_init(|| id))
    }

    /// Registers the generated schema under the binding's subject when the
    /// subject has none yet (ksqlDB's SchemaRegisterInjector, for a source
    /// whose columns a statement declares); a fixed id registers nothing.
    pub(crate) fn register_if_new(&self, binding: Option<&Binding>) -> Result<(), FormatError> {
        let Some(binding) = binding else {
            return Ok(());
        };
        if self.fixed.is_some() || binding.registry.latest(&binding.subject)?.is_some() {
            return Ok(());
        }
        self.writer_id(binding).map(|_| ())
    }

    /// The writer schema with this id, from the cache or parsed by `fetch`.
    pub(crate) fn get_or_fetch(
        &self,
        id: i32,
        fetch: impl FnOnce() -> Result<T, String>,
    ) -> Result<Arc<T>, String> {
        if let Some(found) = self.by_id.read().ok().and_then(|m| m.get(&id).cloned()) {
            return Ok(found);
        }
        let parsed = Arc::new(fetch()?);
        if let Ok(mut cache) = self.by_id.write() {
            cache.insert(id, parsed.clone());
        }
        Ok(parsed)
    }
}

/// The per-row error of a schema format decoded without a registry.
pub(crate) const NO_REGISTRY: &str = "no schema registry configured";

/// Length of the Confluent wire header.
pub(crate) const HEADER_LEN: usize = 5;

/// Appends the header for schema `id`.
pub(crate) fn write_header(id: i32, out: &mut Vec<u8>) {
    out.push(0);
    out.extend_from_slice(&id.to_be_bytes());
}

/// Splits a payload into its schema id and body; errors are Confluent's.
pub(crate) fn read_header(payload: &[u8]) -> Result<(i32, &[u8]), String> {
    match payload {
        [0, a, b, c, d, body @ ..] => Ok((i32::from_be_bytes([*a, *b, *c, *d]), body)),
        [0, ..] => Err("Invalid schema registry header: fewer than 5 bytes".to_string()),
        _ => Err("Unknown magic byte!".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn avro(text: &str) -> RegisteredSchema {
        RegisteredSchema::new(SchemaType::Avro, text)
    }

    #[test]
    fn ids_are_global_and_stable() -> Result<(), FormatError> {
        let r = MemoryRegistry::new();
        assert_eq!(r.latest("t-value")?, None);
        assert_eq!(r.register("t-value", &avro("\"int\""))?, 1);
        assert_eq!(r.register("t-value", &avro("\"int\""))?, 1);
        assert_eq!(r.register("t-key", &avro("\"int\""))?, 1);
        assert_eq!(r.register("t-value", &avro("\"long\""))?, 2);
        assert_eq!(r.latest("t-value")?, Some((2, avro("\"long\""))));
        assert_eq!(r.latest("t-key")?, Some((1, avro("\"int\""))));
        let json = RegisteredSchema::new(SchemaType::Json, "\"int\"");
        assert_eq!(r.register("t-value", &json)?, 3);
        assert_eq!(r.schema_by_id(3)?, json);
        assert!(r.schema_by_id(9).is_err());
        r.register_with_id("u-value", &avro("\"string\""), 100)?;
        assert!(r
            .register_with_id("u-value", &avro("\"bytes\""), 100)
            .is_err());
        assert_eq!(r.register("v-value", &avro("\"bytes\""))?, 101);
        assert_eq!(r.latest("u-value")?.map(|(id, _)| id), Some(100));
        Ok(())
    }

    #[test]
    fn wire_header() {
        let mut out = Vec::new();
        write_header(258, &mut out);
        out.push(7);
        assert_eq!(out, vec![0, 0, 0, 1, 2, 7]);
        assert_eq!(read_header(&out), Ok((258, [7u8].as_ref())));
        assert_eq!(read_header(b"{}"), Err("Unknown magic byte!".to_string()));
        assert!(read_header(&[0, 0, 1]).is_err());
        assert_eq!(subject_name("t", true), "t-key");
        assert_eq!(subject_name("t", false), "t-value");
    }
}
