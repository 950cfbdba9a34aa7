//! HTTP plumbing shared by the handlers: the size-limited body extractor, JSON
//! request parsing, content negotiation, basic auth, and the 404/405 fallbacks.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::ApiError;
use crate::state::AppState;

pub const KSQL_V1_JSON: &str = "application/vnd.ksql.v1+json";
pub const KSQLAPI_DELIMITED: &str = "application/vnd.ksqlapi.delimited.v1";
pub const JSON: &str = "application/json";
/// ksqlDB's protobuf row format of a query response (`KsqlMediaType.KSQL_V1_PROTOBUF`).
pub const KSQL_V1_PROTOBUF: &str = "application/vnd.ksql.v1+protobuf";

/// A whole request body, refused with 413 past `sluice.request.max.bytes`.
pub struct Body(pub Bytes);

impl FromRequest<AppState> for Body {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let limit = state.config.max_request_bytes;
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        if declared.is_some_and(|n| n > limit) {
            return Err(ApiError::PayloadTooLarge(limit));
        }
        axum::body::to_bytes(req.into_body(), limit)
            .await
            .map(Body)
            .map_err(|e| {
                if e.to_string().contains("length limit") {
                    ApiError::PayloadTooLarge(limit)
                } else {
                    ApiError::BadRequest(format!("Failed to read the request body: {e}"))
                }
            })
    }
}

/// Parse a JSON request body, answering ksqlDB's 40000 on malformed input.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::BadRequest(format!("Invalid JSON in request: {e}")))
}

fn accepts(headers: &HeaderMap, media: &str) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains(media))
}

/// The v1 content type unless the client asked for plain `application/json`.
pub fn v1_content_type(headers: &HeaderMap) -> &'static str {
    if accepts(headers, JSON) && !accepts(headers, KSQL_V1_JSON) {
        JSON
    } else {
        KSQL_V1_JSON
    }
}

/// Whether the client asked for ksqlDB's protobuf rows.
pub fn wants_protobuf(headers: &HeaderMap) -> bool {
    accepts(headers, KSQL_V1_PROTOBUF)
}

/// `/query-stream` answers delimited rows unless the client asked for JSON.
pub fn wants_json_array(headers: &HeaderMap) -> bool {
    accepts(headers, JSON) && !accepts(headers, KSQLAPI_DELIMITED)
}

pub fn json_response(headers: &HeaderMap, value: &Value) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(v1_content_type(headers)),
        )],
        value.to_string(),
    )
        .into_response()
}

pub async fn not_found() -> ApiError {
    ApiError::NotFound
}

pub async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

/// Constant-time comparison, so a password check does not leak its length of match.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn authorized(state: &AppState, headers: &HeaderMap) -> bool {
    let Some(users) = &state.users else {
        return true;
    };
    let Some(encoded) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
    else {
        return false;
    };
    let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(encoded.trim()) else {
        return false;
    };
    let Ok(pair) = String::from_utf8(decoded) else {
        return false;
    };
    let Some((user, password)) = pair.split_once(':') else {
        return false;
    };
    users
        .get(user)
        .is_some_and(|p| same(p.as_bytes(), password.as_bytes()))
}

/// HTTP basic auth when a users file is configured: 401 before any handler runs.
pub async fn basic_auth(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if authorized(&state, req.headers()) {
        next.run(req).await
    } else {
        // the challenge makes a browser (the console) ask for the user
        let mut response = ApiError::Unauthorized.into_response();
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"sluice\""),
        );
        response
    }
}

/// A browser's request from a page of another site is refused: its `Origin`
/// names another host than the one it asks. A browser keeps the basic-auth
/// credentials it gave the console and sends them with any site's requests
/// to this server, so without this any page could run statements here
/// (cross-site request forgery, websocket hijacking). Clients that are not
/// browsers send no `Origin`.
pub async fn same_origin(req: Request, next: Next) -> Response {
    if let Some(origin) = req.headers().get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("").to_string();
        // HTTP/2 carries the host in the URI's authority
        let host = req
            .uri()
            .authority()
            .map(|a| a.as_str().to_string())
            .or_else(|| {
                req.headers()
                    .get(header::HOST)
                    .and_then(|h| h.to_str().ok())
                    .map(str::to_string)
            })
            .unwrap_or_default();
        let origin_host = origin.split_once("://").map_or("", |(_, h)| h);
        if host.is_empty() || !origin_host.eq_ignore_ascii_case(&host) {
            return ApiError::CrossOrigin(origin).into_response();
        }
    }
    next.run(req).await
}

/// The same basic auth in front of the schema registry's listeners, answering
/// Confluent Schema Registry's 401 body.
pub async fn registry_basic_auth(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    if authorized(&state, req.headers()) {
        next.run(req).await
    } else {
        let body = serde_json::json!({"error_code": 401, "message": "Unauthorized"});
        (
            axum::http::StatusCode::UNAUTHORIZED,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static(sluice_registry::http::CONTENT_TYPE),
            )],
            body.to_string(),
        )
            .into_response()
    }
}
