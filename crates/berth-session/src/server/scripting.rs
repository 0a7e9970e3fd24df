//! The verbs programs drive a session with: numbered captures, `send`
//! (and `send --wait`), `wait`, `run` at the shell's prompt, and `logs`.
//! Each waits on the host's own signals (output arrived, the log grew, a
//! command ended), never on a timer of its own but the caller's timeout.

use std::collections::HashMap;
use std::time::Duration;

use berth_proto::keys::{self, Typing};
use berth_proto::scripting::{LogsRequest, RecordingRequest, RunRequest, RunResult, WaitRequest};
use berth_proto::server::{ConnError, ServerConn};
use berth_proto::{CaptureRequest, ErrorCode, Response, MAX_FRAME_LEN};
use std::pin::Pin;
use tokio::sync::futures::Notified;
use tokio::sync::Notify;
use tokio::time::Instant;

use super::Server;
use crate::input::InputError;
use crate::recording::Typist;
use crate::shell::Readiness;
use crate::terminal::capture::SLICE_ROWS;
use crate::terminal::Terminal;

/// Line numbers a capture gathers before it sends them ahead of its end
/// (in [`Response::CaptureLines`]): what a long capture holds of them.
const CAPTURE_LINES_PART: usize = 16 * 1024;

/// How long `run` waits for the prompt after a command ended.
const PROMPT_WAIT: Duration = Duration::from_secs(5);
/// How long `run` waits, without a timeout of its own, for a shell that
/// just started to draw its first prompt (a slow .bashrc).
const FIRST_PROMPT_WAIT: Duration = Duration::from_secs(30);
/// How long after the last keys typed into a session a running command may
/// take to end before `run` says the session is busy: one interrupted a
/// moment ago (`send C-c`) may still be drawing its prompt, the more so on
/// a loaded machine. A session nobody typed into lately is busy at once.
const BUSY_GRACE: Duration = Duration::from_secs(3);

/// How often a waiting `run` looks whether the shell replaced itself.
const EXEC_LOOK: Duration = Duration::from_millis(250);

/// Longest pattern a client may ask for, compiled.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// Rows of history a wait looks at per turn, copied under the session lock
/// and matched outside it: a wait from line 0 of a long history gives way
/// to the program and to other requests between slices.
const WAIT_SLICE_ROWS: u64 = 4096;

/// What one look at the output found.
enum Checked {
    Matched(u64, String),
    /// Nothing yet, and more of the history to look at now.
    More,
    /// Nothing until more output arrives.
    Nothing,
}

/// A wait for output matching a pattern.
pub struct Waiter {
    regex: regex::Regex,
    /// Lines from this number on are candidates.
    from: u64,
    /// Lines as they were when the wait began: they match only once changed.
    unchanged: HashMap<u64, String>,
    deadline: Option<Instant>,
}

impl Waiter {
    /// `sent`: the cursor's line when `send --wait` queued its keys, which
    /// takes the place of `since`.
    pub fn new(
        req: &WaitRequest,
        term: &mut Terminal,
        sent: Option<u64>,
    ) -> Result<Self, ConnError> {
        let regex = regex::RegexBuilder::new(&req.pattern)
            .size_limit(REGEX_SIZE_LIMIT)
            .build()
            .map_err(|e| {
                let why = e.to_string();
                let why = why
                    .lines()
                    .last()
                    .unwrap_or("invalid")
                    .trim()
                    .trim_start_matches("error: ");
                ConnError::Refused(
                    ErrorCode::BadRequest,
                    format!("bad regular expression {:?}: {why}", req.pattern),
                )
            })?;
        let mut unchanged = HashMap::new();
        let from = match (sent.or(req.since), req.screen) {
            (Some(since), _) => since.saturating_add(1),
            (None, true) => term.screen_top(),
            (None, false) => {
                // Only what arrives from now on: the cursor's line and
                // those below match once they change.
                let from = term.cursor().seq;
                unchanged.extend(term.lines_from(from, WAIT_SLICE_ROWS).lines);
                from
            }
        };
        Ok(Self {
            regex,
            from,
            unchanged,
            deadline: req
                .timeout_ms
                .map(|ms| Instant::now() + Duration::from_millis(ms)),
        })
    }

    /// The first candidate line of the next slice that matches; lines
    /// that can no longer change are not looked at again. The lines are
    /// copied under the lock and matched after it is released.
    fn check(&mut self, shared: &crate::session::Shared) -> Checked {
        let lines = shared.lock().term.lines_from(self.from, WAIT_SLICE_ROWS);
        for (seq, text) in lines.lines {
            if self.unchanged.get(&seq) == Some(&text) {
                continue;
            }
            if self.regex.is_match(&text) {
                return Checked::Matched(seq, text);
            }
        }
        self.from = self.from.max(lines.settled);
        match lines.more {
            true => Checked::More,
            false => Checked::Nothing,
        }
    }
}

impl Server {
    pub(super) async fn capture(
        &self,
        conn: &mut ServerConn,
        req: &CaptureRequest,
    ) -> Result<(), ConnError> {
        // A slice at a time, each taken under the lock and sent before
        // the next: a long history is never held twice, the lock never
        // long, and a client that does not read holds one slice.
        let mut stream = self.shared.lock().term.capture_stream(req);
        let (mut seqs, mut wrapped) = (Vec::new(), Vec::new());
        while !stream.done() {
            let slice = self
                .shared
                .lock()
                .term
                .capture_slice(&mut stream, SLICE_ROWS);
            conn.send_data(slice.text.as_bytes()).await?;
            seqs.extend(slice.seqs);
            wrapped.extend(slice.wrapped);
            if seqs.len() >= CAPTURE_LINES_PART {
                let part = Response::CaptureLines {
                    seqs: std::mem::take(&mut seqs),
                    wrapped: std::mem::take(&mut wrapped),
                };
                conn.reply(&part).await?;
            }
            // The program's output goes on between slices.
            tokio::task::yield_now().await;
        }
        let mut info = stream.info;
        info.seqs = seqs;
        info.wrapped = wrapped;
        conn.reply(&Response::CaptureEnd {
            lines: stream.lines,
            info: Some(Box::new(info)),
        })
        .await
    }

    /// Queues keys; the cursor's line then, and the wait that starts there.
    pub(super) fn send(
        &self,
        keys: &[String],
        how: Typing,
        wait: Option<&WaitRequest>,
        who: &Typist,
    ) -> Result<(usize, u64, Option<Waiter>), ConnError> {
        let mut s = self.shared.lock();
        // Keys for a stopped program would wait in the terminal for the
        // next one: refused instead.
        s.program_running(&self.shared.info.name)
            .map_err(|m| ConnError::Refused(ErrorCode::BadRequest, m))?;
        let modes = s.term.modes();
        let mut bytes = Vec::new();
        match how {
            Typing::Keys { literal } => {
                for key in keys {
                    bytes.extend(keys::translate(key, literal, modes));
                }
            }
            Typing::Paste => {
                // Marked as a paste only where the program asked for it;
                // the end marker cannot be forged from inside the text.
                let paste = s.term.screen().bracketed_paste();
                let text = keys.concat().replace("\x1b[201~", "");
                if paste {
                    bytes.extend_from_slice(b"\x1b[200~");
                }
                bytes.extend_from_slice(text.as_bytes());
                if paste {
                    bytes.extend_from_slice(b"\x1b[201~");
                }
            }
        }
        if bytes.len() > MAX_FRAME_LEN {
            return Err(ConnError::Refused(
                ErrorCode::BadRequest,
                format!(
                    "input of {} bytes is too large: send at most {} MiB at a time",
                    bytes.len(),
                    MAX_FRAME_LEN >> 20
                ),
            ));
        }
        // Compiled before anything is typed: a bad pattern types nothing.
        let seq = s.term.cursor().seq;
        let waiter = wait
            .map(|w| Waiter::new(w, &mut s.term, Some(seq)))
            .transpose()?;
        let n = bytes.len();
        self.type_in(bytes, who)?;
        s.active_at = Some(std::time::SystemTime::now());
        Ok((n, seq, waiter))
    }

    /// Queues `bytes` for the program, typed by `who`.
    pub(super) fn type_in(&self, bytes: Vec<u8>, who: &Typist) -> Result<(), ConnError> {
        self.shared.input.try_send(bytes, who).map_err(|e| {
            let code = match e {
                InputError::Full => ErrorCode::BadRequest,
                InputError::Closed => ErrorCode::Internal,
            };
            ConnError::Refused(code, format!("session {}: {e}", self.shared.info.name))
        })
    }

    /// Answers when a line matches, or when the wait's time is up.
    pub(super) async fn wait(
        &self,
        conn: &mut ServerConn,
        mut waiter: Waiter,
    ) -> Result<(), ConnError> {
        loop {
            let arrived = armed(&self.shared.output_arrived);
            match waiter.check(&self.shared) {
                Checked::Matched(seq, text) => {
                    return conn.reply(&Response::Matched { seq, text }).await
                }
                Checked::More => {
                    // The rest of the history next turn, after whatever
                    // else is ready (and after the deadline, if it passed).
                    tokio::task::yield_now().await;
                    if waiter.deadline.is_none_or(|d| Instant::now() < d) {
                        continue;
                    }
                }
                Checked::Nothing => {}
            }
            let deadline = waiter.deadline;
            tokio::select! {
                _ = arrived => {}
                _ = until(deadline) => {
                    let seq = self.shared.lock().term.cursor().seq;
                    return conn.reply(&Response::WaitTimedOut { seq }).await;
                }
                e = conn.interrupted("while waiting") => return Err(e),
            }
        }
    }

    /// Types a command at the shell's prompt and answers with its result.
    pub(super) async fn run(
        &self,
        conn: &mut ServerConn,
        req: &RunRequest,
        who: &Typist,
    ) -> Result<(), ConnError> {
        let name = &self.shared.info.name;
        let refuse = |m: String| ConnError::Refused(ErrorCode::BadRequest, m);
        let quoted;
        let command = match req.words.is_empty() {
            true => &req.command,
            false if !req.command.is_empty() => {
                return Err(refuse(
                    "berth run takes a command line or words, not both".into(),
                ))
            }
            false => {
                let program = self.shared.lock().command.clone();
                quoted =
                    crate::shell_integration::command_line(&program, &req.words).map_err(refuse)?;
                &quoted
            }
        };
        if command.trim().is_empty() {
            return Err(refuse("berth run needs a command".into()));
        }
        // Lines and tabs are text (a loop, a function, a here-doc: typed as
        // one paste); other control characters are keys, for berth send.
        if req
            .command
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t')
        {
            return Err(refuse(
                "the command holds control characters other than newlines and tabs (use berth send for keys)"
                    .into(),
            ));
        }
        let multiline = command.trim_end().contains('\n');
        self.shared.lock().program_running(name).map_err(refuse)?;
        let deadline = req
            .timeout_ms
            .map(|ms| Instant::now() + Duration::from_millis(ms));
        // A command that just ended has its prompt on the way: wait for it
        // (at most PROMPT_WAIT), as a person would before typing.
        let prompt_by = Instant::now() + PROMPT_WAIT;
        let first_prompt_by = deadline.unwrap_or_else(|| Instant::now() + FIRST_PROMPT_WAIT);
        // Set when the session first looked busy: refused only if it still
        // is this much later.
        let mut busy_until: Option<Instant> = None;
        let (done, result) = tokio::sync::oneshot::channel();
        let mut done = Some(done);
        loop {
            let arrived = armed(&self.shared.output_arrived);
            let changed = armed(&self.shared.state_changed);
            let wait_until = {
                let mut s = self.shared.lock();
                let cursor = s.term.cursor();
                // Not started yet (`berth new` a moment ago): its shell, and
                // whether it speaks the marks, are still to come.
                let readiness = match (s.pid, s.program_running(name)) {
                    (Some(_), _) => s.shell.readiness(name, cursor),
                    (None, Ok(())) => Readiness::Starting,
                    (None, Err(why)) => Readiness::Refused(why),
                };
                match readiness {
                    Readiness::Refused(why) if s.shell.command_running() => {
                        let typed = self.shared.input.last_queued();
                        let until = *busy_until.get_or_insert_with(|| {
                            typed.map_or_else(Instant::now, |t| Instant::from_std(t) + BUSY_GRACE)
                        });
                        if Instant::now() >= until {
                            return Err(refuse(why));
                        }
                        // Looked at again then: refused if still busy.
                        Err((until, None))
                    }
                    Readiness::Refused(why) => return Err(refuse(why)),
                    Readiness::Soon => Err((
                        prompt_by.min(deadline.unwrap_or(prompt_by)),
                        Some(format!("session {name} ended a command but shows no prompt; nothing was typed")),
                    )),
                    Readiness::Starting => Err((
                        first_prompt_by,
                        Some(format!("session {name}'s shell has not drawn its first prompt yet; nothing was typed")),
                    )),
                    Readiness::Ready => {
                        // Pasted when the shell takes pastes, so nothing in
                        // it is a key binding (a tab completing, a `!`
                        // expanding in the editor).
                        let paste = s.term.screen().bracketed_paste();
                        if multiline && !paste {
                            return Err(refuse(format!(
                                "session {name}'s shell does not take pastes (bracketed paste is off), so a command of several lines cannot be typed as one; join it with ; or send it with berth send"
                            )));
                        }
                        let mut bytes = Vec::new();
                        if paste {
                            bytes.extend_from_slice(b"\x1b[200~");
                        }
                        // One paste, one Enter: the shell reads it all as
                        // one input and reports one result.
                        bytes.extend_from_slice(command.trim_end().as_bytes());
                        if paste {
                            bytes.extend_from_slice(b"\x1b[201~");
                        }
                        bytes.push(b'\r');
                        self.type_in(bytes, who)?;
                        if let Some(done) = done.take() {
                            s.shell.running(done);
                        }
                        s.active_at = Some(std::time::SystemTime::now());
                        Ok(())
                    }
                }
            };
            let Err((at, refusal)) = wait_until else {
                break;
            };
            tokio::select! {
                _ = arrived => {}
                _ = changed => {}
                _ = until(Some(at)) => {
                    if let Some(refusal) = refusal {
                        return Err(refuse(refusal));
                    }
                }
            }
        }
        let mut result = result;
        // A shell that replaced itself (`exec python3`) ends no command and
        // exits not: the kernel tells no one, so it is looked for.
        let shell = self.program_image();
        let mut look = tokio::time::interval(EXEC_LOOK);
        let result = loop {
            tokio::select! {
                r = &mut result => break r.map_err(|_| ConnError::Refused(
                    ErrorCode::Internal,
                    format!("session {name} ended before the command did"),
                ))?,
                _ = look.tick(), if shell.is_some() => {
                    self.notice_exec(shell.as_ref().expect("looked for only with one"));
                }
                _ = until(deadline) => break match req.interrupt_on_timeout {
                    // Stopped as `berth interrupt` would, then answered with
                    // how it ended, once the prompt is back.
                    true => {
                        let stopping =
                            self.stop_command(&mut result, super::interrupt::INTERRUPT_GRACE, who);
                        let (result, steps) = tokio::select! {
                            r = stopping => r?,
                            e = conn.interrupted("while interrupting the command") => return Err(e),
                        };
                        self.prompt_back().await;
                        RunResult { timed_out: true, interrupted: steps, ..result }
                    }
                    // The command goes on; the caller gets what it printed so
                    // far, and where it stands, to go on from.
                    false => {
                        let mut s = self.shared.lock();
                        let s = &mut *s;
                        s.shell.gave_up(&mut s.term)
                    }
                },
            }
        };
        self.reply_result(conn, result, req.max_lines).await
    }

    /// Sends the output log, then (following) what is written next, until
    /// the client closes.
    pub(super) async fn logs(
        &self,
        conn: &mut ServerConn,
        req: &LogsRequest,
    ) -> Result<(), ConnError> {
        let name = &self.shared.info.name;
        let Some(path) = self.shared.info.log.clone() else {
            let message = if self.shared.info.journal {
                format!("session {name} logs to the journal: journalctl SESSION={name}")
            } else {
                format!("session {name} keeps no output log (log = \"none\"); berth capture {name} -S - shows its history")
            };
            return Err(ConnError::Refused(ErrorCode::BadRequest, message));
        };
        // Listening before the file is opened: nothing written in between is missed.
        let mut written = armed(&self.shared.log_written);
        let keep = self.shared.info.log_keep;
        let lines = req.lines;
        let cannot_read = |e: std::io::Error| {
            ConnError::Refused(
                ErrorCode::Internal,
                format!("cannot read the output log of session {name}: {e}"),
            )
        };
        let mut reader =
            super::blocking(move || crate::log_reader::LogReader::open(&path, keep, lines))
                .await?
                .map_err(cannot_read)?;
        loop {
            reader = send_chunks(conn, reader, cannot_read).await?;
            if !req.follow {
                return conn.reply(&Response::LogEnd).await;
            }
            tokio::select! {
                _ = &mut written => {}
                e = conn.interrupted("while following the log") => return Err(e),
            }
            written = armed(&self.shared.log_written);
        }
    }
}

impl Server {
    /// The session's recording (or the commands it marks): what is
    /// queued is written first, then the files are read on a blocking
    /// thread a chunk at a time, each sent before the next is made.
    pub(super) async fn recording(
        &self,
        conn: &mut ServerConn,
        req: &RecordingRequest,
    ) -> Result<(), ConnError> {
        let name = &self.shared.info.name;
        let Some(path) = self.shared.info.recording.clone() else {
            return Err(ConnError::Refused(
                ErrorCode::BadRequest,
                format!("session {name} is not recorded: set record = true for it (berth.toml(5)) and berth reload"),
            ));
        };
        let synced = self.shared.lock().recording.as_ref().and_then(|r| r.sync());
        if let Some(synced) = synced {
            // A writer that takes longer than this is stuck on its disk:
            // what it wrote so far is exported.
            let _ = tokio::time::timeout(crate::recording::SYNC_WAIT, synced).await;
        }
        let files = crate::recording::export::files(&path, self.shared.info.log_keep);
        let cannot_read = |e: String| {
            ConnError::Refused(
                ErrorCode::Internal,
                format!("cannot read the recording of session {name}: {e}"),
            )
        };
        if req.list {
            let req = req.clone();
            let list = super::blocking(move || crate::recording::export::commands(files, &req))
                .await?
                .map_err(|e| cannot_read(e.to_string()))?;
            return conn.reply(&Response::Commands { commands: list }).await;
        }
        let export = {
            let req = req.clone();
            super::blocking(move || crate::recording::export::Export::new(files, &req)).await?
        };
        let export = match export {
            Ok(export) => export,
            Err(e @ crate::recording::export::ExportError::NoCommands) => {
                return Err(ConnError::Refused(
                    ErrorCode::BadRequest,
                    format!("session {name}: {e}"),
                ))
            }
            Err(e) => return Err(cannot_read(e.to_string())),
        };
        send_chunks(conn, export, |e| cannot_read(e.to_string())).await?;
        conn.reply(&Response::RecordingEnd).await
    }

    /// The program's pid and what it runs (`/proc/PID/exe`), when it can be read.
    fn program_image(&self) -> Option<(u32, std::path::PathBuf)> {
        let pid = self.shared.lock().pid?;
        let exe = std::fs::read_link(format!("/proc/{pid}/exe")).ok()?;
        Some((pid, exe))
    }

    /// When the shell (`shell`: pid and image) runs another program in
    /// its own process, in the foreground: its command ends there, and a
    /// `run` waiting hears so (status 0: the exec itself succeeded).
    fn notice_exec(&self, shell: &(u32, std::path::PathBuf)) {
        let (pid, image) = shell;
        if self.shared.foreground_group() != Some(*pid as i32) {
            return;
        }
        match std::fs::read_link(format!("/proc/{pid}/exe")) {
            Ok(now) if now != *image => {}
            _ => return,
        }
        let comm = crate::session::command_name(*pid as i32)
            .unwrap_or_else(|| "another program".to_owned());
        let mut s = self.shared.lock();
        let s = &mut *s;
        if s.pid == Some(*pid) && s.shell.busy() {
            let how = format!("replaced itself with {comm} (exec); berth run works again once a shell with its marks runs");
            s.shell.ended(0, how, &mut s.term);
        }
    }
}

/// What is sent a chunk at a time (`logs`, a recording's export); empty
/// once there is nothing more for now.
pub(super) trait Chunks: Send + 'static {
    fn next_chunk(&mut self) -> std::io::Result<Vec<u8>>;
}

impl Chunks for crate::log_reader::LogReader {
    fn next_chunk(&mut self) -> std::io::Result<Vec<u8>> {
        crate::log_reader::LogReader::next_chunk(self)
    }
}

impl Chunks for crate::recording::export::Export {
    fn next_chunk(&mut self) -> std::io::Result<Vec<u8>> {
        crate::recording::export::Export::next_chunk(self)
    }
}

/// Sends `source` until it has nothing more, a chunk at a time: each
/// read off the loop (a slow disk stalls only this connection) and sent
/// before the next is read, so a client that does not read holds one
/// chunk, and no thread. Gives the source back.
async fn send_chunks<C: Chunks>(
    conn: &mut ServerConn,
    mut source: C,
    cannot_read: impl Fn(std::io::Error) -> ConnError,
) -> Result<C, ConnError> {
    loop {
        let (back, chunk) = super::blocking(move || {
            let chunk = source.next_chunk();
            (source, chunk)
        })
        .await?;
        source = back;
        let chunk = chunk.map_err(&cannot_read)?;
        if chunk.is_empty() {
            return Ok(source);
        }
        conn.send_data(&chunk).await?;
    }
}

/// `result` with at most `max` lines of output: the first half and the
/// last, and one line in between saying how many were left out.
pub(super) fn at_most(mut result: RunResult, max: Option<usize>) -> RunResult {
    let Some(max) = max else { return result };
    let lines: Vec<&str> = result.output.split_inclusive('\n').collect();
    if lines.len() <= max {
        return result;
    }
    let head = max.div_ceil(2);
    let tail = max - head;
    let left_out = lines.len() - max;
    let mut output: String = lines[..head].concat();
    output.push_str(&format!(
        "[... {left_out} lines left out: berth capture --since {} shows them all ...]\n",
        result.first_seq.saturating_sub(1)
    ));
    output.extend(lines[lines.len() - tail..].iter().copied());
    result.output = output;
    result.truncated = left_out as u64;
    result
}

/// The next `notify_waiters` on `notify`, listened for from now on: what
/// happens between this call and the await is not missed.
pub(super) fn armed(notify: &Notify) -> Pin<Box<Notified<'_>>> {
    let mut next = Box::pin(notify.notified());
    next.as_mut().enable();
    next
}

/// Resolves at `deadline`, never without one.
pub(super) async fn until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
