//! Column builders for decoding: one [`ColumnBuilder`] per output column,
//! nesting for ARRAY/MAP/STRUCT, plus the batch driver that keeps only the rows
//! that decoded cleanly.
//!
//! Formats append typed values (or text, via [`ColumnBuilder::append_text`]);
//! the JSON-specific appends live in `arrow_json.rs`.

use std::sync::Arc;

use arrow::array::{
    ArrayBuilder, ArrayRef, BinaryBuilder, BooleanBuilder, Date32Builder, Decimal128Builder,
    Float64Builder, Int32Builder, Int64Builder, ListArray, MapArray, NullBufferBuilder,
    StringBuilder, StructArray, Time32MillisecondBuilder, TimestampMillisecondBuilder,
};
use arrow::buffer::{OffsetBuffer, ScalarBuffer};
use arrow::datatypes::{DataType, FieldRef, Fields, Schema};

use crate::scalar;
use crate::types::{map_entry_fields, SqlBase};
use crate::{DecodedBatch, FormatError, RowStatus};

/// Builds one Arrow array of a mapped SQL type.
pub(crate) enum ColumnBuilder {
    Boolean(BooleanBuilder),
    Int32(Int32Builder),
    Int64(Int64Builder),
    Float64(Float64Builder),
    Decimal {
        builder: Decimal128Builder,
        precision: u8,
        scale: i8,
    },
    Utf8(StringBuilder),
    Binary(BinaryBuilder),
    Date(Date32Builder),
    Time(Time32MillisecondBuilder),
    Timestamp(TimestampMillisecondBuilder),
    List(Box<ListBuilder>),
    Map(Box<MapBuilder>),
    Struct(Box<StructBuilder>),
}

/// ARRAY: offsets and validity over one child builder.
pub(crate) struct ListBuilder {
    field: FieldRef,
    offsets: Vec<i32>,
    nulls: NullBufferBuilder,
    pub(crate) items: ColumnBuilder,
}

/// MAP: offsets and validity over key and value builders.
pub(crate) struct MapBuilder {
    entries: FieldRef,
    ordered: bool,
    offsets: Vec<i32>,
    nulls: NullBufferBuilder,
    pub(crate) keys: ColumnBuilder,
    pub(crate) values: ColumnBuilder,
}

/// STRUCT: validity over one builder per field.
pub(crate) struct StructBuilder {
    pub(crate) fields: Fields,
    nulls: NullBufferBuilder,
    len: usize,
    pub(crate) children: Vec<ColumnBuilder>,
}

impl ListBuilder {
    /// Closes a non-null list whose items were appended to `items`.
    pub(crate) fn close(&mut self) {
        self.offsets.push(self.items.len() as i32);
        self.nulls.append_non_null();
    }
}

impl MapBuilder {
    /// Closes a non-null map whose entries were appended to `keys`/`values`.
    pub(crate) fn close(&mut self) {
        self.offsets.push(self.keys.len() as i32);
        self.nulls.append_non_null();
    }
}

impl StructBuilder {
    /// Closes a non-null struct after one value was appended to every child.
    pub(crate) fn close(&mut self) {
        self.nulls.append_non_null();
        self.len += 1;
    }
}

fn offsets_buffer(offsets: &mut Vec<i32>) -> OffsetBuffer<i32> {
    let taken = std::mem::replace(offsets, vec![0]);
    OffsetBuffer::new(ScalarBuffer::from(taken))
}

fn arrow_err(e: arrow::error::ArrowError) -> FormatError {
    FormatError::Serialization(e.to_string())
}

impl ColumnBuilder {
    /// A builder for `data_type`, which must be within the SQL type mapping.
    pub(crate) fn new(data_type: &DataType, capacity: usize) -> Result<Self, FormatError> {
        let unsupported = || FormatError::UnsupportedType {
            column: String::new(),
            data_type: format!("{data_type:?}"),
        };
        let base = SqlBase::of(data_type).ok_or_else(unsupported)?;
        Ok(match (base, data_type) {
            (SqlBase::Boolean, _) => {
                ColumnBuilder::Boolean(BooleanBuilder::with_capacity(capacity))
            }
            (SqlBase::Integer, _) => ColumnBuilder::Int32(Int32Builder::with_capacity(capacity)),
            (SqlBase::Bigint, _) => ColumnBuilder::Int64(Int64Builder::with_capacity(capacity)),
            (SqlBase::Double, _) => ColumnBuilder::Float64(Float64Builder::with_capacity(capacity)),
            (SqlBase::Decimal, DataType::Decimal128(p, s)) => ColumnBuilder::Decimal {
                builder: Decimal128Builder::with_capacity(capacity)
                    .with_precision_and_scale(*p, *s)
                    .map_err(arrow_err)?,
                precision: *p,
                scale: *s,
            },
            (SqlBase::String, _) => {
                ColumnBuilder::Utf8(StringBuilder::with_capacity(capacity, capacity * 8))
            }
            (SqlBase::Bytes, _) => {
                ColumnBuilder::Binary(BinaryBuilder::with_capacity(capacity, capacity * 8))
            }
            (SqlBase::Date, _) => ColumnBuilder::Date(Date32Builder::with_capacity(capacity)),
            (SqlBase::Time, _) => {
                ColumnBuilder::Time(Time32MillisecondBuilder::with_capacity(capacity))
            }
            (SqlBase::Timestamp, _) => ColumnBuilder::Timestamp(
                TimestampMillisecondBuilder::with_capacity(capacity)
                    .with_data_type(data_type.clone()),
            ),
            (SqlBase::Array, DataType::List(item)) => ColumnBuilder::List(Box::new(ListBuilder {
                field: item.clone(),
                offsets: vec![0],
                nulls: NullBufferBuilder::new(capacity),
                items: ColumnBuilder::new(item.data_type(), capacity)?,
            })),
            (SqlBase::Map, DataType::Map(entries, ordered)) => {
                let (k, v) = map_entry_fields(entries).ok_or_else(unsupported)?;
                ColumnBuilder::Map(Box::new(MapBuilder {
                    entries: entries.clone(),
                    ordered: *ordered,
                    offsets: vec![0],
                    nulls: NullBufferBuilder::new(capacity),
                    keys: ColumnBuilder::new(k.data_type(), capacity)?,
                    values: ColumnBuilder::new(v.data_type(), capacity)?,
                }))
            }
            (SqlBase::Struct, DataType::Struct(fields)) => {
                ColumnBuilder::Struct(Box::new(StructBuilder {
                    fields: fields.clone(),
                    nulls: NullBufferBuilder::new(capacity),
                    len: 0,
                    children: fields
                        .iter()
                        .map(|f| ColumnBuilder::new(f.data_type(), capacity))
                        .collect::<Result<_, _>>()?,
                }))
            }
            _ => return Err(unsupported()),
        })
    }

    /// Number of values appended so far.
    pub(crate) fn len(&self) -> usize {
        match self {
            ColumnBuilder::Boolean(b) => b.len(),
            ColumnBuilder::Int32(b) => b.len(),
            ColumnBuilder::Int64(b) => b.len(),
            ColumnBuilder::Float64(b) => b.len(),
            ColumnBuilder::Decimal { builder, .. } => builder.len(),
            ColumnBuilder::Utf8(b) => b.len(),
            ColumnBuilder::Binary(b) => b.len(),
            ColumnBuilder::Date(b) => b.len(),
            ColumnBuilder::Time(b) => b.len(),
            ColumnBuilder::Timestamp(b) => b.len(),
            ColumnBuilder::List(b) => b.offsets.len() - 1,
            ColumnBuilder::Map(b) => b.offsets.len() - 1,
            ColumnBuilder::Struct(b) => b.len,
        }
    }

    /// The SQL base type being built.
    pub(crate) fn base(&self) -> SqlBase {
        match self {
            ColumnBuilder::Boolean(_) => SqlBase::Boolean,
            ColumnBuilder::Int32(_) => SqlBase::Integer,
            ColumnBuilder::Int64(_) => SqlBase::Bigint,
            ColumnBuilder::Float64(_) => SqlBase::Double,
            ColumnBuilder::Decimal { .. } => SqlBase::Decimal,
            ColumnBuilder::Utf8(_) => SqlBase::String,
            ColumnBuilder::Binary(_) => SqlBase::Bytes,
            ColumnBuilder::Date(_) => SqlBase::Date,
            ColumnBuilder::Time(_) => SqlBase::Time,
            ColumnBuilder::Timestamp(_) => SqlBase::Timestamp,
            ColumnBuilder::List(_) => SqlBase::Array,
            ColumnBuilder::Map(_) => SqlBase::Map,
            ColumnBuilder::Struct(_) => SqlBase::Struct,
        }
    }

    /// Appends a NULL (for STRUCT, also a placeholder in every child).
    pub(crate) fn append_null(&mut self) {
        match self {
            ColumnBuilder::Boolean(b) => b.append_null(),
            ColumnBuilder::Int32(b) => b.append_null(),
            ColumnBuilder::Int64(b) => b.append_null(),
            ColumnBuilder::Float64(b) => b.append_null(),
            ColumnBuilder::Decimal { builder, .. } => builder.append_null(),
            ColumnBuilder::Utf8(b) => b.append_null(),
            ColumnBuilder::Binary(b) => b.append_null(),
            ColumnBuilder::Date(b) => b.append_null(),
            ColumnBuilder::Time(b) => b.append_null(),
            ColumnBuilder::Timestamp(b) => b.append_null(),
            ColumnBuilder::List(b) => {
                b.offsets.push(b.items.len() as i32);
                b.nulls.append_null();
            }
            ColumnBuilder::Map(b) => {
                b.offsets.push(b.keys.len() as i32);
                b.nulls.append_null();
            }
            ColumnBuilder::Struct(b) => {
                b.children.iter_mut().for_each(ColumnBuilder::append_null);
                b.nulls.append_null();
                b.len += 1;
            }
        }
    }

    /// Appends a primitive value given as text, parsed the way ksqlDB's
    /// DELIMITED format parses a field (`Integer.parseInt`, `Double.parseDouble`,
    /// `Boolean.parseBoolean`, `new BigDecimal`, base64 for BYTES, epoch
    /// numbers for DATE/TIME/TIMESTAMP). Nested types are rejected.
    pub(crate) fn append_text(&mut self, text: &str) -> Result<(), String> {
        let coerce =
            |base: SqlBase| format!("Can't coerce string to type. targetType: {}", base.name());
        match self {
            ColumnBuilder::Boolean(b) => b.append_value(scalar::parse_java_boolean(text)),
            ColumnBuilder::Int32(b) => {
                b.append_value(scalar::parse_int(text).ok_or_else(|| coerce(SqlBase::Integer))?)
            }
            ColumnBuilder::Int64(b) => {
                b.append_value(scalar::parse_long(text).ok_or_else(|| coerce(SqlBase::Bigint))?)
            }
            ColumnBuilder::Float64(b) => b.append_value(
                scalar::parse_java_double(text).ok_or_else(|| coerce(SqlBase::Double))?,
            ),
            ColumnBuilder::Decimal {
                builder,
                precision,
                scale,
            } => builder.append_value(scalar::parse_decimal(text, *precision, *scale)?),
            ColumnBuilder::Utf8(b) => b.append_value(text),
            ColumnBuilder::Binary(b) => b
                .append_value(scalar::base64_decode(text).ok_or_else(|| {
                    format!("Value is not a valid Base64 encoded string: {text}")
                })?),
            ColumnBuilder::Date(b) => {
                b.append_value(scalar::parse_int(text).ok_or_else(|| coerce(SqlBase::Date))?)
            }
            ColumnBuilder::Time(b) => {
                b.append_value(scalar::parse_int(text).ok_or_else(|| coerce(SqlBase::Time))?)
            }
            ColumnBuilder::Timestamp(b) => {
                b.append_value(scalar::parse_long(text).ok_or_else(|| coerce(SqlBase::Timestamp))?)
            }
            ColumnBuilder::List(_) | ColumnBuilder::Map(_) | ColumnBuilder::Struct(_) => {
                return Err(coerce(self.base()));
            }
        }
        Ok(())
    }

    /// Finishes the array and resets the builder.
    pub(crate) fn finish(&mut self) -> Result<ArrayRef, FormatError> {
        Ok(match self {
            ColumnBuilder::Boolean(b) => Arc::new(b.finish()),
            ColumnBuilder::Int32(b) => Arc::new(b.finish()),
            ColumnBuilder::Int64(b) => Arc::new(b.finish()),
            ColumnBuilder::Float64(b) => Arc::new(b.finish()),
            ColumnBuilder::Decimal { builder, .. } => Arc::new(builder.finish()),
            ColumnBuilder::Utf8(b) => Arc::new(b.finish()),
            ColumnBuilder::Binary(b) => Arc::new(b.finish()),
            ColumnBuilder::Date(b) => Arc::new(b.finish()),
            ColumnBuilder::Time(b) => Arc::new(b.finish()),
            ColumnBuilder::Timestamp(b) => Arc::new(b.finish()),
            ColumnBuilder::List(b) => {
                let values = b.items.finish()?;
                let offsets = offsets_buffer(&mut b.offsets);
                Arc::new(
                    ListArray::try_new(b.field.clone(), offsets, values, b.nulls.finish())
                        .map_err(arrow_err)?,
                )
            }
            ColumnBuilder::Map(b) => {
                let keys = b.keys.finish()?;
                let values = b.values.finish()?;
                let DataType::Struct(kv) = b.entries.data_type() else {
                    return Err(FormatError::Serialization("malformed MAP type".into()));
                };
                let entries = StructArray::try_new(kv.clone(), vec![keys, values], None)
                    .map_err(arrow_err)?;
                let offsets = offsets_buffer(&mut b.offsets);
                Arc::new(
                    MapArray::try_new(
                        b.entries.clone(),
                        offsets,
                        entries,
                        b.nulls.finish(),
                        b.ordered,
                    )
                    .map_err(arrow_err)?,
                )
            }
            ColumnBuilder::Struct(b) => {
                let children = b
                    .children
                    .iter_mut()
                    .map(ColumnBuilder::finish)
                    .collect::<Result<Vec<_>, _>>()?;
                let len = std::mem::take(&mut b.len);
                Arc::new(
                    StructArray::try_new_with_length(
                        b.fields.clone(),
                        children,
                        b.nulls.finish(),
                        len,
                    )
                    .map_err(arrow_err)?,
                )
            }
        })
    }
}

/// One primitive value read by a binary format (Avro, Protobuf), before
/// coercion into a column.
pub(crate) enum Scalar<'a> {
    Bool(bool),
    Int(i32),
    Long(i64),
    Float(f32),
    Double(f64),
    Bytes(&'a [u8]),
    Str(&'a str),
    Decimal(i128, i8),
    Date(i32),
    TimeMillis(i64),
    TimestampMillis(i64),
}

impl Scalar<'_> {
    /// The value as text, as ksqlDB coerces a primitive into STRING.
    pub(crate) fn write_text(&self, out: &mut String) {
        use std::fmt::Write as _;
        let _ = match self {
            Scalar::Bool(v) => write!(out, "{v}"),
            Scalar::Int(v) | Scalar::Date(v) => write!(out, "{v}"),
            Scalar::Long(v) | Scalar::TimeMillis(v) | Scalar::TimestampMillis(v) => {
                write!(out, "{v}")
            }
            Scalar::Float(v) => {
                scalar::write_java_double(*v as f64, out);
                Ok(())
            }
            Scalar::Double(v) => {
                scalar::write_java_double(*v, out);
                Ok(())
            }
            Scalar::Bytes(b) => {
                out.push_str(&String::from_utf8_lossy(b));
                Ok(())
            }
            Scalar::Str(s) => {
                out.push_str(s);
                Ok(())
            }
            Scalar::Decimal(u, s) => {
                scalar::write_decimal(*u, *s, out);
                Ok(())
            }
        };
    }
}

/// Appends a primitive with ksqlDB's coercions; `None` means "can't convert".
pub(crate) fn append_scalar(
    builder: &mut ColumnBuilder,
    value: Scalar<'_>,
) -> Option<Result<(), String>> {
    match (builder, value) {
        (ColumnBuilder::Boolean(b), Scalar::Bool(v)) => b.append_value(v),
        (ColumnBuilder::Int32(b), Scalar::Int(v)) => b.append_value(v),
        (ColumnBuilder::Int64(b), Scalar::Int(v)) => b.append_value(i64::from(v)),
        (ColumnBuilder::Int64(b), Scalar::Long(v)) => b.append_value(v),
        (ColumnBuilder::Float64(b), Scalar::Int(v)) => b.append_value(f64::from(v)),
        (ColumnBuilder::Float64(b), Scalar::Long(v)) => b.append_value(v as f64),
        (ColumnBuilder::Float64(b), Scalar::Float(v)) => b.append_value(f64::from(v)),
        (ColumnBuilder::Float64(b), Scalar::Double(v)) => b.append_value(v),
        (
            ColumnBuilder::Decimal {
                builder,
                precision,
                scale,
            },
            value,
        ) => {
            let (unscaled, from) = match value {
                Scalar::Decimal(u, s) => (u, s),
                Scalar::Int(v) => (i128::from(v), 0),
                Scalar::Long(v) => (i128::from(v), 0),
                _ => return None,
            };
            return Some(
                scalar::fit_decimal(unscaled, from, *precision, *scale)
                    .map(|v| builder.append_value(v)),
            );
        }
        (ColumnBuilder::Utf8(b), Scalar::Str(s)) => b.append_value(s),
        (ColumnBuilder::Utf8(b), other) => {
            let mut text = String::new();
            other.write_text(&mut text);
            b.append_value(text);
        }
        (ColumnBuilder::Binary(b), Scalar::Bytes(v)) => b.append_value(v),
        (ColumnBuilder::Binary(b), Scalar::Str(v)) => b.append_value(v.as_bytes()),
        (ColumnBuilder::Date(b), Scalar::Date(v) | Scalar::Int(v)) => b.append_value(v),
        (ColumnBuilder::Time(b), Scalar::Int(v)) => b.append_value(v),
        (ColumnBuilder::Time(b), Scalar::TimeMillis(v)) => {
            b.append_value(i32::try_from(v).unwrap_or(i32::MAX))
        }
        (ColumnBuilder::Timestamp(b), Scalar::TimestampMillis(v) | Scalar::Long(v)) => {
            b.append_value(v)
        }
        (ColumnBuilder::Timestamp(b), Scalar::Int(v)) => b.append_value(i64::from(v)),
        _ => return None,
    }
    Some(Ok(()))
}

/// What decoding one payload did.
pub(crate) enum Outcome {
    /// One value was appended to every column.
    Appended,
    /// Nothing was appended: the payload is a NULL row (tombstone).
    Null,
}

/// Builds a [`DecodedBatch`] of `rows` payloads.
///
/// `decode_row(builders, i)` decodes payload `i` straight into the column
/// builders. A row that fails may leave some builders with a partial row, so
/// when any row fails the batch is decoded again from scratch, skipping the
/// failed rows: the common all-good case does the work once, streaming each
/// payload into the columns, and the output only ever holds the `Ok` rows.
pub(crate) fn decode_batch(
    schema: &Schema,
    rows: usize,
    mut decode_row: impl FnMut(&mut [ColumnBuilder], usize) -> Result<Outcome, String>,
) -> DecodedBatch {
    let mut status = vec![RowStatus::Ok; rows];
    let mut capacity = rows;
    loop {
        let mut builders = match schema
            .fields()
            .iter()
            .map(|f| ColumnBuilder::new(f.data_type(), capacity))
            .collect::<Result<Vec<_>, _>>()
        {
            Ok(b) => b,
            Err(e) => return DecodedBatch::all_failed(schema, rows, &e.to_string()),
        };
        let mut failed = false;
        for (i, st) in status.iter_mut().enumerate() {
            if *st != RowStatus::Ok {
                continue;
            }
            match decode_row(&mut builders, i) {
                Ok(Outcome::Appended) => {}
                Ok(Outcome::Null) => *st = RowStatus::Null,
                Err(e) => {
                    *st = RowStatus::Error(e);
                    failed = true;
                }
            }
        }
        if failed {
            capacity = status.iter().filter(|s| **s == RowStatus::Ok).count();
            continue;
        }
        return match builders
            .iter_mut()
            .map(ColumnBuilder::finish)
            .collect::<Result<Vec<_>, _>>()
        {
            Ok(columns) => DecodedBatch { columns, status },
            Err(e) => DecodedBatch::all_failed(schema, rows, &e.to_string()),
        };
    }
}
