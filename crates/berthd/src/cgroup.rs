//! A cgroup (v2) of its own for each session under the embedded backend,
//! when berthd runs as root: whatever the program starts, even a process
//! that left its process session with `setsid`, stays in the group, and
//! stopping the session ends the whole group (`cgroup.kill`), as systemd
//! ends a unit. Where there is no writable cgroup v2 (not root, cgroup v1
//! only), berthd falls back to ending the program's process session
//! (`orphans`), and each host says in `status` that its cleanup is
//! best-effort.
//!
//! The group is `<berthd's own cgroup>/berth-RUN-NAME` (RUN: a hash of
//! berthd's runtime directory, so two berthds never share, and so never
//! kill, each other's groups); the host moves
//! itself into it (`BERTH_CGROUP`, before it drops privileges and before
//! its program exists), so nothing the program starts can be outside it.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The environment variable that tells a host which group to join.
pub const ENV: &str = "BERTH_CGROUP";

/// How long a killed group may take to empty.
const EMPTIED_WITHIN: Duration = Duration::from_secs(5);

/// Where berthd makes sessions' groups.
#[derive(Debug, Clone)]
pub struct Cgroups {
    base: PathBuf,
    /// berthd's runtime directory: its groups' names say whose they are.
    runtime: PathBuf,
}

impl Cgroups {
    /// berthd's own cgroup v2 directory, when it can make groups in it.
    pub fn detect(runtime: &Path) -> Option<Self> {
        if !nix::unistd::geteuid().is_root() {
            return None;
        }
        let base = berth_config::paths::own_cgroup_dir()?;
        let runtime = runtime.to_owned();
        // (The root group has no cgroup.kill, its children do: `end`
        // falls back to killing each member where the kernel lacks it.)
        nix::unistd::access(&base.join("cgroup.procs"), nix::unistd::AccessFlags::W_OK)
            .is_ok()
            .then_some(Self { base, runtime })
    }

    /// The group of session `name`.
    pub fn path(&self, name: &str) -> PathBuf {
        self.base
            .join(berth_config::paths::session_cgroup(&self.runtime, name))
    }

    /// Makes the group of session `name` (it may exist: a host restarted).
    pub fn create(&self, name: &str) -> std::io::Result<PathBuf> {
        let path = self.path(name);
        match std::fs::create_dir(&path) {
            Ok(()) => Ok(path),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(path),
            Err(e) => Err(e),
        }
    }
}

/// Ends every process in the group at `path` and removes the group;
/// how many processes it held. A group that is not there is nothing.
pub fn end(path: &Path) -> std::io::Result<usize> {
    let procs = match std::fs::read_to_string(path.join("cgroup.procs")) {
        Ok(p) => p.lines().count(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    // cgroup.kill (Linux 5.14) ends the group at once, forks and all;
    // without it, each member is killed until none is left.
    let at_once = std::fs::write(path.join("cgroup.kill"), "1").is_ok();
    // rmdir succeeds once the last process is reaped; killed processes
    // leave within moments.
    let until = Instant::now() + EMPTIED_WITHIN;
    loop {
        if !at_once {
            kill_members(path);
        }
        match std::fs::remove_dir(path) {
            Ok(()) => return Ok(procs),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(procs),
            Err(e) if Instant::now() >= until => return Err(e),
            Err(_) => std::thread::sleep(Duration::from_millis(10)),
        }
    }
}

fn kill_members(path: &Path) {
    let procs = std::fs::read_to_string(path.join("cgroup.procs")).unwrap_or_default();
    for pid in procs.lines().filter_map(|l| l.parse::<i32>().ok()) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
}
