//! The log side of a REST case, as the QTT runner does it: topics created before the
//! statements, producer schemas registered, inputs written in the formats of the
//! source declared over their topic, and outputs read back the same way.
//!
//! Adapters for what `sluice_engine::qtt` keeps private (`encode`, `decode`,
//! `source_for_input`, `precreate_topics`, `register_topic_schemas`).

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use serde_json::Value;
use sluice_engine::log::{Header, Log, Record, TopicSpec};
use sluice_engine::qtt::json_eq;
use sluice_engine::Engine;
use sluice_formats::{
    bytes_to_test_value_with_registry, test_value_to_bytes_with_registry, FormatKind,
    FormatOptions, SchemaRegistry,
};
use sluice_planner::catalog::SourceDef;
use sluice_sql::{Literal, Statement};

use super::{RestCase, RestRecord};

/// Create the topics the statements, `topics`, inputs and outputs name.
pub fn precreate_topics(log: &dyn Log, case: &RestCase, statements: &[String]) {
    let mut wanted: Vec<(String, i32)> = Vec::new();
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
                        Some(Literal::Integer(n)) => i32::try_from(n).unwrap_or(1),
                        _ => 1,
                    };
                    wanted.push((topic, partitions));
                }
            }
        }
    }
    wanted.extend(
        case.topics
            .iter()
            .map(|t| (t.name.clone(), t.partitions.unwrap_or(1))),
    );
    for r in case.inputs.iter().chain(&case.outputs) {
        wanted.push((r.topic.clone(), 1));
    }
    for (name, partitions) in wanted {
        if !log.topic_exists(&name).unwrap_or(true) {
            // a bad name or count is the statement's to report
            let _ = log.create_topic(&TopicSpec::new(&name, partitions.max(1)));
        }
    }
}

/// The schemas a case's producers registered (`topics[].keySchema/valueSchema`).
pub fn register_topic_schemas(registry: &Arc<dyn SchemaRegistry>, case: &RestCase) {
    use sluice_formats::{subject_name, RegisteredSchema, SchemaType};
    for t in &case.topics {
        for (schema, format, is_key) in [
            (&t.key_schema, &t.key_format, true),
            (&t.value_schema, &t.value_format, false),
        ] {
            let Some(schema) = schema else { continue };
            let kind = match format.as_deref().map(str::to_uppercase).as_deref() {
                None | Some("AVRO") => SchemaType::Avro,
                Some("JSON") | Some("JSON_SR") => SchemaType::Json,
                Some(_) => SchemaType::Protobuf,
            };
            let text = match schema {
                Value::String(s) if kind != SchemaType::Avro => s.clone(),
                other => other.to_string(),
            };
            let _ = registry.register(
                &subject_name(&t.name, is_key),
                &RegisteredSchema::new(kind, text),
            );
        }
    }
}

fn format_options(d: &sluice_planner::FormatDesc) -> FormatOptions {
    FormatOptions {
        delimiter: d.delimiter.clone(),
        wrap_single_value: d.wrap_single_value,
    }
}

/// The source a topic is read as: sinks first when `sinks_first`, else sources.
fn source_over(engine: &Engine, topic: &str, sinks_first: bool) -> Option<Arc<SourceDef>> {
    let sinks: HashSet<&str> = engine.queries().map(|q| q.sink.as_str()).collect();
    let mut c: Vec<Arc<SourceDef>> = engine
        .metastore()
        .sources()
        .filter(|s| s.topic == topic)
        .cloned()
        .collect();
    c.sort_by_key(|s| sinks.contains(s.name.as_str()) != sinks_first);
    c.into_iter().next()
}

fn encode(
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
    test_value_to_bytes_with_registry(
        kind,
        &schema,
        &format_options(desc),
        is_key,
        value,
        Some((registry, &def.topic)),
    )
    .map_err(|e| e.to_string())
}

fn decode(
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
    match FormatKind::parse(&desc.name) {
        Ok(kind) => bytes_to_test_value_with_registry(
            kind,
            &schema,
            &format_options(desc),
            is_key,
            bytes,
            Some((registry, &def.topic)),
        ),
        Err(_) => Value::Null,
    }
}

fn base64_decode(s: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(s).ok()
}

/// Write the inputs, in order, as the source over each topic reads them.
pub fn produce_inputs(engine: &Engine, inputs: &[RestRecord]) -> Result<(), String> {
    let log = engine.log().clone();
    for input in inputs {
        let def = source_over(engine, &input.topic, false);
        let key = encode(engine.registry(), def.as_deref(), true, &input.key)?;
        let value = encode(engine.registry(), def.as_deref(), false, &input.value)?;
        let mut record = Record::new(key, value, input.timestamp.unwrap_or(0));
        for h in input.headers.iter().flatten() {
            record.headers.push(Header::new(
                h.key.clone(),
                h.value.as_ref().and_then(|v| base64_decode(v)),
            ));
        }
        if !log.topic_exists(&input.topic).map_err(|e| e.to_string())? {
            log.create_topic(&TopicSpec::new(&input.topic, 1))
                .map_err(|e| e.to_string())?;
        }
        log.produce(&input.topic, vec![(None, record)])
            .map_err(|e| format!("Failed to send record to {}: {e}", input.topic))?;
    }
    Ok(())
}

/// ksqlDB's `verifyOutput`: per topic, the first records written match the expected
/// ones (key, value, and timestamp when given).
pub fn verify_outputs(engine: &Engine, outputs: &[RestRecord]) -> Result<(), String> {
    let mut by_topic: BTreeMap<&str, Vec<&RestRecord>> = BTreeMap::new();
    for o in outputs {
        by_topic.entry(o.topic.as_str()).or_default().push(o);
    }
    let log = engine.log();
    for (topic, expected) in by_topic {
        let def = source_over(engine, topic, true);
        let ends = log.end_offsets(topic).map_err(|e| e.to_string())?;
        let mut got = Vec::new();
        for (p, end) in ends.iter().enumerate() {
            let p = i32::try_from(p).map_err(|e| e.to_string())?;
            let fetched = log.fetch(topic, p, 0, usize::try_from(*end).unwrap_or(0).max(1));
            for stored in fetched.map_err(|e| e.to_string())? {
                let r = &stored.record;
                got.push((
                    decode(engine.registry(), def.as_deref(), true, r.key.as_deref()),
                    decode(engine.registry(), def.as_deref(), false, r.value.as_deref()),
                    r.timestamp,
                ));
            }
        }
        if got.len() < expected.len() {
            return Err(format!(
                "topic {topic}: expected {} records, got {}",
                expected.len(),
                got.len()
            ));
        }
        for (e, (k, v, ts)) in expected.iter().zip(&got) {
            let ts_ok = e.timestamp.is_none_or(|t| t == *ts);
            if !json_eq(&e.key, k) || !json_eq(&e.value, v) || !ts_ok {
                return Err(format!(
                    "topic {topic}: expected <{}, {}> with timestamp={:?} but was <{k}, {v}> with timestamp={ts}",
                    e.key, e.value, e.timestamp
                ));
            }
        }
    }
    Ok(())
}
