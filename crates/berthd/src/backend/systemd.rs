//! The systemd backend: each session is a transient
//! `berth-session@NAME.service` in `berth.slice`, with a transient
//! `berth-session@NAME.socket` through which systemd creates the session
//! socket owned by the account and the access group. systemd restarts a
//! host that dies (`Restart=on-failure`); the program's restarts stay the
//! host's job. Under this backend berth-web is a transient unit too
//! (`berth-web.service`, see web.rs). This is the only module that talks
//! D-Bus.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context};
use berth_config::model::Session;
use futures_util::StreamExt;
use zbus::{OwnedVariant, Variant};
use zbus_systemd::systemd1::ManagerProxy;

use super::{Backend, Host, Layout, Program, Started};
use crate::records::{Record, Records};

#[derive(Clone)]
pub struct Systemd {
    manager: ManagerProxy<'static>,
    layout: Layout,
    records: Records,
}

/// Whether systemd runs this machine (PID 1 is systemd).
pub fn booted() -> bool {
    berth_config::model::Backend::systemd_booted()
}

pub fn service(name: &str) -> String {
    format!("berth-session@{name}.service")
}

fn socket_unit(name: &str) -> String {
    format!("berth-session@{name}.socket")
}

fn prop<'a>(key: &str, value: impl Into<Variant<'a>>) -> (String, OwnedVariant) {
    let v: Variant = value.into();
    (
        key.to_owned(),
        v.try_to_owned().expect("plain values convert"),
    )
}

impl Systemd {
    pub async fn connect(layout: Layout) -> anyhow::Result<Self> {
        let manager = manager().await?;
        let records = Records {
            runtime: layout.runtime.clone(),
        };
        Ok(Self {
            manager,
            layout,
            records,
        })
    }

    /// Session units systemd has running (or restarting), by session name.
    async fn running(&self) -> anyhow::Result<Vec<String>> {
        let units = self
            .manager
            .list_units_by_patterns(
                vec!["active".into(), "activating".into(), "reloading".into()],
                vec!["berth-session@*.service".into()],
            )
            .await?;
        let mut names: Vec<String> = units
            .into_iter()
            .filter_map(|u| {
                u.0.strip_prefix("berth-session@")?
                    .strip_suffix(".service")
                    .map(str::to_owned)
            })
            .collect();
        names.sort();
        Ok(names)
    }

    /// Starts the socket and service units and waits for systemd's verdict.
    async fn start_units(
        &self,
        s: &Session,
        socket: &Path,
        args: &[String],
        account: &str,
        group: &str,
    ) -> anyhow::Result<()> {
        let name = &s.name;
        // A unit that failed earlier stays loaded; clear it first.
        let _ = self.manager.reset_failed_unit(service(name)).await;
        let _ = self.manager.reset_failed_unit(socket_unit(name)).await;
        let socket_props = vec![
            prop("Description", format!("berth session {name} (socket)")),
            // ListenStream=, in the a(ss) form systemd takes over D-Bus.
            prop(
                "Listen",
                vec![("Stream".to_owned(), socket.display().to_string())],
            ),
            // A dynamic account exists only while its unit runs: root owns
            // the socket then, and the access group still opens it.
            prop("SocketUser", if s.dynamic_user { "root" } else { account }),
            prop("SocketGroup", group),
            prop("SocketMode", 0o660u32),
            prop("RemoveOnStop", true),
        ];
        let binary = self.layout.session_binary.display().to_string();
        let mut argv = vec![binary.clone()];
        argv.extend(args.iter().cloned());
        let mut service_props = vec![
            prop("Description", format!("berth session {name}")),
            prop("Slice", "berth.slice"),
            prop("Type", "notify"),
            prop("NotifyAccess", "main"),
            prop("User", account),
            prop("ExecStart", vec![(binary, argv, false)]),
            prop("Restart", "on-failure"),
            prop("KillMode", "control-group"),
            prop("NoNewPrivileges", s.sandbox.no_new_privileges),
            prop("ProtectSystem", s.sandbox.protect_system.as_str()),
            prop("PrivateTmp", s.sandbox.private_tmp),
        ];
        if s.dynamic_user {
            service_props.push(prop("DynamicUser", true));
            // systemd creates it for the dynamic account: /var/log/berth/NAME.
            service_props.push(prop("LogsDirectory", vec![format!("berth/{name}")]));
        }
        if let Some(m) = s.limits.memory {
            service_props.push(prop("MemoryMax", m));
        }
        if let Some(cpu) = s.limits.cpu_percent {
            service_props.push(prop("CPUQuotaPerSecUSec", u64::from(cpu) * 10_000));
        }
        if let Some(t) = s.limits.tasks {
            service_props.push(prop("TasksMax", u64::from(t)));
        }
        if !s.after.is_empty() {
            service_props.push(prop("After", s.after.clone()));
            service_props.push(prop("Wants", s.after.clone()));
        }
        let mut jobs = self.manager.receive_job_removed().await?;
        let job = self
            .manager
            .start_transient_unit(
                socket_unit(name),
                "fail".into(),
                socket_props,
                vec![(service(name), service_props)],
            )
            .await
            .with_context(|| format!("systemd refused {}", socket_unit(name)))?;
        wait_job(&mut jobs, job.as_str()).await?;
        let started = match self.manager.start_unit(service(name), "fail".into()).await {
            Ok(job) => wait_job(&mut jobs, job.as_str()).await,
            Err(e) => Err(e.into()),
        };
        if let Err(e) = started {
            // Leave nothing behind that would block the next attempt.
            let _ = self.stop_units(name).await;
            let _ = self.manager.reset_failed_unit(service(name)).await;
            let _ = self.manager.reset_failed_unit(socket_unit(name)).await;
            return Err(e).with_context(|| format!("starting {}", service(name)));
        }
        Ok(())
    }

    /// Stops the service and its socket.
    async fn stop_units(&self, name: &str) -> anyhow::Result<()> {
        let mut jobs = self.manager.receive_job_removed().await?;
        for unit in [service(name), socket_unit(name)] {
            match self.manager.stop_unit(unit.clone(), "replace".into()).await {
                Ok(job) => wait_job(&mut jobs, job.as_str()).await?,
                Err(e) => tracing::warn!(unit = %unit, "stop: {e}"),
            }
        }
        Ok(())
    }
}

impl Backend for Systemd {
    fn name(&self) -> &'static str {
        "systemd"
    }

    fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The unit's User= makes the host the account.
    fn args(&self, s: &Session) -> Vec<String> {
        self.layout.host_args(s, false)
    }

    fn unit(&self, s: &Session) -> Vec<String> {
        unit_settings(s)
    }

    /// A unit's command line is fixed when it is created: every change
    /// needs a new host.
    fn reconfigures(&self) -> bool {
        false
    }

    async fn start(&self, s: Session, args: Vec<String>, adhoc: bool) -> anyhow::Result<Started> {
        let (layout, session) = (self.layout.clone(), s.clone());
        tokio::task::spawn_blocking(move || {
            crate::accounts::prepare(&session, layout.mode, &layout.log_dir, true)
        })
        .await??;
        let account = crate::accounts::account_name(&s);
        let socket = self.socket(&s.name);
        self.start_units(&s, &socket, &args, &account, &s.access.group)
            .await?;
        let host_pid = crate::status::query(&socket)
            .await
            .map_or(0, |st| st.host_pid);
        let record = Record {
            host_pid,
            unit: self.unit(&s),
            args,
            adhoc,
            user: s.user.clone(),
        };
        self.records.save(&s.name, &record)?;
        Ok(Started {
            record,
            child: None,
        })
    }

    /// systemd's KillMode=control-group ends everything the host started.
    async fn stop(
        &self,
        name: String,
        _host: Host,
        _program: Option<Program>,
    ) -> Result<(), String> {
        if let Err(e) = self.stop_units(&name).await {
            tracing::error!(session = %name, "{e:#}");
            return Err(format!("failed to stop session {name}: {e:#}"));
        }
        self.records.forget(&name);
        Ok(())
    }

    /// systemd restarts a unit whose host died (Restart=on-failure).
    fn exited(&self, _host: &mut Host) -> bool {
        false
    }

    /// The running `berth-session@*` units are the truth; records only add
    /// what the units do not say (the command line, ad hoc or not).
    async fn adopt(&self) -> anyhow::Result<Vec<(String, Record)>> {
        let records: BTreeMap<String, Record> = self.records.all().into_iter().collect();
        let mut adopted = Vec::new();
        for name in self.running().await? {
            let mut record = records.get(&name).cloned().unwrap_or_default();
            record.host_pid = crate::status::query(&self.socket(&name))
                .await
                .map_or(0, |st| st.host_pid);
            adopted.push((name, record));
        }
        Ok(adopted)
    }

    fn save(&self, name: &str, record: &Record) -> anyhow::Result<()> {
        self.records.save(name, record)
    }

    fn forget(&self, name: &str) {
        self.records.forget(name)
    }
}

/// Waits for `job` to be removed and reports a result other than "done"
/// in systemd's own words.
async fn wait_job(
    jobs: &mut zbus_systemd::systemd1::JobRemovedStream,
    job: &str,
) -> anyhow::Result<()> {
    while let Some(signal) = jobs.next().await {
        let args = signal.args()?;
        if args.job.as_str() != job {
            continue;
        }
        return match args.result.as_str() {
            "done" => Ok(()),
            other => bail!(
                "systemd job for {} finished with result \"{other}\" (see systemctl status {} and journalctl -u {})",
                args.unit, args.unit, args.unit
            ),
        };
    }
    bail!("lost the connection to systemd while waiting for a job")
}

/// Settings of a session that live in its systemd unit, not in the host's
/// command line; part of the "changed?" fingerprint so a reload applies them.
pub fn unit_settings(s: &Session) -> Vec<String> {
    let mut v = vec![
        format!("DynamicUser={}", s.dynamic_user),
        format!("NoNewPrivileges={}", s.sandbox.no_new_privileges),
        format!("ProtectSystem={}", s.sandbox.protect_system),
        format!("PrivateTmp={}", s.sandbox.private_tmp),
    ];
    if let Some(m) = s.limits.memory {
        v.push(format!("MemoryMax={m}"));
    }
    if let Some(c) = s.limits.cpu_percent {
        v.push(format!("CPUQuota={c}%"));
    }
    if let Some(t) = s.limits.tasks {
        v.push(format!("TasksMax={t}"));
    }
    for a in &s.after {
        // A session is its unit; anything else is a unit already.
        if berth_config::model::is_unit_name(a) {
            v.push(format!("After={a}"));
        } else {
            v.push(format!("After={}", service(a)));
        }
    }
    v
}

/// berth-web's unit under the systemd backend.
pub const WEB_UNIT: &str = "berth-web.service";

/// Capabilities berth-web keeps while it is root: binding a port below
/// 1024, and becoming its account (groups, then user). Bit numbers from
/// linux/capability.h.
const WEB_CAPABILITIES: u64 = (1 << 6) | (1 << 7) | (1 << 10);

/// Starts berth-web (`argv`, binary first) as the transient
/// `berth-web.service`, with a sandbox of its own: berthd's unit has no
/// network at all, berth-web needs it, and nothing else berthd may do.
/// `writable`: where it creates sockets. systemd restarts it if it dies.
pub async fn start_web(argv: Vec<String>, writable: Vec<String>) -> anyhow::Result<()> {
    let manager = manager().await?;
    stop_web_with(&manager).await;
    let props = vec![
        prop("Description", "berth web dashboard"),
        prop("Slice", "berth.slice"),
        prop("ExecStart", vec![(argv[0].clone(), argv.clone(), false)]),
        prop("Restart", "on-failure"),
        prop("RestartUSec", 2_000_000u64),
        // berth-web says WATCHDOG=1 every 5 s from the runtime that
        // serves: one that hangs is killed and restarted.
        prop("WatchdogUSec", crate::web::SILENT_FOR.as_micros() as u64),
        prop("NotifyAccess", "main"),
        prop("KillMode", "control-group"),
        prop("NoNewPrivileges", true),
        prop("ProtectSystem", "strict"),
        prop("ProtectHome", "yes"),
        prop("PrivateTmp", true),
        prop("PrivateDevices", true),
        prop("ReadWritePaths", writable),
        prop("CapabilityBoundingSet", WEB_CAPABILITIES),
        prop(
            "RestrictAddressFamilies",
            (
                true,
                vec![
                    "AF_UNIX".to_owned(),
                    "AF_INET".to_owned(),
                    "AF_INET6".to_owned(),
                ],
            ),
        ),
        // The namespaces it may create, as a flag set: none.
        prop("RestrictNamespaces", 0u64),
        prop("LockPersonality", true),
        prop("MemoryDenyWriteExecute", true),
    ];
    let mut jobs = manager.receive_job_removed().await?;
    let job = manager
        .start_transient_unit(WEB_UNIT.into(), "replace".into(), props, vec![])
        .await
        .with_context(|| format!("systemd refused {WEB_UNIT}"))?;
    wait_job(&mut jobs, job.as_str()).await
}

/// Stops `berth-web.service` if it runs.
pub async fn stop_web() -> anyhow::Result<()> {
    stop_web_with(&manager().await?).await;
    Ok(())
}

async fn stop_web_with(manager: &ManagerProxy<'static>) {
    if let Ok(mut jobs) = manager.receive_job_removed().await {
        if let Ok(job) = manager.stop_unit(WEB_UNIT.into(), "replace".into()).await {
            let _ = wait_job(&mut jobs, job.as_str()).await;
        }
    }
    let _ = manager.reset_failed_unit(WEB_UNIT.into()).await;
}

/// systemd's manager on the system bus, subscribed: job results arrive
/// as signals only to subscribers.
async fn manager() -> anyhow::Result<ManagerProxy<'static>> {
    let conn = zbus::Connection::system()
        .await
        .context("failed to connect to the system bus")?;
    let manager = ManagerProxy::new(&conn).await?;
    manager
        .subscribe()
        .await
        .context("failed to subscribe to systemd")?;
    Ok(manager)
}
