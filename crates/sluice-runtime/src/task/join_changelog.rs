//! A persistent join's state: the changelog topics of its stores (a
//! stream-stream join's two window stores, each table side's rows), named
//! as ksqlDB's topology names them, written with the output and the
//! offsets in one atomic step, and read back when the task starts or gains
//! partitions (never the join's input).

use sluice_log::{Log, Record};
use sluice_planner::QueryPlan;
use sluice_sql::{JoinKind, SourceKind};

use super::{Operator, QueryOutput, QueryTask};
use crate::join::{JoinOperator, StoreRecord};
use crate::repartition::source_keyed;
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

/// The store of a left or outer stream-stream join with a GRACE PERIOD
/// that holds rows without a match (Kafka Streams names it after the
/// join's first store, see [`stream_join_stores`]).
pub fn outer_join_store(repartitioned_sides: usize) -> String {
    format!(
        "KSTREAM-OUTERSHARED-{:010}-store",
        8 + 4 * repartitioned_sides
    )
}

/// The store of table side `side` (0 left, 1 right) of a two-way join, as
/// ksqlDB names it: the source table's `KafkaTopic_<Left|Right>-Reduce`
/// (`SourceBuilder` materializes a joined table), or
/// `<Left|Right>SourceKeyed-Materialize` when the table is re-keyed into
/// the join's key format first (`TableSelectKeyBuilder`).
pub fn table_join_store(side: usize, rekeyed: bool) -> String {
    match (rekeyed, side) {
        (true, _) => format!("{}-Materialize", source_keyed(side)),
        (false, 0) => "KafkaTopic_Left-Reduce".to_string(),
        (false, _) => "KafkaTopic_Right-Reduce".to_string(),
    }
}

/// The changelog topics of a join's stores.
#[derive(Debug, Clone)]
pub(super) struct JoinChangelog {
    /// Per store (left side, right side, the outer store of rows without
    /// a match): its changelog, when the join keeps the store (the stream
    /// of a stream-table join keeps none, only left and outer joins with a
    /// GRACE PERIOD an outer store).
    pub(super) topics: [Option<String>; 3],
    /// Whether the stores are tables (compacted, a record per row) rather
    /// than windows.
    pub(super) tables: bool,
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
        let stores = join.stores();
        let tables = plan.left.source.kind == SourceKind::Table
            || plan.right.source.kind == SourceKind::Table;
        let repartitioned = self
            .inputs
            .iter()
            .filter(|i| i.repartition.is_some())
            .count();
        let names = if tables {
            // the operator's inputs 0 and 1 read a re-keyed table's
            // repartition topic
            [0, 1].map(|side| table_join_store(side, self.inputs[side].strip > 0))
        } else {
            stream_join_stores(plan.kind, repartitioned)
        };
        let changelog_of = |store: &str| format!("{}-{store}-changelog", self.group);
        let mut topics: [Option<String>; 3] = [
            stores[0].then(|| changelog_of(&names[0])),
            stores[1].then(|| changelog_of(&names[1])),
            None,
        ];
        let partitioned = self.plan.is_partition_local() || self.repartitioned();
        let configs = if tables {
            vec![("cleanup.policy", "compact".to_string())]
        } else {
            vec![
                ("cleanup.policy", "delete".to_string()),
                ("retention.ms", join.changelog_retention_ms().to_string()),
            ]
        };
        let kept: Vec<String> = topics.iter().flatten().cloned().collect();
        let Some(existed) = self.prepare_changelogs(log, &kept, partitioned, &configs)? else {
            return Ok(());
        };
        if join.has_outer_store() {
            // a key-value store: compacted
            let outer = changelog_of(&outer_join_store(repartitioned));
            let compact = [("cleanup.policy", "compact".to_string())];
            let topic = std::slice::from_ref(&outer);
            if self
                .prepare_changelogs(log, topic, partitioned, &compact)?
                .is_some()
            {
                topics[2] = Some(outer);
            }
        }
        let Operator::Join(join) = &mut self.operator else {
            return Ok(());
        };
        join.enable_changelog(partitioned)?;
        let changelog = JoinChangelog {
            topics,
            tables,
            restored: existed,
            partitioned,
        };
        let owned: Vec<i32> = (0..log.end_offsets(&kept[0])?.len())
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
        join.clear_stores();
        self.restored_records += restore_windows(log, &changelog, &owned, join)?;
        Ok(())
    }

    /// The store changes the join kept since the last delivery, as records
    /// of its changelogs.
    pub(super) fn join_changelog_records(&mut self) -> Vec<(String, Option<i32>, Record)> {
        let (Some(c), Operator::Join(join)) = (&self.join_changelog, &mut self.operator) else {
            return Vec::new();
        };
        join.take_store_records()
            .into_iter()
            .filter_map(|r: StoreRecord| {
                let topic = c.topics[r.store].clone()?;
                Some((
                    topic,
                    Some(r.partition),
                    Record::new(Some(r.key), r.value, r.ts),
                ))
            })
            .collect()
    }
}

/// Reads partitions `owned` of the changelogs into the join's stores;
/// gives how many records it read.
fn restore_windows(
    log: &dyn Log,
    changelog: &JoinChangelog,
    owned: &[i32],
    join: &mut JoinOperator,
) -> Result<u64, RuntimeError> {
    let mut read = 0;
    for (store, topic) in changelog.topics.iter().enumerate() {
        let Some(topic) = topic else { continue };
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
                if store == 2 {
                    for r in &records {
                        let key = r.record.key.as_deref().unwrap_or_default();
                        join.restore_outer_record(key, r.record.value.as_deref())?;
                    }
                    continue;
                }
                if changelog.tables {
                    let rows = records
                        .into_iter()
                        .map(|r| (r.record.key.unwrap_or_default(), r.record.value))
                        .collect();
                    join.restore_table_rows(store, rows)?;
                    continue;
                }
                for r in records {
                    if let Some(value) = &r.record.value {
                        join.restore_window_rows(store, value)?;
                    }
                }
            }
        }
    }
    join.finish_restore();
    Ok(read)
}
