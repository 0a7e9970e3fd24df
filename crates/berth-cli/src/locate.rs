//! Finding a session's socket by name.

use std::path::{Path, PathBuf};

use anyhow::bail;
use berth_config::paths;

/// Runtime directories to search, most specific first.
pub fn runtime_dirs(explicit: Option<&Path>) -> Vec<PathBuf> {
    match explicit {
        Some(dir) => vec![dir.to_owned()],
        None => paths::search_runtime_dirs(),
    }
}

/// The socket of session `name`, or a "no session" error with a suggestion.
pub fn find(
    name: &str,
    socket: Option<&Path>,
    runtime_dir: Option<&Path>,
) -> anyhow::Result<PathBuf> {
    if let Some(socket) = socket {
        return Ok(socket.to_owned());
    }
    if let Err(e) = berth_config::values::check_session_name(name) {
        bail!("{e}");
    }
    let dirs = runtime_dirs(runtime_dir);
    for dir in &dirs {
        let path = paths::session_socket(dir, name);
        if path.symlink_metadata().is_ok() {
            return Ok(path);
        }
    }
    let names: Vec<String> = dirs.iter().flat_map(|d| list(d)).map(|(n, _)| n).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    bail!("{}", berth_config::values::no_session(name, &names))
}

/// Sessions with a socket in `dir`: (name, socket path), sorted by name.
pub fn list(dir: &Path) -> Vec<(String, PathBuf)> {
    paths::named_files(&paths::sessions_dir(dir), ".sock")
}
