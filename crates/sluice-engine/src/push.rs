//! Push queries (`SELECT ... EMIT CHANGES`): a transient query whose rows a client
//! takes as they come, until its LIMIT or until the client closes it.

use std::sync::Arc;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::SchemaRef;
use sluice_log::Log;
use sluice_planner::catalog::TOMBSTONE;
use sluice_planner::Catalog;
use sluice_planner::{plan, QueryContext, QueryPlan};
use sluice_runtime::{OffsetReset, QueryOutput, QueryTask};
use sluice_sql::{Query, Relation, SourceKind, Statement};

use crate::engine::Engine;
use crate::error::{EngineError, Result};
use crate::lifecycle::POLL_BATCH;
use crate::result::StatementResult;
use crate::session::{Prepared, Session};

/// A running push query: a transient task of its own that reads its sources
/// and never drives anything else. Poll it with [`PushQuery::poll`] (or
/// through [`Engine::poll_push_query`], which first runs inline queries).
pub struct PushQuery {
    pub id: String,
    /// The columns the client sees.
    pub schema: SchemaRef,
    /// Whether ksqlDB would run it as a scalable push query (its ids start
    /// `SCALABLE_PUSH_QUERY_`): `ksql.query.push.v2.enabled`, reading from
    /// `latest` a persistent query's output, with no join, window, GROUP BY
    /// or PARTITION BY.
    pub scalable: bool,
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

/// A SELECT started for a client ([`Engine::start_query`]).
pub enum QueryStart {
    /// A pull query: all its rows.
    Pull(PullRows),
    /// A push query, for the client to poll.
    Push(Box<PushQuery>),
}

/// A pull query's answer.
pub struct PullRows {
    pub schema: SchemaRef,
    pub batches: Vec<RecordBatch>,
    /// The columns ksqlDB's header marks `KEY`.
    pub keys: Vec<String>,
    /// The header columns (name, header key; `None`: all headers) of the
    /// source table a `SELECT *` reads: ksqlDB's header lists them after the
    /// keys with their `HEADER('k')` / `HEADERS` marks, as the table's
    /// schema shows them.
    pub headers: Vec<(String, Option<String>)>,
    /// How ksqlDB ends the response (`finalMessage`), for a pull query on a
    /// stream.
    pub final_message: Option<&'static str>,
}

impl Engine {
    /// Start a push query from its SQL text (one SELECT ... EMIT CHANGES).
    pub fn start_push_query(&mut self, sql: &str) -> Result<PushQuery> {
        let text = sluice_sql::substitute_variables(sql, self.session.variables())?;
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
        let plan = plan(q, &self.planning(), QueryContext::Transient)?;
        let mut push = self.push_plan(plan, self.offset_reset())?;
        push.scalable = self.is_scalable_push(q);
        if push.scalable {
            // ksqlDB's scalable push queries skip records without a key (and
            // without a value, as every push query over a stream does)
            if let Relation::Source { name, .. } = &q.from {
                if let Some(def) = self.metastore.source(&name.value) {
                    push.task.set_skip_unkeyed(def.key_columns().count());
                }
            }
        }
        Ok(push)
    }

    fn is_scalable_push(&self, q: &Query) -> bool {
        let enabled = self
            .setting(&crate::settings::PUSH_V2)
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
        let latest = self
            .setting(&crate::settings::AUTO_OFFSET_RESET)
            .is_none_or(|v| v.trim().eq_ignore_ascii_case("latest"));
        let Relation::Source { name, .. } = &q.from else {
            return false;
        };
        enabled
            && latest
            && q.window.is_none()
            && q.group_by.is_empty()
            && q.partition_by.is_empty()
            && self.queries().any(|rq| rq.sink == name.value)
    }

    /// Starts one SELECT in `session`: a pull query runs to its end, a push
    /// query gets a task of its own for the client to poll.
    pub fn start_query(&mut self, session: &mut Session, stmt: &Prepared) -> Result<QueryStart> {
        let Statement::Query(q) = &stmt.0.statement else {
            return Err(EngineError::statement(
                "Only SELECT statements can be run as queries; use /ksql for other statements",
            ));
        };
        self.in_session(session, |engine| {
            if q.emit.is_some() {
                return Ok(QueryStart::Push(Box::new(engine.push_query(q)?)));
            }
            let StatementResult::Rows { schema, batches } = engine.transient_query(q)? else {
                return Err(EngineError::statement("the pull query returned no rows"));
            };
            let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
            Ok(QueryStart::Pull(PullRows {
                keys: engine.pull_keys(&q.from),
                headers: engine.pull_headers(q),
                final_message: engine.pull_final_message(q, rows),
                schema,
                batches,
            }))
        })
    }

    /// The columns a pull query's header marks `KEY`, as ksqlDB does: a
    /// table's key columns, with the window bounds of a windowed one.
    fn pull_keys(&self, from: &Relation) -> Vec<String> {
        let Relation::Source { name, .. } = from else {
            return Vec::new();
        };
        let Some(def) = self.metastore.source(&name.value) else {
            return Vec::new();
        };
        if def.kind != SourceKind::Table {
            return Vec::new();
        }
        let mut keys: Vec<String> = def.key_columns().map(|c| c.name.clone()).collect();
        if def.window.is_some() {
            keys.extend(["WINDOWSTART".to_string(), "WINDOWEND".to_string()]);
        }
        keys
    }

    /// The header columns a pull query's header marks (see
    /// [`PullRows::headers`]): a `SELECT *` of a table's.
    fn pull_headers(&self, q: &Query) -> Vec<(String, Option<String>)> {
        let (Relation::Source { name, .. }, [sluice_sql::SelectItem::Wildcard]) =
            (&q.from, q.select.as_slice())
        else {
            return Vec::new();
        };
        let Some(def) = self.metastore.source(&name.value) else {
            return Vec::new();
        };
        if def.kind != SourceKind::Table {
            return Vec::new();
        }
        def.header_columns()
            .filter_map(|c| match &c.role {
                sluice_planner::catalog::ColumnRole::Header(key) => {
                    Some((c.name.clone(), key.clone()))
                }
                _ => None,
            })
            .collect()
    }

    /// A pull query on a stream ends with `Limit Reached` when its LIMIT cut
    /// it short, else `Query Completed`; one on a table just ends.
    fn pull_final_message(&self, q: &Query, rows: usize) -> Option<&'static str> {
        let Relation::Source { name, .. } = &q.from else {
            return None;
        };
        let def = self.metastore.source(&name.value)?;
        if def.kind != SourceKind::Stream {
            return None;
        }
        if q.limit.is_some_and(|l| rows as u64 >= l) {
            Some("Limit Reached")
        } else {
            Some("Query Completed")
        }
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
            scalable: false,
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
