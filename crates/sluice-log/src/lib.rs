//! # sluice-log
//!
//! The Log abstraction of Sluice: topics, partitions, offsets, record
//! timestamps, keys and headers, produce/fetch, consumer-group offsets and
//! topic administration — everything Sluice needs from Kafka, behind the
//! synchronous, Kafka-shaped [`Log`] trait.
//!
//! This crate owns:
//! * the data model ([`Record`], [`Header`], [`StoredRecord`], [`TopicSpec`],
//!   [`TopicDescription`], [`PartitionInfo`]) and the [`LogError`] type;
//! * Kafka's default partitioner ([`murmur2`], [`default_partition`]);
//! * [`EmbeddedLog`], a backend that keeps everything in memory and can
//!   optionally persist it to a directory (append-only, CRC-checked segment
//!   files per partition; torn tails are repaired on open);
//! * [`KafkaLog`], the same trait on a Kafka cluster through librdkafka;
//! * a backend-independent conformance suite (module `testing`, enabled in
//!   tests or with the `testing` feature) that every backend must pass.
//!
//! It knows nothing of SQL, schemas or serialization formats: keys, values
//! and header values are opaque bytes.

mod codec;
mod embedded;
mod error;
mod kafka;
mod partitioner;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

pub use embedded::EmbeddedLog;
pub use error::LogError;
pub use kafka::config::client_properties;
pub use kafka::KafkaLog;
pub use partitioner::{default_partition, murmur2, to_positive};

/// Longest legal topic name (Kafka's limit).
pub const MAX_TOPIC_NAME_LEN: usize = 249;

/// A consumer group's members as [`Log::group_members`] gives them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GroupMembers {
    /// Each member's assigned `(topic, partition)`s, members in the order
    /// of their ids.
    pub members: Vec<Vec<(String, i32)>>,
    /// Which of them is this log's member (`None` before it has joined).
    pub me: Option<usize>,
    /// The group is between rebalances (Kafka's `Stable`) and this member
    /// is among its members: only then do all members see the same.
    pub settled: bool,
}

impl GroupMembers {
    /// Whether this member keeps one of the `replicas` warm copies of
    /// `(topic, partition)` (Kafka Streams' standby tasks): the members
    /// after its owner, in member order and round, up to `replicas` of them.
    /// A partition nobody owns now is kept warm by every member, and so is
    /// every partition when this member is not listed (yet).
    pub fn keeps_standby(&self, topic: &str, partition: i32, replicas: usize) -> bool {
        let Some(me) = self.me else {
            return true;
        };
        let n = self.members.len();
        let owner = self
            .members
            .iter()
            .position(|m| m.iter().any(|(t, p)| t == topic && *p == partition));
        match owner {
            None => true,
            Some(owner) if owner == me => false,
            Some(owner) => {
                let after = (me + n - owner) % n;
                after >= 1 && after <= replicas
            }
        }
    }
}

/// One record header. Header keys may repeat; order is preserved.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Header {
    pub key: String,
    pub value: Option<Vec<u8>>,
}

impl Header {
    pub fn new(key: impl Into<String>, value: Option<Vec<u8>>) -> Self {
        Header {
            key: key.into(),
            value,
        }
    }
}

/// A record as produced: key, value, timestamp (epoch milliseconds) and headers.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Record {
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    /// Epoch milliseconds, kept exactly as given.
    pub timestamp: i64,
    pub headers: Vec<Header>,
}

impl Record {
    /// A record without headers.
    pub fn new(key: Option<Vec<u8>>, value: Option<Vec<u8>>, timestamp: i64) -> Self {
        Record {
            key,
            value,
            timestamp,
            headers: Vec::new(),
        }
    }

    /// Appends a header (builder style).
    pub fn with_header(mut self, key: impl Into<String>, value: Option<Vec<u8>>) -> Self {
        self.headers.push(Header::new(key, value));
        self
    }
}

/// A record as fetched: where it lives in the log, plus the record itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRecord {
    /// Shared with every other record fetched from the same topic (cheap to clone).
    pub topic: Arc<str>,
    pub partition: i32,
    pub offset: i64,
    pub record: Record,
}

/// What to create: name, partition count, replication factor and topic configs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicSpec {
    pub name: String,
    pub partitions: i32,
    pub replicas: i16,
    #[serde(default)]
    pub configs: BTreeMap<String, String>,
}

impl TopicSpec {
    /// A spec with one replica and no configs.
    pub fn new(name: impl Into<String>, partitions: i32) -> Self {
        TopicSpec {
            name: name.into(),
            partitions,
            replicas: 1,
            configs: BTreeMap::new(),
        }
    }

    /// Sets the replication factor (builder style).
    pub fn with_replicas(mut self, replicas: i16) -> Self {
        self.replicas = replicas;
        self
    }

    /// Sets one topic config, e.g. `retention.ms` (builder style).
    pub fn with_config(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.configs.insert(key.into(), value.into());
        self
    }
}

/// Offsets of one partition: `start_offset` is the first available record,
/// `end_offset` the offset the next produced record will get.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionInfo {
    pub id: i32,
    pub start_offset: i64,
    pub end_offset: i64,
}

/// The current state of a topic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicDescription {
    pub name: String,
    pub partitions: Vec<PartitionInfo>,
    pub replicas: i16,
    pub configs: BTreeMap<String, String>,
}

/// A partitioned, append-only log of records with Kafka's semantics.
///
/// Every method is synchronous and may be called from several threads at
/// once. Offsets are per partition and increasing; they start at 0 and
/// have gaps where a compaction removed records, and the first ones go
/// when retention deletes them (see [`Log::start_offsets`]).
pub trait Log: Send + Sync {
    /// Creates a topic; [`LogError::TopicExists`] if it already exists,
    /// [`LogError::InvalidConfig`] for an illegal name, `partitions <= 0` or
    /// `replicas <= 0`.
    fn create_topic(&self, spec: &TopicSpec) -> Result<(), LogError>;

    /// Deletes a topic with its records and the committed offsets of every
    /// group on it; [`LogError::UnknownTopic`] if it does not exist.
    fn delete_topic(&self, name: &str) -> Result<(), LogError>;

    /// All topic names, sorted. Internal topics (starting with `_`) are
    /// included; callers filter.
    fn list_topics(&self) -> Result<Vec<String>, LogError>;

    fn describe_topic(&self, name: &str) -> Result<TopicDescription, LogError>;

    fn topic_exists(&self, name: &str) -> Result<bool, LogError>;

    /// Sets (adds or replaces) the given topic configs; others are kept.
    fn alter_topic_configs(
        &self,
        name: &str,
        set: &BTreeMap<String, String>,
    ) -> Result<(), LogError>;

    /// Grows the topic to `total` partitions; [`LogError::InvalidConfig`] if
    /// `total` is not more than the current count.
    fn add_partitions(&self, name: &str, total: i32) -> Result<(), LogError>;

    /// Deletes the records of each `(partition, offset)` below that offset,
    /// as Kafka's DeleteRecords does (Kafka Streams purges the repartition
    /// topics it has read so): the partition's start offset moves up to it
    /// (on the embedded log's disk, to the first segment still holding a
    /// record at or above it). An offset beyond the end is
    /// [`LogError::OffsetOutOfRange`] (Kafka still deletes in the other
    /// partitions; the embedded log then deletes nothing).
    fn delete_records(&self, topic: &str, before: &[(i32, i64)]) -> Result<(), LogError>;

    /// Appends records. A `None` partition uses Kafka's default partitioner:
    /// `to_positive(murmur2(key)) % partitions` for keyed records; records
    /// without a key all go to one partition per call, rotating between
    /// calls (Kafka's sticky partitioning). Returns `(partition, offset)` per
    /// record in input order. Timestamps are kept as given. All partitions
    /// are validated before anything is written.
    fn produce(
        &self,
        topic: &str,
        records: Vec<(Option<i32>, Record)>,
    ) -> Result<Vec<(i32, i64)>, LogError>;

    /// Up to `max` records of one partition starting at `offset`; fewer at
    /// the end, empty when `offset` is the end offset.
    /// [`LogError::OffsetOutOfRange`] outside `start_offset..=end_offset`.
    fn fetch(
        &self,
        topic: &str,
        partition: i32,
        offset: i64,
        max: usize,
    ) -> Result<Vec<StoredRecord>, LogError>;

    /// The next offset of every partition of the topic.
    fn end_offsets(&self, topic: &str) -> Result<Vec<i64>, LogError>;

    /// The first offset still stored of every partition of the topic (the
    /// log start offset: retention moves it forward).
    fn start_offsets(&self, topic: &str) -> Result<Vec<i64>, LogError> {
        Ok(self
            .describe_topic(topic)?
            .partitions
            .iter()
            .map(|p| p.start_offset)
            .collect())
    }

    /// Stores consumer-group offsets `(topic, partition, next offset to read)`.
    /// Topics and partitions must exist.
    fn commit(&self, group: &str, offsets: &[(String, i32, i64)]) -> Result<(), LogError>;

    /// The committed offset of every partition of `topic` for `group`
    /// (`None` where nothing was committed).
    fn committed(&self, group: &str, topic: &str) -> Result<Vec<Option<i64>>, LogError>;

    /// Atomically appends records to several topics and commits group
    /// offsets (the analogue of a Kafka transaction with
    /// `sendOffsetsToTransaction`): either everything becomes visible or
    /// nothing does. Returns `(partition, offset)` per record in input order.
    fn produce_and_commit(
        &self,
        produce: Vec<(String, Option<i32>, Record)>,
        group: &str,
        offsets: &[(String, i32, i64)],
    ) -> Result<Vec<(i32, i64)>, LogError>;

    /// Takes part in consumer group `group` as a member reading `topics`, and
    /// returns the partitions assigned to this member now, as `(topic,
    /// partition)`; `None` when the log has no group membership (one process
    /// reads every partition). Call it regularly: joining, heartbeats' news
    /// and rebalances are served inside the call, so the answer changes as
    /// other members come and go.
    fn assigned(
        &self,
        group: &str,
        topics: &[String],
    ) -> Result<Option<Vec<(String, i32)>>, LogError> {
        let _ = (group, topics);
        Ok(None)
    }

    /// The members of consumer group `group` (which this log takes part in
    /// through [`Log::assigned`]) and the partitions each is assigned now,
    /// in the order of their member ids (the same on every member while
    /// the group is settled, [`GroupMembers::settled`]); `None` when the log
    /// has no group membership. The answer may be a few seconds old.
    fn group_members(&self, group: &str) -> Result<Option<GroupMembers>, LogError> {
        let _ = group;
        Ok(None)
    }

    /// Takes part in `group` (as a reader of `topic`) under `name`, as a
    /// server announcing itself to the others of its service, and lists the
    /// names of the group's members now (this one among them once it has
    /// joined); `None` when the log has no consumer groups (one process
    /// only). Call it regularly: staying in the group needs it.
    fn presence(
        &self,
        group: &str,
        topic: &str,
        name: &str,
    ) -> Result<Option<Vec<String>>, LogError> {
        let _ = (group, topic, name);
        Ok(None)
    }

    /// Called before a task of `group` reads its committed offsets: under
    /// exactly-once, fences earlier incarnations of this task (a server
    /// killed and started again) and aborts the transaction they left open,
    /// so the committed offsets read next are final.
    fn fence(&self, group: &str) -> Result<(), LogError> {
        let _ = group;
        Ok(())
    }

    /// Leaves `group` (its query stopped): its partitions go to the other
    /// members at once.
    fn leave(&self, group: &str) {
        let _ = group;
    }
}

/// [`Log::fetch`], but from the log start offset when `offset` lies below
/// it (retention deleted those records): how a reader that wants everything
/// still stored reads on.
pub fn fetch_stored(
    log: &dyn Log,
    topic: &str,
    partition: i32,
    offset: i64,
    max: usize,
) -> Result<Vec<StoredRecord>, LogError> {
    match log.fetch(topic, partition, offset, max) {
        Err(LogError::OffsetOutOfRange { .. }) => {
            let start = log
                .start_offsets(topic)?
                .get(partition as usize)
                .copied()
                .unwrap_or(0);
            if start > offset {
                log.fetch(topic, partition, start, max)
            } else {
                Err(LogError::OffsetOutOfRange {
                    topic: topic.to_string(),
                    partition,
                    offset,
                })
            }
        }
        other => other,
    }
}

/// Checks Kafka's topic-name rules: 1..=249 chars of `[a-zA-Z0-9._-]`, not
/// `.` or `..`.
pub fn validate_topic_name(name: &str) -> Result<(), LogError> {
    let bad = |why: &str| {
        Err(LogError::InvalidConfig(format!(
            "Invalid topic name '{name}': {why}"
        )))
    };
    if name.is_empty() {
        return bad("the empty string is not allowed.");
    }
    if name == "." || name == ".." {
        return bad("'.' and '..' are not allowed.");
    }
    if name.len() > MAX_TOPIC_NAME_LEN {
        return bad("it is longer than 249 characters.");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-')
    {
        return bad("it contains a character other than ASCII alphanumerics, '.', '_' and '-'.");
    }
    Ok(())
}

#[cfg(test)]
mod group_members_tests {
    use super::GroupMembers;

    fn members(me: Option<usize>) -> GroupMembers {
        let t = |ps: &[i32]| ps.iter().map(|p| ("t".to_string(), *p)).collect();
        GroupMembers {
            members: vec![t(&[0, 1]), t(&[2]), t(&[3])],
            me,
            settled: me.is_some(),
        }
    }

    /// Of a partition's other members, the `replicas` after its owner in
    /// member order (and round) keep warm copies; never its owner.
    #[test]
    fn standbys_are_the_members_after_the_owner() {
        let keepers = |p: i32, replicas: usize| -> Vec<usize> {
            (0..3)
                .filter(|me| members(Some(*me)).keeps_standby("t", p, replicas))
                .collect()
        };
        assert_eq!(keepers(0, 1), [1]);
        assert_eq!(keepers(1, 1), [1]);
        assert_eq!(keepers(2, 1), [2]);
        // round from the last member to the first
        assert_eq!(keepers(3, 1), [0]);
        assert_eq!(keepers(3, 2), [0, 1]);
        // more replicas than other members: every other member
        assert_eq!(keepers(2, 5), [0, 2]);
        // a partition nobody owns, or a member not listed yet: kept warm
        assert_eq!(keepers(9, 1), [0, 1, 2]);
        assert!(members(None).keeps_standby("t", 0, 1));
    }
}
