//! The embedded backend: berthd binds each session's socket and starts its
//! host itself. Hosts detach (their own session, see berth-session's main)
//! and outlive berthd; their records let a new berthd adopt them.

use std::os::fd::AsRawFd;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use berth_config::defaults::{LOG_KEEP, LOG_MAX_SIZE, STOP_GRACE};
use berth_config::model::Session;
use berth_config::paths::Mode;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use tokio::time::Instant;

use super::{Backend, Host, Layout, Program, Started};
use crate::cgroup::{self, Cgroups};
use crate::records::{Record, Records};

/// How long a host that got SIGKILL may take to be gone.
const KILLED_WITHIN: Duration = Duration::from_secs(5);

#[derive(Clone)]
pub struct Embedded {
    layout: Layout,
    records: Records,
    /// A cgroup per session, where berthd can make them (`cgroup`).
    cgroups: Option<Cgroups>,
    /// Held from binding a socket to spawning its host: the host inherits
    /// exactly that descriptor, never one bound for another start.
    spawning: Arc<Mutex<()>>,
}

impl Embedded {
    pub fn new(layout: Layout) -> Self {
        let records = Records {
            runtime: layout.runtime.clone(),
        };
        let cgroups = match layout.mode {
            Mode::System => Cgroups::detect(&layout.runtime),
            Mode::User => None,
        };
        match &cgroups {
            Some(_) => tracing::info!("each session runs in a cgroup of its own; stopping one ends the whole group"),
            None if layout.mode == Mode::System => tracing::warn!("no writable cgroup v2 here: a stopped session's leftover processes are ended by process session, best-effort"),
            None => {}
        }
        Self {
            layout,
            records,
            cgroups,
            spawning: Arc::default(),
        }
    }

    /// Prepares the account and starts the host (blocking).
    fn start_now(&self, s: &Session, args: &[String], adhoc: bool) -> anyhow::Result<Started> {
        let owner = crate::accounts::prepare(s, self.layout.mode, &self.layout.log_dir, false)?;
        let name = &s.name;
        let socket = self.socket(name);
        let _one = self.spawning.lock().unwrap_or_else(|e| e.into_inner());
        let listener = bind(&socket, self.layout.mode)?;
        if let Some((uid, gid)) = owner {
            nix::unistd::chown(
                &socket,
                Some(nix::unistd::Uid::from_raw(uid)),
                Some(nix::unistd::Gid::from_raw(gid)),
            )
            .with_context(|| format!("failed to give {} to its account", socket.display()))?;
        }
        let fd = listener.as_raw_fd();
        // The child inherits exactly this descriptor (see `spawning`), and
        // berthd closes its copy right after.
        nix::fcntl::fcntl(
            &listener,
            nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::empty()),
        )?;
        let binary = &self.layout.session_binary;
        let mut cmd = Command::new(binary);
        cmd.arg("--listen-fd").arg(fd.to_string()).args(args);
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(self.host_log(name)?);
        // berthd's own systemd conversation is not the host's.
        for var in [
            "NOTIFY_SOCKET",
            "WATCHDOG_USEC",
            "WATCHDOG_PID",
            cgroup::ENV,
        ] {
            cmd.env_remove(var);
        }
        if let Some(cgroups) = &self.cgroups {
            match cgroups.create(name) {
                // The host joins it first thing, before its program exists.
                Ok(path) => {
                    cmd.env(cgroup::ENV, path);
                }
                Err(e) => {
                    tracing::warn!(session = %name, "cannot make the session's cgroup ({e}); its cleanup is best-effort")
                }
            }
        }
        // Recorded before the host can exist: a berthd that dies between
        // the two leaves a record, and the next one finds the host by the
        // socket it answers (see `Records::adoptable`).
        let mut record = Record {
            host_pid: 0,
            args: args.to_vec(),
            adhoc,
            unit: Vec::new(),
            user: s.user.clone(),
        };
        self.records.save(name, &record)?;
        let child = cmd
            .spawn()
            .with_context(|| format!("failed to start {} for session {name}", binary.display()));
        drop(listener);
        let child = child?;
        record.host_pid = child.id();
        self.records.save(name, &record)?;
        Ok(Started {
            record,
            child: Some(child),
        })
    }

    /// The host's stderr: its log file, appended to, readable by root only;
    /// never berthd's stderr, which may be a terminal or a pipe that is
    /// gone long before the host.
    fn host_log(&self, name: &str) -> anyhow::Result<std::fs::File> {
        use std::os::unix::fs::OpenOptionsExt;
        let path = self.layout.log_dir.join(format!("{name}.host.log"));
        crate::host_logs::rotate(&path, LOG_MAX_SIZE, LOG_KEEP)
            .with_context(|| format!("failed to rotate {}", path.display()))?;
        std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o600)
            .open(&path)
            .with_context(|| format!("failed to open {}", path.display()))
    }
}

impl Backend for Embedded {
    fn name(&self) -> &'static str {
        "embedded"
    }

    fn layout(&self) -> &Layout {
        &self.layout
    }

    fn args(&self, s: &Session) -> Vec<String> {
        self.layout.host_args(s, true)
    }

    async fn start(&self, s: Session, args: Vec<String>, adhoc: bool) -> anyhow::Result<Started> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.start_now(&s, &args, adhoc)).await?
    }

    /// SIGTERM (the host hangs up, terminates, then kills its program, a
    /// grace period apart), then SIGKILL if it lingers.
    async fn stop(&self, name: String, host: Host, program: Option<Program>) -> Result<(), String> {
        let Host { pid, mut child } = host;
        let signal = |s| kill(Pid::from_raw(pid as i32), s);
        let gone = |child: &mut Option<Child>| match child {
            Some(c) => c.try_wait().ok().flatten().is_some(),
            None => !alive(pid),
        };
        let _ = signal(Signal::SIGTERM);
        if !wait_until(Instant::now() + STOP_GRACE * 3, || gone(&mut child)).await {
            tracing::warn!(session = %name, host_pid = pid, "host did not stop in time; killing it");
            let _ = signal(Signal::SIGKILL);
            if !wait_until(Instant::now() + KILLED_WITHIN, || gone(&mut child)).await {
                return Err(format!(
                    "the host of session {name} (pid {pid}) did not stop; it was left as it is"
                ));
            }
        }
        // A host killed after its grace could not end its program's
        // children, and a process that left the program's session was
        // never the host's to end: the group ends them all.
        match (&self.cgroups, program) {
            (Some(_), _) => self.end_group(&name).await,
            (None, Some(program)) => self.sweep(name.clone(), program).await,
            (None, None) => {}
        }
        self.records.forget(&name);
        Ok(())
    }

    fn exited(&self, host: &mut Host) -> bool {
        match host.child.as_mut() {
            Some(c) => c.try_wait().ok().flatten().is_some(),
            None => !alive(host.pid),
        }
    }

    async fn sweep(&self, name: String, (pid, uid): Program) {
        if self.cgroups.is_some() {
            return self.end_group(&name).await;
        }
        let killed = tokio::task::spawn_blocking(move || crate::orphans::end_session(pid, uid))
            .await
            .unwrap_or(0);
        if killed > 0 {
            tracing::warn!(session = %name, "ended {killed} processes the dead host's program left behind");
        }
    }

    async fn adopt(&self) -> anyhow::Result<Vec<(String, Record)>> {
        let this = self.clone();
        // Asking a socket who answers it may wait: off the loop.
        let adopted = tokio::task::spawn_blocking(move || {
            this.records.adoptable(alive, |name| {
                answering_host(&this.socket(name), name, &this.layout.session_binary)
            })
        });
        Ok(adopted.await?)
    }

    fn save(&self, name: &str, record: &Record) -> anyhow::Result<()> {
        self.records.save(name, record)
    }

    fn forget(&self, name: &str) {
        self.records.forget(name)
    }
}

impl Embedded {
    /// Ends session `name`'s cgroup and everything in it.
    async fn end_group(&self, name: &str) {
        let Some(cgroups) = &self.cgroups else {
            return;
        };
        let path = cgroups.path(name);
        let shown = path.display().to_string();
        match tokio::task::spawn_blocking(move || cgroup::end(&path)).await {
            Ok(Ok(0)) => {}
            Ok(Ok(n)) => {
                tracing::warn!(session = %name, cgroup = %shown, "ended {n} processes left in the session's cgroup")
            }
            Ok(Err(e)) => {
                tracing::warn!(session = %name, cgroup = %shown, "cannot end the session's cgroup: {e}")
            }
            Err(e) => tracing::warn!(session = %name, "cannot end the session's cgroup: {e}"),
        }
    }
}

/// Polls `done` until it holds or `deadline` passes; whether it held.
async fn wait_until(deadline: Instant, mut done: impl FnMut() -> bool) -> bool {
    loop {
        if done() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The pid of the host answering on session `name`'s socket, if one does
/// (briefly asked), taken only when that pid is a host of this berthd's
/// for that session: it runs berthd's session binary with `--name NAME`.
/// (The kernel's SO_PEERCRED names whoever listened — berthd, which bound
/// the socket — not the host, so the process itself is looked at.)
fn answering_host(socket: &Path, name: &str, binary: &Path) -> Option<u32> {
    let stream = std::os::unix::net::UnixStream::connect(socket).ok()?;
    let patience = Some(Duration::from_secs(2));
    stream.set_read_timeout(patience).ok()?;
    stream.set_write_timeout(patience).ok()?;
    let mut client = berth_proto::sync::Client::handshake(stream, "berthd").ok()?;
    let pid = client.status().ok()?.host_pid;
    let exe = std::fs::read_link(format!("/proc/{pid}/exe")).ok()?;
    let args = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let args: Vec<&[u8]> = args.split(|&b| b == 0).collect();
    let named = args
        .windows(2)
        .any(|w| w[0] == b"--name" && w[1] == name.as_bytes());
    let ours = std::fs::canonicalize(binary).is_ok_and(|b| b == exe);
    (named && ours).then_some(pid)
}

/// Whether `pid` runs (and is not a zombie).
pub fn alive(pid: u32) -> bool {
    if pid == 0 || kill(Pid::from_raw(pid as i32), None).is_err() {
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
    use berth_proto::socket::BindError;
    let listener = berth_proto::socket::bind_fresh(path).map_err(|e| match e {
        BindError::InUse(_) => anyhow::anyhow!(
            "{} is in use by a session berthd did not start; stop it first",
            path.display()
        ),
        BindError::NotSocket(_) => anyhow::anyhow!("{e}; remove it"),
        e => e.into(),
    })?;
    let perm = if mode == Mode::System { 0o660 } else { 0o600 };
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(perm))?;
    Ok(listener)
}
