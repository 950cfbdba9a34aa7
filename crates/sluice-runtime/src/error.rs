use sluice_log::LogError;

/// A failure that stops a query (as opposed to a bad record, which goes to the
/// processing log and is skipped).
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("log error: {0}")]
    Log(#[from] LogError),
    #[error("format error: {0}")]
    Format(#[from] sluice_formats::FormatError),
    #[error("expression error: {0}")]
    Expr(#[from] datafusion_common::DataFusionError),
    #[error("arrow error: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    #[error("{0}")]
    Plan(String),
    /// Operator state that could not be read back (a damaged changelog record).
    #[error("state error: {0}")]
    State(String),
    /// A state store that could not be opened, read or written.
    #[error("{0}")]
    Store(Box<sluice_state::StateError>),
}

impl From<sluice_state::StateError> for RuntimeError {
    fn from(e: sluice_state::StateError) -> Self {
        RuntimeError::Store(Box::new(e))
    }
}

impl RuntimeError {
    /// See [`LogError::is_transient`].
    pub fn is_transient(&self) -> bool {
        matches!(self, RuntimeError::Log(e) if e.is_transient())
    }
}
