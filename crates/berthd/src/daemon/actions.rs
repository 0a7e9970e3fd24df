//! What can be done to one session, and how: each action either finishes
//! at once on the loop or starts a task whose result comes back as a
//! [`Msg`]. A session's actions run one at a time, in order; whoever asked
//! is answered when its action is done.

use berth_config::model::Session;
use berth_proto::{ErrorCode, Request, Response};
use tokio::time::Instant;

use super::{reply, retry_delay, Busy, Daemon, Done, Msg};
use crate::backend::{Backend, Host, Started};

pub enum Action {
    /// Start the host if it is not running (and clear `stopped`).
    StartHost,
    /// Stop the host; `forget`: stop managing the session then.
    StopHost { forget: bool },
    /// `berth stop`: the host stops its program, keeping its screen; with
    /// no host running, the session is simply not started again.
    StopProgram,
    /// `berth start`: the host starts its program; with no host running,
    /// the host is started now.
    StartProgram,
    /// The running host takes new program settings (the screen stays).
    Reconfigure {
        session: Box<Session>,
        args: Vec<String>,
    },
    /// Settings for the next start of the host.
    Update {
        session: Box<Session>,
        args: Vec<String>,
    },
}

fn failed(message: String) -> Response {
    Response::Error {
        code: ErrorCode::Internal,
        message,
    }
}

impl<B: Backend> Daemon<B> {
    /// Queues `action` for `name` and runs what can run now.
    pub(super) fn act(&mut self, name: &str, action: Action, done: Option<Done>) {
        match self.managed.get_mut(name) {
            Some(m) => m.queue.push_back((action, done)),
            None => return reply(done, self.no_such(name)),
        }
        self.pump(name);
    }

    /// Runs `name`'s queued actions until one has to wait for a task.
    fn pump(&mut self, name: &str) {
        loop {
            let Some(m) = self.managed.get_mut(name) else {
                return;
            };
            if m.busy.is_some() {
                return;
            }
            let Some((action, done)) = m.queue.pop_front() else {
                return;
            };
            match action {
                Action::StartHost => {
                    m.stopped = false;
                    m.retry_at = None;
                    if m.host.is_some() {
                        reply(done, Response::Ok);
                    } else {
                        self.begin_start(name, done);
                    }
                }
                Action::StopHost { forget } => {
                    m.retry_at = None;
                    match m.host.take() {
                        Some(host) => self.begin_stop(name, host, forget, done),
                        None => {
                            if forget {
                                self.unmanage(name);
                            }
                            reply(done, Response::Ok);
                        }
                    }
                }
                Action::StopProgram if m.host.is_none() => {
                    m.stopped = true;
                    m.retry_at = None;
                    reply(done, Response::Ok);
                }
                Action::StopProgram => self.forward(name, Request::Stop, done),
                Action::StartProgram if m.host.is_none() => {
                    m.stopped = false;
                    m.failures = 0;
                    m.retry_at = None;
                    self.begin_start(name, done);
                }
                Action::StartProgram => self.forward(name, Request::Start, done),
                Action::Reconfigure { .. } if m.host.is_none() => {
                    reply(done, failed("its host is not running".into()));
                }
                Action::Reconfigure { session, args } => {
                    self.begin_reconfigure(name, session, args, done)
                }
                Action::Update { session, args } => {
                    m.session = *session;
                    m.record.args = args;
                    reply(done, Response::Ok);
                }
            }
        }
    }

    fn begin_start(&mut self, name: &str, done: Option<Done>) {
        let m = self.managed.get_mut(name).expect("pumped");
        m.busy = Some(Busy::Starting);
        let (session, args, adhoc) = (m.session.clone(), m.record.args.clone(), m.record.adhoc);
        let leftover = m.leftover.take();
        let creating = m.creating;
        let backend = std::sync::Arc::clone(&self.backend);
        let (tx, mode, name) = (self.tx.clone(), self.mode, name.to_owned());
        tokio::spawn(async move {
            if let Some(program) = leftover {
                backend.sweep(name.clone(), program).await;
            }
            let result = match creating {
                true => super::verbs::first_start(&*backend, mode, session, args).await,
                false => backend.start(session, args, adhoc).await,
            };
            let _ = tx.send(Msg::Started { name, result, done });
        });
    }

    pub(super) fn started(
        &mut self,
        name: &str,
        result: anyhow::Result<Started>,
        done: Option<Done>,
    ) {
        let Some(m) = self.managed.get_mut(name) else {
            return;
        };
        m.busy = None;
        match result {
            Ok(Started { record, child }) => {
                tracing::info!(session = %name, host_pid = record.host_pid, "started session host");
                m.host = Some(Host {
                    pid: record.host_pid,
                    child,
                });
                m.record = record;
                m.started_at = Instant::now();
                m.creating = false;
                reply(done, Response::Ok);
            }
            Err(e) if m.creating => {
                tracing::error!(session = %name, "berth new failed: {e:#}");
                self.unmanage(name);
                let message =
                    format!("failed to start session {name:?}: {e:#}; nothing was left behind");
                return reply(done, failed(message));
            }
            Err(e) => {
                m.failures += 1;
                let delay = retry_delay(m.failures);
                tracing::error!(session = %name, "{e:#}; trying again in {delay:?}");
                m.retry_at = Some(Instant::now() + delay);
                let message = format!(
                    "failed to start session {name:?}: {e:#}; berthd tries again in {}",
                    berth_config::values::format_duration(delay)
                );
                reply(done, failed(message));
            }
        }
        self.pump(name);
    }

    fn begin_stop(&mut self, name: &str, host: Host, forget: bool, done: Option<Done>) {
        let m = self.managed.get_mut(name).expect("pumped");
        m.busy = Some(Busy::Stopping);
        m.record.host_pid = 0;
        let program = self.watcher.last_program(name);
        let backend = std::sync::Arc::clone(&self.backend);
        let (tx, name) = (self.tx.clone(), name.to_owned());
        tokio::spawn(async move {
            let pid = host.pid;
            let result = backend.stop(name.clone(), host, program).await;
            let _ = tx.send(Msg::Stopped {
                name,
                pid,
                result,
                forget,
                done,
            });
        });
    }

    pub(super) fn stopped(
        &mut self,
        name: &str,
        pid: u32,
        result: Result<(), String>,
        forget: bool,
        done: Option<Done>,
    ) {
        let Some(m) = self.managed.get_mut(name) else {
            return;
        };
        m.busy = None;
        match result {
            Ok(()) if forget => {
                self.unmanage(name);
                reply(done, Response::Ok);
            }
            Ok(()) => {
                reply(done, Response::Ok);
                self.pump(name);
            }
            Err(message) => {
                tracing::error!(session = %name, "{message}");
                // Still running: what was to follow the stop fails with it.
                m.host = Some(Host { pid, child: None });
                m.record.host_pid = pid;
                for (_, waiting) in std::mem::take(&mut m.queue) {
                    reply(waiting, failed(message.clone()));
                }
                reply(done, failed(message));
            }
        }
    }

    fn begin_reconfigure(
        &mut self,
        name: &str,
        session: Box<Session>,
        args: Vec<String>,
        done: Option<Done>,
    ) {
        let m = self.managed.get_mut(name).expect("pumped");
        m.busy = Some(Busy::Reconfiguring);
        let socket = self.backend.socket(name);
        let (tx, name) = (self.tx.clone(), name.to_owned());
        tokio::spawn(async move {
            let request = Request::Reconfigure { args: args.clone() };
            let result = match crate::status::request(&socket, &request).await {
                Ok(Response::Error { message, .. }) => Err(message),
                Ok(_) => Ok(()),
                Err(e) => Err(format!("{e:#}")),
            };
            let _ = tx.send(Msg::Reconfigured {
                name,
                session,
                args,
                result,
                done,
            });
        });
    }

    pub(super) fn reconfigured(
        &mut self,
        name: &str,
        session: Session,
        args: Vec<String>,
        result: Result<(), String>,
        done: Option<Done>,
    ) {
        let Some(m) = self.managed.get_mut(name) else {
            return;
        };
        m.busy = None;
        match result {
            Ok(()) => {
                m.session = session;
                m.record.args = args;
                if let Err(e) = self.backend.save(name, &m.record) {
                    tracing::warn!(session = %name, "{e:#}");
                }
                tracing::info!(session = %name, "program settings changed; restarted inside the running host");
                reply(done, Response::Ok);
            }
            Err(message) => reply(done, failed(message)),
        }
        self.pump(name);
    }

    /// Passes a request on to a session's host (berthd is root or the
    /// sessions' own user, so the host lets it; the caller was checked).
    /// Answered from a task: a stop waits for the program to end.
    fn forward(&self, name: &str, req: Request, done: Option<Done>) {
        let socket = self.backend.socket(name);
        let name = name.to_owned();
        tokio::spawn(async move {
            let response = match crate::status::request(&socket, &req).await {
                Ok(response) => response,
                Err(e) => failed(format!("session {name:?} did not answer: {e:#}")),
            };
            reply(done, response);
        });
    }
}
