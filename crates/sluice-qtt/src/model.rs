//! ksqlDB's query-validation-test (QTT) file format, read leniently (`//` comments
//! are allowed, as Jackson's ALLOW_COMMENTS does for the upstream suite).

use serde::Deserialize;
use serde_json::{Map, Value};

#[derive(Debug, Clone, Deserialize)]
pub struct TestFile {
    #[serde(default)]
    pub tests: Vec<TestCase>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct TestCase {
    pub name: String,
    #[serde(default)]
    pub statements: Vec<String>,
    #[serde(default)]
    pub inputs: Vec<TestRecord>,
    #[serde(default)]
    pub outputs: Vec<TestRecord>,
    #[serde(rename = "expectedException")]
    pub expected_exception: Option<ExpectedException>,
    #[serde(default)]
    pub properties: Map<String, Value>,
    #[serde(default)]
    pub topics: Vec<TopicEntry>,
    #[serde(default)]
    pub format: Vec<String>,
    #[serde(default)]
    pub config: Vec<String>,
    pub versions: Option<Value>,
    pub enabled: Option<bool>,
    pub post: Option<PostConditions>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ExpectedException {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub message: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct TestRecord {
    pub topic: String,
    #[serde(default)]
    pub key: Value,
    #[serde(default)]
    pub value: Value,
    pub timestamp: Option<i64>,
    pub window: Option<Window>,
    pub headers: Option<Vec<TestHeader>>,
}

#[derive(Debug, Clone, Deserialize, serde::Serialize, PartialEq)]
pub struct Window {
    pub start: i64,
    pub end: i64,
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct TestHeader {
    #[serde(rename = "KEY")]
    pub key: String,
    /// base64
    #[serde(rename = "VALUE")]
    pub value: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct TopicEntry {
    pub name: String,
    #[serde(rename = "numPartitions", alias = "partitions")]
    pub partitions: Option<i32>,
    /// Schemas a producer registered for the topic (AVRO, JSON_SR, PROTOBUF).
    #[serde(rename = "keySchema")]
    pub key_schema: Option<Value>,
    #[serde(rename = "valueSchema")]
    pub value_schema: Option<Value>,
    #[serde(rename = "keyFormat")]
    pub key_format: Option<String>,
    #[serde(rename = "valueFormat")]
    pub value_format: Option<String>,
    /// Schemas the key or value schema imports (Protobuf files, JSON schemas),
    /// registered under their names.
    #[serde(rename = "keySchemaReferences", default)]
    pub key_schema_references: Vec<SchemaReferenceEntry>,
    #[serde(rename = "valueSchemaReferences", default)]
    pub value_schema_references: Vec<SchemaReferenceEntry>,
    /// The ids the key and value schemas are registered with, when fixed.
    #[serde(rename = "keySchemaId")]
    pub key_schema_id: Option<i32>,
    #[serde(rename = "valueSchemaId")]
    pub value_schema_id: Option<i32>,
}

/// One referenced schema of a `topics` entry.
#[derive(Debug, Clone, Deserialize)]
pub struct SchemaReferenceEntry {
    pub name: String,
    pub format: Option<String>,
    pub schema: Value,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct PostConditions {
    #[serde(default)]
    pub sources: Vec<PostSource>,
    pub topics: Option<PostTopics>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct PostSource {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub schema: Option<String>,
    /// `{"format": "KAFKA", ...}` or just `"KAFKA"`.
    #[serde(rename = "keyFormat")]
    pub key_format: Option<Value>,
    #[serde(rename = "valueFormat")]
    pub value_format: Option<Value>,
    #[serde(rename = "keyFeatures")]
    pub key_features: Option<Vec<String>>,
    #[serde(rename = "valueFeatures")]
    pub value_features: Option<Vec<String>>,
    #[serde(rename = "isSource")]
    pub is_source: Option<bool>,
}

/// The format name of a post-condition's `keyFormat` / `valueFormat`.
pub fn format_name(v: &Value) -> Option<&str> {
    match v {
        Value::String(s) => Some(s),
        Value::Object(o) => o.get("format").and_then(Value::as_str),
        _ => None,
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct PostTopics {
    #[serde(default)]
    pub topics: Vec<PostTopic>,
    /// No topic the case made may have a name this regular expression finds
    /// (ksqlDB's `topicBlackList`, matched as `Pattern.asPredicate` does).
    pub blacklist: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct PostTopic {
    pub name: String,
    pub partitions: Option<i32>,
    #[serde(rename = "keyFormat")]
    pub key_format: Option<Value>,
    #[serde(rename = "valueFormat")]
    pub value_format: Option<Value>,
    /// The schema registered for the topic's keys / values: an AVRO or
    /// JSON schema as JSON, a PROTOBUF schema as its text.
    #[serde(rename = "keySchema")]
    pub key_schema: Option<Value>,
    #[serde(rename = "valueSchema")]
    pub value_schema: Option<Value>,
}

impl TestCase {
    /// Disabled upstream, or only meant for old ksqlDB versions.
    pub fn skip_reason(&self) -> Option<&'static str> {
        if self.enabled == Some(false) {
            return Some("disabled upstream");
        }
        if self.versions.as_ref().and_then(|v| v.get("max")).is_some() {
            return Some("only for old versions");
        }
        None
    }

    /// ksqlDB expands a case into one variant per format and per config value,
    /// named `<name> - <FORMAT>` and `<name> - <config>`.
    pub fn variants(&self) -> Vec<Variant> {
        let mut out = vec![Variant {
            name: self.name.clone(),
            format: None,
        }];
        if !self.format.is_empty() {
            out = out
                .into_iter()
                .flat_map(|v| {
                    self.format.iter().map(move |f| Variant {
                        name: format!("{} - {f}", v.name),
                        format: Some(f.clone()),
                    })
                })
                .collect();
        }
        if !self.config.is_empty() {
            out = out
                .into_iter()
                .flat_map(|v| {
                    self.config.iter().map(move |c| Variant {
                        name: format!("{} - {c}", v.name),
                        format: v.format.clone(),
                    })
                })
                .collect();
        }
        out
    }
}

#[derive(Debug, Clone)]
pub struct Variant {
    pub name: String,
    pub format: Option<String>,
}

/// Parse a test file, dropping `//` comments outside strings.
pub fn parse_lenient(text: &str) -> Result<TestFile, serde_json::Error> {
    serde_json::from_str(&strip_comments(text))
}

/// JSON text without the `//` line comments ksqlDB's test files carry (those inside
/// strings are kept).
pub fn strip_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    let mut in_str = false;
    while let Some(c) = chars.next() {
        if in_str {
            out.push(c);
            if c == '\\' {
                if let Some(n) = chars.next() {
                    out.push(n);
                }
            } else if c == '"' {
                in_str = false;
            }
        } else if c == '"' {
            in_str = true;
            out.push(c);
        } else if c == '/' && chars.peek() == Some(&'/') {
            for n in chars.by_ref() {
                if n == '\n' {
                    out.push('\n');
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_are_dropped_and_variants_expand() {
        let f = parse_lenient(
            r#"{"tests": [ // a comment
              {"name": "n", "format": ["JSON", "AVRO"], "config": ["true"], "statements": ["x // not a comment"]}]}"#,
        )
        .unwrap();
        let t = &f.tests[0];
        assert_eq!(t.statements[0], "x // not a comment");
        let names: Vec<String> = t.variants().into_iter().map(|v| v.name).collect();
        assert_eq!(names, vec!["n - JSON - true", "n - AVRO - true"]);
    }
}
