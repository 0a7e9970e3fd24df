//! Whether a session's program can be started at all: found (a path, or
//! a name on the session's PATH) and executable. `berth new` refuses one
//! that cannot, before anything is created; `berth validate` warns about
//! it (the file may appear before berthd starts the session).

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::model::Session;

/// The file `session`'s program runs, or why it cannot be started. The
/// account's own rights are checked when it exists (`uid`, `gids`).
pub fn resolve(session: &Session, account: Option<(u32, &[u32])>) -> Result<PathBuf, String> {
    let argv = session.command.argv();
    let program = argv.first().map(String::as_str).unwrap_or_default();
    let path_var = session
        .env
        .get("PATH")
        .map(String::as_str)
        .unwrap_or(crate::defaults::PATH);
    let found = match program.contains('/') {
        true => {
            let path = match session.cwd.as_deref() {
                Some(cwd) if !program.starts_with('/') => cwd.join(program),
                _ => PathBuf::from(program),
            };
            if !path.exists() {
                return Err(format!("{program}: no such file"));
            }
            path
        }
        false => path_var
            .split(':')
            .filter(|d| !d.is_empty())
            .map(|d| Path::new(d).join(program))
            .find(|p| p.is_file())
            .ok_or_else(|| format!("{program}: command not found in PATH ({path_var})"))?,
    };
    let meta = std::fs::metadata(&found).map_err(|e| format!("{program}: {e}"))?;
    if !meta.is_file() {
        return Err(format!("{program}: not a file"));
    }
    if !executable_by(&meta, account) {
        return Err(format!(
            "{program}: permission denied (not executable{})",
            match account {
                Some(_) => format!(" by {}", session.user.as_deref().unwrap_or("its account")),
                None => String::new(),
            }
        ));
    }
    Ok(found)
}

/// [`resolve`] with the rights of the session's account, when it exists
/// (it may be created when the session starts). Looks the account up:
/// call it off any loop that must stay prompt.
pub fn resolve_as_account(session: &Session) -> Result<PathBuf, String> {
    let account = session.user.as_deref().and_then(|name| {
        let user = nix::unistd::User::from_name(name).ok()??;
        let cname = std::ffi::CString::new(name).ok()?;
        let gids: Vec<u32> = nix::unistd::getgrouplist(&cname, user.gid)
            .unwrap_or_default()
            .into_iter()
            .map(|g| g.as_raw())
            .collect();
        Some((user.uid.as_raw(), gids))
    });
    resolve(session, account.as_ref().map(|(u, g)| (*u, g.as_slice())))
}

/// Whether the execute bit that applies to `account` is set (any of them
/// for root, or when the account does not exist yet).
fn executable_by(meta: &std::fs::Metadata, account: Option<(u32, &[u32])>) -> bool {
    let mode = meta.permissions().mode();
    match account {
        None | Some((0, _)) => mode & 0o111 != 0,
        Some((uid, _)) if uid == meta.uid() => mode & 0o100 != 0,
        Some((_, gids)) if gids.contains(&meta.gid()) => mode & 0o010 != 0,
        Some(_) => mode & 0o001 != 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Command;

    fn session(argv: &[&str]) -> Session {
        Session::with_defaults(
            "s",
            Command::Argv(argv.iter().map(|s| s.to_string()).collect()),
        )
    }

    #[test]
    fn programs_are_found_and_checked_with_one_line_reasons() {
        assert!(resolve(&session(&["bash"]), None)
            .unwrap()
            .ends_with("bash"));
        assert_eq!(
            resolve(&session(&["/nonexistent/prog"]), None).unwrap_err(),
            "/nonexistent/prog: no such file"
        );
        assert_eq!(
            resolve(&session(&["no-such-program-berth"]), None).unwrap_err(),
            format!(
                "no-such-program-berth: command not found in PATH ({})",
                crate::defaults::PATH
            )
        );
        let mut own_path = session(&["tool"]);
        let dir = tempfile::tempdir().unwrap();
        own_path
            .env
            .insert("PATH".into(), dir.path().display().to_string());
        let tool = dir.path().join("tool");
        std::fs::write(&tool, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(
            resolve(&own_path, None).unwrap_err(),
            "tool: permission denied (not executable)"
        );
        std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o700)).unwrap();
        assert_eq!(resolve(&own_path, None).unwrap(), tool);
        // Executable by its owner only: not by another account.
        let owner = std::fs::metadata(&tool).unwrap().uid();
        assert!(resolve(&own_path, Some((owner, &[]))).is_ok());
        own_path.user = Some("someone".into());
        assert_eq!(
            resolve(&own_path, Some((owner + 4242, &[]))).unwrap_err(),
            "tool: permission denied (not executable by someone)"
        );
        assert_eq!(
            resolve(&session(&["/tmp"]), None).unwrap_err(),
            "/tmp: not a file"
        );
    }
}
