//! Kafka's own file connectors: `FileStreamSource` (each new line of `file`
//! a record of `topic`, its value the line; its source offset the byte
//! position after the line, per `filename`, as Kafka's) and `FileStreamSink`
//! (each record's value as text, one line per record, appended to `file`).

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::time::Duration;

use serde_json::json;

use crate::config::ConnectorConfig;
use crate::data::{Schema, SchemaType, Value};
use crate::error::{ConnectError, Result};
use crate::record::{ConnectRecord, SinkRecord, SourceRecord};
use crate::task::{SinkTask, SourceTask, TaskContext};

pub fn validate_source(config: &ConnectorConfig) -> Result<()> {
    config.required("file")?;
    config.required("topic")?;
    if config.list("topic").len() > 1 {
        return Err(ConnectError::config(
            "topic",
            "Invalid value for configuration topic: must be a single topic",
        ));
    }
    config.long("batch.size", 2000)?;
    Ok(())
}

pub fn validate_sink(config: &ConnectorConfig) -> Result<()> {
    config.required("file")?;
    Ok(())
}

pub struct FileSourceTask {
    path: PathBuf,
    topic: String,
    batch: usize,
    position: u64,
    /// Bytes read after the last whole line.
    partial: Vec<u8>,
}

impl FileSourceTask {
    pub fn start(config: &ConnectorConfig, ctx: &TaskContext) -> Result<Self> {
        validate_source(config)?;
        let file = config.required("file")?.to_string();
        let position = ctx
            .offset(&json!({"filename": file}))
            .and_then(|o| o["position"].as_u64())
            .unwrap_or(0);
        Ok(FileSourceTask {
            path: PathBuf::from(file),
            topic: config.required("topic")?.to_string(),
            batch: config.long("batch.size", 2000)?.max(1) as usize,
            position,
            partial: Vec::new(),
        })
    }
}

impl SourceTask for FileSourceTask {
    fn poll(&mut self, ctx: &TaskContext) -> Result<Vec<SourceRecord>> {
        let mut file = match File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                // as Kafka's: wait for the file to appear
                ctx.sleep(Duration::from_secs(1));
                return Ok(Vec::new());
            }
            Err(e) => return Err(ConnectError::task(format!("{}: {e}", self.path.display()))),
        };
        let read_from = self.position + self.partial.len() as u64;
        let len = file.metadata().map(|m| m.len()).unwrap_or(0);
        if len < read_from {
            return Err(ConnectError::task(format!(
                "{} shrank below the position already read ({read_from} bytes)",
                self.path.display()
            )));
        }
        if len == read_from {
            ctx.sleep(Duration::from_millis(200));
            return Ok(Vec::new());
        }
        let io = |e: std::io::Error| ConnectError::task(format!("{}: {e}", self.path.display()));
        file.seek(SeekFrom::Start(read_from)).map_err(io)?;
        let mut chunk = Vec::new();
        file.take(1 << 20).read_to_end(&mut chunk).map_err(io)?;
        self.partial.extend_from_slice(&chunk);
        let filename = self.path.display().to_string();
        let mut out = Vec::new();
        let mut consumed = 0;
        let schema = std::sync::Arc::new(Schema::of(SchemaType::String));
        let partition = std::sync::Arc::new(json!({"filename": filename}));
        while out.len() < self.batch {
            let Some(end) = self.partial[consumed..].iter().position(|b| *b == b'\n') else {
                break;
            };
            let mut line = &self.partial[consumed..consumed + end];
            if line.last() == Some(&b'\r') {
                line = &line[..line.len() - 1];
            }
            consumed += end + 1;
            let text = String::from_utf8_lossy(line).into_owned();
            out.push(SourceRecord {
                partition: partition.clone(),
                offset: json!({"position": self.position + consumed as u64}),
                record: ConnectRecord::new(&self.topic, Some(schema.clone()), Value::String(text)),
            });
        }
        self.partial.drain(..consumed);
        self.position += consumed as u64;
        Ok(out)
    }
}

pub struct FileSinkTask {
    path: PathBuf,
    out: BufWriter<File>,
}

impl FileSinkTask {
    pub fn start(config: &ConnectorConfig) -> Result<Self> {
        validate_sink(config)?;
        let path = PathBuf::from(config.required("file")?);
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| {
                ConnectError::task(format!(
                    "Couldn't find or create file '{}' for FileStreamSinkTask: {e}",
                    path.display()
                ))
            })?;
        Ok(FileSinkTask {
            path,
            out: BufWriter::new(file),
        })
    }
}

impl SinkTask for FileSinkTask {
    fn put(&mut self, records: Vec<SinkRecord>) -> Result<()> {
        for r in records {
            writeln!(self.out, "{}", r.record.value.display())
                .map_err(|e| ConnectError::task(format!("{}: {e}", self.path.display())))?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        self.out
            .flush()
            .and_then(|_| self.out.get_ref().sync_data())
            .map_err(|e| ConnectError::task(format!("{}: {e}", self.path.display())))
    }
}
