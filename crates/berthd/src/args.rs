//! `berthd`'s command line, as a library: the daemon parses with it and
//! `berth-manual` renders berthd(8) from it.

use std::path::PathBuf;

use clap::Parser;

/// The berth supervisor: starts every session declared in the config as a
/// persistent PTY session, restarts hosts that die, and applies reloads.
#[derive(Debug, Parser)]
#[command(name = "berthd", version)]
pub struct Args {
    /// The main config file (default: /etc/berth/berth.toml as root, else ~/.config/berth/berth.toml).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// User mode even as root: your own runtime dir, config and logs.
    #[arg(long)]
    pub user: bool,
    /// Runtime directory (sessions/, control.sock).
    #[arg(long, env = "BERTH_RUNTIME_DIR")]
    pub runtime_dir: Option<PathBuf>,
    /// auto (systemd where it is PID 1, else embedded), embedded or systemd
    /// (default: the config's [daemon] backend, else auto).
    #[arg(long)]
    pub backend: Option<String>,
    /// Stay in the foreground (berthd always does; for service managers and scripts).
    #[arg(long)]
    pub foreground: bool,
    /// Check the configuration, print every error, and exit (1 if invalid).
    #[arg(long)]
    pub check: bool,
    /// Output logs (default: /var/log/berth as root, else ~/.local/state/berth).
    #[arg(long)]
    pub log_dir: Option<PathBuf>,
    /// The berth-session binary (default: next to berthd, then /usr/libexec/berth/).
    #[arg(long)]
    pub session_binary: Option<PathBuf>,
}
