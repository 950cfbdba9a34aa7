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
pub mod graph;
pub mod join;
mod lambda;
pub mod plan;
pub mod rewrite;
mod table_functions;
mod timestamps;
pub mod types;
pub mod user_functions;

pub use catalog::{Catalog, ColumnDef, ColumnRole, FormatDesc, SourceDef};
pub use error::PlanError;
pub use graph::{GraphNode, GraphSink, QueryGraph};
pub use plan::{
    plan, plan_query, OutputColumn, ProjectPlan, QueryContext, QueryPlan, TableFunctionCall,
    TableFunctionKind,
};

/// What a persistent query's projection must hold to have its key, and is
/// missing (ksqlDB's `PlanNode#throwKeysNotIncludedError`): `what` names the
/// expressions ("key column", "join expression"...), `all` says they are all
/// needed (else one of them), `synthetic` that a join made up the key column.
pub fn keys_not_included(
    sink: &str,
    what: &str,
    keys: &[String],
    all: bool,
    synthetic: bool,
) -> PlanError {
    let many = keys.len() > 1;
    let mut msg = format!(
        "Key{} missing from projection (ie, SELECT). {}\nThe query used to build `{sink}` must include the {what}{} {} in its projection (eg, SELECT {}...).",
        if all && many { "s" } else { "" },
        if synthetic { "See https://cnfl.io/2LV7ouS." } else { "" },
        if many { "s" } else { "" },
        english_list(keys, if all { "and" } else { "or" }),
        if all { keys.join(", ") } else { keys.first().cloned().unwrap_or_default() },
    );
    if synthetic {
        msg.push_str(&format!(
            "\n{} was added as a synthetic key column because the join criteria did not match any source column. This expression must be included in the projection and may be aliased. ",
            keys.first().cloned().unwrap_or_default()
        ));
    }
    PlanError::invalid(msg)
}

/// A list as ksqlDB's messages write one: `A`, `A and B`, `A, B and C`
/// (`word` is the last separator: "and", "or").
pub(crate) fn english_list(items: &[String], word: &str) -> String {
    match items {
        [] => String::new(),
        [only] => only.clone(),
        [init @ .., last] => format!("{} {word} {last}", init.join(", ")),
    }
}
