//! `POST /ksql`: run statements, answer ksqlDB entities.
//!
//! Like ksqlDB's REST API, a request is stateless: `streamsProperties` and
//! `sessionVariables` hold for the request only, and `SET`/`DEFINE` inside it change
//! them for the statements after it, not for later requests.

use std::collections::HashMap;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Map, Value};
use sluice_engine::{Engine, EngineError};
use sluice_sql::{ParsedStatement, Show, Statement};

use crate::entity::{to_entity, variables_entity, CommandLog};
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
}

/// A JSON property value as text (`"x"` → `x`, `1` → `1`).
pub fn property_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// What one request carries besides its statements.
#[derive(Debug, Default, Clone)]
pub struct RequestContext {
    pub properties: Vec<(String, String)>,
    pub variables: HashMap<String, String>,
    /// Refuse everything but listings (headless mode).
    pub read_only: bool,
}

impl RequestContext {
    pub fn new(props: &Map<String, Value>, vars: &Map<String, Value>) -> Self {
        RequestContext {
            properties: props
                .iter()
                .map(|(k, v)| (k.clone(), property_text(v)))
                .collect(),
            variables: vars
                .iter()
                .map(|(k, v)| (k.clone(), property_text(v)))
                .collect(),
            read_only: false,
        }
    }
}

/// Run `f` with the request's properties `SET` in the engine's session, then unset
/// them again.
pub fn with_properties<T>(
    engine: &mut Engine,
    props: &[(String, String)],
    f: impl FnOnce(&mut Engine) -> Result<T, EngineError>,
) -> Result<T, EngineError> {
    let set = |engine: &mut Engine, statement: Statement| {
        engine.execute(&ParsedStatement {
            statement,
            text: String::new(),
            pos: Default::default(),
        })
    };
    for (property, value) in props {
        set(
            engine,
            Statement::Set {
                property: property.clone(),
                value: value.clone(),
            },
        )?;
    }
    let result = f(engine);
    for (property, _) in props {
        // cannot fail: UNSET of a set property
        let _ = set(
            engine,
            Statement::Unset {
                property: property.clone(),
            },
        );
    }
    result
}

/// Substitute the request's variables into one statement's text and parse it.
pub fn parse_one(text: &str, ctx: &RequestContext) -> Result<Vec<ParsedStatement>, EngineError> {
    let substituted = sluice_sql::substitute_variables(text, &ctx.variables)?;
    Ok(sluice_sql::parse(&substituted)?)
}

fn is_listing(stmt: &Statement) -> bool {
    matches!(
        stmt,
        Statement::Show(_) | Statement::Describe(_) | Statement::Explain(_)
    )
}

/// Run every statement of `sql`; the entities of those that ran, or the first error
/// (carrying the entities of the statements before it).
pub fn run_statements(
    engine: &mut Engine,
    sql: &str,
    ctx: &mut RequestContext,
    commands: &dyn CommandLog,
) -> Result<Vec<Value>, ApiError> {
    let mut entities = Vec::new();
    for text in sluice_sql::split_statements(sql) {
        let parsed =
            parse_one(text, ctx).map_err(|e| ApiError::statement(e, text, entities.clone()))?;
        for stmt in parsed {
            match &stmt.statement {
                Statement::Query(_) | Statement::Print { .. } => {
                    return Err(ApiError::QueryEndpoint {
                        statement: stmt.text.trim().to_string(),
                    })
                }
                s if ctx.read_only && !is_listing(s) => {
                    return Err(ApiError::Headless {
                        statement: stmt.text.trim().to_string(),
                    })
                }
                Statement::Define { name, value } => {
                    ctx.variables.insert(name.clone(), value.clone());
                }
                Statement::Undefine { name } => {
                    ctx.variables.remove(name);
                }
                Statement::Set { property, value } => {
                    ctx.properties.retain(|(k, _)| k != property);
                    ctx.properties.push((property.clone(), value.clone()));
                }
                Statement::Unset { property } => ctx.properties.retain(|(k, _)| k != property),
                Statement::Show(Show::Variables) => {
                    entities.push(variables_entity(&stmt.text, &ctx.variables));
                }
                _ => {
                    let result = with_properties(engine, &ctx.properties, |e| e.execute(&stmt))
                        .map_err(|e| ApiError::statement(e, &stmt.text, entities.clone()))?;
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
