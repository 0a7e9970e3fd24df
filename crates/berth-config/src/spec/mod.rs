//! The host spec: everything one session host runs with, in one struct.
//!
//! berthd builds it from a [`Session`] ([`HostSpec::for_session`]) and
//! writes it as `berth-session`'s command line ([`HostSpec::to_args`]);
//! `berth-session` parses that line back into the same struct (the clap
//! derive below). So each setting, its flag and its default are written
//! once, here, with the defaults taken from [`crate::defaults`]. A reload
//! compares the line a host runs with against the one the config asks for
//! ([`compare`]) and learns which settings changed, and whether they are
//! all the program's (the running host can take those).

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

use crate::defaults;
use crate::model::{LogTarget, Principal, RestartMode, Session, SizePolicy};
use crate::values::{self, format_duration};

/// A session host: its identity, socket, access, log and history, and the
/// program it runs.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct HostSpec {
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
    pub operators: Vec<Principal>,
    /// May attach read-only and capture: a user, or group:NAME. Repeatable.
    #[arg(long = "observer")]
    pub observers: Vec<Principal>,
    /// Write every byte of output here, rotated by size.
    #[arg(long)]
    pub log: Option<PathBuf>,
    /// Rotate the log past this size (e.g. 64M).
    #[arg(long, default_value = defaults::LOG_MAX_SIZE.to_string(), value_parser = parse_bytes)]
    pub log_max_size: u64,
    /// Rotated log files to keep.
    #[arg(long, default_value_t = defaults::LOG_KEEP)]
    pub log_keep: u32,
    /// Program output to the journal, a line per entry with SESSION=NAME.
    #[arg(long, conflicts_with = "log")]
    pub log_journal: bool,
    /// Record the session (asciicast v3) beside the output log, rotated
    /// and kept like it.
    #[arg(long, requires = "log")]
    pub record: bool,
    /// The recording holds what clients typed too (passwords included).
    #[arg(long, requires = "record")]
    pub record_input: bool,
    /// The program and everything it starts can never gain privileges
    /// (setuid binaries, file capabilities): PR_SET_NO_NEW_PRIVS.
    #[arg(long)]
    pub no_new_privileges: bool,
    /// Lines of history kept.
    #[arg(long, default_value_t = defaults::SCROLLBACK_LINES)]
    pub scrollback: usize,
    /// Clients must finish the handshake within this.
    #[arg(long, default_value = format_duration(defaults::HANDSHAKE_TIMEOUT), value_parser = parse_duration, hide = true)]
    pub handshake_timeout: Duration,
    /// Between SIGHUP, SIGTERM and SIGKILL when stopping the program.
    #[arg(long, default_value = format_duration(defaults::STOP_GRACE), value_parser = parse_duration)]
    pub stop_grace: Duration,
    #[command(flatten)]
    pub program: ProgramSpec,
}

/// What a running host can change without being replaced: everything
/// about the program (`Request::Reconfigure`).
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct ProgramSpec {
    /// Terminal size while nobody is attached, COLSxROWS.
    #[arg(long, default_value = format!("{}x{}", defaults::COLS, defaults::ROWS), value_parser = parse_size)]
    pub size: (u16, u16),
    /// Which read-write clients set the size: smallest or latest.
    #[arg(long, default_value = SizePolicy::Smallest.as_str())]
    pub size_policy: SizePolicy,
    /// When to restart the program: always, on-failure or never.
    #[arg(long, default_value = RestartMode::OnFailure.as_str())]
    pub restart: RestartMode,
    /// First backoff step; doubles with each consecutive failure.
    #[arg(long, default_value = format_duration(defaults::RESTART_DELAY), value_parser = parse_duration)]
    pub restart_delay: Duration,
    /// Longest backoff step.
    #[arg(long, default_value = format_duration(defaults::RESTART_MAX_DELAY), value_parser = parse_duration)]
    pub restart_max_delay: Duration,
    /// Restarts allowed within --restart-interval before the session is failed.
    #[arg(long, default_value_t = defaults::RESTART_LIMIT_BURST)]
    pub restart_burst: u32,
    /// Window for --restart-burst.
    #[arg(long, default_value = format_duration(defaults::RESTART_LIMIT_INTERVAL), value_parser = parse_duration)]
    pub restart_interval: Duration,
    /// Working directory of the program (default: the account's home).
    #[arg(long)]
    pub cwd: Option<PathBuf>,
    /// bash, zsh and fish mark prompts and commands (OSC 133), for `berth run`
    /// and `status`; injected at the shell's start, no rc file touched.
    #[arg(long, default_value_t = defaults::SHELL_INTEGRATION, action = clap::ArgAction::Set)]
    pub shell_integration: bool,
    /// Extra environment for the program, KEY=VALUE; repeatable.
    #[arg(long = "env", value_parser = parse_env)]
    pub env: Vec<(String, String)>,
    /// The program and its arguments.
    #[arg(last = true, required = true, num_args = 1..)]
    pub command: Vec<String>,
}

/// A command line that is nothing but a host spec.
#[derive(Parser)]
#[command(name = "berth-session", no_binary_name = true)]
struct SpecLine {
    #[command(flatten)]
    spec: HostSpec,
}

impl HostSpec {
    /// The spec for `s`. `socket` and `log` are where berthd put them;
    /// `account`: the account the host switches to itself (system mode,
    /// embedded backend; under systemd the unit already runs as it).
    pub fn for_session(
        s: &Session,
        socket: PathBuf,
        log: Option<PathBuf>,
        account: Option<String>,
    ) -> Self {
        let file = s.log == LogTarget::File;
        Self {
            name: s.name.clone(),
            socket,
            user: account,
            operators: s.access.operators.clone(),
            observers: s.access.observers.clone(),
            log: log.filter(|_| file),
            log_max_size: s.log_max_size,
            log_keep: s.log_keep,
            log_journal: s.log == LogTarget::Journal,
            record: s.record && file,
            record_input: s.record && s.record_input && file,
            no_new_privileges: s.sandbox.no_new_privileges,
            scrollback: s.scrollback,
            handshake_timeout: defaults::HANDSHAKE_TIMEOUT,
            stop_grace: defaults::STOP_GRACE,
            program: ProgramSpec {
                size: s.size,
                size_policy: s.size_policy,
                restart: s.restart,
                restart_delay: s.restart_delay,
                restart_max_delay: s.restart_max_delay,
                restart_burst: s.restart_limit.burst,
                restart_interval: s.restart_limit.interval,
                cwd: s.cwd.clone(),
                shell_integration: s.shell_integration,
                env: s.env.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
                command: s.command.argv(),
            },
        }
    }

    /// Parses a command line written by [`Self::to_args`] (the program
    /// name not included); the error is one line.
    pub fn from_args(args: &[String]) -> Result<Self, String> {
        SpecLine::try_parse_from(args)
            .map(|line| line.spec)
            .map_err(|e| {
                let text = e.render().to_string();
                let line = text.lines().next().unwrap_or("bad arguments").to_owned();
                line.trim_start_matches("error: ").to_owned()
            })
    }

    /// The command line: every setting written out, the program after `--`.
    pub fn to_args(&self) -> Vec<String> {
        let mut a = Flags::default();
        a.value("name", &self.name);
        a.value("socket", self.socket.display());
        if let Some(user) = &self.user {
            a.value("user", user);
        }
        for p in &self.operators {
            a.value("operator", p);
        }
        for p in &self.observers {
            a.value("observer", p);
        }
        if let Some(log) = &self.log {
            a.value("log", log.display());
        }
        a.value("log-max-size", self.log_max_size);
        a.value("log-keep", self.log_keep);
        a.switch("log-journal", self.log_journal);
        a.switch("record", self.record);
        a.switch("record-input", self.record_input);
        a.switch("no-new-privileges", self.no_new_privileges);
        a.value("scrollback", self.scrollback);
        a.value("handshake-timeout", format_duration(self.handshake_timeout));
        a.value("stop-grace", format_duration(self.stop_grace));
        let mut args = a.0;
        args.extend(self.program.to_args());
        args
    }
}

impl ProgramSpec {
    /// Its part of the command line, ending with `--` and the program.
    fn to_args(&self) -> Vec<String> {
        let mut a = Flags::default();
        a.value("size", format!("{}x{}", self.size.0, self.size.1));
        a.value("size-policy", self.size_policy.as_str());
        a.value("restart", self.restart.as_str());
        a.value("restart-delay", format_duration(self.restart_delay));
        a.value("restart-max-delay", format_duration(self.restart_max_delay));
        a.value("restart-burst", self.restart_burst);
        a.value("restart-interval", format_duration(self.restart_interval));
        if let Some(cwd) = &self.cwd {
            a.value("cwd", cwd.display());
        }
        a.value("shell-integration", self.shell_integration);
        for (k, v) in &self.env {
            a.value("env", format!("{k}={v}"));
        }
        let mut args = a.0;
        args.push("--".into());
        args.extend(self.command.iter().cloned());
        args
    }
}

#[derive(Default)]
struct Flags(Vec<String>);

impl Flags {
    fn value(&mut self, flag: &str, value: impl std::fmt::Display) {
        self.0.push(format!("--{flag}"));
        self.0.push(value.to_string());
    }

    fn switch(&mut self, flag: &str, on: bool) {
        if on {
            self.0.push(format!("--{flag}"));
        }
    }
}

/// Which settings differ between two host command lines, by flag name.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Changes {
    /// Settings that need a new host.
    pub host: Vec<String>,
    /// Settings the running host can take (the program's).
    pub program: Vec<String>,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.host.is_empty() && self.program.is_empty()
    }
}

impl std::fmt::Display for Changes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let all: Vec<&str> = self
            .host
            .iter()
            .chain(&self.program)
            .map(String::as_str)
            .collect();
        f.write_str(&all.join(", "))
    }
}

/// What changed from the host line `running` to `wanted`. A line that
/// does not parse (written by an older berth) differs in everything.
pub fn compare(running: &[String], wanted: &[String]) -> Changes {
    let (Ok(old), Ok(new)) = (HostSpec::from_args(running), HostSpec::from_args(wanted)) else {
        return Changes {
            host: vec!["the host command line".into()],
            program: Vec::new(),
        };
    };
    let program = differing(&old.program.to_args(), &new.program.to_args());
    let host = differing(
        &HostSpec {
            program: new.program.clone(),
            ..old
        }
        .to_args(),
        &new.to_args(),
    );
    Changes { host, program }
}

/// Flags whose values differ between two lines (`command` for the program).
fn differing(a: &[String], b: &[String]) -> Vec<String> {
    let by_flag = |line: &[String]| {
        let mut map: std::collections::BTreeMap<String, Vec<String>> = Default::default();
        let end = line.iter().position(|x| x == "--").unwrap_or(line.len());
        let mut i = 0;
        while i < end {
            let flag = line[i].trim_start_matches("--").to_owned();
            let value = line
                .get(i + 1)
                .filter(|v| !v.starts_with("--") && i + 1 < end);
            map.entry(flag).or_default().extend(value.cloned());
            i += 1 + usize::from(value.is_some());
        }
        map.insert("command".into(), line[(end + 1).min(line.len())..].to_vec());
        map
    };
    let (a, b) = (by_flag(a), by_flag(b));
    let mut names: Vec<String> = a.keys().chain(b.keys()).cloned().collect();
    names.sort();
    names.dedup();
    names.retain(|n| a.get(n) != b.get(n));
    names
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

#[cfg(test)]
mod tests;
