//! A persistent aggregation's state: its changelog topics (the groups';
//! over a table, its keys' contributions' too) and their stores.
//!
//! Each changelog partition has a store (on disk under the server's state
//! directory, else in memory) and, on disk, a checkpoint: the changelog
//! offset up to which the store holds it. A task opening a partition reads
//! the changelog from the checkpoint to its end into the store (from the
//! start when there is no usable checkpoint) — never the query's input.
//! After each commit the changed groups go to their stores; the checkpoints
//! move to the changelog's end at most once a second, and when the task has
//! caught up with its input.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sluice_log::{Log, TopicSpec};
use sluice_state::{Checkpoint, MemStore, StateDb, StateStore};

use super::{Operator, QueryOutput, QueryTask};
use crate::aggregate::{AggregateOperator, StateChange};
use crate::RuntimeError;

/// The suffix ksqlDB gives an aggregation's changelog topic (after the
/// query's consumer group).
pub const AGGREGATE_CHANGELOG: &str = "-Aggregate-Aggregate-Materialize-changelog";

/// The name of an aggregation's store (ksqlDB's) after the query's group.
const AGGREGATE_STORE: &str = "-Aggregate-Aggregate-Materialize";

/// The suffix of the changelog of an aggregation over a table that keeps
/// what each of the table's keys contributed (ksqlDB materializes the
/// source table in its `KsqlTopic-Reduce` store to read the old row).
pub const TABLE_SOURCE_CHANGELOG: &str = "-KsqlTopic-Reduce-changelog";

/// The name of that store after the query's group.
const TABLE_SOURCE_STORE: &str = "-KsqlTopic-Reduce";

/// How often checkpoints move on (Kafka Streams writes them on commit; a
/// checkpoint behind the store only means a longer changelog tail to read).
const CHECKPOINT_INTERVAL: Duration = Duration::from_secs(1);

/// Where a task keeps its state stores.
#[derive(Debug, Clone)]
pub struct StateConfig {
    /// The server's on-disk state database (`ksql.streams.state.dir`);
    /// `None`: stores in memory, restored from the changelog's start.
    pub db: Option<StateDb>,
    /// Bytes of live groups a task caches in front of its stores
    /// (`statestore.cache.max.bytes` over the stream threads).
    pub cache_bytes: usize,
    /// How often a task deletes what it has read and committed of its
    /// repartition topic (`repartition.purge.interval.ms`).
    pub purge_interval: std::time::Duration,
    /// The wall clock operators throttle by.
    pub clock: crate::WallClock,
    /// `num.standby.replicas`: above 0, a task keeps warm copies of the
    /// on-disk stores of its query's partitions another server owns (see
    /// [`QueryTask::catch_up_standbys`]).
    pub standby_replicas: usize,
    /// `state.cleanup.delay.ms`: how long the on-disk store of a partition
    /// the task neither owns nor keeps warm stays (see
    /// [`QueryTask::clean_idle_stores`]).
    pub cleanup_delay: Duration,
}

impl Default for StateConfig {
    fn default() -> Self {
        StateConfig {
            db: None,
            cache_bytes: 10 << 20,
            purge_interval: std::time::Duration::from_secs(30),
            clock: crate::WallClock::System,
            standby_replicas: 0,
            cleanup_delay: Duration::from_secs(600),
        }
    }
}

/// Deletes the stores and checkpoints of the query whose consumer group is
/// `group` (it was terminated).
pub fn drop_state(db: &StateDb, group: &str) -> Result<(), RuntimeError> {
    let prefixes = [AGGREGATE_STORE, TABLE_SOURCE_STORE].map(|s| format!("{group}{s}-"));
    for name in db.store_names() {
        if prefixes.iter().any(|prefix| name.starts_with(prefix)) {
            db.drop_store(&name)?;
        }
    }
    Ok(())
}

/// The store of changelog partition `p` of the aggregation of the query
/// whose consumer group is `group`.
fn store_name(group: &str, p: i32) -> String {
    format!("{group}{AGGREGATE_STORE}-{p}")
}

/// The store of partition `p` of the contributions of an aggregation over
/// a table.
fn table_store_name(group: &str, p: i32) -> String {
    format!("{group}{TABLE_SOURCE_STORE}-{p}")
}

/// A store opened for a changelog partition: the store, its checkpoint
/// (on disk) and the offset to read the changelog from.
type OpenedStore = (Box<dyn StateStore>, Option<Checkpoint>, i64);

/// Opens store `name` for changelog partition `p` (on disk with its
/// checkpoint when `state` has a database, else in memory) and where its
/// changelog is to be read from: its checkpoint when `existed` (the topic
/// held the state before) and the checkpoint is within `end`, else the
/// start, the store emptied.
fn open_store(
    state: &StateConfig,
    name: &str,
    p: i32,
    existed: bool,
    end: i64,
) -> Result<OpenedStore, RuntimeError> {
    let (mut store, checkpoint): (Box<dyn StateStore>, Option<Checkpoint>) = match &state.db {
        Some(db) => {
            let checkpoint = db.checkpoint(name)?;
            (Box::new(db.store(name)?), Some(checkpoint))
        }
        None => (Box::new(MemStore::new()), None),
    };
    let from = match checkpoint.as_ref().and_then(|c| c.offset(p)) {
        Some(o) if existed && o <= end => o,
        _ => {
            store.clear()?;
            0
        }
    };
    Ok((store, checkpoint, from))
}

/// Where a persistent stateful task keeps its operator's state: a compacted
/// topic named as ksqlDB names it, written with the output and the offsets
/// in one atomic step, and the stores it fills.
#[derive(Debug, Clone)]
pub(super) struct Changelog {
    pub(super) topic: String,
    /// Over a table: the changelog of its keys' contributions.
    pub(super) table_topic: Option<String>,
    /// Whether the topic held the state when the task opened it (else the
    /// state is rebuilt by replaying the input, as before changelogs).
    pub(super) restored: bool,
    /// One changelog partition per source partition: the state is keyed by
    /// the sources' keys, so the query's partitions can move between
    /// servers one by one, each with its part of the state.
    pub(super) partitioned: bool,
    /// The checkpoints of the on-disk stores this task holds, by partition,
    /// and when they were last written.
    checkpoints: Arc<Mutex<Checkpoints>>,
}

#[derive(Debug, Default)]
struct Checkpoints {
    by_partition: BTreeMap<i32, Checkpoint>,
    /// Over a table: those of the contributions' stores.
    tables: BTreeMap<i32, Checkpoint>,
    /// Partitions whose store changed since their checkpoint was written.
    behind: Vec<i32>,
    saved: Option<Instant>,
}

impl Changelog {
    /// Opens the store of changelog partition `p` for `aggregate` and brings
    /// it up to the changelog's end: from its checkpoint when `existed` (the
    /// topic held the state before) and the checkpoint is usable, else
    /// emptied and read from the start. Gives how many changelog records
    /// it read.
    pub(super) fn open_partition(
        &self,
        log: &dyn Log,
        state: &StateConfig,
        group: &str,
        p: i32,
        existed: bool,
        aggregate: &mut AggregateOperator,
    ) -> Result<u64, RuntimeError> {
        let end = self.end_offset(log, p)?;
        let (store, checkpoint, from) = open_store(state, &store_name(group, p), p, existed, end)?;
        aggregate.attach_store(p, store);
        let mut read = restore_partition(log, &self.topic, p, from, end, aggregate)?;
        aggregate.finish_restore(p)?;
        let mut table_checkpoint = None;
        if let Some(table) = &self.table_topic {
            let end = end_offset(log, table, p)?;
            let (store, checkpoint, from) =
                open_store(state, &table_store_name(group, p), p, existed, end)?;
            aggregate.attach_table_store(p, store);
            read += read_changelog(log, table, p, from, end, |records| {
                aggregate.restore_contributions(p, records)
            })?;
            table_checkpoint = checkpoint.map(|c| (c, end));
        }
        if let Some((mut checkpoint, end)) = table_checkpoint {
            checkpoint.set(p, end);
            checkpoint.save()?;
            self.lock().tables.insert(p, checkpoint);
        }
        if let Some(mut checkpoint) = checkpoint {
            checkpoint.set(p, end);
            checkpoint.save()?;
            self.lock().by_partition.insert(p, checkpoint);
        }
        Ok(read)
    }

    /// Brings the warm copies of partition `p` (a partition another
    /// server owns) up to their changelogs' ends: the groups' store, and
    /// over a table the contributions' store. A store on disk takes the
    /// changelog records after its checkpoint (all of them when it has
    /// none), and the checkpoint moves to the end. A server that gains the
    /// partition then reads only what was written since. Gives how many
    /// records it read.
    pub(super) fn catch_up_standby(
        &self,
        log: &dyn Log,
        db: &StateDb,
        group: &str,
        p: i32,
    ) -> Result<u64, RuntimeError> {
        let mut read = catch_up_store(log, db, &self.topic, &store_name(group, p), p)?;
        if let Some(table) = &self.table_topic {
            read += catch_up_store(log, db, table, &table_store_name(group, p), p)?;
        }
        Ok(read)
    }

    /// Deletes the on-disk store of partition `p` and its checkpoint;
    /// whether there was one.
    fn drop_store(&self, db: &StateDb, group: &str, p: i32) -> Result<bool, RuntimeError> {
        let mut dropped = false;
        for name in [store_name(group, p), table_store_name(group, p)] {
            dropped |= db.drop_store(&name)?;
        }
        Ok(dropped)
    }

    /// The end offset of changelog partition `p`.
    fn end_offset(&self, log: &dyn Log, p: i32) -> Result<i64, RuntimeError> {
        end_offset(log, &self.topic, p)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Checkpoints> {
        self.checkpoints.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Partition `p` moved to another server: its checkpoint stays on disk
    /// (the store catches up from it if the partition comes back).
    pub(super) fn forget(&self, p: i32) {
        let mut c = self.lock();
        c.by_partition.remove(&p);
        c.tables.remove(&p);
        c.behind.retain(|q| *q != p);
    }

    /// After `changes` (and a table's contributions' `table_changes`) were
    /// committed: their stores take them, and the checkpoints move to the
    /// changelogs' ends when their interval passed.
    pub(super) fn committed(
        &self,
        log: &dyn Log,
        changes: Vec<StateChange>,
        table_changes: Vec<StateChange>,
        aggregate: &mut AggregateOperator,
    ) -> Result<(), RuntimeError> {
        {
            let mut c = self.lock();
            for change in changes.iter().chain(&table_changes) {
                let kept = c.by_partition.contains_key(&change.partition)
                    || c.tables.contains_key(&change.partition);
                if kept && !c.behind.contains(&change.partition) {
                    c.behind.push(change.partition);
                }
            }
        }
        aggregate.apply_table_changes(&table_changes)?;
        aggregate.apply_changes(changes)?;
        self.save_checkpoints(log, false, aggregate).map(|_| ())
    }

    /// Moves the checkpoints of the stores changed since they were written
    /// to the changelog's end, after the stores took every changed group:
    /// when `now` (the task caught up) or when their interval passed.
    /// Whether it moved any.
    pub(super) fn save_checkpoints(
        &self,
        log: &dyn Log,
        now: bool,
        aggregate: &mut AggregateOperator,
    ) -> Result<bool, RuntimeError> {
        let mut c = self.lock();
        let due = now || c.saved.is_none_or(|t| t.elapsed() >= CHECKPOINT_INTERVAL);
        if c.behind.is_empty() || !due {
            return Ok(false);
        }
        let ends = log.end_offsets(&self.topic)?;
        let table_ends = match &self.table_topic {
            Some(t) => log.end_offsets(t)?,
            None => Vec::new(),
        };
        aggregate.save_unsaved(None)?;
        for p in std::mem::take(&mut c.behind) {
            if let (Some(cp), Some(end)) = (c.by_partition.get_mut(&p), ends.get(p as usize)) {
                cp.set(p, *end);
                cp.save()?;
            }
            if let (Some(cp), Some(end)) = (c.tables.get_mut(&p), table_ends.get(p as usize)) {
                cp.set(p, *end);
                cp.save()?;
            }
        }
        c.saved = Some(Instant::now());
        Ok(true)
    }
}

impl QueryTask {
    /// Opens the changelog (creating the topic when missing: as many
    /// partitions as the first source when the state is keyed by the
    /// sources' keys, else one) and restores the operator's state into its
    /// stores for the partitions this task reads.
    pub(super) fn open_changelog(&mut self, log: &dyn Log) -> Result<(), RuntimeError> {
        let Some(topic) = self.changelog_topic() else {
            return Ok(());
        };
        let partitioned = self.plan.is_partition_local() || self.repartitioned();
        let table_topic = self
            .operator
            .aggregate_mut()
            .filter(|a| a.over_table())
            .map(|_| format!("{}{TABLE_SOURCE_CHANGELOG}", self.group));
        let specs: Vec<_> = std::iter::once(&topic)
            .chain(&table_topic)
            .map(|t| (t.clone(), vec![("cleanup.policy", "compact".to_string())]))
            .collect();
        let Some(existed) = self.prepare_changelogs(log, &specs, partitioned)? else {
            return Ok(());
        };
        let Some(aggregate) = self.operator.aggregate_mut() else {
            return Ok(());
        };
        aggregate.enable_changelog(partitioned)?;
        aggregate.use_stores(self.state.cache_bytes);
        let changelog = Changelog {
            topic: topic.clone(),
            table_topic,
            restored: existed,
            partitioned,
            checkpoints: Arc::default(),
        };
        let partitions = log.end_offsets(&topic)?.len();
        for p in 0..partitions {
            if self.share.is_none_or(|(k, n)| p % n == k) {
                self.restored_records += changelog.open_partition(
                    log,
                    &self.state,
                    &self.group,
                    p as i32,
                    existed,
                    aggregate,
                )?;
            }
        }
        self.changelog = Some(changelog);
        Ok(())
    }

    /// Whether the changelog topics `topics` already held this task's
    /// state; those missing are created with their configs (as many
    /// partitions as the first source when `partitioned`: the state is
    /// keyed by the sources' keys; else one). `None`: the query ran before
    /// it kept these changelogs, and goes on rebuilding its state by
    /// replaying its input (a changelog started now would miss what came
    /// before).
    pub(super) fn prepare_changelogs(
        &self,
        log: &dyn Log,
        topics: &[(String, Vec<(&str, String)>)],
        partitioned: bool,
    ) -> Result<Option<bool>, RuntimeError> {
        // read before the topics are looked for: another task creating them
        // and committing in between must not make this one skip them
        let mut ran_before = false;
        for input in &self.inputs {
            ran_before |= log
                .committed(&self.group, &input.topic)?
                .iter()
                .any(Option::is_some);
        }
        let mut existed = true;
        for (topic, _) in topics {
            existed &= log.topic_exists(topic)?;
        }
        if existed {
            return Ok(Some(true));
        }
        if ran_before {
            return Ok(None);
        }
        let source = log.describe_topic(&self.inputs[0].topic)?;
        let partitions = if partitioned {
            source.partitions.len() as i32
        } else {
            1
        };
        for (topic, configs) in topics {
            let spec = configs.iter().fold(
                TopicSpec::new(topic.clone(), partitions).with_replicas(source.replicas),
                |spec, (k, v)| spec.with_config(*k, v.clone()),
            );
            match log.create_topic(&spec) {
                Ok(()) | Err(sluice_log::LogError::TopicExists(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(Some(false))
    }

    /// The changelog topic of this task's aggregation state, when its
    /// operator keeps one: a persistent aggregation (over a join, when the
    /// join keeps its own state in changelogs). Over a table, the keys'
    /// contributions have a changelog of their own (`table_topic`).
    pub fn changelog_topic(&self) -> Option<String> {
        let persistent = matches!(self.output, QueryOutput::Topic(_));
        let aggregates = matches!(
            self.operator,
            Operator::Aggregate(_) | Operator::JoinAggregate { .. }
        );
        (persistent && aggregates && self.operator.supports_changelog())
            .then(|| format!("{}{AGGREGATE_CHANGELOG}", self.group))
    }

    /// With `num.standby.replicas` above 0 and stores on disk: brings the
    /// warm copies of the changelog partitions of this task's share that
    /// another server owns up to date, at most once a second (Kafka
    /// Streams' standby tasks). Of a partition's other servers, the
    /// `num.standby.replicas` after its owner in the group's member order
    /// keep one ([`sluice_log::GroupMembers::keeps_standby`]) while the
    /// group is settled; between rebalances' generations, or when the
    /// members cannot be listed, the last choice stands (every other
    /// server's before any). A failed catch-up only waits for the next time.
    pub(super) fn catch_up_standbys(&mut self, log: &dyn Log) {
        let (Some(c), Some(db), super::Ownership::Partitions(owned)) =
            (&self.changelog, &self.state.db, &self.ownership)
        else {
            return;
        };
        if self.state.standby_replicas == 0 || !c.partitioned {
            return;
        }
        if self
            .standby_at
            .is_some_and(|t| t.elapsed() < Duration::from_secs(1))
        {
            return;
        }
        let topic = &self.inputs[0].topic;
        let partitions = self.inputs[0].positions.len();
        let others: Vec<usize> = (0..partitions)
            .filter(|p| self.share.is_none_or(|(k, n)| p % n == k))
            .filter(|p| !super::owns(owned, topic, *p))
            .collect();
        if others.is_empty() {
            self.standby_partitions.clear();
            self.standby_at = Some(Instant::now());
            return;
        }
        let replicas = self.state.standby_replicas;
        // which of them to keep warm: by the group's members while it is
        // settled; between generations (or when they cannot be listed) the
        // last such choice stands, and before any, every one of them
        let members = match log.group_members(&self.group) {
            Ok(m) => m.filter(|m| m.settled),
            Err(e) => {
                tracing::warn!("query {}: listing its group's members: {e}", self.id);
                None
            }
        };
        if let Some(m) = &members {
            self.standby_choice = Some(
                (0..partitions)
                    .filter(|p| m.keeps_standby(topic, *p as i32, replicas))
                    .collect(),
            );
        }
        let kept: Vec<usize> = match &self.standby_choice {
            Some(choice) => others.into_iter().filter(|p| choice.contains(p)).collect(),
            None => others,
        };
        self.standby_partitions.clear();
        for p in kept {
            match c.catch_up_standby(log, db, &self.group, p as i32) {
                Ok(read) => {
                    self.standby_records += read;
                    self.standby_partitions.push(p as i32);
                }
                Err(e) => tracing::warn!("query {}: warm copy of partition {p}: {e}", self.id),
            }
        }
        // the next catch-up a second after this one ended
        self.standby_at = Some(Instant::now());
    }

    /// Deletes the on-disk stores of the partitions of this task's share it
    /// has neither owned nor kept a warm copy of for
    /// `state.cleanup.delay.ms` (Kafka Streams' state directory cleaner;
    /// 10 minutes by default), looked at once a second at most: a
    /// partition that moved to another server for good does not keep its
    /// store here. One that comes back later restores it from the
    /// changelog's start.
    pub(super) fn clean_idle_stores(&mut self) {
        let (Some(c), Some(db), super::Ownership::Partitions(owned)) =
            (&self.changelog, &self.state.db, &self.ownership)
        else {
            self.idle_since.clear();
            return;
        };
        if !c.partitioned
            || self
                .cleaned_at
                .is_some_and(|t| t.elapsed() < Duration::from_secs(1))
        {
            return;
        }
        let now = Instant::now();
        self.cleaned_at = Some(now);
        let topic = &self.inputs[0].topic;
        for p in 0..self.inputs[0].positions.len() {
            if self.share.is_some_and(|(k, n)| p % n != k) {
                continue;
            }
            let idle =
                !super::owns(owned, topic, p) && !self.standby_partitions.contains(&(p as i32));
            if !idle {
                self.idle_since.remove(&p);
                continue;
            }
            let since = *self.idle_since.entry(p).or_insert(now);
            if now.duration_since(since) < self.state.cleanup_delay {
                continue;
            }
            match c.drop_store(db, &self.group, p as i32) {
                Ok(true) => tracing::info!(
                    "query {}: deleted the store of partition {p}, neither owned nor kept warm here for {:?}",
                    self.id,
                    self.state.cleanup_delay
                ),
                Ok(false) => {}
                Err(e) => tracing::warn!("query {}: deleting the store of partition {p}: {e}", self.id),
            }
        }
    }

    /// Keeps this task's state stores as `state` says.
    pub fn with_state(mut self, state: StateConfig) -> Self {
        self.state = state;
        self.operator.set_clock(self.state.clock);
        self
    }
}

/// The end offset of partition `p` of `topic`.
fn end_offset(log: &dyn Log, topic: &str, p: i32) -> Result<i64, RuntimeError> {
    Ok(log
        .end_offsets(topic)?
        .get(p as usize)
        .copied()
        .unwrap_or(0))
}

/// Brings the on-disk store `name` of partition `p` of changelog `topic`
/// up to the changelog's end from its checkpoint (all of it without one),
/// and moves the checkpoint there; gives how many records it read.
fn catch_up_store(
    log: &dyn Log,
    db: &StateDb,
    topic: &str,
    name: &str,
    p: i32,
) -> Result<u64, RuntimeError> {
    let end = end_offset(log, topic, p)?;
    let mut checkpoint = db.checkpoint(name)?;
    let usable = checkpoint.offset(p).filter(|o| *o <= end);
    if usable == Some(end) {
        return Ok(0);
    }
    let mut store = db.store(name)?;
    if usable.is_none() {
        store.clear()?;
    }
    let read = read_changelog(log, topic, p, usable.unwrap_or(0), end, |records| {
        let writes = records
            .into_iter()
            .map(|(key, value)| match value {
                Some(v) => sluice_state::Write::Put(key, v),
                None => sluice_state::Write::Delete(key),
            })
            .collect();
        store.write(writes).map_err(RuntimeError::from)
    })?;
    store.flush()?;
    checkpoint.set(p, end);
    checkpoint.save()?;
    Ok(read)
}

/// Reads changelog partition `p` of `topic` from offset `from` to `end`
/// into the store of `aggregate`; gives how many records it read.
fn restore_partition(
    log: &dyn Log,
    topic: &str,
    p: i32,
    from: i64,
    end: i64,
    aggregate: &mut AggregateOperator,
) -> Result<u64, RuntimeError> {
    read_changelog(log, topic, p, from, end, |records| {
        aggregate.restore_records(p, records)
    })
}

/// Hands the records of changelog partition `p` of `topic` from offset
/// `from` to `end` to `apply` as keys and values, a fetch at a time; gives
/// how many records it read.
fn read_changelog(
    log: &dyn Log,
    topic: &str,
    p: i32,
    from: i64,
    end: i64,
    mut apply: impl FnMut(Vec<(Vec<u8>, Option<Vec<u8>>)>) -> Result<(), RuntimeError>,
) -> Result<u64, RuntimeError> {
    let mut at = from;
    let mut read = 0;
    while at < end {
        let records = sluice_log::fetch_stored(log, topic, p, at, 8192)?;
        let Some(last) = records.last() else { break };
        at = last.offset + 1;
        read += records.len() as u64;
        apply(
            records
                .into_iter()
                .map(|r| (r.record.key.unwrap_or_default(), r.record.value))
                .collect(),
        )?;
    }
    Ok(read)
}
