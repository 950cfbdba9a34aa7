//! Avro binary decoding straight into column builders, driven by the writer
//! schema and coerced into the column types (Avro's promotions plus ksqlDB's:
//! anything primitive into STRING, enums as their symbol, `["null", T]`
//! unions, records matched to STRUCT fields by name).

use apache_avro::schema::{InnerDecimalSchema, RecordSchema, UuidSchema};
use apache_avro::Schema as AvroSchema;
use arrow::datatypes::Fields;

use super::schema::{kind_name, ParsedSchema};
use crate::arrow_json::JsonError;
use crate::builder::{append_scalar, ColumnBuilder, Scalar, StructBuilder};
use crate::scalar::from_twos_complement;

/// A cursor over one Avro datum.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

fn truncated() -> String {
    "Unexpected end of Avro data".to_string()
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.pos.checked_add(n).ok_or_else(truncated)?;
        let out = self.buf.get(self.pos..end).ok_or_else(truncated)?;
        self.pos = end;
        Ok(out)
    }

    /// A zig-zag varint `long`.
    pub(crate) fn long(&mut self) -> Result<i64, String> {
        let mut value: u64 = 0;
        for shift in (0..64).step_by(7) {
            let byte = *self.buf.get(self.pos).ok_or_else(truncated)?;
            self.pos += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok((value >> 1) as i64 ^ -((value & 1) as i64));
            }
        }
        Err("Invalid Avro varint: more than 10 bytes".to_string())
    }

    fn int(&mut self) -> Result<i32, String> {
        let v = self.long()?;
        i32::try_from(v).map_err(|_| format!("Avro int out of range: {v}"))
    }

    fn len(&mut self) -> Result<usize, String> {
        let v = self.long()?;
        usize::try_from(v).map_err(|_| format!("Negative Avro length: {v}"))
    }

    fn bytes(&mut self) -> Result<&'a [u8], String> {
        let n = self.len()?;
        self.take(n)
    }

    fn string(&mut self) -> Result<&'a str, String> {
        std::str::from_utf8(self.bytes()?).map_err(|e| format!("Invalid UTF-8 in Avro string: {e}"))
    }

    fn boolean(&mut self) -> Result<bool, String> {
        match self.take(1)? {
            [0] => Ok(false),
            [1] => Ok(true),
            other => Err(format!("Invalid Avro boolean byte: {other:?}")),
        }
    }

    fn float(&mut self) -> Result<f32, String> {
        let b = self.take(4)?;
        Ok(f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn double(&mut self) -> Result<f64, String> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(f64::from_le_bytes(a))
    }

    /// The item count of the next array/map block (0 ends the value); a
    /// negative count is followed by the block's byte size.
    fn block_len(&mut self) -> Result<usize, String> {
        let n = self.long()?;
        if n < 0 {
            self.long()?;
        }
        usize::try_from(n.unsigned_abs()).map_err(|_| format!("Invalid Avro block size: {n}"))
    }
}

/// Reads a primitive (or logical) value of `schema`.
fn read_scalar<'a, 'b: 'a>(
    schema: &'a AvroSchema,
    r: &mut Reader<'b>,
) -> Result<Scalar<'a>, String> {
    Ok(match schema {
        AvroSchema::Boolean => Scalar::Bool(r.boolean()?),
        AvroSchema::Int => Scalar::Int(r.int()?),
        AvroSchema::Long => Scalar::Long(r.long()?),
        AvroSchema::Float => Scalar::Float(r.float()?),
        AvroSchema::Double => Scalar::Double(r.double()?),
        AvroSchema::Bytes => Scalar::Bytes(r.bytes()?),
        AvroSchema::String | AvroSchema::Uuid(UuidSchema::String) => Scalar::Str(r.string()?),
        AvroSchema::Uuid(UuidSchema::Bytes) => Scalar::Bytes(r.bytes()?),
        AvroSchema::Uuid(UuidSchema::Fixed(f)) | AvroSchema::Fixed(f) => {
            Scalar::Bytes(r.take(f.size)?)
        }
        AvroSchema::Enum(e) => {
            let i = r.int()?;
            let symbol = usize::try_from(i).ok().and_then(|i| e.symbols.get(i));
            Scalar::Str(symbol.ok_or_else(|| format!("Invalid Avro enum index {i}"))?)
        }
        AvroSchema::Decimal(d) => {
            let bytes = match &d.inner {
                InnerDecimalSchema::Bytes => r.bytes()?,
                InnerDecimalSchema::Fixed(f) => r.take(f.size)?,
            };
            let scale = i8::try_from(d.scale).map_err(|_| "Avro decimal scale too large")?;
            Scalar::Decimal(from_twos_complement(bytes)?, scale)
        }
        AvroSchema::Date => Scalar::Date(r.int()?),
        AvroSchema::TimeMillis => Scalar::TimeMillis(i64::from(r.int()?)),
        AvroSchema::TimeMicros => Scalar::TimeMillis(r.long()?.div_euclid(1000)),
        AvroSchema::TimestampMillis | AvroSchema::LocalTimestampMillis => {
            Scalar::TimestampMillis(r.long()?)
        }
        AvroSchema::TimestampMicros | AvroSchema::LocalTimestampMicros => {
            Scalar::TimestampMillis(r.long()?.div_euclid(1000))
        }
        AvroSchema::TimestampNanos | AvroSchema::LocalTimestampNanos => {
            Scalar::TimestampMillis(r.long()?.div_euclid(1_000_000))
        }
        other => return Err(format!("Unsupported Avro type: {}", kind_name(other))),
    })
}

fn convert_error(schema: &AvroSchema, builder: &ColumnBuilder) -> JsonError {
    let required = match builder {
        ColumnBuilder::Struct(st) => {
            crate::types::sql_type_name(&arrow::datatypes::DataType::Struct(st.fields.clone()))
        }
        other => other.base().name().to_string(),
    };
    JsonError::new(format!(
        "Can't convert type. sourceType: {}, requiredType: {required}",
        kind_name(schema)
    ))
}

/// Reads one value of `schema` into `builder`.
pub(crate) fn read_into(
    builder: &mut ColumnBuilder,
    schema: &AvroSchema,
    parsed: &ParsedSchema,
    r: &mut Reader<'_>,
) -> Result<(), JsonError> {
    let schema = parsed.deref(schema).map_err(JsonError::new)?;
    match schema {
        AvroSchema::Null => builder.append_null(),
        AvroSchema::Union(u) => {
            let i = r.long().map_err(JsonError::new)?;
            let branch = usize::try_from(i)
                .ok()
                .and_then(|i| u.variants().get(i))
                .ok_or_else(|| JsonError::new(format!("Invalid Avro union index {i}")))?;
            return read_into(builder, branch, parsed, r);
        }
        AvroSchema::Array(a) => match builder {
            ColumnBuilder::List(list) => {
                let mut index = 0;
                loop {
                    let n = r.block_len().map_err(JsonError::new)?;
                    if n == 0 {
                        break;
                    }
                    for _ in 0..n {
                        read_into(&mut list.items, &a.items, parsed, r)
                            .map_err(|e| e.within(format!("[{index}]")))?;
                        index += 1;
                    }
                }
                list.close();
            }
            ColumnBuilder::Map(map) => read_map_entries(map, &a.items, parsed, r)?,
            other => return Err(convert_error(schema, other)),
        },
        AvroSchema::Map(m) => {
            let ColumnBuilder::Map(map) = builder else {
                return Err(convert_error(schema, builder));
            };
            loop {
                let n = r.block_len().map_err(JsonError::new)?;
                if n == 0 {
                    break;
                }
                for _ in 0..n {
                    let key = r.string().map_err(JsonError::new)?;
                    map.keys
                        .append_text(key)
                        .map_err(|e| JsonError::new(e).within(format!(".{key}.key")))?;
                    read_into(&mut map.values, &m.types, parsed, r)
                        .map_err(|e| e.within(format!(".{key}.value")))?;
                }
            }
            map.close();
        }
        AvroSchema::Record(record) => {
            let ColumnBuilder::Struct(st) = builder else {
                return Err(convert_error(schema, builder));
            };
            let StructBuilder {
                fields, children, ..
            } = &mut **st;
            read_record(children, fields, record, parsed, r)?;
            st.close();
        }
        primitive => {
            let value = read_scalar(primitive, r).map_err(JsonError::new)?;
            match append_scalar(builder, value) {
                Some(result) => result.map_err(JsonError::new)?,
                None => return Err(convert_error(primitive, builder)),
            }
        }
    }
    Ok(())
}

/// Connect's encoding of a map with non-string keys: an array of
/// `{key, value}` records.
fn read_map_entries(
    map: &mut crate::builder::MapBuilder,
    items: &AvroSchema,
    parsed: &ParsedSchema,
    r: &mut Reader<'_>,
) -> Result<(), JsonError> {
    let entry = parsed.deref(items).map_err(JsonError::new)?;
    let AvroSchema::Record(record) = entry else {
        return Err(JsonError::new(format!(
            "Can't convert type. sourceType: array of {}, requiredType: MAP",
            kind_name(entry)
        )));
    };
    let [k, v] = record.fields.as_slice() else {
        return Err(JsonError::new("Avro map entries need a key and a value"));
    };
    loop {
        let n = r.block_len().map_err(JsonError::new)?;
        if n == 0 {
            break;
        }
        for i in 0..n {
            read_into(&mut map.keys, &k.schema, parsed, r)
                .map_err(|e| e.within(format!("[{i}].key")))?;
            read_into(&mut map.values, &v.schema, parsed, r)
                .map_err(|e| e.within(format!("[{i}].value")))?;
        }
    }
    map.close();
    Ok(())
}

/// The column for a writer field: the same position with the same name, else
/// the exact name, else the column equal to the upper-cased writer name.
fn target_column(fields: &Fields, position: usize, writer_name: &str) -> Option<usize> {
    if fields
        .get(position)
        .is_some_and(|f| f.name() == writer_name)
    {
        return Some(position);
    }
    fields
        .iter()
        .position(|f| f.name() == writer_name)
        .or_else(|| {
            fields.iter().position(|f| {
                writer_name
                    .chars()
                    .flat_map(char::to_uppercase)
                    .eq(f.name().chars())
            })
        })
}

/// Reads a record's fields into one builder per column; columns the writer
/// lacks are NULL, writer fields without a column are skipped.
pub(crate) fn read_record(
    builders: &mut [ColumnBuilder],
    fields: &Fields,
    record: &RecordSchema,
    parsed: &ParsedSchema,
    r: &mut Reader<'_>,
) -> Result<(), JsonError> {
    let mut filled = vec![false; builders.len()];
    for (i, wf) in record.fields.iter().enumerate() {
        match target_column(fields, i, &wf.name) {
            Some(t) if !filled[t] => {
                read_into(&mut builders[t], &wf.schema, parsed, r)
                    .map_err(|e| e.within(format!(".{}", fields[t].name())))?;
                filled[t] = true;
            }
            _ => skip(&wf.schema, parsed, r).map_err(JsonError::new)?,
        }
    }
    for (builder, done) in builders.iter_mut().zip(filled) {
        if !done {
            builder.append_null();
        }
    }
    Ok(())
}

/// Skips one value of `schema`.
fn skip(schema: &AvroSchema, parsed: &ParsedSchema, r: &mut Reader<'_>) -> Result<(), String> {
    match parsed.deref(schema)? {
        AvroSchema::Null => {}
        AvroSchema::Union(u) => {
            let i = r.long()?;
            let branch = usize::try_from(i)
                .ok()
                .and_then(|i| u.variants().get(i))
                .ok_or_else(|| format!("Invalid Avro union index {i}"))?;
            skip(branch, parsed, r)?;
        }
        AvroSchema::Array(a) => loop {
            let n = r.long()?;
            if n == 0 {
                break;
            }
            if n < 0 {
                let size = r.len()?;
                r.take(size)?;
                continue;
            }
            for _ in 0..n {
                skip(&a.items, parsed, r)?;
            }
        },
        AvroSchema::Map(m) => loop {
            let n = r.long()?;
            if n == 0 {
                break;
            }
            if n < 0 {
                let size = r.len()?;
                r.take(size)?;
                continue;
            }
            for _ in 0..n {
                r.bytes()?;
                skip(&m.types, parsed, r)?;
            }
        },
        AvroSchema::Record(record) => {
            for f in &record.fields {
                skip(&f.schema, parsed, r)?;
            }
        }
        AvroSchema::Duration(f) => {
            r.take(f.size)?;
        }
        primitive => {
            read_scalar(primitive, r)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints() {
        let mut r = Reader::new(&[
            0x00, 0x01, 0x02, 0x7f, 0x80, 0x01, 0xff, 0xff, 0xff, 0xff, 0x0f,
        ]);
        let got: Vec<i64> = (0..6).map(|_| r.long().unwrap_or(99)).collect();
        assert_eq!(got, vec![0, -1, 1, -64, 64, i64::from(i32::MIN)]);
        assert!(r.long().is_err());
        let mut r = Reader::new(&[0xff; 11]);
        assert!(r.long().is_err());
    }
}
