//! berthd's state and the one loop that changes it: keep the running
//! sessions equal to the wanted ones, restart hosts that die, answer
//! control requests.
//!
//! The loop never waits on anything slow. Work that may take time
//! (starting a host, which may run `useradd` or talk to systemd; stopping
//! one, which waits for its program; asking a host) runs in a task and
//! reports back with a [`Msg`]; requests that wait for such work are
//! answered when it is done, while `ls` and every other session are served
//! meanwhile. Each session's actions run one at a time, in the order they
//! were asked for (`actions.rs`).

mod actions;
mod listing;
mod reload;
#[cfg(test)]
mod tests;
mod verbs;

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use berth_config::model::{Config, Session};
use berth_config::paths::Mode;
use berth_proto::Response;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

pub use actions::Action;
pub use reload::Handle;

use crate::backend::{Backend, Host, Program, Started};
use crate::control::Job;
use crate::records::Record;

/// A host that dies is started again after this, doubling to a minute.
const HOST_RETRY: Duration = Duration::from_millis(500);
const HOST_RETRY_MAX: Duration = Duration::from_secs(60);
/// A host that ran this long is healthy again: its retry backoff resets.
const HOST_STABLE: Duration = Duration::from_secs(60);
/// How soon after a change systemd's STATUS= is brought up to date (so
/// a burst of changes is one update), and how often while a countdown to
/// a retry runs. Nothing changing, nothing is done.
const STATUS_EVERY: Duration = Duration::from_secs(2);

/// Where an action's answer goes.
pub type Done = oneshot::Sender<Response>;

/// What an action in flight is doing (at most one per session).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Busy {
    Starting,
    Stopping,
    Reconfiguring,
}

struct Managed {
    session: Session,
    /// What the host runs (or will run) with; `host_pid` mirrors `host`.
    record: Record,
    /// The backend's host, while one runs (under systemd, while its unit
    /// runs, even when its pid is not known).
    host: Option<Host>,
    /// What the last, dead host's program left: ended before the next start.
    leftover: Option<Program>,
    busy: Option<Busy>,
    /// Actions waiting for the one in flight.
    queue: VecDeque<(Action, Option<Done>)>,
    /// Stopped with `berth stop` while its host was not running: not
    /// started again until `berth start`.
    stopped: bool,
    /// Consecutive host failures, for the retry backoff.
    failures: u32,
    retry_at: Option<Instant>,
    started_at: Instant,
    /// Made by `berth new` and not started yet: a failed first start
    /// leaves nothing behind.
    creating: bool,
}

impl Managed {
    fn new(session: Session, record: Record) -> Self {
        Self {
            session,
            record,
            host: None,
            leftover: None,
            busy: None,
            queue: VecDeque::new(),
            stopped: false,
            failures: 0,
            retry_at: None,
            started_at: Instant::now(),
            creating: false,
        }
    }
}

/// What reaches the loop besides control requests.
pub enum Msg {
    /// Queue an action for a session.
    Act {
        name: String,
        action: Action,
        done: Option<Done>,
    },
    /// Manage a session the config added (started by a `StartHost` after).
    Add {
        session: Box<Session>,
        args: Vec<String>,
    },
    /// Take a checked config as the wanted state; answer what must change.
    Apply {
        config: Box<Config>,
        done: oneshot::Sender<reload::Applied>,
    },
    Summary(oneshot::Sender<String>),
    /// A task's work is done.
    Started {
        name: String,
        result: anyhow::Result<Started>,
        done: Option<Done>,
    },
    Stopped {
        name: String,
        pid: u32,
        result: Result<(), String>,
        forget: bool,
        done: Option<Done>,
    },
    Reconfigured {
        name: String,
        session: Box<Session>,
        args: Vec<String>,
        result: Result<(), String>,
        done: Option<Done>,
    },
}

pub struct Daemon<B: Backend> {
    backend: Arc<B>,
    config_path: PathBuf,
    mode: Mode,
    /// How configs are checked: this mode, this backend.
    checks: berth_config::Checks,
    config: Option<Config>,
    managed: BTreeMap<String, Managed>,
    /// Every managed session's latest status, pushed by its host.
    watcher: crate::watch::Watcher,
    /// The loop's own address, for tasks to report back.
    tx: mpsc::UnboundedSender<Msg>,
    rx: Option<mpsc::UnboundedReceiver<Msg>>,
    /// Sessions whose host the watcher could not follow: maybe dead.
    gone: Option<mpsc::UnboundedReceiver<String>>,
    handle: Handle,
    /// The last metrics asked of the hosts (`status::Metrics`).
    metrics: crate::status::MetricsCache,
    /// Web login links waiting to be opened.
    web_codes: crate::web_login::Codes,
}

impl<B: Backend> Daemon<B> {
    pub fn new(backend: B, config_path: PathBuf, mode: Mode) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let checks = berth_config::Checks {
            mode,
            systemd: Some(backend.name() == "systemd"),
            trust: berth_config::Checks::trust_for(mode),
        };
        let web = crate::web::Supervisor::new(
            backend.layout().runtime.clone(),
            backend.name() == "systemd",
            mode == Mode::User,
        );
        let handle = Handle::new(tx.clone(), config_path.clone(), checks, web);
        let (gone_tx, gone) = mpsc::unbounded_channel();
        Self {
            backend: Arc::new(backend),
            config_path,
            mode,
            checks,
            config: None,
            managed: BTreeMap::new(),
            watcher: crate::watch::Watcher::new(gone_tx),
            tx,
            rx: Some(rx),
            gone: Some(gone),
            handle,
            metrics: Default::default(),
            web_codes: Default::default(),
        }
    }

    /// How to talk to the loop once it runs.
    pub fn handle(&self) -> Handle {
        self.handle.clone()
    }

    /// Takes over hosts a previous berthd started: they keep their pids.
    pub async fn adopt(&mut self) -> anyhow::Result<()> {
        for (name, record) in self.backend.adopt().await? {
            let session = placeholder(&name, &record);
            let pid = record.host_pid;
            let mut m = Managed::new(session, record);
            if pid == 0 {
                // An ad-hoc session whose host died while berthd was down.
                tracing::warn!(session = %name, "the host of ad-hoc session {name} died while berthd was down; starting it again");
                m.retry_at = Some(Instant::now());
            } else {
                tracing::info!(session = %name, host_pid = pid, "adopted a running session host");
                m.host = Some(Host { pid, child: None });
            }
            self.manage(name, m);
        }
        Ok(())
    }

    /// Serves control requests from `jobs` until the runtime ends.
    ///
    /// Idle, it does nothing and wakes for nothing: hosts push their
    /// status, a host's death arrives from the watcher, and the only
    /// timers are the next retry, STATUS= after a change, and the watchdog.
    pub async fn run(mut self, mut jobs: mpsc::Receiver<Job>) {
        let mut msgs = self.rx.take().expect("the loop runs once");
        let mut gone = self.gone.take().expect("the loop runs once");
        let pushed = self.watcher.changes();
        let watchdog_every = crate::notify::watchdog_interval();
        let mut watchdog =
            tokio::time::interval(watchdog_every.unwrap_or(Duration::from_secs(3600)));
        let mut last_status = self.summary();
        // Something may have changed what STATUS= says.
        let mut dirty = true;
        let mut status_due: Option<Instant> = None;
        loop {
            let retry = self.next_retry();
            // A countdown to a retry changes every second.
            if status_due.is_none() && (dirty || retry.is_some()) {
                status_due = Some(Instant::now() + STATUS_EVERY);
            }
            let due = status_due.unwrap_or_else(Instant::now);
            tokio::select! {
                Some(name) = gone.recv() => {
                    self.check_host(&name);
                    dirty = true;
                }
                _ = tokio::time::sleep_until(retry.unwrap_or_else(Instant::now)), if retry.is_some() => {
                    self.start_due();
                    dirty = true;
                }
                _ = pushed.notified() => dirty = true,
                _ = tokio::time::sleep_until(due), if status_due.is_some() => {
                    status_due = None;
                    dirty = false;
                    let now = self.summary();
                    if now != last_status {
                        crate::notify::status(&now);
                        last_status = now;
                    }
                }
                // Pinged from this loop: systemd learns when it is stuck.
                _ = watchdog.tick(), if watchdog_every.is_some() => crate::notify::watchdog(),
                Some(job) = jobs.recv() => {
                    // A listing changes nothing.
                    dirty |= !matches!(job.1, berth_proto::DaemonRequest::List);
                    self.on_job(job);
                }
                Some(msg) = msgs.recv() => {
                    self.on_msg(msg);
                    dirty = true;
                }
            }
        }
    }

    fn on_msg(&mut self, msg: Msg) {
        match msg {
            Msg::Act { name, action, done } => self.act(&name, action, done),
            Msg::Add { session, args } => {
                let name = session.name.clone();
                if self.managed.contains_key(&name) {
                    // Made by `berth new` since the reload looked.
                    return;
                }
                let record = Record {
                    args,
                    user: session.user.clone(),
                    ..Default::default()
                };
                self.manage(name, Managed::new(*session, record));
            }
            Msg::Apply { config, done } => {
                let _ = done.send(self.apply(*config));
            }
            Msg::Summary(done) => {
                let _ = done.send(self.summary());
            }
            Msg::Started { name, result, done } => self.started(&name, result, done),
            Msg::Stopped {
                name,
                pid,
                result,
                forget,
                done,
            } => self.stopped(&name, pid, result, forget, done),
            Msg::Reconfigured {
                name,
                session,
                args,
                result,
                done,
            } => self.reconfigured(&name, *session, args, result, done),
        }
    }

    /// Starts managing `name` and following its host's status.
    fn manage(&mut self, name: String, m: Managed) {
        self.watcher.follow(&name, self.backend.socket(&name));
        self.managed.insert(name, m);
    }

    /// Stops managing `name`; what was queued for it learns it is gone.
    fn unmanage(&mut self, name: &str) {
        self.watcher.forget(name);
        if let Some(m) = self.managed.remove(name) {
            let gone = self.no_such(name);
            for (_, done) in m.queue {
                reply(done, gone.clone());
            }
        }
    }

    /// Whether the restart logic may act on `m`: not stopped on purpose,
    /// and no action on it in flight or waiting.
    fn settled(m: &Managed) -> bool {
        !(m.stopped || m.busy.is_some() || !m.queue.is_empty())
    }

    /// The watcher lost (or never had) `name`'s host: if it died, it is
    /// started again after the backoff (the program's own restarts are the
    /// host's job). If an action was in flight, the watcher asks again.
    fn check_host(&mut self, name: &str) {
        let Some(m) = self.managed.get_mut(name) else {
            return;
        };
        if !Self::settled(m) {
            return;
        }
        let Some(host) = m.host.as_mut() else {
            return;
        };
        if !self.backend.exited(host) {
            return;
        }
        // A host that ran a while is healthy again: the backoff restarts.
        if m.started_at.elapsed() >= HOST_STABLE {
            m.failures = 0;
        }
        m.failures += 1;
        let delay = retry_delay(m.failures);
        tracing::warn!(session = %name, host_pid = host.pid, "session host died; starting it again in {delay:?}");
        m.leftover = self.watcher.last_program(name);
        m.host = None;
        m.record.host_pid = 0;
        m.retry_at = Some(Instant::now() + delay);
    }

    /// When the next host is due to be started again.
    fn next_retry(&self) -> Option<Instant> {
        self.managed
            .values()
            .filter(|m| Self::settled(m))
            .filter_map(|m| m.retry_at)
            .min()
    }

    /// Starts the hosts whose retry time came.
    fn start_due(&mut self) {
        let now = Instant::now();
        let due: Vec<String> = self
            .managed
            .iter()
            .filter(|(_, m)| Self::settled(m) && m.retry_at.is_some_and(|t| t <= now))
            .map(|(name, _)| name.clone())
            .collect();
        for name in due {
            self.act(&name, Action::StartHost, None);
        }
    }
}

/// Sends an answer to whoever waits for it, if anyone does.
fn reply(done: Option<Done>, response: Response) {
    if let Some(done) = done {
        let _ = done.send(response);
    }
}

/// Backoff before starting a host again after `failures` in a row.
fn retry_delay(failures: u32) -> Duration {
    berth_config::values::backoff(HOST_RETRY, HOST_RETRY_MAX, failures)
}

/// A session for a host known only by its record (adopted before the
/// config is read, or ad hoc): enough to restart it with the same flags,
/// and its access lists, which decide who may control it.
fn placeholder(name: &str, record: &Record) -> Session {
    let spec = berth_config::spec::HostSpec::from_args(&record.args).ok();
    let argv = spec
        .as_ref()
        .map(|h| h.program.command.clone())
        .unwrap_or_default();
    let mut s =
        berth_config::model::Session::with_defaults(name, berth_config::model::Command::Argv(argv));
    s.user = record.user.clone();
    if let Some(spec) = spec {
        s.access.operators = spec.operators;
        s.access.observers = spec.observers;
    }
    s
}
