//! Compatibility levels and the rules that decide whether one schema can read
//! data written with another.
//!
//! Levels are Confluent's: BACKWARD means the new schema can read data written
//! with the old one, FORWARD that the old one can read data written with the
//! new one, FULL both; the transitive levels check against every live version,
//! the others against the newest only.
//!
//! Rules per type:
//! * AVRO: Avro's schema resolution (`apache_avro`'s `SchemaCompatibility`); a
//!   reader that can read only some writer values (missing enum symbols or
//!   union branches) is incompatible, as Confluent has it.
//! * JSON: a reader requiring a property the writer does not require, a
//!   property the writer declares but the reader does not (a removed property),
//!   and a property whose `type` the reader does not accept are incompatible;
//!   nested object properties and array `items` are compared the same way. This
//!   is stricter than Confluent's open-content-model rules for removals.
//! * PROTOBUF: a field number reused with another type or cardinality in a
//!   message both schemas define is incompatible, whatever the direction (wire
//!   data would be misread); adding and removing fields is compatible.

use std::collections::{BTreeMap, BTreeSet};

use apache_avro::schema_compatibility::{Compatibility, SchemaCompatibility};
use prost_reflect::{FieldDescriptor, FileDescriptor, Kind};
use serde_json::Value;

use crate::error::RegistryError;
use crate::schema::Parsed;

/// A subject's (or the global) compatibility level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CompatibilityLevel {
    None,
    #[default]
    Backward,
    BackwardTransitive,
    Forward,
    ForwardTransitive,
    Full,
    FullTransitive,
}

impl CompatibilityLevel {
    /// Parses Confluent's names, in any case.
    pub fn parse(name: &str) -> Result<Self, RegistryError> {
        use CompatibilityLevel::*;
        Ok(match name.trim().to_ascii_uppercase().as_str() {
            "NONE" => None,
            "BACKWARD" => Backward,
            "BACKWARD_TRANSITIVE" => BackwardTransitive,
            "FORWARD" => Forward,
            "FORWARD_TRANSITIVE" => ForwardTransitive,
            "FULL" => Full,
            "FULL_TRANSITIVE" => FullTransitive,
            _ => return Err(RegistryError::InvalidCompatibility(name.to_string())),
        })
    }

    pub fn name(self) -> &'static str {
        use CompatibilityLevel::*;
        match self {
            None => "NONE",
            Backward => "BACKWARD",
            BackwardTransitive => "BACKWARD_TRANSITIVE",
            Forward => "FORWARD",
            ForwardTransitive => "FORWARD_TRANSITIVE",
            Full => "FULL",
            FullTransitive => "FULL_TRANSITIVE",
        }
    }

    fn transitive(self) -> bool {
        use CompatibilityLevel::*;
        matches!(
            self,
            BackwardTransitive | ForwardTransitive | FullTransitive
        )
    }

    fn backward(self) -> bool {
        use CompatibilityLevel::*;
        matches!(self, Backward | BackwardTransitive | Full | FullTransitive)
    }

    fn forward(self) -> bool {
        use CompatibilityLevel::*;
        matches!(self, Forward | ForwardTransitive | Full | FullTransitive)
    }
}

/// Why `new` breaks `level` against `previous` (live versions, oldest first);
/// empty when it does not.
pub(crate) fn check(level: CompatibilityLevel, new: &Parsed, previous: &[Parsed]) -> Vec<String> {
    let against: &[Parsed] = if level.transitive() {
        previous
    } else {
        match previous.split_last() {
            Some((last, _)) => std::slice::from_ref(last),
            None => &[],
        }
    };
    let mut messages = Vec::new();
    for old in against {
        if level.backward() {
            if let Err(e) = can_read(old, new) {
                messages.push(format!(
                    "the new schema cannot read data written with an old one: {e}"
                ));
            }
        }
        if level.forward() {
            if let Err(e) = can_read(new, old) {
                messages.push(format!(
                    "an old schema cannot read data written with the new one: {e}"
                ));
            }
        }
    }
    messages
}

/// Whether data written with `writer` can be read with `reader`.
fn can_read(writer: &Parsed, reader: &Parsed) -> Result<(), String> {
    match (writer, reader) {
        (Parsed::Avro(w), Parsed::Avro(r)) => match SchemaCompatibility::can_read(w, r) {
            Ok(Compatibility::Full) => Ok(()),
            Ok(Compatibility::Partial) => Err(
                "the reader can read only some of the writer's values (enum symbols or union branches are missing)"
                    .to_string(),
            ),
            Err(e) => Err(e.to_string()),
        },
        (Parsed::Json(w), Parsed::Json(r)) => json_can_read(w, r, "#"),
        (Parsed::Protobuf(w), Parsed::Protobuf(r)) => protobuf_compatible(w, r),
        _ => Err("the schema type changed".to_string()),
    }
}

/// The `type` keyword as a set (absent: any type).
fn json_types(schema: &Value) -> Option<BTreeSet<String>> {
    match schema.get("type")? {
        Value::String(t) => Some(BTreeSet::from([t.clone()])),
        Value::Array(ts) => Some(
            ts.iter()
                .filter_map(|t| t.as_str().map(String::from))
                .collect(),
        ),
        _ => None,
    }
}

fn json_properties(schema: &Value) -> BTreeMap<&str, &Value> {
    schema
        .get("properties")
        .and_then(Value::as_object)
        .map(|p| p.iter().map(|(k, v)| (k.as_str(), v)).collect())
        .unwrap_or_default()
}

fn json_required(schema: &Value) -> BTreeSet<&str> {
    schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

fn json_can_read(writer: &Value, reader: &Value, path: &str) -> Result<(), String> {
    if let (Some(w), Some(r)) = (json_types(writer), json_types(reader)) {
        // an integer is a number
        let accepted = |t: &String| r.contains(t) || (t == "integer" && r.contains("number"));
        if let Some(t) = w.iter().find(|t| !accepted(t)) {
            return Err(format!("{path}: type '{t}' is no longer accepted"));
        }
    }
    let (wp, rp) = (json_properties(writer), json_properties(reader));
    let writer_required = json_required(writer);
    if let Some(p) = json_required(reader)
        .into_iter()
        .find(|p| !writer_required.contains(p))
    {
        return Err(format!(
            "{path}: property '{p}' is required but the writer may omit it"
        ));
    }
    for (name, w) in &wp {
        match rp.get(name) {
            None => return Err(format!("{path}: property '{name}' was removed")),
            Some(r) => json_can_read(w, r, &format!("{path}/properties/{name}"))?,
        }
    }
    if let (Some(w), Some(r)) = (writer.get("items"), reader.get("items")) {
        json_can_read(w, r, &format!("{path}/items"))?;
    }
    Ok(())
}

/// How a field is written on the wire, for comparison.
fn field_shape(field: &FieldDescriptor) -> String {
    let kind = match field.kind() {
        Kind::Message(m) => m.full_name().to_string(),
        Kind::Enum(e) => e.full_name().to_string(),
        other => format!("{other:?}").to_ascii_lowercase(),
    };
    let cardinality = if field.is_map() {
        "map"
    } else if field.is_list() {
        "repeated"
    } else {
        "single"
    };
    format!("{cardinality} {kind}")
}

fn protobuf_compatible(writer: &FileDescriptor, reader: &FileDescriptor) -> Result<(), String> {
    let pool = reader.parent_pool();
    for message in writer.parent_pool().all_messages() {
        let Some(other) = pool.get_message_by_name(message.full_name()) else {
            continue;
        };
        for field in message.fields() {
            if let Some(o) = other.get_field(field.number()) {
                let (was, is) = (field_shape(&field), field_shape(&o));
                if was != is {
                    return Err(format!(
                        "field {} of message {} changed from {was} to {is}",
                        field.number(),
                        message.full_name()
                    ));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::parse;
    use sluice_formats::{RegisteredSchema, SchemaType};
    use CompatibilityLevel::*;

    fn avro(text: &str) -> Parsed {
        parse(&RegisteredSchema::new(SchemaType::Avro, text), &[]).expect("avro")
    }

    fn record(fields: &str) -> Parsed {
        avro(&format!(
            r#"{{"type":"record","name":"R","fields":[{fields}]}}"#
        ))
    }

    const A: &str = r#"{"name":"a","type":"int"}"#;
    const B_DEFAULT: &str = r#"{"name":"b","type":"string","default":"x"}"#;
    const B: &str = r#"{"name":"b","type":"string"}"#;

    #[test]
    fn avro_levels() {
        let v1 = record(A);
        // a field with a default: readable both ways
        let with_default = record(&format!("{A},{B_DEFAULT}"));
        for level in [Backward, Forward, Full, FullTransitive, None] {
            assert!(check(level, &with_default, std::slice::from_ref(&v1)).is_empty());
        }
        // a new field without a default: the new schema cannot read old data
        let without_default = record(&format!("{A},{B}"));
        let previous = std::slice::from_ref(&v1);
        assert!(!check(Backward, &without_default, previous).is_empty());
        assert!(check(Forward, &without_default, previous).is_empty());
        assert!(!check(Full, &without_default, previous).is_empty());
        assert!(check(None, &without_default, previous).is_empty());
        // removing a field without default: old readers break
        let removed = record(r#"{"name":"c","type":"int","default":0}"#);
        assert!(!check(Forward, &removed, previous).is_empty());
        assert!(check(Backward, &removed, previous).is_empty());
    }

    #[test]
    fn transitive_levels_check_every_version() {
        let v1 = record(A);
        let v2 = record(&format!("{A},{B_DEFAULT}"));
        // v3 requires b without a default: it reads v2 data, not v1 data
        let v3 = record(&format!("{A},{B}"));
        let history = [v1, v2];
        assert!(check(Backward, &v3, &history).is_empty());
        assert!(!check(BackwardTransitive, &v3, &history).is_empty());
        assert!(check(ForwardTransitive, &v3, &history).is_empty());
        assert!(!check(FullTransitive, &v3, &history).is_empty());
    }

    #[test]
    fn json_rules() {
        let json = |t: &str| parse(&RegisteredSchema::new(SchemaType::Json, t), &[]).expect("json");
        let v1 = json(r#"{"type":"object","properties":{"a":{"type":"integer"}}}"#);
        let optional_b = json(
            r#"{"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"string"}}}"#,
        );
        let required_b = json(
            r#"{"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"string"}},"required":["b"]}"#,
        );
        let a_string = json(r#"{"type":"object","properties":{"a":{"type":"string"}}}"#);
        let a_number = json(r#"{"type":"object","properties":{"a":{"type":"number"}}}"#);
        let previous = std::slice::from_ref(&v1);
        assert!(check(Backward, &optional_b, previous).is_empty());
        assert!(!check(Forward, &optional_b, previous).is_empty());
        assert!(!check(Backward, &required_b, previous).is_empty());
        assert!(!check(Backward, &a_string, previous).is_empty());
        assert!(check(Backward, &a_number, previous).is_empty());
        assert!(!check(Forward, &a_number, previous).is_empty());
    }

    #[test]
    fn protobuf_field_numbers() {
        let proto =
            |t: &str| parse(&RegisteredSchema::new(SchemaType::Protobuf, t), &[]).expect("proto");
        let v1 = proto("syntax = \"proto3\"; message M { int32 a = 1; }");
        let added = proto("syntax = \"proto3\"; message M { int32 a = 1; string b = 2; }");
        let retyped = proto("syntax = \"proto3\"; message M { string a = 1; }");
        let repeated = proto("syntax = \"proto3\"; message M { repeated int32 a = 1; }");
        let previous = std::slice::from_ref(&v1);
        assert!(check(FullTransitive, &added, previous).is_empty());
        assert!(!check(Backward, &retyped, previous).is_empty());
        assert!(!check(Forward, &repeated, previous).is_empty());
        assert!(CompatibilityLevel::parse("full_transitive").is_ok());
        assert!(CompatibilityLevel::parse("sideways").is_err());
    }
}
