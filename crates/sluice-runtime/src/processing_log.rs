//! ksqlDB's processing log: records a query could not process (bad bytes, a bad
//! timestamp) are skipped, described here, and the query keeps running.
//!
//! Each entry is logged (`tracing`), counted per query (ksqlDB's
//! `consumer-failed-messages`), kept among the recent ones, and, once
//! [`ProcessingLog::write_to`] names a topic, written there as ksqlDB writes
//! its processing log: a JSON record with `level`, `logger`, `time` and a
//! `message` struct (`type` 0 with `deserializationError`, or 1 with
//! `recordProcessingError`), which the `KSQL_PROCESSING_LOG` stream reads.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::json;
use sluice_log::{Log, Record};

#[derive(Debug, Clone, PartialEq)]
pub struct ProcessingLogEntry {
    pub query_id: String,
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub message: String,
    /// `key` or `value` for a deserialization error (see
    /// [`crate::source::Skipped::target`]).
    pub target: Option<&'static str>,
}

impl ProcessingLogEntry {
    /// The entry as ksqlDB's processing log record value.
    pub fn to_json(&self, time_ms: i64) -> serde_json::Value {
        let (kind, logger, deserialization, processing) = match self.target {
            Some(target) => (
                0,
                format!("processing.{}.KsqlTopic.Source.deserializer", self.query_id),
                json!({
                    "target": target,
                    "errorMessage": self.message,
                    "recordB64": null,
                    "cause": [],
                    "topic": self.topic,
                }),
                serde_json::Value::Null,
            ),
            None => (
                1,
                format!("processing.{}.KsqlTopic.Source", self.query_id),
                serde_json::Value::Null,
                json!({
                    "errorMessage": self.message,
                    "record": null,
                    "cause": [],
                }),
            ),
        };
        json!({
            "level": "ERROR",
            "logger": logger,
            "time": time_ms,
            "message": {
                "type": kind,
                "deserializationError": deserialization,
                "recordProcessingError": processing,
                "productionError": null,
                "serializationError": null,
                "kafkaStreamsThreadError": null,
            },
        })
    }
}

#[derive(Default)]
pub struct ProcessingLog {
    recent: Mutex<VecDeque<ProcessingLogEntry>>,
    /// query id → entries so far
    counts: Mutex<HashMap<String, u64>>,
    /// Where entries are written as records.
    topic: OnceLock<(Arc<dyn Log>, String)>,
}

impl std::fmt::Debug for ProcessingLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProcessingLog")
            .field("topic", &self.topic.get().map(|(_, t)| t))
            .finish()
    }
}

/// At most this many recent entries are kept; older ones are dropped first.
const CAPACITY: usize = 1_000;

impl ProcessingLog {
    /// From now on, also write every entry to `topic` of `log`.
    pub fn write_to(&self, log: Arc<dyn Log>, topic: &str) {
        let _ = self.topic.set((log, topic.to_string()));
    }

    /// The topic entries are written to, if any.
    pub fn topic(&self) -> Option<&str> {
        self.topic.get().map(|(_, t)| t.as_str())
    }

    pub fn record(&self, entry: ProcessingLogEntry) {
        tracing::warn!(
            query = %entry.query_id,
            topic = %entry.topic,
            partition = entry.partition,
            offset = entry.offset,
            "skipped record: {}",
            entry.message
        );
        *lock(&self.counts)
            .entry(entry.query_id.clone())
            .or_default() += 1;
        if let Some((log, topic)) = self.topic.get() {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as i64);
            let value = entry.to_json(now).to_string().into_bytes();
            // a processing log that cannot be written must not stop the query
            if let Err(e) = log.produce(topic, vec![(None, Record::new(None, Some(value), now))]) {
                tracing::error!("writing the processing log to '{topic}': {e}");
            }
        }
        let mut recent = lock(&self.recent);
        if recent.len() >= CAPACITY {
            recent.pop_front();
        }
        recent.push_back(entry);
    }

    /// The most recent entries, oldest first.
    pub fn entries(&self) -> Vec<ProcessingLogEntry> {
        lock(&self.recent).iter().cloned().collect()
    }

    /// How many records query `query_id` could not process so far.
    pub fn errors_of(&self, query_id: &str) -> u64 {
        lock(&self.counts).get(query_id).copied().unwrap_or(0)
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_written_as_ksqldb_writes_them() {
        let log = Arc::new(sluice_log::EmbeddedLog::in_memory());
        log.create_topic(&sluice_log::TopicSpec::new("plog", 1))
            .unwrap();
        let plog = ProcessingLog::default();
        plog.write_to(log.clone(), "plog");
        plog.record(ProcessingLogEntry {
            query_id: "CSAS_X_0".into(),
            topic: "t".into(),
            partition: 0,
            offset: 7,
            message: "Failed to deserialize value from topic: t. bad".into(),
            target: Some("value"),
        });
        assert_eq!(plog.errors_of("CSAS_X_0"), 1);
        let got = log.fetch("plog", 0, 0, 10).unwrap();
        let v: serde_json::Value =
            serde_json::from_slice(got[0].record.value.as_deref().unwrap()).unwrap();
        assert_eq!(v["level"], "ERROR");
        assert_eq!(
            v["logger"],
            "processing.CSAS_X_0.KsqlTopic.Source.deserializer"
        );
        assert_eq!(v["message"]["type"], 0);
        assert_eq!(v["message"]["deserializationError"]["target"], "value");
        assert_eq!(v["message"]["deserializationError"]["topic"], "t");
        assert!(v["message"]["recordProcessingError"].is_null());
    }
}
