//! Reload: the config is read and checked off the loop, the loop decides
//! what must change (`apply`, a pure plan from reconcile.rs), and the
//! changes are made as actions, so that `ls` and every other request are
//! answered while a large config is checked or a host takes its time to
//! stop. One reload runs at a time.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use berth_config::model::{Config, Session};
use berth_proto::{ErrorCode, Response};
use tokio::sync::{mpsc, oneshot};

use futures_util::StreamExt;

use super::actions::Action;
use super::{Daemon, Msg};
use crate::backend::Backend;
use crate::reconcile::{plan, HostLine, Plan};

/// Hosts a reload stops, reconfigures or starts at once: 500 replaced hosts
/// take seconds, not half a minute, and berthd never has more than this
/// many starting.
const AT_ONCE: usize = 16;

/// What a reload says when berthd's loop is gone (it is shutting down).
fn loop_gone(what: &str) -> Response {
    Response::Error {
        code: ErrorCode::Internal,
        message: format!("berthd is shutting down; {what}"),
    }
}

/// What a config asks to change, and what to change it to.
pub struct Applied {
    plan: Plan,
    sessions: BTreeMap<String, Session>,
    args: BTreeMap<String, Vec<String>>,
}

/// How the rest of berthd (signals, the first reload, control tasks)
/// talks to the daemon's loop.
#[derive(Clone)]
pub struct Handle {
    tx: mpsc::UnboundedSender<Msg>,
    config_path: PathBuf,
    checks: berth_config::Checks,
    one_reload: Arc<tokio::sync::Mutex<()>>,
    /// berth-web, while `[web]` is configured.
    web: Arc<crate::web::Supervisor>,
}

impl Handle {
    pub(super) fn new(
        tx: mpsc::UnboundedSender<Msg>,
        config_path: PathBuf,
        checks: berth_config::Checks,
        web: crate::web::Supervisor,
    ) -> Self {
        Self {
            tx,
            config_path,
            checks,
            one_reload: Arc::default(),
            web: Arc::new(web),
        }
    }

    /// Stops berth-web (berthd is stopping; the sessions keep running).
    pub async fn stop_web(&self) {
        self.web.stop().await;
    }

    /// Asks the loop and waits for its answer.
    async fn ask<T>(&self, msg: impl FnOnce(oneshot::Sender<T>) -> Msg) -> Option<T> {
        let (done, answer) = oneshot::channel();
        self.tx.send(msg(done)).ok()?;
        answer.await.ok()
    }

    /// Queues an action for `name` and waits until it is done.
    async fn act(&self, name: &str, action: Action) -> Response {
        let owned = name.to_owned();
        self.ask(|done| Msg::Act {
            name: owned,
            action,
            done: Some(done),
        })
        .await
        .unwrap_or_else(|| loop_gone(&format!("session {name} was left as it was")))
    }

    /// "4 sessions: 3 running, ..." (see listing.rs).
    pub async fn summary(&self) -> String {
        self.ask(Msg::Summary).await.unwrap_or_default()
    }

    /// A reload asked for by signal or by `berth reload`: systemd is told.
    pub async fn reload(&self) -> Response {
        crate::notify::reloading();
        let response = self.apply_config().await;
        crate::notify::ready(&self.summary().await);
        // What replacing many hosts allocated (configs, plans, the hosts'
        // connections) is free again: give it back, or an idle berthd
        // keeps its largest reload's high-water mark.
        let _ = tokio::task::spawn_blocking(berth_log::memory::release).await;
        // And again once the blocking threads the reload woke have ended
        // (their arenas and caches hold what they freed until then), with
        // this loop thread's own cache emptied first (it freed the most).
        tokio::spawn(async {
            tokio::time::sleep(crate::BLOCKING_KEEP_ALIVE * 2).await;
            berth_log::memory::flush_thread_cache();
        });
        response
    }

    /// Loads the config and makes it so. An invalid config changes nothing.
    pub async fn apply_config(&self) -> Response {
        let _one = self.one_reload.lock().await;
        let (path, checks) = (self.config_path.clone(), self.checks);
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
        // berth-web is applied after the sessions: their groups exist then.
        let web = config.web.clone();
        let dashboards: Vec<_> = config.dashboards.values().cloned().collect();
        let groups = config
            .sessions
            .values()
            .map(|s| s.access.group.clone())
            .collect();
        let config = Box::new(config);
        let Some(Applied {
            mut plan,
            sessions,
            args,
        }) = self.ask(|done| Msg::Apply { config, done }).await
        else {
            return loop_gone("the config was not applied");
        };
        let mut failed = BTreeMap::new();
        let mut note = |name: String, response: Response| {
            if let Response::Error { message, .. } = response {
                tracing::error!(session = %name, "reload: {message}");
                failed.insert(name, message);
            }
        };
        let mut stops =
            futures_util::stream::iter(plan.stop.clone().into_iter().map(|name| async move {
                let done = self.act(&name, Action::StopHost { forget: true }).await;
                (name, done)
            }))
            .buffer_unordered(AT_ONCE);
        while let Some((name, done)) = stops.next().await {
            note(name, done);
        }
        drop(stops);
        // Only the program changed: the host restarts it, the screen stays.
        // A host that cannot take it (gone, or too old) is replaced instead.
        let mut reconfigures =
            futures_util::stream::iter(std::mem::take(&mut plan.reconfigure).into_iter().map(
                |name| {
                    let action = Action::Reconfigure {
                        session: Box::new(sessions[&name].clone()),
                        args: args[&name].clone(),
                    };
                    async move {
                        let done = self.act(&name, action).await;
                        (name, done)
                    }
                },
            ))
            .buffer_unordered(AT_ONCE);
        while let Some((name, done)) = reconfigures.next().await {
            match done {
                Response::Error { message, .. } => {
                    tracing::warn!(session = %name, "cannot reconfigure the running host ({message}); replacing it");
                    plan.restart.push(name);
                }
                _ => plan.reconfigure.push(name),
            }
        }
        drop(reconfigures);
        plan.reconfigure.sort();
        // In `after` order, wave by wave (the embedded backend's reading of
        // it; systemd orders units itself), up to AT_ONCE at a time.
        let starting: Vec<String> = plan.start.iter().chain(&plan.restart).cloned().collect();
        let total = starting.len();
        let mut started = 0;
        for wave in crate::reconcile::start_waves(&starting, |n| sessions[n].after.clone()) {
            let mut starts = futures_util::stream::iter(wave.into_iter().map(|name| {
                let session = Box::new(sessions[&name].clone());
                let args = args[&name].clone();
                let replace = plan.restart.contains(&name);
                async move {
                    let done = self.start_one(&name, session, args, replace).await;
                    (name, done)
                }
            }))
            .buffer_unordered(AT_ONCE);
            while let Some((name, done)) = starts.next().await {
                note(name, done);
                started += 1;
                if started % 50 == 0 || started == total {
                    let progress = format!("reloading: {started} of {total} hosts started");
                    tracing::info!("{progress}");
                    crate::notify::status(&progress);
                }
            }
        }
        let mut changed = plan.restart.clone();
        changed.extend(plan.reconfigure.iter().cloned());
        changed.sort();
        for (name, what) in &plan.changes {
            tracing::info!(session = %name, settings = %what, "session changed");
        }
        tracing::info!(added = ?plan.start, removed = ?plan.stop, replaced = ?plan.restart, reconfigured = ?plan.reconfigure, "configuration applied");
        let dashboards: Vec<_> = dashboards.iter().collect();
        if let Err(e) = self.web.apply(web.as_ref(), &dashboards, groups).await {
            tracing::error!("[web]: {e:#}");
            return Response::Error {
                code: ErrorCode::Internal,
                message: format!("the sessions were applied, but the web dashboard was not: {e:#}"),
            };
        }
        Response::Reloaded {
            added: plan.start,
            removed: plan.stop,
            changed,
            unchanged: plan.keep,
            failed,
        }
    }

    /// Starts `name` anew, or replaces its host (`replace`): what happened.
    async fn start_one(
        &self,
        name: &str,
        session: Box<Session>,
        args: Vec<String>,
        replace: bool,
    ) -> Response {
        if replace {
            let stopped = self.act(name, Action::StopHost { forget: false }).await;
            if matches!(stopped, Response::Error { .. }) {
                return stopped;
            }
            let updated = self.act(name, Action::Update { session, args }).await;
            if matches!(updated, Response::Error { .. }) {
                return updated;
            }
        } else if self.tx.send(Msg::Add { session, args }).is_err() {
            return loop_gone(&format!("session {name} was not started"));
        }
        self.act(name, Action::StartHost).await
    }
}

impl<B: Backend> Daemon<B> {
    /// Takes `config` as the wanted state and says what must change.
    pub(super) fn apply(&mut self, config: Config) -> Applied {
        let b = &self.backend;
        let args: BTreeMap<String, Vec<String>> = config
            .sessions
            .values()
            .map(|s| (s.name.clone(), b.args(s)))
            .collect();
        let wanted: BTreeMap<String, HostLine> = config
            .sessions
            .values()
            .map(|s| {
                let line = HostLine {
                    args: args[&s.name].clone(),
                    unit: b.unit(s),
                };
                (s.name.clone(), line)
            })
            .collect();
        let running: BTreeMap<String, HostLine> = self
            .managed
            .iter()
            .map(|(n, m)| {
                let line = HostLine {
                    args: m.record.args.clone(),
                    unit: m.record.unit.clone(),
                };
                (n.clone(), line)
            })
            .collect();
        let pinned: Vec<String> = self
            .managed
            .iter()
            .filter(|(_, m)| m.record.adhoc)
            .map(|(n, _)| n.clone())
            .collect();
        let plan = plan(&wanted, &running, &pinned, b.reconfigures());
        // Sessions kept: take the config's copy (adopted ones had a placeholder).
        for name in &plan.keep {
            if let (Some(m), Some(s)) = (self.managed.get_mut(name), config.sessions.get(name)) {
                m.session = s.clone();
            }
        }
        let sessions = config.sessions.clone();
        self.config = Some(config);
        Applied {
            plan,
            sessions,
            args,
        }
    }
}
