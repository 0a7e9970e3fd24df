//! Logging for `berthd` and `berth-session`: structured events go to the
//! journal when it is there (fields become SESSION=, USER_UID=, MODE=...,
//! so `journalctl SESSION=ci-runner` finds a session's audit trail), and to
//! stderr otherwise. `BERTH_LOG` filters like `RUST_LOG`.

pub mod account;
mod escape;
pub mod inherited;
pub mod memory;
pub mod ratelimit;
pub mod rotate;
pub mod shown;
pub mod usage;

pub use escape::escape;

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Where systemd-journald listens.
const JOURNAL_SOCKET: &str = "/run/systemd/journal/socket";

/// Installs the subscriber for the program `identifier` (SYSLOG_IDENTIFIER).
pub fn init(identifier: &str) {
    let filter = || {
        tracing_subscriber::EnvFilter::try_from_env("BERTH_LOG")
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"))
    };
    // Under systemd, stderr goes to the journal anyway: prefer the native
    // protocol, which keeps fields. A test or a terminal keeps stderr.
    let want_journal =
        std::env::var_os("JOURNAL_STREAM").is_some() || std::env::var_os("INVOCATION_ID").is_some();
    if want_journal && std::path::Path::new(JOURNAL_SOCKET).exists() {
        if let Ok(layer) = tracing_journald::layer() {
            // No prefix: fields are SESSION=, USER_UID=, MODE=, as operators query them.
            let layer = layer
                .with_syslog_identifier(identifier.to_owned())
                .with_field_prefix(None);
            if tracing_subscriber::registry()
                .with(filter())
                .with(layer)
                .try_init()
                .is_ok()
            {
                return;
            }
        }
    }
    let _ = tracing_subscriber::fmt()
        .fmt_fields(escape::Escaping)
        .with_env_filter(filter())
        .with_writer(std::io::stderr)
        // A closed stderr (a pipe whose reader left) loses lines, never
        // takes the binary down: reporting the failure would panic.
        .log_internal_errors(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}
