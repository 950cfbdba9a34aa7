//! sluice-server: the ksqlDB-compatible REST API over the engine.
//!
//! It owns the HTTP side of Sluice: the axum router (`/ksql`, `/query`,
//! `/query-stream`, `/inserts-stream`, `/close-query`, `/info`, `/healthcheck`,
//! `/status`, `/clusterStatus`, `/ws/query`), the web console at `/`
//! ([`console`]), the mapping of engine results to
//! ksqlDB's JSON entities ([`entity`]), error responses in ksqlDB's shapes (one place:
//! [`error::ApiError`]), basic auth, request size limits, server configuration
//! ([`config`]), headless mode (a queries file run at startup) and the thread that
//! keeps persistent queries running. The engine itself stays synchronous; the server
//! shares it behind a mutex.
//!
//! It also serves the embedded schema registry ([`sluice_registry`]) on its own
//! listeners (`schema.registry.listeners`, Confluent's port 8081 by default), sharing
//! the registry instance with the engine, unless `ksql.schema.registry.url` names an
//! external registry for the engine to use instead.

pub mod admin;
pub mod config;
pub mod connect;
pub mod console;
pub mod entity;
pub mod error;
pub mod http;
pub mod inserts;
pub mod ksql;
pub mod metrics;
pub mod print;
pub mod query;
pub mod schema;
pub mod state;
pub mod tls;
pub mod ws;

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::routing::{get, post};
use axum::Router;
use sluice_engine::log::{EmbeddedLog, KafkaLog, Log};
use sluice_engine::{Engine, EngineConfig};
use sluice_registry::Registry;

pub use config::ServerConfig;
pub use error::{ApiError, ServerError};
pub use state::AppState;

use state::Shared;

/// The routes, with basic auth in front of all of them when configured.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/ksql", post(ksql::handle))
        .route("/query", post(query::query))
        .route("/query-stream", post(query::query_stream))
        .route("/inserts-stream", post(inserts::inserts_stream))
        .route("/close-query", post(query::close_query))
        .route("/info", get(admin::info))
        .route("/healthcheck", get(admin::healthcheck))
        .route("/status", get(admin::statuses))
        .route("/status/{kind}/{entity}/{action}", get(admin::status))
        .route("/clusterStatus", get(admin::cluster_status))
        .route("/metrics", get(metrics::metrics))
        .route("/ws/query", get(ws::ws_query))
        .merge(console::routes())
        .fallback(http::not_found)
        .method_not_allowed_fallback(http::method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            http::basic_auth,
        ))
        .layer(axum::middleware::from_fn(http::same_origin))
        .with_state(state)
}

/// What a server runs: the engine and, unless an external registry is configured,
/// the embedded schema registry it shares with the registry listeners.
pub struct Backend {
    pub engine: Engine,
    pub registry: Option<Arc<Registry>>,
}

impl From<Engine> for Backend {
    /// An engine alone: no schema registry is served.
    fn from(engine: Engine) -> Self {
        Backend {
            engine,
            registry: None,
        }
    }
}

/// The engine a configuration asks for: Kafka when `bootstrap.servers` is set,
/// else the embedded log under `sluice.data.dir`, or in memory when there is none;
/// the schema registry at `ksql.schema.registry.url`, or else the embedded one,
/// kept on the same log (its `_schemas` topic).
/// ksqlDB's key for the Connect cluster connector statements go to.
const KSQL_CONNECT_URL: &str = "ksql.connect.url";

pub fn engine_for(config: &ServerConfig) -> Result<Backend, ServerError> {
    let kafka = config.engine_properties.contains_key("bootstrap.servers");
    let log: Arc<dyn Log> = if kafka {
        let mut properties = config.engine_properties.clone();
        if let Some(id) = config.default_group_instance_id() {
            properties.insert("group.instance.id".into(), id);
        }
        Arc::new(KafkaLog::connect(&properties).map_err(|e| ServerError::Config(e.to_string()))?)
    } else {
        match &config.data_dir {
            Some(dir) => Arc::new(EmbeddedLog::open(dir).map_err(|e| {
                ServerError::Config(format!("cannot open data dir {}: {e}", dir.display()))
            })?),
            None => Arc::new(EmbeddedLog::in_memory()),
        }
    };
    // the service id names the command topic and every query's consumer
    // group, so servers started with the same one share their work
    let mut properties = config.engine_properties.clone();
    properties.insert(config::SERVICE_ID.to_string(), config.service_id.clone());
    // ksql.connect.url naming this server's own Connect listener (ksqlDB's
    // default, http://localhost:8083) means its own worker, not HTTP to itself
    if properties
        .get(KSQL_CONNECT_URL)
        .is_some_and(|u| config.names_own_connect_listener(u))
    {
        properties.remove(KSQL_CONNECT_URL);
    }
    let engine = Engine::new(log.clone(), EngineConfig { properties });
    // queries' state stores: ksql.streams.state.dir, else under the data dir
    // (a server without one keeps them in memory)
    let state_dir = ["ksql.streams.state.dir", "state.dir"]
        .iter()
        .find_map(|k| config.engine_properties.get(*k))
        .map(PathBuf::from)
        .or_else(|| config.data_dir.as_ref().map(|d| d.join("state")));
    let engine = match state_dir {
        Some(dir) => engine
            .with_state_dir(&dir)
            .map_err(|e| ServerError::Config(e.to_string()))?,
        None => engine,
    };
    // the registry is in place before the command log replays statements that use it
    let (engine, registry) = match config.external_registry_url() {
        Some(url) => {
            let client =
                sluice_registry::client::RegistryClient::new(url, config.registry_user_info())
                    .map_err(|e| {
                        ServerError::Config(format!("{}: {e}", config::SCHEMA_REGISTRY_URL))
                    })?;
            (engine.with_registry(Arc::new(client)), None)
        }
        None => {
            let registry = Registry::open(log)
                .map_err(|e| ServerError::Config(format!("schema registry: {e}")))?;
            (engine.with_registry(registry.clone()), Some(registry))
        }
    };
    // on Kafka (in its command topic) or with a data dir, streams, tables and
    // queries survive restarts
    let engine = match &config.data_dir {
        _ if kafka => engine.with_command_topic(),
        Some(dir) => engine.with_command_log(&dir.join("command.log")),
        None => Ok(engine),
    }
    .map_err(|e| ServerError::Config(e.to_string()))?;
    let engine = engine
        .with_processing_log_stream()
        .map_err(|e| ServerError::Config(format!("processing log: {e}")))?;
    // the queries the command log brought back, and every later one, run on
    // the stream threads
    let threads = engine.stream_threads();
    let engine = engine.with_stream_threads(threads);
    Ok(Backend { engine, registry })
}

/// Run every statement of a queries file, stopping at the first failure with the
/// statement and where it is. Returns how many statements ran.
pub fn run_queries_file(engine: &mut Engine, path: &Path) -> Result<usize, ServerError> {
    let sql = std::fs::read_to_string(path).map_err(|source| ServerError::Read {
        path: path.display().to_string(),
        source,
    })?;
    let statements = sluice_engine::split_statements_at(&sql);
    for (i, (start, text)) in statements.iter().enumerate() {
        if let Err(e) = engine.execute_sql_at(text, *start) {
            return Err(ServerError::QueriesFile {
                file: path.display().to_string(),
                index: i + 1,
                line: start.line,
                column: start.column,
                statement: text.trim().to_string(),
                message: e.to_string(),
            });
        }
    }
    Ok(statements.len())
}

/// A bound listener, with the TLS acceptor of an `https://` one.
type Bound = (tokio::net::TcpListener, Option<tls::Acceptor>);

/// Binds each of `listeners` (`default_port` where one names none); `https://`
/// ones share one acceptor from the keystore.
async fn bind_all(
    listeners: &[String],
    default_port: u16,
    config: &ServerConfig,
    acceptor: &mut Option<tls::Acceptor>,
) -> Result<Vec<Bound>, ServerError> {
    let mut bound = Vec::new();
    for l in listeners {
        let (addr, https) = config::listener_address_or(l, default_port)?;
        let tls = if https {
            let path = config
                .ssl_keystore
                .as_deref()
                .ok_or_else(|| ServerError::TlsWithoutKeystore(l.clone()))?;
            if acceptor.is_none() {
                *acceptor = Some(tls::acceptor(path)?);
            }
            acceptor.clone()
        } else {
            None
        };
        let listener = tokio::net::TcpListener::bind(&addr)
            .await
            .map_err(|source| ServerError::Bind {
                addr: addr.clone(),
                source,
            })?;
        bound.push((listener, tls));
    }
    Ok(bound)
}

/// `http://addr` / `https://addr` of each listener, as bound.
/// `host:port` of a bound address as other servers reach it: the machine's
/// name for a wildcard address.
fn advertised_name(addr: SocketAddr) -> String {
    let host = if addr.ip().is_unspecified() {
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .ok()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "localhost".to_string())
    } else {
        addr.ip().to_string()
    };
    format!("{host}:{}", addr.port())
}

fn urls_of(listeners: &[Bound]) -> Vec<String> {
    listeners
        .iter()
        .filter_map(|(l, tls)| {
            let scheme = if tls.is_some() { "https" } else { "http" };
            l.local_addr().ok().map(|a| format!("{scheme}://{a}"))
        })
        .collect()
}

/// A server bound to its listeners, ready to run.
pub struct Server {
    state: AppState,
    listeners: Vec<Bound>,
    /// The embedded schema registry and its own listeners (Confluent's port).
    registry: Option<(Arc<Registry>, Vec<Bound>)>,
    /// Kafka Connect's REST API's listeners (a Connect worker's port).
    connect: Vec<Bound>,
}

impl Server {
    /// Read the users file, run the queries file (headless mode) and bind every
    /// listener: the REST API's, then the embedded schema registry's (when the
    /// backend has one and `schema.registry.listeners` is not `none`).
    pub async fn bind(
        config: ServerConfig,
        backend: impl Into<Backend>,
    ) -> Result<Server, ServerError> {
        let Backend {
            mut engine,
            registry,
        } = backend.into();
        let users = match &config.users_file {
            Some(path) => Some(config::read_users(path)?),
            None => None,
        };
        let headless = match &config.queries_file {
            Some(path) => {
                run_queries_file(&mut engine, path)?;
                true
            }
            None => false,
        };
        let mut acceptor = None;
        let listeners = bind_all(&config.listeners, 8088, &config, &mut acceptor).await?;
        let registry = match registry {
            Some(r) if !config.schema_registry_listeners.is_empty() => {
                let bound = bind_all(
                    &config.schema_registry_listeners,
                    8081,
                    &config,
                    &mut acceptor,
                )
                .await?;
                Some((r, bound))
            }
            _ => None,
        };
        let connect = match bind_all(&config.connect_listeners, 8083, &config, &mut acceptor).await
        {
            Ok(bound) => bound,
            // the default port taken (a Connect worker on this machine, another
            // server): run without it rather than not at all
            Err(ServerError::Bind { addr, source }) if !config.connect_listeners_set => {
                tracing::warn!(
                    "Kafka Connect's REST API not served: {addr}: {source} (set connect.listeners)"
                );
                Vec::new()
            }
            Err(e) => return Err(e),
        };
        let state = Shared::new(engine, config, users, headless);
        if let Some(addr) = listeners.first().and_then(|(l, _)| l.local_addr().ok()) {
            *state.advertised.lock().unwrap_or_else(|e| e.into_inner()) =
                Some(advertised_name(addr));
        }
        Ok(Server {
            state,
            listeners,
            registry,
            connect,
        })
    }

    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.listeners
            .iter()
            .filter_map(|(l, _)| l.local_addr().ok())
            .collect()
    }

    /// `http://addr` / `https://addr` of every REST API listener, as bound.
    pub fn urls(&self) -> Vec<String> {
        urls_of(&self.listeners)
    }

    /// The same for the embedded schema registry's listeners (none when it is
    /// not served).
    pub fn registry_urls(&self) -> Vec<String> {
        self.registry
            .as_ref()
            .map(|(_, bound)| urls_of(bound))
            .unwrap_or_default()
    }

    /// The same for Kafka Connect's REST API's listeners.
    pub fn connect_urls(&self) -> Vec<String> {
        urls_of(&self.connect)
    }

    pub fn state(&self) -> AppState {
        self.state.clone()
    }

    /// Serve until `shutdown` completes; then open push queries end, in-flight
    /// requests finish and the persistent-query thread stops.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServerError> {
        // on a shared log the server announces itself to the others of its
        // service now and every 10 s (staying in the group needs it)
        let presence = state::spawn_presence(self.state.clone());
        // and applies what the others put in the command topic
        let follower = state::spawn_follower(self.state.clone());
        // an engine on stream threads runs its queries itself; an inline one
        // (the REST test runner's) is driven from here
        let driver = self
            .state
            .engine()
            .is_ok_and(|e| e.runs_inline())
            .then(|| state::spawn_driver(self.state.clone()));
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let app = router(self.state.clone());
        let mut served: Vec<(Bound, Router)> = self
            .listeners
            .into_iter()
            .map(|bound| (bound, app.clone()))
            .collect();
        if let Some((registry, bound)) = self.registry {
            let registry_app = sluice_registry::router(registry).layer(
                axum::middleware::from_fn_with_state(self.state.clone(), http::registry_basic_auth),
            );
            served.extend(bound.into_iter().map(|b| (b, registry_app.clone())));
        }
        let connect_app = connect::router(self.state.clone()).layer(
            axum::middleware::from_fn_with_state(self.state.clone(), http::registry_basic_auth),
        );
        served.extend(self.connect.into_iter().map(|b| (b, connect_app.clone())));
        let mut tasks = Vec::new();
        for ((listener, tls), app) in served {
            let mut rx = stop_rx.clone();
            tasks.push(tokio::spawn(async move {
                let stopped = async move {
                    let _ = rx.wait_for(|stop| *stop).await;
                };
                match tls {
                    Some(acceptor) => {
                        tls::serve(listener, acceptor, app, stopped).await;
                        Ok(())
                    }
                    None => {
                        // small streamed pieces (acks, rows) go out at once,
                        // not after the peer's delayed ACK
                        let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
                            let _ = tcp.set_nodelay(true);
                        });
                        axum::serve(listener, app)
                            .with_graceful_shutdown(stopped)
                            .await
                    }
                }
            }));
        }
        shutdown.await;
        self.state.stopping.store(true, Ordering::SeqCst);
        let _ = stop_tx.send(true);
        for t in tasks {
            t.await
                .map_err(|e| ServerError::Io(std::io::Error::other(e)))??;
        }
        if let Some(driver) = driver {
            let _ = driver.join();
        }
        let _ = presence.join();
        let _ = follower.join();
        Ok(())
    }
}
