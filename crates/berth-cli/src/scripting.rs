//! The verbs programs use: numbered `capture --json`, `send` (`--json`,
//! `--wait`), `wait`, `run`, `result`, `interrupt` and `logs`. Their exit
//! codes are stable: `wait` and `send --wait` exit 0 on a match, 1 on
//! timeout, 2 on any error; `run` and `result` exit with the command's
//! status, 124 on timeout (still running), 2 on errors; `interrupt` 0 once
//! the prompt is back, 1 when it did not come back, 2 on errors. (Plain
//! `send` keeps exit 1 for errors, as every other verb.)

use std::io::Write;
use std::time::Duration;

use anyhow::{bail, Context};
use berth_proto::scripting::{
    InterruptRequest, LogsRequest, ResultRequest, RunRequest, RunResult, WaitRequest,
};
use berth_proto::sync::{Sent, Waited};
use berth_proto::CaptureRequest;
use serde_json::json;

use crate::connect::{request_error, Session};

/// Exit status of a scripting verb that failed (no such session, no
/// permission, bad pattern, bad arguments).
pub const ERROR: u8 = 2;
/// `run`: the command did not end in time (as timeout(1)).
const RUN_TIMED_OUT: u8 = 124;

/// Whether the command line's verb is one whose errors exit [`ERROR`].
pub fn verb_in(args: impl Iterator<Item = String>) -> bool {
    let mut args = args.skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--socket" | "--runtime-dir" => {
                args.next();
            }
            _ if a.starts_with('-') => {}
            verb => return matches!(verb, "wait" | "run" | "result" | "interrupt"),
        }
    }
    false
}

/// Runs a scripting verb: its errors are one line on stderr and exit [`ERROR`].
pub fn guarded(verb: impl FnOnce() -> anyhow::Result<u8>) -> anyhow::Result<u8> {
    verb().or_else(|e| {
        eprintln!("berth: {e:#}");
        Ok(ERROR)
    })
}

fn millis(d: Option<Duration>) -> Option<u64> {
    d.map(|d| d.as_millis() as u64)
}

/// How long past the wait it asked the host for a verb waits for the
/// answer: a host that stopped (SIGSTOP, a hung disk) is not waited for
/// forever.
pub const ANSWER_MARGIN: Duration = Duration::from_secs(30);

/// What stopping a command at a timeout adds to the wait for its answer:
/// three steps of 2 s (C-c, SIGTERM, SIGKILL) and the prompt's return.
pub fn stopping_allowance(interrupt_on_timeout: bool) -> Duration {
    Duration::from_secs(if interrupt_on_timeout { 15 } else { 0 })
}

/// How long `interrupt` may take with `grace` between its steps: three
/// steps and the prompt's return.
pub fn interrupt_wait(grace: Duration) -> Duration {
    grace * 3 + Duration::from_secs(5)
}

/// A verb that waits `wait` for its answer (`None`: as long as the caller
/// asked, no deadline) then [`ANSWER_MARGIN`] more.
fn unhurried(s: &Session, wait: Option<Duration>) -> anyhow::Result<()> {
    s.stream()
        .set_read_timeout(wait.map(|w| w + ANSWER_MARGIN))?;
    Ok(())
}

/// `capture --json`: one object, the same for `berth mcp`'s capture tool.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct CaptureView {
    pub session: String,
    pub size: berth_proto::Size,
    pub cursor: berth_proto::scripting::Cursor,
    pub alternate_screen: bool,
    /// The oldest line still in history.
    pub first_seq: u64,
    pub lines: Vec<CapturedLine>,
    /// With `since`: lines asked for that have already left history.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub missed: Option<u64>,
    /// Lines left out at the start to keep at most the number asked for
    /// (`berth mcp`'s `max_lines`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub truncated: Option<u64>,
}

/// One line of a capture: its number, its text, whether it wraps on.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct CapturedLine {
    pub seq: u64,
    pub text: String,
    pub wrapped: bool,
}

impl CaptureView {
    pub fn new(
        session: &str,
        captured: berth_proto::sync::Captured,
        since: bool,
    ) -> anyhow::Result<Self> {
        let info = captured
            .info
            .context("the session's host is older than this berth and sends no line numbers; restart it (berth restart)")?;
        let text = String::from_utf8_lossy(&captured.text);
        let lines = text
            .lines()
            .zip(info.seqs.iter().zip(&info.wrapped))
            .map(|(text, (seq, wrapped))| CapturedLine {
                seq: *seq,
                text: text.to_owned(),
                wrapped: *wrapped,
            })
            .collect();
        Ok(Self {
            session: session.to_owned(),
            size: info.size,
            cursor: info.cursor,
            alternate_screen: info.alternate_screen,
            first_seq: info.first_seq,
            lines,
            missed: since.then_some(info.missed),
            truncated: None,
        })
    }
}

pub fn capture(name: &str, mut s: Session, req: &CaptureRequest, json: bool) -> anyhow::Result<u8> {
    let captured = s.capture(req).map_err(|e| request_error(name, e))?;
    let mut out = std::io::stdout().lock();
    if json {
        let view = CaptureView::new(&s.session, captured, req.since.is_some())?;
        writeln!(out, "{}", serde_json::to_string(&view)?)?;
    } else {
        if let Some(missed) = captured.info.as_ref().map(|i| i.missed).filter(|m| *m > 0) {
            eprintln!("berth: {missed} lines after --since have already left history");
        }
        out.write_all(&captured.text)?;
    }
    out.flush().context("failed to write the capture")?;
    Ok(0)
}

pub struct SendArgs {
    pub keys: Vec<String>,
    pub typing: berth_proto::keys::Typing,
    pub json: bool,
    pub wait: Option<String>,
    pub timeout: Option<Duration>,
}

pub fn send(name: &str, mut s: Session, a: SendArgs) -> anyhow::Result<u8> {
    let size: usize = a.keys.iter().map(String::len).sum();
    let limit = berth_proto::MAX_FRAME_LEN / 2;
    if size > limit {
        bail!("input too large: {size} bytes in one send; send at most {limit} bytes at a time");
    }
    let wait = a.wait.map(|pattern| WaitRequest {
        pattern,
        timeout_ms: millis(a.timeout),
        ..Default::default()
    });
    if wait.is_some() {
        unhurried(&s, a.timeout)?;
    }
    match s
        .send_keys(a.keys, a.typing, wait)
        .map_err(|e| request_error(name, e))?
    {
        Sent::At(seq) => {
            if a.json {
                println!("{}", json!({ "seq": seq }));
            }
            Ok(0)
        }
        Sent::Waited(w) => Ok(report_wait(name, &w, a.json)),
    }
}

pub struct WaitArgs {
    pub pattern: String,
    pub timeout: Option<Duration>,
    pub since: Option<u64>,
    pub screen: bool,
    pub json: bool,
}

pub fn wait(name: &str, mut s: Session, a: WaitArgs) -> anyhow::Result<u8> {
    unhurried(&s, a.timeout)?;
    let req = WaitRequest {
        pattern: a.pattern,
        since: a.since,
        screen: a.screen,
        timeout_ms: millis(a.timeout),
    };
    let waited = s.wait(req).map_err(|e| request_error(name, e))?;
    Ok(report_wait(name, &waited, a.json))
}

fn report_wait(name: &str, w: &Waited, json: bool) -> u8 {
    match (w, json) {
        (Waited::Matched { seq, text }, true) => {
            println!("{}", json!({ "matched": true, "seq": seq, "text": text }));
            0
        }
        (Waited::Matched { text, .. }, false) => {
            println!("{text}");
            0
        }
        (Waited::TimedOut { seq }, true) => {
            println!("{}", json!({ "matched": false, "seq": seq }));
            1
        }
        (Waited::TimedOut { .. }, false) => {
            eprintln!("berth: nothing matched in session {name} before the timeout");
            1
        }
    }
}

pub struct RunArgs {
    pub command: Vec<String>,
    pub timeout: Option<Duration>,
    pub interrupt_on_timeout: bool,
    pub max_lines: Option<usize>,
    pub json: bool,
}

pub fn run(name: &str, mut s: Session, a: RunArgs) -> anyhow::Result<u8> {
    let stopping = stopping_allowance(a.interrupt_on_timeout);
    unhurried(&s, a.timeout.map(|t| t + stopping))?;
    // One argument is a command line, typed as it is; several are words,
    // which the host quotes for its shell (as systemd-run and docker exec
    // keep argv).
    let (command, words) = match &a.command[..] {
        [line] => (line.clone(), Vec::new()),
        words => (String::new(), words.to_vec()),
    };
    let req = RunRequest {
        command,
        words,
        timeout_ms: millis(a.timeout),
        max_lines: a.max_lines,
        interrupt_on_timeout: a.interrupt_on_timeout,
    };
    let result = s.run(req).map_err(|e| request_error(name, e))?;
    let after = a.timeout.map(berth_config::values::format_duration);
    print_result(name, &result, a.json, after.as_deref())
}

/// `berth result`: the running command's result (waiting up to `wait`),
/// or the last finished one's.
pub fn result(
    name: &str,
    mut s: Session,
    wait: Option<Duration>,
    max_lines: Option<usize>,
    json: bool,
) -> anyhow::Result<u8> {
    unhurried(&s, Some(wait.unwrap_or_default()))?;
    let req = ResultRequest {
        wait_ms: millis(wait),
        max_lines,
    };
    let result = s.result(req).map_err(|e| request_error(name, e))?;
    let after = wait.map(berth_config::values::format_duration);
    print_result(name, &result, json, after.as_deref())
}

/// Prints a command's result (its output, or the --json object) and
/// gives the exit status that tells it: the command's, 124 while it runs.
/// `after`: how long the caller waited, for the line saying it still runs.
fn print_result(
    name: &str,
    result: &RunResult,
    json: bool,
    after: Option<&str>,
) -> anyhow::Result<u8> {
    if result.missed > 0 {
        eprintln!(
            "berth: the first {} lines of output left history before the command ended (raise scrollback)",
            result.missed
        );
    }
    let mut out = std::io::stdout().lock();
    if json {
        writeln!(out, "{}", serde_json::to_string(result)?)?;
    } else {
        out.write_all(result.output.as_bytes())?;
        if !result.output.is_empty() && !result.output.ends_with('\n') {
            out.write_all(b"\n")?;
        }
    }
    out.flush()?;
    if let Some(how) = &result.shell_exited {
        eprintln!("berth: the shell of session {name} ended during the command ({how})");
    }
    if result.timed_out {
        let after = after.map(|a| format!(" after {a}")).unwrap_or_default();
        match result.interrupted.is_empty() {
            true => eprintln!(
                "berth: the command is still running in session {name}{after}; it was not stopped (berth result {name} --wait DUR collects its result)"
            ),
            false => eprintln!(
                "berth: the command did not end in session {name}{after}; stopped it ({}), it ended with status {}",
                result.interrupted.join(", "),
                result.status
            ),
        }
        return Ok(RUN_TIMED_OUT);
    }
    Ok(result.status.clamp(0, 255) as u8)
}

/// `berth interrupt`: what it took, and whether the prompt is back.
pub fn interrupt(
    name: &str,
    mut s: Session,
    grace: Duration,
    max_lines: Option<usize>,
    json: bool,
) -> anyhow::Result<u8> {
    unhurried(&s, Some(interrupt_wait(grace)))?;
    let req = InterruptRequest {
        grace_ms: millis(Some(grace)),
        max_lines,
    };
    let done = s.interrupt(req).map_err(|e| request_error(name, e))?;
    if json {
        println!("{}", serde_json::to_string(&done)?);
    }
    let steps = done.steps.join(", then ");
    let line = match &done.result {
        None if done.steps.is_empty() => {
            format!("session {name} is running no command; nothing was done")
        }
        None => format!(
            "{steps} in session {name}; it shows no shell integration marks, so berth cannot tell whether its program stopped"
        ),
        Some(r) => {
            let what = r.command.as_deref().map(|c| format!(" ({c})")).unwrap_or_default();
            match (&r.shell_exited, done.at_prompt) {
                (Some(how), _) => format!("{steps}: the shell of session {name} ended ({how})"),
                (None, true) => format!(
                    "{steps}: the command{what} ended with status {}; session {name} is at its prompt",
                    r.status
                ),
                (None, false) => format!(
                    "{steps}: the command{what} ended with status {}, but session {name} drew no prompt within 5s",
                    r.status
                ),
            }
        }
    };
    if !json {
        println!("{line}");
    }
    // Not back at a prompt: exit 1, as a wait that timed out.
    let back = match &done.result {
        None => true,
        Some(r) => r.shell_exited.is_none() && done.at_prompt,
    };
    Ok(if back { 0 } else { 1 })
}

pub fn logs(
    name: &str,
    mut s: Session,
    follow: bool,
    plain: bool,
    lines: Option<usize>,
) -> anyhow::Result<u8> {
    // Following has no end; a log that is not followed comes at once.
    unhurried(&s, (!follow).then_some(Duration::ZERO))?;
    let mut out = std::io::stdout().lock();
    // --plain: each line as the terminal finally showed it.
    let mut shown = berth_log::shown::Lines::default();
    let req = LogsRequest { lines, follow };
    s.logs(req, |bytes| {
        if plain {
            for line in shown.feed(bytes) {
                writeln!(out, "{line}")?;
            }
        } else {
            out.write_all(bytes)?;
        }
        out.flush()
    })
    .map_err(|e| request_error(name, e))?;
    if let Some(last) = shown.finish().filter(|_| plain) {
        writeln!(out, "{last}")?;
    }
    Ok(0)
}
