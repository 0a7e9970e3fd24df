//! Command-line grammar, tmux-flavoured.

use std::path::PathBuf;

use berth_proto::LineBound;
use clap::{Parser, Subcommand};

/// Persistent terminal sessions that belong to the host.
///
/// Sessions are declared in berth.toml and kept running by berthd, each
/// under its own service account. The per-session verbs (attach, capture,
/// send, wait, run, logs, status, has) talk straight to the session's
/// socket, so they work while berthd is down; ls, reload, new, kill,
/// start, stop and restart go through berthd. Every verb is checked
/// against the session's access lists. Detach from `berth attach` with
/// Ctrl-b d.
#[derive(Debug, Parser)]
#[command(name = "berth", version, propagate_version = true)]
pub struct Cli {
    /// Use this session socket instead of looking the session up by name.
    #[arg(long, global = true)]
    pub socket: Option<PathBuf>,
    /// Runtime directory holding sessions/NAME.sock (default: yours, then /run/berth).
    #[arg(long, global = true, env = "BERTH_RUNTIME_DIR")]
    pub runtime_dir: Option<PathBuf>,
    /// Another host, ssh://[user@]host[:port] or a name from
    /// ~/.config/berth/hosts: the verb runs there as your ssh login,
    /// through OpenSSH (`berth dial-stdio` on its side). ls, watch and mcp
    /// take it more than once.
    #[arg(
        short = 'H',
        long,
        global = true,
        env = "BERTH_HOST",
        value_name = "URL",
        value_delimiter = ','
    )]
    pub host: Vec<String>,
    /// ls, watch and mcp: the hosts in FILE, one a line (URL or name).
    #[arg(long, global = true, value_name = "FILE")]
    pub hosts: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Cmd,
}

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Join standard input and output to a session's socket (or berthd's
    /// control socket) on this host: the far end of `berth -H ssh://...`.
    #[command(name = "dial-stdio", after_long_help = crate::examples::of("dial-stdio"))]
    DialStdio {
        /// The session whose socket to join.
        #[arg(long, conflicts_with = "control", required_unless_present = "control")]
        session: Option<String>,
        /// berthd's control socket instead.
        #[arg(long)]
        control: bool,
    },
    /// List sessions (asks berthd; without it, scans the session sockets).
    #[command(after_long_help = crate::examples::of("ls"))]
    Ls {
        /// JSON array of {name, state, pid, user, restarts, clients, uptime_s, foreground}.
        #[arg(long)]
        json: bool,
    },
    /// Attach your terminal to a session; detach with Ctrl-b d.
    #[command(after_long_help = crate::examples::of("attach"))]
    Attach {
        /// The session's name (see berth ls); without it, the session with
        /// the most recent output or input among those you may attach to.
        name: Option<String>,
        /// Read-only: watch, never type or resize. Into a pipe, streams text.
        #[arg(short = 'r', long)]
        read_only: bool,
        /// Detach every other client.
        #[arg(short = 'd', long)]
        detach_others: bool,
        /// Prefix of the detach sequence (then d); the prefix twice sends it once.
        #[arg(long, default_value = "C-b", value_parser = berth_proto::keys::single_byte)]
        detach_key: u8,
        /// The terminal is `berth watch`'s alternate screen: draw the
        /// session there, never switching screens (watch's own use).
        #[arg(long, hide = true)]
        nested: bool,
    },
    /// Several sessions live in one terminal, tiled; Enter attaches to the
    /// focused one and detaching comes back; ? lists the keys, q quits.
    ///
    /// Each tile shows its session's screen (cropped to the tile, following
    /// the cursor, never wrapped) under a title with its state, restarts,
    /// foreground command and whether you may type (rw) or only watch (ro).
    /// A session you may not read is shown as permission denied. watch
    /// itself never types: it is a read-only client of each session.
    #[command(after_long_help = crate::examples::of("watch"))]
    Watch {
        /// Sessions to show, by name or glob (quote globs: 'ci-*'), in this
        /// order; none: every session. Sessions that appear later and match
        /// are added.
        #[arg(value_name = "NAME|GLOB", conflicts_with = "dashboard")]
        name: Vec<String>,
        /// Show a dashboard declared in the config ([dashboard.NAME]).
        #[arg(short = 'D', long, value_name = "NAME")]
        dashboard: Option<String>,
        /// The config declaring the dashboard (default: yours, then /etc/berth/berth.toml).
        #[arg(long, requires = "dashboard")]
        config: Option<PathBuf>,
        /// The layout to start with (default: the dashboard's, else auto):
        /// auto, tiled, even-horizontal, even-vertical, main-vertical,
        /// main-horizontal. Space cycles through them.
        #[arg(short = 'l', long, value_parser = parse_layout)]
        layout: Option<berth_config::dashboard::Layout>,
    },
    /// Serve the Model Context Protocol on stdin and stdout, for agents:
    /// run commands, read output, wait for text, as you, through the same
    /// sockets and access lists as every other verb.
    #[command(after_long_help = crate::examples::of("mcp"))]
    Mcp {
        /// Only the tools that change nothing (list, status, capture,
        /// wait, logs, command results).
        #[arg(long)]
        read_only: bool,
        /// Only these sessions (names or globs; quote globs: 'ci-*').
        #[arg(long, value_name = "NAME|GLOB", num_args = 1..)]
        sessions: Vec<String>,
    },
    /// The browser dashboard ([web] in berth.toml): log in or out.
    #[command(after_long_help = crate::examples::of("web"))]
    Web {
        #[command(subcommand)]
        verb: WebVerb,
    },
    /// Exit 0 if the session exists and answers, 1 otherwise; prints nothing.
    #[command(after_long_help = crate::examples::of("has"))]
    Has {
        /// The session's name (see berth ls).
        name: String,
    },
    /// Print the screen and history (tmux capture-pane numbering).
    #[command(after_long_help = crate::examples::of("capture"))]
    Capture {
        /// The session's name (see berth ls).
        name: String,
        /// First line: 0 = top of the screen, negative = history, "-" = start of history.
        #[arg(short = 'S', long = "start", allow_negative_numbers = true, value_parser = parse_bound)]
        start: Option<LineBound>,
        /// Last line: as -S; "-" = the last line of the screen.
        #[arg(short = 'E', long = "end", allow_negative_numbers = true, value_parser = parse_bound)]
        end: Option<LineBound>,
        /// Keep colours and attributes as escape sequences.
        #[arg(short = 'e', long)]
        escapes: bool,
        /// Join lines the terminal wrapped.
        #[arg(short = 'J', long)]
        join: bool,
        /// Only lines after this sequence number (from a previous --json
        /// capture, send --json or wait --json), to the end of the screen.
        #[arg(long, value_name = "SEQ", conflicts_with = "start")]
        since: Option<u64>,
        /// {"session", "size", "cursor", "alternate_screen", "first_seq", "lines": [{"seq", "text", "wrapped"}]}.
        #[arg(long)]
        json: bool,
    },
    /// Wait until output matching a regular expression appears; exit 0 when
    /// it does, 1 on timeout, 2 on errors.
    #[command(after_long_help = crate::examples::of("wait"))]
    Wait {
        /// The session's name (see berth ls).
        name: String,
        /// The regular expression, matched against each line as plain text.
        #[arg(short = 'm', long = "match", value_name = "REGEX")]
        pattern: String,
        /// Give up after this long (e.g. 30s, 2m); default: wait as long as it takes.
        #[arg(short = 't', long, value_parser = parse_duration)]
        timeout: Option<std::time::Duration>,
        /// Match lines after this sequence number, even if they are already
        /// there (default: only output that arrives after the call).
        #[arg(long, value_name = "SEQ")]
        since: Option<u64>,
        /// Also match what is on the screen already.
        #[arg(long)]
        screen: bool,
        /// {"matched", "seq", "text"}.
        #[arg(long)]
        json: bool,
    },
    /// Print the session's output log through its host (no file permissions needed).
    #[command(after_long_help = crate::examples::of("logs"))]
    Logs {
        /// The session's name (see berth ls).
        name: String,
        /// Keep printing what is written, across rotation, like tail -F.
        #[arg(short = 'f', long)]
        follow: bool,
        /// Strip escape sequences (colours, cursor movement).
        #[arg(long)]
        plain: bool,
        /// Only the last LINES lines (default: the whole current log file).
        #[arg(short = 'n', long = "lines", value_name = "LINES")]
        lines: Option<usize>,
    },
    /// Export the session's recording (record = true) as asciicast v3,
    /// for asciinema play, any asciinema player, or the dashboard's
    /// replay; or list the commands it marks, with their statuses.
    #[command(after_long_help = crate::examples::of("rec"))]
    Rec {
        /// The session's name (see berth ls).
        name: String,
        /// From then on: a time (14:05, 2026-12-08 14:05:30, an RFC 3339
        /// time, @UNIXSECONDS[.FRACTION]) or how long ago (10m, 1h30m, 90). The
        /// screen as it was then comes first.
        #[arg(long, value_name = "TIME|AGO")]
        since: Option<String>,
        /// Up to then (same forms as --since).
        #[arg(long, value_name = "TIME|AGO")]
        until: Option<String>,
        /// From the start of the last N commands (shell integration marks them).
        #[arg(long, value_name = "N", conflicts_with = "since", value_parser = clap::value_parser!(u32).range(1..))]
        last_commands: Option<u32>,
        /// Write the recording to FILE (default: standard output).
        #[arg(short = 'o', long, value_name = "FILE", conflicts_with = "list")]
        output: Option<std::path::PathBuf>,
        /// No pause longer than this (asciinema's idle_time_limit), e.g. 2s.
        #[arg(long, value_name = "DURATION", value_parser = parse_duration, conflicts_with = "list")]
        idle_limit: Option<std::time::Duration>,
        /// List the recorded commands: when each started, its status and
        /// how long it took.
        #[arg(long)]
        list: bool,
        /// With --list: [{"started_ms", "command", "status", "duration_ms"}].
        #[arg(long, requires = "list")]
        json: bool,
    },
    /// Run a command at the session's shell prompt, print exactly its output
    /// and exit with its status (needs bash, zsh or fish with shell integration).
    #[command(after_long_help = crate::examples::of("run"))]
    Run {
        /// The session's name (see berth ls).
        name: String,
        /// Give up waiting after this long (exit 124; the command keeps
        /// running; what it printed so far is printed, and with --json
        /// "timed_out": true).
        #[arg(short = 't', long, value_parser = parse_duration)]
        timeout: Option<std::time::Duration>,
        /// At the timeout, interrupt the command as berth interrupt does
        /// (C-c, then SIGTERM and SIGKILL to its process group) and wait
        /// for the prompt; still exit 124, with "interrupted" in --json.
        #[arg(long, requires = "timeout")]
        interrupt_on_timeout: bool,
        /// {"output", "status", "first_seq", "last_seq", "duration_ms",
        /// "missed", "shell_exited", "timed_out", "truncated", "command",
        /// "interrupted"}.
        #[arg(long)]
        json: bool,
        /// Keep at most N lines of output: the first and the last, with a
        /// line saying how many were left out (capture --since has them).
        #[arg(long, value_name = "N")]
        max_lines: Option<usize>,
        /// After `--`: one argument is a command line, typed as it is
        /// (`-- 'make && make test'`); several are words, each quoted for
        /// the shell (`-- printf '%s\n' 'a b'`).
        #[arg(last = true, required = true, num_args = 1..)]
        command: Vec<String>,
    },
    /// The running command's result once it ends, or the last finished
    /// command's: its output, and exit with its status (124 while it runs).
    #[command(after_long_help = crate::examples::of("result"))]
    Result {
        /// The session's name (see berth ls).
        name: String,
        /// Wait this long for a running command to end (default: answer at
        /// once with its output so far).
        #[arg(short = 'w', long, value_parser = parse_duration)]
        wait: Option<std::time::Duration>,
        /// The same object as berth run --json.
        #[arg(long)]
        json: bool,
        /// Keep at most N lines of output, as berth run --max-lines.
        #[arg(long, value_name = "N")]
        max_lines: Option<usize>,
    },
    /// Interrupt the command running at the session's shell and return once
    /// its prompt is back: C-c, then SIGTERM and SIGKILL to the command's
    /// process group (never the shell), saying what it took.
    #[command(after_long_help = crate::examples::of("interrupt"))]
    Interrupt {
        /// The session's name (see berth ls).
        name: String,
        /// How long each step waits for the command to end.
        #[arg(long, value_parser = parse_duration, default_value = "2s")]
        grace: std::time::Duration,
        /// {"steps", "result", "at_prompt"}; result as berth run --json.
        #[arg(long)]
        json: bool,
        /// Keep at most N lines of the interrupted command's output.
        #[arg(long, value_name = "N")]
        max_lines: Option<usize>,
    },
    /// Type keys into the session: tmux key names (Enter, C-c, Up, F1...), other words literally.
    #[command(after_long_help = crate::examples::of("send"))]
    Send {
        /// The session's name (see berth ls).
        name: String,
        /// Send every word literally, even key names.
        #[arg(short = 'l', long)]
        literal: bool,
        /// Type the words as one bracketed paste where the program enabled
        /// it (as tmux paste-buffer -p), as plain text elsewhere; a key such
        /// as Enter goes in a send of its own.
        #[arg(short = 'p', long, conflicts_with = "literal")]
        paste: bool,
        /// Print {"seq"}: the line the cursor was on, for wait --since and capture --since.
        #[arg(long)]
        json: bool,
        /// Then wait for output matching this regular expression after the
        /// line the keys were typed on (exit 0 matched, 1 timeout, 2 errors).
        #[arg(short = 'w', long = "wait", value_name = "REGEX")]
        wait: Option<String>,
        /// With --wait: give up after this long.
        #[arg(short = 't', long, value_parser = parse_duration, requires = "wait")]
        timeout: Option<std::time::Duration>,
        /// Keys and words. Options are options wherever they stand; a
        /// literal word that starts with `-` goes after `--`
        /// (`berth send NAME -- -1 Enter`).
        #[arg(required = true, num_args = 1..)]
        keys: Vec<String>,
    },
    /// State, pid, user, command, restarts, last exit, clients, size, log.
    #[command(after_long_help = crate::examples::of("status"))]
    Status {
        /// The session's name (see berth ls).
        name: String,
        /// {"name", "state", "pid", "user", "command", "restarts", "last_exit", "clients", "size", "log", "foreground", "shell", ...}.
        #[arg(long)]
        json: bool,
    },
    /// Re-read berthd's configuration: start added, stop removed, restart changed sessions.
    #[command(after_long_help = crate::examples::of("reload"))]
    Reload,
    /// Start an ad-hoc session that is not in the config, like `tmux new -d`.
    #[command(after_long_help = crate::examples::of("new"))]
    New {
        /// The session's name (see berth ls).
        name: String,
        /// Run it as this account (default: the one berthd runs as).
        #[arg(long)]
        user: Option<String>,
        /// Attach to it, creating it first only if it does not exist (tmux
        /// new -A).
        #[arg(short = 'A', long = "attach")]
        attach: bool,
        /// If it exists already, do nothing: create it only if missing,
        /// exit 0 either way (for scripts).
        #[arg(short = 'd', long = "if-missing", conflicts_with = "attach")]
        if_missing: bool,
        /// The program and its arguments, after `--`.
        #[arg(last = true, required = true, num_args = 1..)]
        command: Vec<String>,
    },
    /// Stop a session and forget it (a configured one comes back on reload).
    #[command(after_long_help = crate::examples::of("kill"))]
    Kill {
        /// The session's name (see berth ls).
        name: String,
    },
    /// Start a stopped session.
    #[command(after_long_help = crate::examples::of("start"))]
    Start {
        /// The session's name (see berth ls).
        name: String,
    },
    /// Stop a session; it stays stopped until `berth start`.
    #[command(after_long_help = crate::examples::of("stop"))]
    Stop {
        /// The session's name (see berth ls).
        name: String,
    },
    /// Check the configuration: every error with file:line:col; exit 1 if any.
    #[command(after_long_help = crate::examples::of("validate"))]
    Validate {
        /// The main config file (default: /etc/berth/berth.toml as root, else ~/.config/berth/berth.toml).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Check it as berthd in system mode (as root) would, whoever runs
        /// this (the default for /etc/berth/berth.toml, or as root).
        #[arg(long)]
        system: bool,
    },
    /// Restart the session's program now (clears the restart limit).
    #[command(after_long_help = crate::examples::of("restart"))]
    Restart {
        /// The session's name (see berth ls).
        name: String,
    },
}

fn parse_bound(s: &str) -> Result<LineBound, String> {
    if s == "-" {
        return Ok(LineBound::Edge);
    }
    s.parse::<i64>()
        .map(LineBound::Line)
        .map_err(|_| format!("bad line number {s:?}: expected an integer (0 = top of the screen, negative = history) or \"-\""))
}

fn parse_layout(s: &str) -> Result<berth_config::dashboard::Layout, String> {
    s.parse()
}

fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    berth_config::values::parse_duration(s).map_err(|e| e.to_string())
}

#[derive(Debug, Subcommand)]
pub enum WebVerb {
    /// Print a one-time URL that logs your browser in as you: it sees the
    /// sessions you may read, and types only where you are an operator
    /// (and [web] allow_input is on). The link works once, for 2 minutes.
    Login,
    /// End your browser logins (--all: everyone's; root only).
    Logout {
        /// Every user's logins.
        #[arg(long)]
        all: bool,
    },
}
