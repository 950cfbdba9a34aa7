//! A case's `post` conditions: the sources and topics that must exist
//! afterwards, checked as ksqlDB's `PostConditions` checks them, and what a
//! case left behind in the same shapes for the report.

use serde_json::{json, Value};
use sluice_formats::FormatKind;
use sluice_planner::catalog::{FormatDesc, SourceDef};
use sluice_planner::Catalog;

use super::model::PostConditions;
use super::run::{expected_format, schema_string, source_formats};
use sluice_engine::Engine;

/// Normalize `A INT KEY, B STRING` so it compares with what DESCRIBE-like text gives.
fn normalize_schema(s: &str) -> Result<String, String> {
    let kind = if s.to_uppercase().contains("PRIMARY KEY") {
        "TABLE"
    } else {
        "STREAM"
    };
    let stmt = format!("CREATE {kind} __POST ({s}) WITH (KAFKA_TOPIC='t', VALUE_FORMAT='JSON');");
    let parsed =
        sluice_sql::parse(&stmt).map_err(|e| format!("bad post-condition schema '{s}': {e}"))?;
    let Some(sluice_sql::Statement::CreateSource(cs)) =
        parsed.into_iter().next().map(|p| p.statement)
    else {
        return Err(format!("bad post-condition schema '{s}'"));
    };
    Ok(cs
        .elements
        .iter()
        .map(|e| {
            let ty = sluice_planner::types::sql_to_arrow(&e.ty, &())
                .map(|t| sluice_planner::types::type_name(&t))
                .unwrap_or_else(|_| e.ty.to_string());
            let suffix = match &e.constraint {
                sluice_sql::ColumnConstraint::Key => " KEY",
                sluice_sql::ColumnConstraint::PrimaryKey => " PRIMARY KEY",
                sluice_sql::ColumnConstraint::Headers => " HEADERS",
                _ => "",
            };
            format!("`{}` {ty}{suffix}", e.name.value)
        })
        .collect::<Vec<_>>()
        .join(", "))
}

/// ksqlDB's serde features of a source's key and value
/// (`SerdeFeaturesFactory`): a single key column in a format that can both
/// wrap and unwrap is `UNWRAP_SINGLES`; a value follows its
/// `WRAP_SINGLE_VALUE` (given, or the session's default) where its format
/// supports it.
fn features(def: &SourceDef) -> (Vec<&'static str>, Vec<&'static str>) {
    let key_kind = FormatKind::parse(&def.key_format.name).ok();
    let key = if def.key_columns().count() == 1
        && key_kind.is_some_and(|k| k.supports_wrapping() && k.supports_unwrapping())
    {
        vec!["UNWRAP_SINGLES"]
    } else {
        Vec::new()
    };
    let value_kind = FormatKind::parse(&def.value_format.name).ok();
    let value = match def.value_format.wrap_single_value {
        Some(true) if value_kind.is_some_and(FormatKind::supports_wrapping) => {
            vec!["WRAP_SINGLES"]
        }
        Some(false) if value_kind.is_some_and(FormatKind::supports_unwrapping) => {
            vec!["UNWRAP_SINGLES"]
        }
        _ => Vec::new(),
    };
    (key, value)
}

/// The properties ksqlDB's format info carries: an AVRO key's record name
/// (`fullSchemaName`, which ksqlDB always sets for keys), PROTOBUF's
/// `unwrapPrimitives` and both protobuf formats' `nullableRepresentation`.
fn format_properties(format: &FormatDesc, is_key: bool) -> serde_json::Map<String, Value> {
    let mut properties = serde_json::Map::new();
    if let (true, Some(name)) = (is_key && format.name == "AVRO", &format.schema_full_name) {
        properties.insert("fullSchemaName".into(), json!(name));
    }
    if format.name == "PROTOBUF" {
        properties.insert("unwrapPrimitives".into(), json!("true"));
    }
    if let Some(n) = &format.protobuf_nullable {
        properties.insert("nullableRepresentation".into(), json!(n.to_lowercase()));
    }
    properties
}

/// A source as a case's `post.sources` entry describes one.
fn source_node(def: &SourceDef) -> Value {
    let (key_features, value_features) = features(def);
    let mut key_format = json!({ "format": def.key_format.name });
    if let Some(w) = def.window {
        key_format["windowType"] = json!(w.kind.name());
        if let Some(size) = w.size_ms {
            key_format["windowSize"] = json!(size);
        }
    }
    json!({
        "name": def.name,
        "type": sluice_engine::kind_name(def.kind),
        "schema": schema_string(def),
        "keyFormat": key_format,
        "valueFormat": def.value_format.name,
        "keyFeatures": key_features,
        "valueFeatures": value_features,
        "isSource": def.is_source,
    })
}

/// A topic as a case's `post.topics.topics` entry describes one: its
/// partitions, the formats of the source stored in it, and the schemas
/// registered for its keys and values.
fn topic_node(engine: &Engine, name: &str) -> Value {
    let mut node = json!({ "name": name });
    if let Ok(d) = engine.log().describe_topic(name) {
        node["partitions"] = json!(d.partitions.len());
    }
    if let Some(def) = engine.metastore().sources().find(|d| d.topic == name) {
        let (key_features, value_features) = features(def);
        for (field, format, features, is_key) in [
            ("keyFormat", &def.key_format, key_features, true),
            ("valueFormat", &def.value_format, value_features, false),
        ] {
            let mut f = json!({ "format": format.name });
            let properties = format_properties(format, is_key);
            if !properties.is_empty() {
                f["properties"] = Value::Object(properties);
            }
            if !features.is_empty() {
                f["features"] = json!(features);
            }
            node[field] = f;
        }
    }
    for (field, is_key) in [("keySchema", true), ("valueSchema", false)] {
        let subject = sluice_formats::subject_name(name, is_key);
        if let Ok(Some((_, registered))) = engine.registry().latest(&subject) {
            node[field] = serde_json::from_str(&registered.schema)
                .unwrap_or(Value::String(registered.schema));
        }
    }
    node
}

/// What a case left behind, in the shapes of its `post` section: every
/// source, and every topic it made (`before`: those there were already).
pub fn found(engine: &Engine, before: Option<&[String]>) -> Value {
    let sources: Vec<Value> = engine
        .metastore()
        .sources()
        .map(|d| source_node(d))
        .collect();
    let topics: Vec<Value> = engine
        .log()
        .list_topics()
        .unwrap_or_default()
        .iter()
        .filter(|t| before.is_none_or(|b| !b.contains(t)))
        .map(|t| topic_node(engine, t))
        .collect();
    json!({ "sources": sources, "topics": { "topics": topics } })
}

/// `before`: the topics there were before the case ran (on a shared
/// cluster), which the blacklist does not judge.
pub fn check(
    engine: &Engine,
    post: &PostConditions,
    before: Option<&[String]>,
) -> Result<(), String> {
    for s in &post.sources {
        let name = s.name.to_uppercase();
        let def = engine
            .metastore()
            .source(&s.name)
            .or_else(|| engine.metastore().source(&name))
            .ok_or_else(|| format!("post: source {} does not exist", s.name))?;
        if let Some(kind) = &s.kind {
            let actual = sluice_engine::kind_name(def.kind);
            if !kind.eq_ignore_ascii_case(actual) {
                return Err(format!("post: {} is a {actual}, expected {kind}", s.name));
            }
        }
        if let Some(schema) = &s.schema {
            let want = normalize_schema(schema)?;
            let have = schema_string(&def);
            // A stream declares its key with KEY, a table with PRIMARY KEY; the test
            // files write either for tables.
            if want.replace(" PRIMARY KEY", " KEY") != have.replace(" PRIMARY KEY", " KEY") {
                return Err(format!(
                    "post: {} has schema {have}, expected {want}",
                    s.name
                ));
            }
        }
        let (kf, vf) = source_formats(engine, &def.name).unwrap_or_default();
        if let Some(want) = expected_format(&s.key_format) {
            if want != kf {
                return Err(format!(
                    "post: {} has key format {kf}, expected {want}",
                    s.name
                ));
            }
        }
        // a key format's window: absent means not windowed
        if let Some(Value::Object(key_format)) = &s.key_format {
            let have = def.window.map(|w| (w.kind.name().to_string(), w.size_ms));
            let want = key_format
                .get("windowType")
                .and_then(Value::as_str)
                .map(|t| {
                    (
                        t.to_uppercase(),
                        key_format.get("windowSize").and_then(Value::as_i64),
                    )
                });
            if have != want {
                return Err(format!(
                    "post: {} has key window {have:?}, expected {want:?}",
                    s.name
                ));
            }
        }
        let (key_features, value_features) = features(&def);
        for (which, want, have) in [
            ("key", &s.key_features, key_features),
            ("value", &s.value_features, value_features),
        ] {
            if let Some(want) = want {
                let mut want: Vec<String> = want.iter().map(|f| f.to_uppercase()).collect();
                let mut have: Vec<String> = have.iter().map(|f| f.to_string()).collect();
                want.sort();
                have.sort();
                if want != have {
                    return Err(format!(
                        "post: {} has {which} features {have:?}, expected {want:?}",
                        s.name
                    ));
                }
            }
        }
        if let Some(want) = s.is_source {
            if want != def.is_source {
                return Err(format!(
                    "post: {} is {}a read-only source",
                    s.name,
                    if def.is_source { "" } else { "not " }
                ));
            }
        }
        if let Some(want) = expected_format(&s.value_format) {
            if want != vf {
                return Err(format!(
                    "post: {} has value format {vf}, expected {want}",
                    s.name
                ));
            }
        }
    }
    if let Some(topics) = &post.topics {
        for t in &topics.topics {
            // a run on a shared cluster has a service id of its own: its
            // internal topics carry it where ksqlDB's runner's carry
            // `some.ksql.service.id`
            let name = match t.name.strip_prefix("_confluent-ksql-some.ksql.service.id") {
                Some(rest) => format!("_confluent-ksql-{}{rest}", engine.service_id()),
                None => t.name.clone(),
            };
            let d = engine
                .log()
                .describe_topic(&name)
                .map_err(|e| format!("post: topic {}: {e}", t.name))?;
            if let Some(p) = t.partitions {
                if d.partitions.len() as i32 != p {
                    return Err(format!(
                        "post: topic {} has {} partitions, expected {p}",
                        t.name,
                        d.partitions.len()
                    ));
                }
            }
            // the formats and registered schemas of a topic a source is
            // stored in (an internal topic's are Sluice's own, not judged)
            let node = topic_node(engine, &name);
            let holds_source = node.get("keyFormat").is_some();
            for (field, want) in [
                ("keySchema", &t.key_schema),
                ("valueSchema", &t.value_schema),
            ] {
                let Some(want) = want.as_ref().filter(|w| holds_source && !w.is_null()) else {
                    continue;
                };
                let have = node.get(field).unwrap_or(&Value::Null);
                let same = match (want, have) {
                    (Value::String(w), Value::String(h)) => w.trim() == h.trim(),
                    _ => want == have,
                };
                if !same {
                    return Err(format!(
                        "post: topic {} has {field} {have}, expected {want}",
                        t.name
                    ));
                }
            }
            for (field, want) in [
                ("keyFormat", &t.key_format),
                ("valueFormat", &t.value_format),
            ] {
                let (Some(want), Some(have)) = (want, node.get(field)) else {
                    continue;
                };
                let name_of = |v: &Value| {
                    v.get("format")
                        .and_then(Value::as_str)
                        .map(str::to_uppercase)
                };
                let features_of = |v: &Value| {
                    let mut f: Vec<String> = v
                        .get("features")
                        .and_then(Value::as_array)
                        .map(|a| {
                            a.iter()
                                .filter_map(Value::as_str)
                                .map(str::to_uppercase)
                                .collect()
                        })
                        .unwrap_or_default();
                    f.sort();
                    f
                };
                let properties_of = |v: &Value| v.get("properties").cloned().unwrap_or(json!({}));
                if name_of(want) != name_of(have)
                    || features_of(want) != features_of(have)
                    || properties_of(want) != properties_of(have)
                {
                    return Err(format!(
                        "post: topic {} has {field} {have}, expected {want}",
                        t.name
                    ));
                }
            }
        }
        if let Some(pattern) = &topics.blacklist {
            let re = regex::Regex::new(pattern)
                .map_err(|e| format!("post: bad topic blacklist '{pattern}': {e}"))?;
            let all = engine
                .log()
                .list_topics()
                .map_err(|e| format!("post: listing topics: {e}"))?;
            let found: Vec<&String> = all
                .iter()
                .filter(|t| before.is_none_or(|b| !b.contains(t)) && re.is_match(t))
                .collect();
            if !found.is_empty() {
                return Err(format!(
                    "post: blacklisted topics found (matching {pattern}): {found:?}"
                ));
            }
        }
    }
    Ok(())
}
