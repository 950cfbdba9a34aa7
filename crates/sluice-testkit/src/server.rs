//! What the database servers ([`crate::postgres`], [`crate::mariadb`]) share:
//! their Debian packages, installed with apt when missing; the system user
//! they run as when the tests run as root (both servers refuse root); their
//! scratch directory; and their command-line clients, which are all the
//! tests talk to them with (no database driver crates).

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::process::{self, ServiceSpec};
use crate::{cache_dir, running_as_root};

/// Installs `packages` with `apt-get` unless `present()` already holds; `sudo
/// -n` when not root, `apt-get update` only when a first install fails.
/// Parallel tests wait on one file lock (apt has its own lock and would
/// rather fail than wait). Panics with apt's output when it cannot install.
pub(crate) fn ensure_packages(what: &str, packages: &[&str], present: impl Fn() -> bool) {
    if present() {
        return;
    }
    let _lock = crate::install_lock(&cache_dir(), "apt-install.lock");
    if present() {
        return;
    }
    let list = packages.join(" ");
    eprintln!("installing {list} with apt-get (for {what}; once per machine)");
    let install = || {
        process::run(
            &format!("apt-get install {list}"),
            &mut apt(
                &["install", "-y", "-q", "--no-install-recommends"],
                packages,
            ),
        )
    };
    if let Err(first) = install() {
        let update = process::run("apt-get update", &mut apt(&["update", "-q"], &[]));
        if let Err(second) = install() {
            panic!(
                "{what}: cannot install {list}:\n{first}\n{}\n{second}",
                update.err().unwrap_or_default()
            );
        }
    }
    assert!(
        present(),
        "{what}: apt-get installed {list}, but the programs are still missing"
    );
}

/// `apt-get ARGS PACKAGES`, non-interactive, through `sudo -n` when not root.
fn apt(args: &[&str], packages: &[&str]) -> Command {
    let mut command = if running_as_root() {
        Command::new("apt-get")
    } else {
        let mut sudo = Command::new("sudo");
        sudo.args(["-n", "env", "DEBIAN_FRONTEND=noninteractive", "apt-get"]);
        sudo
    };
    command
        .env("DEBIAN_FRONTEND", "noninteractive")
        .args(args)
        .args(packages)
        .stdin(Stdio::null());
    command
}

/// The first of `names` found on the PATH or in the usual system
/// directories (`/usr/sbin` is not on every user's PATH).
pub(crate) fn find_program(names: &[&str]) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default();
    for d in [
        "/usr/local/sbin",
        "/usr/local/bin",
        "/usr/sbin",
        "/usr/bin",
        "/sbin",
        "/bin",
    ] {
        dirs.push(PathBuf::from(d));
    }
    names
        .iter()
        .find_map(|name| dirs.iter().map(|d| d.join(name)).find(|p| p.is_file()))
}

/// The system user a server runs as when the tests run as root.
#[derive(Debug, Clone)]
pub(crate) struct RunAs {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
}

/// `Some(user)` when running as root (creating the system user `name` if its
/// package did not), `None` otherwise: the server then runs as the current
/// user.
pub(crate) fn service_user(name: &str) -> Option<RunAs> {
    if !running_as_root() {
        return None;
    }
    if id(name, "-u").is_err() {
        process::run(
            &format!("creating the system user {name}"),
            Command::new("useradd").args([
                "--system",
                "--user-group",
                "--no-create-home",
                "--home-dir",
                "/nonexistent",
                "--shell",
                "/usr/sbin/nologin",
                name,
            ]),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    }
    let uid = id(name, "-u").unwrap_or_else(|e| panic!("{e}"));
    let gid = id(name, "-g").unwrap_or_else(|e| panic!("{e}"));
    Some(RunAs {
        name: name.to_string(),
        uid,
        gid,
    })
}

/// `id FLAG NAME`: a user's uid (`-u`) or primary gid (`-g`).
fn id(name: &str, flag: &str) -> Result<u32, String> {
    let out = process::run(
        &format!("id {flag} {name}"),
        Command::new("id").arg(flag).arg(name),
    )?;
    out.trim()
        .parse()
        .map_err(|_| format!("id {flag} {name} said {out:?}"))
}

/// The program and the arguments that run `program` as `user`: `setpriv`
/// execs it directly (no wrapper process stays behind), so the pid the guard
/// reports is the server's own and its signals reach the server.
fn as_user(user: Option<&RunAs>, program: &Path) -> (OsString, Vec<OsString>) {
    match user {
        None => (program.as_os_str().to_os_string(), Vec::new()),
        Some(u) => (
            OsString::from("setpriv"),
            vec![
                OsString::from(format!("--reuid={}", u.uid)),
                OsString::from(format!("--regid={}", u.gid)),
                OsString::from("--init-groups"),
                OsString::from("--"),
                program.as_os_str().to_os_string(),
            ],
        ),
    }
}

/// A command running `program` as `user` (as the current user when `None`),
/// in `cwd` (the servers' programs need a working directory they can read).
pub(crate) fn command_as(user: Option<&RunAs>, program: &Path, cwd: &Path) -> Command {
    let (program, prefix) = as_user(user, program);
    let mut command = Command::new(program);
    command.args(prefix).current_dir(cwd);
    command
}

/// A service spec running `program` as `user` (arguments to be added).
pub(crate) fn service_as(
    name: &str,
    user: Option<&RunAs>,
    program: &Path,
    cwd: &Path,
    log: &Path,
) -> ServiceSpec {
    let (program, prefix) = as_user(user, program);
    let mut spec = ServiceSpec::new(name, program, log).args(prefix);
    spec.cwd = Some(cwd.to_path_buf());
    spec
}

/// A fresh scratch directory owned by `user` (in `/tmp` when running as root:
/// the service user must be able to reach it).
pub(crate) fn scratch_dir(prefix: &str, user: Option<&RunAs>) -> tempfile::TempDir {
    let temp = match user {
        Some(_) => tempfile::Builder::new().prefix(prefix).tempdir_in("/tmp"),
        None => tempfile::Builder::new().prefix(prefix).tempdir(),
    }
    .unwrap_or_else(|e| panic!("creating a directory for {prefix}: {e}"));
    if let Some(u) = user {
        std::os::unix::fs::chown(temp.path(), Some(u.uid), Some(u.gid)).unwrap_or_else(|e| {
            panic!(
                "giving {} to the {} user: {e}",
                temp.path().display(),
                u.name
            )
        });
    }
    temp
}

/// Runs a command-line client with `input` on its standard input: what it
/// printed on its standard output, or an error with all it printed.
pub(crate) fn run_client(what: &str, command: &mut Command, input: &str) -> Result<String, String> {
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command
        .spawn()
        .map_err(|e| format!("{what}: cannot run {:?}: {e}", command.get_program()))?;
    let mut stdin = child.stdin.take().expect("piped stdin");
    let input = input.as_bytes().to_vec();
    // written from a thread: a client printing a lot before reading all its
    // input must not deadlock against us
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = child
        .wait_with_output()
        .map_err(|e| format!("{what}: waiting for {:?}: {e}", command.get_program()))?;
    let _ = writer.join();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if out.status.success() {
        Ok(stdout)
    } else {
        Err(format!(
            "{what} failed ({}):\n{stdout}{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// The processes whose parent is `pid` (a PostgreSQL postmaster's backends
/// and auxiliary processes), from `/proc`.
pub(crate) fn children_of(pid: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let child: u32 = entry.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
            // "pid (comm) state ppid ...": comm may hold spaces and parentheses
            let rest = stat.get(stat.rfind(')')? + 1..)?;
            let ppid: u32 = rest.split_whitespace().nth(1)?.parse().ok()?;
            (ppid == pid).then_some(child)
        })
        .collect()
}

/// Whether process `pid` exists and is not a zombie.
pub(crate) fn is_alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rfind(')')
            .and_then(|i| stat.get(i + 1..))
            .and_then(|rest| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z")
    })
}

/// SIGKILLs `pids` and waits (up to 10 s) until they are gone.
pub(crate) fn kill_all(pids: &[u32]) {
    if pids.is_empty() {
        return;
    }
    let _ = Command::new("kill")
        .arg("-KILL")
        .args(pids.iter().map(|p| p.to_string()))
        .stderr(Stdio::null())
        .status();
    let deadline = Instant::now() + Duration::from_secs(10);
    while pids.iter().any(|&p| is_alive(p)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
}
