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

const SERVER_KEYS: &[&str] = &[
    LISTENERS,
    SERVICE_ID,
    QUERIES_FILE,
    DATA_DIR,
    USERS_FILE,
    MAX_REQUEST_BYTES,
    SSL_KEYSTORE_LOCATION,
    SSL_KEYSTORE_TYPE,
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
    /// Everything else: engine properties.
    pub engine_properties: BTreeMap<String, String>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listeners: vec!["http://0.0.0.0:8088".to_string()],
            service_id: "default_".to_string(),
            queries_file: None,
            data_dir: None,
            users_file: None,
            max_request_bytes: 1024 * 1024,
            ssl_keystore: None,
            engine_properties: BTreeMap::new(),
        }
    }
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

/// `http://host:port` → `host:port`; HTTPS is refused.
/// The `host:port` a listener binds and whether it serves TLS (`https://`).
pub fn listener_address(listener: &str) -> Result<(String, bool), ServerError> {
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
        format!("{rest}:8088")
    };
    Ok((addr, tls))
}

#[cfg(test)]
mod tests {
    use super::*;

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
    }
}
