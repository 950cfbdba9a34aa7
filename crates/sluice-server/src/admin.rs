//! `GET /info`, `/healthcheck`, `/status`, `/status/{type}/{entity}/{action}` and
//! `/clusterStatus`.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{json, Map, Value};

use crate::error::ApiError;
use crate::http::json_response;
use crate::state::{now_ms, AppState};

/// The id `/info` reports for the (embedded) Kafka cluster.
pub const CLUSTER_ID: &str = "sluice-embedded-log";

pub async fn info(State(state): State<AppState>, headers: HeaderMap) -> Response {
    json_response(
        &headers,
        &json!({"KsqlServerInfo": {
            "version": env!("CARGO_PKG_VERSION"),
            "kafkaClusterId": CLUSTER_ID,
            "ksqlServiceId": state.config.service_id,
            "serverStatus": "RUNNING",
        }}),
    )
}

/// ksqlDB's health check: the engine answers (its metastore) and the log
/// backend lists its topics within five seconds (`kafka`: on the embedded log,
/// the data dir).
pub async fn healthcheck(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let log = state.engine().ok().map(|e| e.log().clone());
    let engine_ok = log.is_some();
    let log_ok = match log {
        Some(log) => {
            let listed = tokio::task::spawn_blocking(move || log.list_topics().is_ok());
            matches!(
                tokio::time::timeout(std::time::Duration::from_secs(5), listed).await,
                Ok(Ok(true))
            )
        }
        None => false,
    };
    let healthy = engine_ok && log_ok;
    let body = json!({
        "isHealthy": healthy,
        "details": {
            "metastore": {"isHealthy": engine_ok},
            "kafka": {"isHealthy": log_ok},
            "commandRunner": {"isHealthy": engine_ok},
        },
    });
    let mut response = json_response(&headers, &body);
    if !healthy {
        *response.status_mut() = axum::http::StatusCode::SERVICE_UNAVAILABLE;
    }
    response
}

pub async fn statuses(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let statuses: Map<String, Value> = state
        .commands()
        .into_iter()
        .map(|c| (c.id, json!(c.status)))
        .collect();
    json_response(&headers, &json!({ "commandStatuses": statuses }))
}

/// `/status/stream/PAGEVIEWS/create`; the entity may be written with or without
/// backquotes.
pub async fn status(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((kind, entity, action)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let bare = entity.trim_matches('`');
    let wanted = [
        format!("{kind}/`{bare}`/{action}"),
        format!("{kind}/{bare}/{action}"),
    ];
    let found = state
        .commands()
        .into_iter()
        .find(|c| wanted.iter().any(|w| w.eq_ignore_ascii_case(&c.id)));
    match found {
        Some(c) => Ok(json_response(
            &headers,
            &json!({"status": c.status, "message": c.message, "queryId": null}),
        )),
        None => Err(ApiError::BadRequest(format!(
            "Command {kind}/{entity}/{action} not found"
        ))),
    }
}

/// ksqlDB's `/clusterStatus`: every server of the service (on Kafka, those
/// the service's presence group lists; otherwise this one).
pub async fn cluster_status(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let now = now_ms();
    let shared = state.clone();
    let servers = tokio::task::spawn_blocking(move || crate::state::servers(&shared))
        .await
        .ok()
        .flatten();
    let this = state
        .advertised
        .lock()
        .ok()
        .and_then(|a| a.clone())
        .unwrap_or_else(|| {
            state
                .config
                .listeners
                .first()
                .map(|l| l.split("://").last().unwrap_or(l).to_string())
                .unwrap_or_default()
        });
    let mut names = servers.unwrap_or_default();
    if !names.contains(&this) {
        names.push(this);
    }
    names.sort();
    let hosts: Map<String, Value> = names
        .into_iter()
        .map(|host| {
            (
                host,
                json!({
                    "hostAlive": true,
                    "lastStatusUpdateMs": now,
                    "activeStandbyPerQuery": {},
                    "hostStoreLags": {"stateStoreLags": {}, "updateTimeMs": now},
                }),
            )
        })
        .collect();
    json_response(&headers, &json!({ "clusterStatus": hosts }))
}
