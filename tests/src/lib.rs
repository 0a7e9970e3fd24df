//! Harness for end-to-end tests: the real `berth-session` and `berth`
//! binaries, Drop-guarded hosts, and waits on conditions with deadlines.

pub mod accounts;
pub mod browser;
pub mod daemon;
pub mod machine;
pub mod mcp;
pub mod shells;
pub mod term_client;
pub mod wire;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Default deadline for a condition.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// Path of a workspace binary, built by `cargo test --workspace`.
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    // target/<profile>/deps/<test> -> target/<profile>/<name>
    let dir = exe.parent().and_then(Path::parent).expect("target dir");
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: run the tests with `cargo test --workspace`, which builds it",
        path.display()
    );
    path
}

/// Polls `check` until it returns `Some`, or panics with `what` after `deadline`.
pub fn wait_for<T>(what: &str, deadline: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let until = Instant::now() + deadline;
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(
            Instant::now() < until,
            "timed out after {deadline:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A temp runtime directory with sessions in it.
pub struct Env {
    pub dir: tempfile::TempDir,
}

impl Default for Env {
    fn default() -> Self {
        Self::new()
    }
}

impl Env {
    pub fn new() -> Self {
        Self {
            dir: tempfile::Builder::new()
                .prefix("berth-e2e-")
                .tempdir()
                .expect("temp dir"),
        }
    }

    pub fn runtime(&self) -> &Path {
        self.dir.path()
    }

    pub fn socket(&self, name: &str) -> PathBuf {
        self.runtime().join("sessions").join(format!("{name}.sock"))
    }

    pub fn path(&self, file: &str) -> PathBuf {
        self.runtime().join(file)
    }

    /// Starts `berth-session --name NAME` with `extra` flags and `-- command`,
    /// and waits until it answers.
    pub fn host(&self, name: &str, extra: &[&str], command: &[&str]) -> Host {
        self.host_in(name, extra, command, Command::new(bin("berth-session")))
    }

    /// The same, with the host's address space limited to `bytes` (through
    /// prlimit): an attack that makes it allocate without bound fails there
    /// rather than exhausting the machine.
    pub fn host_limited(&self, name: &str, extra: &[&str], command: &[&str], bytes: u64) -> Host {
        self.host_under_prlimit(name, extra, command, &[&format!("--as={bytes}")])
    }

    /// The same with `vars` in the host's environment (its test hooks).
    pub fn host_with_env(
        &self,
        name: &str,
        extra: &[&str],
        command: &[&str],
        vars: &[(&str, &str)],
    ) -> Host {
        let mut run = Command::new(bin("berth-session"));
        run.envs(vars.iter().copied());
        self.host_in(name, extra, command, run)
    }

    /// The same under any prlimit(1) `limits` (`--fsize=1000`, ...).
    pub fn host_under_prlimit(
        &self,
        name: &str,
        extra: &[&str],
        command: &[&str],
        limits: &[&str],
    ) -> Host {
        let mut prlimit = Command::new("prlimit");
        prlimit.args(limits).arg("--").arg(bin("berth-session"));
        self.host_in(name, extra, command, prlimit)
    }

    fn host_in(&self, name: &str, extra: &[&str], command: &[&str], mut run: Command) -> Host {
        let stderr = std::fs::File::create(self.path(&format!("{name}.host.err"))).unwrap();
        let child = run
            .arg("--name")
            .arg(name)
            .arg("--socket")
            .arg(self.socket(name))
            .args(extra)
            .arg("--")
            .args(command)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("spawn berth-session");
        let host = Host {
            child,
            name: name.to_owned(),
            runtime: self.runtime().to_owned(),
        };
        wait_for(&format!("session {name} to answer"), DEADLINE, || {
            (host.berth(&["has", name]).status.code() == Some(0)).then_some(())
        });
        host
    }

    /// Runs the CLI against this runtime directory.
    pub fn berth(&self, args: &[&str]) -> Output {
        berth_in(self.runtime(), args)
    }
}

pub fn berth_in(runtime: &Path, args: &[&str]) -> Output {
    Command::new(bin("berth"))
        .args(args)
        .env("BERTH_RUNTIME_DIR", runtime)
        .stdin(Stdio::null())
        .output()
        .expect("run berth")
}

/// Runs the CLI as `user` (through runuser; needs root) against `runtime`.
pub fn berth_as(user: &str, runtime: &Path, args: &[&str]) -> Output {
    Command::new("runuser")
        .args(["-u", user, "--"])
        .arg(bin("berth"))
        .args(args)
        .env("BERTH_RUNTIME_DIR", runtime)
        .output()
        .expect("runuser")
}

/// A running `berth-session`; stopped (SIGTERM, then SIGKILL) on drop.
pub struct Host {
    pub child: Child,
    pub name: String,
    runtime: PathBuf,
}

impl Host {
    pub fn berth(&self, args: &[&str]) -> Output {
        berth_in(&self.runtime, args)
    }

    /// `berth capture NAME ARGS...` as text; panics if it fails.
    pub fn capture(&self, args: &[&str]) -> String {
        let mut all = vec!["capture", self.name.as_str()];
        all.extend_from_slice(args);
        let out = self.berth(&all);
        assert!(
            out.status.success(),
            "capture failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8 capture")
    }

    pub fn send(&self, keys: &[&str]) {
        let mut all = vec!["send", self.name.as_str()];
        all.extend_from_slice(keys);
        let out = self.berth(&all);
        assert!(
            out.status.success(),
            "send failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    pub fn status(&self) -> serde_json::Value {
        let out = self.berth(&["status", &self.name, "--json"]);
        assert!(
            out.status.success(),
            "status failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("status json")
    }

    /// Waits until the screen or history, wrapped lines joined, contains
    /// `needle`; returns that capture.
    pub fn wait_screen(&self, needle: &str) -> String {
        let mut last = String::new();
        let found = wait_until(DEADLINE, || {
            last = self.capture(&["-J", "-S", "-"]);
            last.contains(needle).then(|| last.clone())
        });
        found.unwrap_or_else(|| {
            panic!(
                "timed out waiting for {needle:?} on the screen of {}; it shows:\n{last}",
                self.name
            )
        })
    }

    /// Waits until `berth status --json` satisfies `check`.
    pub fn wait_status(
        &self,
        what: &str,
        check: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let mut last = serde_json::Value::Null;
        let found = wait_until(DEADLINE, || {
            last = self.status();
            check(&last).then(|| last.clone())
        });
        found.unwrap_or_else(|| {
            panic!(
                "timed out waiting for {what} in session {}; status: {last:#}",
                self.name
            )
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The host's resident memory, in bytes.
    pub fn rss(&self) -> u64 {
        rss(self.pid())
    }
}

/// A process's resident memory, in bytes (VmRSS).
pub fn rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("process status");
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/PID/status");
    kb * 1024
}

/// The uid of account `name` (which must exist).
pub fn uid(name: &str) -> u32 {
    nix::unistd::User::from_name(name)
        .unwrap()
        .unwrap_or_else(|| panic!("no account {name}"))
        .uid
        .as_raw()
}

/// Like [`wait_for`] but returns `None` on timeout, for callers that explain.
pub fn wait_until<T>(deadline: Duration, mut check: impl FnMut() -> Option<T>) -> Option<T> {
    let until = Instant::now() + deadline;
    loop {
        if let Some(v) = check() {
            return Some(v);
        }
        if Instant::now() >= until {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let exited = wait_until(Duration::from_secs(10), || {
            self.child.try_wait().ok().flatten()
        });
        if exited.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Whether a root-only test must be skipped: not root, or one of `tools`
/// missing. Says SKIPPED loudly; with BERTH_REQUIRE_ROOT_TESTS=1 (CI) a skip
/// is a failure instead.
pub fn skip_unless_root(test: &str, tools: &[&str]) -> bool {
    let root = nix::unistd::geteuid().is_root();
    let missing: Vec<&str> = tools
        .iter()
        .copied()
        .filter(|t| !Path::new(t).exists())
        .collect();
    if root && missing.is_empty() {
        return false;
    }
    let why = if root {
        format!("missing {}", missing.join(", "))
    } else {
        "not running as root".to_owned()
    };
    if std::env::var("BERTH_REQUIRE_ROOT_TESTS").as_deref() == Ok("1") {
        panic!("{test}: cannot run ({why}) but BERTH_REQUIRE_ROOT_TESTS=1");
    }
    eprintln!("SKIPPED {test}: {why}");
    true
}

/// Stderr of a command as a string, trimmed.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).trim_end().to_owned()
}

/// Reads `out` (a child's output) on a thread of its own until `needle`
/// shows in it; the receiver hears once it has (nothing if `out` ends
/// first). Started before whatever makes the text appear.
pub fn output_shows(
    mut out: impl std::io::Read + Send + 'static,
    needle: &str,
) -> std::sync::mpsc::Receiver<()> {
    let needle = needle.to_owned();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut seen = Vec::new();
        let mut buf = [0u8; 4096];
        while let Ok(n) = out.read(&mut buf) {
            if n == 0 {
                break;
            }
            seen.extend_from_slice(&buf[..n]);
            if String::from_utf8_lossy(&seen).contains(&needle) {
                let _ = tx.send(());
                break;
            }
        }
    });
    rx
}
