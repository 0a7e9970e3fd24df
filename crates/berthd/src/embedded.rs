//! The embedded backend: berthd binds each session's socket and starts its
//! host itself. Hosts detach (their own session, see berth-session's main)
//! and outlive berthd; a record per host lets a new berthd adopt them.

use std::os::fd::AsRawFd;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use berth_config::paths::{self, Mode};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};

/// What berthd remembers about a host it started (`RUNTIME/hosts/NAME.json`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Record {
    pub host_pid: u32,
    /// The host's flags and program: compared with the config on reload.
    pub args: Vec<String>,
    /// Started by `berth new`, not the config.
    pub adhoc: bool,
    /// Unit-level settings it was started with (see `host_cmd::unit_settings`).
    #[serde(default)]
    pub unit: Vec<String>,
    /// The session's `user`, when one was given (an ad-hoc session's
    /// `--user`): the account is not always in `args` (under systemd it is
    /// the unit's User=).
    #[serde(default)]
    pub user: Option<String>,
}

pub struct Embedded {
    pub session_binary: PathBuf,
    pub mode: Mode,
    pub runtime: PathBuf,
    /// Where each host's own log goes (`NAME.host.log`) when there is no
    /// journal: never berthd's stderr, which may be a terminal or a pipe
    /// that is gone long before the host.
    pub log_dir: PathBuf,
}

impl Embedded {
    pub fn socket(&self, name: &str) -> PathBuf {
        paths::session_socket(&self.runtime, name)
    }

    fn record_path(&self, name: &str) -> PathBuf {
        paths::hosts_dir(&self.runtime).join(format!("{name}.json"))
    }

    /// Binds the socket (owned by `owner`, uid and gid, in system mode) and
    /// starts the host; returns its child and record.
    pub fn start(
        &self,
        name: &str,
        args: &[String],
        adhoc: bool,
        user: Option<String>,
        owner: Option<(u32, u32)>,
    ) -> anyhow::Result<(Child, Record)> {
        let socket = self.socket(name);
        let listener = bind(&socket, self.mode)?;
        if let Some((uid, gid)) = owner {
            nix::unistd::chown(
                &socket,
                Some(nix::unistd::Uid::from_raw(uid)),
                Some(nix::unistd::Gid::from_raw(gid)),
            )
            .with_context(|| format!("failed to give {} to its account", socket.display()))?;
        }
        let fd = listener.as_raw_fd();
        // The child inherits exactly this descriptor: berthd starts hosts
        // from one thread, and closes its copy right after.
        nix::fcntl::fcntl(
            &listener,
            nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::empty()),
        )?;
        let mut cmd = Command::new(&self.session_binary);
        cmd.arg("--listen-fd").arg(fd.to_string()).args(args);
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(self.host_log(name)?);
        // berthd's own systemd conversation is not the host's.
        for var in ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"] {
            cmd.env_remove(var);
        }
        let child = cmd.spawn().with_context(|| {
            format!(
                "failed to start {} for session {name}",
                self.session_binary.display()
            )
        });
        drop(listener);
        let child = child?;
        let record = Record {
            host_pid: child.id(),
            args: args.to_vec(),
            adhoc,
            unit: Vec::new(),
            user,
        };
        self.save(name, &record)?;
        Ok((child, record))
    }

    /// The host's stderr: its log file, appended to, readable by root only.
    fn host_log(&self, name: &str) -> anyhow::Result<std::fs::File> {
        use std::os::unix::fs::OpenOptionsExt;
        let path = self.log_dir.join(format!("{name}.host.log"));
        std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o600)
            .open(&path)
            .with_context(|| format!("failed to open {}", path.display()))
    }

    pub fn save(&self, name: &str, record: &Record) -> anyhow::Result<()> {
        let path = self.record_path(name);
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, serde_json::to_vec(record)?)
            .with_context(|| format!("failed to write {}", tmp.display()))?;
        std::fs::rename(&tmp, &path)
            .with_context(|| format!("failed to write {}", path.display()))?;
        Ok(())
    }

    /// Every file in `RUNTIME/hosts`: session name, path, and the record if
    /// it parses; sorted by name.
    fn scan(&self) -> Vec<(String, PathBuf, Option<Record>)> {
        paths::named_files(&paths::hosts_dir(&self.runtime), ".json")
            .into_iter()
            .map(|(name, path)| {
                let record = std::fs::read(&path)
                    .ok()
                    .and_then(|b| serde_json::from_slice(&b).ok());
                (name, path, record)
            })
            .collect()
    }

    /// Every record, whether or not its host runs (systemd decides that).
    pub fn records_any(&self) -> Vec<(String, Record)> {
        self.scan()
            .into_iter()
            .filter_map(|(name, _, r)| Some((name, r?)))
            .collect()
    }

    /// Records of hosts a previous berthd started, whose host still runs;
    /// records of dead hosts, and unreadable ones, are removed.
    pub fn records(&self) -> Vec<(String, Record)> {
        let mut out = Vec::new();
        for (name, path, record) in self.scan() {
            match record {
                Some(r) if alive(r.host_pid) => out.push((name, r)),
                _ => {
                    let _ = std::fs::remove_file(&path);
                }
            }
        }
        out
    }

    /// Stops a host: SIGTERM (it hangs up, terminates, then kills its
    /// program, a grace period apart), then SIGKILL if it lingers.
    pub async fn stop(
        &self,
        name: &str,
        host_pid: u32,
        child: Option<&mut Child>,
        grace: Duration,
    ) {
        let pid = Pid::from_raw(host_pid as i32);
        let _ = kill(pid, Signal::SIGTERM);
        let until = Instant::now() + grace * 3;
        let mut child = child;
        loop {
            if let Some(c) = child.as_deref_mut() {
                if c.try_wait().ok().flatten().is_some() {
                    break;
                }
            } else if !alive(host_pid) {
                break;
            }
            if Instant::now() >= until {
                tracing::warn!(
                    session = name,
                    host_pid,
                    "host did not stop in time; killing it"
                );
                let _ = kill(pid, Signal::SIGKILL);
                if let Some(c) = child.as_deref_mut() {
                    let _ = c.wait();
                }
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.forget(name);
    }

    /// Removes the record and the socket of a session that is gone.
    pub fn forget(&self, name: &str) {
        let _ = std::fs::remove_file(self.record_path(name));
        let _ = std::fs::remove_file(self.socket(name));
    }
}

/// Whether `pid` runs (and is not a zombie).
pub fn alive(pid: u32) -> bool {
    if kill(Pid::from_raw(pid as i32), None).is_err() {
        return false;
    }
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            stat.rsplit(')')
                .next()
                .and_then(|r| r.split_whitespace().next())
                != Some("Z")
        }
        Err(_) => false,
    }
}

/// Binds a session socket: 0600 in user mode; 0660 in system mode, where the
/// caller gives it to the service account and the access group.
fn bind(path: &Path, mode: Mode) -> anyhow::Result<UnixListener> {
    if path.symlink_metadata().is_ok() {
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            bail!(
                "{} is in use by a session berthd did not start; stop it first",
                path.display()
            );
        }
        std::fs::remove_file(path)
            .with_context(|| format!("failed to remove stale socket {}", path.display()))?;
    }
    let old = nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o177));
    let listener = UnixListener::bind(path);
    nix::sys::stat::umask(old);
    let listener = listener.with_context(|| format!("failed to bind {}", path.display()))?;
    let perm = if mode == Mode::System { 0o660 } else { 0o600 };
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(perm))?;
    Ok(listener)
}
