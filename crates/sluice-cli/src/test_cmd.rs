//! `sluice test`: QTT files (`FILE.json...`) or the ksql-test-runner trio (`-s -i -o`).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use sluice_engine::log::KafkaLog;
use sluice_qtt::{run_file, run_trio, Backend, CaseReport, CaseStatus};

#[derive(Args)]
pub struct TestArgs {
    /// QTT or REST query-validation-test files to run.
    files: Vec<PathBuf>,
    /// Write every case's status and outputs to this JSON file.
    #[arg(long)]
    report: Option<PathBuf>,
    /// ksql-test-runner: the statements file.
    #[arg(short = 's', long = "sql-file")]
    statements: Option<PathBuf>,
    /// ksql-test-runner: the inputs file.
    #[arg(short = 'i', long = "input-file")]
    inputs: Option<PathBuf>,
    /// ksql-test-runner: the expected outputs file.
    #[arg(short = 'o', long = "output-file")]
    outputs: Option<PathBuf>,
    /// Print only failing cases.
    #[arg(short, long)]
    quiet: bool,
    /// Run the QTT cases on the Kafka cluster at these brokers (`host:port,...`)
    /// instead of fresh embedded logs.
    #[arg(long)]
    bootstrap_servers: Option<String>,
    /// Load the WebAssembly functions of this directory's `.wasm` and `.wat`
    /// modules into every case (`ksql.extension.dir`).
    #[arg(long, value_name = "DIR")]
    extension_dir: Option<PathBuf>,
    /// A Kafka client setting, `KEY=VALUE` (repeatable), with --bootstrap-servers.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
}

/// The embedded default, or the Kafka cluster the arguments name.
fn backend(args: &TestArgs) -> Result<Backend, String> {
    let Some(servers) = &args.bootstrap_servers else {
        return Ok(Backend::Embedded);
    };
    let mut properties = std::collections::BTreeMap::new();
    properties.insert("bootstrap.servers".to_string(), servers.clone());
    for kv in &args.set {
        let (k, v) = kv
            .split_once('=')
            .ok_or_else(|| format!("--set {kv}: expected KEY=VALUE"))?;
        properties.insert(k.trim().to_string(), v.trim().to_string());
    }
    let log = KafkaLog::connect(&properties).map_err(|e| e.to_string())?;
    Ok(Backend::Shared(std::sync::Arc::new(log)))
}

fn read(p: &PathBuf) -> Result<String, String> {
    std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))
}

fn line(r: &CaseReport) -> String {
    let status = match r.status {
        CaseStatus::Pass => "PASS ",
        CaseStatus::Fail => "FAIL ",
        CaseStatus::Error => "ERROR",
        CaseStatus::Skip => "SKIP ",
    };
    let why = r
        .reason
        .as_deref()
        .or(if r.status == CaseStatus::Pass {
            None
        } else {
            r.error.as_deref()
        })
        .map(|w| format!(" :: {}", w.lines().next().unwrap_or("")))
        .unwrap_or_default();
    format!("{status} {} :: {}{why}", r.file, r.name)
}

pub fn run(args: TestArgs) -> ExitCode {
    if let Some(dir) = &args.extension_dir {
        if !dir.is_dir() {
            eprintln!("Error: --extension-dir {}: not a directory", dir.display());
            return ExitCode::from(2);
        }
        sluice_qtt::set_runner_property("ksql.extension.dir", &dir.display().to_string());
    }
    if let Some(s) = &args.statements {
        let (Some(i), Some(o)) = (&args.inputs, &args.outputs) else {
            eprintln!("Error: -s needs -i INPUT_FILE and -o OUTPUT_FILE");
            return ExitCode::from(2);
        };
        let result = read(s)
            .and_then(|s| Ok((s, read(i)?, read(o)?)))
            .and_then(|(s, i, o)| run_trio(&s, &i, &o));
        return match result {
            Ok(r) if r.status == CaseStatus::Pass => {
                println!("Test passed!");
                ExitCode::SUCCESS
            }
            Ok(r) => {
                println!(
                    "Test failed: {}",
                    r.reason.or(r.error).unwrap_or_else(|| "unknown".into())
                );
                ExitCode::FAILURE
            }
            Err(e) => {
                eprintln!("Error: {e}");
                ExitCode::from(2)
            }
        };
    }
    if args.files.is_empty() {
        eprintln!("Error: give QTT files to run, or -s/-i/-o for one ksql-test-runner case");
        return ExitCode::from(2);
    }
    let backend = match backend(&args) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("Error: {e}");
            return ExitCode::from(2);
        }
    };
    let mut all = Vec::new();
    let mut broken_files = 0;
    for f in &args.files {
        let quiet = args.quiet;
        let mut print = |r: &CaseReport| {
            if !quiet || matches!(r.status, CaseStatus::Fail | CaseStatus::Error) {
                println!("{}", line(r));
            }
        };
        let result = match std::fs::read_to_string(f) {
            Ok(text) if sluice_qtt::rest::is_rest_file(f, &text) => {
                sluice_qtt::rest::run_file(f, &text, &mut print)
            }
            Ok(_) => run_file(f, &backend, &mut print),
            Err(e) => Err(format!("{}: {e}", f.display())),
        };
        match result {
            Ok(reports) => all.extend(reports),
            Err(e) => {
                broken_files += 1;
                println!("ERROR {e}");
            }
        }
    }
    if let Some(path) = &args.report {
        let report = serde_json::json!({ "cases": all });
        if let Err(e) = std::fs::write(path, report.to_string()) {
            eprintln!("Error: cannot write report {}: {e}", path.display());
            return ExitCode::from(2);
        }
    }
    let passed = all.iter().filter(|r| r.status == CaseStatus::Pass).count();
    let failed = all
        .iter()
        .filter(|r| matches!(r.status, CaseStatus::Fail | CaseStatus::Error))
        .count()
        + broken_files;
    let skipped = all.iter().filter(|r| r.status == CaseStatus::Skip).count();
    println!("{passed} passed, {failed} failed, {skipped} skipped");
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
