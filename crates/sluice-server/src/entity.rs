//! ksqlDB's `KsqlEntity` JSON for what a statement returned: `currentStatus`,
//! `streams`, `tables`, `queries`, `kafka_topics`, `properties`, `function_names`,
//! `type_list`, `variables`, `sourceDescription`, `source_descriptions`,
//! `describe_function`, `queryDescription`.

use serde_json::{json, Map, Value};
use sluice_engine::metrics::TopicOffsets;
use sluice_engine::{Engine, Listing, Prepared, QueryListing, SourceDescription, StatementResult};
use sluice_planner::catalog::{ColumnRole, SourceDef};
use sluice_planner::Catalog;

use crate::schema::schema_info;

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

/// The entity for one executed statement; `None` when ksqlDB returns none
/// (`INSERT ... VALUES`).
pub fn to_entity(
    engine: &Engine,
    stmt: &Prepared,
    result: StatementResult,
    commands: &dyn CommandLog,
) -> Option<Value> {
    let shown = stmt.shown_text();
    let text = shown.trim();
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
    let listing = match result {
        StatementResult::Inserted => return None,
        StatementResult::Ack { message } => {
            return Some(current_status(engine, stmt, &message, None, commands))
        }
        StatementResult::QueryStarted { query_id, message } => {
            return Some(current_status(
                engine,
                stmt,
                &message,
                Some(query_id),
                commands,
            ))
        }
        StatementResult::Listing(listing) => listing,
        StatementResult::ConnectorCreated(info) => {
            let tasks: Vec<Value> = (0..info.tasks)
                .map(|t| json!({"connector": info.name, "task": t}))
                .collect();
            return Some(entity(
                "connector_info",
                obj(json!({"info": {
                    "name": info.name, "config": info.config, "tasks": tasks,
                    "type": info.kind.name(),
                }})),
            ));
        }
        StatementResult::ConnectorDropped { name } => {
            return Some(entity(
                "drop_connector",
                obj(json!({"connectorName": name})),
            ))
        }
        StatementResult::Warning { message } => {
            return Some(entity("warning_entity", obj(json!({"message": message}))))
        }
        StatementResult::Asserted(sluice_engine::Asserted::Topic { name, exists }) => {
            return Some(entity(
                "assert_topic",
                obj(json!({"topicName": name, "exists": exists})),
            ))
        }
        StatementResult::Asserted(sluice_engine::Asserted::Schema {
            subject,
            id,
            exists,
        }) => {
            return Some(entity(
                "assert_schema",
                obj(json!({"subject": subject, "id": id, "exists": exists})),
            ))
        }
        other => return Some(generic(text, other)),
    };
    Some(match listing {
        Listing::Sources { tables, sources } => {
            let key = if tables { "tables" } else { "streams" };
            let list: Vec<Value> = sources.iter().map(|s| source_info(s)).collect();
            entity(key, obj(json!({ key: list })))
        }
        Listing::Queries(queries) => {
            let list: Vec<Value> = queries.iter().map(query_info).collect();
            entity("queries", obj(json!({ "queries": list })))
        }
        Listing::Topics { extended, topics } => {
            let topics: Vec<Value> = topics
                .iter()
                .map(|t| {
                    let mut v =
                        json!({"name": t.name, "replicaInfo": vec![t.replicas; t.partitions]});
                    if extended {
                        v["consumerCount"] = json!(t.consumers);
                        v["consumerGroupCount"] = json!(t.consumer_groups);
                    }
                    v
                })
                .collect();
            let ty = if extended {
                "kafka_topics_extended"
            } else {
                "kafka_topics"
            };
            entity(ty, obj(json!({ "topics": topics })))
        }
        Listing::Functions(functions) => {
            let functions: Vec<Value> = functions
                .iter()
                .map(|f| json!({"name": f.name, "type": f.kind, "category": f.category}))
                .collect();
            entity("function_names", obj(json!({ "functions": functions })))
        }
        Listing::Types(types) => {
            let types: Map<String, Value> = types
                .iter()
                .map(|t| (t.name.clone(), schema_info(&t.ty)))
                .collect();
            entity("type_list", obj(json!({ "types": types })))
        }
        Listing::Properties(props) => {
            // ksqlDB's lists: here the session's overrides, and the
            // settings nobody set
            let named = |scope: &str| -> Vec<&str> {
                props
                    .iter()
                    .filter(|p| p.scope == scope)
                    .map(|p| p.name.as_str())
                    .collect()
            };
            let (overwritten, defaults) = (named("SESSION"), named("DEFAULT"));
            let props: Vec<Value> = props
                .iter()
                .map(|p| json!({"name": p.name, "scope": "KSQL", "value": p.value}))
                .collect();
            entity(
                "properties",
                obj(json!({
                    "properties": props,
                    "overwrittenProperties": overwritten,
                    "defaultProperties": defaults,
                })),
            )
        }
        Listing::Variables(vars) => {
            let list: Vec<Value> = vars
                .iter()
                .map(|(k, v)| json!({"name": k, "value": v}))
                .collect();
            entity("variables", obj(json!({ "variables": list })))
        }
        Listing::Description {
            extended,
            description,
        } => entity(
            "sourceDescription",
            obj(json!({ "sourceDescription": source_description(&description, extended) })),
        ),
        Listing::Descriptions {
            extended,
            descriptions,
        } => {
            let list: Vec<Value> = descriptions
                .iter()
                .map(|d| source_description(d, extended))
                .collect();
            entity(
                "source_descriptions",
                obj(json!({ "sourceDescriptions": list })),
            )
        }
        Listing::Function(d) => {
            let functions: Vec<Value> = d
                .variations
                .iter()
                .map(|v| {
                    let last = v.arguments.len().saturating_sub(1);
                    let arguments: Vec<Value> = v
                        .arguments
                        .iter()
                        .enumerate()
                        .map(|(i, (name, ty))| {
                            json!({"name": name, "type": ty, "description": "",
                                   "isVariadic": v.variadic && i == last})
                        })
                        .collect();
                    json!({
                        "arguments": arguments,
                        "returnType": v.returns,
                        "description": v.text,
                    })
                })
                .collect();
            entity(
                "describe_function",
                obj(json!({
                    "name": d.name, "description": d.description, "author": d.author,
                    "version": d.version, "path": d.path,
                    "functions": functions, "type": d.kind, "category": d.category,
                })),
            )
        }
        Listing::Connectors(list) => {
            let list: Vec<Value> = list
                .iter()
                .map(|c| {
                    json!({"name": c.name, "type": c.kind.name(), "className": c.class, "state": c.state})
                })
                .collect();
            entity("connector_list", obj(json!({ "connectors": list })))
        }
        Listing::Connector(d) => {
            let state = |state: sluice_engine::connect::State,
                         worker: &str,
                         trace: &Option<String>| {
                json!({"state": state.name(), "worker_id": worker, "trace": trace})
            };
            let s = &d.status;
            let tasks: Vec<Value> = s
                .tasks
                .iter()
                .map(|t| {
                    let mut v = state(t.state, &t.worker_id, &t.trace);
                    v["id"] = json!(t.id);
                    v
                })
                .collect();
            let sources: Vec<Value> = d
                .sources
                .iter()
                .map(|s| source_description(s, false))
                .collect();
            entity(
                "connector_description",
                obj(json!({
                    "connectorClass": d.class,
                    "status": {
                        "name": s.name,
                        "connector": state(s.state, &s.worker_id, &s.trace),
                        "tasks": tasks,
                        "type": s.kind.name(),
                    },
                    "sources": sources,
                    "topics": d.topics,
                })),
            )
        }
        Listing::ConnectorPlugins(plugins) => {
            let list: Vec<Value> = plugins
                .iter()
                .map(|p| json!({"className": p.class, "type": p.kind.name(), "version": p.version}))
                .collect();
            entity(
                "connector_plugins_list",
                obj(json!({ "connectorsPlugins": list })),
            )
        }
        Listing::QueryDescription(q) => entity(
            "queryDescription",
            obj(json!({ "queryDescription": query_description(engine, &q) })),
        ),
    })
}

/// A statement's `currentStatus`: with a command topic, its sequence number
/// is the offset of its command there (what a later request's
/// `commandSequenceNumber` waits for, on any server of the service).
fn current_status(
    engine: &Engine,
    stmt: &Prepared,
    message: &str,
    query_id: Option<String>,
    commands: &dyn CommandLog,
) -> Value {
    let id = stmt.command_id();
    let recorded = commands.record(&id, message) as i64;
    let seq = match (engine.follows_commands(), engine.last_command_offset()) {
        (true, Some(offset)) => offset,
        _ => recorded,
    };
    json!({
        "@type": "currentStatus",
        "statementText": stmt.shown_text().trim(),
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
        StatementResult::Inserted => {
            json!({"@type": "text", "statementText": text, "text": "", "warnings": []})
        }
        other @ (StatementResult::ConnectorCreated(_)
        | StatementResult::ConnectorDropped { .. }
        | StatementResult::Warning { .. }) => {
            let message = other.connector_message().unwrap_or_default();
            json!({"@type": "text", "statementText": text, "text": message, "warnings": []})
        }
        StatementResult::Asserted(a) => {
            json!({"@type": "text", "statementText": text, "text": a.message(), "warnings": []})
        }
        StatementResult::Listing(l) => generic(text, l.to_table()),
        StatementResult::Rows { schema, batches } => json!({
            "@type": "rows", "statementText": text,
            "header": crate::schema::header_schema(&schema, &[], &[]),
            "rows": batches.iter().flat_map(crate::schema::rows).collect::<Vec<_>>(),
            "warnings": [],
        }),
    }
}

fn source_info(s: &SourceDef) -> Value {
    json!({
        "type": kind_upper(s), "name": s.name, "topic": s.topic,
        "keyFormat": s.key_format.name, "valueFormat": s.value_format.name,
        "isWindowed": s.window.is_some(),
    })
}

/// `STREAM` or `TABLE`.
fn kind_upper(s: &SourceDef) -> String {
    sluice_engine::kind_name(s.kind).to_uppercase()
}

fn query_info(q: &QueryListing) -> Value {
    let state = q.status.state.name();
    json!({
        "queryString": q.sql, "sinks": [q.sink], "sinkKafkaTopics": [q.sink_topic],
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

fn source_description(d: &SourceDescription, extended: bool) -> Value {
    let def = &d.source;
    let offsets: Vec<Value> = d
        .offsets
        .iter()
        .map(|(group, topics)| offset_summary(group, topics))
        .collect();
    json!({
        "name": def.name,
        "windowType": def.window.as_ref().map(|w| w.kind.name()),
        "readQueries": d.readers.iter().map(query_info).collect::<Vec<_>>(),
        "writeQueries": d.writers.iter().map(query_info).collect::<Vec<_>>(),
        "fields": fields(def),
        "type": kind_upper(def),
        "timestamp": def.timestamp.as_ref().map(|t| t.column.clone()).unwrap_or_default(),
        "statistics": d.statistics,
        "errorStats": d.error_stats,
        "extended": extended,
        "keyFormat": def.key_format.name,
        "valueFormat": def.value_format.name,
        "topic": def.topic,
        "partitions": d.partitions,
        "replication": 1,
        "statement": def.sql,
        "queryOffsetSummaries": offsets,
        "sourceConstraints": [],
    })
}

/// ksqlDB's `QueryOffsetSummary` of a query: its group, and per source topic
/// and partition the log's start and end and the committed offset.
fn offset_summary(group: &str, topics: &[TopicOffsets]) -> Value {
    let topics: Vec<Value> = topics
        .iter()
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
    json!({"groupId": group, "topicSummaries": topics})
}

/// A query's steps as JSON: each with its kind, label, SQL and inputs.
fn graph_json(graph: &sluice_engine::QueryGraph) -> Value {
    graph
        .nodes
        .iter()
        .map(|n| json!({"id": n.id, "kind": n.kind, "label": n.label, "sql": n.sql, "inputs": n.inputs}))
        .collect()
}

fn query_description(engine: &Engine, q: &QueryListing) -> Value {
    // records its sources hold that it has not read yet
    let lag: Option<i64> = engine
        .queries()
        .find(|r| r.id == q.id)
        .and_then(|r| engine.query_offsets(r).ok())
        .map(|topics| {
            topics
                .iter()
                .flat_map(|t| &t.partitions)
                .map(|p| p.lag().max(0))
                .sum()
        });
    let sink = engine.metastore().source(&q.sink);
    let errors: Vec<Value> = q
        .status
        .errors
        .iter()
        .map(|e| json!({"errorMessage": e.message, "timestamp": e.at_ms, "type": "UNKNOWN"}))
        .collect();
    json!({
        "id": q.id,
        "statementText": q.sql,
        "windowType": sink.as_ref().and_then(|s| s.window.as_ref().map(|w| w.kind.name())),
        "fields": sink.as_ref().map(|s| fields(s)).unwrap_or_default(),
        "sources": q.sources,
        "sinks": [q.sink],
        "topology": "",
        "executionPlan": q.graph.to_text(),
        "graph": graph_json(&q.graph),
        "metrics": {
            "recordsIn": q.status.records_in,
            "recordsOut": q.status.records_out,
            "recordsPerSec": q.status.records_per_sec,
            "stateBytes": q.status.state_bytes,
            "lag": lag,
        },
        "overriddenProperties": {},
        "ksqlHostQueryStatus": {},
        "queryType": "PERSISTENT",
        "queryErrors": errors,
        "tasksMetadata": [],
        "state": q.status.state.name(),
    })
}
