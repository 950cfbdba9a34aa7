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
    /// An unqualified column several sources have (ksqlDB's
    /// `AmbiguousColumnException`, raised while preparing the statement).
    #[error("{}Column '{name}' is ambiguous. Could be {}.", pos.map(|p| format!("Exception while preparing statement: {p}: ")).unwrap_or_default(), crate::english_list(candidates, "or"))]
    Ambiguous {
        name: String,
        /// `SOURCE.COLUMN` of each, sorted.
        candidates: Vec<String>,
        pos: Option<Pos>,
    },
    /// A FROM clause names no source (ksqlDB's `DataSourceExtractor`, while
    /// preparing the statement), with the sources it may have meant.
    #[error("Exception while preparing statement: {name} does not exist.{hint}")]
    UnknownSource { name: String, hint: String },
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

    /// A persistent query selecting a pseudo column (ROWTIME, WINDOWSTART,
    /// ...) without an alias (ksqlDB's Analyzer).
    pub fn reserved_in_select(name: &str) -> Self {
        PlanError::invalid(format!(
            "Reserved column name in select: `{name}`. Please remove or alias the column."
        ))
    }

    pub fn unknown_source(name: &str, catalog: &dyn crate::Catalog) -> Self {
        PlanError::UnknownSource {
            name: name.to_string(),
            hint: catalog.alternatives(name, None),
        }
    }

    /// The same error, found at `pos` (for errors that say where they are).
    pub fn at(self, at: Pos) -> Self {
        match self {
            PlanError::Ambiguous {
                name,
                candidates,
                pos: None,
            } => PlanError::Ambiguous {
                name,
                candidates,
                pos: Some(at),
            },
            other => other,
        }
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
