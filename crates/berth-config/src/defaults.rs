//! Defaults for every session setting, in one place (DESIGN.md "Configuration").

use std::time::Duration;

pub const RESTART_DELAY: Duration = Duration::from_secs(1);
pub const RESTART_MAX_DELAY: Duration = Duration::from_secs(60);
/// Starts allowed within [`RESTART_LIMIT_INTERVAL`] before the session is "failed".
pub const RESTART_LIMIT_BURST: u32 = 5;
pub const RESTART_LIMIT_INTERVAL: Duration = Duration::from_secs(5 * 60);
/// A run at least this long counts as stable: the backoff starts over.
pub const RESTART_STABLE_AFTER: Duration = Duration::from_secs(10);
pub const SCROLLBACK_LINES: usize = 10_000;
/// bash, zsh and fish sessions get OSC 133 prompt and command marks.
pub const SHELL_INTEGRATION: bool = true;
pub const COLS: u16 = 120;
pub const ROWS: u16 = 40;
pub const LOG_MAX_SIZE: u64 = 64 * 1024 * 1024;
pub const LOG_KEEP: u32 = 5;
/// A client must finish the handshake within this.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);
/// On stop: SIGHUP, then SIGTERM, then SIGKILL, this long apart.
pub const STOP_GRACE: Duration = Duration::from_secs(5);
/// PATH given to programs (nothing leaks from the host's own environment).
pub const PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
pub const TERM: &str = "xterm-256color";
pub const LANG: &str = "C.UTF-8";
/// Group owning session sockets when `access.group` is not set.
pub const ACCESS_GROUP: &str = "berth";

/// Connections to one host the web dashboard may hold for one person.
pub const CONNECTIONS_PER_PERSON: usize = 64;
/// Connections to one host the web dashboard may hold for everyone
/// together (each person still held to [`CONNECTIONS_PER_PERSON`]).
pub const WEB_CONNECTIONS: usize = 1024;
