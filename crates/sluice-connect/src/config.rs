//! A connector's configuration: Kafka Connect's string map, with typed
//! look-ups whose errors name the key, and the secrets it must never show.

use std::collections::BTreeMap;

use crate::error::{ConnectError, Result};

/// What a secret shows as wherever a configuration is shown.
pub const HIDDEN: &str = "[hidden]";

/// Whether `key` holds a secret: Connect's `*.password` keys (and
/// `*.secret`, `*.api.key`-style keys), never shown by DESCRIBE, SHOW, the
/// Connect API or logs.
pub fn is_secret(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    key.ends_with("password")
        || key.ends_with(".secret")
        || key.ends_with("secret.key")
        || key.ends_with("api.key")
        || key.ends_with("sasl.jaas.config")
}

/// A connector's `name` → value map, as Connect keeps it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnectorConfig {
    values: BTreeMap<String, String>,
}

impl ConnectorConfig {
    pub fn new(values: BTreeMap<String, String>) -> Self {
        ConnectorConfig { values }
    }

    /// A configuration from `(key, value)` pairs.
    pub fn from_pairs(pairs: &[(&str, &str)]) -> Self {
        ConnectorConfig::new(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    pub fn values(&self) -> &BTreeMap<String, String> {
        &self.values
    }

    /// The map with every secret replaced by [`HIDDEN`].
    pub fn masked(&self) -> BTreeMap<String, String> {
        self.values
            .iter()
            .map(|(k, v)| {
                let v = if is_secret(k) {
                    HIDDEN.to_string()
                } else {
                    v.clone()
                };
                (k.clone(), v)
            })
            .collect()
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(String::as_str)
    }

    pub fn set(&mut self, key: &str, value: impl Into<String>) {
        self.values.insert(key.to_string(), value.into());
    }

    /// A key the connector cannot run without.
    pub fn required(&self, key: &str) -> Result<&str> {
        match self.get(key) {
            Some(v) if !v.trim().is_empty() => Ok(v),
            _ => Err(ConnectError::config(
                key,
                format!("Missing required configuration \"{key}\" which has no default value."),
            )),
        }
    }

    /// A string with a default.
    pub fn string_or<'a>(&'a self, key: &str, default: &'a str) -> &'a str {
        self.get(key).unwrap_or(default)
    }

    /// An integer key (Connect's INT/LONG), `default` when absent.
    pub fn long(&self, key: &str, default: i64) -> Result<i64> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => v.trim().parse().map_err(|_| {
                ConnectError::config(
                    key,
                    format!("Invalid value {v} for configuration {key}: Not a number of type LONG"),
                )
            }),
        }
    }

    /// A boolean key, `default` when absent.
    pub fn boolean(&self, key: &str, default: bool) -> Result<bool> {
        match self.get(key).map(|v| v.trim().to_ascii_lowercase()) {
            None => Ok(default),
            Some(v) if v == "true" => Ok(true),
            Some(v) if v == "false" => Ok(false),
            Some(v) => Err(ConnectError::config(
                key,
                format!("Invalid value {v} for configuration {key}: Expected value to be either true or false"),
            )),
        }
    }

    /// A comma-separated list (Connect's LIST), empty entries dropped.
    pub fn list(&self, key: &str) -> Vec<String> {
        self.get(key)
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// One of `allowed` (compared without case), `default` when absent.
    pub fn choice(&self, key: &str, allowed: &[&str], default: &str) -> Result<String> {
        let v = self.string_or(key, default).trim().to_ascii_lowercase();
        if allowed.iter().any(|a| a.eq_ignore_ascii_case(&v)) {
            Ok(v)
        } else {
            Err(ConnectError::config(
                key,
                format!(
                    "Invalid value {v} for configuration {key}: String must be one of: {}",
                    allowed.join(", ")
                ),
            ))
        }
    }

    /// The keys under `prefix` with the prefix taken off (`key.converter.`,
    /// `transforms.t.`).
    pub fn with_prefix(&self, prefix: &str) -> ConnectorConfig {
        ConnectorConfig::new(
            self.values
                .iter()
                .filter_map(|(k, v)| k.strip_prefix(prefix).map(|k| (k.to_string(), v.clone())))
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_masked() {
        let c = ConnectorConfig::from_pairs(&[
            ("connection.password", "s3cret"),
            ("connection.user", "u"),
        ]);
        let masked = c.masked();
        assert_eq!(masked["connection.password"], HIDDEN);
        assert_eq!(masked["connection.user"], "u");
    }

    #[test]
    fn typed_lookups_name_the_key() {
        let c = ConnectorConfig::from_pairs(&[("batch.max.rows", "x"), ("topics", "a, b,,c")]);
        let e = c.long("batch.max.rows", 100).unwrap_err().to_string();
        assert!(e.contains("batch.max.rows") && e.contains("LONG"), "{e}");
        assert_eq!(c.list("topics"), vec!["a", "b", "c"]);
        let e = c.required("file").unwrap_err().to_string();
        assert!(e.contains("\"file\""), "{e}");
        assert!(c
            .choice("mode", &["bulk", "incrementing"], "carrot")
            .is_err());
    }
}
