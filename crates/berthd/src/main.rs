//! `berthd`: reads the declared sessions and keeps them running.

mod accounts;
mod backend;
mod cgroup;
mod control;
mod daemon;
mod host_logs;
mod notify;
mod orphans;
mod reconcile;
mod records;
mod rights;
mod sandbox;
mod status;
mod watch;
mod web;
mod web_login;

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use berth_config::model::Backend;
use berth_config::paths::{self, Mode};
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc;

use berthd::args::Args;

/// Threads berthd's blocking work runs on.
const BLOCKING_THREADS: usize = 16;
/// glibc heaps berthd's threads share (see `memory::limit_arenas`).
const ALLOCATOR_ARENAS: i32 = 2;
/// How long an idle blocking thread lives (tokio's default is 10 s).
pub(crate) const BLOCKING_KEEP_ALIVE: std::time::Duration = std::time::Duration::from_secs(2);

fn main() -> ExitCode {
    // What berthd's launcher left open never reaches a host or a program.
    berth_log::inherited::close_on_exec();
    berth_log::inherited::raise_descriptor_limit();
    let args: Args = berth_log::usage::parse_or_exit("berthd", 2);
    berth_log::init("berthd");
    let mode = if args.user {
        Mode::User
    } else {
        Mode::current()
    };
    let config = args
        .config
        .clone()
        .unwrap_or_else(|| paths::config_file(mode));
    if args.check {
        return check(&config, mode);
    }
    // Before any thread: one heap for the loop and the blocking threads.
    berth_log::memory::limit_arenas(ALLOCATOR_ARENAS);
    let runtime = match tokio::runtime::Builder::new_current_thread()
        // Starting hosts (useradd, binding, forking) and other blocking
        // work: a few threads, as many as a reload starts at once. Each
        // thread costs memory the allocator keeps (an arena, its caches),
        // so 500 hosts started at once must not mean 500 threads.
        .max_blocking_threads(BLOCKING_THREADS)
        // An idle blocking thread ends soon, its caches returned to the
        // allocator, so the trim after a reload finds them free.
        .thread_keep_alive(BLOCKING_KEEP_ALIVE)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("berthd: failed to start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args, mode, config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("berthd: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn check(config: &std::path::Path, mode: Mode) -> ExitCode {
    match berth_config::check_and_print(config, berth_config::Checks::new(mode), "berthd") {
        true => ExitCode::SUCCESS,
        false => ExitCode::FAILURE,
    }
}

/// A helper binary of berth (`berth-session`, `berth-web`): next to this
/// executable, else in the packaged location.
fn helper_binary(name: &str) -> Option<PathBuf> {
    let beside = std::env::current_exe().ok()?.with_file_name(name);
    [beside, PathBuf::from("/usr/libexec/berth").join(name)]
        .into_iter()
        .find(|p| p.exists())
}

/// berth-session: the flag, else next to berthd, else the packaged location.
fn session_binary(explicit: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    if let Some(p) = explicit {
        return Ok(p);
    }
    helper_binary("berth-session").ok_or_else(|| anyhow::anyhow!("cannot find berth-session next to berthd or in /usr/libexec/berth/; pass --session-binary PATH"))
}

async fn run(args: Args, mode: Mode, config: PathBuf) -> anyhow::Result<()> {
    // The flag wins; else the config's [daemon] backend (an invalid config
    // is reported by the first reload below).
    let backend = match &args.backend {
        Some(flag) => Backend::parse(flag).map_err(|m| anyhow::anyhow!("--backend: {m}"))?,
        // (Read without judging it: whether it can run here is decided below.)
        None => berth_config::load(
            &config,
            berth_config::Checks {
                mode,
                systemd: Some(false),
                trust: None,
            },
        )
        .map_or(Backend::Auto, |c| c.backend),
    };
    let use_systemd = backend
        .uses_systemd(mode, backend::systemd::booted())
        .map_err(|m| anyhow::anyhow!("{m}"))?;
    if !use_systemd {
        if let Some(line) = sandbox::warning(&sandbox::inherited()) {
            tracing::warn!("{line}");
        }
    }
    let runtime_dir = args
        .runtime_dir
        .clone()
        .unwrap_or_else(|| paths::runtime_dir(mode));
    let log_dir = args.log_dir.clone().unwrap_or_else(|| paths::log_dir(mode));
    prepare_dirs(mode, &runtime_dir, &log_dir)?;

    let control_path = paths::control_socket(&runtime_dir);
    let listener = berth_proto::socket::bind_fresh(&control_path).map_err(|e| match e {
        berth_proto::socket::BindError::InUse(_) => anyhow::anyhow!(
            "another berthd is running (it answers on {})",
            control_path.display()
        ),
        e => e.into(),
    })?;
    listener.set_nonblocking(true)?;
    let listener = tokio::net::UnixListener::from_std(listener)?;

    let layout = backend::Layout {
        mode,
        runtime: runtime_dir.clone(),
        log_dir,
        session_binary: session_binary(args.session_binary)?,
    };
    match use_systemd {
        true => {
            let backend = backend::systemd::Systemd::connect(layout).await?;
            serve(backend, config, mode, listener, &control_path).await?
        }
        false => {
            let backend = backend::embedded::Embedded::new(layout);
            serve(backend, config, mode, listener, &control_path).await?
        }
    }
    // Sessions do not depend on berthd: they keep running.
    notify::stopping();
    let _ = std::fs::remove_file(&control_path);
    tracing::info!("berthd stopping; sessions keep running");
    Ok(())
}

/// Creates berthd's directories, or takes the ones that exist once
/// nobody but berthd's own account or root could have made them or
/// anything on the way (`trust`): no link is followed and nothing is
/// chmod'ed that is not berthd's own. In system mode they are root's,
/// 0755 (hosts, as service accounts, reach their sockets through them),
/// with the host records private; in user mode, 0700.
fn prepare_dirs(
    mode: Mode,
    runtime: &std::path::Path,
    log_dir: &std::path::Path,
) -> anyhow::Result<()> {
    let open = if mode == Mode::System { 0o755 } else { 0o700 };
    for (dir, perm) in [
        (runtime.to_owned(), open),
        (paths::sessions_dir(runtime), open),
        (paths::hosts_dir(runtime), 0o700),
        (log_dir.to_owned(), open),
    ] {
        make_dir(&dir, perm)?;
    }
    Ok(())
}

fn make_dir(dir: &std::path::Path, perm: u32) -> anyhow::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt};
    match std::fs::DirBuilder::new()
        .recursive(true)
        .mode(perm)
        .create(dir)
    {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e).with_context(|| format!("failed to create {}", dir.display())),
    }
    if let Err(e) = paths::check_dir(dir) {
        bail!(
            "{}",
            e.unwrap_or_else(|| format!("{} vanished as it was created", dir.display()))
        );
    }
    let meta = std::fs::symlink_metadata(dir)?;
    if meta.uid() == nix::unistd::geteuid().as_raw() && meta.mode() & 0o7777 != perm {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(perm))
            .with_context(|| format!("failed to set the mode of {}", dir.display()))?;
    }
    Ok(())
}

/// Adopts what runs, applies the config, then serves until SIGTERM/SIGINT.
async fn serve<B: backend::Backend>(
    backend: B,
    config: PathBuf,
    mode: Mode,
    listener: tokio::net::UnixListener,
    control_path: &std::path::Path,
) -> anyhow::Result<()> {
    tracing::info!(backend = backend.name(), "berthd starting");
    let runtime_dir = backend.layout().runtime.clone();
    let log_dir = backend.layout().log_dir.clone();
    let mut daemon = daemon::Daemon::new(backend, config, mode);
    daemon.adopt().await?;
    let handle = daemon.handle();
    let (jobs_tx, jobs) = mpsc::channel::<control::Job>(64);
    tokio::spawn(daemon.run(jobs));
    if let berth_proto::Response::Error { message, .. } = handle.apply_config().await {
        bail!("{message}");
    }
    // The control socket's file gate: the berth group may open it (the
    // first reload created the group if a session uses it). Opening it
    // grants nothing: every request is checked (rights.rs).
    if mode == Mode::System {
        if let Ok(Some(group)) = nix::unistd::Group::from_name(berth_config::defaults::ACCESS_GROUP)
        {
            nix::unistd::chown(control_path, None, Some(group.gid))?;
            std::fs::set_permissions(control_path, std::fs::Permissions::from_mode(0o660))?;
        }
    }
    let status = handle.summary().await;
    tracing::info!(runtime = %runtime_dir.display(), "berthd ready; {status}");
    notify::ready(&status);
    tokio::spawn(control::serve(
        listener,
        jobs_tx,
        berth_config::defaults::HANDSHAKE_TIMEOUT,
        runtime_dir.clone(),
    ));
    let logs = log_dir.to_owned();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(host_logs::CHECK_EVERY).await;
            let logs = logs.clone();
            let _ = tokio::task::spawn_blocking(move || host_logs::rotate_all(&logs)).await;
        }
    });
    let mut hup = signal(SignalKind::hangup())?;
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    loop {
        tokio::select! {
            _ = hup.recv() => {
                tracing::info!("SIGHUP: reloading the configuration");
                let handle = handle.clone();
                tokio::spawn(async move { handle.reload().await });
            }
            _ = term.recv() => break,
            _ = int.recv() => break,
        }
    }
    handle.stop_web().await;
    Ok(())
}
