//! Runs the project's own QTT-format cases under `tests/qtt/` through the `sluice test`
//! binary, as a user would, and requires every case to pass.

use std::path::PathBuf;
use std::process::Command;

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn own_qtt_cases_pass() {
    let dir = repo_root().join("tests/qtt");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/qtt exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no QTT cases under {}", dir.display());
    let report = std::env::temp_dir().join(format!("sluice-own-qtt-{}.json", std::process::id()));
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .arg("test")
        .args(&files)
        .arg("--report")
        .arg(&report)
        .output()
        .expect("run sluice test");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "sluice test failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains(" passed, 0 failed"), "{stdout}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).expect("report written"))
            .expect("report is JSON");
    let cases = report["cases"].as_array().expect("cases");
    assert!(cases.iter().all(|c| c["status"] == "pass"), "{report}");
    assert!(cases
        .iter()
        .any(|c| !c["outputs"].as_array().unwrap().is_empty()));
}

#[test]
fn ksql_test_runner_trio() {
    let dir = std::env::temp_dir().join(format!("sluice-trio-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("s.sql"),
        "CREATE STREAM s (k INT KEY, v INT) WITH (kafka_topic='s', value_format='JSON');\nCREATE STREAM o AS SELECT k, v * 2 AS d FROM s;\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("i.json"),
        r#"{"inputs":[{"topic":"s","key":1,"value":{"V":21},"timestamp":0}]}"#,
    )
    .unwrap();
    std::fs::write(
        dir.join("o.json"),
        r#"{"outputs":[{"topic":"O","key":1,"value":{"D":42},"timestamp":0}]}"#,
    )
    .unwrap();
    std::fs::write(
        dir.join("bad.json"),
        r#"{"outputs":[{"topic":"O","key":1,"value":{"D":41},"timestamp":0}]}"#,
    )
    .unwrap();
    let run = |outputs: &str| {
        Command::new(env!("CARGO_BIN_EXE_sluice"))
            .arg("test")
            .args(["-s", "s.sql", "-i", "i.json", "-o", outputs])
            .current_dir(&dir)
            .output()
            .unwrap()
    };
    let ok = run("o.json");
    assert!(ok.status.success());
    assert!(String::from_utf8_lossy(&ok.stdout).contains("Test passed!"));
    let bad = run("bad.json");
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stdout).contains("Test failed"));
}

#[test]
fn run_prints_quickstart_results() {
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["run", "--in-memory"])
        .arg(repo_root().join("queries/quickstart.sql"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("/DOCS/START") && stdout.contains("2 row(s)"),
        "{stdout}"
    );
}
