//! The crate's error type.

use sluice_log::LogError;

/// What went wrong in a connector: its configuration, a record, the system it
/// talks to, or the log.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// A configuration Connect would refuse: the key and what is wrong.
    #[error("{key} - {message}")]
    Config { key: String, message: String },
    /// `connector.class` names no connector Sluice builds in.
    #[error("Failed to find any class that implements Connector and which name matches {0}")]
    UnknownClass(String),
    /// A record a converter or transform could not handle.
    #[error("{0}")]
    Conversion(String),
    /// The file, database or generator a task works with failed.
    #[error("{0}")]
    Task(String),
    /// The task ended as it was configured to (datagen's `iterations`): it
    /// shows as failed with this message, as in Connect, and is not retried.
    #[error("{0}")]
    Finished(String),
    /// No connector of that name.
    #[error("Connector {0} not found")]
    NotFound(String),
    /// A connector of that name exists already.
    #[error("Connector {0} already exists")]
    Exists(String),
    #[error(transparent)]
    Log(#[from] LogError),
}

impl ConnectError {
    pub fn config(key: &str, message: impl Into<String>) -> Self {
        ConnectError::Config {
            key: key.to_string(),
            message: message.into(),
        }
    }

    pub fn conversion(message: impl Into<String>) -> Self {
        ConnectError::Conversion(message.into())
    }

    /// Whether trying again later may succeed (a database or broker that
    /// is down), rather than failing the same way (a bad config or record).
    pub fn retriable(&self) -> bool {
        match self {
            ConnectError::Task(_) => true,
            ConnectError::Log(e) => matches!(e, LogError::Broker { .. }),
            _ => false,
        }
    }

    pub fn task(message: impl Into<String>) -> Self {
        ConnectError::Task(message.into())
    }
}

pub type Result<T, E = ConnectError> = std::result::Result<T, E>;
