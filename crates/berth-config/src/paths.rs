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

/// `$XDG_RUNTIME_DIR/berth`, else `/tmp/berth-$UID`.
pub fn user_runtime_dir() -> PathBuf {
    match std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        Some(dir) => Path::new(&dir).join("berth"),
        None => PathBuf::from(format!("/tmp/berth-{}", nix::unistd::geteuid())),
    }
}

/// `RUNTIME/sessions`.
pub fn sessions_dir(runtime: &Path) -> PathBuf {
    runtime.join("sessions")
}

/// `RUNTIME/sessions/NAME.sock`.
pub fn session_socket(runtime: &Path, name: &str) -> PathBuf {
    sessions_dir(runtime).join(format!("{name}.sock"))
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
