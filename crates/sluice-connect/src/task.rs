//! The interfaces a connector's tasks implement (Connect's `SourceTask` and
//! `SinkTask`), and what the worker hands them.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value as Json;

use crate::error::Result;
use crate::record::{SinkRecord, SourceRecord};

/// Reads records from outside (a file, a database, a generator).
pub trait SourceTask: Send {
    /// What is new, as a batch (empty when nothing is: the worker polls
    /// again). A task waits here when it has nothing, through
    /// [`TaskContext::sleep`], so a stopping worker is not held up.
    fn poll(&mut self, ctx: &TaskContext) -> Result<Vec<SourceRecord>>;
}

/// Writes records outside.
pub trait SinkTask: Send {
    /// Writes a batch; after it returns (and [`SinkTask::flush`]) the worker
    /// commits the batch's offsets, so what `put` took must be durable by then.
    fn put(&mut self, records: Vec<SinkRecord>) -> Result<()>;
    /// Makes everything `put` so far durable.
    fn flush(&mut self) -> Result<()> {
        Ok(())
    }
    /// [`SinkTask::flush`], then `flushed` (the worker commits the earlier
    /// batches' offsets), then [`SinkTask::put`] of `records`. A task may
    /// prepare `records` while the earlier batches are still being written,
    /// but calls `flushed` as soon as they are, even when `records` then
    /// fail.
    fn flush_and_put(
        &mut self,
        records: Vec<SinkRecord>,
        flushed: &mut dyn FnMut() -> Result<()>,
    ) -> Result<()> {
        self.flush()?;
        flushed()?;
        self.put(records)
    }
}

/// A task's view of its worker: whether to stop, and (sources) the offsets
/// its connector stored.
pub struct TaskContext {
    stop: Arc<AtomicBool>,
    /// Set by the worker when the task must stop polling without the whole
    /// connector stopping (its batches can no longer be written).
    halt: Arc<AtomicBool>,
    /// The latest stored offset of each source partition (by its JSON text).
    offsets: HashMap<String, Json>,
}

impl TaskContext {
    pub fn new(stop: Arc<AtomicBool>, offsets: HashMap<String, Json>) -> Self {
        TaskContext {
            stop,
            halt: Arc::default(),
            offsets,
        }
    }

    /// The flag that stops this task's polling alone.
    pub(crate) fn halt(&self) -> Arc<AtomicBool> {
        self.halt.clone()
    }

    pub fn stopping(&self) -> bool {
        self.stop.load(Ordering::Relaxed) || self.halt.load(Ordering::Relaxed)
    }

    /// Sleeps up to `d`, in short steps; false when the task is stopping.
    pub fn sleep(&self, d: Duration) -> bool {
        let until = Instant::now() + d;
        while !self.stopping() {
            let now = Instant::now();
            if now >= until {
                return true;
            }
            std::thread::sleep((until - now).min(Duration::from_millis(50)));
        }
        false
    }

    /// The stored offset of source partition `partition`.
    pub fn offset(&self, partition: &Json) -> Option<&Json> {
        self.offsets.get(&partition.to_string())
    }
}
