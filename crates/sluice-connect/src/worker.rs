//! The worker: runs each connector's tasks on their own threads, as a Kafka
//! Connect worker does, over the log.
//!
//! A source task's records go out with the latest source offset of each of
//! its source partitions in one `Log::produce_and_commit` (the offsets to the
//! worker's offsets topic, keyed `["<connector>", <partition>]` as Connect
//! keys them): on the embedded log atomically, on Kafka in the transaction
//! under `exactly_once_v2`, so a restarted task goes on after the last
//! record written. A sink task reads its topics as consumer group
//! `connect-<connector>` (Connect's), hands a batch to the task, flushes it
//! and only then commits the batch's offsets: what the sink wrote before a
//! crash is read again (at-least-once; idempotent writes make it exact).
//!
//! On a log shared by several servers (Kafka) each source task runs where
//! its own group `connect-<connector>-task-<n>` over the offsets topic puts
//! it (one server), and sink tasks split the partitions their group assigns.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{json, Value as Json};
use sluice_log::{Log, LogError, Record, TopicSpec};

use crate::config::ConnectorConfig;
use crate::convert::{converter_for, Converter};
use crate::data::Schema;
use crate::error::{ConnectError, Result};
use crate::plugin::{default_converter, validate, ConnectorType, Plugin};
use crate::record::{ConnectRecord, SinkRecord, SourceRecord};
use crate::task::TaskContext;
use crate::transform::{transforms, Chain};

/// A connector's or task's state, by Connect's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Running,
    Paused,
    Failed,
    Unassigned,
    /// Stopped by `PUT /connectors/{name}/stop`: no tasks, config kept.
    Stopped,
}

impl State {
    pub fn name(self) -> &'static str {
        match self {
            State::Running => "RUNNING",
            State::Paused => "PAUSED",
            State::Failed => "FAILED",
            State::Unassigned => "UNASSIGNED",
            State::Stopped => "STOPPED",
        }
    }
}

/// One task's state, the worker running it and the error that failed it.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskStatus {
    pub id: usize,
    pub state: State,
    pub worker_id: String,
    pub trace: Option<String>,
}

/// A connector as `GET /connectors/{name}/status` (and DESCRIBE) shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectorStatus {
    pub name: String,
    pub state: State,
    pub worker_id: String,
    pub trace: Option<String>,
    pub tasks: Vec<TaskStatus>,
    pub kind: ConnectorType,
}

/// A connector as `GET /connectors/{name}` shows it (secrets hidden).
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectorInfo {
    pub name: String,
    pub config: BTreeMap<String, String>,
    pub tasks: usize,
    pub kind: ConnectorType,
    pub class: String,
}

/// A record a connector skipped (`errors.tolerance=all`): where it came from
/// and why. The server writes it to the processing log.
#[derive(Debug, Clone, PartialEq)]
pub struct SkippedRecord {
    pub connector: String,
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub message: String,
}

pub type Reporter = Arc<dyn Fn(SkippedRecord) + Send + Sync>;

/// Worker-wide settings.
#[derive(Clone)]
pub struct WorkerConfig {
    /// How this worker names itself in statuses (`host:port`).
    pub id: String,
    /// Where source offsets are kept (compacted, one partition).
    pub offsets_topic: String,
    /// Worker defaults connectors inherit (`key.converter`, ...).
    pub defaults: ConnectorConfig,
}

pub struct Worker {
    shared: Arc<Shared>,
    connectors: Mutex<BTreeMap<String, Running>>,
}

struct Shared {
    log: Arc<dyn Log>,
    config: WorkerConfig,
    reporter: Mutex<Option<Reporter>>,
}

/// A connector the worker runs.
struct Running {
    name: String,
    config: ConnectorConfig,
    plugin: Plugin,
    control: Arc<Control>,
    threads: Vec<JoinHandle<()>>,
    /// Stopped (Connect's STOPPED): its tasks ended, its config kept.
    stopped: bool,
}

/// What the worker and a connector's task threads share.
struct Control {
    stop: Arc<AtomicBool>,
    paused: AtomicBool,
    tasks: Mutex<Vec<TaskStatus>>,
    /// The topics the connector wrote or reads (Connect's active topics).
    topics: Mutex<BTreeSet<String>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Worker {
    pub fn new(log: Arc<dyn Log>, config: WorkerConfig) -> Self {
        Worker {
            shared: Arc::new(Shared {
                log,
                config,
                reporter: Mutex::new(None),
            }),
            connectors: Mutex::new(BTreeMap::new()),
        }
    }

    /// Where skipped records are reported from now on.
    pub fn report_to(&self, reporter: Reporter) {
        *lock(&self.shared.reporter) = Some(reporter);
    }

    pub fn id(&self) -> &str {
        &self.shared.config.id
    }

    /// Checks a configuration without creating anything: the plugin it runs.
    pub fn validate(&self, config: &ConnectorConfig) -> Result<Plugin> {
        validate(config, &self.shared.config.defaults)
    }

    /// Creates connector `name` from `config` and starts its tasks.
    pub fn create(&self, name: &str, config: ConnectorConfig) -> Result<ConnectorInfo> {
        let mut connectors = lock(&self.connectors);
        if connectors.keys().any(|k| k.eq_ignore_ascii_case(name)) {
            return Err(ConnectError::Exists(name.to_string()));
        }
        let mut config = config;
        config.set("name", name);
        let plugin = self.validate(&config)?;
        self.create_topics(plugin, &config)?;
        let running = self.start(name, config, plugin)?;
        let info = info_of(&running);
        connectors.insert(name.to_string(), running);
        Ok(info)
    }

    /// Creates the topics the connector's config names that do not exist
    /// (`topic.creation.default.partitions` partitions, else one, as a
    /// broker's `num.partitions` default).
    fn create_topics(&self, plugin: Plugin, config: &ConnectorConfig) -> Result<()> {
        let partitions = config.long("topic.creation.default.partitions", 1)?.max(1) as i32;
        for topic in plugin.known_topics(config) {
            ensure_topic(
                self.shared.log.as_ref(),
                &TopicSpec::new(&topic, partitions),
            )?;
        }
        Ok(())
    }

    fn start(&self, name: &str, config: ConnectorConfig, plugin: Plugin) -> Result<Running> {
        let n = plugin.tasks(&config)?;
        let control = Arc::new(Control {
            stop: Arc::new(AtomicBool::new(false)),
            paused: AtomicBool::new(false),
            tasks: Mutex::new(
                (0..n)
                    .map(|id| TaskStatus {
                        id,
                        state: State::Running,
                        worker_id: self.shared.config.id.clone(),
                        trace: None,
                    })
                    .collect(),
            ),
            topics: Mutex::new(plugin.known_topics(&config).into_iter().collect()),
        });
        let mut threads = Vec::new();
        for id in 0..n {
            let runner = TaskRunner {
                shared: self.shared.clone(),
                control: control.clone(),
                name: name.to_string(),
                config: config.clone(),
                plugin,
                id,
                tasks: n,
            };
            let handle = std::thread::Builder::new()
                .name(format!("connect-{name}-{id}"))
                .spawn(move || runner.run())
                .map_err(|e| ConnectError::task(format!("starting a task thread: {e}")))?;
            threads.push(handle);
        }
        Ok(Running {
            name: name.to_string(),
            config,
            plugin,
            control,
            threads,
            stopped: false,
        })
    }

    /// Stops connector `name`'s tasks and forgets it (its source offsets stay,
    /// as Connect keeps them: a connector created again with that name goes on
    /// from them).
    pub fn delete(&self, name: &str) -> Result<()> {
        let running = {
            let mut connectors = lock(&self.connectors);
            let key = find_key(&connectors, name)?;
            connectors.remove(&key).expect("found")
        };
        stop(running);
        Ok(())
    }

    /// Replaces the configuration of connector `name` (its tasks restart).
    pub fn reconfigure(&self, name: &str, config: ConnectorConfig) -> Result<ConnectorInfo> {
        let mut config = config;
        config.set("name", name);
        let plugin = self.validate(&config)?;
        self.create_topics(plugin, &config)?;
        let mut connectors = lock(&self.connectors);
        let key = find_key(&connectors, name)?;
        let old = connectors.remove(&key).expect("found");
        let paused = old.control.paused.load(Ordering::Relaxed);
        stop(old);
        let running = self.start(&key, config, plugin)?;
        running.control.paused.store(paused, Ordering::Relaxed);
        let info = info_of(&running);
        connectors.insert(key, running);
        Ok(info)
    }

    /// Restarts every task of connector `name` (a failed one tries again now).
    pub fn restart(&self, name: &str) -> Result<()> {
        let config = self.with(name, |r| r.config.clone())?;
        self.reconfigure(name, config).map(|_| ())
    }

    pub fn pause(&self, name: &str) -> Result<()> {
        self.with(name, |r| r.control.paused.store(true, Ordering::Relaxed))
    }

    /// Resumes a paused connector, or starts a stopped one again.
    pub fn resume(&self, name: &str) -> Result<()> {
        if self.with(name, |r| r.stopped)? {
            return self.restart(name);
        }
        self.with(name, |r| r.control.paused.store(false, Ordering::Relaxed))
    }

    /// Stops the connector's tasks, keeping its configuration (Connect's
    /// STOPPED state, left by `resume`).
    pub fn stop(&self, name: &str) -> Result<()> {
        let mut connectors = lock(&self.connectors);
        let key = find_key(&connectors, name)?;
        let running = connectors.get_mut(&key).expect("found");
        running.control.stop.store(true, Ordering::Relaxed);
        for t in running.threads.drain(..) {
            let _ = t.join();
        }
        lock(&running.control.tasks).clear();
        running.stopped = true;
        Ok(())
    }

    /// Each task's id and configuration (secrets hidden): the connector's,
    /// with Connect's `task.class`.
    pub fn task_configs(&self, name: &str) -> Result<Vec<(usize, BTreeMap<String, String>)>> {
        self.with(name, |r| {
            let n = lock(&r.control.tasks).len();
            (0..n)
                .map(|id| {
                    let mut config = r.config.masked();
                    config.insert(
                        "task.class".into(),
                        r.plugin.class().replace("Connector", "Task"),
                    );
                    (id, config)
                })
                .collect()
        })
    }

    /// The connectors' names, sorted.
    pub fn list(&self) -> Vec<String> {
        lock(&self.connectors).keys().cloned().collect()
    }

    pub fn info(&self, name: &str) -> Result<ConnectorInfo> {
        self.with(name, info_of)
    }

    /// The connector's configuration as stored (secrets included: only for
    /// the command log and reconfiguration, never to be shown).
    pub fn config(&self, name: &str) -> Result<ConnectorConfig> {
        self.with(name, |r| r.config.clone())
    }

    pub fn status(&self, name: &str) -> Result<ConnectorStatus> {
        let id = self.shared.config.id.clone();
        self.with(name, |r| {
            let tasks = lock(&r.control.tasks).clone();
            let paused = r.control.paused.load(Ordering::Relaxed);
            ConnectorStatus {
                name: r.name.clone(),
                // the connector itself fails only when it cannot start; its
                // tasks carry their own failures, as in Connect
                state: if r.stopped {
                    State::Stopped
                } else if paused {
                    State::Paused
                } else {
                    State::Running
                },
                worker_id: id,
                trace: None,
                tasks,
                kind: r.plugin.kind(),
            }
        })
    }

    /// The topics connector `name` wrote to or reads.
    pub fn topics(&self, name: &str) -> Result<Vec<String>> {
        self.with(name, |r| lock(&r.control.topics).iter().cloned().collect())
    }

    fn with<T>(&self, name: &str, f: impl FnOnce(&Running) -> T) -> Result<T> {
        let connectors = lock(&self.connectors);
        let key = find_key(&connectors, name)?;
        Ok(f(&connectors[&key]))
    }

    /// Stops every connector (the server is shutting down).
    pub fn stop_all(&self) {
        let all: Vec<Running> = std::mem::take(&mut *lock(&self.connectors))
            .into_values()
            .collect();
        for r in all {
            stop(r);
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.stop_all();
    }
}

/// The stored name of connector `name` (names compare without case, as ksqlDB
/// finds connectors).
fn find_key(connectors: &BTreeMap<String, Running>, name: &str) -> Result<String> {
    connectors
        .keys()
        .find(|k| k.as_str() == name)
        .or_else(|| connectors.keys().find(|k| k.eq_ignore_ascii_case(name)))
        .cloned()
        .ok_or_else(|| ConnectError::NotFound(name.to_string()))
}

fn info_of(r: &Running) -> ConnectorInfo {
    ConnectorInfo {
        name: r.name.clone(),
        config: r.config.masked(),
        tasks: lock(&r.control.tasks).len(),
        kind: r.plugin.kind(),
        class: r
            .config
            .get("connector.class")
            .unwrap_or_default()
            .to_string(),
    }
}

fn stop(r: Running) {
    r.control.stop.store(true, Ordering::Relaxed);
    for t in r.threads {
        let _ = t.join();
    }
}

/// One task's thread.
struct TaskRunner {
    shared: Arc<Shared>,
    control: Arc<Control>,
    name: String,
    config: ConnectorConfig,
    plugin: Plugin,
    id: usize,
    tasks: usize,
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
            key: converter_for("key", &self.config, defaults, default_converter("key"))?,
            value: converter_for("value", &self.config, defaults, default_converter("value"))?,
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
    fn run(self) {
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
        let mut known_topics = BTreeSet::new();
        let mut last_owned_check = Instant::now();
        loop {
            let check = last_owned_check.elapsed() > Duration::from_secs(1);
            if check {
                last_owned_check = Instant::now();
            }
            if !self.wait_turn(|| if check { self.owned_here() } else { Ok(true) })? {
                return Ok(());
            }
            self.set_state(State::Running, None);
            let records = task.poll(&ctx)?;
            if records.is_empty() {
                continue;
            }
            self.write_source(&mut pipeline, records, &group, &mut known_topics)?;
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
        // the offsets of the batch `put` last took: committed once the next
        // `flush` says it is written (a task may write it while the next
        // batch is read and converted)
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
                        Err(e) if pipeline.tolerate => self.report(
                            stored.topic.to_string(),
                            stored.partition,
                            stored.offset,
                            e.to_string(),
                        ),
                        Err(e) => {
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
            task.flush()?;
            if !uncommitted.is_empty() {
                log.commit(&group, &uncommitted)?;
            }
            if !batch.is_empty() {
                task.put(batch)?;
            }
            uncommitted = commits;
        }
    }

    fn sink_record(
        &self,
        pipeline: &mut Pipeline,
        stored: &sluice_log::StoredRecord,
    ) -> Result<SinkRecord> {
        let r = &stored.record;
        let (key_schema, key) = pipeline.key.decode(&stored.topic, r.key.as_deref())?;
        let (value_schema, value) = pipeline.value.decode(&stored.topic, r.value.as_deref())?;
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
            record: pipeline.transforms.apply(record)?,
        })
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

fn ensure_topic(log: &dyn Log, spec: &TopicSpec) -> Result<()> {
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
