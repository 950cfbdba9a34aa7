//! The embedded schema registry served beside the REST API, shared with the
//! engine; and a second server using the first one's registry as an external one.

mod common;

use common::{start_with, TestServer};
use serde_json::{json, Value};

async fn with_registry() -> (TestServer, String) {
    let s = start_with(|c| c.schema_registry_listeners = vec!["http://127.0.0.1:0".into()]).await;
    let url = s.registry_url.clone().expect("registry listener");
    (s, url)
}

async fn registry_get(s: &TestServer, url: &str) -> (u16, Value) {
    let resp = s.client.get(url).send().await.expect("request");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn registry_post(s: &TestServer, url: &str, body: Value) -> (u16, Value) {
    let resp = s
        .client
        .post(url)
        .header("Content-Type", "application/vnd.schemaregistry.v1+json")
        .body(body.to_string())
        .send()
        .await
        .expect("request");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// A schema as an application registers it: its own record name. Sluice writes to a
/// stream inferred from it under that name, so its writes stay a compatible version.
const USERS: &str = r#"{"type":"record","name":"User","namespace":"app","fields":[{"name":"ID","type":"int"},{"name":"NAME","type":"string"}]}"#;

/// Waits until the registry has a version of `subject` (sinks register on first write).
async fn latest(s: &TestServer, registry: &str, subject: &str) -> Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let (status, body) =
            registry_get(s, &format!("{registry}/subjects/{subject}/versions/latest")).await;
        if status == 200 || std::time::Instant::now() > deadline {
            assert_eq!(status, 200, "{subject}: {body}");
            return body;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn engine_and_rest_share_the_embedded_registry() {
    let (s, registry) = with_registry().await;
    assert_eq!(
        registry_get(&s, &format!("{registry}/")).await,
        (200, json!({}))
    );

    // a schema posted over REST gives a stream its columns
    let (status, body) = registry_post(
        &s,
        &format!("{registry}/subjects/users-value/versions"),
        json!({"schema": USERS}),
    )
    .await;
    assert_eq!((status, body), (200, json!({"id": 1})));
    let (status, body) = s
        .ksql("CREATE STREAM USERS WITH (kafka_topic='users', value_format='AVRO', partitions=1);")
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, body) = s.ksql("DESCRIBE USERS;").await;
    let fields = &body[0]["sourceDescription"]["fields"];
    assert_eq!(fields[0]["name"], "ID", "{body}");
    assert_eq!(fields[1]["name"], "NAME", "{body}");

    // what the engine writes is registered there, visible over REST
    let (status, body) = s
        .ksql("CREATE STREAM NAMES WITH (kafka_topic='names', value_format='AVRO') AS SELECT NAME FROM USERS;")
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = s
        .ksql("INSERT INTO USERS (ID, NAME) VALUES (7, 'ann');")
        .await;
    assert_eq!(status, 200, "{body}");
    let names = latest(&s, &registry, "names-value").await;
    assert!(
        names["schema"]
            .as_str()
            .unwrap_or_default()
            .contains("NAME"),
        "{names}"
    );
    let (_, subjects) = registry_get(&s, &format!("{registry}/subjects")).await;
    assert_eq!(subjects, json!(["names-value", "users-value"]));
    // the insert wrote with a new version of the application's record, not a rename
    let users = latest(&s, &registry, "users-value").await;
    assert_eq!(users["version"], 2, "{users}");
    assert!(
        users["schema"]
            .as_str()
            .unwrap_or_default()
            .contains(r#""name":"User""#),
        "{users}"
    );

    // an evolution the subject's level forbids is refused with the registry's reason
    let (status, _) = s
        .client
        .put(format!("{registry}/config/evo-value"))
        .body(json!({"compatibility": "FULL"}).to_string())
        .send()
        .await
        .map(|r| (r.status().as_u16(), ()))
        .expect("put config");
    assert_eq!(status, 200);
    let only_id = r#"{"type":"record","name":"KsqlDataSourceSchema","namespace":"io.confluent.ksql.avro_schemas","fields":[{"name":"ID","type":"int"}]}"#;
    registry_post(
        &s,
        &format!("{registry}/subjects/evo-value/versions"),
        json!({"schema": only_id}),
    )
    .await;
    let (status, body) = s
        .ksql("CREATE STREAM EVO (TEXT STRING) WITH (kafka_topic='evo', value_format='AVRO', partitions=1); INSERT INTO EVO (TEXT) VALUES ('x');")
        .await;
    assert_eq!(status, 400, "{body}");
    let message = body["message"].as_str().unwrap_or_default();
    assert!(message.contains("incompatible"), "{body}");
    assert!(message.contains("error code: 409"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_can_use_another_servers_registry() {
    let (first, registry) = with_registry().await;
    registry_post(
        &first,
        &format!("{registry}/subjects/users-value/versions"),
        json!({"schema": USERS}),
    )
    .await;
    let url = registry.clone();
    let second = start_with(move |c| {
        c.engine_properties
            .insert("ksql.schema.registry.url".into(), url);
        c.schema_registry_listeners = vec!["http://127.0.0.1:0".into()];
    })
    .await;
    // an external registry replaces the embedded one: nothing else is served
    assert_eq!(second.registry_url, None);
    let (status, body) = second
        .ksql("CREATE STREAM USERS WITH (kafka_topic='users', value_format='AVRO', partitions=1); CREATE STREAM OUT WITH (kafka_topic='out', value_format='AVRO') AS SELECT ID FROM USERS; INSERT INTO USERS (ID, NAME) VALUES (1, 'a');")
        .await;
    assert_eq!(status, 200, "{body}");
    let out = latest(&first, &registry, "out-value").await;
    assert!(
        out["schema"].as_str().unwrap_or_default().contains("ID"),
        "{out}"
    );
    let (_, body) = second.ksql("DESCRIBE USERS;").await;
    assert_eq!(
        body[0]["sourceDescription"]["fields"][1]["name"], "NAME",
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registry_listener_shares_basic_auth_and_the_client_passes_it() {
    let dir = tempfile::tempdir().unwrap();
    let users = dir.path().join("users");
    std::fs::write(&users, "alice: secret\n").unwrap();
    let first = start_with(|c| {
        c.users_file = Some(users);
        c.schema_registry_listeners = vec!["http://127.0.0.1:0".into()];
    })
    .await;
    let registry = first.registry_url.clone().expect("registry listener");
    let (status, body) = registry_get(&first, &format!("{registry}/subjects")).await;
    assert_eq!(
        (status, body),
        (401, json!({"error_code": 401, "message": "Unauthorized"}))
    );
    let resp = first
        .client
        .post(format!("{registry}/subjects/users-value/versions"))
        .basic_auth("alice", Some("secret"))
        .body(json!({"schema": USERS}).to_string())
        .send()
        .await
        .expect("register");
    assert_eq!(resp.status().as_u16(), 200);

    let create =
        "CREATE STREAM USERS WITH (kafka_topic='users', value_format='AVRO', partitions=1);";
    let url = registry.clone();
    let without = start_with(move |c| {
        c.engine_properties
            .insert("ksql.schema.registry.url".into(), url);
    })
    .await;
    let (status, body) = without.ksql(create).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["message"].as_str().unwrap_or_default().contains("401"),
        "{body}"
    );

    let url = registry.clone();
    let with = start_with(move |c| {
        c.engine_properties
            .insert("ksql.schema.registry.url".into(), url);
        c.engine_properties.insert(
            "ksql.schema.registry.basic.auth.user.info".into(),
            "alice:secret".into(),
        );
    })
    .await;
    let (status, body) = with.ksql(create).await;
    assert_eq!(status, 200, "{body}");
}
