//! `INSERT INTO sink SELECT ...`: a persistent query writing into an existing
//! stream, its result checked against the sink as ksqlDB's EngineExecutor
//! checks it (a stream's result, the sink's columns).

use arrow::datatypes::DataType;
use sluice_planner::catalog::{ColumnDef, ColumnRole};
use sluice_planner::types::type_name;
use sluice_planner::{plan, Catalog, QueryContext, QueryPlan};
use sluice_runtime::sink::TopicSink;
use sluice_sql::{Query, SourceKind};

use crate::engine::Engine;
use crate::error::{EngineError, Result};
use crate::result::StatementResult;

impl Engine {
    pub(crate) fn insert_into(
        &mut self,
        target: &str,
        target_pos: sluice_sql::Pos,
        query: &Query,
        text: &str,
    ) -> Result<StatementResult> {
        // ksqlDB's AstSanitizer refuses an unknown target while preparing
        let sink_def = self.metastore.source(target).ok_or_else(|| {
            EngineError::statement(format!(
                "Exception while preparing statement: {target_pos}: Source `{target}` does not exist."
            ))
        })?;
        if sink_def.kind == SourceKind::Table {
            return Err(EngineError::statement(format!(
                "INSERT INTO can only be used to insert into a stream. {target} is a table."
            )));
        }
        if query.limit.is_some() {
            return Err(EngineError::statement(
                "INSERT INTO statements don't support LIMIT clause.",
            ));
        }
        if sink_def.is_source {
            return Err(EngineError::statement(format!(
                "Cannot insert into read-only stream: {target}"
            )));
        }
        let mut plan = plan(query, &self.planning(), QueryContext::Persistent(target))?;
        let sources: Vec<String> = match &plan {
            QueryPlan::Join(j) => j.all_sources.iter().map(|(d, _)| d.name.clone()).collect(),
            QueryPlan::Project(p) => vec![p.source.name.clone()],
            QueryPlan::Aggregate(_) => Vec::new(),
        };
        let project = match &mut plan {
            QueryPlan::Project(p) if p.source.kind == SourceKind::Stream => p,
            QueryPlan::Join(j) if j.result_kind() == SourceKind::Stream => &mut j.project,
            _ => {
                return Err(EngineError::statement(format!(
                    "Incompatible data sink and query result. Data sink ({target}) type is KSTREAM but select query result is KTABLE."
                )))
            }
        };
        // The result must have the sink's columns; reorder to the sink's layout.
        let mut ordered = Vec::new();
        let sink_cols: Vec<&ColumnDef> = sink_def
            .key_columns()
            .chain(sink_def.value_columns())
            .collect();
        let compatible = sink_cols.len() == project.columns.len()
            && sink_cols.iter().all(|sc| {
                project
                    .columns
                    .iter()
                    .any(|c| c.name == sc.name && c.ty == sc.ty && c.role == sc.role)
            });
        if !compatible {
            return Err(EngineError::statement(format!(
                "Incompatible schema between results and sink.\nResult schema is {}\nSink schema is {}",
                schema_text(project.columns.iter().map(|c| (c.name.as_str(), &c.ty, &c.role))),
                schema_text(sink_cols.iter().map(|c| (c.name.as_str(), &c.ty, &c.role)))
            )));
        }
        for sc in &sink_cols {
            if let Some(c) = project.columns.iter().find(|c| c.name == sc.name) {
                ordered.push(c.clone());
            }
        }
        project.columns = ordered;
        let id = self.new_query_id("INSERTQUERY");
        let tasks = self.persistent_tasks(&id, &plan, || {
            Ok(TopicSink::new(&sink_def, &self.registry)?)
        })?;
        self.start_persistent(tasks, text, target.to_string(), sources);
        Ok(StatementResult::QueryStarted {
            message: format!("Created query with ID {id}"),
            query_id: id,
        })
    }
}

fn schema_text<'a>(cols: impl Iterator<Item = (&'a str, &'a DataType, &'a ColumnRole)>) -> String {
    cols.map(|(n, t, r)| {
        let suffix = if *r == ColumnRole::Key { " KEY" } else { "" };
        format!("`{n}` {}{suffix}", type_name(t))
    })
    .collect::<Vec<_>>()
    .join(", ")
}
