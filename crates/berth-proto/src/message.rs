//! Typed messages carried in control frames.
//!
//! Compatibility rule: fields may be added (with `#[serde(default)]`), none
//! renamed or removed, within one [`crate::PROTOCOL_VERSION`].

use serde::{Deserialize, Serialize};

use crate::frame::{encode_control_payload, FrameError};
use crate::scripting::{
    CaptureInfo, InterruptRequest, Interrupted, LogsRequest, RecordedCommand, RecordingRequest,
    ResultRequest, RunRequest, RunResult, ShellState, WaitRequest,
};

/// Whom a connection from berth-web speaks for: the uid its login was
/// bound to (by `berth web login`, over a socket that read the uid from
/// the kernel) and the browser's address, for the audit trail. A host
/// checks this uid against its access lists as if it had connected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OnBehalfOf {
    pub uid: u32,
    pub from: String,
}

/// Client to host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Request {
    /// First message on every connection; `client` names the program, for the audit trail.
    Hello {
        client: String,
        /// The web dashboard speaking for the person logged in to it.
        /// Honoured only from the web account; see [`OnBehalfOf`].
        #[serde(default, skip_serializing_if = "Option::is_none")]
        on_behalf_of: Option<OnBehalfOf>,
    },
    /// Screen and scrollback as text; answered by data frames then [`Response::CaptureEnd`].
    Capture(CaptureRequest),
    /// Keys in tmux notation, translated by the host (it knows the program's input modes).
    Send {
        keys: Vec<String>,
        /// Every key is literal text, as `tmux send-keys -l`.
        #[serde(default)]
        literal: bool,
        /// The keys are text, pasted as one bracketed paste where the
        /// program enabled it (tmux `paste-buffer -p`), typed as they are
        /// elsewhere; `literal` then changes nothing.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        paste: bool,
        /// Then wait for output, from the line the keys were typed on
        /// ([`Response::Matched`] or [`Response::WaitTimedOut`]; else [`Response::Sent`]).
        #[serde(default)]
        wait: Option<WaitRequest>,
    },
    /// Answered by [`Response::Matched`] or [`Response::WaitTimedOut`].
    Wait(WaitRequest),
    /// The output log: data frames, then [`Response::LogEnd`] (never, when following).
    Logs(LogsRequest),
    /// The session's recording: data frames, then
    /// [`Response::RecordingEnd`]; or, listing, [`Response::Commands`].
    Recording(RecordingRequest),
    /// Type a command at the shell's prompt; answered by [`Response::Ran`].
    Run(RunRequest),
    /// The running or last finished command's result; answered by [`Response::Ran`].
    Result(ResultRequest),
    /// Interrupt the running command; answered by [`Response::Interrupted`].
    Interrupt(InterruptRequest),
    Status,
    /// Status now and again whenever it changes (state, clients, size, the
    /// foreground command, shell marks; not uptime or countdown, which the
    /// reader ages), until the client closes: how berthd follows its hosts
    /// without polling.
    Watch,
    /// Restart the program now (kills it if it runs), resetting the restart limit.
    Restart,
    /// Stop the program and keep it stopped; the host stays, with its
    /// screen, history and clients (`berth stop`).
    Stop,
    /// Start a program that is stopped, exited or failed (`berth start`).
    Start,
    /// End the program and the host (`berth --socket PATH kill` of a host
    /// started by hand; berthd ends the hosts it started itself).
    Kill,
    /// Take new program settings (command, environment, working directory,
    /// restart policy, size) and restart the program with them inside this
    /// host, keeping the screen. `args` are `berth-session` flags and
    /// program, as berthd starts hosts with; only root and the session's
    /// own account may send it.
    Reconfigure {
        args: Vec<String>,
    },
    /// Become an attached client: full screen, then live output. (Used by `berth attach`.)
    Attach(AttachRequest),
    /// The attached client's terminal changed size.
    Resize {
        cols: u16,
        rows: u16,
    },
    /// Leave an attached session.
    Detach,
    /// While attached: send the whole screen again, in order with the
    /// output ([`Response::Redraw`] then a data frame). A client that
    /// passes output through untouched asks once it must draw the screen
    /// itself (its terminal became smaller than the session).
    Redraw,
    /// A whole-host request, on berthd's control socket.
    Daemon(DaemonRequest),
}

impl Request {
    /// The request's name, for audit lines and errors.
    pub fn name(&self) -> &'static str {
        match self {
            Request::Hello { .. } => "hello",
            Request::Capture(_) => "capture",
            Request::Send { .. } => "send",
            Request::Wait(_) => "wait",
            Request::Logs(_) => "logs",
            Request::Recording(_) => "recording",
            Request::Run(_) => "run",
            Request::Result(_) => "result",
            Request::Interrupt(_) => "interrupt",
            Request::Status => "status",
            Request::Watch => "watch",
            Request::Restart => "restart",
            Request::Stop => "stop",
            Request::Start => "start",
            Request::Kill => "kill",
            Request::Reconfigure { .. } => "reconfigure",
            Request::Attach(_) => "attach",
            Request::Resize { .. } => "resize",
            Request::Detach => "detach",
            Request::Redraw => "redraw",
            Request::Daemon(_) => "daemon",
        }
    }
}

/// Requests only berthd's control socket answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "verb", rename_all = "snake_case")]
pub enum DaemonRequest {
    /// Every session berthd manages.
    List,
    /// Start an ad-hoc session that is not in the config (like `tmux new -d`).
    New {
        name: String,
        #[serde(default)]
        user: Option<String>,
        command: Vec<String>,
    },
    /// Stop a session and forget it until the config or `new` brings it back.
    Kill { name: String },
    /// Start a stopped session.
    Start { name: String },
    /// Stop a session but keep it declared.
    Stop { name: String },
    /// Restart a session's host.
    Restart { name: String },
    /// Re-read the config and apply it.
    Reload,
    /// Every session's figures for `/metrics` (root, `[daemon] admins`
    /// and berth-web speaking for itself).
    Metrics,
    /// `berth web login`: a one-time link for the caller (the kernel says
    /// who), answered by [`Response::WebLink`].
    WebLogin,
    /// `berth web logout`: ends the caller's logins (`all`: everyone's,
    /// root only); answered by [`Response::WebLoggedOut`].
    WebLogout {
        #[serde(default)]
        all: bool,
    },
    /// berth-web, for itself only: trades the code a browser brought for
    /// the person it was issued to ([`Response::WebRedeemed`]); from then
    /// on that person holds a live login the hosts can see.
    WebRedeem { code: String },
    /// Which config berthd reads, and in which mode ([`Response::ConfigFile`]):
    /// what `berth validate` checks when not told.
    ConfigFile,
}

/// Which lines a capture covers, in tmux numbering: 0 is the top visible
/// line, negative numbers reach into history, [`LineBound::Edge`] is the
/// start of history (for `start`) or the last visible line (for `end`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaptureRequest {
    #[serde(default)]
    pub start: Option<LineBound>,
    #[serde(default)]
    pub end: Option<LineBound>,
    /// Keep colours and attributes as SGR escape sequences (tmux `-e`).
    #[serde(default)]
    pub escapes: bool,
    /// Join lines the terminal wrapped (tmux `-J`).
    #[serde(default)]
    pub join: bool,
    /// Only lines after this sequence number (see [`CaptureInfo`]), to the
    /// end of the screen or `end`; `start` is not used.
    #[serde(default)]
    pub since: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LineBound {
    Line(i64),
    /// tmux's `-`: the first line of history, or the last line of the screen.
    Edge,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachRequest {
    #[serde(default)]
    pub read_only: bool,
    #[serde(default)]
    pub detach_others: bool,
    /// The client's terminal size. `None` for a reader without a terminal:
    /// it gets the screen as plain text first, and never affects the size.
    #[serde(default)]
    pub size: Option<Size>,
    /// A viewer that wants screens, not the stream (`berth watch`): no
    /// output is sent, only [`Response::Changed`] once after output since
    /// the last screen, and the whole screen for each [`Request::Redraw`].
    /// Such a client is read-only. Hosts before it ignore it and stream.
    #[serde(default)]
    pub frames: bool,
}

/// Host to client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Response {
    Welcome {
        session: String,
        access: Access,
    },
    Ok,
    Status(Box<Status>),
    /// Line numbers of the capture text sent so far, ahead of the end
    /// (a long capture sends them in parts); [`Response::CaptureEnd`]'s
    /// `info` holds the rest.
    CaptureLines {
        seqs: Vec<u64>,
        wrapped: Vec<bool>,
    },
    CaptureEnd {
        lines: usize,
        /// Numbers, cursor and size (hosts before it sent none).
        #[serde(default)]
        info: Option<Box<CaptureInfo>>,
    },
    /// Keys sent; `seq` is the cursor's line when they were queued.
    Sent {
        seq: u64,
    },
    /// A line matched a wait.
    Matched {
        seq: u64,
        text: String,
    },
    /// Nothing matched in time; `seq` is the cursor's line then.
    WaitTimedOut {
        seq: u64,
    },
    /// The end of a log that is not followed.
    LogEnd,
    /// The end of an exported recording.
    RecordingEnd,
    /// The commands a recording marks, oldest first.
    Commands {
        commands: Vec<RecordedCommand>,
    },
    Ran(Box<RunResult>),
    Interrupted(Box<Interrupted>),
    /// Attached: a data frame with the full screen follows, then live
    /// output. `read_only` is true when the client asked for it or may
    /// only observe.
    Attached {
        size: Size,
        read_only: bool,
        /// The host answers [`Request::Redraw`] (hosts before it did not).
        #[serde(default)]
        redraw: bool,
        /// The host sends screens, not the stream, as the client asked
        /// ([`AttachRequest::frames`]).
        #[serde(default)]
        frames: bool,
    },
    /// To an attached client that asked for [`Request::Redraw`]: the next
    /// data frame is the whole screen.
    Redraw,
    /// To a client attached for frames: output changed the screen since
    /// the last one it got. Sent once until it asks for the screen again.
    Changed,
    /// To attached clients: the session's terminal changed size (another
    /// client resized it, or the last one left).
    Resized {
        size: Size,
    },
    /// The attached client is detached; `reason` says why ("detached" when
    /// it asked to be). Always the last frame on the connection.
    Detached {
        reason: String,
    },
    /// The session ended while the client was attached. The last frame.
    Ended {
        reason: String,
    },
    Error {
        code: ErrorCode,
        message: String,
    },
    /// Answer to [`DaemonRequest::List`].
    Sessions {
        sessions: Vec<SessionSummary>,
    },
    /// Answer to [`DaemonRequest::Metrics`].
    Metrics {
        sessions: Vec<SessionMetrics>,
    },
    /// Answer to [`DaemonRequest::WebLogin`].
    WebLink {
        url: String,
    },
    /// Answer to [`DaemonRequest::WebLogout`]: how many logins ended.
    WebLoggedOut {
        ended: u32,
    },
    /// Answer to [`DaemonRequest::WebRedeem`]: whose login it is, for how
    /// long (seconds), and whether the dashboard may type for them.
    WebRedeemed {
        uid: u32,
        ttl_s: u64,
        input: bool,
    },
    /// Answer to [`DaemonRequest::ConfigFile`].
    ConfigFile {
        path: String,
        /// "system" or "user".
        mode: String,
    },
    /// Answer to [`DaemonRequest::Reload`]: what changed.
    Reloaded {
        added: Vec<String>,
        removed: Vec<String>,
        changed: Vec<String>,
        unchanged: Vec<String>,
        /// Sessions the reload could not stop, start or replace, and why.
        #[serde(default)]
        failed: std::collections::BTreeMap<String, String>,
    },
}

/// One line of `berth ls`. Stable JSON: keys are added, never renamed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SessionSummary {
    pub name: String,
    /// A [`State`]; "unreachable" when the host does not answer; "denied"
    /// when the caller is neither operator nor observer of the session.
    pub state: String,
    pub pid: Option<u32>,
    pub user: Option<String>,
    pub restarts: Option<u32>,
    pub clients: Option<usize>,
    pub uptime_s: Option<u64>,
    /// The host process.
    #[serde(default)]
    pub host_pid: Option<u32>,
    /// In backoff: seconds until the program starts again.
    #[serde(default)]
    pub restart_in_s: Option<u64>,
    /// The PTY's foreground process ("bash", "vim").
    #[serde(default)]
    pub foreground: Option<String>,
}

/// One session's figures for monitoring: berthd's state of it, and what
/// its host said (`None` where the host did not answer).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionMetrics {
    pub name: String,
    /// As in [`SessionSummary::state`].
    pub state: String,
    pub restarts: Option<u32>,
    pub last_exit: Option<ExitInfo>,
    pub output_bytes: Option<u64>,
    pub clients: Option<usize>,
    /// Resident memory of the host process.
    pub memory_bytes: Option<u64>,
}

/// What a connected client may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Access {
    /// Attach read-write, send, capture, restart.
    Operator,
    /// Attach read-only, capture.
    Observer,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The peers speak different protocol versions.
    Version,
    /// A frame or message could not be decoded; the connection is closed.
    Malformed,
    /// The handshake did not finish in time.
    Timeout,
    /// The peer's credentials do not allow this.
    Denied,
    /// Well-formed but not acceptable now (e.g. a request before Hello).
    BadRequest,
    Internal,
}

/// The session's lifecycle state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum State {
    Starting,
    Running,
    /// Waiting to restart the program after it exited.
    Backoff,
    /// The program exited and the policy does not restart it; the screen stays readable.
    Exited,
    /// The restart limit was reached.
    Failed,
    Stopped,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Starting => "starting",
            State::Running => "running",
            State::Backoff => "backoff",
            State::Exited => "exited",
            State::Failed => "failed",
            State::Stopped => "stopped",
        }
    }
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Size {
    pub cols: u16,
    pub rows: u16,
}

impl Size {
    /// Smallest columns or rows of a terminal berth accepts.
    pub const MIN: u16 = 2;
    /// Largest columns or rows: a screen of 1000x1000 cells is already
    /// tens of megabytes of emulator state.
    pub const MAX: u16 = 1000;

    /// Whether both sides are within [`Size::MIN`] and [`Size::MAX`]; the
    /// one check for configured sizes and every client's size.
    pub fn check(self) -> Result<Self, String> {
        let range = Self::MIN..=Self::MAX;
        if range.contains(&self.cols) && range.contains(&self.rows) {
            Ok(self)
        } else {
            Err(format!(
                "terminal size {}x{} is out of range: columns and rows must be between {} and {}",
                self.cols,
                self.rows,
                Self::MIN,
                Self::MAX
            ))
        }
    }
}

/// How the program last ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ExitInfo {
    /// Exit status, when it exited normally.
    pub code: Option<i32>,
    /// Signal number, when a signal killed it.
    pub signal: Option<i32>,
    /// Human form: "status 1", "signal 9 (SIGKILL)", or why it could not start.
    pub text: String,
    /// Unix time in seconds.
    pub at: u64,
}

impl ExitInfo {
    /// How it ended, in words: "exited with status 1", "killed by signal
    /// 9 (SIGKILL)", or why it could not start.
    pub fn phrase(&self) -> String {
        match (self.code, self.signal) {
            (Some(_), _) => format!("exited with {}", self.text),
            (_, Some(_)) => format!("killed by {}", self.text),
            _ => self.text.clone(),
        }
    }

    /// The same after a subject ("the last one was killed by signal 1
    /// (SIGHUP)", "... exited with status 7").
    pub fn predicate(&self) -> String {
        match self.signal {
            Some(_) => format!("was {}", self.phrase()),
            None => self.phrase(),
        }
    }

    /// The status a shell reports for it: the exit status, 128+N for
    /// signal N.
    pub fn shell_status(&self) -> i32 {
        match (self.code, self.signal) {
            (Some(code), _) => code,
            (_, Some(signal)) => 128 + signal,
            _ => 127,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub enum ClientMode {
    ReadWrite,
    ReadOnly,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ClientInfo {
    pub uid: u32,
    pub user: String,
    pub pid: Option<i32>,
    pub mode: ClientMode,
}

/// Everything `berth status` shows. Stable JSON: keys are added, never renamed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Status {
    pub name: String,
    pub state: State,
    /// The program's pid while it runs.
    pub pid: Option<u32>,
    /// The account the program runs as.
    pub user: String,
    pub uid: u32,
    pub command: Vec<String>,
    /// Restarts since the host started.
    pub restarts: u32,
    pub last_exit: Option<ExitInfo>,
    pub clients: Vec<ClientInfo>,
    pub size: Size,
    pub log: Option<String>,
    /// Name of the PTY's foreground process ("bash" at a prompt, "vim" in vim).
    pub foreground: Option<String>,
    /// Seconds the current program has been running.
    pub uptime_s: Option<u64>,
    /// In backoff: milliseconds until the next start.
    pub restart_in_ms: Option<u64>,
    /// Why the last start failed, when it did (missing binary, bad cwd...).
    pub last_error: Option<String>,
    /// Set while the output log is paused by a write error (disk full...).
    pub log_error: Option<String>,
    /// The `berth-session` process.
    pub host_pid: u32,
    /// Shell integration: prompt, last command and its status.
    #[serde(default)]
    pub shell: Option<ShellState>,
    /// Unix time in milliseconds of the last output or input.
    #[serde(default)]
    pub active_at_ms: Option<u64>,
    /// Bytes the program wrote since the host started.
    #[serde(default)]
    pub output_bytes: u64,
    /// Resident memory of the host process (screen, history, buffers).
    #[serde(default)]
    pub memory_bytes: Option<u64>,
    /// What ends the program's leftovers when the session stops: "cgroup
    /// PATH" (the whole group), or "best-effort ..." (its process session).
    #[serde(default)]
    pub cleanup: Option<String>,
}

impl Status {
    /// This status `elapsed` after it was taken: its clocks (uptime, the
    /// restart countdown) moved on, nothing else did. Hosts push a status
    /// only when something else changes, so the reader ages it.
    pub fn aged(mut self, elapsed: std::time::Duration) -> Self {
        self.uptime_s = self.uptime_s.map(|s| s + elapsed.as_secs());
        let ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX);
        self.restart_in_ms = self.restart_in_ms.map(|r| r.saturating_sub(ms));
        self
    }

    /// Whether `other` says something this one does not, apart from the
    /// clocks that move by themselves (uptime, countdown, last activity).
    pub fn differs_from(&self, other: &Status) -> bool {
        let clockless = |s: &Status| Status {
            uptime_s: None,
            restart_in_ms: None,
            active_at_ms: None,
            // Counters that move with every output: not a change to push.
            output_bytes: 0,
            memory_bytes: None,
            ..s.clone()
        };
        clockless(self) != clockless(other)
    }
}

impl SessionSummary {
    /// The summary of a host that answered.
    pub fn from_status(st: Status) -> Self {
        Self {
            name: st.name,
            state: st.state.to_string(),
            pid: st.pid,
            user: Some(st.user),
            restarts: Some(st.restarts),
            clients: Some(st.clients.len()),
            uptime_s: st.uptime_s,
            host_pid: Some(st.host_pid),
            restart_in_s: st.restart_in_ms.map(|ms| ms.div_ceil(1000)),
            foreground: st.foreground,
        }
    }

    /// A session whose host did not answer, in `state`.
    pub fn without_status(name: String, state: &str, host_pid: Option<u32>) -> Self {
        Self {
            name,
            state: state.to_owned(),
            pid: None,
            user: None,
            restarts: None,
            clients: None,
            uptime_s: None,
            host_pid,
            restart_in_s: None,
            foreground: None,
        }
    }
}

/// Decodes a control payload as `T`.
pub fn decode<T: for<'de> Deserialize<'de>>(payload: &[u8]) -> Result<T, FrameError> {
    serde_json::from_slice(payload).map_err(|e| FrameError::BadMessage(e.to_string()))
}

/// Appends `msg` as a control message (in parts when it is long).
pub fn encode_control<T: Serialize>(msg: &T, out: &mut Vec<u8>) {
    let json = serde_json::to_vec(msg).expect("wire messages always serialize");
    encode_control_payload(&json, out);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_json_is_tagged() {
        let json = serde_json::to_string(&Request::Send {
            keys: vec!["ls".into(), "Enter".into()],
            literal: false,
            paste: false,
            wait: None,
        })
        .unwrap();
        assert_eq!(
            json,
            r#"{"type":"send","keys":["ls","Enter"],"literal":false,"wait":null}"#
        );
        // What an older client sends still reads.
        let old: Request = serde_json::from_str(r#"{"type":"send","keys":["ls"]}"#).unwrap();
        assert!(matches!(old, Request::Send { wait: None, .. }));
        let capture: Request =
            serde_json::from_str(r#"{"type":"capture","start":{"line":-5},"end":"edge"}"#).unwrap();
        assert_eq!(
            capture,
            Request::Capture(CaptureRequest {
                start: Some(LineBound::Line(-5)),
                end: Some(LineBound::Edge),
                ..Default::default()
            })
        );
    }

    #[test]
    fn recording_messages_cross_the_wire() {
        let req = Request::Recording(RecordingRequest {
            since_ms: Some(1),
            last_commands: Some(2),
            list: true,
            ..Default::default()
        });
        let json = serde_json::to_string(&req).unwrap();
        assert_eq!(serde_json::from_str::<Request>(&json).unwrap(), req);
        let commands = Response::Commands {
            commands: vec![RecordedCommand {
                started_ms: 5,
                command: "make".into(),
                status: Some(2),
                duration_ms: Some(7),
            }],
        };
        let json = serde_json::to_string(&commands).unwrap();
        assert_eq!(
            json,
            r#"{"type":"commands","commands":[{"started_ms":5,"command":"make","status":2,"duration_ms":7}]}"#
        );
        assert_eq!(serde_json::from_str::<Response>(&json).unwrap(), commands);
        let end = serde_json::to_string(&Response::RecordingEnd).unwrap();
        assert_eq!(end, r#"{"type":"recording_end"}"#);
    }

    fn status() -> Status {
        Status {
            name: "ci".into(),
            state: State::Backoff,
            pid: None,
            user: "berth-ci".into(),
            uid: 990,
            command: vec!["runner".into()],
            restarts: 2,
            last_exit: None,
            clients: vec![],
            size: Size { cols: 80, rows: 24 },
            log: None,
            foreground: None,
            uptime_s: Some(10),
            restart_in_ms: Some(1500),
            last_error: None,
            log_error: None,
            host_pid: 7,
            shell: None,
            active_at_ms: Some(1),
            output_bytes: 10,
            memory_bytes: Some(4096),
            cleanup: None,
        }
    }

    #[test]
    fn a_status_ages_by_its_clocks_only() {
        let aged = status().aged(std::time::Duration::from_millis(2300));
        assert_eq!(aged.uptime_s, Some(12));
        assert_eq!(aged.restart_in_ms, Some(0));
        assert!(!aged.differs_from(&status()));
        // Output counted and memory moving are not changes to push.
        let busier = Status {
            output_bytes: 1 << 20,
            memory_bytes: Some(1 << 22),
            ..status()
        };
        assert!(!busier.differs_from(&status()));
        let restarted = Status {
            restarts: 3,
            ..status()
        };
        assert!(restarted.differs_from(&status()));
        let busy = Status {
            foreground: Some("make".into()),
            ..status()
        };
        assert!(busy.differs_from(&status()));
    }
}
