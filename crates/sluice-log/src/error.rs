//! The error type of every [`crate::Log`] operation.

use std::path::PathBuf;

/// Errors of [`crate::Log`] operations. Messages read like Kafka's.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("Topic '{0}' already exists.")]
    TopicExists(String),

    #[error("Topic '{0}' does not exist.")]
    UnknownTopic(String),

    #[error("Partition {partition} of topic '{topic}' does not exist.")]
    UnknownPartition { topic: String, partition: i32 },

    #[error("Offset {offset} is out of range for partition {partition} of topic '{topic}'.")]
    OffsetOutOfRange {
        topic: String,
        partition: i32,
        offset: i64,
    },

    /// A record the topic refuses (Kafka's `InvalidRecordException`), such as
    /// a record without a key in a compacted topic.
    #[error("{0}")]
    InvalidRecord(String),

    /// Invalid arguments: bad topic names, `partitions <= 0`, `replicas <= 0`,
    /// shrinking partitions, ...
    #[error("{0}")]
    InvalidConfig(String),

    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },

    /// The Kafka cluster failed a request (unreachable, refused, timed out).
    #[error("Kafka error while {context}: {message}")]
    Broker { context: String, message: String },

    /// The backend (or the broker behind it) does not implement the request.
    #[error("{0}")]
    Unsupported(String),

    /// A persisted file is damaged somewhere other than a torn tail.
    #[error("Corrupt log file {file} at byte {offset}: {reason}")]
    Corrupt {
        file: PathBuf,
        offset: u64,
        reason: String,
    },
}

impl LogError {
    /// Whether asking again later may succeed: the cluster failed a request
    /// (unreachable, timed out, leadership moving). Missing topics, refused
    /// records and damaged files stay wrong until someone acts.
    pub fn is_transient(&self) -> bool {
        matches!(self, LogError::Broker { .. })
    }

    /// Kafka's refusal of a record without a key in a compacted topic.
    pub fn keyless_in_compacted_topic(topic: &str, partition: i32) -> Self {
        LogError::InvalidRecord(format!(
            "Compacted topic cannot accept message without key in topic partition {topic}-{partition}."
        ))
    }

    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        LogError::Io {
            context: context.into(),
            source,
        }
    }
}
