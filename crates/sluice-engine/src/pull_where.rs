//! ksqlDB's rules for a pull query's WHERE clause when table scans are off
//! (`ksql.query.pull.table.scan.enabled=false`): the clause, rewritten as a
//! disjunction of conjunctions (IN as equalities, BETWEEN as two bounds),
//! must pin every key column of each disjunct with one equality — or, with
//! range scans on, bound a STRING key of an unwindowed table — and compare
//! key columns only with expressions that reference no column. Anything
//! else needs a table scan, which is refused with ksqlDB's message.

use sluice_planner::catalog::{SourceDef, WINDOWEND, WINDOWSTART};
use sluice_planner::types::type_name;
use sluice_sql::{BinaryOp, Expr};

use crate::error::{EngineError, Result};

/// ksqlDB's error for a WHERE clause it cannot run as a key lookup.
fn invalid(message: String) -> EngineError {
    EngineError::statement(format!(
        "{message}. See https://cnfl.io/queries for more info.\n\
         Pull queries require a WHERE clause that:\n \
         - limits the query to keys only, e.g. `SELECT * FROM X WHERE <key-column>=Y;`.\n \
         - specifies an equality condition that is a conjunction of equality expressions that cover all keys."
    ))
}

fn table_scan_needed() -> EngineError {
    EngineError::statement(
        "Query requires table scan to be enabled. Table scans can be enabled by setting ksql.query.pull.table.scan.enabled=true",
    )
}

/// The clause as disjuncts of conjuncts.
fn disjuncts(e: &Expr) -> Vec<Vec<Expr>> {
    let cmp = |op, left: &Expr, right: &Expr| Expr::Binary {
        op,
        left: Box::new(left.clone()),
        right: Box::new(right.clone()),
    };
    match e {
        Expr::Binary {
            op: BinaryOp::Or,
            left,
            right,
        } => {
            let mut out = disjuncts(left);
            out.extend(disjuncts(right));
            out
        }
        Expr::Binary {
            op: BinaryOp::And,
            left,
            right,
        } => {
            let (l, r) = (disjuncts(left), disjuncts(right));
            let mut out = Vec::new();
            for a in &l {
                for b in &r {
                    out.push(a.iter().chain(b).cloned().collect());
                }
            }
            out
        }
        Expr::InList {
            expr,
            list,
            negated: false,
        } => list
            .iter()
            .map(|v| vec![cmp(BinaryOp::Eq, expr, v)])
            .collect(),
        Expr::Between {
            expr,
            low,
            high,
            negated: false,
        } => vec![vec![
            cmp(BinaryOp::GtEq, expr, low),
            cmp(BinaryOp::LtEq, expr, high),
        ]],
        other => vec![vec![other.clone()]],
    }
}

fn references_a_column(e: &Expr) -> bool {
    sluice_planner::rewrite::any_node(e, &mut |x| matches!(x, Expr::Column { .. }))
}

/// `[`ID` STRING KEY, ...]`, as ksqlDB prints a key schema.
fn key_schema(def: &SourceDef) -> String {
    let keys: Vec<String> = def
        .key_columns()
        .map(|c| format!("`{}` {} KEY", c.name, type_name(&c.ty)))
        .collect();
    format!("[{}]", keys.join(", "))
}

/// Checks `where_clause` of a pull query on `def` with table scans off.
pub(crate) fn check_key_lookup(
    def: &SourceDef,
    where_clause: Option<&Expr>,
    range_scans: bool,
) -> Result<()> {
    let windowed = def.window.is_some();
    let keys: Vec<&str> = def.key_columns().map(|c| c.name.as_str()).collect();
    let Some(where_clause) = where_clause else {
        return Err(table_scan_needed());
    };
    let mut needs_scan = false;
    for disjunct in disjuncts(where_clause) {
        let mut seen = vec![false; keys.len()];
        for atom in &disjunct {
            let (op, left, right) = match atom {
                Expr::Binary { op, left, right } if !matches!(op, BinaryOp::And | BinaryOp::Or) => {
                    (*op, left.as_ref(), right.as_ref())
                }
                Expr::Like { expr, .. } if matches!(expr.as_ref(), Expr::Column { .. }) => continue,
                Expr::Like { .. } => {
                    return Err(invalid("Like condition must be between strings".into()))
                }
                other => {
                    return Err(invalid(format!(
                        "Unsupported expression in WHERE clause: {other}"
                    )))
                }
            };
            let (column, other) = match (left, right) {
                (_, Expr::Column { name, .. }) => (name.value.as_str(), left),
                (Expr::Column { name, .. }, _) => (name.value.as_str(), right),
                _ => {
                    return Err(invalid(
                        "A comparison must directly reference a key column".into(),
                    ))
                }
            };
            if references_a_column(other) {
                return Err(invalid(
                    "A comparison must be between a key column and a resolvable expression".into(),
                ));
            }
            if column == WINDOWSTART || column == WINDOWEND {
                continue;
            }
            let Some(k) = keys.iter().position(|key| key.eq_ignore_ascii_case(column)) else {
                continue;
            };
            if op == BinaryOp::NotEq {
                return Err(invalid(format!(
                    "Bound on key columns '{}' must currently be '='",
                    key_schema(def)
                )));
            }
            if seen[k] {
                return Err(invalid(
                    "A comparison condition on the key column cannot be combined with other comparisons such as an IN predicate".into(),
                ));
            }
            seen[k] = true;
            if op != BinaryOp::Eq {
                // a range: a scan of a STRING key's store, else a table scan
                let key = def.key_columns().nth(k);
                let string = key.is_some_and(|c| c.ty == arrow::datatypes::DataType::Utf8);
                needs_scan |= !(range_scans && string && !windowed && keys.len() == 1);
            }
        }
        if !seen.iter().any(|s| *s) {
            // as ksqlDB prints it: `(A = 1)`, `((A = 1) AND (B > 2))`
            let text: Vec<String> = disjunct.iter().map(|a| a.to_string()).collect();
            let text = match text.as_slice() {
                [one] => one.clone(),
                many => format!("({})", many.join(" AND ")),
            };
            return Err(invalid(format!(
                "WHERE clause missing key column for disjunct: {text}"
            )));
        }
        if !seen.iter().all(|s| *s) {
            let specified: Vec<String> = keys
                .iter()
                .zip(&seen)
                .filter(|(_, s)| **s)
                .map(|(k, _)| format!("`{k}`"))
                .collect();
            return Err(invalid(format!(
                "Multi-column sources must specify every key in the WHERE clause. Specified: [{}] Expected: {}",
                specified.join(", "),
                key_schema(def)
            )));
        }
    }
    if needs_scan {
        return Err(table_scan_needed());
    }
    Ok(())
}

/// The key column and the values a pull query on a one-key table looks
/// up, when its WHERE is exactly `key = v`, `v = key` or `key IN (...)`
/// with values that reference no column.
pub(crate) fn key_lookup<'a>(
    def: &'a SourceDef,
    where_clause: Option<&'a Expr>,
) -> Option<(&'a sluice_planner::ColumnDef, Vec<&'a Expr>)> {
    if let Some((key, list)) = key_in_list(def, where_clause) {
        return (!list.iter().any(references_a_column)).then(|| (key, list.iter().collect()));
    }
    let mut keys = def.key_columns();
    let (Some(key), None) = (keys.next(), keys.next()) else {
        return None;
    };
    let Some(Expr::Binary {
        op: BinaryOp::Eq,
        left,
        right,
    }) = where_clause
    else {
        return None;
    };
    let is_key = |e: &Expr| matches!(e, Expr::Column { name, .. } if name.value.eq_ignore_ascii_case(&key.name));
    let value = match (left.as_ref(), right.as_ref()) {
        (k, v) if is_key(k) => v,
        (v, k) if is_key(k) => v,
        _ => return None,
    };
    (!references_a_column(value)).then(|| (key, vec![value]))
}

/// The key column and the values of a `WHERE key IN (...)` on a one-key
/// table, when the clause is exactly that.
pub(crate) fn key_in_list<'a>(
    def: &'a SourceDef,
    where_clause: Option<&'a Expr>,
) -> Option<(&'a sluice_planner::ColumnDef, &'a [Expr])> {
    let mut keys = def.key_columns();
    let (Some(key), None) = (keys.next(), keys.next()) else {
        return None;
    };
    let Some(Expr::InList {
        expr,
        list,
        negated: false,
    }) = where_clause
    else {
        return None;
    };
    matches!(expr.as_ref(), Expr::Column { name, .. } if name.value.eq_ignore_ascii_case(&key.name))
        .then_some((key, list.as_slice()))
}

/// A `WHERE key IN (...)` lookup on a one-key table takes values of the
/// key's type: ksqlDB refuses a NULL or a string for a key of another type
/// before looking anything up.
pub(crate) fn check_key_list(def: &SourceDef, where_clause: Option<&Expr>) -> Result<()> {
    let Some((key, list)) = key_in_list(def, where_clause) else {
        return Ok(());
    };
    for value in list {
        match value {
            Expr::Literal(sluice_sql::Literal::Null) => {
                return Err(EngineError::statement(format!(
                    "Primary key columns can not be NULL: ({} = null)",
                    key.name
                )))
            }
            Expr::Literal(sluice_sql::Literal::String(_))
                if key.ty != arrow::datatypes::DataType::Utf8 =>
            {
                return Err(EngineError::statement(format!(
                    "{value} can not be converted to the type of the key column: {} {} KEY",
                    key.name,
                    type_name(&key.ty)
                )))
            }
            _ => {}
        }
    }
    Ok(())
}
