//! The engine: the one API every way into Sluice uses. It executes statements
//! (DDL, persistent and transient queries, INSERT, SHOW/DESCRIBE), keeps the
//! metastore and the running queries over a [`sluice_log::Log`], and hosts the
//! ksqlDB test-format runner. The REPL, REST server and test command only render
//! what it returns.

pub mod command_log;
mod ddl;
mod engine;
mod error;
mod inserts;
pub mod lifecycle;
pub mod metastore;
pub mod metrics;
mod print;
mod properties;
mod pull;
mod push;
mod query;
mod result;
mod scheduler;
mod show;
mod topics;

pub use ddl::kind_name;
pub use engine::{service_servers, Engine, EngineConfig, RunningQuery};
pub use error::EngineError;
pub use inserts::Inserter;
pub use lifecycle::{QueryHandle, QueryState, QueryStatus};
pub use print::PrintCursor;
pub use push::PushQuery;
pub use result::StatementResult;
pub use sluice_log as log;
pub use sluice_sql::split_statements;
