//! The crate's error type.
//!
//! Statement-time errors carry ksqlDB's wording so the engine can surface them
//! unchanged (it typically appends `\nStatement: ...` or prepends
//! `Failed to prepare statement: `). Per-row deserialization problems are *not*
//! errors: they are reported as [`crate::RowStatus::Error`].

use thiserror::Error;

/// Everything that can go wrong building or validating a serde, or encoding rows.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FormatError {
    /// A format name no version of ksqlDB knows, e.g. `FOO`.
    #[error("Unknown format: {0}")]
    UnknownFormat(String),

    /// A ksqlDB format Sluice does not implement yet (none at the moment).
    #[error("The '{0}' format is not supported yet")]
    NotYetSupported(String),

    /// The column list cannot be stored in the format. Rendered like ksqlDB's
    /// `Key format does not support schema.` statement error; `reason` holds the
    /// format-specific explanation (e.g. `The 'KAFKA' format does not support type 'BOOLEAN'`).
    #[error(
        "{target} format does not support schema.\nformat: {format}\nschema: Persistence{{columns={columns}, features=[{features}]}}\nreason: {reason}"
    )]
    UnsupportedSchema {
        /// `Key` or `Value`.
        target: &'static str,
        /// Format name, e.g. `KAFKA`.
        format: String,
        /// The column list as ksqlDB prints it, e.g. ``[`K` STRING KEY]``.
        columns: String,
        /// Serde features, e.g. `UNWRAP_SINGLES`, comma separated.
        features: String,
        /// Why the schema is rejected.
        reason: String,
    },

    /// A key column whose type is or contains a MAP (ksqlDB issue 6621).
    #[error(
        "Map keys, including types that contain maps, are not supported as they may lead to unexpected behavior due to inconsistent serialization. Key column name: `{column}`. Column type: {sql_type}. See https://github.com/confluentinc/ksql/issues/6621 for more."
    )]
    MapKey {
        /// Key column name.
        column: String,
        /// Its SQL type, e.g. `MAP<STRING, DOUBLE>`.
        sql_type: String,
    },

    /// An invalid WITH-clause property (delimiter, WRAP_SINGLE_VALUE, ...); the
    /// message is ksqlDB's, verbatim.
    #[error("{0}")]
    InvalidProperty(String),

    /// An Arrow type outside Sluice's SQL type mapping.
    #[error("Column `{column}` has Arrow type {data_type}, which has no SQL type")]
    UnsupportedType {
        /// Column (or nested field) name.
        column: String,
        /// The Arrow type, debug-printed.
        data_type: String,
    },

    /// Encoding failed, or columns did not match the schema.
    #[error("{0}")]
    Serialization(String),
}
