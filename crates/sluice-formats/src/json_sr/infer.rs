//! Columns from a registered JSON Schema, as ksqlDB infers them for JSON_SR
//! sources (Connect's `JsonSchemaData`): the inverse of the schema `generate`
//! writes.
//!
//! `{"oneOf": [{"type": "null"}, T]}` is an optional T; `integer` is BIGINT
//! unless `connect.type` says int8/16/32 (INT); `number` is DOUBLE; `string` is
//! STRING, or BYTES with `connect.type: bytes`; logical types are recognised by
//! their Connect title (Decimal with its `connect.parameters`, Date, Time,
//! Timestamp); `array` is ARRAY of its items; an object with `properties` is a
//! STRUCT (fields in `connect.index` order), one with only
//! `additionalProperties` a MAP with STRING keys. Property names become
//! upper-case column and field names, as ksqlDB's JSON_SR sources have them.

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Fields, Schema, TimeUnit};
use serde_json::Value;

use crate::FormatError;

const ROWKEY: &str = "ROWKEY";
const ROWVAL: &str = "ROWVAL";

/// The columns a JSON Schema describes: an object's properties for a wrapped
/// value, else one column (`ROWKEY` for keys, `ROWVAL` for values) of the whole
/// schema's type.
pub fn json_schema_to_columns(
    schema_text: &str,
    is_key: bool,
    unwrapped: bool,
) -> Result<Schema, FormatError> {
    json_columns(schema_text, &[], is_key, unwrapped, true)
}

/// [`json_schema_to_columns`] for a schema importing `references` (name,
/// schema text: `$ref`s to `name` or `name#/pointer` resolve into them, `#/...`
/// into the document holding the reference), property names upper-cased only
/// if `upper`.
pub(crate) fn json_columns(
    schema_text: &str,
    references: &[(String, String)],
    is_key: bool,
    unwrapped: bool,
    upper: bool,
) -> Result<Schema, FormatError> {
    let invalid = |e: String| FormatError::InvalidProperty(format!("Invalid JSON schema: {e}"));
    let root: Value = serde_json::from_str(schema_text).map_err(|e| invalid(e.to_string()))?;
    let references = references
        .iter()
        .map(|(name, text)| {
            serde_json::from_str(text)
                .map(|doc| (name.clone(), doc))
                .map_err(|e| invalid(format!("referenced schema {name}: {e}")))
        })
        .collect::<Result<Vec<(String, Value)>, FormatError>>()?;
    let reader = Reader {
        references: &references,
        upper,
    };
    let (root, doc) = reader.non_null(&root, &root).map_err(invalid)?;
    if !is_key && !unwrapped {
        if let Some(fields) = reader.properties(root, doc).map_err(invalid)? {
            if fields.is_empty() {
                return Err(FormatError::InvalidProperty(format!(
                    "Schema does not include any columns with types that ksqlDB supports.\nschema: {schema_text}"
                )));
            }
            return Ok(Schema::new(fields));
        }
    }
    let data_type = reader.json_type(root, doc).map_err(invalid)?;
    let name = if is_key { ROWKEY } else { ROWVAL };
    Ok(Schema::new(vec![Field::new(name, data_type, true)]))
}

/// Reads types out of a schema and the documents it references.
struct Reader<'a> {
    references: &'a [(String, Value)],
    upper: bool,
}

impl<'a> Reader<'a> {
    /// `schema` with its `$ref`s followed, and the document it was found in.
    fn resolve(
        &self,
        mut schema: &'a Value,
        mut doc: &'a Value,
    ) -> Result<(&'a Value, &'a Value), String> {
        for _ in 0..64 {
            let Some(reference) = schema.get("$ref").and_then(Value::as_str) else {
                return Ok((schema, doc));
            };
            let (name, pointer) = reference.split_once('#').unwrap_or((reference, ""));
            if !name.is_empty() {
                doc = self
                    .references
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, d)| d)
                    .ok_or_else(|| format!("unresolved reference {reference}"))?;
            }
            schema = doc
                .pointer(pointer)
                .ok_or_else(|| format!("unresolved reference {reference}"))?;
        }
        Err("too many nested $ref".to_string())
    }

    /// The non-null member of `{"oneOf"|"anyOf": [{"type": "null"}, T]}`,
    /// references followed; else the schema itself.
    fn non_null(
        &self,
        schema: &'a Value,
        doc: &'a Value,
    ) -> Result<(&'a Value, &'a Value), String> {
        let (schema, doc) = self.resolve(schema, doc)?;
        for key in ["oneOf", "anyOf"] {
            if let Some(Value::Array(members)) = schema.get(key) {
                let mut rest = Vec::new();
                for member in members {
                    let (member, in_doc) = self.resolve(member, doc)?;
                    if member.get("type").and_then(Value::as_str) != Some("null") {
                        rest.push((member, in_doc));
                    }
                }
                if let [only] = rest.as_slice() {
                    return self.resolve(only.0, only.1);
                }
            }
        }
        Ok((schema, doc))
    }

    /// An object schema's properties as fields, or `None` for any other schema.
    fn properties(&self, schema: &'a Value, doc: &'a Value) -> Result<Option<Vec<Field>>, String> {
        let Some(Value::Object(props)) = schema.get("properties") else {
            return Ok(None);
        };
        let mut ordered: Vec<(i64, usize, &String, &Value)> = props
            .iter()
            .enumerate()
            .map(|(i, (name, s))| {
                let index = s
                    .get("connect.index")
                    .and_then(Value::as_i64)
                    .unwrap_or(i64::MAX);
                (index, i, name, s)
            })
            .collect();
        ordered.sort_by_key(|(index, i, _, _)| (*index, *i));
        ordered
            .into_iter()
            // Connect's JSON schema conversion upper-cases field names for ksqlDB
            .map(|(_, _, name, s)| {
                let (s, in_doc) = self.non_null(s, doc)?;
                Ok(Field::new(
                    if self.upper {
                        name.to_uppercase()
                    } else {
                        name.clone()
                    },
                    self.json_type(s, in_doc)?,
                    true,
                ))
            })
            .collect::<Result<Vec<_>, String>>()
            .map(Some)
    }

    fn json_type(&self, schema: &'a Value, doc: &'a Value) -> Result<DataType, String> {
        let connect_type = schema.get("connect.type").and_then(Value::as_str);
        let title = schema.get("title").and_then(Value::as_str).unwrap_or("");
        let logical = title.strip_prefix("org.apache.kafka.connect.data.");
        let kind = match schema.get("type") {
            Some(Value::String(t)) => t.as_str(),
            // an object schema may leave out "type"
            None if schema.get("properties").is_some() => "object",
            None if schema.get("additionalProperties").is_some() => "object",
            other => return Err(format!("unsupported schema type {other:?} in {schema}")),
        };
        Ok(match (kind, logical) {
            ("number", Some("Decimal")) => {
                let params = schema.get("connect.parameters");
                let param = |key: &str| {
                    params.and_then(|p| p.get(key)).and_then(|v| match v {
                        Value::String(s) => s.parse::<i64>().ok(),
                        other => other.as_i64(),
                    })
                };
                let scale = param("scale").unwrap_or(0);
                let precision = param("connect.decimal.precision").unwrap_or(38);
                DataType::Decimal128(precision as u8, scale as i8)
            }
            ("integer", Some("Date")) => DataType::Date32,
            ("integer", Some("Time")) => DataType::Time32(TimeUnit::Millisecond),
            ("integer", Some("Timestamp")) => DataType::Timestamp(TimeUnit::Millisecond, None),
            ("integer", _) => match connect_type {
                Some("int8" | "int16" | "int32") => DataType::Int32,
                _ => DataType::Int64,
            },
            ("number", _) => DataType::Float64,
            ("boolean", _) => DataType::Boolean,
            ("string", _) if connect_type == Some("bytes") => DataType::Binary,
            ("string", _) => DataType::Utf8,
            ("array", _) => {
                let items = schema
                    .get("items")
                    .ok_or_else(|| format!("array without items: {schema}"))?;
                DataType::List(Arc::new(Field::new(
                    "item",
                    {
                        let (items, in_doc) = self.non_null(items, doc)?;
                        self.json_type(items, in_doc)?
                    },
                    true,
                )))
            }
            ("object", _) => match self.properties(schema, doc)? {
                Some(fields) => DataType::Struct(Fields::from(fields)),
                None => {
                    let value = match schema.get("additionalProperties") {
                        Some(v @ Value::Object(_)) => {
                            let (v, in_doc) = self.non_null(v, doc)?;
                            self.json_type(v, in_doc)?
                        }
                        _ => DataType::Utf8,
                    };
                    let entries = Fields::from(vec![
                        Field::new("key", DataType::Utf8, false),
                        Field::new("value", value, true),
                    ]);
                    DataType::Map(
                        Arc::new(Field::new("entries", DataType::Struct(entries), false)),
                        false,
                    )
                }
            },
            (other, _) => return Err(format!("unsupported schema type '{other}'")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn columns(text: &str, is_key: bool, unwrapped: bool) -> Vec<(String, DataType)> {
        json_schema_to_columns(text, is_key, unwrapped)
            .unwrap()
            .fields()
            .iter()
            .map(|f| (f.name().clone(), f.data_type().clone()))
            .collect()
    }

    #[test]
    fn object_properties_become_columns_in_connect_index_order() {
        let text = r#"{"type":"object","properties":{
            "B":{"connect.index":1,"oneOf":[{"type":"null"},{"type":"string"}]},
            "A":{"connect.index":0,"oneOf":[{"type":"null"},{"type":"integer","connect.type":"int32"}]},
            "D":{"connect.index":2,"type":"number","title":"org.apache.kafka.connect.data.Decimal",
                 "connect.parameters":{"scale":"2","connect.decimal.precision":"4"}},
            "L":{"connect.index":3,"type":"array","items":{"type":"integer"}},
            "M":{"connect.index":4,"type":"object","additionalProperties":{"type":"boolean"}}}}"#;
        let got = columns(text, false, false);
        let names: Vec<&str> = got.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["A", "B", "D", "L", "M"]);
        assert_eq!(got[0].1, DataType::Int32);
        assert_eq!(got[1].1, DataType::Utf8);
        assert_eq!(got[2].1, DataType::Decimal128(4, 2));
        assert!(matches!(&got[3].1, DataType::List(f) if f.data_type() == &DataType::Int64));
        assert!(matches!(&got[4].1, DataType::Map(_, _)));
    }

    #[test]
    fn keys_and_unwrapped_values_are_one_column() {
        let int = r#"{"oneOf":[{"type":"null"},{"type":"integer","connect.type":"int32"}]}"#;
        assert_eq!(
            columns(int, true, true),
            [("ROWKEY".into(), DataType::Int32)]
        );
        assert_eq!(
            columns(int, false, true),
            [("ROWVAL".into(), DataType::Int32)]
        );
        let key = r#"{"type":"object","properties":{"f1":{"oneOf":[{"type":"null"},{"type":"string"}]}}}"#;
        let got = columns(key, true, true);
        assert_eq!(got[0].0, "ROWKEY");
        assert!(matches!(&got[0].1, DataType::Struct(f) if f[0].name() == "F1"));
    }

    #[test]
    fn bad_schemas_are_named() {
        let err = json_schema_to_columns("{not json", false, false).unwrap_err();
        assert!(err.to_string().contains("Invalid JSON schema"), "{err}");
        let err = json_schema_to_columns(r#"{"type":"wat"}"#, true, true).unwrap_err();
        assert!(
            err.to_string().contains("unsupported schema type 'wat'"),
            "{err}"
        );
    }

    #[test]
    fn references_resolve_locally_and_into_referenced_documents() {
        let main = r##"{"type":"object","properties":{
            "ORDER":{"connect.index":0,"$ref":"#/definitions/Order"},
            "BUYER":{"connect.index":1,"$ref":"customer.json"},
            "ADDRESS":{"connect.index":2,"$ref":"customer.json#/definitions/Address"}},
            "definitions":{"Order":{"type":"object","properties":{"ID":{"type":"integer"}}}}}"##;
        let customer = r##"{"type":"object","properties":{
            "NAME":{"type":"string"},"HOME":{"$ref":"#/definitions/Address"}},
            "definitions":{"Address":{"type":"object","properties":{"CITY":{"type":"string"}}}}}"##;
        let references = vec![("customer.json".to_string(), customer.to_string())];
        let columns = json_columns(main, &references, false, false, true).unwrap();
        let rendered = crate::column_list(&columns, false);
        assert_eq!(
            rendered,
            "[`ORDER` STRUCT<`ID` BIGINT>, `BUYER` STRUCT<`NAME` STRING, `HOME` STRUCT<`CITY` STRING>>, `ADDRESS` STRUCT<`CITY` STRING>]"
        );
        let missing = json_columns(main, &[], false, false, true).unwrap_err();
        assert!(
            missing
                .to_string()
                .contains("unresolved reference customer.json"),
            "{missing}"
        );
    }
}
