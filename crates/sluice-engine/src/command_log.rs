//! The command log: every accepted statement that changes what the engine runs
//! (CREATE, CREATE ... AS SELECT, INSERT INTO ... SELECT, DROP, TERMINATE, types) is
//! appended before the next statement runs, and replayed at startup, so streams,
//! tables and persistent queries survive a restart: ksqlDB's command topic, kept as a
//! file in the data directory on the embedded log, or as the topic
//! `_sluice-<ksql.service.id>_command_topic` on Kafka. Persistent queries resume
//! after their committed offsets; stateful ones rebuild their state first (see
//! `QueryTask::start`).

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sluice_log::{Log, LogError, Record, TopicSpec};

use crate::error::{EngineError, Result};

/// One logged statement with the session properties it ran under.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Command {
    pub sql: String,
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
}

pub enum CommandLog {
    /// JSON lines in a file.
    File { path: PathBuf, file: File },
    /// One JSON record per command in a one-partition topic, which every
    /// server of the service appends to and follows (see
    /// [`CommandLog::poll`]).
    Topic {
        log: Arc<dyn Log>,
        topic: String,
        /// The offset of the next command to read.
        next: i64,
        /// Offsets of commands this server appended and has not read past.
        own: Vec<i64>,
    },
}

/// The command topic of a service.
pub fn command_topic(service_id: &str) -> String {
    format!("_sluice-{service_id}_command_topic")
}

impl CommandLog {
    /// Open (creating) the log at `path` and return the commands it already holds.
    /// A torn last line (a crash mid-append) is ignored.
    pub fn open(path: &Path) -> Result<(Self, Vec<Command>)> {
        let io = |e: std::io::Error| {
            EngineError::statement(format!("command log {}: {e}", path.display()))
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let mut commands = Vec::new();
        if path.exists() {
            let reader = BufReader::new(File::open(path).map_err(io)?);
            let lines: Vec<String> = reader
                .lines()
                .collect::<std::result::Result<_, _>>()
                .map_err(io)?;
            let last = lines.len();
            for (i, line) in lines.iter().enumerate() {
                if line.trim().is_empty() {
                    continue;
                }
                match serde_json::from_str::<Command>(line) {
                    Ok(c) => commands.push(c),
                    Err(_) if i + 1 == last => {
                        tracing::warn!("ignoring a torn last entry in {}", path.display())
                    }
                    Err(e) => {
                        return Err(EngineError::statement(format!(
                            "command log {} is corrupt at line {}: {e}",
                            path.display(),
                            i + 1
                        )))
                    }
                }
            }
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(io)?;
        Ok((
            CommandLog::File {
                path: path.to_path_buf(),
                file,
            },
            commands,
        ))
    }

    /// Open (creating) the command topic `topic` on `log` and return the
    /// commands it already holds.
    pub fn open_topic(log: Arc<dyn Log>, topic: &str) -> Result<(Self, Vec<Command>)> {
        // kept forever, like ksqlDB's command topic
        let spec = TopicSpec::new(topic, 1).with_config("retention.ms", "-1");
        match log.create_topic(&spec) {
            Ok(()) | Err(LogError::TopicExists(_)) => {}
            Err(e) => return Err(e.into()),
        }
        let mut this = CommandLog::Topic {
            log,
            topic: topic.to_string(),
            next: 0,
            own: Vec::new(),
        };
        let commands = this.poll()?.into_iter().map(|(_, c)| c).collect();
        Ok((this, commands))
    }

    /// The commands other servers appended since the last poll (a file has
    /// none), with their offsets, in order.
    pub fn poll(&mut self) -> Result<Vec<(i64, Command)>> {
        let CommandLog::Topic {
            log,
            topic,
            next,
            own,
        } = self
        else {
            return Ok(Vec::new());
        };
        let end = log.end_offsets(topic)?.first().copied().unwrap_or(0);
        let mut commands = Vec::new();
        while *next < end {
            let records = log.fetch(topic, 0, *next, 1024)?;
            if records.is_empty() {
                break;
            }
            for r in &records {
                *next = r.offset + 1;
                if own.contains(&r.offset) {
                    continue;
                }
                let value = r.record.value.as_deref().unwrap_or_default();
                // an unreadable command is skipped, as ksqlDB's command runner skips it
                match serde_json::from_slice::<Command>(value) {
                    Ok(command) => commands.push((r.offset, command)),
                    Err(e) => tracing::warn!(
                        "command topic {topic}: skipped the unreadable command at offset {}: {e}",
                        r.offset
                    ),
                }
            }
        }
        let read = *next;
        own.retain(|o| *o >= read);
        Ok(commands)
    }

    /// How far the log has been read and applied: the offset of the next
    /// command (ksqlDB's command sequence numbers are these offsets); 0 for
    /// a file.
    pub fn position(&self) -> i64 {
        match self {
            CommandLog::Topic { next, .. } => *next,
            CommandLog::File { .. } => 0,
        }
    }

    /// Appends `command`; gives its offset in a command topic.
    pub fn append(&mut self, command: &Command) -> Result<Option<i64>> {
        let json = serde_json::to_string(command)
            .map_err(|e| EngineError::statement(format!("command log: {e}")))?;
        match self {
            CommandLog::File { path, file } => file
                .write_all(format!("{json}\n").as_bytes())
                .and_then(|_| file.sync_data())
                .map(|_| None)
                .map_err(|e| {
                    EngineError::statement(format!("command log {}: {e}", path.display()))
                }),
            CommandLog::Topic {
                log, topic, own, ..
            } => {
                let record = Record::new(None, Some(json.into_bytes()), crate::query::now_ms());
                let placed = log.produce(topic, vec![(Some(0), record)])?;
                let offset = placed.first().map(|(_, o)| *o);
                own.extend(offset);
                Ok(offset)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_survive_reopen_and_a_torn_tail_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("command.log");
        let (mut log, existing) = CommandLog::open(&path).unwrap();
        assert!(existing.is_empty());
        let c = Command {
            sql: "CREATE STREAM s (k INT KEY) WITH (kafka_topic='s', value_format='JSON');".into(),
            properties: BTreeMap::from([("auto.offset.reset".into(), "earliest".into())]),
        };
        log.append(&c).unwrap();
        drop(log);
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"{\"sql\": \"DROP")
            .unwrap();
        let (_, existing) = CommandLog::open(&path).unwrap();
        assert_eq!(existing, vec![c]);
    }

    #[test]
    fn servers_sharing_a_command_topic_read_each_others_commands_not_their_own() {
        let log: Arc<dyn Log> = Arc::new(sluice_log::EmbeddedLog::in_memory());
        let command = |sql: &str| Command {
            sql: sql.into(),
            properties: BTreeMap::new(),
        };
        let (mut a, _) = CommandLog::open_topic(log.clone(), "commands").unwrap();
        assert_eq!(a.append(&command("one")).unwrap(), Some(0));
        let (mut b, existing) = CommandLog::open_topic(log.clone(), "commands").unwrap();
        assert_eq!(existing, vec![command("one")]);
        assert_eq!(b.position(), 1);
        assert_eq!(b.append(&command("two")).unwrap(), Some(1));
        assert_eq!(a.append(&command("three")).unwrap(), Some(2));
        // each reads the other's, in order, and skips its own
        assert_eq!(a.poll().unwrap(), vec![(1, command("two"))]);
        assert_eq!(b.poll().unwrap(), vec![(2, command("three"))]);
        assert_eq!((a.position(), b.position()), (3, 3));
        assert!(a.poll().unwrap().is_empty());
    }
}
