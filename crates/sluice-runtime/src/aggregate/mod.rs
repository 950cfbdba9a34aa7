//! The aggregation operator: GROUP BY over streams and tables, with tumbling and
//! hopping windows.
//!
//! One accumulator per aggregate call and group. A stream row updates its group(s)
//! and emits the new result; a table row first retracts the values its key held
//! before (emitting the reduced result) and then adds its new values — ksqlDB's
//! subtract-then-add. HAVING decides per emission: a passing row is an upsert, a
//! failing row of a group that was visible is a tombstone.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{
    new_null_array, Array, ArrayRef, AsArray, BooleanArray, Int64Array, RecordBatch, UInt32Array,
};
use arrow::compute::take;
use arrow::datatypes::{DataType, Field, Int32Type, Int64Type, Schema, SchemaRef};
use arrow::row::{RowConverter, SortField};
use datafusion_common::ScalarValue;
use datafusion_expr::Accumulator;
use sluice_planner::aggregate::{AggregatePlan, WindowPlan};
use sluice_planner::catalog::{
    headers_type, WindowKind, RECORD_HEADERS, ROWPARTITION, ROWTIME, TOMBSTONE, WINDOWEND,
    WINDOWSTART,
};

use crate::RuntimeError;

mod stored;
mod table;
mod windows;

struct Group {
    key: Vec<ScalarValue>,
    window: Option<(i64, i64)>,
    accumulators: Vec<Box<dyn Accumulator>>,
    /// Whether the sink currently holds a row for this group (HAVING passed last time).
    visible: bool,
    /// The latest event time that reached the group: its results carry it.
    max_ts: i64,
    /// The changelog partition of the group: the input partition of the
    /// record that changed it last (see [`AggregateOperator::enable_changelog`]).
    partition: i32,
    /// When the group was last used (see `stored`), and what it costs in
    /// memory: kept when the operator has stores.
    used: u64,
    bytes: usize,
    /// Changed since its store last took it: the changelog partition (and
    /// store) it goes to.
    store: Option<i32>,
}

/// A group's result at the moment a row changed it.
struct Emission {
    group: Vec<u8>,
    /// The group ended (a session merged into another): write a tombstone.
    delete: bool,
    timestamp: i64,
    key: Vec<ScalarValue>,
    aggregates: Vec<ScalarValue>,
    window: Option<(i64, i64)>,
}

pub struct AggregateOperator {
    plan: AggregatePlan,
    groups_converter: RowConverter,
    groups: HashMap<Vec<u8>, Group>,
    /// Over a table: what each of its keys contributed.
    table: Option<table::TableInput>,
    stream_time: i64,
    rowtime: usize,
    tombstone: usize,
    /// The input's ROWPARTITION column, when it has one, and the partition
    /// of the row being processed.
    row_partition: Option<usize>,
    current_partition: i32,
    /// Where the group key's columns start in the input rows, when they come
    /// computed (read back from the repartition topic keyed by them), so the
    /// group key is evaluated once per row, as ksqlDB evaluates it.
    keys_at: Option<usize>,
    schema: SchemaRef,
    /// Groups changed since [`AggregateOperator::take_changes`], when the
    /// operator keeps a changelog.
    changelog: Option<ChangelogState>,
    /// Windowed groups by when their window closes (its end; a session's end
    /// plus its gap), then start: what EMIT FINAL emits and expiry drops,
    /// found without scanning every group. Entries of groups gone since are
    /// skipped when met.
    closing: std::collections::BTreeSet<(i64, i64, Vec<u8>)>,
    /// Session windows: the group keys of each key's sessions (entries of
    /// sessions gone since are dropped when met), so a record finds the
    /// sessions it may merge with without scanning every group.
    sessions: HashMap<Vec<u8>, Vec<Vec<u8>>>,
    /// The latest window start a record went into: the stream time of
    /// Kafka Streams' window store, which no longer returns windows that
    /// started more than its retention before it.
    store_time: i64,
    /// The stores holding every group when the operator keeps them there
    /// (`groups` is then a cache in front of them).
    stores: Option<stored::GroupStores>,
}

/// What the operator tracks to write its changelog.
struct ChangelogState {
    /// Whether a group's changelog partition is the input partition it came
    /// from (state keyed by the source's key), else 0.
    partitioned: bool,
    /// The groups changed (written or removed) since the last take, each
    /// with its changelog partition.
    dirty: HashMap<Vec<u8>, i32>,
    codec: crate::state::StateCodec,
}

/// One changelog record of the operator: a group's key (as the operator
/// keys its groups), its encoded state (`None`: the group is gone) and the
/// changelog partition it goes to.
pub struct StateChange {
    pub key: Vec<u8>,
    pub value: Option<Vec<u8>>,
    pub partition: i32,
}

impl AggregateOperator {
    pub fn new(plan: &AggregatePlan, input: &Schema) -> Result<Self, RuntimeError> {
        let groups_converter = RowConverter::new(
            plan.group_types
                .iter()
                .map(|t| SortField::new(t.clone()))
                .collect(),
        )?;
        let table = table::TableInput::new(plan, input)?;
        let mut fields: Vec<Field> = plan
            .columns
            .iter()
            .map(|c| Field::new(&c.name, c.ty.clone(), true))
            .collect();
        fields.push(Field::new(ROWTIME, DataType::Int64, true));
        fields.push(Field::new(RECORD_HEADERS, headers_type(), true));
        fields.push(Field::new(TOMBSTONE, DataType::Boolean, false));
        fields.push(Field::new(WINDOWSTART, DataType::Int64, true));
        fields.push(Field::new(WINDOWEND, DataType::Int64, true));
        Ok(AggregateOperator {
            groups_converter,
            groups: HashMap::new(),
            table,
            stream_time: i64::MIN,
            closing: std::collections::BTreeSet::new(),
            sessions: HashMap::new(),
            store_time: i64::MIN,
            rowtime: input.index_of(ROWTIME)?,
            tombstone: input.index_of(TOMBSTONE)?,
            row_partition: input.index_of(ROWPARTITION).ok(),
            current_partition: 0,
            keys_at: None,
            schema: Arc::new(Schema::new(fields)),
            plan: plan.clone(),
            changelog: None,
            stores: None,
        })
    }

    /// Track changed groups for [`AggregateOperator::take_changes`]; with
    /// `partitioned`, each group's changelog partition is the input
    /// partition of its records, else partition 0.
    pub fn enable_changelog(&mut self, partitioned: bool) -> Result<(), RuntimeError> {
        let mut fresh = self.new_group(Vec::new(), None)?;
        self.changelog = Some(ChangelogState {
            partitioned,
            dirty: HashMap::new(),
            codec: crate::state::StateCodec::new(&mut fresh.accumulators)?,
        });
        self.enable_table_changelog();
        Ok(())
    }

    /// How many bytes of a group's key are its window (after the key values).
    fn window_suffix(&self) -> usize {
        match self.plan.window {
            Some(w) if w.kind == WindowKind::Session => 16,
            Some(_) => 8,
            None => 0,
        }
    }

    fn mark(&mut self, group: &[u8], partition: i32) {
        if let Some(c) = &mut self.changelog {
            let p = if c.partitioned { partition } else { 0 };
            c.dirty.insert(group.to_vec(), p);
        }
    }

    /// The changelog records of the groups changed since the last call.
    pub fn take_changes(&mut self) -> Result<Vec<StateChange>, RuntimeError> {
        let Some(c) = &mut self.changelog else {
            return Ok(Vec::new());
        };
        let mut dirty: Vec<(Vec<u8>, i32)> = std::mem::take(&mut c.dirty).into_iter().collect();
        dirty.sort();
        let keys: Vec<&Vec<u8>> = dirty.iter().map(|(k, _)| k).collect();
        let mut values: HashMap<Vec<u8>, Vec<u8>> =
            self.encode_groups(&keys)?.into_iter().collect();
        Ok(dirty
            .into_iter()
            .map(|(key, partition)| StateChange {
                value: values.remove(&key),
                key,
                partition,
            })
            .collect())
    }

    /// The encoded states of the cached groups among `keys`.
    fn encode_groups(
        &mut self,
        keys: &[&Vec<u8>],
    ) -> Result<Vec<sluice_state::Entry>, RuntimeError> {
        let mut present = Vec::new();
        let mut states = Vec::new();
        for key in keys {
            if let Some(g) = self.groups.get_mut(*key) {
                present.push((*key).clone());
                states.push(crate::state::GroupState {
                    window: g.window,
                    visible: g.visible,
                    max_ts: g.max_ts,
                    states: g
                        .accumulators
                        .iter_mut()
                        .map(|a| a.state())
                        .collect::<Result<_, _>>()?,
                });
            }
        }
        let Some(c) = &self.changelog else {
            return Ok(Vec::new());
        };
        Ok(present
            .into_iter()
            .zip(c.codec.encode(states, self.stream_time)?)
            .collect())
    }

    /// Output rows: the plan's columns, ROWTIME, headers, tombstone, window bounds.
    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// How many groups (windows included) the operator holds.
    pub fn group_count(&self) -> usize {
        self.groups.len()
    }

    /// Bytes held in operator state: accumulators, group keys, table contributions.
    pub fn state_bytes(&self) -> usize {
        let contributions = self.table.as_ref().map_or(0, table::TableInput::bytes);
        if let Some(cached) = self.cached_bytes() {
            return cached + contributions;
        }
        let groups: usize = self
            .groups
            .iter()
            .map(|(k, g)| {
                k.len()
                    + g.key.iter().map(|v| v.size()).sum::<usize>()
                    + g.accumulators.iter().map(|a| a.size()).sum::<usize>()
            })
            .sum();
        groups + contributions
    }

    fn new_group(
        &self,
        key: Vec<ScalarValue>,
        window: Option<(i64, i64)>,
    ) -> Result<Group, RuntimeError> {
        let accumulators = self
            .plan
            .aggregates
            .iter()
            .map(|a| {
                // append-only input needs no retraction: bounded-memory accumulators
                if self.table.is_none() {
                    a.function.stream_accumulator(&a.call())
                } else {
                    a.function.accumulator(&a.call())
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Group {
            key,
            window,
            accumulators,
            visible: false,
            max_ts: i64::MIN,
            partition: 0,
            used: 0,
            bytes: 0,
            store: None,
        })
    }

    /// Takes the group key from the input rows' columns from `at` on
    /// instead of evaluating it (see `keys_at`).
    pub fn take_keys_from(&mut self, at: usize) {
        self.keys_at = Some(at);
    }

    pub fn process(&mut self, batch: &RecordBatch) -> Result<RecordBatch, RuntimeError> {
        let batch = match &self.plan.filter {
            Some(f) => {
                let mask = f.evaluate(batch)?.into_array(batch.num_rows())?;
                let mask = mask.as_boolean();
                let mask = if mask.null_count() > 0 {
                    arrow::compute::prep_null_mask_filter(mask)
                } else {
                    mask.clone()
                };
                arrow::compute::filter_record_batch(batch, &mask)?
            }
            None => batch.clone(),
        };
        let n = batch.num_rows();
        let keys: Vec<ArrayRef> = match self.keys_at {
            // of the group key's types: the repartition wrote them so
            Some(at) => (0..self.plan.group_by.len())
                .map(|k| batch.column(at + k).clone())
                .collect(),
            None => self
                .plan
                .group_by
                .iter()
                .map(|g| g.evaluate(&batch).and_then(|v| v.into_array(n)))
                .collect::<Result<_, _>>()?,
        };
        let inputs: Vec<Vec<ArrayRef>> = self
            .plan
            .aggregates
            .iter()
            .map(|a| {
                if a.count_star && a.inputs.is_empty() {
                    return Ok(vec![Arc::new(BooleanArray::from(vec![true; n])) as ArrayRef]);
                }
                a.inputs
                    .iter()
                    .map(|e| e.evaluate(&batch).and_then(|v| v.into_array(n)))
                    .collect::<Result<Vec<_>, _>>()
            })
            .collect::<Result<_, _>>()?;
        let rows = self.groups_converter.convert_columns(&keys)?;
        let ts = batch
            .column(self.rowtime)
            .as_primitive::<Int64Type>()
            .clone();
        let tomb = batch.column(self.tombstone).as_boolean().clone();
        let row_partitions = self
            .row_partition
            .and_then(|i| batch.column(i).as_primitive_opt::<Int32Type>().cloned());
        let table_rows = match &self.table {
            Some(table) => Some(table.source_keys(&batch)?),
            None => None,
        };
        let mut emissions: Vec<Emission> = Vec::new();
        for r in 0..n {
            let t = if ts.is_valid(r) { ts.value(r) } else { 0 };
            self.current_partition = row_partitions
                .as_ref()
                .filter(|p| p.is_valid(r))
                .map_or(0, |p| p.value(r));
            // ksqlDB drops rows with a NULL grouping value
            let null_key = keys.iter().any(|k| k.is_null(r));
            if let Some(trows) = &table_rows {
                let adds = !(tomb.value(r) || null_key);
                self.table_row(
                    trows.row(r).as_ref().to_vec(),
                    rows.row(r).as_ref().to_vec(),
                    &keys,
                    r,
                    t,
                    adds,
                    Self::table_inputs(&inputs, r),
                    &mut emissions,
                )?;
                continue;
            }
            let row_inputs: Vec<Vec<ArrayRef>> = inputs
                .iter()
                .map(|cols| cols.iter().map(|c| c.slice(r, 1)).collect())
                .collect();
            if tomb.value(r) || null_key {
                continue;
            }
            self.stream_time = self.stream_time.max(t);
            let base = rows.row(r).as_ref().to_vec();
            let grace = self.grace();
            match self.plan.window {
                Some(w) if w.kind == WindowKind::Session => {
                    self.session_update(&base, &keys, r, t, &row_inputs, &mut emissions)?;
                }
                Some(_) => {
                    for (start, end) in self.windows(t) {
                        // a window closed by stream time takes no more records
                        if end.saturating_add(grace) <= self.stream_time {
                            continue;
                        }
                        let mut gk = base.clone();
                        gk.extend_from_slice(&start.to_be_bytes());
                        self.update_group(
                            gk,
                            &keys,
                            r,
                            Some((start, end)),
                            t,
                            &row_inputs,
                            &mut emissions,
                        )?;
                    }
                }
                None => {
                    self.update_group(base, &keys, r, None, t, &row_inputs, &mut emissions)?;
                }
            }
            if self.plan.emit == Some(sluice_sql::Emit::Final) {
                self.close_windows(&mut emissions)?;
            } else if self.plan.window.is_some() {
                self.expire_windows()?;
            }
        }
        self.emit(emissions)
    }

    /// Add a row to one group (created on first use) and record the change; with
    /// EMIT FINAL the change is held back until the window closes.
    #[allow(clippy::too_many_arguments)]
    fn update_group(
        &mut self,
        gk: Vec<u8>,
        keys: &[ArrayRef],
        r: usize,
        window: Option<(i64, i64)>,
        t: i64,
        inputs: &[Vec<ArrayRef>],
        emissions: &mut Vec<Emission>,
    ) -> Result<(), RuntimeError> {
        if !self.load(&gk, false)? {
            let key = key_scalars(keys, r)?;
            let g = self.new_group(key, window)?;
            self.index_window(&gk, g.window);
            self.cache_insert(gk.clone(), g);
        }
        if let Some((start, _)) = window {
            self.store_time = self.store_time.max(start);
        }
        let final_only = self.plan.emit == Some(sluice_sql::Emit::Final);
        let partition = self.current_partition;
        self.mark(&gk, partition);
        if let Some(g) = self.groups.get_mut(&gk) {
            for (acc, vals) in g.accumulators.iter_mut().zip(inputs) {
                acc.update_batch(vals)?;
            }
            g.max_ts = g.max_ts.max(t);
            g.partition = partition;
            if !final_only {
                let ts = g.max_ts;
                emissions.push(snapshot(gk, g, ts)?);
            }
        }
        Ok(())
    }

    /// Evaluate HAVING and the projection over the emitted groups' current results.
    fn emit(&mut self, emissions: Vec<Emission>) -> Result<RecordBatch, RuntimeError> {
        if emissions.is_empty() {
            return Ok(RecordBatch::new_empty(self.schema.clone()));
        }
        let m = emissions.len();
        let nkeys = self.plan.group_types.len();
        let naggs = self.plan.aggregates.len();
        let mut key_vals: Vec<Vec<ScalarValue>> = vec![Vec::with_capacity(m); nkeys];
        let mut agg_vals: Vec<Vec<ScalarValue>> = vec![Vec::with_capacity(m); naggs];
        let mut starts = Vec::with_capacity(m);
        let mut ends = Vec::with_capacity(m);
        for e in &emissions {
            for (i, k) in e.key.iter().enumerate() {
                key_vals[i].push(k.clone());
            }
            for (i, a) in e.aggregates.iter().enumerate() {
                agg_vals[i].push(a.clone());
            }
            starts.push(e.window.map(|w| w.0));
            ends.push(e.window.map(|w| w.1));
        }
        let agg_schema = self.plan.agg_schema.clone();
        let mut columns: Vec<ArrayRef> = Vec::new();
        for (i, vals) in key_vals.into_iter().chain(agg_vals).enumerate() {
            let ty = agg_schema.field(i).data_type();
            columns.push(scalars_to_array(vals, ty)?);
        }
        let timestamps = Int64Array::from_iter_values(emissions.iter().map(|e| e.timestamp));
        columns.push(Arc::new(timestamps.clone()));
        columns.push(Arc::new(Int64Array::from(starts.clone())));
        columns.push(Arc::new(Int64Array::from(ends.clone())));
        let agg_batch = RecordBatch::try_new(agg_schema, columns)?;
        let having: Option<BooleanArray> = match &self.plan.having {
            Some(h) => Some(h.evaluate(&agg_batch)?.into_array(m)?.as_boolean().clone()),
            None => None,
        };
        let mut picks = Vec::new();
        let mut tombstones = Vec::new();
        for (j, e) in emissions.iter().enumerate() {
            if e.delete {
                picks.push(j as u32);
                tombstones.push(true);
                continue;
            }
            let pass = having.as_ref().is_none_or(|h| h.is_valid(j) && h.value(j));
            let Some(g) = self.groups.get_mut(&e.group) else {
                // a final result: its window closed and its state is gone
                if pass {
                    picks.push(j as u32);
                    tombstones.push(false);
                }
                continue;
            };
            if pass {
                g.visible = true;
                picks.push(j as u32);
                tombstones.push(false);
            } else if g.visible {
                g.visible = false;
                picks.push(j as u32);
                tombstones.push(true);
            }
        }
        let picks = UInt32Array::from(picks);
        let mut out: Vec<ArrayRef> = Vec::new();
        for (c, f) in self.plan.columns.iter().zip(self.schema.fields()) {
            let a = c.expr.evaluate(&agg_batch)?.into_array(m)?;
            let a = if a.data_type() == f.data_type() {
                a
            } else {
                arrow::compute::cast(&a, f.data_type())?
            };
            out.push(take(a.as_ref(), &picks, None)?);
        }
        let k = picks.len();
        out.push(take(&timestamps, &picks, None)?);
        out.push(new_empty_headers(k)?);
        out.push(Arc::new(BooleanArray::from(tombstones)));
        out.push(take(&Int64Array::from(starts), &picks, None)?);
        out.push(take(&Int64Array::from(ends), &picks, None)?);
        Ok(RecordBatch::try_new(self.schema.clone(), out)?)
    }
}

fn snapshot(group: Vec<u8>, g: &mut Group, timestamp: i64) -> Result<Emission, RuntimeError> {
    snapshot_as(group, g, timestamp, false)
}

fn snapshot_as(
    group: Vec<u8>,
    g: &mut Group,
    timestamp: i64,
    delete: bool,
) -> Result<Emission, RuntimeError> {
    let aggregates = g
        .accumulators
        .iter_mut()
        .map(|a| a.evaluate())
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Emission {
        group,
        delete,
        timestamp,
        key: g.key.clone(),
        aggregates,
        window: g.window,
    })
}

fn key_scalars(keys: &[ArrayRef], r: usize) -> Result<Vec<ScalarValue>, RuntimeError> {
    keys.iter()
        .map(|k| Ok(ScalarValue::try_from_array(k, r)?))
        .collect()
}

fn scalars_to_array(vals: Vec<ScalarValue>, ty: &DataType) -> Result<ArrayRef, RuntimeError> {
    let n = vals.len();
    let vals: Vec<ScalarValue> = vals
        .into_iter()
        .map(|v| {
            if v.is_null() {
                ScalarValue::try_from(ty).unwrap_or(v)
            } else {
                v
            }
        })
        .collect();
    let a = match ScalarValue::iter_to_array(vals) {
        Ok(a) => a,
        Err(_) => new_null_array(ty, n),
    };
    Ok(if a.data_type() == ty {
        a
    } else {
        arrow::compute::cast(&a, ty)?
    })
}

fn new_empty_headers(n: usize) -> Result<ArrayRef, RuntimeError> {
    let ty = headers_type();
    let DataType::List(item) = &ty else {
        return Err(RuntimeError::Plan("headers type must be a list".into()));
    };
    Ok(Arc::new(arrow::array::ListArray::try_new(
        item.clone(),
        arrow::buffer::OffsetBuffer::new_zeroed(n),
        new_null_array(item.data_type(), 0),
        None,
    )?))
}
