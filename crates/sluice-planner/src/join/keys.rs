//! Which sides of a join of two sources are re-keyed through repartition
//! topics, and the key format of its rows, as ksqlDB decides them
//! (`PreJoinRepartitionNode`, `JoinNode.resolveKeyFormats`).

use sluice_sql::SourceKind;

use super::{JoinPlan, JoinSide};

impl JoinSide {
    /// Whether the side is joined on its (single) key column as it is.
    pub fn on_key(&self) -> bool {
        self.source.key_columns().count() == 1 && crate::plan::key_column(&self.key, 1).is_some()
    }
}

/// How a join of two sources goes through repartition topics (see
/// [`JoinPlan::repartition`]).
#[derive(Debug, Clone, PartialEq)]
pub struct JoinRepartition {
    /// Per side (left, right): whether its rows go through a repartition
    /// topic keyed by its join expression.
    pub sides: [bool; 2],
    /// The key format both sides' keys are in at the join.
    pub key_format: crate::catalog::FormatDesc,
}

impl JoinPlan {
    /// Which sides of this join are read through a repartition topic, as
    /// ksqlDB's `PreJoinRepartitionNode` decides: a side joined on anything
    /// but its key column; and, once the join's key format is chosen (the
    /// left source's when it needs no repartition, else the right's, else
    /// the first that is not NONE, else `default_key_format`), every side when that format
    /// is one with schema inference (AVRO, PROTOBUF, JSON_SR: key schema ids
    /// would differ) and any side whose key format differs from it. `None`
    /// when no side is, or for what Sluice does not repartition yet: n-way
    /// and foreign-key joins, windowed sides that would need it and tables
    /// joined on anything but their key (those keep running in one place).
    /// A table side goes through `<Left|Right>SourceKeyed-SelectKey-repartition`
    /// keyed by its own key in the join's key format.
    /// `default_key_format`: `ksql.persistence.default.format.key`, the
    /// join's key format when neither source has one.
    pub fn repartition(
        &self,
        default_key_format: &crate::catalog::FormatDesc,
    ) -> Option<JoinRepartition> {
        let key_format = self.key_format(default_key_format)?;
        let sides = [&self.left, &self.right];
        let needs = |s: &JoinSide| !s.on_key();
        let inference = matches!(key_format.name.as_str(), "AVRO" | "PROTOBUF" | "JSON_SR");
        let forced = sides.map(|s| {
            needs(s)
                || inference
                || s.source.key_format.name != key_format.name
                || s.source.key_format.delimiter != key_format.delimiter
        });
        if !forced.iter().any(|f| *f) {
            return None;
        }
        // a table is only ever re-keyed by its own key column, into another
        // key format (ksqlDB's `SchemaKTable.selectKey`); windowed keys are
        // not re-keyed
        let unsupported = sides.iter().zip(forced).any(|(s, f)| {
            f && ((s.source.kind == SourceKind::Table && needs(s)) || s.source.window.is_some())
        });
        if unsupported {
            return None;
        }
        Some(JoinRepartition {
            sides: forced,
            key_format,
        })
    }

    /// The key format of the join's rows, as ksqlDB's `JoinNode` resolves it
    /// (KLIP-33): the left source's unless it is re-keyed, else the right's
    /// unless it is, else the first source's that is not NONE, else
    /// `default_key_format`. `None` for n-way and foreign-key joins (keyed
    /// by their first joins and the left table).
    pub fn key_format(
        &self,
        default_key_format: &crate::catalog::FormatDesc,
    ) -> Option<crate::catalog::FormatDesc> {
        if self.foreign_key || self.nested.is_some() {
            return None;
        }
        Some(if self.left.on_key() {
            self.left.source.key_format.clone()
        } else if self.right.on_key() {
            self.right.source.key_format.clone()
        } else {
            [&self.left, &self.right]
                .iter()
                .map(|s| &s.source.key_format)
                .find(|f| f.name != "NONE")
                .cloned()
                .unwrap_or_else(|| default_key_format.clone())
        })
    }
}
