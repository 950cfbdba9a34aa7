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

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;

use sluice_log::{Log, TopicSpec};

mod runner;

use runner::{ensure_topic, TaskRunner};

use crate::config::ConnectorConfig;
use crate::error::{ConnectError, Result};
use crate::plugin::{validate, ConnectorType, Plugin};

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

/// The state a connector is asked to be in (Connect's target states, kept
/// with its configuration): running, paused, or stopped (no tasks).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetState {
    Started,
    Paused,
    Stopped,
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
    /// The schema registries `AvroConverter`s reach by their
    /// `schema.registry.url` (none: the converter cannot be used).
    pub registries: Option<crate::avro::Registries>,
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
        self.create_in(name, config, TargetState::Started)
    }

    /// Creates connector `name` from `config` in state `target`: its tasks
    /// start paused, or do not start when stopped.
    pub fn create_in(
        &self,
        name: &str,
        config: ConnectorConfig,
        target: TargetState,
    ) -> Result<ConnectorInfo> {
        let mut connectors = lock(&self.connectors);
        if connectors.keys().any(|k| k.eq_ignore_ascii_case(name)) {
            return Err(ConnectError::Exists(name.to_string()));
        }
        let mut config = config;
        config.set("name", name);
        let plugin = self.validate(&config)?;
        self.create_topics(plugin, &config)?;
        let running = self.start(name, config, plugin, target)?;
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

    fn start(
        &self,
        name: &str,
        config: ConnectorConfig,
        plugin: Plugin,
        target: TargetState,
    ) -> Result<Running> {
        let stopped = target == TargetState::Stopped;
        let n = if stopped { 0 } else { plugin.tasks(&config)? };
        let control = Arc::new(Control {
            stop: Arc::new(AtomicBool::new(stopped)),
            paused: AtomicBool::new(target == TargetState::Paused),
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
            stopped,
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

    /// Replaces the configuration of connector `name` (its tasks restart,
    /// in the state they were in).
    pub fn reconfigure(&self, name: &str, config: ConnectorConfig) -> Result<ConnectorInfo> {
        self.reconfigure_in(name, config, None)
    }

    /// [`Worker::reconfigure`], into state `target` when given.
    fn reconfigure_in(
        &self,
        name: &str,
        config: ConnectorConfig,
        target: Option<TargetState>,
    ) -> Result<ConnectorInfo> {
        let mut config = config;
        config.set("name", name);
        let plugin = self.validate(&config)?;
        self.create_topics(plugin, &config)?;
        let mut connectors = lock(&self.connectors);
        let key = find_key(&connectors, name)?;
        let old = connectors.remove(&key).expect("found");
        let target = target.unwrap_or(
            match (old.stopped, old.control.paused.load(Ordering::Relaxed)) {
                (true, _) => TargetState::Stopped,
                (false, true) => TargetState::Paused,
                (false, false) => TargetState::Started,
            },
        );
        stop(old);
        let running = self.start(&key, config, plugin, target)?;
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
            let config = self.with(name, |r| r.config.clone())?;
            return self
                .reconfigure_in(name, config, Some(TargetState::Started))
                .map(|_| ());
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
