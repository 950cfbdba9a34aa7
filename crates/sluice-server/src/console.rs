//! The web console: a page and its assets, built into the binary, served at
//! `/` on the REST listener (so behind the same auth and TLS). The page talks
//! to the server through its public REST API only (`/ksql`, `/query-stream`,
//! `/close-query`). Its sources are under `console/src`, bundled by
//! `console/build.sh` into `console/dist`, which is committed: building Sluice
//! needs no Node.js.

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::state::AppState;

const INDEX: &str = include_str!("../console/src/index.html");
const SCRIPT: &str = include_str!("../console/dist/console.js");
const STYLE: &str = include_str!("../console/src/console.css");

fn asset(body: &'static str, content_type: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            // no other site frames the console (clickjacking)
            (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static("frame-ancestors 'none'"),
            ),
        ],
        body,
    )
        .into_response()
}

/// The console's routes: `/` (the page), `/console/console.js`, `/console/console.css`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/",
            get(|| async { asset(INDEX, "text/html; charset=utf-8") }),
        )
        .route(
            "/console/console.js",
            get(|| async { asset(SCRIPT, "text/javascript; charset=utf-8") }),
        )
        .route(
            "/console/console.css",
            get(|| async { asset(STYLE, "text/css; charset=utf-8") }),
        )
}
