//! Kafka Connect inside Sluice: connectors declared with Kafka Connect's
//! configs (`connector.class`, `key.converter`, `transforms`, ...) run in the
//! server, with no JVM. This crate owns a connector's configuration
//! ([`ConnectorConfig`], its secrets), Connect's data model ([`data`]), the
//! converters between it and bytes ([`convert`]; Confluent's Avro converter
//! over a schema registry in [`avro`]), single message transforms
//! ([`transform`]), the built-in connector classes ([`Plugin`]: datagen,
//! Kafka's file source and sink) and the [`Worker`] that runs their tasks over
//! a [`sluice_log::Log`], storing source offsets with the records they
//! produced and committing sink offsets after the sink has written.
//!
//! It knows nothing of SQL, streams or the engine: the engine declares
//! connectors from statements and keeps them in its command log.

pub mod avro;
pub mod config;
pub mod convert;
pub mod data;
mod datagen;
mod error;
mod file;
mod jdbc;
pub mod plugin;
pub mod record;
mod schemaless;
pub mod task;
pub mod transform;
mod worker;

pub use config::{is_secret, ConnectorConfig, HIDDEN};
pub use error::{ConnectError, Result};
pub use plugin::{ConnectorType, Plugin};
pub use worker::{
    ConnectorInfo, ConnectorStatus, Reporter, SkippedRecord, State, TargetState, TaskStatus,
    Worker, WorkerConfig,
};
