//! Decoded protobuf messages straight into column builders, coerced into the
//! column types: fields matched to columns by name (exact, then upper-cased),
//! proto3 defaults for absent scalars, NULL for absent messages, wrappers and
//! `optional` fields, enums as their symbol, Connect's logical-type messages
//! (decimal, date, time of day, timestamp) as DECIMAL/DATE/TIME/TIMESTAMP.

use arrow::datatypes::Fields;
use chrono::{Datelike, NaiveDate, Timelike};
use prost_reflect::{
    DynamicMessage, FieldDescriptor, Kind, MapKey, MessageDescriptor, ReflectMessage, Value,
};

use super::schema::{is_entry, DATE, DECIMAL, TIME, TIMESTAMP};
use crate::arrow_json::JsonError;
use crate::builder::{append_scalar, ColumnBuilder, MapBuilder, Scalar, StructBuilder};
use crate::scalar::from_twos_complement;

/// The message field feeding column `name`: the same name, else the field
/// whose upper-cased name is `name`.
pub(crate) fn field_for(message: &MessageDescriptor, name: &str) -> Option<FieldDescriptor> {
    message.get_field_by_name(name).or_else(|| {
        message.fields().find(|f| {
            f.name()
                .chars()
                .flat_map(char::to_uppercase)
                .eq(name.chars())
        })
    })
}

/// Reads a message's fields into one builder per column; columns without a
/// field are NULL.
pub(crate) fn read_message(
    builders: &mut [ColumnBuilder],
    fields: &Fields,
    message: &DynamicMessage,
) -> Result<(), JsonError> {
    let descriptor = message.descriptor();
    for (builder, column) in builders.iter_mut().zip(fields) {
        match field_for(&descriptor, column.name()) {
            Some(field) => read_field(builder, &field, message)
                .map_err(|e| e.within(format!(".{}", column.name())))?,
            None => builder.append_null(),
        }
    }
    Ok(())
}

fn read_field(
    builder: &mut ColumnBuilder,
    field: &FieldDescriptor,
    message: &DynamicMessage,
) -> Result<(), JsonError> {
    if !field.is_list() && !field.is_map() && field.supports_presence() && !message.has_field(field)
    {
        builder.append_null();
        return Ok(());
    }
    let value = message.get_field(field);
    if field.is_list() {
        if let (ColumnBuilder::Map(map), Kind::Message(entry)) = (&mut *builder, field.kind()) {
            if is_entry(&entry) {
                return read_entries(map, value.as_ref());
            }
        }
    }
    read_value(builder, &field.kind(), value.as_ref())
}

fn convert_error(source: &str, builder: &ColumnBuilder) -> JsonError {
    let required = match builder {
        ColumnBuilder::Struct(st) => {
            crate::types::sql_type_name(&arrow::datatypes::DataType::Struct(st.fields.clone()))
        }
        other => other.base().name().to_string(),
    };
    JsonError::new(format!(
        "Can't convert type. sourceType: {source}, requiredType: {required}"
    ))
}

fn kind_name(kind: &Kind) -> String {
    match kind {
        Kind::Message(m) => m.full_name().to_string(),
        Kind::Enum(e) => e.full_name().to_string(),
        other => format!("{other:?}").to_lowercase(),
    }
}

/// Reads one (non-repeated) value of `kind`, or a whole list / map value.
fn read_value(builder: &mut ColumnBuilder, kind: &Kind, value: &Value) -> Result<(), JsonError> {
    let scalar = match value {
        Value::Message(m) => return read_message_value(builder, m),
        Value::List(items) => {
            let ColumnBuilder::List(list) = builder else {
                return Err(convert_error(
                    &format!("repeated {}", kind_name(kind)),
                    builder,
                ));
            };
            for (i, item) in items.iter().enumerate() {
                read_value(&mut list.items, kind, item).map_err(|e| e.within(format!("[{i}]")))?;
            }
            list.close();
            return Ok(());
        }
        Value::Map(entries) => {
            let ColumnBuilder::Map(map) = builder else {
                return Err(convert_error("map", builder));
            };
            let value_kind = match kind {
                Kind::Message(entry) => entry.map_entry_value_field().kind(),
                other => other.clone(),
            };
            let mut sorted: Vec<(&MapKey, &Value)> = entries.iter().collect();
            sorted.sort_by(|a, b| a.0.cmp(b.0));
            for (key, v) in sorted {
                let text = map_key_text(key);
                map.keys
                    .append_text(&text)
                    .map_err(|e| JsonError::new(e).within(format!(".{text}.key")))?;
                read_value(&mut map.values, &value_kind, v)
                    .map_err(|e| e.within(format!(".{text}.value")))?;
            }
            map.close();
            return Ok(());
        }
        Value::EnumNumber(n) => {
            let symbol = match kind {
                Kind::Enum(e) => e.get_value(*n).map(|v| v.name().to_string()),
                _ => None,
            };
            match (builder, symbol) {
                (ColumnBuilder::Utf8(b), Some(s)) => {
                    b.append_value(s);
                    return Ok(());
                }
                (b, _) => return append(b, Scalar::Int(*n), kind),
            }
        }
        Value::Bool(v) => Scalar::Bool(*v),
        Value::I32(v) => Scalar::Int(*v),
        Value::I64(v) => Scalar::Long(*v),
        Value::U32(v) => Scalar::Long(i64::from(*v)),
        // Java reads a uint64 as a long's bits.
        Value::U64(v) => Scalar::Long(*v as i64),
        Value::F32(v) => Scalar::Float(*v),
        Value::F64(v) => Scalar::Double(*v),
        Value::String(s) => Scalar::Str(s),
        Value::Bytes(b) => Scalar::Bytes(b),
    };
    append(builder, scalar, kind)
}

fn append(builder: &mut ColumnBuilder, value: Scalar<'_>, kind: &Kind) -> Result<(), JsonError> {
    match append_scalar(builder, value) {
        Some(result) => result.map_err(JsonError::new),
        None => Err(convert_error(&kind_name(kind), builder)),
    }
}

fn map_key_text(key: &MapKey) -> String {
    match key {
        MapKey::Bool(v) => v.to_string(),
        MapKey::I32(v) => v.to_string(),
        MapKey::I64(v) => v.to_string(),
        MapKey::U32(v) => v.to_string(),
        MapKey::U64(v) => v.to_string(),
        MapKey::String(s) => s.clone(),
    }
}

/// Connect's map encoding: repeated `{key, value}` entry messages.
fn read_entries(map: &mut MapBuilder, value: &Value) -> Result<(), JsonError> {
    let Value::List(entries) = value else {
        return Err(JsonError::new("Expected repeated map entries"));
    };
    for (i, entry) in entries.iter().enumerate() {
        let Value::Message(entry) = entry else {
            return Err(JsonError::new("Expected a map entry message"));
        };
        let descriptor = entry.descriptor();
        let (Some(k), Some(v)) = (
            descriptor.get_field_by_name("key"),
            descriptor.get_field_by_name("value"),
        ) else {
            return Err(JsonError::new("Map entries need a key and a value"));
        };
        read_field(&mut map.keys, &k, entry).map_err(|e| e.within(format!("[{i}].key")))?;
        read_field(&mut map.values, &v, entry).map_err(|e| e.within(format!("[{i}].value")))?;
    }
    map.close();
    Ok(())
}

fn int_field(message: &DynamicMessage, name: &str) -> i64 {
    match message.get_field_by_name(name).as_deref() {
        Some(Value::I32(v)) => i64::from(*v),
        Some(Value::I64(v)) => *v,
        Some(Value::U32(v)) => i64::from(*v),
        Some(Value::U64(v)) => *v as i64,
        _ => 0,
    }
}

/// A message value: a logical type, a wrapper, or a STRUCT.
fn read_message_value(
    builder: &mut ColumnBuilder,
    message: &DynamicMessage,
) -> Result<(), JsonError> {
    let descriptor = message.descriptor();
    let scalar = match descriptor.full_name() {
        DECIMAL => {
            let bytes = match message.get_field_by_name("value").as_deref() {
                Some(Value::Bytes(b)) => b.to_vec(),
                _ => Vec::new(),
            };
            let scale = i8::try_from(int_field(message, "scale"))
                .map_err(|_| JsonError::new("Protobuf decimal scale out of range"))?;
            Scalar::Decimal(from_twos_complement(&bytes).map_err(JsonError::new)?, scale)
        }
        DATE => {
            let (y, m, d) = (
                int_field(message, "year"),
                int_field(message, "month"),
                int_field(message, "day"),
            );
            let date = i32::try_from(y)
                .ok()
                .zip(u32::try_from(m).ok().zip(u32::try_from(d).ok()))
                .and_then(|(y, (m, d))| NaiveDate::from_ymd_opt(y, m, d))
                .ok_or_else(|| JsonError::new(format!("Invalid date: {y}-{m}-{d}")))?;
            Scalar::Date(date.num_days_from_ce() - EPOCH_DAYS_FROM_CE)
        }
        TIME => {
            let nanos = int_field(message, "nanos");
            let seconds = int_field(message, "hours") * 3600
                + int_field(message, "minutes") * 60
                + int_field(message, "seconds");
            Scalar::TimeMillis(seconds * 1000 + nanos / 1_000_000)
        }
        TIMESTAMP => Scalar::TimestampMillis(
            int_field(message, "seconds").saturating_mul(1000)
                + int_field(message, "nanos").div_euclid(1_000_000),
        ),
        name if name.starts_with("google.protobuf.") && name.ends_with("Value") => {
            let Some(inner) = descriptor.get_field_by_name("value") else {
                return Err(convert_error(name, builder));
            };
            return read_value(builder, &inner.kind(), message.get_field(&inner).as_ref());
        }
        name => {
            let ColumnBuilder::Struct(st) = builder else {
                return Err(convert_error(name, builder));
            };
            let StructBuilder {
                fields, children, ..
            } = &mut **st;
            read_message(children, fields, message)?;
            st.close();
            return Ok(());
        }
    };
    append(builder, scalar, &Kind::Message(descriptor))
}

/// `NaiveDate::num_days_from_ce` of 1970-01-01.
pub(crate) const EPOCH_DAYS_FROM_CE: i32 = 719_163;

/// A DATE as `google.type.Date` fields (year, month, day).
pub(crate) fn date_parts(days: i32) -> Option<(i32, u32, u32)> {
    let date = NaiveDate::from_num_days_from_ce_opt(days.checked_add(EPOCH_DAYS_FROM_CE)?)?;
    Some((date.year(), date.month(), date.day()))
}

/// A TIME (millis of day) as `google.type.TimeOfDay` fields.
pub(crate) fn time_parts(millis: i32) -> Option<(u32, u32, u32, u32)> {
    let millis = u32::try_from(millis).ok()?;
    let t = chrono::NaiveTime::from_num_seconds_from_midnight_opt(
        millis / 1000,
        (millis % 1000) * 1_000_000,
    )?;
    Some((t.hour(), t.minute(), t.second(), t.nanosecond()))
}
