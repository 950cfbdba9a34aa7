//! The engine: the one API every way into Sluice uses. It parses statements
//! in a client's [`Session`], executes them (DDL, persistent and transient
//! queries, INSERT, SHOW/DESCRIBE) and keeps the metastore and the running
//! queries over a [`sluice_log::Log`]. The REPL, REST server and test runner
//! only route statements by their [`StatementKind`] and render the typed
//! results it returns.

mod alter;
mod assert;
pub mod command_log;
mod connect_client;
mod connectors;
mod ddl;
mod engine;
mod error;
mod functions;
mod insert_into;
mod inserts;
pub mod lifecycle;
pub mod metastore;
pub mod metrics;
mod patience;
mod print;
mod properties;
mod pull;
mod pull_index;
mod pull_where;
mod push;
mod query;
pub mod result;
mod scheduler;
mod secrets;
mod session;
pub mod settings;
mod show;
mod topics;
mod upgrade;

pub use assert::until_asserted;
pub use ddl::kind_name;
pub use engine::{service_servers, Engine, EngineConfig, RunningQuery};
pub use error::EngineError;
pub use inserts::Inserter;
pub use lifecycle::{QueryHandle, QueryState, QueryStatus};
pub use print::PrintCursor;
pub use push::{PullRows, PushQuery, QueryStart};
pub use result::{
    Asserted, ConnectorDescription, ConnectorListing, FunctionListing, Listing, PluginListing,
    PropertyListing, QueryListing, SourceDescription, StatementResult, TopicListing, TypeListing,
};
pub use session::{Prepared, Session, SessionChange, StatementKind};
pub use sluice_connect as connect;
pub use sluice_log as log;
pub use sluice_planner::QueryGraph;
pub use sluice_sql::{split_statements, split_statements_at, ConnectorTarget, Pos};
