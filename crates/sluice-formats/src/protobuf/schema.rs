//! Protobuf schemas: the `.proto` text Sluice generates for a column list (as
//! ksqlDB's `ProtobufSchemaTranslator` + Confluent's `ProtobufData` do),
//! parsing schema text (with its imports) into descriptors, message lookup by
//! Confluent message indexes, and inference of columns from a schema.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Fields, Schema, TimeUnit};
use prost_reflect::{FieldDescriptor, FileDescriptor, Kind, MessageDescriptor, Value};
use protox::file::{ChainFileResolver, File, FileResolver, GoogleFileResolver};

use super::ProtobufNullable;
use crate::types::map_entry_fields;
use crate::FormatError;

/// ksqlDB's (Connect's) name for unnamed messages: `ConnectDefault1`, `2`, ...
const DEFAULT_NAME: &str = "ConnectDefault";

pub(crate) const DECIMAL: &str = "confluent.type.Decimal";
pub(crate) const DATE: &str = "google.type.Date";
pub(crate) const TIME: &str = "google.type.TimeOfDay";
pub(crate) const TIMESTAMP: &str = "google.protobuf.Timestamp";
const FIELD_META: &str = "confluent.field_meta";

/// Files every schema may import beyond protobuf's well-known ones: the
/// logical types Connect uses, and Confluent's field metadata option.
const BUILTIN_FILES: [(&str, &str); 4] = [
    (
        "confluent/type/decimal.proto",
        "syntax = \"proto3\";\npackage confluent.type;\n\
         message Decimal { bytes value = 1; uint32 precision = 2; int32 scale = 3; }\n",
    ),
    (
        "confluent/meta.proto",
        "syntax = \"proto3\";\npackage confluent;\nimport \"google/protobuf/descriptor.proto\";\n\
         message Meta { string doc = 1; map<string, string> params = 2; repeated string tags = 3; }\n\
         extend google.protobuf.FileOptions { Meta file_meta = 1088; }\n\
         extend google.protobuf.MessageOptions { Meta message_meta = 1088; }\n\
         extend google.protobuf.FieldOptions { Meta field_meta = 1088; }\n\
         extend google.protobuf.EnumOptions { Meta enum_meta = 1088; }\n\
         extend google.protobuf.EnumValueOptions { Meta enum_value_meta = 1088; }\n",
    ),
    (
        "google/type/date.proto",
        "syntax = \"proto3\";\npackage google.type;\n\
         message Date { int32 year = 1; int32 month = 2; int32 day = 3; }\n",
    ),
    (
        "google/type/timeofday.proto",
        "syntax = \"proto3\";\npackage google.type;\n\
         message TimeOfDay { int32 hours = 1; int32 minutes = 2; int32 seconds = 3; int32 nanos = 4; }\n",
    ),
];

/// Name of the file being parsed, as imports see it.
const MAIN_FILE: &str = "schema.proto";

/// A parsed `.proto` file and everything it imports.
#[derive(Debug, Clone)]
pub(crate) struct ProtoSchema {
    pub(crate) file: FileDescriptor,
}

/// Serves the schema, its references and the built-in files to protox.
struct MemoryFiles {
    files: HashMap<String, String>,
}

impl FileResolver for MemoryFiles {
    fn open_file(&self, name: &str) -> Result<File, protox::Error> {
        match self.files.get(name) {
            Some(source) => File::from_source(name, source),
            None => Err(protox::Error::file_not_found(name)),
        }
    }
}

impl ProtoSchema {
    /// Parses schema text; `references` are the files it may import, by name.
    pub(crate) fn parse(
        text: &str,
        references: &[(String, String)],
    ) -> Result<ProtoSchema, String> {
        let mut files: HashMap<String, String> = BUILTIN_FILES
            .iter()
            .map(|(n, s)| (n.to_string(), s.to_string()))
            .collect();
        files.extend(references.iter().cloned());
        files.insert(MAIN_FILE.to_string(), text.to_string());
        let mut resolver = ChainFileResolver::new();
        resolver.add(MemoryFiles { files });
        resolver.add(GoogleFileResolver::new());
        let mut compiler = protox::Compiler::with_file_resolver(resolver);
        compiler.include_imports(true);
        let invalid = |e: protox::Error| format!("Invalid Protobuf schema: {e}");
        compiler.open_file(MAIN_FILE).map_err(invalid)?;
        let file = compiler
            .descriptor_pool()
            .get_file_by_name(MAIN_FILE)
            .ok_or_else(|| "Invalid Protobuf schema: no file".to_string())?;
        Ok(ProtoSchema { file })
    }

    /// The first message of the file (ksqlDB's choice without a full name).
    pub(crate) fn first_message(&self) -> Result<MessageDescriptor, String> {
        self.file
            .messages()
            .next()
            .ok_or_else(|| "Protobuf schema defines no message".to_string())
    }

    /// A message by full name (`pkg.Outer.Inner`), or by name relative to the
    /// file's package.
    pub(crate) fn message_named(&self, name: &str) -> Option<MessageDescriptor> {
        let pool = self.file.parent_pool();
        pool.get_message_by_name(name).or_else(|| {
            let package = self.file.package_name();
            (!package.is_empty())
                .then(|| pool.get_message_by_name(&format!("{package}.{name}")))
                .flatten()
        })
    }

    /// The message that Confluent's message indexes point at: the first
    /// index among the file's top-level messages, each next one among the
    /// previous message's nested messages.
    pub(crate) fn message_at(&self, indexes: &[i32]) -> Result<MessageDescriptor, String> {
        let missing = || format!("Invalid message indexes: {indexes:?}");
        let nth = |all: Vec<MessageDescriptor>, i: i32| {
            usize::try_from(i).ok().and_then(|i| all.into_iter().nth(i))
        };
        let (first, rest) = indexes.split_first().ok_or_else(missing)?;
        let mut message = nth(self.file.messages().collect(), *first).ok_or_else(missing)?;
        for i in rest {
            message = nth(message.child_messages().collect(), *i).ok_or_else(missing)?;
        }
        Ok(message)
    }
}

/// The message indexes of `message` within its file (see [`ProtoSchema::message_at`]).
pub(crate) fn indexes_of(message: &MessageDescriptor) -> Vec<i32> {
    let position = |all: Vec<MessageDescriptor>| {
        all.iter()
            .position(|m| m.full_name() == message.full_name())
            .map_or(0, |i| i as i32)
    };
    match message.parent_message() {
        Some(parent) => {
            let mut out = indexes_of(&parent);
            out.push(position(parent.child_messages().collect()));
            out
        }
        None => vec![position(message.parent_file().messages().collect())],
    }
}

// ---------------------------------------------------------------------------
// Generation
// ---------------------------------------------------------------------------

/// Builds the text of a generated schema.
struct Generator {
    nullable: ProtobufNullable,
    /// Index of the last `ConnectDefaultN` name handed out.
    counter: usize,
    imports: Vec<&'static str>,
}

/// A message being generated: its field lines and nested messages.
struct MessageText {
    name: String,
    fields: Vec<String>,
    nested: Vec<MessageText>,
}

impl MessageText {
    fn render(&self, indent: usize, out: &mut String) {
        let pad = "  ".repeat(indent);
        let _ = writeln!(out, "{pad}message {} {{", self.name);
        for f in &self.fields {
            let _ = writeln!(out, "{pad}  {f}");
        }
        for m in &self.nested {
            out.push('\n');
            m.render(indent + 1, out);
        }
        let _ = writeln!(out, "{pad}}}");
    }
}

/// The schema text for a column list, as ksqlDB generates it: `syntax =
/// "proto3"`, a package when `full_name` has a namespace, the imports of the
/// logical and wrapper types used, and one message (`full_name`'s last part,
/// default `ConnectDefault1`) with fields numbered 1..n in column order.
/// STRUCTs become nested messages named `ConnectDefault2`, `3`, ... in the
/// order met; MAPs become repeated `ConnectDefaultNEntry` messages with `key`
/// and `value` fields (Connect's shape, which allows ARRAY values).
pub(crate) fn generate(
    fields: &Fields,
    full_name: Option<&str>,
    nullable: ProtobufNullable,
) -> Result<String, FormatError> {
    let mut generator = Generator {
        nullable,
        counter: 0,
        imports: Vec::new(),
    };
    let (package, name) = match full_name.map(|n| n.rsplit_once('.').unwrap_or(("", n))) {
        Some((package, name)) => (package, name.to_string()),
        None => ("", generator.next_name()),
    };
    let root = generator.message(name, fields)?;
    let mut out = String::from("syntax = \"proto3\";\n");
    if !package.is_empty() {
        let _ = write!(out, "\npackage {package};\n");
    }
    if !generator.imports.is_empty() {
        out.push('\n');
        for i in &generator.imports {
            let _ = writeln!(out, "import \"{i}\";");
        }
    }
    out.push('\n');
    root.render(0, &mut out);
    Ok(out)
}

impl Generator {
    fn next_name(&mut self) -> String {
        self.counter += 1;
        format!("{DEFAULT_NAME}{}", self.counter)
    }

    fn import(&mut self, file: &'static str) {
        if !self.imports.contains(&file) {
            self.imports.push(file);
        }
    }

    fn message(&mut self, name: String, fields: &Fields) -> Result<MessageText, FormatError> {
        let mut message = MessageText {
            name,
            fields: Vec::new(),
            nested: Vec::new(),
        };
        for (i, f) in fields.iter().enumerate() {
            let line = self.field(&mut message, f.name(), f.data_type(), i + 1)?;
            message.fields.push(line);
        }
        Ok(message)
    }

    /// One field line (`int32 FOO = 1;`); nested messages go into `parent`.
    fn field(
        &mut self,
        parent: &mut MessageText,
        name: &str,
        data_type: &DataType,
        number: usize,
    ) -> Result<String, FormatError> {
        let (label, data_type) = match data_type {
            DataType::List(item) if matches!(item.data_type(), DataType::List(_)) => {
                return Err(FormatError::InvalidProperty(
                    "Array cannot be nested".to_string(),
                ))
            }
            DataType::List(item) => ("repeated ", item.data_type()),
            DataType::Map(_, _) => ("repeated ", data_type),
            other if self.nullable == ProtobufNullable::Optional && is_scalar(other) => {
                ("optional ", other)
            }
            other => ("", other),
        };
        let type_name = self.type_name(parent, data_type, true)?;
        let options = match data_type {
            DataType::Decimal128(p, s) => {
                self.import("confluent/meta.proto");
                format!(
                    " [({FIELD_META}) = {{ params: [ {{ key: \"precision\", value: \"{p}\" }}, \
                     {{ key: \"scale\", value: \"{s}\" }} ] }}]"
                )
            }
            _ => String::new(),
        };
        Ok(format!("{label}{type_name} {name} = {number}{options};"))
    }

    /// The type of a field holding `data_type`; scalars use wrapper messages
    /// when the representation is WRAPPER and `may_wrap`.
    fn type_name(
        &mut self,
        parent: &mut MessageText,
        data_type: &DataType,
        may_wrap: bool,
    ) -> Result<String, FormatError> {
        let wrapper = may_wrap && self.nullable == ProtobufNullable::Wrapper;
        let scalar = |plain: &str, wrapped: &str| {
            if wrapper {
                format!("google.protobuf.{wrapped}")
            } else {
                plain.to_string()
            }
        };
        if wrapper && is_scalar(data_type) {
            self.import("google/protobuf/wrappers.proto");
        }
        Ok(match data_type {
            DataType::Boolean => scalar("bool", "BoolValue"),
            DataType::Int32 => scalar("int32", "Int32Value"),
            DataType::Int64 => scalar("int64", "Int64Value"),
            DataType::Float64 => scalar("double", "DoubleValue"),
            DataType::Utf8 => scalar("string", "StringValue"),
            DataType::Binary => scalar("bytes", "BytesValue"),
            DataType::Decimal128(_, _) => {
                self.import("confluent/type/decimal.proto");
                DECIMAL.to_string()
            }
            DataType::Date32 => {
                self.import("google/type/date.proto");
                DATE.to_string()
            }
            DataType::Time32(_) => {
                self.import("google/type/timeofday.proto");
                TIME.to_string()
            }
            DataType::Timestamp(_, _) => {
                self.import("google/protobuf/timestamp.proto");
                TIMESTAMP.to_string()
            }
            DataType::Struct(fields) => {
                let name = self.next_name();
                let nested = self.message(name.clone(), fields)?;
                parent.nested.push(nested);
                name
            }
            DataType::Map(entries, _) => {
                let name = format!("{}Entry", self.next_name());
                let (k, v) = map_entry_fields(entries).ok_or_else(|| {
                    FormatError::InvalidProperty("Malformed MAP type".to_string())
                })?;
                let mut entry = MessageText {
                    name: name.clone(),
                    fields: Vec::new(),
                    nested: Vec::new(),
                };
                // Keys are never wrapped: map keys must be scalars.
                let key_type = self.type_name(&mut entry, k.data_type(), false)?;
                entry.fields.push(format!("{key_type} key = 1;"));
                let value = self.field(&mut entry, "value", v.data_type(), 2)?;
                entry.fields.push(value);
                parent.nested.push(entry);
                name
            }
            other => {
                return Err(FormatError::UnsupportedType {
                    column: String::new(),
                    data_type: format!("{other:?}"),
                })
            }
        })
    }
}

/// Types that map to a protobuf scalar (and so have no presence in proto3).
fn is_scalar(data_type: &DataType) -> bool {
    matches!(
        data_type,
        DataType::Boolean
            | DataType::Int32
            | DataType::Int64
            | DataType::Float64
            | DataType::Utf8
            | DataType::Binary
    )
}

// ---------------------------------------------------------------------------
// Inference
// ---------------------------------------------------------------------------

/// The columns a message describes, one per field (names upper-cased when
/// `upper`). Types map as Confluent's `ProtobufData` does for ksqlDB: bool →
/// BOOLEAN; int32/sint32/sfixed32 → INT; int64/uint32/uint64/sint64/fixed* →
/// BIGINT; float/double → DOUBLE; string/enum → STRING; bytes → BYTES;
/// `confluent.type.Decimal` → DECIMAL (precision/scale from the field's
/// `confluent.field_meta`), `google.type.Date` → DATE, `google.type.TimeOfDay`
/// → TIME, `google.protobuf.Timestamp` → TIMESTAMP, `google.protobuf.*Value`
/// wrappers → their primitive, repeated → ARRAY, map fields and repeated
/// `...Entry {key, value}` messages → MAP, other messages → STRUCT. Fields of
/// unsupported types (recursive messages, oneofs) are skipped.
pub(crate) fn message_columns(message: &MessageDescriptor, upper: bool) -> Vec<Field> {
    message_fields(message, upper, &mut Vec::new())
}

fn message_fields(message: &MessageDescriptor, upper: bool, seen: &mut Vec<String>) -> Vec<Field> {
    seen.push(message.full_name().to_string());
    let fields = message
        .fields()
        .filter(|f| f.containing_oneof().is_none_or(|o| o.is_synthetic()))
        .filter_map(|f| {
            let name = if upper {
                f.name().to_uppercase()
            } else {
                f.name().to_string()
            };
            field_type(&f, upper, seen).map(|t| Field::new(name, t, true))
        })
        .collect();
    seen.pop();
    fields
}

fn field_type(field: &FieldDescriptor, upper: bool, seen: &mut Vec<String>) -> Option<DataType> {
    if field.is_map() {
        let Kind::Message(entry) = field.kind() else {
            return None;
        };
        return map_type(&entry, upper, seen);
    }
    let single = kind_type(field, upper, seen)?;
    if !field.is_list() {
        return Some(single);
    }
    if let (Kind::Message(m), DataType::Map(_, _)) = (field.kind(), &single) {
        if is_entry(&m) {
            return Some(single);
        }
    }
    Some(DataType::List(Arc::new(Field::new("item", single, true))))
}

/// Connect's explicit map entries: a message `...Entry` with fields `key` and `value`.
pub(crate) fn is_entry(message: &MessageDescriptor) -> bool {
    let names: Vec<String> = message.fields().map(|f| f.name().to_string()).collect();
    message.is_map_entry() || (message.name().ends_with("Entry") && names == ["key", "value"])
}

fn map_type(entry: &MessageDescriptor, upper: bool, seen: &mut Vec<String>) -> Option<DataType> {
    let key = kind_type(&entry.get_field_by_name("key")?, upper, seen)?;
    let value = field_type(&entry.get_field_by_name("value")?, upper, seen)?;
    let entries = Fields::from(vec![
        Field::new("key", key, false),
        Field::new("value", value, true),
    ]);
    Some(DataType::Map(
        Arc::new(Field::new("entries", DataType::Struct(entries), false)),
        false,
    ))
}

fn kind_type(field: &FieldDescriptor, upper: bool, seen: &mut Vec<String>) -> Option<DataType> {
    Some(match field.kind() {
        Kind::Bool => DataType::Boolean,
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => DataType::Int32,
        Kind::Int64
        | Kind::Uint32
        | Kind::Uint64
        | Kind::Sint64
        | Kind::Fixed32
        | Kind::Fixed64
        | Kind::Sfixed64 => DataType::Int64,
        Kind::Float | Kind::Double => DataType::Float64,
        Kind::String | Kind::Enum(_) => DataType::Utf8,
        Kind::Bytes => DataType::Binary,
        Kind::Message(m) => match m.full_name() {
            DECIMAL => {
                let (p, s) = decimal_params(field);
                DataType::Decimal128(p, s)
            }
            DATE => DataType::Date32,
            TIME => DataType::Time32(TimeUnit::Millisecond),
            TIMESTAMP => DataType::Timestamp(TimeUnit::Millisecond, None),
            name if name.starts_with("google.protobuf.") && name.ends_with("Value") => {
                kind_type(&m.get_field_by_name("value")?, upper, seen)?
            }
            _ if is_entry(&m) => map_type(&m, upper, seen)?,
            name if seen.iter().any(|s| s == name) => return None,
            _ => DataType::Struct(Fields::from(message_fields(&m, upper, seen))),
        },
    })
}

/// A decimal field's precision and scale from its `confluent.field_meta`
/// params (default precision 38, scale 0).
fn decimal_params(field: &FieldDescriptor) -> (u8, i8) {
    let options = field.options();
    let pool = field.parent_pool();
    let param = |key: &str| -> Option<String> {
        let ext = pool.get_extension_by_name(FIELD_META)?;
        if !options.has_extension(&ext) {
            return None;
        }
        let meta = options.get_extension(&ext);
        let Value::Message(meta) = meta.as_ref() else {
            return None;
        };
        let params = meta.get_field_by_name("params")?;
        let Value::Map(map) = params.as_ref() else {
            return None;
        };
        map.get(&prost_reflect::MapKey::String(key.to_string()))
            .and_then(|v| v.as_str().map(str::to_string))
    };
    let precision = param("precision")
        .and_then(|p| p.parse::<u8>().ok())
        .filter(|p| (1..=38).contains(p))
        .unwrap_or(38);
    let scale = param("scale")
        .and_then(|s| s.parse::<i8>().ok())
        .filter(|s| *s >= 0 && *s as u8 <= precision)
        .unwrap_or(0);
    (precision, scale)
}

/// Infers the columns of a key or value from its registered Protobuf schema,
/// as ksqlDB does: one column per field of the schema's first message (or the
/// message named `full_name`), names upper-cased. Protobuf keys are messages
/// too, so keys infer the same way as values. See `message_columns` in the
/// module for the type mapping. `references` are the files the schema imports
/// (name, text).
pub(crate) fn infer(
    schema_text: &str,
    full_name: Option<&str>,
    references: &[(String, String)],
    upper: bool,
) -> Result<Schema, FormatError> {
    let parsed =
        ProtoSchema::parse(schema_text, references).map_err(FormatError::InvalidProperty)?;
    let message = match full_name {
        Some(name) => parsed.message_named(name).ok_or_else(|| {
            FormatError::InvalidProperty(format!(
                "Schema does not contain a message named {name}.\nschema: {schema_text}"
            ))
        })?,
        None => parsed
            .first_message()
            .map_err(FormatError::InvalidProperty)?,
    };
    let fields = message_columns(&message, upper);
    if fields.is_empty() {
        return Err(FormatError::InvalidProperty(format!(
            "Schema does not include any columns with types that ksqlDB supports.\n\
             schema: {schema_text}"
        )));
    }
    Ok(Schema::new(fields))
}
