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

pub use sluice_sql::map_children;

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
