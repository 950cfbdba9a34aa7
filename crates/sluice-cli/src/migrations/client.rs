//! The server as the migrations tool uses it, over ksqlDB's REST API:
//! `/info`, statements on `/ksql`, pull queries on `/query`.

use serde_json::{json, Map, Value};

use super::Failure;

pub struct Client {
    base: String,
    http: reqwest::blocking::Client,
    auth: Option<(String, String)>,
}

impl Client {
    pub fn new(url: &str, auth: Option<(String, String)>) -> Result<Client, Failure> {
        let http = reqwest::blocking::Client::builder()
            .build()
            .map_err(|e| Failure(e.to_string()))?;
        Ok(Client {
            base: url.trim_end_matches('/').to_string(),
            http,
            auth,
        })
    }

    fn send(&self, request: reqwest::blocking::RequestBuilder) -> Result<Value, String> {
        let mut request = request
            .header("Accept", "application/vnd.ksql.v1+json")
            .header("Content-Type", "application/vnd.ksql.v1+json");
        if let Some((user, password)) = &self.auth {
            request = request.basic_auth(user, Some(password));
        }
        let response = request.send().map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        let text = response.text().map_err(|e| e.to_string())?;
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
        self.send(self.http.get(format!("{}/info", self.base)))
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
        match self.send(
            self.http
                .post(format!("{}/ksql", self.base))
                .body(body.to_string()),
        )? {
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
        let answer = self.send(
            self.http
                .post(format!("{}/query", self.base))
                .body(body.to_string()),
        )?;
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
