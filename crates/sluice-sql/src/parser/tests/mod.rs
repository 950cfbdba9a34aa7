//! Parser unit tests: statements, expressions, types, errors and round trips.

mod expressions;
mod round_trip;
mod statements;

use super::*;
use crate::ast::*;

pub(super) fn one(sql: &str) -> Statement {
    let mut v = parse_test_statements(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    assert_eq!(v.len(), 1, "{sql}");
    v.remove(0).statement
}

pub(super) fn query(sql: &str) -> Query {
    match one(sql) {
        Statement::Query(q) => *q,
        other => panic!("not a query: {other:?}"),
    }
}

pub(super) fn expr(sql: &str) -> Expr {
    parse_expr(sql).unwrap_or_else(|e| panic!("{sql}: {e}"))
}

pub(super) fn err(sql: &str) -> ParseError {
    match parse(sql) {
        Ok(v) => panic!("{sql} parsed: {v:?}"),
        Err(e) => e,
    }
}

/// Debug text without source positions, to compare trees parsed from different text.
pub(super) fn strip_pos(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find("pos: Pos {") {
        out.push_str(&rest[..i]);
        let after = &rest[i..];
        let j = after.find('}').map_or(after.len(), |j| j + 1);
        rest = &after[j..];
    }
    out.push_str(rest);
    out
}

pub(super) fn col(name: &str) -> Expr {
    Expr::Column {
        qualifier: None,
        name: Ident::new(name),
        pos: Pos::default(),
    }
}

pub(super) fn int(i: i64) -> Expr {
    Expr::Literal(Literal::Integer(i))
}

pub(super) fn same(a: &Expr, b: &Expr) -> bool {
    strip_pos(&format!("{a:?}")) == strip_pos(&format!("{b:?}"))
}
