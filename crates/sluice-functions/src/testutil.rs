//! Test helpers: call a registered function on scalar values.

use std::sync::Arc;

use datafusion_common::config::ConfigOptions;
use datafusion_common::{Result, ScalarValue};
use datafusion_expr::{ColumnarValue, ScalarFunctionArgs};

use crate::arrow::array::ArrayRef;
use crate::arrow::datatypes::{DataType, Field};
use crate::scalar_function;
use crate::util;

fn invoke(name: &str, args: Vec<ColumnarValue>, rows: usize) -> Result<ColumnarValue> {
    let udf = scalar_function(name).unwrap_or_else(|| panic!("no function {name}"));
    invoke_udf(&udf, args, rows)
}

/// Calls `udf` on `args` as DataFusion would, for `rows` rows.
pub(crate) fn invoke_udf(
    udf: &datafusion_expr::ScalarUDF,
    args: Vec<ColumnarValue>,
    rows: usize,
) -> Result<ColumnarValue> {
    let name = udf.name();
    let types: Vec<DataType> = args.iter().map(|a| a.data_type()).collect();
    let ret = udf.return_type(&types)?;
    udf.invoke_with_args(ScalarFunctionArgs {
        arg_fields: types
            .iter()
            .map(|t| Arc::new(Field::new("a", t.clone(), true)))
            .collect(),
        args,
        number_rows: rows,
        return_field: Arc::new(Field::new(name, ret, true)),
        config_options: Arc::new(ConfigOptions::default()),
    })
}

/// Calls a function whose result depends on when it runs (`UNIX_TIMESTAMP()`):
/// once, so two paths cannot straddle a clock tick.
pub fn call_now(name: &str) -> ScalarValue {
    match invoke(name, Vec::new(), 1).unwrap_or_else(|e| panic!("{name}: {e}")) {
        ColumnarValue::Scalar(s) => s,
        ColumnarValue::Array(a) => ScalarValue::try_from_array(&a, 0).expect("one row"),
    }
}

/// Calls `name` with scalar arguments, checking the scalar and the array
/// paths agree, and returns the result.
pub fn try_call(name: &str, args: &[ScalarValue]) -> Result<ScalarValue> {
    let scalar = invoke(
        name,
        args.iter().cloned().map(ColumnarValue::Scalar).collect(),
        1,
    )?;
    let arrays = args
        .iter()
        .map(|a| a.to_array_of_size(1).map(ColumnarValue::Array))
        .collect::<Result<Vec<_>>>()?;
    let from_arrays = match invoke(name, arrays, 1)? {
        ColumnarValue::Array(a) => ScalarValue::try_from_array(&a, 0)?,
        ColumnarValue::Scalar(s) => s,
    };
    let scalar = match scalar {
        ColumnarValue::Scalar(s) => s,
        ColumnarValue::Array(a) => ScalarValue::try_from_array(&a, 0)?,
    };
    assert_eq!(
        scalar, from_arrays,
        "scalar and array paths differ for {name}"
    );
    Ok(scalar)
}

pub fn call(name: &str, args: &[ScalarValue]) -> ScalarValue {
    try_call(name, args).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Calls with whole arrays.
pub fn call_arrays(name: &str, args: Vec<ArrayRef>) -> ArrayRef {
    let rows = args.first().map(|a| a.len()).unwrap_or(1);
    match invoke(
        name,
        args.into_iter().map(ColumnarValue::Array).collect(),
        rows,
    ) {
        Ok(ColumnarValue::Array(a)) => a,
        Ok(ColumnarValue::Scalar(s)) => s.to_array_of_size(rows).expect("array"),
        Err(e) => panic!("{name}: {e}"),
    }
}

pub fn ret(name: &str, types: &[DataType]) -> Result<DataType> {
    scalar_function(name).expect("function").return_type(types)
}

pub fn st(v: &str) -> ScalarValue {
    ScalarValue::Utf8(Some(v.to_string()))
}
pub fn int(v: i32) -> ScalarValue {
    ScalarValue::Int32(Some(v))
}
pub fn big(v: i64) -> ScalarValue {
    ScalarValue::Int64(Some(v))
}
pub fn dbl(v: f64) -> ScalarValue {
    ScalarValue::Float64(Some(v))
}
pub fn boo(v: bool) -> ScalarValue {
    ScalarValue::Boolean(Some(v))
}
pub fn byt(v: &[u8]) -> ScalarValue {
    ScalarValue::Binary(Some(v.to_vec()))
}
pub fn dec(v: i128, p: u8, s: i8) -> ScalarValue {
    ScalarValue::Decimal128(Some(v), p, s)
}
pub fn null() -> ScalarValue {
    ScalarValue::Null
}
pub fn null_str() -> ScalarValue {
    ScalarValue::Utf8(None)
}
pub fn null_int() -> ScalarValue {
    ScalarValue::Int32(None)
}
pub fn date(days: i32) -> ScalarValue {
    ScalarValue::Date32(Some(days))
}
pub fn time(ms: i32) -> ScalarValue {
    ScalarValue::Time32Millisecond(Some(ms))
}
pub fn ts(ms: i64) -> ScalarValue {
    ScalarValue::TimestampMillisecond(Some(ms), None)
}
pub fn list(items: Vec<ScalarValue>, elem: DataType) -> ScalarValue {
    util::make_list(items, &elem).expect("list")
}
pub fn strs(items: &[&str]) -> ScalarValue {
    list(items.iter().map(|s| st(s)).collect(), DataType::Utf8)
}
pub fn ints(items: &[Option<i32>]) -> ScalarValue {
    list(
        items.iter().map(|v| ScalarValue::Int32(*v)).collect(),
        DataType::Int32,
    )
}
pub fn map(entries: Vec<(ScalarValue, ScalarValue)>, k: DataType, v: DataType) -> ScalarValue {
    util::make_map(entries, &k, &v).expect("map")
}
/// Renders a value compactly (lists/maps as `[..]`/`{..}`) for assertions.
pub fn show(v: &ScalarValue) -> String {
    crate::json::render_for_tests(v)
}
pub fn null_dbl() -> ScalarValue {
    ScalarValue::Float64(None)
}
