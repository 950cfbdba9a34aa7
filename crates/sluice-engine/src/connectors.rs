//! Connector statements (`CREATE SOURCE|SINK CONNECTOR`, `DROP CONNECTOR`,
//! `SHOW [SOURCE|SINK] CONNECTORS`, `DESCRIBE CONNECTOR`, `SHOW CONNECTOR
//! PLUGINS`) over the engine's Connect [`Worker`], as ksqlDB's
//! `ConnectExecutor` and friends run them against a Connect cluster: names as
//! identifiers (upper-cased unless quoted), found without case; a
//! connector's definition in the command log, so it comes back at a restart.

use std::sync::Arc;

use sluice_connect::{ConnectError, ConnectorConfig, ConnectorType, Plugin, Worker, WorkerConfig};
use sluice_formats::{RegisteredSchema, SchemaRegistry, SchemaType as RegistrySchemaType};
use sluice_sql::Properties;

use crate::connect_client::RemoteConnect;
use crate::engine::Engine;
use crate::error::{EngineError, Result};
use crate::result::{
    ConnectorDescription, ConnectorListing, Listing, PluginListing, StatementResult,
};

/// The HTTP status ksqlDB answers a Connect failure with (Connect's own).
fn connect_error(prefix: &str, e: ConnectError) -> EngineError {
    let status = match &e {
        ConnectError::NotFound(_) => 404,
        ConnectError::Exists(_) => 409,
        ConnectError::Log(_) | ConnectError::Task(_) => 500,
        _ => 400,
    };
    EngineError::Connect {
        status,
        message: format!("{prefix}{e}"),
    }
}

/// The worker an engine starts with: named after the server's first
/// listener, source offsets in `connect.offset.storage.topic` (default
/// `_sluice-<service id>_connect_offsets`), worker defaults from the
/// engine's `connect.*` properties (`connect.value.converter`, ...).
pub(crate) fn worker_for(
    log: Arc<dyn sluice_log::Log>,
    properties: &std::collections::BTreeMap<String, String>,
    processing_log: Arc<sluice_runtime::ProcessingLog>,
    registry: RegistryCell,
) -> Worker {
    let service = crate::settings::SERVICE_ID
        .value_in(|k| properties.get(k).map(String::as_str))
        .unwrap_or_default();
    let id = properties
        .get("listeners")
        .and_then(|l| l.split(',').next())
        .map(|l| l.trim().rsplit("//").next().unwrap_or(l).to_string())
        .unwrap_or_else(|| "localhost:8088".to_string());
    let defaults = ConnectorConfig::new(
        properties
            .iter()
            .filter_map(|(k, v)| {
                k.strip_prefix("connect.")
                    .map(|k| (k.to_string(), v.clone()))
            })
            .collect(),
    );
    let worker = Worker::new(
        log,
        WorkerConfig {
            id,
            offsets_topic: properties
                .get("connect.offset.storage.topic")
                .cloned()
                .unwrap_or_else(|| format!("_sluice-{service}_connect_offsets")),
            defaults,
            registries: Some(registries(
                registry,
                properties.get("ksql.schema.registry.url").cloned(),
                properties
                    .get("ksql.schema.registry.basic.auth.user.info")
                    .or_else(|| properties.get("basic.auth.user.info"))
                    .cloned(),
            )),
        },
    );
    // a record a connector skips (`errors.tolerance=all`) is a processing
    // log entry under the connector's name
    worker.report_to(Arc::new(move |s: sluice_connect::SkippedRecord| {
        processing_log.record(sluice_runtime::ProcessingLogEntry {
            query_id: s.connector,
            topic: s.topic,
            partition: s.partition,
            offset: s.offset,
            message: s.message,
            target: None,
        })
    }));
    worker
}

/// The engine's schema registry, as it is now (an engine may be given
/// another after its worker started).
pub(crate) type RegistryCell = Arc<std::sync::RwLock<Arc<dyn SchemaRegistry>>>;

/// The engine's registry (or another) as an Avro converter uses it.
struct ConverterRegistry(Arc<dyn SchemaRegistry>);

impl sluice_connect::avro::Registry for ConverterRegistry {
    fn register(&self, subject: &str, schema: &str) -> std::result::Result<i32, String> {
        self.0
            .register(
                subject,
                &RegisteredSchema::new(RegistrySchemaType::Avro, schema),
            )
            .map_err(|e| e.to_string())
    }

    fn schema(&self, id: i32) -> std::result::Result<String, String> {
        let found = self.0.schema_by_id(id).map_err(|e| e.to_string())?;
        if found.schema_type != RegistrySchemaType::Avro {
            return Err(format!(
                "schema {id} is a {} schema, not Avro",
                found.schema_type.name()
            ));
        }
        Ok(found.schema)
    }
}

/// What an `AvroConverter`'s `schema.registry.url` reaches: the engine's own
/// registry when the URL is the engine's `ksql.schema.registry.url`, or, when
/// the engine runs the embedded registry, any URL on this machine (where the
/// server serves it: `schema.registry.listeners`, Confluent's port 8081 by
/// default); any other URL is another registry, reached over HTTP.
fn registries(
    engine: RegistryCell,
    external: Option<String>,
    user_info: Option<String>,
) -> sluice_connect::avro::Registries {
    let normalize = |u: &str| u.trim().trim_end_matches('/').to_ascii_lowercase();
    Arc::new(move |url: &str| {
        let own = match &external {
            Some(e) => e.split(',').any(|e| normalize(e) == normalize(url)),
            None => url::Url::parse(url.trim())
                .ok()
                .and_then(|u| u.host_str().map(str::to_string))
                .is_some_and(|h| is_local_host(&h)),
        };
        let registry: Arc<dyn SchemaRegistry> = if own {
            engine.read().unwrap_or_else(|e| e.into_inner()).clone()
        } else {
            Arc::new(
                sluice_registry::client::RegistryClient::new(url, user_info.as_deref())
                    .map_err(|e| ConnectError::config("schema.registry.url", e.to_string()))?,
            )
        };
        Ok(Arc::new(ConverterRegistry(registry)) as Arc<dyn sluice_connect::avro::Registry>)
    })
}

fn is_local_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback() || ip.is_unspecified())
}

impl Engine {
    pub fn connect_worker(&self) -> &Arc<Worker> {
        &self.connect
    }

    /// The Connect cluster `ksql.connect.url` names, if it names one.
    fn remote_connect(&self) -> Result<Option<Arc<RemoteConnect>>> {
        match &self.remote_connect {
            None => Ok(None),
            Some(Ok(r)) => Ok(Some(r.clone())),
            Some(Err(e)) => Err(EngineError::statement(e.clone())),
        }
    }

    pub(crate) fn create_connector(
        &mut self,
        source: bool,
        if_not_exists: bool,
        name: &str,
        properties: &Properties,
    ) -> Result<StatementResult> {
        let remote = self.remote_connect()?;
        let names = match &remote {
            Some(r) => r.list().map_err(|e| match e {
                EngineError::Connect { message, .. } => EngineError::statement(format!(
                    "Failed to check for existing connector: {message}"
                )),
                other => other,
            })?,
            None => self.connect.list(),
        };
        if names.iter().any(|c| c.eq_ignore_ascii_case(name)) {
            if if_not_exists {
                return Ok(StatementResult::Warning {
                    message: format!("Connector {name} already exists"),
                });
            }
            return Err(connect_error("", ConnectError::Exists(name.to_string())));
        }
        let mut config = ConnectorConfig::default();
        for (k, v) in properties {
            let mut value = v.as_property_text();
            if crate::secrets::is_sealed(&value) {
                value = self.secret_box()?.open(&value)?;
            }
            config.set(k, value);
        }
        expand_jdbc_key(&mut config);
        if let Some(remote) = remote {
            // as ksqlDB's ConnectExecutor: Connect validates, then creates
            let mut values = config.values().clone();
            values.insert("name".into(), name.to_string());
            let errors = remote.validate(&values)?;
            if !errors.is_empty() {
                return Err(EngineError::statement(format!(
                    "Validation error: {}",
                    errors.join("\n")
                )));
            }
            let info = remote.create(name, &values)?;
            return Ok(StatementResult::ConnectorCreated(info));
        }
        // its secrets will be sealed in the command log: a missing key
        // refuses the statement before anything runs
        if self.command_log.is_some()
            && !self.replaying
            && config.values().keys().any(|k| sluice_connect::is_secret(k))
        {
            self.secret_box()?;
        }
        let plugin = self
            .connect
            .validate(&config)
            .map_err(|e| EngineError::statement(format!("Validation error: {e}")))?;
        let wanted = if source {
            ConnectorType::Source
        } else {
            ConnectorType::Sink
        };
        if plugin.kind() != wanted {
            return Err(EngineError::statement(format!(
                "Validation error: connector.class - {} is a {} connector, not a {} connector",
                plugin.class(),
                plugin.kind().name(),
                wanted.name()
            )));
        }
        let target = self.replayed_target();
        let info = self
            .connect
            .create_in(name, config, target)
            .map_err(|e| connect_error("Failed to create connector: ", e))?;
        Ok(StatementResult::ConnectorCreated(info))
    }

    /// The key sealing connector secrets: `ksql.connect.secrets.key`, else
    /// the key file beside the command log file.
    fn secret_box(&self) -> Result<crate::secrets::SecretBox> {
        if let Some(key) = self.property("ksql.connect.secrets.key") {
            return crate::secrets::SecretBox::from_property(key);
        }
        match &self.secrets_file {
            Some(path) => crate::secrets::SecretBox::load_or_create(path),
            None => Err(EngineError::statement(
                "A connector's secrets (connection.password, *.password) go into the command topic \
                 sealed: set ksql.connect.secrets.key (the base64 of 32 random bytes, the same on \
                 every server of the service) to create one",
            )),
        }
    }

    /// A statement as the command log keeps it: a connector's secret values
    /// sealed (see `secrets`), any other statement as written.
    pub(crate) fn logged_text(&self, stmt: &sluice_sql::ParsedStatement) -> Result<String> {
        if let sluice_sql::Statement::CreateFunction(cf) = &stmt.statement {
            return Ok(self
                .logged_function(cf)?
                .unwrap_or_else(|| stmt.text.clone()));
        }
        let sluice_sql::Statement::CreateConnector {
            source,
            if_not_exists,
            name,
            properties,
        } = &stmt.statement
        else {
            return Ok(stmt.text.clone());
        };
        if !properties.iter().any(|(k, _)| sluice_connect::is_secret(k)) {
            return Ok(stmt.text.clone());
        }
        let secrets = self.secret_box()?;
        let properties = properties
            .iter()
            .map(|(k, v)| {
                let text = v.as_property_text();
                if sluice_connect::is_secret(k) && !crate::secrets::is_sealed(&text) {
                    (k.clone(), sluice_sql::Literal::String(secrets.seal(&text)))
                } else {
                    (k.clone(), v.clone())
                }
            })
            .collect();
        let sealed = sluice_sql::Statement::CreateConnector {
            source: *source,
            if_not_exists: *if_not_exists,
            name: name.clone(),
            properties,
        };
        Ok(format!("{sealed};"))
    }

    /// `PAUSE|RESUME|STOP CONNECTOR name`: Connect's target state, kept in
    /// the command log with the connector (a restart or another server of
    /// the service starts it in that state).
    pub(crate) fn connector_target(
        &mut self,
        name: &str,
        target: sluice_sql::ConnectorTarget,
    ) -> Result<StatementResult> {
        let done = match target {
            sluice_sql::ConnectorTarget::Started => "resumed",
            sluice_sql::ConnectorTarget::Paused => "paused",
            sluice_sql::ConnectorTarget::Stopped => "stopped",
        };
        let acted = match self.remote_connect()? {
            Some(remote) => remote.target(name, target),
            None => match target {
                sluice_sql::ConnectorTarget::Started => self.connect.resume(name),
                sluice_sql::ConnectorTarget::Paused => self.connect.pause(name),
                sluice_sql::ConnectorTarget::Stopped => self.connect.stop(name),
            }
            .map_err(|e| connect_error("", e)),
        };
        acted.map(|()| StatementResult::ack(format!("Connector {name} {done}")))
    }

    /// The target state the command log gives the connector a replayed
    /// `CREATE` makes (its last `PAUSE`, `RESUME` or `STOP` before it is
    /// dropped): its tasks start in it, not running until the log says so.
    pub(crate) fn replayed_target(&mut self) -> sluice_connect::TargetState {
        match self.replay_connector_target.take() {
            Some(sluice_sql::ConnectorTarget::Paused) => sluice_connect::TargetState::Paused,
            Some(sluice_sql::ConnectorTarget::Stopped) => sluice_connect::TargetState::Stopped,
            _ => sluice_connect::TargetState::Started,
        }
    }

    pub(crate) fn drop_connector(
        &mut self,
        name: &str,
        if_exists: bool,
    ) -> Result<StatementResult> {
        if let Some(remote) = self.remote_connect()? {
            return match remote.delete(name) {
                Ok(()) => Ok(StatementResult::ConnectorDropped {
                    name: name.to_string(),
                }),
                Err(EngineError::Connect { status: 404, .. }) if if_exists => {
                    Ok(StatementResult::Warning {
                        message: format!("Connector '{name}' does not exist."),
                    })
                }
                Err(e) => Err(e),
            };
        }
        match self.connect.delete(name) {
            Ok(()) => Ok(StatementResult::ConnectorDropped {
                name: name.to_string(),
            }),
            Err(ConnectError::NotFound(_)) if if_exists => Ok(StatementResult::Warning {
                message: format!("Connector '{name}' does not exist."),
            }),
            Err(e) => Err(connect_error("Failed to drop connector: ", e)),
        }
    }

    pub(crate) fn show_connectors(&self, source: Option<bool>) -> Result<Listing> {
        if let Some(remote) = self.remote_connect()? {
            let mut listings = Vec::new();
            for name in remote.list()? {
                // gone between the list and the look: not listed
                let (Ok(info), Ok(status)) = (remote.info(&name), remote.status(&name)) else {
                    continue;
                };
                if source.is_none_or(|s| (info.kind == ConnectorType::Source) == s) {
                    listings.push(ConnectorListing {
                        name,
                        kind: info.kind,
                        class: info.class,
                        state: summarize(&status),
                    });
                }
            }
            return Ok(Listing::Connectors(listings));
        }
        let listings = self
            .connect
            .list()
            .into_iter()
            .filter_map(|name| {
                let info = self.connect.info(&name).ok()?;
                let status = self.connect.status(&name).ok()?;
                let in_scope = match source {
                    None => true,
                    Some(s) => (info.kind == ConnectorType::Source) == s,
                };
                in_scope.then(|| ConnectorListing {
                    name,
                    kind: info.kind,
                    class: info.class,
                    state: summarize(&status),
                })
            })
            .collect();
        Ok(Listing::Connectors(listings))
    }

    pub(crate) fn describe_connector(&self, name: &str) -> Result<Listing> {
        let (status, info, topics) = match self.remote_connect()? {
            Some(remote) => (
                remote.status(name)?,
                remote.info(name)?,
                remote.topics(name).unwrap_or_default(),
            ),
            None => (
                self.connect
                    .status(name)
                    .map_err(|e| connect_error("Failed to query connector status: ", e))?,
                self.connect
                    .info(name)
                    .map_err(|e| connect_error("Failed to describe connector: ", e))?,
                self.connect.topics(name).unwrap_or_default(),
            ),
        };
        let sources = self
            .metastore
            .sources()
            .filter(|s| topics.contains(&s.topic))
            .cloned()
            .map(|s| self.source_description(s, false))
            .collect();
        Ok(Listing::Connector(Box::new(ConnectorDescription {
            class: info.class,
            status,
            sources,
            topics,
        })))
    }

    pub(crate) fn show_connector_plugins(&self) -> Result<Listing> {
        if let Some(remote) = self.remote_connect()? {
            return Ok(Listing::ConnectorPlugins(remote.plugins()?));
        }
        Ok(Listing::ConnectorPlugins(
            Plugin::ALL
                .iter()
                .map(|p| PluginListing {
                    class: p.class().to_string(),
                    kind: p.kind(),
                    version: p.version().to_string(),
                })
                .collect(),
        ))
    }
}

/// ksqlDB's one-word state of a connector in SHOW CONNECTORS:
/// `RUNNING (1/2 tasks RUNNING)`, `WARNING (0/1 tasks RUNNING)` when none
/// runs, else the connector's own state.
fn summarize(status: &sluice_connect::ConnectorStatus) -> String {
    if status.state != sluice_connect::State::Running {
        return status.state.name().to_string();
    }
    let running = status
        .tasks
        .iter()
        .filter(|t| t.state == sluice_connect::State::Running)
        .count();
    let word = if !status.tasks.is_empty() && running == 0 {
        "WARNING"
    } else {
        "RUNNING"
    };
    format!("{word} ({running}/{} tasks RUNNING)", status.tasks.len())
}

/// ksqlDB's `key` shorthand of a JDBC source (`JdbcSource.resolveConfigs`):
/// a `ValueToKey` + `ExtractField$Key` pair of transforms keying records by
/// that column, and `tasks.max` 1 unless set.
fn expand_jdbc_key(config: &mut ConnectorConfig) {
    if config.get("connector.class") != Some("io.confluent.connect.jdbc.JdbcSourceConnector") {
        return;
    }
    let mut values = config.values().clone();
    if let Some(key) = values.remove("key") {
        let chain = match values.get("transforms") {
            Some(t) if !t.trim().is_empty() => format!("{t},ksqlCreateKey,ksqlExtractString"),
            _ => "ksqlCreateKey,ksqlExtractString".to_string(),
        };
        values.insert("transforms".into(), chain);
        values.insert(
            "transforms.ksqlCreateKey.type".into(),
            "org.apache.kafka.connect.transforms.ValueToKey".into(),
        );
        values.insert("transforms.ksqlCreateKey.fields".into(), key.clone());
        values.insert(
            "transforms.ksqlExtractString.type".into(),
            "org.apache.kafka.connect.transforms.ExtractField$Key".into(),
        );
        values.insert("transforms.ksqlExtractString.field".into(), key);
    }
    values
        .entry("tasks.max".into())
        .or_insert_with(|| "1".into());
    *config = ConnectorConfig::new(values);
}

/// For each command of `commands` that creates a connector, the target
/// state the log leaves it in: the last `PAUSE`, `RESUME` or `STOP` of that
/// connector before it is dropped or created again.
pub(crate) fn connector_targets(
    commands: &[crate::command_log::Command],
) -> std::collections::HashMap<usize, sluice_sql::ConnectorTarget> {
    use sluice_sql::Statement;
    let mut created: std::collections::HashMap<String, usize> = Default::default();
    let mut targets = std::collections::HashMap::new();
    for (i, c) in commands.iter().enumerate() {
        let Ok(statements) = sluice_sql::parse(&c.sql) else {
            continue;
        };
        for s in statements {
            match s.statement {
                Statement::CreateConnector { name, .. } => {
                    created.insert(name.value.to_ascii_uppercase(), i);
                }
                Statement::DropConnector { name, .. } => {
                    created.remove(&name.value.to_ascii_uppercase());
                }
                Statement::ConnectorTarget { name, target } => {
                    if let Some(at) = created.get(&name.value.to_ascii_uppercase()) {
                        targets.insert(*at, target);
                    }
                }
                _ => {}
            }
        }
    }
    targets
}

/// What Kafka Connect's REST API asks of the engine: connectors made and
/// dropped there go through the same statements (and the command log) as
/// SQL's, so a connector is one thing on both sides.
impl Engine {
    /// `POST /connectors` (`replace` false) or `PUT /connectors/{name}/config`
    /// (true): creates connector `name` from `config`, or replaces the
    /// configuration of the one there. Returns it, and whether it is new.
    pub fn put_connector(
        &mut self,
        name: &str,
        config: std::collections::BTreeMap<String, String>,
        replace: bool,
    ) -> Result<(sluice_connect::ConnectorInfo, bool)> {
        let exists = self.connect.list().iter().any(|c| c == name);
        if exists && !replace {
            return Err(connect_error("", ConnectError::Exists(name.to_string())));
        }
        if let Some(named) = config.get("name").filter(|n| *n != name) {
            return Err(EngineError::Connect {
                status: 400,
                message: format!(
                    "Connector name configuration ({named}) doesn't match connector name in the URL ({name})"
                ),
            });
        }
        let checked = ConnectorConfig::new(config.clone());
        let plugin = self.connect.validate(&checked).map_err(|e| {
            let class = checked.get("connector.class").unwrap_or_default();
            EngineError::Connect {
                status: 400,
                message: format!(
                    "Connector configuration is invalid and contains the following 1 error(s):\n{e}\nYou can also find the above list of errors at the endpoint `/connector-plugins/{class}/config/validate`"
                ),
            }
        })?;
        let create = sluice_sql::Statement::CreateConnector {
            source: plugin.kind() == ConnectorType::Source,
            if_not_exists: false,
            name: sluice_sql::Ident::quoted(name),
            properties: config
                .into_iter()
                .filter(|(k, _)| k != "name")
                .map(|(k, v)| (k, sluice_sql::Literal::String(v)))
                .collect(),
        };
        // a paused or stopped connector stays so with its new configuration
        let kept = match self.connect.status(name).map(|s| s.state) {
            Ok(sluice_connect::State::Paused) => Some(sluice_sql::ConnectorTarget::Paused),
            Ok(sluice_connect::State::Stopped) => Some(sluice_sql::ConnectorTarget::Stopped),
            _ => None,
        };
        if exists {
            let drop = sluice_sql::Statement::DropConnector {
                name: sluice_sql::Ident::quoted(name),
                if_exists: true,
            };
            self.execute_sql(&format!("{drop};"))?;
        }
        let kept = kept.filter(|_| exists);
        // its tasks start in that state, which the command log keeps after the CREATE
        self.replay_connector_target = kept;
        let created = self.execute_sql(&format!("{create};"));
        self.replay_connector_target = None;
        created?;
        if let Some(target) = kept {
            self.set_connector_target(name, target)?;
        }
        let info = self.connect.info(name).map_err(|e| connect_error("", e))?;
        Ok((info, !exists))
    }

    /// `PUT /connectors/{name}/pause`, `resume` and `stop`: the same
    /// statements as SQL's (kept in the command log).
    pub fn set_connector_target(
        &mut self,
        name: &str,
        target: sluice_sql::ConnectorTarget,
    ) -> Result<()> {
        if !self.connect.list().iter().any(|c| c == name) {
            return Err(connect_error("", ConnectError::NotFound(name.to_string())));
        }
        let statement = sluice_sql::Statement::ConnectorTarget {
            name: sluice_sql::Ident::quoted(name),
            target,
        };
        self.execute_sql(&format!("{statement};")).map(|_| ())
    }

    /// `DELETE /connectors/{name}`.
    pub fn delete_connector(&mut self, name: &str) -> Result<()> {
        if !self.connect.list().iter().any(|c| c == name) {
            return Err(connect_error("", ConnectError::NotFound(name.to_string())));
        }
        let drop = sluice_sql::Statement::DropConnector {
            name: sluice_sql::Ident::quoted(name),
            if_exists: false,
        };
        self.execute_sql(&format!("{drop};")).map(|_| ())
    }
}
