//! `CREATE OR REPLACE ... AS SELECT` over a running query upgrades it in
//! place, as ksqlDB does: the query keeps its id, consumer group, committed
//! offsets, internal topics and state, so its output goes on from where it
//! was, each input record counted once. ksqlDB's rules decide what may
//! change: the sink's schema may only gain value columns at its end
//! (`StructuredDataSource.canUpgradeTo`), and only selections, filters,
//! re-keying and stream aggregations whose grouping and aggregate functions
//! stay can be upgraded (the execution steps' `validateUpgrade`); joins,
//! windowed aggregations and aggregations over tables cannot.

use sluice_planner::catalog::{ColumnDef, ColumnRole, SourceDef};
use sluice_planner::types::type_name;
use sluice_planner::{Catalog, QueryPlan};
use sluice_sql::SourceKind;

use crate::engine::Engine;
use crate::error::{EngineError, Result};

/// What a query's plan allows an upgrade to change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum UpgradeShape {
    /// Selections, filters and re-keying: anything the sink's schema allows.
    Select,
    /// A stream aggregation: its grouping and aggregate functions stay.
    StreamAggregate {
        group_by: Vec<String>,
        aggregates: Vec<String>,
    },
    /// A plan step ksqlDB does not upgrade (its class name).
    NotSupported(&'static str),
}

/// An expression as a statement shows it: its columns without the
/// positions physical expressions carry (`V@1` is `V`).
fn expr_text(e: &sluice_planner::expr::PhysExpr) -> String {
    let text = e.to_string();
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '@' && chars.peek().is_some_and(char::is_ascii_digit) {
            while chars.peek().is_some_and(char::is_ascii_digit) {
                chars.next();
            }
            continue;
        }
        out.push(c);
    }
    out
}

/// The upgrade shape of `plan`.
pub(crate) fn shape(plan: &QueryPlan) -> UpgradeShape {
    let join_step = |j: &sluice_planner::join::JoinPlan| {
        if j.foreign_key {
            return "ForeignKeyTableTableJoin";
        }
        match (j.left.source.kind, j.right.source.kind) {
            (SourceKind::Stream, SourceKind::Stream) => "StreamStreamJoin",
            (SourceKind::Stream, SourceKind::Table) => "StreamTableJoin",
            _ => "TableTableJoin",
        }
    };
    match plan {
        QueryPlan::Project(_) => UpgradeShape::Select,
        QueryPlan::Join(j) => UpgradeShape::NotSupported(join_step(j)),
        QueryPlan::Aggregate(a) => match (&a.join, a.window, a.source.kind) {
            (Some(j), _, _) => UpgradeShape::NotSupported(join_step(j)),
            (None, Some(_), _) => UpgradeShape::NotSupported("StreamWindowedAggregate"),
            (None, None, SourceKind::Table) => UpgradeShape::NotSupported("TableAggregate"),
            (None, None, SourceKind::Stream) => UpgradeShape::StreamAggregate {
                group_by: a.group_by.iter().map(expr_text).collect(),
                aggregates: a
                    .aggregates
                    .iter()
                    .map(|c| {
                        let args: Vec<String> = c.inputs.iter().map(expr_text).collect();
                        if c.count_star {
                            format!("{}(*)", c.function.name())
                        } else {
                            format!("{}({})", c.function.name(), args.join(", "))
                        }
                    })
                    .collect(),
            },
        },
    }
}

/// A column as ksqlDB's `Column.toString` shows it.
fn column_text(c: &ColumnDef) -> String {
    let key = if c.role == ColumnRole::Key {
        " KEY"
    } else {
        ""
    };
    format!("`{}` {}{key}", c.name, type_name(&c.ty))
}

/// The columns of `a` (key or value ones, in order) that `b` does not have
/// at the same position with the same name and type.
fn changed<'a>(a: &[&'a ColumnDef], b: &[&ColumnDef]) -> Vec<&'a ColumnDef> {
    a.iter()
        .enumerate()
        .filter(|(i, c)| b.get(*i).is_none_or(|o| o.name != c.name || o.ty != c.ty))
        .map(|(_, c)| *c)
        .collect()
}

/// ksqlDB's `StructuredDataSource.checkSchemas`: key columns identical, value
/// columns kept where they were (new ones may follow).
fn check_schema(old: &SourceDef, new: &SourceDef) -> std::result::Result<(), String> {
    let list = |cols: Vec<&ColumnDef>| {
        let texts: Vec<String> = cols.into_iter().map(column_text).collect();
        format!("[{}]", texts.join(", "))
    };
    let (old_keys, new_keys): (Vec<_>, Vec<_>) =
        (old.key_columns().collect(), new.key_columns().collect());
    let (old_values, new_values): (Vec<_>, Vec<_>) =
        (old.value_columns().collect(), new.value_columns().collect());
    let checks = [
        (
            old_keys,
            new_keys,
            "Key columns must be identical. ",
            "key ",
        ),
        (old_values, new_values, "", ""),
    ];
    for (old_cols, new_cols, lead, kind) in checks {
        let gone = changed(&old_cols, &new_cols);
        if !gone.is_empty() {
            return Err(format!(
                "{lead}The following {kind}columns are changed, missing or reordered: {}",
                list(gone)
            ));
        }
    }
    Ok(())
}

fn schema_text(d: &SourceDef) -> String {
    let cols: Vec<String> = d
        .key_columns()
        .chain(d.value_columns())
        .map(column_text)
        .collect();
    cols.join(", ")
}

impl Engine {
    /// Refuses to replace query `id` (writing `old`) with one of `shape`
    /// writing `new`, with ksqlDB's messages, when ksqlDB would.
    pub(crate) fn check_upgrade(
        &self,
        id: &str,
        old: &SourceDef,
        new: &SourceDef,
        shape: &UpgradeShape,
    ) -> Result<()> {
        if let Err(why) = check_schema(old, new) {
            return Err(EngineError::statement(format!(
                "Cannot upgrade data source: DataSource '{}' has schema = {} which is not upgradeable to {}. ({why})",
                old.name,
                schema_text(old),
                schema_text(new)
            )));
        }
        let Some(running) = self.upgrade_shapes.get(id) else {
            return Ok(());
        };
        let step = match (running, shape) {
            (UpgradeShape::NotSupported(step), _) | (_, UpgradeShape::NotSupported(step)) => {
                return Err(EngineError::statement(format!(
                    "Upgrades not yet supported for {step}"
                )))
            }
            (UpgradeShape::Select, UpgradeShape::Select) => return Ok(()),
            (
                UpgradeShape::StreamAggregate {
                    group_by: g1,
                    aggregates: a1,
                },
                UpgradeShape::StreamAggregate {
                    group_by: g2,
                    aggregates: a2,
                },
            ) => {
                if g1 != g2 {
                    (
                        "StreamGroupBy",
                        "group by clause",
                        g1.join(", "),
                        g2.join(", "),
                    )
                } else if a1 != a2 {
                    (
                        "StreamAggregate",
                        "aggregate functions",
                        format!("[{}]", a1.join(", ")),
                        format!("[{}]", a2.join(", ")),
                    )
                } else {
                    return Ok(());
                }
            }
            (UpgradeShape::Select, _) => (
                "StreamSelect",
                "class",
                "StreamSelect".into(),
                "StreamAggregate".into(),
            ),
            (_, UpgradeShape::Select) => (
                "StreamAggregate",
                "class",
                "StreamAggregate".into(),
                "StreamSelect".into(),
            ),
        };
        let (class, property, a, b) = step;
        Err(EngineError::statement(format!(
            "Query is not upgradeable. Plan step of type {class} must have matching {property}. Values differ: {a} vs. {b}"
        )))
    }

    /// The query a `CREATE OR REPLACE` of `name` (writing `new`, of `shape`)
    /// upgrades in place: the one a CREATE ... AS made (not an INSERT INTO
    /// writing there), refused as ksqlDB refuses it. A command log written
    /// before upgrades were checked replays such a refused replacement as a
    /// new query, as it ran then.
    pub(crate) fn query_to_upgrade(
        &mut self,
        name: &str,
        or_replace: bool,
        new: &SourceDef,
        shape: &UpgradeShape,
    ) -> Result<Option<String>> {
        if !or_replace {
            return Ok(None);
        }
        let Some(running) = self
            .queries
            .values()
            .find(|q| q.sink == name && (q.id.starts_with("CSAS_") || q.id.starts_with("CTAS_")))
            .map(|q| q.id.clone())
        else {
            return Ok(None);
        };
        let Some(old) = self.metastore.source(name) else {
            return Ok(Some(running));
        };
        match self.check_upgrade(&running, &old, new, shape) {
            Ok(()) => Ok(Some(running)),
            Err(e) if self.replaying => {
                tracing::warn!("command log: {name} replaced by a new query: {e}");
                self.stop_queries(|q| q.sink == name);
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// Stops query `id` for its upgrade: its tasks end after their current
    /// poll, and its consumer group's offsets, internal topics and state
    /// stay for the query that takes its place.
    pub(crate) fn stop_for_upgrade(&mut self, id: &str) {
        self.scheduler.remove(id);
        self.queries.remove(id);
    }
}
