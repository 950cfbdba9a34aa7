//! A stream-stream join's window rows as changelog records, as Kafka
//! Streams logs its join window stores: one record per row entering a
//! side's window, keyed by the join key, the row's timestamp and a sequence
//! number (`key ++ ts (8 bytes, big-endian) ++ seq (4 bytes)`, the layout of
//! Kafka Streams' window-store changelog keys), the value the row in the
//! side's window encoding. Rows leave with the changelog's retention (the
//! window, its grace and a day, as Kafka Streams sets it), not tombstones.

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::Int32Type;
use sluice_planner::catalog::ROWPARTITION;

use super::{JoinOperator, DEFAULT_GRACE_MS};
use crate::RuntimeError;

/// Bytes after the join key in a changelog key.
const SUFFIX: usize = 8 + 4;

/// One row that entered a side's window, to write to that side's changelog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowRecord {
    /// 0: the left side's store, 1: the right side's.
    pub side: usize,
    pub partition: i32,
    pub key: Vec<u8>,
    pub value: Vec<u8>,
    /// The row's event time (the changelog record's timestamp).
    pub ts: i64,
}

/// What a join with changelogs keeps for them.
pub(super) struct Logging {
    /// Whether a row's changelog partition is its input partition (the
    /// join's partitions are processed apart), else 0.
    partitioned: bool,
    /// Per side, the ROWPARTITION column of its rows.
    row_partition: [Option<usize>; 2],
    seq: u32,
    records: Vec<WindowRecord>,
}

impl JoinOperator {
    /// Whether this join's state can be kept in changelogs: a two-way
    /// stream-stream join, whose state is its two window stores.
    pub fn supports_changelog(&self) -> bool {
        self.nested.is_none() && self.codecs.iter().all(Option::is_some)
    }

    /// From now on, every row entering a window is kept for
    /// [`JoinOperator::take_window_records`]; `partitioned` as
    /// [`Logging::partitioned`].
    pub fn enable_changelog(&mut self, partitioned: bool) {
        let row_partition = [0, 1].map(|s| self.schemas[s].index_of(ROWPARTITION).ok());
        self.logging = Some(Logging {
            partitioned,
            row_partition,
            seq: 0,
            records: Vec::new(),
        });
    }

    /// How long a side's changelog keeps a row: the join window, its grace
    /// period (24 hours unless given) and a day more (Kafka Streams'
    /// `windowstore.changelog.additional.retention.ms`).
    pub fn changelog_retention_ms(&self) -> i64 {
        let (before, after) = self.plan.within.unwrap_or((0, 0));
        let grace = self.plan.grace_ms.unwrap_or(DEFAULT_GRACE_MS);
        before
            .saturating_add(after)
            .saturating_add(grace)
            .saturating_add(24 * 3600 * 1000)
    }

    /// The rows that entered the windows since the last call.
    pub fn take_window_records(&mut self) -> Vec<WindowRecord> {
        self.logging
            .as_mut()
            .map(|l| std::mem::take(&mut l.records))
            .unwrap_or_default()
    }

    /// Row `r` of `batch` (of `side`) entered its window under join key
    /// `key` (its row encoding) at `ts`, encoded as `row`.
    pub(super) fn log_window_row(
        &mut self,
        side: usize,
        batch: &RecordBatch,
        r: usize,
        key: &[u8],
        ts: i64,
        row: &[u8],
    ) {
        let Some(l) = &mut self.logging else {
            return;
        };
        let partition = match (l.partitioned, l.row_partition[side]) {
            (true, Some(c)) => {
                let column = batch.column(c).as_primitive::<Int32Type>();
                if column.is_valid(r) {
                    column.value(r)
                } else {
                    0
                }
            }
            _ => 0,
        };
        let mut k = Vec::with_capacity(key.len() + SUFFIX);
        k.extend_from_slice(key);
        k.extend_from_slice(&ts.to_be_bytes());
        k.extend_from_slice(&l.seq.to_be_bytes());
        l.seq = l.seq.wrapping_add(1);
        l.records.push(WindowRecord {
            side,
            partition,
            key: k,
            value: row.to_vec(),
            ts,
        });
    }

    /// Puts a row read back from `side`'s changelog into its window.
    pub fn restore_window_row(
        &mut self,
        side: usize,
        key: &[u8],
        value: &[u8],
    ) -> Result<(), RuntimeError> {
        if key.len() < SUFFIX {
            return Err(RuntimeError::State(format!(
                "unreadable join changelog record: a key of {} bytes",
                key.len()
            )));
        }
        let (k, suffix) = key.split_at(key.len() - SUFFIX);
        let mut ts = [0u8; 8];
        ts.copy_from_slice(&suffix[..8]);
        let ts = i64::from_be_bytes(ts);
        self.buffers[side]
            .entry(k.to_vec())
            .or_default()
            .push(ts, value);
        self.stream_time = self.stream_time.max(ts);
        Ok(())
    }

    /// After a restore: the rows the restored stream time has expired go.
    pub fn finish_restore(&mut self) {
        self.expire();
    }

    /// Forgets every window row (the task restores them again).
    pub fn clear_windows(&mut self) {
        for b in self.buffers.iter_mut() {
            b.clear();
        }
        self.stream_time = i64::MIN;
        if let Some(l) = &mut self.logging {
            l.records.clear();
        }
    }
}
