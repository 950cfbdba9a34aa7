//! Runs the project's own QTT-format cases under `tests/qtt/` through the `sluice test`
//! binary, as a user would, and requires every case to pass.

mod common;

use std::process::Command;

#[test]
fn own_qtt_cases_pass() {
    let (stdout, report) = common::run_case_dir("qtt");
    assert!(stdout.contains(" passed, 0 failed"), "{stdout}");
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
        .arg(common::repo_root().join("queries/quickstart.sql"))
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

#[test]
fn run_follows_run_script_and_names_errors_where_they_are() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("inner.sql"),
        "CREATE STREAM s (id INT KEY, v INT) WITH (kafka_topic='s', partitions=1, value_format='JSON');\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("outer.sql"),
        format!(
            "RUN SCRIPT '{}';\nDESCRIBE s;\n  SELECT * FROM s WHERE 1 2;\n",
            dir.path().join("inner.sql").display()
        ),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["run", "--in-memory"])
        .arg(dir.path().join("outer.sql"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // the nested script's stream exists for the outer script
    assert!(stdout.contains("Name: S"), "{stdout}");
    // the error is placed in the outer script
    assert!(!out.status.success());
    assert!(
        stderr.contains("line 3:27: Syntax Error"),
        "{stdout}{stderr}"
    );
}

/// `sluice test --extension-dir`: a project's WebAssembly functions (here the
/// examples, built from C) tested with the ksql-test-runner format like
/// built-ins; without the directory they do not exist.
#[test]
fn extension_dir_functions_are_tested_like_built_ins() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let guest = root.join("crates/sluice-wasm/guest");
    let ext = tempfile::tempdir().unwrap();
    for name in ["geo", "text", "stats", "generic"] {
        sluice_testkit::wasm::build_c_module(
            &guest.join(format!("examples/{name}.c")),
            &guest,
            &ext.path().join(format!("{name}.wasm")),
        );
    }
    let cases = root.join("tests/qtt-extensions/wasm-functions.json");
    let run = |extension_dir: Option<&std::path::Path>| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_sluice"));
        command.arg("test");
        if let Some(dir) = extension_dir {
            command.arg("--extension-dir").arg(dir);
        }
        let out = command.arg(&cases).output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (ok, stdout) = run(Some(ext.path()));
    assert!(ok && stdout.contains("7 passed, 0 failed"), "{stdout}");
    let (ok, stdout) = run(None);
    assert!(!ok, "{stdout}");
    assert!(
        stdout.contains("Can't find any functions with the name 'HAVERSINE'"),
        "{stdout}"
    );
}
