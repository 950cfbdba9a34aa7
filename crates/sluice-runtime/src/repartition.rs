//! Repartition topics: rows whose state is keyed by something their source
//! is not partitioned by are first written to a topic keyed by it, so every
//! record of a key lands in one partition and the stateful operator runs
//! partition by partition, each partition's state owned by whichever task
//! reads it. An aggregation over a stream grouped by anything but its key
//! goes through `<query group>-Aggregate-GroupBy-repartition`; a join side
//! ksqlDB repartitions (see `JoinPlan::repartition`) through
//! `<query group>-Join-left-repartition` / `-Join-right-repartition` (a
//! stream-stream join), `-Join-repartition` (a stream-table join's stream)
//! or `-<Left|Right>SourceKeyed-SelectKey-repartition` (a table re-keyed
//! into the join's key format), as ksqlDB names them. Each has as many partitions as the source.
//!
//! A repartition record's key is the new key (an aggregation's in the
//! source's key format, else KAFKA, else JSON; a join's in the join's key
//! format); its value is the source row's key and value columns (an
//! aggregation's: only those it reads) in the source's value format (JSON
//! when that cannot hold them); its timestamp the row's event time and its
//! headers the record's. Read back, it gives the operator the source's own
//! row layout, its expressions running unchanged; an aggregation also gets
//! the key, after the source's columns, and takes its group key from there
//! rather than evaluating it again.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch, RecordBatchOptions};
use arrow::datatypes::{Field, Schema, SchemaRef};
use sluice_formats::SchemaRegistry;
use sluice_log::Record;
use sluice_planner::aggregate::AggregatePlan;
use sluice_planner::catalog::{
    ColumnDef, ColumnRole, FormatDesc, SourceDef, RECORD_HEADERS, ROWTIME, TOMBSTONE, WINDOWEND,
    WINDOWSTART,
};
use sluice_planner::expr::PhysExpr;
use sluice_planner::join::JoinPlan;

use crate::sink::TopicSink;
use crate::RuntimeError;

/// The suffix ksqlDB gives the repartition topic of a GROUP BY.
pub const GROUP_BY_REPARTITION: &str = "-Aggregate-GroupBy-repartition";

/// The repartition topic of the query whose consumer group is `group`.
pub fn group_by_topic(group: &str) -> String {
    format!("{group}{GROUP_BY_REPARTITION}")
}

/// What a repartition topic is keyed by.
struct RepartitionKey {
    /// Over the source's row layout.
    exprs: Vec<PhysExpr>,
    names: Vec<String>,
    types: Vec<arrow::datatypes::DataType>,
    /// The key formats to try, in order.
    formats: Vec<FormatDesc>,
}

const JOIN_SUFFIXES: [&str; 3] = [
    "Join-repartition",
    "Join-left-repartition",
    "Join-right-repartition",
];

/// The repartition topic of source `i` (in `JoinPlan::all_sources` order)
/// of a join, for the query whose consumer group is `group`, named after
/// the (possibly nested: `L_` per level) join it is a side of:
/// `-Join-repartition` for the stream of a stream-table join,
/// `-Join-left-repartition` / `-Join-right-repartition` for a side of a
/// stream-stream join, `-<Left|Right>SourceKeyed-SelectKey-repartition`
/// for a table.
pub fn join_source_topic(group: &str, plan: &JoinPlan, i: usize) -> String {
    let at = plan.source_side(i);
    let (this, other) = if at.side == 0 {
        (&at.plan.left, &at.plan.right)
    } else {
        (&at.plan.right, &at.plan.left)
    };
    let prefix = at.prefix;
    if this.source.kind == sluice_sql::SourceKind::Table {
        return format!("{group}-{prefix}{}", table_select_key_topic(at.side));
    }
    let suffix = match (other.source.kind, at.side) {
        (sluice_sql::SourceKind::Table, _) => JOIN_SUFFIXES[0],
        (_, 0) => JOIN_SUFFIXES[1],
        _ => JOIN_SUFFIXES[2],
    };
    format!("{group}-{prefix}{suffix}")
}

/// The context ksqlDB's `PreJoinRepartitionNode` gives side `side` (0 left,
/// 1 right) of a join it re-keys: `LeftSourceKeyed` / `RightSourceKeyed`.
pub fn source_keyed(side: usize) -> &'static str {
    if side == 0 {
        "LeftSourceKeyed"
    } else {
        "RightSourceKeyed"
    }
}

/// A re-keyed table side's repartition topic after the query's group:
/// Kafka Streams' `toStream().map().toTable()` behind ksqlDB's
/// `TableSelectKey` step names it after the step.
fn table_select_key_topic(side: usize) -> String {
    format!("{}-SelectKey-repartition", source_keyed(side))
}

/// Re-keys a source's rows into its query's repartition topic.
pub struct Repartition {
    /// The repartition topic as a source: the group key columns, then the
    /// source's key and value columns as values, then its header columns.
    def: Arc<SourceDef>,
    /// Made once the formats are chosen.
    sink: Option<TopicSink>,
    key_formats: Vec<FormatDesc>,
    value_formats: Vec<FormatDesc>,
    /// Rows without a value or with a NULL in the key are not written (an
    /// aggregation never counts them).
    drop_unkeyed: bool,
    /// The source's row layout.
    row_fields: Vec<arrow::datatypes::FieldRef>,
    /// The layout `sink` encodes: group key, carried columns, ROWTIME,
    /// record headers.
    layout: SchemaRef,
    filter: Option<PhysExpr>,
    keys: Vec<PhysExpr>,
    /// The source row's columns carried in the value (of its key and value
    /// columns, those the operator reads).
    carried: Vec<usize>,
    rowtime: usize,
    headers: usize,
    tombstone: usize,
}

impl Repartition {
    /// The repartition of an aggregation's source by its group key, for the
    /// query whose consumer group is `group`.
    pub fn for_aggregate(
        plan: &AggregatePlan,
        group: &str,
        registry: &Arc<dyn SchemaRegistry>,
    ) -> Result<Self, RuntimeError> {
        let key = RepartitionKey {
            exprs: plan.group_by.clone(),
            names: key_names(plan),
            types: plan.group_types.clone(),
            formats: candidates(&plan.source.key_format, true),
        };
        // only the columns the aggregation reads (as ksqlDB's pre-aggregate
        // projection): its WHERE clause, group key and aggregate arguments
        let mut read = std::collections::BTreeSet::new();
        let exprs = plan
            .filter
            .iter()
            .chain(&plan.group_by)
            .chain(plan.aggregates.iter().flat_map(|a| &a.inputs));
        for e in exprs {
            read.extend(
                datafusion_physical_expr::utils::collect_columns(e)
                    .iter()
                    .map(|c| c.index()),
            );
        }
        Repartition::new(
            &plan.source,
            group_by_topic(group),
            key,
            Some(read),
            plan.filter.clone(),
            true,
        )
        .and_then(|r| r.bound(registry))
    }

    /// The repartition of source `i` (in `JoinPlan::all_sources` order) of a
    /// join by its join expression, its key in the join's key format `key_format`
    /// (ksqlDB's `Join-left-repartition` / `Join-right-repartition` of a
    /// stream-stream join, `Join-repartition` of a stream-table join's
    /// stream). Every row goes through, as the join decides what rows
    /// without a key or value give.
    pub fn for_join_source(
        plan: &JoinPlan,
        i: usize,
        key_format: &FormatDesc,
        group: &str,
        registry: &Arc<dyn SchemaRegistry>,
    ) -> Result<Self, RuntimeError> {
        let at = plan.source_side(i);
        let this = if at.side == 0 {
            &at.plan.left
        } else {
            &at.plan.right
        };
        // a table keeps its key column's name (it is re-keyed by it)
        let own_key = this
            .source
            .key_columns()
            .next()
            .filter(|_| this.source.kind == sluice_sql::SourceKind::Table);
        let name = if let Some(key) = own_key {
            key.name.as_str()
        } else if this.source.column("KSQL_COL_0").is_none() {
            "KSQL_COL_0"
        } else {
            "KSQL_INTERNAL_JOIN_KEY"
        };
        let key = RepartitionKey {
            exprs: vec![this.key.clone()],
            names: vec![name.to_string()],
            types: vec![plan.key_type.clone()],
            formats: vec![own_format(key_format)],
        };
        // a re-keyed table's value holds its value columns: its key is the
        // record's key, which a delete (no value) keeps
        let read = own_key.map(|_| {
            let keys = this.source.key_columns().count();
            (keys..keys + this.source.value_columns().count()).collect()
        });
        Repartition::new(
            &this.source,
            join_source_topic(group, plan, i),
            key,
            read,
            None,
            false,
        )
        .and_then(|r| r.bound(registry))
    }

    /// `read`: the source row's columns (by index) the operator reads; the
    /// others are not written (`None`: all are).
    fn new(
        source: &SourceDef,
        topic: String,
        key: RepartitionKey,
        read: Option<std::collections::BTreeSet<usize>>,
        filter: Option<PhysExpr>,
        drop_unkeyed: bool,
    ) -> Result<Self, RuntimeError> {
        let mut columns: Vec<ColumnDef> = key
            .names
            .iter()
            .zip(&key.types)
            .map(|(n, t)| ColumnDef::new(n.clone(), t.clone(), ColumnRole::Key))
            .collect();
        let own: Vec<&ColumnDef> = source.key_columns().chain(source.value_columns()).collect();
        let carried: Vec<usize> = (0..own.len())
            .filter(|i| read.as_ref().is_none_or(|r| r.contains(i)))
            .collect();
        columns.extend(
            carried.iter().map(|&i| {
                ColumnDef::new(own[i].name.clone(), own[i].ty.clone(), ColumnRole::Value)
            }),
        );
        columns.extend(source.header_columns().cloned());
        let def = SourceDef {
            name: topic.clone(),
            kind: sluice_sql::SourceKind::Stream,
            topic,
            key_format: FormatDesc::named("KAFKA"),
            value_format: FormatDesc::named("JSON"),
            columns,
            timestamp: None,
            // a windowed source's records keep their windowed keys
            window: source.window,
            is_source: false,
            sql: String::new(),
        };
        // a value of one column that is NULL must not read back as no value
        // (a tombstone): such a value is a JSON object
        let value_formats = if carried.len() == 1 {
            let mut wrapped = FormatDesc::named("JSON");
            wrapped.wrap_single_value = Some(true);
            vec![wrapped]
        } else {
            candidates(&source.value_format, false)
        };
        let row = source.row_schema();
        Ok(Repartition {
            layout: Arc::new(Schema::empty()),
            def: Arc::new(def),
            sink: None,
            key_formats: key.formats,
            value_formats,
            filter,
            drop_unkeyed,
            keys: key.exprs,
            carried,
            rowtime: row.index_of(ROWTIME)?,
            headers: row.index_of(RECORD_HEADERS)?,
            tombstone: row.index_of(TOMBSTONE)?,
            row_fields: row.fields().iter().cloned().collect(),
        })
    }

    /// Picks the first key and value formats able to hold the topic's
    /// columns and makes the encoder.
    fn bound(mut self, registry: &Arc<dyn SchemaRegistry>) -> Result<Self, RuntimeError> {
        let mut def = (*self.def).clone();
        let mut chosen = None;
        'formats: for key in &self.key_formats {
            for value in &self.value_formats {
                def.key_format = key.clone();
                def.value_format = value.clone();
                if let Ok(sink) = TopicSink::new(&def, registry) {
                    chosen = Some(sink);
                    break 'formats;
                }
            }
        }
        let sink = chosen.ok_or_else(|| {
            RuntimeError::Plan(format!(
                "no key and value formats can hold the columns of the repartition topic {}",
                def.topic
            ))
        })?;
        let mut fields: Vec<Field> = def
            .key_columns()
            .chain(def.value_columns())
            .map(|c| Field::new(&c.name, c.ty.clone(), true))
            .collect();
        let bounds: &[&str] = if def.window.is_some() {
            &[WINDOWSTART, WINDOWEND]
        } else {
            &[]
        };
        for name in [ROWTIME, RECORD_HEADERS, TOMBSTONE].iter().chain(bounds) {
            if let Some(f) = self.row_fields.iter().find(|f| f.name() == *name) {
                fields.push(f.as_ref().clone());
            }
        }
        self.layout = Arc::new(Schema::new(fields));
        self.def = Arc::new(def);
        self.sink = Some(sink);
        Ok(self)
    }

    /// The repartition topic as a source (read back, its columns by name
    /// give the original source's row layout, NULL where a column was not
    /// carried).
    pub fn def(&self) -> &Arc<SourceDef> {
        &self.def
    }

    pub fn topic(&self) -> &str {
        &self.def.topic
    }

    /// How many group key columns lead a row read from the topic.
    pub fn key_columns(&self) -> usize {
        self.keys.len()
    }

    /// The records `batch` (rows in the source's layout) becomes in the
    /// repartition topic, each to the partition of its key. Rows the
    /// aggregation never counts are not written: those its WHERE drops, with
    /// no value, or with a NULL in the group key (ksqlDB drops them before
    /// repartitioning too).
    pub fn records(
        &self,
        log: &dyn sluice_log::Log,
        batch: &RecordBatch,
    ) -> Result<Vec<(String, Option<i32>, Record)>, RuntimeError> {
        let mut keep = if self.drop_unkeyed {
            arrow::compute::not(batch.column(self.tombstone).as_boolean())?
        } else {
            arrow::array::BooleanArray::from(vec![true; batch.num_rows()])
        };
        if let Some(f) = &self.filter {
            let mask = f.evaluate(batch)?.into_array(batch.num_rows())?;
            let mask = mask.as_boolean();
            keep = match mask.nulls() {
                Some(_) => {
                    arrow::compute::and(&keep, &arrow::compute::prep_null_mask_filter(mask))?
                }
                None => arrow::compute::and(&keep, mask)?,
            };
        }
        let batch = arrow::compute::filter_record_batch(batch, &keep)?;
        let n = batch.num_rows();
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(self.layout.fields().len());
        for (expr, field) in self.keys.iter().zip(self.layout.fields()) {
            let key = expr.evaluate(&batch)?.into_array(n)?;
            columns.push(if key.data_type() == field.data_type() {
                key
            } else {
                arrow::compute::cast(&key, field.data_type())?
            });
        }
        let mut valid = arrow::array::BooleanArray::from(vec![true; n]);
        for key in columns.iter().filter(|_| self.drop_unkeyed) {
            if key.null_count() > 0 {
                let present = arrow::compute::is_not_null(key)?;
                valid = arrow::compute::and(&valid, &present)?;
            }
        }
        columns.extend(self.carried.iter().map(|&i| batch.column(i).clone()));
        columns.push(batch.column(self.rowtime).clone());
        columns.push(batch.column(self.headers).clone());
        // a row without a value stays one (the join sees a stream's null values)
        columns.push(batch.column(self.tombstone).clone());
        // a windowed key's window
        for name in [WINDOWSTART, WINDOWEND] {
            if self.layout.index_of(name).is_ok() {
                columns.push(batch.column(batch.schema().index_of(name)?).clone());
            }
        }
        let rows = RecordBatch::try_new_with_options(
            self.layout.clone(),
            columns,
            &RecordBatchOptions::new().with_row_count(Some(n)),
        )?;
        let rows = if valid.true_count() < n {
            arrow::compute::filter_record_batch(&rows, &valid)?
        } else {
            rows
        };
        let sink = self.sink.as_ref().expect("formats chosen at construction");
        // a windowed key goes to the partition of its key without the window
        Ok(sink
            .placed(log, &rows)?
            .into_iter()
            .map(|(p, r)| (self.def.topic.clone(), p, r))
            .collect())
    }
}

/// The group key columns' names: the result's key column names, as ksqlDB
/// names them, unless one is also a column of the source (then
/// `KSQL_COL_<i>`).
fn key_names(plan: &AggregatePlan) -> Vec<String> {
    let result: Vec<String> = plan
        .columns
        .iter()
        .filter(|c| c.role == ColumnRole::Key)
        .map(|c| c.name.clone())
        .collect();
    let usable = result.len() == plan.group_by.len()
        && result.iter().all(|n| plan.source.column(n).is_none());
    if usable {
        result
    } else {
        (0..plan.group_by.len())
            .map(|i| format!("KSQL_COL_{i}"))
            .collect()
    }
}

/// The formats to try for the repartition topic's key or value, in order:
/// the source's own (without the schema it was declared with), then KAFKA
/// for a key, then JSON.
fn candidates(format: &FormatDesc, key: bool) -> Vec<FormatDesc> {
    let mut out = Vec::new();
    if format.name != "NONE" {
        out.push(own_format(format));
    }
    if key {
        out.push(FormatDesc::named("KAFKA"));
    }
    out.push(FormatDesc::named("JSON"));
    out
}

/// `format` without the registered schema a source was declared with (a
/// repartition topic registers its own).
fn own_format(format: &FormatDesc) -> FormatDesc {
    let mut own = FormatDesc::named(&format.name);
    own.delimiter = format.delimiter.clone();
    own.wrap_single_value = format.wrap_single_value;
    own.protobuf_nullable = format.protobuf_nullable.clone();
    own
}
