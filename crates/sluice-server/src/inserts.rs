//! `POST /inserts-stream`: a first line `{"target": "NAME"}`, then one JSON object
//! per line (column → value). Each row is inserted through the engine as an
//! `INSERT INTO ... VALUES` statement and acknowledged with `{"status":"ok","seq":N}`
//! or `{"status":"error","seq":N,"error_code":...,"message":...}`.

use std::convert::Infallible;

use arrow::datatypes::DataType;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use serde_json::{json, Map, Value};
use sluice_planner::Catalog;
use tokio::sync::mpsc;

use crate::error::{codes, ApiError};
use crate::http::{wants_json_array, JSON, KSQLAPI_DELIMITED};
use crate::ksql::{run_statements, RequestContext};
use crate::state::{with_engine, AppState};

/// `'it''s'`
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// A JSON value as a SQL literal of the column's type.
fn literal(v: &Value, ty: &DataType) -> Result<String, String> {
    Ok(match (v, ty) {
        (Value::Null, _) => "NULL".into(),
        (Value::Bool(b), _) => if *b { "TRUE" } else { "FALSE" }.into(),
        (Value::Number(n), _) => n.to_string(),
        (Value::String(s), _) => quote(s),
        (Value::Array(items), DataType::List(f) | DataType::LargeList(f)) => format!(
            "ARRAY[{}]",
            items
                .iter()
                .map(|i| literal(i, f.data_type()))
                .collect::<Result<Vec<_>, _>>()?
                .join(", ")
        ),
        (Value::Object(m), DataType::Struct(fields)) => {
            let mut parts = Vec::new();
            for (k, val) in m {
                let f = fields
                    .iter()
                    .find(|f| f.name() == k)
                    .or_else(|| fields.iter().find(|f| f.name().eq_ignore_ascii_case(k)))
                    .ok_or_else(|| format!("Unknown struct field: {k}"))?;
                parts.push(format!(
                    "`{}` := {}",
                    f.name(),
                    literal(val, f.data_type())?
                ));
            }
            format!("STRUCT({})", parts.join(", "))
        }
        (Value::Object(m), DataType::Map(entries, _)) => {
            let value_ty = match entries.data_type() {
                DataType::Struct(kv) if kv.len() == 2 => kv[1].data_type().clone(),
                _ => DataType::Utf8,
            };
            let parts = m
                .iter()
                .map(|(k, val)| Ok(format!("{} := {}", quote(k), literal(val, &value_ty)?)))
                .collect::<Result<Vec<_>, String>>()?;
            format!("MAP({})", parts.join(", "))
        }
        (other, ty) => return Err(format!("Cannot convert {other} to {ty}")),
    })
}

/// The `INSERT INTO` statement for one row of the stream.
fn insert_sql(
    engine: &sluice_engine::Engine,
    target: &str,
    row: &Map<String, Value>,
) -> Result<String, String> {
    let def = engine
        .metastore()
        .source(target)
        .ok_or_else(|| format!("Cannot insert values into an unknown stream/table: {target}"))?;
    let (mut cols, mut vals) = (Vec::new(), Vec::new());
    for (k, v) in row {
        let (name, ty) = if k.eq_ignore_ascii_case("ROWTIME") {
            ("ROWTIME".to_string(), DataType::Int64)
        } else {
            let c = def
                .column(k)
                .or_else(|| def.columns.iter().find(|c| c.name.eq_ignore_ascii_case(k)))
                .ok_or_else(|| format!("Unknown column: {k}"))?;
            (c.name.clone(), c.ty.clone())
        };
        cols.push(format!("`{}`", name.replace('`', "``")));
        vals.push(literal(v, &ty)?);
    }
    Ok(format!(
        "INSERT INTO `{}` ({}) VALUES ({});",
        def.name,
        cols.join(", "),
        vals.join(", ")
    ))
}

fn ack(seq: u64, result: Result<(), (u32, String)>) -> String {
    let v = match result {
        Ok(()) => json!({"status": "ok", "seq": seq}),
        Err((code, message)) => {
            json!({"status": "error", "seq": seq, "error_code": code, "message": message})
        }
    };
    format!("{v}\n")
}

/// Insert one line; `target` is set by the first line.
async fn insert_line(
    state: &AppState,
    target: &mut Option<String>,
    line: &str,
) -> Result<(), (u32, String)> {
    let bad = |m: String| (codes::BAD_REQUEST, m);
    let value: Value = serde_json::from_str(line).map_err(|e| bad(format!("Invalid JSON: {e}")))?;
    let Value::Object(row) = value else {
        return Err(bad("Each line must be a JSON object".into()));
    };
    let Some(t) = target.clone() else {
        let t = row
            .get("target")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("The first line must be {\"target\": \"STREAM_NAME\"}".into()))?;
        *target = Some(t.to_string());
        return Ok(());
    };
    if state.headless {
        return Err((
            codes::FORBIDDEN,
            ApiError::Headless {
                statement: String::new(),
            }
            .to_string(),
        ));
    }
    with_engine(state, move |shared, engine| {
        let sql = insert_sql(engine, &t, &row).map_err(ApiError::BadRequest)?;
        run_statements(engine, &sql, &mut RequestContext::default(), shared).map(|_| ())
    })
    .await
    .map_err(|e| {
        let code = e.code();
        (code, e.to_string())
    })
}

/// Lines of the request body as they arrive, acked in order: one ack per line
/// (`application/vnd.ksqlapi.delimited.v1`), or one JSON array of acks when the client
/// accepts only `application/json`, as ksqlDB's `JsonInsertResponseWriter` does.
pub async fn inserts_stream(State(state): State<AppState>, req: Request) -> Response {
    let json = wants_json_array(req.headers());
    let limit = state.config.max_request_bytes;
    let (tx, rx) = mpsc::channel::<String>(64);
    let mut body = req.into_body().into_data_stream();
    tokio::spawn(async move {
        let mut buf: Vec<u8> = Vec::new();
        let mut target = None;
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
            while let Some(at) = buf.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = buf.drain(..=at).collect();
                let line = String::from_utf8_lossy(&line).trim().to_string();
                if line.is_empty() {
                    continue;
                }
                let first = target.is_none();
                let result = insert_line(&state, &mut target, &line).await;
                if first && result.is_ok() {
                    continue;
                }
                let failed_target = first && result.is_err();
                if tx.send(ack(seq, result)).await.is_err() {
                    return;
                }
                seq += 1;
                if failed_target {
                    return;
                }
            }
            if buf.len() > limit {
                let _ = tx
                    .send(ack(
                        seq,
                        Err((
                            codes::PAYLOAD_TOO_LARGE,
                            format!("A row is longer than {limit} bytes"),
                        )),
                    ))
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
            let (piece, closed) = match rx.recv().await {
                Some(ack) if !json => (ack, false),
                Some(ack) => {
                    let sep = if n == 0 { "[" } else { "," };
                    (format!("{sep}{}", ack.trim_end()), false)
                }
                None if json => ((if n == 0 { "[]" } else { "]" }).to_string(), true),
                None => return None,
            };
            Some((Ok::<_, Infallible>(Bytes::from(piece)), (rx, n + 1, closed)))
        });
    let content_type = if json { JSON } else { KSQLAPI_DELIMITED };
    (
        [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))],
        axum::body::Body::from_stream(acks),
    )
        .into_response()
}
