//! Which sources of a join are re-keyed through repartition topics, and
//! the key format of its rows, as ksqlDB decides them
//! (`PreJoinRepartitionNode`, `JoinNode.resolveKeyFormats`).

use sluice_sql::SourceKind;

use super::{JoinPlan, JoinSide};

impl JoinSide {
    /// Whether the side is joined on its (single) key column as it is.
    pub fn on_key(&self) -> bool {
        self.source.key_columns().count() == 1 && crate::plan::key_column(&self.key, 1).is_some()
    }
}

/// How a join goes through repartition topics (see
/// [`JoinPlan::repartition`]).
#[derive(Debug, Clone, PartialEq)]
pub struct JoinRepartition {
    /// Per source (in [`JoinPlan::all_sources`] order): whether its rows go
    /// through a repartition topic keyed by its join expression.
    pub sources: Vec<bool>,
    /// The key format every source's keys are in at the joins.
    pub key_format: crate::catalog::FormatDesc,
}

/// Where source `i` of a join sits: the (possibly nested) join it is a side
/// of, which side, and the prefix ksqlDB gives that join's nodes (`L_` per
/// level of nesting).
pub struct SourceSide<'a> {
    pub plan: &'a JoinPlan,
    pub side: usize,
    pub prefix: String,
}

impl JoinPlan {
    /// Which sources of this join are read through a repartition topic, as
    /// ksqlDB's `PreJoinRepartitionNode` decides: a side joined on anything
    /// but its key column; and, once the join's key format is chosen
    /// ([`JoinPlan::key_format`]), every side when that format is one with
    /// schema inference (AVRO, PROTOBUF, JSON_SR: key schema ids would
    /// differ) and any side whose key format differs from it. An n-way
    /// join's earlier joins, when this join is on one of their expressions,
    /// take its key format down to their own sides (`JoinNode.setKeyFormat`).
    /// `None` when no source is, or for what Sluice does not repartition:
    /// foreign-key joins, n-way joins whose earlier joins' rows would need
    /// re-keying, windowed sides that would need it and tables joined on
    /// anything but their key (those keep running in one place). A table
    /// side goes through `<Left|Right>SourceKeyed-SelectKey-repartition`
    /// keyed by its own key in the join's key format.
    /// `default_key_format`: `ksql.persistence.default.format.key`, the
    /// join's key format when no source has one.
    pub fn repartition(
        &self,
        default_key_format: &crate::catalog::FormatDesc,
    ) -> Option<JoinRepartition> {
        let key_format = self.key_format(default_key_format)?;
        let mut sources = Vec::with_capacity(self.all_sources.len());
        self.force(&key_format, &mut sources)?;
        if !sources.iter().any(|f| *f) {
            return None;
        }
        Some(JoinRepartition {
            sources,
            key_format,
        })
    }

    /// Sets the join's key format on its sides (`setKeyFormat`): pushes,
    /// per source in order, whether it is re-keyed. `None`: a side Sluice
    /// does not re-key would need it.
    fn force(&self, key_format: &crate::catalog::FormatDesc, out: &mut Vec<bool>) -> Option<()> {
        let inference = matches!(key_format.name.as_str(), "AVRO" | "PROTOBUF" | "JSON_SR");
        let leaf = |s: &JoinSide| {
            let forced = !s.on_key()
                || inference
                || s.source.key_format.name != key_format.name
                || s.source.key_format.delimiter != key_format.delimiter;
            // a table is only ever re-keyed by its own key column, into
            // another key format (ksqlDB's `SchemaKTable.selectKey`); a
            // windowed stream only into a format with schema inference
            // (`SchemaKStream.selectKey` refuses the rest), its windows kept
            let table = s.source.kind == SourceKind::Table;
            let windowed = s.source.window.is_some();
            let unsupported = forced
                && ((table && !s.on_key()) || (windowed && (table || !s.on_key() || !inference)));
            (!unsupported).then_some(forced)
        };
        match &self.nested {
            Some(n) if self.nested_keyed => n.force(key_format, out)?,
            Some(_) => return None,
            None => out.push(leaf(&self.left)?),
        }
        out.push(leaf(&self.right)?);
        Some(())
    }

    /// The key format ksqlDB's `JoinNode` prefers for this join
    /// (`getPreferredKeyFormat`): its left side's unless that is re-keyed
    /// by its join expression, else its right side's.
    fn preferred_key_format(&self) -> Option<crate::catalog::FormatDesc> {
        let left = match &self.nested {
            Some(n) if self.nested_keyed => n.preferred_key_format(),
            Some(_) => None,
            None => self
                .left
                .on_key()
                .then(|| self.left.source.key_format.clone()),
        };
        left.or_else(|| {
            self.right
                .on_key()
                .then(|| self.right.source.key_format.clone())
        })
    }

    /// The key format of the join's rows, as ksqlDB's `JoinNode` resolves it
    /// (KLIP-33): the one it prefers, else the first source's that is not
    /// NONE, else `default_key_format`. `None` for foreign-key joins (keyed
    /// by the left table).
    pub fn key_format(
        &self,
        default_key_format: &crate::catalog::FormatDesc,
    ) -> Option<crate::catalog::FormatDesc> {
        if self.foreign_key || self.nested.as_ref().is_some_and(|n| n.foreign_key) {
            return None;
        }
        Some(self.preferred_key_format().unwrap_or_else(|| {
            self.all_sources
                .iter()
                .map(|(d, _)| &d.key_format)
                .find(|f| f.name != "NONE")
                .cloned()
                .unwrap_or_else(|| default_key_format.clone())
        }))
    }

    /// Whether every join of this one (an n-way join's earlier ones too)
    /// is on its sources' keys as they are: its state is then keyed by the
    /// sources' keys (not a foreign-key join).
    pub fn on_keys(&self) -> bool {
        let left = match &self.nested {
            Some(n) => self.nested_keyed && n.on_keys(),
            None => self.left.on_key(),
        };
        !self.foreign_key && left && self.right.on_key()
    }

    /// The join source `i` (in [`JoinPlan::all_sources`] order) is a side
    /// of.
    pub fn source_side(&self, i: usize) -> SourceSide<'_> {
        let last = self.all_sources.len() - 1;
        match &self.nested {
            Some(n) if i < last => {
                let mut inner = n.source_side(i);
                inner.prefix.insert_str(0, "L_");
                inner
            }
            _ => SourceSide {
                plan: self,
                side: usize::from(i == last),
                prefix: String::new(),
            },
        }
    }
}
