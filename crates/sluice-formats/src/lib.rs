//! Record serde between log bytes and Arrow columns, matching ksqlDB's
//! `JSON`, `DELIMITED`, `KAFKA` and `NONE` formats.
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
//! * [`test_value_to_bytes`] / [`bytes_to_test_value`] convert between the
//!   JSON shapes of ksqlDB's QTT test files and payload bytes.
//!
//! # Wrapping
//! A key with exactly one column is written *unwrapped* (the bare value); a
//! value with one column is *wrapped* in an object (`{"COL": v}`) unless
//! `WRAP_SINGLE_VALUE=false`. Several columns are always an object (JSON) or a
//! field list (DELIMITED). DELIMITED and KAFKA have no wrapping. A column list
//! with no columns is ignored: decoding yields no columns and `Ok` rows,
//! encoding yields no payload (`None`). That is also all the `NONE` format does.
//!
//! # Adding a format
//! Each format implements the crate-internal `Codec` trait (batch decode and
//! encode over a resolved `Layout`), and hooks into [`FormatKind`],
//! [`check_schema`] (`validate.rs`) and the `codec_for` factory below. AVRO,
//! JSON_SR and PROTOBUF currently parse as names but report
//! [`FormatError::NotYetSupported`].

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use arrow::array::{new_empty_array, Array, ArrayRef};
use arrow::datatypes::{Schema, SchemaRef};

mod arrow_json;
mod builder;
mod delimited;
mod error;
mod json;
mod kafka;
mod qtt;
mod scalar;
mod types;
mod validate;

pub use arrow_json::{arrow_value_to_json, JsonCell};
pub use error::FormatError;
pub use qtt::{bytes_to_test_value, test_value_to_bytes};
pub use types::{column_list, sql_type_name};
pub use validate::{check_schema, parse_delimiter};

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
}

impl FormatKind {
    /// Parses a format name case-insensitively: `json` → [`FormatKind::Json`].
    /// Unknown names fail with `Unknown format: FOO`; ksqlDB formats Sluice
    /// does not implement yet fail with [`FormatError::NotYetSupported`].
    pub fn parse(name: &str) -> Result<FormatKind, FormatError> {
        let upper = name.trim().to_ascii_uppercase();
        match upper.as_str() {
            "JSON" => Ok(FormatKind::Json),
            "DELIMITED" => Ok(FormatKind::Delimited),
            "KAFKA" => Ok(FormatKind::Kafka),
            "NONE" => Ok(FormatKind::None),
            "AVRO" | "JSON_SR" | "PROTOBUF" | "PROTOBUF_NOSR" => {
                Err(FormatError::NotYetSupported(upper))
            }
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
        }
    }

    /// Whether a single-column value may be wrapped in an object
    /// (`WRAP_SINGLE_VALUE=true` is legal). DELIMITED and KAFKA are always unwrapped.
    pub fn supports_wrapping(self) -> bool {
        matches!(self, FormatKind::Json | FormatKind::None)
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
    fn new(schema: SchemaRef, options: &FormatOptions, is_key: bool) -> Layout {
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

fn codec_for(
    kind: FormatKind,
    schema: &SchemaRef,
    options: &FormatOptions,
    is_key: bool,
) -> Result<Arc<dyn Codec>, FormatError> {
    check_schema(kind, schema, is_key, options)?;
    if schema.fields().is_empty() {
        return Ok(Arc::new(IgnoreCodec));
    }
    let layout = Layout::new(schema.clone(), options, is_key);
    Ok(match kind {
        FormatKind::Json => Arc::new(json::JsonCodec::new(layout)),
        FormatKind::Delimited => Arc::new(delimited::DelimitedCodec::new(
            layout,
            parse_delimiter(options.delimiter.as_deref(), is_key)?,
        )),
        FormatKind::Kafka => Arc::new(kafka::KafkaCodec::new(layout)?),
        FormatKind::None => Arc::new(IgnoreCodec),
    })
}

/// Deserializes payloads of one side (key or value) of a source.
///
/// Built once per (format, schema, options, side); cheap to clone.
#[derive(Clone)]
pub struct RecordDecoder {
    kind: FormatKind,
    schema: SchemaRef,
    is_key: bool,
    topic: Option<String>,
    codec: Arc<dyn Codec>,
}

impl fmt::Debug for RecordDecoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordDecoder")
            .field("kind", &self.kind)
            .field("schema", &self.schema)
            .field("is_key", &self.is_key)
            .field("topic", &self.topic)
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
        let codec = codec_for(kind, &schema, options, is_key)?;
        Ok(RecordDecoder {
            kind,
            schema,
            is_key,
            topic: None,
            codec,
        })
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
        &self.schema
    }

    /// The format being decoded.
    pub fn kind(&self) -> FormatKind {
        self.kind
    }

    /// Decodes many payloads into one column set. Output arrays contain only
    /// the rows whose status is [`RowStatus::Ok`]; `status` has one entry per
    /// payload.
    pub fn decode(&self, payloads: &[Option<&[u8]>]) -> DecodedBatch {
        let mut batch = self.codec.decode(payloads);
        let target = if self.is_key { "key" } else { "value" };
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
    kind: FormatKind,
    schema: SchemaRef,
    codec: Arc<dyn Codec>,
}

impl fmt::Debug for RecordEncoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordEncoder")
            .field("kind", &self.kind)
            .field("schema", &self.schema)
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
        let codec = codec_for(kind, &schema, options, is_key)?;
        Ok(RecordEncoder {
            kind,
            schema,
            codec,
        })
    }

    /// The column list being encoded.
    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// The format being encoded.
    pub fn kind(&self) -> FormatKind {
        self.kind
    }

    /// One payload per row of `columns` (same order and types as the schema;
    /// each at least `num_rows` long).
    ///
    /// A payload is `None` only when there is nothing to write: zero columns
    /// (and NONE), a NULL single KAFKA column, or a NULL single (unwrapped)
    /// JSON key. A NULL unwrapped JSON value is the text `null`; a NULL single
    /// DELIMITED column is an empty payload, as in ksqlDB.
    pub fn encode(
        &self,
        columns: &[ArrayRef],
        num_rows: usize,
    ) -> Result<Vec<Option<Vec<u8>>>, FormatError> {
        if columns.len() != self.schema.fields().len() {
            return Err(FormatError::Serialization(format!(
                "Expected {} columns to serialize, got {}",
                self.schema.fields().len(),
                columns.len()
            )));
        }
        if let Some((f, c)) = self
            .schema
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
        assert!(matches!(
            FormatKind::parse("avro"),
            Err(FormatError::NotYetSupported(_))
        ));
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
