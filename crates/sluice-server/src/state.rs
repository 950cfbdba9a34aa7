//! What the handlers share: the engine behind a mutex, the thread that keeps
//! persistent queries running, the command log `/status` reads and the open push
//! queries `/close-query` can stop.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use sluice_engine::Engine;

use crate::config::ServerConfig;
use crate::error::ApiError;

/// How often the driver thread advances the persistent queries.
const DRIVE_INTERVAL: Duration = Duration::from_millis(10);

/// A command (`stream/`X`/create`) and how it went, as `/status` reports it.
#[derive(Debug, Clone)]
pub struct CommandRecord {
    pub id: String,
    pub status: String,
    pub message: String,
}

pub struct Shared {
    pub engine: Mutex<Engine>,
    pub config: ServerConfig,
    pub users: Option<HashMap<String, String>>,
    pub headless: bool,
    pub commands: Mutex<Vec<CommandRecord>>,
    /// Open push queries: id → cancel flag.
    pub push_queries: Mutex<HashMap<String, Arc<AtomicBool>>>,
    pub stopping: AtomicBool,
    pub started_ms: u128,
    /// This server's `host:port` as the other servers of its service see it
    /// (set once its listener is bound).
    pub advertised: Mutex<Option<String>>,
}

pub type AppState = Arc<Shared>;

fn lock<T>(m: &Mutex<T>) -> Result<MutexGuard<'_, T>, ApiError> {
    m.lock()
        .map_err(|_| ApiError::Internal("the engine failed earlier; restart the server".into()))
}

impl Shared {
    pub fn new(
        engine: Engine,
        config: ServerConfig,
        users: Option<HashMap<String, String>>,
        headless: bool,
    ) -> AppState {
        Arc::new(Shared {
            engine: Mutex::new(engine),
            config,
            users,
            headless,
            commands: Mutex::new(Vec::new()),
            push_queries: Mutex::new(HashMap::new()),
            stopping: AtomicBool::new(false),
            started_ms: now_ms(),
            advertised: Mutex::new(None),
        })
    }

    pub fn engine(&self) -> Result<MutexGuard<'_, Engine>, ApiError> {
        lock(&self.engine)
    }

    /// Record a command; returns its sequence number.
    pub fn record_command(&self, id: &str, message: &str) -> usize {
        let Ok(mut commands) = lock(&self.commands) else {
            return 0;
        };
        commands.retain(|c| c.id != id);
        commands.push(CommandRecord {
            id: id.to_string(),
            status: "SUCCESS".to_string(),
            message: message.to_string(),
        });
        commands.len()
    }

    pub fn commands(&self) -> Vec<CommandRecord> {
        lock(&self.commands).map(|c| c.clone()).unwrap_or_default()
    }

    pub fn register_push(&self, id: &str) -> Arc<AtomicBool> {
        let flag = Arc::new(AtomicBool::new(false));
        if let Ok(mut open) = lock(&self.push_queries) {
            open.insert(id.to_string(), flag.clone());
        }
        flag
    }

    pub fn unregister_push(&self, id: &str) {
        if let Ok(mut open) = lock(&self.push_queries) {
            open.remove(id);
        }
    }

    /// Stop an open push query; false when there is none with that id.
    pub fn close_push(&self, id: &str) -> bool {
        lock(&self.push_queries)
            .ok()
            .and_then(|open| open.get(id).cloned())
            .map(|flag| flag.store(true, Ordering::SeqCst))
            .is_some()
    }
}

pub fn now_ms() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default()
}

/// Run `f` with the engine on a blocking thread (the engine is synchronous).
pub async fn with_engine<T, F>(state: &AppState, f: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&Shared, &mut Engine) -> Result<T, ApiError> + Send + 'static,
{
    let state = state.clone();
    tokio::task::spawn_blocking(move || {
        let mut engine = state.engine()?;
        f(&state, &mut engine)
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?
}

/// How often a server applies what the other servers of its service put in
/// the command topic.
const FOLLOW_INTERVAL: Duration = Duration::from_millis(200);

/// Waits until the engine has applied the command topic past offset `seq`
/// (ksqlDB's `CommandStoreUtil.waitForCommandSequenceNumber`).
pub async fn wait_for_command(state: &AppState, seq: i64) -> Result<(), ApiError> {
    let timeout = Duration::from_millis(
        sluice_engine::settings::COMMAND_RESPONSE_TIMEOUT_MS
            .parsed_in(|k| state.config.engine_properties.get(k).map(String::as_str))
            .unwrap_or(5000),
    );
    let until = std::time::Instant::now() + timeout;
    loop {
        // without a command topic the numbers are this server's own, all applied
        let applied = with_engine(state, |_, engine| {
            if !engine.follows_commands() {
                return Ok(None);
            }
            engine
                .follow_commands()
                .map_err(|e| ApiError::Internal(e.to_string()))?;
            Ok(Some(engine.command_position()))
        })
        .await?;
        let Some(applied) = applied else {
            return Ok(());
        };
        if applied > seq {
            return Ok(());
        }
        if std::time::Instant::now() >= until {
            return Err(ApiError::CommandCatchUp(seq));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Applies the other servers' statements from the command topic every
/// [`FOLLOW_INTERVAL`] until the server stops (nothing to do without a
/// command topic).
pub fn spawn_follower(state: AppState) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut last_error = String::new();
        while !state.stopping.load(Ordering::SeqCst) {
            let result = match state.engine() {
                Ok(mut engine) if engine.follows_commands() => engine.follow_commands(),
                _ => return,
            };
            if let Err(e) = result {
                let msg = e.to_string();
                if msg != last_error {
                    tracing::warn!("following the command topic: {msg}");
                    last_error = msg;
                }
            }
            std::thread::sleep(FOLLOW_INTERVAL);
        }
    })
}

/// The thread that keeps persistent queries running until the server stops.
pub fn spawn_driver(state: AppState) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut last_error = String::new();
        while !state.stopping.load(Ordering::SeqCst) {
            let result = match state.engine() {
                Ok(mut engine) => engine.run_until_idle(),
                Err(_) => return,
            };
            if let Err(e) = result {
                let msg = e.to_string();
                if msg != last_error {
                    eprintln!("sluice: persistent query error: {msg}");
                    last_error = msg;
                }
            }
            std::thread::sleep(DRIVE_INTERVAL);
        }
    })
}

/// The servers of this server's service, this one announcing itself (`None`:
/// one process only, or not yet bound). Asks the log without holding the
/// engine.
pub fn servers(state: &Shared) -> Option<Vec<String>> {
    let name = state.advertised.lock().ok()?.clone()?;
    let log = state.engine().ok()?.log().clone();
    sluice_engine::service_servers(log.as_ref(), &state.config.service_id, &name)
        .map_err(|e| tracing::warn!("listing the servers of the service: {e}"))
        .ok()
        .flatten()
}

/// Keeps this server announced to the others of its service (every 10 s)
/// until the server stops.
pub fn spawn_presence(state: AppState) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut last = std::time::Instant::now() - Duration::from_secs(60);
        while !state.stopping.load(Ordering::SeqCst) {
            if last.elapsed() >= Duration::from_secs(10) {
                if servers(&state).is_none() {
                    // the embedded log: nobody to announce itself to
                    return;
                }
                last = std::time::Instant::now();
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    })
}
