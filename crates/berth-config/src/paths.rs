//! Where things live, in system mode (root) and user mode (DESIGN.md "Paths").

use std::path::{Path, PathBuf};

/// Environment variable that overrides the runtime directory.
pub const RUNTIME_DIR_ENV: &str = "BERTH_RUNTIME_DIR";
/// The system runtime directory.
pub const SYSTEM_RUNTIME_DIR: &str = "/run/berth";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    System,
    User,
}

impl Mode {
    /// System mode when running as root, user mode otherwise.
    pub fn current() -> Self {
        if nix::unistd::geteuid().is_root() {
            Mode::System
        } else {
            Mode::User
        }
    }
}

/// The runtime directory for `mode`, honouring `BERTH_RUNTIME_DIR`.
pub fn runtime_dir(mode: Mode) -> PathBuf {
    if let Some(dir) = std::env::var_os(RUNTIME_DIR_ENV).filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    match mode {
        Mode::System => PathBuf::from(SYSTEM_RUNTIME_DIR),
        Mode::User => user_runtime_dir(),
    }
}

/// `$XDG_RUNTIME_DIR/berth`; without `XDG_RUNTIME_DIR` (su, sudo, cron,
/// ssh without logind), `/run/user/$UID/berth` when logind made
/// `/run/user/$UID` for this user (systemd's own answer: the same place a
/// login shell uses, so every way in finds the same sessions), else
/// `/tmp/berth-$UID` (tmux's answer; believed only once [`check_dir`]
/// says nobody else could have made it).
pub fn user_runtime_dir() -> PathBuf {
    let uid = nix::unistd::geteuid().as_raw();
    if let Some(dir) = std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        return Path::new(&dir).join("berth");
    }
    let logind = PathBuf::from(format!("/run/user/{uid}"));
    if crate::trust::check(&logind, uid, crate::trust::Last::Dir).is_ok() {
        return logind.join("berth");
    }
    PathBuf::from(format!("/tmp/berth-{uid}"))
}

/// `Ok` when `dir` (a runtime directory or one in it) exists and nobody
/// but the caller or root could have put it or anything in it there;
/// `Err(None)` when it does not exist; else the one-line refusal, naming
/// the path, its owner and what to do.
pub fn check_dir(dir: &Path) -> Result<(), Option<String>> {
    let uid = nix::unistd::geteuid().as_raw();
    crate::trust::check(dir, uid, crate::trust::Last::Dir).map_err(|e| e.map(|e| refusal(dir, &e)))
}

/// The refusal of a runtime directory or socket `what` because of `why`.
pub fn refusal(what: &Path, why: &crate::trust::Untrusted) -> String {
    format!(
        "refusing {}: {}; someone else may have put it there: remove it, or set XDG_RUNTIME_DIR (or --runtime-dir) to a directory of your own",
        what.display(),
        why.said_of(what)
    )
}

/// The system configuration file.
pub const SYSTEM_CONFIG: &str = "/etc/berth/berth.toml";

/// `berth.toml` for `mode`: `/etc/berth/berth.toml`, or
/// `$XDG_CONFIG_HOME/berth/berth.toml` (else `~/.config/berth/berth.toml`).
pub fn config_file(mode: Mode) -> PathBuf {
    match mode {
        Mode::System => PathBuf::from(SYSTEM_CONFIG),
        Mode::User => {
            let base = std::env::var_os("XDG_CONFIG_HOME")
                .filter(|d| !d.is_empty())
                .map(PathBuf::from)
                .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".config")))
                .unwrap_or_else(|| PathBuf::from("/etc"));
            base.join("berth").join("berth.toml")
        }
    }
}

/// The mode a config file is checked in: the system file always in system
/// mode (accounts are checked as berthd as root will), others as we run.
pub fn mode_for_config(path: &Path) -> Mode {
    if path == Path::new(SYSTEM_CONFIG) {
        Mode::System
    } else {
        Mode::current()
    }
}

/// Where output logs go: `/var/log/berth`, or `$XDG_STATE_HOME/berth`
/// (else `~/.local/state/berth`).
pub fn log_dir(mode: Mode) -> PathBuf {
    match mode {
        Mode::System => PathBuf::from("/var/log/berth"),
        Mode::User => std::env::var_os("XDG_STATE_HOME")
            .filter(|d| !d.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".local/state")))
            .unwrap_or_else(|| PathBuf::from("/tmp"))
            .join("berth"),
    }
}

/// `RUNTIME/control.sock`, berthd's control socket.
pub fn control_socket(runtime: &Path) -> PathBuf {
    runtime.join("control.sock")
}

/// `RUNTIME/hosts`: berthd's record of the hosts it started.
pub fn hosts_dir(runtime: &Path) -> PathBuf {
    runtime.join("hosts")
}

/// `RUNTIME/sessions`.
pub fn sessions_dir(runtime: &Path) -> PathBuf {
    runtime.join("sessions")
}

/// `RUNTIME/sessions/NAME.sock`.
pub fn session_socket(runtime: &Path, name: &str) -> PathBuf {
    sessions_dir(runtime).join(format!("{name}.sock"))
}

/// The name of session `name`'s cgroup under the embedded backend:
/// `berth-RUN-NAME`, RUN a hash of berthd's runtime directory, so two
/// berthds never share (and never end) each other's groups. FNV-1a: the
/// same across builds and versions, so a new berthd finds an old one's.
pub fn session_cgroup(runtime: &Path, name: &str) -> String {
    let run = runtime
        .as_os_str()
        .as_encoded_bytes()
        .iter()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
        });
    format!("berth-{:08x}-{name}", run as u32)
}

/// This process's cgroup v2 directory (where berthd makes its sessions'
/// groups), from `/proc/self/mountinfo` and `/proc/self/cgroup`.
pub fn own_cgroup_dir() -> Option<PathBuf> {
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    let own = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    cgroup_dir(&mounts, &own)
}

fn cgroup_dir(mountinfo: &str, own: &str) -> Option<PathBuf> {
    let mount = mountinfo.lines().find_map(|line| {
        // "... MOUNTPOINT OPTIONS [optional fields] - FSTYPE SOURCE SUPER"
        let (left, right) = line.split_once(" - ")?;
        (right.split_whitespace().next()? == "cgroup2").then(|| left.split_whitespace().nth(4))?
    })?;
    let path = own.lines().find_map(|l| l.strip_prefix("0::"))?;
    Some(Path::new(mount).join(path.trim_start_matches('/')))
}

/// A session's output log. In system mode each session has a directory of
/// its own, owned by its account, so the unprivileged host can rotate its
/// files.
pub fn session_log(log_dir: &Path, name: &str, mode: Mode) -> PathBuf {
    match mode {
        Mode::System => log_dir.join(name).join(format!("{name}.log")),
        Mode::User => log_dir.join(format!("{name}.log")),
    }
}

/// Runtime directories the CLI searches, most specific first: an explicit
/// override, then the user's own, then the system's, so a non-root operator
/// reaches system sessions with no flags.
pub fn search_runtime_dirs() -> Vec<PathBuf> {
    if let Some(dir) = std::env::var_os(RUNTIME_DIR_ENV).filter(|d| !d.is_empty()) {
        return vec![PathBuf::from(dir)];
    }
    let mut dirs = Vec::new();
    if Mode::current() == Mode::User {
        dirs.push(user_runtime_dir());
    }
    dirs.push(PathBuf::from(SYSTEM_RUNTIME_DIR));
    dirs
}

/// Files in `dir` named `NAME` + `suffix`: (NAME, path), sorted by name;
/// none when `dir` cannot be read. Session sockets and berthd's host
/// records are both found this way.
pub fn named_files(dir: &Path, suffix: &str) -> Vec<(String, PathBuf)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<(String, PathBuf)> = entries
        .flatten()
        .filter_map(|e| {
            let path = e.path();
            let name = path.file_name()?.to_str()?.strip_suffix(suffix)?.to_owned();
            Some((name, path))
        })
        .collect();
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cgroup_dir_is_the_own_group_under_the_cgroup2_mount() {
        let hybrid =
            "35 25 0:30 / /sys/fs/cgroup/unified rw,nosuid shared:10 - cgroup2 cgroup2 rw\n\
                      36 25 0:31 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n";
        assert_eq!(
            cgroup_dir(hybrid, "4:memory:/x\n0::/ci/job\n"),
            Some(PathBuf::from("/sys/fs/cgroup/unified/ci/job"))
        );
        let unified = "30 1 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n";
        assert_eq!(
            cgroup_dir(unified, "0::/\n"),
            Some(PathBuf::from("/sys/fs/cgroup/"))
        );
        // cgroup v1 only: no group of our own to make.
        let v1 = "36 25 0:31 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n";
        assert_eq!(cgroup_dir(v1, "1:cpu:/\n"), None);
    }

    #[test]
    fn cgroup_names_are_stable_and_tell_berthds_apart() {
        let a = session_cgroup(Path::new("/run/berth"), "web");
        assert_eq!(a, session_cgroup(Path::new("/run/berth"), "web"));
        assert!(a.starts_with("berth-") && a.ends_with("-web"), "{a}");
        assert_ne!(a, session_cgroup(Path::new("/tmp/other"), "web"));
    }
}
