//! Writing result rows to a topic in the sink's formats.

use arrow::array::{Array, AsArray, ListArray, RecordBatch};
use arrow::datatypes::Int64Type;
use std::sync::Arc;

use sluice_formats::{RecordEncoder, SchemaRegistry};
use sluice_log::{Header, Log, Record};
use sluice_planner::catalog::{FormatDesc, SourceDef};

use crate::source::{format_of, schema_options_of};
use crate::RuntimeError;

pub struct TopicSink {
    topic: String,
    key: RecordEncoder,
    value: RecordEncoder,
    key_columns: usize,
    value_columns: usize,
    window: Option<sluice_planner::catalog::WindowInfo>,
    /// The topic's partition count, read on the first windowed write (the sink
    /// places windowed records itself; Kafka Streams also fixes it at start-up).
    partitions: std::sync::OnceLock<i32>,
    /// Whether a key whose every column is NULL is written as no key (a key passed
    /// through from a record without one) rather than a record of NULLs (a key
    /// computed by PARTITION BY or GROUP BY).
    null_key_when_all_null: bool,
}

/// The encoder with the format's schema settings (full name, nullable representation).
fn named(encoder: RecordEncoder, format: &FormatDesc) -> Result<RecordEncoder, RuntimeError> {
    Ok(encoder.with_schema_options(&schema_options_of(format)?)?)
}

impl TopicSink {
    /// Registers the key and value schemas the sink writes with, where their
    /// subjects have none yet (a declared source's, before any record).
    pub fn register_schemas(&self) -> Result<(), RuntimeError> {
        self.key.register_schema()?;
        self.value.register_schema()?;
        Ok(())
    }

    pub fn new(def: &SourceDef, registry: &Arc<dyn SchemaRegistry>) -> Result<Self, RuntimeError> {
        let (kk, ko) = format_of(&def.key_format)?;
        let (vk, vo) = format_of(&def.value_format)?;
        Ok(TopicSink {
            topic: def.topic.clone(),
            key: named(
                RecordEncoder::new(kk, def.key_schema(), &ko, true)?,
                &def.key_format,
            )?
            .with_registry(registry.clone(), &def.topic),
            value: named(
                RecordEncoder::new(vk, def.value_schema(), &vo, false)?,
                &def.value_format,
            )?
            .with_registry(registry.clone(), &def.topic),
            key_columns: def.key_columns().count(),
            value_columns: def.value_columns().count(),
            window: def.window,
            partitions: std::sync::OnceLock::new(),
            null_key_when_all_null: true,
        })
    }

    /// Write all-NULL multi-column keys as records of NULLs (computed keys).
    pub fn with_computed_keys(mut self) -> Self {
        self.null_key_when_all_null = false;
        self
    }

    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// Encode rows laid out as key columns, value columns, ROWTIME, and optionally
    /// the internal record-headers and tombstone columns.
    pub fn records(&self, batch: &RecordBatch) -> Result<Vec<Record>, RuntimeError> {
        let n = batch.num_rows();
        let cols = batch.columns();
        let key_cols = &cols[..self.key_columns];
        let keys = self.key.encode(key_cols, n)?;
        let values = self.value.encode(
            &cols[self.key_columns..self.key_columns + self.value_columns],
            n,
        )?;
        let at = self.key_columns + self.value_columns;
        let ts = cols[at].as_primitive::<Int64Type>();
        let headers = cols.get(at + 1).and_then(|c| c.as_list_opt::<i32>());
        let tombstone = cols.get(at + 2).and_then(|c| c.as_boolean_opt());
        let bounds = match (cols.get(at + 3), cols.get(at + 4)) {
            (Some(s), Some(e)) if self.window.is_some() => Some((
                s.as_primitive::<Int64Type>().clone(),
                e.as_primitive::<Int64Type>().clone(),
            )),
            _ => None,
        };
        let mut out = Vec::with_capacity(n);
        for (i, (k, v)) in keys.into_iter().zip(values).enumerate() {
            // a single NULL key column is no key at all (a multi-column key stays a
            // record of NULLs, as ksqlDB writes it)
            let all_null = !key_cols.is_empty() && key_cols.iter().all(|c| c.is_null(i));
            let k = if all_null && (key_cols.len() == 1 || self.null_key_when_all_null) {
                None
            } else {
                k
            };
            let v = if tombstone.is_some_and(|t| t.value(i)) {
                None
            } else {
                v
            };
            let k = match (&bounds, self.window) {
                (Some((s, e)), Some(w)) if s.is_valid(i) => Some(crate::windowed::encode_key(
                    k.unwrap_or_default(),
                    w.kind,
                    s.value(i),
                    if e.is_valid(i) {
                        e.value(i)
                    } else {
                        s.value(i)
                    },
                )),
                _ => k,
            };
            let mut r = Record::new(k, v, if ts.is_valid(i) { ts.value(i) } else { 0 });
            if let Some(h) = headers {
                r.headers = decode_headers(h, i);
            }
            out.push(r);
        }
        Ok(out)
    }

    pub fn write(&self, log: &dyn Log, batch: &RecordBatch) -> Result<usize, RuntimeError> {
        let placed = self.placed(log, batch)?;
        let n = placed.len();
        if n > 0 {
            log.produce(&self.topic, placed)?;
        }
        Ok(n)
    }

    /// Write `batch` (and `state`: the operator's changelog records) and
    /// commit `group`'s `offsets` atomically (one Kafka
    /// transaction under exactly-once; produce, then commit, otherwise).
    pub fn write_and_commit(
        &self,
        log: &dyn Log,
        batch: &RecordBatch,
        state: Vec<(String, Option<i32>, Record)>,
        group: &str,
        offsets: &[(String, i32, i64)],
    ) -> Result<usize, RuntimeError> {
        let placed = self.placed(log, batch)?;
        let n = placed.len();
        let mut records: Vec<(String, Option<i32>, Record)> = placed
            .into_iter()
            .map(|(p, r)| (self.topic.clone(), p, r))
            .collect();
        records.extend(state);
        log.produce_and_commit(records, group, offsets)?;
        Ok(n)
    }

    /// The batch's records, each with the partition it must go to (`None`:
    /// the log's default partitioner).
    pub(crate) fn placed(
        &self,
        log: &dyn Log,
        batch: &RecordBatch,
    ) -> Result<Vec<(Option<i32>, Record)>, RuntimeError> {
        let records = self.records(batch)?;
        if records.is_empty() {
            return Ok(Vec::new());
        }
        // windowed records go to the partition of their key without the window,
        // as Kafka Streams' WindowedStreamPartitioner puts them
        let partitions = match &self.window {
            Some(_) => match self.partitions.get() {
                Some(n) => Some(*n),
                None => {
                    let n = log.end_offsets(&self.topic)?.len() as i32;
                    Some(*self.partitions.get_or_init(|| n))
                }
            },
            None => None,
        };
        let placed = records
            .into_iter()
            .map(|r| {
                let p = match (&self.window, partitions, &r.key) {
                    (Some(w), Some(n), Some(key)) => crate::windowed::decode_key(key, w)
                        .map(|(inner, _, _)| sluice_log::default_partition(&inner, n)),
                    _ => None,
                };
                (p, r)
            })
            .collect();
        Ok(placed)
    }
}

/// The headers of row `i` of a `ARRAY<STRUCT<KEY STRING, VALUE BYTES>>` column.
fn decode_headers(list: &ListArray, i: usize) -> Vec<Header> {
    if list.is_null(i) {
        return Vec::new();
    }
    let entries = list.value(i);
    let Some(s) = entries.as_struct_opt() else {
        return Vec::new();
    };
    let (Some(keys), Some(values)) = (
        s.column(0).as_string_opt::<i32>(),
        s.column(1).as_binary_opt::<i32>(),
    ) else {
        return Vec::new();
    };
    (0..s.len())
        .map(|j| {
            Header::new(
                keys.value(j),
                values.is_valid(j).then(|| values.value(j).to_vec()),
            )
        })
        .collect()
}
