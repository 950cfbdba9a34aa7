//! The ksqlDB SQL dialect on top of `sqlparser`'s tokenizer: statements, expressions and
//! types as a syntax tree with source positions, and `Display` that prints them back as
//! SQL that parses to the same tree. Knows nothing of catalogs, types' meaning or
//! execution: the planner gives the tree its semantics.

pub mod ast;
mod dialect;
mod display;
mod error;
mod parser;
mod sanitize;
mod split;
mod walk;

pub use ast::*;
pub use dialect::KsqlDialect;
pub use error::ParseError;
pub use parser::{
    parse, parse_at, parse_data_type, parse_expr, parse_test_statements, substitute_variables,
};
pub use sanitize::{masked_connector, sanitized_create_as};
pub use split::{split_statements, split_statements_at};
pub use walk::map_children;
