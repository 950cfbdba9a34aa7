//! The web console in a real browser: `sluice server` on the embedded log,
//! Debian's Chromium driven by playwright-core (`tests/console/console-test.js`)
//! types statements into the editor, watches a push query's rows arrive, sees
//! a completion and an error marked at its line, opens a query's view with its
//! graph and live charts, and stores a screenshot (`console.png`) under
//! `$CARGO_TARGET_DIR/artifacts/console` as the test's artifact.

mod common;

use std::process::Command;

#[test]
fn the_console_runs_statements_and_streams_a_push_query_in_a_browser() {
    let chromium = sluice_testkit::browser::install_chromium();
    let modules = sluice_testkit::browser::install_playwright();
    let dir = tempfile::tempdir().unwrap();
    let server = common::start_embedded(dir.path());
    let artifacts = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| common::repo_root().join("target"))
        .join("artifacts/console");
    std::fs::create_dir_all(&artifacts).unwrap();
    let script = common::repo_root().join("tests/console/console-test.js");
    let out = Command::new("node")
        .arg(&script)
        .arg(format!("{}/", server.1))
        .arg(&artifacts)
        .env("NODE_PATH", &modules)
        .env("CHROMIUM", &chromium)
        .output()
        .expect("node is needed to drive the browser");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("console checks passed"),
        "{stdout}\n{}\nserver log:\n{}",
        String::from_utf8_lossy(&out.stderr),
        sluice_testkit::process::log_tail(&dir.path().join("server.log"), 30)
    );
    eprintln!("{stdout}");
    assert!(artifacts.join("console.png").exists());
}
