//! Arrow values → Avro binary, against any writer schema: the one Sluice
//! generates for its columns, or a registered one (test inputs). Unions pick
//! `null` for NULLs and otherwise the first branch that fits the Arrow type;
//! records are filled from STRUCT fields (or the row's columns) by name.

use apache_avro::schema::{InnerDecimalSchema, RecordSchema, UuidSchema};
use apache_avro::Schema as AvroSchema;
use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::{
    DataType, Date32Type, Decimal128Type, Fields, Float64Type, Int32Type, Int64Type,
    Time32MillisecondType, TimestampMillisecondType,
};

use super::schema::{kind_name, ParsedSchema};
use crate::arrow_json::write_cell_text;
use crate::types::sql_type_name;

fn write_long(v: i64, out: &mut Vec<u8>) {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    while z >= 0x80 {
        out.push((z as u8 & 0x7f) | 0x80);
        z >>= 7;
    }
    out.push(z as u8);
}

fn write_bytes(b: &[u8], out: &mut Vec<u8>) {
    write_long(b.len() as i64, out);
    out.extend_from_slice(b);
}

/// Whether a non-null value of `data_type` can be written as `schema`
/// (used to pick a union branch).
fn fits(schema: &AvroSchema, data_type: &DataType) -> bool {
    use AvroSchema as S;
    match data_type {
        DataType::Boolean => matches!(schema, S::Boolean),
        DataType::Int32 => matches!(schema, S::Int | S::Long | S::Float | S::Double),
        DataType::Int64 => matches!(schema, S::Long | S::Float | S::Double),
        DataType::Float64 => matches!(schema, S::Double | S::Float),
        DataType::Decimal128(_, _) => matches!(schema, S::Decimal(_)),
        DataType::Utf8 => matches!(schema, S::String | S::Enum(_) | S::Uuid(UuidSchema::String)),
        DataType::Binary => matches!(schema, S::Bytes | S::Fixed(_)),
        DataType::Date32 => matches!(schema, S::Date | S::Int),
        DataType::Time32(_) => matches!(schema, S::TimeMillis | S::TimeMicros | S::Int),
        DataType::Timestamp(_, _) => matches!(
            schema,
            S::TimestampMillis | S::TimestampMicros | S::LocalTimestampMillis | S::Long
        ),
        DataType::List(_) => matches!(schema, S::Array(_)),
        DataType::Map(_, _) => matches!(schema, S::Map(_)),
        DataType::Struct(_) => matches!(schema, S::Record(_)),
        _ => false,
    }
}

fn mismatch(schema: &AvroSchema, data_type: &DataType) -> String {
    format!(
        "Cannot serialize a {} value as Avro {}",
        sql_type_name(data_type),
        kind_name(schema)
    )
}

/// Writes row `row` of `array` as `schema`.
pub(crate) fn write_cell(
    schema: &AvroSchema,
    parsed: &ParsedSchema,
    array: &dyn Array,
    row: usize,
    out: &mut Vec<u8>,
) -> Result<(), String> {
    let schema = parsed.deref(schema)?;
    let data_type = array.data_type();
    // A `NullArray` has no validity buffer, so `is_null` alone misses it.
    let null = array.is_null(row) || data_type == &DataType::Null;
    if let AvroSchema::Union(u) = schema {
        let variants = u.variants();
        let index = if null {
            variants.iter().position(|v| matches!(v, AvroSchema::Null))
        } else {
            let resolved = |v: &AvroSchema| parsed.deref(v).map(|v| fits(v, data_type));
            variants
                .iter()
                .position(|v| resolved(v).unwrap_or(false))
                .or_else(|| variants.iter().position(|v| !matches!(v, AvroSchema::Null)))
        };
        let index = index.ok_or_else(|| mismatch(schema, data_type))?;
        write_long(index as i64, out);
        return write_cell(&variants[index], parsed, array, row, out);
    }
    if null {
        return match schema {
            AvroSchema::Null => Ok(()),
            other => Err(format!(
                "Cannot serialize NULL as non-optional Avro {}",
                kind_name(other)
            )),
        };
    }
    let bad = || mismatch(schema, data_type);
    macro_rules! prim {
        ($t:ty) => {
            array.as_primitive_opt::<$t>().ok_or_else(bad)?.value(row)
        };
    }
    match (schema, data_type) {
        (AvroSchema::Null, _) => return Err(bad()),
        (AvroSchema::Boolean, DataType::Boolean) => {
            out.push(u8::from(array.as_boolean_opt().ok_or_else(bad)?.value(row)))
        }
        (AvroSchema::Int | AvroSchema::Long, DataType::Int32) => {
            write_long(i64::from(prim!(Int32Type)), out)
        }
        (AvroSchema::Long, DataType::Int64) => write_long(prim!(Int64Type), out),
        (AvroSchema::Int | AvroSchema::Date, DataType::Date32) => {
            write_long(i64::from(prim!(Date32Type)), out)
        }
        (AvroSchema::Int | AvroSchema::TimeMillis, DataType::Time32(_)) => {
            write_long(i64::from(prim!(Time32MillisecondType)), out)
        }
        (AvroSchema::TimeMicros, DataType::Time32(_)) => {
            write_long(i64::from(prim!(Time32MillisecondType)) * 1000, out)
        }
        (
            AvroSchema::Long | AvroSchema::TimestampMillis | AvroSchema::LocalTimestampMillis,
            DataType::Timestamp(_, _),
        ) => write_long(prim!(TimestampMillisecondType), out),
        (AvroSchema::TimestampMicros, DataType::Timestamp(_, _)) => {
            write_long(prim!(TimestampMillisecondType).saturating_mul(1000), out)
        }
        (AvroSchema::Float | AvroSchema::Double, DataType::Int32 | DataType::Int64) => {
            let v = match data_type {
                DataType::Int32 => f64::from(prim!(Int32Type)),
                _ => prim!(Int64Type) as f64,
            };
            write_float(schema, v, out)
        }
        (AvroSchema::Float | AvroSchema::Double, DataType::Float64) => {
            write_float(schema, prim!(Float64Type), out)
        }
        (AvroSchema::Decimal(d), DataType::Decimal128(_, scale)) => {
            let to_scale = i8::try_from(d.scale).map_err(|_| bad())?;
            let precision = u8::try_from(d.precision).map_err(|_| bad())?;
            let v = crate::scalar::fit_decimal(prim!(Decimal128Type), *scale, precision, to_scale)?;
            let bytes = crate::scalar::to_twos_complement(v);
            match &d.inner {
                InnerDecimalSchema::Bytes => write_bytes(&bytes, out),
                InnerDecimalSchema::Fixed(f) => {
                    let pad = f.size.checked_sub(bytes.len()).ok_or_else(bad)?;
                    out.extend(std::iter::repeat_n(if v < 0 { 0xff } else { 0 }, pad));
                    out.extend_from_slice(&bytes);
                }
            }
        }
        (AvroSchema::Enum(e), DataType::Utf8) => {
            let text = array.as_string_opt::<i32>().ok_or_else(bad)?.value(row);
            let i = e
                .symbols
                .iter()
                .position(|s| s == text)
                .ok_or_else(|| format!("'{text}' is not a symbol of Avro enum {}", e.name))?;
            write_long(i as i64, out);
        }
        (AvroSchema::String | AvroSchema::Uuid(UuidSchema::String), _) => {
            let mut text = String::new();
            match array.as_string_opt::<i32>() {
                Some(s) => text.push_str(s.value(row)),
                None if !data_type.is_nested() => {
                    write_cell_text(array, row, &mut text);
                }
                None => return Err(bad()),
            }
            write_bytes(text.as_bytes(), out);
        }
        (AvroSchema::Bytes, DataType::Binary) => write_bytes(
            array.as_binary_opt::<i32>().ok_or_else(bad)?.value(row),
            out,
        ),
        (AvroSchema::Fixed(f), DataType::Binary) => {
            let v = array.as_binary_opt::<i32>().ok_or_else(bad)?.value(row);
            if v.len() != f.size {
                return Err(format!(
                    "Avro fixed {} needs {} bytes, got {}",
                    f.name,
                    f.size,
                    v.len()
                ));
            }
            out.extend_from_slice(v);
        }
        (AvroSchema::Array(a), DataType::List(_)) => {
            let list = array.as_list_opt::<i32>().ok_or_else(bad)?;
            let items = list.value(row);
            if !items.is_empty() {
                write_long(items.len() as i64, out);
                for i in 0..items.len() {
                    write_cell(&a.items, parsed, items.as_ref(), i, out)
                        .map_err(|e| format!("{e}, path: [{i}]"))?;
                }
            }
            write_long(0, out);
        }
        (AvroSchema::Map(m), DataType::Map(_, _)) => {
            let map = array.as_map_opt().ok_or_else(bad)?;
            let offsets = map.value_offsets();
            let (start, end) = (offsets[row] as usize, offsets[row + 1] as usize);
            if end > start {
                write_long((end - start) as i64, out);
                let mut key = String::new();
                for i in start..end {
                    key.clear();
                    write_cell_text(map.keys().as_ref(), i, &mut key);
                    write_bytes(key.as_bytes(), out);
                    write_cell(&m.types, parsed, map.values().as_ref(), i, out)?;
                }
            }
            write_long(0, out);
        }
        (AvroSchema::Record(record), DataType::Struct(fields)) => {
            let st = array.as_struct_opt().ok_or_else(bad)?;
            write_record(record, parsed, fields, st.columns(), row, out)?;
        }
        _ => return Err(bad()),
    }
    Ok(())
}

fn write_float(schema: &AvroSchema, v: f64, out: &mut Vec<u8>) {
    match schema {
        AvroSchema::Float => out.extend_from_slice(&(v as f32).to_le_bytes()),
        _ => out.extend_from_slice(&v.to_le_bytes()),
    }
}

/// Index of the column feeding a record field: same position and name, else
/// exact name, else case-insensitive.
pub(crate) fn source_column(fields: &Fields, position: usize, name: &str) -> Option<usize> {
    if fields.get(position).is_some_and(|f| f.name() == name) {
        return Some(position);
    }
    fields.iter().position(|f| f.name() == name).or_else(|| {
        fields
            .iter()
            .position(|f| f.name().eq_ignore_ascii_case(name))
    })
}

/// Writes a record from columns named by `fields`; a field without a column
/// is written as NULL (so it must be optional).
pub(crate) fn write_record(
    record: &RecordSchema,
    parsed: &ParsedSchema,
    fields: &Fields,
    columns: &[ArrayRef],
    row: usize,
    out: &mut Vec<u8>,
) -> Result<(), String> {
    for (i, field) in record.fields.iter().enumerate() {
        let column = source_column(fields, i, &field.name).and_then(|c| columns.get(c));
        // a NULL for a field that cannot hold one is written as the field's
        // default, as Connect's AvroData does
        let null = column.is_none_or(|c| c.is_null(row) || c.data_type() == &DataType::Null);
        let default = match (&field.default, parsed.deref(&field.schema)) {
            (Some(default), Ok(schema)) if null && !matches!(schema, AvroSchema::Union(_)) => {
                default_cell(schema, default)
            }
            _ => None,
        };
        if let Some(default) = default {
            write_cell(&field.schema, parsed, default.as_ref(), 0, out)
                .map_err(|e| format!("{e} (field {})", field.name))?;
            continue;
        }
        match column {
            Some(column) => write_cell(&field.schema, parsed, column.as_ref(), row, out),
            None => write_cell(
                &field.schema,
                parsed,
                &arrow::array::new_null_array(&DataType::Null, 1),
                0,
                out,
            ),
        }
        .map_err(|e| format!("{e} (field {})", field.name))?;
    }
    Ok(())
}

/// A primitive field's JSON default as a one-row array to write.
fn default_cell(schema: &AvroSchema, default: &serde_json::Value) -> Option<ArrayRef> {
    use arrow::array::{BooleanArray, Float64Array, Int32Array, Int64Array, StringArray};
    use std::sync::Arc;
    Some(match schema {
        AvroSchema::Int => Arc::new(Int32Array::from(vec![
            i32::try_from(default.as_i64()?).ok()?
        ])),
        AvroSchema::Long => Arc::new(Int64Array::from(vec![default.as_i64()?])),
        AvroSchema::Float | AvroSchema::Double => {
            Arc::new(Float64Array::from(vec![default.as_f64()?]))
        }
        AvroSchema::Boolean => Arc::new(BooleanArray::from(vec![default.as_bool()?])),
        AvroSchema::String | AvroSchema::Enum(_) => {
            Arc::new(StringArray::from(vec![default.as_str()?.to_string()]))
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zigzag() {
        let mut out = Vec::new();
        for v in [0, -1, 1, -64, 64, i64::from(i32::MIN)] {
            write_long(v, &mut out);
        }
        assert_eq!(
            out,
            vec![0, 1, 2, 0x7f, 0x80, 0x01, 0xff, 0xff, 0xff, 0xff, 0x0f]
        );
    }
}
