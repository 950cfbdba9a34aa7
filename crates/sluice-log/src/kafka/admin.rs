//! Topic administration and metadata on Kafka: the AdminClient for changes,
//! metadata and ListOffsets requests for what is there.

use std::collections::BTreeMap;
use std::time::Duration;

use futures_executor::block_on;
use rdkafka::admin::{
    AdminOptions, AlterConfig, ConfigSource, NewPartitions, NewTopic, ResourceSpecifier,
    TopicReplication,
};
use rdkafka::consumer::Consumer;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::types::RDKafkaErrorCode as Code;

use super::{KafkaLog, REQUEST_TIMEOUT};
use crate::{validate_topic_name, LogError, PartitionInfo, TopicDescription, TopicSpec};

fn options() -> AdminOptions {
    AdminOptions::new().operation_timeout(Some(REQUEST_TIMEOUT))
}

/// A broker's refusal as a [`LogError`]: the ones the trait names by kind,
/// the rest with what was being done.
fn refusal(topic: &str, doing: &str, code: RDKafkaErrorCode) -> LogError {
    match code {
        Code::TopicAlreadyExists => LogError::TopicExists(topic.to_string()),
        Code::UnknownTopicOrPartition | Code::UnknownTopic => {
            LogError::UnknownTopic(topic.to_string())
        }
        Code::InvalidPartitions
        | Code::InvalidReplicationFactor
        | Code::InvalidConfig
        | Code::InvalidTopic
        | Code::InvalidRequest
        | Code::PolicyViolation => {
            LogError::InvalidConfig(format!("Cannot {doing} topic '{topic}': {code}"))
        }
        Code::UnsupportedVersion | Code::UnsupportedFeature => LogError::Unsupported(format!(
            "The Kafka broker does not support the request to {doing} topic '{topic}' ({code})."
        )),
        _ => LogError::Broker {
            context: format!("trying to {doing} topic '{topic}'"),
            message: code.to_string(),
        },
    }
}

fn request_error(topic: &str, doing: &str, e: KafkaError) -> LogError {
    let code = match &e {
        KafkaError::AdminOp(code) => Some(*code),
        e => e.rdkafka_error_code(),
    };
    match code {
        Some(code) => refusal(topic, doing, code),
        None => LogError::Broker {
            context: format!("trying to {doing} topic '{topic}'"),
            message: e.to_string(),
        },
    }
}

pub fn create_topic(log: &KafkaLog, spec: &TopicSpec) -> Result<(), LogError> {
    validate_topic_name(&spec.name)?;
    if spec.partitions <= 0 || spec.replicas <= 0 {
        return Err(LogError::InvalidConfig(format!(
            "Cannot create topic '{}': partitions and replicas must be positive.",
            spec.name
        )));
    }
    let mut topic = NewTopic::new(
        &spec.name,
        spec.partitions,
        TopicReplication::Fixed(i32::from(spec.replicas)),
    );
    for (k, v) in &spec.configs {
        topic = topic.set(k, v);
    }
    let results = block_on(log.admin.create_topics(&[topic], &options()))
        .map_err(|e| request_error(&spec.name, "create", e))?;
    for r in results {
        if let Err((name, code)) = r {
            return Err(refusal(&name, "create", code));
        }
    }
    log.forget_topic(&spec.name);
    wait_for(log, &spec.name, Some(spec.partitions))
}

pub fn delete_topic(log: &KafkaLog, name: &str) -> Result<(), LogError> {
    let results = block_on(log.admin.delete_topics(&[name], &options()))
        .map_err(|e| request_error(name, "delete", e))?;
    for r in results {
        if let Err((name, code)) = r {
            return Err(refusal(&name, "delete", code));
        }
    }
    wait_for(log, name, None)
}

/// DeleteRecords: each partition's records below its offset go (the
/// broker moves the log start offset up to it).
pub fn delete_records(log: &KafkaLog, topic: &str, before: &[(i32, i64)]) -> Result<(), LogError> {
    if before.is_empty() {
        return Ok(());
    }
    let mut tpl = rdkafka::TopicPartitionList::new();
    for (p, offset) in before {
        tpl.add_partition_offset(topic, *p, rdkafka::Offset::Offset(*offset))
            .map_err(|e| request_error(topic, "delete the records of", e))?;
    }
    let results = block_on(log.admin.delete_records(&tpl, &options()))
        .map_err(|e| request_error(topic, "delete the records of", e))?;
    for e in results.elements() {
        if let Err(err) = e.error() {
            return Err(match err.rdkafka_error_code() {
                Some(Code::OffsetOutOfRange) => LogError::OffsetOutOfRange {
                    topic: topic.to_string(),
                    partition: e.partition(),
                    offset: before
                        .iter()
                        .find(|(p, _)| *p == e.partition())
                        .map_or(-1, |(_, o)| *o),
                },
                Some(code) => refusal(topic, "delete the records of", code),
                None => request_error(topic, "delete the records of", err),
            });
        }
    }
    Ok(())
}

/// Wait until metadata shows the change (`Some(n)`: the topic with n
/// partitions; `None`: no topic), as Kafka's changes propagate asynchronously.
fn wait_for(log: &KafkaLog, name: &str, partitions: Option<i32>) -> Result<(), LogError> {
    let deadline = std::time::Instant::now() + REQUEST_TIMEOUT;
    loop {
        // a new partition is usable once it has a leader
        let now = match partition_metadata(log, name, "look up") {
            Ok(ps) if ps.iter().all(|p| p.leader >= 0) => Some(ps.len() as i32),
            Ok(_) => Some(0),
            Err(LogError::UnknownTopic(_)) => None,
            Err(e) => return Err(e),
        };
        let done = match partitions {
            Some(n) => now.is_some_and(|m| m >= n),
            None => now.is_none(),
        };
        if done {
            return Ok(());
        }
        if std::time::Instant::now() > deadline {
            return Err(LogError::Broker {
                context: format!("waiting for topic '{name}' to change"),
                message: "the cluster's metadata did not show the change in time".into(),
            });
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub fn list_topics(log: &KafkaLog) -> Result<Vec<String>, LogError> {
    let md = log
        .meta
        .fetch_metadata(None, REQUEST_TIMEOUT)
        .map_err(|e| request_error("*", "list", e))?;
    let mut names: Vec<String> = md
        .topics()
        .iter()
        .filter(|t| t.error().is_none())
        .map(|t| t.name().to_string())
        .collect();
    names.sort();
    Ok(names)
}

pub fn describe_topic(log: &KafkaLog, name: &str) -> Result<TopicDescription, LogError> {
    let mut partitions = Vec::new();
    let mut replicas = 1;
    for PartitionMetadata {
        id,
        replicas: copies,
        ..
    } in partition_metadata(log, name, "describe")?
    {
        replicas = i16::try_from(copies).unwrap_or(i16::MAX).max(1);
        let (low, high) = log.watermarks(name, id)?;
        partitions.push(PartitionInfo {
            id,
            start_offset: low,
            end_offset: log.known_end(name, id, high),
        });
    }
    partitions.sort_by_key(|p| p.id);
    Ok(TopicDescription {
        name: name.to_string(),
        partitions,
        replicas,
        configs: topic_configs(log, name)?,
    })
}

/// The configs set on the topic itself (not the broker's defaults).
fn topic_configs(log: &KafkaLog, name: &str) -> Result<BTreeMap<String, String>, LogError> {
    let results = block_on(
        log.admin
            .describe_configs(&[ResourceSpecifier::Topic(name)], &options()),
    )
    .map_err(|e| request_error(name, "describe the configs of", e))?;
    let mut entries = Vec::new();
    for r in results {
        let resource = r.map_err(|code| refusal(name, "describe the configs of", code))?;
        entries.extend(resource.entries);
    }
    // Kafka reports every config with where its value comes from; a broker
    // that reports only what was set on the topic calls all of them
    // defaults, and then all of them are the topic's
    let sources_known = entries
        .iter()
        .any(|e| !matches!(e.source, ConfigSource::Default));
    let configs = entries
        .into_iter()
        .filter(|e| !sources_known || matches!(e.source, ConfigSource::DynamicTopic))
        .filter_map(|e| Some((e.name, e.value?)))
        .collect();
    Ok(configs)
}

pub fn alter_topic_configs(
    log: &KafkaLog,
    name: &str,
    set: &BTreeMap<String, String>,
) -> Result<(), LogError> {
    log.metadata_partitions(name)?;
    // AlterConfigs replaces the topic's whole config: keep what is set
    let mut all = topic_configs(log, name)?;
    all.extend(set.iter().map(|(k, v)| (k.clone(), v.clone())));
    let mut alter = AlterConfig::new(ResourceSpecifier::Topic(name));
    for (k, v) in &all {
        alter = alter.set(k, v);
    }
    let results = block_on(log.admin.alter_configs(&[alter], &options()))
        .map_err(|e| request_error(name, "alter the configs of", e))?;
    for r in results {
        r.map_err(|(_, code)| refusal(name, "alter the configs of", code))?;
    }
    Ok(())
}

pub fn add_partitions(log: &KafkaLog, name: &str, total: i32) -> Result<(), LogError> {
    let now = log.metadata_partitions(name)?;
    if total <= now {
        return Err(LogError::InvalidConfig(format!(
            "Topic '{name}' has {now} partitions; it can only grow (asked for {total})."
        )));
    }
    let results = block_on(
        log.admin
            .create_partitions(&[NewPartitions::new(name, total as usize)], &options()),
    )
    .map_err(|e| request_error(name, "add partitions to", e))?;
    for r in results {
        if let Err((name, code)) = r {
            return Err(refusal(&name, "add partitions to", code));
        }
    }
    log.partitions.lock().remove(name);
    wait_for(log, name, Some(total))
}

/// One partition as metadata gives it.
struct PartitionMetadata {
    id: i32,
    replicas: usize,
    /// The leading broker, -1 while there is none.
    leader: i32,
}

/// Each partition of `topic` as metadata gives it, in one request;
/// [`LogError::UnknownTopic`] when there is no such topic.
fn partition_metadata(
    log: &KafkaLog,
    topic: &str,
    doing: &str,
) -> Result<Vec<PartitionMetadata>, LogError> {
    let md = log
        .meta
        .fetch_metadata(Some(topic), REQUEST_TIMEOUT)
        .map_err(|e| request_error(topic, doing, e))?;
    let t = md
        .topics()
        .iter()
        .find(|t| t.name() == topic)
        .ok_or_else(|| LogError::UnknownTopic(topic.to_string()))?;
    if let Some(e) = t.error() {
        return Err(refusal(topic, doing, e.into()));
    }
    if t.partitions().is_empty() {
        return Err(LogError::UnknownTopic(topic.to_string()));
    }
    Ok(t.partitions()
        .iter()
        .map(|p| PartitionMetadata {
            id: p.id(),
            replicas: p.replicas().len(),
            leader: p.leader(),
        })
        .collect())
}

impl KafkaLog {
    /// The partition count metadata gives for `topic` (one request).
    pub(super) fn metadata_partitions(&self, topic: &str) -> Result<i32, LogError> {
        Ok(partition_metadata(self, topic, "look up")?.len() as i32)
    }

    /// (first offset, end offset) of a partition, retrying while its
    /// leadership moves (a new topic, a broker failing over).
    pub(super) fn watermarks(&self, topic: &str, partition: i32) -> Result<(i64, i64), LogError> {
        let deadline = std::time::Instant::now() + REQUEST_TIMEOUT;
        loop {
            match self
                .meta
                .fetch_watermarks(topic, partition, REQUEST_TIMEOUT)
            {
                Ok(w) => return Ok(w),
                Err(e) => match e.rdkafka_error_code() {
                    Some(Code::UnknownPartition) => {
                        return Err(LogError::UnknownPartition {
                            topic: topic.to_string(),
                            partition,
                        })
                    }
                    Some(code) if is_transient(code) && std::time::Instant::now() < deadline => {
                        std::thread::sleep(Duration::from_millis(100));
                    }
                    _ => return Err(request_error(topic, "read the offsets of", e)),
                },
            }
        }
    }
}

/// Errors a request meets while a partition's leadership moves or a broker
/// restarts: asking again soon succeeds.
pub(super) fn is_transient(code: RDKafkaErrorCode) -> bool {
    matches!(
        code,
        Code::NotLeaderForPartition
            | Code::LeaderNotAvailable
            | Code::FencedLeaderEpoch
            | Code::UnknownLeaderEpoch
            | Code::OffsetNotAvailable
            | Code::NotCoordinator
            | Code::CoordinatorLoadInProgress
            | Code::CoordinatorNotAvailable
            | Code::RequestTimedOut
            | Code::NetworkException
            | Code::KafkaStorageError
            | Code::BrokerTransportFailure
            | Code::AllBrokersDown
            | Code::NotEnoughReplicas
            | Code::NotEnoughReplicasAfterAppend
    )
}
