//! The `sluice server` binary as a user starts it, talked to over HTTP, and
//! `sluice cli` driven through its stdin against it.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};

use serde_json::{json, Value};

/// The server process (killed on drop) and its stdout, kept open so the server
/// never writes to a closed pipe.
struct Running(
    Child,
    #[allow(dead_code)] BufReader<std::process::ChildStdout>,
);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Start `sluice server` on a random port; its URL.
fn start_server(dir: &std::path::Path) -> (Running, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["server", "--listeners", "http://127.0.0.1:0", "--data-dir"])
        .arg(dir.join("data"))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start sluice server");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    let mut reader = BufReader::new(stdout);
    reader.read_line(&mut line).expect("first line");
    let url = line
        .trim()
        .strip_prefix("Sluice server listening on ")
        .unwrap_or_else(|| panic!("unexpected first line: {line}"))
        .to_string();
    (Running(child, reader), url)
}

fn post(client: &reqwest::blocking::Client, url: &str, body: Value) -> (u16, String) {
    let resp = client
        .post(url)
        .body(body.to_string())
        .send()
        .expect("request");
    (resp.status().as_u16(), resp.text().expect("body"))
}

#[test]
fn server_binary_serves_the_rest_api_and_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, url) = start_server(dir.path());
    let client = reqwest::blocking::Client::new();

    let info: Value = client
        .get(format!("{url}/info"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(info["KsqlServerInfo"]["serverStatus"], "RUNNING");

    let (status, text) = post(
        &client,
        &format!("{url}/ksql"),
        json!({"ksql": "CREATE STREAM S (K STRING KEY, ID INT) WITH (kafka_topic='s', value_format='JSON', partitions=1); INSERT INTO S (K, ID) VALUES ('a', 7);"}),
    );
    assert_eq!(status, 200, "{text}");
    let (status, text) = post(
        &client,
        &format!("{url}/query"),
        json!({"ksql": "SELECT ID FROM S EMIT CHANGES LIMIT 1;",
               "streamsProperties": {"auto.offset.reset": "earliest"}}),
    );
    assert_eq!(status, 200, "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v[1], json!({"row": {"columns": [7]}}));
    assert_eq!(v[2], json!({"finalMessage": "Limit Reached"}));

    // the REPL against it
    let mut cli = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["cli", &url])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start sluice cli");
    cli.stdin
        .take()
        .unwrap()
        .write_all(
            b"SHOW STREAMS;\nSET 'auto.offset.reset' = 'earliest';\nSELECT * FROM S\n  EMIT CHANGES LIMIT 1;\nDROP STREAM NOPE;\nexit\n",
        )
        .unwrap();
    let out = cli.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("| S           | s           | KAFKA"),
        "{stdout}"
    );
    assert!(stdout.contains("|a            |7            |"), "{stdout}");
    assert!(stdout.contains("Limit Reached"), "{stdout}");
    assert!(stdout.contains("NOPE"), "{stdout}");
}

#[test]
fn server_binary_refuses_https_and_reports_queries_file_errors() {
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args([
            "server",
            "--in-memory",
            "--listeners",
            "https://127.0.0.1:0",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not supported"));

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("q.sql");
    std::fs::write(&file, "SHOW STREAMS;\nCREATE STREAM (;\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args([
            "server",
            "--in-memory",
            "--listeners",
            "http://127.0.0.1:0",
            "--queries-file",
        ])
        .arg(&file)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("statement 2 at line 2"), "{err}");
}
