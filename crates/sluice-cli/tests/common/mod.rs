//! Shared by the integration tests that run the project's own case files through the
//! `sluice test` binary.

// each test binary uses a part of this module
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Run `sluice test --report` over every `.json` file under `tests/<dir>` and require
/// it to succeed; returns its stdout and the parsed report.
pub fn run_case_dir(dir: &str) -> (String, serde_json::Value) {
    run_case_dir_with(dir, &[])
}

/// [`run_case_dir`] with more `sluice test` arguments.
pub fn run_case_dir_with(dir: &str, extra: &[String]) -> (String, serde_json::Value) {
    let path = repo_root().join("tests").join(dir);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no cases under {}", path.display());
    let report = std::env::temp_dir().join(format!("sluice-own-{dir}-{}.json", std::process::id()));
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .arg("test")
        .args(&files)
        .arg("--report")
        .arg(&report)
        .args(extra)
        .output()
        .expect("run sluice test");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "sluice test failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).expect("report written"))
            .expect("report is JSON");
    (stdout, report)
}
