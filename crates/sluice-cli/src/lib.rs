//! The `sluice` binary's library: rendering results, the REPL (embedded or against a
//! server over REST), the `server` subcommand and the `migrations` tool (a client of a
//! server's REST API), and the process settings the binary starts with. `main.rs` only parses arguments.

pub mod entity_render;
pub mod http_client;
pub mod migrations;
pub mod process;
pub mod render;
pub mod repl;
pub mod server_cmd;
