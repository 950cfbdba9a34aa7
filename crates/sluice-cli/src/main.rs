//! The `sluice` binary: the embedded REPL (no arguments), `run` a SQL file, `test`
//! ksqlDB test files, `server` (the REST API), `cli` (the REPL against a server) and
//! `migrations` (ksql-migrations against a server).

mod test_cmd;

use sluice_cli::{migrations, render, repl, server_cmd};

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use sluice_engine::log::EmbeddedLog;
use sluice_engine::{Engine, EngineConfig};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "sluice",
    version,
    about = "Streaming SQL in the ksqlDB dialect"
)]
struct Cli {
    /// Without a command: the REPL on an embedded engine with data in ./sluice-data.
    #[command(subcommand)]
    command: Option<Command>,
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
    /// Serve the ksqlDB-compatible REST API (default http://0.0.0.0:8088).
    Server(server_cmd::ServerArgs),
    /// ksqlDB's ksql-migrations tool against a server: new-project, create,
    /// initialize-metadata, apply, info, validate, destroy-metadata.
    Migrations(migrations::MigrationsArgs),
    /// The REPL against a running server.
    Cli {
        /// The server's address.
        #[arg(default_value = "http://localhost:8088")]
        url: String,
        /// The user, for a server with HTTP basic auth (ksqlDB CLI's `-u`).
        #[arg(short = 'u', long)]
        user: Option<String>,
        /// The user's password (ksqlDB CLI's `-p`); asked for on the terminal
        /// when `-u` comes without it.
        #[arg(short = 'p', long)]
        password: Option<String>,
        /// A properties file as ksqlDB CLI's `--config-file`:
        /// `ssl.truststore.location` names a PEM file of certificates to trust
        /// for an `https://` server.
        #[arg(long)]
        config_file: Option<std::path::PathBuf>,
    },
}

/// Run the REPL: interactive on a terminal, else reading lines from stdin.
fn run_repl<B: repl::backend::Backend>(backend: B, banner: &str) -> ExitCode {
    use std::io::{BufRead, IsTerminal};
    let mut r = repl::Repl::new(backend);
    let result = if std::io::stdin().is_terminal() {
        repl::interactive::run(r, banner)
    } else {
        let lines = std::io::stdin().lock().lines().map_while(Result::ok);
        repl::run_lines(&mut r, lines, &mut std::io::stdout()).map_err(|e| e.to_string())
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn embedded_repl() -> ExitCode {
    let log = match EmbeddedLog::open("sluice-data") {
        Ok(log) => log,
        Err(e) => {
            eprintln!("Error: sluice-data: {e}");
            return ExitCode::FAILURE;
        }
    };
    let engine = match Engine::new(Arc::new(log), EngineConfig::default())
        .with_command_log(std::path::Path::new("sluice-data/command.log"))
    {
        Ok(engine) => match engine.with_processing_log_stream() {
            Ok(engine) => {
                let threads = engine.stream_threads();
                engine.with_stream_threads(threads)
            }
            Err(e) => {
                eprintln!("Error: processing log: {e}");
                return ExitCode::FAILURE;
            }
        },
        Err(e) => {
            eprintln!("Error: {e}");
            return ExitCode::FAILURE;
        }
    };
    run_repl(
        repl::backend::Embedded::new(engine),
        "Sluice (embedded engine, data in ./sluice-data)",
    )
}

/// How `sluice cli` reaches its server: `-u`/`-p`, and the truststore of
/// its `--config-file`.
fn cli_options(
    user: Option<String>,
    password: Option<String>,
    config_file: Option<&std::path::Path>,
) -> Result<sluice_cli::http_client::ClientOptions, String> {
    let basic_auth = match (user, password) {
        (Some(u), Some(p)) => Some((u, p)),
        (None, None) => None,
        // as ksqlDB's CLI: asked for on the terminal, kept out of the
        // command line
        (Some(u), None) => {
            let password = rpassword::prompt_password("Enter password: ")
                .map_err(|e| format!("cannot read the password from the terminal: {e}"))?;
            Some((u, password))
        }
        (None, Some(_)) => return Err("a password (-p) needs a user (-u)".into()),
    };
    let truststore = match config_file {
        Some(path) => sluice_cli::migrations::config::read_properties(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?
            .get("ssl.truststore.location")
            .filter(|v| !v.is_empty())
            .map(std::path::PathBuf::from),
        None => None,
    };
    Ok(sluice_cli::http_client::ClientOptions {
        basic_auth,
        truststore,
    })
}

fn remote_repl(url: &str, options: &sluice_cli::http_client::ClientOptions) -> ExitCode {
    let remote = match repl::backend::Remote::new(url, options) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("Error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let version = match remote.info() {
        Ok(info) => info["KsqlServerInfo"]["version"]
            .as_str()
            .unwrap_or("?")
            .to_string(),
        Err(e) => {
            eprintln!("Error: {e}");
            return ExitCode::FAILURE;
        }
    };
    run_repl(
        remote,
        &format!("Sluice CLI, connected to {url} (server version {version})"),
    )
}

fn run_file(file: &PathBuf, data_dir: &PathBuf, in_memory: bool) -> Result<(), String> {
    let sql = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let log = if in_memory {
        EmbeddedLog::in_memory()
    } else {
        EmbeddedLog::open(data_dir).map_err(|e| format!("{}: {e}", data_dir.display()))?
    };
    let engine = Engine::new(Arc::new(log), EngineConfig::default())
        .with_processing_log_stream()
        .map_err(|e| format!("processing log: {e}"))?;
    let threads = engine.stream_threads();
    let mut engine = engine.with_stream_threads(threads);
    run_script(&mut engine, &sql, 0)
}

/// Runs the statements of a script; `RUN SCRIPT 'file'` runs that file's
/// statements in its place (a client's command, as in ksqlDB's CLI).
fn run_script(engine: &mut Engine, sql: &str, depth: usize) -> Result<(), String> {
    for (start, text) in sluice_engine::split_statements_at(sql) {
        println!("sluice> {}", text.trim());
        if let Ok(parsed) = sluice_sql::parse(text) {
            if let [p] = parsed.as_slice() {
                if let sluice_sql::Statement::RunScript { path } = &p.statement {
                    if depth >= 16 {
                        return Err(format!("RUN SCRIPT '{path}': scripts nest too deeply"));
                    }
                    let nested = std::fs::read_to_string(path)
                        .map_err(|e| format!("Failed to read script '{path}': {e}"))?;
                    run_script(engine, &nested, depth + 1)?;
                    continue;
                }
            }
        }
        match engine.execute_sql_at(text, start) {
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

/// What the engine and the Kafka client report (a query failing and
/// retrying, a broker gone, records skipped) goes to stderr: warnings and
/// errors by default, `RUST_LOG` to choose (`RUST_LOG=info`, `RUST_LOG=sluice_engine=debug`).
fn log_to_stderr() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .try_init();
}

fn main() -> ExitCode {
    sluice_cli::process::disable_transparent_huge_pages();
    let cli = Cli::parse();
    match cli.command {
        None => embedded_repl(),
        Some(Command::Server(args)) => {
            log_to_stderr();
            server_cmd::run(args)
        }
        Some(Command::Cli {
            url,
            user,
            password,
            config_file,
        }) => match cli_options(user, password, config_file.as_deref()) {
            Ok(options) => remote_repl(&url, &options),
            Err(e) => {
                eprintln!("Error: {e}");
                ExitCode::FAILURE
            }
        },
        Some(Command::Migrations(args)) => migrations::run(args),
        Some(Command::Run {
            file,
            data_dir,
            in_memory,
        }) => match run_file(&file, &data_dir, in_memory) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("Error: {e}");
                ExitCode::FAILURE
            }
        },
        Some(Command::Test(args)) => test_cmd::run(args),
    }
}
