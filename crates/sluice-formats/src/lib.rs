//! Record serde between log bytes and Arrow columns, matching ksqlDB's
//! `JSON`, `DELIMITED`, `KAFKA`, `NONE`, `AVRO`, `JSON_SR`, `PROTOBUF` and
//! `PROTOBUF_NOSR` formats.
//!
//! A source's key and value are each described by a column list — an Arrow
//! [`Schema`] whose field names are the column names — plus a [`FormatKind`]
//! and [`FormatOptions`] (delimiter, `WRAP_SINGLE_VALUE`).
//!
//! * [`check_schema`] validates a column list at statement time, with
//!   ksqlDB's error messages.
//! * [`RecordDecoder`] turns a batch of payloads into Arrow columns, reporting
//!   per-row [`RowStatus`] (tombstone / undecodable rows are not in the output).
//! * [`RecordEncoder`] turns Arrow columns into one payload per row.
//! * [`arrow_value_to_json`] renders one value as ksqlDB's JSON would.
//! * [`json_to_bytes`] / [`bytes_to_json`] (and their
//!   `_with_registry` / `_with_options` variants for the schema formats)
//!   convert between the JSON shapes of ksqlDB's QTT test files and payload
//!   bytes.
//! * [`avro_schema_to_columns`] / [`protobuf_schema_to_columns`] infer a
//!   column list from an Avro / Protobuf schema.
//!
//! # Schema formats
//! AVRO, JSON_SR and PROTOBUF payloads carry Confluent's 5-byte header (magic
//! byte 0, big-endian schema id; PROTOBUF then has the message indexes) and
//! keep their schemas in a [`SchemaRegistry`]
//! ([`MemoryRegistry`] in memory), attached with `with_registry(registry,
//! topic)` on [`RecordDecoder`] / [`RecordEncoder`] (subjects `<topic>-key` /
//! `<topic>-value`). Encoders generate the writer schema from the columns as
//! ksqlDB does and register it on first use. The AVRO decoder reads each
//! payload with its writer schema (fetched by id) and converts by field name;
//! the JSON_SR decoder only checks the header. Without a registry, encoding
//! fails and AVRO rows decode as errors (`no schema registry configured`).
//! [`SchemaOptions`] (`with_schema_options`) carry the schema's full name and
//! the Protobuf nullable representation.
//!
//! PROTOBUF decodes like AVRO, finding the message by the payload's message
//! indexes. PROTOBUF_NOSR has no header and no registry: both sides use the
//! schema generated from the columns. Protobuf keys and values are always
//! messages (a single key column is *not* unwrapped, and
//! `WRAP_SINGLE_VALUE=false` is refused). proto3 scalars have no NULL: see
//! [`ProtobufNullable`].
//!
//! # Wrapping
//! A key with exactly one column is written *unwrapped* (the bare value); a
//! value with one column is *wrapped* in an object (`{"COL": v}`) unless
//! `WRAP_SINGLE_VALUE=false`. Several columns are always an object (JSON) or a
//! field list (DELIMITED) or record (AVRO). DELIMITED and KAFKA have no
//! wrapping; PROTOBUF always wraps, keys included. A column list
//! with no columns is ignored: decoding yields no columns and `Ok` rows,
//! encoding yields no payload (`None`). That is also all the `NONE` format does.
//!
//! # Adding a format
//! Each format implements the crate-internal `Codec` trait (batch decode and
//! encode over a resolved `Layout`), and hooks into [`FormatKind`],
//! [`check_schema`] (`validate.rs`) and the `codec_for` factory below.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use arrow::array::{new_empty_array, Array, ArrayRef};
use arrow::datatypes::{Schema, SchemaRef};

mod arrow_json;
mod avro;
mod builder;
mod delimited;
mod error;
mod json;
mod json_sr;
mod json_value;
mod kafka;
mod protobuf;
mod registry;
mod scalar;
mod types;
mod validate;

pub use arrow_json::{arrow_value_to_json, JsonCell};
pub use avro::{avro_schema_to_columns, avro_schema_to_unwrapped_column};
pub use error::FormatError;
pub use json_sr::json_schema_to_columns;
pub use json_value::{
    bytes_to_json, bytes_to_json_with_options, bytes_to_json_with_registry, json_to_bytes,
    json_to_bytes_with_options, json_to_bytes_with_registry,
};
pub use protobuf::{
    parse_protobuf_file, protobuf_schema_text, protobuf_schema_to_columns,
    protobuf_schema_to_columns_with, protobuf_text_format, schema_references, ProtobufNullable,
};
pub use registry::{
    subject_name, MemoryRegistry, RegisteredSchema, SchemaReference, SchemaRegistry, SchemaType,
};
pub use types::{column_list, sql_type_name};
pub use validate::{check_options, check_schema, parse_delimiter};

/// A serialization format, as named in `KEY_FORMAT` / `VALUE_FORMAT` / `FORMAT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FormatKind {
    /// JSON text; the only format with nested types and wrapping choices.
    Json,
    /// RFC 4180 CSV with a configurable delimiter.
    Delimited,
    /// Kafka's primitive serializers: one INT/BIGINT/DOUBLE/STRING/BYTES column.
    Kafka,
    /// No data: only valid for an empty column list.
    None,
    /// Avro binary in Confluent's wire format, schemas in a registry.
    Avro,
    /// JSON in Confluent's wire format, JSON Schemas in a registry.
    JsonSr,
    /// Protobuf in Confluent's wire format, `.proto` schemas in a registry.
    Protobuf,
    /// Bare protobuf, with the schema generated from the columns.
    ProtobufNoSr,
}

impl FormatKind {
    /// Parses a format name case-insensitively: `json` → [`FormatKind::Json`].
    /// Unknown names fail with `Unknown format: FOO`.
    pub fn parse(name: &str) -> Result<FormatKind, FormatError> {
        let upper = name.trim().to_ascii_uppercase();
        match upper.as_str() {
            "JSON" => Ok(FormatKind::Json),
            "DELIMITED" => Ok(FormatKind::Delimited),
            "KAFKA" => Ok(FormatKind::Kafka),
            "NONE" => Ok(FormatKind::None),
            "AVRO" => Ok(FormatKind::Avro),
            "JSON_SR" => Ok(FormatKind::JsonSr),
            "PROTOBUF" => Ok(FormatKind::Protobuf),
            "PROTOBUF_NOSR" => Ok(FormatKind::ProtobufNoSr),
            _ => Err(FormatError::UnknownFormat(upper)),
        }
    }

    /// The canonical upper-case name, e.g. `"JSON"`.
    pub fn name(self) -> &'static str {
        match self {
            FormatKind::Json => "JSON",
            FormatKind::Delimited => "DELIMITED",
            FormatKind::Kafka => "KAFKA",
            FormatKind::None => "NONE",
            FormatKind::Avro => "AVRO",
            FormatKind::JsonSr => "JSON_SR",
            FormatKind::Protobuf => "PROTOBUF",
            FormatKind::ProtobufNoSr => "PROTOBUF_NOSR",
        }
    }

    /// Whether a single-column value may be wrapped in an object
    /// (`WRAP_SINGLE_VALUE=true` is legal). DELIMITED and KAFKA are always
    /// unwrapped; PROTOBUF and PROTOBUF_NOSR always wrapped.
    pub fn supports_wrapping(self) -> bool {
        !matches!(self, FormatKind::Delimited | FormatKind::Kafka)
    }

    /// Whether a single column may be written bare (`WRAP_SINGLE_VALUE=false`,
    /// or any single key column). Protobuf keys and values are always messages.
    pub fn supports_unwrapping(self) -> bool {
        !matches!(self, FormatKind::Protobuf | FormatKind::ProtobufNoSr)
    }

    /// Whether payloads carry a schema id and need a [`SchemaRegistry`].
    pub fn uses_schema_registry(self) -> bool {
        matches!(
            self,
            FormatKind::Avro | FormatKind::JsonSr | FormatKind::Protobuf
        )
    }
}

impl fmt::Display for FormatKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for FormatKind {
    type Err = FormatError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        FormatKind::parse(s)
    }
}

/// Format properties from the WITH clause, for either the key or the value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FormatOptions {
    /// `VALUE_DELIMITER` / `KEY_DELIMITER` as written: a single character, or
    /// `TAB` / `SPACE`. Only DELIMITED accepts it; its default is `,`.
    pub delimiter: Option<String>,
    /// `WRAP_SINGLE_VALUE`, if given. Ignored for keys (a single key column is
    /// always unwrapped).
    pub wrap_single_value: Option<bool>,
}

/// The outcome for one payload of a decoded batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowStatus {
    /// Decoded; the row is present in [`DecodedBatch::columns`].
    Ok,
    /// The payload was absent (tombstone) or, for values, the JSON literal
    /// `null`. Not present in the columns.
    Null,
    /// The payload cannot be deserialized; the message is ksqlDB-like, e.g.
    /// `Failed to deserialize value from topic: t. Can't convert type.
    /// sourceType: TextNode, requiredType: BOOLEAN, path: $.FLAG`. Not present
    /// in the columns.
    Error(String),
}

/// Result of [`RecordDecoder::decode`].
#[derive(Debug, Clone)]
pub struct DecodedBatch {
    /// One array per schema field, holding only the rows whose status is
    /// [`RowStatus::Ok`], in payload order.
    pub columns: Vec<ArrayRef>,
    /// One status per payload.
    pub status: Vec<RowStatus>,
}

impl DecodedBatch {
    /// Number of rows in [`DecodedBatch::columns`].
    pub fn num_ok_rows(&self) -> usize {
        self.status.iter().filter(|s| **s == RowStatus::Ok).count()
    }

    pub(crate) fn all_failed(schema: &Schema, rows: usize, message: &str) -> DecodedBatch {
        DecodedBatch {
            columns: schema
                .fields()
                .iter()
                .map(|f| new_empty_array(f.data_type()))
                .collect(),
            status: vec![RowStatus::Error(message.to_string()); rows],
        }
    }
}

/// How a format lays out one side (key or value) of a record.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    pub(crate) schema: SchemaRef,
    pub(crate) is_key: bool,
    /// Exactly one column, written as the bare value (no enclosing object).
    pub(crate) unwrapped: bool,
}

impl Layout {
    pub(crate) fn new(schema: SchemaRef, options: &FormatOptions, is_key: bool) -> Layout {
        let unwrapped =
            schema.fields().len() == 1 && (is_key || options.wrap_single_value == Some(false));
        Layout {
            schema,
            is_key,
            unwrapped,
        }
    }
}

/// The seam every format implements: batch decode and encode for one layout.
pub(crate) trait Codec: Send + Sync {
    /// See [`RecordDecoder::decode`]; error messages without the topic prefix.
    fn decode(&self, payloads: &[Option<&[u8]>]) -> DecodedBatch;
    /// See [`RecordEncoder::encode`]; `columns` already checked against the schema.
    fn encode(
        &self,
        columns: &[ArrayRef],
        num_rows: usize,
    ) -> Result<Vec<Option<Vec<u8>>>, FormatError>;
    /// See [`RecordEncoder::register_schema`]; formats without a registry
    /// have nothing to register.
    fn register_schema(&self) -> Result<(), FormatError> {
        Ok(())
    }
}

/// Zero columns (any format, including NONE): nothing to read or write.
struct IgnoreCodec;

impl Codec for IgnoreCodec {
    fn decode(&self, payloads: &[Option<&[u8]>]) -> DecodedBatch {
        DecodedBatch {
            columns: Vec::new(),
            status: vec![RowStatus::Ok; payloads.len()],
        }
    }

    fn encode(&self, _: &[ArrayRef], num_rows: usize) -> Result<Vec<Option<Vec<u8>>>, FormatError> {
        Ok(vec![None; num_rows])
    }
}

/// How [`registered_schema_columns`] reads columns from a registered schema.
#[derive(Debug, Clone, Copy, Default)]
pub struct Inference<'a> {
    /// Key columns: one column of the whole schema for AVRO and JSON_SR.
    pub is_key: bool,
    /// A value read as one column (`WRAP_SINGLE_VALUE=false`).
    pub unwrapped: bool,
    /// PROTOBUF: the message to read (`KEY_/VALUE_SCHEMA_FULL_NAME`), else the first.
    pub full_name: Option<&'a str>,
    /// Keep field names as the schema spells them (a source or sink given a
    /// `KEY_/VALUE_SCHEMA_ID` writes with that very schema) instead of
    /// upper-casing them as ksqlDB does for schemas it infers from a subject.
    pub keep_names: bool,
}

/// The columns a registered schema gives, as ksqlDB infers them for a CREATE
/// without columns: `references` are the files a Protobuf schema imports
/// (see [`schema_references`]).
pub fn registered_schema_columns(
    schema: &RegisteredSchema,
    references: &[(String, String)],
    how: &Inference<'_>,
) -> Result<arrow::datatypes::Schema, FormatError> {
    let upper = !how.keep_names;
    match schema.schema_type {
        SchemaType::Avro => avro::avro_columns(&schema.schema, how.is_key, how.unwrapped, upper),
        SchemaType::Json => json_sr::json_columns(
            &schema.schema,
            references,
            how.is_key,
            how.is_key || how.unwrapped,
            upper,
        ),
        SchemaType::Protobuf => {
            protobuf::protobuf_columns(&schema.schema, how.full_name, references, upper)
        }
    }
}

/// Settings of the schema formats beyond [`FormatOptions`], from the WITH
/// clause: set them with `with_schema_options` on [`RecordEncoder`] /
/// [`RecordDecoder`]. Build with `SchemaOptions::default()` and assign fields.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SchemaOptions {
    /// `KEY_SCHEMA_FULL_NAME` / `VALUE_SCHEMA_FULL_NAME` (or AVRO's
    /// `VALUE_AVRO_SCHEMA_FULL_NAME`): the name of the generated AVRO record or
    /// PROTOBUF message (`package.Message`), and for test inputs written with a
    /// registered Protobuf schema, the message to use.
    pub full_name: Option<String>,
    /// `KEY_/VALUE_PROTOBUF_NULLABLE_REPRESENTATION`, for PROTOBUF and
    /// PROTOBUF_NOSR.
    pub protobuf_nullable: ProtobufNullable,
    /// `KEY_/VALUE_SCHEMA_ID`: write with this registered schema (fields
    /// matched to the columns by name; fields without a column written as
    /// NULL) instead of registering a generated one. AVRO, JSON_SR, PROTOBUF.
    pub schema_id: Option<i32>,
}

/// Schema-format settings beyond [`FormatOptions`], set with `with_registry`
/// and `with_schema_options`.
#[derive(Clone, Default)]
struct SchemaSettings {
    binding: Option<registry::Binding>,
    options: SchemaOptions,
}

fn codec_for(
    kind: FormatKind,
    schema: &SchemaRef,
    options: &FormatOptions,
    is_key: bool,
    settings: &SchemaSettings,
) -> Result<Arc<dyn Codec>, FormatError> {
    check_schema(kind, schema, is_key, options)?;
    if schema.fields().is_empty() {
        return Ok(Arc::new(IgnoreCodec));
    }
    let mut layout = Layout::new(schema.clone(), options, is_key);
    layout.unwrapped &= kind.supports_unwrapping();
    let full_name = settings.options.full_name.as_deref();
    Ok(match kind {
        FormatKind::Json => Arc::new(json::JsonCodec::new(layout)),
        FormatKind::Delimited => Arc::new(delimited::DelimitedCodec::new(
            layout,
            parse_delimiter(options.delimiter.as_deref(), is_key)?,
        )),
        FormatKind::Kafka => Arc::new(kafka::KafkaCodec::new(layout)?),
        FormatKind::None => Arc::new(IgnoreCodec),
        FormatKind::Avro => Arc::new(avro::AvroCodec::new(
            layout,
            settings.binding.clone(),
            full_name,
            settings.options.schema_id,
        )?),
        FormatKind::JsonSr => Arc::new(json_sr::JsonSrCodec::new(
            layout,
            settings.binding.clone(),
            settings.options.schema_id,
        )),
        FormatKind::Protobuf | FormatKind::ProtobufNoSr => {
            let binding = (kind == FormatKind::Protobuf).then(|| settings.binding.clone());
            Arc::new(protobuf::ProtobufCodec::new(
                layout,
                binding,
                full_name,
                settings.options.protobuf_nullable,
                settings.options.schema_id,
            )?)
        }
    })
}

/// Everything a codec is built from, kept so `with_registry` can rebuild it.
#[derive(Clone)]
struct CodecSpec {
    kind: FormatKind,
    schema: SchemaRef,
    options: FormatOptions,
    is_key: bool,
    settings: SchemaSettings,
}

impl CodecSpec {
    fn build(&self) -> Result<Arc<dyn Codec>, FormatError> {
        codec_for(
            self.kind,
            &self.schema,
            &self.options,
            self.is_key,
            &self.settings,
        )
    }

    /// Rebuilds `codec` after a settings change. The spec was validated when
    /// the codec was first built, so this cannot fail for the formats we have;
    /// should it, the previous codec is kept.
    fn rebuild(&self, codec: &mut Arc<dyn Codec>) {
        if let Ok(rebuilt) = self.build() {
            *codec = rebuilt;
        }
    }

    fn bind(&mut self, registry: Arc<dyn SchemaRegistry>, topic: &str) {
        self.settings.binding = Some(registry::Binding {
            registry,
            subject: subject_name(topic, self.is_key),
        });
    }
}

/// Deserializes payloads of one side (key or value) of a source.
///
/// Built once per (format, schema, options, side); cheap to clone.
#[derive(Clone)]
pub struct RecordDecoder {
    spec: CodecSpec,
    topic: Option<String>,
    codec: Arc<dyn Codec>,
}

impl fmt::Debug for RecordDecoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordDecoder")
            .field("kind", &self.spec.kind)
            .field("schema", &self.spec.schema)
            .field("is_key", &self.spec.is_key)
            .field("topic", &self.topic)
            .field("registry", &self.spec.settings.binding.is_some())
            .finish()
    }
}

impl RecordDecoder {
    /// Validates the schema (as [`check_schema`]) and prepares a decoder.
    pub fn new(
        kind: FormatKind,
        schema: SchemaRef,
        options: &FormatOptions,
        is_key: bool,
    ) -> Result<Self, FormatError> {
        let spec = CodecSpec {
            kind,
            schema,
            options: options.clone(),
            is_key,
            settings: SchemaSettings::default(),
        };
        let codec = spec.build()?;
        Ok(RecordDecoder {
            spec,
            topic: None,
            codec,
        })
    }

    /// Attaches the schema registry of a schema format (AVRO, JSON_SR,
    /// PROTOBUF) and the topic whose subject (`<topic>-key` / `<topic>-value`)
    /// it reads. Other formats ignore it. Also names the topic in error
    /// messages unless [`RecordDecoder::with_topic`] already did.
    pub fn with_registry(mut self, registry: Arc<dyn SchemaRegistry>, topic: &str) -> Self {
        self.topic.get_or_insert_with(|| topic.to_string());
        self.spec.bind(registry, topic);
        self.spec.rebuild(&mut self.codec);
        self
    }

    /// Sets the schema-format options; PROTOBUF_NOSR reads with the schema they
    /// generate (the nullable representation decides which absent fields read
    /// as NULL). Other formats ignore them. Fails if the generated schema is
    /// invalid (e.g. a bad full name).
    pub fn with_schema_options(mut self, options: &SchemaOptions) -> Result<Self, FormatError> {
        self.spec.settings.options = options.clone();
        self.codec = self.spec.build()?;
        Ok(self)
    }

    /// Names the topic in error messages (`Failed to deserialize value from
    /// topic: <topic>. <reason>`); without it they read `Failed to deserialize
    /// value. <reason>`.
    pub fn with_topic(mut self, topic: impl Into<String>) -> Self {
        self.topic = Some(topic.into());
        self
    }

    /// The column list being decoded.
    pub fn schema(&self) -> &SchemaRef {
        &self.spec.schema
    }

    /// The format being decoded.
    pub fn kind(&self) -> FormatKind {
        self.spec.kind
    }

    /// Decodes many payloads into one column set. Output arrays contain only
    /// the rows whose status is [`RowStatus::Ok`]; `status` has one entry per
    /// payload.
    pub fn decode(&self, payloads: &[Option<&[u8]>]) -> DecodedBatch {
        let mut batch = self.codec.decode(payloads);
        let target = if self.spec.is_key { "key" } else { "value" };
        for status in &mut batch.status {
            if let RowStatus::Error(reason) = status {
                *reason = match &self.topic {
                    Some(topic) => {
                        format!("Failed to deserialize {target} from topic: {topic}. {reason}")
                    }
                    None => format!("Failed to deserialize {target}. {reason}"),
                };
            }
        }
        batch
    }
}

/// Serializes rows of one side (key or value) of a sink.
///
/// Built once per (format, schema, options, side); cheap to clone.
#[derive(Clone)]
pub struct RecordEncoder {
    spec: CodecSpec,
    codec: Arc<dyn Codec>,
}

impl fmt::Debug for RecordEncoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordEncoder")
            .field("kind", &self.spec.kind)
            .field("schema", &self.spec.schema)
            .field("registry", &self.spec.settings.binding.is_some())
            .finish()
    }
}

impl RecordEncoder {
    /// Validates the schema (as [`check_schema`]) and prepares an encoder.
    pub fn new(
        kind: FormatKind,
        schema: SchemaRef,
        options: &FormatOptions,
        is_key: bool,
    ) -> Result<Self, FormatError> {
        let spec = CodecSpec {
            kind,
            schema,
            options: options.clone(),
            is_key,
            settings: SchemaSettings::default(),
        };
        let codec = spec.build()?;
        Ok(RecordEncoder { spec, codec })
    }

    /// Attaches the schema registry of a schema format (AVRO, JSON_SR,
    /// PROTOBUF) and the topic whose subject (`<topic>-key` / `<topic>-value`)
    /// the generated schema is registered under. Other formats ignore it.
    pub fn with_registry(mut self, registry: Arc<dyn SchemaRegistry>, topic: &str) -> Self {
        self.spec.bind(registry, topic);
        self.spec.rebuild(&mut self.codec);
        self
    }

    /// Sets the full name of the record AVRO generates (ksqlDB's
    /// `VALUE_AVRO_SCHEMA_FULL_NAME` / `KEY_SCHEMA_FULL_NAME`; default
    /// `io.confluent.ksql.avro_schemas.KsqlDataSourceSchema`). ksqlDB names a
    /// sink's key schema `io.confluent.ksql.avro_schemas.<Sink>Key`, e.g.
    /// `OutputKey` for `OUTPUT`; the caller picks. Other formats ignore it.
    /// Fails if the name is not a valid Avro name. For PROTOBUF it names the
    /// generated message (`package.Message`; default `ConnectDefault1`).
    pub fn with_schema_full_name(mut self, full_name: &str) -> Result<Self, FormatError> {
        self.spec.settings.options.full_name = Some(full_name.to_string());
        self.codec = self.spec.build()?;
        Ok(self)
    }

    /// Sets the schema-format options: the generated schema's full name (as
    /// [`RecordEncoder::with_schema_full_name`]) and the Protobuf nullable
    /// representation. Other formats ignore them.
    pub fn with_schema_options(mut self, options: &SchemaOptions) -> Result<Self, FormatError> {
        self.spec.settings.options = options.clone();
        self.codec = self.spec.build()?;
        Ok(self)
    }

    /// Registers the schema this encoder writes with under its subject, if
    /// the subject has none yet, before anything is written (AVRO, JSON_SR,
    /// PROTOBUF with a registry; ksqlDB registers a declared source's schema
    /// when the statement runs).
    pub fn register_schema(&self) -> Result<(), FormatError> {
        self.codec.register_schema()
    }

    /// The column list being encoded.
    pub fn schema(&self) -> &SchemaRef {
        &self.spec.schema
    }

    /// The format being encoded.
    pub fn kind(&self) -> FormatKind {
        self.spec.kind
    }

    /// One payload per row of `columns` (same order and types as the schema;
    /// each at least `num_rows` long).
    ///
    /// A payload is `None` only when there is nothing to write: zero columns
    /// (and NONE), a NULL single KAFKA column, a NULL single (unwrapped)
    /// JSON key, or a NULL unwrapped AVRO/JSON_SR key or value (PROTOBUF rows
    /// are always a message). A NULL
    /// unwrapped JSON value is the text `null`; a NULL single DELIMITED column
    /// is an empty payload, as in ksqlDB.
    ///
    /// AVRO, JSON_SR and PROTOBUF need a registry ([`RecordEncoder::with_registry`]).
    pub fn encode(
        &self,
        columns: &[ArrayRef],
        num_rows: usize,
    ) -> Result<Vec<Option<Vec<u8>>>, FormatError> {
        let schema = &self.spec.schema;
        if columns.len() != schema.fields().len() {
            return Err(FormatError::Serialization(format!(
                "Expected {} columns to serialize, got {}",
                schema.fields().len(),
                columns.len()
            )));
        }
        if let Some((f, c)) = schema
            .fields()
            .iter()
            .zip(columns)
            .find(|(_, c)| c.len() < num_rows)
        {
            return Err(FormatError::Serialization(format!(
                "Column `{}` has {} rows, expected {num_rows}",
                f.name(),
                c.len()
            )));
        }
        self.codec.encode(columns, num_rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_kind_names() {
        assert_eq!(FormatKind::parse("json"), Ok(FormatKind::Json));
        assert_eq!(FormatKind::parse("Delimited"), Ok(FormatKind::Delimited));
        assert_eq!("KAFKA".parse::<FormatKind>(), Ok(FormatKind::Kafka));
        assert_eq!(FormatKind::parse("none"), Ok(FormatKind::None));
        assert_eq!(FormatKind::Json.to_string(), "JSON");
        assert_eq!(
            FormatKind::parse("foo").map_err(|e| e.to_string()),
            Err("Unknown format: FOO".to_string())
        );
        assert_eq!(FormatKind::parse("avro"), Ok(FormatKind::Avro));
        assert_eq!(FormatKind::parse("Json_Sr"), Ok(FormatKind::JsonSr));
        assert_eq!(FormatKind::JsonSr.to_string(), "JSON_SR");
        assert!(FormatKind::Avro.uses_schema_registry());
        assert_eq!(FormatKind::parse("protobuf"), Ok(FormatKind::Protobuf));
        assert_eq!(
            FormatKind::parse("Protobuf_NoSR"),
            Ok(FormatKind::ProtobufNoSr)
        );
        assert_eq!(FormatKind::ProtobufNoSr.to_string(), "PROTOBUF_NOSR");
        assert!(FormatKind::Protobuf.uses_schema_registry());
        assert!(!FormatKind::ProtobufNoSr.uses_schema_registry());
        assert!(!FormatKind::Protobuf.supports_unwrapping());
    }

    #[test]
    fn none_format_and_zero_columns() {
        let empty: SchemaRef = Arc::new(Schema::empty());
        let opts = FormatOptions::default();
        for kind in [FormatKind::None, FormatKind::Json, FormatKind::Delimited] {
            let d = RecordDecoder::new(kind, empty.clone(), &opts, true);
            let e = RecordEncoder::new(kind, empty.clone(), &opts, true);
            let (Ok(d), Ok(e)) = (d, e) else {
                panic!("{kind} with no columns")
            };
            let batch = d.decode(&[Some(b"ignored"), None]);
            assert_eq!(batch.status, vec![RowStatus::Ok, RowStatus::Ok]);
            assert!(batch.columns.is_empty());
            assert_eq!(e.encode(&[], 2), Ok(vec![None, None]));
        }
        let one: SchemaRef = Arc::new(Schema::new(vec![arrow::datatypes::Field::new(
            "FOO",
            arrow::datatypes::DataType::Int32,
            true,
        )]));
        let err = RecordDecoder::new(FormatKind::None, one, &opts, false).err();
        assert!(err.is_some_and(|e| e.to_string().ends_with(
            "The 'NONE' format can only be used when no columns are defined. Got: [`FOO` INTEGER]"
        )));
    }
}
