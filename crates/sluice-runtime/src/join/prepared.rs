//! A side's batch made ready for probing (keys, their row encoding, times,
//! tombstones, window rows), and probing its rows in order. Rows of a
//! source often reach the join a few at a time, interleaved with the other
//! source's (ordered by time): [`JoinOperator::push_rows`] prepares the
//! batch they were read in once and probes each run of its rows.

use std::ops::Range;

use arrow::array::{Array, ArrayRef, AsArray, BooleanArray, PrimitiveArray, RecordBatch};
use arrow::datatypes::Int64Type;
use arrow::row::Rows;
use sluice_planner::catalog::{ROWTIME, TOMBSTONE};
use sluice_planner::join::JOIN_KEY;
use sluice_sql::{JoinKind, SourceKind};

use super::{own_row, JoinOperator, Match, RowRef, Segment};
use crate::RuntimeError;

/// How many prepared batches a side keeps.
const PREPARED_KEPT: usize = 8;

/// One side's rows, evaluated for the join.
pub(super) struct Prepared {
    pub(super) batch: RecordBatch,
    pub(super) keys: ArrayRef,
    pub(super) key_rows: Rows,
    pub(super) ts: PrimitiveArray<Int64Type>,
    pub(super) tomb: BooleanArray,
    /// The rows as a side keeps them (window rows, or a table side's rows
    /// for its changelog), encoded for the whole batch.
    pub(super) encoded: Option<Rows>,
}

impl JoinOperator {
    pub(super) fn prepare(
        &self,
        side: usize,
        batch: RecordBatch,
    ) -> Result<Prepared, RuntimeError> {
        let n = batch.num_rows();
        let key_expr = if side == 0 {
            &self.plan.left.key
        } else {
            &self.plan.right.key
        };
        let keys = key_expr.evaluate(&batch)?.into_array(n)?;
        let keys = if keys.data_type() == &self.plan.key_type {
            keys
        } else {
            arrow::compute::cast(&keys, &self.plan.key_type)?
        };
        let keys = if side == 0 && self.plan.nested_keyed {
            self.deleted_joined_keys(&batch, keys)?
        } else {
            keys
        };
        let key_rows = match self.window_start {
            // windowed keys match with their window
            Some(ws) => {
                let mut columns = vec![keys.clone(), batch.column(ws[side]).clone()];
                if self.session_keys {
                    columns.push(batch.column(ws[side] + 1).clone());
                }
                self.converter.convert_columns(&columns)?
            }
            None => self
                .converter
                .convert_columns(std::slice::from_ref(&keys))?,
        };
        let schema = batch.schema();
        let ts = batch
            .column(schema.index_of(ROWTIME)?)
            .as_primitive::<Int64Type>()
            .clone();
        let tomb = batch
            .column(schema.index_of(TOMBSTONE)?)
            .as_boolean()
            .clone();
        let encoded = match &self.codecs[side] {
            Some(codec) => {
                let columns: Vec<ArrayRef> = codec
                    .columns
                    .iter()
                    .map(|&c| batch.column(c).clone())
                    .collect();
                Some(codec.converter.convert_columns(&columns)?)
            }
            None => None,
        };
        Ok(Prepared {
            batch,
            keys,
            key_rows,
            ts,
            tomb,
            encoded,
        })
    }

    /// An n-way join's earlier joins' deletes carry only their key (the
    /// joined layout's `$JOINKEY`): this join, keyed by the same
    /// expression, takes it for the key its left expression cannot find.
    fn deleted_joined_keys(
        &self,
        batch: &RecordBatch,
        keys: ArrayRef,
    ) -> Result<ArrayRef, RuntimeError> {
        let schema = batch.schema();
        let (Ok(joined), Ok(tomb)) = (schema.index_of(JOIN_KEY), schema.index_of(TOMBSTONE)) else {
            return Ok(keys);
        };
        if keys.null_count() == 0 {
            return Ok(keys);
        }
        let missing = arrow::compute::and(
            &arrow::compute::is_null(&keys)?,
            batch.column(tomb).as_boolean(),
        )?;
        if missing.true_count() == 0 {
            return Ok(keys);
        }
        let joined = arrow::compute::cast(batch.column(joined), &self.plan.key_type)?;
        Ok(arrow::compute::kernels::zip::zip(&missing, &joined, &keys)?)
    }

    /// Joins rows `range` of a prepared batch of `side`, in order.
    pub(super) fn probe(
        &mut self,
        side: usize,
        prepared: &Prepared,
        range: Range<usize>,
        matches: &mut Vec<Match>,
    ) -> Result<(), RuntimeError> {
        let Prepared {
            batch,
            keys,
            key_rows: rows,
            ts,
            tomb,
            encoded,
        } = prepared;
        for r in range {
            if keys.is_null(r) {
                continue;
            }
            let t = if ts.is_valid(r) { ts.value(r) } else { 0 };
            // the stream side of a stream-table join only looks the table up
            let lookup_only = self.kind_of(side) == SourceKind::Stream
                && self.kind_of(1 - side) == SourceKind::Table;
            if lookup_only {
                if !tomb.value(r) {
                    let other = self.tables[1 - side].get(rows.row(r).as_ref()).cloned();
                    if other.is_some() || self.plan.kind == JoinKind::Left {
                        matches.push(Match::of_input(side, r, other.map(RowRef::Held), keys, t));
                    }
                }
                continue;
            }
            let k = rows.row(r).as_ref().to_vec();
            if let (SourceKind::Stream, SourceKind::Stream) =
                (self.plan.left.source.kind, self.plan.right.source.kind)
            {
                if let (false, Some(e)) = (tomb.value(r), &encoded) {
                    let row = e.row(r);
                    let partition = self.changelog_partition(side, batch, r);
                    let at = (r, partition);
                    if self.stream_stream(side, at, k, keys, t, row.as_ref(), matches) {
                        // the key's encoding is still `rows`' row r
                        self.log_window_row(side, batch, r, rows.row(r).as_ref(), t, row.as_ref());
                    }
                }
                continue;
            }
            let key = keys.slice(r, 1);
            // rows kept in state are copied out of the batch
            let row = own_row(batch, r)?;
            // the table's changelog takes the row as stored (no row: deleted)
            let stored = match (tomb.value(r), encoded) {
                (false, Some(e)) => Some(e.row(r)),
                _ => None,
            };
            self.log_table_row(side, batch, r, &k, stored.as_ref().map(|s| s.as_ref()), t);
            match (self.plan.left.source.kind, self.plan.right.source.kind) {
                (SourceKind::Table, SourceKind::Table) => {
                    let before = matches.len();
                    self.table_table(side, k, key, t, row, tomb.value(r), matches);
                    for m in &mut matches[before..] {
                        m.trigger = Some(r);
                    }
                }
                // the table side of a stream-table join: updates state only
                _ => {
                    if tomb.value(r) {
                        self.tables[side].remove(&k);
                    } else {
                        self.tables[side].insert(k, row);
                    }
                }
            }
        }
        Ok(())
    }

    /// Joins rows `range` of `batch`, which source `input` was read in
    /// (later calls may pass the same batch with the rows after): the batch
    /// is evaluated once, not for every run of rows. Results wait for
    /// [`JoinOperator::flush`], as with [`JoinOperator::push`].
    pub fn push_rows(
        &mut self,
        input: usize,
        batch: &RecordBatch,
        range: Range<usize>,
    ) -> Result<(), RuntimeError> {
        // an n-way join's earlier sources go through its nested joins, and
        // a foreign-key join keys its rows its own way
        if self.plan.foreign_key || (input + 1 < self.inputs && self.nested.is_some()) {
            return self.push(input, &batch.slice(range.start, range.len()));
        }
        let side = usize::from(input + 1 == self.inputs);
        let same = |p: &Prepared| same_batch(&p.batch, batch);
        let prepared = match self.prepared[side].iter().position(same) {
            Some(i) => self.prepared[side].remove(i),
            None => self.prepare(side, batch.clone())?,
        };
        let mut matches = Vec::new();
        let probed = self.probe(side, &prepared, range, &mut matches);
        if !matches.is_empty() {
            // matches of the same batch and side make one segment
            match self.pending.last_mut() {
                Some(s) if s.side == side && same_batch(&s.input, &prepared.batch) => {
                    s.matches.extend(matches)
                }
                _ => self.pending.push(Segment {
                    input: prepared.batch.clone(),
                    side,
                    matches,
                }),
            }
        }
        // the batches of a few partitions stay prepared (a source's
        // partitions take turns)
        if self.prepared[side].len() >= PREPARED_KEPT {
            self.prepared[side].remove(0);
        }
        self.prepared[side].push(prepared);
        probed
    }
}

fn same_batch(a: &RecordBatch, b: &RecordBatch) -> bool {
    a.num_rows() == b.num_rows()
        && a.num_columns() > 0
        && std::sync::Arc::ptr_eq(a.column(0), b.column(0))
}
