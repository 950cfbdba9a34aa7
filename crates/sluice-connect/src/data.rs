//! Kafka Connect's data model: a record's key or value is a [`Value`] with a
//! [`Schema`] (or none: schemaless data), as converters and transforms see it.

use std::collections::BTreeMap;

/// Connect's schema types (`Schema.Type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchemaType {
    Int8,
    Int16,
    Int32,
    Int64,
    Float32,
    Float64,
    Boolean,
    String,
    Bytes,
    Array,
    Map,
    Struct,
}

impl SchemaType {
    /// The name JsonConverter writes (`int32`, `struct`, ...).
    pub fn name(self) -> &'static str {
        match self {
            SchemaType::Int8 => "int8",
            SchemaType::Int16 => "int16",
            SchemaType::Int32 => "int32",
            SchemaType::Int64 => "int64",
            SchemaType::Float32 => "float",
            SchemaType::Float64 => "double",
            SchemaType::Boolean => "boolean",
            SchemaType::String => "string",
            SchemaType::Bytes => "bytes",
            SchemaType::Array => "array",
            SchemaType::Map => "map",
            SchemaType::Struct => "struct",
        }
    }

    pub fn from_name(name: &str) -> Option<SchemaType> {
        Some(match name {
            "int8" => SchemaType::Int8,
            "int16" => SchemaType::Int16,
            "int32" => SchemaType::Int32,
            "int64" => SchemaType::Int64,
            "float" => SchemaType::Float32,
            "double" => SchemaType::Float64,
            "boolean" => SchemaType::Boolean,
            "string" => SchemaType::String,
            "bytes" => SchemaType::Bytes,
            "array" => SchemaType::Array,
            "map" => SchemaType::Map,
            "struct" => SchemaType::Struct,
            _ => return None,
        })
    }
}

/// Logical type names (`org.apache.kafka.connect.data.*`).
pub const DECIMAL: &str = "org.apache.kafka.connect.data.Decimal";
pub const DATE: &str = "org.apache.kafka.connect.data.Date";
pub const TIME: &str = "org.apache.kafka.connect.data.Time";
pub const TIMESTAMP: &str = "org.apache.kafka.connect.data.Timestamp";

/// A Connect schema.
#[derive(Debug, Clone, PartialEq)]
pub struct Schema {
    pub ty: SchemaType,
    pub optional: bool,
    /// A struct's name, or a logical type's (`DECIMAL`, ...).
    pub name: Option<String>,
    pub version: Option<i32>,
    /// `scale` of a DECIMAL, ...
    pub parameters: BTreeMap<String, String>,
    /// A struct's fields in order.
    pub fields: Vec<Field>,
    /// A map's key schema.
    pub key: Option<Box<Schema>>,
    /// An array's element or a map's value schema.
    pub value: Option<Box<Schema>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub name: String,
    pub schema: Schema,
}

impl Schema {
    pub fn of(ty: SchemaType) -> Schema {
        Schema {
            ty,
            optional: false,
            name: None,
            version: None,
            parameters: BTreeMap::new(),
            fields: Vec::new(),
            key: None,
            value: None,
        }
    }

    pub fn optional(mut self) -> Schema {
        self.optional = true;
        self
    }

    pub fn named(mut self, name: &str) -> Schema {
        self.name = Some(name.to_string());
        self
    }

    pub fn structure(fields: Vec<Field>) -> Schema {
        Schema {
            fields,
            ..Schema::of(SchemaType::Struct)
        }
    }

    pub fn array(element: Schema) -> Schema {
        Schema {
            value: Some(Box::new(element)),
            ..Schema::of(SchemaType::Array)
        }
    }

    pub fn map(key: Schema, value: Schema) -> Schema {
        Schema {
            key: Some(Box::new(key)),
            value: Some(Box::new(value)),
            ..Schema::of(SchemaType::Map)
        }
    }

    /// A DECIMAL of `scale` (bytes holding the unscaled value).
    pub fn decimal(scale: u32) -> Schema {
        let mut s = Schema::of(SchemaType::Bytes).named(DECIMAL);
        s.version = Some(1);
        s.parameters.insert("scale".into(), scale.to_string());
        s
    }

    /// The DECIMAL scale when this is one.
    pub fn decimal_scale(&self) -> Option<u32> {
        if self.name.as_deref() == Some(DECIMAL) {
            self.parameters.get("scale").and_then(|s| s.parse().ok())
        } else {
            None
        }
    }

    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }
}

impl Field {
    pub fn new(name: &str, schema: Schema) -> Field {
        Field {
            name: name.to_string(),
            schema,
        }
    }
}

/// A struct field's name: shared by every value of a batch (a source reads
/// many rows of one table), so building a row copies no names.
pub type Name = std::sync::Arc<str>;

/// A Connect value. Integers of every width are `Int`, floats `Float`; the
/// schema says which width. A DECIMAL is `Decimal` (unscaled value, scale).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Decimal(i128, u32),
    String(String),
    Bytes(Vec<u8>),
    Array(Vec<Value>),
    Map(Vec<(Value, Value)>),
    /// A struct's field values in its schema's order.
    Struct(Vec<(Name, Value)>),
}

impl Value {
    /// A struct's field.
    pub fn get(&self, name: &str) -> Option<&Value> {
        match self {
            Value::Struct(fields) => fields.iter().find(|(n, _)| &**n == name).map(|(_, v)| v),
            Value::Map(entries) => entries
                .iter()
                .find(|(k, _)| matches!(k, Value::String(s) if s == name))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The value as Java's `toString` shows it (StringConverter, datagen
    /// keys, FileStreamSink lines): a struct as `Struct{a=1,b=x}`.
    pub fn display(&self) -> String {
        match self {
            Value::Null => "null".into(),
            Value::Bool(b) => b.to_string(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => java_double(*f),
            Value::Decimal(unscaled, scale) => decimal_string(*unscaled, *scale),
            Value::String(s) => s.clone(),
            Value::Bytes(b) => format!("{b:?}"),
            Value::Array(items) => format!(
                "[{}]",
                items
                    .iter()
                    .map(Value::display)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Value::Map(entries) => format!(
                "{{{}}}",
                entries
                    .iter()
                    .map(|(k, v)| format!("{}={}", k.display(), v.display()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Value::Struct(fields) => format!(
                "Struct{{{}}}",
                fields
                    .iter()
                    .filter(|(_, v)| !v.is_null())
                    .map(|(n, v)| format!("{n}={}", v.display()))
                    .collect::<Vec<_>>()
                    .join(",")
            ),
        }
    }
}

/// A double as Java prints it (`1.0`, not `1`).
fn java_double(f: f64) -> String {
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e7 {
        format!("{f:.1}")
    } else {
        f.to_string()
    }
}

/// `unscaled * 10^-scale` in plain notation.
pub fn decimal_string(unscaled: i128, scale: u32) -> String {
    if scale == 0 {
        return unscaled.to_string();
    }
    let digits = unscaled.unsigned_abs().to_string();
    let scale = scale as usize;
    let padded = if digits.len() <= scale {
        format!("{}{digits}", "0".repeat(scale - digits.len() + 1))
    } else {
        digits
    };
    let (int, frac) = padded.split_at(padded.len() - scale);
    format!("{}{int}.{frac}", if unscaled < 0 { "-" } else { "" })
}

/// Parses a plain decimal text at `scale` (extra digits refused).
pub fn parse_decimal(text: &str, scale: u32) -> Option<i128> {
    let text = text.trim();
    let (neg, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if frac.len() > scale as usize || (int.is_empty() && frac.is_empty()) {
        return None;
    }
    let all = format!("{int}{frac}{}", "0".repeat(scale as usize - frac.len()));
    if !all.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let v: i128 = all.parse().ok()?;
    Some(if neg { -v } else { v })
}

/// A DECIMAL's unscaled value as Java's `BigInteger.toByteArray` (big-endian
/// two's complement, shortest form): how Connect carries it in bytes.
pub fn decimal_bytes(unscaled: i128) -> Vec<u8> {
    let (bytes, start) = decimal_be(unscaled);
    bytes[start..].to_vec()
}

/// [`decimal_bytes`] without allocating: the 16 big-endian bytes and where
/// the shortest two's-complement form starts in them.
pub fn decimal_be(unscaled: i128) -> ([u8; 16], usize) {
    let bytes = unscaled.to_be_bytes();
    let mut start = 0;
    while start < 15 {
        let (b, next) = (bytes[start], bytes[start + 1]);
        if (b == 0 && next & 0x80 == 0) || (b == 0xff && next & 0x80 != 0) {
            start += 1;
        } else {
            break;
        }
    }
    (bytes, start)
}

/// The inverse of [`decimal_bytes`].
pub fn decimal_from_bytes(bytes: &[u8]) -> Option<i128> {
    if bytes.is_empty() || bytes.len() > 16 {
        return None;
    }
    let fill = if bytes[0] & 0x80 != 0 { 0xff } else { 0 };
    let mut full = [fill; 16];
    full[16 - bytes.len()..].copy_from_slice(bytes);
    Some(i128::from_be_bytes(full))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_round_trip_through_text_and_bytes() {
        for (v, scale, text) in [(12345, 2, "123.45"), (-5, 3, "-0.005"), (7, 0, "7")] {
            assert_eq!(decimal_string(v, scale), text);
            assert_eq!(parse_decimal(text, scale), Some(v));
            assert_eq!(decimal_from_bytes(&decimal_bytes(v)), Some(v));
        }
        assert_eq!(decimal_bytes(128), vec![0, 128]);
        assert_eq!(decimal_bytes(-1), vec![0xff]);
        assert_eq!(parse_decimal("1.234", 2), None);
    }

    #[test]
    fn structs_display_as_java_does() {
        let v = Value::Struct(vec![
            ("id".into(), Value::Int(1)),
            ("name".into(), Value::String("x".into())),
            ("gone".into(), Value::Null),
        ]);
        assert_eq!(v.display(), "Struct{id=1,name=x}");
        assert_eq!(Value::Float(2.0).display(), "2.0");
    }
}
