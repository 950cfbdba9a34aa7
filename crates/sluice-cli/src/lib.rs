//! The `sluice` binary's library: rendering results, the REPL (embedded or against a
//! server over REST) and the `server` subcommand. `main.rs` only parses arguments.

pub mod entity_render;
pub mod render;
pub mod repl;
pub mod server_cmd;
