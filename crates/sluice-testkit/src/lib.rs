//! # sluice-testkit
//!
//! The services Sluice's tests, benchmarks and CI run against, started on
//! loopback by the test itself so that a fresh machine needs nothing but its
//! package registries:
//!
//! * [`kafka::KafkaCluster`]: Apache Kafka 4.x in KRaft mode (its jars fetched
//!   once from Maven Central into `$HOME/.cache/sluice`), one broker or three
//!   (replication 3, `min.insync.replicas=2`), optionally with a SASL_SSL
//!   (SCRAM-SHA-512) listener; brokers can be stopped, SIGKILLed and started
//!   again;
//! * [`postgres::Postgres`] and [`mariadb::MariaDb`]: throwaway database servers
//!   from Debian's packages (installed when missing), run as their own users;
//! * [`connect::ConnectWorker`]: Apache Kafka's own Kafka Connect worker (a JVM,
//!   its jars from Maven Central like the broker's) over such a cluster;
//! * [`wasm::build_c_module`]: WebAssembly modules built from C with
//!   Debian's clang and lld (installed when missing);
//! * [`browser`]: Debian's Chromium (installed when missing) and
//!   `playwright-core` from npm, for the web console's tests;
//! * [`process::Service`]: the process guard under all of them: a service never
//!   outlives the test process that started it, even when that process is
//!   killed.
//!
//! A test whose service (or compiler) cannot be started fails with the reason; it never
//! skips. This crate knows nothing of Sluice itself: it is a dev-dependency of
//! the crates whose tests need a broker or a database.

pub mod browser;
pub mod connect;
pub mod kafka;
pub mod mariadb;
pub mod postgres;
pub mod process;
mod server;
pub mod wasm;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// `$HOME/.cache/sluice`: where downloaded services are kept between runs on
/// one machine (never required to be there).
pub fn cache_dir() -> PathBuf {
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("/tmp"), PathBuf::from);
    home.join(".cache/sluice")
}

/// The lock file `name` under `dir` (created, with `dir`), held: parallel
/// tests that install the same thing wait on it and install once.
pub(crate) fn install_lock(dir: &std::path::Path, name: &str) -> std::fs::File {
    std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
    let path = dir.join(name);
    let lock =
        std::fs::File::create(&path).unwrap_or_else(|e| panic!("creating {}: {e}", path.display()));
    lock.lock()
        .unwrap_or_else(|e| panic!("locking {}: {e}", path.display()));
    lock
}

/// A loopback port nobody listens on right now, and never handed out before
/// by this process (the kernel may offer a port just released again, so two
/// calls in a row could otherwise name the same port for two listeners).
pub fn free_port() -> u16 {
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free loopback port");
        if !given.contains(&port) {
            given.push(port);
            return port;
        }
    }
}

/// Calls `probe` every 100 ms until it answers `Some`, or panics with `what`
/// (and the last reason `probe` gave) after `timeout`.
pub fn wait_for<T>(
    what: &str,
    timeout: Duration,
    mut probe: impl FnMut() -> Result<T, String>,
) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        match probe() {
            Ok(v) => return v,
            Err(why) if Instant::now() >= deadline => {
                panic!("{what}: not ready after {timeout:?}: {why}")
            }
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

/// Whether the current process runs as root (services that refuse root are
/// then started as their own users through `setpriv`).
pub fn running_as_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// A CA and a server certificate for 127.0.0.1/localhost signed by it, made
/// with openssl in `dir`: `broker-keystore.pem` (PKCS#8 key and chain, the PEM
/// keystore of Kafka's brokers and of `sluice server`'s `https://`
/// listeners); the CA's path (`ca.pem`) is returned for clients to trust.
pub fn make_certificates(dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).expect("the certificate directory");
    let openssl = |args: &[&str]| {
        process::run(
            "openssl",
            Command::new("openssl").args(args).current_dir(dir),
        )
        .unwrap_or_else(|e| panic!("making test certificates: {e}"));
    };
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=sluice-test-ca",
    ]);
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "broker.key",
        "-out",
        "broker.csr",
        "-subj",
        "/CN=localhost",
    ]);
    std::fs::write(
        dir.join("san.ext"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\n",
    )
    .expect("writing san.ext");
    openssl(&[
        "x509",
        "-req",
        "-in",
        "broker.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "broker.crt",
        "-days",
        "2",
        "-extfile",
        "san.ext",
    ]);
    openssl(&[
        "pkcs8",
        "-topk8",
        "-nocrypt",
        "-in",
        "broker.key",
        "-out",
        "broker.pk8",
    ]);
    let keystore = [
        std::fs::read_to_string(dir.join("broker.pk8")).expect("broker key"),
        std::fs::read_to_string(dir.join("broker.crt")).expect("broker certificate"),
        std::fs::read_to_string(dir.join("ca.pem")).expect("CA certificate"),
    ]
    .concat();
    std::fs::write(dir.join("broker-keystore.pem"), keystore).expect("writing the keystore");
    dir.join("ca.pem")
}
