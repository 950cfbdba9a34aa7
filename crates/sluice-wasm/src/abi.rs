//! The value encoding of the module ABI (`docs/wasm-functions.md`): how
//! SQL values cross into a module's memory and back.
//!
//! A value is a tag byte and its payload, little-endian:
//!
//! | tag | type | payload |
//! |---|---|---|
//! | 0 | NULL | none |
//! | 1 | BOOLEAN | 1 byte, 0 or 1 |
//! | 2 | INT | i32 |
//! | 3 | BIGINT | i64 |
//! | 4 | DOUBLE | f64 |
//! | 5 | STRING | u32 length, UTF-8 bytes |
//! | 6 | BYTES | u32 length, bytes |
//! | 7 | DECIMAL | i128 unscaled value, u8 scale |
//! | 8 | DATE | i32 days since 1970-01-01 |
//! | 9 | TIME | i32 milliseconds since midnight |
//! | 10 | TIMESTAMP | i64 milliseconds since the epoch |
//! | 11 | ARRAY | u32 count, the elements |
//! | 12 | MAP | u32 count, each key then its value |
//! | 13 | STRUCT | u32 count, each field's u32 name length, name, value |
//!
//! Arguments are their values one after the other; a result is one value.
//! A result is converted to the declared type as ksqlDB widens (an INT where
//! a BIGINT is declared, ...); anything else is an error for that row.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BinaryArray, BooleanArray, Date32Array, Decimal128Array,
    Float64Array, Int32Array, Int64Array, ListArray, MapArray, StringArray, StructArray,
    Time32MillisecondArray, TimestampMillisecondArray,
};
use arrow::buffer::{NullBuffer, OffsetBuffer};
use arrow::datatypes::{
    DataType, Date32Type, Decimal128Type, Float64Type, Int32Type, Int64Type, Time32MillisecondType,
    TimeUnit, TimestampMillisecondType,
};

use crate::WasmError;

/// A decoded value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Boolean(bool),
    Int(i32),
    BigInt(i64),
    Double(f64),
    String(String),
    Bytes(Vec<u8>),
    Decimal(i128, u8),
    Date(i32),
    Time(i32),
    Timestamp(i64),
    Array(Vec<Value>),
    Map(Vec<(Value, Value)>),
    Struct(Vec<(String, Value)>),
}

const NULL: u8 = 0;
const BOOLEAN: u8 = 1;
const INT: u8 = 2;
const BIGINT: u8 = 3;
const DOUBLE: u8 = 4;
const STRING: u8 = 5;
const BYTES: u8 = 6;
const DECIMAL: u8 = 7;
const DATE: u8 = 8;
const TIME: u8 = 9;
const TIMESTAMP: u8 = 10;
const ARRAY: u8 = 11;
const MAP: u8 = 12;
const STRUCT: u8 = 13;

fn unsupported(t: &DataType) -> WasmError {
    WasmError::Value(format!("type {t} has no encoding"))
}

/// Writes values in the encoding: the one place that knows its bytes.
struct Out<'a>(&'a mut Vec<u8>);

impl Out<'_> {
    fn tagged(&mut self, tag: u8, payload: &[u8]) {
        self.0.push(tag);
        self.0.extend_from_slice(payload);
    }
    fn len(&mut self, n: usize) {
        self.0.extend_from_slice(&(n as u32).to_le_bytes());
    }
    fn text(&mut self, tag: u8, bytes: &[u8]) {
        self.0.push(tag);
        self.len(bytes.len());
        self.0.extend_from_slice(bytes);
    }
    fn decimal(&mut self, unscaled: i128, scale: u8) {
        self.tagged(DECIMAL, &unscaled.to_le_bytes());
        self.0.push(scale);
    }
    /// An ARRAY, MAP or STRUCT of `n`: its elements follow.
    fn nested(&mut self, tag: u8, n: usize) {
        self.0.push(tag);
        self.len(n);
    }
    /// A struct field's name, before its value.
    fn name(&mut self, name: &str) {
        self.len(name.len());
        self.0.extend_from_slice(name.as_bytes());
    }
}

/// Appends row `row` of `array` to `out`.
pub fn encode(array: &dyn Array, row: usize, out: &mut Vec<u8>) -> Result<(), WasmError> {
    let mut w = Out(out);
    if array.is_null(row) {
        w.tagged(NULL, &[]);
        return Ok(());
    }
    match array.data_type() {
        DataType::Null => w.tagged(NULL, &[]),
        DataType::Boolean => w.tagged(BOOLEAN, &[array.as_boolean().value(row) as u8]),
        DataType::Int32 => w.tagged(
            INT,
            &array.as_primitive::<Int32Type>().value(row).to_le_bytes(),
        ),
        DataType::Int64 => w.tagged(
            BIGINT,
            &array.as_primitive::<Int64Type>().value(row).to_le_bytes(),
        ),
        DataType::Float64 => w.tagged(
            DOUBLE,
            &array.as_primitive::<Float64Type>().value(row).to_le_bytes(),
        ),
        DataType::Utf8 => w.text(STRING, array.as_string::<i32>().value(row).as_bytes()),
        DataType::Binary => w.text(BYTES, array.as_binary::<i32>().value(row)),
        DataType::Decimal128(_, scale) => w.decimal(
            array.as_primitive::<Decimal128Type>().value(row),
            *scale as u8,
        ),
        DataType::Date32 => w.tagged(
            DATE,
            &array.as_primitive::<Date32Type>().value(row).to_le_bytes(),
        ),
        DataType::Time32(TimeUnit::Millisecond) => w.tagged(
            TIME,
            &array
                .as_primitive::<Time32MillisecondType>()
                .value(row)
                .to_le_bytes(),
        ),
        DataType::Timestamp(TimeUnit::Millisecond, _) => w.tagged(
            TIMESTAMP,
            &array
                .as_primitive::<TimestampMillisecondType>()
                .value(row)
                .to_le_bytes(),
        ),
        DataType::List(_) => {
            let items = array.as_list::<i32>().value(row);
            w.nested(ARRAY, items.len());
            for i in 0..items.len() {
                encode(items.as_ref(), i, out)?;
            }
        }
        DataType::Map(_, _) => {
            let entries = array.as_map().value(row);
            w.nested(MAP, entries.len());
            for i in 0..entries.len() {
                encode(entries.column(0).as_ref(), i, out)?;
                encode(entries.column(1).as_ref(), i, out)?;
            }
        }
        DataType::Struct(fields) => {
            w.nested(STRUCT, fields.len());
            for (f, column) in fields.iter().zip(array.as_struct().columns()) {
                Out(out).name(f.name());
                encode(column.as_ref(), row, out)?;
            }
        }
        other => return Err(unsupported(other)),
    }
    Ok(())
}

/// How deep values may nest (ARRAY in MAP in STRUCT ...): a module's
/// result deeper than this is refused rather than read recursively.
const MAX_DEPTH: usize = 64;

/// Reads values from a module's bytes.
pub struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
    depth: usize,
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Reader {
            bytes,
            at: 0,
            depth: 0,
        }
    }

    /// At most how many elements the bytes left can hold (one byte each).
    fn room(&self, n: usize) -> usize {
        n.min(self.bytes.len() - self.at)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], WasmError> {
        let end = self
            .at
            .checked_add(n)
            .filter(|e| *e <= self.bytes.len())
            .ok_or_else(|| {
                WasmError::Value(format!(
                    "the value ends early: {n} more bytes wanted at byte {} of {}",
                    self.at,
                    self.bytes.len()
                ))
            })?;
        let out = &self.bytes[self.at..end];
        self.at = end;
        Ok(out)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], WasmError> {
        let mut out = [0; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn len(&mut self) -> Result<usize, WasmError> {
        Ok(u32::from_le_bytes(self.array()?) as usize)
    }

    fn text(&mut self) -> Result<String, WasmError> {
        let n = self.len()?;
        String::from_utf8(self.take(n)?.to_vec())
            .map_err(|_| WasmError::Value("a STRING that is not UTF-8".into()))
    }

    /// The next value.
    pub fn value(&mut self) -> Result<Value, WasmError> {
        if self.depth >= MAX_DEPTH {
            return Err(WasmError::Value(format!(
                "values nested more than {MAX_DEPTH} deep"
            )));
        }
        self.depth += 1;
        let value = self.value_here();
        self.depth -= 1;
        value
    }

    fn value_here(&mut self) -> Result<Value, WasmError> {
        let [tag] = self.array()?;
        Ok(match tag {
            NULL => Value::Null,
            BOOLEAN => Value::Boolean(self.array::<1>()?[0] != 0),
            INT => Value::Int(i32::from_le_bytes(self.array()?)),
            BIGINT => Value::BigInt(i64::from_le_bytes(self.array()?)),
            DOUBLE => Value::Double(f64::from_le_bytes(self.array()?)),
            STRING => Value::String(self.text()?),
            BYTES => {
                let n = self.len()?;
                Value::Bytes(self.take(n)?.to_vec())
            }
            DECIMAL => {
                let unscaled = i128::from_le_bytes(self.array()?);
                Value::Decimal(unscaled, self.array::<1>()?[0])
            }
            DATE => Value::Date(i32::from_le_bytes(self.array()?)),
            TIME => Value::Time(i32::from_le_bytes(self.array()?)),
            TIMESTAMP => Value::Timestamp(i64::from_le_bytes(self.array()?)),
            ARRAY => {
                let n = self.len()?;
                let mut items = Vec::with_capacity(self.room(n));
                for _ in 0..n {
                    items.push(self.value()?);
                }
                Value::Array(items)
            }
            MAP => {
                let n = self.len()?;
                let mut entries = Vec::with_capacity(self.room(n));
                for _ in 0..n {
                    let k = self.value()?;
                    entries.push((k, self.value()?));
                }
                Value::Map(entries)
            }
            STRUCT => {
                let n = self.len()?;
                let mut fields = Vec::with_capacity(self.room(n));
                for _ in 0..n {
                    let name = self.text()?;
                    fields.push((name, self.value()?));
                }
                Value::Struct(fields)
            }
            other => return Err(WasmError::Value(format!("unknown value tag {other}"))),
        })
    }

    /// The whole input was read.
    pub fn finish(&self) -> Result<(), WasmError> {
        if self.at == self.bytes.len() {
            Ok(())
        } else {
            Err(WasmError::Value(format!(
                "{} bytes after the value",
                self.bytes.len() - self.at
            )))
        }
    }
}

/// Appends `v` to `out` (for state handed back to a module).
pub fn encode_value(v: &Value, out: &mut Vec<u8>) {
    let mut w = Out(out);
    match v {
        Value::Null => w.tagged(NULL, &[]),
        Value::Boolean(b) => w.tagged(BOOLEAN, &[*b as u8]),
        Value::Int(i) => w.tagged(INT, &i.to_le_bytes()),
        Value::BigInt(i) => w.tagged(BIGINT, &i.to_le_bytes()),
        Value::Double(d) => w.tagged(DOUBLE, &d.to_le_bytes()),
        Value::String(s) => w.text(STRING, s.as_bytes()),
        Value::Bytes(b) => w.text(BYTES, b),
        Value::Decimal(u, s) => w.decimal(*u, *s),
        Value::Date(d) => w.tagged(DATE, &d.to_le_bytes()),
        Value::Time(t) => w.tagged(TIME, &t.to_le_bytes()),
        Value::Timestamp(t) => w.tagged(TIMESTAMP, &t.to_le_bytes()),
        Value::Array(items) => {
            w.nested(ARRAY, items.len());
            items.iter().for_each(|i| encode_value(i, out));
        }
        Value::Map(entries) => {
            w.nested(MAP, entries.len());
            for (k, v) in entries {
                encode_value(k, out);
                encode_value(v, out);
            }
        }
        Value::Struct(fields) => {
            w.nested(STRUCT, fields.len());
            for (name, v) in fields {
                Out(out).name(name);
                encode_value(v, out);
            }
        }
    }
}

fn mismatch(v: &Value, t: &DataType) -> WasmError {
    let got = match v {
        Value::Null => "NULL",
        Value::Boolean(_) => "BOOLEAN",
        Value::Int(_) => "INT",
        Value::BigInt(_) => "BIGINT",
        Value::Double(_) => "DOUBLE",
        Value::String(_) => "STRING",
        Value::Bytes(_) => "BYTES",
        Value::Decimal(_, _) => "DECIMAL",
        Value::Date(_) => "DATE",
        Value::Time(_) => "TIME",
        Value::Timestamp(_) => "TIMESTAMP",
        Value::Array(_) => "ARRAY",
        Value::Map(_) => "MAP",
        Value::Struct(_) => "STRUCT",
    };
    WasmError::Value(format!(
        "a {got} where the function declares {}",
        sluice_planner::types::type_name(t)
    ))
}

/// `unscaled` at `from` scale as `to` scale (None when it does not fit).
fn rescale(unscaled: i128, from: u8, to: i8) -> Option<i128> {
    let (from, to) = (from as i32, to as i32);
    if to >= from {
        unscaled.checked_mul(10i128.checked_pow((to - from) as u32)?)
    } else {
        let Some(div) = 10i128.checked_pow((from - to) as u32) else {
            // a divisor past i128: nothing of the value is left at that scale
            return Some(0);
        };
        // half up, as ksqlDB's BigDecimal#setScale(HALF_UP)
        let (q, r) = (unscaled / div, unscaled % div);
        let half_or_more = r.unsigned_abs() >= div.unsigned_abs().div_ceil(2);
        Some(if half_or_more {
            q + unscaled.signum()
        } else {
            q
        })
    }
}

fn nulls(values: &[&Value]) -> Option<NullBuffer> {
    let valid: Vec<bool> = values.iter().map(|v| **v != Value::Null).collect();
    if valid.iter().all(|v| *v) {
        None
    } else {
        Some(NullBuffer::from(valid))
    }
}

/// The column of `values` as an array of type `t`, widening numbers as
/// ksqlDB does.
pub fn to_array(values: &[&Value], t: &DataType) -> Result<ArrayRef, WasmError> {
    macro_rules! primitive {
        ($array:ty, $($pat:pat => $e:expr),+) => {{
            let out: Result<$array, WasmError> = values
                .iter()
                .map(|v| match v {
                    Value::Null => Ok(None),
                    $($pat => Ok(Some($e)),)+
                    other => Err(mismatch(other, t)),
                })
                .collect();
            Arc::new(out?) as ArrayRef
        }};
    }
    Ok(match t {
        DataType::Null => arrow::array::new_null_array(t, values.len()),
        DataType::Boolean => primitive!(BooleanArray, Value::Boolean(b) => *b),
        DataType::Int32 => primitive!(Int32Array, Value::Int(i) => *i),
        DataType::Int64 => {
            primitive!(Int64Array, Value::BigInt(i) => *i, Value::Int(i) => *i as i64)
        }
        DataType::Float64 => primitive!(Float64Array,
            Value::Double(d) => *d,
            Value::Int(i) => *i as f64,
            Value::BigInt(i) => *i as f64,
            Value::Decimal(u, s) => *u as f64 / 10f64.powi(*s as i32)),
        DataType::Utf8 => {
            let out: Result<StringArray, WasmError> = values
                .iter()
                .map(|v| match v {
                    Value::Null => Ok(None),
                    Value::String(s) => Ok(Some(s.as_str())),
                    other => Err(mismatch(other, t)),
                })
                .collect();
            Arc::new(out?)
        }
        DataType::Binary => {
            let out: Result<BinaryArray, WasmError> = values
                .iter()
                .map(|v| match v {
                    Value::Null => Ok(None),
                    Value::Bytes(b) => Ok(Some(b.as_slice())),
                    other => Err(mismatch(other, t)),
                })
                .collect();
            Arc::new(out?)
        }
        DataType::Decimal128(p, s) => {
            let out: Result<Decimal128Array, WasmError> = values
                .iter()
                .map(|v| {
                    let (u, from) = match v {
                        Value::Null => return Ok(None),
                        Value::Decimal(u, from) => (*u, *from),
                        Value::Int(i) => (*i as i128, 0),
                        Value::BigInt(i) => (*i as i128, 0),
                        other => return Err(mismatch(other, t)),
                    };
                    let limit = 10u128.pow(*p as u32);
                    match rescale(u, from, *s) {
                        Some(v) if v.unsigned_abs() < limit => Ok(Some(v)),
                        _ => Err(WasmError::Value(format!(
                            "a DECIMAL that does not fit DECIMAL({p}, {s})"
                        ))),
                    }
                })
                .collect();
            Arc::new(out?.with_precision_and_scale(*p, *s)?)
        }
        DataType::Date32 => primitive!(Date32Array, Value::Date(d) => *d),
        DataType::Time32(TimeUnit::Millisecond) => {
            primitive!(Time32MillisecondArray, Value::Time(d) => *d)
        }
        DataType::Timestamp(TimeUnit::Millisecond, tz) => {
            let out = primitive!(TimestampMillisecondArray, Value::Timestamp(d) => *d);
            match tz {
                None => out,
                Some(_) => arrow::compute::cast(&out, t)?,
            }
        }
        DataType::List(field) => {
            let mut lengths = Vec::with_capacity(values.len());
            let mut items = Vec::new();
            for v in values {
                match v {
                    Value::Null => lengths.push(0),
                    Value::Array(xs) => {
                        lengths.push(xs.len());
                        items.extend(xs.iter());
                    }
                    other => return Err(mismatch(other, t)),
                }
            }
            let child = to_array(&items, field.data_type())?;
            Arc::new(ListArray::try_new(
                field.clone(),
                OffsetBuffer::from_lengths(lengths),
                child,
                nulls(values),
            )?)
        }
        DataType::Map(entries_field, sorted) => {
            let DataType::Struct(kv) = entries_field.data_type() else {
                return Err(unsupported(t));
            };
            let mut lengths = Vec::with_capacity(values.len());
            let (mut keys, mut vals) = (Vec::new(), Vec::new());
            for v in values {
                match v {
                    Value::Null => lengths.push(0),
                    Value::Map(entries) => {
                        lengths.push(entries.len());
                        for (k, v) in entries {
                            keys.push(k);
                            vals.push(v);
                        }
                    }
                    other => return Err(mismatch(other, t)),
                }
            }
            if keys.iter().any(|k| **k == Value::Null) {
                return Err(WasmError::Value("a MAP with a NULL key".into()));
            }
            let entries = StructArray::try_new(
                kv.clone(),
                vec![
                    to_array(&keys, kv[0].data_type())?,
                    to_array(&vals, kv[1].data_type())?,
                ],
                None,
            )?;
            Arc::new(MapArray::try_new(
                entries_field.clone(),
                OffsetBuffer::from_lengths(lengths),
                entries,
                nulls(values),
                *sorted,
            )?)
        }
        DataType::Struct(fields) => {
            let mut columns: Vec<Vec<&Value>> =
                vec![Vec::with_capacity(values.len()); fields.len()];
            for v in values {
                match v {
                    Value::Null => columns.iter_mut().for_each(|c| c.push(&Value::Null)),
                    Value::Struct(given) => {
                        for (f, column) in fields.iter().zip(columns.iter_mut()) {
                            let value = given
                                .iter()
                                .find(|(n, _)| n.eq_ignore_ascii_case(f.name()))
                                .map_or(&Value::Null, |(_, v)| v);
                            column.push(value);
                        }
                    }
                    other => return Err(mismatch(other, t)),
                }
            }
            let columns = fields
                .iter()
                .zip(&columns)
                .map(|(f, c)| to_array(c, f.data_type()))
                .collect::<Result<Vec<_>, _>>()?;
            Arc::new(StructArray::try_new(
                fields.clone(),
                columns,
                nulls(values),
            )?)
        }
        other => return Err(unsupported(other)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::ArrayRef;
    use arrow::datatypes::Field;

    fn round_trip(array: ArrayRef) {
        let values: Vec<Value> = (0..array.len())
            .map(|row| {
                let mut bytes = Vec::new();
                encode(array.as_ref(), row, &mut bytes).unwrap();
                let mut reader = Reader::new(&bytes);
                let v = reader.value().unwrap();
                reader.finish().unwrap();
                let mut again = Vec::new();
                encode_value(&v, &mut again);
                assert_eq!(again, bytes);
                v
            })
            .collect();
        let refs: Vec<&Value> = values.iter().collect();
        let back = to_array(&refs, array.data_type()).unwrap();
        assert_eq!(back.as_ref(), array.as_ref());
    }

    #[test]
    fn every_type_round_trips() {
        round_trip(Arc::new(Int32Array::from(vec![Some(1), None, Some(-3)])));
        round_trip(Arc::new(StringArray::from(vec![Some("é"), None])));
        round_trip(Arc::new(
            Decimal128Array::from(vec![Some(12345), None])
                .with_precision_and_scale(6, 2)
                .unwrap(),
        ));
        let list = ListArray::from_iter_primitive::<Int64Type, _, _>(vec![
            Some(vec![Some(1), None]),
            None,
            Some(vec![]),
        ]);
        round_trip(Arc::new(list));
        let s = StructArray::from(vec![
            (
                Arc::new(Field::new("A", DataType::Float64, true)),
                Arc::new(Float64Array::from(vec![Some(1.5), None])) as ArrayRef,
            ),
            (
                Arc::new(Field::new("B", DataType::Boolean, true)),
                Arc::new(BooleanArray::from(vec![None, Some(true)])) as ArrayRef,
            ),
        ]);
        round_trip(Arc::new(s));
    }

    #[test]
    fn results_widen_and_refuse_other_types() {
        let v = [Value::Int(2), Value::Decimal(1255, 3), Value::Null];
        let refs: Vec<&Value> = v.iter().collect();
        let d = to_array(&refs, &DataType::Decimal128(5, 2)).unwrap();
        let d = d.as_primitive::<Decimal128Type>();
        assert_eq!((d.value(0), d.value(1), d.is_null(2)), (200, 126, true));
        let e = to_array(&[&Value::String("x".into())], &DataType::Int64).unwrap_err();
        assert!(
            e.to_string()
                .contains("a STRING where the function declares BIGINT"),
            "{e}"
        );
        let e = to_array(&[&Value::Decimal(123456, 0)], &DataType::Decimal128(4, 0)).unwrap_err();
        assert!(e.to_string().contains("does not fit DECIMAL(4, 0)"), "{e}");
        assert!(Reader::new(&[5, 9, 0, 0, 0, b'a']).value().is_err());
        // nesting past the limit is refused, not read recursively
        let deep: Vec<u8> = std::iter::repeat_n([ARRAY, 1, 0, 0, 0], 100_000)
            .flatten()
            .collect();
        let e = Reader::new(&deep).value().unwrap_err();
        assert!(e.to_string().contains("nested more than 64 deep"), "{e}");
        // half-up rescaling, and scales too far apart to divide
        assert_eq!(rescale(-125, 2, 1), Some(-13));
        assert_eq!(rescale(i128::MAX, 38, 0), Some(2));
        assert_eq!(rescale(5, 60, 0), Some(0));
    }
}
