//! Control requests: the caller's rights checked (rights.rs), then each
//! verb answered now or queued as an action on its session.

use anyhow::Context as _;
use berth_config::access::{Caller, HostAccess, SessionAccess};
use berth_config::model::{Principal, Session};
use berth_config::paths::Mode;
use berth_proto::{DaemonRequest, ErrorCode, Response};

use super::actions::Action;
use super::{Daemon, Done, Managed};
use crate::backend::{Backend, Started};
use crate::control::Job;
use crate::records::Record;

fn bad(message: String) -> Response {
    Response::Error {
        code: ErrorCode::BadRequest,
        message,
    }
}

impl<B: Backend> Daemon<B> {
    /// Answers a control request from `caller`, after checking its rights.
    pub(super) fn on_job(&mut self, (caller, req, done): Job) {
        let host = self.host_access();
        let decided = crate::rights::check(
            &caller,
            &req,
            &host,
            |name| self.session_access(name),
            &self.config_path,
        );
        if let Err(message) = decided {
            let _ = done.send(Response::Error {
                code: ErrorCode::Denied,
                message,
            });
            return;
        }
        let session = |name: &str| self.managed.contains_key(name);
        match req {
            DaemonRequest::List => {
                let _ = done.send(Response::Sessions {
                    sessions: self.list_for(Some(&caller)),
                });
            }
            DaemonRequest::ConfigFile => {
                let mode = match self.mode {
                    berth_config::paths::Mode::System => "system",
                    berth_config::paths::Mode::User => "user",
                };
                let _ = done.send(Response::ConfigFile {
                    path: self.config_path.display().to_string(),
                    mode: mode.into(),
                });
            }
            DaemonRequest::Metrics => {
                let summaries = self.list_for(None);
                let runtime = self.backend.layout().runtime.clone();
                let cache = self.metrics.clone();
                tokio::spawn(async move {
                    let _ = done.send(cache.get(&runtime, summaries).await);
                });
            }
            DaemonRequest::WebLogin => {
                let _ = done.send(self.web_login(&caller));
            }
            DaemonRequest::WebLogout { all } => {
                let _ = done.send(self.web_logout(&caller, all));
            }
            DaemonRequest::WebRedeem { code } => {
                let _ = done.send(self.web_redeem(&code));
            }
            DaemonRequest::Reload => {
                let handle = self.handle();
                tokio::spawn(async move {
                    let _ = done.send(handle.reload().await);
                });
            }
            DaemonRequest::New {
                name,
                user,
                command,
            } => self.new_session(&caller, name, user, command, done),
            DaemonRequest::Kill { name }
            | DaemonRequest::Stop { name }
            | DaemonRequest::Start { name }
            | DaemonRequest::Restart { name }
                if !session(&name) =>
            {
                let _ = done.send(self.no_such(&name));
            }
            DaemonRequest::Kill { name } => {
                self.act(&name, Action::StopHost { forget: true }, Some(done))
            }
            DaemonRequest::Stop { name } => self.act(&name, Action::StopProgram, Some(done)),
            DaemonRequest::Start { name } => self.act(&name, Action::StartProgram, Some(done)),
            DaemonRequest::Restart { name } => {
                self.act(&name, Action::StopHost { forget: false }, None);
                self.act(&name, Action::StartHost, Some(done));
            }
        }
    }

    pub(super) fn no_such(&self, name: &str) -> Response {
        let names: Vec<&str> = self.managed.keys().map(String::as_str).collect();
        bad(berth_config::values::no_session(name, &names))
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
    pub(super) fn session_access(&self, name: &str) -> Option<SessionAccess> {
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

    /// `berth web login`: a one-time link for the caller, a person (never
    /// root, berth-web's account or a session's account).
    fn web_login(&mut self, caller: &Caller) -> Response {
        let Some(web) = self.config.as_ref().and_then(|c| c.web.clone()) else {
            return bad("the web dashboard is not running: add [web] to berth.toml and reload berthd (see berth.toml(5))".into());
        };
        let denied = |message: String| Response::Error {
            code: ErrorCode::Denied,
            message,
        };
        if caller.uid == 0 {
            return denied(
                "the web dashboard never acts as root: run berth web login as yourself".into(),
            );
        }
        if caller.user == berth_config::access::WEB_ACCOUNT {
            return denied(
                "permission denied: the web dashboard's own account cannot log in to it".into(),
            );
        }
        if self.mode == Mode::User {
            // berth-web runs as berthd's user and reaches sessions as that
            // user: it is that user's dashboard alone.
            let own = nix::unistd::geteuid().as_raw();
            if caller.uid != own {
                return denied(format!(
                    "permission denied: this dashboard is {}'s alone (berthd runs in user mode); log in to a dashboard of your own, or ask for one on a system berthd",
                    berth_config::accounts::user_name(own)
                ));
            }
        }
        let names: Vec<String> = match self.mode {
            Mode::User => Vec::new(),
            Mode::System => self.managed.keys().cloned().collect(),
        };
        for name in names {
            if self.session_access(&name).and_then(|a| a.owner_uid) == Some(caller.uid) {
                return denied(format!(
                    "permission denied: {} is the account of session {name}; the web dashboard acts only for people",
                    caller.user
                ));
            }
        }
        let runtime = self.backend.layout().runtime.clone();
        berth_config::logins::forget_ended(&runtime);
        match self.web_codes.mint(caller.uid, std::time::Instant::now()) {
            // (Audited by the control socket, with every request, under its
            // per-uid summaries: no second line a loop could multiply.)
            Ok(code) => Response::WebLink {
                url: format!("{}/login?code={code}", web.base_url()),
            },
            Err(message) => Response::Error {
                code: ErrorCode::Internal,
                message,
            },
        }
    }

    /// `berth web logout [--all]`: ends the caller's logins (everyone's).
    fn web_logout(&mut self, caller: &Caller, all: bool) -> Response {
        let runtime = self.backend.layout().runtime.clone();
        if all && caller.uid != 0 {
            return Response::Error {
                code: ErrorCode::Denied,
                message: "only root may end everyone's logins; berth web logout ends yours".into(),
            };
        }
        let ended = match all {
            true => {
                self.web_codes.revoke(None);
                berth_config::logins::remove_all(&runtime)
            }
            false => {
                self.web_codes.revoke(Some(caller.uid));
                u32::from(berth_config::logins::remove(&runtime, caller.uid))
            }
        };
        Response::WebLoggedOut { ended }
    }

    /// berth-web trades a code for its person, whose live login is then
    /// recorded for the hosts to see.
    fn web_redeem(&mut self, code: &str) -> Response {
        let Some(web) = self.config.as_ref().and_then(|c| c.web.clone()) else {
            return bad("the web dashboard is not configured".into());
        };
        let Some(uid) = self.web_codes.redeem(code, std::time::Instant::now()) else {
            return Response::Error {
                code: ErrorCode::Denied,
                message:
                    "this login link was used already or has expired: run berth web login again"
                        .into(),
            };
        };
        let runtime = self.backend.layout().runtime.clone();
        let login = berth_config::logins::Login {
            expires: berth_config::logins::ends(web.token_ttl),
            input: web.allow_input,
        };
        if let Err(e) = berth_config::logins::write(&runtime, uid, login) {
            return Response::Error {
                code: ErrorCode::Internal,
                message: format!("cannot record the login: {e}"),
            };
        }
        tracing::info!(target: "berth::audit", user_uid = uid, input = login.input, "web login");
        Response::WebRedeemed {
            uid,
            ttl_s: web.token_ttl.as_secs(),
            input: login.input,
        }
    }

    /// `berth new`: an ad-hoc session, resolved like a declared one (the
    /// config's defaults and checks) with its creator as an operator. A
    /// refused or failed `new` leaves nothing behind: no account, no
    /// socket, no record, no entry in `ls`.
    fn new_session(
        &mut self,
        caller: &Caller,
        name: String,
        user: Option<String>,
        command: Vec<String>,
        done: Done,
    ) {
        let refuse = |done: Done, message: String| {
            let _ = done.send(bad(message));
        };
        if self.managed.contains_key(&name) {
            return refuse(
                done,
                format!("session {name:?} already exists (see berth ls)"),
            );
        }
        if user.as_deref() == Some("root") {
            return refuse(done,
                "berth new does not run sessions as root: declare the session in the config with user = \"root\" and allow_root = true if you mean it".into(),
            );
        }
        let Some(config) = &self.config else {
            return refuse(
                done,
                "berthd has no valid configuration loaded; fix it and run berth reload".into(),
            );
        };
        let mut session =
            match berth_config::adhoc_session(config, &name, command, user, self.checks) {
                Ok(s) => s,
                Err(message) => return refuse(done, message),
            };
        let me = nix::unistd::geteuid().as_raw();
        let creator = Principal::User(caller.user.clone());
        if caller.uid != 0 && caller.uid != me && !session.access.operators.contains(&creator) {
            session.access.operators.push(creator);
        }
        tracing::info!(session = %name, creator = %caller.user, "starting ad-hoc session");
        let record = Record {
            args: self.backend.args(&session),
            adhoc: true,
            user: session.user.clone(),
            ..Default::default()
        };
        let mut m = Managed::new(session, record);
        m.creating = true;
        self.manage(name.clone(), m);
        self.act(&name, Action::StartHost, Some(done));
    }
}

/// The first start of an ad-hoc session: on failure, what the start made
/// is removed again (its socket and record, its empty log directory, and
/// the account if this start created it).
pub(super) async fn first_start<B: Backend>(
    backend: &B,
    mode: Mode,
    session: Session,
    args: Vec<String>,
) -> anyhow::Result<Started> {
    // A program that cannot start is refused before anything is made.
    let check = session.clone();
    tokio::task::spawn_blocking(move || berth_config::program_check::resolve_as_account(&check))
        .await?
        .map_err(|why| anyhow::anyhow!("cannot start its program: {why}"))?;
    let system = mode == Mode::System;
    let check = session.clone();
    let existed = system
        && tokio::task::spawn_blocking(move || crate::accounts::account_exists(&check))
            .await
            .unwrap_or(true);
    if system {
        let fresh = session.clone();
        let log = backend.layout().log(&session.name);
        let retired =
            tokio::task::spawn_blocking(move || crate::accounts::retire_leftovers(&fresh, &log))
                .await?;
        retired.context("cannot set aside what an earlier session of this name left")?;
    }
    let kept = session.clone();
    let result = backend.start(session, args, true).await;
    if result.is_err() {
        backend.forget(&kept.name);
        if system {
            let log = backend.layout().log(&kept.name);
            let _ = tokio::task::spawn_blocking(move || {
                let _ = std::fs::remove_dir(log.parent().expect("log path has a directory"));
                if !existed {
                    crate::accounts::remove_created(&kept);
                }
            })
            .await;
        }
    }
    result
}
