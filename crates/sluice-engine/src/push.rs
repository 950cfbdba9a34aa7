//! Push queries (`SELECT ... EMIT CHANGES`): a transient query whose rows a client
//! takes as they come, until its LIMIT or until the client closes it.

use std::sync::Arc;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::SchemaRef;
use sluice_log::Log;
use sluice_planner::catalog::TOMBSTONE;
use sluice_planner::{plan, QueryContext, QueryPlan};
use sluice_runtime::{OffsetReset, QueryOutput, QueryTask};
use sluice_sql::{Query, SourceKind, Statement};

use crate::engine::Engine;
use crate::error::{EngineError, Result};
use crate::lifecycle::POLL_BATCH;

/// A running push query: a transient task of its own that reads its sources
/// and never drives anything else. Poll it with [`PushQuery::poll`] (or
/// through [`Engine::poll_push_query`], which first runs inline queries).
pub struct PushQuery {
    pub id: String,
    /// The columns the client sees.
    pub schema: SchemaRef,
    task: QueryTask,
    visible: Vec<usize>,
    log: Arc<dyn Log>,
}

impl PushQuery {
    /// True once LIMIT rows were delivered.
    pub fn is_done(&self) -> bool {
        self.task.is_done()
    }

    /// The rows that arrived since the last poll, each with its tombstone
    /// flag: a row of a table's changelog that deletes its key (ksqlDB marks
    /// it `"tombstone": true` in `/query` responses). Needs no engine: a
    /// server polls its push queries without holding the engine.
    pub fn poll(&mut self) -> Result<Vec<(RecordBatch, Vec<bool>)>> {
        while !self.task.is_done() && self.task.poll(self.log.as_ref(), POLL_BATCH)?.did_work() {}
        self.task
            .drain_rows()
            .into_iter()
            .map(|b| {
                let tombstones: Vec<bool> = match b.schema().index_of(TOMBSTONE) {
                    Ok(i) => {
                        let flags = b.column(i).as_boolean();
                        (0..b.num_rows())
                            .map(|r| flags.is_valid(r) && flags.value(r))
                            .collect()
                    }
                    Err(_) => vec![false; b.num_rows()],
                };
                let visible = b
                    .project(&self.visible)
                    .map_err(|e| EngineError::statement(e.to_string()))?;
                Ok((visible, tombstones))
            })
            .collect()
    }
}

impl Engine {
    /// Start a push query from its SQL text (one SELECT ... EMIT CHANGES).
    pub fn start_push_query(&mut self, sql: &str) -> Result<PushQuery> {
        let text = sluice_sql::substitute_variables(sql, &self.variables)?;
        let mut parsed = sluice_sql::parse(&text)?;
        let Some(stmt) = parsed.pop().filter(|_| parsed.is_empty()) else {
            return Err(EngineError::statement(
                "Expected exactly one SELECT statement",
            ));
        };
        match stmt.statement {
            Statement::Query(q) if q.emit.is_some() => self.push_query(&q),
            _ => Err(EngineError::statement(
                "Only push queries (SELECT ... EMIT CHANGES) can be streamed",
            )),
        }
    }

    pub(crate) fn push_query(&mut self, q: &Query) -> Result<PushQuery> {
        let plan = plan(q, &self.metastore, QueryContext::Transient)?;
        self.push_plan(plan, self.offset_reset())
    }

    pub(crate) fn push_plan(&mut self, plan: QueryPlan, reset: OffsetReset) -> Result<PushQuery> {
        let id = self.new_query_id("transient");
        let mut task = self.task_for(id.clone(), &plan, QueryOutput::Rows(Vec::new()), reset)?;
        // a stream's records without a value are not rows a client sees
        task.set_skip_tombstones(plan.result_kind() == SourceKind::Stream);
        let visible: Vec<usize> = (0..task.visible_columns()).collect();
        let schema = Arc::new(
            task.output_schema()
                .project(&visible)
                .map_err(|e| EngineError::statement(e.to_string()))?,
        );
        Ok(PushQuery {
            id,
            schema,
            task,
            visible,
            log: self.log.clone(),
        })
    }

    /// Runs inline persistent queries to quiescence, then polls the push
    /// query; its new rows.
    pub fn poll_push_query(&mut self, q: &mut PushQuery) -> Result<Vec<RecordBatch>> {
        Ok(self
            .poll_push_query_flagged(q)?
            .into_iter()
            .map(|(batch, _)| batch)
            .collect())
    }

    /// [`Engine::poll_push_query`] with each row's tombstone flag (see
    /// [`PushQuery::poll`]).
    pub fn poll_push_query_flagged(
        &mut self,
        q: &mut PushQuery,
    ) -> Result<Vec<(RecordBatch, Vec<bool>)>> {
        if self.runs_inline() {
            self.run_until_idle()?;
        }
        q.poll()
    }
}

/// Whether a SELECT is a pull query: no EMIT over a table.
pub(crate) fn is_pull(q: &Query, result: SourceKind) -> bool {
    q.emit.is_none() && result == SourceKind::Table
}
