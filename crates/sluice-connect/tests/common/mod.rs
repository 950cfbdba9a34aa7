//! What the connector tests share: a worker over a log, waiting, reading topics.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use sluice_connect::{ConnectorConfig, State, Worker, WorkerConfig};
use sluice_log::Log;

/// A worker over `log`, with no worker defaults.
pub fn worker(log: &Arc<dyn Log>) -> Worker {
    Worker::new(
        log.clone(),
        WorkerConfig {
            id: "test:8083".into(),
            offsets_topic: "_connect-offsets".into(),
            defaults: ConnectorConfig::default(),
            registries: None,
        },
    )
}

/// Waits up to a minute for `done`.
pub fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let until = Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(Instant::now() < until, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Every record of `topic` as (key, value) text, partition by partition.
pub fn records(log: &dyn Log, topic: &str) -> Vec<(String, String)> {
    if !log.topic_exists(topic).unwrap() {
        return Vec::new();
    }
    let text = |b: Option<Vec<u8>>| {
        b.map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    };
    let mut out = Vec::new();
    for (p, end) in log.end_offsets(topic).unwrap().into_iter().enumerate() {
        for r in log.fetch(topic, p as i32, 0, end as usize + 1).unwrap() {
            out.push((text(r.record.key), text(r.record.value)));
        }
    }
    out
}

/// The trace of the first failed task of connector `name`.
pub fn failure(w: &Worker, name: &str) -> Option<String> {
    w.status(name)
        .unwrap()
        .tasks
        .iter()
        .find(|t| t.state == State::Failed)
        .and_then(|t| t.trace.clone())
}
