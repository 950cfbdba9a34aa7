//! Stream-stream join windows as Kafka Streams keeps them, and the outer
//! store of left and outer joins with an explicit GRACE PERIOD.
//!
//! Each side's window store has its own observed time (the latest timestamp
//! put into it) and keeps what lies within the store's retention (the
//! window before and after, and the grace period) of it; a probe sees only
//! those rows of the other store. Without an explicit GRACE PERIOD ksqlDB
//! builds `JoinWindows.of`, whose grace keeps the retention at 24 hours
//! (`24h - 2 * before`), and a row without a match is emitted at once.
//!
//! With one, ksqlDB builds `JoinWindows.ofTimeDifferenceAndGrace`, which
//! turns on Kafka Streams' fix for spurious left/outer results
//! (KAFKA-10847): a row of an outer side without a match waits in a store
//! shared by both sides, in (timestamp, side, key) order, until its window
//! and grace have closed in stream time, and goes when a later row matches
//! it. A row whose window has already closed when it arrives is emitted at
//! once. Held rows are emitted when a record at the stream time arrives,
//! at most once per `emit.interval.ms.kstreams.outer.join.spurious.results.fix`
//! (1 s) of wall-clock time (see [`WallClock`]). The store is logged
//! to its own compacted changelog (Kafka Streams' `KSTREAM-OUTERSHARED`
//! store): a record per (timestamp, side, key) with the rows held there, no
//! value once they are gone.

use std::collections::BTreeMap;

use arrow::array::ArrayRef;
use sluice_sql::JoinKind;

use super::{JoinOperator, Match, RowRef};
use crate::clock::WallClock;
use crate::RuntimeError;

/// Kafka Streams' default grace of `JoinWindows.of`, less both windows.
const DEFAULT_RETENTION_MS: i64 = 24 * 3600 * 1000;

/// How often held rows are looked at (Kafka Streams' default of its
/// internal `emit.interval.ms.kstreams.outer.join.spurious.results.fix`).
const EMIT_INTERVAL_MS: i64 = 1000;

/// A row held until its window closes.
pub(super) struct Held {
    side: usize,
    key: ArrayRef,
    row: Box<[u8]>,
    /// The changelog partition it was logged to (its going is logged there).
    partition: i32,
}

/// The place of held rows in the store: (timestamp, side flag, key).
type Entry = (i64, u8, Vec<u8>);

/// An entry as its changelog record's key: timestamp (big-endian), side
/// flag, key.
fn entry_bytes((ts, flag, k): &Entry) -> Vec<u8> {
    let mut out = Vec::with_capacity(9 + k.len());
    out.extend_from_slice(&ts.to_be_bytes());
    out.push(*flag);
    out.extend_from_slice(k);
    out
}

/// Rows of outer sides without a match yet (Kafka Streams'
/// `KSTREAM-OUTERSHARED` store and its shared time tracker).
pub(super) struct OuterStore {
    /// By timestamp, then side (Kafka Streams' right side first), then key:
    /// the store's order.
    held: BTreeMap<Entry, Vec<Held>>,
    /// Kafka Streams' `minTime`: the earliest held timestamp since the last
    /// look, or the last looked at.
    min_time: i64,
    next_emit: i64,
    clock: WallClock,
}

impl OuterStore {
    pub(super) fn new() -> Self {
        OuterStore {
            held: BTreeMap::new(),
            min_time: i64::MAX,
            next_emit: 0,
            clock: WallClock::System,
        }
    }

    fn set_clock(&mut self, clock: WallClock) {
        self.clock = clock;
    }

    pub(super) fn clear(&mut self) {
        self.held.clear();
        self.min_time = i64::MAX;
    }

    pub(super) fn state_bytes(&self) -> usize {
        self.held
            .iter()
            .map(|((_, _, k), rows)| k.len() + rows.iter().map(|h| h.row.len() + 64).sum::<usize>())
            .sum()
    }
}

impl JoinOperator {
    /// Held rows are looked at by this clock (the nested joins' too).
    pub fn set_clock(&mut self, clock: WallClock) {
        if let Some(outer) = &mut self.outer {
            outer.set_clock(clock);
        }
        if let Some(nested) = &mut self.nested {
            nested.set_clock(clock);
        }
    }

    /// The side Kafka Streams joins from: the right stream of a RIGHT join
    /// (ksqlDB runs it as the right stream's left join), else the left.
    fn kafka_left(&self) -> usize {
        usize::from(self.plan.kind == JoinKind::Right)
    }

    /// How far before and after its own timestamp a row of `side` looks
    /// for rows of the other side.
    pub(super) fn join_bounds(&self, side: usize) -> (i64, i64) {
        let (before, after) = self.plan.within.unwrap_or((0, 0));
        if side == self.kafka_left() {
            (before, after)
        } else {
            (after, before)
        }
    }

    /// The grace period: the given one, else what `JoinWindows.of` keeps.
    pub(super) fn grace_ms(&self) -> i64 {
        let (before, _) = self.plan.within.unwrap_or((0, 0));
        self.plan
            .grace_ms
            .unwrap_or_else(|| (DEFAULT_RETENTION_MS - 2 * before).max(0))
    }

    /// How long a window store keeps a row past its observed time.
    pub(super) fn retention_ms(&self) -> i64 {
        let (before, after) = self.plan.within.unwrap_or((0, 0));
        before.saturating_add(after).saturating_add(self.grace_ms())
    }

    /// Whether rows of `side` without a match are emitted (with NULLs for
    /// the other side).
    pub(super) fn is_outer(&self, side: usize) -> bool {
        match self.plan.kind {
            JoinKind::Inner => false,
            JoinKind::Full => true,
            JoinKind::Left | JoinKind::Right => side == self.kafka_left(),
        }
    }

    /// The outer store's order of sides: Kafka Streams' left side after its right.
    fn side_flag(&self, side: usize) -> u8 {
        u8::from(side == self.kafka_left())
    }

    /// A row of `side` matched the other side's rows of key `k` at `ts`:
    /// they are no longer waiting for a match.
    pub(super) fn matched(&mut self, side: usize, k: &[u8], ts: i64, partition: i32) {
        let entry = (ts, self.side_flag(1 - side), k.to_vec());
        let removed = self.outer.as_mut().and_then(|o| o.held.remove(&entry));
        if let Some(rows) = removed {
            self.log_outer(&entry, rows.first().map_or(partition, |h| h.partition));
        }
    }

    /// The changelog record of `entry` as the store holds it now.
    fn log_outer(&mut self, entry: &Entry, partition: i32) {
        let Some(outer) = &self.outer else {
            return;
        };
        let value = outer.held.get(entry).map(|rows| {
            let mut value = vec![u8::try_from(rows[0].side).unwrap_or(0)];
            for held in rows {
                value.extend_from_slice(&(held.row.len() as u32).to_le_bytes());
                value.extend_from_slice(&held.row);
            }
            value
        });
        self.log_store_record(
            super::OUTER_STORE,
            partition,
            entry_bytes(entry),
            value,
            entry.0,
        );
    }

    /// Puts a record read back from the outer store's changelog (key and
    /// value as [`JoinOperator::log_outer`] wrote them) into the store.
    pub(super) fn restore_outer(
        &mut self,
        partition: i32,
        key: &[u8],
        value: Option<&[u8]>,
    ) -> Result<(), RuntimeError> {
        let corrupt = |why: &str| {
            RuntimeError::State(format!("unreadable outer join changelog record: {why}"))
        };
        if key.len() < 9 {
            return Err(corrupt("a key is cut short"));
        }
        let ts = i64::from_be_bytes(key[..8].try_into().expect("eight bytes"));
        let entry = (ts, key[8], key[9..].to_vec());
        let rows = match value {
            None => None,
            Some(value) => {
                let (&side, mut rest) = value.split_first().ok_or_else(|| corrupt("no side"))?;
                let key_value = self
                    .converter
                    .convert_rows([self.converter.parser().parse(&entry.2)])?
                    .into_iter()
                    .next()
                    .ok_or_else(|| corrupt("no key"))?;
                let mut rows = Vec::new();
                while !rest.is_empty() {
                    let n = rest
                        .get(..4)
                        .map(|b| u32::from_le_bytes(b.try_into().expect("four bytes")) as usize)
                        .ok_or_else(|| corrupt("a row is cut short"))?;
                    let row = rest
                        .get(4..4 + n)
                        .ok_or_else(|| corrupt("a row is cut short"))?;
                    rows.push(Held {
                        side: usize::from(side),
                        key: key_value.clone(),
                        row: row.into(),
                        partition,
                    });
                    rest = &rest[4 + n..];
                }
                Some(rows)
            }
        };
        if let Some(outer) = &mut self.outer {
            match rows {
                Some(rows) => outer.held.insert(entry, rows),
                None => outer.held.remove(&entry),
            };
        }
        Ok(())
    }

    /// Row `r` of `side` (key `k`, its key value `keys[r]`, at `t`, encoded
    /// as `row`) found no match: emitted at once when the join has no outer
    /// store or the row's window has closed already, else held.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn unmatched(
        &mut self,
        side: usize,
        r: usize,
        k: Vec<u8>,
        keys: &ArrayRef,
        t: i64,
        row: &[u8],
        partition: i32,
        matches: &mut Vec<Match>,
    ) {
        let (_, after) = self.join_bounds(side);
        let entry = (t, self.side_flag(side), k);
        match &mut self.outer {
            Some(outer) if t.saturating_add(after) >= self.stream_time => {
                outer.min_time = outer.min_time.min(t);
                outer.held.entry(entry.clone()).or_default().push(Held {
                    side,
                    key: keys.slice(r, 1),
                    row: row.into(),
                    partition,
                });
                self.log_outer(&entry, partition);
            }
            _ => matches.push(Match::of_input(side, r, None, keys, t)),
        }
    }

    /// A row of `side` at the stream time arrived (row `r` of the batch
    /// being joined): held rows whose window and grace have closed are
    /// emitted with NULLs for the other side, as Kafka Streams'
    /// `emitNonJoinedOuterRecords` does.
    pub(super) fn emit_closed(
        &mut self,
        side: usize,
        r: usize,
        partition: i32,
        matches: &mut Vec<Match>,
    ) {
        let (_, after) = self.join_bounds(side);
        let grace = self.grace_ms();
        let (before_left, after_left) = self.plan.within.unwrap_or((0, 0));
        let stream_time = self.stream_time;
        let Some(outer) = &mut self.outer else {
            return;
        };
        // Java's long arithmetic: an empty store's MAX wraps around
        if outer.min_time.wrapping_add(after).wrapping_add(grace) >= stream_time {
            return;
        }
        let now = outer.clock.now_ms();
        if now < outer.next_emit {
            return;
        }
        outer.next_emit = now.saturating_add(EMIT_INTERVAL_MS);
        outer.min_time = i64::MAX;
        let mut open = [false, false];
        let mut emitted = Vec::new();
        for (entry, rows) in &outer.held {
            if open[0] && open[1] {
                break;
            }
            let (ts, flag, _) = entry;
            outer.min_time = *ts;
            // a Kafka-left row looks forward by the window's after, a
            // Kafka-right row by its before
            let look = if *flag == 1 { after_left } else { before_left };
            if ts.wrapping_add(look).wrapping_add(grace) >= stream_time {
                open[usize::from(*flag)] = true;
                continue;
            }
            emitted.push((
                entry.clone(),
                rows.first().map_or(partition, |h| h.partition),
            ));
            for held in rows {
                let mut rows: [Option<RowRef>; 2] = [None, None];
                rows[held.side] = Some(RowRef::Encoded(held.row.clone()));
                matches.push(Match {
                    rows,
                    key_row: 0,
                    key: held.key.clone(),
                    ts: *ts,
                    tombstone: false,
                    trigger: Some(r),
                });
            }
        }
        for (entry, _) in &emitted {
            outer.held.remove(entry);
        }
        for (entry, logged_to) in &emitted {
            self.log_outer(entry, *logged_to);
        }
    }
}
