//! A case's `post` conditions: the sources and topics that must exist afterwards.

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
