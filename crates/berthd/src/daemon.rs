//! berthd's state and the loop that keeps running sessions equal to the
//! wanted ones: reconcile on start and reload, restart hosts that die,
//! answer control requests. Everything mutating runs on this one loop.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Child;

use anyhow::Context;
use std::time::{Duration, Instant};

use berth_config::access::{Caller, HostAccess, SessionAccess};
use berth_config::model::{Command, Config, Principal, Session};
use berth_config::paths::{self, Mode};
use berth_proto::{DaemonRequest, ErrorCode, Request, Response, SessionSummary};

use crate::embedded::{alive, Embedded, Record};
use crate::host_cmd::{host_args, host_part};
use crate::reconcile::{plan, Fingerprint};

/// Grace between the signals a host sends its program on stop.
const STOP_GRACE: Duration = Duration::from_secs(5);
/// A host that dies is started again after this, doubling to a minute.
const HOST_RETRY: Duration = Duration::from_millis(500);
const HOST_RETRY_MAX: Duration = Duration::from_secs(60);

struct Managed {
    session: Session,
    record: Record,
    child: Option<Child>,
    /// Stopped with `berth stop` while its host was not running: not
    /// started again until `berth start`.
    stopped: bool,
    /// Consecutive host deaths, for the retry backoff.
    failures: u32,
    retry_at: Option<Instant>,
    started_at: Instant,
}

impl Managed {
    /// A session whose host was just started (or adopted, or is to be
    /// retried), after `failures` consecutive host failures.
    fn new(session: Session, record: Record, child: Option<Child>, failures: u32) -> Self {
        Self {
            session,
            record,
            child,
            stopped: false,
            failures,
            retry_at: None,
            started_at: Instant::now(),
        }
    }
}

/// Ends what is left of the last program `name`'s host ran.
fn sweep(watcher: &crate::watch::Watcher, name: &str) {
    if let Some((pid, uid)) = watcher.last_program(name) {
        let killed = crate::orphans::end_session(pid, uid);
        if killed > 0 {
            tracing::warn!(session = %name, "ended {killed} processes the dead host's program left behind");
        }
    }
}

/// A host not heard from this long after its start is unreachable.
const HOST_ANSWERS_WITHIN: Duration = Duration::from_secs(5);

/// A host that ran this long is healthy again: its retry backoff resets.
const HOST_STABLE: Duration = Duration::from_secs(60);

pub struct Daemon {
    pub config_path: PathBuf,
    pub mode: Mode,
    /// Host records and sockets; the embedded backend's process handling.
    pub backend: Embedded,
    /// Set when sessions are systemd units instead of berthd's children.
    pub systemd: Option<crate::systemd::Systemd>,
    pub log_dir: PathBuf,
    config: Option<Config>,
    managed: BTreeMap<String, Managed>,
    /// Every managed session's latest status, pushed by its host.
    watcher: crate::watch::Watcher,
}

/// The answer to a control request: now, or from a task of its own when
/// it waits on a host (a `stop` waits for the program to end), so that
/// berthd goes on serving meanwhile.
pub enum Reply {
    Now(Response),
    Later(std::pin::Pin<Box<dyn std::future::Future<Output = Response> + Send>>),
}

impl From<Response> for Reply {
    fn from(r: Response) -> Self {
        Reply::Now(r)
    }
}

impl Daemon {
    pub fn new(
        config_path: PathBuf,
        mode: Mode,
        backend: Embedded,
        systemd: Option<crate::systemd::Systemd>,
        log_dir: PathBuf,
    ) -> Self {
        Self {
            config_path,
            mode,
            backend,
            systemd,
            log_dir,
            config: None,
            managed: BTreeMap::new(),
            watcher: Default::default(),
        }
    }

    /// Starts managing `name` and following its host's status.
    fn manage(&mut self, name: String, m: Managed) {
        self.watcher.follow(&name, self.backend.socket(&name));
        self.managed.insert(name, m);
    }

    /// Stops managing `name`.
    fn unmanage(&mut self, name: &str) -> Option<Managed> {
        self.watcher.forget(name);
        self.managed.remove(name)
    }

    fn args(&self, s: &Session) -> Vec<String> {
        let system = self.mode == Mode::System;
        // Under systemd, User= already makes the host the account.
        let account = (system && self.systemd.is_none()).then(|| crate::accounts::account_name(s));
        host_args(
            s,
            &self.backend.socket(&s.name),
            &self.log_dir,
            account.as_deref(),
            system,
        )
    }

    /// In system mode: the session's account and socket group, created if
    /// allowed, and its log directory owned by the account.
    fn prepare(&self, s: &Session) -> anyhow::Result<Option<(u32, u32)>> {
        if self.mode != Mode::System {
            return Ok(None);
        }
        if s.dynamic_user && self.systemd.is_some() {
            // systemd allocates the account and the log directory itself.
            let group = crate::accounts::access_group(s)?;
            return Ok(Some((0, group.gid.as_raw())));
        }
        let user = crate::accounts::ensure_account(s)?;
        let group = crate::accounts::access_group(s)?;
        if s.log == berth_config::model::LogTarget::File {
            let log = crate::host_cmd::log_path(s, &self.log_dir, true);
            let dir = log.parent().expect("log path has a directory");
            std::fs::create_dir_all(dir)?;
            nix::unistd::chown(dir, Some(user.uid), Some(user.gid))?;
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o750))?;
        }
        Ok(Some((user.uid.as_raw(), group.gid.as_raw())))
    }

    /// Takes over hosts a previous berthd started: they keep their pids.
    /// Under systemd, the running `berth-session@*` units are the truth.
    pub async fn adopt(&mut self) -> anyhow::Result<()> {
        let adopted: Vec<(String, Record)> = match &self.systemd {
            Some(sd) => {
                let records: BTreeMap<String, Record> =
                    self.backend.records_any().into_iter().collect();
                let mut adopted = Vec::new();
                for name in sd.running().await? {
                    let mut record = records.get(&name).cloned().unwrap_or(Record {
                        host_pid: 0,
                        args: vec![],
                        adhoc: false,
                        unit: Vec::new(),
                        user: None,
                    });
                    record.host_pid = crate::status::query(&self.backend.socket(&name))
                        .await
                        .map_or(0, |st| st.host_pid);
                    adopted.push((name, record));
                }
                adopted
            }
            None => self.backend.records(),
        };
        for (name, record) in adopted {
            tracing::info!(session = %name, host_pid = record.host_pid, "adopted a running session host");
            let session = placeholder(&name, &record);
            self.manage(name, Managed::new(session, record, None, 0));
        }
        Ok(())
    }

    /// Loads the config and makes it so. An invalid config changes nothing.
    pub async fn reload(&mut self) -> Response {
        let checks = berth_config::Checks {
            mode: self.mode,
            systemd: Some(self.systemd.is_some()),
        };
        // Checked on a thread of its own: a large config never holds up
        // the control socket or the hosts' supervision.
        let path = self.config_path.clone();
        let loaded = tokio::task::spawn_blocking(move || berth_config::load(&path, checks))
            .await
            .unwrap_or_else(|e| {
                Err(vec![berth_config::ConfigError {
                    file: self.config_path.clone(),
                    line: 0,
                    col: 0,
                    message: format!("checking the config failed: {e}"),
                }])
            });
        let config = match loaded {
            Ok(c) => c,
            Err(errors) => {
                let lines: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
                for l in &lines {
                    tracing::error!("{l}");
                }
                return Response::Error {
                    code: ErrorCode::BadRequest,
                    message: format!(
                        "{}:\n{}",
                        berth_config::errors_summary(lines.len()),
                        lines.join("\n")
                    ),
                };
            }
        };
        // What each session is: its host's command line, and under systemd
        // its unit's settings too, so a changed limit restarts it as well.
        let args: BTreeMap<String, Vec<String>> = config
            .sessions
            .values()
            .map(|s| (s.name.clone(), self.args(s)))
            .collect();
        let unit = |s: &Session| match self.systemd {
            Some(_) => crate::host_cmd::unit_settings(s),
            None => Vec::new(),
        };
        let wanted: BTreeMap<String, Fingerprint> = config
            .sessions
            .values()
            .map(|s| (s.name.clone(), self.fingerprint(&args[&s.name], unit(s))))
            .collect();
        let running: BTreeMap<String, Fingerprint> = self
            .managed
            .iter()
            .map(|(n, m)| {
                (
                    n.clone(),
                    self.fingerprint(&m.record.args, m.record.unit.clone()),
                )
            })
            .collect();
        let pinned: Vec<String> = self
            .managed
            .iter()
            .filter(|(_, m)| m.record.adhoc)
            .map(|(n, _)| n.clone())
            .collect();
        let mut p = plan(&wanted, &running, &pinned);
        for name in &p.stop {
            if let Err(e) = self.stop_host(name).await {
                tracing::error!(session = %name, "{e}");
            }
            self.unmanage(name);
        }
        // Only the program changed: the host restarts it, the screen stays.
        // A host that cannot take it (gone, or too old) is replaced instead.
        for name in std::mem::take(&mut p.reconfigure) {
            let new_args = args[&name].clone();
            match self.reconfigure(&name, &new_args).await {
                Ok(()) => {
                    let m = self.managed.get_mut(&name).expect("running");
                    m.session = config.sessions[&name].clone();
                    m.record.args = new_args;
                    if let Err(e) = self.backend.save(&name, &m.record) {
                        tracing::warn!(session = %name, "{e:#}");
                    }
                    tracing::info!(session = %name, "program settings changed; restarted inside the running host");
                    p.reconfigure.push(name);
                }
                Err(e) => {
                    tracing::warn!(session = %name, "cannot reconfigure the running host ({e:#}); replacing it");
                    p.restart.push(name);
                }
            }
        }
        for name in &p.restart {
            if let Err(e) = self.stop_host(name).await {
                tracing::error!(session = %name, "{e}");
            }
            self.unmanage(name);
        }
        // In `after` order: the embedded backend's reading of it (systemd
        // orders units itself).
        let starting: Vec<String> = p.start.iter().chain(p.restart.iter()).cloned().collect();
        let starting =
            crate::reconcile::start_order(&starting, |n| config.sessions[n].after.clone());
        for name in &starting {
            let s = config.sessions[name].clone();
            let args = args[name].clone();
            self.start_session(s, args, false, 0).await;
        }
        // Sessions kept: take the config's copy (adopted ones had a placeholder).
        for name in &p.keep {
            if let (Some(m), Some(s)) = (self.managed.get_mut(name), config.sessions.get(name)) {
                m.session = s.clone();
            }
        }
        let mut changed = p.restart.clone();
        changed.extend(p.reconfigure.iter().cloned());
        changed.sort();
        self.config = Some(config);
        tracing::info!(added = ?p.start, removed = ?p.stop, replaced = ?p.restart, reconfigured = ?p.reconfigure, "configuration applied");
        Response::Reloaded {
            added: p.start,
            removed: p.stop,
            changed,
            unchanged: p.keep,
        }
    }

    /// A host command line (and unit settings) split into what needs a new
    /// host and what the running host can take (reconcile::Fingerprint).
    /// Under systemd the unit's command line is fixed when it is created,
    /// so there every change needs a new host.
    fn fingerprint(&self, args: &[String], unit: Vec<String>) -> Fingerprint {
        let mut host = match self.systemd {
            Some(_) => args.to_vec(),
            None => host_part(args),
        };
        host.extend(unit);
        Fingerprint {
            host,
            program: args.to_vec(),
        }
    }

    /// Sends a running host its new program settings.
    async fn reconfigure(&self, name: &str, args: &[String]) -> anyhow::Result<()> {
        let m = self.managed.get(name).context("not running")?;
        anyhow::ensure!(m.record.host_pid != 0, "its host is not running");
        crate::status::request(
            &self.backend.socket(name),
            &Request::Reconfigure {
                args: args.to_vec(),
            },
        )
        .await
        .map(|_| ())
    }

    /// Starts a host with `args` (its flags and program).
    /// `previous_failures`: consecutive failures so far, for the backoff.
    async fn start_session(
        &mut self,
        session: Session,
        args: Vec<String>,
        adhoc: bool,
        previous_failures: u32,
    ) {
        let name = session.name.clone();
        match self.launch(&session, &args, adhoc).await {
            Ok((child, record)) => {
                tracing::info!(session = %name, host_pid = record.host_pid, "started session host");
                self.manage(
                    name,
                    Managed::new(session, record, child, previous_failures),
                );
            }
            Err(e) => {
                let failures = previous_failures + 1;
                let delay = retry_delay(failures);
                tracing::error!(session = %name, "{e:#}; trying again in {delay:?}");
                let record = Record {
                    host_pid: 0,
                    args,
                    adhoc,
                    unit: Vec::new(),
                    user: session.user.clone(),
                };
                self.manage(
                    name,
                    Managed {
                        retry_at: Some(Instant::now() + delay),
                        ..Managed::new(session, record, None, failures)
                    },
                );
            }
        }
    }

    /// Starts the session's host through the backend.
    async fn launch(
        &self,
        session: &Session,
        args: &[String],
        adhoc: bool,
    ) -> anyhow::Result<(Option<Child>, Record)> {
        match &self.systemd {
            Some(sd) => self.start_unit(sd, session, args, adhoc).await,
            None => {
                let owner = self.prepare(session)?;
                let (child, record) =
                    self.backend
                        .start(&session.name, args, adhoc, session.user.clone(), owner)?;
                Ok((Some(child), record))
            }
        }
    }

    /// Starts the session as systemd units; the record says what it runs.
    async fn start_unit(
        &self,
        sd: &crate::systemd::Systemd,
        s: &Session,
        args: &[String],
        adhoc: bool,
    ) -> anyhow::Result<(Option<std::process::Child>, Record)> {
        self.prepare(s)?;
        let account = crate::accounts::account_name(s);
        sd.start(
            s,
            &self.backend.socket(&s.name),
            args,
            &account,
            &s.access.group,
        )
        .await?;
        let host_pid = crate::status::query(&self.backend.socket(&s.name))
            .await
            .map_or(0, |st| st.host_pid);
        let record = Record {
            host_pid,
            args: args.to_vec(),
            adhoc,
            unit: crate::host_cmd::unit_settings(s),
            user: s.user.clone(),
        };
        self.backend.save(&s.name, &record)?;
        Ok((None, record))
    }

    /// Stops the host of `name`; fails, saying so, if it is still running.
    async fn stop_host(&mut self, name: &str) -> Result<(), String> {
        if let Some(sd) = &self.systemd {
            if let Err(e) = sd.stop(name).await {
                tracing::error!(session = %name, "{e:#}");
                return Err(format!("failed to stop session {name}: {e:#}"));
            }
            self.backend.forget(name);
            if let Some(m) = self.managed.get_mut(name) {
                m.record.host_pid = 0;
            }
            return Ok(());
        }
        let Some(m) = self.managed.get_mut(name) else {
            return Ok(());
        };
        let pid = m.record.host_pid;
        if pid != 0 {
            self.backend
                .stop(name, pid, m.child.as_mut(), STOP_GRACE)
                .await;
            if m.child.is_none() && alive(pid) {
                return Err(format!(
                    "the host of session {name} (pid {pid}) did not stop; it was left as it is"
                ));
            }
            // A host killed after its grace could not end its program's children.
            sweep(&self.watcher, name);
        }
        m.record.host_pid = 0;
        m.child = None;
        Ok(())
    }

    /// Restarts hosts that died (the program's own restarts are the host's
    /// job). Under systemd, only starts what was asked for: systemd itself
    /// restarts units whose host died.
    pub async fn tick(&mut self) {
        let now = Instant::now();
        let mut to_start = Vec::new();
        for (name, m) in self.managed.iter_mut() {
            if m.stopped {
                continue;
            }
            if m.record.host_pid != 0 && self.systemd.is_some() {
                continue;
            }
            if m.record.host_pid != 0 {
                let dead = match m.child.as_mut() {
                    Some(c) => c.try_wait().ok().flatten().is_some(),
                    None => !alive(m.record.host_pid),
                };
                if !dead {
                    if m.started_at.elapsed() >= HOST_STABLE {
                        m.failures = 0;
                    }
                    continue;
                }
                m.failures += 1;
                let delay = retry_delay(m.failures);
                tracing::warn!(session = %name, host_pid = m.record.host_pid, "session host died; starting it again in {delay:?}");
                sweep(&self.watcher, name);
                m.record.host_pid = 0;
                m.child = None;
                m.retry_at = Some(now + delay);
            }
            if m.retry_at.is_some_and(|t| t <= now) {
                m.retry_at = None;
                to_start.push(name.clone());
            }
        }
        for name in to_start {
            let m = self.unmanage(&name).expect("listed above");
            // The same command line it ran with: adopted and ad-hoc hosts
            // have no config to recompute it from.
            self.start_session(m.session, m.record.args, m.record.adhoc, m.failures)
                .await;
        }
    }

    /// Answers a control request from `caller`, after checking its rights.
    pub async fn handle(&mut self, caller: &Caller, req: DaemonRequest) -> Reply {
        let host = self.host_access();
        let decided = crate::rights::check(
            caller,
            &req,
            &host,
            |name| self.session_access(name),
            &self.config_path,
        );
        if let Err(message) = decided {
            return Response::Error {
                code: ErrorCode::Denied,
                message,
            }
            .into();
        }
        match req {
            DaemonRequest::List => Response::Sessions {
                sessions: self.list_for(Some(caller)),
            }
            .into(),
            DaemonRequest::Reload => {
                crate::notify::reloading();
                let response = self.reload().await;
                crate::notify::ready(&self.summary());
                response.into()
            }
            DaemonRequest::New {
                name,
                user,
                command,
            } => self.new_session(caller, name, user, command).await.into(),
            DaemonRequest::Kill { name } => match self.managed.contains_key(&name) {
                true => match self.stop_host(&name).await {
                    Ok(()) => {
                        self.unmanage(&name);
                        Response::Ok.into()
                    }
                    Err(message) => Response::Error {
                        code: ErrorCode::Internal,
                        message,
                    }
                    .into(),
                },
                false => self.no_such(&name).into(),
            },
            DaemonRequest::Stop { name } => self.stop_program(&name),
            DaemonRequest::Start { name } => self.start_program(&name).await,
            DaemonRequest::Restart { name } => match self.managed.contains_key(&name) {
                true => {
                    if let Err(message) = self.stop_host(&name).await {
                        return Response::Error {
                            code: ErrorCode::Internal,
                            message,
                        }
                        .into();
                    }
                    if let Some(m) = self.managed.get_mut(&name) {
                        m.stopped = false;
                        m.retry_at = Some(Instant::now());
                    }
                    self.tick().await;
                    Response::Ok.into()
                }
                false => self.no_such(&name).into(),
            },
        }
    }

    /// `berth stop`: the host stops the program and keeps its screen,
    /// history and clients. A session whose host is not running (waiting
    /// to be started again) is simply not started.
    fn stop_program(&mut self, name: &str) -> Reply {
        let Some(m) = self.managed.get_mut(name) else {
            return self.no_such(name).into();
        };
        if m.record.host_pid == 0 {
            m.stopped = true;
            m.retry_at = None;
            return Response::Ok.into();
        }
        self.forward(name, Request::Stop)
    }

    /// `berth start`: the host starts its program again; a host that is
    /// not running is started now.
    async fn start_program(&mut self, name: &str) -> Reply {
        let Some(m) = self.managed.get_mut(name) else {
            return self.no_such(name).into();
        };
        if m.record.host_pid != 0 {
            return self.forward(name, Request::Start);
        }
        m.stopped = false;
        m.failures = 0;
        m.retry_at = Some(Instant::now());
        self.tick().await;
        Response::Ok.into()
    }

    /// Passes a request on to a session's host (berthd is root or the
    /// sessions' own user, so the host lets it; the caller was checked).
    /// The answer comes later, from a task: the host may take a while
    /// (a stop waits for the program to end) and berthd goes on meanwhile.
    fn forward(&self, name: &str, req: Request) -> Reply {
        let socket = self.backend.socket(name);
        let name = name.to_owned();
        Reply::Later(Box::pin(async move {
            match crate::status::request(&socket, &req).await {
                Ok(response) => response,
                Err(e) => Response::Error {
                    code: ErrorCode::Internal,
                    message: format!("session {name:?} did not answer: {e:#}"),
                },
            }
        }))
    }

    fn no_such(&self, name: &str) -> Response {
        let names: Vec<&str> = self.managed.keys().map(String::as_str).collect();
        Response::Error {
            code: ErrorCode::BadRequest,
            message: berth_config::values::no_session(name, &names),
        }
    }

    /// Who may run host-wide verbs.
    fn host_access(&self) -> HostAccess {
        HostAccess {
            daemon_uid: nix::unistd::geteuid().as_raw(),
            admins: self
                .config
                .as_ref()
                .map(|c| c.admins.clone())
                .unwrap_or_default(),
        }
    }

    /// A session's access lists, as its host checks them.
    fn session_access(&self, name: &str) -> Option<SessionAccess> {
        let m = self.managed.get(name)?;
        let owner_uid = match self.mode {
            Mode::User => Some(nix::unistd::geteuid().as_raw()),
            Mode::System => {
                let account = crate::accounts::account_name(&m.session);
                nix::unistd::User::from_name(&account)
                    .ok()
                    .flatten()
                    .map(|u| u.uid.as_raw())
            }
        };
        Some(SessionAccess {
            owner_uid,
            operators: m.session.access.operators.clone(),
            observers: m.session.access.observers.clone(),
        })
    }

    /// `berth new`: an ad-hoc session, resolved like a declared one (the
    /// config's defaults and checks) with its creator as an operator. A
    /// refused or failed `new` leaves nothing behind: no account, no
    /// socket, no record, no entry in `ls`.
    async fn new_session(
        &mut self,
        caller: &Caller,
        name: String,
        user: Option<String>,
        command: Vec<String>,
    ) -> Response {
        let bad = |message: String| Response::Error {
            code: ErrorCode::BadRequest,
            message,
        };
        if self.managed.contains_key(&name) {
            return Response::Error {
                code: ErrorCode::BadRequest,
                message: format!("session {name:?} already exists (see berth ls)"),
            };
        }
        if user.as_deref() == Some("root") {
            return bad(
                "berth new does not run sessions as root: declare the session in the config with user = \"root\" and allow_root = true if you mean it".into(),
            );
        }
        let Some(config) = &self.config else {
            return bad(
                "berthd has no valid configuration loaded; fix it and run berth reload".into(),
            );
        };
        let checks = berth_config::Checks {
            mode: self.mode,
            systemd: Some(self.systemd.is_some()),
        };
        let mut session = match berth_config::adhoc_session(config, &name, command, user, checks) {
            Ok(s) => s,
            Err(message) => return bad(message),
        };
        let me = nix::unistd::geteuid().as_raw();
        let creator = Principal::User(caller.user.clone());
        if caller.uid != 0 && caller.uid != me && !session.access.operators.contains(&creator) {
            session.access.operators.push(creator);
        }
        let existed = self.mode == Mode::System
            && nix::unistd::User::from_name(&crate::accounts::account_name(&session))
                .ok()
                .flatten()
                .is_some();
        let args = self.args(&session);
        match self.launch(&session, &args, true).await {
            Ok((child, record)) => {
                tracing::info!(session = %name, host_pid = record.host_pid, creator = %caller.user, "started ad-hoc session");
                self.manage(name, Managed::new(session, record, child, 0));
                Response::Ok
            }
            Err(e) => {
                self.backend.forget(&name);
                if self.mode == Mode::System {
                    // Its own log directory, if empty (prepare made it).
                    let log = crate::host_cmd::log_path(&session, &self.log_dir, true);
                    let _ = std::fs::remove_dir(log.parent().expect("log path has a directory"));
                    if !existed {
                        crate::accounts::remove_created(&session);
                    }
                }
                tracing::error!(session = %name, "berth new failed: {e:#}");
                Response::Error {
                    code: ErrorCode::Internal,
                    message: format!(
                        "failed to start session {name:?}: {e:#}; nothing was left behind"
                    ),
                }
            }
        }
    }

    /// One summary per session, from each host's latest status. With a
    /// caller, sessions it may not read show only their name, as "denied".
    pub fn list_for(&self, caller: Option<&Caller>) -> Vec<SessionSummary> {
        self.managed
            .iter()
            .map(|(name, m)| {
                let denied = caller.is_some_and(|c| {
                    self.session_access(name)
                        .is_some_and(|lists| lists.right(c).is_none())
                });
                if denied {
                    return SessionSummary::without_status(name.clone(), "denied", None);
                }
                let status = (m.record.host_pid != 0)
                    .then(|| self.watcher.status(name))
                    .flatten();
                match status {
                    Some(st) => SessionSummary::from_status(st),
                    None => {
                        let state = if m.stopped {
                            "stopped"
                        } else if m.record.host_pid == 0
                            || m.started_at.elapsed() < HOST_ANSWERS_WITHIN
                        {
                            "starting"
                        } else {
                            "unreachable"
                        };
                        let host_pid = (m.record.host_pid != 0).then_some(m.record.host_pid);
                        SessionSummary::without_status(name.clone(), state, host_pid)
                    }
                }
            })
            .collect()
    }

    /// "4 sessions: 3 running, 1 backoff (ci-runner in 8s)", for the log
    /// and systemd's STATUS=.
    pub fn summary(&self) -> String {
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        let mut waiting = Vec::new();
        for s in self.list_for(None) {
            if let Some(secs) = s.restart_in_s {
                waiting.push(format!("{} in {secs}s", s.name));
            }
            *counts.entry(s.state).or_default() += 1;
        }
        let parts: Vec<String> = counts
            .iter()
            .map(|(k, v)| {
                if k == "backoff" && !waiting.is_empty() {
                    format!("{v} {k} ({})", waiting.join(", "))
                } else {
                    format!("{v} {k}")
                }
            })
            .collect();
        let n = self.managed.len();
        format!(
            "{n} session{}: {}",
            if n == 1 { "" } else { "s" },
            parts.join(", ")
        )
    }
}

/// Backoff before starting a host again after `failures` in a row.
fn retry_delay(failures: u32) -> Duration {
    let steps = failures.clamp(1, 8) - 1;
    HOST_RETRY
        .checked_mul(1 << steps)
        .unwrap_or(HOST_RETRY_MAX)
        .min(HOST_RETRY_MAX)
}

/// A session for a host known only by its record (adopted before the
/// config is read, or ad hoc): enough to restart it with the same flags,
/// and its access lists, which decide who may control it.
fn placeholder(name: &str, record: &Record) -> Session {
    let argv: Vec<String> = record
        .args
        .iter()
        .skip_while(|a| *a != "--")
        .skip(1)
        .cloned()
        .collect();
    let principals = |flag: &str| -> Vec<Principal> {
        crate::host_cmd::flag_values(&record.args, flag)
            .into_iter()
            .filter_map(|p| p.parse().ok())
            .collect()
    };
    Session {
        name: name.to_owned(),
        command: Command::Argv(argv),
        user: record.user.clone(),
        create_user: false,
        allow_root: false,
        dynamic_user: false,
        cwd: None,
        env: Default::default(),
        restart: berth_config::model::RestartMode::OnFailure,
        restart_delay: berth_config::defaults::RESTART_DELAY,
        restart_max_delay: berth_config::defaults::RESTART_MAX_DELAY,
        restart_limit: berth_config::model::RestartLimit {
            burst: berth_config::defaults::RESTART_LIMIT_BURST,
            interval: berth_config::defaults::RESTART_LIMIT_INTERVAL,
        },
        scrollback: berth_config::defaults::SCROLLBACK_LINES,
        size: (berth_config::defaults::COLS, berth_config::defaults::ROWS),
        size_policy: berth_config::model::SizePolicy::Smallest,
        log: berth_config::model::LogTarget::File,
        log_max_size: berth_config::defaults::LOG_MAX_SIZE,
        log_keep: berth_config::defaults::LOG_KEEP,
        access: berth_config::model::Access {
            operators: principals("--operator"),
            observers: principals("--observer"),
            group: berth_config::defaults::ACCESS_GROUP.to_owned(),
        },
        after: vec![],
        limits: Default::default(),
        sandbox: Default::default(),
        origin: berth_config::model::Origin {
            file: paths::hosts_dir(Path::new("/")),
            line: 0,
        },
    }
}

use std::path::Path;
