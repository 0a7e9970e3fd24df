//! Binding a listening socket file: one rule for session sockets (bound by
//! a host or by berthd for it) and berthd's control socket. A socket is
//! born 0600, so nobody can connect in the moment before its owner and
//! mode are set; a stale socket is replaced, a live one never.

use std::os::unix::fs::FileTypeExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};

/// Why a socket path could not be bound; callers say what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum BindError {
    /// Something answers on it.
    #[error("{} is in use", .0.display())]
    InUse(PathBuf),
    #[error("{} exists and is not a socket", .0.display())]
    NotSocket(PathBuf),
    #[error("failed to {what} {}: {source}", path.display())]
    Io {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Binds `path` with mode 0600.
pub fn bind_fresh(path: &Path) -> Result<UnixListener, BindError> {
    let io = |what, source| BindError::Io {
        what,
        path: path.to_owned(),
        source,
    };
    match std::fs::symlink_metadata(path) {
        Ok(meta) => {
            if !meta.file_type().is_socket() {
                return Err(BindError::NotSocket(path.to_owned()));
            }
            if UnixStream::connect(path).is_ok() {
                return Err(BindError::InUse(path.to_owned()));
            }
            std::fs::remove_file(path).map_err(|e| io("remove stale socket", e))?;
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io("inspect", e)),
    }
    let old = nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o177));
    let result = UnixListener::bind(path);
    nix::sys::stat::umask(old);
    result.map_err(|e| io("bind", e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_stale_socket_is_replaced_a_live_one_and_other_files_never() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.sock");
        let live = bind_fresh(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(matches!(bind_fresh(&path), Err(BindError::InUse(_))));
        drop(live);
        bind_fresh(&path).expect("a stale socket is replaced");
        let file = dir.path().join("file");
        std::fs::write(&file, b"x").unwrap();
        let err = bind_fresh(&file).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("{} exists and is not a socket", file.display())
        );
    }
}
