//! A persistent join's state: the changelog topics of its stores (a
//! stream-stream join's two window stores and the outer store of a left or
//! outer join with a GRACE PERIOD, each table side's rows; an n-way join's
//! earlier joins' too), named as ksqlDB's topology names them, written with
//! the output and the offsets in one atomic step, and read back when the
//! task starts or gains partitions (never the join's input).

use sluice_log::{Log, Record};
use sluice_planner::join::JoinPlan;
use sluice_planner::QueryPlan;
use sluice_sql::{JoinKind, SourceKind};

use super::{QueryOutput, QueryTask};
use crate::join::{JoinOperator, StoreRecord, OUTER_STORE};
use crate::repartition::source_keyed;
use crate::RuntimeError;

/// The stores of a stream-stream join, left side's first, as Kafka Streams
/// names them in the topology ksqlDB builds: `KSTREAM-JOINTHIS-n` for the
/// side the join is called on (the right one of a RIGHT join, which ksqlDB
/// runs as the right stream's left join), `JOINOTHER` for the other,
/// `OUTER...` for a side whose rows are kept without a match; `n` as
/// [`stream_join_numbers`] counts it.
pub fn stream_join_stores(kind: JoinKind, n: usize) -> [String; 2] {
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

/// The number Kafka Streams gives the stores of each stream-stream join of
/// `plan` (by nesting level: 0 the last join, 1 the one before, ...; `None`
/// for other joins): the processors its topology creates before them, in
/// the order ksqlDB builds it (a stream-table join builds its table first,
/// other joins their left side first): three per source stream (source,
/// value mapper, peek) and four more when it is re-keyed (key selector, and
/// the repartition topic's filter, sink and source), six per source table
/// and six more when it is re-keyed (to a stream, mapper, repartition,
/// back to a table), then per join two windowing steps, the two join
/// processors and their merge (stream-stream), one (stream-table) or three
/// (table-table). `rekeyed`: per source, whether it is re-keyed.
pub fn stream_join_numbers(plan: &JoinPlan, rekeyed: &[bool]) -> Vec<Option<usize>> {
    fn leaf(kind: SourceKind, rekeyed: bool) -> usize {
        match kind {
            SourceKind::Stream => 3 + 4 * usize::from(rekeyed),
            SourceKind::Table => 6 + 6 * usize::from(rekeyed),
        }
    }
    fn build(
        plan: &JoinPlan,
        rekeyed: &[bool],
        level: usize,
        counter: &mut usize,
        numbers: &mut Vec<Option<usize>>,
    ) {
        let right = plan.all_sources.len() - 1;
        let kinds = (plan.left.source.kind, plan.right.source.kind);
        let mut left = |counter: &mut usize| match &plan.nested {
            Some(n) => build(n, rekeyed, level + 1, counter, numbers),
            None => *counter += leaf(kinds.0, rekeyed.first().copied().unwrap_or(false)),
        };
        let right_count = leaf(kinds.1, rekeyed.get(right).copied().unwrap_or(false));
        if kinds == (SourceKind::Stream, SourceKind::Table) {
            *counter += right_count;
            left(counter);
        } else {
            left(counter);
            *counter += right_count;
        }
        match kinds {
            (SourceKind::Stream, SourceKind::Stream) => {
                numbers[level] = Some(*counter + 2);
                *counter += 5;
            }
            (SourceKind::Stream, SourceKind::Table) => *counter += 1,
            _ => *counter += 3,
        }
    }
    let mut levels = 1;
    let mut at = plan;
    while let Some(n) = &at.nested {
        levels += 1;
        at = n;
    }
    let mut numbers = vec![None; levels];
    build(plan, rekeyed, 0, &mut 0, &mut numbers);
    numbers
}

/// The store of a left or outer stream-stream join with a GRACE PERIOD
/// that holds rows without a match (Kafka Streams names it after the
/// join's first store, see [`stream_join_stores`]).
pub fn outer_join_store(n: usize) -> String {
    format!("KSTREAM-OUTERSHARED-{n:010}-store")
}

/// The store of table side `side` (0 left, 1 right) of a join whose nodes
/// ksqlDB prefixes with `prefix` (`L_` per level of nesting): the source
/// table's `KafkaTopic_<prefix><Left|Right>-Reduce` (`SourceBuilder`
/// materializes a joined table), or `<prefix><Left|Right>SourceKeyed-Materialize`
/// when the table is re-keyed into the join's key format first
/// (`TableSelectKeyBuilder`).
pub fn table_join_store(prefix: &str, side: usize, rekeyed: bool) -> String {
    match (rekeyed, side) {
        (true, _) => format!("{prefix}{}-Materialize", source_keyed(side)),
        (false, 0) => format!("KafkaTopic_{prefix}Left-Reduce"),
        (false, _) => format!("KafkaTopic_{prefix}Right-Reduce"),
    }
}

/// The changelog topics of a join's stores.
#[derive(Debug, Clone)]
pub(super) struct JoinChangelog {
    /// Per nesting level (0: the last join), per store (left side, right
    /// side, the outer store of rows without a match): its changelog, when
    /// the join keeps the store (the stream of a stream-table join keeps
    /// none, only left and outer joins with a GRACE PERIOD an outer store).
    pub(super) topics: Vec<[Option<String>; 3]>,
    /// Per nesting level: whether its stores are tables (a record per row)
    /// rather than windows.
    pub(super) tables: Vec<bool>,
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
        let plan = match &self.plan {
            QueryPlan::Join(plan) => plan,
            QueryPlan::Aggregate(a) => match &a.join {
                Some(plan) => plan.as_ref(),
                None => return Ok(()),
            },
            QueryPlan::Project(_) => return Ok(()),
        };
        let Some(join) = self.operator.join() else {
            return Ok(());
        };
        if !persistent || !self.operator.supports_changelog() {
            return Ok(());
        }
        // the operator's inputs, one per source, read a re-keyed source's
        // repartition topic
        let rekeyed: Vec<bool> = (0..plan.all_sources.len())
            .map(|i| self.inputs[i].strip > 0)
            .collect();
        let numbers = stream_join_numbers(plan, &rekeyed);
        let changelog_of = |store: &str| format!("{}-{store}-changelog", self.group);
        let mut topics = Vec::new();
        let mut tables = Vec::new();
        let mut specs: Vec<(String, Vec<(&str, String)>)> = Vec::new();
        let mut level = 0;
        while let Some(op) = join.level(level) {
            let p = op.plan();
            let prefix = "L_".repeat(level);
            let stores = op.stores();
            let is_tables =
                p.left.source.kind == SourceKind::Table || p.right.source.kind == SourceKind::Table;
            let sources = p.all_sources.len();
            let names = match numbers[level] {
                Some(n) if !is_tables => stream_join_stores(p.kind, n),
                _ => {
                    let left_rekeyed = p.nested.is_none() && rekeyed[0];
                    [
                        table_join_store(&prefix, 0, left_rekeyed),
                        table_join_store(&prefix, 1, rekeyed[sources - 1]),
                    ]
                }
            };
            let configs = if is_tables {
                vec![("cleanup.policy", "compact".to_string())]
            } else {
                vec![
                    ("cleanup.policy", "delete".to_string()),
                    ("retention.ms", op.changelog_retention_ms().to_string()),
                ]
            };
            let mut level_topics: [Option<String>; 3] = [None, None, None];
            // the table of earlier joins' rows is made again from theirs
            let left_store = stores[0] && !(is_tables && p.nested.is_some());
            for side in 0..2 {
                if [left_store, stores[1]][side] {
                    let topic = changelog_of(&names[side]);
                    specs.push((topic.clone(), configs.clone()));
                    level_topics[side] = Some(topic);
                }
            }
            if let (true, Some(n)) = (op.has_outer_store(), numbers[level]) {
                // a key-value store: compacted
                let topic = changelog_of(&outer_join_store(n));
                specs.push((
                    topic.clone(),
                    vec![("cleanup.policy", "compact".to_string())],
                ));
                level_topics[2] = Some(topic);
            }
            topics.push(level_topics);
            tables.push(is_tables);
            level += 1;
        }
        let partitioned = self.plan.is_partition_local() || self.repartitioned();
        let Some(existed) = self.prepare_changelogs(log, &specs, partitioned)? else {
            return Ok(());
        };
        let Some(join) = self.operator.join_mut() else {
            return Ok(());
        };
        join.enable_changelog(partitioned)?;
        let changelog = JoinChangelog {
            topics,
            tables,
            restored: existed,
            partitioned,
        };
        let owned: Vec<i32> = (0..log.end_offsets(&specs[0].0)?.len())
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
        let Some(join) = self.operator.join_mut() else {
            return Ok(());
        };
        join.clear_stores();
        self.restored_records += restore_windows(log, &changelog, &owned, join)?;
        Ok(())
    }

    /// The store changes the join kept since the last delivery, as records
    /// of its changelogs.
    pub(super) fn join_changelog_records(&mut self) -> Vec<(String, Option<i32>, Record)> {
        let (Some(c), Some(join)) = (&self.join_changelog, self.operator.join_mut()) else {
            return Vec::new();
        };
        join.take_store_records()
            .into_iter()
            .filter_map(|r: StoreRecord| {
                let topic = c.topics.get(r.level)?[r.store].clone()?;
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
    let stores = changelog
        .topics
        .iter()
        .enumerate()
        .flat_map(|(level, topics)| {
            topics
                .iter()
                .enumerate()
                .filter_map(move |(store, t)| Some((level, store, t.as_ref()?)))
        });
    for (level, store, topic) in stores {
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
                if store == OUTER_STORE {
                    for r in &records {
                        let key = r.record.key.as_deref().unwrap_or_default();
                        join.restore_outer_record(level, p, key, r.record.value.as_deref())?;
                    }
                    continue;
                }
                if changelog.tables[level] {
                    let rows = records
                        .into_iter()
                        .map(|r| (r.record.key.unwrap_or_default(), r.record.value))
                        .collect();
                    join.restore_table_rows(level, store, rows)?;
                    continue;
                }
                for r in records {
                    if let Some(value) = &r.record.value {
                        join.restore_window_rows(level, store, value)?;
                    }
                }
            }
        }
    }
    join.finish_restore()?;
    Ok(read)
}
