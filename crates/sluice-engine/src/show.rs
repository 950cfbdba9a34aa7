//! SHOW / LIST / DESCRIBE / EXPLAIN: listings of what the engine knows.

use sluice_planner::catalog::{ColumnRole, SourceDef};
use sluice_planner::types::type_name;
use sluice_planner::Catalog;
use sluice_sql::{Describe, Explain, Show, SourceKind};

use crate::engine::Engine;
use crate::error::{EngineError, Result};
use crate::result::StatementResult;

fn table(title: &str, header: &[&str], rows: Vec<Vec<String>>) -> StatementResult {
    StatementResult::Table {
        title: title.to_string(),
        header: header.iter().map(|h| h.to_string()).collect(),
        rows,
    }
}

/// `NAME TYPE [KEY|PRIMARY KEY|HEADER('k')|HEADERS]` per column, as DESCRIBE prints.
fn column_rows(def: &SourceDef) -> Vec<Vec<String>> {
    let mut rows = vec![vec!["ROWTIME".to_string(), "BIGINT (system)".to_string()]];
    for c in def
        .key_columns()
        .chain(def.value_columns())
        .chain(def.header_columns())
    {
        let suffix = match (&c.role, def.kind) {
            (ColumnRole::Key, SourceKind::Stream) => " (key)".to_string(),
            (ColumnRole::Key, SourceKind::Table) => " (primary key)".to_string(),
            (ColumnRole::Header(Some(k)), _) => format!(" (header('{k}'))"),
            (ColumnRole::Header(None), _) => " (headers)".to_string(),
            _ => String::new(),
        };
        rows.push(vec![
            c.name.clone(),
            format!("{}{suffix}", type_name(&c.ty)),
        ]);
    }
    rows
}

impl Engine {
    fn sources_of(&self, kind: SourceKind) -> Vec<&std::sync::Arc<SourceDef>> {
        self.metastore
            .sources()
            .filter(|s| s.kind == kind)
            .collect()
    }

    pub(crate) fn show(&self, show: &Show) -> Result<StatementResult> {
        Ok(match show {
            Show::Streams { .. } | Show::Tables { .. } => {
                let (kind, title) = match show {
                    Show::Streams { .. } => (SourceKind::Stream, "Streams"),
                    _ => (SourceKind::Table, "Tables"),
                };
                let rows = self
                    .sources_of(kind)
                    .into_iter()
                    .map(|s| {
                        vec![
                            s.name.clone(),
                            s.topic.clone(),
                            s.key_format.name.clone(),
                            s.value_format.name.clone(),
                            (s.window.is_some()).to_string(),
                        ]
                    })
                    .collect();
                table(
                    title,
                    &[
                        "Name",
                        "Kafka Topic",
                        "Key Format",
                        "Value Format",
                        "Windowed",
                    ],
                    rows,
                )
            }
            Show::Topics { all, extended } => self.show_topics(*all, *extended)?,
            Show::Queries { .. } => {
                let rows = self
                    .queries
                    .values()
                    .map(|q| {
                        let topic = self
                            .metastore
                            .source(&q.sink)
                            .map(|s| s.topic.clone())
                            .unwrap_or_default();
                        vec![
                            q.id.clone(),
                            "PERSISTENT".to_string(),
                            format!("{}:1", q.state().name()),
                            q.sink.clone(),
                            topic,
                            q.sql.clone(),
                        ]
                    })
                    .collect();
                table(
                    "Queries",
                    &[
                        "Query ID",
                        "Query Type",
                        "Status",
                        "Sink Name",
                        "Sink Kafka Topic",
                        "Query String",
                    ],
                    rows,
                )
            }
            Show::Functions => {
                let mut rows: Vec<Vec<String>> = sluice_functions::function_names()
                    .into_iter()
                    .map(|n| {
                        let cat = sluice_functions::describe(n)
                            .map(|d| d.category)
                            .unwrap_or("");
                        vec![n.to_string(), "SCALAR".to_string(), cat.to_string()]
                    })
                    .collect();
                for n in sluice_planner::expr::aggregate_function_names() {
                    rows.push(vec![
                        n.to_string(),
                        "AGGREGATE".to_string(),
                        "AGGREGATE".to_string(),
                    ]);
                }
                for n in ["TRANSFORM", "FILTER", "REDUCE"] {
                    rows.push(vec![
                        n.to_string(),
                        "SCALAR".to_string(),
                        "LAMBDA".to_string(),
                    ]);
                }
                rows.sort();
                table("Functions", &["Function Name", "Type", "Category"], rows)
            }
            Show::Types => {
                let rows = self
                    .metastore
                    .types()
                    .map(|(n, t)| vec![n.clone(), t.to_string()])
                    .collect();
                table("Types", &["Type Name", "Schema"], rows)
            }
            Show::Properties => {
                let mut props: std::collections::BTreeMap<&str, (&str, &str)> =
                    std::collections::BTreeMap::new();
                for (k, v) in &self.config.properties {
                    props.insert(k, ("SERVER", v));
                }
                for (k, v) in &self.session {
                    props.insert(k, ("SESSION", v));
                }
                let rows = props
                    .into_iter()
                    .map(|(k, (scope, v))| vec![k.to_string(), scope.to_string(), v.to_string()])
                    .collect();
                table("Properties", &["Property", "Scope", "Value"], rows)
            }
            Show::Variables => {
                let mut rows: Vec<Vec<String>> = self
                    .variables
                    .iter()
                    .map(|(k, v)| vec![k.clone(), v.clone()])
                    .collect();
                rows.sort();
                table("Variables", &["Variable Name", "Value"], rows)
            }
            Show::Connectors => {
                return Err(EngineError::Unsupported(
                    "Connectors are not supported by this version of Sluice.".into(),
                ))
            }
        })
    }

    pub(crate) fn describe(&self, d: &Describe) -> Result<StatementResult> {
        match d {
            Describe::Source { name, extended } => {
                let def = self.metastore.source(&name.value).ok_or_else(|| {
                    EngineError::statement(format!(
                        "Could not find STREAM/TABLE '{}' in the Metastore",
                        name.value
                    ))
                })?;
                let mut title = format!(
                    "Name: {}\nType: {}\nKafka topic: {}\nKey format: {}\nValue format: {}",
                    def.name,
                    match def.kind {
                        SourceKind::Stream => "STREAM",
                        SourceKind::Table => "TABLE",
                    },
                    def.topic,
                    def.key_format.name,
                    def.value_format.name
                );
                if let Some(ts) = &def.timestamp {
                    title.push_str(&format!("\nTimestamp field: {}", ts.column));
                }
                if *extended {
                    let writers: Vec<&str> = self
                        .queries
                        .values()
                        .filter(|q| q.sink == def.name)
                        .map(|q| q.id.as_str())
                        .collect();
                    let readers: Vec<&str> = self
                        .queries
                        .values()
                        .filter(|q| q.sources.contains(&def.name))
                        .map(|q| q.id.as_str())
                        .collect();
                    title.push_str(&format!(
                        "\nStatement: {}\nQueries that write from this {}: [{}]\nQueries that read from this {}: [{}]",
                        def.sql,
                        match def.kind { SourceKind::Stream => "STREAM", SourceKind::Table => "TABLE" },
                        writers.join(", "),
                        match def.kind { SourceKind::Stream => "STREAM", SourceKind::Table => "TABLE" },
                        readers.join(", ")
                    ));
                }
                Ok(table(&title, &["Field", "Type"], column_rows(&def)))
            }
            Describe::AllStreams { .. } | Describe::AllTables { .. } => {
                let kind = if matches!(d, Describe::AllStreams { .. }) {
                    SourceKind::Stream
                } else {
                    SourceKind::Table
                };
                let mut rows = Vec::new();
                for s in self.sources_of(kind) {
                    for r in column_rows(s) {
                        rows.push(vec![s.name.clone(), r[0].clone(), r[1].clone()]);
                    }
                }
                Ok(table("Sources", &["Source", "Field", "Type"], rows))
            }
            Describe::Function { name } => {
                let upper = name.to_uppercase();
                let doc = sluice_functions::describe(&upper).ok_or_else(|| {
                    EngineError::statement(format!(
                        "Can't find any functions with the name '{upper}'"
                    ))
                })?;
                let mut text = format!(
                    "Name        : {}\nType        : SCALAR\nCategory    : {}\nDescription : {}\n",
                    doc.name, doc.category, doc.description
                );
                for s in &doc.signatures {
                    text.push_str(&format!("\n\tVariation   : {s}"));
                }
                Ok(StatementResult::Text(text))
            }
            Describe::Topic { name } => self.describe_topic(name),
            Describe::Connector { .. } => Err(EngineError::Unsupported(
                "Connectors are not supported by this version of Sluice.".into(),
            )),
        }
    }

    pub(crate) fn explain(&self, e: &Explain) -> Result<StatementResult> {
        match e {
            Explain::QueryId(id) => {
                let q = self
                    .queries
                    .values()
                    .find(|q| q.id.eq_ignore_ascii_case(id))
                    .ok_or_else(|| EngineError::statement(format!("Query with id:{id} does not exist, use SHOW QUERIES to view the full set of running queries.")))?;
                Ok(StatementResult::Text(format!(
                    "ID                   : {}\nQuery Type           : PERSISTENT\nSQL                  : {}\nSources              : {}\nSink                 : {}\nConsumer group       : {}\nState                : {}",
                    q.id,
                    q.sql,
                    q.sources.join(", "),
                    q.sink,
                    q.group,
                    q.state().name()
                )))
            }
            Explain::Statement(stmt) => Ok(StatementResult::Text(format!(
                "Statement: {stmt}\nThe statement is valid; EXPLAIN of an unexecuted statement shows no plan in this version of Sluice."
            ))),
        }
    }
}
