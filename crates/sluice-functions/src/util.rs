//! Shared helpers: type construction, value accessors and builders, errors.

use std::sync::Arc;

use datafusion_common::{DataFusionError, Result, ScalarValue};

use crate::arrow::array::{
    new_empty_array, new_null_array, Array, ArrayRef, ListArray, MapArray, StructArray,
};
use crate::arrow::buffer::OffsetBuffer;
use crate::arrow::compute::{cast_with_options, CastOptions};
use crate::arrow::datatypes::{DataType, Field, Fields};

pub(crate) fn plan_err_msg(msg: String) -> DataFusionError {
    DataFusionError::Plan(msg)
}

/// Arrow cast that turns unconvertible values into NULL.
pub(crate) fn cast_safe(arr: &ArrayRef, to: &DataType) -> Result<ArrayRef> {
    let opts = CastOptions {
        safe: true,
        ..Default::default()
    };
    Ok(cast_with_options(arr, to, &opts)?)
}

/// Sluice's `ARRAY<T>` type.
pub(crate) fn list_type(item: DataType) -> DataType {
    DataType::List(Arc::new(Field::new("item", item, true)))
}

fn entries_field(k: DataType, v: DataType) -> Arc<Field> {
    Arc::new(Field::new(
        "entries",
        DataType::Struct(Fields::from(vec![
            Field::new("key", k, false),
            Field::new("value", v, true),
        ])),
        false,
    ))
}

/// Sluice's `MAP<K, V>` type.
pub(crate) fn map_type(k: DataType, v: DataType) -> DataType {
    DataType::Map(entries_field(k, v), false)
}

/// Element type of a list type (Null otherwise).
pub(crate) fn elem_type(t: &DataType) -> DataType {
    match t {
        DataType::List(f) | DataType::LargeList(f) => f.data_type().clone(),
        _ => DataType::Null,
    }
}

/// Key and value types of a map type.
pub(crate) fn map_kv_types(t: &DataType) -> (DataType, DataType) {
    if let DataType::Map(f, _) = t {
        if let DataType::Struct(fs) = f.data_type() {
            if fs.len() == 2 {
                return (fs[0].data_type().clone(), fs[1].data_type().clone());
            }
        }
    }
    (DataType::Utf8, DataType::Null)
}

/// A typed NULL.
pub(crate) fn null_of(t: &DataType) -> Result<ScalarValue> {
    ScalarValue::try_from_array(&new_null_array(t, 1), 0)
}

/// ksqlDB's name for a type, as used in its error messages.
pub(crate) fn sql_type_name(t: &DataType) -> String {
    match t {
        DataType::Null => "null".into(),
        DataType::Boolean => "BOOLEAN".into(),
        DataType::Int8 | DataType::Int16 | DataType::Int32 => "INTEGER".into(),
        DataType::Int64 => "BIGINT".into(),
        DataType::Float32 | DataType::Float64 => "DOUBLE".into(),
        DataType::Decimal128(p, s) => format!("DECIMAL({p}, {s})"),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "STRING".into(),
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => "BYTES".into(),
        DataType::Date32 => "DATE".into(),
        DataType::Time32(_) | DataType::Time64(_) => "TIME".into(),
        DataType::Timestamp(_, _) => "TIMESTAMP".into(),
        DataType::List(f) | DataType::LargeList(f) => {
            format!("ARRAY<{}>", sql_type_name(f.data_type()))
        }
        DataType::Map(_, _) => {
            let (k, v) = map_kv_types(t);
            format!("MAP<{}, {}>", sql_type_name(&k), sql_type_name(&v))
        }
        DataType::Struct(fs) => format!(
            "STRUCT<{}>",
            fs.iter()
                .map(|f| format!("`{}` {}", f.name(), sql_type_name(f.data_type())))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => other.to_string(),
    }
}

// ----------------------------------------------------------------------------
// Accessors: `None` for NULL or a type the caller did not expect.
// ----------------------------------------------------------------------------

pub(crate) fn as_str(v: &ScalarValue) -> Option<&str> {
    match v {
        ScalarValue::Utf8(s) | ScalarValue::LargeUtf8(s) | ScalarValue::Utf8View(s) => s.as_deref(),
        _ => None,
    }
}

pub(crate) fn as_bytes(v: &ScalarValue) -> Option<&[u8]> {
    match v {
        ScalarValue::Binary(b) | ScalarValue::LargeBinary(b) | ScalarValue::BinaryView(b) => {
            b.as_deref()
        }
        _ => None,
    }
}

pub(crate) fn as_i64(v: &ScalarValue) -> Option<i64> {
    match v {
        ScalarValue::Int8(x) => x.map(i64::from),
        ScalarValue::Int16(x) => x.map(i64::from),
        ScalarValue::Int32(x) => x.map(i64::from),
        ScalarValue::Int64(x) => *x,
        ScalarValue::UInt8(x) => x.map(i64::from),
        ScalarValue::UInt16(x) => x.map(i64::from),
        ScalarValue::UInt32(x) => x.map(i64::from),
        ScalarValue::Date32(x) => x.map(i64::from),
        ScalarValue::Time32Millisecond(x) => x.map(i64::from),
        ScalarValue::TimestampMillisecond(x, _) => *x,
        _ => None,
    }
}

pub(crate) fn as_f64(v: &ScalarValue) -> Option<f64> {
    match v {
        ScalarValue::Float64(x) => *x,
        ScalarValue::Float32(x) => x.map(f64::from),
        ScalarValue::Decimal128(x, _, s) => x.map(|x| x as f64 / 10f64.powi(*s as i32)),
        other => as_i64(other).map(|x| x as f64),
    }
}

pub(crate) fn as_bool(v: &ScalarValue) -> Option<bool> {
    match v {
        ScalarValue::Boolean(b) => *b,
        _ => None,
    }
}

/// Elements of a list value (`None` if NULL).
pub(crate) fn list_items(v: &ScalarValue) -> Option<Vec<ScalarValue>> {
    let arr: ArrayRef = match v {
        ScalarValue::List(l) if !l.is_null(0) => l.value(0),
        ScalarValue::LargeList(l) if !l.is_null(0) => l.value(0),
        _ => return None,
    };
    array_items(&arr)
}

pub(crate) fn array_items(arr: &ArrayRef) -> Option<Vec<ScalarValue>> {
    (0..arr.len())
        .map(|i| ScalarValue::try_from_array(arr, i).ok())
        .collect()
}

/// Entries of a map value (`None` if NULL).
pub(crate) fn map_entries(v: &ScalarValue) -> Option<Vec<(ScalarValue, ScalarValue)>> {
    let ScalarValue::Map(m) = v else { return None };
    if m.is_null(0) {
        return None;
    }
    let entries = m.value(0);
    let keys = array_items(entries.column(0))?;
    let vals = array_items(entries.column(1))?;
    Some(keys.into_iter().zip(vals).collect())
}

/// Builds an array of `t` from values (casting if needed).
pub(crate) fn values_array(values: Vec<ScalarValue>, t: &DataType) -> Option<ArrayRef> {
    if values.is_empty() {
        return Some(new_empty_array(t));
    }
    let values = values
        .into_iter()
        .map(|v| {
            if v.is_null() {
                null_of(t).ok()
            } else {
                Some(v)
            }
        })
        .collect::<Option<Vec<_>>>()?;
    let arr = ScalarValue::iter_to_array(values).ok()?;
    if arr.data_type() == t {
        Some(arr)
    } else {
        cast_safe(&arr, t).ok()
    }
}

/// A list value with element type `elem`.
pub(crate) fn make_list(values: Vec<ScalarValue>, elem: &DataType) -> Option<ScalarValue> {
    let arr = values_array(values, elem)?;
    let list = ListArray::try_new(
        Arc::new(Field::new("item", elem.clone(), true)),
        OffsetBuffer::from_lengths([arr.len()]),
        arr,
        None,
    )
    .ok()?;
    Some(ScalarValue::List(Arc::new(list)))
}

/// A list of strings.
pub(crate) fn str_list<I: IntoIterator<Item = Option<String>>>(items: I) -> Option<ScalarValue> {
    make_list(
        items.into_iter().map(ScalarValue::Utf8).collect(),
        &DataType::Utf8,
    )
}

/// A map value with the given key/value types.
pub(crate) fn make_map(
    entries: Vec<(ScalarValue, ScalarValue)>,
    k: &DataType,
    v: &DataType,
) -> Option<ScalarValue> {
    let (keys, vals): (Vec<_>, Vec<_>) = entries.into_iter().unzip();
    let keys = values_array(keys, k)?;
    if keys.null_count() > 0 {
        return None;
    }
    let vals = values_array(vals, v)?;
    let field = entries_field(k.clone(), v.clone());
    let DataType::Struct(fields) = field.data_type() else {
        return None;
    };
    let len = keys.len();
    let st = StructArray::try_new(fields.clone(), vec![keys, vals], None).ok()?;
    let map = MapArray::try_new(field, OffsetBuffer::from_lengths([len]), st, None, false).ok()?;
    Some(ScalarValue::Map(Arc::new(map)))
}

/// A single-row struct value.
pub(crate) fn make_struct(fields: &Fields, values: Vec<ScalarValue>) -> Option<ScalarValue> {
    let cols = fields
        .iter()
        .zip(values)
        .map(|(f, v)| values_array(vec![v], f.data_type()))
        .collect::<Option<Vec<_>>>()?;
    let st = StructArray::try_new(fields.clone(), cols, None).ok()?;
    Some(ScalarValue::Struct(Arc::new(st)))
}

pub(crate) fn s(v: impl Into<String>) -> Option<ScalarValue> {
    Some(ScalarValue::Utf8(Some(v.into())))
}

pub(crate) fn i32v(v: i32) -> Option<ScalarValue> {
    Some(ScalarValue::Int32(Some(v)))
}

pub(crate) fn i64v(v: i64) -> Option<ScalarValue> {
    Some(ScalarValue::Int64(Some(v)))
}

pub(crate) fn f64v(v: f64) -> Option<ScalarValue> {
    Some(ScalarValue::Float64(Some(v)))
}

pub(crate) fn boolv(v: bool) -> Option<ScalarValue> {
    Some(ScalarValue::Boolean(Some(v)))
}

pub(crate) fn bytesv(v: Vec<u8>) -> Option<ScalarValue> {
    Some(ScalarValue::Binary(Some(v)))
}

/// Java's `String.length()` counts UTF-16 units; ksqlDB strings are indexed
/// by code points in practice for BMP text. We index by `char`.
pub(crate) fn chars(s: &str) -> Vec<char> {
    s.chars().collect()
}

/// Empty typed array helper for tests and batch functions.
#[allow(dead_code)]
pub(crate) fn empty(t: &DataType) -> ArrayRef {
    new_empty_array(t)
}

/// Java's `Double.toString`.
pub fn java_double(x: f64) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    let a = x.abs();
    if x == 0.0 || (1e-3..1e7).contains(&a) {
        let s = format!("{x}");
        if s.contains('.') {
            s
        } else {
            format!("{s}.0")
        }
    } else {
        let s = format!("{x:e}");
        let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
        let m = if m.contains('.') {
            m.to_string()
        } else {
            format!("{m}.0")
        };
        format!("{m}E{e}")
    }
}

/// A decimal's plain text (Java `BigDecimal.toPlainString`).
pub fn decimal_string(v: i128, scale: i8) -> String {
    if scale <= 0 {
        let mut s = v.to_string();
        if v != 0 {
            s.extend(std::iter::repeat_n('0', (-scale) as usize));
        }
        return s;
    }
    let neg = v < 0;
    let digits = v.unsigned_abs().to_string();
    let scale = scale as usize;
    let padded = if digits.len() <= scale {
        format!("{}{}", "0".repeat(scale - digits.len() + 1), digits)
    } else {
        digits
    };
    let (i, f) = padded.split_at(padded.len() - scale);
    format!("{}{i}.{f}", if neg { "-" } else { "" })
}
