//! `GET /ws/query?request={"ksql": ..., "streamsProperties": {...}}`: ksqlDB's
//! websocket endpoint. The first message is the columns (`[{"name","schema"}]`), then
//! one `{"row":{"columns":[...]}}` per row; the server closes with 1000 when the
//! query ends (reason `Limit Reached` at LIMIT) and with 1011 on an error.

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::ksql::RequestContext;
use crate::query::{start, Event, QueryRequest, Rows};
use crate::schema::schema_info;
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub struct WsParams {
    request: String,
}

pub async fn ws_query(
    State(state): State<AppState>,
    Query(params): Query<WsParams>,
    ws: WebSocketUpgrade,
) -> Response {
    let req: QueryRequest = match serde_json::from_str(&params.request) {
        Ok(r) => r,
        Err(e) => {
            return ApiError::BadRequest(format!("Invalid JSON in request: {e}")).into_response()
        }
    };
    ws.on_upgrade(move |socket| run(state, req, socket))
}

async fn close(socket: &mut WebSocket, code: u16, reason: &str) {
    // a close reason must fit in a control frame
    let mut reason = reason.to_string();
    while reason.len() > 120 {
        reason.pop();
    }
    let _ = socket
        .send(Message::Close(Some(CloseFrame {
            code,
            reason: reason.into(),
        })))
        .await;
}

async fn send(socket: &mut WebSocket, v: Value) -> bool {
    socket
        .send(Message::Text(v.to_string().into()))
        .await
        .is_ok()
}

async fn run(state: AppState, req: QueryRequest, mut socket: WebSocket) {
    let ctx = RequestContext::new(&req.streams_properties, &req.session_variables);
    let started = match start(&state, req.ksql, ctx).await {
        Ok(s) => s,
        Err(e) => return close(&mut socket, 1011, &e.to_string()).await,
    };
    let columns: Vec<Value> = started
        .schema
        .fields()
        .iter()
        .map(|f| json!({"name": f.name(), "schema": schema_info(f.data_type())}))
        .collect();
    if !send(&mut socket, Value::Array(columns)).await {
        return;
    }
    match started.rows {
        Rows::Pull(all) => {
            for row in all {
                if !send(&mut socket, json!({"row": {"columns": row}})).await {
                    return;
                }
            }
            close(&mut socket, 1000, "").await;
        }
        Rows::Push(mut rx) => loop {
            tokio::select! {
                ev = rx.recv() => match ev {
                    Some(Event::Row(row)) => {
                        if !send(&mut socket, json!({"row": {"columns": row}})).await {
                            return;
                        }
                    }
                    Some(Event::Tombstone(row)) => {
                        let message = json!({"row": {"columns": row, "tombstone": true}});
                        if !send(&mut socket, message).await {
                            return;
                        }
                    }
                    Some(Event::Done(msg)) => return close(&mut socket, 1000, msg).await,
                    Some(Event::Error(m)) => return close(&mut socket, 1011, &m).await,
                    None => return close(&mut socket, 1000, "Query closed").await,
                },
                msg = socket.recv() => match msg {
                    // the client closed or went away: dropping rx stops the query
                    None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                    Some(Ok(_)) => {}
                },
            }
        },
    }
}
