//! A running query: consume its source topic, run the operator, deliver the rows.

use std::sync::Arc;

use arrow::array::RecordBatch;
use sluice_log::{Log, LogError, Record};
use sluice_planner::QueryPlan;

use crate::order::{Pending, Slot};
use crate::processing_log::{ProcessingLog, ProcessingLogEntry};
use crate::sink::TopicSink;
use crate::source::SourceReader;
use crate::RuntimeError;

mod changelog;
mod input;
mod join_changelog;
mod operator;
mod repartition;
mod rows;

use changelog::Changelog;
pub use changelog::{drop_state, StateConfig, AGGREGATE_CHANGELOG};
use input::Input;
pub use join_changelog::stream_join_stores;
use join_changelog::JoinChangelog;
use operator::Operator;
use rows::{without_null_keys, without_tombstones};

/// Where a query's rows go.
pub enum QueryOutput {
    /// A persistent query writes its sink topic.
    Topic(Box<TopicSink>),
    /// A transient (push) query hands rows to its client; they collect here until drained.
    Rows(Vec<RecordBatch>),
}

/// Where a task starts reading partitions it has no committed offset for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffsetReset {
    Earliest,
    Latest,
}

impl OffsetReset {
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "earliest" => Some(OffsetReset::Earliest),
            "latest" => Some(OffsetReset::Latest),
            _ => None,
        }
    }
}

/// What a task read from one of its source topics (ksqlDB's consumer metrics).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TopicCounters {
    pub records: u64,
    pub bytes: u64,
    /// Wall-clock epoch milliseconds of the last read that found records.
    pub last_read_ms: i64,
}

pub struct QueryTask {
    pub id: String,
    group: String,
    inputs: Vec<Input>,
    operator: Operator,
    visible: usize,
    output: QueryOutput,
    reset: OffsetReset,
    limit: Option<u64>,
    emitted: u64,
    /// See [`QueryTask::set_skip_tombstones`].
    skip_tombstones: bool,
    /// See [`QueryTask::set_skip_unkeyed`].
    skip_unkeyed: usize,
    processing_log: Arc<ProcessingLog>,
    /// The plan, to start the operator afresh when a stateful query's
    /// ownership moves between servers.
    plan: QueryPlan,
    /// Which partitions this process reads, as its consumer group decided.
    ownership: Ownership,
    /// `(k, n)`: this task is the k-th of n tasks of its query and reads the
    /// partitions `p` with `p % n == k` (of every source: a task is a group
    /// of co-partitioned partitions, as in Kafka Streams).
    share: Option<(usize, usize)>,
    /// The changelog of a persistent aggregation's state, once opened.
    changelog: Option<Changelog>,
    /// The changelogs of a persistent stream-stream join's windows, once opened.
    join_changelog: Option<JoinChangelog>,
    /// Where the task's state stores live.
    state: StateConfig,
    /// Changelog records read back into the stores since the task was
    /// created.
    restored_records: u64,
    /// When the task last deleted what it consumed of its repartition topic.
    purged_at: Option<std::time::Instant>,
    /// When the task last brought its warm copies up to date.
    standby_at: Option<std::time::Instant>,
    /// Changelog records read into warm copies since the task was created.
    standby_records: u64,
    /// The partitions it kept warm copies of at its last catch-up.
    standby_partitions: Vec<i32>,
    /// The partitions to keep warm copies of, as the group's members last
    /// decided while it was settled (`None`: not yet, so every other one).
    standby_choice: Option<Vec<usize>>,
    /// Since when each partition of the task's share has been neither owned
    /// nor kept warm here, and when that was last looked at
    /// ([`QueryTask::clean_idle_stores`]).
    idle_since: std::collections::BTreeMap<usize, std::time::Instant>,
    cleaned_at: Option<std::time::Instant>,
}

/// The part of a persistent query's input this process reads, when several
/// servers run the query as members of its consumer group.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Ownership {
    /// Every partition: one process (no group membership), or a transient query.
    All,
    /// A stateless query, or one whose state is keyed by its sources' keys
    /// and kept in a partitioned changelog, reads the partitions assigned to
    /// this member (with their state).
    Partitions(Vec<(String, i32)>),
    /// Any other stateful query keeps its state in one place: the member
    /// assigned partition 0 of the first source reads everything, the others
    /// nothing.
    Whole(bool),
}

/// What one poll did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Records read from the log.
    pub consumed: usize,
    /// Rows run through the operator (read in this poll or an earlier one).
    pub processed: usize,
    /// Rows written (or kept for a client).
    pub produced: usize,
}

impl Progress {
    /// Whether the poll did anything: nothing read and nothing processed
    /// means the task is caught up.
    pub fn did_work(&self) -> bool {
        self.consumed > 0 || self.processed > 0
    }
}

impl QueryTask {
    /// `readers` holds one reader per source of the plan, in `QueryPlan::sources` order.
    pub fn new(
        id: String,
        plan: &QueryPlan,
        readers: Vec<SourceReader>,
        output: QueryOutput,
        reset: OffsetReset,
        processing_log: Arc<ProcessingLog>,
    ) -> Result<Self, RuntimeError> {
        if readers.is_empty() {
            return Err(RuntimeError::Plan("a query needs a source".into()));
        }
        let schemas: Vec<_> = readers.iter().map(|r| r.schema().clone()).collect();
        let operator = Operator::new(plan, &schemas)?;
        let visible = plan.columns().len();
        let inputs = plan
            .sources()
            .into_iter()
            .zip(readers)
            .map(|(def, reader)| Input::new(def.topic.clone(), reader, 0))
            .collect();
        Ok(QueryTask {
            group: format!("_confluent-ksql-default_query_{id}"),
            id,
            inputs,
            operator,
            visible,
            output,
            reset,
            limit: plan.limit(),
            emitted: 0,
            skip_tombstones: false,
            skip_unkeyed: 0,
            processing_log,
            plan: plan.clone(),
            ownership: Ownership::All,
            share: None,
            changelog: None,
            join_changelog: None,
            state: StateConfig::default(),
            restored_records: 0,
            purged_at: None,
            standby_at: None,
            standby_records: 0,
            standby_partitions: Vec::new(),
            standby_choice: None,
            idle_since: std::collections::BTreeMap::new(),
            cleaned_at: None,
        })
    }

    /// Changelog records read back into the state stores since the task
    /// was created (a store restored from its checkpoint reads only the
    /// changelog's tail).
    pub fn restored_records(&self) -> u64 {
        self.restored_records
    }

    /// Changelog records read into warm copies of partitions another
    /// server owns since the task was created (`num.standby.replicas`).
    pub fn standby_records(&self) -> u64 {
        self.standby_records
    }

    /// The partitions another server owns that this task kept warm copies
    /// of at its last catch-up (`num.standby.replicas`).
    pub fn standby_partitions(&self) -> &[i32] {
        &self.standby_partitions
    }

    /// Bytes the query's state stores hold (memory or disk, by backend).
    pub fn stored_bytes(&self) -> u64 {
        match &self.operator {
            Operator::Aggregate(a) => a.stored_bytes(),
            _ => 0,
        }
    }

    /// Bytes the query holds in operator state (0 for stateless queries).
    pub fn state_bytes(&self) -> usize {
        match &self.operator {
            Operator::Project(_) => 0,
            Operator::Aggregate(a) => a.state_bytes(),
            Operator::Join(j) => j.state_bytes(),
            Operator::JoinAggregate {
                join, aggregate, ..
            } => join.state_bytes() + aggregate.state_bytes(),
        }
    }

    pub fn consumer_group(&self) -> &str {
        &self.group
    }

    pub fn output_schema(&self) -> &arrow::datatypes::SchemaRef {
        self.operator.schema()
    }

    /// How many leading output columns are the query's own (the rest are ROWTIME
    /// and internals carried for sinks).
    pub fn visible_columns(&self) -> usize {
        self.visible
    }

    /// True once a LIMIT has been reached: the query has nothing more to do.
    pub fn is_done(&self) -> bool {
        self.limit.is_some_and(|l| self.emitted >= l)
    }

    /// Take the rows a transient query produced so far.
    pub fn drain_rows(&mut self) -> Vec<RecordBatch> {
        match &mut self.output {
            QueryOutput::Rows(rows) => std::mem::take(rows),
            QueryOutput::Topic(_) => Vec::new(),
        }
    }

    /// The group recording where a persistent stateful query first started reading
    /// each partition: after a restart its state is rebuilt by replaying from there
    /// (operator state lives in memory; the input log is its changelog).
    fn origin_group(&self) -> Option<String> {
        let stateful = self.operator.is_stateful();
        let persistent = matches!(self.output, QueryOutput::Topic(_));
        let restored = self.changelog.as_ref().is_some_and(|c| c.restored)
            || self.join_changelog.as_ref().is_some_and(|c| c.restored);
        (stateful && persistent && !restored).then(|| format!("{}_state_origin", self.group))
    }

    /// Starts the task afresh after a failure, as Kafka Streams re-creates a
    /// task it closed dirty: its operator state is dropped and its read
    /// positions forgotten, so it resumes from the committed offsets (a
    /// stateful query rebuilding its state from where it began). Nothing a
    /// failed batch half-did survives: a batch whose output or commit failed
    /// is read again from the last commit.
    pub fn restart(&mut self, log: &dyn Log) -> Result<(), RuntimeError> {
        self.start_afresh()?;
        self.ownership = Ownership::All;
        self.start(log)
    }

    /// A new operator (no state) and no read positions: the next poll
    /// restores the state from the changelog and starts from the committed
    /// offsets (replaying what a stateful query without a changelog needs).
    fn start_afresh(&mut self) -> Result<(), RuntimeError> {
        self.changelog = None;
        self.idle_since.clear();
        self.join_changelog = None;
        let schemas: Vec<_> = self
            .inputs
            .iter()
            .filter(|i| i.repartition.is_none())
            .map(|i| i.schema.clone())
            .collect();
        self.operator = Operator::new(&self.plan, &schemas)?;
        self.operator.set_clock(self.state.clock);
        self.keys_from_repartition();
        for input in &mut self.inputs {
            input.forget_partitions();
        }
        Ok(())
    }

    /// Fix where the task reads each partition now, so `latest` means the end of
    /// the log when the query starts rather than at its first poll.
    pub fn start(&mut self, log: &dyn Log) -> Result<(), RuntimeError> {
        if matches!(self.output, QueryOutput::Topic(_)) {
            log.fence(&self.group)?;
        }
        self.sync_partitions(log)
    }

    fn sync_partitions(&mut self, log: &dyn Log) -> Result<(), RuntimeError> {
        // a task starting (or starting afresh) restores its state first
        if self.inputs.iter().all(|i| i.positions.is_empty()) {
            self.open_changelog(log)?;
            self.open_join_changelog(log)?;
        }
        let origin_group = self.origin_group();
        let share = self.share;
        let lookup_only = self.lookup_only_input();
        for (i, input) in self.inputs.iter_mut().enumerate() {
            let ends = log.end_offsets(&input.topic)?;
            if ends.len() == input.positions.len() {
                continue;
            }
            let committed = log.committed(&self.group, &input.topic)?;
            let origins = match &origin_group {
                Some(g) => log.committed(g, &input.topic)?,
                None => Vec::new(),
            };
            let starts = log.start_offsets(&input.topic)?;
            let known = input.positions.len();
            for (p, end) in ends.iter().enumerate().skip(known) {
                let fresh = match input.reset(self.reset) {
                    OffsetReset::Earliest => starts.get(p).copied().unwrap_or(0),
                    OffsetReset::Latest => *end,
                };
                // what is re-keyed into a repartition topic is never
                // replayed, nor what only looks state up
                let replays =
                    origin_group.is_some() && input.repartition.is_none() && lookup_only != Some(i);
                let (start, replay_until) = match committed.get(p).copied().flatten() {
                    Some(o) if replays => {
                        (origins.get(p).copied().flatten().unwrap_or(0).min(o), o)
                    }
                    Some(o) => (o, o),
                    None => {
                        // the task reading the partition records its origin
                        let ours = share.is_none_or(|(k, n)| p % n == k);
                        if let Some(g) = origin_group.as_ref().filter(|_| ours) {
                            log.commit(g, &[(input.topic.clone(), p as i32, fresh)])?;
                        }
                        (fresh, fresh)
                    }
                };
                input.positions.push(start);
                input.slots.push(Slot::starting_at(replay_until));
            }
        }
        Ok(())
    }

    /// Asks the log which partitions this member of the query's consumer
    /// group owns now, and follows a change: a query read by partition
    /// reloads the committed offsets of partitions it gained (another server
    /// moved them on) and their state from the changelog, and forgets the
    /// state of partitions it lost; any other stateful query that gains or
    /// loses the whole input starts its state afresh (restored from its
    /// changelog, or rebuilt by replaying from where it began).
    fn refresh_ownership(&mut self, log: &dyn Log) -> Result<(), RuntimeError> {
        if !matches!(self.output, QueryOutput::Topic(_)) {
            return Ok(());
        }
        let mut topics: Vec<String> = self.inputs.iter().map(|i| i.topic.clone()).collect();
        topics.sort();
        topics.dedup();
        let Some(assigned) = log.assigned(&self.group, &topics)? else {
            self.ownership = Ownership::All;
            return Ok(());
        };
        let by_partition = !self.operator.is_stateful()
            || self.changelog.as_ref().is_some_and(|c| c.partitioned)
            || self.join_changelog.as_ref().is_some_and(|c| c.partitioned);
        if !by_partition {
            let owner = owns(&assigned, &self.inputs[0].topic, 0);
            let was = match self.ownership {
                Ownership::Whole(was) => was,
                _ => owner,
            };
            if owner != was {
                self.start_afresh()?;
            }
            self.ownership = Ownership::Whole(owner);
            return Ok(());
        }
        let before = std::mem::replace(&mut self.ownership, Ownership::All);
        let had = |topic: &str, p: usize| match &before {
            Ownership::Partitions(had) => owns(had, topic, p),
            _ => true,
        };
        // a partition that moved away takes its state along (its new owner
        // restores it from the changelog), and what was read of it and not
        // processed is dropped: its new owner reads it from the last commit
        let changelog = self.changelog.clone();
        // the topic whose partitions the state is kept by
        let operator_topic = self.inputs[0].topic.clone();
        for input in &mut self.inputs {
            for p in 0..input.positions.len() {
                if had(&input.topic, p) && !owns(&assigned, &input.topic, p) {
                    // reading goes back to where processing stands: should
                    // the partition come back with nothing committed for it
                    // (nobody processed it meanwhile), what was dropped here
                    // is read again, not skipped
                    let processed = input.slots[p].committed();
                    input.positions[p] = processed;
                    input.slots[p] = Slot::starting_at(processed);
                    if input.topic != operator_topic {
                        continue;
                    }
                    if let (Some(c), Some(a)) = (&changelog, self.operator.aggregate_mut()) {
                        a.drop_partition(p as i32);
                        c.forget(p as i32);
                    }
                }
            }
        }
        for input in &mut self.inputs {
            let gained: Vec<usize> = (0..input.positions.len())
                .filter(|p| {
                    owns(&assigned, &input.topic, *p)
                        && !matches!(&before, Ownership::Partitions(had) if owns(had, &input.topic, *p))
                })
                .collect();
            if gained.is_empty() {
                continue;
            }
            let committed = log.committed(&self.group, &input.topic)?;
            for p in gained {
                if let Some(o) = committed.get(p).copied().flatten() {
                    input.positions[p] = o;
                    input.slots[p] = Slot::starting_at(o);
                }
                // a gained partition's state comes from its store and
                // the tail of its changelog partition
                if let (Some(c), Some(a)) = (&changelog, self.operator.aggregate_mut()) {
                    if input.topic == operator_topic && self.share.is_none_or(|(k, n)| p % n == k) {
                        self.restored_records +=
                            c.open_partition(log, &self.state, &self.group, p as i32, true, a)?;
                    }
                }
            }
        }
        // the join's windows follow the partitions it reads (a first
        // assignment of every partition keeps what the start restored)
        let first = &self.inputs[0];
        let moved = match &before {
            Ownership::Partitions(had) => *had != assigned,
            _ => (0..first.positions.len()).any(|p| !owns(&assigned, &first.topic, p)),
        };
        // an owned partition is not idle (whatever happens before the
        // next look at idle stores)
        for (t, p) in &assigned {
            if *t == operator_topic {
                self.idle_since.remove(&(*p as usize));
            }
        }
        self.ownership = Ownership::Partitions(assigned);
        if moved {
            self.reload_join_windows(log)?;
        }
        Ok(())
    }

    /// The input of a stream-table join that only looks the table up (the
    /// stream): it builds no state, so a restart does not replay it.
    fn lookup_only_input(&self) -> Option<usize> {
        match (&self.plan, &self.operator) {
            (QueryPlan::Join(j), Operator::Join(_))
                if j.nested.is_none()
                    && j.left.source.kind == sluice_sql::SourceKind::Stream
                    && j.right.source.kind == sluice_sql::SourceKind::Table =>
            {
                Some(0)
            }
            _ => None,
        }
    }

    /// What the task read from each of its source topics so far.
    pub fn topic_counters(&self) -> Vec<(String, TopicCounters)> {
        self.inputs
            .iter()
            .map(|i| (i.topic.clone(), i.counters.clone()))
            .collect()
    }

    /// Makes this task the k-th of n tasks of its query (see `share`).
    pub fn with_share(mut self, k: usize, n: usize) -> Self {
        self.share = (n > 1).then_some((k, n));
        self
    }

    /// Whether the task keeps state between batches (it then runs as one
    /// task reading every partition, unless its plan keeps that state by the
    /// sources' keys: `QueryPlan::is_partition_local`).
    pub fn is_stateful(&self) -> bool {
        self.operator.is_stateful()
    }

    /// Whether this task reads partition `p` of input `i` now.
    fn reads(&self, i: usize, p: usize) -> bool {
        if self.share.is_some_and(|(k, n)| p % n != k) {
            return false;
        }
        match &self.ownership {
            Ownership::All => true,
            Ownership::Whole(owner) => *owner,
            Ownership::Partitions(owned) => owns(owned, &self.inputs[i].topic, p),
        }
    }

    /// Drop output rows that stand for records without a value (before LIMIT
    /// counts them): what a client of a push query over a stream sees.
    pub fn set_skip_tombstones(&mut self, skip: bool) {
        self.skip_tombstones = skip;
    }

    /// Drop the records read whose `key_columns` leading key columns are
    /// all NULL (no key), before anything counts them: what ksqlDB's
    /// scalable push queries skip.
    pub fn set_skip_unkeyed(&mut self, key_columns: usize) {
        self.skip_unkeyed = key_columns;
    }

    /// Name the task's consumer group for a service, as ksqlDB does:
    /// `_confluent-ksql-<ksql.service.id>query_<query id>`.
    pub fn with_service_id(mut self, service_id: &str) -> Self {
        self.group = query_group(service_id, &self.id);
        self
    }

    /// Reads up to `max` records from each partition of every source that
    /// has nothing read left, processes what it read in time order (see
    /// [`crate::order`]), then writes the output and commits where each
    /// partition stands, at once. Zero consumed and processed: caught up.
    pub fn poll(&mut self, log: &dyn Log, max: usize) -> Result<Progress, RuntimeError> {
        let mut progress = Progress::default();
        if self.is_done() {
            return Ok(progress);
        }
        self.refresh_ownership(log)?;
        self.sync_partitions(log)?;
        self.read(log, max, &mut progress)?;
        let repartitioned = self.repartition_read(log, &mut progress)?;
        let ordered = self.operator.is_stateful();
        let mut outputs = Vec::new();
        let mut slots: Vec<Vec<Slot>> = self
            .inputs
            .iter_mut()
            .map(|i| std::mem::take(&mut i.slots))
            .collect();
        let processed = self.process_in_order(&mut slots, ordered, &mut outputs, &mut progress);
        for (input, s) in self.inputs.iter_mut().zip(slots) {
            input.slots = s;
        }
        processed?;
        self.deliver(log, outputs, repartitioned)?;
        self.purge_repartition(log, !progress.did_work());
        self.catch_up_standbys(log);
        self.clean_idle_stores();
        // caught up: checkpoints move to the changelog's end, and the
        // stores write out what they buffer
        if let (false, Some(c), Some(a)) = (
            progress.did_work(),
            &self.changelog,
            self.operator.aggregate_mut(),
        ) {
            if c.save_checkpoints(log, true, a)? {
                a.flush_stores()?;
            }
        }
        Ok(progress)
    }

    /// Reads the partitions this process owns that have nothing read left.
    fn read(
        &mut self,
        log: &dyn Log,
        max: usize,
        progress: &mut Progress,
    ) -> Result<(), RuntimeError> {
        for i in 0..self.inputs.len() {
            for p in 0..self.inputs[i].positions.len() {
                let reads = self.reads(i, p);
                let input = &mut self.inputs[i];
                let slot = &mut input.slots[p];
                if !reads {
                    // not ours: nothing to wait for
                    slot.pending = None;
                    slot.caught_up = true;
                    continue;
                }
                if slot.remaining() > 0 {
                    continue;
                }
                let records = match log.fetch(&input.topic, p as i32, input.positions[p], max) {
                    Err(LogError::OffsetOutOfRange { offset, .. }) => {
                        // retention deleted the records: go on from where the
                        // reset policy says, as a Kafka consumer does
                        let starts = log.start_offsets(&input.topic)?;
                        let ends = log.end_offsets(&input.topic)?;
                        let to = match input.reset(self.reset) {
                            OffsetReset::Earliest => starts.get(p).copied().unwrap_or(0),
                            OffsetReset::Latest => ends.get(p).copied().unwrap_or(0),
                        };
                        tracing::warn!(
                            "query {}: offset {offset} of {}-{p} is out of range; reading on from {to}",
                            self.id,
                            input.topic
                        );
                        input.positions[p] = to;
                        continue;
                    }
                    other => other?,
                };
                slot.caught_up = records.is_empty();
                let Some(last) = records.last() else {
                    continue;
                };
                let next = last.offset + 1;
                let replaying = records[0].offset < slot.replay_until;
                progress.consumed += records.len();
                input.counters.records += records.len() as u64;
                input.counters.bytes += records
                    .iter()
                    .map(|r| {
                        r.record.key.as_ref().map_or(0, Vec::len)
                            + r.record.value.as_ref().map_or(0, Vec::len)
                    })
                    .sum::<usize>() as u64;
                input.counters.last_read_ms = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis() as i64);
                let decoded = input.reader.decode(&records)?;
                // bad records were logged when first read
                for s in decoded.skipped.into_iter().filter(|_| !replaying) {
                    self.processing_log.record(ProcessingLogEntry {
                        query_id: self.id.clone(),
                        topic: input.topic.clone(),
                        partition: s.partition,
                        offset: s.offset,
                        message: s.message,
                        target: s.target,
                    });
                }
                let mut rows = input.stripped(decoded.batch)?;
                if self.skip_unkeyed > 0 {
                    rows = without_null_keys(rows, self.skip_unkeyed)?;
                }
                input.slots[p].pending = Some(Pending::new(rows, next)?);
                input.positions[p] = next;
            }
        }
        Ok(())
    }

    /// Runs the operator over what was read, group by group in time order,
    /// collecting the output rows (replayed rows rebuild state only).
    fn process_in_order(
        &mut self,
        slots: &mut [Vec<Slot>],
        ordered: bool,
        outputs: &mut Vec<RecordBatch>,
        progress: &mut Progress,
    ) -> Result<(), RuntimeError> {
        // a join's results are assembled once at the end of the poll (it is
        // often handed one record at a time), unless a LIMIT counts them
        let deferred = self.limit.is_none() && matches!(self.operator, Operator::Join(_));
        // what another query left on this thread is not this one's
        sluice_functions::user::take_row_errors();
        let processed = self.process_groups(slots, ordered, deferred, outputs, progress);
        if let Operator::Join(j) = &mut self.operator {
            if processed.is_err() {
                j.discard_pending();
            } else if deferred {
                let out = j.flush()?;
                self.log_row_errors(None, false);
                self.emit(out, outputs, progress)?;
            }
        }
        processed
    }

    fn process_groups(
        &mut self,
        slots: &mut [Vec<Slot>],
        ordered: bool,
        deferred: bool,
        outputs: &mut Vec<RecordBatch>,
        progress: &mut Progress,
    ) -> Result<(), RuntimeError> {
        while let Some(group) = crate::order::next_group(slots, ordered)? {
            progress.processed += group.len;
            if let (Operator::Join(j), true, false) =
                (&mut self.operator, deferred, group.replaying)
            {
                // a run of one partition's rows: the join evaluates the batch
                // they were read in once, not every run of it
                let parent = group
                    .origin
                    .and_then(|(p, first)| Some((slots[group.input][p].batch()?, first)));
                match parent {
                    Some((batch, first)) => {
                        j.push_rows(group.input, batch, first..first + group.len)?
                    }
                    None => j.push(group.input, &group.rows(slots)?)?,
                }
                self.log_row_errors(Some(&group), group.replaying);
                continue;
            }
            let out = self.operator.process(group.input, &group.rows(slots)?)?;
            self.log_row_errors(Some(&group), group.replaying);
            if group.replaying {
                continue;
            }
            self.emit(out, outputs, progress)?;
            if self.is_done() {
                break;
            }
        }
        Ok(())
    }

    /// The rows user functions could not compute while `group` (or the
    /// poll's joined rows) was processed, into the processing log (not
    /// again when it is replayed).
    fn log_row_errors(&self, group: Option<&crate::order::Group>, replaying: bool) {
        let errors = sluice_functions::user::take_row_errors();
        if replaying {
            return;
        }
        let partition = group.and_then(|g| g.origin).map_or(-1, |(p, _)| p as i32);
        let input = group.map_or(0, |g| g.input);
        for message in errors {
            self.processing_log.record(ProcessingLogEntry {
                query_id: self.id.clone(),
                topic: self
                    .inputs
                    .get(input)
                    .map(|i| i.topic.clone())
                    .unwrap_or_default(),
                partition,
                offset: -1,
                message,
                target: None,
            });
        }
    }

    /// Hands `out` on to `outputs` (without tombstones if so asked, within
    /// the LIMIT).
    fn emit(
        &mut self,
        mut out: RecordBatch,
        outputs: &mut Vec<RecordBatch>,
        progress: &mut Progress,
    ) -> Result<(), RuntimeError> {
        if self.skip_tombstones {
            out = without_tombstones(out)?;
        }
        if let Some(limit) = self.limit {
            let room = (limit - self.emitted) as usize;
            if out.num_rows() > room {
                out = out.slice(0, room);
            }
        }
        self.emitted += out.num_rows() as u64;
        progress.produced += out.num_rows();
        if out.num_rows() > 0 {
            outputs.push(out);
        }
        Ok(())
    }

    /// A persistent query writes `outputs` and commits every partition that
    /// moved on in one atomic step; a transient one keeps the rows for its
    /// client.
    fn deliver(
        &mut self,
        log: &dyn Log,
        outputs: Vec<RecordBatch>,
        repartitioned: Vec<(String, Option<i32>, Record)>,
    ) -> Result<(), RuntimeError> {
        let windows = self.join_changelog_records();
        let sink = match &mut self.output {
            QueryOutput::Rows(rows) => {
                rows.extend(outputs);
                return Ok(());
            }
            QueryOutput::Topic(sink) => sink,
        };
        let mut offsets = Vec::new();
        for input in &self.inputs {
            for (p, slot) in input.slots.iter().enumerate() {
                if let Some(at) = slot.uncommitted() {
                    offsets.push((input.topic.clone(), p as i32, at));
                }
            }
        }
        let (changes, table_changes) = match (&self.changelog, self.operator.aggregate_mut()) {
            (Some(_), Some(a)) => (a.take_changes()?, a.take_table_changes()?),
            _ => (Vec::new(), Vec::new()),
        };
        let mut state: Vec<(String, Option<i32>, Record)> = Vec::new();
        if let Some(c) = &self.changelog {
            let record = |topic: &String, change: &crate::aggregate::StateChange| {
                (
                    topic.clone(),
                    Some(change.partition),
                    Record::new(Some(change.key.clone()), change.value.clone(), 0),
                )
            };
            state.extend(changes.iter().map(|change| record(&c.topic, change)));
            if let Some(table) = &c.table_topic {
                state.extend(table_changes.iter().map(|change| record(table, change)));
            }
        }
        state.extend(windows);
        state.extend(repartitioned);
        if offsets.is_empty() && outputs.is_empty() && state.is_empty() {
            return Ok(());
        }
        let batch = match outputs.len() {
            0 => RecordBatch::new_empty(self.operator.schema().clone()),
            1 => outputs.into_iter().next().expect("one batch"),
            _ => arrow::compute::concat_batches(self.operator.schema(), &outputs)?,
        };
        sink.write_and_commit(log, &batch, state, &self.group, &offsets)?;
        for input in &mut self.inputs {
            for slot in &mut input.slots {
                slot.mark_committed();
            }
        }
        if let (Some(c), Some(a)) = (&self.changelog, self.operator.aggregate_mut()) {
            c.committed(log, changes, table_changes, a)?;
        }
        Ok(())
    }
}

/// The consumer group of query `id` of a service, as ksqlDB names it:
/// `_confluent-ksql-<ksql.service.id>query_<query id>` (its internal topics'
/// names start with it).
pub fn query_group(service_id: &str, id: &str) -> String {
    format!("_confluent-ksql-{service_id}query_{id}")
}

/// Whether `assigned` holds partition `p` of `topic`.
fn owns(assigned: &[(String, i32)], topic: &str, p: usize) -> bool {
    assigned.iter().any(|(t, q)| t == topic && *q as usize == p)
}
