//! `berth-session` command line.

use std::path::PathBuf;
use std::time::Duration;

use berth_config::{defaults, values};
use clap::Parser;

use crate::policy::{RestartMode, RestartPolicy};

/// The per-session host: owns one session's PTY, screen, history, output log
/// and socket, and restarts its program. Normally started by berthd.
#[derive(Debug, Parser)]
#[command(name = "berth-session", version)]
pub struct Args {
    /// Session name (1 to 64 of A-Z a-z 0-9 _ . -).
    #[arg(long, value_parser = parse_name)]
    pub name: String,
    /// Socket to serve; ignored when a listening socket is passed in LISTEN_FDS.
    #[arg(long)]
    pub socket: PathBuf,
    /// Run as this service account (the host must start as root); it
    /// switches before opening the terminal or reading any output.
    #[arg(long)]
    pub user: Option<String>,
    /// May attach read-write, send, capture and restart: a user, or group:NAME. Repeatable.
    #[arg(long = "operator")]
    pub operators: Vec<crate::peer::Principal>,
    /// May attach read-only and capture: a user, or group:NAME. Repeatable.
    #[arg(long = "observer")]
    pub observers: Vec<crate::peer::Principal>,
    /// Serve the listening socket on this descriptor (berthd passes it so).
    #[arg(long)]
    pub listen_fd: Option<i32>,
    /// Write every byte of output here, rotated by size.
    #[arg(long)]
    pub log: Option<PathBuf>,
    /// Rotate the log past this size (e.g. 64M).
    #[arg(long, default_value = "64M", value_parser = parse_bytes)]
    pub log_max_size: u64,
    /// Rotated log files to keep.
    #[arg(long, default_value_t = defaults::LOG_KEEP)]
    pub log_keep: u32,
    /// The program and everything it starts can never gain privileges
    /// (setuid binaries, file capabilities): PR_SET_NO_NEW_PRIVS.
    #[arg(long)]
    pub no_new_privileges: bool,
    /// Program output to the journal, a line per entry with SESSION=NAME.
    #[arg(long, conflicts_with = "log")]
    pub log_journal: bool,
    /// Lines of history kept.
    #[arg(long, default_value_t = defaults::SCROLLBACK_LINES)]
    pub scrollback: usize,
    /// Terminal size while nobody is attached, COLSxROWS.
    #[arg(long, default_value = "120x40", value_parser = parse_size)]
    pub size: (u16, u16),
    /// Which read-write clients set the size: smallest or latest.
    #[arg(long, default_value = "smallest")]
    pub size_policy: crate::clients::SizePolicy,
    /// When to restart the program: always, on-failure or never.
    #[arg(long, default_value = "on-failure")]
    pub restart: RestartMode,
    /// First backoff step; doubles with each consecutive failure.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    pub restart_delay: Duration,
    /// Longest backoff step.
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    pub restart_max_delay: Duration,
    /// Restarts allowed within --restart-interval before the session is failed.
    #[arg(long, default_value_t = defaults::RESTART_LIMIT_BURST)]
    pub restart_burst: u32,
    /// Window for --restart-burst.
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    pub restart_interval: Duration,
    /// Working directory of the program (default: the account's home).
    #[arg(long)]
    pub cwd: Option<PathBuf>,
    /// Extra environment for the program, KEY=VALUE; repeatable.
    #[arg(long = "env", value_parser = parse_env)]
    pub env: Vec<(String, String)>,
    /// Clients must finish the handshake within this.
    #[arg(long, default_value = "5s", value_parser = parse_duration, hide = true)]
    pub handshake_timeout: Duration,
    /// Between SIGHUP, SIGTERM and SIGKILL when stopping the program.
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    pub stop_grace: Duration,
    /// The program and its arguments.
    #[arg(last = true, required = true, num_args = 1..)]
    pub command: Vec<String>,
}

/// What a reload may change inside a running host (`Request::Reconfigure`):
/// everything about the program; the rest needs a new host.
#[derive(Debug, Clone)]
pub struct ProgramSettings {
    pub command: Vec<String>,
    pub cwd: Option<PathBuf>,
    pub env: Vec<(String, String)>,
    pub restart: RestartPolicy,
    pub size: (u16, u16),
    pub size_policy: crate::clients::SizePolicy,
}

impl Args {
    /// Parses flags sent in a `Reconfigure` request (without the program name).
    pub fn from_request(args: &[String]) -> Result<Self, String> {
        let argv = std::iter::once("berth-session".to_owned()).chain(args.iter().cloned());
        Self::try_parse_from(argv).map_err(|e| {
            let text = e.render().to_string();
            let line = text.lines().next().unwrap_or("bad arguments").to_owned();
            format!(
                "bad reconfigure request: {}",
                line.trim_start_matches("error: ")
            )
        })
    }

    pub fn restart_policy(&self) -> RestartPolicy {
        RestartPolicy {
            mode: self.restart,
            delay: self.restart_delay,
            max_delay: self.restart_max_delay,
            burst: self.restart_burst,
            interval: self.restart_interval,
            stable_after: defaults::RESTART_STABLE_AFTER,
        }
    }

    pub fn program_settings(&self) -> ProgramSettings {
        ProgramSettings {
            command: self.command.clone(),
            cwd: self.cwd.clone(),
            env: self.env.clone(),
            restart: self.restart_policy(),
            size: self.size,
            size_policy: self.size_policy,
        }
    }
}

fn parse_name(s: &str) -> Result<String, String> {
    values::check_session_name(s).map(|()| s.to_owned())
}

fn parse_bytes(s: &str) -> Result<u64, String> {
    values::parse_byte_size(s).map_err(|e| e.to_string())
}

fn parse_size(s: &str) -> Result<(u16, u16), String> {
    values::parse_term_size(s).map_err(|e| e.to_string())
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    values::parse_duration(s).map_err(|e| e.to_string())
}

fn parse_env(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
        _ => Err(format!("bad environment entry {s:?}: expected KEY=VALUE")),
    }
}
