//! Table functions (EXPLODE, CUBE_EXPLODE): each input row becomes as many rows as
//! its longest function result; shorter results are padded with NULL, as ksqlDB does
//! when a projection holds several table functions.

use std::sync::Arc;

use arrow::array::{new_null_array, Array, ArrayRef, AsArray, ListArray, RecordBatch, UInt32Array};
use arrow::buffer::OffsetBuffer;
use arrow::compute::take;
use arrow::datatypes::{DataType, SchemaRef};
use sluice_functions::user::{report_row_error, take_row_errors};
use sluice_planner::{TableFunctionCall, TableFunctionKind};

use crate::RuntimeError;

/// The distinct combinations of a row's elements with NULL, in ksqlDB's order
/// (the first element varies slowest), as element indices (None = NULL).
fn cube(start: usize, len: usize, values: &dyn Array) -> Vec<Vec<Option<u32>>> {
    let mut out: Vec<Vec<Option<u32>>> = Vec::new();
    for mask in 0..(1usize << len.min(20)) {
        let combo: Vec<Option<u32>> = (0..len)
            .map(|i| {
                let included = mask & (1 << (len - 1 - i)) != 0;
                let idx = start + i;
                (included && values.is_valid(idx)).then_some(idx as u32)
            })
            .collect();
        if !out.contains(&combo) {
            out.push(combo);
        }
    }
    out
}

/// The calls' arguments over `batch`, each an ARRAY per row.
fn evaluate(
    batch: &RecordBatch,
    calls: &[TableFunctionCall],
) -> Result<Vec<ListArray>, RuntimeError> {
    let n = batch.num_rows();
    calls
        .iter()
        .map(|c| {
            let a = c.arg.evaluate(batch)?.into_array(n)?;
            a.as_list_opt::<i32>()
                .cloned()
                .ok_or_else(|| RuntimeError::Plan("table function argument is not an ARRAY".into()))
        })
        .collect()
}

pub fn expand(
    batch: &RecordBatch,
    calls: &[TableFunctionCall],
    schema: &SchemaRef,
) -> Result<RecordBatch, RuntimeError> {
    let n = batch.num_rows();
    let earlier = take_row_errors();
    let lists = evaluate(batch, calls);
    let errors = take_row_errors();
    // a row whose table function (or one of its arguments) failed gives no
    // rows, as ksqlDB's flat-map drops a record whose function throws; which
    // rows failed is asked row by row, only when some did
    let failed: Vec<bool> = if errors.is_empty() || n == 1 || lists.is_err() {
        vec![!errors.is_empty(); n]
    } else {
        (0..n)
            .map(|r| {
                let _ = evaluate(&batch.slice(r, 1), calls);
                !take_row_errors().is_empty()
            })
            .collect()
    };
    // the errors go on to the processing log, once each
    for e in earlier.into_iter().chain(errors) {
        report_row_error(e);
    }
    let lists = lists?;
    // per call, per row: the element indices of each produced value
    let mut produced: Vec<Vec<Vec<Option<u32>>>> = Vec::with_capacity(calls.len());
    let mut cubes: Vec<Vec<Vec<Vec<Option<u32>>>>> = Vec::with_capacity(calls.len());
    for (call, list) in calls.iter().zip(&lists) {
        let offsets = list.value_offsets();
        let mut rows = Vec::with_capacity(n);
        let mut cube_rows = Vec::with_capacity(n);
        for r in 0..n {
            let (start, end) = (offsets[r] as usize, offsets[r + 1] as usize);
            let len = if list.is_null(r) { 0 } else { end - start };
            match call.kind {
                TableFunctionKind::Explode => {
                    rows.push((start..start + len).map(|i| Some(i as u32)).collect());
                    cube_rows.push(Vec::new());
                }
                TableFunctionKind::CubeExplode => {
                    let combos = if list.is_null(r) {
                        Vec::new()
                    } else {
                        cube(start, len, list.values().as_ref())
                    };
                    rows.push((0..combos.len()).map(|i| Some(i as u32)).collect());
                    cube_rows.push(combos);
                }
            }
        }
        produced.push(rows);
        cubes.push(cube_rows);
    }
    let counts: Vec<usize> = (0..n)
        .map(|r| {
            if failed[r] {
                0
            } else {
                produced.iter().map(|p| p[r].len()).max().unwrap_or(0)
            }
        })
        .collect();
    let repeat: UInt32Array = (0..n)
        .flat_map(|r| std::iter::repeat_n(r as u32, counts[r]))
        .map(Some)
        .collect();
    let mut columns: Vec<ArrayRef> = batch
        .columns()
        .iter()
        .map(|c| take(c.as_ref(), &repeat, None))
        .collect::<Result<_, _>>()?;
    for (k, (call, list)) in calls.iter().zip(&lists).enumerate() {
        let field = schema.field(batch.num_columns() + k);
        let col: ArrayRef = match call.kind {
            TableFunctionKind::Explode => {
                let idx: UInt32Array = (0..n)
                    .flat_map(|r| (0..counts[r]).map(move |j| (r, j)))
                    .map(|(r, j)| produced[k][r].get(j).copied().flatten())
                    .collect();
                take(list.values().as_ref(), &idx, None)?
            }
            TableFunctionKind::CubeExplode => {
                let DataType::List(item) = field.data_type() else {
                    return Err(RuntimeError::Plan(
                        "CUBE_EXPLODE must produce an ARRAY".into(),
                    ));
                };
                let mut idx: Vec<Option<u32>> = Vec::new();
                let mut lengths = Vec::new();
                let mut valid = Vec::new();
                for r in 0..n {
                    for j in 0..counts[r] {
                        match cubes[k][r].get(j) {
                            Some(combo) => {
                                idx.extend(combo.iter().copied());
                                lengths.push(combo.len());
                                valid.push(true);
                            }
                            None => {
                                lengths.push(0);
                                valid.push(false);
                            }
                        }
                    }
                }
                let values = if idx.is_empty() {
                    new_null_array(item.data_type(), 0)
                } else {
                    take(list.values().as_ref(), &UInt32Array::from(idx), None)?
                };
                Arc::new(ListArray::try_new(
                    item.clone(),
                    OffsetBuffer::from_lengths(lengths),
                    values,
                    Some(valid.into()),
                )?)
            }
        };
        columns.push(if col.data_type() == field.data_type() {
            col
        } else {
            arrow::compute::cast(&col, field.data_type())?
        });
    }
    Ok(RecordBatch::try_new(schema.clone(), columns)?)
}
