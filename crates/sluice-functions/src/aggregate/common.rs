//! Shared aggregate helpers: argument checking and errors, value extraction,
//! the comparable [`Key`] of a value, and the two multisets (sorted and
//! insertion-ordered) that make retraction exact, with their `state` encoding.

use datafusion_common::{DataFusionError, Result, ScalarValue};
use std::collections::{BTreeMap, HashMap};

use super::AggregateCall;
use crate::arrow::array::{Array, ArrayRef, AsArray};
use crate::arrow::datatypes::{DataType, TimeUnit};
use crate::util::{
    as_bool, as_i64, list_items, make_list, map_entries, null_of, plan_err_msg, sql_type_name,
};

// ---------------------------------------------------------------------------
// Arguments and errors
// ---------------------------------------------------------------------------

/// `Function 'sum' does not accept parameters (STRING).`
pub(crate) fn no_accept(display: &str, call: &AggregateCall) -> DataFusionError {
    let types: Vec<String> = call.arg_types.iter().map(sql_type_name).collect();
    plan_err_msg(format!(
        "Function '{display}' does not accept parameters ({}).",
        types.join(", ")
    ))
}

pub(crate) fn internal(msg: &str) -> DataFusionError {
    DataFusionError::Internal(format!("aggregate: {msg}"))
}

/// `Some` converted to an error.
pub(crate) fn built<T>(v: Option<T>) -> Result<T> {
    v.ok_or_else(|| internal("could not build the result value"))
}

/// Integer literal parameter at `i`, if the argument there is a literal.
pub(crate) fn lit_int(call: &AggregateCall, i: usize) -> Option<i64> {
    call.literal_args.get(i)?.as_ref().and_then(as_i64)
}

/// Boolean literal parameter at `i`.
pub(crate) fn lit_bool(call: &AggregateCall, i: usize) -> Option<bool> {
    call.literal_args.get(i)?.as_ref().and_then(as_bool)
}

/// Types with a total order that MIN/MAX/TOPK accept.
pub(crate) fn is_comparable(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Int32
            | DataType::Int64
            | DataType::Float64
            | DataType::Decimal128(_, _)
            | DataType::Utf8
            | DataType::Binary
            | DataType::Date32
            | DataType::Time32(TimeUnit::Millisecond)
            | DataType::Timestamp(TimeUnit::Millisecond, _)
    )
}

/// Numeric types the DOUBLE-based functions accept (ksqlDB widens them).
pub(crate) fn is_numeric(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Int32 | DataType::Int64 | DataType::Float64 | DataType::Decimal128(_, _)
    )
}

pub(crate) fn first_arg(call: &AggregateCall) -> DataType {
    call.arg_types.first().cloned().unwrap_or(DataType::Null)
}

/// Only the first argument is a column input.
pub(crate) fn first_input(_: &AggregateCall) -> Vec<usize> {
    vec![0]
}

/// Every argument is a column input.
pub(crate) fn all_inputs(call: &AggregateCall) -> Vec<usize> {
    (0..call.arg_types.len()).collect()
}

/// The input array at `i` of an update/retract call.
pub(crate) fn input(values: &[ArrayRef], i: usize) -> Result<&ArrayRef> {
    values
        .get(i)
        .ok_or_else(|| internal("missing input column"))
}

/// Value of row `i` as a scalar.
pub(crate) fn scalar_at(arr: &ArrayRef, i: usize) -> Result<ScalarValue> {
    ScalarValue::try_from_array(arr, i)
}

/// The non-NULL values of the first input column, as scalars.
pub(crate) fn non_null_inputs(
    values: &[ArrayRef],
) -> Result<impl Iterator<Item = Result<ScalarValue>> + '_> {
    let arr = input(values, 0)?;
    Ok((0..arr.len())
        .filter(|&i| arr.is_valid(i))
        .map(move |i| scalar_at(arr, i)))
}

/// Value of a numeric row as f64 (None for NULL).
pub(crate) fn f64_at(arr: &ArrayRef, i: usize) -> Option<f64> {
    use crate::arrow::datatypes::{Decimal128Type, Float64Type, Int32Type, Int64Type};
    if arr.is_null(i) {
        return None;
    }
    Some(match arr.data_type() {
        DataType::Int32 => arr.as_primitive::<Int32Type>().value(i) as f64,
        DataType::Int64 => arr.as_primitive::<Int64Type>().value(i) as f64,
        DataType::Float64 => arr.as_primitive::<Float64Type>().value(i),
        DataType::Decimal128(_, s) => {
            arr.as_primitive::<Decimal128Type>().value(i) as f64 / 10f64.powi(*s as i32)
        }
        _ => return None,
    })
}

pub(crate) fn typed_null(t: &DataType) -> Result<ScalarValue> {
    null_of(t)
}

/// A list scalar of `elem` values.
pub(crate) fn list_value(values: Vec<ScalarValue>, elem: &DataType) -> Result<ScalarValue> {
    built(make_list(values, elem))
}

/// Rows of a list column (state encoding); NULL rows give `None`.
pub(crate) fn list_rows(arr: &ArrayRef) -> Result<Vec<Option<Vec<ScalarValue>>>> {
    (0..arr.len())
        .map(|i| Ok(list_items(&scalar_at(arr, i)?)))
        .collect()
}

// ---------------------------------------------------------------------------
// Keys: Java `equals`/`compareTo` semantics for one value
// ---------------------------------------------------------------------------

/// A hashable, totally ordered image of a value. NULL sorts first; doubles
/// order like Java's `Double.compareTo` (-0.0 < 0.0, NaN largest); bytes
/// compare as signed bytes like `ByteBuffer.compareTo`; map entries are
/// sorted so maps compare by content.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Key {
    Null,
    Bool(bool),
    Int(i128),
    Float(i64),
    Str(String),
    Bytes(Vec<i8>),
    List(Vec<Key>),
    Struct(Vec<Key>),
    Map(Vec<(Key, Key)>),
}

fn float_key(x: f64) -> Key {
    let x = if x.is_nan() { f64::NAN } else { x };
    let b = x.to_bits() as i64;
    Key::Float(b ^ ((((b >> 63) as u64) >> 1) as i64))
}

impl Key {
    pub(crate) fn of(v: &ScalarValue) -> Key {
        use ScalarValue as S;
        if v.is_null() {
            return Key::Null;
        }
        match v {
            S::Boolean(Some(b)) => Key::Bool(*b),
            S::Float64(Some(x)) => float_key(*x),
            S::Float32(Some(x)) => float_key(f64::from(*x)),
            S::Decimal128(Some(x), _, _) => Key::Int(*x),
            S::Utf8(Some(s)) | S::LargeUtf8(Some(s)) | S::Utf8View(Some(s)) => Key::Str(s.clone()),
            S::Binary(Some(b)) | S::LargeBinary(Some(b)) | S::BinaryView(Some(b)) => {
                Key::Bytes(b.iter().map(|x| *x as i8).collect())
            }
            S::List(_) | S::LargeList(_) | S::FixedSizeList(_) => Key::List(
                list_items(v)
                    .unwrap_or_default()
                    .iter()
                    .map(Key::of)
                    .collect(),
            ),
            S::Struct(st) => Key::Struct(
                st.columns()
                    .iter()
                    .map(|c| scalar_at(c, 0).map(|s| Key::of(&s)).unwrap_or(Key::Null))
                    .collect(),
            ),
            S::Map(_) => {
                let mut entries: Vec<(Key, Key)> = map_entries(v)
                    .unwrap_or_default()
                    .iter()
                    .map(|(k, v)| (Key::of(k), Key::of(v)))
                    .collect();
                entries.sort();
                Key::Map(entries)
            }
            other => match as_i64(other) {
                Some(i) => Key::Int(i128::from(i)),
                None => Key::Str(format!("{other:?}")),
            },
        }
    }
}

// ---------------------------------------------------------------------------
// Multisets
// ---------------------------------------------------------------------------

/// Values in key order with their multiplicities (MIN, MAX, TOPK...).
#[derive(Debug, Default)]
pub(crate) struct SortedBag {
    entries: BTreeMap<Key, (ScalarValue, u64)>,
    bytes: usize,
}

impl SortedBag {
    pub fn add(&mut self, v: ScalarValue, n: u64) {
        let key = Key::of(&v);
        let size = v.size();
        let e = self.entries.entry(key).or_insert_with(|| (v, 0));
        if e.1 == 0 {
            self.bytes += size;
        }
        e.1 += n;
    }

    /// Removes one occurrence; unknown values are ignored.
    pub fn remove(&mut self, v: &ScalarValue) {
        let key = Key::of(v);
        if let Some(e) = self.entries.get_mut(&key) {
            e.1 = e.1.saturating_sub(1);
            if e.1 == 0 {
                self.bytes = self.bytes.saturating_sub(e.0.size());
                self.entries.remove(&key);
            }
        }
    }

    pub fn first(&self) -> Option<&ScalarValue> {
        self.entries.values().next().map(|e| &e.0)
    }

    pub fn last(&self) -> Option<&ScalarValue> {
        self.entries.values().next_back().map(|e| &e.0)
    }

    /// Largest first, each value `count` times (`distinct`: once).
    pub fn descending(&self, distinct: bool) -> impl Iterator<Item = &ScalarValue> {
        self.entries
            .values()
            .rev()
            .flat_map(move |(v, n)| std::iter::repeat_n(v, if distinct { 1 } else { *n as usize }))
    }

    /// Keeps only the `n` smallest (`largest == false`) or largest values,
    /// counting multiplicities unless `distinct`.
    pub fn truncate(&mut self, n: usize, largest: bool, distinct: bool) {
        let mut kept = 0usize;
        let mut dropped = Vec::new();
        let entries: Box<dyn Iterator<Item = (&Key, &(ScalarValue, u64))>> = if largest {
            Box::new(self.entries.iter().rev())
        } else {
            Box::new(self.entries.iter())
        };
        for (k, (_, c)) in entries {
            if kept >= n {
                dropped.push(k.clone());
            } else {
                kept += if distinct { 1 } else { *c as usize };
            }
        }
        for k in dropped {
            if let Some((v, _)) = self.entries.remove(&k) {
                self.bytes = self.bytes.saturating_sub(v.size());
            }
        }
    }

    pub fn size(&self) -> usize {
        self.bytes + self.entries.len() * (std::mem::size_of::<(Key, ScalarValue, u64)>() + 16)
    }

    pub fn state(&self, elem: &DataType) -> Result<Vec<ScalarValue>> {
        bag_state(self.entries.values().map(|(v, n)| (v, *n)), elem)
    }

    pub fn merge(&mut self, states: &[ArrayRef]) -> Result<()> {
        merge_bag_state(states, |v, n| self.add(v, n))
    }
}

/// Distinct values in order of first appearance with multiplicities
/// (COLLECT_SET, HISTOGRAM, ATTR, COUNT_DISTINCT).
#[derive(Debug, Default)]
pub(crate) struct InsertionBag {
    index: HashMap<Key, u64>,
    order: Vec<(Key, ScalarValue)>,
    bytes: usize,
}

impl InsertionBag {
    /// Adds `n` occurrences; a new value is only admitted below `limit`
    /// distinct values. Returns whether it was counted.
    pub fn add(&mut self, v: ScalarValue, n: u64, limit: Option<usize>) -> bool {
        let key = Key::of(&v);
        if let Some(c) = self.index.get_mut(&key) {
            *c += n;
            return true;
        }
        if limit.is_some_and(|l| self.order.len() >= l) {
            return false;
        }
        self.bytes += v.size();
        self.index.insert(key.clone(), n);
        self.order.push((key, v));
        true
    }

    /// Removes one occurrence; the value leaves the bag when none is left.
    pub fn remove(&mut self, v: &ScalarValue) {
        let key = Key::of(v);
        let Some(c) = self.index.get_mut(&key) else {
            return;
        };
        *c = c.saturating_sub(1);
        if *c == 0 {
            self.index.remove(&key);
            if let Some(pos) = self.order.iter().position(|(k, _)| *k == key) {
                let (_, v) = self.order.remove(pos);
                self.bytes = self.bytes.saturating_sub(v.size());
            }
        }
    }

    /// Distinct values with their counts, in order of first appearance.
    pub fn iter(&self) -> impl Iterator<Item = (&ScalarValue, u64)> {
        self.order
            .iter()
            .map(|(k, v)| (v, self.index.get(k).copied().unwrap_or(0)))
    }

    pub fn len(&self) -> usize {
        self.order.len()
    }

    pub fn size(&self) -> usize {
        self.bytes + self.order.len() * (2 * std::mem::size_of::<Key>() + 48)
    }

    pub fn state(&self, elem: &DataType) -> Result<Vec<ScalarValue>> {
        bag_state(self.iter(), elem)
    }

    pub fn merge(&mut self, states: &[ArrayRef], limit: Option<usize>) -> Result<()> {
        merge_bag_state(states, |v, n| {
            self.add(v, n, limit);
        })
    }
}

/// The state of a multiset: `[values: ARRAY<T>, counts: ARRAY<BIGINT>]`.
pub(crate) fn bag_state<'a>(
    items: impl Iterator<Item = (&'a ScalarValue, u64)>,
    elem: &DataType,
) -> Result<Vec<ScalarValue>> {
    let (values, counts): (Vec<ScalarValue>, Vec<ScalarValue>) = items
        .map(|(v, n)| (v.clone(), ScalarValue::Int64(Some(n as i64))))
        .unzip();
    Ok(vec![
        list_value(values, elem)?,
        list_value(counts, &DataType::Int64)?,
    ])
}

fn merge_bag_state(states: &[ArrayRef], mut add: impl FnMut(ScalarValue, u64)) -> Result<()> {
    let values = list_rows(input(states, 0)?)?;
    let counts = list_rows(input(states, 1)?)?;
    for (vs, cs) in values.into_iter().zip(counts) {
        let (Some(vs), Some(cs)) = (vs, cs) else {
            continue;
        };
        for (v, c) in vs.into_iter().zip(cs) {
            let n = as_i64(&c).unwrap_or(0);
            if n > 0 {
                add(v, n as u64);
            }
        }
    }
    Ok(())
}
