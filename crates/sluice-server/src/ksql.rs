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
use sluice_engine::{split_statements_at, Engine, Session, StatementKind};

use crate::entity::{to_entity, CommandLog};
use crate::error::ApiError;
use crate::http::{json_response, parse_json, Body};
use crate::state::{with_engine, AppState, Shared};

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

/// Run every statement of `sql` in the request's session; the entities of
/// those that ran, or the first error (carrying the entities of the
/// statements before it).
pub fn run_statements(
    engine: &mut Engine,
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
                _ => {
                    let result = engine.execute_in(&mut ctx.session, &stmt).map_err(|e| {
                        ApiError::statement(e, &stmt.shown_text(), entities.clone())
                    })?;
                    entities.extend(to_entity(engine, &stmt, result, commands));
                }
            }
        }
    }
    Ok(entities)
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
        with_engine(&state, move |shared, engine| {
            run_statements(engine, &req.ksql, &mut ctx, shared)
        })
        .await
    }
    .await;
    match result {
        Ok(entities) => json_response(&headers, &Value::Array(entities)),
        Err(e) => axum::response::IntoResponse::into_response(e),
    }
}
