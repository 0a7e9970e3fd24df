//! The verbs programs use: numbered `capture --json`, `send` (`--json`,
//! `--wait`), `wait`, `run` and `logs`. Their exit codes are stable: `wait`
//! and `send --wait` exit 0 on a match, 1 on timeout, 2 on any error;
//! `run` exits with the command's status, 124 on timeout, 2 on errors.
//! (Plain `send` keeps exit 1 for errors, as every other verb.)

use std::io::Write;
use std::time::Duration;

use anyhow::{bail, Context};
use berth_proto::scripting::{LogsRequest, RunRequest, WaitRequest};
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
            verb => return matches!(verb, "wait" | "run"),
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

/// Waits never end by the socket's own timeout: the host answers in time.
fn unhurried(s: &Session) -> anyhow::Result<()> {
    s.stream().set_read_timeout(None)?;
    Ok(())
}

pub fn capture(name: &str, mut s: Session, req: &CaptureRequest, json: bool) -> anyhow::Result<u8> {
    let captured = s.capture(req).map_err(|e| request_error(name, e))?;
    let mut out = std::io::stdout().lock();
    if json {
        let text = String::from_utf8_lossy(&captured.text);
        let info = captured
            .info
            .context("the session's host is older than this berth and sends no line numbers; restart it (berth restart)")?;
        let lines: Vec<_> = text
            .lines()
            .zip(info.seqs.iter().zip(&info.wrapped))
            .map(|(text, (seq, wrapped))| json!({ "seq": seq, "text": text, "wrapped": wrapped }))
            .collect();
        let mut value = json!({
            "session": s.session,
            "size": info.size,
            "cursor": info.cursor,
            "alternate_screen": info.alternate_screen,
            "first_seq": info.first_seq,
            "lines": lines,
        });
        if req.since.is_some() {
            value["missed"] = json!(info.missed);
        }
        writeln!(out, "{value}")?;
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
    pub literal: bool,
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
        unhurried(&s)?;
    }
    match s
        .send_keys(a.keys, a.literal, wait)
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
    unhurried(&s)?;
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

pub fn run(
    name: &str,
    mut s: Session,
    command: Vec<String>,
    timeout: Option<Duration>,
    max_lines: Option<usize>,
    json: bool,
) -> anyhow::Result<u8> {
    unhurried(&s)?;
    let req = RunRequest {
        command: command_line(&command)?,
        timeout_ms: millis(timeout),
        max_lines,
    };
    let result = s.run(req).map_err(|e| request_error(name, e))?;
    if result.missed > 0 {
        eprintln!(
            "berth: the first {} lines of output left history before the command ended (raise scrollback)",
            result.missed
        );
    }
    let mut out = std::io::stdout().lock();
    if json {
        writeln!(out, "{}", serde_json::to_string(&result)?)?;
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
        eprintln!(
            "berth: the command is still running in session {name} after {}; it was not stopped",
            berth_config::values::format_duration(timeout.unwrap_or_default())
        );
        return Ok(RUN_TIMED_OUT);
    }
    Ok(result.status.clamp(0, 255) as u8)
}

/// One argument is a command line, typed as it is; several are words,
/// each quoted for the shell so that it sees exactly those words (as
/// `systemd-run` and `docker exec` keep argv).
fn command_line(words: &[String]) -> anyhow::Result<String> {
    match words {
        [line] => Ok(line.clone()),
        words => shlex::try_join(words.iter().map(String::as_str)).map_err(|_| {
            anyhow::anyhow!("a word of the command holds a NUL byte, which no shell can be given")
        }),
    }
}

pub fn logs(
    name: &str,
    mut s: Session,
    follow: bool,
    plain: bool,
    lines: Option<usize>,
) -> anyhow::Result<u8> {
    unhurried(&s)?;
    let stdout = std::io::stdout();
    let mut raw = stdout.lock();
    let mut stripped = strip_ansi_escapes::Writer::new(std::io::stdout().lock());
    let req = LogsRequest { lines, follow };
    s.logs(req, |bytes| {
        if plain {
            stripped.write_all(bytes)?;
            stripped.flush()
        } else {
            raw.write_all(bytes)?;
            raw.flush()
        }
    })
    .map_err(|e| request_error(name, e))?;
    Ok(0)
}
