//! The session socket: adopted from the supervisor (LISTEN_FDS, as systemd
//! socket activation passes it) or bound here.

use std::os::fd::{BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::net::UnixListener as StdListener;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

pub struct Listener {
    pub listener: tokio::net::UnixListener,
    /// Set when this process bound the socket (or was given it by berthd)
    /// and so removes it on exit: no stale socket is left behind.
    pub bound: Option<BoundSocket>,
}

/// Removes the socket file this process bound when dropped.
pub struct BoundSocket(PathBuf);

impl Drop for BoundSocket {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The inherited listening socket (see [`inherited`]), or a new one bound
/// at `path`. Call inside the runtime.
///
/// `owns_path`: the socket file at `path` is this host's to remove on exit
/// even though it was passed in (berthd's `--listen-fd`); a socket systemd
/// passes belongs to its socket unit and stays.
pub fn listen(
    inherited: Option<StdListener>,
    path: &Path,
    owns_path: bool,
) -> anyhow::Result<Listener> {
    if let Some(l) = inherited {
        return Ok(Listener {
            listener: to_tokio(l)?,
            bound: owns_path.then(|| BoundSocket(path.to_owned())),
        });
    }
    Ok(Listener {
        listener: to_tokio(bind(path)?)?,
        bound: Some(BoundSocket(path.to_owned())),
    })
}

fn to_tokio(l: StdListener) -> anyhow::Result<tokio::net::UnixListener> {
    l.set_nonblocking(true)?;
    Ok(tokio::net::UnixListener::from_std(l)?)
}

/// The socket passed in: `--listen-fd N` (how berthd's embedded backend
/// passes it: it cannot know the pid for LISTEN_PID before exec), or fd 3
/// when `LISTEN_FDS` is set and `LISTEN_PID` is this process (systemd).
/// Call first thing, before anything else opens descriptors.
// Adopting an inherited descriptor takes unsafe code (see the SAFETY notes).
#[allow(unsafe_code)]
pub fn inherited(listen_fd: Option<i32>) -> anyhow::Result<Option<StdListener>> {
    // sd-notify reads LISTEN_PID and LISTEN_FDS (none unless LISTEN_PID is
    // this process).
    let passed = sd_notify::listen_fds().context("socket activation")?;
    let count = passed.len();
    let first = passed.into_iter().next();
    // These describe this process only: never pass them to the program.
    std::env::remove_var("LISTEN_PID");
    std::env::remove_var("LISTEN_FDS");
    std::env::remove_var("LISTEN_FDNAMES");
    let fd = match (listen_fd, first) {
        (Some(fd), _) => fd,
        (None, Some(fd)) if count == 1 => fd,
        (None, Some(_)) => bail!("expected one socket in LISTEN_FDS, got {count}"),
        (None, None) => return Ok(None),
    };
    if fd < 3 {
        bail!("--listen-fd {fd}: descriptors 0 to 2 are stdin, stdout and stderr");
    }
    use nix::sys::socket::{getsockopt, sockopt};
    // Look before taking ownership: if the descriptor is not a listening
    // socket, it belongs to someone else and must not be closed by us.
    // SAFETY: borrowed only for this check; the caller says it is open.
    let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
    match getsockopt(&borrowed, sockopt::AcceptConn) {
        Ok(true) => {}
        Ok(false) => bail!("fd {fd} is a socket that is not listening"),
        Err(e) => bail!("fd {fd} was passed as a listening socket, but it is not: {e}"),
    }
    // SAFETY: an open listening socket handed to this process, and nothing
    // else in it owns the descriptor.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    nix::fcntl::fcntl(
        &fd,
        nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
    )?;
    Ok(Some(StdListener::from(fd)))
}

/// Binds `path` with mode 0600, replacing a stale socket but never a live one.
fn bind(path: &Path) -> anyhow::Result<StdListener> {
    if let Some(dir) = path.parent() {
        if !dir.exists() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .with_context(|| format!("failed to create {}", dir.display()))?;
        }
    }
    use berth_proto::socket::BindError;
    berth_proto::socket::bind_fresh(path).map_err(|e| match e {
        BindError::InUse(_) => anyhow::anyhow!(
            "{} is in use by a running session; stop it first or choose another --socket",
            path.display()
        ),
        BindError::NotSocket(_) => {
            anyhow::anyhow!("{e}; remove it or choose another --socket")
        }
        e => e.into(),
    })
}

use std::os::unix::fs::DirBuilderExt;
