use datafusion_common::DataFusionError;
use sluice_sql::Pos;

/// Why a statement cannot be planned. Messages follow ksqlDB's wording where users
/// and tests rely on it.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("{pos}: {context} column '{name}' cannot be resolved.")]
    UnknownColumn {
        name: String,
        pos: Pos,
        context: &'static str,
    },
    #[error("{0} does not exist.")]
    UnknownSource(String),
    #[error("{0}")]
    Type(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Unsupported(String),
    #[error("{0}")]
    DataFusion(#[from] DataFusionError),
}

impl PlanError {
    pub fn invalid(msg: impl Into<String>) -> Self {
        PlanError::Invalid(msg.into())
    }
    pub fn ty(msg: impl Into<String>) -> Self {
        PlanError::Type(msg.into())
    }
}

/// DataFusion wraps our own plan errors; unwrap them so users see our message.
pub(crate) fn df_message(e: &DataFusionError) -> String {
    match e {
        DataFusionError::Plan(m) | DataFusionError::Execution(m) => m.clone(),
        DataFusionError::Context(_, inner) => df_message(inner),
        other => other.to_string(),
    }
}
