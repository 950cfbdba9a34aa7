//! A persistent stream-stream join's state: its two window stores'
//! changelog topics, named as ksqlDB's topology names them, written with
//! the output and the offsets in one atomic step, and read back when the
//! task starts or gains partitions (never the join's input).

use sluice_log::{Log, Record};
use sluice_planner::QueryPlan;
use sluice_sql::JoinKind;

use super::{Operator, QueryOutput, QueryTask};
use crate::join::{JoinOperator, WindowRecord};
use crate::RuntimeError;

/// The stores of a two-way stream-stream join, left side's first, as Kafka
/// Streams names them in the topology ksqlDB builds: `KSTREAM-JOINTHIS-n`
/// for the side the join is called on (the right one of a RIGHT join, which
/// ksqlDB runs as the right stream's left join), `JOINOTHER` for the other,
/// `OUTER...` for a side whose rows are kept without a match; `n` counts the
/// processors created before the join (three per source, two for the
/// windowed steps, and four for each side ksqlDB re-keys through a
/// repartition topic: its key selector and the repartition's filter, sink
/// and source).
pub fn stream_join_stores(kind: JoinKind, repartitioned_sides: usize) -> [String; 2] {
    let n = 8 + 4 * repartitioned_sides;
    let (this, other) = match kind {
        JoinKind::Inner => ("JOINTHIS", "JOINOTHER"),
        JoinKind::Left | JoinKind::Right => ("JOINTHIS", "OUTEROTHER"),
        JoinKind::Full => ("OUTERTHIS", "OUTEROTHER"),
    };
    let this = format!("KSTREAM-{this}-{n:010}-store");
    let other = format!("KSTREAM-{other}-{:010}-store", n + 1);
    match kind {
        JoinKind::Right => [other, this],
        _ => [this, other],
    }
}

/// The changelog topics of a join's window stores.
#[derive(Debug, Clone)]
pub(super) struct JoinChangelog {
    /// Per side (left, right).
    pub(super) topics: [String; 2],
    /// Whether the topics held the state when the task opened them.
    pub(super) restored: bool,
    /// One changelog partition per input partition.
    pub(super) partitioned: bool,
}

impl QueryTask {
    /// Opens a persistent stream-stream join's changelogs (creating the
    /// topics when missing) and restores its windows from the partitions
    /// this task reads. A query that ran before it kept changelogs goes on
    /// rebuilding its windows by replaying its input.
    pub(super) fn open_join_changelog(&mut self, log: &dyn Log) -> Result<(), RuntimeError> {
        let persistent = matches!(self.output, QueryOutput::Topic(_));
        let (QueryPlan::Join(plan), Operator::Join(join)) = (&self.plan, &self.operator) else {
            return Ok(());
        };
        if !persistent || !join.supports_changelog() {
            return Ok(());
        }
        let repartitioned = self
            .inputs
            .iter()
            .filter(|i| i.repartition.is_some())
            .count();
        let topics = stream_join_stores(plan.kind, repartitioned)
            .map(|s| format!("{}-{s}-changelog", self.group));
        let retention = join.changelog_retention_ms();
        let partitioned = self.plan.is_partition_local() || self.repartitioned();
        let configs = [
            ("cleanup.policy", "delete".to_string()),
            ("retention.ms", retention.to_string()),
        ];
        let Some(existed) = self.prepare_changelogs(log, &topics, partitioned, &configs)? else {
            return Ok(());
        };
        let Operator::Join(join) = &mut self.operator else {
            return Ok(());
        };
        join.enable_changelog(partitioned);
        let changelog = JoinChangelog {
            topics,
            restored: existed,
            partitioned,
        };
        let owned: Vec<i32> = (0..log.end_offsets(&changelog.topics[0])?.len())
            .filter(|p| self.share.is_none_or(|(k, n)| p % n == k))
            .map(|p| p as i32)
            .collect();
        self.restored_records += restore_windows(log, &changelog, &owned, join)?;
        self.join_changelog = Some(changelog);
        Ok(())
    }

    /// After the partitions this task reads changed: the windows are read
    /// back from the changelog partitions of the input partitions it reads
    /// now (those of partitions it lost go).
    pub(super) fn reload_join_windows(&mut self, log: &dyn Log) -> Result<(), RuntimeError> {
        let Some(changelog) = self.join_changelog.clone() else {
            return Ok(());
        };
        let owned: Vec<i32> = (0..self.inputs[0].positions.len())
            .filter(|p| self.reads(0, *p))
            .map(|p| p as i32)
            .collect();
        let Operator::Join(join) = &mut self.operator else {
            return Ok(());
        };
        join.clear_windows();
        self.restored_records += restore_windows(log, &changelog, &owned, join)?;
        Ok(())
    }

    /// The window rows the join kept since the last delivery, as records of
    /// its changelogs.
    pub(super) fn join_changelog_records(&mut self) -> Vec<(String, Option<i32>, Record)> {
        let (Some(c), Operator::Join(join)) = (&self.join_changelog, &mut self.operator) else {
            return Vec::new();
        };
        join.take_window_records()
            .into_iter()
            .map(|r: WindowRecord| {
                (
                    c.topics[r.side].clone(),
                    Some(r.partition),
                    Record::new(Some(r.key), Some(r.value), r.ts),
                )
            })
            .collect()
    }
}

/// Reads partitions `owned` of both changelogs into the join's windows;
/// gives how many records it read.
fn restore_windows(
    log: &dyn Log,
    changelog: &JoinChangelog,
    owned: &[i32],
    join: &mut JoinOperator,
) -> Result<u64, RuntimeError> {
    let mut read = 0;
    for (side, topic) in changelog.topics.iter().enumerate() {
        let starts = log.start_offsets(topic)?;
        let ends = log.end_offsets(topic)?;
        for &p in owned {
            let (Some(mut at), Some(end)) = (
                starts.get(p as usize).copied(),
                ends.get(p as usize).copied(),
            ) else {
                continue;
            };
            while at < end {
                let records = sluice_log::fetch_stored(log, topic, p, at, 8192)?;
                let Some(last) = records.last() else { break };
                at = last.offset + 1;
                read += records.len() as u64;
                for r in records {
                    if let Some(value) = &r.record.value {
                        join.restore_window_rows(side, value)?;
                    }
                }
            }
        }
    }
    join.finish_restore();
    Ok(read)
}
