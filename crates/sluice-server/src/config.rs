//! Server configuration: a ksqlDB-style `.properties` file plus overrides.
//!
//! Server keys (ksqlDB's names where ksqlDB has one):
//! * `listeners` — comma-separated `http://host:port` / `https://host:port` (default
//!   `http://0.0.0.0:8088`)
//! * `ssl.keystore.location` — for `https://` listeners: a PEM file holding the
//!   server's certificate chain and private key (Kafka's PEM keystore;
//!   `ssl.keystore.type`, if set, must be `PEM`)
//! * `ksql.service.id` — reported by `/info` (default `default_`)
//! * `ksql.queries.file` — headless mode: run this file at startup, refuse statements
//! * `sluice.data.dir` — where the embedded log keeps its topics
//! * `sluice.authentication.users.file` — enables HTTP basic auth (`user: password` lines)
//! * `sluice.request.max.bytes` — largest request body accepted (default 1 MiB)
//! * `schema.registry.listeners` — where the embedded Confluent-compatible schema
//!   registry listens, comma-separated like `listeners` (default
//!   `http://0.0.0.0:8081`, Confluent's port; `none` turns it off), behind the
//!   same basic auth as the REST API. It is not started when
//!   `ksql.schema.registry.url` names an external registry (whose basic auth is
//!   `ksql.schema.registry.basic.auth.user.info` or `basic.auth.user.info`).
//! * `connect.listeners` — where Kafka Connect's REST API for Sluice's connectors
//!   listens (default `http://0.0.0.0:8083`, a Connect worker's port; `none` turns
//!   it off). When the default port is taken the server runs without it; a
//!   configured listener that cannot be bound is an error. The engine property
//!   `ksql.connect.url` naming this listener (a local host and its port) is
//!   dropped: the server's own worker, not HTTP to itself.
//!
//! Every other key is passed to the engine as an [`sluice_engine::EngineConfig`] property.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use crate::error::ServerError;

pub const LISTENERS: &str = "listeners";
pub const SERVICE_ID: &str = "ksql.service.id";
pub const QUERIES_FILE: &str = "ksql.queries.file";
pub const DATA_DIR: &str = "sluice.data.dir";
pub const USERS_FILE: &str = "sluice.authentication.users.file";
pub const MAX_REQUEST_BYTES: &str = "sluice.request.max.bytes";
pub const SSL_KEYSTORE_LOCATION: &str = "ssl.keystore.location";
pub const SSL_KEYSTORE_TYPE: &str = "ssl.keystore.type";
pub const SCHEMA_REGISTRY_LISTENERS: &str = "schema.registry.listeners";
pub const CONNECT_LISTENERS: &str = "connect.listeners";
/// ksqlDB's name for an external schema registry (an engine property).
pub const SCHEMA_REGISTRY_URL: &str = "ksql.schema.registry.url";

const SERVER_KEYS: &[&str] = &[
    LISTENERS,
    SERVICE_ID,
    QUERIES_FILE,
    DATA_DIR,
    USERS_FILE,
    MAX_REQUEST_BYTES,
    SSL_KEYSTORE_LOCATION,
    SSL_KEYSTORE_TYPE,
    SCHEMA_REGISTRY_LISTENERS,
    CONNECT_LISTENERS,
];

#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listeners: Vec<String>,
    pub service_id: String,
    pub queries_file: Option<PathBuf>,
    pub data_dir: Option<PathBuf>,
    pub users_file: Option<PathBuf>,
    pub max_request_bytes: usize,
    /// PEM certificate chain and key for `https://` listeners.
    pub ssl_keystore: Option<PathBuf>,
    /// The embedded schema registry's listeners; empty: not served.
    pub schema_registry_listeners: Vec<String>,
    /// Kafka Connect's REST API's listeners; empty: not served.
    pub connect_listeners: Vec<String>,
    /// Whether `connect.listeners` was set (else a taken default port is
    /// skipped with a warning).
    pub connect_listeners_set: bool,
    /// Everything else: engine properties.
    pub engine_properties: BTreeMap<String, String>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listeners: vec!["http://0.0.0.0:8088".to_string()],
            service_id: sluice_engine::settings::SERVICE_ID
                .default
                .unwrap_or_default()
                .to_string(),
            queries_file: None,
            data_dir: None,
            users_file: None,
            max_request_bytes: 1024 * 1024,
            ssl_keystore: None,
            schema_registry_listeners: vec!["http://0.0.0.0:8081".to_string()],
            connect_listeners: vec!["http://0.0.0.0:8083".to_string()],
            connect_listeners_set: false,
            engine_properties: BTreeMap::new(),
        }
    }
}

/// A listener list that `none` turns off (the registry's, Connect's).
fn optional_listeners(value: &str) -> Vec<String> {
    if value.trim().eq_ignore_ascii_case("none") {
        return Vec::new();
    }
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

impl ServerConfig {
    /// Read a `.properties` file.
    pub fn from_file(path: &Path) -> Result<Self, ServerError> {
        let text = std::fs::read_to_string(path).map_err(|source| ServerError::Read {
            path: path.display().to_string(),
            source,
        })?;
        let mut config = ServerConfig::default();
        for (k, v) in parse_properties(&text) {
            config.set(&k, &v)?;
        }
        Ok(config)
    }

    /// Set one key (a server key, or else an engine property).
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), ServerError> {
        match key {
            LISTENERS => {
                self.listeners = value
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect();
                if self.listeners.is_empty() {
                    return Err(ServerError::Config("listeners is empty".into()));
                }
            }
            SCHEMA_REGISTRY_LISTENERS => self.schema_registry_listeners = optional_listeners(value),
            CONNECT_LISTENERS => {
                self.connect_listeners_set = true;
                self.connect_listeners = optional_listeners(value);
            }
            SERVICE_ID => self.service_id = value.to_string(),
            QUERIES_FILE => self.queries_file = Some(PathBuf::from(value)),
            DATA_DIR => self.data_dir = Some(PathBuf::from(value)),
            USERS_FILE => self.users_file = Some(PathBuf::from(value)),
            MAX_REQUEST_BYTES => {
                self.max_request_bytes = value.trim().parse().map_err(|_| {
                    ServerError::Config(format!("{MAX_REQUEST_BYTES}: '{value}' is not a number"))
                })?
            }
            SSL_KEYSTORE_LOCATION => self.ssl_keystore = Some(PathBuf::from(value)),
            SSL_KEYSTORE_TYPE => {
                if !value.trim().eq_ignore_ascii_case("PEM") {
                    return Err(ServerError::Config(format!(
                        "{SSL_KEYSTORE_TYPE}: '{value}' is not supported; use PEM (a file with the certificate chain and private key)"
                    )));
                }
            }
            _ => {
                self.engine_properties
                    .insert(key.to_string(), value.to_string());
            }
        }
        Ok(())
    }

    pub fn is_server_key(key: &str) -> bool {
        SERVER_KEYS.contains(&key)
    }

    /// `user:password` for the external registry's basic auth: ksqlDB's
    /// `ksql.schema.registry.basic.auth.user.info`, or Confluent's client property
    /// `basic.auth.user.info`.
    pub fn registry_user_info(&self) -> Option<&str> {
        [
            "ksql.schema.registry.basic.auth.user.info",
            "basic.auth.user.info",
        ]
        .iter()
        .find_map(|k| self.engine_properties.get(*k))
        .map(String::as_str)
    }

    /// The `group.instance.id` this server takes in its queries' consumer
    /// groups when none is configured (`group.instance.id` or
    /// `ksql.streams.group.instance.id`): `sluice-<host>-<port>` of its first
    /// listener, the same each time this server starts and different for
    /// every server of the service, so a restart (even after a crash) takes
    /// the server's partitions back at once (Kafka's static membership) and
    /// its exactly-once producers fence their previous life. `None` when the
    /// listener's port is chosen at random (0): such a server is a new
    /// member each time.
    pub fn default_group_instance_id(&self) -> Option<String> {
        let set = ["group.instance.id", "ksql.streams.group.instance.id"]
            .iter()
            .any(|k| self.engine_properties.contains_key(*k));
        if set {
            return None;
        }
        let listener = url::Url::parse(self.listeners.first()?).ok()?;
        let port = listener.port_or_known_default().filter(|p| *p != 0)?;
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .map(|h| h.trim().to_string())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "localhost".to_string());
        Some(format!("sluice-{host}-{port}"))
    }

    /// Whether `url` is this server's own Kafka Connect listener: a host of
    /// this machine and the port of one of `connect.listeners` (8083, a
    /// Connect worker's, unless set).
    pub fn names_own_connect_listener(&self, url: &str) -> bool {
        let Ok(url) = url::Url::parse(url.split(',').next().unwrap_or("").trim()) else {
            return false;
        };
        let local = url.host_str().is_some_and(|h| {
            let h = h.trim_start_matches('[').trim_end_matches(']');
            h.eq_ignore_ascii_case("localhost")
                || h.parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback() || ip.is_unspecified())
        });
        local
            && self.connect_listeners.iter().any(|l| {
                url::Url::parse(l)
                    .ok()
                    .and_then(|l| l.port_or_known_default())
                    == url.port_or_known_default()
            })
    }

    /// The external schema registry's URL (`ksql.schema.registry.url`), if any.
    pub fn external_registry_url(&self) -> Option<&str> {
        self.engine_properties
            .get(SCHEMA_REGISTRY_URL)
            .map(|u| u.trim())
            .filter(|u| !u.is_empty())
    }
}

/// Java-properties-style `key=value` / `key: value` lines; `#` and `!` comments.
pub fn parse_properties(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with('!'))
        .filter_map(|l| {
            let at = l.find(['=', ':'])?;
            Some((l[..at].trim().to_string(), l[at + 1..].trim().to_string()))
        })
        .collect()
}

/// A users file: `user: password[,role...]` per line (Jetty's property-file format,
/// as ksqlDB's basic-auth JAAS setups use). Only plain passwords are supported.
pub fn read_users(path: &Path) -> Result<HashMap<String, String>, ServerError> {
    let text = std::fs::read_to_string(path).map_err(|source| ServerError::Read {
        path: path.display().to_string(),
        source,
    })?;
    let mut users = HashMap::new();
    for (user, rest) in parse_properties(&text) {
        let password = rest.split(',').next().unwrap_or_default().trim();
        if password.starts_with("MD5:") || password.starts_with("CRYPT:") {
            return Err(ServerError::Config(format!(
                "{}: user '{user}': hashed passwords are not supported",
                path.display()
            )));
        }
        users.insert(user, password.to_string());
    }
    if users.is_empty() {
        return Err(ServerError::Config(format!(
            "{}: no users defined",
            path.display()
        )));
    }
    Ok(users)
}

/// The `host:port` a listener binds and whether it serves TLS (`https://`); the
/// port defaults to ksqlDB's 8088.
pub fn listener_address(listener: &str) -> Result<(String, bool), ServerError> {
    listener_address_or(listener, 8088)
}

/// [`listener_address`] with another default port.
pub fn listener_address_or(
    listener: &str,
    default_port: u16,
) -> Result<(String, bool), ServerError> {
    let (rest, tls) = if let Some(rest) = listener.strip_prefix("http://") {
        (rest, false)
    } else if let Some(rest) = listener.strip_prefix("https://") {
        (rest, true)
    } else {
        return Err(ServerError::Config(format!(
            "listener '{listener}' must start with http:// or https://"
        )));
    };
    let rest = rest.trim_end_matches('/');
    if rest.is_empty() {
        return Err(ServerError::Config(format!(
            "listener '{listener}' has no host"
        )));
    }
    let addr = if rest.contains(':') && !rest.ends_with(']') {
        rest.to_string()
    } else {
        format!("{rest}:{default_port}")
    };
    Ok((addr, tls))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ksqlDB's default `ksql.connect.url` (`http://localhost:8083`) names
    /// the server's own Connect listener; another port or host does not.
    #[test]
    fn the_own_connect_listener_is_recognised() {
        let mut c = ServerConfig::default();
        assert!(c.names_own_connect_listener("http://localhost:8083"));
        assert!(c.names_own_connect_listener("http://127.0.0.1:8083/"));
        assert!(!c.names_own_connect_listener("http://localhost:18083"));
        assert!(!c.names_own_connect_listener("http://connect.example:8083"));
        c.set(CONNECT_LISTENERS, "http://0.0.0.0:9083").unwrap();
        assert!(!c.names_own_connect_listener("http://localhost:8083"));
        assert!(c.names_own_connect_listener("http://[::1]:9083"));
        c.set(CONNECT_LISTENERS, "none").unwrap();
        assert!(!c.names_own_connect_listener("http://localhost:9083"));
    }

    #[test]
    fn properties_and_listeners() {
        let props = parse_properties("# c\nlisteners = http://localhost:9000\nksql.x: 1\n");
        assert_eq!(
            props[0],
            ("listeners".into(), "http://localhost:9000".into())
        );
        assert_eq!(props[1], ("ksql.x".into(), "1".into()));
        assert_eq!(
            listener_address("http://0.0.0.0:8088").unwrap(),
            ("0.0.0.0:8088".to_string(), false)
        );
        assert_eq!(
            listener_address("http://localhost").unwrap(),
            ("localhost:8088".to_string(), false)
        );
        assert_eq!(
            listener_address("https://x:1").unwrap(),
            ("x:1".to_string(), true)
        );
        assert!(listener_address("ftp://x:1").is_err());
        let mut c = ServerConfig::default();
        assert!(c.set(SSL_KEYSTORE_TYPE, "PKCS12").is_err());
        assert!(c.set(SSL_KEYSTORE_TYPE, "pem").is_ok());
        assert_eq!(c.schema_registry_listeners, vec!["http://0.0.0.0:8081"]);
        assert!(c.set(SCHEMA_REGISTRY_LISTENERS, "None").is_ok());
        assert!(c.schema_registry_listeners.is_empty());
        assert_eq!(
            listener_address_or("http://localhost", 8081).unwrap(),
            ("localhost:8081".to_string(), false)
        );
        assert_eq!(c.external_registry_url(), None);
        c.set(SCHEMA_REGISTRY_URL, "http://sr:8081").unwrap();
        assert_eq!(c.external_registry_url(), Some("http://sr:8081"));
    }
}
