//! PostgreSQL for tests: a throwaway cluster on a free loopback port.
//!
//! The server comes from Debian's `postgresql` package (installed with
//! apt-get when `/usr/lib/postgresql/<version>/bin` has no server; the newest
//! installed version is used). Each [`Postgres`] initializes its own cluster
//! in a fresh temporary directory (`initdb --no-sync`, locale C, UTF-8) and
//! runs it as the `postgres` user when the tests run as root (PostgreSQL
//! refuses root), as the current user otherwise. It listens on TCP
//! 127.0.0.1 (password, SCRAM-SHA-256) and on a unix socket inside its
//! directory (trust, used for the superuser `postgres`). `fsync` is off
//! (a SIGKILL of the server loses nothing committed; a machine crash could),
//! and `wal_level=logical`, so logical replication works.
//!
//! The tests talk to it with `psql` only, as user `sluice` (password
//! `sluice`, `CREATEDB REPLICATION`) in database `sluice`, which it owns.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::process::{self, Service};
use crate::server::{self, RunAs};
use crate::{free_port, wait_for};

const USER: &str = "sluice";
const PASSWORD: &str = "sluice";
const DATABASE: &str = "sluice";

/// How long a start (or a crash recovery) may take.
const READY_TIMEOUT: Duration = Duration::from_secs(120);

/// A running (or killed) PostgreSQL server with its own data directory.
pub struct Postgres {
    /// The server (the postmaster), `None` once killed.
    service: Option<Service>,
    port: u16,
    /// `/usr/lib/postgresql/<version>/bin`.
    bin: PathBuf,
    client: Client,
    /// The user the server runs as (`None`: the current user).
    run_as: Option<RunAs>,
    /// The temporary directory: `data/`, the socket, `postgres.log`.
    dir: PathBuf,
    /// Removes `dir` once the server has stopped (declared last: dropped
    /// after everything else).
    _temp: tempfile::TempDir,
}

/// How `psql` reaches the server.
#[derive(Debug, Clone)]
struct Client {
    psql: PathBuf,
    port: u16,
    socket_dir: PathBuf,
}

impl Client {
    /// `psql` reading a script from its standard input, stopping at the first
    /// error.
    fn psql(&self) -> Command {
        let mut command = Command::new(&self.psql);
        command
            .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", "-", "-p"])
            .arg(self.port.to_string())
            .env("PGCONNECT_TIMEOUT", "10")
            .env_remove("PGSERVICE")
            .env_remove("PGOPTIONS");
        command
    }

    /// As the superuser `postgres`, over the unix socket.
    fn superuser(&self) -> Command {
        let mut command = self.psql();
        command
            .arg("-h")
            .arg(&self.socket_dir)
            .args(["-U", "postgres", "-d", "postgres"]);
        command
    }

    /// As `sluice`, over TCP with its password.
    fn sluice(&self) -> Command {
        let mut command = self.psql();
        command
            .args(["-h", "127.0.0.1", "-U", USER, "-d", DATABASE])
            .env("PGPASSWORD", PASSWORD);
        command
    }
}

/// The server's programs and `psql`, when installed.
fn installed() -> Option<(PathBuf, PathBuf)> {
    let bin = bin_dir()?;
    let psql = Some(bin.join("psql"))
        .filter(|p| p.is_file())
        .or_else(|| server::find_program(&["psql"]))?;
    Some((bin, psql))
}

/// The newest `/usr/lib/postgresql/<version>/bin` holding a server.
fn bin_dir() -> Option<PathBuf> {
    let mut found: Vec<(Vec<u32>, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let name = entry.file_name().into_string().ok()?;
            let version = name
                .split('.')
                .map(|part| part.parse::<u32>().ok())
                .collect::<Option<Vec<u32>>>()?;
            let bin = entry.path().join("bin");
            (bin.join("initdb").is_file() && bin.join("postgres").is_file())
                .then_some((version, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin)
}

impl Postgres {
    /// Installs PostgreSQL's Debian packages when its programs are missing.
    pub fn install() {
        server::ensure_packages("PostgreSQL", &["postgresql"], || installed().is_some());
    }

    /// Installs the server packages when missing, initializes a cluster in a
    /// fresh temporary directory, starts it on a free loopback port, creates
    /// user `sluice` (password `sluice`) and database `sluice` owned by it,
    /// and waits until it accepts connections. Panics with the server's log
    /// when it cannot start.
    pub fn start() -> Postgres {
        Self::install();
        let (bin, psql) = installed().expect("PostgreSQL's programs, just installed");
        let run_as = server::service_user("postgres");
        let temp = server::scratch_dir("sluice-postgres-", run_as.as_ref());
        let dir = temp.path().to_path_buf();
        process::run(
            "initdb",
            server::command_as(run_as.as_ref(), &bin.join("initdb"), &dir)
                .arg("-D")
                .arg(dir.join("data"))
                .args([
                    "-U",
                    "postgres",
                    "--auth-local=trust",
                    "--auth-host=scram-sha-256",
                    "--encoding=UTF8",
                    "--locale=C",
                    "--no-sync",
                    "--no-instructions",
                ]),
        )
        .unwrap_or_else(|e| {
            panic!(
                "initializing a PostgreSQL cluster in {}: {e}",
                dir.display()
            )
        });
        let port = free_port();
        let mut postgres = Postgres {
            service: None,
            port,
            bin,
            client: Client {
                psql,
                port,
                socket_dir: dir.clone(),
            },
            run_as,
            dir,
            _temp: temp,
        };
        postgres.spawn();
        postgres.wait_ready(true);
        let setup = format!(
            "CREATE ROLE {USER} LOGIN PASSWORD '{PASSWORD}' CREATEDB REPLICATION;\n\
             CREATE DATABASE {DATABASE} OWNER {USER};\n"
        );
        server::run_client(
            "creating PostgreSQL's sluice user and database",
            &mut postgres.client.superuser(),
            &setup,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        postgres.wait_ready(false);
        postgres
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn user(&self) -> &str {
        USER
    }

    pub fn password(&self) -> &str {
        PASSWORD
    }

    pub fn database(&self) -> &str {
        DATABASE
    }

    /// `postgres://sluice:sluice@127.0.0.1:PORT/sluice`
    pub fn url(&self) -> String {
        format!(
            "postgres://{USER}:{PASSWORD}@127.0.0.1:{}/{DATABASE}",
            self.port
        )
    }

    /// `jdbc:postgresql://127.0.0.1:PORT/sluice`
    pub fn jdbc_url(&self) -> String {
        format!("jdbc:postgresql://127.0.0.1:{}/{DATABASE}", self.port)
    }

    /// The postmaster's process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.service.as_ref().map(Service::pid)
    }

    /// The server's log (its standard output and error).
    pub fn log_path(&self) -> PathBuf {
        self.dir.join("postgres.log")
    }

    /// Runs SQL (one or more statements) as `sluice` with `psql -v
    /// ON_ERROR_STOP=1`, panicking with psql's output on the first error.
    pub fn execute(&self, sql: &str) {
        server::run_client("psql", &mut self.client.sluice(), sql)
            .unwrap_or_else(|e| panic!("{e}\nSQL: {sql}"));
    }

    /// The rows `sql` returns as lines of tab-separated text, without a
    /// header (`psql -At -F '\t'`: NULL is an empty field).
    pub fn query(&self, sql: &str) -> Vec<String> {
        let mut command = self.client.sluice();
        command.args(["-A", "-t", "-F", "\t"]);
        server::run_client("psql", &mut command, sql)
            .unwrap_or_else(|e| panic!("{e}\nSQL: {sql}"))
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// SIGKILLs the server, the postmaster and every process it started at
    /// once: nothing is flushed, the next start runs crash recovery.
    pub fn kill(&mut self) {
        if let Some(mut service) = self.service.take() {
            let children = server::children_of(service.pid());
            service.kill();
            server::kill_all(&children);
        }
    }

    /// Starts a killed server again on its port and data, and waits until
    /// `sluice` can connect (crash recovery done).
    pub fn start_again(&mut self) {
        assert!(
            self.service.is_none(),
            "PostgreSQL is running: kill it first"
        );
        self.spawn();
        self.wait_ready(false);
    }

    fn spawn(&mut self) {
        let mut spec = server::service_as(
            "postgres",
            self.run_as.as_ref(),
            &self.bin.join("postgres"),
            &self.dir,
            &self.log_path(),
        )
        .arg("-D")
        .arg(self.dir.join("data"))
        .arg("-p")
        .arg(self.port.to_string())
        .arg("-k")
        .arg(self.dir.clone())
        .args([
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            "fsync=off",
            "-c",
            "wal_level=logical",
            "-c",
            "logging_collector=off",
        ]);
        // immediate shutdown: the postmaster SIGQUITs its children and waits
        spec.stop_signal = "QUIT";
        // removed by the guard if this process dies without dropping us
        spec.cleanup = Some(self.dir.clone());
        self.service = Some(Service::start(&spec).unwrap_or_else(|e| panic!("{e}")));
    }

    /// Waits until `psql` gets an answer, as the superuser over the socket or
    /// as `sluice` over TCP; panics with the log when the server exits or
    /// does not answer in time.
    fn wait_ready(&mut self, superuser: bool) {
        let client = self.client.clone();
        let log = self.log_path();
        let service = self.service.as_mut().expect("PostgreSQL started");
        let deadline = Instant::now() + READY_TIMEOUT;
        wait_for(
            "PostgreSQL",
            READY_TIMEOUT + Duration::from_secs(10),
            || {
                if !service.is_running() {
                    panic!(
                        "PostgreSQL exited while starting ({}):\n{}",
                        log.display(),
                        service.log_tail(40)
                    );
                }
                let mut probe = if superuser {
                    client.superuser()
                } else {
                    client.sluice()
                };
                let answer = server::run_client("psql", &mut probe, "SELECT 1;").map(drop);
                if let Err(why) = &answer {
                    if Instant::now() >= deadline {
                        panic!(
                            "PostgreSQL on port {}: not ready after {READY_TIMEOUT:?}: {why}\n{}",
                            client.port,
                            service.log_tail(40)
                        );
                    }
                }
                answer
            },
        );
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        if let Some(mut service) = self.service.take() {
            service.stop();
        }
        // then `_temp` removes the directory
    }
}
