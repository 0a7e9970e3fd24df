//! What each tool does, on the same sockets and with the same requests as
//! the CLI's verbs: the host checks the caller against its access lists
//! as for any client, so `berth mcp` adds nothing to trust. Each call runs
//! on a blocking thread with its own connection, and waits no longer than
//! it asked the host to, plus the CLI's own margin (`ANSWER_MARGIN`).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::anyhow;
use berth_proto::keys::Typing;
use berth_proto::scripting::{
    InterruptRequest, Interrupted, LogsRequest, ResultRequest, RunRequest, WaitRequest,
};
use berth_proto::sync::{Sent, Waited};
use berth_proto::{CaptureRequest, DaemonRequest, LineBound, Request, Response, Status};

use super::shapes::{self, CommandOutcome, Done, LogText, Typed, WaitOutcome};
use crate::connect::{request_error, Session};
use crate::remote::Remote;
use crate::scripting::{CaptureView, ANSWER_MARGIN};

/// The sessions this server serves and where to find them.
#[derive(Debug, Clone)]
pub struct Scope {
    pub runtime: Option<PathBuf>,
    /// `--sessions`: only these (names or globs); empty: every session.
    pub only: Vec<glob::Pattern>,
    /// The host a call goes to (`None`: this one); see [`Scope::on`].
    pub remote: Option<&'static Remote>,
}

impl Scope {
    /// This scope on `host` (a label, URL or destination of one of the
    /// hosts `berth mcp -H` serves); without one, the one host served. A
    /// host not given to `berth mcp` is not reached: an agent cannot make
    /// it ssh anywhere else.
    pub fn on(&self, host: Option<&str>) -> Result<Scope, String> {
        let served = crate::remote::hosts();
        let names = || {
            served
                .iter()
                .map(|r| r.label.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let remote = match (host, served) {
            (None, []) => None,
            (None, [one]) => Some(one),
            (None, _) => {
                return Err(format!(
                    "say which host: this server serves {} (the host of each session is in list_sessions)",
                    names()
                ))
            }
            (Some(h), _) => match served
                .iter()
                .find(|r| r.label == h || r.url == h || r.destination == h)
            {
                Some(r) => Some(r),
                None if served.is_empty() => {
                    return Err(format!(
                        "no host {h:?}: this server serves this host's sessions only (leave host out)"
                    ))
                }
                None => return Err(format!("no host {h:?}: this server serves {}", names())),
            },
        };
        Ok(Scope {
            remote,
            ..self.clone()
        })
    }

    fn serves(&self, name: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|p| p.matches(name))
    }

    /// A connection to `name`, waiting at most `wait` (plus [`ANSWER_MARGIN`])
    /// for each answer. A session outside `--sessions` does not exist here.
    fn open(&self, name: &str, wait: Duration) -> anyhow::Result<Session> {
        if !self.serves(name) {
            return Err(anyhow!("{}", berth_config::values::no_session(name, &[])));
        }
        let s = match self.remote {
            Some(remote) => crate::connect::connect_remote(remote, name)?,
            None => crate::commands::open(name, None, self.runtime.as_deref())?,
        };
        s.stream().set_read_timeout(Some(wait + ANSWER_MARGIN))?;
        Ok(s)
    }

    /// berthd's answer to `req`, on this scope's host.
    fn daemon(&self, req: DaemonRequest) -> anyhow::Result<Response> {
        crate::commands::daemon_at(self.remote, self.runtime.as_deref(), req)
    }

    /// Sessions the caller may read, within `--sessions`: on every host
    /// served (each with its host; one that cannot be asked fails the call).
    pub fn list(&self) -> anyhow::Result<shapes::Sessions> {
        let served = crate::remote::hosts();
        let mut found = Vec::new();
        if served.is_empty() {
            let (rows, _) = crate::commands::session_rows(self.runtime.as_deref())?;
            found.extend(rows.into_iter().map(|r| (None, r)));
        }
        for (remote, rows) in crate::fleet::sessions_everywhere() {
            let rows = rows.map_err(|e| anyhow!("{}: {e:#}", remote.label))?;
            found.extend(rows.into_iter().map(|r| (Some(remote.label.clone()), r)));
        }
        let sessions = found
            .into_iter()
            .filter(|(_, r)| r.state != "denied" && self.serves(&r.name))
            .map(|(host, session)| shapes::Listed { session, host })
            .collect();
        Ok(shapes::Sessions { sessions })
    }

    pub fn status(&self, name: &str) -> anyhow::Result<Status> {
        let mut s = self.open(name, Duration::ZERO)?;
        s.status().map_err(|e| request_error(name, e))
    }

    pub fn run(
        &self,
        name: &str,
        command: String,
        timeout: Duration,
        max_lines: usize,
        interrupt_on_timeout: bool,
    ) -> anyhow::Result<CommandOutcome> {
        let stopping = crate::scripting::stopping_allowance(interrupt_on_timeout);
        let mut s = self.open(name, timeout + stopping)?;
        let req = RunRequest {
            command,
            timeout_ms: Some(timeout.as_millis() as u64),
            max_lines: Some(max_lines),
            interrupt_on_timeout,
            ..Default::default()
        };
        let result = s.run(req).map_err(|e| request_error(name, e))?;
        Ok(result.into())
    }

    pub fn result(
        &self,
        name: &str,
        wait: Duration,
        max_lines: usize,
    ) -> anyhow::Result<CommandOutcome> {
        let mut s = self.open(name, wait)?;
        let req = ResultRequest {
            wait_ms: (!wait.is_zero()).then_some(wait.as_millis() as u64),
            max_lines: Some(max_lines),
        };
        let result = s.result(req).map_err(|e| request_error(name, e))?;
        Ok(result.into())
    }

    pub fn send(&self, name: &str, keys: Vec<String>, typing: Typing) -> anyhow::Result<Typed> {
        let mut s = self.open(name, Duration::ZERO)?;
        match s
            .send_keys(keys, typing, None)
            .map_err(|e| request_error(name, e))?
        {
            Sent::At(seq) => Ok(Typed { seq }),
            Sent::Waited(_) => Err(anyhow!("session {name:?} answered a wait no one asked for")),
        }
    }

    pub fn capture(
        &self,
        name: &str,
        req: CaptureRequest,
        max_lines: usize,
    ) -> anyhow::Result<CaptureView> {
        let mut s = self.open(name, Duration::ZERO)?;
        let captured = s.capture(&req).map_err(|e| request_error(name, e))?;
        let mut view = CaptureView::new(name, captured, req.since.is_some())?;
        let extra = view.lines.len().saturating_sub(max_lines);
        if extra > 0 {
            view.lines.drain(..extra);
            view.truncated = Some(extra as u64);
        }
        Ok(view)
    }

    pub fn wait(&self, name: &str, req: WaitRequest) -> anyhow::Result<WaitOutcome> {
        let wait = Duration::from_millis(req.timeout_ms.unwrap_or(0));
        let mut s = self.open(name, wait)?;
        Ok(match s.wait(req).map_err(|e| request_error(name, e))? {
            Waited::Matched { seq, text } => WaitOutcome {
                matched: true,
                seq,
                text: Some(text),
            },
            Waited::TimedOut { seq } => WaitOutcome {
                matched: false,
                seq,
                text: None,
            },
        })
    }

    pub fn interrupt(&self, name: &str, grace: Duration) -> anyhow::Result<Interrupted> {
        let mut s = self.open(name, crate::scripting::interrupt_wait(grace))?;
        let req = InterruptRequest {
            grace_ms: Some(grace.as_millis() as u64),
            max_lines: Some(shapes::DEFAULT_MAX_LINES),
        };
        s.interrupt(req).map_err(|e| request_error(name, e))
    }

    /// The last `lines` lines of the output log, escapes removed, at most
    /// [`shapes::MAX_LOG_BYTES`] of them (the end).
    pub fn logs(&self, name: &str, lines: usize) -> anyhow::Result<LogText> {
        let mut s = self.open(name, Duration::ZERO)?;
        let mut bytes = Vec::new();
        let mut dropped = 0u64;
        let req = LogsRequest {
            lines: Some(lines),
            follow: false,
        };
        s.logs(req, |chunk| {
            bytes.extend_from_slice(chunk);
            if bytes.len() > 2 * shapes::MAX_LOG_BYTES {
                let cut = bytes.len() - shapes::MAX_LOG_BYTES;
                bytes.drain(..cut);
                dropped += cut as u64;
            }
            Ok(())
        })
        .map_err(|e| request_error(name, e))?;
        let cut = bytes.len().saturating_sub(shapes::MAX_LOG_BYTES);
        bytes.drain(..cut);
        dropped += cut as u64;
        let mut shown = berth_log::shown::Lines::default();
        let mut lines = shown.feed(&bytes);
        lines.extend(shown.finish());
        let text = lines.iter().map(|l| format!("{l}\n")).collect();
        Ok(LogText {
            session: name.to_owned(),
            text,
            truncated_bytes: dropped,
        })
    }

    pub fn new_session(
        &self,
        name: String,
        command: Vec<String>,
        user: Option<String>,
    ) -> anyhow::Result<Done> {
        if !self.serves(&name) {
            return Err(anyhow!(
                "session {name:?} is outside the sessions this server serves (--sessions)"
            ));
        }
        let req = DaemonRequest::New {
            name: name.clone(),
            user,
            command,
        };
        self.daemon(req)?;
        Ok(done(name, "created"))
    }

    pub fn kill(&self, name: String) -> anyhow::Result<Done> {
        if !self.serves(&name) {
            return Err(anyhow!("{}", berth_config::values::no_session(&name, &[])));
        }
        let req = DaemonRequest::Kill { name: name.clone() };
        self.daemon(req)?;
        Ok(done(name, "killed"))
    }

    pub fn restart(&self, name: String) -> anyhow::Result<Done> {
        let mut s = self.open(&name, Duration::ZERO)?;
        match s
            .call(&Request::Restart)
            .map_err(|e| request_error(&name, e))?
        {
            Response::Ok => Ok(done(name, "restarted")),
            other => Err(anyhow!(
                "unexpected answer from session {name:?}: {other:?}"
            )),
        }
    }
}

fn done(session: String, what: &str) -> Done {
    Done {
        session,
        done: what.to_owned(),
    }
}

/// A capture's bounds in tmux numbering.
pub fn bounds(start: Option<i64>, end: Option<i64>, since: Option<u64>) -> CaptureRequest {
    CaptureRequest {
        start: start.map(LineBound::Line),
        end: end.map(LineBound::Line),
        join: true,
        since,
        ..Default::default()
    }
}
