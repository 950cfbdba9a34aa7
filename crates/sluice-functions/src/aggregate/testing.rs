//! Test helpers: build accumulators by name and feed them rows of scalars.

use datafusion_common::{Result, ScalarValue};
use datafusion_expr::Accumulator;

use super::{aggregate_function, AggregateCall};
use crate::arrow::array::ArrayRef;
use crate::arrow::datatypes::DataType;
use crate::util::{list_type, make_list};

fn call<'a>(types: &'a [DataType], lits: &'a [Option<ScalarValue>]) -> AggregateCall<'a> {
    AggregateCall {
        arg_types: types,
        literal_args: lits,
    }
}

/// Literal arguments matching `types` (all columns).
pub fn no_lits(types: &[DataType]) -> Vec<Option<ScalarValue>> {
    vec![None; types.len()]
}

pub fn ret(name: &str, types: &[DataType], lits: &[Option<ScalarValue>]) -> Result<DataType> {
    aggregate_function(name)
        .expect("function")
        .return_type(&call(types, lits))
}

/// The plan error message for a call.
pub fn ret_err(name: &str, types: &[DataType], lits: &[Option<ScalarValue>]) -> String {
    match ret(name, types, lits) {
        Ok(t) => panic!("{name} accepted {types:?} giving {t}"),
        Err(datafusion_common::DataFusionError::Plan(m)) => m,
        Err(e) => panic!("unexpected error {e}"),
    }
}

pub fn acc(name: &str, types: &[DataType], lits: &[Option<ScalarValue>]) -> Box<dyn Accumulator> {
    let f = aggregate_function(name).expect("function");
    let a = f.accumulator(&call(types, lits)).expect("accumulator");
    a
}

pub fn stream_acc(
    name: &str,
    types: &[DataType],
    lits: &[Option<ScalarValue>],
) -> Box<dyn Accumulator> {
    let f = aggregate_function(name).expect("function");
    let a = f
        .stream_accumulator(&call(types, lits))
        .expect("accumulator");
    a
}

fn arrays(row: &[ScalarValue]) -> Vec<ArrayRef> {
    row.iter()
        .map(|v| v.to_array_of_size(1).expect("array"))
        .collect()
}

/// Feeds one row (one value per input column) and returns the new result.
pub fn push(acc: &mut Box<dyn Accumulator>, row: &[ScalarValue]) -> ScalarValue {
    acc.update_batch(&arrays(row)).expect("update");
    acc.evaluate().expect("evaluate")
}

/// Retracts one row and returns the new result.
pub fn pull(acc: &mut Box<dyn Accumulator>, row: &[ScalarValue]) -> ScalarValue {
    assert!(acc.supports_retract_batch());
    acc.retract_batch(&arrays(row)).expect("retract");
    acc.evaluate().expect("evaluate")
}

/// Feeds a whole column in one batch.
pub fn push_all(acc: &mut Box<dyn Accumulator>, column: Vec<ScalarValue>) -> ScalarValue {
    let arr = ScalarValue::iter_to_array(column).expect("array");
    acc.update_batch(&[arr]).expect("update");
    acc.evaluate().expect("evaluate")
}

/// Round-trips `acc` through `state` / `merge_batch` into `fresh`.
pub fn merged_into(
    acc: &mut Box<dyn Accumulator>,
    fresh: &mut Box<dyn Accumulator>,
) -> ScalarValue {
    let state = acc.state().expect("state");
    let arrays: Vec<ArrayRef> = state
        .iter()
        .map(|v| v.to_array_of_size(1).expect("array"))
        .collect();
    fresh.merge_batch(&arrays).expect("merge");
    fresh.evaluate().expect("evaluate")
}

pub fn i32v(v: i32) -> ScalarValue {
    ScalarValue::Int32(Some(v))
}
pub fn i64v(v: i64) -> ScalarValue {
    ScalarValue::Int64(Some(v))
}
pub fn f64v(v: f64) -> ScalarValue {
    ScalarValue::Float64(Some(v))
}
pub fn sv(v: &str) -> ScalarValue {
    ScalarValue::Utf8(Some(v.to_string()))
}
pub fn null_i32() -> ScalarValue {
    ScalarValue::Int32(None)
}
pub fn null_str() -> ScalarValue {
    ScalarValue::Utf8(None)
}
pub fn list(values: Vec<ScalarValue>, elem: DataType) -> ScalarValue {
    make_list(values, &elem).expect("list")
}
pub fn list_of(elem: DataType) -> DataType {
    list_type(elem)
}
