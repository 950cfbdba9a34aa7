//! Parse errors with the position they were found at.

use crate::ast::Pos;

/// A syntax error: what was expected and what was found, and where.
///
/// Displayed as `Line: 1, Col: 25: expected ..., found 'FOO'`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{pos}: {message}")]
pub struct ParseError {
    pub message: String,
    pub pos: Pos,
}

impl ParseError {
    pub fn new(message: impl Into<String>, pos: Pos) -> Self {
        ParseError {
            message: message.into(),
            pos,
        }
    }
}
