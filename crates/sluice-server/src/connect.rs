//! Kafka Connect's REST API over the engine's connectors, as a Connect worker
//! answers it (its paths, bodies, status codes and `{"error_code", "message"}`
//! errors), on its own listeners (`connect.listeners`): tools made for Connect
//! manage Sluice's connectors, and a connector made here is one in SQL too
//! (creating and deleting go through the engine's statements and command log).

use std::collections::BTreeMap;

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde_json::{json, Value};
use sluice_engine::connect::{ConnectorInfo, ConnectorStatus, Plugin, TaskStatus};
use sluice_engine::{Engine, EngineError};

use crate::state::AppState;

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(root))
        .route("/connectors", get(list).post(create))
        .route("/connectors/{name}", get(info).delete(delete))
        .route("/connectors/{name}/config", get(config).put(put_config))
        .route("/connectors/{name}/status", get(status))
        .route("/connectors/{name}/tasks", get(tasks))
        .route("/connectors/{name}/tasks/{task}/status", get(task_status))
        .route("/connectors/{name}/tasks/{task}/restart", post(restart))
        .route("/connectors/{name}/topics", get(topics))
        .route("/connectors/{name}/pause", put(pause))
        .route("/connectors/{name}/resume", put(resume))
        .route("/connectors/{name}/stop", put(stop))
        .route("/connectors/{name}/restart", post(restart_connector))
        .route("/connector-plugins", get(plugins))
        .route("/connector-plugins/{class}/config/validate", put(validate))
        .fallback(|| async { error(StatusCode::NOT_FOUND, "HTTP 404 Not Found") })
        .with_state(state)
}

/// Connect's error body.
fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (
        status,
        Json(json!({"error_code": status.as_u16(), "message": message.into()})),
    )
        .into_response()
}

fn from_engine(e: EngineError) -> Response {
    match e {
        EngineError::Connect { status, message } => error(
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            message,
        ),
        other => error(StatusCode::BAD_REQUEST, other.to_string()),
    }
}

fn not_found(name: &str) -> Response {
    error(StatusCode::NOT_FOUND, format!("Connector {name} not found"))
}

/// Answers with `f` run on the engine; a poisoned engine is a 500.
fn with_engine(state: &AppState, f: impl FnOnce(&mut Engine) -> Response) -> Response {
    match state.engine() {
        Ok(mut engine) => f(&mut engine),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

fn info_json(i: &ConnectorInfo) -> Value {
    let tasks: Vec<Value> = (0..i.tasks)
        .map(|t| json!({"connector": i.name, "task": t}))
        .collect();
    json!({"name": i.name, "config": i.config, "tasks": tasks, "type": i.kind.name()})
}

fn task_json(t: &TaskStatus) -> Value {
    let mut v = json!({"id": t.id, "state": t.state.name(), "worker_id": t.worker_id});
    if let Some(trace) = &t.trace {
        v["trace"] = json!(trace);
    }
    v
}

fn status_json(s: &ConnectorStatus) -> Value {
    let mut connector = json!({"state": s.state.name(), "worker_id": s.worker_id});
    if let Some(trace) = &s.trace {
        connector["trace"] = json!(trace);
    }
    json!({
        "name": s.name,
        "connector": connector,
        "tasks": s.tasks.iter().map(task_json).collect::<Vec<_>>(),
        "type": s.kind.name(),
    })
}

async fn root() -> Json<Value> {
    Json(json!({
        "version": env!("CARGO_PKG_VERSION"),
        "commit": "sluice",
        "kafka_cluster_id": "sluice",
    }))
}

/// `GET /connectors[?expand=status&expand=info]`.
async fn list(State(state): State<AppState>, RawQuery(query): RawQuery) -> Response {
    let expand: Vec<String> = query
        .unwrap_or_default()
        .split('&')
        .filter_map(|p| p.strip_prefix("expand="))
        .map(str::to_string)
        .collect();
    with_engine(&state, |e| {
        let worker = e.connect_worker();
        let names = worker.list();
        if expand.is_empty() {
            return Json(json!(names)).into_response();
        }
        let mut out = serde_json::Map::new();
        for name in names {
            let mut entry = serde_json::Map::new();
            if expand.iter().any(|x| x == "status") {
                if let Ok(s) = worker.status(&name) {
                    entry.insert("status".into(), status_json(&s));
                }
            }
            if expand.iter().any(|x| x == "info") {
                if let Ok(i) = worker.info(&name) {
                    entry.insert("info".into(), info_json(&i));
                }
            }
            out.insert(name, Value::Object(entry));
        }
        Json(Value::Object(out)).into_response()
    })
}

/// A JSON object of strings (Connect's config map); other values as text.
fn config_map(v: &Value) -> Option<BTreeMap<String, String>> {
    Some(
        v.as_object()?
            .iter()
            .map(|(k, v)| {
                let text = match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (k.clone(), text)
            })
            .collect(),
    )
}

/// `POST /connectors` `{"name": ..., "config": {...}}`.
async fn create(State(state): State<AppState>, body: axum::body::Bytes) -> Response {
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return error(StatusCode::BAD_REQUEST, "Request body is not a JSON object");
    };
    let Some(name) = body["name"]
        .as_str()
        .map(str::to_string)
        .filter(|n| !n.is_empty())
    else {
        return error(StatusCode::BAD_REQUEST, "Connector name must be provided");
    };
    let Some(config) = config_map(&body["config"]) else {
        return error(
            StatusCode::BAD_REQUEST,
            "Connector config must be a JSON object",
        );
    };
    with_engine(&state, |e| match e.put_connector(&name, config, false) {
        Ok((info, _)) => (StatusCode::CREATED, Json(info_json(&info))).into_response(),
        Err(err) => from_engine(err),
    })
}

/// `PUT /connectors/{name}/config`: creates (201) or reconfigures (200).
async fn put_config(
    State(state): State<AppState>,
    Path(name): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let Some(config) = serde_json::from_slice::<Value>(&body)
        .ok()
        .as_ref()
        .and_then(config_map)
    else {
        return error(
            StatusCode::BAD_REQUEST,
            "Connector config must be a JSON object",
        );
    };
    with_engine(&state, |e| match e.put_connector(&name, config, true) {
        Ok((info, created)) => {
            let status = if created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            (status, Json(info_json(&info))).into_response()
        }
        Err(err) => from_engine(err),
    })
}

/// Answers from the worker about connector `name` (404 when there is none).
fn lookup<T>(
    state: &AppState,
    name: &str,
    f: impl FnOnce(&sluice_engine::connect::Worker) -> sluice_engine::connect::Result<T>,
    ok: impl FnOnce(T) -> Response,
) -> Response {
    with_engine(state, |e| match f(e.connect_worker()) {
        Ok(v) => ok(v),
        Err(sluice_engine::connect::ConnectError::NotFound(_)) => not_found(name),
        Err(other) => error(StatusCode::INTERNAL_SERVER_ERROR, other.to_string()),
    })
}

async fn info(State(state): State<AppState>, Path(name): Path<String>) -> Response {
    lookup(
        &state,
        &name,
        |w| w.info(&name),
        |i| Json(info_json(&i)).into_response(),
    )
}

async fn config(State(state): State<AppState>, Path(name): Path<String>) -> Response {
    lookup(
        &state,
        &name,
        |w| w.info(&name),
        |i| Json(json!(i.config)).into_response(),
    )
}

async fn status(State(state): State<AppState>, Path(name): Path<String>) -> Response {
    lookup(
        &state,
        &name,
        |w| w.status(&name),
        |s| Json(status_json(&s)).into_response(),
    )
}

async fn tasks(State(state): State<AppState>, Path(name): Path<String>) -> Response {
    let connector = name.clone();
    lookup(
        &state,
        &name,
        |w| w.task_configs(&name),
        move |tasks| {
            let list: Vec<Value> = tasks
            .into_iter()
            .map(|(id, config)| json!({"id": {"connector": connector, "task": id}, "config": config}))
            .collect();
            Json(json!(list)).into_response()
        },
    )
}

async fn task_status(
    State(state): State<AppState>,
    Path((name, task)): Path<(String, usize)>,
) -> Response {
    lookup(
        &state,
        &name,
        |w| w.status(&name),
        move |s| match s.tasks.iter().find(|t| t.id == task) {
            Some(t) => Json(task_json(t)).into_response(),
            None => error(
                StatusCode::NOT_FOUND,
                format!("No status found for task {}-{task}", s.name),
            ),
        },
    )
}

async fn topics(State(state): State<AppState>, Path(name): Path<String>) -> Response {
    let connector = name.clone();
    lookup(
        &state,
        &name,
        |w| w.topics(&name),
        move |topics| Json(json!({ connector: {"topics": topics} })).into_response(),
    )
}

/// A state change of connector `name` by the worker, answered with `done`.
fn act(
    state: &AppState,
    name: &str,
    change: fn(&sluice_engine::connect::Worker, &str) -> sluice_engine::connect::Result<()>,
    done: StatusCode,
) -> Response {
    lookup(state, name, |w| change(w, name), |_| done.into_response())
}

/// `PUT .../pause|resume|stop`: the connector's target state, changed
/// through the engine's statement (kept in the command log, as Connect keeps
/// it in its config topic), answered with `done`.
fn target(
    state: &AppState,
    name: &str,
    target: sluice_engine::ConnectorTarget,
    done: StatusCode,
) -> Response {
    with_engine(state, |e| match e.set_connector_target(name, target) {
        Ok(()) => done.into_response(),
        Err(err) => from_engine(err),
    })
}

async fn pause(State(state): State<AppState>, Path(name): Path<String>) -> Response {
    target(
        &state,
        &name,
        sluice_engine::ConnectorTarget::Paused,
        StatusCode::ACCEPTED,
    )
}

async fn resume(State(state): State<AppState>, Path(name): Path<String>) -> Response {
    target(
        &state,
        &name,
        sluice_engine::ConnectorTarget::Started,
        StatusCode::ACCEPTED,
    )
}

async fn stop(State(state): State<AppState>, Path(name): Path<String>) -> Response {
    target(
        &state,
        &name,
        sluice_engine::ConnectorTarget::Stopped,
        StatusCode::NO_CONTENT,
    )
}

async fn restart_connector(State(state): State<AppState>, Path(name): Path<String>) -> Response {
    act(&state, &name, |w, n| w.restart(n), StatusCode::NO_CONTENT)
}

/// `POST /connectors/{name}/tasks/{task}/restart`: the connector's tasks start again.
async fn restart(
    State(state): State<AppState>,
    Path((name, _task)): Path<(String, usize)>,
) -> Response {
    act(&state, &name, |w, n| w.restart(n), StatusCode::NO_CONTENT)
}

async fn delete(State(state): State<AppState>, Path(name): Path<String>) -> Response {
    with_engine(&state, |e| match e.delete_connector(&name) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(err) => from_engine(err),
    })
}

async fn plugins() -> Json<Value> {
    Json(json!(Plugin::ALL
        .iter()
        .map(|p| json!({"class": p.class(), "type": p.kind().name(), "version": p.version()}))
        .collect::<Vec<_>>()))
}

/// `PUT /connector-plugins/{class}/config/validate`: Connect's `ConfigInfos`,
/// one entry per key given, the error on the key it names.
async fn validate(
    State(state): State<AppState>,
    Path(class): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let Some(mut config) = serde_json::from_slice::<Value>(&body)
        .ok()
        .as_ref()
        .and_then(config_map)
    else {
        return error(
            StatusCode::BAD_REQUEST,
            "Connector config must be a JSON object",
        );
    };
    config
        .entry("connector.class".into())
        .or_insert_with(|| class.clone());
    let Some(plugin) = Plugin::find(&class) else {
        return error(
            StatusCode::BAD_REQUEST,
            format!(
                "Failed to find any class that implements Connector and which name matches {class}"
            ),
        );
    };
    let checked = sluice_engine::connect::ConnectorConfig::new(config.clone());
    let outcome = match state.engine() {
        Ok(engine) => engine.connect_worker().validate(&checked),
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    };
    let (bad_key, message) = match &outcome {
        Err(sluice_engine::connect::ConnectError::Config { key, message }) => {
            (Some(key.clone()), Some(message.clone()))
        }
        Err(other) => (Some("connector.class".to_string()), Some(other.to_string())),
        Ok(_) => (None, None),
    };
    let mut keys: Vec<String> = config.keys().cloned().collect();
    if let Some(k) = &bad_key {
        if !keys.contains(k) {
            keys.push(k.clone());
        }
    }
    let configs: Vec<Value> = keys
        .iter()
        .map(|k| {
            let errors: Vec<&String> = match (&bad_key, &message) {
                (Some(b), Some(m)) if b == k => vec![m],
                _ => vec![],
            };
            let shown = if sluice_engine::connect::is_secret(k) {
                Some(sluice_engine::connect::HIDDEN.to_string())
            } else {
                config.get(k).cloned()
            };
            json!({
                "definition": {"name": k, "type": "STRING", "required": false, "group": "Common",
                               "documentation": "", "dependents": []},
                "value": {"name": k, "value": shown, "recommended_values": [], "errors": errors, "visible": true},
            })
        })
        .collect();
    Json(json!({
        "name": plugin.class(),
        "error_count": usize::from(bad_key.is_some()),
        "groups": ["Common"],
        "configs": configs,
    }))
    .into_response()
}
