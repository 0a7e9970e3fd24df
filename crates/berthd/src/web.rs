//! berth-web, while `[web]` is configured. In system mode berthd makes
//! its account (`_berth-web`, a member of every session socket's group so
//! it can open the sockets, which grants nothing by itself), starts it as
//! root with `--user`, and replaces it when a reload changes what it was
//! started with. In user mode it runs as berthd's own user with
//! `--single-user`: it serves that user alone, reaching the sessions as
//! that user (no account to make, no one else to speak for). Under the systemd backend it is the transient unit
//! `berth-web.service`, sandboxed on its own (berthd's unit has no
//! network) and restarted by systemd; under the embedded backend it is
//! berthd's child, restarted with backoff, and it exits when berthd does
//! (it holds the read end of a pipe berthd never writes).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use berth_config::access::WEB_ACCOUNT;
use berth_config::dashboard::Dashboard;
use berth_config::web::{Listen, Metrics, Web};
use nix::unistd::User;
use tokio::sync::{oneshot, Mutex};

/// A berth-web that ran this long had started fine: the backoff restarts.
const RAN_FINE: Duration = Duration::from_secs(60);
/// The longest wait between restarts.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// berth-web gets this long to stop on SIGTERM before SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(5);
/// berth-web says it is alive every 5 s; this long without a word, it is
/// taken for hung and restarted (as systemd's watchdog does for the unit).
pub const SILENT_FOR: Duration = Duration::from_secs(20);

/// What berth-web is started with: its command line and its account's
/// groups. A change to either restarts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wanted {
    pub args: Vec<String>,
    pub groups: BTreeSet<String>,
}

struct Running {
    wanted: Wanted,
    /// The embedded backend's child: how to stop its supervising task.
    /// `None`: the systemd unit.
    child: Option<(oneshot::Sender<()>, tokio::task::JoinHandle<()>)>,
}

pub struct Supervisor {
    runtime: PathBuf,
    /// Run it as a systemd unit (the systemd backend), not as a child.
    as_unit: bool,
    /// berthd runs in user mode: berth-web serves its user alone.
    single_user: bool,
    running: Mutex<Option<Running>>,
}

/// berth-web's command line for `web` (without the binary).
/// `single_user`: berthd runs in user mode (see the module's comment).
pub fn args(
    web: &Web,
    dashboards: &[&Dashboard],
    runtime: &Path,
    single_user: bool,
) -> Vec<String> {
    let mut a = vec![
        "--listen".to_owned(),
        web.listen.to_string(),
        "--runtime-dir".to_owned(),
        runtime.display().to_string(),
    ];
    match single_user {
        true => a.push("--single-user".to_owned()),
        false => a.extend(["--user".to_owned(), WEB_ACCOUNT.to_owned()]),
    }
    if let Some(tls) = &web.tls {
        a.extend([
            "--tls-cert".to_owned(),
            tls.cert.display().to_string(),
            "--tls-key".to_owned(),
            tls.key.display().to_string(),
        ]);
    }
    if web.allow_input {
        a.push("--allow-input".to_owned());
    }
    match &web.metrics {
        Metrics::Loopback => a.extend(["--metrics".to_owned(), "loopback".to_owned()]),
        Metrics::Off => a.extend(["--metrics".to_owned(), "off".to_owned()]),
        Metrics::Token(path) => a.extend([
            "--metrics".to_owned(),
            "token".to_owned(),
            "--metrics-token-file".to_owned(),
            path.display().to_string(),
        ]),
    }
    for d in dashboards {
        let sessions: Vec<&str> = d.sessions.iter().map(|s| s.as_str()).collect();
        a.push("--dashboard".to_owned());
        a.push(format!(
            "{}:{}:{}",
            d.name,
            d.layout.as_str(),
            sessions.join(",")
        ));
    }
    a
}

impl Supervisor {
    pub fn new(runtime: PathBuf, as_unit: bool, single_user: bool) -> Self {
        Self {
            runtime,
            as_unit,
            single_user,
            running: Mutex::new(None),
        }
    }

    /// Makes berth-web run as `web` says (`None`: not at all).
    pub async fn apply(
        &self,
        web: Option<&Web>,
        dashboards: &[&Dashboard],
        groups: BTreeSet<String>,
    ) -> anyhow::Result<()> {
        let wanted = web.map(|w| Wanted {
            args: args(w, dashboards, &self.runtime, self.single_user),
            groups,
        });
        let mut running = self.running.lock().await;
        if running.as_ref().map(|r| &r.wanted) == wanted.as_ref() {
            return Ok(());
        }
        // A new berth-web (or none) knows no cookies: every live login
        // ends with the old one, here too, so no host takes it for one.
        berth_config::logins::remove_all(&self.runtime);
        match running.take() {
            Some(Running {
                child: Some((stop, task)),
                ..
            }) => {
                let _ = stop.send(());
                let _ = task.await;
            }
            Some(Running { child: None, .. }) => crate::backend::systemd::stop_web().await?,
            None => {}
        }
        let Some(wanted) = wanted else {
            return Ok(());
        };
        if self.single_user {
            if nix::unistd::geteuid().is_root() {
                bail!("berth-web never runs as root, and in user mode it runs as berthd's user: run berthd as root without --user (system mode) to serve the dashboard, or run it as yourself");
            }
        } else {
            // useradd and usermod (and the account lookups before them) run
            // off berthd's loop: with LDAP or a slow disk they take a while.
            let groups = wanted.groups.clone();
            tokio::task::spawn_blocking(move || ensure_account(&groups)).await??;
        }
        let binary = binary()?;
        let dir = self.runtime.join("web");
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("failed to create {}", dir.display()))?;
        let child = match self.as_unit {
            true => {
                let mut argv = vec![binary.display().to_string()];
                argv.extend(wanted.args.iter().cloned());
                let mut writable = Vec::new();
                if let Some(Listen::Unix(path)) = web.map(|w| &w.listen) {
                    if let Some(parent) = path.parent() {
                        writable.push(parent.display().to_string());
                    }
                }
                crate::backend::systemd::start_web(argv, writable).await?;
                tracing::info!(
                    unit = crate::backend::systemd::WEB_UNIT,
                    "berth-web started"
                );
                None
            }
            false => {
                let (stop, stopped) = oneshot::channel();
                let mut args = wanted.args.clone();
                args.push("--exit-with-stdin".to_owned());
                Some((stop, tokio::spawn(supervise(binary, args, stopped))))
            }
        };
        *running = Some(Running { wanted, child });
        Ok(())
    }

    /// Stops berth-web (berthd is stopping).
    pub async fn stop(&self) {
        if let Err(e) = self.apply(None, &[], BTreeSet::new()).await {
            tracing::warn!("stopping berth-web: {e:#}");
        }
    }
}

/// berth-web next to this executable, else the packaged location.
fn binary() -> anyhow::Result<PathBuf> {
    crate::helper_binary("berth-web").ok_or_else(|| {
        anyhow::anyhow!("[web] is configured but berth-web is neither next to berthd nor in /usr/libexec/berth/; install it, or remove [web]")
    })
}

/// Creates `_berth-web` if missing and puts it in `groups` (the session
/// sockets' groups).
fn ensure_account(groups: &BTreeSet<String>) -> anyhow::Result<()> {
    if let Some(gate) = std::env::var_os(berth_config::web::TEST_HOLD_ACCOUNT_ENV) {
        let gate = PathBuf::from(gate);
        tracing::info!("test hook: the web account waits for {}", gate.display());
        let until = Instant::now() + Duration::from_secs(60);
        while !gate.exists() && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    let run = |cmd: &mut std::process::Command| -> anyhow::Result<()> {
        let out = cmd
            .output()
            .with_context(|| format!("failed to run {cmd:?}"))?;
        if !out.status.success() {
            bail!(
                "{cmd:?} failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(())
    };
    if User::from_name(WEB_ACCOUNT)?.is_none() {
        run(std::process::Command::new("useradd").args([
            "--system",
            "--shell",
            "/usr/sbin/nologin",
            "--home-dir",
            "/nonexistent",
            "--no-create-home",
            "--user-group",
            WEB_ACCOUNT,
        ]))?;
        tracing::info!(user = WEB_ACCOUNT, "created the web dashboard's account");
    }
    let member = |g: &str| {
        nix::unistd::Group::from_name(g)
            .ok()
            .flatten()
            .is_some_and(|g| g.mem.iter().any(|m| m == WEB_ACCOUNT))
    };
    for g in groups.iter().filter(|g| !member(g)) {
        run(std::process::Command::new("usermod").args(["--append", "--groups", g, WEB_ACCOUNT]))?;
    }
    Ok(())
}

/// Runs berth-web until `stop`, restarting it when it dies.
async fn supervise(binary: PathBuf, args: Vec<String>, mut stop: oneshot::Receiver<()>) {
    let mut failures: u32 = 0;
    loop {
        let started = Instant::now();
        let spawned = tokio::process::Command::new(&binary)
            .args(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            // berthd's own systemd conversation is not berth-web's.
            .env_remove("NOTIFY_SOCKET")
            .env_remove("WATCHDOG_USEC")
            .env_remove("WATCHDOG_PID")
            .kill_on_drop(true)
            .spawn();
        match spawned {
            Err(e) => tracing::error!("failed to start {}: {e}", binary.display()),
            Ok(mut child) => {
                // Held, never written: berth-web sees EOF when berthd is
                // gone. (Taken out: wait() would close it.)
                let _stdin = child.stdin.take();
                let heartbeats = child.stdout.take();
                tracing::info!(pid = child.id(), "berth-web started");
                tokio::select! {
                    status = child.wait() => {
                        let status = status.map_or_else(|e| e.to_string(), |s| s.to_string());
                        tracing::warn!("berth-web ended ({status})");
                    }
                    () = went_quiet(heartbeats) => {
                        tracing::warn!("berth-web stopped answering (no heartbeat for {}s); restarting it", SILENT_FOR.as_secs());
                        let _ = child.kill().await;
                    }
                    _ = &mut stop => {
                        end(&mut child).await;
                        return;
                    }
                }
            }
        }
        failures = if started.elapsed() > RAN_FINE {
            1
        } else {
            failures + 1
        };
        let delay = Duration::from_secs(1 << failures.min(5)).min(MAX_BACKOFF);
        tracing::info!("starting berth-web again in {}s", delay.as_secs());
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = &mut stop => return,
        }
    }
}

/// Returns once berth-web has said nothing on `out` for [`SILENT_FOR`]:
/// never while it keeps saying it is alive, nor once its stdout closed
/// (it is ending: its exit is what is watched then).
async fn went_quiet(out: Option<tokio::process::ChildStdout>) {
    use tokio::io::AsyncBufReadExt as _;
    let Some(out) = out else {
        return std::future::pending().await;
    };
    let mut lines = tokio::io::BufReader::new(out).lines();
    loop {
        match tokio::time::timeout(SILENT_FOR, lines.next_line()).await {
            Ok(Ok(Some(_))) => continue,
            // Its stdout closed: it is ending; its exit is what tells.
            Ok(_) => return std::future::pending().await,
            Err(_) => return,
        }
    }
}

/// SIGTERM, then SIGKILL after the grace.
async fn end(child: &mut tokio::process::Child) {
    if let Some(pid) = child.id() {
        let pid = nix::unistd::Pid::from_raw(pid as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
    }
    if tokio::time::timeout(STOP_GRACE, child.wait())
        .await
        .is_err()
    {
        let _ = child.kill().await;
    }
    tracing::info!("berth-web stopped");
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_config::web::{Listen, Tls};

    #[test]
    fn every_setting_reaches_the_command_line() {
        let web = Web {
            listen: Listen::parse("0.0.0.0:443").unwrap(),
            tls: Some(Tls {
                cert: "/c.pem".into(),
                key: "/k.pem".into(),
            }),
            allow_input: true,
            token_ttl: Duration::from_secs(1800),
            metrics: Metrics::Token("/t".into()),
        };
        let d = Dashboard {
            name: "ops".into(),
            sessions: vec![
                berth_config::dashboard::Selector::parse("ci-*").unwrap(),
                berth_config::dashboard::Selector::parse("db").unwrap(),
            ],
            layout: berth_config::dashboard::Layout::MainVertical,
            file: "/etc/berth/berth.toml".into(),
            line: 1,
        };
        assert_eq!(
            args(&web, &[&d], Path::new("/run/berth"), false).join(" "),
            "--listen 0.0.0.0:443 --runtime-dir /run/berth --user _berth-web --tls-cert /c.pem --tls-key /k.pem --allow-input --metrics token --metrics-token-file /t --dashboard ops:main-vertical:ci-*,db"
        );
        assert_eq!(
            args(&web, &[], Path::new("/run/user/1000/berth"), true).join(" "),
            "--listen 0.0.0.0:443 --runtime-dir /run/user/1000/berth --single-user --tls-cert /c.pem --tls-key /k.pem --allow-input --metrics token --metrics-token-file /t"
        );
    }
}
