//! MariaDB for tests: a throwaway server on a free loopback port.
//!
//! The server comes from Debian's `mariadb-server` and `mariadb-client`
//! packages (installed with apt-get when `mariadbd`, `mariadb-install-db` or
//! `mariadb` is missing). Each [`MariaDb`] initializes its own data directory
//! in a fresh temporary directory (`mariadb-install-db --no-defaults`, no
//! test database, root without a password on the socket) and runs it as the
//! `mysql` user when the tests run as root (mariadbd refuses root), as the
//! current user otherwise. It listens on TCP 127.0.0.1 and on a unix socket
//! inside its directory, with a small InnoDB (64 MiB buffer pool, 8 MiB redo
//! log), `innodb_flush_log_at_trx_commit=2` (a SIGKILL of the server loses
//! nothing committed; a machine crash could), utf8mb4, and a row-based
//! binary log (`server_id=1`), so change-data-capture readers work.
//!
//! The tests talk to it with the `mariadb` client only, as user `sluice`
//! (password `sluice`, all privileges) in database `sluice`.

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

/// The InnoDB settings both `mariadb-install-db` and the server get: small
/// and quick to create.
const INNODB: [&str; 3] = [
    "--innodb-buffer-pool-size=64M",
    "--innodb-log-file-size=8M",
    // no libaio/io_uring contexts (a shared, limited resource in containers)
    "--innodb-use-native-aio=0",
];

/// A running (or killed) MariaDB server with its own data directory.
pub struct MariaDb {
    /// The server (`mariadbd`), `None` once killed.
    service: Option<Service>,
    port: u16,
    programs: Programs,
    client: Client,
    /// The user the server runs as (`None`: the current user).
    run_as: Option<RunAs>,
    /// The temporary directory: `data/`, the socket, `mariadbd.log`.
    dir: PathBuf,
    /// Removes `dir` once the server has stopped (declared last: dropped
    /// after everything else).
    _temp: tempfile::TempDir,
}

/// Where MariaDB's programs are.
#[derive(Debug, Clone)]
struct Programs {
    server: PathBuf,
    install_db: PathBuf,
    client: PathBuf,
}

fn programs() -> Option<Programs> {
    Some(Programs {
        server: server::find_program(&["mariadbd", "mysqld"])?,
        install_db: server::find_program(&["mariadb-install-db", "mysql_install_db"])?,
        client: server::find_program(&["mariadb", "mysql"])?,
    })
}

/// How the `mariadb` client reaches the server.
#[derive(Debug, Clone)]
struct Client {
    program: PathBuf,
    port: u16,
    socket: PathBuf,
}

impl Client {
    /// The client reading statements from its standard input (batch mode:
    /// stops at the first error), printing rows tab-separated without
    /// column names.
    fn base(&self) -> Command {
        let mut command = Command::new(&self.program);
        // --no-defaults must come first
        command.args([
            "--no-defaults",
            "--batch",
            "--skip-column-names",
            "--default-character-set=utf8mb4",
            "--connect-timeout=10",
        ]);
        command
    }

    /// As `root` (no password), over the unix socket.
    fn root(&self) -> Command {
        let mut command = self.base();
        command
            .arg("--protocol=socket")
            .arg(format!("--socket={}", self.socket.display()))
            .arg("--user=root");
        command
    }

    /// As `sluice`, over TCP with its password, in database `sluice`.
    fn sluice(&self) -> Command {
        let mut command = self.base();
        command
            .args(["--protocol=tcp", "--host=127.0.0.1"])
            .arg(format!("--port={}", self.port))
            .arg(format!("--user={USER}"))
            .arg(format!("--password={PASSWORD}"))
            .arg(format!("--database={DATABASE}"));
        command
    }
}

impl MariaDb {
    /// Installs MariaDB's Debian packages when its programs are missing.
    pub fn install() {
        server::ensure_packages("MariaDB", &["mariadb-server", "mariadb-client"], || {
            programs().is_some()
        });
    }

    /// Installs the server packages when missing, initializes a data
    /// directory in a fresh temporary directory, starts the server on a free
    /// loopback port, creates user `sluice` (password `sluice`, from any
    /// host) and database `sluice`, and waits until it accepts connections.
    /// Panics with the server's log when it cannot start.
    pub fn start() -> MariaDb {
        Self::install();
        let programs = programs().expect("MariaDB's programs, just installed");
        let run_as = server::service_user("mysql");
        let temp = server::scratch_dir("sluice-mariadb-", run_as.as_ref());
        let dir = temp.path().to_path_buf();
        process::run(
            "mariadb-install-db",
            server::command_as(run_as.as_ref(), &programs.install_db, &dir)
                .arg("--no-defaults")
                .arg(format!("--datadir={}", dir.join("data").display()))
                .args([
                    "--auth-root-authentication-method=normal",
                    "--skip-test-db",
                    "--skip-name-resolve",
                ])
                .args(INNODB),
        )
        .unwrap_or_else(|e| {
            panic!(
                "initializing a MariaDB data directory in {}: {e}",
                dir.display()
            )
        });
        let port = free_port();
        let mut mariadb = MariaDb {
            service: None,
            port,
            client: Client {
                program: programs.client.clone(),
                port,
                socket: dir.join("mariadbd.sock"),
            },
            programs,
            run_as,
            dir,
            _temp: temp,
        };
        mariadb.spawn();
        mariadb.wait_ready(true);
        let mut setup = String::new();
        for host in ["%", "127.0.0.1", "localhost"] {
            setup.push_str(&format!(
                "CREATE USER '{USER}'@'{host}' IDENTIFIED BY '{PASSWORD}';\n\
                 GRANT ALL PRIVILEGES ON *.* TO '{USER}'@'{host}';\n"
            ));
        }
        setup.push_str(&format!("CREATE DATABASE {DATABASE};\n"));
        server::run_client(
            "creating MariaDB's sluice user and database",
            &mut mariadb.client.root(),
            &setup,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        mariadb.wait_ready(false);
        mariadb
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

    /// `mysql://sluice:sluice@127.0.0.1:PORT/sluice`
    pub fn url(&self) -> String {
        format!(
            "mysql://{USER}:{PASSWORD}@127.0.0.1:{}/{DATABASE}",
            self.port
        )
    }

    /// `jdbc:mariadb://127.0.0.1:PORT/sluice`
    pub fn jdbc_url(&self) -> String {
        format!("jdbc:mariadb://127.0.0.1:{}/{DATABASE}", self.port)
    }

    /// `jdbc:mysql://127.0.0.1:PORT/sluice`
    pub fn jdbc_mysql_url(&self) -> String {
        format!("jdbc:mysql://127.0.0.1:{}/{DATABASE}", self.port)
    }

    /// The server's process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.service.as_ref().map(Service::pid)
    }

    /// The server's log (its standard output and error).
    pub fn log_path(&self) -> PathBuf {
        self.dir.join("mariadbd.log")
    }

    /// Runs SQL (one or more `;`-separated statements) as `sluice` in
    /// database `sluice` with the `mariadb` client, panicking with its output
    /// on the first error.
    pub fn execute(&self, sql: &str) {
        server::run_client("mariadb", &mut self.client.sluice(), sql)
            .unwrap_or_else(|e| panic!("{e}\nSQL: {sql}"));
    }

    /// The rows `sql` returns as lines of tab-separated text, without a
    /// header (`mariadb -N -B`: NULL is `NULL`; tabs, newlines and
    /// backslashes in values are escaped as `\t`, `\n`, `\\`).
    pub fn query(&self, sql: &str) -> Vec<String> {
        server::run_client("mariadb", &mut self.client.sluice(), sql)
            .unwrap_or_else(|e| panic!("{e}\nSQL: {sql}"))
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// SIGKILLs the server: nothing is flushed, the next start runs crash
    /// recovery.
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
        assert!(self.service.is_none(), "MariaDB is running: kill it first");
        self.spawn();
        self.wait_ready(false);
    }

    fn spawn(&mut self) {
        let mut spec = server::service_as(
            "mariadbd",
            self.run_as.as_ref(),
            &self.programs.server,
            &self.dir,
            &self.log_path(),
        )
        // --no-defaults must come first
        .arg("--no-defaults")
        .arg(format!("--datadir={}", self.dir.join("data").display()))
        .arg(format!("--port={}", self.port))
        .arg("--bind-address=127.0.0.1")
        .arg(format!("--socket={}", self.client.socket.display()))
        .arg(format!(
            "--pid-file={}",
            self.dir.join("mariadbd.pid").display()
        ))
        .arg(format!("--tmpdir={}", self.dir.display()))
        .args(INNODB)
        .args([
            "--skip-name-resolve",
            "--innodb-flush-log-at-trx-commit=2",
            "--log-bin=binlog",
            "--binlog-format=ROW",
            "--server-id=1",
            "--character-set-server=utf8mb4",
            "--collation-server=utf8mb4_general_ci",
        ]);
        // a clean shutdown takes a fraction of a second with this small InnoDB
        spec.stop_signal = "TERM";
        // removed by the guard if this process dies without dropping us
        spec.cleanup = Some(self.dir.clone());
        self.service = Some(Service::start(&spec).unwrap_or_else(|e| panic!("{e}")));
    }

    /// Waits until the client gets an answer, as root over the socket or as
    /// `sluice` over TCP; panics with the log when the server exits or does
    /// not answer in time.
    fn wait_ready(&mut self, root: bool) {
        let client = self.client.clone();
        let log = self.log_path();
        let service = self.service.as_mut().expect("MariaDB started");
        let deadline = Instant::now() + READY_TIMEOUT;
        wait_for("MariaDB", READY_TIMEOUT + Duration::from_secs(10), || {
            if !service.is_running() {
                panic!(
                    "MariaDB exited while starting ({}):\n{}",
                    log.display(),
                    service.log_tail(40)
                );
            }
            let mut probe = if root { client.root() } else { client.sluice() };
            let answer = server::run_client("mariadb", &mut probe, "SELECT 1;").map(drop);
            if let Err(why) = &answer {
                if Instant::now() >= deadline {
                    panic!(
                        "MariaDB on port {}: not ready after {READY_TIMEOUT:?}: {why}\n{}",
                        client.port,
                        service.log_tail(40)
                    );
                }
            }
            answer
        });
    }
}

impl Drop for MariaDb {
    fn drop(&mut self) {
        if let Some(mut service) = self.service.take() {
            service.stop();
        }
        // then `_temp` removes the directory
    }
}
