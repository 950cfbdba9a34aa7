//! Test records to and from bytes: a topic's records are written and read the way
//! the source declared over it does. Shared by the QTT runner and the REST runner.

use std::collections::HashSet;
use std::sync::Arc;

use serde_json::Value;
use sluice_formats::{
    bytes_to_json_with_options, json_to_bytes_with_options, FormatKind, FormatOptions,
    SchemaRegistry,
};
use sluice_log::{Header, Log, Record, TopicSpec};
use sluice_planner::catalog::SourceDef;
use sluice_runtime::source::schema_options_of;
use sluice_sql::{Literal, Statement};

use super::model::{TestRecord, TopicEntry};
use sluice_engine::Engine;

pub fn format_options(d: &sluice_planner::FormatDesc) -> FormatOptions {
    FormatOptions {
        delimiter: d.delimiter.clone(),
        wrap_single_value: d.wrap_single_value,
    }
}

/// The source a topic's records are read as: the one written by a query if any,
/// else the first declared over the topic.
pub fn source_for_topic(engine: &Engine, topic: &str) -> Option<Arc<SourceDef>> {
    source_over(engine, topic, true)
}

/// The first source over `topic`, sinks of queries first or last.
fn source_over(engine: &Engine, topic: &str, sinks_first: bool) -> Option<Arc<SourceDef>> {
    let sinks: HashSet<&str> = engine.queries().map(|q| q.sink.as_str()).collect();
    let mut candidates: Vec<Arc<SourceDef>> = engine
        .metastore()
        .sources()
        .filter(|s| s.topic == topic)
        .cloned()
        .collect();
    candidates.sort_by_key(|s| sinks.contains(s.name.as_str()) != sinks_first);
    candidates.into_iter().next()
}

/// Bytes for a test record's key or value, written the way the topic's source reads them.
pub fn encode(
    registry: &Arc<dyn SchemaRegistry>,
    def: Option<&SourceDef>,
    is_key: bool,
    value: &Value,
) -> Result<Option<Vec<u8>>, String> {
    let Some(def) = def else {
        return Ok(match value {
            Value::Null => None,
            Value::String(s) => Some(s.clone().into_bytes()),
            other => Some(other.to_string().into_bytes()),
        });
    };
    let (desc, schema) = if is_key {
        (&def.key_format, def.key_schema())
    } else {
        (&def.value_format, def.value_schema())
    };
    let kind = FormatKind::parse(&desc.name).map_err(|e| e.to_string())?;
    let schema_options = schema_options_of(desc).map_err(|e| e.to_string())?;
    json_to_bytes_with_options(
        kind,
        &schema,
        &format_options(desc),
        &schema_options,
        is_key,
        value,
        Some((registry, &def.topic)),
    )
    .map_err(|e| e.to_string())
}

/// A test record's key or value read back from bytes as the topic's source reads them.
pub fn decode(
    registry: &Arc<dyn SchemaRegistry>,
    def: Option<&SourceDef>,
    is_key: bool,
    bytes: Option<&[u8]>,
) -> Value {
    let Some(def) = def else {
        return match bytes {
            None => Value::Null,
            Some(b) => serde_json::from_slice(b)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(b).into_owned())),
        };
    };
    let (desc, schema) = if is_key {
        (&def.key_format, def.key_schema())
    } else {
        (&def.value_format, def.value_schema())
    };
    match (FormatKind::parse(&desc.name), schema_options_of(desc)) {
        (Ok(kind), Ok(schema_options)) => bytes_to_json_with_options(
            kind,
            &schema,
            &format_options(desc),
            &schema_options,
            is_key,
            bytes,
            Some((registry, &def.topic)),
        ),
        _ => Value::Null,
    }
}

/// Inputs are written as the source declared over the topic reads them.
pub fn source_for_input(engine: &Engine, topic: &str) -> Option<Arc<SourceDef>> {
    source_over(engine, topic, false)
}

/// Standard base64, as ksqlDB test files write BYTES values.
pub fn base64_decode(s: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(s).ok()
}

pub fn base64_encode(b: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(b)
}

/// Create the topics a case needs before its statements run, as ksqlDB's test
/// drivers do: those the statements declare, the `topics` entries, and those of the
/// inputs and outputs. A topic whose partition count nothing names gets
/// `default_partitions` (the test cluster's default).
pub fn precreate_topics<'a>(
    log: &dyn Log,
    topics: &[TopicEntry],
    records: impl IntoIterator<Item = &'a TestRecord>,
    statements: &[String],
    default_partitions: i32,
) {
    // a statement's PARTITIONS wins over a `topics` entry's count, which wins over
    // the default
    let mut wanted: Vec<(String, Option<i32>)> = Vec::new();
    for s in statements {
        let Ok(parsed) = sluice_sql::parse(s) else {
            continue;
        };
        for p in parsed {
            if let Statement::CreateSource(cs) = p.statement {
                let prop = |n: &str| {
                    cs.properties
                        .iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case(n))
                        .map(|(_, v)| v.clone())
                };
                if let Some(Literal::String(topic)) = prop("KAFKA_TOPIC") {
                    let partitions = match prop("PARTITIONS") {
                        Some(Literal::Integer(n)) => Some(i32::try_from(n).unwrap_or(1)),
                        _ => None,
                    };
                    wanted.push((topic, partitions));
                }
            }
        }
    }
    wanted.extend(topics.iter().map(|t| (t.name.clone(), t.partitions)));
    wanted.extend(records.into_iter().map(|r| (r.topic.clone(), None)));
    for (name, _) in &wanted {
        let partitions = wanted
            .iter()
            .find_map(|(n, p)| if n == name { *p } else { None })
            .unwrap_or(default_partitions);
        if !log.topic_exists(name).unwrap_or(true) {
            // a bad name or count is the statement's to report
            let _ = log.create_topic(&TopicSpec::new(name, partitions.max(1)));
        }
    }
}

/// Register the schemas a case's producers registered (`topics[].keySchema/valueSchema`):
/// those with a fixed id (`keySchemaId`/`valueSchemaId`) first, so no schema
/// numbered automatically takes their id; then, topic by topic in the order
/// ksqlDB's harness registers them (`harness`), each topic's key and value
/// schema, each followed by the files it imports, or, for a topic its `topics`
/// entry gives no schema, the one its CREATE statement registers
/// (`statement_schemas`). `io_topics`: the topics of the inputs and outputs.
pub fn register_topic_schemas<'a>(
    registry: &Arc<dyn SchemaRegistry>,
    topics: &[TopicEntry],
    statement_schemas: &[(String, sluice_formats::RegisteredSchema)],
    io_topics: impl IntoIterator<Item = &'a str>,
) {
    use sluice_formats::{subject_name, RegisteredSchema, SchemaReference};
    let mut entries = Vec::new();
    for t in topics {
        for (schema, format, references, id, is_key) in [
            (
                &t.key_schema,
                &t.key_format,
                &t.key_schema_references,
                t.key_schema_id,
                true,
            ),
            (
                &t.value_schema,
                &t.value_format,
                &t.value_schema_references,
                t.value_schema_id,
                false,
            ),
        ] {
            let Some(schema) = schema else { continue };
            let kind = schema_type(format.as_deref());
            let mut registered = RegisteredSchema::new(kind, schema_text(kind, schema));
            registered.references = references
                .iter()
                .map(|r| SchemaReference {
                    name: r.name.clone(),
                    subject: r.name.clone(),
                    version: 1,
                })
                .collect();
            entries.push((
                subject_name(&t.name, is_key),
                registered,
                id,
                references,
                format,
            ));
        }
    }
    // a schema the registry refuses is the statements' problem to report
    for (subject, registered, id, _, _) in &entries {
        if let Some(id) = id {
            let _ = registry.register_with_id(subject, registered, *id);
        }
    }
    // the harness's topics, in the order it collects them
    let mut names: Vec<String> = Vec::new();
    let statement_topics = statement_schemas.iter().filter_map(|(subject, _)| {
        subject
            .strip_suffix("-key")
            .or_else(|| subject.strip_suffix("-value"))
    });
    let entry_topics = topics.iter().map(|t| t.name.clone());
    for name in entry_topics
        .chain(statement_topics.map(str::to_string))
        .chain(io_topics.into_iter().map(str::to_string))
    {
        if !names.contains(&name) {
            names.push(name);
        }
    }
    for name in crate::harness::java_hashmap_order(&names) {
        for is_key in [true, false] {
            let subject = subject_name(&name, is_key);
            let own: Vec<_> = entries.iter().filter(|e| e.0 == subject).collect();
            if own.is_empty() {
                if let Some((_, schema)) = statement_schemas.iter().find(|(s, _)| *s == subject) {
                    let _ = registry.register(&subject, schema);
                }
                continue;
            }
            for (subject, registered, id, references, format) in own {
                if id.is_none() {
                    // the topic's own schema first (it gets the first id, as
                    // with ksqlDB's test registry), then what it imports
                    let _ = registry.register(subject, registered);
                }
                for r in references.iter() {
                    let kind = schema_type(r.format.as_deref().or(format.as_deref()));
                    let _ = registry.register(
                        &r.name,
                        &RegisteredSchema::new(kind, schema_text(kind, &r.schema)),
                    );
                }
            }
        }
    }
}

fn schema_type(format: Option<&str>) -> sluice_formats::SchemaType {
    use sluice_formats::SchemaType;
    match format.map(str::to_uppercase).as_deref() {
        None | Some("AVRO") => SchemaType::Avro,
        Some("JSON") | Some("JSON_SR") => SchemaType::Json,
        Some(_) => SchemaType::Protobuf,
    }
}

/// Protobuf and JSON schemas come as text; an AVRO schema as JSON.
fn schema_text(kind: sluice_formats::SchemaType, schema: &Value) -> String {
    match schema {
        Value::String(s) if kind != sluice_formats::SchemaType::Avro => s.clone(),
        other => other.to_string(),
    }
}

/// A test input as the record a producer writes: key and value in the formats
/// of the source declared over its topic (a windowed source's key with its
/// window, as Kafka Streams lays it out), its timestamp and headers.
pub fn input_record(engine: &Engine, input: &TestRecord) -> Result<Record, String> {
    let def = source_for_input(engine, &input.topic);
    let mut key = encode(engine.registry(), def.as_deref(), true, &input.key)?;
    if let (Some(w), Some(info)) = (&input.window, def.as_ref().and_then(|d| d.window)) {
        key = Some(sluice_runtime::windowed::encode_key(
            key.unwrap_or_default(),
            info.kind,
            w.start,
            w.end,
        ));
    }
    let value = encode(engine.registry(), def.as_deref(), false, &input.value)?;
    let mut record = Record::new(key, value, input.timestamp.unwrap_or(0));
    for h in input.headers.iter().flatten() {
        record.headers.push(Header::new(
            h.key.clone(),
            h.value.as_ref().and_then(|v| base64_decode(v)),
        ));
    }
    Ok(record)
}
