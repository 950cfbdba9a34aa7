//! Pull queries: a SELECT without EMIT CHANGES over a table returns the table's
//! current rows and finishes.
//!
//! The table is materialized from its changelog topic (the latest row per key,
//! tombstones removing keys; the latest record of every key is kept between
//! pull queries in a store keyed by the key's value, on disk with a state
//! directory, so each reads only what was written since: `pull_index`), and the query's WHERE and projection run over the rows as
//! DataFusion physical expressions — so any predicate works (key lookups,
//! ranges, scans), not only ksqlDB's key equality. A key lookup (`key = v`,
//! `key IN (...)`) decodes only the rows of its keys; a scan decodes every
//! row, in ksqlDB's scan order: by partition, then by the key's serialized
//! bytes (a state store's iteration order).

use std::sync::Arc;

use arrow::array::RecordBatch;
use datafusion_common::ScalarValue;
use sluice_planner::catalog::SourceDef;
use sluice_planner::ProjectPlan;
use sluice_runtime::project::ProjectOperator;

use crate::engine::Engine;
use crate::error::{EngineError, Result};
use crate::pull_index::TableDecoder;

/// `snapshot`'s rows whose (only) key is one of `order` first, in that
/// order (rows of one key keep their scan order), then the others.
fn in_key_order(
    snapshot: RecordBatch,
    plan: &ProjectPlan,
    order: &[ScalarValue],
) -> Result<RecordBatch> {
    let Some(key) = plan.source.key_columns().next() else {
        return Ok(snapshot);
    };
    let Ok(i) = snapshot.schema().index_of(&key.name) else {
        return Ok(snapshot);
    };
    let keys = snapshot.column(i);
    let mut ranked: Vec<(usize, u32)> = (0..snapshot.num_rows())
        .map(|r| {
            let rank = ScalarValue::try_from_array(keys, r)
                .ok()
                .and_then(|v| order.iter().position(|o| *o == v))
                .unwrap_or(order.len());
            (rank, r as u32)
        })
        .collect();
    ranked.sort_by_key(|(rank, _)| *rank);
    let indices = arrow::array::UInt32Array::from_iter_values(ranked.into_iter().map(|(_, r)| r));
    let columns = snapshot
        .columns()
        .iter()
        .map(|c| arrow::compute::take(c.as_ref(), &indices, None))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| EngineError::statement(e.to_string()))?;
    RecordBatch::try_new(snapshot.schema(), columns)
        .map_err(|e| EngineError::statement(e.to_string()))
}

impl Engine {
    /// The current rows of a table, in ksqlDB's scan order: by partition,
    /// then by the key's serialized bytes.
    pub fn table_snapshot(&self, def: &Arc<SourceDef>) -> Result<RecordBatch> {
        let decoder = TableDecoder::new(self, def)?;
        let records = self.with_table_index(def, &decoder, |index| {
            let mut all = Vec::new();
            for p in 0..index.partitions() {
                let mut records = index.partition(p)?;
                records.sort_by(|a, b| a.record.key.cmp(&b.record.key));
                all.extend(records);
            }
            Ok(all)
        })?;
        decoder.decode(&records)
    }

    /// The rows of the keys `keys` of a one-key table, in that order (each
    /// key once): the lookups of `WHERE key = v` and `WHERE key IN (...)`.
    /// `None` for a table whose keys cannot be looked up by value (more
    /// than one key column, windowed).
    fn table_lookup(
        &self,
        def: &Arc<SourceDef>,
        keys: &[ScalarValue],
    ) -> Result<Option<RecordBatch>> {
        if def.window.is_some() {
            return Ok(None);
        }
        let decoder = TableDecoder::new(self, def)?;
        let Some(encoded) = keys
            .iter()
            .map(|k| decoder.encode_key(k))
            .collect::<Option<Vec<_>>>()
        else {
            return Ok(None);
        };
        let records = self.with_table_index(def, &decoder, |index| {
            let mut seen = std::collections::HashSet::new();
            let mut found = Vec::new();
            for k in encoded.iter().filter(|k| seen.insert(*k)) {
                for p in 0..index.partitions() {
                    found.extend(index.get(p, k)?);
                }
            }
            Ok(found)
        })?;
        decoder.decode(&records).map(Some)
    }

    /// Run a pull query's filter and projection over the table's snapshot.
    /// With `key_order` (a `WHERE key = v` or `WHERE key IN (...)`), the
    /// rows of those keys are looked up, in that order.
    pub(crate) fn pull_query(
        &self,
        plan: &ProjectPlan,
        key_order: Option<&[ScalarValue]>,
    ) -> Result<(arrow::datatypes::SchemaRef, Vec<RecordBatch>)> {
        let snapshot = match key_order {
            Some(keys) => match self.table_lookup(&plan.source, keys)? {
                Some(rows) => rows,
                None => in_key_order(self.table_snapshot(&plan.source)?, plan, keys)?,
            },
            None => self.table_snapshot(&plan.source)?,
        };
        let op = ProjectOperator::new(plan, snapshot.schema().as_ref())?;
        let mut out = op.process(&snapshot)?;
        if let Some(limit) = plan.limit {
            out = out.slice(0, out.num_rows().min(limit as usize));
        }
        let visible: Vec<usize> = (0..plan.columns.len()).collect();
        let out = out
            .project(&visible)
            .map_err(|e| EngineError::statement(e.to_string()))?;
        let live = out.num_rows();
        let schema = out.schema();
        Ok((schema, if live == 0 { vec![] } else { vec![out] }))
    }
}
