//! The REST API over the router: Confluent's paths, shapes, content type and
//! error bodies.

use std::sync::Arc;

use axum::body::Body;
use axum::http::Request;
use axum::Router;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use sluice_log::EmbeddedLog;
use sluice_registry::{router, Registry};
use tower::ServiceExt;

const CONTENT_TYPE: &str = "application/vnd.schemaregistry.v1+json";

fn app() -> Router {
    let registry = Registry::open(Arc::new(EmbeddedLog::in_memory())).expect("open");
    router(registry)
}

/// Status, content type and body text of one request.
async fn call(
    app: &Router,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, String, String) {
    let mut request = Request::builder().method(method).uri(path);
    let body = match body {
        Some(b) => {
            request = request.header("content-type", "application/json");
            Body::from(b.to_string())
        }
        None => Body::empty(),
    };
    let response = app
        .clone()
        .oneshot(request.body(body).expect("request"))
        .await
        .expect("response");
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (
        status,
        content_type,
        String::from_utf8_lossy(&bytes).into_owned(),
    )
}

async fn json_call(app: &Router, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let (status, content_type, text) = call(app, method, path, body).await;
    assert_eq!(content_type, CONTENT_TYPE, "{method} {path}");
    (
        status,
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{text}: {e}")),
    )
}

fn record(fields: &str) -> String {
    format!(r#"{{"type":"record","name":"R","fields":[{fields}]}}"#)
}

#[tokio::test]
async fn confluent_endpoints_and_shapes() {
    let app = app();
    assert_eq!(json_call(&app, "GET", "/", None).await, (200, json!({})));
    assert_eq!(
        json_call(&app, "GET", "/subjects", None).await,
        (200, json!([]))
    );
    let v1 = record(r#"{"name":"a","type":"int"}"#);
    let (status, body) = json_call(
        &app,
        "POST",
        "/subjects/t-value/versions",
        Some(json!({"schema": v1})),
    )
    .await;
    assert_eq!((status, body), (200, json!({"id": 1})));
    // JSON schema under another subject, with a reference
    let (status, body) = json_call(
        &app,
        "POST",
        "/subjects/j/versions",
        Some(
            json!({"schema": "{\"type\":\"object\"}", "schemaType": "JSON",
                    "references": [{"name": "t.avsc", "subject": "t-value", "version": 1}]}),
        ),
    )
    .await;
    assert_eq!((status, body), (200, json!({"id": 2})));
    assert_eq!(
        json_call(&app, "GET", "/subjects/t-value/versions/latest", None).await,
        (
            200,
            json!({"subject": "t-value", "version": 1, "id": 1, "schema": v1})
        )
    );
    assert_eq!(
        json_call(&app, "GET", "/schemas/ids/2", None).await.1,
        json!({"schema": "{\"type\":\"object\"}", "schemaType": "JSON",
               "references": [{"name": "t.avsc", "subject": "t-value", "version": 1}]})
    );
    let (status, _, raw) = call(&app, "GET", "/subjects/t-value/versions/1/schema", None).await;
    assert_eq!((status, raw.as_str()), (200, v1.as_str()));
    let (_, _, raw) = call(&app, "GET", "/schemas/ids/1/schema", None).await;
    assert_eq!(raw, v1);
    assert_eq!(
        json_call(&app, "GET", "/schemas/ids/1/versions", None)
            .await
            .1,
        json!([{"subject": "t-value", "version": 1}])
    );
    assert_eq!(
        json_call(&app, "GET", "/schemas/ids/1/subjects", None)
            .await
            .1,
        json!(["t-value"])
    );
    assert_eq!(
        json_call(&app, "GET", "/subjects", None).await.1,
        json!(["j", "t-value"])
    );
    assert_eq!(
        json_call(&app, "GET", "/subjects/t-value/versions", None)
            .await
            .1,
        json!([1])
    );
    assert_eq!(
        json_call(&app, "GET", "/schemas/types", None).await.1,
        json!(["JSON", "PROTOBUF", "AVRO"])
    );
    // lookup
    let (status, body) = json_call(
        &app,
        "POST",
        "/subjects/t-value",
        Some(json!({"schema": v1})),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        (body["id"].clone(), body["version"].clone()),
        (json!(1), json!(1))
    );
    let (status, body) = json_call(
        &app,
        "POST",
        "/subjects/t-value",
        Some(json!({"schema": "\"string\""})),
    )
    .await;
    assert_eq!((status, body["error_code"].clone()), (404, json!(40403)));
}

#[tokio::test]
async fn errors_config_and_compatibility() {
    let app = app();
    let (status, body) = json_call(&app, "GET", "/subjects/nope/versions", None).await;
    assert_eq!(status, 404);
    assert_eq!(
        body,
        json!({"error_code": 40401, "message": "Subject 'nope' not found."})
    );
    let (status, body) = json_call(&app, "GET", "/subjects/nope/versions/abc", None).await;
    assert_eq!((status, body["error_code"].clone()), (422, json!(42202)));
    let (status, body) = json_call(
        &app,
        "POST",
        "/subjects/s/versions",
        Some(json!({"schema": "{\"type\":\"nope\"}"})),
    )
    .await;
    assert_eq!((status, body["error_code"].clone()), (422, json!(42201)));
    let (status, body) = json_call(&app, "GET", "/schemas/ids/99", None).await;
    assert_eq!((status, body["error_code"].clone()), (404, json!(40403)));

    assert_eq!(
        json_call(&app, "GET", "/config", None).await.1,
        json!({"compatibilityLevel": "BACKWARD"})
    );
    let (status, body) = json_call(
        &app,
        "PUT",
        "/config/s",
        Some(json!({"compatibility": "full"})),
    )
    .await;
    assert_eq!((status, body), (200, json!({"compatibility": "FULL"})));
    assert_eq!(
        json_call(&app, "GET", "/config/s", None).await.1,
        json!({"compatibilityLevel": "FULL"})
    );
    let (status, body) = json_call(
        &app,
        "PUT",
        "/config",
        Some(json!({"compatibility": "SIDEWAYS"})),
    )
    .await;
    assert_eq!((status, body["error_code"].clone()), (422, json!(42203)));

    let v1 = record(r#"{"name":"a","type":"int"}"#);
    let v2 = record(r#"{"name":"a","type":"int"},{"name":"b","type":"int"}"#);
    json_call(
        &app,
        "POST",
        "/subjects/s/versions",
        Some(json!({"schema": v1})),
    )
    .await;
    let (status, body) = json_call(
        &app,
        "POST",
        "/compatibility/subjects/s/versions/latest?verbose=true",
        Some(json!({"schema": v2})),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["is_compatible"], json!(false));
    assert!(
        body["messages"].as_array().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    let (status, body) = json_call(
        &app,
        "POST",
        "/subjects/s/versions",
        Some(json!({"schema": v2})),
    )
    .await;
    assert_eq!((status, body["error_code"].clone()), (409, json!(409)));
    assert_eq!(
        json_call(&app, "DELETE", "/config/s", None).await.1,
        json!({"compatibilityLevel": "FULL"})
    );

    // deletes
    let (status, body) = json_call(&app, "DELETE", "/subjects/s?permanent=true", None).await;
    assert_eq!((status, body["error_code"].clone()), (404, json!(40405)));
    assert_eq!(
        json_call(&app, "DELETE", "/subjects/s", None).await,
        (200, json!([1]))
    );
    assert_eq!(
        json_call(&app, "GET", "/subjects?deleted=true", None)
            .await
            .1,
        json!(["s"])
    );
    assert_eq!(json_call(&app, "GET", "/subjects", None).await.1, json!([]));
    assert_eq!(
        json_call(
            &app,
            "DELETE",
            "/subjects/s/versions/1?permanent=true",
            None
        )
        .await,
        (200, json!(1))
    );
    let (status, body) = json_call(&app, "GET", "/nowhere", None).await;
    assert_eq!((status, body["error_code"].clone()), (404, json!(404)));
}

#[tokio::test]
async fn any_request_content_type_is_read_as_json() {
    let app = app();
    for (i, content_type) in [
        "application/vnd.schemaregistry.v1+json",
        "application/json",
        "application/octet-stream",
    ]
    .into_iter()
    .enumerate()
    {
        let schema = format!(r#"{{"type":"enum","name":"E","symbols":["S{i}"]}}"#);
        let request = Request::builder()
            .method("POST")
            .uri(format!("/subjects/s{i}/versions"))
            .header("content-type", content_type)
            .body(Body::from(json!({"schema": schema}).to_string()))
            .expect("request");
        let response = app.clone().oneshot(request).await.expect("response");
        assert_eq!(response.status().as_u16(), 200, "{content_type}");
    }
    let (status, body) = json_call(
        &app,
        "POST",
        "/subjects/x/versions",
        Some(json!({"nope": 1})),
    )
    .await;
    assert_eq!((status, body["error_code"].clone()), (400, json!(400)));
}
