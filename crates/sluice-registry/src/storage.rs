//! The `_schemas` topic: every change to the registry is one record, shaped
//! like Confluent's so the topic reads the same to someone who knows theirs.
//!
//! * a subject version: key `{"keytype":"SCHEMA","subject":..,"version":..,"magic":1}`,
//!   value `{"subject","version","id","schemaType","schema","references","deleted"}`
//!   (a soft delete rewrites it with `"deleted":true`; a permanent delete is a
//!   tombstone);
//! * a compatibility level: key `{"keytype":"CONFIG","subject":..|null,"magic":0}`,
//!   value `{"compatibilityLevel":..}` (a deleted subject level is a tombstone).
//!
//! Other key types Confluent writes (`NOOP`, `DELETE_SUBJECT`, `MODE`, ...) are
//! skipped on replay.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sluice_formats::{RegisteredSchema, SchemaReference};

use crate::schema::ReferenceJson;
use sluice_log::{Log, LogError, Record, TopicSpec};

use crate::compat::CompatibilityLevel;
use crate::error::RegistryError;
use crate::schema::{parse_type, type_name};

/// The topic holding the registry's state.
pub const TOPIC: &str = "_schemas";

/// How many records one fetch reads while replaying.
const REPLAY_BATCH: usize = 1000;

/// One change to the registry's state.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Change {
    /// A subject version was written (or soft-deleted, or undeleted).
    Version {
        subject: String,
        version: i32,
        id: i32,
        schema: RegisteredSchema,
        deleted: bool,
    },
    /// A subject version was deleted permanently.
    VersionRemoved { subject: String, version: i32 },
    /// The global (`subject: None`) or a subject's level was set (`Some`) or
    /// removed (`None`).
    Config {
        subject: Option<String>,
        level: Option<CompatibilityLevel>,
    },
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SchemaRecord {
    subject: String,
    version: i32,
    id: i32,
    #[serde(default)]
    schema_type: Option<String>,
    schema: String,
    #[serde(default)]
    references: Vec<ReferenceJson>,
    #[serde(default)]
    deleted: bool,
}

fn encode(change: &Change) -> Result<(Vec<u8>, Option<Vec<u8>>), RegistryError> {
    let (key, value) = match change {
        Change::Version {
            subject,
            version,
            id,
            schema,
            deleted,
        } => {
            let record = SchemaRecord {
                subject: subject.clone(),
                version: *version,
                id: *id,
                schema_type: Some(type_name(schema.schema_type).to_string()),
                schema: schema.schema.clone(),
                references: schema.references.iter().map(ReferenceJson::from).collect(),
                deleted: *deleted,
            };
            let value =
                serde_json::to_value(record).map_err(|e| RegistryError::Store(e.to_string()))?;
            (
                json!({"keytype": "SCHEMA", "subject": subject, "version": version, "magic": 1}),
                Some(value),
            )
        }
        Change::VersionRemoved { subject, version } => (
            json!({"keytype": "SCHEMA", "subject": subject, "version": version, "magic": 1}),
            None,
        ),
        Change::Config { subject, level } => (
            json!({"keytype": "CONFIG", "subject": subject, "magic": 0}),
            level.map(|l| json!({"compatibilityLevel": l.name()})),
        ),
    };
    Ok((
        key.to_string().into_bytes(),
        value.map(|v| v.to_string().into_bytes()),
    ))
}

/// The change a record holds; `None` for key types the registry does not use.
fn decode(key: &[u8], value: Option<&[u8]>) -> Result<Option<Change>, RegistryError> {
    let bad = |what: &str, e: String| RegistryError::Store(format!("bad {what} in {TOPIC}: {e}"));
    let key: Value = serde_json::from_slice(key).map_err(|e| bad("key", e.to_string()))?;
    let subject = key.get("subject").and_then(Value::as_str).map(String::from);
    match key.get("keytype").and_then(Value::as_str) {
        Some("SCHEMA") => {
            let subject = subject.ok_or_else(|| bad("key", "no subject".into()))?;
            let version = key
                .get("version")
                .and_then(Value::as_i64)
                .and_then(|v| i32::try_from(v).ok())
                .ok_or_else(|| bad("key", "no version".into()))?;
            let Some(value) = value else {
                return Ok(Some(Change::VersionRemoved { subject, version }));
            };
            let r: SchemaRecord =
                serde_json::from_slice(value).map_err(|e| bad("value", e.to_string()))?;
            let schema_type = parse_type(r.schema_type.as_deref().unwrap_or("AVRO"))
                .map_err(|e| bad("value", e.to_string()))?;
            Ok(Some(Change::Version {
                subject,
                version,
                id: r.id,
                schema: RegisteredSchema {
                    schema_type,
                    schema: r.schema,
                    references: r
                        .references
                        .into_iter()
                        .map(SchemaReference::from)
                        .collect(),
                },
                deleted: r.deleted,
            }))
        }
        Some("CONFIG") => {
            let level = match value {
                None => None,
                Some(value) => {
                    let v: Value =
                        serde_json::from_slice(value).map_err(|e| bad("value", e.to_string()))?;
                    let name = v
                        .get("compatibilityLevel")
                        .and_then(Value::as_str)
                        .ok_or_else(|| bad("value", "no compatibilityLevel".into()))?;
                    Some(CompatibilityLevel::parse(name)?)
                }
            };
            Ok(Some(Change::Config { subject, level }))
        }
        _ => Ok(None),
    }
}

/// The registry's topic on a log.
pub(crate) struct Storage {
    log: Arc<dyn Log>,
}

impl Storage {
    /// Opens the topic, creating it if missing as Confluent creates `_schemas`:
    /// one partition (the order of changes is the log's) and compacted, so a
    /// Kafka cluster's time-based retention never drops a schema.
    pub(crate) fn open(log: Arc<dyn Log>) -> Result<Storage, RegistryError> {
        let spec = TopicSpec::new(TOPIC, 1).with_config("cleanup.policy", "compact");
        match log.create_topic(&spec) {
            Ok(()) | Err(LogError::TopicExists(_)) => Ok(Storage { log }),
            Err(e) => Err(e.into()),
        }
    }

    /// The changes from `offset` (or the first one still stored) to the end,
    /// oldest first, and the offset after them.
    pub(crate) fn read_from(&self, offset: i64) -> Result<(Vec<Change>, i64), RegistryError> {
        let description = self.log.describe_topic(TOPIC)?;
        let Some(partition) = description.partitions.first() else {
            return Ok((Vec::new(), offset));
        };
        let mut offset = offset.max(partition.start_offset);
        let mut changes = Vec::new();
        while offset < partition.end_offset {
            let records = self.log.fetch(TOPIC, partition.id, offset, REPLAY_BATCH)?;
            let Some(last) = records.last() else {
                break;
            };
            offset = last.offset + 1;
            for r in &records {
                let Some(key) = &r.record.key else {
                    continue;
                };
                changes.extend(decode(key, r.record.value.as_deref())?);
            }
        }
        Ok((changes, offset))
    }

    /// Appends changes (atomically: one produce call).
    pub(crate) fn write(&self, changes: &[Change]) -> Result<(), RegistryError> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or_default();
        let records = changes
            .iter()
            .map(|c| {
                let (key, value) = encode(c)?;
                Ok((Some(0), Record::new(Some(key), value, now)))
            })
            .collect::<Result<Vec<_>, RegistryError>>()?;
        self.log.produce(TOPIC, records)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_formats::SchemaType;

    #[test]
    fn records_round_trip() -> Result<(), RegistryError> {
        let mut schema = RegisteredSchema::new(SchemaType::Json, r#"{"type":"object"}"#);
        schema.references.push(SchemaReference {
            name: "other.json".into(),
            subject: "o".into(),
            version: 2,
        });
        let changes = [
            Change::Version {
                subject: "s".into(),
                version: 1,
                id: 7,
                schema,
                deleted: true,
            },
            Change::VersionRemoved {
                subject: "s".into(),
                version: 1,
            },
            Change::Config {
                subject: None,
                level: Some(CompatibilityLevel::Full),
            },
            Change::Config {
                subject: Some("s".into()),
                level: None,
            },
        ];
        for c in &changes {
            let (key, value) = encode(c)?;
            assert_eq!(decode(&key, value.as_deref())?.as_ref(), Some(c));
        }
        let (key, _) = encode(&changes[0])?;
        assert_eq!(
            String::from_utf8_lossy(&key),
            r#"{"keytype":"SCHEMA","subject":"s","version":1,"magic":1}"#
        );
        assert_eq!(decode(br#"{"keytype":"NOOP","magic":0}"#, None)?, None);
        Ok(())
    }
}
