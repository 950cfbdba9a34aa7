//! Arrow values → dynamic protobuf messages, against any message descriptor:
//! the one generated for the columns, or a registered one (test inputs).
//! Fields are filled from the columns (or STRUCT fields) of the same name,
//! exact then case-insensitive; NULLs leave a field unset (so it reads back
//! as its proto3 default, or as NULL where the field has presence), and NULL
//! items of repeated fields and maps are written as defaults.

use std::collections::HashMap;

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::{
    DataType, Date32Type, Decimal128Type, Fields, Float64Type, Int32Type, Int64Type,
    Time32MillisecondType, TimestampMillisecondType,
};
use prost_reflect::{DynamicMessage, FieldDescriptor, Kind, MapKey, MessageDescriptor, Value};

use super::read::{date_parts, time_parts};
use super::schema::{is_entry, DATE, DECIMAL, TIME, TIMESTAMP};
use crate::arrow_json::write_cell_text;
use crate::avro::source_column;
use crate::scalar::to_twos_complement;
use crate::types::sql_type_name;

fn mismatch(kind: &Kind, data_type: &DataType) -> String {
    let target = match kind {
        Kind::Message(m) => m.full_name().to_string(),
        Kind::Enum(e) => e.full_name().to_string(),
        other => format!("{other:?}").to_lowercase(),
    };
    format!(
        "Cannot serialize a {} value as Protobuf {target}",
        sql_type_name(data_type)
    )
}

/// A message of `descriptor` from row `row` of the columns named by `fields`.
pub(crate) fn write_message(
    descriptor: &MessageDescriptor,
    fields: &Fields,
    columns: &[ArrayRef],
    row: usize,
) -> Result<DynamicMessage, String> {
    let mut message = DynamicMessage::new(descriptor.clone());
    for (position, field) in descriptor.fields().enumerate() {
        let Some(column) =
            source_column(fields, position, field.name()).and_then(|c| columns.get(c))
        else {
            continue;
        };
        if column.is_null(row) || column.data_type() == &DataType::Null {
            continue;
        }
        let value = field_value(&field, column.as_ref(), row)
            .map_err(|e| format!("{e} (field {})", field.name()))?;
        message
            .try_set_field(&field, value)
            .map_err(|e| format!("{e} (field {})", field.name()))?;
    }
    Ok(message)
}

/// The value of `field` from a non-null cell.
fn field_value(field: &FieldDescriptor, array: &dyn Array, row: usize) -> Result<Value, String> {
    let kind = field.kind();
    if field.is_map() {
        let Kind::Message(entry) = &kind else {
            return Err(mismatch(&kind, array.data_type()));
        };
        return map_value(entry, array, row);
    }
    if !field.is_list() {
        return cell_value(&kind, array, row);
    }
    match (&kind, array.data_type()) {
        (Kind::Message(entry), DataType::Map(_, _)) if is_entry(entry) => {
            entries_value(entry, array, row)
        }
        (_, DataType::List(_)) => {
            let list = array
                .as_list_opt::<i32>()
                .ok_or_else(|| mismatch(&kind, array.data_type()))?;
            let items = list.value(row);
            let values = (0..items.len())
                .map(|i| {
                    item_value(&kind, items.as_ref(), i).map_err(|e| format!("{e}, path: [{i}]"))
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Value::List(values))
        }
        _ => Err(mismatch(&kind, array.data_type())),
    }
}

/// An item of a repeated field or map value: NULL becomes the default.
fn item_value(kind: &Kind, array: &dyn Array, i: usize) -> Result<Value, String> {
    if array.is_null(i) {
        Ok(Value::default_value(kind))
    } else {
        cell_value(kind, array, i)
    }
}

/// The (start, end) entry range of a map cell.
fn map_range(
    array: &dyn Array,
    row: usize,
) -> Result<(&arrow::array::MapArray, usize, usize), String> {
    let map = array
        .as_map_opt()
        .ok_or_else(|| format!("Expected a MAP, got {}", sql_type_name(array.data_type())))?;
    let offsets = map.value_offsets();
    Ok((map, offsets[row] as usize, offsets[row + 1] as usize))
}

fn map_key(kind: &Kind, keys: &dyn Array, i: usize) -> Result<MapKey, String> {
    let mut text = String::new();
    write_cell_text(keys, i, &mut text);
    let bad = || format!("Cannot use '{text}' as a Protobuf map key");
    Ok(match kind {
        Kind::String => MapKey::String(text.clone()),
        Kind::Bool => MapKey::Bool(text.eq_ignore_ascii_case("true")),
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => {
            MapKey::I32(text.parse().map_err(|_| bad())?)
        }
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => {
            MapKey::I64(text.parse().map_err(|_| bad())?)
        }
        Kind::Uint32 | Kind::Fixed32 => MapKey::U32(text.parse().map_err(|_| bad())?),
        Kind::Uint64 | Kind::Fixed64 => MapKey::U64(text.parse().map_err(|_| bad())?),
        _ => return Err(bad()),
    })
}

/// A protobuf `map<K, V>` field from a MAP cell.
fn map_value(entry: &MessageDescriptor, array: &dyn Array, row: usize) -> Result<Value, String> {
    let (map, start, end) = map_range(array, row)?;
    let (key_kind, value_kind) = (
        entry.map_entry_key_field().kind(),
        entry.map_entry_value_field().kind(),
    );
    let mut out = HashMap::with_capacity(end - start);
    for i in start..end {
        let key = map_key(&key_kind, map.keys().as_ref(), i)?;
        out.insert(key, item_value(&value_kind, map.values().as_ref(), i)?);
    }
    Ok(Value::Map(out))
}

/// Connect's repeated `{key, value}` entries from a MAP cell.
fn entries_value(
    entry: &MessageDescriptor,
    array: &dyn Array,
    row: usize,
) -> Result<Value, String> {
    let (map, start, end) = map_range(array, row)?;
    let (Some(key), Some(value)) = (
        entry.get_field_by_name("key"),
        entry.get_field_by_name("value"),
    ) else {
        return Err(format!("{} needs a key and a value", entry.full_name()));
    };
    let mut out = Vec::with_capacity(end - start);
    for i in start..end {
        let mut message = DynamicMessage::new(entry.clone());
        for (field, column) in [(&key, map.keys()), (&value, map.values())] {
            if !column.is_null(i) {
                let v = field_value(field, column.as_ref(), i)?;
                message.try_set_field(field, v).map_err(|e| e.to_string())?;
            }
        }
        out.push(Value::Message(message));
    }
    Ok(Value::List(out))
}

/// A message of a logical type from integer fields.
fn logical(descriptor: &MessageDescriptor, fields: &[(&str, Value)]) -> Result<Value, String> {
    let mut message = DynamicMessage::new(descriptor.clone());
    for (name, value) in fields {
        message
            .try_set_field_by_name(name, value.clone())
            .map_err(|e| format!("{e} ({}.{name})", descriptor.full_name()))?;
    }
    Ok(Value::Message(message))
}

/// One non-null, non-repeated value of `kind` from row `row` of `array`.
fn cell_value(kind: &Kind, array: &dyn Array, row: usize) -> Result<Value, String> {
    let data_type = array.data_type();
    let bad = || mismatch(kind, data_type);
    macro_rules! prim {
        ($t:ty) => {
            array.as_primitive_opt::<$t>().ok_or_else(bad)?.value(row)
        };
    }
    // Any integer column, widened.
    let integer = || -> Result<i64, String> {
        Ok(match data_type {
            DataType::Int32 => i64::from(prim!(Int32Type)),
            DataType::Int64 => prim!(Int64Type),
            DataType::Date32 => i64::from(prim!(Date32Type)),
            DataType::Time32(_) => i64::from(prim!(Time32MillisecondType)),
            DataType::Timestamp(_, _) => prim!(TimestampMillisecondType),
            _ => return Err(bad()),
        })
    };
    let narrow =
        |v: i64| i32::try_from(v).map_err(|_| format!("{v} does not fit in a Protobuf int32"));
    let unsigned = |v: i64| {
        u64::try_from(v).map_err(|_| format!("{v} does not fit in a Protobuf unsigned field"))
    };
    Ok(match kind {
        Kind::Bool => Value::Bool(array.as_boolean_opt().ok_or_else(bad)?.value(row)),
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => Value::I32(narrow(integer()?)?),
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => Value::I64(integer()?),
        Kind::Uint32 | Kind::Fixed32 => Value::U32(
            u32::try_from(unsigned(integer()?)?)
                .map_err(|_| "value does not fit in a Protobuf uint32")?,
        ),
        Kind::Uint64 | Kind::Fixed64 => Value::U64(unsigned(integer()?)?),
        Kind::Double | Kind::Float => {
            let v = match data_type {
                DataType::Float64 => prim!(Float64Type),
                _ => integer()? as f64,
            };
            if matches!(kind, Kind::Float) {
                Value::F32(v as f32)
            } else {
                Value::F64(v)
            }
        }
        Kind::String => {
            let mut text = String::new();
            match array.as_string_opt::<i32>() {
                Some(s) => text.push_str(s.value(row)),
                None if !data_type.is_nested() => {
                    write_cell_text(array, row, &mut text);
                }
                None => return Err(bad()),
            }
            Value::String(text)
        }
        Kind::Bytes => match (array.as_binary_opt::<i32>(), array.as_string_opt::<i32>()) {
            (Some(b), _) => Value::Bytes(b.value(row).to_vec().into()),
            (_, Some(s)) => Value::Bytes(s.value(row).as_bytes().to_vec().into()),
            _ => return Err(bad()),
        },
        Kind::Enum(e) => match array.as_string_opt::<i32>() {
            Some(s) => {
                let text = s.value(row);
                let v = e.get_value_by_name(text).ok_or_else(|| {
                    format!("'{text}' is not a symbol of Protobuf enum {}", e.name())
                })?;
                Value::EnumNumber(v.number())
            }
            None => Value::EnumNumber(narrow(integer()?)?),
        },
        Kind::Message(m) => match (m.full_name(), data_type) {
            (DECIMAL, DataType::Decimal128(p, s)) => {
                let unscaled = prim!(Decimal128Type);
                logical(
                    m,
                    &[
                        ("value", Value::Bytes(to_twos_complement(unscaled).into())),
                        ("precision", Value::U32(u32::from(*p))),
                        ("scale", Value::I32(i32::from(*s))),
                    ],
                )?
            }
            (DATE, DataType::Date32) => {
                let days = prim!(Date32Type);
                let (y, mo, d) =
                    date_parts(days).ok_or_else(|| format!("DATE {days} out of range"))?;
                logical(
                    m,
                    &[
                        ("year", Value::I32(y)),
                        ("month", Value::I32(mo as i32)),
                        ("day", Value::I32(d as i32)),
                    ],
                )?
            }
            (TIME, DataType::Time32(_)) => {
                let millis = prim!(Time32MillisecondType);
                let (h, mi, s, n) = time_parts(millis).ok_or_else(|| {
                    "Time values must use number of millis greater than 0 and less than 86400000"
                        .to_string()
                })?;
                logical(
                    m,
                    &[
                        ("hours", Value::I32(h as i32)),
                        ("minutes", Value::I32(mi as i32)),
                        ("seconds", Value::I32(s as i32)),
                        ("nanos", Value::I32(n as i32)),
                    ],
                )?
            }
            (TIMESTAMP, DataType::Timestamp(_, _) | DataType::Int64) => {
                let millis = integer()?;
                logical(
                    m,
                    &[
                        ("seconds", Value::I64(millis.div_euclid(1000))),
                        (
                            "nanos",
                            Value::I32((millis.rem_euclid(1000) * 1_000_000) as i32),
                        ),
                    ],
                )?
            }
            (name, _) if name.starts_with("google.protobuf.") && name.ends_with("Value") => {
                let inner = m.get_field_by_name("value").ok_or_else(bad)?;
                let v = cell_value(&inner.kind(), array, row)?;
                logical(m, &[("value", v)])?
            }
            (_, DataType::Struct(fields)) => {
                let st = array.as_struct_opt().ok_or_else(bad)?;
                Value::Message(write_message(m, fields, st.columns(), row)?)
            }
            _ => return Err(bad()),
        },
    })
}
