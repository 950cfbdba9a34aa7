//! Arrow ⇄ JSON value conversion, shared by the JSON format, value rendering
//! (REPL/REST/`TO_JSON_STRING`-style output) and the QTT test helpers.
//!
//! * JSON → Arrow: [`append_json`] appends one `serde_json::Value` to a
//!   [`ColumnBuilder`] with ksqlDB's JSON coercions (numeric strings into
//!   numbers, any scalar into STRING, ...).
//! * Arrow → JSON: [`JsonCell`] implements `serde::Serialize`, so one code path
//!   writes JSON text straight into a byte buffer (`serde_json::to_writer`) and
//!   builds `serde_json::Value`s (`serde_json::to_value`).
//! * Arrow → text: [`write_cell_text`] renders a primitive as DELIMITED and
//!   JSON map keys write it.

use std::fmt::Write as _;
use std::str::FromStr;

use arrow::array::{Array, AsArray};
use arrow::datatypes::{
    DataType, Date32Type, Decimal128Type, Fields, Float32Type, Float64Type, Int16Type, Int32Type,
    Int64Type, Int8Type, Time32MillisecondType, TimeUnit, TimestampMicrosecondType,
    TimestampMillisecondType, TimestampNanosecondType, TimestampSecondType, UInt16Type, UInt32Type,
    UInt64Type, UInt8Type,
};
use serde::ser::{Error as _, SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};
use serde_json::{Map, Number, Value};

use crate::builder::{ColumnBuilder, StructBuilder};
use crate::scalar;
use crate::types::sql_type_name;

// ---------------------------------------------------------------------------
// JSON → Arrow
// ---------------------------------------------------------------------------

/// A JSON coercion failure and where in the value it happened.
#[derive(Debug)]
pub(crate) struct JsonError {
    message: String,
    /// Path segments, innermost first (pushed while unwinding).
    path: Vec<String>,
}

impl JsonError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        JsonError {
            message: message.into(),
            path: Vec::new(),
        }
    }

    /// ksqlDB's `Can't convert type.` error for a JSON node of the wrong kind.
    pub(crate) fn convert(value: &Value, required: &str) -> Self {
        JsonError::new(format!(
            "Can't convert type. sourceType: {}, requiredType: {required}",
            node_name(value)
        ))
    }

    pub(crate) fn within(mut self, segment: impl Into<String>) -> Self {
        self.path.push(segment.into());
        self
    }

    /// `<message>, path: $.FIELD[0]`, as ksqlDB's JSON deserializer reports it.
    pub(crate) fn render(&self) -> String {
        let mut out = format!("{}, path: $", self.message);
        for seg in self.path.iter().rev() {
            out.push_str(seg);
        }
        out
    }
}

/// The Jackson node class ksqlDB names in its conversion errors.
fn node_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "NullNode",
        Value::Bool(_) => "BooleanNode",
        Value::String(_) => "TextNode",
        Value::Array(_) => "ArrayNode",
        Value::Object(_) => "ObjectNode",
        Value::Number(n) => {
            if n.as_i64().is_some_and(|v| i32::try_from(v).is_ok()) {
                "IntNode"
            } else if n.as_i64().is_some() {
                "LongNode"
            } else if n.as_u64().is_some() || is_integer_text(n.as_str()) {
                "BigIntegerNode"
            } else {
                "DecimalNode"
            }
        }
    }
}

fn is_integer_text(text: &str) -> bool {
    !text.contains(['.', 'e', 'E'])
}

/// A JSON number as a Java `long` would see it (`asLong`: fractions truncate).
fn number_to_i64(n: &Number) -> i64 {
    n.as_i64()
        .or_else(|| n.as_u64().map(|u| u as i64))
        .unwrap_or_else(|| n.as_f64().unwrap_or(0.0) as i64)
}

/// The text ksqlDB stores when a JSON value lands in a STRING column.
fn json_to_string_column(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(n.as_str()),
        Value::String(s) => out.push_str(s),
        Value::Object(_) => out.push_str(&value.to_string()),
        // ksqlDB joins the elements, each stringified the same way.
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                json_to_string_column(item, out);
            }
            out.push(']');
        }
    }
}

/// Looks up a STRUCT field in a JSON object the way ksqlDB does: the exact
/// name first, then a key whose upper-cased spelling equals the field name (so
/// `"id"` fills `ID`, but a quoted mixed-case column only matches exactly).
pub(crate) fn lookup_field<'a>(object: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    object.get(name).or_else(|| {
        object
            .iter()
            .rev()
            .find(|(k, _)| k.chars().flat_map(char::to_uppercase).eq(name.chars()))
            .map(|(_, v)| v)
    })
}

/// Appends the fields of a STRUCT (or of a wrapped row) from a JSON object:
/// missing fields are NULL, extra fields are ignored.
///
/// Producers usually write members in column order, so members are first
/// matched positionally, falling back to [`lookup_field`] from the first
/// mismatch on.
pub(crate) fn append_object(
    builders: &mut [ColumnBuilder],
    fields: &Fields,
    object: &Map<String, Value>,
) -> Result<(), JsonError> {
    let mut in_order = Some(object.iter());
    for (builder, field) in builders.iter_mut().zip(fields.iter()) {
        let name = field.name().as_str();
        let positional = match in_order.as_mut().and_then(Iterator::next) {
            Some((k, v)) if k == name => Some(v),
            _ => {
                in_order = None;
                None
            }
        };
        match positional.or_else(|| lookup_field(object, name)) {
            Some(v) => {
                append_json(builder, v).map_err(|e| e.within(format!(".{}", field.name())))?
            }
            None => builder.append_null(),
        }
    }
    Ok(())
}

/// Turns one JSON value into a one-row column set: the bare value of a single
/// `unwrapped` column, or an object with a member per column, coerced as JSON
/// decoding does.
pub(crate) fn json_to_columns(
    schema: &arrow::datatypes::Schema,
    unwrapped: bool,
    value: &Value,
) -> Result<Vec<arrow::array::ArrayRef>, crate::FormatError> {
    let mut builders = schema
        .fields()
        .iter()
        .map(|f| ColumnBuilder::new(f.data_type(), 1))
        .collect::<Result<Vec<_>, _>>()?;
    let appended = match (unwrapped, builders.as_mut_slice(), value) {
        (true, [only], v) => append_json(only, v),
        (false, builders, Value::Object(object)) => {
            append_object(builders, schema.fields(), object)
        }
        (_, _, other) => Err(JsonError::convert(
            other,
            &sql_type_name(&DataType::Struct(schema.fields().clone())),
        )),
    };
    appended.map_err(|e| crate::FormatError::Serialization(e.render()))?;
    builders.iter_mut().map(ColumnBuilder::finish).collect()
}

/// Appends one JSON value to a column with ksqlDB's JSON coercions.
pub(crate) fn append_json(builder: &mut ColumnBuilder, value: &Value) -> Result<(), JsonError> {
    if value.is_null() {
        builder.append_null();
        return Ok(());
    }
    match builder {
        ColumnBuilder::Utf8(b) => match value {
            Value::String(s) => b.append_value(s),
            Value::Number(n) => b.append_value(n.as_str()),
            other => {
                let mut text = String::new();
                json_to_string_column(other, &mut text);
                b.append_value(text);
            }
        },
        ColumnBuilder::Boolean(b) => match value {
            Value::Bool(v) => b.append_value(*v),
            other => return Err(JsonError::convert(other, "BOOLEAN")),
        },
        ColumnBuilder::List(list) => {
            let Value::Array(items) = value else {
                return Err(JsonError::convert(value, &builder_type_name(builder)));
            };
            for (i, item) in items.iter().enumerate() {
                append_json(&mut list.items, item).map_err(|e| e.within(format!("[{i}]")))?;
            }
            list.close();
        }
        ColumnBuilder::Map(map) => {
            let Value::Object(object) = value else {
                return Err(JsonError::convert(value, &builder_type_name(builder)));
            };
            for (k, v) in object {
                map.keys
                    .append_text(k)
                    .map_err(|e| JsonError::new(e).within(format!(".{k}.key")))?;
                append_json(&mut map.values, v).map_err(|e| e.within(format!(".{k}.value")))?;
            }
            map.close();
        }
        ColumnBuilder::Struct(st) => {
            let Value::Object(object) = value else {
                return Err(JsonError::convert(value, &builder_type_name(builder)));
            };
            let StructBuilder {
                fields, children, ..
            } = &mut **st;
            append_object(children, fields, object)?;
            st.close();
        }
        // The remaining builders take numbers, and strings parsed as DELIMITED parses text.
        _ => match value {
            Value::String(s) => builder.append_text(s).map_err(JsonError::new)?,
            Value::Number(n) => append_number(builder, n, value)?,
            other => return Err(JsonError::convert(other, builder.base().name())),
        },
    }
    Ok(())
}

fn append_number(builder: &mut ColumnBuilder, n: &Number, value: &Value) -> Result<(), JsonError> {
    match builder {
        ColumnBuilder::Int32(b) => b.append_value(number_to_i64(n) as i32),
        ColumnBuilder::Int64(b) => b.append_value(number_to_i64(n)),
        ColumnBuilder::Float64(b) => b.append_value(n.as_f64().unwrap_or(f64::NAN)),
        ColumnBuilder::Decimal {
            builder,
            precision,
            scale,
        } => builder.append_value(
            scalar::parse_decimal(n.as_str(), *precision, *scale).map_err(JsonError::new)?,
        ),
        ColumnBuilder::Date(b) => b.append_value(number_to_i64(n) as i32),
        ColumnBuilder::Time(b) => b.append_value(number_to_i64(n) as i32),
        ColumnBuilder::Timestamp(b) => b.append_value(number_to_i64(n)),
        other => return Err(JsonError::convert(value, other.base().name())),
    }
    Ok(())
}

/// Type name for nested-type conversion errors, e.g. `ARRAY<STRING>`.
fn builder_type_name(builder: &ColumnBuilder) -> String {
    match builder {
        ColumnBuilder::Struct(st) => {
            sql_type_name(&arrow::datatypes::DataType::Struct(st.fields.clone()))
        }
        other => other.base().name().to_string(),
    }
}

// ---------------------------------------------------------------------------
// Arrow → JSON
// ---------------------------------------------------------------------------

/// One Arrow value, serializable as ksqlDB's JSON format writes it: DECIMAL as
/// a number with exactly the column's scale, BYTES as base64, DATE as epoch
/// days, TIME/TIMESTAMP as milliseconds, MAP as an object (keys as text),
/// STRUCT as an object in field order, non-finite DOUBLEs as the strings
/// `"NaN"`/`"Infinity"`/`"-Infinity"` (Jackson's default), NULL as `null`.
#[derive(Clone, Copy)]
pub struct JsonCell<'a> {
    /// The array holding the value.
    pub array: &'a dyn Array,
    /// Row index within `array`.
    pub row: usize,
}

/// Downcasts `$array` with an `as_*_opt` accessor, turning a mismatch into a
/// serializer error instead of a panic.
macro_rules! cast {
    ($array:expr, $method:ident $(::<$t:ty>)?) => {
        $array
            .$method$(::<$t>)?()
            .ok_or_else(|| S::Error::custom(format!("malformed {} array", $array.data_type())))?
    };
}

fn serialize_double<S: Serializer>(v: f64, s: S) -> Result<S::Ok, S::Error> {
    if v.is_finite() {
        s.serialize_f64(v)
    } else {
        let mut text = String::new();
        scalar::write_java_double(v, &mut text);
        s.serialize_str(&text)
    }
}

/// Milliseconds since the epoch for any timestamp unit.
fn timestamp_millis(array: &dyn Array, unit: &TimeUnit, row: usize) -> Option<i64> {
    Some(match unit {
        TimeUnit::Second => array
            .as_primitive_opt::<TimestampSecondType>()?
            .value(row)
            .saturating_mul(1000),
        TimeUnit::Millisecond => array
            .as_primitive_opt::<TimestampMillisecondType>()?
            .value(row),
        TimeUnit::Microsecond => array
            .as_primitive_opt::<TimestampMicrosecondType>()?
            .value(row)
            .div_euclid(1000),
        TimeUnit::Nanosecond => array
            .as_primitive_opt::<TimestampNanosecondType>()?
            .value(row)
            .div_euclid(1_000_000),
    })
}

impl Serialize for JsonCell<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (a, i) = (self.array, self.row);
        if i >= a.len() || a.is_null(i) {
            return s.serialize_unit();
        }
        match a.data_type() {
            DataType::Null => s.serialize_unit(),
            DataType::Boolean => s.serialize_bool(cast!(a, as_boolean_opt).value(i)),
            DataType::Int8 => s.serialize_i8(cast!(a, as_primitive_opt::<Int8Type>).value(i)),
            DataType::Int16 => s.serialize_i16(cast!(a, as_primitive_opt::<Int16Type>).value(i)),
            DataType::Int32 => s.serialize_i32(cast!(a, as_primitive_opt::<Int32Type>).value(i)),
            DataType::Int64 => s.serialize_i64(cast!(a, as_primitive_opt::<Int64Type>).value(i)),
            DataType::UInt8 => s.serialize_u8(cast!(a, as_primitive_opt::<UInt8Type>).value(i)),
            DataType::UInt16 => s.serialize_u16(cast!(a, as_primitive_opt::<UInt16Type>).value(i)),
            DataType::UInt32 => s.serialize_u32(cast!(a, as_primitive_opt::<UInt32Type>).value(i)),
            DataType::UInt64 => s.serialize_u64(cast!(a, as_primitive_opt::<UInt64Type>).value(i)),
            DataType::Float32 => {
                serialize_double(cast!(a, as_primitive_opt::<Float32Type>).value(i) as f64, s)
            }
            DataType::Float64 => {
                serialize_double(cast!(a, as_primitive_opt::<Float64Type>).value(i), s)
            }
            DataType::Decimal128(_, scale) => {
                let mut text = String::new();
                let unscaled = cast!(a, as_primitive_opt::<Decimal128Type>).value(i);
                scalar::write_decimal(unscaled, *scale, &mut text);
                match Number::from_str(&text) {
                    Ok(n) => n.serialize(s),
                    Err(_) => s.serialize_str(&text),
                }
            }
            DataType::Utf8 => s.serialize_str(cast!(a, as_string_opt::<i32>).value(i)),
            DataType::LargeUtf8 => s.serialize_str(cast!(a, as_string_opt::<i64>).value(i)),
            DataType::Binary => s.serialize_str(&scalar::base64_encode(
                cast!(a, as_binary_opt::<i32>).value(i),
            )),
            DataType::LargeBinary => s.serialize_str(&scalar::base64_encode(
                cast!(a, as_binary_opt::<i64>).value(i),
            )),
            DataType::Date32 => s.serialize_i32(cast!(a, as_primitive_opt::<Date32Type>).value(i)),
            DataType::Time32(TimeUnit::Millisecond) => {
                s.serialize_i32(cast!(a, as_primitive_opt::<Time32MillisecondType>).value(i))
            }
            DataType::Timestamp(unit, _) => match timestamp_millis(a, unit, i) {
                Some(ms) => s.serialize_i64(ms),
                None => Err(S::Error::custom("malformed timestamp array")),
            },
            DataType::List(_) => {
                let list = cast!(a, as_list_opt::<i32>);
                let offsets = list.value_offsets();
                let (start, end) = (offsets[i] as usize, offsets[i + 1] as usize);
                let items = list.values().as_ref();
                let mut seq = s.serialize_seq(Some(end - start))?;
                for row in start..end {
                    seq.serialize_element(&JsonCell { array: items, row })?;
                }
                seq.end()
            }
            DataType::Map(_, _) => {
                let map = cast!(a, as_map_opt);
                let offsets = map.value_offsets();
                let (start, end) = (offsets[i] as usize, offsets[i + 1] as usize);
                let (keys, values) = (map.keys().as_ref(), map.values().as_ref());
                let mut out = s.serialize_map(Some(end - start))?;
                let mut key = String::new();
                for row in start..end {
                    key.clear();
                    write_cell_text(keys, row, &mut key);
                    out.serialize_entry(&key, &JsonCell { array: values, row })?;
                }
                out.end()
            }
            DataType::Struct(fields) => {
                let st = cast!(a, as_struct_opt);
                let mut out = s.serialize_map(Some(fields.len()))?;
                for (field, column) in fields.iter().zip(st.columns()) {
                    out.serialize_entry(
                        field.name(),
                        &JsonCell {
                            array: column.as_ref(),
                            row: i,
                        },
                    )?;
                }
                out.end()
            }
            other => Err(S::Error::custom(format!(
                "type {other} has no JSON representation"
            ))),
        }
    }
}

/// ksqlDB's JSON rendering of one Arrow value (see [`JsonCell`] for the
/// per-type rules). Out-of-range rows and types outside the mapping render as
/// `null`. Note this is the JSON *format's* rendering: TIMESTAMPs are epoch
/// milliseconds, not ISO strings.
pub fn arrow_value_to_json(array: &dyn Array, row: usize) -> Value {
    serde_json::to_value(JsonCell { array, row }).unwrap_or(Value::Null)
}

/// Appends the text form of a primitive value to `out`, as DELIMITED writes
/// fields and JSON writes map keys: BOOLEAN `true`, DOUBLE like Java's
/// `Double.toString`, DECIMAL plain with the column's scale, BYTES base64,
/// DATE/TIME/TIMESTAMP as epoch numbers. Nested values are written as JSON.
/// Returns false (writing nothing) for NULL.
pub(crate) fn write_cell_text(array: &dyn Array, row: usize, out: &mut String) -> bool {
    if row >= array.len() || array.is_null(row) {
        return false;
    }
    macro_rules! num {
        ($t:ty) => {
            match array.as_primitive_opt::<$t>() {
                Some(p) => {
                    let _ = write!(out, "{}", p.value(row));
                }
                None => return false,
            }
        };
    }
    match array.data_type() {
        DataType::Boolean => match array.as_boolean_opt() {
            Some(b) => out.push_str(if b.value(row) { "true" } else { "false" }),
            None => return false,
        },
        DataType::Int32 => num!(Int32Type),
        DataType::Int64 => num!(Int64Type),
        DataType::Date32 => num!(Date32Type),
        DataType::Time32(TimeUnit::Millisecond) => num!(Time32MillisecondType),
        DataType::Timestamp(unit, _) => match timestamp_millis(array, unit, row) {
            Some(ms) => {
                let _ = write!(out, "{ms}");
            }
            None => return false,
        },
        DataType::Float64 => match array.as_primitive_opt::<Float64Type>() {
            Some(p) => scalar::write_java_double(p.value(row), out),
            None => return false,
        },
        DataType::Decimal128(_, scale) => match array.as_primitive_opt::<Decimal128Type>() {
            Some(p) => scalar::write_decimal(p.value(row), *scale, out),
            None => return false,
        },
        DataType::Utf8 => match array.as_string_opt::<i32>() {
            Some(s) => out.push_str(s.value(row)),
            None => return false,
        },
        DataType::Binary => match array.as_binary_opt::<i32>() {
            Some(b) => out.push_str(&scalar::base64_encode(b.value(row))),
            None => return false,
        },
        _ => match serde_json::to_value(JsonCell { array, row }) {
            Ok(Value::String(s)) => out.push_str(&s),
            Ok(v) => {
                let _ = write!(out, "{v}");
            }
            Err(_) => return false,
        },
    }
    true
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{
        ArrayRef, BinaryArray, Decimal128Array, Float64Array, Int32Array, ListArray, MapArray,
        StringArray, StructArray,
    };
    use arrow::buffer::OffsetBuffer;
    use arrow::datatypes::{Field, Int32Type as I32};
    use serde_json::json;

    use super::*;

    fn decode_one(data_type: &DataType, v: &Value) -> Result<ArrayRef, String> {
        let mut b = ColumnBuilder::new(data_type, 1).map_err(|e| e.to_string())?;
        append_json(&mut b, v).map_err(|e| e.render())?;
        b.finish().map_err(|e| e.to_string())
    }

    fn round_trip(data_type: &DataType, v: Value) -> Value {
        match decode_one(data_type, &v) {
            Ok(a) => arrow_value_to_json(a.as_ref(), 0),
            Err(e) => Value::String(format!("error: {e}")),
        }
    }

    #[test]
    fn scalars_render_like_ksqldb() {
        let d = Decimal128Array::from(vec![110])
            .with_precision_and_scale(4, 2)
            .unwrap_or_else(|_| Decimal128Array::from(vec![0]));
        assert_eq!(
            serde_json::to_string(&JsonCell { array: &d, row: 0 }).ok(),
            Some("1.10".into())
        );
        let f = Float64Array::from(vec![f64::NAN, 2.5]);
        assert_eq!(arrow_value_to_json(&f, 0), json!("NaN"));
        assert_eq!(arrow_value_to_json(&f, 1), json!(2.5));
        let b = BinaryArray::from(vec![b"hi".as_ref()]);
        assert_eq!(arrow_value_to_json(&b, 0), json!("aGk="));
        let s = StringArray::from(vec![None::<&str>]);
        assert_eq!(arrow_value_to_json(&s, 0), Value::Null);
        assert_eq!(arrow_value_to_json(&s, 7), Value::Null);
    }

    #[test]
    fn nested_values_render() {
        let list =
            ListArray::from_iter_primitive::<I32, _, _>(vec![Some(vec![Some(1), None]), None]);
        assert_eq!(arrow_value_to_json(&list, 0), json!([1, null]));
        assert_eq!(arrow_value_to_json(&list, 1), Value::Null);
        let st = StructArray::from(vec![(
            Arc::new(Field::new("Ab", DataType::Int32, true)),
            Arc::new(Int32Array::from(vec![4])) as ArrayRef,
        )]);
        assert_eq!(arrow_value_to_json(&st, 0), json!({"Ab": 4}));
        let entries = StructArray::from(vec![
            (
                Arc::new(Field::new("key", DataType::Int32, false)),
                Arc::new(Int32Array::from(vec![1, 2])) as ArrayRef,
            ),
            (
                Arc::new(Field::new("value", DataType::Utf8, true)),
                Arc::new(StringArray::from(vec![Some("x"), None])) as ArrayRef,
            ),
        ]);
        let field = Arc::new(Field::new("entries", entries.data_type().clone(), false));
        let map = MapArray::try_new(
            field,
            OffsetBuffer::new(vec![0, 2].into()),
            entries,
            None,
            false,
        );
        assert!(map.is_ok());
        if let Ok(map) = map {
            assert_eq!(arrow_value_to_json(&map, 0), json!({"1": "x", "2": null}));
        }
    }

    #[test]
    fn coercions_follow_ksqldb() {
        assert_eq!(round_trip(&DataType::Int32, json!("10")), json!(10));
        assert_eq!(round_trip(&DataType::Int32, json!(7.9)), json!(7));
        assert_eq!(round_trip(&DataType::Int64, json!(-3)), json!(-3));
        assert_eq!(round_trip(&DataType::Float64, json!("1.5")), json!(1.5));
        assert_eq!(round_trip(&DataType::Float64, json!(3)), json!(3.0));
        assert_eq!(round_trip(&DataType::Utf8, json!(10)), json!("10"));
        assert_eq!(round_trip(&DataType::Utf8, json!(true)), json!("true"));
        assert_eq!(
            round_trip(&DataType::Utf8, json!({"a": [1]})),
            json!("{\"a\":[1]}")
        );
        assert_eq!(
            round_trip(&DataType::Utf8, json!(["x", 1, null])),
            json!("[x, 1, null]")
        );
        assert_eq!(round_trip(&DataType::Date32, json!(19000)), json!(19000));
        assert_eq!(round_trip(&DataType::Binary, json!("aGk=")), json!("aGk="));
        let dec = DataType::Decimal128(5, 2);
        assert_eq!(round_trip(&dec, json!("3.5")).to_string(), "3.50");
        assert_eq!(round_trip(&dec, json!(12)).to_string(), "12.00");
    }

    #[test]
    fn conversion_errors_name_node_type_and_path() {
        let err = decode_one(&DataType::Int32, &json!("x")).err();
        assert_eq!(
            err.as_deref(),
            Some("Can't coerce string to type. targetType: INTEGER, path: $")
        );
        let err = decode_one(&DataType::Boolean, &json!("true")).err();
        assert_eq!(
            err.as_deref(),
            Some("Can't convert type. sourceType: TextNode, requiredType: BOOLEAN, path: $")
        );
        let list = DataType::List(Arc::new(Field::new("item", DataType::Int64, true)));
        let err = decode_one(&list, &json!([1, {}])).err();
        assert_eq!(
            err.as_deref(),
            Some("Can't convert type. sourceType: ObjectNode, requiredType: BIGINT, path: $[1]")
        );
        let err = decode_one(&list, &json!(5)).err();
        assert!(err.is_some_and(|e| e.contains("sourceType: IntNode, requiredType: ARRAY")));
        let err = decode_one(&DataType::Decimal128(3, 1), &json!(1.25)).err();
        assert!(err.is_some_and(|e| e.contains("without rounding")));
        let err = decode_one(&DataType::Binary, &json!("%%")).err();
        assert!(err.is_some_and(|e| e.contains("Base64")));
    }

    #[test]
    fn struct_fields_match_like_ksqldb() {
        let st = DataType::Struct(Fields::from(vec![
            Field::new("ID", DataType::Int32, true),
            Field::new("Name", DataType::Utf8, true),
        ]));
        assert_eq!(
            round_trip(&st, json!({"id": 1, "name": "x", "extra": 0})),
            json!({"ID": 1, "Name": null})
        );
        assert_eq!(
            round_trip(&st, json!({"ID": 2, "Name": "y"})),
            json!({"ID": 2, "Name": "y"})
        );
    }

    #[test]
    fn cell_text() {
        let mut out = String::new();
        assert!(write_cell_text(&Float64Array::from(vec![1e7]), 0, &mut out));
        assert_eq!(out, "1.0E7");
        out.clear();
        assert!(!write_cell_text(&Int32Array::from(vec![None]), 0, &mut out));
        assert!(out.is_empty());
    }
}
