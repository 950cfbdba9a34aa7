//! A Kafka Connect cluster elsewhere (`ksql.connect.url`), spoken to as
//! ksqlDB's `DefaultConnectClient` speaks to it: Connect's REST API over
//! HTTP, its answers read into the same connector types the server's own
//! worker gives, its errors passed on with their HTTP status.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{json, Value as Json};
use sluice_connect::{ConnectorInfo, ConnectorStatus, ConnectorType, State, TaskStatus};

use crate::error::{EngineError, Result};
use crate::result::PluginListing;

/// How long one request to the Connect cluster may take.
const TIMEOUT: Duration = Duration::from_secs(30);

pub(crate) struct RemoteConnect {
    base: String,
    agent: ureq::Agent,
}

/// A Connect error (or an unreachable cluster) as ksqlDB reports it:
/// `prefix` and Connect's message, with its status.
fn failed(status: u16, message: String) -> EngineError {
    EngineError::Connect { status, message }
}

impl RemoteConnect {
    /// The cluster at `url` (the first of a comma-separated list).
    pub(crate) fn new(url: &str) -> Result<RemoteConnect> {
        let base = url
            .split(',')
            .map(str::trim)
            .find(|u| !u.is_empty())
            .unwrap_or_default()
            .trim_end_matches('/')
            .to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(EngineError::statement(format!(
                "ksql.connect.url '{url}' must start with http:// or https://"
            )));
        }
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(TIMEOUT))
            .http_status_as_error(false)
            .build()
            .into();
        Ok(RemoteConnect { base, agent })
    }

    /// One request; the answer's status and JSON (`null` when empty).
    fn call(&self, method: &str, path: &str, body: Option<&Json>) -> Result<(u16, Json)> {
        let url = format!("{}{path}", self.base);
        let unreachable = |e: ureq::Error| {
            failed(
                500,
                format!("Kafka Connect at {} is not reachable: {e}", self.base),
            )
        };
        let response = match (method, body) {
            ("GET", _) => self.agent.get(&url).call(),
            ("DELETE", _) => self.agent.delete(&url).call(),
            ("POST", Some(b)) => self
                .agent
                .post(&url)
                .header("Content-Type", "application/json")
                .send(b.to_string()),
            ("PUT", Some(b)) => self
                .agent
                .put(&url)
                .header("Content-Type", "application/json")
                .send(b.to_string()),
            _ => unreachable!("a request this client makes"),
        };
        let mut response = response.map_err(unreachable)?;
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().map_err(unreachable)?;
        let json = if text.trim().is_empty() {
            Json::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Json::String(text))
        };
        Ok((status, json))
    }

    /// The answer of a successful call, else Connect's message with `prefix`.
    fn expect(&self, prefix: &str, method: &str, path: &str, body: Option<&Json>) -> Result<Json> {
        let (status, json) = self.call(method, path, body)?;
        if (200..300).contains(&status) {
            return Ok(json);
        }
        Err(failed(status, format!("{prefix}{}", message(&json))))
    }

    pub(crate) fn list(&self) -> Result<Vec<String>> {
        let json = self.expect("Failed to list connectors: ", "GET", "/connectors", None)?;
        Ok(json
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|n| n.as_str().map(str::to_string))
            .collect())
    }

    /// `PUT /connector-plugins/{class}/config/validate`: the errors Connect
    /// finds, as ksqlDB words them (`key - error. error`).
    pub(crate) fn validate(&self, config: &BTreeMap<String, String>) -> Result<Vec<String>> {
        let class = config
            .get("connector.class")
            .map(|c| c.trim())
            .unwrap_or("");
        if class.is_empty() {
            return Ok(vec!["Connector type cannot be empty".into()]);
        }
        let path = format!("/connector-plugins/{}/config/validate", segment(class));
        let (status, json) = self.call("PUT", &path, Some(&json!(config)))?;
        if !(200..300).contains(&status) {
            return Ok(vec![message(&json)]);
        }
        Ok(json["configs"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| {
                let value = &c["value"];
                let errors: Vec<&str> = value["errors"]
                    .as_array()?
                    .iter()
                    .filter_map(Json::as_str)
                    .collect();
                (!errors.is_empty()).then(|| {
                    format!(
                        "{} - {}",
                        value["name"].as_str().unwrap_or(""),
                        errors.join(". ")
                    )
                })
            })
            .collect())
    }

    pub(crate) fn create(
        &self,
        name: &str,
        config: &BTreeMap<String, String>,
    ) -> Result<ConnectorInfo> {
        let body = json!({"name": name, "config": config});
        let json = self.expect(
            "Failed to create connector: ",
            "POST",
            "/connectors",
            Some(&body),
        )?;
        info_from(&json)
    }

    pub(crate) fn delete(&self, name: &str) -> Result<()> {
        let path = format!("/connectors/{}", segment(name));
        self.expect("Failed to drop connector: ", "DELETE", &path, None)
            .map(|_| ())
    }

    /// `PUT /connectors/{name}/pause|resume|stop`.
    pub(crate) fn target(&self, name: &str, target: sluice_sql::ConnectorTarget) -> Result<()> {
        let verb = match target {
            sluice_sql::ConnectorTarget::Started => "resume",
            sluice_sql::ConnectorTarget::Paused => "pause",
            sluice_sql::ConnectorTarget::Stopped => "stop",
        };
        let path = format!("/connectors/{}/{verb}", segment(name));
        self.expect(&format!("Failed to {verb} connector: "), "PUT", &path, None)
            .map(|_| ())
    }

    pub(crate) fn info(&self, name: &str) -> Result<ConnectorInfo> {
        let path = format!("/connectors/{}", segment(name));
        info_from(&self.expect("Failed to describe connector: ", "GET", &path, None)?)
    }

    pub(crate) fn status(&self, name: &str) -> Result<ConnectorStatus> {
        let path = format!("/connectors/{}/status", segment(name));
        let json = self.expect("Failed to query connector status: ", "GET", &path, None)?;
        let connector = &json["connector"];
        let tasks = json["tasks"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|t| TaskStatus {
                id: t["id"].as_u64().unwrap_or(0) as usize,
                state: state(&t["state"]),
                worker_id: t["worker_id"].as_str().unwrap_or("").to_string(),
                trace: t["trace"].as_str().map(str::to_string),
            })
            .collect();
        Ok(ConnectorStatus {
            name: json["name"].as_str().unwrap_or(name).to_string(),
            state: state(&connector["state"]),
            worker_id: connector["worker_id"].as_str().unwrap_or("").to_string(),
            trace: connector["trace"].as_str().map(str::to_string),
            tasks,
            kind: kind(&json["type"]),
        })
    }

    /// The topics the connector has used (`GET /connectors/{name}/topics`).
    pub(crate) fn topics(&self, name: &str) -> Result<Vec<String>> {
        let path = format!("/connectors/{}/topics", segment(name));
        let json = self.expect("Failed to get connector topics: ", "GET", &path, None)?;
        Ok(json[name]["topics"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| t.as_str().map(str::to_string))
            .collect())
    }

    pub(crate) fn plugins(&self) -> Result<Vec<PluginListing>> {
        let json = self.expect(
            "Failed to list connector plugins: ",
            "GET",
            "/connector-plugins",
            None,
        )?;
        Ok(json
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| matches!(p["type"].as_str(), Some("source" | "sink")))
            .map(|p| PluginListing {
                class: p["class"].as_str().unwrap_or("").to_string(),
                kind: kind(&p["type"]),
                version: p["version"].as_str().unwrap_or("").to_string(),
            })
            .collect())
    }
}

/// The `message` of Connect's error body (`{"error_code", "message"}`), else
/// the whole answer.
fn message(json: &Json) -> String {
    json.get("message")
        .and_then(Json::as_str)
        .map_or_else(|| json.to_string(), str::to_string)
}

/// A path segment with what Connect's names may hold escaped.
fn segment(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'$') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn state(json: &Json) -> State {
    match json.as_str().unwrap_or("") {
        "RUNNING" => State::Running,
        "PAUSED" => State::Paused,
        "STOPPED" => State::Stopped,
        "UNASSIGNED" | "RESTARTING" => State::Unassigned,
        _ => State::Failed,
    }
}

fn kind(json: &Json) -> ConnectorType {
    match json.as_str() {
        Some("sink") => ConnectorType::Sink,
        _ => ConnectorType::Source,
    }
}

/// Connect's `ConnectorInfo` (`{"name", "config", "tasks", "type"}`).
fn info_from(json: &Json) -> Result<ConnectorInfo> {
    let config: BTreeMap<String, String> = json["config"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| {
            // secrets are never shown, whatever the cluster answers
            let text = if sluice_connect::is_secret(k) {
                sluice_connect::HIDDEN.to_string()
            } else {
                v.as_str().map_or_else(|| v.to_string(), str::to_string)
            };
            (k.clone(), text)
        })
        .collect();
    let class = config.get("connector.class").cloned().unwrap_or_default();
    Ok(ConnectorInfo {
        name: json["name"].as_str().unwrap_or("").to_string(),
        tasks: json["tasks"].as_array().map_or(0, Vec::len),
        kind: kind(&json["type"]),
        class,
        config,
    })
}
