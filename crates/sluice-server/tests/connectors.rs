//! Connector statements over `/ksql` answer ksqlDB's connector entities, with
//! every property value but the class masked in the statement text.

mod common;

use common::start;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connector_statements_answer_ksqldbs_entities() {
    let s = start().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("in.txt");
    std::fs::write(&file, "hello\n").unwrap();
    let create = format!(
        "CREATE SOURCE CONNECTOR lines WITH ('connector.class'='FileStreamSource', 'file'='{}', \
         'topic'='lines', 'connection.password'='hunter2');",
        file.display()
    );
    let (status, body) = s.ksql(&create).await;
    assert_eq!(status, 200, "{body}");
    let e = &body[0];
    assert_eq!(e["@type"], "connector_info");
    assert_eq!(
        e["statementText"],
        "CREATE SOURCE CONNECTOR LINES WITH ('connector.class'='FileStreamSource', 'file'='[string]', 'topic'='[string]', 'connection.password'='[string]');"
    );
    assert_eq!(e["info"]["name"], "LINES");
    assert_eq!(e["info"]["type"], "source");
    assert_eq!(
        e["info"]["tasks"],
        json!([{"connector": "LINES", "task": 0}])
    );
    assert_eq!(e["info"]["config"]["connection.password"], "[hidden]");
    assert_eq!(e["info"]["config"]["topic"], "lines");
    assert!(!body.to_string().contains("hunter2"), "{body}");

    let (status, body) = s
        .ksql("SHOW CONNECTORS; SHOW SINK CONNECTORS; SHOW CONNECTOR PLUGINS;")
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body[0]["@type"], "connector_list");
    assert_eq!(
        body[0]["connectors"],
        json!([{"name": "LINES", "type": "source",
                "className": "FileStreamSource", "state": "RUNNING (1/1 tasks RUNNING)"}])
    );
    assert_eq!(body[1]["connectors"], json!([]));
    assert_eq!(body[2]["@type"], "connector_plugins_list");
    assert_eq!(body[2]["connectorsPlugins"][0]["type"], "source");

    s.ksql("CREATE STREAM lines (line STRING) WITH (KAFKA_TOPIC='lines', VALUE_FORMAT='KAFKA');")
        .await;
    // the task has written the topic once the stream's description lists it
    let mut described = json!(null);
    for _ in 0..200 {
        let (_, body) = s.ksql("DESCRIBE CONNECTOR lines;").await;
        described = body[0].clone();
        if described["topics"] == json!(["lines"]) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(described["@type"], "connector_description");
    assert_eq!(described["connectorClass"], "FileStreamSource");
    assert_eq!(described["status"]["name"], "LINES");
    assert_eq!(described["status"]["type"], "source");
    assert_eq!(described["status"]["connector"]["state"], "RUNNING");
    assert_eq!(described["status"]["tasks"][0]["id"], 0);
    assert_eq!(described["status"]["tasks"][0]["state"], "RUNNING");
    assert_eq!(described["topics"], json!(["lines"]));
    assert_eq!(described["sources"][0]["name"], "LINES");

    let (status, body) = s.ksql(&create).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error_code"], 40900);
    assert_eq!(body["message"], "Connector LINES already exists");

    let (status, body) = s
        .ksql("DROP CONNECTOR lines; DROP CONNECTOR IF EXISTS lines;")
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body[0]["@type"], "drop_connector");
    assert_eq!(body[0]["connectorName"], "LINES");
    assert_eq!(body[1]["@type"], "warning_entity");
    assert_eq!(body[1]["message"], "Connector 'LINES' does not exist.");

    let (status, body) = s.ksql("DESCRIBE CONNECTOR lines;").await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(
        body["message"],
        "Failed to query connector status: Connector LINES not found"
    );

    let (status, body) = s
        .ksql("CREATE SINK CONNECTOR x WITH ('connector.class'='FileStreamSink', 'file'='/dev/null', 'connection.password'='hunter2');")
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body["message"],
        "Validation error: topics - Must configure one of topics or topics.regex"
    );
    assert!(!body.to_string().contains("hunter2"), "{body}");
}

/// A request to the Connect listener: status and JSON body (null when none).
async fn connect(
    s: &common::TestServer,
    method: reqwest::Method,
    path: &str,
    body: Option<serde_json::Value>,
) -> (u16, serde_json::Value) {
    let url = format!(
        "{}{path}",
        s.connect_url.as_deref().expect("a Connect listener")
    );
    let mut req = s.client.request(method, url);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(serde_json::Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connects_rest_api_and_sql_act_on_the_same_connectors() {
    use reqwest::Method;
    let s = common::start_with(|c| {
        c.connect_listeners = vec!["http://127.0.0.1:0".into()];
        c.connect_listeners_set = true;
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.txt");

    // made with POST /connectors: a connector in SQL
    let (status, body) = connect(
        &s,
        Method::POST,
        "/connectors",
        Some(json!({"name": "views", "config": {
            "connector.class": "io.confluent.kafka.connect.datagen.DatagenConnector",
            "kafka.topic": "views", "quickstart": "pageviews", "max.interval": "20",
            "connection.password": "hunter2"}})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["name"], "views");
    assert_eq!(body["type"], "source");
    assert_eq!(body["tasks"], json!([{"connector": "views", "task": 0}]));
    assert_eq!(body["config"]["connection.password"], "[hidden]");
    let (_, listed) = s.ksql("SHOW CONNECTORS;").await;
    assert_eq!(listed[0]["connectors"][0]["name"], "views", "{listed}");

    // made in SQL: in GET /connectors?expand=status
    let (status, body) = s
        .ksql(&format!(
            "CREATE SINK CONNECTOR views_out WITH ('connector.class'='FileStreamSink', \
             'topics'='views', 'file'='{}');",
            out.display()
        ))
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, expanded) = connect(
        &s,
        Method::GET,
        "/connectors?expand=status&expand=info",
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        expanded["VIEWS_OUT"]["status"]["connector"]["state"], "RUNNING",
        "{expanded}"
    );
    assert_eq!(expanded["VIEWS_OUT"]["info"]["type"], "sink");
    assert_eq!(expanded["views"]["status"]["type"], "source");
    let (_, names) = connect(&s, Method::GET, "/connectors", None).await;
    assert_eq!(names, json!(["VIEWS_OUT", "views"]));

    // pause over REST shows in SQL; resume in REST too
    let (status, _) = connect(&s, Method::PUT, "/connectors/views/pause", None).await;
    assert_eq!(status, 202);
    let (_, listed) = s.ksql("SHOW SOURCE CONNECTORS;").await;
    assert_eq!(listed[0]["connectors"][0]["state"], "PAUSED", "{listed}");
    let (status, _) = connect(&s, Method::PUT, "/connectors/views/resume", None).await;
    assert_eq!(status, 202);
    let (_, st) = connect(&s, Method::GET, "/connectors/views/status", None).await;
    assert_eq!(st["connector"]["state"], "RUNNING", "{st}");
    let (_, task) = connect(&s, Method::GET, "/connectors/views/tasks/0/status", None).await;
    assert_eq!(task["id"], 0);
    let (_, tasks) = connect(&s, Method::GET, "/connectors/views/tasks", None).await;
    assert_eq!(
        tasks[0]["id"],
        json!({"connector": "views", "task": 0}),
        "{tasks}"
    );
    let (_, topics) = connect(&s, Method::GET, "/connectors/views/topics", None).await;
    assert_eq!(topics, json!({"views": {"topics": ["views"]}}));

    // reconfigured with PUT .../config (200), made with it (201)
    let (status, body) = connect(
        &s,
        Method::PUT,
        "/connectors/views/config",
        Some(
            json!({"connector.class": "DatagenConnector", "kafka.topic": "views",
                    "quickstart": "users", "max.interval": "20"}),
        ),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["config"]["quickstart"], "users");

    // stop and resume
    let (status, _) = connect(&s, Method::PUT, "/connectors/views/stop", None).await;
    assert_eq!(status, 204);
    let (_, st) = connect(&s, Method::GET, "/connectors/views/status", None).await;
    assert_eq!(
        (st["connector"]["state"].clone(), st["tasks"].clone()),
        (json!("STOPPED"), json!([]))
    );

    // Connect's errors
    let (status, body) = connect(&s, Method::GET, "/connectors/nope/status", None).await;
    assert_eq!((status, body["error_code"].clone()), (404, json!(404)));
    assert_eq!(body["message"], "Connector nope not found");
    let (status, body) = connect(&s, Method::PUT, "/connectors/nope/pause", None).await;
    assert_eq!(
        (status, body["message"].clone()),
        (404, json!("Connector nope not found"))
    );
    let (status, body) = connect(
        &s,
        Method::POST,
        "/connectors",
        Some(json!({"name": "views", "config": {"connector.class": "FileStreamSink", "topics": "x", "file": "/dev/null"}})),
    )
    .await;
    assert_eq!(
        (status, body["message"].clone()),
        (409, json!("Connector views already exists"))
    );
    let (status, body) = connect(
        &s,
        Method::POST,
        "/connectors",
        Some(json!({"name": "dbz", "config": {"connector.class": "io.debezium.connector.mysql.MySqlConnector"}})),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("io.debezium.connector.mysql.MySqlConnector"),
        "{body}"
    );
    let (status, body) = connect(
        &s,
        Method::PUT,
        "/connector-plugins/FileStreamSinkConnector/config/validate",
        Some(json!({"file": "/dev/null"})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["error_count"], 1);
    let bad: Vec<&serde_json::Value> = body["configs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| !c["value"]["errors"].as_array().unwrap().is_empty())
        .collect();
    assert_eq!(bad[0]["value"]["name"], "topics");
    let (_, plugins) = connect(&s, Method::GET, "/connector-plugins", None).await;
    assert_eq!(plugins.as_array().unwrap().len(), 5);

    // deleted over REST: gone from SQL; dropped in SQL: gone from REST
    let (status, _) = connect(&s, Method::DELETE, "/connectors/views", None).await;
    assert_eq!(status, 204);
    let (_, body) = s.ksql("DROP CONNECTOR views_out; SHOW CONNECTORS;").await;
    assert_eq!(body[1]["connectors"], json!([]), "{body}");
    let (_, names) = connect(&s, Method::GET, "/connectors", None).await;
    assert_eq!(names, json!([]));
}
