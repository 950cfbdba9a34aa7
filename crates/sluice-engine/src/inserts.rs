//! Bulk inserts (ksqlDB's `/inserts-stream`): rows given as JSON objects
//! (column → value, any case; `ROWTIME` sets the record time), converted with
//! the JSON format's coercions into the source's columns, encoded in its key
//! and value formats and appended in one write per batch. A row is stored
//! when [`Inserter::insert`] returns it as `Ok`.

use std::collections::HashSet;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, Int64Array, RecordBatch};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use serde_json::{Map, Value};
use sluice_formats::{FormatKind, FormatOptions, RecordDecoder, RowStatus};
use sluice_log::{Log, Record};
use sluice_planner::catalog::{ColumnRole, SourceDef, ROWTIME};
use sluice_planner::Catalog;
use sluice_runtime::sink::TopicSink;

use crate::engine::Engine;
use crate::error::{EngineError, Result};

/// A prepared bulk insert into one stream or table.
pub struct Inserter {
    def: Arc<SourceDef>,
    /// JSON rows → the source's key and value columns, then ROWTIME.
    decoder: RecordDecoder,
    schema: SchemaRef,
    /// Upper-cased names a row may use.
    known: HashSet<String>,
    sink: TopicSink,
    log: Arc<dyn Log>,
}

impl Engine {
    /// An inserter into `target`, refused as `INSERT INTO ... VALUES` would be
    /// (unknown source, read-only source).
    pub fn inserter(&self, target: &str) -> Result<Inserter> {
        let def = self
            .metastore
            .source(target)
            .or_else(|| self.metastore.source(&target.to_uppercase()))
            .ok_or_else(|| {
                EngineError::statement(format!(
                    "Cannot insert values into an unknown stream/table: {target}{}",
                    self.metastore.alternatives(target, None)
                ))
            })?;
        if def.is_source {
            return Err(EngineError::statement(format!(
                "Cannot insert values into read-only {}: {}",
                crate::ddl::kind_name(def.kind),
                def.name
            )));
        }
        let mut fields: Vec<Field> = def
            .key_columns()
            .chain(def.value_columns())
            .map(|c| Field::new(&c.name, c.ty.clone(), true))
            .collect();
        fields.push(Field::new(ROWTIME, DataType::Int64, true));
        let schema = Arc::new(Schema::new(fields));
        // rows are objects whatever the source's own formats are
        let decoder = RecordDecoder::new(
            FormatKind::Json,
            schema.clone(),
            &FormatOptions::default(),
            false,
        )?;
        let known = def
            .columns
            .iter()
            .filter(|c| !matches!(c.role, ColumnRole::Header(_)))
            .map(|c| c.name.to_uppercase())
            .chain([ROWTIME.to_string()])
            .collect();
        Ok(Inserter {
            sink: TopicSink::new(&def, &self.registry)?,
            def,
            decoder,
            schema,
            known,
            log: self.log.clone(),
        })
    }
}

impl Inserter {
    /// The stream or table rows go to.
    pub fn target(&self) -> &str {
        &self.def.name
    }

    /// Converts `rows` and appends them in one write: per row, `Ok` once
    /// stored, or why it was refused (a row naming an unknown column, or a
    /// value its column's type cannot take). If the write fails, every row
    /// not refused before fails with it.
    pub fn insert(&self, rows: &[Map<String, Value>]) -> Vec<Result<(), String>> {
        let mut results: Vec<Result<(), String>> = Vec::with_capacity(rows.len());
        let mut payloads: Vec<Vec<u8>> = Vec::with_capacity(rows.len());
        for row in rows {
            match row.keys().find(|k| !self.known.contains(&k.to_uppercase())) {
                Some(unknown) => {
                    results.push(Err(format!("Column name {unknown} does not exist.")));
                    payloads.push(b"[]".to_vec());
                }
                None => {
                    results.push(Ok(()));
                    payloads.push(serde_json::to_vec(row).unwrap_or_default());
                }
            }
        }
        let refs: Vec<Option<&[u8]>> = payloads.iter().map(|p| Some(p.as_slice())).collect();
        let decoded = self.decoder.decode(&refs);
        for (result, status) in results.iter_mut().zip(&decoded.status) {
            if result.is_ok() {
                if let RowStatus::Error(why) = status {
                    *result = Err(why.clone());
                }
            }
        }
        if let Err(e) = self.write(&decoded.columns) {
            for r in results.iter_mut().filter(|r| r.is_ok()) {
                *r = Err(e.to_string());
            }
        }
        results
    }

    /// Encodes the decoded rows (ROWTIME now where not given) and appends them.
    fn write(&self, columns: &[ArrayRef]) -> Result<()> {
        let Some(rowtime) = columns.last() else {
            return Ok(());
        };
        let n = rowtime.len();
        if n == 0 {
            return Ok(());
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        let times = rowtime
            .as_any()
            .downcast_ref::<Int64Array>()
            .map(|t| {
                Int64Array::from_iter_values((0..n).map(|i| {
                    if t.is_null(i) {
                        now
                    } else {
                        t.value(i)
                    }
                }))
            })
            .unwrap_or_else(|| Int64Array::from(vec![now; n]));
        let mut columns = columns.to_vec();
        let last = columns.len() - 1;
        columns[last] = Arc::new(times);
        let batch = RecordBatch::try_new(self.schema.clone(), columns)
            .map_err(|e| EngineError::statement(e.to_string()))?;
        let records: Vec<Record> = self.sink.records(&batch)?;
        self.log.produce(
            &self.def.topic,
            records.into_iter().map(|r| (None, r)).collect(),
        )?;
        Ok(())
    }
}
