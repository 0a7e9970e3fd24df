//! Connecting to a session socket, with errors that say what to do.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use anyhow::{anyhow, bail};
use berth_config::accounts::{group_name, user_name};
use berth_config::paths;
use berth_config::trust::{self, Last};
use berth_proto::sync::{Client, ClientError};
use berth_proto::HeaderError;

/// How long to wait for a session that accepted the connection to answer.
const REPLY_TIMEOUT: Duration = Duration::from_secs(30);

/// [`REPLY_TIMEOUT`], or a test's shorter one (`BERTH_TEST_REPLY_TIMEOUT_MS`):
/// a test of a host that never answers need not wait half a minute.
fn reply_timeout() -> Duration {
    std::env::var("BERTH_TEST_REPLY_TIMEOUT_MS")
        .ok()
        .and_then(|ms| ms.parse().ok())
        .map_or(REPLY_TIMEOUT, Duration::from_millis)
}

pub type Session = Client<UnixStream>;

/// Connects and handshakes with the session behind `path`.
pub fn connect(name: &str, path: &Path) -> anyhow::Result<Session> {
    handshake(name, path, session_stream(name, path)?)
}

/// The stream of the session socket at `path`, not yet greeted (`berth
/// dial-stdio --session` relays it).
pub fn session_stream(name: &str, path: &Path) -> anyhow::Result<UnixStream> {
    open(path)?.map_err(|e| connect_error(name, path, e))
}

/// Connects and handshakes with session `name` on the `-H` host.
pub fn connect_remote(remote: &crate::remote::Remote, name: &str) -> anyhow::Result<Session> {
    let dialed = crate::remote::dial(remote, crate::remote::Target::Session(name))?;
    let stream = dialed.stream.try_clone()?;
    greet(stream, reply_timeout()).map_err(|e| {
        remote_greet_error(remote, dialed, e, |e| {
            handshake_error(name, Path::new(&remote.url), e)
        })
    })
}

/// Why greeting the far side of `dialed` failed, in one line naming it.
fn remote_greet_error(
    remote: &crate::remote::Remote,
    dialed: crate::remote::Dialed,
    e: ClientError,
    otherwise: impl FnOnce(ClientError) -> anyhow::Error,
) -> anyhow::Error {
    let host = &remote.label;
    match e {
        ClientError::Header(HeaderError::VersionMismatch { ours, theirs }) => anyhow!(
            "{host}: its berth speaks protocol version {theirs}, this berth version {ours}; install the same berth on both hosts"
        ),
        ClientError::Header(HeaderError::NotBerth) => anyhow!(
            "{host}: the far side did not answer as berth does (does a login script there print to standard output?)"
        ),
        e => match dialed.failure() {
            Some(why) => anyhow!("{host}: {why}"),
            None => otherwise(e),
        },
    }
}

/// The same, but a socket nothing listens on (left by a host that is gone)
/// is no session at all: `None`.
pub fn connect_live(name: &str, path: &Path) -> anyhow::Result<Option<Session>> {
    match open(path)? {
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => Ok(None),
        Err(e) => Err(connect_error(name, path, e)),
        Ok(stream) => handshake(name, path, stream).map(Some),
    }
}

/// The one way the CLI opens a socket: only one that nobody but the
/// caller or root could have put where it is (`trust`), and only when
/// what answers is root, the caller, or the account the socket belongs
/// to (a host runs as its session's account and owns its socket; berthd
/// and systemd run as root). The outer error refuses; the inner one is
/// the connection's own failure, for [`connect_error`] to explain.
fn open(path: &Path) -> anyhow::Result<std::io::Result<UnixStream>> {
    let uid = nix::unistd::geteuid().as_raw();
    let owner = match trust::check(path, uid, Last::Socket) {
        Err(Some(why)) => return Err(anyhow!("{}", paths::refusal(path, &why))),
        Err(None) => return Ok(Err(std::io::ErrorKind::NotFound.into())),
        Ok(()) => std::fs::symlink_metadata(path).map(|m| m.uid()),
    };
    let owner = match owner {
        Ok(owner) => owner,
        Err(e) => return Ok(Err(e)),
    };
    let stream = match UnixStream::connect(path) {
        Ok(stream) => stream,
        Err(e) => return Ok(Err(e)),
    };
    let peer = nix::sys::socket::getsockopt(&stream, nix::sys::socket::sockopt::PeerCredentials)
        .map_err(|e| anyhow!("cannot read who answers on {}: {e}", path.display()))?
        .uid();
    if !trust::trusted_owner(peer, uid) && peer != owner {
        bail!(
            "refusing {}: it is answered by {}, who is neither you, root nor the socket's owner {}; someone else may have put it there: remove it",
            path.display(),
            trust::owner_of(peer),
            trust::owner_of(owner)
        );
    }
    Ok(Ok(stream))
}

fn handshake(name: &str, path: &Path, stream: UnixStream) -> anyhow::Result<Session> {
    greet(stream, reply_timeout()).map_err(|e| handshake_error(name, path, e))
}

/// The handshake as this berth, waiting at most `timeout` for each reply.
fn greet(stream: UnixStream, timeout: Duration) -> Result<Session, ClientError> {
    stream.set_read_timeout(Some(timeout))?;
    Client::handshake(stream, &format!("berth/{}", env!("CARGO_PKG_VERSION")))
}

fn connect_error(name: &str, path: &Path, e: std::io::Error) -> anyhow::Error {
    match e.kind() {
        std::io::ErrorKind::PermissionDenied => {
            let owner = match std::fs::metadata(path) {
                Ok(m) => format!(
                    " (owner {}, group {}, mode {:04o})",
                    user_name(m.uid()),
                    group_name(m.gid()),
                    m.permissions().mode() & 0o7777
                ),
                Err(_) => String::new(),
            };
            anyhow!(
                "permission denied: cannot open the socket of session {name:?} at {}{owner}; ask an admin for access to it",
                path.display()
            )
        }
        std::io::ErrorKind::ConnectionRefused => anyhow!(
            "session {name:?} is not running (nothing listens on {}); start it again, or remove the stale socket",
            path.display()
        ),
        std::io::ErrorKind::NotFound => anyhow!("no session {name:?} (no socket at {}; see berth ls)", path.display()),
        _ => anyhow!("failed to connect to session {name:?} at {}: {e}", path.display()),
    }
}

fn handshake_error(name: &str, path: &Path, e: ClientError) -> anyhow::Error {
    match e {
        ClientError::Header(HeaderError::NotBerth) => {
            anyhow!("{} is not a berth session socket (it does not speak the berth protocol)", path.display())
        }
        ClientError::Header(HeaderError::VersionMismatch { ours, theirs }) => anyhow!(
            "protocol version mismatch: this berth speaks version {ours}, session {name:?} speaks version {theirs}; use the berth that came with it"
        ),
        ClientError::Closed => anyhow!(
            "session {name:?} closed the connection during the handshake; is {} a berth session socket?",
            path.display()
        ),
        ClientError::Io(e)
            if e.kind() == std::io::ErrorKind::WouldBlock
                || e.kind() == std::io::ErrorKind::TimedOut =>
        {
            anyhow!(
                "{} accepted the connection but did not answer within {}s: its host may be stopped or stuck; see berth ls, or restart session {name}",
                path.display(),
                reply_timeout().as_secs_f64()
            )
        }
        other => request_error(name, other),
    }
}

/// Turns a failed request into the user-facing line.
pub fn request_error(name: &str, e: ClientError) -> anyhow::Error {
    match e {
        ClientError::Refused { message, .. } => anyhow!("{message}"),
        ClientError::Closed => anyhow!("session {name:?} closed the connection"),
        ClientError::Io(e)
            if e.kind() == std::io::ErrorKind::WouldBlock
                || e.kind() == std::io::ErrorKind::TimedOut =>
        {
            anyhow!(
                "session {name:?} did not answer within {}s",
                reply_timeout().as_secs_f64()
            )
        }
        other => anyhow!("session {name:?}: {other}"),
    }
}

/// Connects to berthd's control socket on `remote`, else in `runtime`,
/// else the user's runtime directory, then the system's.
pub fn daemon_at(
    remote: Option<&crate::remote::Remote>,
    runtime: Option<&Path>,
) -> anyhow::Result<Session> {
    // berthd may wait on hosts before it answers (kill, reload).
    let Some(remote) = remote else {
        let stream = control_stream(runtime)?;
        return greet(stream, reply_timeout() * 4).map_err(|e| request_error("berthd", e));
    };
    let dialed = crate::remote::dial(remote, crate::remote::Target::Control)?;
    let stream = dialed.stream.try_clone()?;
    greet(stream, reply_timeout() * 4)
        .map_err(|e| remote_greet_error(remote, dialed, e, |e| request_error("berthd", e)))
}

/// The stream of berthd's control socket on this host, not yet greeted
/// (`berth dial-stdio --control` relays it).
pub fn control_stream(runtime: Option<&Path>) -> anyhow::Result<UnixStream> {
    let dirs = berth_cli::locate::runtime_dirs(runtime)?;
    let mut last = None;
    for (i, dir) in dirs.iter().enumerate() {
        let path = paths::control_socket(dir);
        if path.symlink_metadata().is_err() {
            continue;
        }
        match open(&path)? {
            Ok(stream) => {
                if i > 0 {
                    // Not the caller's own berthd: say whose answers.
                    eprintln!(
                        "berth: no berthd of yours runs ({} has no control socket); asking the one at {}",
                        dirs[0].display(),
                        path.display()
                    );
                }
                return Ok(stream);
            }
            Err(e) => last = Some((path, e)),
        }
    }
    match last {
        Some((path, e)) if e.kind() == std::io::ErrorKind::PermissionDenied => Err(anyhow!(
            "permission denied: cannot open berthd's control socket {}; ask to join the berth group",
            path.display()
        )),
        Some((path, _)) => Err(anyhow!("berthd is not running (nothing listens on {}); start it with berthd", path.display())),
        None => Err(anyhow!(
            "berthd is not running (no control socket in {}); start it with berthd",
            dirs.iter().map(|d| d.display().to_string()).collect::<Vec<_>>().join(" or ")
        )),
    }
}

/// Whether berthd was simply not there (every such message starts so).
pub fn is_not_running(e: &anyhow::Error) -> bool {
    format!("{e:#}").starts_with("berthd is not running")
}

/// Whether berthd's control socket is closed to the caller (not in the
/// group that may open it).
pub fn is_control_closed(e: &anyhow::Error) -> bool {
    format!("{e:#}").starts_with("permission denied: cannot open berthd's control socket")
}

/// Whether a failure was a refusal of rights (every such message starts so).
pub fn is_denied(e: &anyhow::Error) -> bool {
    format!("{e:#}").starts_with("permission denied")
}
