//! The join operator: stream-stream within a time window, stream-table lookups and
//! table-table joins on the primary key.
//!
//! Each side's rows arrive in its own row layout; matches are assembled into the
//! joined layout (left fields, right fields, `$JOINKEY`, ROWTIME, headers,
//! tombstone) and handed to the projection the planner built over it.
//!
//! Outer joins emit eagerly, as ksqlDB's classic semantics do: a record with no
//! match yet is emitted with NULLs for the other side, and a later match emits the
//! joined row too.

use std::collections::{HashMap, HashSet};

use arrow::array::{
    new_null_array, Array, ArrayRef, AsArray, BooleanArray, Int64Array, RecordBatch,
};
use arrow::datatypes::{DataType, Int64Type, SchemaRef};
use arrow::row::{RowConverter, SortField};
use sluice_planner::catalog::{WindowKind, RECORD_HEADERS, WINDOWSTART};
use sluice_planner::join::JoinPlan;
use sluice_sql::{JoinKind, SourceKind};

use crate::project::ProjectOperator;
use crate::RuntimeError;

mod changelog;
mod codec;
mod foreign_key;
mod outer;
mod prepared;
mod window;

pub use changelog::{StoreRecord, OUTER_STORE};

use codec::SideCodec;
use window::Window;

/// Stream-stream buffers are swept for expired records once per this many records.
const SWEEP_EVERY: usize = 4096;

/// Whether column `c` of `side` is shown by a joined row: each side's own
/// bookkeeping (headers, tombstone, an inner join's key) is not visible to
/// SQL and is not carried.
fn carried(plan: &JoinPlan, widths: [usize; 2], side: usize, c: usize) -> bool {
    let field = if side == 0 { c } else { widths[0] + c };
    let name = plan.joined_schema.field(field).name();
    !(name.contains(".$") || name.starts_with("$LEFT.$"))
}

pub struct JoinOperator {
    plan: JoinPlan,
    /// Batches prepared by [`JoinOperator::push_rows`] this poll, per side.
    prepared: [Vec<prepared::Prepared>; 2],
    /// An n-way join's earlier joins, feeding this join's left side.
    nested: Option<Box<JoinOperator>>,
    /// How many sources feed this operator (nested ones included).
    inputs: usize,
    project: ProjectOperator,
    schemas: [SchemaRef; 2],
    converter: RowConverter,
    /// Stream sides: records within the join window, per key.
    buffers: [HashMap<Vec<u8>, Window>; 2],
    /// How each stream side's window rows are encoded (stream-stream joins).
    codecs: [Option<SideCodec>; 2],
    /// Table sides: the current row per key.
    tables: [HashMap<Vec<u8>, Row>; 2],
    /// Table-table: keys whose joined row the sink holds.
    visible: HashSet<Vec<u8>>,
    /// Foreign-key joins: the left table by primary key (its foreign key and row),
    /// and which left keys reference each right key, in arrival order.
    left_rows: HashMap<Vec<u8>, LeftRow>,
    references: HashMap<Vec<u8>, Vec<Vec<u8>>>,
    left_pk: Option<(RowConverter, Vec<usize>)>,
    stream_time: i64,
    /// Stream-stream: per side, the latest timestamp put into its window
    /// store (what the store's retention counts from).
    observed: [i64; 2],
    /// Left and outer stream-stream joins with a GRACE PERIOD: rows without
    /// a match yet.
    outer: Option<outer::OuterStore>,
    since_sweep: usize,
    /// Per joined field, [`NULL_ROWS`] nulls of its type (sliced as needed:
    /// a join is often handed a row at a time), and an empty joined batch.
    nulls: Vec<ArrayRef>,
    empty: RecordBatch,
    /// [`NULL_ROWS`] empty header lists (the joined rows' headers).
    no_headers: Option<ArrayRef>,
    /// Matches pushed since the last flush.
    pending: Vec<Segment>,
    /// The window rows to write to the changelogs, when the join keeps them.
    logging: Option<changelog::Logging>,
    /// Joining two windowed sources: each side's WINDOWSTART column (keys
    /// match with their windows, and joined rows carry the window).
    window_start: Option<[usize; 2]>,
    /// Windowed keys match on their window's end too (session windows).
    session_keys: bool,
}

/// Rows of the cached null arrays of each joined field.
const NULL_ROWS: usize = 1024;

/// A row taking part in a match: one of the batch being processed, or one held in state.
enum RowRef {
    Input(usize),
    Held(Row),
    Encoded(Box<[u8]>),
}

/// A foreign-key join's left row: its foreign key (bytes), key value and row.
type LeftRow = (Option<Vec<u8>>, ArrayRef, Row);

/// A row kept in state: one copied row, shared by every match it takes part in.
type Row = std::sync::Arc<RecordBatch>;

/// Matches found for one input batch (of `side`), not yet assembled.
struct Segment {
    input: RecordBatch,
    side: usize,
    matches: Vec<Match>,
}

/// One joined row in the making.
struct Match {
    rows: [Option<RowRef>; 2],
    /// The key is row `key_row` of `key` (a 1-row array, or the batch's key column).
    key_row: usize,
    key: ArrayRef,
    ts: i64,
    tombstone: bool,
    /// The row of its segment's input batch whose record made this joined
    /// row: the joined record carries that record's headers, as Kafka
    /// Streams forwards the processed record's.
    trigger: Option<usize>,
}

impl Match {
    /// Row `r` of the input batch on `side`, joined with `other` (NULL when
    /// `None`), keyed by row `r` of `key`.
    fn of_input(side: usize, r: usize, other: Option<RowRef>, key: &ArrayRef, ts: i64) -> Match {
        let mut rows = [None, None];
        rows[side] = Some(RowRef::Input(r));
        rows[1 - side] = other;
        Match {
            rows,
            key_row: r,
            key: key.clone(),
            ts,
            tombstone: false,
            trigger: Some(r),
        }
    }
}

impl JoinOperator {
    /// `schemas` holds the row layout of every source, in FROM order.
    pub fn new(plan: &JoinPlan, schemas: &[SchemaRef]) -> Result<Self, RuntimeError> {
        let inputs = plan.all_sources.len();
        if schemas.len() < inputs {
            return Err(RuntimeError::Plan(
                "a join needs a reader per source".into(),
            ));
        }
        let (nested, left, right) = match &plan.nested {
            Some(n) => {
                let k = n.all_sources.len();
                let inner = JoinOperator::new(n, &schemas[..k])?;
                (
                    Some(Box::new(inner)),
                    n.joined_schema.clone(),
                    schemas[k].clone(),
                )
            }
            None => (None, schemas[0].clone(), schemas[1].clone()),
        };
        let project = ProjectOperator::new(&plan.project, &plan.joined_schema)?;
        let left_pk = if plan.foreign_key {
            Some(crate::source::key_rows(&plan.left.source, &left)?)
        } else {
            None
        };
        let schemas = [left, right];
        let streams = plan.left.source.kind == SourceKind::Stream
            && plan.right.source.kind == SourceKind::Stream;
        let codecs = if streams {
            [
                Some(SideCodec::new(plan, &schemas, 0)?),
                Some(SideCodec::new(plan, &schemas, 1)?),
            ]
        } else {
            [None, None]
        };
        let window_start = match plan.project.source.window {
            Some(_) => Some([
                schemas[0].index_of(WINDOWSTART)?,
                schemas[1].index_of(WINDOWSTART)?,
            ]),
            None => None,
        };
        // a windowed key is its key and window start, a session's end too
        // (Kafka Streams' time-windowed key serde writes only the start)
        let sessions = [&plan.left, &plan.right].iter().any(|s| {
            s.source
                .window
                .is_some_and(|w| w.kind == WindowKind::Session)
        });
        let mut key_fields = vec![SortField::new(plan.key_type.clone())];
        if window_start.is_some() {
            key_fields.push(SortField::new(DataType::Int64));
            if sessions {
                key_fields.push(SortField::new(DataType::Int64));
            }
        }
        let nulls = plan
            .joined_schema
            .fields()
            .iter()
            .map(|f| new_null_array(f.data_type(), NULL_ROWS))
            .collect();
        Ok(JoinOperator {
            prepared: Default::default(),
            nested,
            codecs,
            nulls,
            empty: RecordBatch::new_empty(plan.joined_schema.clone()),
            no_headers: plan
                .joined_schema
                .fields()
                .iter()
                .rev()
                .nth(1)
                .and_then(|f| empty_lists(f.data_type(), NULL_ROWS).ok()),
            inputs,
            pending: Vec::new(),
            logging: None,
            left_rows: HashMap::new(),
            references: HashMap::new(),
            left_pk,
            converter: RowConverter::new(key_fields)?,
            window_start,
            session_keys: sessions,
            project,
            schemas,
            buffers: [HashMap::new(), HashMap::new()],
            tables: [HashMap::new(), HashMap::new()],
            visible: HashSet::new(),
            stream_time: i64::MIN,
            observed: [i64::MIN; 2],
            outer: (streams && plan.grace_ms.is_some() && plan.kind != JoinKind::Inner)
                .then(outer::OuterStore::new),
            since_sweep: 0,
            plan: plan.clone(),
        })
    }

    pub fn schema(&self) -> &SchemaRef {
        self.project.schema()
    }

    /// The join this operator runs (at its nesting level).
    pub fn plan(&self) -> &JoinPlan {
        &self.plan
    }

    /// Bytes held in join state: window buffers and table rows (nested joins included).
    pub fn state_bytes(&self) -> usize {
        let buffered: usize = self
            .buffers
            .iter()
            .flat_map(|b| b.iter())
            .map(|(k, w)| k.len() + w.state_bytes())
            .sum();
        let tables: usize = self
            .tables
            .iter()
            .flat_map(|t| t.iter())
            .map(|(k, r)| k.len() + r.get_array_memory_size())
            .sum();
        let left: usize = self
            .left_rows
            .iter()
            .map(|(k, (_, key, row))| {
                k.len() + key.get_array_memory_size() + row.get_array_memory_size()
            })
            .sum();
        let held = self.outer.as_ref().map_or(0, |o| o.state_bytes());
        buffered + tables + left + held + self.nested.as_ref().map_or(0, |n| n.state_bytes())
    }

    fn kind_of(&self, side: usize) -> SourceKind {
        if side == 0 {
            self.plan.left.source.kind
        } else {
            self.plan.right.source.kind
        }
    }

    /// Process rows of one source (its index in FROM order) and project the results.
    pub fn process(
        &mut self,
        input: usize,
        batch: &RecordBatch,
    ) -> Result<RecordBatch, RuntimeError> {
        self.push(input, batch)?;
        self.flush()
    }

    /// Joins rows of one source (its index in FROM order); their joined rows
    /// come out of the next [`JoinOperator::flush`], after those of earlier
    /// pushes. A join handed one record at a time (two inputs in time order)
    /// assembles and projects its results once per flush, not per record.
    pub fn push(&mut self, input: usize, batch: &RecordBatch) -> Result<(), RuntimeError> {
        let (side, rows) = self.route(input, batch)?;
        let matches = self.process_raw(side, &rows)?;
        if !matches.is_empty() {
            self.pending.push(Segment {
                input: rows,
                side,
                matches,
            });
        }
        Ok(())
    }

    /// The projected joined rows of every push since the last flush, in order.
    pub fn flush(&mut self) -> Result<RecordBatch, RuntimeError> {
        self.prepared = Default::default();
        let segments = std::mem::take(&mut self.pending);
        let joined = self.assemble(segments)?;
        self.project.process(&joined)
    }

    /// Forgets the joined rows pushed since the last flush (their processing
    /// failed or only rebuilt state).
    pub fn discard_pending(&mut self) {
        self.prepared = Default::default();
        self.pending.clear();
    }

    /// The side a source's rows join on, and the rows: an n-way join's
    /// earlier sources go through its nested joins to the left side.
    fn route(
        &mut self,
        input: usize,
        batch: &RecordBatch,
    ) -> Result<(usize, RecordBatch), RuntimeError> {
        if input + 1 < self.inputs {
            return match &mut self.nested {
                Some(n) => Ok((0, n.process_input(input, batch)?)),
                None => Ok((0, batch.clone())),
            };
        }
        Ok((1, batch.clone()))
    }

    /// Rows of one source, joined into this operator's joined layout.
    fn process_input(
        &mut self,
        input: usize,
        batch: &RecordBatch,
    ) -> Result<RecordBatch, RuntimeError> {
        let (side, rows) = self.route(input, batch)?;
        let matches = self.process_raw(side, &rows)?;
        self.assemble(vec![Segment {
            input: rows,
            side,
            matches,
        }])
    }

    /// Process rows of one side (0 = left, 1 = right) into joined rows.
    fn process_raw(
        &mut self,
        side: usize,
        batch: &RecordBatch,
    ) -> Result<Vec<Match>, RuntimeError> {
        let mut matches = Vec::new();
        if self.plan.foreign_key {
            self.foreign_key_rows(side, batch, &mut matches)?;
            return Ok(matches);
        }
        let prepared = self.prepare(side, batch.clone())?;
        self.probe(side, &prepared, 0..batch.num_rows(), &mut matches)?;
        Ok(matches)
    }

    /// A row of a stream-stream join's `side` (row `r`, from changelog
    /// partition `partition`, key `k` of value `keys[r]`, at `t`, encoded
    /// as `row`), as Kafka Streams joins it: put
    /// into its window store, then joined with the other store's rows
    /// within its window (those the other store still keeps); without a
    /// match an outer side's row is emitted or held (see [`outer`]).
    /// Whether the row entered its window.
    #[allow(clippy::too_many_arguments)]
    fn stream_stream(
        &mut self,
        side: usize,
        (r, partition): (usize, i32),
        k: Vec<u8>,
        keys: &ArrayRef,
        t: i64,
        row: &[u8],
        matches: &mut Vec<Match>,
    ) -> bool {
        let retention = self.retention_ms();
        self.stream_time = self.stream_time.max(t);
        self.observed[side] = self.observed[side].max(t);
        // the store keeps what its retention has not passed
        let stored = t > self.observed[side].saturating_sub(retention);
        if self.outer.is_some() && t == self.stream_time {
            self.emit_closed(side, r, partition, matches);
        }
        let (before, after) = self.join_bounds(side);
        let other = 1 - side;
        let lo = (t - before).max(self.observed[other].saturating_sub(retention) + 1);
        let hi = t + after;
        let mut found = Vec::new();
        if let Some(others) = self.buffers[other].get(&k) {
            for (ts, row) in others.within(lo, hi) {
                let row = Some(RowRef::Encoded(row.into()));
                matches.push(Match::of_input(side, r, row, keys, t.max(ts)));
                found.push(ts);
            }
        }
        if self.outer.is_some() {
            for ts in &found {
                self.matched(side, &k, *ts, partition);
            }
        }
        if found.is_empty() && self.is_outer(side) {
            self.unmatched(side, r, k.clone(), keys, t, row, partition, matches);
        }
        if stored {
            self.buffers[side].entry(k).or_default().push(t, row);
        }
        // expire buffered records now and then, not on every record: a sweep costs
        // as much as the whole buffer
        self.since_sweep += 1;
        if self.since_sweep >= SWEEP_EVERY {
            self.since_sweep = 0;
            self.expire();
        }
        stored
    }

    /// Drops the window rows each store's retention has passed.
    fn expire(&mut self) {
        let retention = self.retention_ms();
        for (side, b) in self.buffers.iter_mut().enumerate() {
            let horizon = self.observed[side]
                .saturating_sub(retention)
                .saturating_add(1);
            b.retain(|_, w| w.expire(horizon));
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn table_table(
        &mut self,
        side: usize,
        k: Vec<u8>,
        key: ArrayRef,
        t: i64,
        row: Row,
        tombstone: bool,
        matches: &mut Vec<Match>,
    ) {
        if tombstone {
            self.tables[side].remove(&k);
        } else {
            self.tables[side].insert(k.clone(), row);
        }
        let l = self.tables[0].get(&k).cloned();
        let r = self.tables[1].get(&k).cloned();
        let present = match self.plan.kind {
            JoinKind::Inner => l.is_some() && r.is_some(),
            JoinKind::Left => l.is_some(),
            JoinKind::Right => r.is_some(),
            JoinKind::Full => l.is_some() || r.is_some(),
        };
        if present {
            self.visible.insert(k);
            matches.push(Match {
                key_row: 0,
                rows: [l.map(RowRef::Held), r.map(RowRef::Held)],
                key,
                ts: t,
                tombstone: false,
                trigger: None,
            });
        } else if self.visible.remove(&k) {
            matches.push(Match {
                key_row: 0,
                rows: [None, None],
                key,
                ts: t,
                tombstone: true,
                trigger: None,
            });
        }
    }

    /// `n` nulls of joined field `field` (of type `ty`).
    fn nulls_of(&self, field: usize, ty: &DataType, n: usize) -> ArrayRef {
        match self.nulls.get(field) {
            Some(nulls) if n <= NULL_ROWS && nulls.data_type() == ty => nulls.slice(0, n),
            _ => new_null_array(ty, n),
        }
    }

    /// Build the joined layout's columns for every match.
    fn assemble(&self, segments: Vec<Segment>) -> Result<RecordBatch, RuntimeError> {
        let schema = self.plan.joined_schema.clone();
        // every match with the input batch (segment) its input rows are in
        let mut inputs: Vec<(RecordBatch, usize)> = Vec::with_capacity(segments.len());
        let mut matches: Vec<(usize, Match)> = Vec::new();
        for (i, segment) in segments.into_iter().enumerate() {
            inputs.push((segment.input, segment.side));
            matches.extend(segment.matches.into_iter().map(|m| (i, m)));
        }
        if matches.is_empty() {
            return Ok(self.empty.clone());
        }
        let widths = [
            self.schemas[0].fields().len(),
            self.schemas[1].fields().len(),
        ];
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(schema.fields().len());
        let mut field = 0;
        for (side, width) in widths.into_iter().enumerate() {
            // held rows are shared between matches (clones of one stored row share
            // their buffers): one interleave source per stored row
            // this side's input batches: sources 1.., after the nulls
            let mut source_of = vec![0; inputs.len()];
            let mut side_inputs: Vec<&RecordBatch> = Vec::new();
            for (i, (batch, s)) in inputs.iter().enumerate() {
                if *s == side {
                    side_inputs.push(batch);
                    source_of[i] = side_inputs.len();
                }
            }
            let first_held = 1 + side_inputs.len();
            let mut held: Vec<&Row> = Vec::new();
            let mut seen: HashMap<*const (), usize> = HashMap::new();
            let mut encoded: Vec<&[u8]> = Vec::new();
            let mut slots: Vec<(usize, usize)> = Vec::with_capacity(matches.len());
            for (segment, m) in &matches {
                slots.push(match &m.rows[side] {
                    None => (0, 0),
                    Some(RowRef::Input(r)) => (source_of[*segment], *r),
                    Some(RowRef::Held(b)) => {
                        let id = std::sync::Arc::as_ptr(b) as *const ();
                        let i = *seen.entry(id).or_insert_with(|| {
                            held.push(b);
                            held.len() - 1
                        });
                        (first_held + i, 0)
                    }
                    Some(RowRef::Encoded(b)) => {
                        encoded.push(b);
                        (usize::MAX, encoded.len() - 1)
                    }
                });
            }
            // the encoded rows, decoded at once: the source after the held rows
            let decoded = match (&self.codecs[side], encoded.is_empty()) {
                (Some(codec), false) => {
                    let parser = codec.converter.parser();
                    let rows = encoded.iter().map(|b| parser.parse(b));
                    Some((codec, codec.converter.convert_rows(rows)?))
                }
                _ => None,
            };
            for slot in slots.iter_mut().filter(|s| s.0 == usize::MAX) {
                slot.0 = first_held + held.len();
            }
            for c in 0..width {
                let ty = schema.field(field).data_type().clone();
                if !carried(&self.plan, widths, side, c) {
                    columns.push(self.nulls_of(field, &ty, matches.len()));
                    field += 1;
                    continue;
                }
                let nulls = self.nulls_of(field, &ty, 1);
                let mut sources: Vec<ArrayRef> = vec![nulls.clone()];
                sources.extend(side_inputs.iter().map(|b| b.column(c).clone()));
                sources.extend(held.iter().map(|b| b.column(c).clone()));
                if let Some((codec, columns)) = &decoded {
                    let at = codec.columns.iter().position(|&x| x == c);
                    sources.push(match at {
                        Some(at) => columns[at].clone(),
                        None => nulls.clone(),
                    });
                }
                let sources: Vec<ArrayRef> = sources
                    .into_iter()
                    .map(|a| {
                        if a.data_type() == &ty {
                            Ok(a)
                        } else {
                            arrow::compute::cast(&a, &ty)
                        }
                    })
                    .collect::<Result<_, _>>()?;
                let refs: Vec<&dyn Array> = sources.iter().map(|a| a.as_ref()).collect();
                columns.push(arrow::compute::interleave(&refs, &slots)?);
                field += 1;
            }
        }
        // keys: rows of a few arrays (the batch's key column, or stored 1-row keys)
        let mut key_sources: Vec<ArrayRef> = Vec::new();
        let mut key_seen: HashMap<*const (), usize> = HashMap::new();
        let key_slots: Vec<(usize, usize)> = matches
            .iter()
            .map(|(_, m)| {
                let id = std::sync::Arc::as_ptr(&m.key) as *const ();
                let i = *key_seen.entry(id).or_insert_with(|| {
                    key_sources.push(m.key.clone());
                    key_sources.len() - 1
                });
                (i, m.key_row)
            })
            .collect();
        let key_refs: Vec<&dyn Array> = key_sources.iter().map(|a| a.as_ref()).collect();
        let key_col = arrow::compute::interleave(&key_refs, &key_slots)?;
        columns.push(if key_col.data_type() == &self.plan.key_type {
            key_col
        } else {
            arrow::compute::cast(&key_col, &self.plan.key_type)?
        });
        columns.push(std::sync::Arc::new(Int64Array::from_iter_values(
            matches.iter().map(|(_, m)| m.ts),
        )));
        let headers_ty = schema.field(field + 2).data_type().clone();
        columns.push(self.joined_headers(&inputs, &matches, &headers_ty)?);
        columns.push(std::sync::Arc::new(BooleanArray::from(
            matches.iter().map(|(_, m)| m.tombstone).collect::<Vec<_>>(),
        )));
        if let Some([l, r]) = self.window_start {
            // the joined key's window: either side's (they match); WINDOWEND
            // follows WINDOWSTART in a windowed source's row layout
            for offset in 0..2 {
                let left = columns[l + offset].as_primitive::<Int64Type>();
                let right = columns[widths[0] + r + offset].as_primitive::<Int64Type>();
                let bound: Int64Array = left
                    .iter()
                    .zip(right.iter())
                    .map(|(a, b)| a.or(b))
                    .collect();
                columns.push(std::sync::Arc::new(bound));
            }
        }
        Ok(RecordBatch::try_new(schema, columns)?)
    }
}

impl JoinOperator {
    /// Each joined row's headers: those of the record that made it (none
    /// when no input record did, or its batch has no headers).
    fn joined_headers(
        &self,
        inputs: &[(RecordBatch, usize)],
        matches: &[(usize, Match)],
        ty: &DataType,
    ) -> Result<ArrayRef, RuntimeError> {
        let empty = || -> Result<ArrayRef, RuntimeError> {
            Ok(match &self.no_headers {
                Some(e) if matches.len() <= NULL_ROWS && e.data_type() == ty => {
                    e.slice(0, matches.len())
                }
                _ => empty_lists(ty, matches.len())?,
            })
        };
        // source 0: one empty list; then each segment's header column
        let mut sources: Vec<ArrayRef> = vec![empty_lists(ty, 1)?];
        let mut source_of: Vec<Option<usize>> = Vec::with_capacity(inputs.len());
        for (batch, _) in inputs {
            let column = batch
                .schema()
                .index_of(RECORD_HEADERS)
                .ok()
                .map(|i| batch.column(i).clone())
                // records without headers (most) need no copying
                .filter(|c| c.data_type() == ty && has_headers(c));
            source_of.push(column.map(|c| {
                sources.push(c);
                sources.len() - 1
            }));
        }
        let slots: Vec<(usize, usize)> = matches
            .iter()
            .map(|(segment, m)| match (m.trigger, source_of[*segment]) {
                (Some(r), Some(source)) => (source, r),
                _ => (0, 0),
            })
            .collect();
        if slots.iter().all(|s| s.0 == 0) {
            return empty();
        }
        let refs: Vec<&dyn Array> = sources.iter().map(|a| a.as_ref()).collect();
        Ok(arrow::compute::interleave(&refs, &slots)?)
    }
}

/// Whether any row of a header column has a header.
fn has_headers(column: &ArrayRef) -> bool {
    match column.as_list_opt::<i32>() {
        Some(lists) => !lists.values().is_empty(),
        None => true,
    }
}

/// Row `r` copied out of its batch, so state keeps one row alive, not the batch.
fn own_row(batch: &RecordBatch, r: usize) -> Result<Row, RuntimeError> {
    let idx = arrow::array::UInt32Array::from(vec![r as u32]);
    Ok(std::sync::Arc::new(arrow::compute::take_record_batch(
        batch, &idx,
    )?))
}

fn empty_lists(ty: &DataType, n: usize) -> Result<ArrayRef, RuntimeError> {
    let DataType::List(item) = ty else {
        return Ok(new_null_array(ty, n));
    };
    Ok(std::sync::Arc::new(arrow::array::ListArray::try_new(
        item.clone(),
        arrow::buffer::OffsetBuffer::new_zeroed(n),
        new_null_array(item.data_type(), 0),
        None,
    )?))
}
