//! A service process that never outlives the test that started it.
//!
//! Rust runs no destructors for statics and none at all when a test process
//! is killed, so a broker started for "the whole test binary" would be left
//! running. Each service is therefore started by a small shell guard whose
//! standard input is a pipe from this process: the guard starts the service,
//! reports its pid, and waits on the pipe. When this process ends, however it
//! ends, the pipe closes and the guard stops the service (and removes its
//! scratch directory when asked to).

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

/// The guard: runs "$@" in the background with its output in $SERVICE_LOG,
/// prints its pid, waits for a line on its stdin (a stop) or for stdin to
/// close (this process ended), then stops the service with $STOP_SIGNAL and
/// waits for it; when this process ended, it also removes $CLEANUP. (A
/// service slow to stop is SIGKILLed by [`Service::stop`].)
const GUARD: &str = r#"
"$@" >>"$SERVICE_LOG" 2>&1 </dev/null &
child=$!
echo "$child"
if read -r _line; then CLEANUP=""; fi
kill "-$STOP_SIGNAL" "$child" 2>/dev/null
wait "$child" 2>/dev/null
if [ -n "$CLEANUP" ]; then rm -rf "$CLEANUP"; fi
"#;

/// How to start a service.
pub struct ServiceSpec {
    /// A short name for messages ("kafka broker 1", "postgres").
    pub name: String,
    pub program: OsString,
    pub args: Vec<OsString>,
    pub env: Vec<(OsString, OsString)>,
    pub cwd: Option<PathBuf>,
    /// Where the service's stdout and stderr go (appended).
    pub log: PathBuf,
    /// The signal that stops it cleanly and quickly ("KILL", "QUIT", "TERM").
    pub stop_signal: &'static str,
    /// A directory removed once the service has stopped because the test
    /// process ended (for services that live as long as the process).
    pub cleanup: Option<PathBuf>,
}

impl ServiceSpec {
    pub fn new(name: impl Into<String>, program: impl Into<OsString>, log: &Path) -> Self {
        ServiceSpec {
            name: name.into(),
            program: program.into(),
            args: Vec::new(),
            env: Vec::new(),
            cwd: None,
            log: log.to_path_buf(),
            stop_signal: "KILL",
            cleanup: None,
        }
    }

    pub fn arg(mut self, arg: impl Into<OsString>) -> Self {
        self.args.push(arg.into());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }
}

/// A running (or stopped) service process.
pub struct Service {
    name: String,
    guard: Child,
    /// The guard's stdin; dropping it stops the service.
    lifeline: Option<ChildStdin>,
    pid: u32,
    log: PathBuf,
}

impl Service {
    /// Starts the service under its guard.
    pub fn start(spec: &ServiceSpec) -> Result<Service, String> {
        let mut command = Command::new("sh");
        command
            .arg("-c")
            .arg(GUARD)
            .arg("sh")
            .arg(&spec.program)
            .args(&spec.args)
            .env("SERVICE_LOG", &spec.log)
            .env("STOP_SIGNAL", spec.stop_signal)
            .env("CLEANUP", spec.cleanup.as_deref().unwrap_or(Path::new("")))
            .envs(spec.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        if let Some(dir) = &spec.cwd {
            command.current_dir(dir);
        }
        let mut guard = command
            .spawn()
            .map_err(|e| format!("starting {}: {e}", spec.name))?;
        let mut line = String::new();
        let stdout = guard.stdout.take().expect("piped stdout");
        BufReader::new(stdout)
            .read_line(&mut line)
            .map_err(|e| format!("starting {}: {e}", spec.name))?;
        let pid = line
            .trim()
            .parse()
            .map_err(|_| format!("starting {}: the guard said {line:?}", spec.name))?;
        Ok(Service {
            name: spec.name.clone(),
            lifeline: guard.stdin.take(),
            guard,
            pid,
            log: spec.log.clone(),
        })
    }

    /// The service's own process id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Sends `signal` ("KILL", "STOP", "CONT", ...) to the service.
    pub fn signal(&self, signal: &str) {
        let _ = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.pid.to_string())
            .stderr(Stdio::null())
            .status();
    }

    /// Whether the service process still runs.
    pub fn is_running(&mut self) -> bool {
        matches!(self.guard.try_wait(), Ok(None))
            && Path::new(&format!("/proc/{}", self.pid)).exists()
            && !std::fs::read_to_string(format!("/proc/{}/stat", self.pid))
                .is_ok_and(|s| s.split(") ").nth(1).is_some_and(|r| r.starts_with('Z')))
    }

    /// SIGKILLs the service and waits until its guard has seen it go.
    pub fn kill(&mut self) {
        self.signal("KILL");
        self.stop();
    }

    /// Stops the service with its stop signal and waits for it (SIGKILL
    /// after 20 s).
    pub fn stop(&mut self) {
        if let Some(mut lifeline) = self.lifeline.take() {
            let _ = lifeline.write_all(b"stop\n");
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        while matches!(self.guard.try_wait(), Ok(None)) {
            if Instant::now() > deadline {
                self.signal("KILL");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits up to `timeout` for the service to exit by itself.
    pub fn wait_exit(&mut self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if !self.is_running() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    /// The last `lines` lines the service wrote, for failure messages.
    pub fn log_tail(&self, lines: usize) -> String {
        log_tail(&self.log, lines)
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The last `lines` lines of a log file.
pub fn log_tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Runs a command to completion; its output, or an error naming `what` with
/// what it printed.
pub fn run(what: &str, command: &mut Command) -> Result<String, String> {
    let out = command
        .output()
        .map_err(|e| format!("{what}: cannot run {:?}: {e}", command.get_program()))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() {
        Ok(text)
    } else {
        Err(format!("{what} failed ({}):\n{text}", out.status))
    }
}
