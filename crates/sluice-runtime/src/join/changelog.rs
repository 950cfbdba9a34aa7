//! A join's state as changelog records.
//!
//! Stream-stream: the rows that entered one side's window from one
//! partition during a poll go out as one record (cut at [`RECORD_BYTES`]):
//! its value a format byte, then per row its join key, timestamp and
//! encoded row (`u32` key length, key, `i64` timestamp, `u32` row length,
//! row; little-endian); its key the latest timestamp and a sequence number;
//! its timestamp that latest event time. A record per row (as Kafka Streams
//! logs its window stores) cost the join a third of its rate in allocations
//! and log writes. Rows leave with the changelog's retention (the window,
//! its grace and a day, as Kafka Streams sets it), not tombstones.
//!
//! Tables: a record per change of a table side's row, keyed by the join
//! key's encoding, its value the encoded row (no value: the row was
//! deleted), so the compacted topic keeps each key's latest row.

use arrow::array::{new_null_array, Array, ArrayRef, AsArray, RecordBatch};
use arrow::datatypes::{Field, Int32Type, Schema};
use sluice_planner::catalog::ROWPARTITION;
use sluice_sql::{JoinKind, SourceKind};

use super::{own_row, JoinOperator, Match, RowRef, Segment, SideCodec};
use crate::RuntimeError;

/// The value format of a changelog record of window rows.
const ROWS_V1: u8 = 1;

/// A record is cut once its value reaches this size (well under Kafka's
/// default `max.message.bytes` of 1 MiB).
const RECORD_BYTES: usize = 256 << 10;

/// The [`StoreRecord::store`] of the outer store of rows without a match
/// (after the left and right sides' stores, 0 and 1).
pub const OUTER_STORE: usize = 2;

/// A change of a side's store, to write to that side's changelog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreRecord {
    /// The join's nesting level (0: the last join of an n-way join, 1: the
    /// one before, ...).
    pub level: usize,
    /// 0: the left side's store, 1: the right side's, [`OUTER_STORE`]: the
    /// outer store of rows without a match (see [`super::outer`]).
    pub store: usize,
    pub partition: i32,
    pub key: Vec<u8>,
    /// `None`: a table row was deleted.
    pub value: Option<Vec<u8>>,
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
    /// Per side, the ROWPARTITION columns of its rows (an n-way join's
    /// joined rows have one per source: the first that is not NULL).
    row_partition: [Vec<usize>; 2],
    seq: u32,
    gathering: Vec<Gathering>,
    records: Vec<StoreRecord>,
}

impl Logging {
    /// The changelog partition of row `r` of `batch` (of `side`).
    fn partition(&self, side: usize, batch: &RecordBatch, r: usize) -> i32 {
        if !self.partitioned {
            return 0;
        }
        self.row_partition[side]
            .iter()
            .map(|&c| batch.column(c).as_primitive::<Int32Type>())
            .find(|column| column.is_valid(r))
            .map_or(0, |column| column.value(r))
    }

    /// Turns `g` into a record.
    fn seal(&mut self, g: Gathering) {
        let mut key = Vec::with_capacity(12);
        key.extend_from_slice(&g.ts.to_be_bytes());
        key.extend_from_slice(&self.seq.to_be_bytes());
        self.seq = self.seq.wrapping_add(1);
        self.records.push(StoreRecord {
            level: 0,
            store: g.side,
            partition: g.partition,
            key,
            value: Some(g.value),
            ts: g.ts,
        });
    }
}

impl JoinOperator {
    /// Whether this join's state can be kept in changelogs: its earlier
    /// joins' too. The table an n-way join's earlier table-table joins
    /// make (a foreign-key join's too: ksqlDB takes one as the first join
    /// only) has no changelog: it is made again from theirs (Kafka Streams
    /// reads it through their stores too).
    pub fn supports_changelog(&self) -> bool {
        self.nested.as_ref().is_none_or(|n| n.supports_changelog())
    }

    /// The join at nesting level `level` (0: this one, 1: its earlier
    /// joins, ...).
    fn level_mut(&mut self, level: usize) -> Result<&mut JoinOperator, RuntimeError> {
        match level {
            0 => Ok(self),
            _ => match &mut self.nested {
                Some(n) => n.level_mut(level - 1),
                None => Err(RuntimeError::State(format!(
                    "a join changelog record of nesting level {level} for a join without it"
                ))),
            },
        }
    }

    /// The sides that keep a store: the windows of a stream-stream join's
    /// two streams, the rows of a table (not the stream of a stream-table
    /// join, which only looks the table up).
    pub fn stores(&self) -> [bool; 2] {
        let kinds = [self.plan.left.source.kind, self.plan.right.source.kind];
        let streams = kinds == [SourceKind::Stream, SourceKind::Stream];
        kinds.map(|k| streams || k == SourceKind::Table)
    }

    /// From now on, every row entering a window is kept for
    /// [`JoinOperator::take_store_records`]; `partitioned` as
    /// [`Logging::partitioned`].
    pub fn enable_changelog(&mut self, partitioned: bool) -> Result<(), RuntimeError> {
        if let Some(n) = &mut self.nested {
            n.enable_changelog(partitioned)?;
        }
        // a table side's rows are encoded for its changelog
        for side in 0..2 {
            if self.kind_of(side) == SourceKind::Table && self.codecs[side].is_none() {
                self.codecs[side] = Some(SideCodec::new(&self.plan, &self.schemas, side)?);
            }
        }
        let row_partition = [0, 1].map(|s| {
            let suffix = format!(".{ROWPARTITION}");
            self.schemas[s]
                .fields()
                .iter()
                .enumerate()
                .filter(|(_, f)| f.name() == ROWPARTITION || f.name().ends_with(&suffix))
                .map(|(i, _)| i)
                .collect()
        });
        self.logging = Some(Logging {
            partitioned,
            row_partition,
            seq: 0,
            gathering: Vec::new(),
            records: Vec::new(),
        });
        Ok(())
    }

    /// How long a side's changelog keeps a row: its store's retention (the
    /// join window and its grace period) and a day more (Kafka Streams'
    /// `windowstore.changelog.additional.retention.ms`).
    pub fn changelog_retention_ms(&self) -> i64 {
        self.retention_ms().saturating_add(24 * 3600 * 1000)
    }

    /// The records of the store changes since the last call: rows that
    /// entered the windows, table rows put or deleted.
    /// Those of an n-way join's earlier joins carry their nesting level.
    pub fn take_store_records(&mut self) -> Vec<StoreRecord> {
        let mut records = match &mut self.nested {
            Some(n) => n.take_store_records(),
            None => Vec::new(),
        };
        for r in &mut records {
            r.level += 1;
        }
        if let Some(l) = &mut self.logging {
            for g in std::mem::take(&mut l.gathering) {
                l.seal(g);
            }
            records.append(&mut l.records);
        }
        records
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
        let partition = l.partition(side, batch, r);
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
    pub fn restore_window_rows(
        &mut self,
        level: usize,
        side: usize,
        value: &[u8],
    ) -> Result<(), RuntimeError> {
        self.level_mut(level)?.restore_windows_here(side, value)
    }

    fn restore_windows_here(&mut self, side: usize, value: &[u8]) -> Result<(), RuntimeError> {
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
            self.observed[side] = self.observed[side].max(ts);
        }
        Ok(())
    }

    /// Row `r` of `batch` (of table side `side`) was put under join key
    /// `key` (its encoding) as `row` (`None`: deleted) at `ts`.
    pub(super) fn log_table_row(
        &mut self,
        side: usize,
        batch: &RecordBatch,
        r: usize,
        key: &[u8],
        row: Option<&[u8]>,
        ts: i64,
    ) {
        // a join without changelogs copies nothing
        if self.logging.is_none() {
            return;
        }
        let partition = self.changelog_partition(side, batch, r);
        self.log_store_record(side, partition, key.to_vec(), row.map(<[u8]>::to_vec), ts);
    }

    /// The changelog partition of row `r` of `batch` (of `side`).
    pub(super) fn changelog_partition(&self, side: usize, batch: &RecordBatch, r: usize) -> i32 {
        self.logging
            .as_ref()
            .map_or(0, |l| l.partition(side, batch, r))
    }

    /// A change of store `store` (see [`StoreRecord::store`]), when the
    /// join keeps changelogs.
    pub(super) fn log_store_record(
        &mut self,
        store: usize,
        partition: i32,
        key: Vec<u8>,
        value: Option<Vec<u8>>,
        ts: i64,
    ) {
        if let Some(l) = &mut self.logging {
            l.records.push(StoreRecord {
                level: 0,
                store,
                partition,
                key,
                value,
                ts,
            });
        }
    }

    /// Whether the join holds rows without a match in an outer store (a
    /// left or outer stream-stream join with a GRACE PERIOD).
    pub fn has_outer_store(&self) -> bool {
        self.outer.is_some()
    }

    /// The join at nesting level `level`, as [`JoinOperator::level_mut`].
    pub fn level(&self, level: usize) -> Option<&JoinOperator> {
        match level {
            0 => Some(self),
            _ => self.nested.as_ref()?.level(level - 1),
        }
    }

    /// Puts a record read back from the outer store's changelog into it.
    pub fn restore_outer_record(
        &mut self,
        level: usize,
        partition: i32,
        key: &[u8],
        value: Option<&[u8]>,
    ) -> Result<(), RuntimeError> {
        self.level_mut(level)?.restore_outer(partition, key, value)
    }

    /// Puts the table rows of records read back from `side`'s changelog
    /// (key, encoded row or `None` for a delete, in changelog order) into
    /// its table.
    pub fn restore_table_rows(
        &mut self,
        level: usize,
        side: usize,
        records: Vec<(Vec<u8>, Option<Vec<u8>>)>,
    ) -> Result<(), RuntimeError> {
        self.level_mut(level)?.restore_tables_here(side, records)
    }

    fn restore_tables_here(
        &mut self,
        side: usize,
        records: Vec<(Vec<u8>, Option<Vec<u8>>)>,
    ) -> Result<(), RuntimeError> {
        let rows = self.decode_table_rows(side, &records)?;
        if self.plan.foreign_key && side == 0 {
            return self.restore_left_rows(records, rows);
        }
        let mut put = 0;
        for (key, value) in records {
            if value.is_some() {
                let row = own_row(&rows, put)?;
                put += 1;
                self.tables[side].insert(key, row);
            } else {
                self.tables[side].remove(&key);
            }
        }
        Ok(())
    }

    /// The rows `records` put (those with a value, in order), decoded into
    /// `side`'s row layout.
    fn decode_table_rows(
        &self,
        side: usize,
        records: &[(Vec<u8>, Option<Vec<u8>>)],
    ) -> Result<RecordBatch, RuntimeError> {
        let codec = self.codecs[side].as_ref().ok_or_else(|| {
            RuntimeError::State("a table side restored without its changelog".into())
        })?;
        let parser = codec.converter.parser();
        let puts: Vec<&Vec<u8>> = records.iter().filter_map(|(_, v)| v.as_ref()).collect();
        let decoded = codec
            .converter
            .convert_rows(puts.iter().map(|b| parser.parse(b)))?;
        // the side's row layout, NULL where a column is not carried (no
        // joined row shows it)
        let schema = &self.schemas[side];
        let n = puts.len();
        let columns: Vec<ArrayRef> = (0..schema.fields().len())
            .map(|c| match codec.columns.iter().position(|&x| x == c) {
                Some(at) => decoded[at].clone(),
                None => new_null_array(schema.field(c).data_type(), n),
            })
            .collect();
        let fields: Vec<Field> = schema
            .fields()
            .iter()
            .map(|f| f.as_ref().clone().with_nullable(true))
            .collect();
        Ok(RecordBatch::try_new_with_options(
            std::sync::Arc::new(Schema::new(fields)),
            columns,
            &arrow::array::RecordBatchOptions::new().with_row_count(Some(n)),
        )?)
    }

    /// After a restore: the rows the restored stream time has expired go,
    /// and a table-table join knows again which keys' joined rows it
    /// emitted.
    pub fn finish_restore(&mut self) -> Result<(), RuntimeError> {
        if let Some(n) = &mut self.nested {
            n.finish_restore()?;
        }
        // an n-way join's earlier table-table joins' rows are this join's
        // left table: made again from their restored tables
        if let (Some(n), SourceKind::Table) = (&self.nested, self.kind_of(0)) {
            // (a foreign-key join is only ever the first: ksqlDB's rule)
            let rows = n.joined_table()?;
            let prepared = self.prepare(0, rows)?;
            self.tables[0].clear();
            for r in 0..prepared.batch.num_rows() {
                if prepared.keys.is_valid(r) {
                    let k = prepared.key_rows.row(r).as_ref().to_vec();
                    self.tables[0].insert(k, own_row(&prepared.batch, r)?);
                }
            }
        }
        self.expire();
        if self.plan.foreign_key {
            self.fk_visible_again();
        } else if self.stores() == [true, true] && self.kind_of(0) == SourceKind::Table {
            let [left, right] = &self.tables;
            let keys = left.keys().chain(right.keys());
            self.visible = keys
                .filter(|k| {
                    let (l, r) = (left.contains_key(*k), right.contains_key(*k));
                    match self.plan.kind {
                        JoinKind::Inner => l && r,
                        JoinKind::Left => l,
                        JoinKind::Right => r,
                        JoinKind::Full => l || r,
                    }
                })
                .cloned()
                .collect();
        }
        Ok(())
    }

    /// A table-table join's current joined rows (one per key it shows), in
    /// its joined layout.
    fn joined_table(&self) -> Result<RecordBatch, RuntimeError> {
        if self.plan.foreign_key {
            return self.fk_joined_table();
        }
        let parser = self.converter.parser();
        let mut matches = Vec::with_capacity(self.visible.len());
        for k in &self.visible {
            let key = self
                .converter
                .convert_rows([parser.parse(k)])?
                .into_iter()
                .next()
                .ok_or_else(|| RuntimeError::State("a join key without its value".into()))?;
            let [l, r] = [0, 1].map(|side| self.tables[side].get(k).cloned().map(RowRef::Held));
            matches.push(Match {
                rows: [l, r],
                key_row: 0,
                key,
                ts: 0,
                tombstone: false,
                trigger: None,
            });
        }
        self.assemble(vec![Segment {
            input: RecordBatch::new_empty(self.schemas[0].clone()),
            side: 0,
            matches,
        }])
    }

    /// Forgets every stored row (the task restores them again).
    pub fn clear_stores(&mut self) {
        if let Some(n) = &mut self.nested {
            n.clear_stores();
        }
        for b in self.buffers.iter_mut() {
            b.clear();
        }
        for t in self.tables.iter_mut() {
            t.clear();
        }
        self.left_rows.clear();
        self.references.clear();
        self.visible.clear();
        if let Some(o) = &mut self.outer {
            o.clear();
        }
        self.stream_time = i64::MIN;
        self.observed = [i64::MIN; 2];
        if let Some(l) = &mut self.logging {
            l.gathering.clear();
            l.records.clear();
        }
    }
}
