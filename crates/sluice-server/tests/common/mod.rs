//! A server on a random loopback port, and small HTTP helpers.

#![allow(dead_code)]

use serde_json::Value;
use sluice_server::{engine_for, Server, ServerConfig};
use tokio::sync::oneshot;

pub struct TestServer {
    pub url: String,
    /// The embedded schema registry's URL, when it is served.
    pub registry_url: Option<String>,
    /// Kafka Connect's REST API's URL, when it is served.
    pub connect_url: Option<String>,
    pub client: reqwest::Client,
    _stop: oneshot::Sender<()>,
}

pub async fn start_with(configure: impl FnOnce(&mut ServerConfig)) -> TestServer {
    let mut config = ServerConfig {
        listeners: vec!["http://127.0.0.1:0".into()],
        schema_registry_listeners: Vec::new(),
        connect_listeners: Vec::new(),
        ..ServerConfig::default()
    };
    configure(&mut config);
    let engine = engine_for(&config).expect("engine");
    let server = Server::bind(config, engine).await.expect("bind");
    let addr = server.local_addrs()[0];
    let registry_url = server.registry_urls().first().cloned();
    let connect_url = server.connect_urls().first().cloned();
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(server.run(async {
        let _ = stopped.await;
    }));
    TestServer {
        url: format!("http://{addr}"),
        registry_url,
        connect_url,
        client: reqwest::Client::new(),
        _stop: stop,
    }
}

pub async fn start() -> TestServer {
    start_with(|_| {}).await
}

impl TestServer {
    pub async fn post(&self, path: &str, body: &str) -> (u16, String) {
        let resp = self
            .client
            .post(format!("{}{path}", self.url))
            .header("Content-Type", "application/vnd.ksql.v1+json")
            .body(body.to_string())
            .send()
            .await
            .expect("request");
        let status = resp.status().as_u16();
        (status, resp.text().await.expect("body"))
    }

    /// `/ksql` with these statements; status and parsed body.
    pub async fn ksql(&self, sql: &str) -> (u16, Value) {
        let body = serde_json::json!({"ksql": sql, "streamsProperties": {}}).to_string();
        let (status, text) = self.post("/ksql", &body).await;
        (status, serde_json::from_str(&text).expect("json body"))
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        let resp = self
            .client
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .expect("request");
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }
}

pub const CREATE_S: &str = "CREATE STREAM S (K STRING KEY, ID INT, NAME STRING) \
    WITH (kafka_topic='s', value_format='JSON', partitions=1);";
