//! Whether a file berth is about to believe was put where it is by
//! someone berth may believe: the caller or root.
//!
//! A runtime directory, a socket, a config file: before berth sends
//! keystrokes to a socket or runs what a file declares, the path that
//! leads to it must be owned by the caller or root and writable by no one
//! else (tmux checks its socket directory the same way; sshd's StrictModes
//! and sudo check their files so). A root-owned sticky directory (`/tmp`)
//! may be passed through: only an entry's owner can rename or remove it,
//! so the entry's own owner decides. A symbolic link is followed only when
//! it is itself owned by the caller or root, and the place it leads to is
//! checked again from the root.

use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Component, Path, PathBuf};

use crate::accounts::user_name;

/// Why a path is not believed. Its `Display` is "PATH REASON", for a
/// caller to put in a sentence that says what to do.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{} {reason}", path.display())]
pub struct Untrusted {
    pub path: PathBuf,
    pub reason: String,
}

impl Untrusted {
    /// Why `checked` is not believed, said of it: "it REASON" when the
    /// trouble is `checked` itself, else "PATH REASON" (a directory above).
    pub fn said_of(&self, checked: &Path) -> String {
        match self.path == checked {
            true => format!("it {}", self.reason),
            false => self.to_string(),
        }
    }
}

/// What the last component must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Last {
    /// A directory of the caller's or root's, writable by no one else
    /// (readable by others or not: the system runtime directory is 0755).
    Dir,
    /// A regular file (a config file): the same owners, writable by no
    /// one else.
    File,
    /// A socket: its directory as above, or a sticky shared directory
    /// (`/tmp/demo.sock`) where the socket itself is the caller's or
    /// root's. No symbolic link.
    Socket,
}

/// Checks `path` for a caller whose effective uid is `uid`. `Ok` when
/// nothing on the way could have been put there by anyone else; a path
/// that does not exist is an `io::ErrorKind::NotFound` in `Err(None)`.
pub fn check(path: &Path, uid: u32, last: Last) -> Result<(), Option<Untrusted>> {
    let absolute = absolute(path).map_err(|_| None)?;
    match walk(&absolute, uid, last)? {
        false => Ok(()),
        // A trusted link on the way: check where it leads, as it is.
        true => {
            let real = std::fs::canonicalize(&absolute).map_err(|_| None)?;
            match walk(&real, uid, last)? {
                false => Ok(()),
                true => Err(Some(untrusted(
                    &real,
                    "still has a symbolic link in it".into(),
                ))),
            }
        }
    }
}

/// Whether `uid` may believe a file owned by `owner`.
pub fn trusted_owner(owner: u32, uid: u32) -> bool {
    owner == 0 || owner == uid
}

/// Who may own what `uid` believes, in words.
fn believed(uid: u32) -> &'static str {
    if uid == 0 {
        "root"
    } else {
        "you or root"
    }
}

/// The one-line description of an owner: "mallory (uid 1001)".
pub fn owner_of(uid: u32) -> String {
    format!("{} (uid {uid})", user_name(uid))
}

fn absolute(path: &Path) -> std::io::Result<PathBuf> {
    if path.is_absolute() {
        Ok(path.to_owned())
    } else {
        Ok(std::env::current_dir()?.join(path))
    }
}

/// Walks `path` from the root; `Ok(true)` when a (trusted) symbolic link
/// was met, so the caller checks the resolved path too.
fn walk(path: &Path, uid: u32, last: Last) -> Result<bool, Option<Untrusted>> {
    // What a path ending in `.` or `..` names is only known resolved.
    if matches!(
        path.components().next_back(),
        Some(Component::CurDir | Component::ParentDir)
    ) {
        let real = std::fs::canonicalize(path).map_err(|_| None)?;
        return walk(&real, uid, last);
    }
    let mut prefix = PathBuf::new();
    let mut parent_shared = false;
    let count = path.components().count();
    for (i, component) in path.components().enumerate() {
        match component {
            Component::RootDir => prefix.push("/"),
            Component::Normal(c) => prefix.push(c),
            // As the kernel resolves them: no link has been met so far (a
            // link ends this walk), so going up is going to the directory
            // already checked.
            Component::CurDir => continue,
            Component::ParentDir => {
                prefix.pop();
                continue;
            }
            Component::Prefix(_) => unreachable!("no path prefixes on Unix"),
        }
        let is_last = i + 1 == count;
        let meta = match prefix.symlink_metadata() {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(None),
            Err(e) => return Err(Some(untrusted(&prefix, format!("cannot be checked: {e}")))),
        };
        let owner = meta.uid();
        let kind = meta.file_type();
        if kind.is_symlink() {
            if is_last && matches!(last, Last::Socket | Last::Dir) {
                return Err(Some(untrusted(
                    &prefix,
                    format!(
                        "is a symbolic link (owned by {}); berth follows none here",
                        owner_of(owner)
                    ),
                )));
            }
            if !trusted_owner(owner, uid) {
                return Err(Some(untrusted(
                    &prefix,
                    format!(
                        "is a symbolic link owned by {}, not by {}",
                        owner_of(owner),
                        believed(uid)
                    ),
                )));
            }
            // What it leads to is checked from the root afterwards.
            return Ok(true);
        }
        let mode = meta.mode() & 0o7777;
        let writable_by_others = mode & 0o022 != 0;
        let sticky = mode & 0o1000 != 0;
        if is_last && last == Last::Socket {
            if !kind.is_socket() {
                return Err(Some(untrusted(&prefix, "is not a socket".into())));
            }
            if parent_shared && !trusted_owner(owner, uid) {
                return Err(Some(untrusted(
                    &prefix,
                    format!(
                        "is owned by {}, not by {}, in a directory anyone may write",
                        owner_of(owner),
                        believed(uid)
                    ),
                )));
            }
            continue;
        }
        if !trusted_owner(owner, uid) {
            return Err(Some(untrusted(
                &prefix,
                format!("is owned by {}, not by {}", owner_of(owner), believed(uid)),
            )));
        }
        if is_last && last == Last::File {
            if !kind.is_file() {
                return Err(Some(untrusted(&prefix, "is not a regular file".into())));
            }
            if writable_by_others {
                return Err(Some(untrusted(
                    &prefix,
                    format!("is writable by group or others (mode {mode:04o})"),
                )));
            }
            continue;
        }
        if !kind.is_dir() {
            return Err(Some(untrusted(&prefix, "is not a directory".into())));
        }
        let shared_ok = !is_last || last == Last::Socket;
        if writable_by_others && !(sticky && owner == 0 && shared_ok) {
            return Err(Some(untrusted(
                &prefix,
                format!("is writable by group or others (mode {mode:04o})"),
            )));
        }
        parent_shared = writable_by_others;
    }
    Ok(false)
}

fn untrusted(path: &Path, reason: String) -> Untrusted {
    Untrusted {
        path: path.to_owned(),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn me() -> u32 {
        nix::unistd::geteuid().as_raw()
    }

    fn chmod(p: &Path, mode: u32) {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn a_private_directory_of_ours_is_believed() {
        let dir = tempfile::tempdir().unwrap();
        chmod(dir.path(), 0o700);
        assert_eq!(check(dir.path(), me(), Last::Dir), Ok(()));
    }

    #[test]
    fn a_directory_others_may_write_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let shared = dir.path().join("shared");
        std::fs::create_dir(&shared).unwrap();
        chmod(&shared, 0o777);
        let e = check(&shared, me(), Last::Dir).unwrap_err().unwrap();
        assert_eq!(e.path, shared);
        assert_eq!(e.reason, "is writable by group or others (mode 0777)");
        // Nor anything under it.
        std::fs::create_dir(shared.join("berth")).unwrap();
        let e = check(&shared.join("berth"), me(), Last::Dir)
            .unwrap_err()
            .unwrap();
        assert_eq!(e.path, shared);
    }

    #[test]
    fn a_directory_of_someone_else_is_not() {
        let dir = tempfile::tempdir().unwrap();
        // As root, the directory is given to a stranger; otherwise a
        // stranger looks at ours.
        let asker = if me() == 0 {
            nix::unistd::chown(dir.path(), Some(nix::unistd::Uid::from_raw(4242)), None).unwrap();
            0
        } else {
            me() + 4242
        };
        let e = check(dir.path(), asker, Last::Dir).unwrap_err().unwrap();
        assert!(e.reason.starts_with("is owned by"), "{e}");
        let whom = if asker == 0 {
            ", not by root"
        } else {
            ", not by you or root"
        };
        assert!(e.reason.ends_with(whom), "{e}");
    }

    #[test]
    fn a_symbolic_link_as_the_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        chmod(dir.path(), 0o700);
        std::fs::create_dir(dir.path().join("real")).unwrap();
        std::os::unix::fs::symlink(dir.path().join("real"), dir.path().join("link")).unwrap();
        let e = check(&dir.path().join("link"), me(), Last::Dir)
            .unwrap_err()
            .unwrap();
        assert!(e.reason.starts_with("is a symbolic link (owned by"), "{e}");
        // A link of ours on the way is followed, and its target checked.
        std::fs::create_dir(dir.path().join("real/berth")).unwrap();
        chmod(&dir.path().join("real/berth"), 0o700);
        assert_eq!(
            check(&dir.path().join("link/berth"), me(), Last::Dir),
            Ok(())
        );
    }

    #[test]
    fn dots_are_resolved_as_the_kernel_does() {
        let dir = tempfile::tempdir().unwrap();
        chmod(dir.path(), 0o755);
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("berth.toml"), "").unwrap();
        chmod(&dir.path().join("berth.toml"), 0o644);
        let dotted = dir.path().join("sub/../berth.toml");
        assert_eq!(check(&dotted, me(), Last::File), Ok(()));
        chmod(&dir.path().join("sub"), 0o777);
        // The way through a directory anyone may write is refused even
        // though the file is not in it.
        assert!(check(&dotted, me(), Last::File).is_err());
        assert_eq!(check(&dir.path().join("sub/.."), me(), Last::Dir), Ok(()));
    }

    #[test]
    fn a_missing_path_is_none() {
        assert_eq!(
            check(Path::new("/nonexistent/berth"), me(), Last::Dir),
            Err(None)
        );
    }

    #[test]
    fn a_config_file_others_may_write_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        chmod(dir.path(), 0o755);
        let file = dir.path().join("berth.toml");
        std::fs::write(&file, "").unwrap();
        chmod(&file, 0o644);
        assert_eq!(check(&file, me(), Last::File), Ok(()));
        chmod(&file, 0o664);
        let e = check(&file, me(), Last::File).unwrap_err().unwrap();
        assert_eq!(
            e.to_string(),
            format!(
                "{} is writable by group or others (mode 0664)",
                file.display()
            )
        );
    }
}
