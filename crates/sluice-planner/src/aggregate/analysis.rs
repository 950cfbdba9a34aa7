//! The checks ksqlDB makes of an aggregation before planning it, in its
//! order and words: its Analyzer's SELECT checks (reserved column names,
//! table functions), the WHERE clause typed over the source, then its
//! `AggregateAnalyzer` walking the SELECT expressions, WHERE, GROUP BY and
//! HAVING (unknown functions, nested aggregates, window bounds outside the
//! SELECT, aggregates in GROUP BY, a GROUP BY expression given twice).

use sluice_functions::aggregate::aggregate_function;
use sluice_sql::{Expr, Query, SelectItem};

use crate::catalog::{is_pseudo_column, WINDOWEND, WINDOWSTART};
use crate::expr::{aggregate_function_names, Scope};
use crate::rewrite::{any_node, canonical};
use crate::types::TypeResolver;
use crate::user_functions::function_exists;
use crate::PlanError;

fn window_bound(e: &Expr) -> Option<&str> {
    match e {
        Expr::Column {
            qualifier: None,
            name,
            ..
        } if matches!(name.value.as_str(), WINDOWSTART | WINDOWEND) => Some(&name.value),
        _ => None,
    }
}

fn window_bounds_error(name: &str) -> PlanError {
    PlanError::invalid(format!(
        "Window bounds column {name} can only be used in the SELECT clause of windowed aggregations and can not be passed to aggregate functions.\nSee https://github.com/confluentinc/ksql/issues/4397"
    ))
}

/// `items`: the SELECT expressions (stars expanded) with their aliases;
/// `scope`: the source's columns; `persistent`: the query writes a sink.
pub(super) fn check(
    q: &Query,
    items: &[(Expr, Option<String>)],
    scope: &Scope,
    persistent: bool,
    types: &dyn TypeResolver,
) -> Result<(), PlanError> {
    let windowed_query = q.window.is_some();
    // the Analyzer's SELECT checks
    for (expr, alias) in items {
        if persistent && alias.is_none() {
            if let Expr::Column { name, .. } = expr {
                if is_pseudo_column(&name.value) {
                    return Err(PlanError::reserved_in_select(&name.value));
                }
            }
        }
        let mut table_function = false;
        any_node(expr, &mut |x| {
            table_function |= matches!(x, Expr::Function { name, .. } if crate::table_functions::is_table_function(name) || types.user_table_function(name).is_some());
            table_function
        });
        if table_function && !q.group_by.is_empty() {
            return Err(PlanError::invalid(
                "Table functions cannot be used with aggregations.",
            ));
        }
    }
    // the WHERE clause is typed over the source, which has no window bounds
    // unless it is windowed
    if let Some(w) = &q.where_clause {
        let mut unknown = None;
        any_node(w, &mut |x| {
            if let Some(n) = window_bound(x) {
                if windowed_query && matches!(scope.resolve(None, n), Ok(None)) {
                    unknown = Some(n.to_string());
                }
            }
            unknown.is_some()
        });
        if let Some(n) = unknown {
            return Err(PlanError::invalid(format!(
                "Error in WHERE expression: Unknown column {n}."
            )));
        }
    }
    // the AggregateAnalyzer: SELECT, WHERE, GROUP BY, HAVING; window bounds
    // belong in the SELECT clause only, outside aggregate calls
    let no_window_bounds = |x: &Expr| match window_bound(x) {
        Some(n) if windowed_query => Err(window_bounds_error(n)),
        _ => Ok(()),
    };
    for (expr, _) in items {
        visit(expr, types, &mut |x, in_aggregate| match window_bound(x) {
            Some(n) if windowed_query && in_aggregate.is_some() => Err(window_bounds_error(n)),
            _ => Ok(()),
        })?;
    }
    if let Some(w) = &q.where_clause {
        visit(w, types, &mut |x, _| no_window_bounds(x))?;
    }
    let mut seen: Vec<Expr> = Vec::new();
    for g in &q.group_by {
        let canon = canonical(g, scope);
        if seen.contains(&canon) {
            return Err(PlanError::invalid(format!(
                "Duplicate GROUP BY expression: {}",
                crate::rewrite::qualified_display(g, scope)
            )));
        }
        seen.push(canon);
        visit(g, types, &mut |x, in_aggregate| {
            if let Some(f) = in_aggregate {
                return Err(PlanError::invalid(format!(
                    "GROUP BY does not support aggregate functions: {f} is an aggregate function."
                )));
            }
            no_window_bounds(x)
        })?;
    }
    if let Some(h) = &q.having {
        visit(h, types, &mut |x, _| no_window_bounds(x))?;
    }
    Ok(())
}

/// What [`visit`] calls for every column: the column and the aggregate call
/// it is in, if any.
type OnColumn<'a> = dyn FnMut(&Expr, Option<&str>) -> Result<(), PlanError> + 'a;

/// Walks `e` as ksqlDB's `AggregateVisitor` does: a function nobody has is
/// refused, an aggregate inside an aggregate too; `on_column` sees every
/// column with the aggregate call it is in, if any.
fn visit(
    e: &Expr,
    types: &dyn TypeResolver,
    on_column: &mut OnColumn<'_>,
) -> Result<(), PlanError> {
    fn walk(
        e: &Expr,
        types: &dyn TypeResolver,
        in_aggregate: Option<&str>,
        on_column: &mut OnColumn<'_>,
    ) -> Result<(), PlanError> {
        match e {
            Expr::Function { name, args, .. } => {
                if !function_exists(name, types) {
                    return Err(PlanError::invalid(format!(
                        "Can't find any functions with the name '{name}'"
                    )));
                }
                let aggregate = is_aggregate_call(e, types);
                if aggregate {
                    if let Some(outer) = in_aggregate {
                        return Err(PlanError::invalid(format!(
                            "Aggregate functions can not be nested: {outer}({name}())"
                        )));
                    }
                }
                let inner = if aggregate {
                    Some(name.as_str())
                } else {
                    in_aggregate
                };
                for a in args {
                    walk(a, types, inner, on_column)?;
                }
                Ok(())
            }
            Expr::Column { .. } => on_column(e, in_aggregate),
            other => {
                let mut result = Ok(());
                crate::rewrite::map_children(other, &mut |child| {
                    if result.is_ok() {
                        result = walk(child, types, in_aggregate, on_column);
                    }
                    child.clone()
                });
                result
            }
        }
    }
    walk(e, types, None, on_column)
}

/// Whether `q` aggregates: a GROUP BY, a window, a HAVING or an aggregate call.
pub fn is_aggregate_query(q: &Query, types: &dyn TypeResolver) -> bool {
    if !q.group_by.is_empty() || q.window.is_some() || q.having.is_some() {
        return true;
    }
    q.select.iter().any(|i| match i {
        SelectItem::Expr { expr, .. } => contains_aggregate(expr, types),
        _ => false,
    })
}

pub(super) fn is_aggregate_call(e: &Expr, types: &dyn TypeResolver) -> bool {
    matches!(e, Expr::Function { name, .. } if aggregate_function_names().contains(&name.as_str())
        || aggregate_function(name).is_some()
        || types.user_aggregate(name).is_some())
}

pub(super) fn contains_aggregate(e: &Expr, types: &dyn TypeResolver) -> bool {
    any_node(e, &mut |x| is_aggregate_call(x, types))
}
