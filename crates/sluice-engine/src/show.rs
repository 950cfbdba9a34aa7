//! SHOW / LIST / DESCRIBE / EXPLAIN: listings of what the engine knows.

use std::sync::Arc;

use sluice_planner::catalog::SourceDef;
use sluice_planner::{Catalog, GraphSink, QueryGraph};
use sluice_sql::{Describe, Explain, Show, SourceKind, Statement};

use crate::engine::{Engine, RunningQuery};
use crate::error::{EngineError, Result};
use crate::result::{
    Listing, PropertyListing, QueryListing, SourceDescription, StatementResult, TypeListing,
};

impl Engine {
    fn sources_of(&self, kind: SourceKind) -> Vec<Arc<SourceDef>> {
        self.metastore
            .sources()
            .filter(|s| s.kind == kind)
            .cloned()
            .collect()
    }

    /// A persistent query as listings show it.
    pub(crate) fn query_listing(&self, q: &RunningQuery) -> QueryListing {
        QueryListing {
            id: q.id.clone(),
            sql: q.sql.clone(),
            sink: q.sink.clone(),
            sink_topic: self
                .metastore
                .source(&q.sink)
                .map(|s| s.topic.clone())
                .unwrap_or_default(),
            sources: q.sources.clone(),
            group: q.group.clone(),
            status: q.status(),
            // drawn for EXPLAIN only
            graph: QueryGraph::default(),
        }
    }

    /// The steps of the query `sql` (a `CREATE ... AS SELECT`, an `INSERT
    /// INTO ... SELECT` or a push or pull query), as EXPLAIN shows them;
    /// empty for other statements.
    pub(crate) fn query_graph(&self, sql: &str) -> QueryGraph {
        let Ok(parsed) = sluice_sql::parse(sql) else {
            return QueryGraph::default();
        };
        let Some(statement) = parsed.first().map(|p| &p.statement) else {
            return QueryGraph::default();
        };
        self.statement_graph(statement)
    }

    fn statement_graph(&self, statement: &Statement) -> QueryGraph {
        let (query, sink) = match statement {
            Statement::CreateAsSelect(c) => (&c.query, Some(c.name.value.as_str())),
            Statement::InsertInto { target, query, .. } => (query, Some(target.value.as_str())),
            Statement::Query(query) => (query, None),
            _ => return QueryGraph::default(),
        };
        let def = sink.and_then(|name| self.metastore.source(name));
        // not created yet: EXPLAIN of a CREATE ... AS SELECT
        let planned = match (&def, sink, statement) {
            (None, Some(name), Statement::CreateAsSelect(c)) => {
                crate::properties::WithClause::new(&c.properties)
                    .ok()
                    .map(|with| (c.kind, self.sink_topic(&with, name)))
            }
            _ => None,
        };
        let sink = match (&def, sink, &planned) {
            (Some(d), _, _) => GraphSink::Source {
                name: &d.name,
                kind: d.kind,
                topic: &d.topic,
            },
            (None, Some(name), Some((kind, topic))) => GraphSink::Source {
                name,
                kind: *kind,
                topic,
            },
            _ => GraphSink::Client,
        };
        QueryGraph::of(query, sink, &self.metastore)
    }

    pub(crate) fn source_description(
        &self,
        def: Arc<SourceDef>,
        extended: bool,
    ) -> SourceDescription {
        let writers = self
            .queries
            .values()
            .filter(|q| q.sink == def.name)
            .map(|q| self.query_listing(q))
            .collect();
        let readers: Vec<&RunningQuery> = self
            .queries
            .values()
            .filter(|q| q.sources.contains(&def.name))
            .collect();
        let partitions = self
            .log
            .describe_topic(&def.topic)
            .map(|d| d.partitions.len())
            .unwrap_or(0);
        let (statistics, error_stats, offsets) = if extended {
            let (statistics, errors) = self.source_statistics(&def.name);
            let offsets = readers
                .iter()
                .map(|q| (q.group.clone(), self.query_offsets(q).unwrap_or_default()))
                .collect();
            (statistics, errors, offsets)
        } else {
            (String::new(), String::new(), Vec::new())
        };
        SourceDescription {
            readers: readers.iter().map(|q| self.query_listing(q)).collect(),
            source: def,
            writers,
            partitions,
            statistics,
            error_stats,
            offsets,
        }
    }

    pub(crate) fn show(&self, show: &Show) -> Result<StatementResult> {
        Ok(StatementResult::Listing(match show {
            // ksqlDB's LIST STREAMS|TABLES EXTENDED: every source's description
            Show::Streams { extended: true } => self.descriptions(SourceKind::Stream, true),
            Show::Tables { extended: true } => self.descriptions(SourceKind::Table, true),
            Show::Streams { .. } => Listing::Sources {
                tables: false,
                sources: self.sources_of(SourceKind::Stream),
            },
            Show::Tables { .. } => Listing::Sources {
                tables: true,
                sources: self.sources_of(SourceKind::Table),
            },
            Show::Topics { all, extended } => self.show_topics(*all, *extended)?,
            Show::Queries { .. } => Listing::Queries(
                self.queries
                    .values()
                    .map(|q| self.query_listing(q))
                    .collect(),
            ),
            Show::Functions => Listing::Functions(self.function_listings()),
            Show::Types => Listing::Types(
                self.metastore
                    .types()
                    .map(|(n, t)| {
                        Ok(TypeListing {
                            name: n.clone(),
                            sql: t.to_string(),
                            ty: sluice_planner::types::sql_to_arrow(t, &self.metastore)?,
                        })
                    })
                    .collect::<Result<_>>()?,
            ),
            Show::Properties => {
                let mut props: std::collections::BTreeMap<&str, (&str, &str)> =
                    std::collections::BTreeMap::new();
                for (k, v) in &self.config.properties {
                    let scope = if self.system_altered.contains_key(k) {
                        "SYSTEM"
                    } else {
                        "SERVER"
                    };
                    props.insert(k, (scope, v));
                }
                for (k, v) in self.session.properties() {
                    props.insert(k, ("SESSION", v));
                }
                // what nobody set runs with its default
                for s in crate::settings::WITH_DEFAULTS {
                    let set = props.keys().any(|k| s.is_named(k));
                    if let (false, Some(default)) = (set, s.default) {
                        props.insert(s.name, ("DEFAULT", default));
                    }
                }
                Listing::Properties(
                    props
                        .into_iter()
                        .map(|(k, (scope, v))| PropertyListing {
                            name: k.to_string(),
                            scope: scope.to_string(),
                            value: v.to_string(),
                        })
                        .collect(),
                )
            }
            Show::Variables => {
                let mut vars: Vec<(String, String)> = self
                    .session
                    .variables()
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                vars.sort();
                Listing::Variables(vars)
            }
            Show::Connectors { source } => self.show_connectors(*source)?,
            Show::ConnectorPlugins => self.show_connector_plugins()?,
        }))
    }

    pub(crate) fn describe(&self, d: &Describe) -> Result<StatementResult> {
        Ok(StatementResult::Listing(match d {
            Describe::Source { name, extended } => {
                let def = self.metastore.source(&name.value).ok_or_else(|| {
                    EngineError::statement(format!(
                        "Could not find STREAM/TABLE '{}' in the Metastore{}",
                        name.value,
                        sluice_planner::Catalog::alternatives(&self.metastore, &name.value, None)
                    ))
                })?;
                Listing::Description {
                    extended: *extended,
                    description: Box::new(self.source_description(def, *extended)),
                }
            }
            Describe::AllStreams { extended } | Describe::AllTables { extended } => {
                let kind = if matches!(d, Describe::AllStreams { .. }) {
                    SourceKind::Stream
                } else {
                    SourceKind::Table
                };
                self.descriptions(kind, *extended)
            }
            Describe::Function { name } => Listing::Function(self.describe_function(name)?),
            Describe::Topic { name } => return self.describe_topic(name),
            Describe::Connector { name } => self.describe_connector(&name.value)?,
        }))
    }

    /// The description of every stream or table.
    fn descriptions(&self, kind: SourceKind, extended: bool) -> Listing {
        Listing::Descriptions {
            extended,
            descriptions: self
                .sources_of(kind)
                .into_iter()
                .map(|s| self.source_description(s, extended))
                .collect(),
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
                let mut listing = self.query_listing(q);
                listing.graph = self.query_graph(&q.sql);
                Ok(StatementResult::Listing(Listing::QueryDescription(
                    Box::new(listing),
                )))
            }
            Explain::Statement(stmt) => Ok(StatementResult::Text(format!(
                "Statement: {stmt}\n\nExecution plan\n--------------\n{}",
                self.statement_graph(stmt).to_text()
            ))),
        }
    }
}
