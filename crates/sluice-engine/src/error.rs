use sluice_log::LogError;
use sluice_planner::PlanError;
use sluice_runtime::RuntimeError;
use sluice_sql::ParseError;

/// Why a statement was refused or a query failed. The message is what users see.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("{0}")]
    Parse(#[from] ParseError),
    #[error("{0}")]
    Plan(#[from] PlanError),
    #[error("{0}")]
    Runtime(#[from] RuntimeError),
    #[error("{0}")]
    Log(#[from] LogError),
    #[error("{0}")]
    Format(#[from] sluice_formats::FormatError),
    /// The statement is valid SQL but cannot be executed in the current state.
    #[error("{0}")]
    Statement(String),
    /// A connector operation Connect refused, with the HTTP status ksqlDB
    /// answers it with (404 not found, 409 exists, ...).
    #[error("{message}")]
    Connect { status: u16, message: String },
    /// A statement form this version of Sluice does not execute.
    #[error("{0}")]
    Unsupported(String),
    /// An `ASSERT TOPIC|SCHEMA` did not hold within its timeout.
    #[error("{0}")]
    AssertionFailed(String),
}

impl EngineError {
    pub fn statement(msg: impl Into<String>) -> Self {
        EngineError::Statement(msg.into())
    }

    /// A failure of the Kafka cluster that its clients ride out (see
    /// `LogError::is_transient`).
    pub fn is_transient(&self) -> bool {
        match self {
            EngineError::Runtime(e) => e.is_transient(),
            EngineError::Log(e) => e.is_transient(),
            _ => false,
        }
    }
}

pub type Result<T, E = EngineError> = std::result::Result<T, E>;
