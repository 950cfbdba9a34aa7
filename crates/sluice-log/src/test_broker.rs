//! A real Kafka-protocol broker on loopback for tests: tansu, installed from
//! crates.io on first use (`cargo install tansu --features dynostore`, kept
//! under `$HOME/.cache/sluice/tansu` so later runs on the machine reuse it) and
//! started per test on a free port, with in-memory storage. Dropping the
//! [`TestBroker`] stops it.

use std::collections::BTreeMap;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running broker process.
pub struct TestBroker {
    child: Child,
    port: u16,
}

impl TestBroker {
    /// Installs tansu when missing, starts it and waits until it accepts
    /// connections.
    pub fn start() -> TestBroker {
        let binary = tansu_binary();
        let port = free_port();
        let url = format!("tcp://127.0.0.1:{port}");
        let child = Command::new(&binary)
            .args([
                "broker",
                "--listener-url",
                &url,
                "--advertised-listener-url",
                &url,
            ])
            .args(["--storage-engine", "memory://tansu/", "--silent"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", binary.display()));
        let broker = TestBroker { child, port };
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "tansu did not listen on {port}");
            std::thread::sleep(Duration::from_millis(50));
        }
        broker
    }

    /// `host:port` for `bootstrap.servers`.
    pub fn bootstrap_servers(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The properties that point a [`crate::KafkaLog`] at this broker.
    ///
    /// librdkafka 2.x crashes on the topic-id metadata updates tansu's newest
    /// Fetch responses cause; pinning the protocol to Kafka 2.8's request
    /// versions (no topic ids) avoids them.
    pub fn properties(&self) -> BTreeMap<String, String> {
        BTreeMap::from([
            ("bootstrap.servers".to_string(), self.bootstrap_servers()),
            ("api.version.request".to_string(), "false".to_string()),
            ("broker.version.fallback".to_string(), "2.8.0".to_string()),
        ])
    }
}

impl Drop for TestBroker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// `$SLUICE_TANSU`, else the cached install, installing it once (under a file
/// lock, so concurrent tests wait for one install).
pub fn tansu_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("SLUICE_TANSU") {
        return PathBuf::from(p);
    }
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("/tmp"), PathBuf::from);
    let root = home.join(".cache/sluice/tansu");
    let binary = root.join("bin/tansu");
    if binary.exists() {
        return binary;
    }
    std::fs::create_dir_all(&root).expect("creating the tansu cache directory");
    let lock = std::fs::File::create(root.join(".install.lock")).expect("tansu install lock");
    lock.lock().expect("locking the tansu install");
    if !binary.exists() {
        install(&root);
    }
    binary
}

fn install(root: &Path) {
    eprintln!(
        "installing the tansu broker into {} (once per machine)",
        root.display()
    );
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args([
            "install",
            "tansu",
            "--version",
            "0.6.0",
            "--features",
            "dynostore",
        ])
        .args(["--locked", "--root"])
        .arg(root)
        .status()
        .expect("running cargo install tansu");
    assert!(status.success(), "cargo install tansu failed");
}
