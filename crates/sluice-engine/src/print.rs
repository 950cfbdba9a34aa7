//! `PRINT topic [FROM BEGINNING] [INTERVAL n] [LIMIT n]`: a topic's records as
//! text, with their formats detected as ksqlDB's PRINT does.
//!
//! Every key and value narrows the formats the topic's keys (or values) could be
//! in: schema-registry framing with a registered id (AVRO, PROTOBUF, JSON_SR),
//! KAFKA_INT (4 bytes), KAFKA_BIGINT and KAFKA_DOUBLE (8 bytes), JSON, and
//! KAFKA_STRING (UTF-8 text without control characters); bytes that are none
//! of these are UNRECOGNIZED_BYTES.
//! The first records print the formats still possible ("JSON or KAFKA_STRING"),
//! and each record is rendered in the first of them.

use std::sync::Arc;

use base64::Engine as _;
use chrono::{TimeZone, Utc};
use serde_json::Value;
use sluice_formats::{bytes_to_json_with_registry, FormatKind, SchemaRegistry, SchemaType};
use sluice_log::StoredRecord;
use sluice_sql::Statement;

use crate::engine::Engine;
use crate::error::{EngineError, Result};
use crate::lifecycle::POLL_BATCH;

const CANDIDATES: &[&str] = &[
    "AVRO",
    "PROTOBUF",
    "JSON_SR",
    "KAFKA_INT",
    "KAFKA_BIGINT",
    "KAFKA_DOUBLE",
    "JSON",
    "KAFKA_STRING",
];
const UNRECOGNIZED: &str = "UNRECOGNIZED_BYTES";

/// A running PRINT. Poll it through [`Engine::poll_print`].
pub struct PrintCursor {
    pub topic: String,
    positions: Vec<i64>,
    interval: u64,
    limit: Option<u64>,
    seen: u64,
    printed: u64,
    keys: Vec<&'static str>,
    values: Vec<&'static str>,
    header_done: bool,
}

impl PrintCursor {
    /// True once LIMIT records were printed.
    pub fn is_done(&self) -> bool {
        self.limit.is_some_and(|l| self.printed >= l)
    }
}

impl Engine {
    /// Start a PRINT from its SQL text.
    pub fn start_print(&mut self, sql: &str) -> Result<PrintCursor> {
        let mut parsed = sluice_sql::parse(sql)?;
        match parsed.pop().map(|s| s.statement) {
            Some(Statement::Print {
                topic,
                from_beginning,
                interval,
                limit,
            }) if parsed.is_empty() => {
                let topic = self.topic_name(&topic)?;
                if !self.log.topic_exists(&topic)? {
                    return Err(EngineError::statement(format!(
                        "Could not find topic '{topic}', or the KSQL user does not have permissions to list the topic. Topic names are case-sensitive."
                    )));
                }
                let d = self.log.describe_topic(&topic)?;
                let positions = d
                    .partitions
                    .iter()
                    .map(|p| {
                        if from_beginning {
                            p.start_offset
                        } else {
                            p.end_offset
                        }
                    })
                    .collect();
                Ok(PrintCursor {
                    topic,
                    positions,
                    interval: interval.unwrap_or(1).max(1),
                    limit,
                    seen: 0,
                    printed: 0,
                    keys: CANDIDATES.to_vec(),
                    values: CANDIDATES.to_vec(),
                    header_done: false,
                })
            }
            _ => Err(EngineError::statement(
                "Expected exactly one PRINT statement",
            )),
        }
    }

    /// The lines for the records that arrived since the last poll (the format
    /// lines first, once there is a record to tell them from).
    pub fn poll_print(&mut self, c: &mut PrintCursor) -> Result<Vec<String>> {
        if self.runs_inline() {
            self.run_until_idle()?;
        }
        let mut records: Vec<StoredRecord> = Vec::new();
        for p in 0..c.positions.len() {
            let got = sluice_log::fetch_stored(
                self.log.as_ref(),
                &c.topic,
                p as i32,
                c.positions[p],
                POLL_BATCH,
            )?;
            if let Some(last) = got.last() {
                c.positions[p] = last.offset + 1;
            }
            records.extend(got);
        }
        let mut lines = Vec::new();
        for r in records {
            if c.is_done() {
                break;
            }
            narrow(&mut c.keys, r.record.key.as_deref(), &self.registry);
            narrow(&mut c.values, r.record.value.as_deref(), &self.registry);
            c.seen += 1;
            if !(c.seen - 1).is_multiple_of(c.interval) {
                continue;
            }
            if !c.header_done {
                lines.push(format!("Key format: {}", formats(&c.keys)));
                lines.push(format!("Value format: {}", formats(&c.values)));
                c.header_done = true;
            }
            let key = render(
                &c.keys,
                r.record.key.as_deref(),
                &self.registry,
                &c.topic,
                true,
            );
            let value = render(
                &c.values,
                r.record.value.as_deref(),
                &self.registry,
                &c.topic,
                false,
            );
            let rowtime = Utc
                .timestamp_millis_opt(r.record.timestamp)
                .single()
                .map_or_else(
                    || "N/A".into(),
                    |t| t.format("%Y/%m/%d %H:%M:%S%.3f Z").to_string(),
                );
            lines.push(format!(
                "rowtime: {rowtime}, key: {key}, value: {value}, partition: {}",
                r.partition
            ));
            c.printed += 1;
        }
        Ok(lines)
    }
}

fn formats(candidates: &[&str]) -> String {
    match candidates {
        [] => UNRECOGNIZED.to_string(),
        c => c.join(" or "),
    }
}

/// The schema type behind a registry-framed payload, if its id is registered.
fn framed(bytes: &[u8], registry: &Arc<dyn SchemaRegistry>) -> Option<&'static str> {
    if bytes.len() < 5 || bytes[0] != 0 {
        return None;
    }
    let id = i32::from_be_bytes([bytes[1], bytes[2], bytes[3], bytes[4]]);
    Some(match registry.schema_by_id(id).ok()?.schema_type {
        SchemaType::Avro => "AVRO",
        SchemaType::Protobuf => "PROTOBUF",
        SchemaType::Json => "JSON_SR",
    })
}

/// Drop the formats `bytes` cannot be in (a missing payload says nothing).
fn narrow(
    candidates: &mut Vec<&'static str>,
    bytes: Option<&[u8]>,
    registry: &Arc<dyn SchemaRegistry>,
) {
    let Some(b) = bytes else { return };
    // registry framing with a registered id is that schema's format
    if let Some(schema) = framed(b, registry) {
        candidates.retain(|f| *f == schema);
        return;
    }
    candidates.retain(|f| match *f {
        "AVRO" | "PROTOBUF" | "JSON_SR" => false,
        "KAFKA_INT" => b.len() == 4,
        "KAFKA_BIGINT" | "KAFKA_DOUBLE" => b.len() == 8,
        "JSON" => serde_json::from_slice::<Value>(b).is_ok(),
        // text, not binary that happens to be valid UTF-8
        _ => std::str::from_utf8(b).is_ok_and(|t| {
            !t.chars()
                .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
        }),
    });
}

/// A payload as text in the first format still possible.
fn render(
    candidates: &[&str],
    bytes: Option<&[u8]>,
    registry: &Arc<dyn SchemaRegistry>,
    topic: &str,
    is_key: bool,
) -> String {
    let Some(b) = bytes else {
        return "<null>".into();
    };
    let text = || String::from_utf8_lossy(b).into_owned();
    match candidates.first().copied() {
        Some(f @ ("AVRO" | "PROTOBUF" | "JSON_SR")) => {
            let kind = FormatKind::parse(f).unwrap_or(FormatKind::Json);
            let schema = arrow::datatypes::Schema::empty();
            let v = bytes_to_json_with_registry(
                kind,
                &schema,
                &Default::default(),
                is_key,
                Some(b),
                Some((registry, topic)),
            );
            v.to_string()
        }
        Some("KAFKA_INT") => i32::from_be_bytes([b[0], b[1], b[2], b[3]]).to_string(),
        Some("KAFKA_BIGINT") => i64::from_be_bytes(b.try_into().unwrap_or_default()).to_string(),
        Some("KAFKA_DOUBLE") => f64::from_be_bytes(b.try_into().unwrap_or_default()).to_string(),
        Some(_) => text(),
        None => base64::engine::general_purpose::STANDARD.encode(b),
    }
}
