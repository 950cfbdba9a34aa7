//! The PROTOBUF and PROTOBUF_NOSR formats.
//!
//! * PROTOBUF: Confluent's wire format — magic byte 0, 4-byte big-endian
//!   schema id, the *message indexes* locating the message in the schema's
//!   file (a zig-zag varint count then zig-zag varint indexes; the single
//!   byte `0` for the first message), then the protobuf bytes — with `.proto`
//!   schemas in a [`SchemaRegistry`](crate::SchemaRegistry).
//! * PROTOBUF_NOSR: the bare protobuf bytes, read and written with the schema
//!   generated from the columns.
//!
//! Keys and values are always messages with one field per column (ksqlDB has
//! no unwrapped protobuf). The generated schema follows ksqlDB (`schema.rs`);
//! proto3 scalars have no NULL, so a NULL is written as an absent field and
//! reads back as the type's default, unless the nullable representation
//! ([`ProtobufNullable`]) gives the fields presence. Decoding converts the
//! dynamic message into the columns by field name (`read.rs`); encoding
//! builds a dynamic message from the columns (`write.rs`).

mod read;
mod schema;
mod text;
mod write;

use std::sync::Arc;

use arrow::array::ArrayRef;
use arrow::datatypes::{DataType, Schema};
use prost::Message as _;
use prost_reflect::{DynamicMessage, MessageDescriptor};
use serde_json::Value as Json;

use self::schema::{indexes_of, ProtoSchema};
use crate::arrow_json::{json_to_columns, JsonError};
use crate::builder::{decode_batch, ColumnBuilder, Outcome};
use crate::registry::{read_header, write_header, Binding, WriterSchemas, NO_REGISTRY};
use crate::{
    arrow_value_to_json, Codec, DecodedBatch, FormatError, Layout, RegisteredSchema,
    SchemaRegistry, SchemaType,
};

/// How a generated protobuf schema represents nullable scalar columns
/// (ksqlDB's `KEY_/VALUE_PROTOBUF_NULLABLE_REPRESENTATION`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum ProtobufNullable {
    /// Plain proto3 scalars (the default): a NULL is written as an absent
    /// field and reads back as `0`, `""`, `false`, ...
    #[default]
    Plain,
    /// `optional` scalars: NULL is an absent field and reads back as NULL.
    Optional,
    /// `google.protobuf.*Value` wrapper messages: NULL is an absent wrapper.
    Wrapper,
}

impl ProtobufNullable {
    /// Parses a property value case-insensitively: `OPTIONAL` or `WRAPPER`.
    pub fn parse(text: &str) -> Result<ProtobufNullable, FormatError> {
        match text.trim().to_ascii_uppercase().as_str() {
            "OPTIONAL" => Ok(ProtobufNullable::Optional),
            "WRAPPER" => Ok(ProtobufNullable::Wrapper),
            _ => Err(FormatError::InvalidProperty(format!(
                "Invalid value for PROTOBUF_NULLABLE_REPRESENTATION: '{text}'. \
                 Valid values are OPTIONAL and WRAPPER."
            ))),
        }
    }
}

/// Writes Confluent's message-index array for `indexes`.
fn write_indexes(indexes: &[i32], out: &mut Vec<u8>) {
    let zigzag = |v: i32, out: &mut Vec<u8>| {
        let mut z = ((v << 1) ^ (v >> 31)) as u32;
        while z >= 0x80 {
            out.push((z as u8 & 0x7f) | 0x80);
            z >>= 7;
        }
        out.push(z as u8);
    };
    if indexes == [0] {
        out.push(0);
        return;
    }
    zigzag(indexes.len() as i32, out);
    indexes.iter().for_each(|i| zigzag(*i, out));
}

/// Reads the message-index array at the start of `body`.
fn read_indexes(body: &[u8]) -> Result<(Vec<i32>, &[u8]), String> {
    let mut pos = 0;
    let mut next = || -> Result<i32, String> {
        let mut value: u32 = 0;
        for shift in (0..35).step_by(7) {
            let byte = *body
                .get(pos)
                .ok_or("Invalid Protobuf message indexes: truncated")?;
            pos += 1;
            value |= u32::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok((value >> 1) as i32 ^ -((value & 1) as i32));
            }
        }
        Err("Invalid Protobuf message indexes: varint too long".to_string())
    };
    let count = next()?;
    let indexes = match count {
        0 => vec![0],
        1..=100 => (0..count).map(|_| next()).collect::<Result<_, _>>()?,
        _ => return Err(format!("Invalid Protobuf message index count {count}")),
    };
    Ok((indexes, &body[pos..]))
}

/// The registered schema with this id, parsed with its references.
fn fetch_proto(
    registry: &dyn SchemaRegistry,
    id: i32,
    is_key: bool,
) -> Result<ProtoSchema, String> {
    let target = if is_key { "key" } else { "value" };
    let failed = |e: String| format!("Error retrieving Protobuf {target} schema for id {id}: {e}");
    let registered = registry
        .schema_by_id(id)
        .map_err(|e| failed(e.to_string()))?;
    if registered.schema_type != SchemaType::Protobuf {
        return Err(failed("not a Protobuf schema".to_string()));
    }
    parse_registered(registry, &registered).map_err(failed)
}

/// Parses a registered schema, fetching the files it imports by reference
/// (each reference's subject, newest version).
fn parse_registered(
    registry: &dyn SchemaRegistry,
    registered: &RegisteredSchema,
) -> Result<ProtoSchema, String> {
    let references = schema_references(registry, registered)?;
    ProtoSchema::parse(&registered.schema, &references)
}

/// The files a registered Protobuf schema imports, by the names it imports them
/// with: each reference's subject at its newest version, and theirs in turn.
pub fn schema_references(
    registry: &dyn SchemaRegistry,
    registered: &RegisteredSchema,
) -> Result<Vec<(String, String)>, String> {
    let mut references = Vec::new();
    let mut pending: Vec<_> = registered.references.clone();
    while let Some(reference) = pending.pop() {
        if references.iter().any(|(n, _)| *n == reference.name) || references.len() > 100 {
            continue;
        }
        let (_, schema) = registry
            .latest(&reference.subject)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("Referenced subject {} not found", reference.subject))?;
        pending.extend(schema.references.iter().cloned());
        references.push((reference.name.clone(), schema.schema));
    }
    Ok(references)
}

pub(crate) struct ProtobufCodec {
    layout: Layout,
    /// `None` for PROTOBUF_NOSR.
    registry: Option<Option<Binding>>,
    /// The message generated for the columns, and its schema text.
    writer: MessageDescriptor,
    /// The message to write of a fixed registered schema (`*_SCHEMA_FULL_NAME`).
    full_name: Option<String>,
    /// Its text and id, and the writer schemas of decoded payloads.
    schemas: WriterSchemas<ProtoSchema>,
}

impl ProtobufCodec {
    /// `binding` is `Some` for PROTOBUF (the registry, if attached) and
    /// `None` for PROTOBUF_NOSR.
    pub(crate) fn new(
        layout: Layout,
        binding: Option<Option<Binding>>,
        full_name: Option<&str>,
        nullable: ProtobufNullable,
        schema_id: Option<i32>,
    ) -> Result<ProtobufCodec, FormatError> {
        let writer_text = schema::generate(layout.schema.fields(), full_name, nullable)?;
        let parsed = ProtoSchema::parse(&writer_text, &[]).map_err(FormatError::InvalidProperty)?;
        let writer = parsed
            .first_message()
            .map_err(FormatError::InvalidProperty)?;
        Ok(ProtobufCodec {
            layout,
            registry: binding,
            writer,
            full_name: full_name.map(str::to_string),
            schemas: WriterSchemas::new(SchemaType::Protobuf, writer_text).with_fixed_id(schema_id),
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
        let (descriptor, body) = match &self.registry {
            None => (self.writer.clone(), bytes),
            Some(binding) => {
                let binding = binding.as_ref().ok_or(NO_REGISTRY)?;
                let (id, rest) = read_header(bytes)?;
                let (indexes, body) = read_indexes(rest)?;
                (
                    self.schemas
                        .get_or_fetch(id, || {
                            fetch_proto(binding.registry.as_ref(), id, self.layout.is_key)
                        })?
                        .message_at(&indexes)?,
                    body,
                )
            }
        };
        decode_message(&descriptor, body, &self.layout, builders)
    }
}

/// Decodes protobuf bytes of `descriptor` into the builders of `layout`.
fn decode_message(
    descriptor: &MessageDescriptor,
    body: &[u8],
    layout: &Layout,
    builders: &mut [ColumnBuilder],
) -> Result<Outcome, String> {
    let message = DynamicMessage::decode(descriptor.clone(), body)
        .map_err(|e| format!("Error deserializing Protobuf message: {e}"))?;
    read::read_message(builders, layout.schema.fields(), &message)
        .map(|()| Outcome::Appended)
        .map_err(|e: JsonError| e.render())
}

impl Codec for ProtobufCodec {
    fn register_schema(&self) -> Result<(), FormatError> {
        // PROTOBUF_NOSR has no registry
        match &self.registry {
            Some(binding) => self.schemas.register_if_new(binding.as_ref()),
            None => Ok(()),
        }
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
        let header = match &self.registry {
            None => None,
            Some(binding) => {
                let binding = binding
                    .as_ref()
                    .ok_or_else(|| FormatError::Serialization(NO_REGISTRY.to_string()))?;
                Some((binding, self.schemas.writer_id(binding)?))
            }
        };
        match header {
            Some((binding, id)) if self.schemas.fixed_id().is_some() => {
                let fixed = self
                    .schemas
                    .get_or_fetch(id, || {
                        fetch_proto(binding.registry.as_ref(), id, self.layout.is_key)
                    })
                    .map_err(FormatError::Serialization)?;
                let descriptor = match &self.full_name {
                    Some(name) => fixed.message_named(name).ok_or_else(|| {
                        FormatError::Serialization(format!(
                            "Schema {id} does not contain a message named {name}"
                        ))
                    })?,
                    None => fixed.first_message().map_err(FormatError::Serialization)?,
                };
                encode_rows(&descriptor, Some(id), &self.layout, columns, num_rows)
            }
            header => encode_rows(
                &self.writer,
                header.map(|(_, id)| id),
                &self.layout,
                columns,
                num_rows,
            ),
        }
    }
}

/// Encodes rows as messages of `descriptor`, behind the header of schema
/// `id` when given.
fn encode_rows(
    descriptor: &MessageDescriptor,
    id: Option<i32>,
    layout: &Layout,
    columns: &[ArrayRef],
    num_rows: usize,
) -> Result<Vec<Option<Vec<u8>>>, FormatError> {
    let indexes = indexes_of(descriptor);
    (0..num_rows)
        .map(|row| {
            let message = write::write_message(descriptor, layout.schema.fields(), columns, row)
                .map_err(|e| {
                    FormatError::Serialization(format!("Error serializing Protobuf: {e}"))
                })?;
            let mut out = Vec::with_capacity(message.encoded_len() + 8);
            if let Some(id) = id {
                write_header(id, &mut out);
                write_indexes(&indexes, &mut out);
            }
            message
                .encode(&mut out)
                .map_err(|e| FormatError::Serialization(e.to_string()))?;
            Ok(Some(out))
        })
        .collect()
}

/// Infers the columns of a key or value from its registered Protobuf
/// schema, as ksqlDB does: one column per field of the schema's first
/// message, names upper-cased. Protobuf keys are messages too, so a key
/// infers like a value (`is_key` is accepted for symmetry with
/// [`avro_schema_to_columns`](crate::avro_schema_to_columns)).
///
/// Types: bool → BOOLEAN; int32/sint32/sfixed32 → INT; int64, uint32,
/// uint64, sint64 and the fixed types → BIGINT; float/double → DOUBLE;
/// string and enums → STRING; bytes → BYTES; `confluent.type.Decimal` →
/// DECIMAL; `google.type.Date` → DATE; `google.type.TimeOfDay` → TIME;
/// `google.protobuf.Timestamp` → TIMESTAMP; `google.protobuf.*Value`
/// wrappers → their primitive; repeated → ARRAY; maps → MAP; other messages
/// → STRUCT. Fields of other kinds (oneofs, recursive messages) are skipped.
pub fn protobuf_schema_to_columns(schema_text: &str, is_key: bool) -> Result<Schema, FormatError> {
    protobuf_schema_to_columns_with(schema_text, is_key, None, &[])
}

/// [`protobuf_schema_to_columns`] for the message named `full_name`
/// (ksqlDB's `KEY_/VALUE_SCHEMA_FULL_NAME`; default the first message) of a
/// schema importing `references` (file name, schema text).
pub fn protobuf_schema_to_columns_with(
    schema_text: &str,
    _is_key: bool,
    full_name: Option<&str>,
    references: &[(String, String)],
) -> Result<Schema, FormatError> {
    protobuf_columns(schema_text, full_name, references, true)
}

/// Columns of a Protobuf schema's message (named, else the first), field
/// names upper-cased if `upper`.
pub(crate) fn protobuf_columns(
    schema_text: &str,
    full_name: Option<&str>,
    references: &[(String, String)],
    upper: bool,
) -> Result<Schema, FormatError> {
    schema::infer(schema_text, full_name, references, upper)
}

/// Parses `.proto` schema text importing `references` (file name, schema
/// text) into its file descriptor, as a schema registry validates and compares
/// Protobuf schemas. Confluent's and Google's well-known files may be imported.
/// The `.proto` text ksqlDB generates for `schema`'s columns (one message,
/// `ConnectDefault1`, fields numbered in column order): the `protoSchema` of a
/// protobuf-encoded pull query response, whose rows are PROTOBUF_NOSR bytes.
pub fn protobuf_schema_text(schema: &Schema) -> Result<String, FormatError> {
    schema::generate(schema.fields(), None, ProtobufNullable::default())
}

/// `bytes`, a message of `schema_text`'s first message type, in protobuf's
/// text format as Java's `TextFormat` prints it.
pub fn protobuf_text_format(schema_text: &str, bytes: &[u8]) -> Result<String, FormatError> {
    let invalid = |e: String| FormatError::Serialization(e);
    let schema = ProtoSchema::parse(schema_text, &[]).map_err(invalid)?;
    let message = schema.first_message().map_err(invalid)?;
    let decoded = prost_reflect::DynamicMessage::decode(message, bytes)
        .map_err(|e| invalid(format!("Failed to deserialize Protobuf bytes: {e}")))?;
    Ok(text::print(&decoded, bytes))
}

pub fn parse_protobuf_file(
    schema_text: &str,
    references: &[(String, String)],
) -> Result<prost_reflect::FileDescriptor, FormatError> {
    schema::ProtoSchema::parse(schema_text, references)
        .map(|parsed| parsed.file)
        .map_err(FormatError::InvalidProperty)
}

/// Test helper: a JSON value (QTT shape) written with the newest schema
/// registered under the binding's subject — the message named `full_name`,
/// else the first — with the JSON coercions.
pub(crate) fn json_to_protobuf_with_writer(
    binding: &Binding,
    id: i32,
    registered: &RegisteredSchema,
    full_name: Option<&str>,
    value: &Json,
) -> Result<Option<Vec<u8>>, FormatError> {
    let parsed = parse_registered(binding.registry.as_ref(), registered)
        .map_err(FormatError::Serialization)?;
    let descriptor = match full_name {
        Some(name) => parsed.message_named(name).ok_or_else(|| {
            FormatError::Serialization(format!("No message {name} in the registered schema"))
        })?,
        None => parsed.first_message().map_err(FormatError::Serialization)?,
    };
    let layout = message_layout(&descriptor, binding.subject.ends_with("-key"));
    let columns = json_to_columns(&layout.schema, false, value)?;
    Ok(encode_rows(&descriptor, Some(id), &layout, &columns, 1)?
        .into_iter()
        .next()
        .flatten())
}

/// The columns of a message, names as written.
fn message_layout(descriptor: &MessageDescriptor, is_key: bool) -> Layout {
    Layout {
        schema: Arc::new(Schema::new(schema::message_columns(descriptor, false))),
        is_key,
        unwrapped: false,
    }
}

/// Test helper: a PROTOBUF payload as a JSON object of its message's fields
/// (names as in the writer schema), read with the writer schema.
pub(crate) fn protobuf_to_json_with_writer(
    binding: &Binding,
    is_key: bool,
    bytes: &[u8],
) -> Result<Json, String> {
    let (id, rest) = read_header(bytes)?;
    let (indexes, body) = read_indexes(rest)?;
    let descriptor = fetch_proto(binding.registry.as_ref(), id, is_key)?.message_at(&indexes)?;
    let layout = message_layout(&descriptor, is_key);
    batch_to_json(&layout, |builders| {
        decode_message(&descriptor, body, &layout, builders)
    })
}

/// Decodes one payload with `decode` and renders the row as a JSON object.
pub(crate) fn batch_to_json(
    layout: &Layout,
    decode: impl FnOnce(&mut [ColumnBuilder]) -> Result<Outcome, String>,
) -> Result<Json, String> {
    let mut decode = Some(decode);
    let batch = decode_batch(&layout.schema, 1, |builders, _| match decode.take() {
        Some(f) => f(builders),
        None => Err("decoded twice".to_string()),
    });
    match batch.status.first() {
        Some(crate::RowStatus::Ok) => {}
        Some(crate::RowStatus::Null) => return Ok(Json::Null),
        Some(crate::RowStatus::Error(e)) => return Err(e.clone()),
        None => return Err("nothing decoded".to_string()),
    }
    Ok(Json::Object(
        layout
            .schema
            .fields()
            .iter()
            .zip(&batch.columns)
            .map(|(f, c)| (f.name().clone(), arrow_value_to_json(c.as_ref(), 0)))
            .collect(),
    ))
}

/// Whether a column list can be written as protobuf; ksqlDB's messages.
pub(crate) fn check_types(data_type: &DataType) -> Result<(), FormatError> {
    match data_type {
        DataType::Map(entries, _) => {
            let (k, v) = crate::types::map_entry_fields(entries)
                .ok_or_else(|| FormatError::InvalidProperty("Malformed MAP type".to_string()))?;
            if k.data_type() != &DataType::Utf8 {
                return Err(FormatError::InvalidProperty(
                    "PROTOBUF format only supports MAP types with STRING keys. \
                     See https://github.com/confluentinc/ksql/issues/6177."
                        .to_string(),
                ));
            }
            check_types(v.data_type())
        }
        DataType::List(item) if matches!(item.data_type(), DataType::List(_)) => Err(
            FormatError::InvalidProperty("Array cannot be nested".to_string()),
        ),
        DataType::List(item) => check_types(item.data_type()),
        DataType::Struct(fields) => fields.iter().try_for_each(|f| check_types(f.data_type())),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests;
