//! sluice-registry: an embedded schema registry that speaks Confluent Schema
//! Registry's REST API, so Confluent's clients and serializers work against
//! Sluice unchanged.
//!
//! It owns schemas, subjects and their versions, global schema ids (one id per
//! distinct schema text, type and references, across subjects), soft and
//! permanent deletes, compatibility levels and the rules behind them
//! ([`compat`]), the `_schemas` topic that stores every change on a
//! [`sluice_log::Log`] ([`storage`]) and the REST API ([`http`]). The
//! [`Registry`] also implements [`sluice_formats::SchemaRegistry`], so the engine
//! registers and finds its AVRO, JSON_SR and PROTOBUF schemas in the same place
//! (respecting the compatibility levels). For a Sluice pointed at another
//! registry, [`client::RegistryClient`] implements the same trait over HTTP.
//!
//! Start reading at [`store`] (the operations), then [`storage`] (how changes
//! become `_schemas` records) and [`http`] (the endpoints).
//!
//! It must not know about SQL, statements or the engine: it knows schemas and
//! the log it keeps them on.

pub mod client;
pub mod compat;
pub mod error;
pub mod http;
mod schema;
mod state;
pub mod storage;
pub mod store;

pub use compat::CompatibilityLevel;
pub use error::RegistryError;
pub use http::router;
pub use store::{Registry, SubjectVersion, VersionSpec};
