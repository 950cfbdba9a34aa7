//! Queries over real HTTP: /query, /query-stream (HTTP/1.1 and HTTP/2), pull
//! queries, /inserts-stream, /close-query and the websocket endpoint.

mod common;

use std::time::Duration;

use common::{start, TestServer, CREATE_S};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};

const EARLIEST: &str = r#"{"auto.offset.reset": "earliest"}"#;

async fn with_rows(s: &TestServer) {
    let (status, _) = s.ksql(CREATE_S).await;
    assert_eq!(status, 200);
    let (status, _) = s
        .ksql("INSERT INTO S (K, ID, NAME) VALUES ('a', 1, 'x');")
        .await;
    assert_eq!(status, 200);
    let (status, text) = s
        .post(
            "/inserts-stream",
            "{\"target\": \"S\"}\n{\"K\": \"b\", \"ID\": 2, \"NAME\": \"y\"}\n{\"k\": \"c\", \"id\": 3}\n{\"ID\": \"three\"}\n{\"NOPE\": 1}\n",
        )
        .await;
    assert_eq!(status, 200);
    let acks: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(acks[0], json!({"status": "ok", "seq": 0}));
    assert_eq!(acks[1], json!({"status": "ok", "seq": 1}));
    assert_eq!(acks[2]["status"], "error");
    assert_eq!(acks[3]["status"], "error");
    assert_eq!(acks[3]["seq"], 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_query_with_limit_over_query() {
    let s = start().await;
    with_rows(&s).await;
    let body = format!(
        r#"{{"ksql": "SELECT * FROM S EMIT CHANGES LIMIT 2;", "streamsProperties": {EARLIEST}}}"#
    );
    let (status, text) = s.post("/query", &body).await;
    assert_eq!(status, 200, "{text}");
    let v: Value = serde_json::from_str(&text).expect("one JSON array");
    assert_eq!(
        v[0]["header"]["schema"],
        "`K` STRING, `ID` INTEGER, `NAME` STRING"
    );
    assert_eq!(v[1], json!({"row": {"columns": ["a", 1, "x"]}}));
    assert_eq!(v[2], json!({"row": {"columns": ["b", 2, "y"]}}));
    assert_eq!(v[3], json!({"finalMessage": "Limit Reached"}));
    assert_eq!(v.as_array().unwrap().len(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_query_over_query_stream_http1_and_http2() {
    let s = start().await;
    with_rows(&s).await;
    let body = format!(
        r#"{{"sql": "SELECT ID, NAME FROM S EMIT CHANGES LIMIT 3;", "properties": {EARLIEST}}}"#
    );
    let (status, text) = s.post("/query-stream", &body).await;
    assert_eq!(status, 200, "{text}");
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["columnNames"], json!(["ID", "NAME"]));
    assert_eq!(lines[0]["columnTypes"], json!(["INTEGER", "STRING"]));
    assert!(lines[0]["queryId"].is_string());
    assert_eq!(
        &lines[1..],
        &[json!([1, "x"]), json!([2, "y"]), json!([3, null])]
    );

    let h2 = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let resp = h2
        .post(format!("{}/query-stream", s.url))
        .header("Accept", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.version(), reqwest::Version::HTTP_2);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v[0]["columnNames"], json!(["ID", "NAME"]));
    assert_eq!(v[3], json!([3, null]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_query_sees_rows_inserted_after_it_started() {
    let s = start().await;
    s.ksql(CREATE_S).await;
    let client = s.client.clone();
    let url = s.url.clone();
    let query = tokio::spawn(async move {
        client
            .post(format!("{url}/query-stream"))
            .body(r#"{"sql": "SELECT NAME FROM S EMIT CHANGES LIMIT 1;"}"#)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    s.ksql("INSERT INTO S (K, ID, NAME) VALUES ('z', 9, 'late');")
        .await;
    let text = tokio::time::timeout(Duration::from_secs(20), query)
        .await
        .expect("query finished")
        .unwrap();
    assert_eq!(text.lines().nth(1), Some(r#"["late"]"#), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pull_query_over_a_table() {
    let s = start().await;
    s.ksql("CREATE TABLE T_IN (ID INT PRIMARY KEY, V STRING) WITH (kafka_topic='t', value_format='JSON', partitions=1); CREATE TABLE T AS SELECT * FROM T_IN;")
        .await;
    s.ksql(
        "INSERT INTO T_IN (ID, V) VALUES (1, 'one'); INSERT INTO T_IN (ID, V) VALUES (2, 'two');",
    )
    .await;
    // the table's query runs on its own: a pull query sees its rows soon
    let mut tries = 0;
    let (status, text) = loop {
        let (status, text) = s
            .post("/query", r#"{"ksql": "SELECT * FROM T WHERE ID = 2;"}"#)
            .await;
        tries += 1;
        if status != 200 || text.contains("two") || tries > 100 {
            break (status, text);
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(status, 200, "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    // as ksqlDB: a pull query's header marks the table's key columns
    assert_eq!(v[0]["header"]["schema"], "`ID` INTEGER KEY, `V` STRING");
    assert_eq!(v[1], json!({"row": {"columns": [2, "two"]}}));
    assert_eq!(v.as_array().unwrap().len(), 2);

    let (status, text) = s
        .post("/query-stream", r#"{"sql": "SELECT V FROM T;"}"#)
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        text.lines().skip(1).collect::<Vec<_>>(),
        ["[\"one\"]", "[\"two\"]"]
    );

    let (status, text) = s.post("/query", r#"{"ksql": "SELECT * FROM NOPE;"}"#).await;
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!((status, v["error_code"].clone()), (400, json!(40001)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_query_ends_an_open_push_query() {
    let s = start().await;
    with_rows(&s).await;
    let mut resp = s
        .client
        .post(format!("{}/query-stream", s.url))
        .body(format!(
            r#"{{"sql": "SELECT * FROM S EMIT CHANGES;", "properties": {EARLIEST}}}"#
        ))
        .send()
        .await
        .unwrap();
    let first = resp.chunk().await.unwrap().unwrap();
    let header: Value =
        serde_json::from_slice(first.split(|b| *b == b'\n').next().unwrap()).unwrap();
    let id = header["queryId"].as_str().unwrap().to_string();
    let (status, _) = s
        .post("/close-query", &json!({ "queryId": id }).to_string())
        .await;
    assert_eq!(status, 200);
    // the response ends
    let rest = tokio::time::timeout(Duration::from_secs(10), async {
        while resp.chunk().await.unwrap().is_some() {}
    })
    .await;
    assert!(rest.is_ok(), "the stream did not end");

    // a client that goes away ends its query too
    let mut resp = s
        .client
        .post(format!("{}/query-stream", s.url))
        .body(r#"{"sql": "SELECT * FROM S EMIT CHANGES;"}"#)
        .send()
        .await
        .unwrap();
    let first = resp.chunk().await.unwrap().unwrap();
    let header: Value =
        serde_json::from_slice(first.split(|b| *b == b'\n').next().unwrap()).unwrap();
    drop(resp);
    let close = json!({ "queryId": header["queryId"] }).to_string();
    let mut gone = false;
    for _ in 0..100 {
        if s.post("/close-query", &close).await.0 == 400 {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(gone, "the query outlived its client");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_query_streams_rows() {
    let s = start().await;
    with_rows(&s).await;
    let request = json!({"ksql": "SELECT ID FROM S EMIT CHANGES LIMIT 2;",
                         "streamsProperties": {"auto.offset.reset": "earliest"}})
    .to_string();
    let mut url = reqwest::Url::parse(&format!("{}/ws/query", s.url)).unwrap();
    url.query_pairs_mut().append_pair("request", &request);
    let ws_url = url.as_str().replacen("http://", "ws://", 1);
    let (mut ws, _) = tokio_tungstenite::connect_async(ws_url).await.unwrap();
    let mut texts = Vec::new();
    let mut close_reason = None;
    while let Some(msg) = ws.next().await {
        match msg.unwrap() {
            tokio_tungstenite::tungstenite::Message::Text(t) => texts.push(t.to_string()),
            tokio_tungstenite::tungstenite::Message::Close(frame) => {
                close_reason = frame.map(|f| f.reason.to_string());
                break;
            }
            _ => {}
        }
    }
    let _ = ws.close(None).await;
    let schema: Value = serde_json::from_str(&texts[0]).unwrap();
    assert_eq!(schema[0]["name"], "ID");
    assert_eq!(schema[0]["schema"]["type"], "INTEGER");
    assert_eq!(texts[1], r#"{"row":{"columns":[1]}}"#);
    assert_eq!(texts[2], r#"{"row":{"columns":[2]}}"#);
    assert_eq!(close_reason.as_deref(), Some("Limit Reached"));
    let _ = ws
        .send(tokio_tungstenite::tungstenite::Message::Close(None))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inserts_stream_answers_a_json_array_to_json_clients() {
    let s = start().await;
    let (status, _) = s.ksql(CREATE_S).await;
    assert_eq!(status, 200);
    let h2 = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let send = |body: &'static str| {
        h2.post(format!("{}/inserts-stream", s.url))
            .header("Accept", "application/json")
            .header("Content-Type", "application/json")
            .body(body)
            .send()
    };
    let resp = send("{\"target\": \"S\"}\n{\"K\": \"b\", \"ID\": 2}\n{\"ID\": \"two\"}\n")
        .await
        .unwrap();
    assert_eq!(resp.headers()["content-type"], "application/json");
    let v: Value = resp.json().await.expect("one JSON array");
    assert_eq!(v[0], json!({"status": "ok", "seq": 0}));
    assert_eq!(
        (v[1]["status"].clone(), v[1]["seq"].clone()),
        (json!("error"), json!(1))
    );
    assert_eq!(v.as_array().unwrap().len(), 2);
    // nothing to insert: still a JSON array
    let v: Value = send("{\"target\": \"S\"}\n")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v, json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn print_streams_a_topic_over_query() {
    let s = start().await;
    s.ksql("CREATE STREAM P (K STRING KEY, V INT) WITH (kafka_topic='p_topic', value_format='JSON', partitions=1);")
        .await;
    s.ksql("INSERT INTO P (ROWTIME, K, V) VALUES (0, 'a', 1); INSERT INTO P (ROWTIME, K, V) VALUES (0, 'b', 2);")
        .await;
    let (status, text) = s
        .post(
            "/query",
            r#"{"ksql": "PRINT 'p_topic' FROM BEGINNING LIMIT 2;"}"#,
        )
        .await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(
        text,
        "Key format: KAFKA_STRING\nValue format: JSON or KAFKA_STRING\n\
         rowtime: 1970/01/01 00:00:00.000 Z, key: a, value: {\"V\":1}, partition: 0\n\
         rowtime: 1970/01/01 00:00:00.000 Z, key: b, value: {\"V\":2}, partition: 0\n"
    );
    let (status, text) = s
        .post("/query", r#"{"ksql": "PRINT 'missing' FROM BEGINNING;"}"#)
        .await;
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("Could not find topic 'missing'"), "{text}");
}
