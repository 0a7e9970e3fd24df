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
    match suggest(name, &names) {
        Some(close) => bail!("no session {name:?} (did you mean {close:?}? see berth ls)"),
        None => bail!("no session {name:?} (see berth ls)"),
    }
}

/// Sessions with a socket in `dir`: (name, socket path), sorted by name.
pub fn list(dir: &Path) -> Vec<(String, PathBuf)> {
    paths::named_files(&paths::sessions_dir(dir), ".sock")
}

/// The closest known name, when it is close enough to be a typo.
fn suggest<'a>(name: &str, names: &'a [String]) -> Option<&'a str> {
    names
        .iter()
        .map(|n| (strsim::damerau_levenshtein(name, n), n))
        .filter(|(d, n)| *d <= 2.max(n.len() / 4))
        .min()
        .map(|(_, n)| n.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_typos_only() {
        let names = vec!["ci-runner".to_owned(), "repl".to_owned()];
        assert_eq!(suggest("ci-runnr", &names), Some("ci-runner"));
        assert_eq!(suggest("rpel", &names), Some("repl"));
        assert_eq!(suggest("database", &names), None);
    }
}
