//! `POST /inserts-stream`: a first line `{"target": "NAME"}`, then one JSON object
//! per line (column → value). Rows are converted and appended in batches (all
//! the complete lines at hand, up to [`BATCH`]) through the engine's
//! [`Inserter`], without holding the engine, and each is acknowledged with
//! `{"status":"ok","seq":N}` once stored, or
//! `{"status":"error","seq":N,"error_code":...,"message":...}`, in order.

use std::convert::Infallible;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use serde_json::{json, Map, Value};
use sluice_engine::Inserter;
use tokio::sync::mpsc;

use crate::error::{codes, ApiError};
use crate::http::{wants_json_array, JSON, KSQLAPI_DELIMITED};
use crate::state::{with_engine, AppState};

/// The most rows appended in one write.
const BATCH: usize = 10_000;

fn ack(seq: u64, result: Result<(), (u32, String)>) -> String {
    let v = match result {
        Ok(()) => json!({"status": "ok", "seq": seq}),
        Err((code, message)) => {
            json!({"status": "error", "seq": seq, "error_code": code, "message": message})
        }
    };
    format!("{v}\n")
}

/// One line as a row object.
fn row_of(line: &[u8]) -> Result<Map<String, Value>, (u32, String)> {
    let bad = |m: String| (codes::BAD_REQUEST, m);
    match serde_json::from_slice(line) {
        Ok(Value::Object(row)) => Ok(row),
        Ok(_) => Err(bad("Each line must be a JSON object".into())),
        Err(e) => Err(bad(format!("Invalid JSON: {e}"))),
    }
}

/// The inserter the first line names.
async fn open(state: &AppState, line: &[u8]) -> Result<Arc<Inserter>, (u32, String)> {
    let row = row_of(line)?;
    let target = row
        .get("target")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            (
                codes::BAD_REQUEST,
                "The first line must be {\"target\": \"STREAM_NAME\"}".to_string(),
            )
        })?
        .to_string();
    if state.headless {
        let refused = ApiError::Headless {
            statement: String::new(),
        };
        return Err((codes::FORBIDDEN, refused.to_string()));
    }
    with_engine(state, move |_, engine| {
        engine
            .inserter(&target)
            .map(Arc::new)
            .map_err(|e| ApiError::BadRequest(e.to_string()))
    })
    .await
    .map_err(|e| (e.code(), e.to_string()))
}

/// Appends the rows of `lines` (in order) and acknowledges each (the acks
/// of a batch travel together).
async fn insert_batch(
    inserter: &Arc<Inserter>,
    lines: Vec<Vec<u8>>,
    seq: &mut u64,
    tx: &mpsc::Sender<Vec<String>>,
) -> bool {
    let parsed: Vec<Result<Map<String, Value>, (u32, String)>> =
        lines.iter().map(|l| row_of(l)).collect();
    let rows: Vec<Map<String, Value>> = parsed
        .iter()
        .filter_map(|r| r.as_ref().ok().cloned())
        .collect();
    let inserter = inserter.clone();
    let stored = tokio::task::spawn_blocking(move || inserter.insert(&rows))
        .await
        .unwrap_or_default();
    let mut stored = stored.into_iter();
    let mut acks = Vec::with_capacity(parsed.len());
    for row in parsed {
        let result = match row {
            Ok(_) => match stored.next() {
                Some(Ok(())) => Ok(()),
                Some(Err(why)) => Err((codes::BAD_REQUEST, why)),
                None => Err((codes::SERVER_ERROR, "the insert was not carried out".into())),
            },
            Err(e) => Err(e),
        };
        acks.push(ack(*seq, result));
        *seq += 1;
    }
    tx.send(acks).await.is_ok()
}

/// Lines of the request body as they arrive, acked in order: one ack per line
/// (`application/vnd.ksqlapi.delimited.v1`), or one JSON array of acks when the client
/// accepts only `application/json`, as ksqlDB's `JsonInsertResponseWriter` does.
pub async fn inserts_stream(State(state): State<AppState>, req: Request) -> Response {
    let json = wants_json_array(req.headers());
    let limit = state.config.max_request_bytes;
    let (tx, rx) = mpsc::channel::<Vec<String>>(64);
    let mut body = req.into_body().into_data_stream();
    tokio::spawn(async move {
        let mut buf: Vec<u8> = Vec::new();
        let mut inserter: Option<Arc<Inserter>> = None;
        let mut seq = 0u64;
        loop {
            let chunk = body.next().await;
            let done = !matches!(chunk, Some(Ok(_)));
            if let Some(Ok(bytes)) = chunk {
                buf.extend_from_slice(&bytes);
            }
            if done && !buf.is_empty() && buf.last() != Some(&b'\n') {
                buf.push(b'\n');
            }
            let mut lines: Vec<Vec<u8>> = Vec::new();
            let mut start = 0;
            while let Some(at) = buf[start..].iter().position(|&b| b == b'\n') {
                let line = buf[start..start + at].trim_ascii();
                if !line.is_empty() {
                    lines.push(line.to_vec());
                }
                start += at + 1;
            }
            buf.drain(..start);
            let mut lines = lines.into_iter().peekable();
            if inserter.is_none() {
                if let Some(first) = lines.next() {
                    match open(&state, &first).await {
                        Ok(i) => inserter = Some(i),
                        Err(e) => {
                            let _ = tx.send(vec![ack(seq, Err(e))]).await;
                            return;
                        }
                    }
                }
            }
            if let Some(inserter) = &inserter {
                while lines.peek().is_some() {
                    let batch: Vec<Vec<u8>> = lines.by_ref().take(BATCH).collect();
                    if !insert_batch(inserter, batch, &mut seq, &tx).await {
                        return;
                    }
                }
            }
            if buf.len() > limit {
                let _ = tx
                    .send(vec![ack(
                        seq,
                        Err((
                            codes::PAYLOAD_TOO_LARGE,
                            format!("A row is longer than {limit} bytes"),
                        )),
                    )])
                    .await;
                return;
            }
            if done {
                return;
            }
        }
    });
    // (receiver, acks sent so far, closed): JSON framing wraps the acks in `[...]`
    let acks =
        futures_util::stream::unfold((rx, 0u64, false), move |(mut rx, n, closed)| async move {
            if closed {
                return None;
            }
            let (piece, sent, closed) = match rx.recv().await {
                Some(batch) if !json => {
                    let sent = batch.len() as u64;
                    (batch.concat(), sent, false)
                }
                Some(batch) => {
                    let mut piece = String::new();
                    for (i, a) in batch.iter().enumerate() {
                        piece.push_str(if n + i as u64 == 0 { "[" } else { "," });
                        piece.push_str(a.trim_end());
                    }
                    (piece, batch.len() as u64, false)
                }
                None if json => ((if n == 0 { "[]" } else { "]" }).to_string(), 0, true),
                None => return None,
            };
            Some((
                Ok::<_, Infallible>(Bytes::from(piece)),
                (rx, n + sent, closed),
            ))
        });
    let content_type = if json { JSON } else { KSQLAPI_DELIMITED };
    (
        [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))],
        axum::body::Body::from_stream(acks),
    )
        .into_response()
}
