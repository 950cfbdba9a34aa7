//! SHOW / LIST / DESCRIBE / EXPLAIN: listings of what the engine knows.

use std::sync::Arc;

use sluice_planner::catalog::SourceDef;
use sluice_planner::Catalog;
use sluice_sql::{Describe, Explain, Show, SourceKind};

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
        }
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
                Listing::Descriptions {
                    extended: *extended,
                    descriptions: self
                        .sources_of(kind)
                        .into_iter()
                        .map(|s| self.source_description(s, *extended))
                        .collect(),
                }
            }
            Describe::Function { name } => Listing::Function(self.describe_function(name)?),
            Describe::Topic { name } => return self.describe_topic(name),
            Describe::Connector { name } => self.describe_connector(&name.value)?,
        }))
    }

    pub(crate) fn explain(&self, e: &Explain) -> Result<StatementResult> {
        match e {
            Explain::QueryId(id) => {
                let q = self
                    .queries
                    .values()
                    .find(|q| q.id.eq_ignore_ascii_case(id))
                    .ok_or_else(|| EngineError::statement(format!("Query with id:{id} does not exist, use SHOW QUERIES to view the full set of running queries.")))?;
                Ok(StatementResult::Listing(Listing::QueryDescription(
                    Box::new(self.query_listing(q)),
                )))
            }
            Explain::Statement(stmt) => Ok(StatementResult::Text(format!(
                "Statement: {stmt}\nThe statement is valid; EXPLAIN of an unexecuted statement shows no plan in this version of Sluice."
            ))),
        }
    }
}
