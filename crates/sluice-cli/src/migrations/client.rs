//! The server as the migrations tool uses it, over ksqlDB's REST API:
//! `/info`, statements on `/ksql`, pull queries on `/query`.

use serde_json::{json, Map, Value};

use super::Failure;
use crate::http_client::{Answer, ClientOptions, HttpClient};

pub struct Client {
    base: String,
    http: HttpClient,
}

impl Client {
    /// The server at `url`, reached as `options` say (basic auth, TLS trust).
    pub fn new(url: &str, options: &ClientOptions) -> Result<Client, Failure> {
        Ok(Client {
            base: url.trim_end_matches('/').to_string(),
            http: HttpClient::new(options).map_err(Failure)?,
        })
    }

    /// The answer's JSON on success, else ksqlDB's error as ksql-migrations
    /// words it.
    fn answer(answer: Answer) -> Result<Value, String> {
        let status = answer.status;
        let text = answer.text()?;
        let body: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        if (200..300).contains(&status) {
            return Ok(body);
        }
        Err(format!(
            "Received {status} response from server: {}. Error code: {}",
            body["message"].as_str().unwrap_or_default(),
            body["error_code"]
        ))
    }

    /// `GET /info`.
    pub fn info(&self) -> Result<Value, String> {
        Self::answer(self.http.get(&format!("{}/info", self.base))?)
    }

    /// Runs one statement with the session's properties and variables; its entities.
    pub fn execute(
        &self,
        sql: &str,
        properties: &Map<String, Value>,
        variables: &Map<String, Value>,
    ) -> Result<Vec<Value>, String> {
        let body =
            json!({"ksql": sql, "streamsProperties": properties, "sessionVariables": variables});
        match Self::answer(self.http.post(&format!("{}/ksql", self.base), &body)?)? {
            Value::Array(entities) => Ok(entities),
            other => Err(format!("unexpected answer: {other}")),
        }
    }

    /// Runs one statement with no properties or variables.
    pub fn statement(&self, sql: &str) -> Result<Vec<Value>, String> {
        self.execute(sql, &Map::new(), &Map::new())
    }

    /// A pull query's rows, each its column values in order.
    pub fn pull(&self, sql: &str) -> Result<Vec<Vec<Value>>, String> {
        let body = json!({ "ksql": sql });
        let answer = Self::answer(self.http.post(&format!("{}/query", self.base), &body)?)?;
        let items = answer.as_array().cloned().unwrap_or_default();
        let mut rows = Vec::new();
        for item in items {
            if let Some(message) = item["errorMessage"]["message"].as_str() {
                return Err(message.to_string());
            }
            if let Some(columns) = item["row"]["columns"].as_array() {
                rows.push(columns.clone());
            }
        }
        Ok(rows)
    }
}
