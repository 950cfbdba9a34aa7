//! Writing result rows to a topic in the sink's formats.

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::Int64Type;
use sluice_formats::RecordEncoder;
use sluice_log::{Log, Record};
use sluice_planner::catalog::SourceDef;

use crate::source::format_of;
use crate::RuntimeError;

pub struct TopicSink {
    topic: String,
    key: RecordEncoder,
    value: RecordEncoder,
    key_columns: usize,
    value_columns: usize,
}

impl TopicSink {
    pub fn new(def: &SourceDef) -> Result<Self, RuntimeError> {
        let (kk, ko) = format_of(&def.key_format)?;
        let (vk, vo) = format_of(&def.value_format)?;
        Ok(TopicSink {
            topic: def.topic.clone(),
            key: RecordEncoder::new(kk, def.key_schema(), &ko, true)?,
            value: RecordEncoder::new(vk, def.value_schema(), &vo, false)?,
            key_columns: def.key_columns().count(),
            value_columns: def.value_columns().count(),
        })
    }

    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// Encode rows laid out as key columns, value columns, ROWTIME.
    pub fn records(&self, batch: &RecordBatch) -> Result<Vec<Record>, RuntimeError> {
        let n = batch.num_rows();
        let cols = batch.columns();
        let keys = self.key.encode(&cols[..self.key_columns], n)?;
        let values = self.value.encode(
            &cols[self.key_columns..self.key_columns + self.value_columns],
            n,
        )?;
        let ts = cols[self.key_columns + self.value_columns].as_primitive::<Int64Type>();
        Ok(keys
            .into_iter()
            .zip(values)
            .enumerate()
            .map(|(i, (k, v))| Record::new(k, v, if ts.is_valid(i) { ts.value(i) } else { 0 }))
            .collect())
    }

    pub fn write(&self, log: &dyn Log, batch: &RecordBatch) -> Result<usize, RuntimeError> {
        let records = self.records(batch)?;
        let n = records.len();
        if n > 0 {
            log.produce(
                &self.topic,
                records.into_iter().map(|r| (None, r)).collect(),
            )?;
        }
        Ok(n)
    }
}
