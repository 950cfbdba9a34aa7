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

/// A Python venv with Confluent's `confluent-kafka` client (schema registry and
/// Avro extras), created once under the user's cache; its interpreter.
pub fn install_confluent_kafka() -> std::path::PathBuf {
    python_with(
        "import confluent_kafka.schema_registry, confluent_kafka.schema_registry.avro, fastavro",
        "confluent-kafka[avro,schemaregistry]",
    )
}

/// The project's Python venv under the user's cache (created once), with
/// `package` installed from PyPI unless `imports` already runs; its
/// interpreter.
pub fn python_with(imports: &str, package: &str) -> std::path::PathBuf {
    let home = std::env::var_os("HOME").map(std::path::PathBuf::from);
    let venv = home
        .unwrap_or_else(std::env::temp_dir)
        .join(".cache/sluice/py");
    let python = venv.join("bin/python");
    let ready = |python: &std::path::Path| {
        Command::new(python)
            .args(["-c", imports])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if ready(&python) {
        return python;
    }
    // one installer at a time: several test binaries may want the venv
    std::fs::create_dir_all(venv.parent().expect("a parent")).expect("the cache directory");
    let lock = std::fs::File::create(venv.with_extension("lock")).expect("the venv lock");
    lock.lock().expect("locking the venv");
    if ready(&python) {
        return python;
    }
    if !python.exists() {
        let out = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .output()
            .expect("python3 is needed for the third-party clients");
        assert!(
            out.status.success(),
            "python3 -m venv failed (is python3-venv installed?):\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let out = Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            package,
        ])
        .output()
        .expect("pip");
    assert!(
        out.status.success(),
        "pip install {package} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        ready(&python),
        "{package} does not import after installing it"
    );
    python
}

/// Every record of every partition of `topic`.
pub fn fetch_topic(log: &dyn sluice_log::Log, topic: &str) -> Vec<sluice_log::StoredRecord> {
    let partitions = log.end_offsets(topic).expect("end offsets").len();
    (0..partitions as i32)
        .flat_map(|p| sluice_log::testing::fetch_all(log, topic, p, 0))
        .collect()
}

/// Starts `sluice server` with `args` (after `server`), its stderr appended
/// to `log`, and waits for its first line: the child and the URL it
/// listens on. Its stdout is drained from then on, so it never blocks on a
/// full pipe.
pub fn spawn_server<A: AsRef<std::ffi::OsStr>>(
    args: impl IntoIterator<Item = A>,
    log: &std::path::Path,
) -> (std::process::Child, String) {
    use std::io::{BufRead, BufReader};
    let mut child = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .arg("server")
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(log)
                .expect("server log"),
        )
        .spawn()
        .expect("start sluice server");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout"));
    let mut first = String::new();
    lines
        .read_line(&mut first)
        .expect("the server's first line");
    let url = first
        .trim()
        .strip_prefix("Sluice server listening on ")
        .unwrap_or_else(|| panic!("sluice server said: {first}"))
        .to_string();
    std::thread::spawn(move || for _ in lines.lines() {});
    (child, url)
}

/// Starts `sluice server` of service `service_id` on `port` against the
/// Kafka cluster at `bootstrap`, data under `data`, with `extra` arguments
/// (see [`spawn_server`]; its log is `server.log` beside `data`).
pub fn spawn_kafka_server(
    bootstrap: &str,
    port: u16,
    service_id: &str,
    data: &std::path::Path,
    extra: &[&str],
) -> (std::process::Child, String) {
    let listener = format!("http://127.0.0.1:{port}");
    let service = format!("ksql.service.id={service_id}");
    let mut args: Vec<&std::ffi::OsStr> = vec![
        "--listeners".as_ref(),
        listener.as_ref(),
        "--bootstrap-servers".as_ref(),
        bootstrap.as_ref(),
        "--set".as_ref(),
        "schema.registry.listeners=none".as_ref(),
        "--set".as_ref(),
        service.as_ref(),
        "--data-dir".as_ref(),
        data.as_os_str(),
    ];
    args.extend(extra.iter().map(std::ffi::OsStr::new));
    let log = data.with_file_name("server.log");
    spawn_server(args, &log)
}

/// The rows (each its columns) a pull query `sql` answers over REST on the
/// server at `host_port`; none when the server does not answer.
#[allow(dead_code)]
pub fn pull_rows(host_port: &str, sql: &str) -> Vec<Vec<serde_json::Value>> {
    let Ok(resp) = reqwest::blocking::Client::new()
        .post(format!("http://{host_port}/query"))
        .body(serde_json::json!({ "ksql": sql }).to_string())
        .send()
    else {
        return Vec::new();
    };
    let rows: serde_json::Value = resp.json().unwrap_or(serde_json::Value::Null);
    rows.as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["row"]["columns"].as_array().cloned())
        .collect()
}

/// A running `sluice server` and where it listens (its URL, or `host:port`);
/// SIGKILLed on drop.
pub struct ServerProcess(pub std::process::Child, pub String);

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `sluice server` on the embedded log in `dir/data` (no registry listener,
/// `auto.offset.reset=earliest`), its log in `dir/server.log`.
#[allow(dead_code)]
pub fn start_embedded(dir: &std::path::Path) -> ServerProcess {
    start_embedded_with(dir, &[])
}

/// [`start_embedded`] with `extra` arguments after the others (`--set KEY=VALUE`...).
#[allow(dead_code)]
pub fn start_embedded_with(dir: &std::path::Path, extra: &[&str]) -> ServerProcess {
    let data = dir.join("data");
    let mut args: Vec<&std::ffi::OsStr> = vec![
        "--listeners".as_ref(),
        "http://127.0.0.1:0".as_ref(),
        "--set".as_ref(),
        "schema.registry.listeners=none".as_ref(),
        "--set".as_ref(),
        "auto.offset.reset=earliest".as_ref(),
        "--data-dir".as_ref(),
        data.as_os_str(),
    ];
    args.extend(extra.iter().map(std::ffi::OsStr::new));
    let (child, url) = spawn_server(args, &dir.join("server.log"));
    ServerProcess(child, url)
}

/// Posts `sql` to `/ksql` of the server at `base` (`http://host:port`),
/// asserting it succeeds; its entities.
#[allow(dead_code)]
pub fn post_ksql(base: &str, sql: &str) -> serde_json::Value {
    let (status, body) = post_ksql_answer(base, sql);
    assert!((200..300).contains(&status), "{sql}: {status} {body}");
    body
}

/// `POST /ksql` whatever it answers: the status and the body's JSON.
pub fn post_ksql_answer(base: &str, sql: &str) -> (u16, serde_json::Value) {
    post_ksql_request(base, serde_json::json!({ "ksql": sql }))
}

/// `POST /ksql` of a whole request body: the status and the body's JSON.
pub fn post_ksql_request(base: &str, request: serde_json::Value) -> (u16, serde_json::Value) {
    let resp = reqwest::blocking::Client::new()
        .post(format!("{base}/ksql"))
        .body(request.to_string())
        .send()
        .expect("POST /ksql");
    let status = resp.status().as_u16();
    let text = resp.text().unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or_default())
}
