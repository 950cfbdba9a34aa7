//! The REST API over real HTTP: statements, queries, inserts and error shapes.

mod common;

use common::{start, start_with, CREATE_S};
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ksql_statements_answer_ksqldb_entities() {
    let s = start().await;
    let (status, body) = s.ksql(CREATE_S).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body[0]["@type"], "currentStatus");
    assert_eq!(body[0]["commandId"], "stream/`S`/create");
    assert_eq!(body[0]["commandStatus"]["status"], "SUCCESS");
    assert_eq!(body[0]["commandStatus"]["message"], "Stream created");
    assert_eq!(body[0]["statementText"], CREATE_S);

    // INSERT VALUES answers no entity, as in ksqlDB
    let (status, body) = s
        .ksql("INSERT INTO S (K, ID, NAME) VALUES ('a', 1, 'x');")
        .await;
    assert_eq!((status, body), (200, json!([])));

    let (_, body) = s
        .ksql("SHOW STREAMS; LIST TOPICS; DESCRIBE S; SHOW FUNCTIONS;")
        .await;
    // the processing log's stream and topic are there too, as in ksqlDB
    let named = |list: &Value, name: &str| {
        list.as_array()
            .and_then(|l| l.iter().find(|e| e["name"] == name))
            .cloned()
            .unwrap_or_else(|| panic!("{name} in {list}"))
    };
    assert_eq!(
        named(&body[0]["streams"], "S"),
        json!({"type": "STREAM", "name": "S", "topic": "s", "keyFormat": "KAFKA",
               "valueFormat": "JSON", "isWindowed": false})
    );
    named(&body[0]["streams"], "KSQL_PROCESSING_LOG");
    assert_eq!(body[1]["@type"], "kafka_topics");
    named(&body[1]["topics"], "s");
    named(&body[1]["topics"], "default_ksql_processing_log");
    assert_eq!(body[2]["@type"], "sourceDescription");
    let fields = &body[2]["sourceDescription"]["fields"];
    assert_eq!(fields[0]["name"], "K");
    assert_eq!(fields[0]["type"], "KEY");
    assert_eq!(fields[1]["schema"]["type"], "INTEGER");
    assert_eq!(body[3]["@type"], "function_names");

    let (_, body) = s
        .ksql("CREATE STREAM S2 AS SELECT * FROM S WHERE ID > 1; SHOW QUERIES;")
        .await;
    let query_id = body[0]["commandStatus"]["queryId"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(body[1]["queries"][0]["id"], query_id.as_str());
    assert_eq!(body[1]["queries"][0]["sinks"], json!(["S2"]));
    let (_, body) = s.ksql(&format!("EXPLAIN {query_id};")).await;
    assert_eq!(body[0]["@type"], "queryDescription");
    // the structured plan: each step with its SQL, linked to its input
    let d = &body[0]["queryDescription"];
    let graph = d["graph"].as_array().expect("graph");
    let kinds: Vec<&str> = graph.iter().filter_map(|n| n["kind"].as_str()).collect();
    assert_eq!(kinds, ["SOURCE", "FILTER", "PROJECT", "SINK"], "{d}");
    assert_eq!(graph[1]["sql"], "WHERE (ID > 1)");
    assert_eq!(graph[1]["inputs"], json!([0]));
    assert_eq!(graph[3]["inputs"], json!([2]));
    let plan = d["executionPlan"].as_str().unwrap();
    assert!(
        plan.starts_with(" > [ SINK ] | S2: stream over topic S2"),
        "{plan}"
    );
    assert!(
        plan.contains("\t\t\t\t\t\t > [ SOURCE ] | S: stream over topic s | FROM S"),
        "{plan}"
    );
    assert!(d["metrics"]["recordsIn"].is_u64(), "{d}");
    assert!(d["metrics"]["lag"].is_i64(), "{d}");
    // LIST STREAMS EXTENDED describes every stream, as ksqlDB's does
    let (_, body) = s.ksql("SHOW STREAMS EXTENDED;").await;
    assert_eq!(body[0]["@type"], "source_descriptions", "{body}");
    named(&body[0]["sourceDescriptions"], "S2");
    let (_, body) = s.ksql(&format!("TERMINATE {query_id};")).await;
    assert_eq!(body[0]["@type"], "currentStatus");

    let (status, body) = s.get("/status").await;
    assert_eq!(status, 200);
    assert_eq!(body["commandStatuses"]["stream/`S`/create"], "SUCCESS");
    let (status, body) = s.get("/status/stream/S/create").await;
    assert_eq!((status, body["status"].clone()), (200, json!("SUCCESS")));

    // the settings nobody set are listed with their defaults, and named so
    let (_, body) = s.ksql("SHOW PROPERTIES;").await;
    assert_eq!(body[0]["@type"], "properties", "{body}");
    let defaults = body[0]["defaultProperties"].as_array().expect("defaults");
    assert!(
        defaults.contains(&json!("ksql.query.retry.backoff.max.ms")),
        "{body}"
    );
    assert_eq!(
        named(&body[0]["properties"], "ksql.query.retry.backoff.max.ms")["value"],
        "900000"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_shapes() {
    let s = start_with(|c| c.max_request_bytes = 4096).await;

    let (status, body) = s.ksql("CREATE STREAM BROKEN (;").await;
    assert_eq!(status, 400);
    assert_eq!(body["@type"], "statement_error");
    assert_eq!(body["error_code"], 40001);
    assert_eq!(body["statementText"], "CREATE STREAM BROKEN (;");
    assert_eq!(body["entities"], json!([]));

    // the entities of the statements that ran before the failing one
    let (_, body) = s.ksql(&format!("{CREATE_S} DROP STREAM NOPE;")).await;
    assert_eq!(body["error_code"], 40001);
    assert_eq!(body["entities"][0]["@type"], "currentStatus");

    let (status, body) = s.ksql("SELECT * FROM S EMIT CHANGES;").await;
    assert_eq!((status, body["error_code"].clone()), (400, json!(40002)));

    let (status, text) = s.post("/ksql", "{\"ksql\": ").await;
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(status, 400);
    assert_eq!(body["@type"], "generic_error");
    assert_eq!(body["error_code"], 40000);

    let (status, text) = s.post("/ksql", "{\"nope\": 1}").await;
    assert_eq!(status, 400, "{text}");

    let (status, body) = s.get("/no/such/endpoint").await;
    assert_eq!((status, body["error_code"].clone()), (404, json!(40400)));

    let big = json!({"ksql": "x".repeat(10_000)}).to_string();
    let (status, text) = s.post("/ksql", &big).await;
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(status, 413);
    assert_eq!(body["error_code"], 41300);

    let (status, text) = s
        .post("/close-query", "{\"queryId\": \"transient_404\"}")
        .await;
    assert_eq!(status, 400, "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn info_healthcheck_cluster_status() {
    let s = start_with(|c| c.service_id = "svc_".into()).await;
    let (status, body) = s.get("/info").await;
    assert_eq!(status, 200);
    assert_eq!(body["KsqlServerInfo"]["ksqlServiceId"], "svc_");
    assert_eq!(body["KsqlServerInfo"]["serverStatus"], "RUNNING");
    let (_, body) = s.get("/healthcheck").await;
    assert_eq!(body["isHealthy"], true);
    let (status, body) = s.get("/clusterStatus").await;
    assert_eq!(status, 200);
    assert!(body["clusterStatus"].is_object());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basic_auth_guards_every_endpoint() {
    let dir = tempfile::tempdir().unwrap();
    let users = dir.path().join("users");
    std::fs::write(&users, "# users\nalice: secret,admin\n").unwrap();
    let s = start_with(|c| c.users_file = Some(users)).await;

    let (status, body) = s.ksql("SHOW STREAMS;").await;
    assert_eq!((status, body["error_code"].clone()), (401, json!(40100)));
    let (status, _) = s.get("/info").await;
    assert_eq!(status, 401);

    let ask = |user: &str, password: &str| {
        s.client
            .post(format!("{}/ksql", s.url))
            .basic_auth(user, Some(password))
            .body(r#"{"ksql": "SHOW STREAMS;"}"#)
            .send()
    };
    assert_eq!(ask("alice", "wrong").await.unwrap().status().as_u16(), 401);
    assert_eq!(ask("bob", "secret").await.unwrap().status().as_u16(), 401);
    assert_eq!(ask("alice", "secret").await.unwrap().status().as_u16(), 200);

    // the console too, with the challenge that makes a browser ask
    let page = s.client.get(format!("{}/", s.url)).send().await.unwrap();
    assert_eq!(page.status(), 401);
    assert_eq!(page.headers()["www-authenticate"], "Basic realm=\"sluice\"");
    let page = s
        .client
        .get(format!("{}/", s.url))
        .basic_auth("alice", Some("secret"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["x-frame-options"], "DENY");

    // a page of another site cannot use the credentials the browser keeps
    let host = s.url.trim_start_matches("http://").to_string();
    let from = |origin: &str| {
        s.client
            .post(format!("{}/ksql", s.url))
            .basic_auth("alice", Some("secret"))
            .header("Origin", origin)
            .body(r#"{"ksql": "SHOW STREAMS;"}"#)
            .send()
    };
    let refused = from("https://evil.example").await.unwrap();
    assert_eq!(refused.status(), 403);
    let body: Value = serde_json::from_str(&refused.text().await.unwrap()).unwrap();
    assert_eq!(body["error_code"], 40300, "{body}");
    assert_eq!(from("null").await.unwrap().status(), 403);
    assert_eq!(from(&format!("http://{host}")).await.unwrap().status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headless_mode_runs_the_file_and_refuses_statements() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("queries.sql");
    std::fs::write(
        &file,
        format!("{CREATE_S}\nINSERT INTO S (K, ID, NAME) VALUES ('a', 1, 'x');\n"),
    )
    .unwrap();
    let s = start_with(|c| c.queries_file = Some(file.clone())).await;
    let (status, body) = s.ksql("SHOW STREAMS;").await;
    assert_eq!(status, 200);
    assert!(
        body[0]["streams"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["name"] == "S"),
        "{body}"
    );
    let (status, body) = s.ksql("DROP STREAM S;").await;
    assert_eq!(status, 403);
    assert_eq!(body["error_code"], 40300);
    assert!(body["message"].as_str().unwrap().contains("headless"));

    // a failing statement stops startup, naming it and where it is
    std::fs::write(&file, format!("{CREATE_S}\n\n  CREATE STREAM X (;\n")).unwrap();
    let config = sluice_server::ServerConfig {
        listeners: vec!["http://127.0.0.1:0".into()],
        schema_registry_listeners: Vec::new(),
        queries_file: Some(file),
        ..Default::default()
    };
    let engine = sluice_server::engine_for(&config).unwrap();
    let err = match sluice_server::Server::bind(config, engine).await {
        Err(e) => e.to_string(),
        Ok(_) => panic!("bind should fail"),
    };
    assert!(err.contains("statement 2 at line 3, column 3"), "{err}");
    assert!(err.contains("CREATE STREAM X (;"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assert_statements_answer_ksqldbs_entities_and_417() {
    let s = start().await;
    let (status, body) = s.ksql(CREATE_S).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = s
        .ksql("ASSERT NOT EXISTS TOPIC 'absent'; ASSERT NOT EXISTS SCHEMA SUBJECT 'absent-value';")
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body[0],
        json!({"@type": "assert_topic", "statementText": "ASSERT NOT EXISTS TOPIC 'absent';",
               "topicName": "absent", "exists": false, "warnings": []})
    );
    assert_eq!(body[1]["@type"], "assert_schema");
    assert_eq!(body[1]["subject"], "absent-value");
    assert_eq!(body[1]["exists"], false);
    let (status, body) = s
        .ksql("ASSERT TOPIC 'absent' TIMEOUT 100 MILLISECONDS;")
        .await;
    assert_eq!(status, 417, "{body}");
    assert_eq!(
        body,
        json!({"@type": "generic_error", "error_code": 41700, "message": "Topic absent does not exist"})
    );
}

/// A waiting ASSERT lets go of the engine between its checks: other
/// requests are answered meanwhile, and a topic created while it waits
/// makes it hold.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_waiting_assert_does_not_hold_up_other_requests() {
    let s = std::sync::Arc::new(start().await);
    let waiting = {
        let s = s.clone();
        tokio::spawn(async move {
            let started = std::time::Instant::now();
            let answer = s.ksql("ASSERT TOPIC 'later' TIMEOUT 20 SECONDS;").await;
            (answer, started.elapsed())
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let started = std::time::Instant::now();
    let (status, body) = s.ksql("SHOW STREAMS;").await;
    assert_eq!(status, 200, "{body}");
    let answered = started.elapsed();
    assert!(
        answered < std::time::Duration::from_secs(5),
        "SHOW STREAMS waited {answered:?} behind the ASSERT"
    );
    assert!(!waiting.is_finished(), "the ASSERT did not wait");
    let (status, body) = s.ksql("CREATE STREAM L (V INT) WITH (kafka_topic='later', value_format='JSON', partitions=1);").await;
    assert_eq!(status, 200, "{body}");
    let ((status, body), took) = waiting.await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body[0]["@type"], "assert_topic", "{body}");
    assert!(took < std::time::Duration::from_secs(15), "{took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_sequence_number_of_a_single_server_needs_no_wait() {
    let s = start().await;
    let (status, body) = s.ksql(CREATE_S).await;
    assert_eq!(status, 200, "{body}");
    let seq = body[0]["commandSequenceNumber"].as_i64().unwrap();
    let started = std::time::Instant::now();
    let request = json!({"ksql": "SHOW STREAMS;", "commandSequenceNumber": seq});
    let (status, body) = s.post("/ksql", &request.to_string()).await;
    assert_eq!(status, 200, "{body}");
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
}

/// The console's page and assets, served at `/` behind the same basic auth
/// as the API, add less than 2 MB (issue #18's budget).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_is_served_with_its_assets() {
    let s = common::start().await;
    let mut total = 0;
    for (path, media) in [
        ("/", "text/html"),
        ("/console/console.js", "text/javascript"),
        ("/console/console.css", "text/css"),
    ] {
        let resp = s
            .client
            .get(format!("{}{path}", s.url))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{path}");
        let content_type = resp.headers()["content-type"].to_str().unwrap().to_string();
        assert!(content_type.starts_with(media), "{path}: {content_type}");
        let body = resp.bytes().await.unwrap();
        if path == "/" {
            let page = String::from_utf8_lossy(&body);
            assert!(page.contains("/console/console.js") && page.contains("/console/console.css"));
        }
        total += body.len();
    }
    assert!(total < 2 * 1024 * 1024, "{total} bytes");
}
