//! A real Kafka-protocol broker on loopback for tests: tansu, installed from
//! crates.io on first use (`cargo install tansu --features dynostore,libsql`,
//! kept under `$HOME/.cache/sluice/tansu-sqlite` so later runs on the machine
//! reuse it) and started per test on a free port, with in-memory storage or,
//! to survive a restart, SQLite storage in a directory. Dropping the
//! [`TestBroker`] stops it.

use std::collections::BTreeMap;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The tansu release the tests run, and the features they need (dynostore
/// for in-memory storage, libsql for SQLite storage).
const TANSU_VERSION: &str = "0.6.0";
const TANSU_FEATURES: &str = "dynostore,libsql";

/// A running broker process.
pub struct TestBroker {
    child: Child,
    port: u16,
    /// Arguments after `broker --listener-url ... --advertised-listener-url ...`.
    args: Vec<String>,
    /// Where a persistent broker keeps its SQLite file.
    dir: Option<PathBuf>,
}

impl TestBroker {
    /// Installs tansu when missing, starts it and waits until it accepts
    /// connections.
    pub fn start() -> TestBroker {
        Self::start_with(&[])
    }

    /// A broker that requires SASL authentication of its clients.
    pub fn start_authenticated() -> TestBroker {
        Self::start_with(&["--authentication"])
    }

    /// A broker storing its topics in a SQLite file under `dir`, so that
    /// [`TestBroker::restart`] finds them again.
    pub fn start_persistent(dir: &Path) -> TestBroker {
        let args = vec![
            "--storage-engine".to_string(),
            "sqlite://tansu.db".to_string(),
        ];
        Self::launch(args, Some(dir.to_path_buf()))
    }

    fn start_with(extra: &[&str]) -> TestBroker {
        let mut args = vec![
            "--storage-engine".to_string(),
            "memory://tansu/".to_string(),
        ];
        args.extend(extra.iter().map(|a| a.to_string()));
        Self::launch(args, None)
    }

    fn launch(args: Vec<String>, dir: Option<PathBuf>) -> TestBroker {
        let port = free_port();
        let child = spawn(port, &args, dir.as_deref());
        let broker = TestBroker {
            child,
            port,
            args,
            dir,
        };
        broker.wait_listening();
        broker
    }

    fn wait_listening(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "tansu did not listen on {}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stop the broker process (SIGKILL: nothing is flushed on the way out)
    /// and keep it down until [`TestBroker::start_again`].
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Start a stopped broker again on the same port and storage.
    pub fn start_again(&mut self) {
        self.child = spawn(self.port, &self.args, self.dir.as_deref());
        self.wait_listening();
    }

    /// Freeze the broker process (SIGSTOP): it stops answering, connections
    /// stay open, nothing it stored is lost.
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// Let a paused broker run again (SIGCONT).
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, sig: &str) {
        let status = Command::new("kill")
            .arg(sig)
            .arg(self.child.id().to_string())
            .status()
            .expect("kill");
        assert!(status.success(), "kill {sig} failed");
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

fn spawn(port: u16, args: &[String], dir: Option<&Path>) -> Child {
    let binary = tansu_binary();
    let url = format!("tcp://127.0.0.1:{port}");
    let mut command = Command::new(&binary);
    command
        .args([
            "broker",
            "--listener-url",
            &url,
            "--advertised-listener-url",
            &url,
            "--silent",
        ])
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if let Some(dir) = dir {
        command.current_dir(dir);
    }
    command
        .spawn()
        .unwrap_or_else(|e| panic!("starting {}: {e}", binary.display()))
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
    let root = home.join(".cache/sluice/tansu-sqlite");
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
            TANSU_VERSION,
            "--features",
            TANSU_FEATURES,
        ])
        .args(["--locked", "--root"])
        .arg(root)
        .status()
        .expect("running cargo install tansu");
    assert!(status.success(), "cargo install tansu failed");
}
