//! A real `berthd` (embedded backend, user mode) in a temp directory.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use crate::{berth_in, bin, wait_until, DEADLINE};

pub struct Daemon {
    pub child: Child,
    pub dir: tempfile::TempDir,
    /// System mode (as root): service accounts, socket ownership.
    pub system: bool,
    /// User mode as this account (root only): berthd, and `berth` through
    /// [`Daemon::berth`], run as it.
    pub user: Option<String>,
}

impl Daemon {
    /// Writes `config` as berth.toml and starts berthd on it, in user mode.
    pub fn start(config: &str) -> Self {
        Self::start_mode(config, false)
    }

    /// berthd in system mode (needs root), in a directory others can enter.
    pub fn start_system(config: &str) -> Self {
        Self::start_mode(config, true)
    }

    /// berthd in system mode started through `launcher` (`env VAR=VALUE`
    /// for its test hooks).
    pub fn start_system_via(config: &str, launcher: &[&str]) -> Self {
        Self::start_with(config, true, launcher, None)
    }

    fn start_mode(config: &str, system: bool) -> Self {
        Self::start_with(config, system, &[], None)
    }

    /// berthd in user mode as `user` (root only: through runuser), in a
    /// directory that account owns.
    pub fn start_as_user(config: &str, user: &str) -> Self {
        let dir = Self::directory(config);
        let chown = Command::new("chown")
            .args(["-R", user])
            .arg(dir.path())
            .output()
            .unwrap();
        assert!(chown.status.success(), "chown: {:?}", chown);
        let mut d = Self {
            child: spawn(dir.path(), false, &["runuser", "-u", user, "--"], None),
            dir,
            system: false,
            user: Some(user.to_owned()),
        };
        d.wait_ready();
        d
    }

    /// A temporary directory with `config` as its berth.toml.
    fn directory(config: &str) -> tempfile::TempDir {
        let dir = tempfile::Builder::new()
            .prefix("berthd-e2e-")
            .tempdir()
            .unwrap();
        std::fs::write(dir.path().join("berth.toml"), config).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        dir
    }

    /// berthd in user mode started through `launcher` (a command that ends
    /// by running the rest of its arguments: `prlimit --nofile=64:64 --`),
    /// with `stderr` instead of the log file when given.
    pub fn start_via(config: &str, launcher: &[&str], stderr: Option<Stdio>) -> Self {
        Self::start_with(config, false, launcher, stderr)
    }

    fn start_with(config: &str, system: bool, launcher: &[&str], stderr: Option<Stdio>) -> Self {
        let dir = Self::directory(config);
        let mut d = Self {
            child: spawn(dir.path(), system, launcher, stderr),
            dir,
            system,
            user: None,
        };
        d.wait_ready();
        d
    }

    pub fn config(&self) -> PathBuf {
        self.dir.path().join("berth.toml")
    }

    pub fn runtime(&self) -> PathBuf {
        self.dir.path().join("run")
    }

    pub fn berth(&self, args: &[&str]) -> Output {
        match &self.user {
            Some(user) => crate::berth_as(user, &self.runtime(), args),
            None => berth_in(&self.runtime(), args),
        }
    }

    /// `berth ARGS` running in the background (its stderr piped), for a
    /// verb that waits while the test does something else.
    pub fn berth_spawn(&self, args: &[&str]) -> Child {
        Command::new(bin("berth"))
            .args(args)
            .env("BERTH_RUNTIME_DIR", self.runtime())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run berth")
    }

    /// Waits until berthd answers `berth ls` itself.
    pub fn wait_ready(&mut self) {
        let control = self.runtime().join("control.sock");
        let ok = wait_until(DEADLINE, || {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("berthd exited: {status:?}; log:\n{}", self.log());
            }
            (control.exists() && self.berth(&["ls"]).status.success()).then_some(())
        });
        assert!(
            ok.is_some(),
            "berthd did not become ready; log:\n{}",
            self.log()
        );
    }

    /// Kills berthd hard and starts a new one on the same directory.
    pub fn crash_and_restart(&mut self) {
        self.crash();
        self.start_again();
    }

    /// Kills berthd hard (its hosts stay).
    pub fn crash(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts a new berthd on the same directory after [`Daemon::crash`].
    pub fn start_again(&mut self) {
        self.child = spawn(self.dir.path(), self.system, &[], None);
        self.wait_ready();
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("berthd.log")).unwrap_or_default()
    }

    /// What the host of session `name` logged (its audit trail among it).
    pub fn host_log(&self, name: &str) -> String {
        std::fs::read_to_string(
            self.dir
                .path()
                .join("logs")
                .join(format!("{name}.host.log")),
        )
        .unwrap_or_default()
    }

    /// `berth ls --json` as (name, state, program pid, host pid) rows.
    pub fn ls(&self) -> Vec<(String, String, Option<u64>, Option<u64>)> {
        let out = self.berth(&["ls", "--json"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
        rows.iter()
            .map(|r| {
                (
                    r["name"].as_str().unwrap().to_owned(),
                    r["state"].as_str().unwrap().to_owned(),
                    r["pid"].as_u64(),
                    r["host_pid"].as_u64(),
                )
            })
            .collect()
    }

    /// Waits until every listed session is running; returns the rows.
    pub fn wait_running(&self, names: &[&str]) -> Vec<(String, String, Option<u64>, Option<u64>)> {
        let mut last = Vec::new();
        wait_until(DEADLINE, || {
            last = self.ls();
            let got: Vec<&str> = last
                .iter()
                .filter(|r| r.1 == "running")
                .map(|r| r.0.as_str())
                .collect();
            (got == names && last.len() == names.len()).then(|| last.clone())
        })
        .unwrap_or_else(|| {
            panic!(
                "waiting for {names:?} to run; ls: {last:?}; log:\n{}",
                self.log()
            )
        })
    }

    /// Host pids berthd recorded, for cleanup.
    fn host_pids(&self) -> Vec<i32> {
        let Ok(entries) = std::fs::read_dir(self.runtime().join("hosts")) else {
            return Vec::new();
        };
        entries
            .flatten()
            .filter_map(|e| std::fs::read(e.path()).ok())
            .filter_map(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .filter_map(|v| v["host_pid"].as_i64())
            .map(|p| p as i32)
            .collect()
    }
}

fn spawn(dir: &Path, system: bool, launcher: &[&str], stderr: Option<Stdio>) -> Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("berthd.log"))
        .unwrap();
    let mut cmd = match launcher {
        [] => Command::new(bin("berthd")),
        [program, args @ ..] => {
            let mut c = Command::new(program);
            c.args(args).arg(bin("berthd"));
            c
        }
    };
    if !system {
        cmd.arg("--user");
    }
    cmd.arg("--config")
        .arg(dir.join("berth.toml"))
        .arg("--log-dir")
        .arg(dir.join("logs"))
        .env("BERTH_RUNTIME_DIR", dir.join("run"))
        .env("XDG_STATE_HOME", dir.join("state"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr.unwrap_or_else(|| log.into()))
        .spawn()
        .expect("spawn berthd")
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // Sessions outlive berthd by design: stop them too.
        for pid in self.host_pids() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGTERM,
            );
        }
        for pid in self.host_pids() {
            let gone = wait_until(std::time::Duration::from_secs(15), || {
                nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None)
                    .is_err()
                    .then_some(())
            });
            if gone.is_none() {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
        }
        // The groups a berthd as root made for its sessions (stopped here
        // behind its back): ended and removed, as its own stop would.
        if let Some(base) = berth_config::paths::own_cgroup_dir() {
            let prefix = berth_config::paths::session_cgroup(&self.runtime(), "");
            for entry in std::fs::read_dir(base).into_iter().flatten().flatten() {
                if entry.file_name().to_string_lossy().starts_with(&prefix) {
                    let _ = std::fs::write(entry.path().join("cgroup.kill"), "1");
                    let procs = std::fs::read_to_string(entry.path().join("cgroup.procs"));
                    for pid in procs
                        .unwrap_or_default()
                        .lines()
                        .filter_map(|l| l.parse().ok())
                    {
                        let _ = nix::sys::signal::kill(
                            nix::unistd::Pid::from_raw(pid),
                            nix::sys::signal::Signal::SIGKILL,
                        );
                    }
                    let _ = wait_until(std::time::Duration::from_secs(5), || {
                        std::fs::remove_dir(entry.path()).ok()
                    });
                }
            }
        }
    }
}
