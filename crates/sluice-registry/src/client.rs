//! A client for an external Confluent-compatible schema registry, for when
//! Sluice is pointed at one (`ksql.schema.registry.url`) instead of serving its
//! own.
//!
//! [`SchemaRegistry`] is synchronous and called from engine threads, some of
//! them inside a tokio runtime (request handlers, startup), so the client is a
//! plain blocking one (`ureq`) with no runtime of its own to nest.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::Duration;

use base64::Engine as _;
use serde_json::{json, Value};
use sluice_formats::{FormatError, RegisteredSchema, SchemaReference, SchemaRegistry, SchemaType};

use crate::http::CONTENT_TYPE;
use crate::schema::{parse_type, type_name};

/// How long one request to the registry may take.
const TIMEOUT: Duration = Duration::from_secs(30);

/// The external registry at one URL.
pub struct RegistryClient {
    base: String,
    /// `Basic ...`, from `user:password`.
    authorization: Option<String>,
    agent: ureq::Agent,
    /// Schemas by id never change: fetched once.
    by_id: RwLock<HashMap<i32, RegisteredSchema>>,
}

impl std::fmt::Debug for RegistryClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryClient")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

/// A failed request, as the formats report registry errors.
fn failed(message: impl std::fmt::Display) -> FormatError {
    FormatError::Serialization(message.to_string())
}

/// Percent-encodes a subject for a URL path segment.
fn encode_segment(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl RegistryClient {
    /// A client for `url` (the first of a comma-separated list, as Confluent's
    /// clients take them), with basic auth when `user_info` (`user:password`) is given.
    pub fn new(url: &str, user_info: Option<&str>) -> Result<RegistryClient, FormatError> {
        let base = url
            .split(',')
            .map(str::trim)
            .find(|u| !u.is_empty())
            .ok_or_else(|| failed("no schema registry URL"))?
            .trim_end_matches('/')
            .to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(failed(format!(
                "schema registry URL '{base}' must start with http:// or https://"
            )));
        }
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(TIMEOUT))
            .http_status_as_error(false)
            .build()
            .into();
        Ok(RegistryClient {
            base,
            authorization: user_info.map(|u| {
                format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(u)
                )
            }),
            agent,
            by_id: RwLock::new(HashMap::new()),
        })
    }

    fn get(&self, path: &str) -> Result<Value, FormatError> {
        let url = format!("{}{path}", self.base);
        let mut request = self.agent.get(&url).header("Accept", CONTENT_TYPE);
        if let Some(auth) = &self.authorization {
            request = request.header("Authorization", auth);
        }
        Self::answer(&url, request.call())
    }

    fn post(&self, path: &str, body: &Value) -> Result<Value, FormatError> {
        let url = format!("{}{path}", self.base);
        let mut request = self.agent.post(&url).header("Content-Type", CONTENT_TYPE);
        if let Some(auth) = &self.authorization {
            request = request.header("Authorization", auth);
        }
        Self::answer(&url, request.send(body.to_string()))
    }

    /// The answer's JSON on success, else Confluent's error (message and code).
    fn answer(
        url: &str,
        response: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<Value, FormatError> {
        let unreachable = |e: ureq::Error| failed(format!("schema registry {url}: {e}"));
        let mut response = response.map_err(unreachable)?;
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().map_err(unreachable)?;
        let value: Value = serde_json::from_str(&text)
            .map_err(|e| failed(format!("schema registry {url}: HTTP {status}: {e}: {text}")))?;
        if (200..300).contains(&status) {
            return Ok(value);
        }
        let code = value
            .get("error_code")
            .and_then(Value::as_i64)
            .unwrap_or(i64::from(status));
        let message = value
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or(&text);
        Err(failed(format!("{message}; error code: {code}")))
    }

    /// A schema from an answer's `schema`, `schemaType` and `references`.
    fn schema_from(value: &Value) -> Result<RegisteredSchema, FormatError> {
        let text = value
            .get("schema")
            .and_then(Value::as_str)
            .ok_or_else(|| failed(format!("schema registry answer without a schema: {value}")))?;
        let schema_type = match value.get("schemaType").and_then(Value::as_str) {
            Some(t) => parse_type(t).map_err(failed)?,
            None => SchemaType::Avro,
        };
        let references = value
            .get("references")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|r| {
                Some(SchemaReference {
                    name: r.get("name")?.as_str()?.to_string(),
                    subject: r.get("subject")?.as_str()?.to_string(),
                    version: i32::try_from(r.get("version")?.as_i64()?).ok()?,
                })
            })
            .collect();
        Ok(RegisteredSchema {
            schema_type,
            schema: text.to_string(),
            references,
        })
    }
}

fn id_of(value: &Value) -> Result<i32, FormatError> {
    value
        .get("id")
        .and_then(Value::as_i64)
        .and_then(|id| i32::try_from(id).ok())
        .ok_or_else(|| failed(format!("schema registry answer without an id: {value}")))
}

impl SchemaRegistry for RegistryClient {
    fn register(&self, subject: &str, schema: &RegisteredSchema) -> Result<i32, FormatError> {
        let references: Vec<Value> = schema
            .references
            .iter()
            .map(|r| json!({"name": r.name, "subject": r.subject, "version": r.version}))
            .collect();
        let body = json!({
            "schema": schema.schema,
            "schemaType": type_name(schema.schema_type),
            "references": references,
        });
        let path = format!("/subjects/{}/versions", encode_segment(subject));
        id_of(&self.post(&path, &body)?)
    }

    fn schema_by_id(&self, id: i32) -> Result<RegisteredSchema, FormatError> {
        if let Some(found) = self.by_id.read().ok().and_then(|m| m.get(&id).cloned()) {
            return Ok(found);
        }
        let schema = Self::schema_from(&self.get(&format!("/schemas/ids/{id}"))?)?;
        if let Ok(mut cache) = self.by_id.write() {
            cache.insert(id, schema.clone());
        }
        Ok(schema)
    }

    fn latest(&self, subject: &str) -> Result<Option<(i32, RegisteredSchema)>, FormatError> {
        let path = format!("/subjects/{}/versions/latest", encode_segment(subject));
        match self.get(&path) {
            Ok(value) => Ok(Some((id_of(&value)?, Self::schema_from(&value)?))),
            // subject or version not found
            Err(FormatError::Serialization(m))
                if m.ends_with("error code: 40401") || m.ends_with("error code: 40402") =>
            {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    fn subjects_of(&self, id: i32) -> Result<Vec<String>, FormatError> {
        match self.get(&format!("/schemas/ids/{id}/subjects")) {
            Ok(Value::Array(subjects)) => Ok(subjects
                .iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()),
            Ok(other) => Err(failed(format!(
                "schema registry: the subjects of schema {id} are not a list: {other}"
            ))),
            // schema not found
            Err(FormatError::Serialization(m)) if m.ends_with("error code: 40403") => {
                Ok(Vec::new())
            }
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_subjects() {
        assert_eq!(encode_segment("a-value"), "a-value");
        assert_eq!(encode_segment("a/b c"), "a%2Fb%20c");
        assert!(RegistryClient::new("ftp://x", None).is_err());
        assert!(RegistryClient::new(" , ", None).is_err());
        let c = RegistryClient::new("http://a:1/, http://b:2", Some("u:p")).expect("client");
        assert_eq!(c.base, "http://a:1");
        assert_eq!(c.authorization.as_deref(), Some("Basic dTpw"));
    }
}
