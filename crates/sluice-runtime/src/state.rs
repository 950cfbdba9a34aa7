//! Operator state as changelog records: one aggregation group's window,
//! HAVING visibility, latest event time and every accumulator's intermediate
//! state (as DataFusion's `Accumulator::state` gives it). An accumulator is
//! rebuilt by merging its saved state into a fresh one
//! (`Accumulator::merge_batch`), as DataFusion merges partial aggregates. The
//! group's key values are not in the record: its key is the group's key.
//!
//! A value is a header — the format byte, flags (visible, windowed), then
//! as zig-zag varints the window start and length, the group's latest event
//! time (from the window start) and the operator's stream time (from that
//! event time) — then the accumulators' states: Arrow's row format (one
//! converter over every state value's type, so all the groups changed by a
//! batch encode at once), or, for state types the row format cannot take, a
//! one-row Arrow IPC stream. Values of the first format (a fixed 35-byte
//! header) are still read.

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

/// The first format: a fixed header (three bytes, four little-endian i64s).
const ROWS_FIXED: u8 = 1;
const IPC_FIXED: u8 = 2;
const FIXED_HEADER_LEN: usize = 3 + 4 * 8;
/// The header of varints.
const ROWS: u8 = 3;
const IPC: u8 = 4;

/// A group's state to write.
pub struct GroupState {
    pub window: Option<(i64, i64)>,
    pub visible: bool,
    pub max_ts: i64,
    /// Per accumulator, its state values.
    pub states: Vec<Vec<ScalarValue>>,
}

/// The fixed part of a changelog value.
#[derive(Debug, Clone, Copy)]
pub struct SavedHeader {
    pub window: Option<(i64, i64)>,
    pub visible: bool,
    pub max_ts: i64,
    /// The operator's stream time when the record was written.
    pub stream_time: i64,
}

/// A group read back from its changelog value.
pub struct SavedGroup {
    pub header: SavedHeader,
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
        Ok(Self::for_types(counts, types))
    }

    /// A codec for values of `types`, taken `counts[i]` at a time per
    /// accumulator (or per anything else kept as a list of value lists).
    pub fn for_types(counts: Vec<usize>, types: Vec<DataType>) -> Self {
        let fields: Vec<SortField> = types.iter().cloned().map(SortField::new).collect();
        let rows = (!types.contains(&DataType::Null) && RowConverter::supports_fields(&fields))
            .then(|| RowConverter::new(fields).ok())
            .flatten();
        StateCodec {
            counts,
            types,
            rows,
        }
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

    /// The header of a changelog value: window, visibility, latest event
    /// time and the operator's stream time (the accumulators left encoded).
    pub fn header(value: &[u8]) -> Result<SavedHeader, RuntimeError> {
        Self::split(value).map(|(h, _)| h)
    }

    /// A value's header, its format and where its accumulators start.
    fn split(value: &[u8]) -> Result<(SavedHeader, (u8, usize)), RuntimeError> {
        let Some(&format) = value.first() else {
            return Err(corrupt("an empty value"));
        };
        match format {
            ROWS_FIXED | IPC_FIXED => {
                if value.len() < FIXED_HEADER_LEN {
                    return Err(corrupt(format!("{} bytes", value.len())));
                }
                let int = |at: usize| {
                    i64::from_le_bytes(value[at..at + 8].try_into().expect("eight bytes"))
                };
                let header = SavedHeader {
                    window: (value[2] == 1).then(|| (int(3), int(11))),
                    visible: value[1] == 1,
                    max_ts: int(19),
                    stream_time: int(27),
                };
                let format = if format == ROWS_FIXED { ROWS } else { IPC };
                Ok((header, (format, FIXED_HEADER_LEN)))
            }
            ROWS | IPC => {
                let flags = *value.get(1).ok_or_else(|| corrupt("no flags"))?;
                let mut at = 2;
                let mut next = || read_varint(value, &mut at);
                let window = if flags & WINDOWED != 0 {
                    let start = next()?;
                    Some((start, start.wrapping_add(next()?)))
                } else {
                    None
                };
                let base = window.map_or(0, |w| w.0);
                let max_ts = base.wrapping_add(next()?);
                let stream_time = max_ts.wrapping_add(next()?);
                let header = SavedHeader {
                    window,
                    visible: flags & VISIBLE != 0,
                    max_ts,
                    stream_time,
                };
                Ok((header, (format, at)))
            }
            other => Err(corrupt(format!("format {other}"))),
        }
    }

    /// A group from its changelog value.
    pub fn decode(&self, value: &[u8]) -> Result<SavedGroup, RuntimeError> {
        let (header, (format, at)) = Self::split(value)?;
        let flat: Vec<ArrayRef> = match format {
            ROWS if self.types.is_empty() => Vec::new(),
            ROWS => {
                let converter = self
                    .rows
                    .as_ref()
                    .ok_or_else(|| corrupt("row-format state for types it cannot hold"))?;
                let parser = converter.parser();
                converter.convert_rows([parser.parse(&value[at..])])?
            }
            _ => {
                let mut reader = StreamReader::try_new(Cursor::new(&value[at..]), None)?;
                let batch = reader.next().ok_or_else(|| corrupt("no row"))??;
                batch.columns().to_vec()
            }
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
        Ok(SavedGroup { header, states })
    }
}

const VISIBLE: u8 = 1;
const WINDOWED: u8 = 2;

/// The header of a group's value (its format byte filled in later).
fn header(g: &GroupState, stream_time: i64) -> Vec<u8> {
    let mut v = Vec::with_capacity(48);
    v.push(0);
    let mut flags = 0;
    if g.visible {
        flags |= VISIBLE;
    }
    if g.window.is_some() {
        flags |= WINDOWED;
    }
    v.push(flags);
    let base = match g.window {
        Some((start, end)) => {
            write_varint(&mut v, start);
            write_varint(&mut v, end.wrapping_sub(start));
            start
        }
        None => 0,
    };
    write_varint(&mut v, g.max_ts.wrapping_sub(base));
    write_varint(&mut v, stream_time.wrapping_sub(g.max_ts));
    v
}

/// `n` zig-zag encoded as a LEB128 varint (small magnitudes, either sign,
/// take few bytes).
pub(crate) fn write_varint(out: &mut Vec<u8>, n: i64) {
    let mut z = ((n << 1) ^ (n >> 63)) as u64;
    while z >= 0x80 {
        out.push((z as u8) | 0x80);
        z >>= 7;
    }
    out.push(z as u8);
}

pub(crate) fn read_varint(value: &[u8], at: &mut usize) -> Result<i64, RuntimeError> {
    let mut z: u64 = 0;
    for shift in (0..64).step_by(7) {
        let byte = *value
            .get(*at)
            .ok_or_else(|| corrupt("a header cut short"))?;
        *at += 1;
        z |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(((z >> 1) as i64) ^ -((z & 1) as i64));
        }
    }
    Err(corrupt("a varint longer than ten bytes"))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_take_every_i64_back() {
        for n in [
            0,
            1,
            -1,
            63,
            -64,
            64,
            10_000,
            1_700_000_000_000,
            i64::MIN,
            i64::MAX,
        ] {
            let mut v = Vec::new();
            write_varint(&mut v, n);
            let mut at = 0;
            assert_eq!(read_varint(&v, &mut at).unwrap(), n);
            assert_eq!(at, v.len());
        }
        let mut at = 0;
        assert!(read_varint(&[0x80, 0x80], &mut at).is_err());
    }

    #[test]
    fn headers_come_back_and_the_first_fixed_format_is_still_read() {
        let codec = StateCodec::new(&mut []).unwrap();
        let cases = [
            (
                Some((1_700_000_000_000, 1_700_000_010_000)),
                true,
                1_700_000_004_321,
                1_700_000_009_999,
            ),
            (None, false, -5, i64::MAX),
            (Some((i64::MIN, i64::MAX)), true, i64::MIN, i64::MIN),
        ];
        for (window, visible, max_ts, stream_time) in cases {
            let g = GroupState {
                window,
                visible,
                max_ts,
                states: Vec::new(),
            };
            let value = codec.encode(vec![g], stream_time).unwrap().remove(0);
            let back = codec.decode(&value).unwrap().header;
            assert_eq!(
                (back.window, back.visible, back.max_ts, back.stream_time),
                (window, visible, max_ts, stream_time)
            );
        }
        // a small window's header takes 15 bytes where the fixed one took 35
        let g = GroupState {
            window: cases[0].0,
            visible: true,
            max_ts: cases[0].2,
            states: Vec::new(),
        };
        assert_eq!(codec.encode(vec![g], cases[0].3).unwrap()[0].len(), 15);
        let mut fixed = vec![ROWS_FIXED, 1, 1];
        for n in [10i64, 20, 15, 30] {
            fixed.extend_from_slice(&n.to_le_bytes());
        }
        let back = codec.decode(&fixed).unwrap().header;
        assert_eq!(
            (back.window, back.visible, back.max_ts, back.stream_time),
            (Some((10, 20)), true, 15, 30)
        );
        assert!(codec.decode(&fixed[..20]).is_err());
        assert!(codec.decode(&[9, 0]).is_err());
    }
}
