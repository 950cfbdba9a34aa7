//! ksqlDB's processing log: records a query could not process (bad bytes, a bad
//! timestamp) are skipped and described here, and the query keeps running.

use std::sync::Mutex;

#[derive(Debug, Clone, PartialEq)]
pub struct ProcessingLogEntry {
    pub query_id: String,
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub message: String,
}

#[derive(Debug, Default)]
pub struct ProcessingLog {
    entries: Mutex<Vec<ProcessingLogEntry>>,
}

/// At most this many entries are kept; older ones are dropped first.
const CAPACITY: usize = 10_000;

impl ProcessingLog {
    pub fn record(&self, entry: ProcessingLogEntry) {
        tracing::warn!(
            query = %entry.query_id,
            topic = %entry.topic,
            partition = entry.partition,
            offset = entry.offset,
            "skipped record: {}",
            entry.message
        );
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= CAPACITY {
            entries.remove(0);
        }
        entries.push(entry);
    }

    pub fn entries(&self) -> Vec<ProcessingLogEntry> {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}
