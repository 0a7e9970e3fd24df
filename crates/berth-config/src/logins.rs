//! Live web logins, as berthd records them: `RUNTIME/web/logins/UID`,
//! root's, 0644, holding when the login ends and whether the dashboard
//! may type for that person. berthd writes it when berth-web redeems the
//! one-time code the person got from `berth web login` (asked over the
//! control socket, where the kernel says who asks), and removes it on
//! logout or expiry.
//!
//! It is how a host or berthd knows, without berth-web's word, that
//! berth-web may speak for UID at all, and for what: a compromised
//! berth-web can act for no one who is not logged in to it, and for
//! nobody beyond viewing (and typing, where `allow_input` said so).

use std::path::{Path, PathBuf};

use crate::trust::{self, Last};

/// A live login.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Login {
    /// Seconds since the epoch when it ends.
    pub expires: u64,
    /// The dashboard may type for this person (`[web] allow_input`);
    /// the session's access lists still decide where.
    pub input: bool,
}

/// `RUNTIME/web/logins`.
pub fn dir(runtime: &Path) -> PathBuf {
    runtime.join("web").join("logins")
}

fn record(runtime: &Path, uid: u32) -> PathBuf {
    dir(runtime).join(uid.to_string())
}

/// Now, in seconds since the epoch.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// When a login that starts now and lasts `ttl` ends, in seconds since
/// the epoch, rounded up: never before the cookie berth-web sets for it.
pub fn ends(ttl: std::time::Duration) -> u64 {
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    now_ms.div_ceil(1000) + ttl.as_secs()
}

/// The live login of `uid`, if root recorded one that has not ended.
/// A record anyone but root could have written is no record.
pub fn live(runtime: &Path, uid: u32) -> Option<Login> {
    live_recorded_by(runtime, uid, 0)
}

/// The live login of `uid`, if `writer` (root, or in user mode the user
/// berthd runs as) recorded one that has not ended.
pub fn live_recorded_by(runtime: &Path, uid: u32, writer: u32) -> Option<Login> {
    let path = record(runtime, uid);
    trust::check(&path, writer, Last::File).ok()?;
    let text = std::fs::read_to_string(&path).ok()?;
    let mut words = text.split_whitespace();
    let expires = words.next()?.parse().ok()?;
    let input = words.next()? == "input";
    (expires > now()).then_some(Login { expires, input })
}

/// Records `login` for `uid` (berthd, as root): written whole, then moved
/// into place.
pub fn write(runtime: &Path, uid: u32, login: Login) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    let dir = dir(runtime);
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o755)
        .create(&dir)?;
    let path = record(runtime, uid);
    let tmp = dir.join(format!(".{uid}.new"));
    let what = if login.input { "input" } else { "view" };
    std::fs::write(&tmp, format!("{} {what}\n", login.expires))?;
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o644))?;
    std::fs::rename(&tmp, &path)
}

/// Ends `uid`'s login; whether there was one.
pub fn remove(runtime: &Path, uid: u32) -> bool {
    std::fs::remove_file(record(runtime, uid)).is_ok()
}

/// Ends every login; how many there were.
pub fn remove_all(runtime: &Path) -> u32 {
    let Ok(entries) = std::fs::read_dir(dir(runtime)) else {
        return 0;
    };
    entries
        .flatten()
        .filter(|e| std::fs::remove_file(e.path()).is_ok())
        .count() as u32
}

/// Removes the records of logins that have ended.
pub fn forget_ended(runtime: &Path) {
    let Ok(entries) = std::fs::read_dir(dir(runtime)) else {
        return;
    };
    for e in entries.flatten() {
        let uid = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok());
        if let Some(uid) = uid {
            if live(runtime, uid).is_none() {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_login_is_live_until_it_ends_or_is_removed() {
        let run = tempfile::tempdir().unwrap();
        std::fs::set_permissions(
            run.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();
        assert_eq!(live(run.path(), 1000), None);
        let login = Login {
            expires: now() + 60,
            input: true,
        };
        write(run.path(), 1000, login).unwrap();
        // Only root's records are believed: as root here, it is.
        if nix::unistd::geteuid().is_root() {
            assert_eq!(live(run.path(), 1000), Some(login));
        }
        write(
            run.path(),
            1001,
            Login {
                expires: now() - 1,
                input: false,
            },
        )
        .unwrap();
        assert_eq!(live(run.path(), 1001), None, "ended");
        forget_ended(run.path());
        assert!(!record(run.path(), 1001).exists());
        assert_eq!(remove_all(run.path()), 1);
        assert_eq!(live(run.path(), 1000), None);
    }
}
