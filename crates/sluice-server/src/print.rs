//! PRINT over `POST /query`: the topic's records as lines of text, streamed until
//! LIMIT, the client disconnecting or the server stopping, as ksqlDB streams them.

use std::convert::Infallible;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::body::Bytes;
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use sluice_engine::{Session, StatementKind};
use tokio::sync::mpsc;

use crate::error::ApiError;
use crate::state::{with_engine, AppState};

const IDLE_WAIT: Duration = Duration::from_millis(20);

/// Whether `sql` is one PRINT statement.
pub fn is_print(sql: &str) -> bool {
    matches!(
        Session::new().prepare(sql).as_deref(),
        Ok([one]) if one.kind() == StatementKind::Print
    )
}

/// Start the PRINT and stream its lines (each ending in a newline).
pub async fn stream(state: &AppState, sql: String) -> Response {
    let started = with_engine(state, move |_, engine| {
        engine
            .start_print(&sql)
            .map_err(|e| ApiError::statement(e, &sql, vec![]))
    })
    .await;
    let mut cursor = match started {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let (tx, rx) = mpsc::channel::<String>(256);
    let state = state.clone();
    std::thread::spawn(move || {
        while !tx.is_closed() && !state.stopping.load(Ordering::SeqCst) && !cursor.is_done() {
            let lines = match state.engine() {
                Ok(mut engine) => engine.poll_print(&mut cursor).map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            let lines = lines.unwrap_or_else(|e| vec![format!("Error: {e}")]);
            let idle = lines.is_empty();
            for line in lines {
                if tx.blocking_send(line).is_err() {
                    return;
                }
            }
            if idle {
                std::thread::sleep(IDLE_WAIT);
            }
        }
    });
    let body = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|line| (line, rx))
    })
    .map(|line| Ok::<_, Infallible>(Bytes::from(format!("{line}\n"))));
    axum::body::Body::from_stream(body).into_response()
}
