//! Time order across a task's partitions and sources, as Kafka Streams'
//! `PartitionGroup` keeps it: of the records a task has read and not yet
//! processed, the next one is the head of the partition whose head has the
//! smallest timestamp (ties: the earlier source, then the lower partition).
//! Within a partition records stay in offset order. A partition that has
//! more records in the log but none read is waited for (read again) before
//! any later record elsewhere is processed; a partition the log has nothing
//! more for is not (Kafka Streams' `max.task.idle.ms` of 0, its default).
//!
//! Rows are picked one at a time but processed in groups: consecutive picks
//! from one source become one batch (its rows interleaved across partitions
//! in pick order), so an operator sees exactly the sequence Kafka Streams
//! would feed it, in as few calls as the interleaving allows.

use arrow::array::{AsArray, RecordBatch};
use arrow::datatypes::Int64Type;

use crate::RuntimeError;

/// Rows read from one partition and not processed yet.
pub(crate) struct Pending {
    batch: RecordBatch,
    rowtime: usize,
    offset: usize,
    /// The next row to process.
    next: usize,
    /// The offset after the last record read (past any the reader skipped).
    end_offset: i64,
}

impl Pending {
    /// `batch` in a source's row layout (ROWTIME and ROWOFFSET columns).
    pub(crate) fn new(batch: RecordBatch, end_offset: i64) -> Result<Self, RuntimeError> {
        let schema = batch.schema();
        Ok(Pending {
            rowtime: schema.index_of(sluice_planner::catalog::ROWTIME)?,
            offset: schema.index_of(sluice_planner::catalog::ROWOFFSET)?,
            batch,
            next: 0,
            end_offset,
        })
    }

    pub(crate) fn remaining(&self) -> usize {
        self.batch.num_rows() - self.next
    }

    fn time_at(&self, row: usize) -> i64 {
        self.batch
            .column(self.rowtime)
            .as_primitive::<Int64Type>()
            .value(row)
    }

    fn offset_at(&self, row: usize) -> i64 {
        self.batch
            .column(self.offset)
            .as_primitive::<Int64Type>()
            .value(row)
    }

    /// Where the partition's consumer stands: the first unprocessed row's
    /// offset, or past everything read.
    pub(crate) fn commit_offset(&self) -> i64 {
        if self.remaining() > 0 {
            self.offset_at(self.next)
        } else {
            self.end_offset
        }
    }
}

/// What a task holds for one partition of one of its sources.
#[derive(Default)]
pub(crate) struct Slot {
    pub(crate) pending: Option<Pending>,
    /// The last read found nothing more in the log: the merge need not wait
    /// for this partition.
    pub(crate) caught_up: bool,
    /// Records before this offset are replayed to rebuild state, their
    /// output dropped.
    pub(crate) replay_until: i64,
    /// The offset last committed (never committed lower: a replay reads
    /// below it).
    committed: i64,
}

impl Slot {
    /// A partition read from `committed` on (records before it, if read,
    /// are a replay).
    pub(crate) fn starting_at(committed: i64) -> Self {
        Slot {
            replay_until: committed,
            committed,
            ..Slot::default()
        }
    }

    pub(crate) fn remaining(&self) -> usize {
        self.pending.as_ref().map_or(0, Pending::remaining)
    }

    /// The batch the partition's rows were read in.
    pub(crate) fn batch(&self) -> Option<&RecordBatch> {
        self.pending.as_ref().map(|p| &p.batch)
    }

    /// Where the partition stands, when that is past its last commit.
    pub(crate) fn uncommitted(&self) -> Option<i64> {
        let at = self.pending.as_ref()?.commit_offset();
        (at > self.committed).then_some(at)
    }

    /// Takes every row read and not processed yet, but those replayed
    /// (read again below `replay_until`, already handled once).
    pub(crate) fn take_new_rows(&mut self) -> Option<RecordBatch> {
        let replay_until = self.replay_until;
        let pending = self.pending.as_mut().filter(|p| p.remaining() > 0)?;
        let mut first = pending.next;
        let end = pending.batch.num_rows();
        while first < end && pending.offset_at(first) < replay_until {
            first += 1;
        }
        pending.next = end;
        (first < end).then(|| pending.batch.slice(first, end - first))
    }

    /// The offset last committed.
    pub(crate) fn committed(&self) -> i64 {
        self.committed
    }

    pub(crate) fn mark_committed(&mut self) {
        if let Some(at) = self.uncommitted() {
            self.committed = at;
        }
    }
}

/// Rows of one source to process together, and whether they are replayed.
pub(crate) struct Group {
    pub(crate) input: usize,
    /// How many rows.
    pub(crate) len: usize,
    /// The rows, when they were gathered from several partitions (else
    /// they are a run of `origin`'s batch, sliced only when asked for:
    /// a join handed one record at a time uses the batch itself).
    gathered: Option<RecordBatch>,
    pub(crate) replaying: bool,
    /// When the rows are one run of one partition's read batch: the
    /// partition and the run's first row in that batch (see
    /// [`Slot::batch`]).
    pub(crate) origin: Option<(usize, usize)>,
}

impl Group {
    /// The group's rows (`slots` as [`next_group`] was given them).
    pub(crate) fn rows(&self, slots: &[Vec<Slot>]) -> Result<RecordBatch, RuntimeError> {
        if let Some(rows) = &self.gathered {
            return Ok(rows.clone());
        }
        self.origin
            .and_then(|(p, first)| Some(slots[self.input][p].batch()?.slice(first, self.len)))
            .ok_or_else(|| RuntimeError::Plan("a group's rows are gone".into()))
    }
}

/// The next group of rows in time order from `slots[input][partition]`, or
/// `None` when nothing may be processed before reading again (a partition
/// that may hold more records has run out of read ones) or nothing is left.
/// With `ordered` false (a stateless query, where order across partitions
/// changes nothing) a group is simply the rest of one partition's rows.
pub(crate) fn next_group(
    slots: &mut [Vec<Slot>],
    ordered: bool,
) -> Result<Option<Group>, RuntimeError> {
    if !ordered {
        for (input, partitions) in slots.iter_mut().enumerate() {
            for (partition, slot) in partitions.iter_mut().enumerate() {
                if slot.remaining() == 0 {
                    continue;
                }
                let pending = slot.pending.as_mut().expect("rows remain");
                let first = pending.offset_at(pending.next);
                let replaying = first < slot.replay_until;
                // a replay ends at its boundary: what follows is new
                let mut n = pending.remaining();
                if replaying {
                    n = (pending.next..pending.next + n)
                        .take_while(|r| pending.offset_at(*r) < slot.replay_until)
                        .count();
                }
                let origin = Some((partition, pending.next));
                pending.next += n;
                return Ok(Some(Group {
                    input,
                    len: n,
                    gathered: None,
                    replaying,
                    origin,
                }));
            }
        }
        return Ok(None);
    }
    let mut picks: Vec<(usize, usize)> = Vec::new();
    let mut group: Option<(usize, bool)> = None;
    loop {
        // every partition that may have more must have rows to compare
        let waiting = slots
            .iter()
            .flatten()
            .any(|s| s.remaining() == 0 && !s.caught_up);
        if waiting {
            break;
        }
        let Some((input, partition)) = head(slots) else {
            break;
        };
        let slot = &slots[input][partition];
        let pending = slot.pending.as_ref().expect("a head");
        let replaying = pending.offset_at(pending.next) < slot.replay_until;
        match group {
            None => group = Some((input, replaying)),
            Some(g) if g != (input, replaying) => break,
            Some(_) => {}
        }
        picks.push((partition, pending.next));
        slots[input][partition]
            .pending
            .as_mut()
            .expect("a head")
            .next += 1;
    }
    let Some((input, replaying)) = group else {
        return Ok(None);
    };
    let origin = picks
        .first()
        .filter(|(p, _)| picks.iter().all(|(q, _)| q == p))
        .copied();
    let gathered = match origin {
        Some(_) => None,
        None => Some(gather(&slots[input], &picks)?),
    };
    Ok(Some(Group {
        input,
        len: picks.len(),
        gathered,
        replaying,
        origin,
    }))
}

/// The slot whose next row has the smallest timestamp (ties: lower source,
/// then lower partition). Rows a restarted task replays come before any
/// new row: they were all processed before the restart, the new ones not
/// (a task replaying only some of its inputs, such as a stream-table
/// join's table, rebuilds its state before going on).
fn head(slots: &[Vec<Slot>]) -> Option<(usize, usize)> {
    let mut best: Option<((bool, i64), usize, usize)> = None;
    for (input, partitions) in slots.iter().enumerate() {
        for (partition, slot) in partitions.iter().enumerate() {
            let Some(p) = slot.pending.as_ref().filter(|p| p.remaining() > 0) else {
                continue;
            };
            let new = p.offset_at(p.next) >= slot.replay_until;
            let at = (new, p.time_at(p.next));
            if best.is_none_or(|(b, _, _)| at < b) {
                best = Some((at, input, partition));
            }
        }
    }
    best.map(|(_, i, p)| (i, p))
}

/// The picked rows of several partitions of one source, in pick order, as one batch.
fn gather(partitions: &[Slot], picks: &[(usize, usize)]) -> Result<RecordBatch, RuntimeError> {
    let used: Vec<usize> = {
        let mut u: Vec<usize> = picks.iter().map(|(p, _)| *p).collect();
        u.sort_unstable();
        u.dedup();
        u
    };
    let batches: Vec<&RecordBatch> = used
        .iter()
        .map(|p| &partitions[*p].pending.as_ref().expect("picked").batch)
        .collect();
    let indices: Vec<(usize, usize)> = picks
        .iter()
        .map(|(p, row)| (used.binary_search(p).expect("used"), *row))
        .collect();
    Ok(arrow::compute::interleave_record_batch(&batches, &indices)?)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Int64Array, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};

    use super::*;

    fn rows(name: &str, times: &[i64], first_offset: i64) -> Pending {
        let schema = Arc::new(Schema::new(vec![
            Field::new("NAME", DataType::Utf8, false),
            Field::new("ROWTIME", DataType::Int64, false),
            Field::new("ROWOFFSET", DataType::Int64, false),
        ]));
        let n = times.len() as i64;
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(StringArray::from_iter_values(
                    (0..n).map(|i| format!("{name}{}", first_offset + i)),
                )),
                Arc::new(Int64Array::from(times.to_vec())),
                Arc::new(Int64Array::from_iter_values(first_offset..first_offset + n)),
            ],
        )
        .unwrap();
        Pending::new(batch, first_offset + n).unwrap()
    }

    fn slot(p: Pending) -> Slot {
        Slot {
            pending: Some(p),
            caught_up: true,
            ..Slot::default()
        }
    }

    fn names(b: &RecordBatch) -> Vec<String> {
        b.column(0)
            .as_string::<i32>()
            .iter()
            .map(|s| s.unwrap().to_string())
            .collect()
    }

    /// All groups until nothing is left: (source, names).
    fn drain(slots: &mut [Vec<Slot>], ordered: bool) -> Vec<(usize, Vec<String>)> {
        let mut out = Vec::new();
        while let Some(g) = next_group(slots, ordered).unwrap() {
            out.push((g.input, names(&g.rows(slots).unwrap())));
        }
        out
    }

    #[test]
    fn partitions_of_a_source_interleave_by_head_timestamp() {
        let mut slots = vec![vec![
            slot(rows("a", &[1, 5, 3, 9], 0)),
            slot(rows("b", &[2, 4, 10], 0)),
        ]];
        // heads: a0@1, b0@2, b1@4, a1@5 (a2@3 waits behind it), a2, a3@9, b2@10
        assert_eq!(
            drain(&mut slots, true),
            vec![(
                0,
                vec!["a0", "b0", "b1", "a1", "a2", "a3", "b2"]
                    .into_iter()
                    .map(String::from)
                    .collect()
            )]
        );
    }

    #[test]
    fn sources_alternate_in_groups() {
        let mut slots = vec![
            vec![slot(rows("l", &[1, 2, 7], 0))],
            vec![slot(rows("r", &[3, 4, 8], 0))],
        ];
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            drain(&mut slots, true),
            vec![
                (0, s(&["l0", "l1"])),
                (1, s(&["r0", "r1"])),
                (0, s(&["l2"])),
                (1, s(&["r2"])),
            ]
        );
    }

    #[test]
    fn a_partition_that_may_have_more_is_waited_for() {
        let mut slots = vec![vec![slot(rows("a", &[5, 6], 0)), Slot::default()]];
        // partition 1 has read nothing yet and is not known to be caught up
        assert!(next_group(&mut slots, true).unwrap().is_none());
        slots[0][1].caught_up = true;
        assert_eq!(drain(&mut slots, true).len(), 1);
        assert_eq!(slots[0][0].pending.as_ref().unwrap().commit_offset(), 2);
    }

    #[test]
    fn replayed_rows_are_a_group_of_their_own() {
        let mut s = slot(rows("a", &[1, 2, 3, 4], 10));
        s.replay_until = 12;
        let mut slots = vec![vec![s]];
        let mut groups = Vec::new();
        while let Some(g) = next_group(&mut slots, true).unwrap() {
            groups.push((g.replaying, names(&g.rows(&slots).unwrap())));
        }
        assert_eq!(groups.len(), 2);
        assert_eq!(
            groups[0],
            (true, vec!["a10".to_string(), "a11".to_string()])
        );
        assert!(!groups[1].0);
        // unordered (stateless) reading splits at the same boundary
        let mut s = slot(rows("a", &[1, 2, 3, 4], 10));
        s.replay_until = 11;
        let mut slots = vec![vec![s]];
        let first = next_group(&mut slots, false).unwrap().unwrap();
        assert!(first.replaying && first.len == 1);
    }
}
