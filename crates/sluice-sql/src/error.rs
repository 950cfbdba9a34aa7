//! Parse errors with the position they were found at, worded as ksqlDB words them.

use std::fmt;

use crate::ast::Pos;

/// What kind of refusal a [`ParseError`] is: ksqlDB words each differently.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseErrorKind {
    /// The grammar refuses the text (ksqlDB's ANTLR syntax errors): `expected`
    /// at the position of `found`, `None` for the end of the input.
    Syntax {
        expected: String,
        found: Option<String>,
    },
    /// Any other text the grammar refuses (a token the lexer cannot read, a
    /// reserved word as a name), in Sluice's words.
    Grammar,
    /// A literal the grammar accepts but whose value is refused (ksqlDB's
    /// `ParsingException` raised while building the statement).
    Literal,
    /// A statement the grammar reads but ksqlDB's AstBuilder refuses (it
    /// says no location).
    Prepare,
    /// Any other refusal, with its location.
    Other,
}

/// A statement that cannot be parsed: what was wrong and where.
///
/// Displayed as ksqlDB displays it: a syntax error as
/// `line 2:47: Syntax Error` and ksqlDB's hint (`Syntax error at or near 'X'
/// at line 2:47`, `missing ')' at ','`, `Unknown statement 'X'`), then what
/// was expected; a refused literal as `Failed to prepare statement: line 2:40:
/// Invalid numeric literal: ...` (ksqlDB counts that column from the token's
/// second character); anything else as `Line: 1, Col: 25: message`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ParseError {
    pub message: String,
    pub pos: Pos,
    pub kind: ParseErrorKind,
    /// The text ksqlDB shows after the message (`Statement: ...`): the line
    /// of a syntax error, the statement of a refused literal.
    pub statement: Option<String>,
}

/// The statements ksqlDB's grammar starts with, for `Did you mean ...?`.
const COMMANDS: [&str; 18] = [
    "SELECT",
    "CREATE",
    "INSERT",
    "DESCRIBE",
    "PRINT",
    "EXPLAIN",
    "SHOW",
    "LIST",
    "TERMINATE",
    "PAUSE",
    "RESUME",
    "DROP",
    "SET",
    "DEFINE",
    "UNDEFINE",
    "UNSET",
    "ASSERT",
    "ALTER",
];

impl ParseError {
    pub fn new(message: impl Into<String>, pos: Pos) -> Self {
        ParseError {
            message: message.into(),
            pos,
            kind: ParseErrorKind::Other,
            statement: None,
        }
    }

    /// The grammar expected `expected` where it found `found` (`None`: the end).
    pub fn syntax(expected: impl Into<String>, found: Option<String>, pos: Pos) -> Self {
        let expected = expected.into();
        let message = format!(
            "expected {expected}, found {}",
            found
                .as_deref()
                .map_or_else(|| "end of input".to_string(), |f| format!("'{f}'"))
        );
        ParseError {
            message,
            pos,
            kind: ParseErrorKind::Syntax { expected, found },
            statement: None,
        }
    }

    /// Text the grammar refuses, in `message`'s words.
    pub fn grammar(message: impl Into<String>, pos: Pos) -> Self {
        ParseError {
            message: message.into(),
            pos,
            kind: ParseErrorKind::Grammar,
            statement: None,
        }
    }

    /// A literal whose value is refused (`Invalid numeric literal: ...`).
    pub fn literal(message: impl Into<String>, pos: Pos) -> Self {
        ParseError {
            message: message.into(),
            pos,
            kind: ParseErrorKind::Literal,
            statement: None,
        }
    }

    /// A statement ksqlDB refuses while building it (`Failed to prepare
    /// statement: ...`).
    pub fn prepare(message: impl Into<String>) -> Self {
        ParseError {
            message: message.into(),
            pos: Pos::default(),
            kind: ParseErrorKind::Prepare,
            statement: None,
        }
    }

    /// The same error, with the text ksqlDB shows after it, taken from `sql`
    /// (a text starting at `start` of the script): the line of a syntax
    /// error, the whole statement otherwise.
    pub fn in_text(mut self, sql: &str, start: Pos) -> Self {
        self.statement = match self.kind {
            ParseErrorKind::Syntax { .. } | ParseErrorKind::Grammar => {
                let index = self.pos.line.saturating_sub(start.line) as usize;
                sql.lines().nth(index).map(str::to_string)
            }
            ParseErrorKind::Literal | ParseErrorKind::Prepare => Some(sql.trim().to_string()),
            ParseErrorKind::Other => None,
        };
        self
    }

    /// The same error as found in a text starting at `start` of a larger one.
    pub fn shifted(mut self, start: Pos) -> Self {
        self.pos = start.shift(self.pos);
        self
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.fmt_message(f)?;
        match &self.statement {
            Some(text) => write!(f, "\nStatement: {text}"),
            None => Ok(()),
        }
    }
}

impl ParseError {
    fn fmt_message(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Pos { line, column } = self.pos;
        match &self.kind {
            ParseErrorKind::Syntax { expected, found } => {
                writeln!(f, "line {line}:{column}: Syntax Error")?;
                let closing = matches!(expected.as_str(), "')'" | "']'" | "'}'" | "'>'");
                match found {
                    Some(tok) if expected == "a statement" => {
                        write!(
                            f,
                            "Unknown statement '{tok}'\nDid you mean '{}'?",
                            most_similar_command(tok)
                        )
                    }
                    None if closing => {
                        write!(
                            f,
                            "Syntax error at or near \";\"\n'}}', ']', or ')' is missing"
                        )
                    }
                    // ANTLR's single-token insertion: a bracket left open
                    Some(tok) if closing => write!(f, "missing {expected} at '{tok}'"),
                    // a short list of what ANTLR expected
                    Some(_) if expected.starts_with('{') => write!(f, "Expecting {expected}"),
                    // the end of a statement: ANTLR expects a long list of
                    // clauses there and names none of them
                    Some(_) if expected == "';'" => Ok(()),
                    Some(tok) => write!(
                        f,
                        "Syntax error at or near '{tok}' at line {line}:{column}\n{}",
                        self.message
                    ),
                    None => write!(
                        f,
                        "Syntax error at or near '<EOF>' at line {line}:{column}\n{}",
                        self.message
                    ),
                }
            }
            ParseErrorKind::Grammar => {
                write!(f, "line {line}:{column}: Syntax Error\n{}", self.message)
            }
            ParseErrorKind::Literal => write!(
                f,
                "Failed to prepare statement: line {line}:{}: {}",
                column + 1,
                self.message
            ),
            ParseErrorKind::Prepare => {
                write!(f, "Failed to prepare statement: {}", self.message)
            }
            ParseErrorKind::Other => write!(f, "{}: {}", self.pos, self.message),
        }
    }
}

/// The statement keyword closest to `word` by edit distance (ksqlDB's
/// Levenshtein hint; the first of equally close ones).
fn most_similar_command(word: &str) -> &'static str {
    let upper = word.to_ascii_uppercase();
    COMMANDS
        .iter()
        .min_by_key(|c| levenshtein(&upper, c))
        .copied()
        .unwrap_or("SELECT")
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(line: u64, column: u64) -> Pos {
        Pos { line, column }
    }

    #[test]
    fn syntax_errors_read_as_ksqldb_words_them() {
        let e = ParseError::syntax("a type", Some("NULL".into()), at(2, 47));
        assert_eq!(
            e.to_string(),
            "line 2:47: Syntax Error\nSyntax error at or near 'NULL' at line 2:47\nexpected a type, found 'NULL'"
        );
        let e = ParseError::syntax("')'", Some(",".into()), at(2, 74));
        assert_eq!(e.to_string(), "line 2:74: Syntax Error\nmissing ')' at ','");
        let e = ParseError::syntax("')'", None, at(1, 30));
        assert!(e.to_string().ends_with("'}', ']', or ')' is missing"));
        let e = ParseError::syntax("a statement", Some("SELCT".into()), at(1, 1));
        assert_eq!(
            e.to_string(),
            "line 1:1: Syntax Error\nUnknown statement 'SELCT'\nDid you mean 'SELECT'?"
        );
    }

    #[test]
    fn refused_literals_count_columns_as_ksqldb_does() {
        let e = ParseError::literal("Invalid numeric literal: 9223372036854775808", at(2, 39));
        assert_eq!(
            e.to_string(),
            "Failed to prepare statement: line 2:40: Invalid numeric literal: 9223372036854775808"
        );
    }

    #[test]
    fn a_shifted_error_counts_from_the_start_of_the_whole_text() {
        let e = ParseError::new("x", at(1, 5)).shifted(at(3, 10));
        assert_eq!(e.pos, at(3, 14));
        let e = ParseError::new("x", at(2, 5)).shifted(at(3, 10));
        assert_eq!(e.pos, at(4, 5));
    }
}
