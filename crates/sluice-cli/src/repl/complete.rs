//! Tab completion: ksqlDB keywords plus the stream, table, column and function names
//! the REPL last read from the engine.

use std::sync::{Arc, Mutex};

use rustyline::completion::{Completer, Pair};
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::Validator;
use rustyline::{Context, Helper};

pub const KEYWORDS: &[&str] = &[
    "ALL",
    "AND",
    "ARRAY",
    "AS",
    "BETWEEN",
    "BIGINT",
    "BOOLEAN",
    "BY",
    "BYTES",
    "CASE",
    "CAST",
    "CHANGES",
    "CREATE",
    "DATE",
    "DECIMAL",
    "DEFINE",
    "DELETE",
    "DESCRIBE",
    "DOUBLE",
    "DROP",
    "ELSE",
    "EMIT",
    "END",
    "EXISTS",
    "EXIT",
    "EXPLAIN",
    "EXTENDED",
    "FALSE",
    "FINAL",
    "FROM",
    "FUNCTION",
    "FUNCTIONS",
    "GROUP",
    "HAVING",
    "HELP",
    "HOPPING",
    "IF",
    "IN",
    "INNER",
    "INSERT",
    "INT",
    "INTEGER",
    "INTO",
    "IS",
    "JOIN",
    "KAFKA_TOPIC",
    "KEY",
    "KEY_FORMAT",
    "LEFT",
    "LIKE",
    "LIMIT",
    "LIST",
    "MAP",
    "NOT",
    "NULL",
    "ON",
    "OR",
    "OUTER",
    "OUTPUT",
    "PARTITION",
    "PARTITIONS",
    "PRIMARY",
    "PROPERTIES",
    "QUERIES",
    "REPLACE",
    "RUN",
    "SCRIPT",
    "SELECT",
    "SESSION",
    "SET",
    "SHOW",
    "SIZE",
    "SPOOL",
    "STREAM",
    "STREAMS",
    "STRING",
    "STRUCT",
    "TABLE",
    "TABLES",
    "TERMINATE",
    "THEN",
    "TIME",
    "TIMESTAMP",
    "TOPIC",
    "TOPICS",
    "TRUE",
    "TUMBLING",
    "TYPE",
    "TYPES",
    "UNDEFINE",
    "UNSET",
    "VALUES",
    "VALUE_FORMAT",
    "VARIABLES",
    "WHEN",
    "WHERE",
    "WINDOW",
    "WITH",
];

/// Candidates for the word `prefix`, keywords first.
pub fn candidates(prefix: &str, names: &[String]) -> Vec<String> {
    if prefix.is_empty() {
        return Vec::new();
    }
    let upper = prefix.to_ascii_uppercase();
    let mut out: Vec<String> = KEYWORDS
        .iter()
        .filter(|k| k.starts_with(&upper))
        .map(|k| k.to_string())
        .collect();
    for n in names {
        if n.to_ascii_uppercase().starts_with(&upper) && !out.contains(n) {
            out.push(n.clone());
        }
    }
    out
}

pub struct SluiceHelper {
    pub names: Arc<Mutex<Vec<String>>>,
}

impl Completer for SluiceHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let before = &line[..pos];
        let start = before
            .char_indices()
            .rev()
            .find(|(_, c)| !(c.is_alphanumeric() || *c == '_'))
            .map_or(0, |(i, c)| i + c.len_utf8());
        let names = self.names.lock().map(|n| n.clone()).unwrap_or_default();
        let pairs = candidates(&before[start..], &names)
            .into_iter()
            .map(|c| Pair {
                display: c.clone(),
                replacement: c,
            })
            .collect();
        Ok((start, pairs))
    }
}

impl Hinter for SluiceHelper {
    type Hint = String;
}
impl Highlighter for SluiceHelper {}
impl Validator for SluiceHelper {}
impl Helper for SluiceHelper {}
