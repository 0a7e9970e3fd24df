//! What `berth mcp`'s tools take and answer. Arguments are checked here,
//! once, with the one-line errors an agent reads; answers are the shapes
//! the CLI's `--json` prints (a session's status, `capture --json`, `run
//! --json`), their JSON Schemas derived from the same types.

use std::time::Duration;

use berth_proto::scripting::RunResult;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Longest wait a tool call may ask for (`timeout`, `wait`), in seconds.
pub const MAX_WAIT_S: f64 = 3600.0;
/// A command's wait when the call names none: within what agents' tool
/// calls allow (30 to 120 s); `command_result` collects what outlives it.
pub const DEFAULT_RUN_TIMEOUT_S: f64 = 30.0;
/// Lines of output a command's result keeps when the call names no
/// `max_lines` (the first and the last half; `capture` with `since` has
/// them all).
pub const DEFAULT_MAX_LINES: usize = 200;
/// The most lines any answer carries.
pub const MAX_LINES: usize = 10_000;
/// `logs`: lines when the call names none.
pub const DEFAULT_LOG_LINES: usize = 100;
/// `logs`: the most bytes an answer carries (the end of the log).
pub const MAX_LOG_BYTES: usize = 1 << 20;

#[derive(Debug, Deserialize, JsonSchema)]
pub struct Nothing {}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct SessionArgs {
    /// The session's name (see list_sessions).
    pub session: String,
    /// The host the session is on, as list_sessions names it (berth mcp -H
    /// serves several); default: the one host served.
    pub host: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct RunCommandArgs {
    /// The session's name (see list_sessions); its program must be bash,
    /// zsh or fish with berth's shell integration.
    pub session: String,
    /// The host the session is on, as list_sessions names it (berth mcp -H
    /// serves several); default: the one host served.
    pub host: Option<String>,
    /// The command line, typed at the shell's prompt as it is; several
    /// lines (a loop, a here-doc) are typed as one paste and give one result.
    pub command: String,
    /// Seconds to wait for the command to end (default 30); when they pass,
    /// the output so far is answered with timed_out and the command goes on
    /// (command_result collects it), unless interrupt_on_timeout.
    pub timeout: Option<f64>,
    /// Keep at most this many lines of output, the first and the last half
    /// (default 200); capture with since = first_seq - 1 has them all.
    pub max_lines: Option<usize>,
    /// At the timeout, interrupt the command (C-c, then SIGTERM and SIGKILL
    /// to it) and answer how it ended.
    pub interrupt_on_timeout: Option<bool>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct CommandResultArgs {
    /// The session's name (see list_sessions).
    pub session: String,
    /// The host the session is on, as list_sessions names it (berth mcp -H
    /// serves several); default: the one host served.
    pub host: Option<String>,
    /// Seconds to wait for a running command to end (default 0: its output
    /// so far at once, with timed_out).
    pub wait: Option<f64>,
    /// As run_command's max_lines.
    pub max_lines: Option<usize>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct SendKeysArgs {
    /// The session's name (see list_sessions).
    pub session: String,
    /// The host the session is on, as list_sessions names it (berth mcp -H
    /// serves several); default: the one host served.
    pub host: Option<String>,
    /// tmux key names (Enter, Escape, Tab, C-c, Up, F1...); other words are
    /// typed as text.
    pub keys: Vec<String>,
    /// Every word is text, even key names.
    pub literal: Option<bool>,
    /// Then press Enter.
    pub enter: Option<bool>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct PasteTextArgs {
    /// The session's name (see list_sessions).
    pub session: String,
    /// The host the session is on, as list_sessions names it (berth mcp -H
    /// serves several); default: the one host served.
    pub host: Option<String>,
    /// Pasted as one bracketed paste where the program enabled it, typed as
    /// text elsewhere.
    pub text: String,
    /// Then press Enter, as a key of its own (default true).
    pub enter: Option<bool>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct CaptureArgs {
    /// The session's name (see list_sessions).
    pub session: String,
    /// The host the session is on, as list_sessions names it (berth mcp -H
    /// serves several); default: the one host served.
    pub host: Option<String>,
    /// Only lines numbered after this (a seq from send_keys, run_command or
    /// an earlier capture), wherever they are now.
    pub since: Option<u64>,
    /// First line, tmux numbering: 0 is the top of the screen, negative
    /// numbers are history (default: the top of the screen).
    pub start: Option<i64>,
    /// Last line, tmux numbering (default: the end of the screen).
    pub end: Option<i64>,
    /// Keep at most this many lines, the last ones (default 200).
    pub max_lines: Option<usize>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct WaitForTextArgs {
    /// The session's name (see list_sessions).
    pub session: String,
    /// The host the session is on, as list_sessions names it (berth mcp -H
    /// serves several); default: the one host served.
    pub host: Option<String>,
    /// A regular expression, matched against each line as plain text.
    pub pattern: String,
    /// Seconds to wait (default 30).
    pub timeout: Option<f64>,
    /// Match lines numbered after this, even if they are there already
    /// (default: only output that arrives after the call).
    pub since: Option<u64>,
    /// Also match what is on the screen already.
    pub screen: Option<bool>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct InterruptArgs {
    /// The session's name (see list_sessions).
    pub session: String,
    /// The host the session is on, as list_sessions names it (berth mcp -H
    /// serves several); default: the one host served.
    pub host: Option<String>,
    /// Seconds each step (C-c, SIGTERM, SIGKILL) waits for the command to
    /// end (default 2).
    pub grace: Option<f64>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct LogsArgs {
    /// The session's name (see list_sessions).
    pub session: String,
    /// The host the session is on, as list_sessions names it (berth mcp -H
    /// serves several); default: the one host served.
    pub host: Option<String>,
    /// The last this many lines of the output log (default 100, at most 10000).
    pub lines: Option<usize>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct NewSessionArgs {
    /// A name for the new session.
    pub session: String,
    /// The host the session is on, as list_sessions names it (berth mcp -H
    /// serves several); default: the one host served.
    pub host: Option<String>,
    /// The program and its arguments, e.g. ["bash"] or ["python3", "-q"].
    pub command: Vec<String>,
    /// The account it runs as (root may choose; default: the config's).
    pub user: Option<String>,
}

/// `list_sessions`: the sessions the caller may read.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Sessions {
    pub sessions: Vec<Listed>,
}

/// A session as `list_sessions` lists it, with its host when berth mcp
/// serves other hosts (`-H`).
#[derive(Debug, Serialize, JsonSchema)]
pub struct Listed {
    #[serde(flatten)]
    pub session: berth_proto::SessionSummary,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
}

/// A command's result (`run_command`, `command_result`).
#[derive(Debug, Serialize, JsonSchema)]
pub struct CommandOutcome {
    /// Exactly the command's output, plain text.
    pub output: String,
    /// The command's exit status as the shell reported it; the shell's own
    /// (128+N for signal N) when shell_exited; 124 while it still runs.
    pub exit_status: i32,
    /// The wait ended first: the command still runs (unless interrupted
    /// says what stopped it).
    pub timed_out: bool,
    /// Lines of output left out by max_lines.
    pub truncated: u64,
    /// The lines the output covers.
    pub first_seq: u64,
    pub last_seq: u64,
    pub duration_ms: u64,
    /// Output lines that left history before the command ended.
    pub missed: u64,
    /// The shell itself ended (or replaced itself) during the command, and how.
    pub shell_exited: Option<String>,
    /// The command line as the shell echoed it.
    pub command: Option<String>,
    /// What stopped the command after the timeout (interrupt_on_timeout).
    pub interrupted: Vec<String>,
}

impl From<RunResult> for CommandOutcome {
    fn from(r: RunResult) -> Self {
        Self {
            output: r.output,
            exit_status: r.status,
            timed_out: r.timed_out,
            truncated: r.truncated,
            first_seq: r.first_seq,
            last_seq: r.last_seq,
            duration_ms: r.duration_ms,
            missed: r.missed,
            shell_exited: r.shell_exited,
            command: r.command,
            interrupted: r.interrupted,
        }
    }
}

/// Keys typed: `seq` is the line the cursor was on (for capture since and
/// wait_for_text since).
#[derive(Debug, Serialize, JsonSchema)]
pub struct Typed {
    pub seq: u64,
}

/// `wait_for_text`: the first matching line, or where the output stood
/// when the time was up.
#[derive(Debug, Serialize, JsonSchema)]
pub struct WaitOutcome {
    pub matched: bool,
    pub seq: u64,
    pub text: Option<String>,
}

/// `logs`: the end of the output log, escapes removed.
#[derive(Debug, Serialize, JsonSchema)]
pub struct LogText {
    pub session: String,
    pub text: String,
    /// Bytes left out at the start to keep the answer within 1 MiB.
    pub truncated_bytes: u64,
}

/// A lifecycle tool's answer.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Done {
    pub session: String,
    /// "created", "killed", "restarted".
    pub done: String,
}

/// `seconds` as a wait, checked: `what` names the argument in the error.
pub fn seconds(seconds: Option<f64>, default: f64, what: &str) -> Result<Duration, String> {
    let s = seconds.unwrap_or(default);
    if !s.is_finite() || !(0.0..=MAX_WAIT_S).contains(&s) {
        return Err(format!(
            "{what} must be a number of seconds from 0 to {MAX_WAIT_S}, not {s}"
        ));
    }
    Ok(Duration::from_secs_f64(s))
}

/// A line count, checked against [`MAX_LINES`].
pub fn lines(n: Option<usize>, default: usize, what: &str) -> Result<usize, String> {
    match n.unwrap_or(default) {
        0 => Err(format!("{what} must be at least 1")),
        n if n > MAX_LINES => Err(format!("{what} must be at most {MAX_LINES}, not {n}")),
        n => Ok(n),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_and_counts_are_checked_with_one_line_errors() {
        assert_eq!(
            seconds(Some(2.5), 30.0, "timeout"),
            Ok(Duration::from_millis(2500))
        );
        assert_eq!(seconds(None, 30.0, "timeout"), Ok(Duration::from_secs(30)));
        assert_eq!(
            seconds(Some(-1.0), 30.0, "timeout").unwrap_err(),
            "timeout must be a number of seconds from 0 to 3600, not -1"
        );
        assert_eq!(
            seconds(Some(f64::NAN), 30.0, "wait").unwrap_err(),
            "wait must be a number of seconds from 0 to 3600, not NaN"
        );
        assert_eq!(lines(None, 200, "max_lines"), Ok(200));
        assert_eq!(
            lines(Some(0), 200, "max_lines").unwrap_err(),
            "max_lines must be at least 1"
        );
        assert_eq!(
            lines(Some(10_001), 200, "lines").unwrap_err(),
            "lines must be at most 10000, not 10001"
        );
    }
}
