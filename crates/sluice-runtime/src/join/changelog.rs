//! A stream-stream join's window rows as changelog records. The rows that
//! entered one side's window from one partition during a poll go out as
//! one record (cut at [`RECORD_BYTES`]): its value a format byte, then per
//! row its join key, timestamp and encoded row (`u32` key length, key,
//! `i64` timestamp, `u32` row length, row; little-endian); its key the
//! latest timestamp and a sequence number; its timestamp that latest
//! event time. A record per row (as Kafka Streams logs its window stores)
//! cost the join a third of its rate in allocations and log writes. Rows
//! leave with the changelog's retention (the window, its grace and a day,
//! as Kafka Streams sets it), not tombstones.

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::Int32Type;
use sluice_planner::catalog::ROWPARTITION;

use super::{JoinOperator, DEFAULT_GRACE_MS};
use crate::RuntimeError;

/// The value format of a changelog record of window rows.
const ROWS_V1: u8 = 1;

/// A record is cut once its value reaches this size (well under Kafka's
/// default `max.message.bytes` of 1 MiB).
const RECORD_BYTES: usize = 256 << 10;

/// Rows that entered a side's window, to write to that side's changelog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowRecord {
    /// 0: the left side's store, 1: the right side's.
    pub side: usize,
    pub partition: i32,
    pub key: Vec<u8>,
    pub value: Vec<u8>,
    /// The latest event time of its rows (the record's timestamp).
    pub ts: i64,
}

/// The rows of one side and partition gathered for a record.
struct Gathering {
    side: usize,
    partition: i32,
    value: Vec<u8>,
    ts: i64,
}

/// What a join with changelogs keeps for them.
pub(super) struct Logging {
    /// Whether a row's changelog partition is its input partition (the
    /// join's partitions are processed apart), else 0.
    partitioned: bool,
    /// Per side, the ROWPARTITION column of its rows.
    row_partition: [Option<usize>; 2],
    seq: u32,
    gathering: Vec<Gathering>,
    records: Vec<WindowRecord>,
}

impl Logging {
    /// Turns `g` into a record.
    fn seal(&mut self, g: Gathering) {
        let mut key = Vec::with_capacity(12);
        key.extend_from_slice(&g.ts.to_be_bytes());
        key.extend_from_slice(&self.seq.to_be_bytes());
        self.seq = self.seq.wrapping_add(1);
        self.records.push(WindowRecord {
            side: g.side,
            partition: g.partition,
            key,
            value: g.value,
            ts: g.ts,
        });
    }
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
            gathering: Vec::new(),
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

    /// The records of the rows that entered the windows since the last call.
    pub fn take_window_records(&mut self) -> Vec<WindowRecord> {
        let Some(l) = &mut self.logging else {
            return Vec::new();
        };
        for g in std::mem::take(&mut l.gathering) {
            l.seal(g);
        }
        std::mem::take(&mut l.records)
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
        let at = match l
            .gathering
            .iter()
            .position(|g| g.side == side && g.partition == partition)
        {
            Some(at) => at,
            None => {
                l.gathering.push(Gathering {
                    side,
                    partition,
                    value: vec![ROWS_V1],
                    ts: i64::MIN,
                });
                l.gathering.len() - 1
            }
        };
        let g = &mut l.gathering[at];
        g.value.extend_from_slice(&(key.len() as u32).to_le_bytes());
        g.value.extend_from_slice(key);
        g.value.extend_from_slice(&ts.to_le_bytes());
        g.value.extend_from_slice(&(row.len() as u32).to_le_bytes());
        g.value.extend_from_slice(row);
        g.ts = g.ts.max(ts);
        if g.value.len() >= RECORD_BYTES {
            let g = l.gathering.swap_remove(at);
            l.seal(g);
        }
    }

    /// Puts the rows of a record read back from `side`'s changelog into
    /// its window.
    pub fn restore_window_rows(&mut self, side: usize, value: &[u8]) -> Result<(), RuntimeError> {
        let corrupt =
            |why: &str| RuntimeError::State(format!("unreadable join changelog record: {why}"));
        let Some((&ROWS_V1, mut rest)) = value.split_first() else {
            return Err(corrupt("unknown format"));
        };
        fn take<'a>(rest: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
            let (head, tail) = (rest.get(..n)?, rest.get(n..)?);
            *rest = tail;
            Some(head)
        }
        fn len(rest: &mut &[u8]) -> Option<usize> {
            let b: [u8; 4] = take(rest, 4)?.try_into().ok()?;
            Some(u32::from_le_bytes(b) as usize)
        }
        while !rest.is_empty() {
            let row = (|| {
                let n = len(&mut rest)?;
                let key = take(&mut rest, n)?;
                let ts: [u8; 8] = take(&mut rest, 8)?.try_into().ok()?;
                let n = len(&mut rest)?;
                Some((key, i64::from_le_bytes(ts), take(&mut rest, n)?))
            })();
            let (key, ts, row) = row.ok_or_else(|| corrupt("a row is cut short"))?;
            self.buffers[side]
                .entry(key.to_vec())
                .or_default()
                .push(ts, row);
            self.stream_time = self.stream_time.max(ts);
        }
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
            l.gathering.clear();
            l.records.clear();
        }
    }
}
