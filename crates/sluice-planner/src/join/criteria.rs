//! A join's ON clause checked as ksqlDB's `Analyzer` checks it, in its order:
//! the clause's shape, its columns, one source per side, two different
//! sources one of which is the source being joined, then the sources'
//! windowing. Refusals carry ksqlDB's messages.

use std::collections::BTreeSet;
use std::sync::Arc;

use sluice_sql::{BinaryOp, Expr, JoinKind};

use crate::catalog::{SourceDef, WindowKind};
use crate::expr::{Scope, ScopeColumn};
use crate::rewrite::any_node;
use crate::PlanError;

/// An ON clause split into the expression over the sources joined before
/// (`left`) and the one over the source being joined (`right`).
pub(super) struct Criteria {
    pub left: Expr,
    pub right: Expr,
    /// The alias of the earlier source the left expression reads.
    pub left_alias: String,
}

fn strip(e: &Expr) -> &Expr {
    match e {
        Expr::Nested(inner) => strip(inner),
        other => other,
    }
}

/// ksqlDB's name of a join type (`JoinNode.JoinType#toString`).
pub(super) fn join_type_name(kind: JoinKind) -> &'static str {
    match kind {
        JoinKind::Inner => "[INNER] JOIN",
        JoinKind::Left => "LEFT [OUTER] JOIN",
        JoinKind::Right => "RIGHT [OUTER] JOIN",
        JoinKind::Full => "[FULL] OUTER JOIN",
    }
}

/// Checks `on`, the condition joining the source aliased `joined` to the
/// `sources` before it (`both`: every column either side can name).
pub(super) fn analyze(
    on: &Expr,
    both: &Scope,
    sources: &[(Arc<SourceDef>, String)],
    joined: &str,
) -> Result<Criteria, PlanError> {
    let (left, right) = match strip(on) {
        Expr::Binary {
            op: BinaryOp::Eq,
            left,
            right,
        } => ((**left).clone(), (**right).clone()),
        Expr::Binary {
            op: BinaryOp::And,
            left,
            right,
        } if is_equality(left) && is_equality(right) => {
            return Err(PlanError::invalid(format!(
            "Invalid join condition: joins on multiple conditions are not yet supported. Got {on}."
        )))
        }
        Expr::Binary { op, .. } if is_comparison(*op) => {
            return Err(PlanError::invalid(
                "Only equality join criteria is supported.",
            ))
        }
        other => {
            return Err(PlanError::invalid(format!(
                "Unsupported join expression: {other}"
            )))
        }
    };
    for side in [&left, &right] {
        check_columns(side, both, "JOIN ON")?;
    }
    let only_source = |side: &Expr| -> Result<String, PlanError> {
        let used = sources_of(side, both);
        match used.len() {
            1 => Ok(used.into_iter().next().unwrap_or_default()),
            _ => Err(PlanError::invalid(format!(
                "Invalid comparison expression '{side}' in join '{on}'. Each side of the join comparision must contain references from exactly one source."
            ))),
        }
    };
    let l_src = only_source(&left)?;
    let r_src = only_source(&right)?;
    if l_src == r_src {
        return Err(PlanError::invalid(format!(
            "Each side of the join must reference exactly one source and not the same source. Left side references `{l_src}` and right references `{r_src}`"
        )));
    }
    if l_src != joined && r_src != joined {
        return Err(PlanError::invalid(format!(
            "A join criteria is expected to reference the source (`{joined}`) in the FROM clause, instead the right source references `{r_src}` and the left source references `{l_src}`"
        )));
    }
    let def_of = |alias: &str| sources.iter().find(|(_, a)| a == alias).map(|(d, _)| d);
    if let (Some(l), Some(r)) = (def_of(&l_src), def_of(&r_src)) {
        check_windows((l, &l_src), (r, &r_src))?;
    }
    // the joined source's expression on the right, as ksqlDB flips it
    Ok(if r_src == joined {
        Criteria {
            left,
            right,
            left_alias: l_src,
        }
    } else {
        Criteria {
            left: right,
            right: left,
            left_alias: r_src,
        }
    })
}

/// Every joined source and ON clause, first to last, before any join is
/// planned, as ksqlDB's Analyzer checks them all before its planner checks
/// any join: a source joined twice, then the clause joining it. `sources`
/// are the joined sources in FROM order with their aliases.
pub(super) fn analyze_all(
    sources: &[(Arc<SourceDef>, String)],
    conditions: &[&Expr],
) -> Result<(), PlanError> {
    let mut scope = Scope {
        schema: Arc::new(arrow::datatypes::Schema::empty()),
        columns: Vec::new(),
    };
    let mut width = 0;
    for (i, (def, alias)) in sources.iter().enumerate() {
        if let Some((earlier, _)) = sources[..i].iter().find(|(d, _)| d.name == def.name) {
            return Err(PlanError::invalid(if i > 1 {
                format!(
                    "N-way joins do not support multiple occurrences of the same source. Source: '{}'.",
                    def.name
                )
            } else {
                format!(
                    "Can not join '{}' to '{}': self joins are not yet supported.",
                    def.name, earlier.name
                )
            }));
        }
        let own = Scope::of_schema(def.row_schema(), Some(alias));
        scope
            .columns
            .extend(own.columns.into_iter().map(|c| ScopeColumn {
                index: c.index + width,
                ..c
            }));
        width += own.schema.fields().len();
        if i > 0 {
            if let Some(on) = conditions.get(i - 1) {
                analyze(on, &scope, &sources[..=i], alias)?;
            }
        }
    }
    Ok(())
}

fn is_comparison(op: BinaryOp) -> bool {
    matches!(
        op,
        BinaryOp::Eq
            | BinaryOp::NotEq
            | BinaryOp::Lt
            | BinaryOp::LtEq
            | BinaryOp::Gt
            | BinaryOp::GtEq
    )
}

fn is_equality(e: &Expr) -> bool {
    matches!(
        strip(e),
        Expr::Binary {
            op: BinaryOp::Eq,
            ..
        }
    )
}

/// Every column `e` names resolves in `scope` (ksqlDB's
/// `ColumnReferenceValidator`): `<clause> column 'X' cannot be resolved.` at
/// the column, or the column is ambiguous.
pub(crate) fn check_columns(
    e: &Expr,
    scope: &Scope,
    clause: &'static str,
) -> Result<(), PlanError> {
    let mut err = None;
    any_node(e, &mut |x| {
        if let Expr::Column {
            qualifier,
            name,
            pos,
        } = x
        {
            let q = qualifier.as_ref().map(|q| q.value.as_str());
            match scope.resolve(q, &name.value) {
                Ok(Some(_)) => {}
                Ok(None) => {
                    err = Some(PlanError::UnknownColumn {
                        name: match q {
                            Some(q) => format!("{q}.{}", name.value),
                            None => name.value.clone(),
                        },
                        pos: *pos,
                        context: clause,
                    })
                }
                Err(e) => err = Some(e.at(*pos)),
            }
        }
        err.is_some()
    });
    err.map_or(Ok(()), Err)
}

/// The aliases of the sources whose columns `e` reads.
fn sources_of(e: &Expr, scope: &Scope) -> BTreeSet<String> {
    let mut used = BTreeSet::new();
    any_node(e, &mut |x| {
        if let Expr::Column {
            qualifier, name, ..
        } = x
        {
            let q = qualifier.as_ref().map(|q| q.value.as_str());
            used.extend(
                scope
                    .columns
                    .iter()
                    .filter(|c| {
                        c.name == name.value && (q.is_none() || c.qualifier.as_deref() == q)
                    })
                    .filter_map(|c| c.qualifier.clone()),
            );
        }
        false
    });
    used
}

/// Two sources join only if both or neither are windowed, session windows
/// only with session windows (ksqlDB's `throwOnIncompatibleSourceWindowing`).
fn check_windows(
    (left, l_alias): (&SourceDef, &str),
    (right, r_alias): (&SourceDef, &str),
) -> Result<(), PlanError> {
    let name = |d: &SourceDef| d.window.map_or("not", |w| w.kind.name());
    match (left.window, right.window) {
        (None, None) => Ok(()),
        (Some(l), Some(r)) => {
            let compatible = if l.kind == WindowKind::Session {
                r.kind == WindowKind::Session
            } else {
                r.kind != WindowKind::Session
            };
            if compatible {
                return Ok(());
            }
            Err(PlanError::invalid(format!(
                "Incompatible windowed sources.\nLeft source: {}\nRight source: {}\nSession windowed sources can only be joined to other session windowed sources, and may still not result in expected behaviour as session bounds must be an exact match for the join to work\nHopping and tumbling windowed sources can only be joined to other hopping and tumbling windowed sources",
                l.kind.name(),
                r.kind.name()
            )))
        }
        _ => Err(PlanError::invalid(format!(
            "Can not join windowed source to non-windowed source.\n`{l_alias}` is {} windowed\n`{r_alias}` is {} windowed",
            name(left),
            name(right)
        ))),
    }
}

/// `text` with every `ALIAS.` of a joined source written `ALIAS_`, as
/// ksqlDB's join rewrites qualified columns.
pub(super) fn joined_names(text: &str, sources: &[(Arc<SourceDef>, String)]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    'scan: while !rest.is_empty() {
        let at_word_start = out
            .chars()
            .last()
            .is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
        if at_word_start {
            for (_, alias) in sources {
                if let Some(after) = rest
                    .strip_prefix(alias.as_str())
                    .and_then(|r| r.strip_prefix('.'))
                {
                    out.push_str(alias);
                    out.push('_');
                    rest = after;
                    continue 'scan;
                }
            }
        }
        let c = rest.chars().next().unwrap_or_default();
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}
