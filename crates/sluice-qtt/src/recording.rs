//! A [`Log`] wrapper that remembers, in order, every record produced through it, so
//! the test runner can report what a case wrote.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use sluice_log::{GroupMembers, Log, LogError, Record, StoredRecord, TopicDescription, TopicSpec};

pub struct RecordingLog {
    inner: Arc<dyn Log>,
    produced: Mutex<Vec<(String, i32, i64)>>,
}

impl RecordingLog {
    pub fn new(inner: Arc<dyn Log>) -> Self {
        RecordingLog {
            inner,
            produced: Mutex::new(Vec::new()),
        }
    }

    /// Every produced record as (topic, partition, offset), in production order.
    pub fn produced(&self) -> Vec<(String, i32, i64)> {
        self.produced
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn remember(&self, topic: &str, placed: &[(i32, i64)]) {
        let mut p = self.produced.lock().unwrap_or_else(|e| e.into_inner());
        p.extend(
            placed
                .iter()
                .map(|(part, off)| (topic.to_string(), *part, *off)),
        );
    }
}

impl Log for RecordingLog {
    fn create_topic(&self, spec: &TopicSpec) -> Result<(), LogError> {
        self.inner.create_topic(spec)
    }
    fn delete_topic(&self, name: &str) -> Result<(), LogError> {
        self.inner.delete_topic(name)
    }
    fn list_topics(&self) -> Result<Vec<String>, LogError> {
        self.inner.list_topics()
    }
    fn describe_topic(&self, name: &str) -> Result<TopicDescription, LogError> {
        self.inner.describe_topic(name)
    }
    fn topic_exists(&self, name: &str) -> Result<bool, LogError> {
        self.inner.topic_exists(name)
    }
    fn alter_topic_configs(
        &self,
        name: &str,
        set: &BTreeMap<String, String>,
    ) -> Result<(), LogError> {
        self.inner.alter_topic_configs(name, set)
    }
    fn add_partitions(&self, name: &str, total: i32) -> Result<(), LogError> {
        self.inner.add_partitions(name, total)
    }

    fn delete_records(&self, topic: &str, before: &[(i32, i64)]) -> Result<(), LogError> {
        self.inner.delete_records(topic, before)
    }
    fn produce(
        &self,
        topic: &str,
        records: Vec<(Option<i32>, Record)>,
    ) -> Result<Vec<(i32, i64)>, LogError> {
        let placed = self.inner.produce(topic, records)?;
        self.remember(topic, &placed);
        Ok(placed)
    }
    fn fetch(
        &self,
        topic: &str,
        partition: i32,
        offset: i64,
        max: usize,
    ) -> Result<Vec<StoredRecord>, LogError> {
        self.inner.fetch(topic, partition, offset, max)
    }
    fn end_offsets(&self, topic: &str) -> Result<Vec<i64>, LogError> {
        self.inner.end_offsets(topic)
    }
    fn commit(&self, group: &str, offsets: &[(String, i32, i64)]) -> Result<(), LogError> {
        self.inner.commit(group, offsets)
    }
    fn committed(&self, group: &str, topic: &str) -> Result<Vec<Option<i64>>, LogError> {
        self.inner.committed(group, topic)
    }
    fn produce_and_commit(
        &self,
        produce: Vec<(String, Option<i32>, Record)>,
        group: &str,
        offsets: &[(String, i32, i64)],
    ) -> Result<Vec<(i32, i64)>, LogError> {
        let topics: Vec<String> = produce.iter().map(|(t, _, _)| t.clone()).collect();
        let placed = self.inner.produce_and_commit(produce, group, offsets)?;
        for (t, p) in topics.iter().zip(&placed) {
            self.remember(t, std::slice::from_ref(p));
        }
        Ok(placed)
    }

    fn assigned(
        &self,
        group: &str,
        topics: &[String],
    ) -> Result<Option<Vec<(String, i32)>>, LogError> {
        self.inner.assigned(group, topics)
    }

    fn group_members(&self, group: &str) -> Result<Option<GroupMembers>, LogError> {
        self.inner.group_members(group)
    }

    fn leave(&self, group: &str) {
        self.inner.leave(group)
    }
}
