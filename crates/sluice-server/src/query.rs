//! Queries: `POST /query` (ksqlDB's v1 streaming JSON array), `POST /query-stream`
//! (delimited rows or a JSON array, HTTP/1.1 or HTTP/2), `GET /ws/query` (websocket)
//! and `POST /close-query`.
//!
//! A pull query runs at once and its rows are the whole response. A push query gets a
//! thread that polls it and sends its rows down a channel the response body reads;
//! the thread stops at LIMIT, when the client goes away (the channel closes) or when
//! `/close-query` sets its cancel flag.

use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use arrow::datatypes::SchemaRef;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use sluice_engine::{PushQuery, QueryStart, StatementKind};
use tokio::sync::mpsc;

use crate::error::{codes, ApiError};
use crate::http::{
    parse_json, v1_content_type, wants_json_array, wants_protobuf, Body, JSON, KSQLAPI_DELIMITED,
    KSQL_V1_PROTOBUF,
};
use crate::ksql::RequestContext;
use crate::schema::{column_names, column_types, header_schema, rows};
use crate::state::{now_ms, with_engine, AppState};

/// How long a push query's thread waits when a poll found no new rows.
const IDLE_WAIT: Duration = Duration::from_millis(20);

/// What a running query sends its response.
#[derive(Debug)]
pub enum Event {
    Row(Value),
    /// A table row deleting its key.
    Tombstone(Value),
    /// The query finished by itself (LIMIT).
    Done(&'static str),
    Error(String),
}

/// A query that started: its id, columns and rows (a channel for push queries).
pub struct Started {
    pub id: String,
    pub schema: SchemaRef,
    /// Columns the header marks `KEY` (a pull query's key columns).
    pub keys: Vec<String>,
    /// Header columns the header marks `HEADER('k')`/`HEADERS` (see
    /// `PullRows::headers`).
    pub headers: Vec<(String, Option<String>)>,
    pub rows: Rows,
    /// How a pull query's v1 response ends (`finalMessage`), as ksqlDB's does for
    /// pull queries on streams.
    pub done: Option<&'static str>,
}

pub enum Rows {
    Pull(Vec<Value>),
    Push(mpsc::Receiver<Event>),
}

/// The `/query` (v1) request.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryRequest {
    pub ksql: String,
    #[serde(default)]
    pub streams_properties: Map<String, Value>,
    #[serde(default)]
    pub session_variables: Map<String, Value>,
}

/// The `/query-stream` request.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryStreamRequest {
    pub sql: String,
    #[serde(default)]
    pub properties: Map<String, Value>,
    #[serde(default)]
    pub session_variables: Map<String, Value>,
}

/// Start one SELECT: pull queries run to completion, push queries get a thread.
pub async fn start(
    state: &AppState,
    sql: String,
    mut ctx: RequestContext,
) -> Result<Started, ApiError> {
    let started = with_engine(state, move |_, engine| {
        let mut parsed = ctx
            .session
            .prepare(&sql)
            .map_err(|e| ApiError::statement(e, &sql, vec![]))?;
        let stmt = match (parsed.pop(), parsed.is_empty()) {
            (Some(stmt), true) => stmt,
            _ => {
                return Err(ApiError::BadRequest(
                    "Expected exactly one SELECT statement".into(),
                ))
            }
        };
        if !matches!(
            stmt.kind(),
            StatementKind::PushQuery | StatementKind::PullQuery
        ) {
            return Err(ApiError::Statement {
                message:
                    "Only SELECT statements can be run as queries; use /ksql for other statements"
                        .into(),
                statement: stmt.shown_text().trim().to_string(),
                entities: vec![],
            });
        }
        engine
            .start_query(&mut ctx.session, &stmt)
            .map_err(|e| ApiError::statement(e, &stmt.shown_text(), vec![]))
    })
    .await?;
    Ok(match started {
        QueryStart::Pull(pull) => Started {
            id: format!("query_{}", now_ms()),
            rows: Rows::Pull(pull.batches.iter().flat_map(rows).collect()),
            schema: pull.schema,
            keys: pull.keys,
            headers: pull.headers,
            done: pull.final_message,
        },
        QueryStart::Push(push) => {
            let id = if push.scalable {
                format!("SCALABLE_PUSH_QUERY_{}", push.id)
            } else {
                push.id.clone()
            };
            spawn_push(state.clone(), *push, id)
        }
    })
}

fn spawn_push(state: AppState, push: PushQuery, id: String) -> Started {
    let (tx, rx) = mpsc::channel(256);
    let cancel = state.register_push(&id);
    let started = Started {
        id: id.clone(),
        schema: push.schema.clone(),
        keys: Vec::new(),
        headers: Vec::new(),
        rows: Rows::Push(rx),
        done: None,
    };
    std::thread::spawn(move || pump(state, push, id, tx, cancel));
    started
}

/// The push query's thread: poll, send rows, stop at LIMIT, cancel or disconnect.
fn pump(
    state: AppState,
    mut push: PushQuery,
    id: String,
    tx: mpsc::Sender<Event>,
    cancel: Arc<AtomicBool>,
) {
    // on stream threads the persistent queries run by themselves: the push
    // query polls its own task without taking the engine
    let inline = state.engine().is_ok_and(|e| e.runs_inline());
    'poll: while !cancel.load(Ordering::SeqCst)
        && !tx.is_closed()
        && !state.stopping.load(Ordering::SeqCst)
    {
        let polled = if inline {
            match state.engine() {
                Ok(mut engine) => engine
                    .poll_push_query_flagged(&mut push)
                    .map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            }
        } else {
            push.poll().map_err(|e| e.to_string())
        };
        let batches = match polled {
            Ok(b) => b,
            Err(e) => {
                let _ = tx.blocking_send(Event::Error(e));
                break;
            }
        };
        let mut sent = 0;
        for (batch, tombstones) in &batches {
            for (row, tombstone) in rows(batch).into_iter().zip(tombstones) {
                let event = if *tombstone {
                    Event::Tombstone(row)
                } else {
                    Event::Row(row)
                };
                if tx.blocking_send(event).is_err() {
                    break 'poll;
                }
                sent += 1;
            }
        }
        if push.is_done() {
            let _ = tx.blocking_send(Event::Done("Limit Reached"));
            break;
        }
        if sent == 0 {
            std::thread::sleep(IDLE_WAIT);
        }
    }
    state.unregister_push(&id);
}

fn error_json(message: &str) -> Value {
    json!({"@type": "generic_error", "error_code": codes::SERVER_ERROR, "message": message})
}

/// A streamed body: `head`, then one rendered piece per event, then `tail`.
fn stream_body(
    head: String,
    rows: Rows,
    done: Option<&'static str>,
    render: impl Fn(Event) -> String + Send + 'static,
    tail: &'static str,
) -> axum::body::Body {
    let events: futures_util::stream::BoxStream<'static, Event> =
        match rows {
            Rows::Pull(all) => futures_util::stream::iter(
                all.into_iter().map(Event::Row).chain(done.map(Event::Done)),
            )
            .boxed(),
            Rows::Push(rx) => futures_util::stream::unfold(rx, |mut rx| async move {
                rx.recv().await.map(|ev| (ev, rx))
            })
            .boxed(),
        };
    let pieces = futures_util::stream::once(async move { head })
        .chain(events.map(render))
        .chain(futures_util::stream::once(async move { tail.to_string() }))
        .map(|s| Ok::<_, Infallible>(Bytes::from(s)));
    axum::body::Body::from_stream(pieces)
}

fn streaming(content_type: &'static str, body: axum::body::Body) -> Response {
    (
        [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))],
        body,
    )
        .into_response()
}

/// `POST /query`: `[{"header":...},{"row":...},...,{"finalMessage":...}]`.
pub async fn query(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let req: QueryRequest = match parse_json(&body.0) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    if crate::print::is_print(&req.ksql) {
        return crate::print::stream(&state, req.ksql).await;
    }
    let ctx = RequestContext::new(&req.streams_properties, &req.session_variables);
    let s = match start(&state, req.ksql, ctx).await {
        Ok(s) => s,
        Err(e) => return e.into_response(),
    };
    let head = json!({"header": {"queryId": s.id, "schema": header_schema(&s.schema, &s.keys, &s.headers)}});
    let render = |ev| {
        let v = match ev {
            Event::Row(columns) => json!({"row": {"columns": columns}}),
            Event::Tombstone(columns) => json!({"row": {"columns": columns, "tombstone": true}}),
            Event::Done(msg) => json!({"finalMessage": msg}),
            Event::Error(m) => json!({"errorMessage": error_json(&m)}),
        };
        format!(",\n{v}")
    };
    let body = stream_body(format!("[{head}"), s.rows, s.done, render, "]\n");
    streaming(v1_content_type(&headers), body)
}

/// `POST /query-stream`: a header object then one array per row, delimited by
/// newlines, or all in one JSON array when the client accepts `application/json`.
pub async fn query_stream(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let started = async {
        let req: QueryStreamRequest = parse_json(&body.0)?;
        let ctx = RequestContext::new(&req.properties, &req.session_variables);
        start(&state, req.sql, ctx).await
    }
    .await;
    let s = match started {
        Ok(s) => s,
        Err(e) => return e.into_response(),
    };
    if wants_protobuf(&headers) {
        return protobuf_rows(s);
    }
    let head = json!({
        "queryId": s.id,
        "columnNames": column_names(&s.schema),
        "columnTypes": column_types(&s.schema),
    });
    let piece = |ev| match ev {
        Event::Row(columns) | Event::Tombstone(columns) => Some(columns),
        Event::Done(_) => None,
        Event::Error(m) => Some(error_json(&m)),
    };
    if wants_json_array(&headers) {
        let render = move |ev| piece(ev).map(|v| format!(",\n{v}")).unwrap_or_default();
        streaming(
            JSON,
            stream_body(format!("[{head}"), s.rows, s.done, render, "]\n"),
        )
    } else {
        let render = move |ev| piece(ev).map(|v| format!("{v}\n")).unwrap_or_default();
        streaming(
            KSQLAPI_DELIMITED,
            stream_body(format!("{head}\n"), s.rows, s.done, render, ""),
        )
    }
}

/// `/query-stream` for a client accepting `application/vnd.ksql.v1+protobuf`
/// (ksqlDB's `RowFormat.PROTOBUF`): `/query`'s JSON array, its header with
/// the `protoSchema` ksqlDB generates for the columns (`ConnectDefault1`),
/// each row's columns as that message's bytes (`protobufBytes`, base64).
fn protobuf_rows(s: Started) -> Response {
    let proto = match sluice_formats::protobuf_schema_text(&s.schema) {
        Ok(text) => text,
        Err(e) => return ApiError::BadRequest(e.to_string()).into_response(),
    };
    let head = json!({"header": {
        "queryId": s.id,
        "schema": header_schema(&s.schema, &s.keys, &s.headers),
        "protoSchema": proto,
    }});
    let schema = s.schema.clone();
    let render = move |ev| {
        let v = match ev {
            Event::Row(columns) | Event::Tombstone(columns) => {
                match protobuf_bytes(&schema, columns) {
                    Ok(bytes) => json!({"row": {"protobufBytes": bytes}}),
                    Err(e) => json!({"errorMessage": error_json(&e)}),
                }
            }
            Event::Done(msg) => json!({"finalMessage": msg}),
            Event::Error(m) => json!({"errorMessage": error_json(&m)}),
        };
        format!(",\n{v}")
    };
    let body = stream_body(format!("[{head}"), s.rows, s.done, render, "]\n");
    streaming(KSQL_V1_PROTOBUF, body)
}

/// A row's columns (a JSON array in schema order) as the PROTOBUF_NOSR bytes
/// of the columns' message, base64.
fn protobuf_bytes(schema: &SchemaRef, columns: Value) -> Result<String, String> {
    use base64::Engine as _;
    let Value::Array(values) = columns else {
        return Err(format!("a row that is not a list of columns: {columns}"));
    };
    let object: Map<String, Value> = schema
        .fields()
        .iter()
        .zip(values)
        .map(|(f, mut v)| {
            java_map_order(&mut v, f.data_type());
            (f.name().clone(), v)
        })
        .collect();
    let bytes = sluice_formats::json_to_bytes(
        sluice_formats::FormatKind::ProtobufNoSr,
        schema,
        &sluice_formats::FormatOptions::default(),
        false,
        &Value::Object(object),
    )
    .map_err(|e| e.to_string())?;
    Ok(base64::engine::general_purpose::STANDARD.encode(bytes.unwrap_or_default()))
}

/// A MAP's entries in the order ksqlDB's rows hold them: a Java `HashMap`'s
/// iteration order (by bucket of `String.hashCode`, insertion order within a
/// bucket), which the protobuf bytes of a row keep (nested maps too).
fn java_map_order(value: &mut Value, data_type: &arrow::datatypes::DataType) {
    use arrow::datatypes::DataType;
    match (value, data_type) {
        (Value::Object(entries), DataType::Map(entry, _)) => {
            let value_type = match entry.data_type() {
                DataType::Struct(fields) if fields.len() == 2 => {
                    Some(fields[1].data_type().clone())
                }
                _ => None,
            };
            let mut capacity = 16usize;
            while entries.len() * 4 > capacity * 3 {
                capacity *= 2;
            }
            let bucket = |key: &str| {
                let h = key
                    .encode_utf16()
                    .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(c as i32))
                    as u32;
                ((h ^ (h >> 16)) as usize) & (capacity - 1)
            };
            let mut ordered: Vec<(String, Value)> = std::mem::take(entries).into_iter().collect();
            // a stable sort keeps insertion order within a bucket
            ordered.sort_by_key(|(k, _)| bucket(k));
            for (k, mut v) in ordered {
                if let Some(t) = &value_type {
                    java_map_order(&mut v, t);
                }
                entries.insert(k, v);
            }
        }
        (Value::Object(fields), DataType::Struct(types)) => {
            for t in types {
                if let Some(v) = fields.get_mut(t.name()) {
                    java_map_order(v, t.data_type());
                }
            }
        }
        (Value::Array(items), DataType::List(element)) => {
            for v in items {
                java_map_order(v, element.data_type());
            }
        }
        _ => {}
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CloseQuery {
    query_id: String,
}

/// `POST /close-query`: stop an open push query.
pub async fn close_query(State(state): State<AppState>, body: Body) -> Result<Response, ApiError> {
    let req: CloseQuery = parse_json(&body.0)?;
    if state.close_push(&req.query_id) {
        Ok(().into_response())
    } else {
        Err(ApiError::BadRequest(format!(
            "No query with id {}",
            req.query_id
        )))
    }
}
