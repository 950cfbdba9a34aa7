//! A recursive-descent parser for ksqlDB statements over `sqlparser`'s tokenizer.
//!
//! The token helpers live here; statements, queries, expressions and types each have
//! their own module.

mod expr;
mod query;
mod statements;
mod types;

use std::collections::HashMap;

use sqlparser::tokenizer::{Location, Token, Tokenizer};

use crate::ast::{Expr, Ident, ParsedStatement, Pos, SqlType};
use crate::dialect::KsqlDialect;
use crate::error::ParseError;

/// Parses any number of `;`-separated statements (the last `;` may be left off).
pub fn parse(sql: &str) -> Result<Vec<ParsedStatement>, ParseError> {
    parse_at(sql, Pos { line: 1, column: 1 })
}

/// Parses `sql`, a text that starts at `start` of a larger one (a statement
/// split from a script): positions, in the syntax tree and in errors, are
/// positions in the larger text, as ksqlDB reports them for a script.
pub fn parse_at(sql: &str, start: Pos) -> Result<Vec<ParsedStatement>, ParseError> {
    Parser::new_at(sql, start)
        .and_then(parse_with)
        .map_err(|e| e.in_text(sql, start))
}

/// Parses the statements of a ksql-test-runner file: the server's statements
/// and the runner's own `ASSERT VALUES`, `ASSERT NULL VALUES` and
/// `ASSERT STREAM|TABLE` (ksqlDB's `testStatement` rule, which its server
/// grammar does not have).
pub fn parse_test_statements(sql: &str) -> Result<Vec<ParsedStatement>, ParseError> {
    let mut parser = Parser::new(sql)?;
    parser.test_statements = true;
    parse_with(parser)
}

fn parse_with(mut parser: Parser<'_>) -> Result<Vec<ParsedStatement>, ParseError> {
    let mut out = Vec::new();
    loop {
        while parser.consume(&Token::SemiColon) {}
        if parser.at_eof() {
            break;
        }
        let start = parser.idx;
        let statement = parser.parse_statement()?;
        parser.check_qualifiers()?;
        if !parser.consume(&Token::SemiColon) && !parser.at_eof() {
            return Err(parser.expected("';'"));
        }
        let end_tok = parser.idx - 1;
        let text = parser.text_between(start, end_tok);
        out.push(ParsedStatement {
            statement,
            text,
            pos: parser.tokens[start].pos,
        });
    }
    Ok(out)
}

/// Parses one expression, e.g. `A + 1`.
pub fn parse_expr(sql: &str) -> Result<Expr, ParseError> {
    let mut parser = Parser::new(sql)?;
    let expr = parser.parse_expr()?;
    parser.expect_eof()?;
    Ok(expr)
}

/// Parses one type, e.g. `ARRAY<MAP<STRING, INT>>`.
pub fn parse_data_type(sql: &str) -> Result<SqlType, ParseError> {
    let mut parser = Parser::new(sql)?;
    let ty = parser.parse_type()?;
    parser.expect_eof()?;
    Ok(ty)
}

/// ksqlDB's variable substitution: replaces each `${name}` with the variable's value,
/// everywhere in the text, string literals included (as ksqlDB does).
///
/// * Names are case-insensitive: the lookup tries the name as written, then its
///   lower-case and upper-case forms, then any key equal ignoring ASCII case, so the
///   caller may store names in any case (ksqlDB shows them as defined).
/// * A reference to an undefined variable is left as written, as ksqlDB's
///   `StringSubstitutor` does; the statement then usually fails to parse.
/// * `$${name}` escapes a reference: it becomes the literal text `${name}`.
/// * The value is inserted as-is: `DEFINE` already stored it without its quotes.
///
/// Fails only on a reference with an invalid name (`${1x}`), which ksqlDB rejects too.
pub fn substitute_variables(
    sql: &str,
    vars: &HashMap<String, String>,
) -> Result<String, ParseError> {
    let mut out = String::with_capacity(sql.len());
    let mut rest = sql;
    let mut line = 1u64;
    let mut column = 1u64;
    let advance = |text: &str, line: &mut u64, column: &mut u64| {
        for ch in text.chars() {
            if ch == '\n' {
                *line += 1;
                *column = 1;
            } else {
                *column += 1;
            }
        }
    };
    while let Some(at) = rest.find('$') {
        let (before, from) = rest.split_at(at);
        out.push_str(before);
        advance(before, &mut line, &mut column);
        if let Some(escaped) = from.strip_prefix("$${") {
            if let Some(close) = escaped.find('}') {
                let reference = &from[1..close + 4];
                out.push_str(reference);
                advance(&from[..close + 4], &mut line, &mut column);
                rest = &from[close + 4..];
                continue;
            }
        }
        if let Some(body) = from.strip_prefix("${") {
            if let Some(close) = body.find('}') {
                let name = &body[..close];
                let whole = &from[..close + 3];
                let valid = name
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                    && name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '@');
                if !valid {
                    return Err(ParseError::new(
                        format!("Illegal variable reference '{whole}': variable names start with a letter or '_' and contain only letters, digits and '_'"),
                        Pos { line, column },
                    ));
                }
                match lookup_variable(vars, name) {
                    Some(value) => out.push_str(value),
                    None => out.push_str(whole),
                }
                advance(whole, &mut line, &mut column);
                rest = &from[close + 3..];
                continue;
            }
        }
        out.push('$');
        advance("$", &mut line, &mut column);
        rest = &from[1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn lookup_variable<'a>(vars: &'a HashMap<String, String>, name: &str) -> Option<&'a String> {
    vars.get(name)
        .or_else(|| vars.get(&name.to_ascii_lowercase()))
        .or_else(|| vars.get(&name.to_ascii_uppercase()))
        .or_else(|| {
            vars.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
        })
}

/// Words that are never taken as a bare identifier: they would make the grammar
/// ambiguous. Quote them (`` `SELECT` ``) to use them as names.
const RESERVED: &[&str] = &[
    "SELECT", "FROM", "WHERE", "GROUP", "BY", "HAVING", "WINDOW", "LIMIT", "JOIN", "ON", "AND",
    "OR", "NOT", "AS", "WITHIN", "CASE", "WHEN", "THEN", "ELSE", "END", "IS", "NULL", "TRUE",
    "FALSE", "IN", "BETWEEN", "LIKE", "INNER", "LEFT", "RIGHT", "FULL", "OUTER", "WITH",
];

pub(crate) fn is_reserved(word: &str) -> bool {
    RESERVED.iter().any(|r| r.eq_ignore_ascii_case(word))
}

/// The time-unit words of `WINDOW`, `WITHIN`, `TIMEOUT` and `TIMESTAMPADD(unit, ..)`.
pub(crate) fn is_time_unit(word: &str) -> bool {
    crate::ast::TimeUnit::parse(word).is_some()
}

/// The second half of a split `>>`.
static GT: Token = Token::Gt;

struct Tok {
    token: Token,
    /// Where the token starts in the whole text (see [`Parser::new_at`]).
    pos: Pos,
    /// Where it starts and ends in the text being parsed.
    start: Location,
    end: Location,
}

pub(crate) struct Parser<'a> {
    sql: &'a str,
    tokens: Vec<Tok>,
    idx: usize,
    /// Byte offset of each line's start, for slicing statement text.
    line_starts: Vec<usize>,
    /// A `>` left over from splitting a `>>` token that closed two nested types.
    pending_gt: bool,
    /// How deep in nested types the parser is (a split `>>` must close inside).
    type_depth: usize,
    /// Expression nesting depth, bounded to protect the stack.
    depth: usize,
    eof_pos: Pos,
    /// Whether the test runner's statements (`ASSERT VALUES`, ...) are read.
    test_statements: bool,
    /// The qualifiers of the statement's columns (`Q.col`, `Q.*`), in order.
    qualifiers: Vec<String>,
    /// The names and aliases of the statement's sources (its FROM clause).
    relation_names: Vec<String>,
}

fn to_pos(loc: Location) -> Pos {
    Pos {
        line: loc.line,
        column: loc.column,
    }
}

impl<'a> Parser<'a> {
    fn new(sql: &'a str) -> Result<Self, ParseError> {
        Self::new_at(sql, Pos { line: 1, column: 1 })
    }

    /// A parser of `sql`, a text that starts at `start` of a larger one (a
    /// statement of a script): the positions of its tokens, of the syntax tree
    /// and of its errors are positions in the larger text.
    fn new_at(sql: &'a str, start: Pos) -> Result<Self, ParseError> {
        let raw = Tokenizer::new(&KsqlDialect, sql)
            .tokenize_with_location()
            .map_err(|e| ParseError::grammar(e.message, start.shift(to_pos(e.location))))?;
        let mut tokens = Vec::with_capacity(raw.len());
        for t in raw {
            match t.token {
                Token::Whitespace(_) => continue,
                Token::EOF => continue,
                _ => tokens.push(Tok {
                    pos: start.shift(to_pos(t.span.start)),
                    start: t.span.start,
                    end: t.span.end,
                    token: t.token,
                }),
            }
        }
        let mut line_starts = vec![0];
        line_starts.extend(sql.match_indices('\n').map(|(i, _)| i + 1));
        let eof_pos = {
            let last_line = line_starts.len();
            let line_start = line_starts[last_line - 1];
            start.shift(Pos {
                line: last_line as u64,
                column: sql[line_start..].chars().count() as u64 + 1,
            })
        };
        Ok(Parser {
            sql,
            tokens,
            idx: 0,
            line_starts,
            pending_gt: false,
            type_depth: 0,
            depth: 0,
            eof_pos,
            test_statements: false,
            qualifiers: Vec::new(),
            relation_names: Vec::new(),
        })
    }

    fn offset_of(&self, loc: Location) -> usize {
        let line = (loc.line.max(1) as usize).min(self.line_starts.len());
        let start = self.line_starts[line - 1];
        let skip = loc.column.saturating_sub(1) as usize;
        let rest = &self.sql[start..];
        rest.char_indices()
            .nth(skip)
            .map(|(i, _)| start + i)
            .unwrap_or(self.sql.len())
    }

    /// The source text from the start of token `first` to the end of token `last`.
    fn text_between(&self, first: usize, last: usize) -> String {
        let start = self.offset_of(self.tokens[first].start);
        let end = self.offset_of(self.tokens[last].end);
        self.sql
            .get(start..end.max(start))
            .unwrap_or_default()
            .trim()
            .to_string()
    }

    // ---- token access ----

    /// The token at the cursor; the `>` left over from a split `>>` comes first.
    fn peek(&self) -> Option<&Token> {
        self.peek_nth(0)
    }

    fn peek_nth(&self, n: usize) -> Option<&Token> {
        if self.pending_gt {
            if n == 0 {
                return Some(&GT);
            }
            return self.tokens.get(self.idx + n - 1).map(|t| &t.token);
        }
        self.tokens.get(self.idx + n).map(|t| &t.token)
    }

    fn pos(&self) -> Pos {
        self.tokens
            .get(self.idx)
            .map(|t| t.pos)
            .unwrap_or(self.eof_pos)
    }

    fn at_eof(&self) -> bool {
        !self.pending_gt && self.idx >= self.tokens.len()
    }

    fn advance(&mut self) {
        if self.pending_gt {
            self.pending_gt = false;
            return;
        }
        if self.idx < self.tokens.len() {
            self.idx += 1;
        }
    }

    fn next_token(&mut self) -> Option<Token> {
        let t = self.peek().cloned();
        self.advance();
        t
    }

    fn peek_is(&self, token: &Token) -> bool {
        self.peek() == Some(token)
    }

    fn consume(&mut self, token: &Token) -> bool {
        if self.peek_is(token) {
            self.advance();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, token: &Token, what: &str) -> Result<(), ParseError> {
        if self.consume(token) {
            Ok(())
        } else {
            Err(self.expected(what))
        }
    }

    fn expect_eof(&mut self) -> Result<(), ParseError> {
        if self.at_eof() {
            Ok(())
        } else {
            Err(self.expected("end of input"))
        }
    }

    /// An unquoted word equal (ignoring case) to `kw`, `n` tokens ahead.
    fn peek_kw_nth(&self, n: usize, kw: &str) -> bool {
        matches!(self.peek_nth(n), Some(Token::Word(w)) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(kw))
    }

    fn peek_kw(&self, kw: &str) -> bool {
        self.peek_kw_nth(0, kw)
    }

    fn consume_kw(&mut self, kw: &str) -> bool {
        if self.peek_kw(kw) {
            self.advance();
            true
        } else {
            false
        }
    }

    fn consume_kws(&mut self, kws: &[&str]) -> bool {
        if kws.iter().enumerate().all(|(i, k)| self.peek_kw_nth(i, k)) {
            for _ in kws {
                self.advance();
            }
            true
        } else {
            false
        }
    }

    fn expect_kw(&mut self, kw: &str) -> Result<(), ParseError> {
        if self.consume_kw(kw) {
            Ok(())
        } else {
            Err(self.expected(kw))
        }
    }

    /// The upper-cased unquoted word at the cursor, if any.
    fn peek_word_upper(&self) -> Option<String> {
        match self.peek() {
            Some(Token::Word(w)) if w.quote_style.is_none() => Some(w.value.to_ascii_uppercase()),
            _ => None,
        }
    }

    /// Every column qualifier names a source of the statement, by its name or
    /// its alias: ksqlDB's AstBuilder refuses the statement otherwise.
    fn check_qualifiers(&mut self) -> Result<(), ParseError> {
        let qualifiers = std::mem::take(&mut self.qualifiers);
        let names = std::mem::take(&mut self.relation_names);
        match qualifiers.into_iter().find(|q| !names.contains(q)) {
            Some(q) => Err(ParseError::prepare(format!(
                "'{q}' is not a valid stream/table name or alias."
            ))),
            None => Ok(()),
        }
    }

    /// `expected <what>, found '<token>'` at the current token.
    fn expected(&self, what: &str) -> ParseError {
        ParseError::syntax(what, self.peek().map(token_text), self.pos())
    }

    // ---- identifiers and literals shared by the statement parsers ----

    /// An identifier: unquoted ones are upper-cased and may not be a reserved word.
    fn parse_ident(&mut self) -> Result<Ident, ParseError> {
        match self.peek() {
            Some(Token::Word(w)) => {
                let ident = if w.quote_style.is_some() {
                    Ident::quoted(w.value.clone())
                } else if is_reserved(&w.value) {
                    return Err(ParseError::grammar(
                        format!(
                            "expected an identifier, found reserved word '{}' (quote it with backquotes to use it as a name)",
                            w.value
                        ),
                        self.pos(),
                    ));
                } else {
                    Ident::new(w.value.to_ascii_uppercase())
                };
                self.advance();
                Ok(ident)
            }
            _ => Err(self.expected("an identifier")),
        }
    }

    /// Any word, reserved or not, as an identifier (where no keyword can follow, e.g. a
    /// struct field name before its type).
    fn parse_any_word_ident(&mut self) -> Result<Ident, ParseError> {
        match self.peek() {
            Some(Token::Word(w)) => {
                let ident = if w.quote_style.is_some() {
                    Ident::quoted(w.value.clone())
                } else {
                    Ident::new(w.value.to_ascii_uppercase())
                };
                self.advance();
                Ok(ident)
            }
            _ => Err(self.expected("an identifier")),
        }
    }

    fn parse_string(&mut self, what: &str) -> Result<String, ParseError> {
        match self.peek() {
            Some(Token::SingleQuotedString(s)) => {
                let s = s.clone();
                self.advance();
                Ok(s)
            }
            _ => Err(self.expected(what)),
        }
    }

    /// An optionally negative integer.
    fn parse_integer(&mut self, what: &str) -> Result<i64, ParseError> {
        let pos = self.pos();
        let negative = self.consume(&Token::Minus);
        match self.peek() {
            Some(Token::Number(n, false)) if n.bytes().all(|b| b.is_ascii_digit()) => {
                let text = if negative { format!("-{n}") } else { n.clone() };
                self.advance();
                text.parse::<i64>().map_err(|_| {
                    ParseError::literal(format!("Invalid numeric literal: {text}"), pos)
                })
            }
            _ => Err(self.expected(what)),
        }
    }

    fn parse_unsigned(&mut self, what: &str) -> Result<u64, ParseError> {
        match self.peek() {
            Some(Token::Number(n, false)) if n.bytes().all(|b| b.is_ascii_digit()) => {
                let pos = self.pos();
                let v = n.parse::<u64>().map_err(|_| {
                    ParseError::literal(format!("Invalid numeric literal: {n}"), pos)
                })?;
                self.advance();
                Ok(v)
            }
            _ => Err(self.expected(what)),
        }
    }
}

impl Parser<'_> {
    /// A query's `LIMIT n`: a non-negative integer, with ksqlDB's messages for a
    /// negative or fractional count.
    fn parse_limit(&mut self) -> Result<u64, ParseError> {
        let pos = self.pos();
        match self.peek() {
            Some(Token::Minus) => Err(ParseError::new(
                "Pull queries don't support negative integers in the LIMIT clause. See https://cnfl.io/queries for more info.",
                pos,
            )),
            Some(Token::Number(n, false)) if n.contains(['.', 'e', 'E']) => Err(ParseError::new(
                "Failed to prepare statement: Value must be integer for command: LIMIT",
                pos,
            )),
            _ => self.parse_unsigned("a LIMIT count"),
        }
    }
}

/// A token as it would be written, for error messages.
fn token_text(t: &Token) -> String {
    match t {
        Token::Word(w) => match w.quote_style {
            Some(q) => format!("{q}{}{q}", w.value),
            None => w.value.clone(),
        },
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests;
