//! A task's thread: the source loop (the task polls on it while a writer
//! thread of its own converts the last batch and writes it with its source
//! offsets in one `produce_and_commit`) and the sink loop (read the group's
//! partitions, convert, hand to the task, commit the last batch's offsets
//! once the task says it is written), with the backoff that retries what
//! can heal.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value as Json};
use sluice_log::{Log, LogError, Record, TopicSpec};

use super::{lock, Control, Shared, SkippedRecord, State};
use crate::config::ConnectorConfig;
use crate::convert::{converter_for, Converter};
use crate::data::Schema;
use crate::error::{ConnectError, Result};
use crate::plugin::{default_converter, ConnectorType, Plugin};
use crate::record::{ConnectRecord, SinkRecord, SourceRecord};
use crate::task::{SourceTask, TaskContext};
use crate::transform::{transforms, Chain};

/// One task's thread.
pub(super) struct TaskRunner {
    pub(super) shared: Arc<Shared>,
    pub(super) control: Arc<Control>,
    pub(super) name: String,
    pub(super) config: ConnectorConfig,
    pub(super) plugin: Plugin,
    pub(super) id: usize,
    pub(super) tasks: usize,
}

/// What a task keeps between batches: its converters and transforms.
struct Pipeline {
    key: Box<dyn Converter>,
    value: Box<dyn Converter>,
    transforms: Chain,
    /// The key and value schemas decoded last, shared by the records that
    /// decode to the same.
    decoded: [Option<Arc<Schema>>; 2],
    tolerate: bool,
}

impl TaskRunner {
    fn set_state(&self, state: State, trace: Option<String>) {
        let mut tasks = lock(&self.control.tasks);
        if let Some(t) = tasks.get_mut(self.id) {
            t.state = state;
            t.trace = trace;
        }
    }

    fn stopping(&self) -> bool {
        self.control.stop.load(Ordering::Relaxed)
    }

    fn pipeline(&self) -> Result<Pipeline> {
        let defaults = &self.shared.config.defaults;
        Ok(Pipeline {
            key: converter_for(
                "key",
                &self.config,
                defaults,
                default_converter("key"),
                self.shared.config.registries.as_ref(),
            )?,
            value: converter_for(
                "value",
                &self.config,
                defaults,
                default_converter("value"),
                self.shared.config.registries.as_ref(),
            )?,
            transforms: Chain::new(transforms(&self.config)?),
            decoded: [None, None],
            tolerate: self
                .config
                .choice("errors.tolerance", &["none", "all"], "none")?
                == "all",
        })
    }

    /// Runs the task until stopped; a failure is shown as the task's state
    /// and tried again after a backoff (1 s, doubling up to a minute) when
    /// trying again can help.
    pub(super) fn run(self) {
        let mut backoff = Duration::from_secs(1);
        while !self.stopping() {
            let result = match self.plugin.kind() {
                ConnectorType::Source => self.run_source(),
                ConnectorType::Sink => self.run_sink(),
            };
            match result {
                Ok(()) => break,
                Err(e) => {
                    tracing::warn!("connector {} task {} failed: {e}", self.name, self.id);
                    self.set_state(State::Failed, Some(e.to_string()));
                    if !e.retriable() {
                        break;
                    }
                    let until = Instant::now() + backoff;
                    while !self.stopping() && Instant::now() < until {
                        std::thread::sleep(Duration::from_millis(50));
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(60));
                }
            }
        }
    }

    /// Whether this server runs the task now (on a shared log, the member
    /// its group gives the offsets topic's partition to).
    fn owned_here(&self) -> Result<bool> {
        let group = format!("connect-{}-task-{}", self.name, self.id);
        let topics = [self.shared.config.offsets_topic.clone()];
        Ok(match self.shared.log.assigned(&group, &topics)? {
            None => true,
            Some(parts) => !parts.is_empty(),
        })
    }

    /// Waits while paused (or not this server's); false when stopping.
    fn wait_turn(&self, owned: impl Fn() -> Result<bool>) -> Result<bool> {
        loop {
            if self.stopping() {
                return Ok(false);
            }
            if self.control.paused.load(Ordering::Relaxed) {
                self.set_state(State::Paused, None);
            } else if !owned()? {
                self.set_state(State::Unassigned, None);
            } else {
                return Ok(true);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn run_source(&self) -> Result<()> {
        let log = &self.shared.log;
        let offsets_topic = &self.shared.config.offsets_topic;
        ensure_topic(
            log.as_ref(),
            &TopicSpec::new(offsets_topic, 1).with_config("cleanup.policy", "compact"),
        )?;
        let group = format!("connect-{}", self.name);
        while !self.owned_here()? {
            if !self.wait_turn(|| self.owned_here())? {
                return Ok(());
            }
        }
        log.fence(&group)?;
        let offsets = read_offsets(log.as_ref(), offsets_topic, &self.name)?;
        let ctx = TaskContext::new(self.control.stop.clone(), offsets);
        let mut pipeline = self.pipeline()?;
        let mut task = self
            .plugin
            .start_source(&self.config, self.id, self.tasks, &ctx)?;
        // the task polls its next batch while the last one is converted and
        // written on a thread of its own (as Connect's producer sends while
        // the task polls): a batch's offsets are still written with its
        // records, and a batch polled but never written is polled again
        // after a restart, its offsets not being stored
        let (to_writer, batches) = std::sync::mpsc::sync_channel::<Vec<SourceRecord>>(1);
        let halt = ctx.halt();
        std::thread::scope(|scope| {
            let writer = std::thread::Builder::new()
                .name(format!("connect-{}-{}-write", self.name, self.id))
                .spawn_scoped(scope, move || {
                    // however the writer ends (a failure, a panic), the
                    // task stops polling
                    struct Halt(Arc<std::sync::atomic::AtomicBool>);
                    impl Drop for Halt {
                        fn drop(&mut self) {
                            self.0.store(true, Ordering::Relaxed);
                        }
                    }
                    let _halt = Halt(halt);
                    let mut known_topics = BTreeSet::new();
                    for records in batches {
                        self.write_source(&mut pipeline, records, &group, &mut known_topics)?;
                    }
                    Ok(())
                })
                .map_err(|e| ConnectError::task(format!("starting a task's writer: {e}")))?;
            let polled = self.poll_source(task.as_mut(), &ctx, &to_writer);
            drop(to_writer);
            let written = writer
                .join()
                .unwrap_or_else(|_| Err(ConnectError::task("the task's writer panicked")));
            // the writer's failure first: the poll loop stops because of it
            written.and(polled)
        })
    }

    /// Polls the task and hands its batches to the writer until stopped
    /// (or the writer stops taking them).
    fn poll_source(
        &self,
        task: &mut dyn SourceTask,
        ctx: &TaskContext,
        to_writer: &std::sync::mpsc::SyncSender<Vec<SourceRecord>>,
    ) -> Result<()> {
        let mut last_owned_check = Instant::now();
        loop {
            let check = last_owned_check.elapsed() > Duration::from_secs(1);
            if check {
                last_owned_check = Instant::now();
            }
            if ctx.stopping()
                || !self.wait_turn(|| if check { self.owned_here() } else { Ok(true) })?
                || ctx.stopping()
            {
                return Ok(());
            }
            self.set_state(State::Running, None);
            let records = task.poll(ctx)?;
            if records.is_empty() {
                continue;
            }
            if to_writer.send(records).is_err() {
                // the writer stopped: it says why
                return Ok(());
            }
        }
    }

    /// Converts and writes a source batch with its offsets in one
    /// `produce_and_commit`.
    fn write_source(
        &self,
        pipeline: &mut Pipeline,
        records: Vec<SourceRecord>,
        group: &str,
        known_topics: &mut BTreeSet<String>,
    ) -> Result<()> {
        let log = &self.shared.log;
        let now = now_ms();
        let mut produce = Vec::with_capacity(records.len() + 1);
        // the latest offset of each source partition (a batch's records
        // mostly share one: compared with the last one seen first)
        let mut offsets: Vec<(Arc<Json>, Json)> = Vec::new();
        for r in records {
            let SourceRecord {
                partition,
                offset,
                record,
            } = r;
            if !offset.is_null() {
                match offsets
                    .iter_mut()
                    .rev()
                    .find(|(p, _)| Arc::ptr_eq(p, &partition) || *p == partition)
                {
                    Some(entry) => entry.1 = offset,
                    None => offsets.push((partition, offset)),
                }
            }
            let converted = pipeline.transforms.apply(record).and_then(|rec| {
                let key = pipeline
                    .key
                    .encode(&rec.topic, rec.key_schema.as_deref(), &rec.key)?;
                let value =
                    pipeline
                        .value
                        .encode(&rec.topic, rec.value_schema.as_deref(), &rec.value)?;
                Ok((rec, key, value))
            });
            let (rec, key, value) = match converted {
                Ok(c) => c,
                Err(e) if pipeline.tolerate => {
                    self.report(String::new(), -1, -1, e.to_string());
                    continue;
                }
                Err(e) => return Err(e),
            };
            if !known_topics.contains(&rec.topic) {
                // a topic no config names (a JDBC table found later): one
                // partition, as a broker's default
                ensure_topic(log.as_ref(), &TopicSpec::new(&rec.topic, 1))?;
                known_topics.insert(rec.topic.clone());
                lock(&self.control.topics).insert(rec.topic.clone());
            }
            let mut record = Record::new(key, value, rec.timestamp.unwrap_or(now));
            record.headers = rec.headers;
            produce.push((rec.topic, rec.partition, record));
        }
        for (partition, offset) in offsets {
            let key = json!([self.name, *partition]).to_string().into_bytes();
            produce.push((
                self.shared.config.offsets_topic.clone(),
                Some(0),
                Record::new(Some(key), Some(offset.to_string().into_bytes()), now),
            ));
        }
        log.produce_and_commit(produce, group, &[])?;
        Ok(())
    }

    fn report(&self, topic: String, partition: i32, offset: i64, message: String) {
        let reporter = lock(&self.shared.reporter).clone();
        let skipped = SkippedRecord {
            connector: self.name.clone(),
            topic,
            partition,
            offset,
            message,
        };
        match reporter {
            Some(r) => r(skipped),
            None => tracing::warn!(
                "connector {} skipped a record: {}",
                self.name,
                skipped.message
            ),
        }
    }

    /// The topics the sink reads now (`topics`, or those `topics.regex` matches).
    fn sink_topics(&self) -> Result<Vec<String>> {
        let listed = self.config.list("topics");
        if !listed.is_empty() {
            return Ok(listed);
        }
        let pattern = self.config.get("topics.regex").unwrap_or_default();
        let re = crate::plugin::regex_lite(pattern)
            .map_err(|e| ConnectError::config("topics.regex", e))?;
        Ok(self
            .shared
            .log
            .list_topics()?
            .into_iter()
            .filter(|t| !t.starts_with('_') && re.is_match(t))
            .collect())
    }

    /// This task's partitions of `topics`: what the group assigns this server
    /// (all on a log without groups), split over the connector's tasks.
    fn sink_partitions(&self, group: &str, topics: &[String]) -> Result<Vec<(String, i32)>> {
        let log = &self.shared.log;
        let mut parts = match log.assigned(group, topics)? {
            Some(p) => p,
            None => {
                let mut all = Vec::new();
                for t in topics {
                    if !log.topic_exists(t)? {
                        continue;
                    }
                    let n = log.end_offsets(t)?.len() as i32;
                    all.extend((0..n).map(|p| (t.clone(), p)));
                }
                all
            }
        };
        parts.sort();
        Ok(parts
            .into_iter()
            .enumerate()
            .filter(|(i, _)| i % self.tasks == self.id)
            .map(|(_, p)| p)
            .collect())
    }

    fn run_sink(&self) -> Result<()> {
        let log = self.shared.log.clone();
        let group = format!("connect-{}", self.name);
        let mut pipeline = self.pipeline()?;
        let mut task = self.plugin.start_sink(&self.config)?;
        let mut positions: HashMap<(String, i32), i64> = HashMap::new();
        let mut topics = Vec::new();
        let mut last_refresh: Option<Instant> = None;
        // the offsets of the batch `put` last took: committed once the task
        // says it is written (`flush_and_put` of the next batch, or `flush`;
        // a task may write it while the next batch is read and converted)
        let mut uncommitted: Vec<(String, i32, i64)> = Vec::new();
        loop {
            if !self.wait_turn(|| Ok(true))? {
                return Ok(());
            }
            self.set_state(State::Running, None);
            if last_refresh.is_none_or(|t| t.elapsed() > Duration::from_secs(5)) {
                topics = self.sink_topics()?;
                *lock(&self.control.topics) = topics.iter().cloned().collect();
                last_refresh = Some(Instant::now());
            }
            let parts = self.sink_partitions(&group, &topics)?;
            positions.retain(|k, _| parts.contains(k));
            let mut batch = Vec::new();
            let mut commits = Vec::new();
            for (topic, p) in &parts {
                let pos = match positions.get(&(topic.clone(), *p)) {
                    Some(pos) => *pos,
                    None => {
                        // Connect's sink consumers start at the earliest offset
                        let committed = log
                            .committed(&group, topic)?
                            .get(*p as usize)
                            .copied()
                            .flatten();
                        let start = log
                            .start_offsets(topic)?
                            .get(*p as usize)
                            .copied()
                            .unwrap_or(0);
                        committed.unwrap_or(start).max(start)
                    }
                };
                let fetched = match log.fetch(topic, *p, pos, 500) {
                    Ok(f) => f,
                    Err(LogError::OffsetOutOfRange { .. }) => {
                        sluice_log::fetch_stored(log.as_ref(), topic, *p, pos, 500)?
                    }
                    Err(e) => return Err(e.into()),
                };
                let next = fetched.last().map_or(pos, |r| r.offset + 1);
                for stored in fetched {
                    match self.sink_record(&mut pipeline, &stored) {
                        Ok(r) => batch.push(r),
                        Err((stage, e)) if pipeline.tolerate => {
                            self.dead_letter(&stored, stage, &e)?;
                            self.report(
                                stored.topic.to_string(),
                                stored.partition,
                                stored.offset,
                                e.to_string(),
                            )
                        }
                        Err((_, e)) => {
                            return Err(ConnectError::conversion(format!(
                                "{e} (topic {}, partition {}, offset {})",
                                stored.topic, stored.partition, stored.offset
                            )))
                        }
                    }
                }
                positions.insert((topic.clone(), *p), next);
                if next != pos {
                    commits.push((topic.clone(), *p, next));
                }
            }
            if commits.is_empty() && uncommitted.is_empty() {
                std::thread::sleep(Duration::from_millis(100));
                continue;
            }
            // the last batch's offsets, committed as soon as the task says
            // it is written (it may prepare this one meanwhile), whatever
            // becomes of this one
            let mut flushed = || -> Result<()> {
                if !uncommitted.is_empty() {
                    log.commit(&group, &uncommitted)?;
                }
                Ok(())
            };
            if batch.is_empty() {
                task.flush()?;
                flushed()?;
            } else {
                task.flush_and_put(batch, &mut flushed)?;
            }
            uncommitted = commits;
        }
    }

    fn sink_record(
        &self,
        pipeline: &mut Pipeline,
        stored: &sluice_log::StoredRecord,
    ) -> std::result::Result<SinkRecord, (&'static str, ConnectError)> {
        let r = &stored.record;
        let at = |stage: &'static str| move |e: ConnectError| (stage, e);
        let (key_schema, key) = pipeline
            .key
            .decode(&stored.topic, r.key.as_deref())
            .map_err(at("KEY_CONVERTER"))?;
        let (value_schema, value) = pipeline
            .value
            .decode(&stored.topic, r.value.as_deref())
            .map_err(at("VALUE_CONVERTER"))?;
        let record = ConnectRecord {
            topic: stored.topic.to_string(),
            partition: Some(stored.partition),
            key_schema: shared(&mut pipeline.decoded[0], key_schema),
            key,
            value_schema: shared(&mut pipeline.decoded[1], value_schema),
            value,
            timestamp: Some(r.timestamp),
            headers: r.headers.clone(),
        };
        Ok(SinkRecord {
            offset: stored.offset,
            record: pipeline
                .transforms
                .apply(record)
                .map_err(at("TRANSFORMATION"))?,
        })
    }

    /// Writes a record the sink could not take to the dead letter queue
    /// (`errors.deadletterqueue.topic.name`), as it was read, with Connect's
    /// `__connect.errors.*` headers when
    /// `errors.deadletterqueue.context.headers.enable` is true.
    fn dead_letter(
        &self,
        stored: &sluice_log::StoredRecord,
        stage: &str,
        error: &ConnectError,
    ) -> Result<()> {
        let Some(topic) = self
            .config
            .get("errors.deadletterqueue.topic.name")
            .map(str::trim)
            .filter(|t| !t.is_empty())
        else {
            return Ok(());
        };
        let log = &self.shared.log;
        ensure_topic(log.as_ref(), &TopicSpec::new(topic, 1))?;
        let mut record = stored.record.clone();
        if self
            .config
            .boolean("errors.deadletterqueue.context.headers.enable", false)?
        {
            let header = |k: &str, v: String| sluice_log::Header::new(k, Some(v.into_bytes()));
            record.headers.extend([
                header("__connect.errors.topic", stored.topic.to_string()),
                header("__connect.errors.partition", stored.partition.to_string()),
                header("__connect.errors.offset", stored.offset.to_string()),
                header("__connect.errors.connector.name", self.name.clone()),
                header("__connect.errors.task.id", self.id.to_string()),
                header("__connect.errors.stage", stage.to_string()),
                header("__connect.errors.exception.message", error.to_string()),
            ]);
        }
        log.produce(topic, vec![(None, record)])?;
        Ok(())
    }
}

/// `schema` as an `Arc`: the one in `memo` when equal, else a new one kept there.
fn shared(memo: &mut Option<Arc<Schema>>, schema: Option<Schema>) -> Option<Arc<Schema>> {
    let schema = schema?;
    match memo {
        Some(m) if **m == schema => Some(m.clone()),
        _ => {
            let s = Arc::new(schema);
            *memo = Some(s.clone());
            Some(s)
        }
    }
}

pub(super) fn ensure_topic(log: &dyn Log, spec: &TopicSpec) -> Result<()> {
    if log.topic_exists(&spec.name)? {
        return Ok(());
    }
    match log.create_topic(spec) {
        Ok(()) | Err(LogError::TopicExists(_)) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// The latest offset of each source partition of `connector` in the offsets
/// topic (keys `["<connector>", <partition>]`).
fn read_offsets(log: &dyn Log, topic: &str, connector: &str) -> Result<HashMap<String, Json>> {
    let mut out = HashMap::new();
    let end = log.end_offsets(topic)?.first().copied().unwrap_or(0);
    let mut at = log.start_offsets(topic)?.first().copied().unwrap_or(0);
    while at < end {
        let batch = sluice_log::fetch_stored(log, topic, 0, at, 1000)?;
        let Some(last) = batch.last() else { break };
        at = last.offset + 1;
        for r in batch {
            let Some(key) = r
                .record
                .key
                .as_deref()
                .and_then(|k| serde_json::from_slice::<Json>(k).ok())
            else {
                continue;
            };
            let (Some(name), Some(partition)) = (key.get(0).and_then(Json::as_str), key.get(1))
            else {
                continue;
            };
            if name != connector {
                continue;
            }
            match r
                .record
                .value
                .as_deref()
                .and_then(|v| serde_json::from_slice::<Json>(v).ok())
            {
                Some(offset) => out.insert(partition.to_string(), offset),
                None => out.remove(&partition.to_string()),
            };
        }
    }
    Ok(out)
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
