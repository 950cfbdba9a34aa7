//! Schema text as the registry sees it: validated, normalized and parsed for
//! compatibility checks.

use apache_avro::Schema as AvroSchema;
use prost_reflect::FileDescriptor;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sluice_formats::{RegisteredSchema, SchemaReference, SchemaType};

use crate::error::RegistryError;

/// A schema parsed for comparison with another of the same type.
#[derive(Debug)]
pub(crate) enum Parsed {
    Avro(AvroSchema),
    Json(Value),
    Protobuf(FileDescriptor),
}

/// A schema reference as Confluent writes it in requests, responses and the
/// `_schemas` topic: `{"name", "subject", "version"}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReferenceJson {
    pub name: String,
    pub subject: String,
    pub version: i32,
}

impl From<ReferenceJson> for SchemaReference {
    fn from(r: ReferenceJson) -> Self {
        SchemaReference {
            name: r.name,
            subject: r.subject,
            version: r.version,
        }
    }
}

impl From<&SchemaReference> for ReferenceJson {
    fn from(r: &SchemaReference) -> Self {
        ReferenceJson {
            name: r.name.clone(),
            subject: r.subject.clone(),
            version: r.version,
        }
    }
}

/// Confluent's `schemaType` name (`AVRO` when absent).
pub fn type_name(t: SchemaType) -> &'static str {
    t.name()
}

/// The type named by a request's `schemaType`.
pub fn parse_type(name: &str) -> Result<SchemaType, RegistryError> {
    match name.to_ascii_uppercase().as_str() {
        "AVRO" => Ok(SchemaType::Avro),
        "JSON" => Ok(SchemaType::Json),
        "PROTOBUF" => Ok(SchemaType::Protobuf),
        other => Err(RegistryError::InvalidSchema(format!(
            "unknown schema type '{other}'"
        ))),
    }
}

/// The text the registry stores for a schema. AVRO and JSON schemas are
/// stored as compact JSON, so the same schema written with other whitespace
/// gets the same id (Confluent stores Avro's canonical string likewise);
/// Protobuf text is kept as given.
pub(crate) fn normalized_text(
    schema_type: SchemaType,
    text: &str,
) -> Result<String, RegistryError> {
    match schema_type {
        SchemaType::Avro | SchemaType::Json => serde_json::from_str::<Value>(text)
            .map(|v| v.to_string())
            .map_err(|e| RegistryError::InvalidSchema(format!("not JSON: {e}"))),
        SchemaType::Protobuf => Ok(text.to_string()),
    }
}

/// Parses `schema`; `references` are the texts of the schemas it refers to,
/// by the name it refers to them with (transitively resolved by the caller).
pub(crate) fn parse(
    schema: &RegisteredSchema,
    references: &[(String, String)],
) -> Result<Parsed, RegistryError> {
    match schema.schema_type {
        SchemaType::Avro => {
            let parsed = if references.is_empty() {
                AvroSchema::parse_str(&schema.schema)
            } else {
                AvroSchema::parse_str_with_list(
                    &schema.schema,
                    references.iter().map(|(_, text)| text.as_str()),
                )
                .map(|(schema, _)| schema)
            };
            parsed
                .map(Parsed::Avro)
                .map_err(|e| RegistryError::InvalidSchema(e.to_string()))
        }
        SchemaType::Json => {
            let value: Value = serde_json::from_str(&schema.schema)
                .map_err(|e| RegistryError::InvalidSchema(format!("not JSON: {e}")))?;
            // a JSON Schema is an object or a boolean (draft 6 on)
            if value.is_object() || value.is_boolean() {
                Ok(Parsed::Json(value))
            } else {
                Err(RegistryError::InvalidSchema(
                    "a JSON Schema must be an object or a boolean".to_string(),
                ))
            }
        }
        SchemaType::Protobuf => sluice_formats::parse_protobuf_file(&schema.schema, references)
            .map(Parsed::Protobuf)
            .map_err(|e| RegistryError::InvalidSchema(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_schemas_are_refused() {
        let avro = |t: &str| parse(&RegisteredSchema::new(SchemaType::Avro, t), &[]);
        assert!(avro(r#"{"type":"record","name":"R","fields":[]}"#).is_ok());
        assert!(matches!(
            avro(r#"{"type":"nope"}"#),
            Err(RegistryError::InvalidSchema(_))
        ));
        let json = |t: &str| parse(&RegisteredSchema::new(SchemaType::Json, t), &[]);
        assert!(json(r#"{"type":"object"}"#).is_ok());
        assert!(json("[1]").is_err());
        assert!(json("{").is_err());
        let proto = |t: &str| parse(&RegisteredSchema::new(SchemaType::Protobuf, t), &[]);
        assert!(proto("syntax = \"proto3\"; message M { int32 a = 1; }").is_ok());
        assert!(proto("message {").is_err());
        assert_eq!(
            normalized_text(SchemaType::Avro, "{ \"type\" : \"int\" }").ok(),
            Some(r#"{"type":"int"}"#.to_string())
        );
        assert!(parse_type("xml").is_err());
    }
}
