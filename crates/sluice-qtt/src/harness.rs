//! The schemas ksqlDB's QTT harness registers before a case's statements run
//! (`TestExecutorUtil.initializeTopics`), in the order it registers them, so
//! the ids a case names (`VALUE_SCHEMA_ID=2`) are the ones ksqlDB gave:
//! every topic of the case — its `topics` entries, the topics its CREATE
//! statements declare (with the schema each statement's columns make), then
//! those of its inputs and outputs — in the iteration order of the Java
//! `HashMap` it collects them in, each topic's key schema then value schema.

use std::sync::{Arc, Mutex};

use sluice_engine::{Engine, EngineConfig};
use sluice_formats::{FormatError, MemoryRegistry, RegisteredSchema, SchemaRegistry};
use sluice_log::EmbeddedLog;
use sluice_sql::Statement;

/// A registry that keeps, in order, what was registered in it.
struct Recording {
    inner: MemoryRegistry,
    registered: Mutex<Vec<(String, RegisteredSchema)>>,
}

impl SchemaRegistry for Recording {
    fn register(&self, subject: &str, schema: &RegisteredSchema) -> Result<i32, FormatError> {
        self.registered
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push((subject.to_string(), schema.clone()));
        self.inner.register(subject, schema)
    }
    fn schema_by_id(&self, id: i32) -> Result<RegisteredSchema, FormatError> {
        self.inner.schema_by_id(id)
    }
    fn latest(&self, subject: &str) -> Result<Option<(i32, RegisteredSchema)>, FormatError> {
        self.inner.latest(subject)
    }
    fn subjects_of(&self, id: i32) -> Result<Vec<String>, FormatError> {
        self.inner.subjects_of(id)
    }
}

/// The schemas the CREATE STREAM/TABLE statements of a case register for
/// the columns they declare (subject, schema), as Sluice registers them
/// when it runs them: the statements run on a scratch engine of their own.
pub fn statement_schemas(
    statements: &[String],
    config: &EngineConfig,
) -> Vec<(String, RegisteredSchema)> {
    let declaring: Vec<&String> = statements
        .iter()
        .filter(|text| {
            sluice_sql::parse(text).is_ok_and(|parsed| {
                parsed.iter().any(|p| match &p.statement {
                    Statement::CreateSource(cs) => !cs.elements.is_empty(),
                    Statement::CreateType { .. } => true,
                    _ => false,
                })
            })
        })
        .collect();
    // a case that declares no columns or types needs no scratch engine
    if declaring.is_empty() {
        return Vec::new();
    }
    let recording = Arc::new(Recording {
        inner: MemoryRegistry::new(),
        registered: Mutex::new(Vec::new()),
    });
    let mut scratch = Engine::new(Arc::new(EmbeddedLog::in_memory()), config.clone())
        .with_registry(recording.clone());
    for text in declaring {
        // a statement the scratch engine refuses is the case's to report
        let _ = scratch.execute_sql(text);
    }
    let registered = recording
        .registered
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    registered
}

/// Registers a case's schemas in `registry` before its statements run, as
/// ksqlDB's harness does: its `topics` entries' and its declared statements'
/// (`statement_schemas`, run under `config`), topic by topic, the topics of
/// its inputs and outputs (`io_topics`) counted in the order.
pub fn register_case_schemas<'a>(
    registry: &Arc<dyn SchemaRegistry>,
    topics: &[crate::model::TopicEntry],
    statements: &[String],
    config: &EngineConfig,
    io_topics: impl IntoIterator<Item = &'a str>,
) {
    let declared = statement_schemas(statements, config);
    crate::codec::register_topic_schemas(registry, topics, &declared, io_topics);
}

/// Java's `String.hashCode` (over UTF-16 code units).
fn java_hash(s: &str) -> i32 {
    s.encode_utf16()
        .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(i32::from(c)))
}

/// `names` (distinct, in insertion order) in the order a Java `HashMap`
/// built by inserting them iterates them: by bucket (`hash ^ hash >>> 16`
/// masked by the table's size, which doubles from 16 while more than three
/// quarters full), then by insertion within a bucket.
pub fn java_hashmap_order(names: &[String]) -> Vec<String> {
    let mut capacity = 16usize;
    while names.len() * 4 > capacity * 3 {
        capacity *= 2;
    }
    let bucket = |s: &str| {
        let h = java_hash(s) as u32;
        ((h ^ (h >> 16)) as usize) & (capacity - 1)
    };
    let mut ordered: Vec<(usize, usize, &String)> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (bucket(n), i, n))
        .collect();
    ordered.sort();
    ordered.into_iter().map(|(_, _, n)| n.clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_string_hashes() {
        assert_eq!(java_hash(""), 0);
        assert_eq!(java_hash("a"), 97);
        // "hello".hashCode() in Java
        assert_eq!(java_hash("hello"), 99_162_322);
        assert_eq!(java_hash("OUTPUT"), -1_952_183_039);
    }

    #[test]
    fn a_small_map_iterates_by_bucket_then_insertion() {
        let names: Vec<String> = ["OUTPUT", "input"].iter().map(|s| s.to_string()).collect();
        let order = java_hashmap_order(&names);
        assert_eq!(order.len(), 2);
        // "input" falls in an earlier bucket of a 16-slot table than "OUTPUT"
        let b = |s: &str| {
            let h = java_hash(s) as u32;
            ((h ^ (h >> 16)) & 15) as usize
        };
        assert!(b("input") < b("OUTPUT"));
        assert_eq!(order, vec!["input".to_string(), "OUTPUT".to_string()]);
    }
}
