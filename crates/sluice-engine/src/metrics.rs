//! What the engine can tell about its queries' progress: committed offsets
//! and lag per partition (ksqlDB's `queryOffsetSummaries`), and the
//! consumption and error figures of a source's topic (ksqlDB's `statistics`
//! and `errorStats` texts), from the counters every task keeps.

use sluice_planner::Catalog;

use crate::engine::{Engine, RunningQuery};
use crate::error::Result;

/// Where one partition of a query's source stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionOffsets {
    pub partition: i32,
    pub log_start: i64,
    pub log_end: i64,
    /// The query's committed offset (`None`: nothing committed yet).
    pub consumer: Option<i64>,
}

impl PartitionOffsets {
    /// Records in the partition the query has not committed yet.
    pub fn lag(&self) -> i64 {
        self.log_end - self.consumer.unwrap_or(self.log_start)
    }
}

/// A query's offsets in one of its source topics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicOffsets {
    pub topic: String,
    pub partitions: Vec<PartitionOffsets>,
}

impl Engine {
    /// The committed offset, log start and log end of every partition of
    /// every source topic of `query`.
    pub fn query_offsets(&self, query: &RunningQuery) -> Result<Vec<TopicOffsets>> {
        let mut out: Vec<TopicOffsets> = Vec::new();
        for source in &query.sources {
            let Some(def) = self.metastore.source(source) else {
                continue;
            };
            if out.iter().any(|t| t.topic == def.topic) {
                continue;
            }
            let described = self.log.describe_topic(&def.topic)?;
            let committed = self.log.committed(&query.group, &def.topic)?;
            let partitions = described
                .partitions
                .iter()
                .map(|p| PartitionOffsets {
                    partition: p.id,
                    log_start: p.start_offset,
                    log_end: p.end_offset,
                    consumer: committed.get(p.id as usize).copied().flatten(),
                })
                .collect();
            out.push(TopicOffsets {
                topic: def.topic.clone(),
                partitions,
            });
        }
        Ok(out)
    }

    /// ksqlDB's `statistics` and `errorStats` of source `name`: what the
    /// queries reading its topic consumed (messages per second, total
    /// messages and bytes, when last) and failed to read.
    pub fn source_statistics(&self, name: &str) -> (String, String) {
        let Some(def) = self.metastore.source(name) else {
            return (String::new(), String::new());
        };
        let (mut rate, mut messages, mut bytes, mut last) = (0.0, 0u64, 0u64, 0i64);
        let mut failed = 0u64;
        let mut readers = 0;
        for q in self
            .queries
            .values()
            .filter(|q| q.sources.iter().any(|s| s == name))
        {
            readers += 1;
            let status = q.status();
            if let Some((_, c)) = status.topics.iter().find(|(t, _)| *t == def.topic) {
                messages += c.records;
                bytes += c.bytes;
                last = last.max(c.last_read_ms);
                // a query reading several topics: its rate split by records
                let share = c.records as f64 / status.records_in.max(1) as f64;
                rate += status.records_per_sec * share;
            }
            failed += self.processing_log.errors_of(&q.id);
        }
        if readers == 0 {
            return (String::new(), String::new());
        }
        let mut statistics = format!(
            "consumer-messages-per-sec: {rate:>10.2} consumer-total-bytes: {bytes:>10} consumer-total-messages: {messages:>10}"
        );
        if last > 0 {
            statistics.push_str(&format!("     last-message: {}", iso_time(last)));
        }
        let errors = format!("consumer-failed-messages: {failed:>10}");
        (statistics, errors)
    }
}

/// Epoch milliseconds as ksqlDB prints them (`2024-01-31T12:00:00.000Z`).
fn iso_time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_default()
}
