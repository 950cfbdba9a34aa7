//! The life of a persistent query once started: its state as ksqlDB reports
//! it (RUNNING, PAUSED, ERROR with its errors and retry count), its counters,
//! and how a failing query is retried with backoff without the others
//! noticing. Where its task runs is the scheduler's business
//! ([`crate::scheduler`]); this module only says what one step of it does.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use sluice_log::Log;
use sluice_runtime::{QueryTask, RuntimeError, TopicCounters};

use crate::error::EngineError;

/// How many records a task reads from a partition per poll.
pub const POLL_BATCH: usize = 8192;

/// At most this many errors are kept per query (newest last).
const ERRORS_KEPT: usize = 10;

/// How often a query's state figures (bytes in memory and in stores,
/// records restored) are taken.
const STATE_SAMPLE_INTERVAL: Duration = Duration::from_millis(500);

/// A persistent query's state, by ksqlDB's names (`KsqlQueryStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QueryState {
    #[default]
    Running,
    Paused,
    Error,
}

impl QueryState {
    pub fn name(self) -> &'static str {
        match self {
            QueryState::Running => "RUNNING",
            QueryState::Paused => "PAUSED",
            QueryState::Error => "ERROR",
        }
    }
}

/// One failure of a query (ksqlDB's `QueryError`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryFailure {
    pub message: String,
    /// Epoch milliseconds.
    pub at_ms: i64,
}

/// What a query's status says now; read it with [`QueryHandle::status`].
#[derive(Debug, Clone, Default)]
pub struct QueryStatus {
    pub state: QueryState,
    /// Its failures, oldest first (at most ten).
    pub errors: Vec<QueryFailure>,
    /// Failed attempts since it last ran cleanly.
    pub retries: u32,
    /// Input records read and output rows written since the server started.
    pub records_in: u64,
    pub records_out: u64,
    /// Bytes its operators hold in state (0 for stateless queries), as of
    /// its last poll.
    pub state_bytes: usize,
    /// Bytes its state stores hold (in memory, or on disk after
    /// compression), as of its last poll.
    pub stored_bytes: u64,
    /// Changelog records its tasks read back into their stores when they
    /// started or gained partitions.
    pub restored_records: u64,
    /// Changelog records its tasks read into warm copies of partitions
    /// other servers own (`num.standby.replicas`).
    pub standby_records: u64,
    /// The partitions other servers own that its tasks keep warm copies of
    /// now (as of their last catch-up), in order.
    pub standby_partitions: Vec<i32>,
    /// What it read from each source topic.
    pub topics: Vec<(String, TopicCounters)>,
    /// Input records per second, over the last few seconds.
    pub records_per_sec: f64,
    /// (epoch ms, records_in) at the start of the rate's window.
    rate_window: Option<(i64, u64)>,
    /// When the next attempt of a failed query runs.
    next_retry: Option<Instant>,
    /// When the state figures were last taken (walking a large state on
    /// every poll would cost more than the poll).
    state_sampled: Option<Instant>,
    /// Whether the query did work since the state figures were taken.
    state_changed: bool,
    /// The wait generation at the start of the last poll that found nothing to
    /// do (see [`crate::scheduler`]'s `wait_until_idle`).
    pub(crate) idle_epoch: u64,
    /// The wait generation when the last poll that did something ended.
    pub(crate) work_epoch: u64,
}

impl QueryStatus {
    /// Moves the input rate on: records read over the window, which restarts
    /// every five seconds.
    fn update_rate(&mut self, now_ms: i64) {
        const WINDOW_MS: i64 = 5_000;
        match self.rate_window {
            Some((since, from)) if now_ms - since >= WINDOW_MS => {
                let secs = (now_ms - since) as f64 / 1000.0;
                self.records_per_sec = (self.records_in - from) as f64 / secs;
                self.rate_window = Some((now_ms, self.records_in));
            }
            Some(_) => {}
            None => self.rate_window = Some((now_ms, self.records_in)),
        }
    }
}

/// The handle the engine keeps on a running query's status; the task's
/// runner holds the other end.
#[derive(Debug, Clone, Default)]
pub struct QueryHandle(Arc<Mutex<QueryStatus>>);

impl QueryHandle {
    /// A copy of the status now.
    pub fn status(&self) -> QueryStatus {
        self.lock().clone()
    }

    pub fn state(&self) -> QueryState {
        self.lock().state
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, QueryStatus> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// PAUSE: the task stops reading until resumed (its offsets stay
    /// committed where they are).
    pub(crate) fn pause(&self) {
        self.lock().state = QueryState::Paused;
    }

    /// RESUME: a paused query runs again; a failed one retries now.
    pub(crate) fn resume(&self) {
        let mut s = self.lock();
        if s.state == QueryState::Paused {
            s.state = QueryState::Running;
        }
        if s.state == QueryState::Error {
            s.next_retry = Some(Instant::now());
        }
    }
}

/// How a failing query is retried.
///
/// A failure of the Kafka cluster (unreachable, leadership moving) is what its
/// clients ride out, as Kafka Streams does for `task.timeout.ms` (5 min): the
/// task starts again from its last commit after a short pause (100 ms,
/// doubling up to 2 s) and the query stays RUNNING. Any other failure, or a
/// cluster failure lasting longer than that, puts the query in ERROR and it is
/// retried with ksqlDB's backoff: the first retry after
/// `ksql.query.retry.backoff.initial.ms` (15 s), each next one twice as late,
/// at most `ksql.query.retry.backoff.max.ms` (15 min).
#[derive(Debug, Clone, Copy)]
pub(crate) struct RetryPolicy {
    initial: Duration,
    max: Duration,
    task_timeout: Duration,
}

impl RetryPolicy {
    pub(crate) fn from_settings<'a>(property: impl Fn(&str) -> Option<&'a str> + Copy) -> Self {
        use crate::settings::{RETRY_BACKOFF_INITIAL_MS, RETRY_BACKOFF_MAX_MS, TASK_TIMEOUT_MS};
        let ms = |s: &crate::settings::Setting| {
            Duration::from_millis(s.parsed_in(property).unwrap_or_default())
        };
        RetryPolicy {
            initial: ms(&RETRY_BACKOFF_INITIAL_MS),
            max: ms(&RETRY_BACKOFF_MAX_MS),
            task_timeout: ms(&TASK_TIMEOUT_MS),
        }
    }

    fn delay(&self, retries: u32) -> Duration {
        backoff(self.initial, retries).min(self.max)
    }

    fn transient_delay(attempts: u32) -> Duration {
        backoff(Duration::from_millis(100), attempts).min(Duration::from_secs(2))
    }
}

/// `first`, doubled for each attempt after the first.
fn backoff(first: Duration, attempt: u32) -> Duration {
    first.saturating_mul(1u32 << attempt.saturating_sub(1).min(20))
}

/// A query's task with its status: the unit a scheduler runs.
pub(crate) struct Runnable {
    pub(crate) id: String,
    task: QueryTask,
    handle: QueryHandle,
    retry: RetryPolicy,
    /// After a failure the task starts afresh from its committed offsets.
    needs_restart: bool,
    /// Since when the cluster has been failing the task, and how often.
    transient_since: Option<Instant>,
    transient_attempts: u32,
}

/// What one step of a query did.
pub(crate) enum Step {
    /// It read this many records (0: caught up, paused or waiting to retry).
    Ran(usize),
    /// It failed; it is in ERROR until its retry.
    Failed(EngineError),
}

impl Runnable {
    /// The `index`-th task of its query.
    pub(crate) fn new(
        task: QueryTask,
        index: usize,
        handle: QueryHandle,
        retry: RetryPolicy,
    ) -> Self {
        Runnable {
            id: task_key(&task.id, index),
            task,
            handle,
            retry,
            needs_restart: false,
            transient_since: None,
            transient_attempts: 0,
        }
    }

    pub(crate) fn handle(&self) -> &QueryHandle {
        &self.handle
    }

    /// Poll the task once, unless it is paused or waiting for its retry (see
    /// [`RetryPolicy`] for what a failure does).
    pub(crate) fn step(&mut self, log: &dyn Log) -> Step {
        {
            let s = self.handle.lock();
            if s.state == QueryState::Paused || s.next_retry.is_some_and(|at| Instant::now() < at) {
                return Step::Ran(0);
            }
        }
        let polled = if self.needs_restart {
            self.task
                .restart(log)
                .and_then(|()| self.task.poll(log, POLL_BATCH))
        } else {
            self.task.poll(log, POLL_BATCH)
        };
        match polled {
            Ok(progress) => {
                self.needs_restart = false;
                self.transient_since = None;
                self.transient_attempts = 0;
                let mut s = self.handle.lock();
                if s.state == QueryState::Error {
                    tracing::info!(query = %self.id, "query recovered after {} retries", s.retries);
                    s.state = QueryState::Running;
                }
                s.retries = 0;
                s.next_retry = None;
                s.records_in += progress.consumed as u64;
                s.records_out += progress.produced as u64;
                // taken when the query caught up, else at most every interval
                let caught_up = !progress.did_work();
                let due = s
                    .state_sampled
                    .is_none_or(|t| t.elapsed() >= STATE_SAMPLE_INTERVAL);
                s.state_changed |= progress.did_work() || s.state_sampled.is_none();
                if s.state_changed && (caught_up || due) {
                    s.state_changed = false;
                    s.state_sampled = Some(Instant::now());
                    s.state_bytes = self.task.state_bytes();
                    s.stored_bytes = self.task.stored_bytes();
                }
                s.restored_records = self.task.restored_records();
                s.standby_records = self.task.standby_records();
                s.standby_partitions = self.task.standby_partitions().to_vec();
                if progress.consumed > 0 {
                    s.topics = self.task.topic_counters();
                }
                s.update_rate(now_ms());
                Step::Ran(progress.consumed + progress.processed)
            }
            Err(e) => {
                let error = EngineError::from(e);
                self.needs_restart = true;
                if error.is_transient() {
                    let since = *self.transient_since.get_or_insert_with(Instant::now);
                    if since.elapsed() < self.retry.task_timeout {
                        self.transient_attempts += 1;
                        let delay = RetryPolicy::transient_delay(self.transient_attempts);
                        self.handle.lock().next_retry = Some(Instant::now() + delay);
                        tracing::warn!(query = %self.id, "retrying in {delay:?}: {error}");
                        return Step::Failed(error);
                    }
                }
                // a record the query could not process stops it, as Kafka
                // Streams stops a task ("Exception caught in process")
                let error = match error {
                    EngineError::Runtime(
                        e @ (RuntimeError::Expr(_)
                        | RuntimeError::Arrow(_)
                        | RuntimeError::Format(_)
                        | RuntimeError::Plan(_)),
                    ) => EngineError::statement(format!(
                        "Exception caught in process. query={}: {e}",
                        self.id
                    )),
                    other => other,
                };
                let mut s = self.handle.lock();
                s.state = QueryState::Error;
                s.retries += 1;
                let delay = self.retry.delay(s.retries);
                s.next_retry = Some(Instant::now() + delay);
                if s.errors.len() >= ERRORS_KEPT {
                    s.errors.remove(0);
                }
                s.errors.push(QueryFailure {
                    message: error.to_string(),
                    at_ms: now_ms(),
                });
                tracing::error!(
                    query = %self.id,
                    "query failed (attempt {}), retrying in {delay:?}: {error}",
                    s.retries
                );
                Step::Failed(error)
            }
        }
    }

    pub(crate) fn mark_idle(&self, epoch: u64) {
        self.handle.lock().idle_epoch = epoch;
    }

    pub(crate) fn mark_worked(&self, epoch: u64) {
        self.handle.lock().work_epoch = epoch;
    }
}

/// A task's key in a scheduler: its query's id and its index.
pub(crate) fn task_key(query_id: &str, index: usize) -> String {
    format!("{query_id}/{index}")
}

/// Whether scheduler key `key` is a task of query `query_id`.
pub(crate) fn is_task_of(key: &str, query_id: &str) -> bool {
    key.strip_prefix(query_id)
        .is_some_and(|rest| rest.starts_with('/'))
}

/// The status of a query run as several tasks, one by one merged: ERROR if
/// any task failed, PAUSED if all are paused, RUNNING otherwise; counters
/// summed; errors of every task, oldest first.
pub fn merged_status(handles: &[QueryHandle]) -> QueryStatus {
    let statuses: Vec<QueryStatus> = handles.iter().map(QueryHandle::status).collect();
    let state = if statuses.iter().any(|s| s.state == QueryState::Error) {
        QueryState::Error
    } else if !statuses.is_empty() && statuses.iter().all(|s| s.state == QueryState::Paused) {
        QueryState::Paused
    } else {
        QueryState::Running
    };
    let mut merged = QueryStatus {
        state,
        ..QueryStatus::default()
    };
    for s in statuses {
        merged.records_per_sec += s.records_per_sec;
        for (topic, c) in s.topics {
            match merged.topics.iter_mut().find(|(t, _)| *t == topic) {
                Some((_, m)) => {
                    m.records += c.records;
                    m.bytes += c.bytes;
                    m.last_read_ms = m.last_read_ms.max(c.last_read_ms);
                }
                None => merged.topics.push((topic, c)),
            }
        }
        merged.errors.extend(s.errors);
        merged.retries = merged.retries.max(s.retries);
        merged.records_in += s.records_in;
        merged.records_out += s.records_out;
        merged.state_bytes += s.state_bytes;
        merged.stored_bytes += s.stored_bytes;
        merged.restored_records += s.restored_records;
        merged.standby_records += s.standby_records;
        merged.standby_partitions.extend(s.standby_partitions);
    }
    merged.standby_partitions.sort_unstable();
    merged.errors.sort_by_key(|e| e.at_ms);
    merged
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// The states of a set of queries counted by name, as `statusCount` shows them.
pub fn state_counts<'a>(states: impl IntoIterator<Item = QueryState>) -> BTreeMap<&'a str, usize> {
    let mut counts = BTreeMap::new();
    for s in states {
        *counts.entry(s.name()).or_default() += 1;
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_maximum() {
        let p = RetryPolicy {
            initial: Duration::from_millis(100),
            max: Duration::from_millis(500),
            task_timeout: Duration::from_secs(1),
        };
        assert_eq!(p.delay(1), Duration::from_millis(100));
        assert_eq!(p.delay(2), Duration::from_millis(200));
        assert_eq!(p.delay(3), Duration::from_millis(400));
        assert_eq!(p.delay(4), Duration::from_millis(500));
        assert_eq!(p.delay(60), Duration::from_millis(500));
    }

    #[test]
    fn retry_settings_come_from_ksqldb_properties() {
        let p = RetryPolicy::from_settings(|k| {
            (k == "ksql.query.retry.backoff.initial.ms").then_some("250")
        });
        assert_eq!(p.delay(1), Duration::from_millis(250));
        assert_eq!(p.max, Duration::from_secs(900));
        assert_eq!(p.task_timeout, Duration::from_secs(300));
        assert_eq!(RetryPolicy::transient_delay(1), Duration::from_millis(100));
        assert_eq!(RetryPolicy::transient_delay(9), Duration::from_secs(2));
    }
}
