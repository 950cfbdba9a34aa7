//! `sluice server`: the ksqlDB-compatible REST server, on the embedded log or Kafka.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use sluice_server::{engine_for, Server, ServerConfig, ServerError};

#[derive(Args, Debug, Default)]
pub struct ServerArgs {
    /// A ksqlDB-style server properties file (`listeners=...`, `ksql.*=...`).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Headless mode: run this file's statements at startup and refuse statements
    /// over the REST API (ksqlDB's `ksql.queries.file`).
    #[arg(long)]
    pub queries_file: Option<PathBuf>,
    /// Where to listen, e.g. `http://0.0.0.0:8088` (comma-separated for several).
    #[arg(long)]
    pub listeners: Option<String>,
    /// Where the embedded log keeps its topics (default `sluice-data`).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Keep topics in memory only.
    #[arg(long)]
    pub in_memory: bool,
    /// Use the Kafka cluster at these brokers (`host:port,...`) instead of the
    /// embedded log; other client settings go in `--set` or the config file.
    #[arg(long)]
    pub bootstrap_servers: Option<String>,
    /// Any other property, `KEY=VALUE` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
}

/// The configuration: the file, then the command line over it.
pub fn config(args: &ServerArgs) -> Result<ServerConfig, ServerError> {
    let mut config = match &args.config {
        Some(path) => ServerConfig::from_file(path)?,
        None => ServerConfig::default(),
    };
    for kv in &args.set {
        let (k, v) = kv
            .split_once('=')
            .ok_or_else(|| ServerError::Config(format!("--set {kv}: expected KEY=VALUE")))?;
        config.set(k.trim(), v.trim())?;
    }
    if let Some(b) = &args.bootstrap_servers {
        config.set("bootstrap.servers", b)?;
    }
    if let Some(l) = &args.listeners {
        config.set(sluice_server::config::LISTENERS, l)?;
    }
    if let Some(q) = &args.queries_file {
        config.queries_file = Some(q.clone());
    }
    if let Some(d) = &args.data_dir {
        config.data_dir = Some(d.clone());
    }
    if args.in_memory {
        config.data_dir = None;
    } else if config.data_dir.is_none() {
        config.data_dir = Some(PathBuf::from("sluice-data"));
    }
    Ok(config)
}

/// Ctrl-C, or SIGTERM on Unix.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

async fn serve(args: ServerArgs) -> Result<(), ServerError> {
    let config = config(&args)?;
    let engine = engine_for(&config)?;
    let headless = config.queries_file.clone();
    let server = Server::bind(config, engine).await?;
    for url in server.urls() {
        println!("Sluice server listening on {url}");
    }
    for url in server.registry_urls() {
        println!("Schema registry listening on {url}");
    }
    for url in server.connect_urls() {
        println!("Kafka Connect REST API listening on {url}");
    }
    if let Some(q) = headless {
        println!("Headless mode: ran {}", q.display());
    }
    server
        .run(async {
            shutdown_signal().await;
            println!("Shutting down");
        })
        .await
}

pub fn run(args: ServerArgs) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("Error: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Error: {e}");
            ExitCode::FAILURE
        }
    }
}
