//! ksqlDB's REST entities (`currentStatus`, `streams`, `sourceDescription`, ...) as
//! the REPL prints them: messages, aligned tables and descriptions. The embedded and
//! the remote REPL both render these, so they look the same.

use serde_json::Value;

use crate::render::grid;

fn s(v: &Value, key: &str) -> String {
    match &v[key] {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn list<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v[key].as_array().map(Vec::as_slice).unwrap_or_default()
}

/// A `SchemaInfo` as a type: `ARRAY<STRING>`, ``STRUCT<`A` INTEGER>``.
pub fn schema_type(schema: &Value) -> String {
    match schema["type"].as_str().unwrap_or("?") {
        "ARRAY" => format!("ARRAY<{}>", schema_type(&schema["memberSchema"])),
        "MAP" => format!("MAP<STRING, {}>", schema_type(&schema["memberSchema"])),
        "STRUCT" => format!(
            "STRUCT<{}>",
            list(schema, "fields")
                .iter()
                .map(|f| format!("`{}` {}", s(f, "name"), schema_type(&f["schema"])))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        "DECIMAL" => format!(
            "DECIMAL({}, {})",
            schema["parameters"]["precision"], schema["parameters"]["scale"]
        ),
        other => other.to_string(),
    }
}

fn table(header: &[&str], rows: Vec<Vec<String>>) -> String {
    grid(header.iter().map(|h| h.to_string()).collect(), rows)
}

fn field_rows(fields: &[Value]) -> Vec<Vec<String>> {
    fields
        .iter()
        .map(|f| {
            let suffix = match f["type"].as_str() {
                Some("KEY") => " (key)".to_string(),
                Some("HEADER") => match f["headerKey"].as_str() {
                    Some(k) => format!(" (header('{k}'))"),
                    None => " (headers)".to_string(),
                },
                _ => String::new(),
            };
            vec![
                s(f, "name"),
                format!("{}{suffix}", schema_type(&f["schema"])),
            ]
        })
        .collect()
}

fn source_description(d: &Value) -> String {
    let mut out = format!(
        "Name                 : {}\nType                 : {}\nKey format           : {}\nValue format         : {}\nKafka topic          : {}\n",
        s(d, "name"),
        s(d, "type"),
        s(d, "keyFormat"),
        s(d, "valueFormat"),
        s(d, "topic")
    );
    if d["extended"].as_bool() == Some(true) {
        out.push_str(&format!("Statement            : {}\n", s(d, "statement")));
    }
    out.push_str(&table(&["Field", "Type"], field_rows(list(d, "fields"))));
    for (title, key) in [
        ("Queries that read from this source", "readQueries"),
        ("Queries that write from this source", "writeQueries"),
    ] {
        let ids: Vec<String> = list(d, key).iter().map(|q| s(q, "id")).collect();
        if !ids.is_empty() {
            out.push_str(&format!("\n{title}: {}", ids.join(", ")));
        }
    }
    out
}

/// One entity as text.
pub fn render_entity(e: &Value) -> String {
    match e["@type"].as_str().unwrap_or_default() {
        "currentStatus" => s(&e["commandStatus"], "message"),
        "streams" | "tables" => {
            let key = if e["@type"] == "streams" {
                "streams"
            } else {
                "tables"
            };
            let name = if key == "streams" {
                "Stream Name"
            } else {
                "Table Name"
            };
            let rows = list(e, key)
                .iter()
                .map(|x| {
                    ["name", "topic", "keyFormat", "valueFormat", "isWindowed"]
                        .iter()
                        .map(|k| s(x, k))
                        .collect()
                })
                .collect();
            table(
                &[
                    name,
                    "Kafka Topic",
                    "Key Format",
                    "Value Format",
                    "Windowed",
                ],
                rows,
            )
        }
        "queries" => {
            let rows = list(e, "queries")
                .iter()
                .map(|q| {
                    vec![
                        s(q, "id"),
                        s(q, "queryType"),
                        s(q, "state"),
                        list(q, "sinks")
                            .iter()
                            .map(|x| x.as_str().unwrap_or_default())
                            .collect::<Vec<_>>()
                            .join(","),
                        list(q, "sinkKafkaTopics")
                            .iter()
                            .map(|x| x.as_str().unwrap_or_default())
                            .collect::<Vec<_>>()
                            .join(","),
                        s(q, "queryString"),
                    ]
                })
                .collect();
            table(&sluice_engine::result::QUERIES_HEADER, rows)
        }
        "kafka_topics" => {
            let rows = list(e, "topics")
                .iter()
                .map(|t| {
                    let replicas = list(t, "replicaInfo");
                    vec![
                        s(t, "name"),
                        replicas.len().to_string(),
                        replicas.first().map(|r| r.to_string()).unwrap_or_default(),
                    ]
                })
                .collect();
            table(&["Kafka Topic", "Partitions", "Partition Replicas"], rows)
        }
        "properties" => {
            let rows = list(e, "properties")
                .iter()
                .map(|p| vec![s(p, "name"), s(p, "scope"), s(p, "value")])
                .collect();
            table(&["Property", "Scope", "Value"], rows)
        }
        "function_names" => {
            let rows = list(e, "functions")
                .iter()
                .map(|f| vec![s(f, "name"), s(f, "category")])
                .collect();
            table(&["Function Name", "Category"], rows)
        }
        "type_list" => {
            let rows = e["types"]
                .as_object()
                .map(|m| {
                    m.iter()
                        .map(|(n, t)| vec![n.clone(), schema_type(t)])
                        .collect()
                })
                .unwrap_or_default();
            table(&["Type Name", "Schema"], rows)
        }
        "variables" => {
            let rows = list(e, "variables")
                .iter()
                .map(|v| vec![s(v, "name"), s(v, "value")])
                .collect();
            table(&["Variable Name", "Value"], rows)
        }
        "sourceDescription" => source_description(&e["sourceDescription"]),
        "source_descriptions" => list(e, "sourceDescriptions")
            .iter()
            .map(source_description)
            .collect::<Vec<_>>()
            .join("\n\n"),
        "describe_function" => {
            let mut out = format!(
                "Name        : {}\nAuthor      : {}\nVersion     : {}\nOverview    : {}\n\
                 Type        : {}\nCategory    : {}\nPath        : {}\nVariations  :\n",
                s(e, "name"),
                s(e, "author"),
                s(e, "version"),
                s(e, "description"),
                s(e, "type"),
                s(e, "category"),
                s(e, "path"),
            );
            for f in list(e, "functions") {
                out.push_str(&format!(
                    "\n\tVariation   : {}\n\tReturns     : {}\n",
                    s(f, "description"),
                    s(f, "returnType")
                ));
            }
            out
        }
        "queryDescription" => {
            let q = &e["queryDescription"];
            format!(
                "ID                   : {}\nQuery Type           : {}\nSQL                  : {}\n{}\nSources              : {}\nSinks                : {}\n\nExecution plan\n--------------\n{}",
                s(q, "id"),
                s(q, "queryType"),
                s(q, "statementText"),
                table(&["Field", "Type"], field_rows(list(q, "fields"))),
                list(q, "sources").iter().map(|x| x.as_str().unwrap_or_default()).collect::<Vec<_>>().join(", "),
                list(q, "sinks").iter().map(|x| x.as_str().unwrap_or_default()).collect::<Vec<_>>().join(", "),
                s(q, "executionPlan"),
            )
        }
        "table" => {
            let header = list(e, "header")
                .iter()
                .map(|h| h.as_str().unwrap_or_default().to_string())
                .collect();
            let rows = list(e, "rows")
                .iter()
                .map(|r| {
                    r.as_array()
                        .map(|c| {
                            c.iter()
                                .map(|x| x.as_str().unwrap_or_default().to_string())
                                .collect()
                        })
                        .unwrap_or_default()
                })
                .collect();
            format!("{}\n{}", s(e, "title"), grid(header, rows))
        }
        "text" => s(e, "text"),
        "connector_info" => format!("Created connector {}", s(&e["info"], "name")),
        "drop_connector" => format!("Dropped connector \"{}\"", s(e, "connectorName")),
        "warning_entity" => s(e, "message"),
        "connector_list" => {
            let rows = list(e, "connectors")
                .iter()
                .map(|c| {
                    vec![
                        s(c, "name"),
                        s(c, "type").to_uppercase(),
                        s(c, "className"),
                        s(c, "state"),
                    ]
                })
                .collect();
            table(&["Connector Name", "Type", "Class", "Status"], rows)
        }
        "connector_plugins_list" => {
            let rows = list(e, "connectorsPlugins")
                .iter()
                .map(|p| {
                    vec![
                        s(p, "type").to_uppercase(),
                        s(p, "className"),
                        s(p, "version"),
                    ]
                })
                .collect();
            table(&["Connector Plugin Type", "Class", "Version"], rows)
        }
        "connector_description" => connector_description(e),
        _ => serde_json::to_string_pretty(e).unwrap_or_default(),
    }
}

/// DESCRIBE CONNECTOR as ksqlDB's CLI prints it.
fn connector_description(e: &Value) -> String {
    let status = &e["status"];
    let mut out = format!(
        "Name                 : {}\nClass                : {}\nType                 : {}\nState                : {}\nWorkerId             : {}\n",
        s(status, "name"),
        s(e, "connectorClass"),
        s(status, "type"),
        s(&status["connector"], "state"),
        s(&status["connector"], "worker_id"),
    );
    let trace = s(&status["connector"], "trace");
    if !trace.is_empty() {
        out.push_str(&format!("Trace                : {trace}\n"));
    }
    let tasks = list(status, "tasks")
        .iter()
        .map(|t| vec![s(t, "id"), s(t, "state"), s(t, "trace")])
        .collect();
    out.push('\n');
    out.push_str(&table(&["Task ID", "State", "Error Trace"], tasks));
    let sources: Vec<Vec<String>> = list(e, "sources")
        .iter()
        .map(|d| vec![s(d, "name"), s(d, "topic"), s(d, "type")])
        .collect();
    if !sources.is_empty() {
        out.push('\n');
        out.push_str(&table(
            &["KSQL Source Name", "Kafka Topic", "Type"],
            sources,
        ));
    }
    let topics: Vec<Vec<String>> = list(e, "topics")
        .iter()
        .map(|t| vec![t.as_str().unwrap_or_default().to_string()])
        .collect();
    if !topics.is_empty() {
        out.push('\n');
        out.push_str(&table(&["Related Topics"], topics));
    }
    out
}
