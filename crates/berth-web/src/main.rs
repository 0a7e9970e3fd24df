//! berth-web: started by berthd when `[web]` is configured. berthd starts
//! it as root with `--user _berth-web`; it binds its listener and reads
//! the TLS key, then becomes that account for good
//! before it reads a byte from the network. It holds no rights of its
//! own: every session it shows, it reaches through the session's socket
//! speaking for the person logged in (see ARCHITECTURE.md, "The web side").

use std::sync::{Arc, Mutex};

use anyhow::{bail, Context as _};
use berth_config::web::Tls;
use berth_web::args::Args;

mod assets;
mod follow;
mod guard;
mod http;
mod listen;
mod live;
mod metrics;
mod replay;
mod sessions;
mod tokens;

fn main() -> std::process::ExitCode {
    berth_log::inherited::close_on_exec();
    let args: Args = berth_log::usage::parse_or_exit("berth-web", 2);
    berth_log::init("berth-web");
    match start(args) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("berth-web: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn start(args: Args) -> anyhow::Result<()> {
    // Before anything is bound: a root without --user touches nothing.
    if args.user.is_none() && nix::unistd::geteuid().is_root() {
        bail!(
            "refusing to run as root: berthd starts berth-web with --user {}",
            berth_config::access::WEB_ACCOUNT
        );
    }
    if !args.listen.is_local() && args.tls_cert.is_none() {
        bail!(
            "{} is reachable from other hosts: give --tls-cert and --tls-key, or listen on loopback",
            args.listen
        );
    }
    let tls = args.tls_cert.clone().zip(args.tls_key.clone());
    let tls = tls.map(|(cert, key)| Tls { cert, key });
    // Everything that needs root, first.
    let bound = listen::bind(&args.listen, tls.as_ref())?;
    let metrics = match (args.metrics.as_str(), &args.metrics_token_file) {
        ("off", _) => metrics::Access::Off,
        ("token", Some(path)) => metrics::Access::Token(metrics::read_token(path)?),
        _ => metrics::Access::Loopback,
    };
    if let Some(user) = &args.user {
        berth_log::account::become_user("berth-web", user)?;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("failed to start the runtime")?;
    let state = http::State {
        tokens: Arc::new(Mutex::new(tokens::Tokens::default())),
        sessions: Arc::new(sessions::Sessions::new(
            args.runtime_dir.clone(),
            args.dashboards,
        )),
        allow_input: args.allow_input,
        single_user: args.single_user.then(|| nix::unistd::geteuid().as_raw()),
        https: tls.is_some(),
        metrics,
        control: berth_config::paths::control_socket(&args.runtime_dir),
        runtime: args.runtime_dir.clone(),
        views: Arc::new(berth_proto::server::ConnLimit::per_uid(
            live::VIEWS_PER_PERSON,
        )),
        loopback: match &args.listen {
            berth_config::web::Listen::Tcp(addr) if addr.ip().is_loopback() && tls.is_none() => {
                Some(*addr)
            }
            _ => None,
        },
    };
    tracing::info!(listen = %args.listen, "berth-web serving");
    let exit_with_stdin = args.exit_with_stdin;
    runtime.block_on(async move {
        let incoming = bound.incoming().context("failed to start accepting")?;
        let parent_gone = async {
            match exit_with_stdin {
                true => {
                    use tokio::io::AsyncReadExt as _;
                    let mut sink = Vec::new();
                    let _ = tokio::io::stdin().read_to_end(&mut sink).await;
                }
                false => std::future::pending().await,
            }
        };
        tokio::select! {
            r = http::serve(incoming, state.clone()) => r.context("the web server stopped"),
            () = heartbeat() => unreachable!("the heartbeat never stops"),
            () = state.sessions.end_idle_follows() => unreachable!("ending idle follows never stops"),
            () = parent_gone => {
                tracing::info!("berthd is gone: berth-web stopping");
                Ok(())
            }
        }
    })
}

/// How often berth-web says it is alive.
const HEARTBEAT: std::time::Duration = std::time::Duration::from_secs(5);

/// Says, from the runtime that serves, that it still runs: a line on
/// stdout for berthd (embedded backend), WATCHDOG=1 for systemd
/// (berth-web.service's WatchdogSec). A berth-web that hangs or is
/// stopped goes quiet, and is restarted.
async fn heartbeat() {
    use tokio::io::AsyncWriteExt as _;
    // Under systemd, stdout is the journal: the watchdog alone, there.
    let systemd = std::env::var_os("NOTIFY_SOCKET").is_some();
    let mut out = tokio::io::stdout();
    loop {
        if systemd {
            let _ = sd_notify::notify(&[sd_notify::NotifyState::Watchdog]);
        } else {
            let _ = out.write_all(b"alive\n").await;
            let _ = out.flush().await;
        }
        tokio::time::sleep(HEARTBEAT).await;
    }
}
