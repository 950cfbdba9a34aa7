//! The streaming runtime: reads records from the log into Arrow batches in a
//! source's row layout, runs the planned operators over them, and writes results in
//! the sink's formats. It executes plans; it never parses SQL or decides semantics.

pub mod aggregate;
pub mod clock;
mod error;
pub mod join;
mod order;
pub mod processing_log;
pub mod project;
pub mod repartition;
pub mod sink;
pub mod source;
pub mod state;
mod table_functions;
pub mod task;
pub mod windowed;

pub use clock::WallClock;
pub use error::RuntimeError;
pub use processing_log::{ProcessingLog, ProcessingLogEntry};
pub use task::{OffsetReset, Progress, QueryOutput, QueryTask, TopicCounters};
