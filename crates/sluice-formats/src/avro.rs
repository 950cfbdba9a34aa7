//! The AVRO format: Confluent's wire format (magic byte 0, 4-byte big-endian
//! schema id, Avro binary datum) with schemas kept in a [`SchemaRegistry`].
//!
//! * Encoding generates the writer schema from the columns as ksqlDB does
//!   (`schema.rs`), registers it under the subject on first use and writes its
//!   id. A NULL unwrapped column is no payload (Confluent's serializer writes
//!   nothing for `null`).
//! * Decoding fetches the *writer* schema by id (cached per codec) and reads
//!   the datum straight into the column builders (`read.rs`), matching record
//!   fields to columns by name and coercing types.

mod read;
mod schema;
mod write;

use std::sync::Arc;

use apache_avro::Schema as AvroSchema;
use arrow::array::{Array, ArrayRef};
use arrow::datatypes::DataType;
use serde_json::Value;

pub(crate) use schema::avro_columns;
pub use schema::{avro_schema_to_columns, avro_schema_to_unwrapped_column};
pub(crate) use write::source_column;

use self::read::{read_into, read_record, Reader};
use self::schema::{ParsedSchema, DEFAULT_FULL_NAME};
use crate::arrow_json::{json_to_columns, JsonError};
use crate::builder::{decode_batch, ColumnBuilder, Outcome};
use crate::registry::{read_header, write_header, Binding, WriterSchemas, NO_REGISTRY};
use crate::types::sql_type_name;
use crate::{arrow_value_to_json, Codec, DecodedBatch, FormatError, Layout, SchemaType};

pub(crate) struct AvroCodec {
    layout: Layout,
    binding: Option<Binding>,
    /// `STRUCT<...>` of the whole row, for "not a record" errors.
    row_type: String,
    /// The generated writer schema.
    writer: ParsedSchema,
    /// Its text and id, and the writer schemas of decoded payloads.
    schemas: WriterSchemas<ParsedSchema>,
}

impl AvroCodec {
    /// `full_name` names the generated record (default ksqlDB's
    /// `io.confluent.ksql.avro_schemas.KsqlDataSourceSchema`).
    pub(crate) fn new(
        layout: Layout,
        binding: Option<Binding>,
        full_name: Option<&str>,
        schema_id: Option<i32>,
    ) -> Result<AvroCodec, FormatError> {
        let writer_text =
            schema::generate(&layout, full_name.unwrap_or(DEFAULT_FULL_NAME)).to_string();
        let writer = ParsedSchema::parse(&writer_text).map_err(FormatError::InvalidProperty)?;
        let row_type = sql_type_name(&DataType::Struct(layout.schema.fields().clone()));
        Ok(AvroCodec {
            layout,
            binding,
            row_type,
            writer,
            schemas: WriterSchemas::new(SchemaType::Avro, writer_text).with_fixed_id(schema_id),
        })
    }

    fn decode_row(
        &self,
        builders: &mut [ColumnBuilder],
        payload: Option<&[u8]>,
    ) -> Result<Outcome, String> {
        let Some(bytes) = payload else {
            return Ok(Outcome::Null);
        };
        let binding = self.binding.as_ref().ok_or(NO_REGISTRY)?;
        let (id, body) = read_header(bytes)?;
        let writer = self
            .schemas
            .get_or_fetch(id, || fetch_avro(binding, id, self.layout.is_key))?;
        decode_datum(&writer, body, &self.layout, builders, &self.row_type)
    }
}

/// Fetches and parses an Avro schema from the registry.
fn fetch_avro(binding: &Binding, id: i32, is_key: bool) -> Result<ParsedSchema, String> {
    let target = if is_key { "key" } else { "value" };
    let registered = binding
        .registry
        .schema_by_id(id)
        .map_err(|e| format!("Error retrieving Avro {target} schema for id {id}: {e}"))?;
    if registered.schema_type != SchemaType::Avro {
        return Err(format!(
            "Error retrieving Avro {target} schema for id {id}: not an Avro schema"
        ));
    }
    ParsedSchema::parse(&registered.schema)
}

/// Decodes one Avro datum (no header) written with `writer` into the builders
/// of `layout`.
fn decode_datum(
    writer: &ParsedSchema,
    body: &[u8],
    layout: &Layout,
    builders: &mut [ColumnBuilder],
    row_type: &str,
) -> Result<Outcome, String> {
    let mut r = Reader::new(body);
    // A top-level `["null", ...]` union: resolve the branch here, so a null
    // datum can be a tombstone.
    let mut root = writer.deref(&writer.root)?;
    if let AvroSchema::Union(u) = root {
        let i = r.long()?;
        let branch = usize::try_from(i)
            .ok()
            .and_then(|i| u.variants().get(i))
            .ok_or_else(|| format!("Invalid Avro union index {i}"))?;
        root = writer.deref(branch)?;
    }
    if let AvroSchema::Null = root {
        if !layout.is_key {
            return Ok(Outcome::Null);
        }
        builders.iter_mut().for_each(ColumnBuilder::append_null);
        return Ok(Outcome::Appended);
    }
    let result = match (layout.unwrapped, builders, root) {
        (true, [only], schema) => read_into(only, schema, writer, &mut r),
        (false, builders, AvroSchema::Record(record)) => {
            read_record(builders, layout.schema.fields(), record, writer, &mut r)
        }
        (_, _, other) => Err(JsonError::new(format!(
            "Can't convert type. sourceType: {}, requiredType: {row_type}",
            schema::kind_name(other)
        ))),
    };
    result.map(|()| Outcome::Appended).map_err(|e| e.render())
}

impl Codec for AvroCodec {
    fn register_schema(&self) -> Result<(), FormatError> {
        self.schemas.register_if_new(self.binding.as_ref())
    }

    fn decode(&self, payloads: &[Option<&[u8]>]) -> DecodedBatch {
        decode_batch(&self.layout.schema, payloads.len(), |builders, i| {
            self.decode_row(builders, payloads[i])
        })
    }

    fn encode(
        &self,
        columns: &[ArrayRef],
        num_rows: usize,
    ) -> Result<Vec<Option<Vec<u8>>>, FormatError> {
        let binding = self
            .binding
            .as_ref()
            .ok_or_else(|| FormatError::Serialization(NO_REGISTRY.to_string()))?;
        let id = self.schemas.writer_id(binding)?;
        if self.schemas.fixed_id().is_some() {
            let writer = self
                .schemas
                .get_or_fetch(id, || fetch_avro(binding, id, self.layout.is_key))
                .map_err(FormatError::Serialization)?;
            return encode_rows(&writer, id, &self.layout, columns, num_rows);
        }
        encode_rows(&self.writer, id, &self.layout, columns, num_rows)
    }
}

/// Encodes rows with a writer schema whose id is `id`.
fn encode_rows(
    writer: &ParsedSchema,
    id: i32,
    layout: &Layout,
    columns: &[ArrayRef],
    num_rows: usize,
) -> Result<Vec<Option<Vec<u8>>>, FormatError> {
    let mut out = Vec::with_capacity(num_rows);
    let mut capacity = 64;
    for row in 0..num_rows {
        let mut buf = Vec::with_capacity(capacity);
        write_header(id, &mut buf);
        let written = match (columns, writer.deref(&writer.root)) {
            ([only], _) if layout.unwrapped => {
                if only.is_null(row) {
                    out.push(None);
                    continue;
                }
                write::write_cell(&writer.root, writer, only.as_ref(), row, &mut buf)
            }
            (_, Ok(AvroSchema::Record(record))) => write::write_record(
                record,
                writer,
                layout.schema.fields(),
                columns,
                row,
                &mut buf,
            ),
            (_, Ok(other)) => Err(format!(
                "Cannot serialize several columns as Avro {}",
                schema::kind_name(other)
            )),
            (_, Err(e)) => Err(e),
        };
        written.map_err(|e| FormatError::Serialization(format!("Error serializing Avro: {e}")))?;
        capacity = buf.len() + 16;
        out.push(Some(buf));
    }
    Ok(out)
}

/// The columns a registered writer schema describes, as a layout (record root
/// → wrapped columns named as the fields; otherwise one unwrapped column).
fn writer_layout(writer: &ParsedSchema, is_key: bool) -> Result<Layout, FormatError> {
    let (columns, wrapped) = schema::writer_columns(writer)?;
    Ok(Layout {
        schema: Arc::new(columns),
        is_key,
        unwrapped: !wrapped,
    })
}

/// Test helper: a JSON value (QTT shape) written with the registered writer
/// schema `id` — JSON → columns of the writer schema (JSON coercions) → Avro.
pub(crate) fn json_to_avro_with_writer(
    binding: &Binding,
    id: i32,
    is_key: bool,
    value: &Value,
) -> Result<Option<Vec<u8>>, FormatError> {
    let writer = fetch_avro(binding, id, is_key).map_err(FormatError::Serialization)?;
    let layout = writer_layout(&writer, is_key)?;
    let columns = json_to_columns(&layout.schema, layout.unwrapped, value)?;
    Ok(encode_rows(&writer, id, &layout, &columns, 1)?
        .into_iter()
        .next()
        .flatten())
}

/// Test helper: an Avro payload as a JSON value (QTT shape), read with its
/// writer schema: a record becomes an object with the fields as written,
/// anything else the bare value.
pub(crate) fn avro_to_json_with_writer(
    binding: &Binding,
    is_key: bool,
    bytes: &[u8],
) -> Result<Value, String> {
    let (id, body) = read_header(bytes)?;
    let writer = fetch_avro(binding, id, is_key)?;
    let layout = writer_layout(&writer, is_key).map_err(|e| e.to_string())?;
    let row_type = sql_type_name(&DataType::Struct(layout.schema.fields().clone()));
    let batch = decode_batch(&layout.schema, 1, |builders, _| {
        decode_datum(&writer, body, &layout, builders, &row_type)
    });
    match batch.status.first() {
        Some(crate::RowStatus::Ok) => {}
        Some(crate::RowStatus::Null) => return Ok(Value::Null),
        Some(crate::RowStatus::Error(e)) => return Err(e.clone()),
        None => return Err("nothing decoded".to_string()),
    }
    if layout.unwrapped {
        return Ok(batch
            .columns
            .first()
            .map(|c| arrow_value_to_json(c.as_ref(), 0))
            .unwrap_or(Value::Null));
    }
    Ok(Value::Object(
        layout
            .schema
            .fields()
            .iter()
            .zip(&batch.columns)
            .map(|(f, c)| (f.name().clone(), arrow_value_to_json(c.as_ref(), 0)))
            .collect(),
    ))
}

#[cfg(test)]
mod tests;
