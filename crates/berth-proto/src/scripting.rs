//! Messages for programs that drive sessions: numbered captures, waiting
//! for output, the output log, and command results from shell integration.
//! Every shape here is stable JSON (in `--json` output too): keys are added,
//! never renamed or removed.

use serde::{Deserialize, Serialize};

use crate::Size;

/// What a capture's text was taken from, sent with [`crate::Response::CaptureEnd`].
///
/// Every line that ever scrolled into history or sits on the screen has a
/// sequence number that only grows: history lines keep theirs, the top row
/// of the screen has the number the next line to scroll off will get.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaptureInfo {
    pub size: Size,
    pub cursor: Cursor,
    pub alternate_screen: bool,
    /// The oldest line still in history.
    pub first_seq: u64,
    /// Per line of the capture text: its sequence number (of its first
    /// row when wrapped rows were joined).
    pub seqs: Vec<u64>,
    /// Per line: whether the terminal wrapped it into the next.
    pub wrapped: Vec<bool>,
    /// Lines a `since` asked for that have already left history.
    #[serde(default)]
    pub missed: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Cursor {
    /// Screen row, 0 at the top.
    pub row: u16,
    pub col: u16,
    pub visible: bool,
    /// The sequence number of the cursor's row.
    pub seq: u64,
}

/// Wait until output matching `pattern` (a regular expression, matched
/// against each line as plain text, wrapped rows joined) appears.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaitRequest {
    pub pattern: String,
    /// Match lines after this sequence number, wherever they are now. Without
    /// it, only output that arrives after the request.
    #[serde(default)]
    pub since: Option<u64>,
    /// Also match what is on the screen already.
    #[serde(default)]
    pub screen: bool,
    /// Give up after this long (answered by [`crate::Response::WaitTimedOut`]).
    #[serde(default)]
    pub timeout_ms: Option<u64>,
}

/// Run a command at the shell's prompt and report how it ended.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRequest {
    /// Typed as it is (as one bracketed paste when it has several lines),
    /// then Enter.
    pub command: String,
    /// Or words, each quoted by the host for the session's shell (POSIX
    /// or fish), so that it sees exactly these words; `command` is then empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub words: Vec<String>,
    #[serde(default)]
    pub timeout_ms: Option<u64>,
    /// Keep at most this many lines of output: the first half and the
    /// last, the rest left out (and counted in [`RunResult::truncated`]).
    #[serde(default)]
    pub max_lines: Option<usize>,
    /// At the timeout, interrupt the command as [`InterruptRequest`] does
    /// and answer once the shell is back at its prompt.
    #[serde(default)]
    pub interrupt_on_timeout: bool,
}

/// The running command's result once it ends, or the last finished one's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResultRequest {
    /// Wait this long for a running command to end; without it, a running
    /// command's output so far is answered at once (`timed_out`).
    #[serde(default)]
    pub wait_ms: Option<u64>,
    #[serde(default)]
    pub max_lines: Option<usize>,
}

/// Interrupt whatever runs at the shell and answer once the prompt is
/// back: C-c, then (when the command's process group is not the shell's)
/// SIGTERM, then SIGKILL to that group, `grace_ms` apart.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InterruptRequest {
    #[serde(default)]
    pub grace_ms: Option<u64>,
    #[serde(default)]
    pub max_lines: Option<usize>,
}

/// What an interrupt did, in order ("typed C-c", "SIGTERM to process
/// group 812 (sleep)"), and the interrupted command's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Interrupted {
    pub steps: Vec<String>,
    /// `None` when nothing was running (no step was taken) or the program
    /// shows no shell integration marks (C-c typed, its effect unseen).
    pub result: Option<RunResult>,
    /// The shell is at its prompt (false: no marks to tell).
    pub at_prompt: bool,
}

/// A command's result, from the shell's OSC 133 marks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct RunResult {
    /// Exactly the command's output (plain text, wrapped rows joined).
    pub output: String,
    /// The command's exit status, as the shell reported it.
    pub status: i32,
    /// The lines the output covers (equal when it printed nothing).
    pub first_seq: u64,
    pub last_seq: u64,
    pub duration_ms: u64,
    /// Output lines that left history before the command ended.
    #[serde(default)]
    pub missed: u64,
    /// The shell itself ended while the command ran ("exited with status
    /// 7", "killed by signal 9 (SIGKILL)"); `status` is then the shell's
    /// (128+N for a signal, as a shell reports it), `output` what it
    /// printed before it ended. `null` otherwise.
    #[serde(default)]
    pub shell_exited: Option<String>,
    /// The timeout passed first (or, for `berth result`, the command was
    /// still running): `output` is what it printed so far and `status` is
    /// 124; the command still runs unless `interrupted` says what stopped it.
    #[serde(default)]
    pub timed_out: bool,
    /// Lines of output left out by `max_lines` (0 when none were); the
    /// whole output stays in `berth capture --since` from `first_seq - 1`.
    #[serde(default)]
    pub truncated: u64,
    /// The command line, as the shell echoed it (`null` when unknown).
    #[serde(default)]
    pub command: Option<String>,
    /// With [`RunRequest::interrupt_on_timeout`]: what stopped the
    /// command after the timeout (`status` is then how it ended, 130 for
    /// C-c). Empty otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub interrupted: Vec<String>,
}

/// What the shell integration (OSC 133) says about the session's shell.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ShellState {
    /// The shell shows its prompt and waits for a command.
    pub at_prompt: bool,
    pub last_command: Option<String>,
    pub last_status: Option<i32>,
    /// Unix time in milliseconds when the running command started.
    pub running_since: Option<u64>,
}

/// The session's output log, through the host.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogsRequest {
    /// Only the last this many lines (of the current file and the rotated
    /// ones before it).
    #[serde(default)]
    pub lines: Option<usize>,
    /// Go on sending what is written, across rotation, until the client
    /// closes.
    #[serde(default)]
    pub follow: bool,
}

/// A session's recording (asciicast v3), through the host (`berth rec`).
/// Times are Unix milliseconds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordingRequest {
    /// From this time on; the screen as it was then comes first.
    #[serde(default)]
    pub since_ms: Option<u64>,
    /// Up to this time.
    #[serde(default)]
    pub until_ms: Option<u64>,
    /// From the start of the last this many commands.
    #[serde(default)]
    pub last_commands: Option<u32>,
    /// No pause longer than this (asciinema's `idle_time_limit`).
    #[serde(default)]
    pub idle_limit_ms: Option<u64>,
    /// The commands recorded ([`Response::Commands`]), not the recording
    /// (data frames, then [`Response::RecordingEnd`]).
    ///
    /// [`Response::Commands`]: crate::Response::Commands
    /// [`Response::RecordingEnd`]: crate::Response::RecordingEnd
    #[serde(default)]
    pub list: bool,
}

/// A command the recording marks (shell integration).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedCommand {
    /// When it started, Unix milliseconds.
    pub started_ms: u64,
    pub command: String,
    /// Its exit status; none while it runs (or when its shell ended first).
    pub status: Option<i32>,
    pub duration_ms: Option<u64>,
}
