//! Turning log records into row batches in a source's layout (key columns, value
//! columns, headers, ROWTIME, ROWPARTITION, ROWOFFSET), skipping what cannot be
//! decoded.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, BinaryBuilder, BooleanArray, Int32Array, Int64Array, ListBuilder, RecordBatch,
    StringBuilder, StructBuilder, UInt32Array,
};
use arrow::compute::{cast, filter_record_batch, take};
use arrow::datatypes::{DataType, SchemaRef};
use sluice_formats::{
    DecodedBatch, FormatKind, FormatOptions, ProtobufNullable, RecordDecoder, RowStatus,
    SchemaOptions, SchemaRegistry,
};
use sluice_log::StoredRecord;
use sluice_planner::catalog::{headers_type, ColumnRole, SourceDef};
use sluice_planner::expr::PhysExpr;
use sluice_planner::FormatDesc;

use crate::RuntimeError;

/// The positions in `schema` of the key columns of `def` it holds, and a
/// converter of them to arrow's row format: how an operator keys a
/// table's rows by the table's primary key.
pub(crate) fn key_rows(
    def: &SourceDef,
    schema: &arrow::datatypes::Schema,
) -> Result<(arrow::row::RowConverter, Vec<usize>), RuntimeError> {
    let idx: Vec<usize> = def
        .key_columns()
        .filter_map(|c| schema.index_of(&c.name).ok())
        .collect();
    let fields = idx
        .iter()
        .map(|&i| arrow::row::SortField::new(schema.field(i).data_type().clone()))
        .collect();
    Ok((arrow::row::RowConverter::new(fields)?, idx))
}

pub fn format_of(desc: &FormatDesc) -> Result<(FormatKind, FormatOptions), RuntimeError> {
    let kind = FormatKind::parse(&desc.name)?;
    let options = FormatOptions {
        delimiter: desc.delimiter.clone(),
        wrap_single_value: desc.wrap_single_value,
    };
    Ok((kind, options))
}

/// The schema-format settings a format declares: the generated schema's full
/// name and the Protobuf nullable representation.
pub fn schema_options_of(desc: &FormatDesc) -> Result<SchemaOptions, RuntimeError> {
    let mut options = SchemaOptions::default();
    options.full_name = desc.schema_full_name.clone();
    options.schema_id = desc.schema_id;
    if let Some(text) = &desc.protobuf_nullable {
        options.protobuf_nullable = ProtobufNullable::parse(text)?;
    }
    Ok(options)
}

/// A record the reader skipped, and why.
#[derive(Debug, Clone)]
pub struct Skipped {
    pub partition: i32,
    pub offset: i64,
    pub message: String,
    /// `key` or `value` when that part could not be deserialized; `None`
    /// for a record refused for another reason (its timestamp, a table
    /// record without a key).
    pub target: Option<&'static str>,
}

/// What one call to [`SourceReader::decode`] produced.
pub struct Decoded {
    /// Rows in the source layout (`SourceDef::row_schema`).
    pub batch: RecordBatch,
    /// For table sources: true where the record was a tombstone (value columns null).
    pub tombstone: BooleanArray,
    pub skipped: Vec<Skipped>,
}

/// A windowed key split into the key proper and its window bounds.
type WindowedKey = (Vec<u8>, i64, i64);

pub struct SourceReader {
    def: Arc<SourceDef>,
    schema: SchemaRef,
    key: RecordDecoder,
    value: RecordDecoder,
    /// Evaluated over the decoded row (ROWTIME = record timestamp) to give the event
    /// time, when the source has `TIMESTAMP=`.
    timestamp: Option<PhysExpr>,
}

impl SourceReader {
    pub fn new(
        def: Arc<SourceDef>,
        timestamp: Option<PhysExpr>,
        registry: &Arc<dyn SchemaRegistry>,
    ) -> Result<Self, RuntimeError> {
        let (kk, ko) = format_of(&def.key_format)?;
        let (vk, vo) = format_of(&def.value_format)?;
        Ok(SourceReader {
            key: RecordDecoder::new(kk, def.key_schema(), &ko, true)?
                .with_schema_options(&schema_options_of(&def.key_format)?)?
                .with_registry(registry.clone(), &def.topic),
            value: RecordDecoder::new(vk, def.value_schema(), &vo, false)?
                .with_schema_options(&schema_options_of(&def.value_format)?)?
                .with_registry(registry.clone(), &def.topic),
            schema: def.row_schema(),
            def,
            timestamp,
        })
    }

    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    pub fn decode(&self, records: &[StoredRecord]) -> Result<Decoded, RuntimeError> {
        let n = records.len();
        // windowed keys carry their window after the key proper
        let windows: Option<Vec<Option<WindowedKey>>> = self.def.window.map(|w| {
            records
                .iter()
                .map(|r| {
                    r.record
                        .key
                        .as_deref()
                        .and_then(|k| crate::windowed::decode_key(k, &w))
                })
                .collect()
        });
        let keys: Vec<Option<&[u8]>> = match &windows {
            Some(ws) => ws
                .iter()
                .map(|w| w.as_ref().map(|(k, _, _)| k.as_slice()))
                .collect(),
            None => records.iter().map(|r| r.record.key.as_deref()).collect(),
        };
        let values: Vec<Option<&[u8]>> =
            records.iter().map(|r| r.record.value.as_deref()).collect();
        let k = self.key.decode(&keys);
        let v = self.value.decode(&values);

        let is_table = self.def.kind == sluice_sql::SourceKind::Table;
        let mut skipped = Vec::new();
        let mut keep = Vec::with_capacity(n);
        let mut tombstone = Vec::with_capacity(n);
        for (i, r) in records.iter().enumerate() {
            let reason = match (&k.status[i], &v.status[i]) {
                (RowStatus::Error(e), _) => Some((
                    "key",
                    format!("Failed to deserialize key from topic: {}. {e}", r.topic),
                )),
                (_, RowStatus::Error(e)) => Some((
                    "value",
                    format!("Failed to deserialize value from topic: {}. {e}", r.topic),
                )),
                _ => None,
            };
            if let Some((target, message)) = reason {
                skipped.push(Skipped {
                    partition: r.partition,
                    offset: r.offset,
                    message,
                    target: Some(target),
                });
                keep.push(false);
                tombstone.push(false);
                continue;
            }
            // A table row needs a key: ksqlDB drops (and logs) table records without one.
            if is_table
                && !k.status[i].eq(&RowStatus::Ok)
                && self.def.key_columns().next().is_some()
            {
                keep.push(false);
                tombstone.push(false);
                skipped.push(Skipped {
                    partition: r.partition,
                    offset: r.offset,
                    message: "Table record with a null key ignored".into(),
                    target: None,
                });
                continue;
            }
            // A null value is kept: streams pass it through as a null value (as Kafka
            // Streams' mapValues does), tables treat it as a delete.
            keep.push(true);
            tombstone.push(matches!(v.status[i], RowStatus::Null));
        }

        let mut columns: Vec<ArrayRef> = Vec::with_capacity(self.schema.fields().len());
        columns.extend(align(&k, n)?);
        columns.extend(align(&v, n)?);
        for c in self.def.header_columns() {
            let ColumnRole::Header(which) = &c.role else {
                continue;
            };
            columns.push(header_column(records, which.as_deref(), &c.ty)?);
        }
        columns.push(Arc::new(Int64Array::from_iter_values(
            records.iter().map(|r| r.record.timestamp),
        )));
        columns.push(Arc::new(Int32Array::from_iter_values(
            records.iter().map(|r| r.partition),
        )));
        columns.push(Arc::new(Int64Array::from_iter_values(
            records.iter().map(|r| r.offset),
        )));
        if let Some(ws) = &windows {
            columns.push(Arc::new(Int64Array::from_iter(
                ws.iter().map(|w| w.as_ref().map(|(_, s, _)| *s)),
            )));
            columns.push(Arc::new(Int64Array::from_iter(
                ws.iter().map(|w| w.as_ref().map(|(_, _, e)| *e)),
            )));
        }
        columns.push(header_column(records, None, &headers_type())?);
        columns.push(Arc::new(BooleanArray::from(tombstone.clone())));
        // the decoders produce exactly the declared types; cast defensively for nested nullability
        let columns = columns
            .into_iter()
            .zip(self.schema.fields())
            .map(|(c, f)| {
                if c.data_type() == f.data_type() {
                    Ok(c)
                } else {
                    cast(&c, f.data_type())
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut batch = RecordBatch::try_new(self.schema.clone(), columns)?;

        if let Some(ts) = &self.timestamp {
            let rowtime_idx = self.schema.index_of(sluice_planner::catalog::ROWTIME)?;
            let t = ts.evaluate(&batch)?.into_array(n)?;
            let t = cast(&t, &DataType::Int64)?;
            let t = t
                .as_any()
                .downcast_ref::<Int64Array>()
                .cloned()
                .unwrap_or_else(|| Int64Array::from(vec![None; n]));
            for i in 0..n {
                if keep[i] && !tombstone[i] && (t.is_null(i) || t.value(i) < 0) {
                    keep[i] = false;
                    skipped.push(Skipped {
                        partition: records[i].partition,
                        offset: records[i].offset,
                        message: "Invalid timestamp: the timestamp column is null, negative or unparsable".into(),
                        target: None,
                    });
                }
            }
            let mut cols = batch.columns().to_vec();
            let merged: Int64Array = (0..n)
                .map(|i| {
                    if t.is_valid(i) {
                        Some(t.value(i))
                    } else {
                        Some(records[i].record.timestamp)
                    }
                })
                .collect();
            cols[rowtime_idx] = Arc::new(merged);
            batch = RecordBatch::try_new(self.schema.clone(), cols)?;
        }

        let mask = BooleanArray::from(keep);
        let batch = filter_record_batch(&batch, &mask)?;
        let tombstone = arrow::compute::filter(&BooleanArray::from(tombstone), &mask)?;
        let tombstone = tombstone
            .as_any()
            .downcast_ref::<BooleanArray>()
            .cloned()
            .unwrap_or_else(|| BooleanArray::from(Vec::<bool>::new()));
        Ok(Decoded {
            batch,
            tombstone,
            skipped,
        })
    }
}

/// Decoders return columns for their Ok rows only; spread them back over all `n`
/// records (null where the row was Null or failed).
fn align(d: &DecodedBatch, n: usize) -> Result<Vec<ArrayRef>, RuntimeError> {
    let mut next = 0u32;
    let indices: UInt32Array = d
        .status
        .iter()
        .map(|s| match s {
            RowStatus::Ok => {
                next += 1;
                Some(next - 1)
            }
            _ => None,
        })
        .collect();
    if next as usize == n {
        return Ok(d.columns.clone());
    }
    d.columns
        .iter()
        .map(|c| Ok(take(c.as_ref(), &indices, None)?))
        .collect()
}

fn header_column(
    records: &[StoredRecord],
    which: Option<&str>,
    ty: &DataType,
) -> Result<ArrayRef, RuntimeError> {
    match which {
        Some(name) => {
            let mut b = BinaryBuilder::new();
            for r in records {
                // the last header with that key wins, as ksqlDB does
                let v = r
                    .record
                    .headers
                    .iter()
                    .rev()
                    .find(|h| h.key == name)
                    .and_then(|h| h.value.as_deref());
                b.append_option(v);
            }
            Ok(Arc::new(b.finish()))
        }
        None => {
            let DataType::List(item) = ty else {
                return Err(RuntimeError::Plan("HEADERS column must be an ARRAY".into()));
            };
            let DataType::Struct(fields) = item.data_type() else {
                return Err(RuntimeError::Plan(
                    "HEADERS column must be an ARRAY<STRUCT>".into(),
                ));
            };
            let sb = StructBuilder::new(
                fields.clone(),
                vec![
                    Box::new(StringBuilder::new()),
                    Box::new(BinaryBuilder::new()),
                ],
            );
            let mut lb = ListBuilder::new(sb).with_field(item.clone());
            for r in records {
                for h in &r.record.headers {
                    let s = lb.values();
                    s.field_builder::<StringBuilder>(0)
                        .ok_or_else(|| RuntimeError::Plan("header key builder".into()))?
                        .append_value(&h.key);
                    s.field_builder::<BinaryBuilder>(1)
                        .ok_or_else(|| RuntimeError::Plan("header value builder".into()))?
                        .append_option(h.value.as_deref());
                    s.append(true);
                }
                lb.append(true);
            }
            Ok(Arc::new(lb.finish()))
        }
    }
}
