//! `POST /ksql`: run statements, answer ksqlDB entities.
//!
//! Like ksqlDB's REST API, a request is stateless: `streamsProperties` and
//! `sessionVariables` hold for the request only, and `SET`/`DEFINE` inside it change
//! them for the statements after it, not for later requests.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Map, Value};
use sluice_engine::{
    split_statements_at, until_asserted, Engine, EngineError, Prepared, Session, StatementKind,
    StatementResult,
};

use crate::entity::{to_entity, CommandLog};
use crate::error::ApiError;
use crate::http::{json_response, parse_json, Body};
use crate::state::{AppState, Shared};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KsqlRequest {
    pub ksql: String,
    #[serde(default)]
    pub streams_properties: Map<String, Value>,
    #[serde(default)]
    pub session_variables: Map<String, Value>,
    /// Run only once this server has applied the command topic past this
    /// offset (a `commandSequenceNumber` an earlier answer gave).
    #[serde(default)]
    pub command_sequence_number: Option<i64>,
}

/// A JSON property value as text (`"x"` → `x`, `1` → `1`).
pub fn property_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// What one request carries besides its statements: the session its
/// statements run in, and whether the server is headless.
#[derive(Debug, Default, Clone)]
pub struct RequestContext {
    pub session: Session,
    /// Refuse everything but listings (headless mode).
    pub read_only: bool,
}

impl RequestContext {
    pub fn new(props: &Map<String, Value>, vars: &Map<String, Value>) -> Self {
        let text = |m: &Map<String, Value>| {
            m.iter()
                .map(|(k, v)| (k.clone(), property_text(v)))
                .collect::<Vec<_>>()
        };
        RequestContext {
            session: Session::with(text(props), text(vars)),
            read_only: false,
        }
    }
}

/// Where [`run_statements`] gets the engine: for one statement at a time, so
/// that an ASSERT waiting for its topic or schema lets other requests in.
pub trait EngineAccess {
    fn with<T>(&mut self, f: impl FnOnce(&mut Engine) -> T) -> Result<T, ApiError>;
}

impl EngineAccess for &mut Engine {
    fn with<T>(&mut self, f: impl FnOnce(&mut Engine) -> T) -> Result<T, ApiError> {
        Ok(f(self))
    }
}

impl EngineAccess for &Shared {
    fn with<T>(&mut self, f: impl FnOnce(&mut Engine) -> T) -> Result<T, ApiError> {
        Ok(f(&mut *self.engine()?))
    }
}

/// Run every statement of `sql` in the request's session; the entities of
/// those that ran, or the first error (carrying the entities of the
/// statements before it).
pub fn run_statements(
    mut access: impl EngineAccess,
    sql: &str,
    ctx: &mut RequestContext,
    commands: &dyn CommandLog,
) -> Result<Vec<Value>, ApiError> {
    let mut entities = Vec::new();
    for (start, text) in split_statements_at(sql) {
        let prepared = ctx
            .session
            .prepare_at(text, start)
            .map_err(|e| ApiError::statement(e, text, entities.clone()))?;
        for stmt in prepared {
            match stmt.kind() {
                StatementKind::PushQuery | StatementKind::PullQuery | StatementKind::Print => {
                    return Err(ApiError::QueryEndpoint {
                        statement: stmt.shown_text().trim().to_string(),
                    })
                }
                kind if ctx.read_only && kind != StatementKind::Listing => {
                    return Err(ApiError::Headless {
                        statement: stmt.shown_text().trim().to_string(),
                    })
                }
                // ksqlDB answers no entity for these; undefining an unknown
                // variable changes nothing
                StatementKind::Session => {
                    let _ = ctx.session.apply(&stmt);
                }
                _ if stmt.is_assertion() => {
                    let result = assert_until_held(&mut access, ctx, &stmt)?.map_err(|e| {
                        ApiError::statement(e, &stmt.shown_text(), entities.clone())
                    })?;
                    entities
                        .extend(access.with(|engine| to_entity(engine, &stmt, result, commands))?);
                }
                _ => {
                    // one hold of the engine from the statement to its
                    // entity (its command sequence number is its own)
                    let shown = stmt.shown_text();
                    let answered = access.with(|engine| {
                        engine
                            .execute_in(&mut ctx.session, &stmt)
                            .map(|result| to_entity(engine, &stmt, result, commands))
                    })?;
                    entities.extend(
                        answered.map_err(|e| ApiError::statement(e, &shown, entities.clone()))?,
                    );
                }
            }
        }
    }
    Ok(entities)
}

/// An ASSERT checked until it holds or its timeout has passed, the engine
/// taken for each check only; an engine that cannot be had ends it.
fn assert_until_held(
    access: &mut impl EngineAccess,
    ctx: &mut RequestContext,
    stmt: &Prepared,
) -> Result<Result<StatementResult, EngineError>, ApiError> {
    let timeout = access
        .with(|engine| engine.assertion_timeout(&mut ctx.session, stmt))?
        .unwrap_or_default();
    let mut unavailable = None;
    let result = until_asserted(timeout, || {
        match access.with(|engine| engine.check_assertion(&mut ctx.session, stmt)) {
            Ok(checked) => checked,
            Err(e) => {
                let message = e.to_string();
                unavailable = Some(e);
                Err(EngineError::statement(message))
            }
        }
    });
    match unavailable {
        Some(e) => Err(e),
        None => Ok(result),
    }
}

impl CommandLog for Shared {
    fn record(&self, command_id: &str, message: &str) -> usize {
        self.record_command(command_id, message)
    }
}

pub async fn handle(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let result = async {
        let req: KsqlRequest = parse_json(&body.0)?;
        if let Some(seq) = req.command_sequence_number {
            crate::state::wait_for_command(&state, seq).await?;
        }
        let mut ctx = RequestContext::new(&req.streams_properties, &req.session_variables);
        ctx.read_only = state.headless;
        let state = state.clone();
        tokio::task::spawn_blocking(move || {
            let shared: &Shared = &state;
            run_statements(shared, &req.ksql, &mut ctx, shared)
        })
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
    }
    .await;
    match result {
        Ok(entities) => json_response(&headers, &Value::Array(entities)),
        Err(e) => axum::response::IntoResponse::into_response(e),
    }
}
