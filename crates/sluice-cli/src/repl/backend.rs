//! What the REPL runs statements against: the engine in this process, or a server
//! over REST. Both answer ksqlDB entities and stream query rows the same way.

use crate::http_client::{Answer, ClientOptions, HttpClient};
use std::io::{BufRead, BufReader};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{json, Value};
use sluice_engine::{Engine, QueryStart};
use sluice_server::entity::NoCommandLog;
use sluice_server::ksql::{run_statements, RequestContext};
use sluice_server::schema::{column_names, rows};

/// What a query hands the REPL as it runs.
#[derive(Debug, Clone, PartialEq)]
pub enum QueryEvent {
    Header(Vec<String>),
    Row(Vec<Value>),
    /// The query ended by itself ("Limit Reached") or was closed.
    End(Option<String>),
}

pub trait Backend {
    /// Run non-query statements; their entities, or the error message.
    fn execute(&mut self, sql: &str, ctx: &RequestContext) -> Result<Vec<Value>, String>;
    /// Run one SELECT, handing each event to `on`, until it ends or `cancel` is set.
    fn query(
        &mut self,
        sql: &str,
        ctx: &RequestContext,
        cancel: &AtomicBool,
        on: &mut dyn FnMut(QueryEvent),
    ) -> Result<(), String>;
    /// Run one PRINT, handing each line to `on`, until its LIMIT or `cancel`.
    fn print(
        &mut self,
        sql: &str,
        cancel: &AtomicBool,
        on: &mut dyn FnMut(String),
    ) -> Result<(), String>;
}

/// The engine in this process.
pub struct Embedded {
    pub engine: Engine,
}

impl Embedded {
    pub fn new(engine: Engine) -> Self {
        Embedded { engine }
    }
}

/// How long an idle push query waits before polling again.
const IDLE: Duration = Duration::from_millis(50);

impl Backend for Embedded {
    fn execute(&mut self, sql: &str, ctx: &RequestContext) -> Result<Vec<Value>, String> {
        let mut ctx = ctx.clone();
        let entities = run_statements(&mut self.engine, sql, &mut ctx, &NoCommandLog)
            .map_err(|e| e.to_string())?;
        self.engine.run_until_idle().map_err(|e| e.to_string())?;
        Ok(entities)
    }

    fn query(
        &mut self,
        sql: &str,
        ctx: &RequestContext,
        cancel: &AtomicBool,
        on: &mut dyn FnMut(QueryEvent),
    ) -> Result<(), String> {
        let mut parsed = ctx.session.prepare(sql).map_err(|e| e.to_string())?;
        let stmt = match (parsed.pop(), parsed.is_empty()) {
            (Some(s), true) => s,
            _ => return Err("Expected exactly one SELECT statement".into()),
        };
        let engine = &mut self.engine;
        let mut session = ctx.session.clone();
        let mut push = match engine
            .start_query(&mut session, &stmt)
            .map_err(|e| e.to_string())?
        {
            QueryStart::Pull(pull) => {
                on(QueryEvent::Header(column_names(&pull.schema)));
                for b in &pull.batches {
                    for r in rows(b) {
                        on(QueryEvent::Row(r.as_array().cloned().unwrap_or_default()));
                    }
                }
                on(QueryEvent::End(None));
                return Ok(());
            }
            QueryStart::Push(push) => *push,
        };
        on(QueryEvent::Header(column_names(&push.schema)));
        while !cancel.load(Ordering::SeqCst) {
            let batches = engine
                .poll_push_query(&mut push)
                .map_err(|e| e.to_string())?;
            let mut n = 0;
            for b in &batches {
                for r in rows(b) {
                    on(QueryEvent::Row(r.as_array().cloned().unwrap_or_default()));
                    n += 1;
                }
            }
            if push.is_done() {
                on(QueryEvent::End(Some("Limit Reached".into())));
                return Ok(());
            }
            if n == 0 {
                std::thread::sleep(IDLE);
            }
        }
        on(QueryEvent::End(None));
        Ok(())
    }

    fn print(
        &mut self,
        sql: &str,
        cancel: &AtomicBool,
        on: &mut dyn FnMut(String),
    ) -> Result<(), String> {
        let engine = &mut self.engine;
        let mut cursor = engine.start_print(sql).map_err(|e| e.to_string())?;
        while !cancel.load(Ordering::SeqCst) && !cursor.is_done() {
            let lines = engine.poll_print(&mut cursor).map_err(|e| e.to_string())?;
            if lines.is_empty() {
                std::thread::sleep(IDLE);
            }
            lines.into_iter().for_each(&mut *on);
        }
        Ok(())
    }
}

/// A server over its REST API (`/ksql`, `/query`, `/close-query`).
pub struct Remote {
    base: String,
    client: HttpClient,
}

impl Remote {
    /// The server at `url`, reached as `options` say (TLS trust, basic auth).
    pub fn new(url: &str, options: &ClientOptions) -> Result<Self, String> {
        Ok(Remote {
            base: url.trim_end_matches('/').to_string(),
            client: HttpClient::new(options)?,
        })
    }

    /// `/info`, to check the server is there.
    pub fn info(&self) -> Result<Value, String> {
        let answer = self.client.get(&format!("{}/info", self.base))?;
        if answer.status == 401 {
            return Err(format!(
                "{} refused the credentials: give the user and password with -u USER -p PASSWORD",
                self.base
            ));
        }
        answer.json()
    }

    fn post(&self, path: &str, body: &Value) -> Result<Answer, String> {
        let answer = self.client.post(&format!("{}{path}", self.base), body)?;
        if answer.is_success() {
            return Ok(answer);
        }
        let status = answer.status;
        let text = answer.text().unwrap_or_default();
        Err(serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|v| v["message"].as_str().map(String::from))
            .unwrap_or_else(|| format!("HTTP {status}: {text}")))
    }
}

fn request(sql: &str, ctx: &RequestContext) -> Value {
    let props: serde_json::Map<String, Value> = ctx
        .session
        .properties()
        .iter()
        .map(|(k, v)| (k.clone(), json!(v)))
        .collect();
    json!({"ksql": sql, "streamsProperties": props, "sessionVariables": ctx.session.variables()})
}

impl Backend for Remote {
    fn execute(&mut self, sql: &str, ctx: &RequestContext) -> Result<Vec<Value>, String> {
        let resp = self.post("/ksql", &request(sql, ctx))?;
        match resp.json()? {
            Value::Array(entities) => Ok(entities),
            other => Err(format!("Unexpected response: {other}")),
        }
    }

    fn query(
        &mut self,
        sql: &str,
        ctx: &RequestContext,
        cancel: &AtomicBool,
        on: &mut dyn FnMut(QueryEvent),
    ) -> Result<(), String> {
        let resp = self.post("/query", &request(sql, ctx))?;
        // read the streamed array on a thread, so Ctrl-C is seen while no row comes
        let (tx, rx) = mpsc::channel::<Value>();
        std::thread::spawn(move || {
            for line in BufReader::new(resp.into_reader()).lines() {
                let Ok(line) = line else { return };
                let item = line
                    .trim()
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .trim_end_matches(',')
                    .trim();
                if item.is_empty() {
                    continue;
                }
                let Ok(v) = serde_json::from_str::<Value>(item) else {
                    continue;
                };
                if tx.send(v).is_err() {
                    return;
                }
            }
        });
        let mut query_id = None;
        loop {
            if cancel.load(Ordering::SeqCst) {
                if let Some(id) = query_id {
                    let _ = self.post("/close-query", &json!({ "queryId": id }));
                }
                on(QueryEvent::End(None));
                return Ok(());
            }
            let v = match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(v) => v,
                Err(mpsc::RecvTimeoutError::Timeout) => continue,
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    on(QueryEvent::End(None));
                    return Ok(());
                }
            };
            if let Some(h) = v.get("header") {
                query_id = h["queryId"].as_str().map(String::from);
                on(QueryEvent::Header(header_names(
                    h["schema"].as_str().unwrap_or_default(),
                )));
            } else if let Some(r) = v.get("row") {
                on(QueryEvent::Row(
                    r["columns"].as_array().cloned().unwrap_or_default(),
                ));
            } else if let Some(m) = v.get("finalMessage") {
                on(QueryEvent::End(m.as_str().map(String::from)));
                return Ok(());
            } else if let Some(e) = v.get("errorMessage") {
                return Err(e["message"].as_str().unwrap_or("query failed").to_string());
            }
        }
    }

    fn print(
        &mut self,
        sql: &str,
        cancel: &AtomicBool,
        on: &mut dyn FnMut(String),
    ) -> Result<(), String> {
        let resp = self.post("/query", &json!({ "ksql": sql }))?;
        // read on a thread, so Ctrl-C is seen while no record comes; dropping
        // the response ends the server's PRINT
        let (tx, rx) = mpsc::channel::<String>();
        std::thread::spawn(move || {
            for line in BufReader::new(resp.into_reader()).lines() {
                let Ok(line) = line else { return };
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        while !cancel.load(Ordering::SeqCst) {
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(line) => on(line),
                Err(mpsc::RecvTimeoutError::Timeout) => continue,
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
        Ok(())
    }
}

/// The column names of a `/query` header schema: `` `A` STRING, `B` STRUCT<`X` INT> ``.
pub fn header_names(schema: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut depth = 0usize;
    let mut chars = schema.chars();
    while let Some(c) = chars.next() {
        match c {
            '<' => depth += 1,
            '>' => depth = depth.saturating_sub(1),
            '`' => {
                let name: String = chars.by_ref().take_while(|&c| c != '`').collect();
                if depth == 0 {
                    names.push(name);
                }
            }
            _ => {}
        }
    }
    names
}
