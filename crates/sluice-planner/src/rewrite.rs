//! Structural rewrites of expression trees: a bottom-up map over every node, and the
//! canonical form the planner uses to decide whether two expressions are "the same"
//! (ksqlDB matches PARTITION BY / GROUP BY expressions against the projection that way).

use sluice_sql::{Expr, Ident, Pos};

use crate::expr::Scope;

/// Rebuild `e` bottom-up, applying `f` to every node after its children.
pub fn map_expr(e: &Expr, f: &mut dyn FnMut(Expr) -> Expr) -> Expr {
    if let Expr::Nested(inner) = e {
        let inner = map_expr(inner, f);
        return f(inner);
    }
    let rebuilt = map_children(e, &mut |c| map_expr(c, f));
    f(rebuilt)
}

/// Rebuild `e` top-down: where `f` gives a replacement for a node, its children are
/// not visited.
pub fn replace_expr(e: &Expr, f: &mut dyn FnMut(&Expr) -> Option<Expr>) -> Expr {
    if let Some(r) = f(e) {
        return r;
    }
    if let Expr::Nested(inner) = e {
        return replace_expr(inner, f);
    }
    map_children(e, &mut |c| replace_expr(c, f))
}

/// `e` with each direct child replaced by `m(child)`.
pub fn map_children(e: &Expr, m: &mut dyn FnMut(&Expr) -> Expr) -> Expr {
    let mut m = |x: &Expr| Box::new(m(x));
    match e {
        Expr::Column { .. } | Expr::Literal(_) | Expr::IntervalUnit(_) => e.clone(),
        Expr::Binary { op, left, right } => Expr::Binary {
            op: *op,
            left: m(left),
            right: m(right),
        },
        Expr::Unary { op, expr } => Expr::Unary {
            op: *op,
            expr: m(expr),
        },
        Expr::IsNull { expr, negated } => Expr::IsNull {
            expr: m(expr),
            negated: *negated,
        },
        Expr::IsDistinctFrom {
            left,
            right,
            negated,
        } => Expr::IsDistinctFrom {
            left: m(left),
            right: m(right),
            negated: *negated,
        },
        Expr::Between {
            expr,
            low,
            high,
            negated,
        } => Expr::Between {
            expr: m(expr),
            low: m(low),
            high: m(high),
            negated: *negated,
        },
        Expr::InList {
            expr,
            list,
            negated,
        } => Expr::InList {
            expr: m(expr),
            list: list.iter().map(|x| *m(x)).collect(),
            negated: *negated,
        },
        Expr::Like {
            expr,
            pattern,
            escape,
            negated,
        } => Expr::Like {
            expr: m(expr),
            pattern: m(pattern),
            escape: *escape,
            negated: *negated,
        },
        Expr::Case {
            operand,
            whens,
            else_result,
        } => Expr::Case {
            operand: operand.as_ref().map(|o| m(o)),
            whens: whens.iter().map(|(w, t)| (*m(w), *m(t))).collect(),
            else_result: else_result.as_ref().map(|x| m(x)),
        },
        Expr::Cast { expr, ty } => Expr::Cast {
            expr: m(expr),
            ty: ty.clone(),
        },
        Expr::Function {
            name,
            args,
            star,
            pos,
        } => Expr::Function {
            name: name.clone(),
            args: args.iter().map(|x| *m(x)).collect(),
            star: *star,
            pos: *pos,
        },
        Expr::Lambda { params, body } => Expr::Lambda {
            params: params.clone(),
            body: m(body),
        },
        Expr::Subscript { expr, index } => Expr::Subscript {
            expr: m(expr),
            index: m(index),
        },
        Expr::Dereference { expr, field } => Expr::Dereference {
            expr: m(expr),
            field: field.clone(),
        },
        Expr::Array(items) => Expr::Array(items.iter().map(|x| *m(x)).collect()),
        Expr::Map(entries) => Expr::Map(entries.iter().map(|(k, v)| (*m(k), *m(v))).collect()),
        Expr::Struct(fields) => {
            Expr::Struct(fields.iter().map(|(n, v)| (n.clone(), *m(v))).collect())
        }
        Expr::Nested(inner) => Expr::Nested(m(inner)),
    }
}

/// Visit every node of `e` (pre-order).
pub fn any_node(e: &Expr, pred: &mut dyn FnMut(&Expr) -> bool) -> bool {
    let mut found = false;
    map_expr(e, &mut |x| {
        if !found && pred(&x) {
            found = true;
        }
        x
    });
    found
}

/// `e` with positions dropped, parentheses removed and column references replaced by
/// the layout index they resolve to, so `INPUT.ID` and `ID` compare equal.
pub fn canonical(e: &Expr, scope: &Scope) -> Expr {
    map_expr(e, &mut |x| match x {
        Expr::Column {
            qualifier, name, ..
        } => {
            let q = qualifier.as_ref().map(|q| q.value.as_str());
            match scope.resolve(q, &name.value) {
                Ok(Some(i)) => Expr::Column {
                    qualifier: None,
                    name: Ident::new(format!("#{i}")),
                    pos: Pos::default(),
                },
                _ => Expr::Column {
                    qualifier,
                    name,
                    pos: Pos::default(),
                },
            }
        }
        Expr::Function {
            name, args, star, ..
        } => Expr::Function {
            name,
            args,
            star,
            pos: Pos::default(),
        },
        other => other,
    })
}

/// The expression as ksqlDB prints it in messages: column references qualified by source.
pub(crate) fn qualified_display(e: &Expr, scope: &Scope) -> String {
    map_expr(e, &mut |x| match x {
        Expr::Column {
            qualifier: None,
            name,
            pos,
        } => {
            let q = scope
                .columns
                .iter()
                .find(|c| c.name == name.value)
                .and_then(|c| c.qualifier.clone());
            Expr::Column {
                qualifier: q.map(sluice_sql::Ident::new),
                name,
                pos,
            }
        }
        other => other,
    })
    .to_string()
}
