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
