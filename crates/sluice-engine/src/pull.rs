//! Pull queries: a SELECT without EMIT CHANGES over a table returns the table's
//! current rows and finishes.
//!
//! The table is materialized from its changelog topic (the latest row per key,
//! tombstones removing keys; the latest record of every key is kept between
//! pull queries, so each reads only what was written since), and
//! the query's WHERE and projection run over that snapshot as DataFusion physical
//! expressions — so any predicate works (key lookups, ranges, scans), not only
//! ksqlDB's key equality. Rows come in ksqlDB's scan order: by partition, then by
//! the key's serialized bytes (a state store's iteration order).

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use arrow::compute::interleave;
use arrow::datatypes::Int64Type;
use arrow::row::{RowConverter, SortField};
use datafusion_common::ScalarValue;
use sluice_log::StoredRecord;
use sluice_planner::catalog::{SourceDef, ROWOFFSET, TOMBSTONE, WINDOWSTART};
use sluice_planner::plan::timestamp_extractor;
use sluice_planner::ProjectPlan;
use sluice_runtime::project::ProjectOperator;
use sluice_runtime::source::SourceReader;

use crate::engine::Engine;
use crate::error::{EngineError, Result};
use crate::lifecycle::POLL_BATCH;

/// Where a table scan meets a key: its partition, then its serialized bytes.
type ScanPosition = (usize, Vec<u8>);

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

/// What pull queries keep of one table topic between calls: the latest
/// record of every key per partition (what a compacted topic holds), and how
/// far each partition was read.
#[derive(Default)]
pub(crate) struct TableCache {
    ends: Vec<i64>,
    latest: Vec<HashMap<Vec<u8>, StoredRecord>>,
}

impl Engine {
    /// The latest record of every key of `topic` (tombstones included), per
    /// partition in offset order. Kept between pull queries: each reads only
    /// what was written since the last one, and decodes one record per key.
    fn latest_records(&self, topic: &str) -> Result<Vec<Vec<StoredRecord>>> {
        let ends = self.log.end_offsets(topic)?;
        let mut caches = self
            .table_cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let cache = caches.entry(topic.to_string()).or_default();
        if cache.ends.len() > ends.len() || cache.ends.iter().zip(&ends).any(|(c, e)| c > e) {
            // the topic was deleted and created again under the same name
            *cache = TableCache::default();
        }
        cache.ends.resize(ends.len(), 0);
        cache.latest.resize_with(ends.len(), HashMap::new);
        for (p, end) in ends.iter().enumerate() {
            let mut offset = cache.ends[p];
            while offset < *end {
                let records = sluice_log::fetch_stored(
                    self.log.as_ref(),
                    topic,
                    p as i32,
                    offset,
                    POLL_BATCH,
                )?;
                let Some(last) = records.last() else { break };
                offset = last.offset + 1;
                for r in records {
                    cache.latest[p].insert(r.record.key.clone().unwrap_or_default(), r);
                }
            }
            cache.ends[p] = offset;
        }
        Ok(cache
            .latest
            .iter()
            .map(|keys| {
                let mut records: Vec<StoredRecord> = keys.values().cloned().collect();
                records.sort_by_key(|r| r.offset);
                records
            })
            .collect())
    }

    /// Forgets what pull queries kept of `topic` (it was deleted).
    pub(crate) fn forget_table(&self, topic: &str) {
        self.table_cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(topic);
    }

    /// The current rows of a table: the last value per key in its topic.
    pub fn table_snapshot(&self, def: &Arc<SourceDef>) -> Result<RecordBatch> {
        let ts = timestamp_extractor(def, &self.metastore)?;
        let reader = SourceReader::new(def.clone(), ts, &self.registry)?;
        let schema = reader.schema().clone();
        let mut key_idx: Vec<usize> = def
            .key_columns()
            .filter_map(|c| schema.index_of(&c.name).ok())
            .collect();
        if let Ok(ws) = schema.index_of(WINDOWSTART) {
            key_idx.push(ws);
        }
        let column = |name: &str| {
            schema
                .index_of(name)
                .map_err(|e| EngineError::statement(e.to_string()))
        };
        let (tomb_idx, offset_idx) = (column(TOMBSTONE)?, column(ROWOFFSET)?);
        let converter = RowConverter::new(
            key_idx
                .iter()
                .map(|&i| SortField::new(schema.field(i).data_type().clone()))
                .collect(),
        )
        .map_err(|e| EngineError::statement(e.to_string()))?;
        let mut batches: Vec<RecordBatch> = Vec::new();
        // key → (batch, row) of its latest row; None when deleted
        let mut latest: HashMap<Vec<u8>, Option<(usize, usize)>> = HashMap::new();
        // every key once, with where a scan meets it: (partition, serialized key)
        let mut order: Vec<(ScanPosition, Vec<u8>)> = Vec::new();
        for (p, latest_records) in self.latest_records(&def.topic)?.into_iter().enumerate() {
            for records in latest_records.chunks(POLL_BATCH) {
                let raw: HashMap<i64, &[u8]> = records
                    .iter()
                    .map(|r| (r.offset, r.record.key.as_deref().unwrap_or_default()))
                    .collect();
                let decoded = reader.decode(records)?;
                let b = decoded.batch;
                let offsets = b.column(offset_idx).as_primitive::<Int64Type>().clone();
                let keys: Vec<ArrayRef> = key_idx.iter().map(|&i| b.column(i).clone()).collect();
                let rows = converter
                    .convert_columns(&keys)
                    .map_err(|e| EngineError::statement(e.to_string()))?;
                let tomb = b.column(tomb_idx).as_boolean().clone();
                let bi = batches.len();
                for r in 0..b.num_rows() {
                    let k = rows.row(r).as_ref().to_vec();
                    let entry = if tomb.value(r) { None } else { Some((bi, r)) };
                    if latest.insert(k.clone(), entry).is_none() {
                        let bytes = raw.get(&offsets.value(r)).copied().unwrap_or_default();
                        order.push(((p, bytes.to_vec()), k));
                    }
                }
                batches.push(b);
            }
        }
        if batches.is_empty() {
            return Ok(RecordBatch::new_empty(schema));
        }
        order.sort_by(|a, b| a.0.cmp(&b.0));
        let picked: Vec<(usize, usize)> = order
            .iter()
            .filter_map(|(_, k)| latest.get(k).copied().flatten())
            .collect();
        let columns = (0..schema.fields().len())
            .map(|c| {
                let arrays: Vec<&dyn Array> =
                    batches.iter().map(|b| b.column(c).as_ref()).collect();
                interleave(&arrays, &picked)
            })
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| EngineError::statement(e.to_string()))?;
        RecordBatch::try_new(schema.clone(), columns)
            .map_err(|e| EngineError::statement(e.to_string()))
    }

    /// Run a pull query's filter and projection over the table's snapshot.
    /// With `key_order`, the rows of those keys come first, in that order
    /// (the order of a `WHERE key IN (...)` lookup).
    pub(crate) fn pull_query(
        &self,
        plan: &ProjectPlan,
        key_order: Option<&[ScalarValue]>,
    ) -> Result<(arrow::datatypes::SchemaRef, Vec<RecordBatch>)> {
        let mut snapshot = self.table_snapshot(&plan.source)?;
        if let Some(order) = key_order {
            snapshot = in_key_order(snapshot, plan, order)?;
        }
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
