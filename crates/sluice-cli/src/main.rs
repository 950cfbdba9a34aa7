//! The `sluice` binary: run a SQL file on the embedded log, or run ksqlDB test files.

mod render;
mod test_cmd;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use sluice_engine::log::EmbeddedLog;
use sluice_engine::{Engine, EngineConfig};

#[derive(Parser)]
#[command(
    name = "sluice",
    version,
    about = "Streaming SQL in the ksqlDB dialect"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the statements of a SQL file on the embedded log and print their results.
    Run {
        file: PathBuf,
        /// Where the embedded log keeps its topics.
        #[arg(long, default_value = "sluice-data")]
        data_dir: PathBuf,
        /// Keep topics in memory only (nothing written to disk).
        #[arg(long)]
        in_memory: bool,
    },
    /// Run ksqlDB query-validation-test files, or one ksql-test-runner case.
    Test(test_cmd::TestArgs),
}

fn run_file(file: &PathBuf, data_dir: &PathBuf, in_memory: bool) -> Result<(), String> {
    let sql = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let log = if in_memory {
        EmbeddedLog::in_memory()
    } else {
        EmbeddedLog::open(data_dir).map_err(|e| format!("{}: {e}", data_dir.display()))?
    };
    let mut engine = Engine::new(Arc::new(log), EngineConfig::default());
    for text in sluice_engine_split(&sql) {
        println!("sluice> {}", text.trim());
        match engine.execute_sql(text) {
            Ok(results) => {
                for r in &results {
                    println!("{}\n", render::render(r));
                }
            }
            Err(e) => return Err(format!("{e}\nin statement: {}", text.trim())),
        }
        engine.run_until_idle().map_err(|e| e.to_string())?;
    }
    Ok(())
}

fn sluice_engine_split(sql: &str) -> Vec<&str> {
    sluice_engine::split_statements(sql)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Run {
            file,
            data_dir,
            in_memory,
        } => match run_file(&file, &data_dir, in_memory) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("Error: {e}");
                ExitCode::FAILURE
            }
        },
        Command::Test(args) => test_cmd::run(args),
    }
}
