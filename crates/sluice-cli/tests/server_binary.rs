//! The `sluice server` binary as a user starts it, talked to over HTTP, and
//! `sluice cli` driven through its stdin against it.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};

use serde_json::{json, Value};

/// The server process (killed on drop) and its stdout, kept open so the server
/// never writes to a closed pipe.
struct Running(Child, BufReader<std::process::ChildStdout>);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Start `sluice server` on a random port; its URL.
fn start_server(dir: &std::path::Path) -> (Running, String) {
    start_server_with(dir, &["--listeners", "http://127.0.0.1:0"])
}

fn start_server_with(dir: &std::path::Path, args: &[&str]) -> (Running, String) {
    let (running, url) = spawn_server(dir, args);
    let url = url
        .strip_prefix("Sluice server listening on ")
        .unwrap_or_else(|| panic!("unexpected first line: {url}"))
        .to_string();
    (running, url)
}

/// Start `sluice server`; the process and the first line it printed.
fn spawn_server(dir: &std::path::Path, args: &[&str]) -> (Running, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .arg("server")
        // the schema registry on a random port too (its default, 8081, may be taken)
        .args(["--set", "schema.registry.listeners=http://127.0.0.1:0"])
        .args(args)
        .arg("--data-dir")
        .arg(dir.join("data"))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start sluice server");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    let mut reader = BufReader::new(stdout);
    reader.read_line(&mut line).expect("first line");
    (Running(child, reader), line.trim().to_string())
}

/// Start `sluice server` on random ports; its REST URL and its schema registry's URL.
fn start_server_with_registry(dir: &std::path::Path) -> (Running, String, String) {
    let (mut running, url) = start_server_with(dir, &["--listeners", "http://127.0.0.1:0"]);
    let mut line = String::new();
    running.1.read_line(&mut line).expect("second line");
    let registry = line
        .trim()
        .strip_prefix("Schema registry listening on ")
        .unwrap_or_else(|| panic!("unexpected second line: {line}"))
        .to_string();
    (running, url, registry)
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
    let stdout = cli_session(
        &url,
        "SHOW STREAMS;\nSET 'auto.offset.reset' = 'earliest';\nSELECT * FROM S\n  EMIT CHANGES LIMIT 1;\nDROP STREAM NOPE;\nexit\n",
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("| S ") && l.contains("| s ")),
        "{stdout}"
    );
    assert!(stdout.contains("| KSQL_PROCESSING_LOG |"), "{stdout}");
    assert!(stdout.contains("|a            |7            |"), "{stdout}");
    assert!(stdout.contains("Limit Reached"), "{stdout}");
    assert!(stdout.contains("NOPE"), "{stdout}");
}

#[test]
fn server_binary_needs_a_keystore_for_https_and_reports_queries_file_errors() {
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
    assert!(String::from_utf8_lossy(&out.stderr).contains("ssl.keystore.location"));

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

/// Run `sluice cli URL` with `input` on its stdin; its stdout.
fn cli_session(url: &str, input: &str) -> String {
    let (ok, stdout, stderr) = cli_run(url, &[], input);
    assert!(ok, "{stdout}\n{stderr}");
    stdout
}

/// Run `sluice cli URL ARGS` with `input` on its stdin: whether it
/// succeeded, its stdout and its stderr.
fn cli_run(url: &str, args: &[&str], input: &str) -> (bool, String, String) {
    let mut cli = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["cli", url])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start sluice cli");
    cli.stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = cli.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The rows of a `/query-stream` answer in its default delimited form: a header
/// line, then one JSON array per row.
fn query_stream(client: &reqwest::blocking::Client, url: &str, body: Value) -> Vec<Value> {
    let (status, text) = post(client, &format!("{url}/query-stream"), body);
    assert_eq!(status, 200, "{text}");
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header: Value = serde_json::from_str(lines.next().expect("header")).unwrap();
    assert!(header["queryId"].is_string(), "{header}");
    lines
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect()
}

/// Table rows of the CLI's tabular output that mention `needle`, as trimmed cells.
fn table_rows(out: &str, needle: &str) -> Vec<Vec<String>> {
    out.lines()
        .filter(|l| l.starts_with('|') && l.contains(needle))
        .map(|l| {
            l.trim_matches('|')
                .split('|')
                .map(|c| c.trim().to_string())
                .collect()
        })
        .collect()
}

/// The first-time user's path: start the server, create a stream and insert rows
/// from `sluice cli`, run a push query and a pull query there, then get the same
/// answers from `/query-stream`.
#[test]
fn new_user_gets_the_same_answers_from_the_cli_and_query_stream() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, url) = start_server(dir.path());
    let client = reqwest::blocking::Client::new();

    let out = cli_session(
        &url,
        "SET 'auto.offset.reset' = 'earliest';\n\
         CREATE STREAM PAGEVIEWS (USER_ID STRING KEY, PAGE STRING)\n  WITH (kafka_topic='pageviews', value_format='JSON', partitions=1);\n\
         INSERT INTO PAGEVIEWS (USER_ID, PAGE) VALUES ('alice', 'home');\n\
         INSERT INTO PAGEVIEWS (USER_ID, PAGE) VALUES ('bob', 'cart');\n\
         INSERT INTO PAGEVIEWS (USER_ID, PAGE) VALUES ('alice', 'checkout');\n\
         CREATE TABLE VIEWS AS SELECT USER_ID, COUNT(*) AS N FROM PAGEVIEWS GROUP BY USER_ID;\n\
         SELECT USER_ID, PAGE FROM PAGEVIEWS EMIT CHANGES LIMIT 3;\n\
         exit\n",
    );
    let push_in_cli: Vec<Vec<String>> = ["home", "cart", "checkout"]
        .iter()
        .flat_map(|page| table_rows(&out, page))
        .collect();
    assert_eq!(
        push_in_cli,
        vec![
            vec!["alice".to_string(), "home".to_string()],
            vec!["bob".to_string(), "cart".to_string()],
            vec!["alice".to_string(), "checkout".to_string()],
        ],
        "{out}"
    );

    let push = query_stream(
        &client,
        &url,
        json!({"sql": "SELECT USER_ID, PAGE FROM PAGEVIEWS EMIT CHANGES LIMIT 3;",
               "properties": {"auto.offset.reset": "earliest"}}),
    );
    let push_rows: Vec<Vec<String>> = push
        .iter()
        .map(|r| {
            r.as_array()
                .unwrap()
                .iter()
                .map(|c| c.as_str().unwrap().to_string())
                .collect()
        })
        .collect();
    assert_eq!(push_rows, push_in_cli);

    // the table is maintained in the background: wait until it has seen all three rows
    let pull = json!({"sql": "SELECT * FROM VIEWS WHERE USER_ID = 'alice';"});
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let rows = loop {
        let rows = query_stream(&client, &url, pull.clone());
        if rows == vec![json!(["alice", 2])] || std::time::Instant::now() > deadline {
            break rows;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert_eq!(rows, vec![json!(["alice", 2])]);

    let out = cli_session(&url, "SELECT * FROM VIEWS WHERE USER_ID = 'alice';\nexit\n");
    assert_eq!(
        table_rows(&out, "alice"),
        vec![vec!["alice".to_string(), "2".to_string()]],
        "{out}"
    );
}

/// Install the npm `ksqldb-client` package (a ksqlDB client Sluice's authors did not
/// write) once under the user's cache; its `node_modules`.
fn install_ksqldb_client() -> std::path::PathBuf {
    let home = std::env::var_os("HOME").map(std::path::PathBuf::from);
    let prefix = home
        .unwrap_or_else(std::env::temp_dir)
        .join(".cache/sluice/npm-ksqldb-client");
    let modules = prefix.join("node_modules");
    if !modules.join("ksqldb-client/package.json").exists() {
        std::fs::create_dir_all(&prefix).expect("npm prefix");
        let out = Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--prefix"])
            .arg(&prefix)
            .arg("ksqldb-client@1.0.5")
            .output()
            .expect("npm is needed to install the third-party ksqlDB client");
        assert!(
            out.status.success(),
            "npm install ksqldb-client failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    modules
}

/// The same endpoints driven by a third-party ksqlDB client (npm `ksqldb-client`,
/// HTTP/2): statements, inserts, a push query, a pull query, an error, DESCRIBE.
#[test]
fn third_party_ksqldb_client_works_unchanged() {
    let modules = install_ksqldb_client();
    let dir = tempfile::tempdir().unwrap();
    let (_server, url) = start_server(dir.path());
    let port = url.rsplit(':').next().expect("port in URL");
    let script = common::repo_root().join("tests/clients/ksqldb-client.js");
    let out = Command::new("node")
        .arg(&script)
        .arg(port)
        .env("NODE_PATH", &modules)
        .output()
        .expect("node is needed to run the third-party client");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("all checks passed"), "{stdout}");
}

/// A test CA and a certificate for 127.0.0.1 it signed (the test kit's):
/// the server's PEM keystore and the CA's certificate (what a client trusts).
fn test_certificate(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let ca = sluice_testkit::make_certificates(dir);
    (dir.join("broker-keystore.pem"), ca)
}

/// `sluice cli` against an `https://` server with basic auth, as ksqlDB's CLI
/// is used: `-u`/`-p` and a `--config-file` naming the truststore; a wrong
/// password and an untrusted certificate are refused with the reason.
#[test]
fn the_cli_reaches_an_https_server_with_basic_auth() {
    let dir = tempfile::tempdir().unwrap();
    let (keystore, cert) = test_certificate(dir.path());
    let users = dir.path().join("users");
    std::fs::write(&users, "alice: secret\n").unwrap();
    let (_server, url) = start_server_with(
        dir.path(),
        &[
            "--listeners",
            "https://127.0.0.1:0",
            "--set",
            &format!("ssl.keystore.location={}", keystore.display()),
            "--set",
            &format!("sluice.authentication.users.file={}", users.display()),
        ],
    );
    let config = dir.path().join("cli.properties");
    std::fs::write(
        &config,
        format!("ssl.truststore.location={}\n", cert.display()),
    )
    .unwrap();
    let cli = |extra: &[&str]| {
        let (ok, stdout, stderr) = cli_run(&url, extra, "SHOW STREAMS;\n");
        (ok, stdout + &stderr)
    };
    let config = config.to_str().unwrap();
    let (ok, out) = cli(&["-u", "alice", "-p", "secret", "--config-file", config]);
    assert!(ok && out.contains("KSQL_PROCESSING_LOG"), "{out}");
    let (ok, out) = cli(&["-u", "alice", "-p", "wrong", "--config-file", config]);
    assert!(!ok && out.contains("refused the credentials"), "{out}");
    // without the truststore the self-signed certificate is not trusted
    let (ok, out) = cli(&["-u", "alice", "-p", "secret"]);
    assert!(!ok && out.contains("Cannot reach"), "{out}");
}

/// An `https://` listener with a PEM keystore: curl, trusting only that certificate,
/// gets answers over HTTP/1.1 and HTTP/2 (ALPN); a plain-HTTP request is refused.
#[test]
fn https_listener_serves_tls_with_a_pem_keystore() {
    let dir = tempfile::tempdir().unwrap();
    let (keystore, cert) = test_certificate(dir.path());
    let setting = format!("ssl.keystore.location={}", keystore.display());
    let (_server, url) = start_server_with(
        dir.path(),
        &["--listeners", "https://127.0.0.1:0", "--set", &setting],
    );
    assert!(url.starts_with("https://"), "{url}");
    let curl = |extra: &[&str], path: &str, body: Option<&str>| {
        let mut c = Command::new("curl");
        c.args(["-sS", "--cacert"]).arg(&cert).args(extra);
        if let Some(b) = body {
            c.args(["-X", "POST", "-d", b]);
        }
        let out = c.arg(format!("{url}{path}")).output().expect("curl");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (ok, info) = curl(&["--http1.1"], "/info", None);
    assert!(ok && info.contains("RUNNING"), "{info}");
    let (ok, text) = curl(
        &["--http2", "-w", "\nHTTP/%{http_version}"],
        "/ksql",
        Some(r#"{"ksql": "SHOW STREAMS;"}"#),
    );
    assert!(ok, "{text}");
    assert!(text.contains("\"@type\":\"streams\""), "{text}");
    assert!(text.ends_with("HTTP/2"), "{text}");
    // plain HTTP to the TLS port gets no answer
    let plain = url.replace("https://", "http://");
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "5", &format!("{plain}/info")])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&out.stdout).contains("RUNNING"));
}

/// Confluent's Python client (`SchemaRegistryClient`, `AvroSerializer`,
/// `AvroDeserializer`) against the embedded schema registry of the real binary;
/// then a stream created from the schema its serializer registered.
#[test]
fn confluent_python_client_works_against_the_embedded_registry() {
    let python = common::install_confluent_kafka();
    let dir = tempfile::tempdir().unwrap();
    let (_server, url, registry) = start_server_with_registry(dir.path());
    let script = common::repo_root().join("tests/clients/schema-registry-client.py");
    let out = Command::new(&python)
        .arg(&script)
        .arg(&registry)
        .output()
        .expect("run the schema registry client script");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("all checks passed"), "{stdout}");

    // the engine sees what the Python serializer registered
    let client = reqwest::blocking::Client::new();
    let (status, text) = post(
        &client,
        &format!("{url}/ksql"),
        json!({"ksql": "CREATE STREAM PYUSERS WITH (kafka_topic='pyusers', value_format='AVRO', partitions=1); DESCRIBE PYUSERS;"}),
    );
    assert_eq!(status, 200, "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    let names: Vec<&str> = v[1]["sourceDescription"]["fields"]
        .as_array()
        .map(|fields| fields.iter().filter_map(|f| f["name"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(names, vec!["ID", "NAME", "EMAIL"], "{text}");
}

/// Schemas registered over the registry's REST API keep their ids and versions
/// when the server restarts on the same data directory (the `_schemas` topic).
#[test]
fn registry_state_survives_a_server_restart() {
    let dir = tempfile::tempdir().unwrap();
    let client = reqwest::blocking::Client::new();
    let register = |registry: &str, subject: &str, schema: &str| {
        post(
            &client,
            &format!("{registry}/subjects/{subject}/versions"),
            json!({"schema": schema}),
        )
    };
    {
        let (_server, _, registry) = start_server_with_registry(dir.path());
        assert_eq!(
            register(&registry, "a-value", "\"int\""),
            (200, r#"{"id":1}"#.into())
        );
        assert_eq!(
            register(&registry, "b-value", "\"float\""),
            (200, r#"{"id":2}"#.into())
        );
        let (status, _) = post(
            &client,
            &format!("{registry}/subjects/b-value/versions"),
            json!({"schema": "\"double\""}),
        );
        assert_eq!(status, 200);
        let deleted = client
            .delete(format!("{registry}/subjects/a-value"))
            .send()
            .unwrap();
        assert_eq!(deleted.status().as_u16(), 200);
    }
    let (_server, _, registry) = start_server_with_registry(dir.path());
    let get = |path: &str| -> Value {
        client
            .get(format!("{registry}{path}"))
            .send()
            .unwrap()
            .json()
            .unwrap()
    };
    assert_eq!(get("/subjects"), json!(["b-value"]));
    assert_eq!(get("/subjects?deleted=true"), json!(["a-value", "b-value"]));
    assert_eq!(
        get("/subjects/b-value/versions/1"),
        json!({"subject": "b-value", "version": 1, "id": 2, "schema": "\"float\""})
    );
    assert_eq!(get("/subjects/b-value/versions"), json!([1, 2]));
    assert_eq!(
        register(&registry, "c-value", "\"string\""),
        (200, r#"{"id":4}"#.into())
    );
}

/// A Prometheus text parser (the Prometheus project's Python client) reads
/// `/metrics`; the series name the running query and its source topic.
#[test]
fn metrics_are_read_by_a_real_prometheus_parser() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, url) = start_server(dir.path());
    let client = reqwest::blocking::Client::new();
    let (status, body) = post(
        &client,
        &format!("{url}/ksql"),
        json!({"ksql": "CREATE STREAM S (K STRING KEY, V INT) WITH (kafka_topic='s', value_format='JSON', partitions=2); \
                        CREATE STREAM T AS SELECT * FROM S; \
                        INSERT INTO S (K, V) VALUES ('a', 1); INSERT INTO S (K, V) VALUES ('b', 2);",
               "streamsProperties": {"auto.offset.reset": "earliest"}}),
    );
    assert_eq!(status, 200, "{body}");
    // the copy takes both records, then the figures settle
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let text = loop {
        let text = client
            .get(format!("{url}/metrics"))
            .send()
            .expect("GET /metrics")
            .text()
            .expect("body");
        let consumed = text
            .lines()
            .any(|l| l.starts_with("sluice_topic_records_consumed_total{topic=\"s\"} 2"));
        if consumed || std::time::Instant::now() > deadline {
            break text;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    let python = common::python_with(
        "import prometheus_client.openmetrics.parser",
        "prometheus-client",
    );
    let script = "import sys\n\
        from prometheus_client.openmetrics.parser import text_string_to_metric_families\n\
        for family in text_string_to_metric_families(sys.stdin.read()):\n\
        \x20   for s in family.samples:\n\
        \x20       labels = ','.join(f'{k}={v}' for k, v in sorted(s.labels.items()))\n\
        \x20       print(f'{s.name}|{labels}|{s.value}')\n";
    let mut child = std::process::Command::new(python)
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the parser refused /metrics:\n{}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    let samples = String::from_utf8_lossy(&out.stdout).to_string();
    let query = samples
        .lines()
        .find_map(|l| l.strip_prefix("sluice_query_state|query_id="))
        .and_then(|rest| rest.split(',').next())
        .unwrap_or_else(|| panic!("a query state in\n{samples}"))
        .to_string();
    for expected in [
        format!("sluice_query_records_consumed_total|query_id={query}|2"),
        format!("sluice_query_records_produced_total|query_id={query}|2"),
        format!("sluice_query_state|query_id={query},state=RUNNING|1"),
        format!("sluice_query_lag|partition=0,query_id={query},topic=s|0"),
        "sluice_topic_records_consumed_total|topic=s|2".to_string(),
    ] {
        assert!(
            samples.lines().any(|l| l == expected),
            "{expected} in\n{samples}"
        );
    }
    // DESCRIBE EXTENDED shows the same figures in ksqlDB's shapes
    let (status, body) = post(
        &client,
        &format!("{url}/ksql"),
        json!({"ksql": "DESCRIBE S EXTENDED;"}),
    );
    assert_eq!(status, 200, "{body}");
    let d: Value = serde_json::from_str(&body).unwrap();
    let d = &d[0]["sourceDescription"];
    let stats = d["statistics"].as_str().unwrap();
    assert!(stats.contains("consumer-total-messages:"), "{stats}");
    assert!(stats.contains("last-message:"), "{stats}");
    assert!(d["errorStats"]
        .as_str()
        .unwrap()
        .contains("consumer-failed-messages:"));
    let summary = &d["queryOffsetSummaries"][0];
    assert_eq!(
        summary["groupId"],
        format!("_confluent-ksql-default_query_{query}")
    );
    let offsets = summary["topicSummaries"][0]["offsets"].as_array().unwrap();
    let committed: i64 = offsets
        .iter()
        .map(|o| o["consumerOffset"].as_i64().unwrap())
        .sum();
    let ends: i64 = offsets
        .iter()
        .map(|o| o["logEndOffset"].as_i64().unwrap())
        .sum();
    assert_eq!((committed, ends), (2, 2), "{summary}");
    // the health check asks the log for real
    let health: Value = client
        .get(format!("{url}/healthcheck"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(health["isHealthy"], true, "{health}");
    assert_eq!(health["details"]["kafka"]["isHealthy"], true, "{health}");
}
