//! Finding a session's socket by name.

use std::path::{Path, PathBuf};

use anyhow::bail;
use berth_config::paths;

/// Runtime directories to search, most specific first. One that exists
/// but that someone other than the caller or root could have put there
/// (or anything in it) is refused, never skipped: a planted directory is
/// an attack the user should hear about. One that does not exist stays
/// in the list (the messages name where berth looked).
pub fn runtime_dirs(explicit: Option<&Path>) -> anyhow::Result<Vec<PathBuf>> {
    let dirs = match explicit {
        Some(dir) => vec![dir.to_owned()],
        None => paths::search_runtime_dirs(),
    };
    for dir in &dirs {
        if let Err(Some(refusal)) = paths::check_dir(dir) {
            bail!("{refusal}");
        }
    }
    Ok(dirs)
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
    let dirs = runtime_dirs(runtime_dir)?;
    for dir in &dirs {
        let path = paths::session_socket(dir, name);
        if path.symlink_metadata().is_ok() {
            return Ok(path);
        }
    }
    let names: Vec<String> = all(&dirs).into_iter().map(|(n, _)| n).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    bail!("{}", berth_config::values::no_session(name, &names))
}

/// Sessions with a socket in any of `dirs`: (name, socket path), sorted
/// by name; a name in several directories is the first directory's, as
/// [`find`] resolves it.
pub fn all(dirs: &[PathBuf]) -> Vec<(String, PathBuf)> {
    let mut found = std::collections::BTreeMap::new();
    for dir in dirs {
        for (name, path) in list(dir) {
            found.entry(name).or_insert(path);
        }
    }
    found.into_iter().collect()
}

/// Sessions with a socket in `dir`: (name, socket path), sorted by name.
fn list(dir: &Path) -> Vec<(String, PathBuf)> {
    paths::named_files(&paths::sessions_dir(dir), ".sock")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_sessions_sorted_and_the_first_directory_wins() {
        let base = std::env::temp_dir().join(format!("berth-locate-{}", std::process::id()));
        let (user, system) = (base.join("user"), base.join("system"));
        for (dir, names) in [(&user, ["web", "db"]), (&system, ["db", "ci"])] {
            std::fs::create_dir_all(paths::sessions_dir(dir)).unwrap();
            for n in names {
                std::fs::write(paths::session_socket(dir, n), b"").unwrap();
            }
        }
        let found = all(&[user.clone(), system.clone()]);
        let _ = std::fs::remove_dir_all(&base);
        assert_eq!(
            found,
            vec![
                ("ci".to_owned(), paths::session_socket(&system, "ci")),
                ("db".to_owned(), paths::session_socket(&user, "db")),
                ("web".to_owned(), paths::session_socket(&user, "web")),
            ]
        );
    }
}
