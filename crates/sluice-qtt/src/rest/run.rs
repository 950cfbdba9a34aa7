//! One REST case on a fresh in-process server, in the order ksqlDB's
//! `RestTestExecutor` uses: topics, the statements before the first `SELECT ` in one
//! `/ksql` request, the inputs, then each query through `/query`.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::Request;
use futures_util::StreamExt;
use serde_json::{json, Map, Value};
use sluice_engine::log::EmbeddedLog;
use sluice_engine::{Engine, EngineConfig};
use sluice_server::state::{spawn_driver, AppState, Shared};
use sluice_server::ServerConfig;
use tower::ServiceExt;

use crate::codec::precreate_topics;
use crate::OutputRecord;

use super::feed::{produce_inputs, verify_outputs};
use super::matcher::{match_error, verify_responses, Actual};
use super::RestCase;

/// Longest a query's response is read.
const QUERY_TIMEOUT: Duration = Duration::from_secs(3);
/// Once a query sent as many messages as expected, how long to wait for more.
const SETTLE: Duration = Duration::from_millis(300);
/// After a query's header, before its inputs are written (`waitForQueryHeader`).
const HEADER_GRACE: Duration = Duration::from_millis(100);

pub enum Outcome {
    Pass,
    Fail(String),
    Error(String),
}

/// A response: HTTP status and its body parsed (streamed rows as an array).
struct Reply {
    status: u16,
    body: Value,
}

struct Case<'a> {
    case: &'a RestCase,
    state: AppState,
    props: Map<String, Value>,
    /// What the case's output topics held, for the report.
    outputs: std::sync::Mutex<Vec<OutputRecord>>,
}

/// Run one case (in one format); its outcome and the records of its output topics.
pub async fn run_case(case: &RestCase, format: Option<&str>) -> (Outcome, Vec<OutputRecord>) {
    let statements: Vec<String> = case
        .statements
        .iter()
        .map(|s| match format {
            Some(f) => s.replace("{FORMAT}", f),
            None => s.clone(),
        })
        .collect();
    let log = Arc::new(EmbeddedLog::in_memory());
    precreate_topics(
        log.as_ref(),
        &case.topics,
        case.inputs.iter().chain(&case.outputs),
        &statements,
        // ksqlDB's REST test cluster creates topics with 4 partitions
        4,
    );
    // the settings ksqlDB's REST test server runs with
    let mut config = crate::with_runner_properties(EngineConfig::default())
        .with("auto.offset.reset", "earliest")
        .with("ksql.query.pull.table.scan.enabled", "true")
        .with("ksql.query.push.v2.enabled", "true")
        .with("ksql.headers.columns.enabled", "true");
    for (k, v) in &case.properties {
        config = config.with(k, &sluice_server::ksql::property_text(v));
    }
    let engine = Engine::new(log, config.clone());
    crate::harness::register_case_schemas(
        engine.registry(),
        &case.topics,
        &statements,
        &config,
        case.inputs
            .iter()
            .chain(&case.outputs)
            .map(|r| r.topic.as_str()),
    );
    let state = Shared::new(engine, ServerConfig::default(), None, false);
    let driver = spawn_driver(state.clone());
    let c = Case {
        case,
        state: state.clone(),
        props: case.properties.clone(),
        outputs: std::sync::Mutex::new(Vec::new()),
    };
    let outcome = match c.run(&statements).await {
        Ok(()) => Outcome::Pass,
        Err(Failure::Fail(why)) => Outcome::Fail(why),
        Err(Failure::Error(e)) => Outcome::Error(e),
    };
    state.stopping.store(true, Ordering::SeqCst);
    let _ = tokio::task::spawn_blocking(move || driver.join()).await;
    let outputs = c.outputs.into_inner().unwrap_or_default();
    (outcome, outputs)
}

enum Failure {
    Fail(String),
    Error(String),
}

fn fail<T>(why: impl Into<String>) -> Result<T, Failure> {
    Err(Failure::Fail(why.into()))
}

impl Case<'_> {
    async fn run(&self, statements: &[String]) -> Result<(), Failure> {
        let split = statements
            .iter()
            .position(|s| s.starts_with("SELECT "))
            .unwrap_or(statements.len());
        let (admin, queries) = statements.split_at(split);
        if queries.iter().any(|q| !q.starts_with("SELECT ")) {
            return Err(Failure::Error(
                "invalid test case: all queries should be at the end".into(),
            ));
        }
        let mut actual = Vec::new();
        let mut error_seen = false;
        if !admin.is_empty() {
            let reply = self.post("/ksql", admin.join("\n"), None).await?;
            if !(200..300).contains(&reply.status) {
                return self.on_error(&reply, statements);
            }
            let Some(entities) = reply.body.as_array() else {
                return fail(format!("/ksql answered {}", reply.body));
            };
            actual.extend(entities.iter().cloned().map(Actual::Admin));
        }
        let wait_for_header = self
            .case
            .input_conditions
            .as_ref()
            .is_some_and(|c| c.wait_for_query_header || c.wait_for_active_push_query);
        if !wait_for_header {
            self.produce()?;
        }
        if self.case.expected_error.is_none() && self.case.responses.len() > admin.len() {
            self.settle()?;
        }
        let mut produced = !wait_for_header;
        let mut query_results = 0;
        for (i, q) in queries.iter().enumerate() {
            let expected_len = self
                .case
                .responses
                .get(admin.len() + i)
                .and_then(|r| r.get("query"))
                .and_then(Value::as_array)
                .map(Vec::len);
            let after_header = !produced;
            produced = true;
            let reply = self
                .post("/query", q.clone(), Some((expected_len, after_header)))
                .await?;
            if !(200..300).contains(&reply.status) {
                self.on_error(&reply, statements)?;
                error_seen = true;
                continue;
            }
            let rows = match reply.body {
                Value::Array(rows) => rows,
                other => vec![other],
            };
            actual.push(Actual::Query(rows));
            query_results += 1;
        }
        if self.case.proto_format && !error_seen {
            // as ksqlDB's runner: every query again, asking for protobuf rows
            for (i, q) in queries.iter().enumerate() {
                let expected_len = self
                    .case
                    .responses
                    .get(admin.len() + queries.len() + i)
                    .and_then(|r| r.get("queryProto"))
                    .and_then(Value::as_array)
                    .map(Vec::len);
                let body = json!({"sql": q, "properties": self.props});
                let reply = self
                    .post_with(
                        "/query-stream",
                        body,
                        Some(PROTOBUF_ROWS),
                        Some((expected_len, false)),
                    )
                    .await?;
                if !(200..300).contains(&reply.status) {
                    return self.on_error(&reply, statements);
                }
                let rows = match reply.body {
                    Value::Array(rows) => rows,
                    other => vec![other],
                };
                actual.push(Actual::QueryProto(rows));
            }
        }
        if let Some(e) = &self.case.expected_error {
            if query_results > 0 || !error_seen {
                return fail(format!(
                    "expected the last statement to fail ({})",
                    e.message.clone().unwrap_or_default()
                ));
            }
        }
        if !self.case.outputs.is_empty() {
            self.settle()?;
            let engine = self
                .state
                .engine()
                .map_err(|e| Failure::Error(e.to_string()))?;
            let mut outputs = self
                .outputs
                .lock()
                .map_err(|e| Failure::Error(e.to_string()))?;
            verify_outputs(&engine, &self.case.outputs, &mut outputs).map_err(Failure::Fail)?;
        }
        let verify_order = self
            .case
            .output_conditions
            .as_ref()
            .is_some_and(|c| c.verify_order);
        verify_responses(&actual, &self.case.responses, statements, verify_order)
            .map_err(Failure::Fail)
    }

    /// A failed statement: a pass only when the case expects that error.
    fn on_error(&self, reply: &Reply, statements: &[String]) -> Result<(), Failure> {
        let Some(expected) = &self.case.expected_error else {
            return fail(format!(
                "server failed to execute statement {}: {}",
                reply.body["statementText"],
                reply.body["message"].as_str().unwrap_or_default()
            ));
        };
        let _ = statements;
        match_error(expected, reply.status, &reply.body).map_err(Failure::Fail)
    }

    fn produce(&self) -> Result<(), Failure> {
        let engine = self
            .state
            .engine()
            .map_err(|e| Failure::Error(e.to_string()))?;
        produce_inputs(&engine, &self.case.inputs).map_err(Failure::Error)
    }

    /// Let the persistent queries process everything written so far.
    fn settle(&self) -> Result<(), Failure> {
        let mut engine = self
            .state
            .engine()
            .map_err(|e| Failure::Error(e.to_string()))?;
        engine
            .run_until_idle()
            .map_err(|e| Failure::Error(format!("persistent query failed: {e}")))
    }

    /// POST a statement; for `/query`, read the streamed rows until the body ends,
    /// the expected number arrived and nothing more came, or a timeout.
    async fn post(
        &self,
        path: &str,
        sql: String,
        query: Option<(Option<usize>, bool)>,
    ) -> Result<Reply, Failure> {
        let body = json!({"ksql": sql, "streamsProperties": self.props});
        self.post_with(path, body, None, query).await
    }

    /// [`Self::post`] of any body, asking for `accept` when given.
    async fn post_with(
        &self,
        path: &str,
        body: Value,
        accept: Option<&str>,
        query: Option<(Option<usize>, bool)>,
    ) -> Result<Reply, Failure> {
        let mut request = Request::builder()
            .method("POST")
            .uri(path)
            .header("content-type", "application/json");
        if let Some(accept) = accept {
            request = request.header("accept", accept);
        }
        let request = request
            .body(Body::from(body.to_string()))
            .map_err(|e| Failure::Error(e.to_string()))?;
        let app = sluice_server::router(self.state.clone());
        let response = app
            .oneshot(request)
            .await
            .map_err(|e| Failure::Error(e.to_string()))?;
        let status = response.status().as_u16();
        let mut stream = response.into_body().into_data_stream();
        let mut text = Vec::new();
        let ok = (200..300).contains(&status);
        if let (true, Some((_, true))) = (ok, query) {
            // ksqlDB produces once the header arrived; give the query a moment to
            // take its starting offsets too
            if let Ok(Some(Ok(chunk))) = tokio::time::timeout(QUERY_TIMEOUT, stream.next()).await {
                text.extend_from_slice(&chunk);
            }
            tokio::time::sleep(HEADER_GRACE).await;
            self.produce()?;
        }
        let expected_len = query.and_then(|q| q.0).filter(|_| ok);
        let deadline = Instant::now() + QUERY_TIMEOUT;
        loop {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            let enough = expected_len.is_some_and(|n| messages(&text).len() >= n);
            let wait = if enough { SETTLE } else { deadline - now };
            match tokio::time::timeout(wait, stream.next()).await {
                Ok(Some(Ok(chunk))) => text.extend_from_slice(&chunk),
                Ok(Some(Err(e))) => return Err(Failure::Error(e.to_string())),
                Ok(None) | Err(_) => break,
            }
        }
        let body = if query.is_some() && ok {
            Value::Array(messages(&text))
        } else {
            serde_json::from_slice(&text)
                .unwrap_or_else(|_| json!({"message": String::from_utf8_lossy(&text).into_owned()}))
        };
        Ok(Reply { status, body })
    }
}

/// What ksqlDB's runner asks for a pull query's protobuf rows.
const PROTOBUF_ROWS: &str = "application/vnd.ksql.v1+protobuf";

/// The messages of a (possibly unfinished) streamed JSON array: one per line.
fn messages(text: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(text)
        .lines()
        .filter_map(|line| {
            let line = line.trim();
            let line = line.strip_prefix('[').unwrap_or(line);
            let line = line.strip_prefix(',').unwrap_or(line).trim();
            let line = line.strip_suffix(']').unwrap_or(line);
            let line = line.strip_suffix(',').unwrap_or(line).trim();
            if line.is_empty() {
                return None;
            }
            Some(serde_json::from_str(line).unwrap_or_else(|_| json!({ "unparsed": line })))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn streamed_messages() {
        let text = b"[{\"header\":{\"schema\":\"x\"}},\n{\"row\":{\"columns\":[1]}},\n";
        let m = super::messages(text);
        assert_eq!(m.len(), 2);
        assert_eq!(m[1]["row"]["columns"][0], 1);
    }
}
