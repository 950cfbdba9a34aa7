//! A record as connectors see it: key and value as Connect data, its topic,
//! and where it came from (a source's partition and offset, or a topic's).

use std::sync::Arc;

use serde_json::Value as Json;

use crate::data::{Schema, Value};

/// One record between a connector and the log.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectRecord {
    pub topic: String,
    /// The log partition (sink records; a source record may pick one).
    pub partition: Option<i32>,
    /// Schemas are shared: a batch's records carry one (a table's, say).
    pub key_schema: Option<Arc<Schema>>,
    pub key: Value,
    pub value_schema: Option<Arc<Schema>>,
    pub value: Value,
    /// Epoch milliseconds; a source record without one gets the wall clock.
    pub timestamp: Option<i64>,
    pub headers: Vec<sluice_log::Header>,
}

impl ConnectRecord {
    /// A record of `topic` with a value and no key.
    pub fn new(topic: &str, value_schema: Option<Arc<Schema>>, value: Value) -> Self {
        ConnectRecord {
            topic: topic.to_string(),
            partition: None,
            key_schema: None,
            key: Value::Null,
            value_schema,
            value,
            timestamp: None,
            headers: Vec::new(),
        }
    }

    pub fn with_key(mut self, key_schema: Option<Arc<Schema>>, key: Value) -> Self {
        self.key_schema = key_schema;
        self.key = key;
        self
    }
}

/// A record a source task read, with Connect's source partition and offset
/// (JSON maps the task alone interprets; the worker stores the latest offset
/// of each partition with the records it wrote).
#[derive(Debug, Clone, PartialEq)]
pub struct SourceRecord {
    /// Shared by the records of one source partition in a batch.
    pub partition: Arc<Json>,
    /// `Null`: no news (a task may give its offset on a poll's last record
    /// of a partition only; the worker stores the latest one it is given).
    pub offset: Json,
    pub record: ConnectRecord,
}

/// A record a sink task gets, with the log position it was read from.
#[derive(Debug, Clone, PartialEq)]
pub struct SinkRecord {
    pub offset: i64,
    pub record: ConnectRecord,
}
