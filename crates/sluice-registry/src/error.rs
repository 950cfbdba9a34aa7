//! The registry's errors, each with Confluent's error code and message.

use sluice_log::LogError;

/// Confluent Schema Registry's error codes (`io.confluent.kafka.schemaregistry.rest.exceptions`).
/// The HTTP status is the code's first three digits.
pub mod codes {
    pub const SUBJECT_NOT_FOUND: u32 = 40401;
    pub const VERSION_NOT_FOUND: u32 = 40402;
    pub const SCHEMA_NOT_FOUND: u32 = 40403;
    pub const SUBJECT_SOFT_DELETED: u32 = 40404;
    pub const SUBJECT_NOT_SOFT_DELETED: u32 = 40405;
    pub const VERSION_SOFT_DELETED: u32 = 40406;
    pub const VERSION_NOT_SOFT_DELETED: u32 = 40407;
    pub const SUBJECT_CONFIG_NOT_FOUND: u32 = 40408;
    pub const INCOMPATIBLE: u32 = 409;
    pub const INVALID_SCHEMA: u32 = 42201;
    pub const INVALID_VERSION: u32 = 42202;
    pub const INVALID_COMPATIBILITY: u32 = 42203;
    pub const BAD_REQUEST: u32 = 400;
    pub const STORE: u32 = 50001;
}

/// Everything a registry operation can refuse or fail with. Messages are
/// Confluent's, so clients that show them read as they would against it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    #[error("Subject '{0}' not found.")]
    SubjectNotFound(String),
    #[error("Version {version} not found.")]
    VersionNotFound { subject: String, version: String },
    /// A lookup found no version holding the schema.
    #[error("Schema not found")]
    SchemaNotFound,
    #[error("Schema {0} not found")]
    SchemaIdNotFound(String),
    #[error("Subject '{0}' was soft deleted.Set permanent=true to delete permanently")]
    SubjectSoftDeleted(String),
    #[error("Subject '{0}' was not deleted first before being permanently deleted")]
    SubjectNotSoftDeleted(String),
    #[error("Subject '{subject}' Version {version} was soft deleted.Set permanent=true to delete permanently")]
    VersionSoftDeleted { subject: String, version: i32 },
    #[error("Subject '{subject}' Version {version} was not deleted first before being permanently deleted")]
    VersionNotSoftDeleted { subject: String, version: i32 },
    #[error("Subject '{0}' does not have subject-level compatibility configured")]
    SubjectConfigNotFound(String),
    /// The schema breaks the subject's compatibility level; `messages` say how.
    #[error("Schema being registered is incompatible with an earlier schema for subject \"{subject}\", details: [{}]", messages.join(", "))]
    Incompatible {
        subject: String,
        messages: Vec<String>,
    },
    #[error("Invalid schema: {0}")]
    InvalidSchema(String),
    #[error("The specified version '{0}' is not a valid version id. Allowed values are between [1, 2^31-1] and the string \"latest\"")]
    InvalidVersion(String),
    #[error("Invalid compatibility level '{0}'. Valid values are none, backward, forward, full, backward_transitive, forward_transitive, and full_transitive")]
    InvalidCompatibility(String),
    /// A request body that is not the JSON an endpoint expects.
    #[error("{0}")]
    BadRequest(String),
    /// The `_schemas` topic could not be read or written.
    #[error("Error while storing the schema registry's state: {0}")]
    Store(String),
}

impl RegistryError {
    /// Confluent's `error_code`.
    pub fn code(&self) -> u32 {
        use codes::*;
        match self {
            RegistryError::SubjectNotFound(_) => SUBJECT_NOT_FOUND,
            RegistryError::VersionNotFound { .. } => VERSION_NOT_FOUND,
            RegistryError::SchemaNotFound | RegistryError::SchemaIdNotFound(_) => SCHEMA_NOT_FOUND,
            RegistryError::SubjectSoftDeleted(_) => SUBJECT_SOFT_DELETED,
            RegistryError::SubjectNotSoftDeleted(_) => SUBJECT_NOT_SOFT_DELETED,
            RegistryError::VersionSoftDeleted { .. } => VERSION_SOFT_DELETED,
            RegistryError::VersionNotSoftDeleted { .. } => VERSION_NOT_SOFT_DELETED,
            RegistryError::SubjectConfigNotFound(_) => SUBJECT_CONFIG_NOT_FOUND,
            RegistryError::Incompatible { .. } => INCOMPATIBLE,
            RegistryError::InvalidSchema(_) => INVALID_SCHEMA,
            RegistryError::InvalidVersion(_) => INVALID_VERSION,
            RegistryError::InvalidCompatibility(_) => INVALID_COMPATIBILITY,
            RegistryError::BadRequest(_) => BAD_REQUEST,
            RegistryError::Store(_) => STORE,
        }
    }

    /// The HTTP status: the first three digits of the code.
    pub fn http_status(&self) -> u16 {
        let code = self.code();
        let status = if code >= 1000 { code / 100 } else { code };
        u16::try_from(status).unwrap_or(500)
    }
}

impl From<LogError> for RegistryError {
    fn from(e: LogError) -> Self {
        RegistryError::Store(e.to_string())
    }
}
