//! The engine: executes statements against one log, keeps the metastore and the
//! persistent queries (their statements and states); their tasks run on the
//! [`Scheduler`], inline or on stream threads.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use sluice_formats::{MemoryRegistry, SchemaRegistry};
use sluice_log::Log;
use sluice_planner::Catalog;
use sluice_runtime::{OffsetReset, ProcessingLog, QueryTask};
use sluice_sql::{ParsedStatement, Statement};

use crate::command_log::{Command, CommandLog};
use crate::error::{EngineError, Result};
use crate::lifecycle::{QueryHandle, RetryPolicy, Runnable};
use crate::metastore::MetaStore;
use crate::result::StatementResult;
use crate::scheduler::Scheduler;
use crate::session::Session;
use crate::settings;

/// Engine-wide settings, by ksqlDB's property names (`ksql.*`, `auto.offset.reset`, ...).
#[derive(Debug, Clone, Default)]
pub struct EngineConfig {
    pub properties: BTreeMap<String, String>,
}

impl EngineConfig {
    pub fn with(mut self, key: &str, value: &str) -> Self {
        self.properties.insert(key.to_string(), value.to_string());
        self
    }
}

/// A persistent query the engine runs.
pub struct RunningQuery {
    pub id: String,
    pub sql: String,
    /// The stream or table it writes.
    pub sink: String,
    /// The sources it reads.
    pub sources: Vec<String>,
    /// Its consumer group, `_confluent-ksql-<service id>query_<id>`.
    pub group: String,
    /// The state and counters of each of its tasks, as they update them.
    pub handles: Vec<QueryHandle>,
}

impl RunningQuery {
    /// Its status, over all its tasks (see [`crate::lifecycle::merged_status`]).
    pub fn status(&self) -> crate::lifecycle::QueryStatus {
        crate::lifecycle::merged_status(&self.handles)
    }

    pub fn state(&self) -> crate::lifecycle::QueryState {
        self.status().state
    }
}

pub struct Engine {
    pub(crate) log: Arc<dyn Log>,
    pub(crate) metastore: MetaStore,
    pub(crate) queries: BTreeMap<String, RunningQuery>,
    /// Where the queries' tasks run.
    pub(crate) scheduler: Scheduler,
    pub(crate) config: EngineConfig,
    /// The session statements run in: the engine's own (the REPL's, `SET`
    /// in a script), or a client's while [`Engine::execute_in`] runs.
    pub(crate) session: Session,
    /// What pull queries keep of table topics between calls.
    /// Per (topic, table name): see [`crate::pull_index::TableIndex`].
    pub(crate) table_indexes:
        std::sync::Mutex<HashMap<(String, String), crate::pull_index::TableIndex>>,
    pub(crate) processing_log: Arc<ProcessingLog>,
    pub(crate) registry: Arc<dyn SchemaRegistry>,
    /// The Connect cluster `ksql.connect.url` names, where connector
    /// statements go instead of the server's own worker (or why its URL
    /// cannot be used).
    pub(crate) remote_connect:
        Option<std::result::Result<Arc<crate::connect_client::RemoteConnect>, String>>,
    /// The same registry, for the Connect worker's Avro converters (which
    /// outlive a [`Engine::with_registry`]).
    pub(crate) registry_cell: crate::connectors::RegistryCell,
    pub(crate) next_query_id: u64,
    pub(crate) next_transient_id: u64,
    pub(crate) command_log: Option<CommandLog>,
    /// True while replaying the command log (nothing is logged again).
    pub(crate) replaying: bool,
    /// The target state the connector the next CREATE makes starts in: the
    /// one the command log leaves it in while replaying, or the one a
    /// reconfigured connector had (see `Engine::replayed_target`).
    pub(crate) replay_connector_target: Option<sluice_sql::ConnectorTarget>,
    /// The command-topic offset of the last command this engine logged.
    last_command_offset: Option<i64>,
    /// What each persistent query started by a CREATE ... AS SELECT lets an
    /// upgrade (CREATE OR REPLACE) change.
    pub(crate) upgrade_shapes: HashMap<String, crate::upgrade::UpgradeShape>,
    /// The properties `ALTER SYSTEM` changed, each with its configured
    /// value (`None`: not configured), for `ALTER SYSTEM RESET` and
    /// `SHOW PROPERTIES`.
    pub(crate) system_altered: BTreeMap<String, Option<String>>,
    /// The on-disk state database of the queries' stores (see
    /// [`Engine::with_state_dir`]); without one, stores are in memory.
    pub(crate) state_db: Option<sluice_state::StateDb>,
    /// The wall clock the queries' operators throttle by.
    wall_clock: sluice_runtime::WallClock,
    /// Runs the connectors (see `connectors`).
    pub(crate) connect: Arc<sluice_connect::Worker>,
    /// Where the key sealing connector secrets in a command log file lives
    /// (see `secrets`).
    pub(crate) secrets_file: Option<std::path::PathBuf>,
}

impl Engine {
    /// Stops the running queries `which` picks: their tasks end, and they
    /// leave their consumer groups, so other servers running them take their
    /// partitions at once.
    pub(crate) fn stop_queries(&mut self, which: impl Fn(&RunningQuery) -> bool) {
        let stopping: Vec<String> = self
            .queries
            .values()
            .filter(|q| which(q))
            .map(|q| q.id.clone())
            .collect();
        for id in stopping {
            self.scheduler.remove(&id);
            self.upgrade_shapes.remove(&id);
            if let Some(q) = self.queries.remove(&id) {
                self.log.leave(&q.group);
                // its internal topics (repartition topics, store changelogs)
                // go with it, as ksqlDB deletes them
                let prefix = format!("{}-", q.group);
                let internal: Vec<String> = match self.log.list_topics() {
                    Ok(topics) => topics
                        .into_iter()
                        .filter(|t| {
                            t.starts_with(&prefix)
                                && (t.ends_with("-changelog") || t.ends_with("-repartition"))
                        })
                        .collect(),
                    Err(e) => {
                        tracing::warn!("listing the internal topics of {id}: {e}");
                        Vec::new()
                    }
                };
                for topic in internal {
                    match self.log.delete_topic(&topic) {
                        Ok(()) | Err(sluice_log::LogError::UnknownTopic(_)) => {}
                        Err(e) => tracing::warn!("deleting {topic} of {id}: {e}"),
                    }
                }
                if let Some(db) = &self.state_db {
                    if let Err(e) = sluice_runtime::task::drop_state(db, &q.group) {
                        tracing::warn!("deleting the state stores of {id}: {e}");
                    }
                }
            }
        }
    }

    /// Hands a started persistent query's tasks to the scheduler.
    pub(crate) fn start_persistent(
        &mut self,
        tasks: Vec<QueryTask>,
        sql: &str,
        sink: String,
        sources: Vec<String>,
    ) {
        let first = tasks.first().expect("a query has a task");
        let handles: Vec<QueryHandle> = tasks.iter().map(|_| QueryHandle::default()).collect();
        let query = RunningQuery {
            id: first.id.clone(),
            sql: sql.to_string(),
            sink,
            sources,
            group: first.consumer_group().to_string(),
            handles: handles.clone(),
        };
        let retry = RetryPolicy::from_settings(|k| self.property(k));
        self.queries.insert(query.id.clone(), query);
        for (index, (task, handle)) in tasks.into_iter().zip(handles).enumerate() {
            self.scheduler
                .add(Runnable::new(task, index, handle, retry));
        }
    }

    /// How many tasks a persistent query runs as: on stream threads its
    /// partitions are split over as many tasks as there are threads (and
    /// partitions) when each partition's records can be processed apart
    /// (`splits`: stateless, or state keyed by the sources' keys); else one
    /// task keeps all its state.
    pub(crate) fn task_count(&self, splits: bool, partitions: usize) -> usize {
        if splits {
            self.scheduler.parallelism().min(partitions).max(1)
        } else {
            1
        }
    }

    /// The servers of this service on a shared log, by their announced
    /// names: this one takes part under `name` (its `host:port`), and every
    /// server whose announcement the log holds is listed. `None` when the log
    /// has no consumer groups or no command topic (one process only).
    pub fn servers(&self, name: &str) -> Result<Option<Vec<String>>> {
        service_servers(self.log.as_ref(), &self.service_id(), name)
    }

    /// Runs persistent queries on `n` stream threads from now on (the ones
    /// already started move there), instead of on the caller's thread when it
    /// calls [`Engine::run_until_idle`]. Servers and the REPL do; the test
    /// runners keep queries inline, for exact, repeatable results.
    pub fn with_stream_threads(mut self, n: usize) -> Self {
        let previous =
            std::mem::replace(&mut self.scheduler, Scheduler::threads(n, self.log.clone()));
        if let Scheduler::Inline(tasks) = previous {
            for (_, r) in tasks {
                self.scheduler.add(r);
            }
        }
        self
    }

    /// Keeps the queries' state stores on disk under `dir` (ksqlDB's
    /// `ksql.streams.state.dir`): a restart restores them from there plus
    /// the tail of their changelogs. Their memory — live groups cached in
    /// front of the stores, the database's block cache and write buffers —
    /// stays within about `statestore.cache.max.bytes` (default 10 MiB),
    /// read from the engine's properties with or without the
    /// `ksql.streams.` prefix.
    pub fn with_state_dir(mut self, dir: &std::path::Path) -> Result<Self> {
        let config = sluice_state::StateDbConfig::within(dir, self.state_memory_bytes() as u64);
        let db = sluice_state::StateDb::open(config).map_err(|e| {
            EngineError::statement(format!(
                "cannot open the state directory {} (ksql.streams.state.dir): {e}",
                dir.display()
            ))
        })?;
        self.state_db = Some(db);
        Ok(self)
    }

    /// The bytes state stores may keep in memory (see
    /// [`Engine::with_state_dir`]).
    fn state_memory_bytes(&self) -> usize {
        self.setting_value(&settings::STATE_CACHE_BYTES)
    }

    /// Where a query task keeps its state: the engine's state database (or
    /// memory), with its share of the cache (the budget over the stream
    /// threads, half of it when the stores are on disk: the database's
    /// caches take the rest).
    pub(crate) fn state_config(&self) -> sluice_runtime::task::StateConfig {
        let budget = self.state_memory_bytes();
        let budget = if self.state_db.is_some() {
            budget / 2
        } else {
            budget
        };
        let purge_ms = self.setting_value(&settings::REPARTITION_PURGE_MS);
        sluice_runtime::task::StateConfig {
            db: self.state_db.clone(),
            cache_bytes: budget / self.scheduler.parallelism().max(1),
            purge_interval: std::time::Duration::from_millis(purge_ms),
            clock: self.wall_clock,
            standby_replicas: self.setting_value(&settings::STANDBY_REPLICAS),
            cleanup_delay: std::time::Duration::from_millis(
                self.setting_value(&settings::STATE_CLEANUP_DELAY_MS),
            ),
        }
    }

    /// The stream threads a server runs: `ksql.streams.num.stream.threads`,
    /// by default as many as the machine has cores.
    pub fn stream_threads(&self) -> usize {
        self.property("ksql.streams.num.stream.threads")
            .or_else(|| self.property("num.stream.threads"))
            .and_then(|n| n.trim().parse().ok())
            .filter(|n| *n > 0)
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
    }

    /// Whether queries run on the caller's thread (see
    /// [`Engine::with_stream_threads`]).
    pub fn runs_inline(&self) -> bool {
        self.scheduler.is_inline()
    }

    pub fn new(log: Arc<dyn Log>, config: EngineConfig) -> Self {
        let processing_log = Arc::new(ProcessingLog::default());
        let registry: Arc<dyn SchemaRegistry> = Arc::new(MemoryRegistry::new());
        let registry_cell = Arc::new(std::sync::RwLock::new(registry.clone()));
        let connect = Arc::new(crate::connectors::worker_for(
            log.clone(),
            &config.properties,
            processing_log.clone(),
            registry_cell.clone(),
        ));
        let remote_connect = config
            .properties
            .get("ksql.connect.url")
            .filter(|u| !u.trim().is_empty())
            .map(|u| {
                crate::connect_client::RemoteConnect::new(u)
                    .map(Arc::new)
                    .map_err(|e| e.to_string())
            });
        Engine {
            connect,
            remote_connect,
            secrets_file: None,
            log,
            metastore: MetaStore::default(),
            queries: BTreeMap::new(),
            scheduler: Scheduler::inline(),
            config,
            session: Session::new(),
            table_indexes: std::sync::Mutex::new(HashMap::new()),
            processing_log,
            registry,
            registry_cell,
            next_query_id: 0,
            next_transient_id: 0,
            command_log: None,
            replaying: false,
            replay_connector_target: None,
            last_command_offset: None,
            system_altered: BTreeMap::new(),
            upgrade_shapes: HashMap::new(),
            state_db: None,
            wall_clock: sluice_runtime::WallClock::System,
        }
        .with_extension_dir()
    }

    /// Run the queries' operators by `clock` (`sluice test` freezes it at
    /// the epoch, as ksqlDB's test driver does). Set before queries start.
    pub fn with_wall_clock(mut self, clock: sluice_runtime::WallClock) -> Self {
        self.wall_clock = clock;
        self
    }

    /// Keep a command log at `path`: replay what it holds (recreating streams,
    /// tables and persistent queries, which resume from their committed offsets),
    /// then log every statement that changes them. A logged statement that no
    /// longer runs (its topic was deleted, say) is skipped with a warning.
    pub fn with_command_log(mut self, path: &std::path::Path) -> Result<Self> {
        let (log, commands) = CommandLog::open(path)?;
        self.secrets_file = Some(path.with_file_name("connect-secrets.key"));
        self.replay(log, commands)
    }

    /// Keep the command log in the log backend itself (on Kafka: a topic all
    /// the servers of a service share), replaying what it holds.
    pub fn with_command_topic(self) -> Result<Self> {
        let topic = crate::command_log::command_topic(&self.service_id());
        let (log, commands) = CommandLog::open_topic(self.log.clone(), &topic)?;
        self.replay(log, commands)
    }

    fn replay(mut self, log: CommandLog, commands: Vec<Command>) -> Result<Self> {
        self.apply_logged(commands);
        self.command_log = Some(log);
        Ok(self)
    }

    /// Runs commands of the command log (at startup, or another server's
    /// since), each under the properties it ran under; one that fails now is
    /// skipped with a warning, as ksqlDB's command runner skips it, unless
    /// it failed on the broker for a while (it is tried again meanwhile).
    fn apply_logged(&mut self, commands: Vec<Command>) {
        let was = std::mem::replace(&mut self.replaying, true);
        let pending = self.replay_connector_target.take();
        let targets = crate::connectors::connector_targets(&commands);
        for (i, c) in commands.into_iter().enumerate() {
            self.replay_connector_target = targets.get(&i).copied();
            let saved = std::mem::replace(
                &mut self.session,
                Session::with(c.properties.clone(), std::iter::empty()),
            );
            // a broker that fails for a while (a restart on a loaded
            // cluster) must not make the server skip the statement and
            // lose what it created
            let what = format!("command log: `{}`", c.sql);
            // each try numbers its query as the first did (ids name the
            // queries' consumer groups and state)
            let next_id = self.next_query_id;
            let ran = crate::patience::riding_out_the_broker(&what, || {
                self.next_query_id = next_id;
                self.execute_sql(&c.sql)
            });
            if let Err(e) = ran {
                tracing::warn!("command log: skipped `{}`: {e}", c.sql);
            }
            self.session = saved;
        }
        self.replay_connector_target = pending;
        self.replaying = was;
    }

    /// Applies the statements the other servers of the service put in the
    /// command topic since the last call, in the topic's order (nothing for
    /// a command log file); gives how many. A server calls it every few
    /// hundred milliseconds, and before each statement it logs itself.
    pub fn follow_commands(&mut self) -> Result<usize> {
        let commands = match &mut self.command_log {
            Some(log) => log.poll()?,
            None => return Ok(0),
        };
        let n = commands.len();
        self.apply_logged(commands.into_iter().map(|(_, c)| c).collect());
        Ok(n)
    }

    /// Whether other servers share this engine's command log (a topic).
    pub fn follows_commands(&self) -> bool {
        matches!(self.command_log, Some(CommandLog::Topic { .. }))
    }

    /// How far the command topic has been applied: the offset of the next
    /// command (ksqlDB's command sequence numbers are these offsets).
    pub fn command_position(&self) -> i64 {
        self.command_log.as_ref().map_or(0, CommandLog::position)
    }

    /// The offset in the command topic of the last command this engine
    /// logged (its command sequence number), if any.
    pub fn last_command_offset(&self) -> Option<i64> {
        self.last_command_offset
    }

    /// Writes the processing log to its topic, `<ksql.service.id>ksql_processing_log`
    /// (`ksql.logging.processing.topic.name`), created when missing, and
    /// declares the stream `KSQL_PROCESSING_LOG` over it
    /// (`ksql.logging.processing.stream.name`) with ksqlDB's schema, so the
    /// records queries could not process are a `SELECT` away. ksqlDB does this
    /// when `ksql.logging.processing.stream.auto.create` is true; Sluice's
    /// servers and REPL do by default (set it to false to skip). The stream is
    /// not in the command log: every start declares it again.
    pub fn with_processing_log_stream(mut self) -> Result<Self> {
        if self
            .setting(&settings::PROCESSING_LOG_AUTO_CREATE)
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("false"))
        {
            return Ok(self);
        }
        let topic = self
            .property("ksql.logging.processing.topic.name")
            .map(str::to_string)
            .unwrap_or_else(|| format!("{}ksql_processing_log", self.service_id()));
        let stream = self
            .setting_text(&settings::PROCESSING_LOG_STREAM)
            .to_string();
        if !self.log.topic_exists(&topic)? {
            let spec = sluice_log::TopicSpec::new(
                &topic,
                self.setting_value(&settings::PROCESSING_LOG_PARTITIONS),
            )
            .with_replicas(self.setting_value(&settings::PROCESSING_LOG_REPLICAS));
            match self.log.create_topic(&spec) {
                Ok(()) | Err(sluice_log::LogError::TopicExists(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        if self.metastore.source(&stream.to_uppercase()).is_none() {
            let ddl = format!(
                "CREATE STREAM {stream} (LOGGER STRING, LEVEL STRING, `TIME` BIGINT, \
                 MESSAGE STRUCT<`TYPE` INTEGER, \
                 DESERIALIZATIONERROR STRUCT<TARGET STRING, ERRORMESSAGE STRING, RECORDB64 STRING, CAUSE ARRAY<STRING>, `TOPIC` STRING>, \
                 RECORDPROCESSINGERROR STRUCT<ERRORMESSAGE STRING, RECORD STRING, CAUSE ARRAY<STRING>>, \
                 PRODUCTIONERROR STRUCT<ERRORMESSAGE STRING>, \
                 SERIALIZATIONERROR STRUCT<TARGET STRING, ERRORMESSAGE STRING, RECORD STRING, CAUSE ARRAY<STRING>, `TOPIC` STRING>, \
                 KAFKASTREAMSTHREADERROR STRUCT<ERRORMESSAGE STRING, THREADNAME STRING, CAUSE ARRAY<STRING>>>) \
                 WITH (KAFKA_TOPIC='{topic}', VALUE_FORMAT='JSON');"
            );
            // declared, not logged: it is declared again at every start
            let was = std::mem::replace(&mut self.replaying, true);
            let declared = self.execute_sql(&ddl);
            self.replaying = was;
            declared?;
        }
        self.processing_log.write_to(self.log.clone(), &topic);
        Ok(self)
    }

    /// Use this schema registry (an external one, or one shared by servers) for
    /// AVRO, JSON_SR and PROTOBUF, instead of the engine's own in-memory one.
    pub fn with_registry(mut self, registry: Arc<dyn SchemaRegistry>) -> Self {
        *self
            .registry_cell
            .write()
            .unwrap_or_else(|e| e.into_inner()) = registry.clone();
        self.registry = registry;
        self
    }

    pub fn registry(&self) -> &Arc<dyn SchemaRegistry> {
        &self.registry
    }

    pub fn log(&self) -> &Arc<dyn Log> {
        &self.log
    }

    pub fn metastore(&self) -> &MetaStore {
        &self.metastore
    }

    pub fn processing_log(&self) -> &Arc<ProcessingLog> {
        &self.processing_log
    }

    pub fn queries(&self) -> impl Iterator<Item = &RunningQuery> {
        self.queries.values()
    }

    /// A property as this session sees it: `SET` first, then the engine config.
    pub fn property(&self, key: &str) -> Option<&str> {
        self.session
            .property(key)
            .or_else(|| self.config.properties.get(key).map(String::as_str))
    }

    /// The value of setting `s` here (see [`crate::settings`]): set under
    /// its name or an alias, else its default.
    pub fn setting(&self, s: &crate::settings::Setting) -> Option<&str> {
        s.value_in(|k| self.property(k))
    }

    /// [`Engine::setting`] parsed (a value that does not parse: the default).
    pub fn setting_as<T: std::str::FromStr>(&self, s: &crate::settings::Setting) -> Option<T> {
        s.parsed_in(|k| self.property(k))
    }

    /// A setting with a default, parsed: never unset (the table's defaults
    /// parse, as `settings`' tests check).
    pub(crate) fn setting_value<T: std::str::FromStr + Default>(
        &self,
        s: &crate::settings::Setting,
    ) -> T {
        self.setting_as(s).unwrap_or_default()
    }

    /// A setting with a default, as text.
    pub(crate) fn setting_text(&self, s: &crate::settings::Setting) -> &str {
        self.setting(s).unwrap_or_default()
    }

    /// The metastore with the session's function settings, to plan against.
    pub(crate) fn planning(&self) -> crate::metastore::Planning<'_> {
        // ksqlDB: a negative limit is no limit
        let limit = |key: &str| {
            self.property(key)
                .and_then(|v| v.trim().parse::<i64>().ok())
                .and_then(|n| usize::try_from(n).ok())
        };
        crate::metastore::Planning {
            store: &self.metastore,
            aggregates: sluice_functions::AggregateConfig {
                collect_list_limit: limit("ksql.functions.collect_list.limit"),
                collect_set_limit: limit("ksql.functions.collect_set.limit"),
            },
        }
    }

    pub(crate) fn offset_reset(&self) -> OffsetReset {
        // a value that names no policy: the default's
        OffsetReset::parse(self.setting_text(&settings::AUTO_OFFSET_RESET))
            .or_else(|| {
                settings::AUTO_OFFSET_RESET
                    .default
                    .and_then(OffsetReset::parse)
            })
            .unwrap_or(OffsetReset::Latest)
    }

    /// `ksql.persistence.default.format.key` (KAFKA unless set): the key
    /// format of what has no source key format to follow.
    pub(crate) fn default_key_format(&self) -> sluice_planner::FormatDesc {
        sluice_planner::FormatDesc::named(
            &self
                .setting_text(&settings::DEFAULT_KEY_FORMAT)
                .to_ascii_uppercase(),
        )
    }

    /// `ksql.service.id`: names the consumer groups (and, on Kafka, the
    /// internal topics) of this server's queries.
    pub fn service_id(&self) -> String {
        self.setting_text(&settings::SERVICE_ID).to_string()
    }

    /// Persistent query ids come from their own counter, so replaying the command
    /// log gives every query its old id (and consumer group) back.
    pub(crate) fn new_query_id(&mut self, prefix: &str) -> String {
        if prefix == "transient" {
            let id = format!("transient_{}", self.next_transient_id);
            self.next_transient_id += 1;
            return id;
        }
        let id = format!("{prefix}_{}", self.next_query_id);
        self.next_query_id += 1;
        id
    }

    /// Substitute `${var}`, parse and execute every statement of `sql` in order.
    /// Stops at the first failure; what ran before it stays done.
    pub fn execute_sql(&mut self, sql: &str) -> Result<Vec<StatementResult>> {
        let mut results = Vec::new();
        for (start, text) in sluice_sql::split_statements_at(sql) {
            results.extend(self.execute_sql_at(text, start)?);
        }
        Ok(results)
    }

    /// Runs the statements of `text`, a piece of a larger script that starts
    /// at `start` of it (`split_statements_at`): errors say where they are in
    /// the script.
    pub fn execute_sql_at(
        &mut self,
        text: &str,
        start: sluice_sql::Pos,
    ) -> Result<Vec<StatementResult>> {
        let mut results = Vec::new();
        for stmt in self.session.prepare_at(text, start)? {
            results.push(self.execute(&stmt.0)?);
        }
        Ok(results)
    }

    /// Runs `stmt` in `session`: the statement sees the session's property
    /// overrides and variables, a `SET` or `DEFINE` changes the session, and
    /// nothing of it stays in the engine (a command logged keeps the
    /// properties it ran under, as ksqlDB's command topic does).
    pub fn execute_in(
        &mut self,
        session: &mut Session,
        stmt: &crate::Prepared,
    ) -> Result<StatementResult> {
        self.in_session(session, |engine| engine.execute(&stmt.0))
    }

    /// Runs `f` with `session` as the engine's session, then gives the
    /// session back with what `f` changed in it.
    pub(crate) fn in_session<T>(
        &mut self,
        session: &mut Session,
        f: impl FnOnce(&mut Engine) -> T,
    ) -> T {
        std::mem::swap(&mut self.session, session);
        let out = f(self);
        std::mem::swap(&mut self.session, session);
        out
    }

    pub fn execute(&mut self, stmt: &ParsedStatement) -> Result<StatementResult> {
        let durable = matches!(
            stmt.statement,
            Statement::CreateSource(_)
                | Statement::CreateAsSelect(_)
                | Statement::InsertInto { .. }
                | Statement::DropSource { .. }
                | Statement::AlterSource { .. }
                | Statement::Terminate { .. }
                | Statement::PauseResume { .. }
                | Statement::AlterSystem { .. }
                | Statement::AlterSystemReset { .. }
                | Statement::CreateType { .. }
                | Statement::DropType { .. }
                | Statement::CreateFunction(_)
                | Statement::DropFunction { .. }
        ) || (matches!(
            stmt.statement,
            Statement::CreateConnector { .. }
                | Statement::DropConnector { .. }
                | Statement::ConnectorTarget { .. }
        ) && self.remote_connect.is_none());
        // (a Connect cluster elsewhere keeps its own connectors)
        let logged = durable && !self.replaying && self.command_log.is_some();
        if logged {
            // what the other servers logged before comes first
            self.follow_commands()?;
        }
        let result = self.execute_statement(stmt)?;
        if logged {
            let sql = self.logged_text(stmt)?;
            if let Some(log) = &mut self.command_log {
                let at = log.append(&Command {
                    sql,
                    properties: self.session.properties().clone(),
                })?;
                self.last_command_offset = at;
            }
        }
        Ok(result)
    }

    fn execute_statement(&mut self, stmt: &ParsedStatement) -> Result<StatementResult> {
        let text = stmt.text.as_str();
        match &stmt.statement {
            Statement::CreateSource(cs) => self.create_source(cs, text),
            Statement::CreateAsSelect(cas) => self.create_as_select(cas, text),
            Statement::InsertInto {
                target,
                target_pos,
                properties: _,
                query,
            } => self.insert_into(&target.value, *target_pos, query, text),
            Statement::InsertValues {
                target,
                columns,
                values,
            } => self.insert_values(&target.value, columns.as_deref(), values),
            Statement::Query(q) => self.transient_query(q),
            Statement::DropSource {
                kind,
                if_exists,
                name,
                delete_topic,
            } => self.drop_source(*kind, &name.value, *if_exists, *delete_topic),
            Statement::Terminate { query_id } => self.terminate(query_id.as_deref()),
            Statement::Show(show) => self.show(show),
            Statement::Describe(d) => self.describe(d),
            Statement::Explain(e) => self.explain(e),
            s @ (Statement::Set { .. }
            | Statement::Unset { .. }
            | Statement::Define { .. }
            | Statement::Undefine { .. }) => {
                let change = self.session.apply_statement(s).transpose()?;
                Ok(StatementResult::ack(
                    change.map(|c| c.message()).unwrap_or_default(),
                ))
            }
            Statement::AlterSystem { property, value } => {
                // the configured value, for a RESET
                if !self.system_altered.contains_key(property) {
                    let configured = self.config.properties.get(property).cloned();
                    self.system_altered.insert(property.clone(), configured);
                }
                self.config
                    .properties
                    .insert(property.clone(), value.clone());
                // queries read their configuration when they start
                Ok(StatementResult::ack(format!(
                    "Successfully changed system property '{property}' to '{value}'. \
                     Statements and queries from now on use it; persistent queries \
                     running already keep the value they started with."
                )))
            }
            Statement::AlterSystemReset { property } => {
                match self.system_altered.remove(property) {
                    Some(Some(configured)) => {
                        self.config
                            .properties
                            .insert(property.clone(), configured.clone());
                        Ok(StatementResult::ack(format!(
                            "Reset system property '{property}' to its configured value '{configured}'."
                        )))
                    }
                    Some(None) => {
                        self.config.properties.remove(property);
                        Ok(StatementResult::ack(format!(
                            "Reset system property '{property}' to its default."
                        )))
                    }
                    None => Err(EngineError::statement(format!(
                        "System property '{property}' was not changed by ALTER SYSTEM."
                    ))),
                }
            }
            Statement::CreateType {
                name,
                if_not_exists,
                ty,
            } => self.create_type(&name.value, *if_not_exists, ty),
            Statement::DropType { name, if_exists } => self.drop_type(&name.value, *if_exists),
            Statement::CreateFunction(cf) => self.create_function(cf),
            Statement::DropFunction { name, if_exists } => {
                self.drop_function(&name.value, *if_exists)
            }
            Statement::PauseResume { resume, query_id } => {
                self.pause_resume(!*resume, query_id.as_deref())
            }
            Statement::CreateTopic {
                name,
                if_not_exists,
                properties,
            } => self.create_topic(name, *if_not_exists, properties),
            Statement::AlterTopic { name, change } => self.alter_topic(name, change),
            Statement::DropTopic { name, if_exists } => self.drop_topic(name, *if_exists),
            Statement::Print { .. } => {
                // run to completion: what the topic holds now (streaming
                // clients use start_print / poll_print instead)
                let mut cursor = self.start_print(text)?;
                let mut lines = Vec::new();
                loop {
                    let more = self.poll_print(&mut cursor)?;
                    if more.is_empty() || cursor.is_done() {
                        lines.extend(more);
                        break;
                    }
                    lines.extend(more);
                }
                Ok(StatementResult::Text(lines.join("\n")))
            }
            Statement::CreateConnector {
                source,
                if_not_exists,
                name,
                properties,
            } => self.create_connector(*source, *if_not_exists, &name.value, properties),
            Statement::DropConnector { name, if_exists } => {
                self.drop_connector(&name.value, *if_exists)
            }
            Statement::ConnectorTarget { name, target } => {
                self.connector_target(&name.value, *target)
            }
            Statement::AlterSource {
                kind,
                name,
                add_columns,
            } => self.alter_source(*kind, &name.value, add_columns, text),
            Statement::Assert(a) => self.run_assert(a, None),
            // a client's command (the REPL reads the file and sends its
            // statements), not one of the server's grammar: ksqlDB refuses it
            Statement::RunScript { .. } => {
                Err(
                    sluice_sql::ParseError::syntax("a statement", Some("RUN".into()), stmt.pos)
                        .into(),
                )
            }
        }
    }

    /// Inline: runs every persistent query until all of them are caught up
    /// with their input, returning the first failure (the failed query is in
    /// ERROR until its retry; the others ran on). On stream threads: waits
    /// until every query has caught up with what its input held now.
    pub fn run_until_idle(&mut self) -> Result<()> {
        self.scheduler.run_until_idle(self.log.as_ref())
    }

    /// PAUSE / RESUME a query (`None`: ALL). A paused query reads nothing
    /// until resumed; resuming a failed query retries it now.
    fn pause_resume(&mut self, pause: bool, query_id: Option<&str>) -> Result<StatementResult> {
        let targets: Vec<&RunningQuery> = match query_id {
            None => self.queries.values().collect(),
            Some(id) => vec![self
                .queries
                .values()
                .find(|q| q.id.eq_ignore_ascii_case(id))
                .ok_or_else(|| {
                    EngineError::statement(format!(
                        "Query with id:{id} does not exist, use SHOW QUERIES to view the full set of running queries."
                    ))
                })?],
        };
        for h in targets.iter().flat_map(|q| &q.handles) {
            if pause {
                h.pause();
            } else {
                h.resume();
            }
        }
        let verb = if pause { "Paused" } else { "Resumed" };
        Ok(StatementResult::ack(match query_id {
            Some(id) => format!("{verb} query {}.", id.to_ascii_uppercase()),
            None => format!("{verb} {} queries.", targets.len()),
        }))
    }
}

/// [`Engine::servers`] without the engine: the servers of service
/// `service_id` on `log`, this one announcing itself as `name` (a server
/// calls it without holding its engine, as it asks the cluster).
pub fn service_servers(log: &dyn Log, service_id: &str, name: &str) -> Result<Option<Vec<String>>> {
    let topic = crate::command_log::command_topic(service_id);
    if !log.topic_exists(&topic)? {
        return Ok(None);
    }
    let group = format!("_sluice-{service_id}servers");
    Ok(log.presence(&group, &topic, name)?)
}
