//! Operator state as changelog records: one aggregation group's window,
//! HAVING visibility, latest event time and every accumulator's intermediate
//! state (as DataFusion's `Accumulator::state` gives it). An accumulator is
//! rebuilt by merging its saved state into a fresh one
//! (`Accumulator::merge_batch`), as DataFusion merges partial aggregates. The
//! group's key values are not in the record: its key is the group's key.
//!
//! A value is a fixed header — format, visible, windowed, window start and
//! end, the group's latest event time, the operator's stream time — then the
//! accumulators' states: Arrow's row format (one converter over every state
//! value's type, so all the groups changed by a batch encode at once), or,
//! for state types the row format cannot take, a one-row Arrow IPC stream.

use std::io::Cursor;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, RecordBatch};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::ipc::reader::StreamReader;
use arrow::ipc::writer::StreamWriter;
use arrow::row::{RowConverter, SortField};
use datafusion_common::ScalarValue;
use datafusion_expr::Accumulator;

use crate::RuntimeError;

const ROWS: u8 = 1;
const IPC: u8 = 2;
const HEADER_LEN: usize = 3 + 4 * 8;

/// A group's state to write.
pub struct GroupState {
    pub window: Option<(i64, i64)>,
    pub visible: bool,
    pub max_ts: i64,
    /// Per accumulator, its state values.
    pub states: Vec<Vec<ScalarValue>>,
}

/// A group read back from its changelog value.
pub struct SavedGroup {
    pub window: Option<(i64, i64)>,
    pub visible: bool,
    pub max_ts: i64,
    /// The operator's stream time when the record was written.
    pub stream_time: i64,
    /// Per accumulator, its state values as one-row arrays, for `merge_batch`.
    pub states: Vec<Vec<ArrayRef>>,
}

fn corrupt(why: impl std::fmt::Display) -> RuntimeError {
    RuntimeError::State(format!("unreadable changelog record: {why}"))
}

/// Encodes and decodes the states of one operator's groups.
pub struct StateCodec {
    /// How many state values each accumulator has.
    counts: Vec<usize>,
    /// The type of every state value, accumulators in order.
    types: Vec<DataType>,
    /// Over `types`, when the row format takes them all.
    rows: Option<RowConverter>,
}

impl StateCodec {
    /// A codec for the states of accumulators like `fresh` (new ones).
    pub fn new(fresh: &mut [Box<dyn Accumulator>]) -> Result<Self, RuntimeError> {
        let mut counts = Vec::new();
        let mut types = Vec::new();
        for acc in fresh {
            let state = acc.state()?;
            counts.push(state.len());
            types.extend(state.iter().map(ScalarValue::data_type));
        }
        let fields: Vec<SortField> = types.iter().cloned().map(SortField::new).collect();
        let rows = (!types.contains(&DataType::Null) && RowConverter::supports_fields(&fields))
            .then(|| RowConverter::new(fields).ok())
            .flatten();
        Ok(StateCodec {
            counts,
            types,
            rows,
        })
    }

    /// The changelog values of `groups`, in order.
    pub fn encode(
        &self,
        groups: Vec<GroupState>,
        stream_time: i64,
    ) -> Result<Vec<Vec<u8>>, RuntimeError> {
        let mut out: Vec<Vec<u8>> = groups.iter().map(|g| header(g, stream_time)).collect();
        if self.types.is_empty() {
            // no aggregate calls: nothing but the header
            for value in &mut out {
                value[0] = ROWS;
            }
            return Ok(out);
        }
        if let Some(rows) = self
            .as_rows(&groups)?
            .filter(|r| r.num_rows() == groups.len())
        {
            for (value, row) in out.iter_mut().zip(rows.iter()) {
                value[0] = ROWS;
                value.extend_from_slice(row.as_ref());
            }
            return Ok(out);
        }
        for (value, g) in out.iter_mut().zip(&groups) {
            value[0] = IPC;
            value.extend(ipc_row(&g.states)?);
        }
        Ok(out)
    }

    /// The groups' states in the row format, when it takes them.
    fn as_rows(&self, groups: &[GroupState]) -> Result<Option<arrow::row::Rows>, RuntimeError> {
        let Some(converter) = &self.rows else {
            return Ok(None);
        };
        let mut columns: Vec<Vec<ScalarValue>> =
            vec![Vec::with_capacity(groups.len()); self.types.len()];
        for g in groups {
            let values = g.states.iter().flatten();
            if g.states
                .iter()
                .map(Vec::len)
                .ne(self.counts.iter().copied())
            {
                return Ok(None);
            }
            for (column, v) in columns.iter_mut().zip(values) {
                column.push(v.clone());
            }
        }
        let mut arrays = Vec::with_capacity(columns.len());
        for (values, ty) in columns.into_iter().zip(&self.types) {
            let Ok(array) = ScalarValue::iter_to_array(values) else {
                return Ok(None);
            };
            let array = if array.data_type() == ty {
                array
            } else {
                match arrow::compute::cast(&array, ty) {
                    Ok(a) => a,
                    Err(_) => return Ok(None),
                }
            };
            arrays.push(array);
        }
        Ok(converter.convert_columns(&arrays).ok())
    }

    /// A group from its changelog value.
    pub fn decode(&self, value: &[u8]) -> Result<SavedGroup, RuntimeError> {
        if value.len() < HEADER_LEN {
            return Err(corrupt(format!("{} bytes", value.len())));
        }
        let int =
            |at: usize| i64::from_le_bytes(value[at..at + 8].try_into().expect("eight bytes"));
        let window = (value[2] == 1).then(|| (int(3), int(11)));
        let flat: Vec<ArrayRef> = match value[0] {
            ROWS if self.types.is_empty() => Vec::new(),
            ROWS => {
                let converter = self
                    .rows
                    .as_ref()
                    .ok_or_else(|| corrupt("row-format state for types it cannot hold"))?;
                let parser = converter.parser();
                converter.convert_rows([parser.parse(&value[HEADER_LEN..])])?
            }
            IPC => {
                let mut reader = StreamReader::try_new(Cursor::new(&value[HEADER_LEN..]), None)?;
                let batch = reader.next().ok_or_else(|| corrupt("no row"))??;
                batch.columns().to_vec()
            }
            other => return Err(corrupt(format!("format {other}"))),
        };
        if flat.len() != self.types.len() {
            return Err(corrupt(format!(
                "{} state values, expected {}",
                flat.len(),
                self.types.len()
            )));
        }
        let mut flat = flat.into_iter();
        let states = self
            .counts
            .iter()
            .map(|n| flat.by_ref().take(*n).collect())
            .collect();
        Ok(SavedGroup {
            window,
            visible: value[1] == 1,
            max_ts: int(19),
            stream_time: int(27),
            states,
        })
    }
}

/// The fixed header of a group's value (its format byte filled in later).
fn header(g: &GroupState, stream_time: i64) -> Vec<u8> {
    let mut v = Vec::with_capacity(HEADER_LEN + 32);
    v.push(0);
    v.push(u8::from(g.visible));
    v.push(u8::from(g.window.is_some()));
    let (start, end) = g.window.unwrap_or_default();
    for n in [start, end, g.max_ts, stream_time] {
        v.extend_from_slice(&n.to_le_bytes());
    }
    v
}

/// One group's state values as a one-row Arrow IPC stream.
fn ipc_row(states: &[Vec<ScalarValue>]) -> Result<Vec<u8>, RuntimeError> {
    let mut fields = Vec::new();
    let mut columns: Vec<ArrayRef> = Vec::new();
    for (i, v) in states.iter().flatten().enumerate() {
        let array = v.to_array()?;
        fields.push(Field::new(format!("s{i}"), array.data_type().clone(), true));
        columns.push(array);
    }
    let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)?;
    let mut out = Vec::new();
    {
        let mut writer = StreamWriter::try_new(&mut out, &batch.schema())?;
        writer.write(&batch)?;
        writer.finish()?;
    }
    Ok(out)
}
