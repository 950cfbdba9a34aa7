//! Runs the project's own REST query-validation cases under `tests/rest/` through the
//! `sluice test` binary (a fresh in-process server per case) and requires every case
//! to pass.

mod common;

use std::process::Command;

#[test]
fn own_rest_cases_pass() {
    let (stdout, report) = common::run_case_dir("rest");
    assert!(stdout.contains(" passed, 0 failed, 0 skipped"), "{stdout}");
    assert!(
        stdout.contains("PASS  basics.json :: push query with limit - AVRO"),
        "{stdout}"
    );
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
