//! ksqlDB's `KsqlEntity` JSON for what a statement returned: `currentStatus`,
//! `streams`, `tables`, `queries`, `kafka_topics`, `properties`, `function_names`,
//! `type_list`, `variables`, `sourceDescription`, `source_descriptions`,
//! `describe_function`, `queryDescription`.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{json, Map, Value};
use sluice_engine::{Engine, RunningQuery, StatementResult};
use sluice_planner::catalog::{ColumnRole, SourceDef};
use sluice_planner::Catalog;
use sluice_sql::{Describe, Explain, ParsedStatement, Show, SourceKind, Statement};

use crate::schema::{schema_info, sql_schema_info};

/// Where `currentStatus` entities get their command sequence numbers.
pub trait CommandLog {
    /// Record a successful command; returns its sequence number.
    fn record(&self, command_id: &str, message: &str) -> usize;
}

/// A command log that keeps nothing (the embedded REPL).
pub struct NoCommandLog;

impl CommandLog for NoCommandLog {
    fn record(&self, _: &str, _: &str) -> usize {
        0
    }
}

fn kind_name(kind: SourceKind) -> &'static str {
    match kind {
        SourceKind::Stream => "STREAM",
        SourceKind::Table => "TABLE",
    }
}

/// The command id ksqlDB gives a DDL statement: `stream/`NAME`/create`.
fn command_id(stmt: &Statement) -> String {
    let source = |kind: SourceKind, name: &str, action: &str| {
        format!("{}/`{name}`/{action}", kind_name(kind).to_lowercase())
    };
    match stmt {
        Statement::CreateSource(cs) => source(cs.kind, &cs.name.value, "create"),
        Statement::CreateAsSelect(c) => source(c.kind, &c.name.value, "create"),
        Statement::DropSource { kind, name, .. } => source(*kind, &name.value, "drop"),
        Statement::InsertInto { target, .. } => format!("stream/`{}`/create", target.value),
        Statement::Terminate { query_id } => format!(
            "terminate/{}/execute",
            query_id.clone().unwrap_or_else(|| "ALL".into())
        ),
        Statement::CreateType { name, .. } => format!("type/`{}`/create", name.value),
        Statement::DropType { name, .. } => format!("type/`{}`/drop", name.value),
        _ => "unknown/unknown/execute".to_string(),
    }
}

/// The entity for one executed statement; `None` when ksqlDB returns none
/// (`INSERT ... VALUES`).
pub fn to_entity(
    engine: &Engine,
    stmt: &ParsedStatement,
    result: StatementResult,
    commands: &dyn CommandLog,
) -> Option<Value> {
    let text = stmt.text.trim();
    let entity = |ty: &str, mut fields: Map<String, Value>| {
        let mut m = Map::new();
        m.insert("@type".into(), json!(ty));
        m.insert("statementText".into(), json!(text));
        m.append(&mut fields);
        m.insert("warnings".into(), json!([]));
        Value::Object(m)
    };
    let obj = |v: Value| match v {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    Some(match &stmt.statement {
        Statement::InsertValues { .. } => return None,
        Statement::Show(show) => match show {
            Show::Streams { .. } | Show::Tables { .. } => {
                let (kind, key) = match show {
                    Show::Streams { .. } => (SourceKind::Stream, "streams"),
                    _ => (SourceKind::Table, "tables"),
                };
                let list: Vec<Value> = engine
                    .metastore()
                    .sources()
                    .filter(|s| s.kind == kind)
                    .map(|s| source_info(s))
                    .collect();
                entity(key, obj(json!({ key: list })))
            }
            Show::Queries { .. } => {
                let list: Vec<Value> = engine.queries().map(|q| query_info(engine, q)).collect();
                entity("queries", obj(json!({ "queries": list })))
            }
            Show::Topics { extended, .. } => {
                let topics: Vec<Value> = table_rows(&result)
                    .iter()
                    .map(|r| {
                        let partitions: usize = cell(r, 1).parse().unwrap_or(1);
                        let replicas: u64 = cell(r, 2).parse().unwrap_or(1);
                        let mut t =
                            json!({"name": cell(r, 0), "replicaInfo": vec![replicas; partitions]});
                        if *extended {
                            let n = |i| cell(r, i).parse::<u64>().unwrap_or(0);
                            t["consumerCount"] = json!(n(3));
                            t["consumerGroupCount"] = json!(n(4));
                        }
                        t
                    })
                    .collect();
                let ty = if *extended {
                    "kafka_topics_extended"
                } else {
                    "kafka_topics"
                };
                entity(ty, obj(json!({ "topics": topics })))
            }
            Show::Functions => {
                let functions: Vec<Value> = table_rows(&result)
                    .iter()
                    .map(
                        |r| json!({"name": cell(r, 0), "type": cell(r, 1), "category": cell(r, 2)}),
                    )
                    .collect();
                entity("function_names", obj(json!({ "functions": functions })))
            }
            Show::Types => {
                let types: Map<String, Value> = engine
                    .metastore()
                    .types()
                    .map(|(n, t)| (n.clone(), sql_schema_info(t)))
                    .collect();
                entity("type_list", obj(json!({ "types": types })))
            }
            Show::Properties => {
                let props: Vec<Value> = table_rows(&result)
                    .iter()
                    .map(|r| json!({"name": cell(r, 0), "scope": "KSQL", "value": cell(r, 2)}))
                    .collect();
                entity(
                    "properties",
                    obj(
                        json!({"properties": props, "overwrittenProperties": [], "defaultProperties": []}),
                    ),
                )
            }
            Show::Variables | Show::Connectors => generic(text, result),
        },
        Statement::Describe(Describe::Source { name, extended }) => {
            let Some(def) = engine.metastore().source(&name.value) else {
                return Some(generic(text, result));
            };
            entity(
                "sourceDescription",
                obj(json!({ "sourceDescription": source_description(engine, &def, *extended) })),
            )
        }
        Statement::Describe(
            d @ (Describe::AllStreams { extended } | Describe::AllTables { extended }),
        ) => {
            let kind = if matches!(d, Describe::AllStreams { .. }) {
                SourceKind::Stream
            } else {
                SourceKind::Table
            };
            let list: Vec<Value> = engine
                .metastore()
                .sources()
                .filter(|s| s.kind == kind)
                .map(|s| source_description(engine, s, *extended))
                .collect();
            entity(
                "source_descriptions",
                obj(json!({ "sourceDescriptions": list })),
            )
        }
        Statement::Describe(Describe::Function { name }) => {
            let Some(doc) = sluice_functions::describe(name) else {
                return Some(generic(text, result));
            };
            let functions: Vec<Value> = doc
                .signatures
                .iter()
                .map(|sig| {
                    let (args, ret) = sig.split_once("=>").unwrap_or((sig, ""));
                    json!({
                        "arguments": [],
                        "returnType": ret.trim(),
                        "description": sig.trim(),
                        "argumentTypes": [args.trim()],
                    })
                })
                .collect();
            entity(
                "describe_function",
                obj(json!({
                    "name": doc.name, "description": doc.description, "author": "Sluice",
                    "version": env!("CARGO_PKG_VERSION"), "path": "internal",
                    "functions": functions, "type": "SCALAR", "category": doc.category,
                })),
            )
        }
        Statement::Explain(Explain::QueryId(id)) => {
            match engine.queries().find(|q| q.id.eq_ignore_ascii_case(id)) {
                Some(q) => entity(
                    "queryDescription",
                    obj(json!({ "queryDescription": query_description(engine, q, &result) })),
                ),
                None => generic(text, result),
            }
        }
        _ => match result {
            StatementResult::Ack { message } => current_status(stmt, &message, None, commands),
            StatementResult::QueryStarted { query_id, message } => {
                current_status(stmt, &message, Some(query_id), commands)
            }
            other => generic(text, other),
        },
    })
}

fn current_status(
    stmt: &ParsedStatement,
    message: &str,
    query_id: Option<String>,
    commands: &dyn CommandLog,
) -> Value {
    let id = command_id(&stmt.statement);
    let seq = commands.record(&id, message);
    json!({
        "@type": "currentStatus",
        "statementText": stmt.text.trim(),
        "commandId": id,
        "commandStatus": {"status": "SUCCESS", "message": message, "queryId": query_id},
        "commandSequenceNumber": seq,
        "warnings": [],
    })
}

/// Results with no ksqlDB counterpart: kept readable.
fn generic(text: &str, result: StatementResult) -> Value {
    match result {
        StatementResult::Table {
            title,
            header,
            rows,
        } => json!({
            "@type": "table", "statementText": text, "title": title,
            "header": header, "rows": rows, "warnings": [],
        }),
        StatementResult::Text(t) => {
            json!({"@type": "text", "statementText": text, "text": t, "warnings": []})
        }
        StatementResult::Ack { message } | StatementResult::QueryStarted { message, .. } => {
            json!({"@type": "text", "statementText": text, "text": message, "warnings": []})
        }
        StatementResult::Rows { schema, batches } => json!({
            "@type": "rows", "statementText": text,
            "header": crate::schema::header_schema(&schema, &[]),
            "rows": batches.iter().flat_map(crate::schema::rows).collect::<Vec<_>>(),
            "warnings": [],
        }),
    }
}

/// The `variables` entity of `SHOW VARIABLES` (variables live in the request).
pub fn variables_entity(text: &str, vars: &HashMap<String, String>) -> Value {
    let mut list: Vec<(&String, &String)> = vars.iter().collect();
    list.sort();
    let list: Vec<Value> = list
        .into_iter()
        .map(|(k, v)| json!({"name": k, "value": v}))
        .collect();
    json!({"@type": "variables", "statementText": text.trim(), "variables": list, "warnings": []})
}

fn table_rows(result: &StatementResult) -> &[Vec<String>] {
    match result {
        StatementResult::Table { rows, .. } => rows,
        _ => &[],
    }
}

fn cell(row: &[String], i: usize) -> String {
    row.get(i).cloned().unwrap_or_default()
}

fn source_info(s: &SourceDef) -> Value {
    json!({
        "type": kind_name(s.kind), "name": s.name, "topic": s.topic,
        "keyFormat": s.key_format.name, "valueFormat": s.value_format.name,
        "isWindowed": s.window.is_some(),
    })
}

fn query_info(engine: &Engine, q: &RunningQuery) -> Value {
    let topic = engine
        .metastore()
        .source(&q.sink)
        .map(|s| s.topic.clone())
        .unwrap_or_default();
    let state = q.state().name();
    json!({
        "queryString": q.sql, "sinks": [q.sink], "sinkKafkaTopics": [topic],
        "id": q.id, "statusCount": {state: 1}, "queryType": "PERSISTENT", "state": state,
    })
}

fn fields(def: &SourceDef) -> Vec<Value> {
    def.key_columns()
        .chain(def.value_columns())
        .chain(def.header_columns())
        .map(|c| {
            let mut f = json!({"name": c.name, "schema": schema_info(&c.ty)});
            match &c.role {
                ColumnRole::Key => f["type"] = json!("KEY"),
                ColumnRole::Header(key) => {
                    f["type"] = json!("HEADER");
                    if let Some(k) = key {
                        f["headerKey"] = json!(k);
                    }
                }
                _ => {}
            }
            f
        })
        .collect()
}

fn source_description(engine: &Engine, def: &Arc<SourceDef>, extended: bool) -> Value {
    let writers: Vec<Value> = engine
        .queries()
        .filter(|q| q.sink == def.name)
        .map(|q| query_info(engine, q))
        .collect();
    let readers: Vec<Value> = engine
        .queries()
        .filter(|q| q.sources.contains(&def.name))
        .map(|q| query_info(engine, q))
        .collect();
    let partitions = engine
        .log()
        .describe_topic(&def.topic)
        .map(|d| d.partitions.len())
        .unwrap_or(0);
    let (statistics, error_stats) = if extended {
        engine.source_statistics(&def.name)
    } else {
        (String::new(), String::new())
    };
    let offsets: Vec<Value> = if extended {
        engine
            .queries()
            .filter(|q| q.sources.contains(&def.name))
            .map(|q| offset_summary(engine, q))
            .collect()
    } else {
        Vec::new()
    };
    json!({
        "name": def.name,
        "windowType": def.window.as_ref().map(|w| w.kind.name()),
        "readQueries": readers,
        "writeQueries": writers,
        "fields": fields(def),
        "type": kind_name(def.kind),
        "timestamp": def.timestamp.as_ref().map(|t| t.column.clone()).unwrap_or_default(),
        "statistics": statistics,
        "errorStats": error_stats,
        "extended": extended,
        "keyFormat": def.key_format.name,
        "valueFormat": def.value_format.name,
        "topic": def.topic,
        "partitions": partitions,
        "replication": 1,
        "statement": def.sql,
        "queryOffsetSummaries": offsets,
        "sourceConstraints": [],
    })
}

/// ksqlDB's `QueryOffsetSummary` of a query: its group, and per source topic
/// and partition the log's start and end and the committed offset.
fn offset_summary(engine: &Engine, q: &RunningQuery) -> Value {
    let topics: Vec<Value> = engine
        .query_offsets(q)
        .unwrap_or_default()
        .into_iter()
        .map(|t| {
            let offsets: Vec<Value> = t
                .partitions
                .iter()
                .map(|p| {
                    json!({
                        "partition": p.partition,
                        "logStartOffset": p.log_start,
                        "logEndOffset": p.log_end,
                        "consumerOffset": p.consumer.unwrap_or(0),
                    })
                })
                .collect();
            json!({"kafkaTopic": t.topic, "offsets": offsets})
        })
        .collect();
    json!({"groupId": q.group, "topicSummaries": topics})
}

fn query_description(engine: &Engine, q: &RunningQuery, result: &StatementResult) -> Value {
    let sink = engine.metastore().source(&q.sink);
    let status = q.status();
    let errors: Vec<Value> = status
        .errors
        .iter()
        .map(|e| json!({"errorMessage": e.message, "timestamp": e.at_ms, "type": "UNKNOWN"}))
        .collect();
    let plan = match result {
        StatementResult::Text(t) => t.clone(),
        _ => String::new(),
    };
    json!({
        "id": q.id,
        "statementText": q.sql,
        "windowType": sink.as_ref().and_then(|s| s.window.as_ref().map(|w| w.kind.name())),
        "fields": sink.as_ref().map(|s| fields(s)).unwrap_or_default(),
        "sources": q.sources,
        "sinks": [q.sink],
        "topology": "",
        "executionPlan": plan,
        "overriddenProperties": {},
        "ksqlHostQueryStatus": {},
        "queryType": "PERSISTENT",
        "queryErrors": errors,
        "tasksMetadata": [],
        "state": status.state.name(),
    })
}
