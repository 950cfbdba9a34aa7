//! Pull queries: a SELECT without EMIT CHANGES over a table returns the table's
//! current rows and finishes.
//!
//! The table is materialized from its changelog topic (the latest row per key,
//! tombstones removing keys; the latest record of every key is kept between
//! pull queries, keyed by the key's value, so each reads only what was
//! written since), and the query's WHERE and projection run over the rows as
//! DataFusion physical expressions — so any predicate works (key lookups,
//! ranges, scans), not only ksqlDB's key equality. A key lookup (`key = v`,
//! `key IN (...)`) decodes only the rows of its keys; a scan decodes every
//! row, in ksqlDB's scan order: by partition, then by the key's serialized
//! bytes (a state store's iteration order).

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{ArrayRef, AsArray, RecordBatch};
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

/// What pull queries keep of one table between calls, as a state store
/// would: per partition of its topic, the latest record of every key (keyed
/// by the key's decoded value: its key columns, and the window start of a
/// windowed table, in arrow's row format), and how far each partition was
/// read. Each pull query first reads what was written since the last one;
/// a record that cannot be decoded leaves the key's previous value, as it
/// never reaches ksqlDB's store.
pub(crate) struct TableIndex {
    def: Arc<SourceDef>,
    ends: Vec<i64>,
    latest: Vec<HashMap<Vec<u8>, StoredRecord>>,
}

/// Decodes a table's records and encodes its keys.
struct TableDecoder {
    reader: SourceReader,
    key_idx: Vec<usize>,
    tomb_idx: usize,
    offset_idx: usize,
    converter: RowConverter,
}

fn statement_error(e: impl std::fmt::Display) -> EngineError {
    EngineError::statement(e.to_string())
}

impl TableDecoder {
    fn new(engine: &Engine, def: &Arc<SourceDef>) -> Result<Self> {
        let ts = timestamp_extractor(def, &engine.metastore)?;
        let reader = SourceReader::new(def.clone(), ts, &engine.registry)?;
        let schema = reader.schema().clone();
        let mut key_idx: Vec<usize> = def
            .key_columns()
            .filter_map(|c| schema.index_of(&c.name).ok())
            .collect();
        if let Ok(ws) = schema.index_of(WINDOWSTART) {
            key_idx.push(ws);
        }
        let converter = RowConverter::new(
            key_idx
                .iter()
                .map(|&i| SortField::new(schema.field(i).data_type().clone()))
                .collect(),
        )
        .map_err(statement_error)?;
        Ok(TableDecoder {
            tomb_idx: schema.index_of(TOMBSTONE).map_err(statement_error)?,
            offset_idx: schema.index_of(ROWOFFSET).map_err(statement_error)?,
            reader,
            key_idx,
            converter,
        })
    }

    /// Takes `records` of partition `p` into `latest`: a record replaces its
    /// key's, a tombstone removes it.
    fn absorb(
        &self,
        latest: &mut HashMap<Vec<u8>, StoredRecord>,
        records: Vec<StoredRecord>,
    ) -> Result<()> {
        // of the records with the same key bytes only the last can count:
        // decode those (all of them when one of those cannot be read, so an
        // earlier one stands, as it would have)
        let mut last: HashMap<&[u8], usize> = HashMap::new();
        for (i, r) in records.iter().enumerate() {
            if let Some(k) = &r.record.key {
                last.insert(k.as_slice(), i);
            }
        }
        if last.len() * 2 < records.len() {
            let kept: Vec<StoredRecord> = records
                .iter()
                .enumerate()
                .filter(|(i, r)| {
                    r.record
                        .key
                        .as_deref()
                        .is_none_or(|k| last.get(k) == Some(i))
                })
                .map(|(_, r)| r.clone())
                .collect();
            let decoded = self.reader.decode(&kept)?;
            if decoded.skipped.is_empty() {
                return self.apply(latest, kept, decoded.batch);
            }
        }
        let b = self.reader.decode(&records)?.batch;
        self.apply(latest, records, b)
    }

    /// Applies `records`, decoded as `b`, to `latest`.
    fn apply(
        &self,
        latest: &mut HashMap<Vec<u8>, StoredRecord>,
        records: Vec<StoredRecord>,
        b: RecordBatch,
    ) -> Result<()> {
        let mut by_offset: HashMap<i64, StoredRecord> =
            records.into_iter().map(|r| (r.offset, r)).collect();
        let offsets = b.column(self.offset_idx).as_primitive::<Int64Type>();
        let keys: Vec<ArrayRef> = self.key_idx.iter().map(|&i| b.column(i).clone()).collect();
        let rows = self
            .converter
            .convert_columns(&keys)
            .map_err(statement_error)?;
        let tomb = b.column(self.tomb_idx).as_boolean();
        for r in 0..b.num_rows() {
            let k = rows.row(r).as_ref().to_vec();
            match by_offset.remove(&offsets.value(r)) {
                Some(_) if tomb.value(r) => {
                    latest.remove(&k);
                }
                Some(record) => {
                    latest.insert(k, record);
                }
                None => {}
            }
        }
        Ok(())
    }

    /// The rows of `records`, in their order.
    fn decode(&self, records: &[StoredRecord]) -> Result<RecordBatch> {
        let schema = self.reader.schema().clone();
        let batches = records
            .chunks(POLL_BATCH)
            .map(|chunk| Ok(self.reader.decode(chunk)?.batch))
            .collect::<Result<Vec<_>>>()?;
        arrow::compute::concat_batches(&schema, &batches).map_err(statement_error)
    }

    /// `value` as a key of a one-key table, in the index's encoding.
    fn encode_key(&self, value: &ScalarValue) -> Option<Vec<u8>> {
        let [i] = self.key_idx.as_slice() else {
            return None;
        };
        let ty = self.reader.schema().field(*i).data_type().clone();
        let array = value.to_array_of_size(1).ok()?;
        let array = arrow::compute::cast(&array, &ty).ok()?;
        let rows = self.converter.convert_columns(&[array]).ok()?;
        Some(rows.row(0).as_ref().to_vec())
    }
}

impl Engine {
    /// Brings the [`TableIndex`] of `def` up to date and runs `f` over it.
    fn with_table_index<T>(
        &self,
        def: &Arc<SourceDef>,
        decoder: &TableDecoder,
        f: impl FnOnce(&TableIndex) -> Result<T>,
    ) -> Result<T> {
        let ends = self.log.end_offsets(&def.topic)?;
        let mut indexes = self
            .table_indexes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let fresh = || TableIndex {
            def: def.clone(),
            ends: Vec::new(),
            latest: Vec::new(),
        };
        let index = indexes
            .entry((def.topic.clone(), def.name.clone()))
            .or_insert_with(fresh);
        let same_def = Arc::ptr_eq(&index.def, def) || index.def == *def;
        // the topic was deleted and created again under the same name
        let recreated =
            index.ends.len() > ends.len() || index.ends.iter().zip(&ends).any(|(c, e)| c > e);
        if !same_def || recreated {
            *index = fresh();
        }
        index.ends.resize(ends.len(), 0);
        index.latest.resize_with(ends.len(), HashMap::new);
        for (p, end) in ends.iter().enumerate() {
            let mut offset = index.ends[p];
            while offset < *end {
                let records = sluice_log::fetch_stored(
                    self.log.as_ref(),
                    &def.topic,
                    p as i32,
                    offset,
                    POLL_BATCH,
                )?;
                let Some(last) = records.last() else { break };
                offset = last.offset + 1;
                decoder.absorb(&mut index.latest[p], records)?;
            }
            index.ends[p] = offset;
        }
        f(index)
    }

    /// Forgets what pull queries kept of the tables over `topic` (it was deleted).
    pub(crate) fn forget_table(&self, topic: &str) {
        self.table_indexes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .retain(|(t, _), _| t != topic);
    }

    /// The current rows of a table, in ksqlDB's scan order: by partition,
    /// then by the key's serialized bytes.
    pub fn table_snapshot(&self, def: &Arc<SourceDef>) -> Result<RecordBatch> {
        let decoder = TableDecoder::new(self, def)?;
        let records = self.with_table_index(def, &decoder, |index| {
            let mut all = Vec::new();
            for keys in &index.latest {
                let mut records: Vec<&StoredRecord> = keys.values().collect();
                records.sort_by(|a, b| a.record.key.cmp(&b.record.key));
                all.extend(records.into_iter().cloned());
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
                found.extend(index.latest.iter().filter_map(|p| p.get(k)).cloned());
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
