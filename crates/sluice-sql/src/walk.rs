//! Walking expression trees.

use crate::ast::Expr;

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
