//! The planner: ksqlDB's type system over Arrow, the catalog model of streams and
//! tables, and the translation of a parsed query into the runtime's operators, with
//! expressions compiled into DataFusion physical expressions typed the ksqlDB way.
//!
//! It reads the metastore only through [`catalog::Catalog`] and knows nothing about
//! logs, formats' bytes or how operators are scheduled.

pub mod aggregate;
pub mod builtins;
pub mod catalog;
mod error;
pub mod expr;
pub mod join;
mod lambda;
pub mod plan;
pub mod rewrite;
mod table_functions;
mod timestamps;
pub mod types;

pub use catalog::{Catalog, ColumnDef, ColumnRole, FormatDesc, SourceDef};
pub use error::PlanError;
pub use plan::{
    plan, plan_query, OutputColumn, ProjectPlan, QueryContext, QueryPlan, TableFunctionCall,
    TableFunctionKind,
};

/// A list as ksqlDB's messages write one: `A`, `A and B`, `A, B and C`
/// (`word` is the last separator: "and", "or").
pub(crate) fn english_list(items: &[String], word: &str) -> String {
    match items {
        [] => String::new(),
        [only] => only.clone(),
        [init @ .., last] => format!("{} {word} {last}", init.join(", ")),
    }
}
