//! `ALTER STREAM|TABLE name ADD [COLUMN] col type, ...`: value columns added to a
//! source's schema, checked and worded as ksqlDB's `AlterSourceFactory` and
//! `DdlCommandExec` do. Queries already running keep the schema they started with.

use sluice_planner::types::sql_to_arrow;
use sluice_planner::{ColumnDef, ColumnRole};
use sluice_sql::{SourceKind, Statement, TableElement};

use crate::ddl::kind_name;
use crate::engine::Engine;
use crate::error::{EngineError, Result};
use crate::result::StatementResult;

impl Engine {
    pub(crate) fn alter_source(
        &mut self,
        kind: SourceKind,
        name: &str,
        add: &[TableElement],
        text: &str,
    ) -> Result<StatementResult> {
        let def = sluice_planner::Catalog::source(&self.metastore, name);
        if def.as_ref().is_some_and(|d| d.is_source) {
            return Err(EngineError::statement(format!(
                "Cannot alter {kind} '{name}': ALTER operations are not supported on source {kind}s.",
                kind = kind_name(kind)
            )));
        }
        let Some(def) = def else {
            return Err(EngineError::statement(format!(
                "Source {name} does not exist."
            )));
        };
        if def.kind != kind {
            return Err(EngineError::statement(format!(
                "Incompatible data source type is {}, but statement was ALTER {}",
                kind_name(def.kind).to_uppercase(),
                kind_name(kind).to_uppercase()
            )));
        }
        let created_as_select = sluice_sql::parse(&def.sql)
            .ok()
            .and_then(|mut s| s.pop())
            .is_some_and(|s| matches!(s.statement, Statement::CreateAsSelect(_)));
        if created_as_select {
            return Err(EngineError::statement(
                "ALTER command is not supported for CREATE ... AS statements.",
            ));
        }
        let mut altered = (*def).clone();
        // new value columns go after the existing ones (before any header column)
        let at = altered
            .columns
            .iter()
            .rposition(|c| c.role == ColumnRole::Value)
            .or_else(|| {
                altered
                    .columns
                    .iter()
                    .rposition(|c| c.role == ColumnRole::Key)
            })
            .map_or(0, |i| i + 1);
        for (i, e) in add.iter().enumerate() {
            if altered.columns.iter().any(|c| c.name == e.name.value) {
                return Err(EngineError::statement(format!(
                    "Cannot add column {} to schema. A column with the same name already exists.",
                    e.name.value
                )));
            }
            let ty = sql_to_arrow(&e.ty, &self.metastore)?;
            altered.columns.insert(
                at + i,
                ColumnDef::new(e.name.value.clone(), ty, ColumnRole::Value),
            );
        }
        altered.sql = text.to_string();
        self.metastore.put_source(altered);
        // a table's pull-query index decodes with the new schema
        self.forget_table(&def.topic, Some(&def));
        Ok(StatementResult::ack(format!(
            "{} {name} altered.",
            if kind == SourceKind::Stream {
                "Stream"
            } else {
                "Table"
            }
        )))
    }
}
