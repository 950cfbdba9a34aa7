//! Statements that run queries or write data: CREATE ... AS SELECT, INSERT INTO ...
//! SELECT, INSERT INTO ... VALUES, and transient SELECTs.

use std::sync::Arc;

use arrow::array::{new_null_array, ArrayRef, Int64Array, RecordBatch};
use arrow::datatypes::{DataType, Schema};
use datafusion_common::ScalarValue;
use sluice_log::Record;
use sluice_planner::catalog::{ColumnDef, ColumnRole, SourceDef, ROWOFFSET, ROWPARTITION, ROWTIME};
use sluice_planner::expr::{ExprCompiler, Scope};
use sluice_planner::plan::{output_timestamp, timestamp_extractor};
use sluice_planner::types::{can_widen, is_numeric, type_name};
use sluice_planner::{plan, Catalog, ProjectPlan, QueryContext, QueryPlan};
use sluice_runtime::repartition::{self, Repartition};
use sluice_runtime::sink::TopicSink;
use sluice_runtime::source::SourceReader;
use sluice_runtime::task::query_group;
use sluice_runtime::{OffsetReset, QueryOutput, QueryTask};
use sluice_sql::{CreateAsSelect, Expr, Ident, Query, SourceKind, WindowSpec};

use crate::ddl::{check_formats, kind_name};
use crate::engine::Engine;
use crate::error::{EngineError, Result};
use crate::properties::WithClause;
use crate::result::StatementResult;

impl Engine {
    pub(crate) fn task_for(
        &self,
        id: String,
        plan: &QueryPlan,
        output: QueryOutput,
        reset: OffsetReset,
    ) -> Result<QueryTask> {
        self.task_with_share(id, plan, output, reset, (0, 1), &[])
    }

    /// A task that is the k-th of `n` tasks of its query, its share set
    /// before it starts (a stateful task restores only its partitions),
    /// reading the sources `repartitioned` names (by position) through the
    /// query's repartition topics.
    fn task_with_share(
        &self,
        id: String,
        plan: &QueryPlan,
        output: QueryOutput,
        reset: OffsetReset,
        (k, n): (usize, usize),
        repartitioned: &[usize],
    ) -> Result<QueryTask> {
        let readers = plan
            .sources()
            .into_iter()
            .map(|def| {
                let ts = timestamp_extractor(def, &self.metastore)?;
                Ok(SourceReader::new(def.clone(), ts, &self.registry)?)
            })
            .collect::<Result<Vec<_>>>()?;
        // an aggregation's WHERE clause runs where its rows are re-keyed,
        // not again after
        let unfiltered;
        let operator_plan = match plan {
            QueryPlan::Aggregate(a) if !repartitioned.is_empty() => {
                let mut a = a.clone();
                a.filter = None;
                unfiltered = QueryPlan::Aggregate(a);
                &unfiltered
            }
            _ => plan,
        };
        let mut task = QueryTask::new(
            id,
            operator_plan,
            readers,
            output,
            reset,
            self.processing_log.clone(),
        )?
        .with_service_id(&self.service_id())
        .with_share(k, n)
        .with_state(self.state_config());
        for &i in repartitioned {
            let group = task.consumer_group().to_string();
            let r = match plan {
                QueryPlan::Aggregate(a) => Repartition::for_aggregate(a, &group, &self.registry)?,
                QueryPlan::Join(j) => {
                    let key_format = j
                        .repartition(&self.default_key_format())
                        .map(|r| r.key_format)
                        .ok_or_else(|| {
                            EngineError::statement("a join without repartition topics")
                        })?;
                    Repartition::for_join_source(j, i, &key_format, &group, &self.registry)?
                }
                QueryPlan::Project(_) => continue,
            };
            let reader = SourceReader::new(r.def().clone(), None, &self.registry)?;
            task = task.with_repartition(i, r, reader);
        }
        start_riding_out_the_broker(&mut task, self.log.as_ref())?;
        Ok(task)
    }

    /// The tasks of a persistent query writing through `sink` (a fresh sink
    /// per task), as many as [`Engine::task_count`] says, each reading its
    /// share of the partitions.
    pub(crate) fn persistent_tasks(
        &self,
        id: &str,
        plan: &QueryPlan,
        sink: impl Fn() -> Result<TopicSink>,
    ) -> Result<Vec<QueryTask>> {
        let reset = self.offset_reset();
        let output = || Ok::<_, EngineError>(QueryOutput::Topic(Box::new(sink()?)));
        let partitions = self.log.end_offsets(&plan.source().topic)?.len();
        // a projection keeps no state
        let stateless = matches!(plan, QueryPlan::Project(_));
        let repartitioned = self.prepare_repartitions(id, plan)?;
        let n = self.task_count(
            stateless || plan.is_partition_local() || !repartitioned.is_empty(),
            partitions,
        );
        let tasks = (0..n)
            .map(|k| {
                let output = output()?;
                self.task_with_share(id.to_string(), plan, output, reset, (k, n), &repartitioned)
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(tasks)
    }

    /// The sources of query `id` (by position in `QueryPlan::sources`) it
    /// reads through repartition topics (`QueryPlan::needs_repartition`),
    /// creating the topics (as many partitions as their sources) when the
    /// query starts for the first time. A query that ran before without
    /// them (an older Sluice) goes on without: its state is not kept by
    /// their partitions. Every server of the query decides the same.
    fn prepare_repartitions(&self, id: &str, plan: &QueryPlan) -> Result<Vec<usize>> {
        if !plan.needs_repartition() {
            return Ok(Vec::new());
        }
        let group = query_group(&self.service_id(), id);
        let wanted: Vec<(usize, String)> = match plan {
            QueryPlan::Aggregate(_) => vec![(0, repartition::group_by_topic(&group))],
            QueryPlan::Join(j) => j
                .repartition(&self.default_key_format())
                .map(|r| r.sources)
                .unwrap_or_default()
                .iter()
                .enumerate()
                .filter(|(_, on)| **on)
                .map(|(i, _)| (i, repartition::join_source_topic(&group, j, i)))
                .collect(),
            QueryPlan::Project(_) => Vec::new(),
        };
        let sides: Vec<usize> = wanted.iter().map(|(i, _)| *i).collect();
        // whether the query committed offsets is read before its topics are
        // looked for: a server that starts it first creates the topics
        // before it commits, so one seeing its commits sees its topics too
        // (read the other way round, the two could decide differently)
        let sources = plan.sources();
        let mut ran_before = false;
        for def in &sources {
            ran_before |= self
                .log
                .committed(&group, &def.topic)?
                .iter()
                .any(Option::is_some);
        }
        let mut existing = false;
        for (_, topic) in &wanted {
            existing |= self.log.topic_exists(topic)?;
        }
        if existing {
            return Ok(sides);
        }
        if ran_before {
            return Ok(Vec::new());
        }
        for (i, topic) in wanted {
            let described = self.log.describe_topic(&sources[i].topic)?;
            // as Kafka Streams makes them: nothing expires, what was read is
            // purged (whole segments of 50 MiB on the embedded log); a join,
            // which reads its repartition topics again to rebuild its state
            // (nothing is purged), keeps them as long as its source
            let mut spec = sluice_log::TopicSpec::new(topic, described.partitions.len() as i32)
                .with_replicas(described.replicas)
                .with_config("cleanup.policy", "delete")
                .with_config("segment.bytes", "52428800");
            match plan {
                QueryPlan::Join(_) => {
                    if let Some(ms) = described.configs.get("retention.ms") {
                        spec = spec.with_config("retention.ms", ms.clone());
                    }
                }
                _ => spec = spec.with_config("retention.ms", "-1"),
            }
            match self.log.create_topic(&spec) {
                Ok(()) | Err(sluice_log::LogError::TopicExists(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(sides)
    }

    pub(crate) fn create_as_select(
        &mut self,
        cas: &CreateAsSelect,
        text: &str,
    ) -> Result<StatementResult> {
        let name = cas.name.value.clone();
        if self.check_new_source(cas.kind, &name, cas.if_not_exists, cas.or_replace)? {
            return Ok(StatementResult::ack(format!(
                "Cannot add {} '{name}': A {} with the same name already exists.",
                kind_name(cas.kind),
                kind_name(cas.kind)
            )));
        }
        if cas.query.limit.is_some() {
            return Err(EngineError::statement(format!(
                "CREATE {} AS SELECT statements don't support LIMIT clause.",
                kind_name(cas.kind).to_uppercase()
            )));
        }
        let with = WithClause::new(&cas.properties)?;
        // ksqlDB checks the WITH clause's TIMESTAMP column against the
        // result's columns before it checks the result's key
        let timestamp_check = |result: &QueryPlan| {
            match with.string("TIMESTAMP") {
            Some(column)
                if !result
                    .columns()
                    .iter()
                    .any(|c| c.name.eq_ignore_ascii_case(&column)) =>
            {
                Err(EngineError::statement(format!(
                    "The TIMESTAMP column set in the WITH clause does not exist in the schema: '{}'",
                    column.to_uppercase()
                )))
            }
            _ => Ok(()),
        }
        };
        let mut plan = match plan(
            &cas.query,
            &self.planning(),
            QueryContext::Persistent(&name),
        ) {
            Ok(p) => p,
            Err(e) => {
                if let Ok(free) = plan(&cas.query, &self.planning(), QueryContext::Transient) {
                    timestamp_check(&free)?;
                }
                return Err(e.into());
            }
        };
        timestamp_check(&plan)?;
        let result_kind = plan.result_kind();
        if result_kind != cas.kind {
            let (produces, use_) = match result_kind {
                SourceKind::Stream => ("STREAM", "CREATE STREAM AS SELECT"),
                SourceKind::Table => ("TABLE", "CREATE TABLE AS SELECT"),
            };
            return Err(EngineError::statement(format!(
                "Invalid result type. Your SELECT query produces a {produces}. Please use {use_} statement instead."
            )));
        }
        if let QueryPlan::Project(p) = &plan {
            self.check_key_projection(p, &name)?;
        }
        if let QueryPlan::Join(j) = &plan {
            self.check_co_partitioning(j)?;
        }
        let has_key = plan.key_columns().next().is_some();
        let explicit_key_format = with.string("KEY_FORMAT").or_else(|| with.string("FORMAT"));
        // a format nobody has is named first
        for f in [
            with.string("KEY_FORMAT"),
            with.string("VALUE_FORMAT"),
            with.string("FORMAT"),
        ]
        .into_iter()
        .flatten()
        {
            sluice_formats::FormatKind::parse(&f)?;
        }
        if !has_key
            && with.has("KEY_FORMAT")
            && !explicit_key_format
                .as_deref()
                .is_some_and(|f| f.eq_ignore_ascii_case("NONE"))
        {
            return Err(EngineError::statement(
                "Key format specified for stream without key columns.",
            ));
        }
        // a join's rows are keyed in the format ksqlDB resolves for it (an
        // n-way join: the first source's that has one)
        let join_key = match &plan {
            QueryPlan::Join(j) if j.left.source.key_format.name == "NONE" => {
                j.key_format(&self.default_key_format())
            }
            _ => None,
        };
        let inherited_key = match &join_key {
            Some(f) => f,
            None => plan
                .sources()
                .into_iter()
                .map(|d| &d.key_format)
                .find(|f| f.name != "NONE")
                .unwrap_or(&plan.source().key_format),
        };
        let (mut key_format, value_format) =
            self.formats(&with, Some((inherited_key, &plan.source().value_format)))?;
        crate::ddl::default_key_schema_name(&mut key_format, &name);
        if !has_key {
            // a keyless result has no key to write
            key_format = sluice_planner::FormatDesc::named("NONE");
        } else if key_format.name == "NONE" && explicit_key_format.is_none() {
            // a key appeared (PARTITION BY) where the source had none: ksqlDB
            // writes it in the value's format
            key_format = sluice_planner::FormatDesc::named(&value_format.name);
        }
        let timestamp = match with.string("TIMESTAMP") {
            Some(column) => {
                let p = match &mut plan {
                    QueryPlan::Project(p) => p,
                    QueryPlan::Join(j) => &mut j.project,
                    QueryPlan::Aggregate(_) => {
                        return Err(EngineError::Unsupported(
                            "A TIMESTAMP column on an aggregation's sink is not supported by this version of Sluice.".into(),
                        ))
                    }
                };
                let format = with.string("TIMESTAMP_FORMAT");
                p.output_timestamp = Some(output_timestamp(
                    p,
                    &column,
                    format.as_deref(),
                    &self.metastore,
                )?);
                let name = p
                    .columns
                    .iter()
                    .find(|c| c.name.eq_ignore_ascii_case(&column))
                    .map(|c| c.name.clone())
                    .unwrap_or(column);
                Some(sluice_planner::catalog::TimestampSpec {
                    column: name,
                    format,
                })
            }
            None => None,
        };
        let topic = self.sink_topic(&with, &name);
        let columns = plan
            .columns()
            .iter()
            .map(|c| ColumnDef::new(c.name.clone(), c.ty.clone(), c.role.clone()))
            .collect();
        let def = SourceDef {
            name: name.clone(),
            kind: cas.kind,
            topic: topic.clone(),
            key_format,
            value_format,
            columns,
            timestamp,
            window: plan.window(),
            is_source: false,
            sql: text.to_string(),
        };
        let mut def = def;
        if plan
            .sources()
            .iter()
            .any(|s| s.kind == SourceKind::Table && s.window.is_some())
        {
            return Err(EngineError::statement(
                "KSQL does not support persistent queries on windowed tables.",
            ));
        }
        self.apply_wrap_default(&mut def);
        // ksqlDB shows the statement it sanitized with a format's refusal
        check_formats(&def).map_err(|e| {
            let source: Vec<String> = plan
                .source()
                .columns
                .iter()
                .map(|c| c.name.clone())
                .collect();
            match sluice_sql::sanitized_create_as(cas, &source) {
                Some(sql) => EngineError::statement(format!("{e}\nStatement: {sql}")),
                None => e,
            }
        })?;
        self.check_sink_schema(&def)?;
        let source_partitions = self
            .log
            .describe_topic(&plan.source().topic)?
            .partitions
            .len() as i64;
        let partitions = with
            .int("PARTITIONS")?
            .or_else(|| {
                self.property("ksql.sink.partitions")
                    .and_then(|p| p.parse().ok())
            })
            .unwrap_or(source_partitions);
        let replicas = with.int("REPLICAS")?.or_else(|| {
            self.property("ksql.sink.replicas")
                .and_then(|p| p.parse().ok())
        });
        if !self.log.topic_exists(&topic)? {
            self.ensure_topic(
                &topic,
                Some(partitions),
                replicas,
                cas.kind,
                true,
                &sink_topic_configs(cas),
            )?;
        }
        let prefix = match cas.kind {
            SourceKind::Stream => "CSAS",
            SourceKind::Table => "CTAS",
        };
        // CREATE OR REPLACE over a running query: upgraded in place, under
        // its id (see `upgrade`)
        let shape = crate::upgrade::shape(&plan);
        let replaced = self.query_to_upgrade(&name, cas.or_replace, &def, &shape)?;
        let id = match &replaced {
            Some(running) => running.clone(),
            None => self.new_query_id(&format!("{prefix}_{name}")),
        };
        let computed_keys = match &plan {
            QueryPlan::Project(p) => p.repartitioned,
            QueryPlan::Aggregate(_) | QueryPlan::Join(_) => true,
        };
        // an upgraded query's tasks end before the new ones start (they
        // fence the group, read its committed offsets and restore its state)
        if let Some(running) = &replaced {
            self.stop_for_upgrade(running);
        }
        let tasks = self.persistent_tasks(&id, &plan, || {
            let sink = TopicSink::new(&def, &self.registry)?;
            Ok(if computed_keys {
                sink.with_computed_keys()
            } else {
                sink
            })
        })?;
        // CREATE OR REPLACE of a sink no CREATE ... AS query writes: its
        // other writers make way (as before upgrades)
        if replaced.is_none() && cas.or_replace {
            self.stop_queries(|q| q.sink == name);
        }
        self.metastore.put_source(def);
        let sources = plan.sources().iter().map(|d| d.name.clone()).collect();
        self.start_persistent(tasks, text, name, sources);
        self.upgrade_shapes.insert(id.clone(), shape);
        Ok(StatementResult::QueryStarted {
            message: format!("Created query with ID {id}"),
            query_id: id,
        })
    }

    pub(crate) fn insert_values(
        &mut self,
        target: &str,
        columns: Option<&[Ident]>,
        values: &[Expr],
    ) -> Result<StatementResult> {
        let def = self.metastore.source(target).ok_or_else(|| {
            EngineError::statement(format!(
                "Cannot insert values into an unknown stream/table: `{target}`{}",
                self.metastore.alternatives(target, None)
            ))
        })?;
        if def.is_source {
            return Err(EngineError::statement(format!(
                "Cannot insert values into read-only {}: {target}",
                kind_name(def.kind)
            )));
        }
        let names: Vec<String> = match columns {
            Some(cols) => cols.iter().map(|c| c.value.clone()).collect(),
            None => def
                .key_columns()
                .chain(def.value_columns())
                .map(|c| c.name.clone())
                .collect(),
        };
        if columns.is_some() && names.len() != values.len() {
            return Err(EngineError::statement(format!(
                "Failed to prepare statement: Expected number columns and values to match: {}, {}",
                names.len(),
                values.len()
            )));
        }
        if let Some(pseudo) = names.iter().find(|n| *n == ROWPARTITION || *n == ROWOFFSET) {
            return Err(EngineError::statement(format!(
                "Inserting into column `{pseudo}` is not allowed."
            )));
        }
        // header columns take no values: named, or (without a column list)
        // any the source has, as ksqlDB's InsertValuesExecutor refuses them
        let is_header = |n: &str| {
            def.column(n)
                .is_some_and(|c| matches!(c.role, ColumnRole::Header(_)))
        };
        let headers: Vec<&str> = match columns {
            None => def.header_columns().map(|c| c.name.as_str()).collect(),
            Some(_) => names
                .iter()
                .map(String::as_str)
                .filter(|n| is_header(n))
                .collect(),
        };
        if !headers.is_empty() {
            return Err(EngineError::statement(format!(
                "Cannot insert into HEADER columns: {}",
                headers.join(", ")
            )));
        }
        if names.len() != values.len() {
            return Err(EngineError::statement(format!(
                "Expected a value for each column. Expected Columns: [{}]. Got {}",
                names.join(", "),
                values
                    .iter()
                    .map(|v| v.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        let one_row = Arc::new(Schema::empty());
        let batch = RecordBatch::try_new_with_options(
            one_row.clone(),
            vec![],
            &arrow::array::RecordBatchOptions::new().with_row_count(Some(1)),
        )
        .map_err(|e| EngineError::statement(e.to_string()))?;
        let compiler =
            ExprCompiler::new(Scope::of_schema(one_row, None), &self.metastore, "INSERT");
        let mut timestamp = None;
        let mut given: Vec<(String, ArrayRef)> = Vec::new();
        for (name, value) in names.iter().zip(values) {
            let target_ty = if name == ROWTIME {
                DataType::Int64
            } else {
                def.column(name)
                    .filter(|c| !matches!(c.role, ColumnRole::Header(_)))
                    .map(|c| c.ty.clone())
                    .ok_or_else(|| {
                        EngineError::statement(format!("Column name {name} does not exist."))
                    })?
            };
            let c = compiler.compile(value)?;
            if !insertable(&c.ty, &target_ty) {
                return Err(EngineError::statement(format!(
                    "Expected type {} for field {name} but got {}({})",
                    type_name(&target_ty),
                    value,
                    type_name(&c.ty)
                )));
            }
            let c = compiler.cast(c, &target_ty)?;
            let array = c
                .expr
                .evaluate(&batch)
                .and_then(|v| v.into_array(1))
                .map_err(|e| EngineError::statement(format!("Failed to evaluate {value}: {e}")))?;
            if name == ROWTIME {
                let a = array.as_any().downcast_ref::<Int64Array>();
                timestamp =
                    a.and_then(|a| (!arrow::array::Array::is_null(a, 0)).then(|| a.value(0)));
            } else {
                given.push((name.clone(), array));
            }
        }
        let column = |c: &ColumnDef| -> ArrayRef {
            given
                .iter()
                .find(|(n, _)| *n == c.name)
                .map(|(_, a)| a.clone())
                .unwrap_or_else(|| new_null_array(&c.ty, 1))
        };
        let mut cols: Vec<ArrayRef> = def
            .key_columns()
            .chain(def.value_columns())
            .map(column)
            .collect();
        let ts = timestamp.unwrap_or_else(now_ms);
        cols.push(Arc::new(Int64Array::from(vec![ts])));
        let sink = TopicSink::new(&def, &self.registry)?;
        let mut fields: Vec<arrow::datatypes::Field> = def
            .key_columns()
            .chain(def.value_columns())
            .map(|c| arrow::datatypes::Field::new(&c.name, c.ty.clone(), true))
            .collect();
        fields.push(arrow::datatypes::Field::new(ROWTIME, DataType::Int64, true));
        let row = RecordBatch::try_new(Arc::new(Schema::new(fields)), cols)
            .map_err(|e| EngineError::statement(e.to_string()))?;
        let records: Vec<Record> = sink.records(&row)?;
        self.log
            .produce(&def.topic, records.into_iter().map(|r| (None, r)).collect())?;
        Ok(StatementResult::Inserted)
    }

    /// A SELECT run for its client: rows from the source as of now (and, with EMIT
    /// CHANGES, from where `auto.offset.reset` says), until caught up or LIMIT.
    pub(crate) fn transient_query(&mut self, q: &Query) -> Result<StatementResult> {
        if q.emit.is_none() {
            self.check_table_scan(q)?;
        }
        if q.emit.is_none() {
            check_pull_clauses(q)?;
        }
        let plan = plan(q, &self.planning(), QueryContext::Transient).map_err(|e| match e {
            // a pull query's predicates are interpreted, not compiled: ksqlDB's
            // InterpretedExpressionFactory words what code generation would
            sluice_planner::PlanError::Type(m) if q.emit.is_none() => {
                match m.strip_prefix("Invalid Predicate: ") {
                    Some(rest) => EngineError::statement(format!("Invalid expression: {rest}")),
                    None => sluice_planner::PlanError::Type(m).into(),
                }
            }
            other => other.into(),
        })?;
        if crate::push::is_pull(q, plan.result_kind()) {
            let QueryPlan::Project(p) = &plan else {
                return Err(pull_unsupported("GROUP BY"));
            };
            if p.source.kind == SourceKind::Table {
                self.check_queryable(&p.source)?;
                check_pull_columns(p)?;
            }
            // inline, queries catch up first; on stream threads a pull query
            // answers from what the table holds now, as ksqlDB's does
            if self.runs_inline() {
                self.run_until_idle()?;
            }
            let key_order = self.key_lookup_order(q, p);
            let (schema, batches) = self.pull_query(p, key_order.as_deref())?;
            return Ok(StatementResult::Rows { schema, batches });
        }
        // a pull query over a stream refuses the same pseudo columns
        if let (None, QueryPlan::Project(p)) = (&q.emit, &plan) {
            check_pull_columns(p)?;
        }
        // a pull query over a stream reads it from the start; a push query from
        // where auto.offset.reset says
        let reset = if q.emit.is_some() {
            self.offset_reset()
        } else {
            OffsetReset::Earliest
        };
        let mut push = self.push_plan(plan, reset)?;
        let batches = self.poll_push_query(&mut push)?;
        Ok(StatementResult::Rows {
            schema: push.schema.clone(),
            batches,
        })
    }
}

impl Engine {
    /// ksqlDB's checks of a pull query's WHERE on a table, before its types:
    /// with `ksql.query.pull.table.scan.enabled=false` it must be a key
    /// lookup; a key IN list takes values of the key's type.
    fn check_table_scan(&self, q: &Query) -> Result<()> {
        let enabled = |s: &crate::settings::Setting| {
            self.setting(s)
                .is_none_or(|v| !v.trim().eq_ignore_ascii_case("false"))
        };
        let sluice_sql::Relation::Source { name, .. } = &q.from else {
            return Ok(());
        };
        let Some(def) = self
            .metastore
            .source(&name.value)
            .filter(|d| d.kind == SourceKind::Table)
        else {
            return Ok(());
        };
        if !enabled(&crate::settings::PULL_TABLE_SCANS) {
            crate::pull_where::check_key_lookup(
                &def,
                q.where_clause.as_ref(),
                enabled(&crate::settings::PULL_RANGE_SCANS),
            )?;
        }
        crate::pull_where::check_key_list(&def, q.where_clause.as_ref())
    }

    /// The keys a pull query on a one-key table looks up, in the order its
    /// `WHERE key = v` or `WHERE key IN (...)` gives them: ksqlDB answers a
    /// key lookup key by key, in that order. `None` for any other WHERE
    /// clause.
    fn key_lookup_order(&self, q: &Query, p: &ProjectPlan) -> Option<Vec<ScalarValue>> {
        let (key, list) = crate::pull_where::key_lookup(&p.source, q.where_clause.as_ref())?;
        let one_row = Arc::new(Schema::empty());
        let batch = RecordBatch::try_new_with_options(
            one_row.clone(),
            vec![],
            &arrow::array::RecordBatchOptions::new().with_row_count(Some(1)),
        )
        .ok()?;
        let compiler = ExprCompiler::new(Scope::of_schema(one_row, None), &self.metastore, "WHERE");
        list.iter()
            .map(|e| {
                let c = compiler.compile(e).ok()?;
                let c = compiler.cast(c, &key.ty).ok()?;
                let a = c.expr.evaluate(&batch).ok()?.into_array(1).ok()?;
                ScalarValue::try_from_array(&a, 0).ok()
            })
            .collect()
    }
}

/// The configs ksqlDB gives the topic a `CREATE ... AS SELECT` creates: a
/// stream's is deleted by retention, a table's compacted, a windowed table's
/// both (with the window's RETENTION as `retention.ms`).
fn sink_topic_configs(cas: &CreateAsSelect) -> Vec<(&'static str, String)> {
    match (cas.kind, &cas.query.window) {
        (SourceKind::Stream, _) => vec![("cleanup.policy", "delete".to_string())],
        (SourceKind::Table, None) => vec![("cleanup.policy", "compact".to_string())],
        (SourceKind::Table, Some(w)) => {
            let retention = match w {
                WindowSpec::Tumbling { retention, .. }
                | WindowSpec::Hopping { retention, .. }
                | WindowSpec::Session { retention, .. } => retention,
            };
            let mut configs = vec![("cleanup.policy", "compact,delete".to_string())];
            if let Some(r) = retention {
                configs.push(("retention.ms", r.millis().to_string()));
            }
            configs
        }
    }
}

impl Engine {
    /// Key-joined sources must have as many partitions, as ksqlDB requires (a
    /// foreign-key join repartitions and does not).
    fn check_co_partitioning(&self, j: &sluice_planner::join::JoinPlan) -> Result<()> {
        if j.foreign_key {
            return Ok(());
        }
        let mut first: Option<(&str, usize)> = None;
        for (def, _) in &j.all_sources {
            let n = self.log.describe_topic(&def.topic)?.partitions.len();
            match first {
                None => first = Some((&def.name, n)),
                Some((name, m)) if m != n => {
                    return Err(EngineError::statement(format!(
                        "Can't join `{name}` with `{}` since the number of partitions don't match. `{name}` partitions = {m}; `{}` partitions = {n}. Please repartition either one so that the number of partitions match.",
                        def.name, def.name
                    )))
                }
                Some(_) => {}
            }
        }
        Ok(())
    }

    /// ksqlDB requires a persistent query to select every key column of its source
    /// (unless it re-keys), except under the new query planner, which makes the
    /// result keyless instead.
    fn check_key_projection(&self, plan: &ProjectPlan, sink: &str) -> Result<()> {
        let new_planner = self
            .setting(&crate::settings::NEW_QUERY_PLANNER)
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
        if plan.repartitioned || new_planner {
            return Ok(());
        }
        let selected: Vec<&str> = plan.key_columns().map(|c| c.name.as_str()).collect();
        let source_keys: Vec<&str> = plan.source.key_columns().map(|c| c.name.as_str()).collect();
        if selected.len() >= source_keys.len() {
            return Ok(());
        }
        // ksqlDB names every key column of the source
        let keys: Vec<String> = source_keys.iter().map(|k| k.to_string()).collect();
        Err(sluice_planner::keys_not_included(sink, "key column", &keys, true, false).into())
    }
}

/// ksqlDB's implicit conversions for INSERT VALUES.
fn insertable(from: &DataType, to: &DataType) -> bool {
    from == to
        || can_widen(from, to)
        || (is_numeric(from) && is_numeric(to))
        || (from == &DataType::Utf8
            && matches!(
                to,
                DataType::Timestamp(_, _) | DataType::Date32 | DataType::Time32(_)
            ))
        || matches!(
            (from, to),
            (DataType::List(_), DataType::List(_))
                | (DataType::Map(_, _), DataType::Map(_, _))
                | (DataType::Struct(_), DataType::Struct(_))
        )
}

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// A SELECT without EMIT CHANGES is a pull query: one answer from the current
/// state, so nothing that needs a running computation.
fn check_pull_clauses(q: &Query) -> Result<()> {
    if matches!(q.from, sluice_sql::ast::Relation::Join { .. }) {
        return Err(pull_unsupported("JOIN"));
    }
    if q.window.is_some() {
        return Err(pull_unsupported("WINDOW"));
    }
    if !q.group_by.is_empty() {
        return Err(pull_unsupported("GROUP BY"));
    }
    if !q.partition_by.is_empty() {
        return Err(pull_unsupported("PARTITION BY"));
    }
    Ok(())
}

fn pull_unsupported(clause: &str) -> EngineError {
    EngineError::statement(format!(
        "Pull queries don't support {clause} clauses. See https://cnfl.io/queries for more info.\nAdd EMIT CHANGES if you intended to issue a push query."
    ))
}

impl Engine {
    /// Pull queries read a table's materialized state: a source table's, or one a
    /// CREATE TABLE AS SELECT keeps up to date. A plain CREATE TABLE has none.
    fn check_queryable(&self, def: &SourceDef) -> Result<()> {
        if def.is_source || self.queries.values().any(|q| q.sink == def.name) {
            return Ok(());
        }
        let name = &def.name;
        Err(EngineError::statement(format!(
            "The `{name}` table isn't queryable. To derive a queryable table, you can do 'CREATE TABLE QUERYABLE_{name} AS SELECT * FROM {name}'. See https://cnfl.io/queries for more info."
        )))
    }
}

/// ksqlDB answers table pull queries from its state stores, which keep no record
/// position: ROWPARTITION and ROWOFFSET cannot be selected or filtered on.
fn check_pull_columns(p: &sluice_planner::ProjectPlan) -> Result<()> {
    let (select, filter) = p.referenced_columns();
    for (used, clause) in [(select, "SELECT"), (filter, "WHERE")] {
        let bad: Vec<String> = [ROWPARTITION, ROWOFFSET]
            .iter()
            .filter(|c| used.contains(**c))
            .map(|c| format!("`{c}`"))
            .collect();
        if !bad.is_empty() {
            return Err(EngineError::statement(format!(
                "Pull queries don't support the following columns in {clause} clauses: {}",
                bad.join(", ")
            )));
        }
    }
    Ok(())
}

impl Engine {
    /// The topic a `CREATE ... AS SELECT` writes: its `KAFKA_TOPIC`, else its
    /// name after `ksql.output.topic.name.prefix`.
    pub(crate) fn sink_topic(&self, with: &crate::properties::WithClause, name: &str) -> String {
        with.string("KAFKA_TOPIC").unwrap_or_else(|| {
            let prefix = self.setting_text(&crate::settings::OUTPUT_TOPIC_PREFIX);
            format!("{prefix}{name}")
        })
    }
}

/// Starts `task` (fixing where it reads each partition), riding out a
/// transient broker failure: it must not fail a `CREATE ... AS SELECT`.
fn start_riding_out_the_broker(
    task: &mut sluice_runtime::QueryTask,
    log: &dyn sluice_log::Log,
) -> Result<()> {
    let what = format!("starting query {}", task.id);
    crate::patience::riding_out_the_broker(&what, || Ok(task.start(log)?))
}
