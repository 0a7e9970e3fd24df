//! A command's result collected after the `run` that typed it gave up
//! (`berth result`), and stopping a command (`berth interrupt`, `run
//! --interrupt-on-timeout`): C-c first, as a person would, then signals to
//! the command's own process group, never to the shell.

use std::time::Duration;

use berth_proto::scripting::{InterruptRequest, Interrupted, ResultRequest, RunResult};
use berth_proto::server::{ConnError, ServerConn};
use berth_proto::{ErrorCode, Response};
use nix::sys::signal::Signal;

use crate::recording::Typist;
use tokio::sync::oneshot;
use tokio::time::Instant;

use super::scripting::{armed, at_most, until};
use super::Server;

/// How long each step of an interrupt waits for the command to end.
pub const INTERRUPT_GRACE: Duration = Duration::from_secs(2);
/// How long an interrupted command's shell may take to draw its prompt.
const PROMPT_BACK: Duration = Duration::from_secs(5);

fn refuse(message: String) -> ConnError {
    ConnError::Refused(ErrorCode::BadRequest, message)
}

impl Server {
    /// The running command's result when it ends (within `wait_ms`), its
    /// output so far, or the last finished command's result.
    pub(super) async fn result(
        &self,
        conn: &mut ServerConn,
        req: &ResultRequest,
    ) -> Result<(), ConnError> {
        let name = &self.shared.info.name;
        // The last command's result now, or the running one's end to wait for.
        let (last, ended) = {
            let mut s = self.shared.lock();
            let s = &mut *s;
            if !s.shell.busy() {
                let last = s.shell.last_result(&mut s.term).ok_or_else(|| {
                    refuse(match s.shell.state() {
                        Some(_) => format!("session {name} has finished no command since its host started; berth run {name} -- COMMAND runs one"),
                        None => crate::shell::no_marks(name, "berth result"),
                    })
                })?;
                (Some(last), None)
            } else if req.wait_ms.is_some() {
                let (done, ended) = oneshot::channel();
                s.shell.watch(done);
                (None, Some(ended))
            } else {
                (None, None)
            }
        };
        if let Some(last) = last {
            return self.reply_result(conn, last, req.max_lines).await;
        }
        let deadline = req
            .wait_ms
            .map(|ms| Instant::now() + Duration::from_millis(ms));
        let result = match ended {
            None => None,
            Some(ended) => tokio::select! {
                r = ended => r.ok(),
                _ = until(deadline) => None,
                e = conn.interrupted("while waiting for the command") => return Err(e),
            },
        };
        let result = match result {
            Some(result) => result,
            None => {
                let mut s = self.shared.lock();
                let s = &mut *s;
                match s.shell.busy() {
                    true => s.shell.running_so_far(&mut s.term),
                    // It ended as the wait gave up.
                    false => s
                        .shell
                        .last_result(&mut s.term)
                        .unwrap_or_else(|| s.shell.running_so_far(&mut s.term)),
                }
            }
        };
        self.reply_result(conn, result, req.max_lines).await
    }

    pub(super) async fn reply_result(
        &self,
        conn: &mut ServerConn,
        result: RunResult,
        max_lines: Option<usize>,
    ) -> Result<(), ConnError> {
        let result = at_most(result, max_lines);
        conn.reply(&Response::Ran(Box::new(result))).await
    }

    /// Interrupts the running command and answers once the shell is back
    /// at its prompt, saying what it took.
    pub(super) async fn interrupt(
        &self,
        conn: &mut ServerConn,
        req: &InterruptRequest,
        who: &Typist,
    ) -> Result<(), ConnError> {
        let name = &self.shared.info.name;
        // Nothing to stop (answered with no step), or the command's end.
        let now = {
            let mut s = self.shared.lock();
            s.program_running(name).map_err(refuse)?;
            match s.shell.state() {
                None => Err(None),
                Some(state) if !s.shell.busy() => Err(Some(state.at_prompt)),
                Some(_) => {
                    let (done, ended) = oneshot::channel();
                    s.shell.watch(done);
                    Ok(ended)
                }
            }
        };
        let mut ended = match now {
            Ok(ended) => ended,
            // No marks to tell when it stopped: C-c, and say so.
            Err(None) => {
                self.type_in(vec![0x03], who)?;
                let done = Interrupted {
                    steps: vec!["typed C-c".into()],
                    result: None,
                    at_prompt: false,
                };
                return conn.reply(&Response::Interrupted(Box::new(done))).await;
            }
            Err(Some(at_prompt)) => {
                let done = Interrupted {
                    steps: Vec::new(),
                    result: None,
                    at_prompt,
                };
                return conn.reply(&Response::Interrupted(Box::new(done))).await;
            }
        };
        let grace = req.grace_ms.map_or(INTERRUPT_GRACE, Duration::from_millis);
        let stopping = self.stop_command(&mut ended, grace, who);
        let (mut result, steps) = tokio::select! {
            r = stopping => r?,
            e = conn.interrupted("while interrupting the command") => return Err(e),
        };
        let at_prompt = result.shell_exited.is_none() && self.prompt_back().await;
        result = at_most(result, req.max_lines);
        let done = Interrupted {
            steps,
            result: Some(result),
            at_prompt,
        };
        conn.reply(&Response::Interrupted(Box::new(done))).await
    }

    /// Stops the running command, whose end `ended` hears: C-c, then
    /// SIGTERM and SIGKILL to its process group, `grace` apart. The
    /// command's result and the steps it took.
    pub(super) async fn stop_command(
        &self,
        ended: &mut oneshot::Receiver<RunResult>,
        grace: Duration,
        who: &Typist,
    ) -> Result<(RunResult, Vec<String>), ConnError> {
        let name = &self.shared.info.name;
        let gone = || {
            ConnError::Refused(
                ErrorCode::Internal,
                format!("session {name} forgot the command while stopping it"),
            )
        };
        let mut steps = vec!["typed C-c".to_owned()];
        self.type_in(vec![0x03], who)?;
        if let Ok(r) = tokio::time::timeout(grace, &mut *ended).await {
            return Ok((r.map_err(|_| gone())?, steps));
        }
        for signal in [Signal::SIGTERM, Signal::SIGKILL] {
            let group = self.command_group().ok_or_else(|| {
                refuse(format!(
                    "session {name}'s command did not stop after {}, and it runs in the shell itself (a builtin or a loop), which berth does not signal; berth restart {name} restarts the shell",
                    steps.join(", ")
                ))
            })?;
            let _ = nix::sys::signal::killpg(nix::unistd::Pid::from_raw(group.0), signal);
            steps.push(format!(
                "{} to process group {} ({})",
                signal.as_str(),
                group.0,
                group.1
            ));
            if let Ok(r) = tokio::time::timeout(grace, &mut *ended).await {
                return Ok((r.map_err(|_| gone())?, steps));
            }
        }
        Err(refuse(format!(
            "session {name}'s command did not end after {} (a process stuck in the kernel ignores even SIGKILL); berth restart {name} restarts the shell",
            steps.join(", ")
        )))
    }

    /// The terminal's foreground process group and its name, when it is
    /// not the shell's own (the shell is never signalled).
    fn command_group(&self) -> Option<(i32, String)> {
        let shell = self.shared.lock().pid?;
        let group = self.shared.foreground_group()?;
        if group == shell as i32 {
            return None;
        }
        let comm = crate::session::command_name(group).unwrap_or_else(|| "?".to_owned());
        Some((group, comm))
    }

    /// Waits (at most [`PROMPT_BACK`]) for the shell to draw its prompt.
    pub(super) async fn prompt_back(&self) -> bool {
        let by = Instant::now() + PROMPT_BACK;
        loop {
            let arrived = armed(&self.shared.output_arrived);
            if self
                .shared
                .lock()
                .shell
                .state()
                .is_some_and(|s| s.at_prompt)
            {
                return true;
            }
            tokio::select! {
                _ = arrived => {}
                _ = until(Some(by)) => return false,
            }
        }
    }
}
