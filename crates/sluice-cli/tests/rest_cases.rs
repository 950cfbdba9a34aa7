//! Runs the project's own REST query-validation cases under `tests/rest/` through the
//! `sluice test` binary (a fresh in-process server per case) and requires every case
//! to pass.

use std::path::PathBuf;
use std::process::Command;

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn own_rest_cases_pass() {
    let dir = repo_root().join("tests/rest");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/rest exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no REST cases under {}", dir.display());
    let report = std::env::temp_dir().join(format!("sluice-own-rest-{}.json", std::process::id()));
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
    assert!(stdout.contains(" passed, 0 failed, 0 skipped"), "{stdout}");
    assert!(
        stdout.contains("PASS  basics.json :: push query with limit - AVRO"),
        "{stdout}"
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).expect("report written"))
            .expect("report is JSON");
    let cases = report["cases"].as_array().expect("cases");
    assert!(cases.len() >= 5, "{report}");
    assert!(cases.iter().all(|c| c["status"] == "pass"), "{report}");
}

#[test]
fn a_wrong_expectation_fails() {
    let dir = std::env::temp_dir().join(format!("sluice-rest-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("bad.json");
    std::fs::write(
        &file,
        r#"{"tests": [{
            "name": "wrong header",
            "statements": ["CREATE STREAM S (K INT KEY, V INT) WITH (kafka_topic='s', value_format='JSON');"],
            "responses": [{"admin": {"@type": "somethingElse"}}]
        }]}"#,
    )
    .expect("write case");
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .arg("test")
        .arg(&file)
        .output()
        .expect("run sluice test");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{stdout}");
    assert!(
        stdout.contains("FAIL  bad.json :: wrong header"),
        "{stdout}"
    );
    assert!(stdout.contains("0 passed, 1 failed, 0 skipped"), "{stdout}");
}
