//! The verbs.

use std::io::Write;
use std::path::Path;

use anyhow::bail;
use berth_proto::{CaptureRequest, DaemonRequest, Request, Response, SessionSummary, Status};

use crate::connect::{connect, request_error, Session};
use crate::scripting;
use berth_cli::cli::{Cli, Cmd};
use berth_cli::locate;

/// Runs one command; the value is the exit code.
pub fn run(cli: Cli) -> anyhow::Result<u8> {
    let socket = cli.socket.as_deref();
    let runtime = cli.runtime_dir.as_deref();
    if crate::remote::fleet() {
        crate::remote::refuse_local_only(socket.is_some())?;
        match &cli.command {
            Cmd::Ls { json } => return crate::fleet::ls(*json),
            Cmd::Watch { .. } | Cmd::Mcp { .. } => {}
            _ => bail!("several hosts are for ls, watch and mcp; give this verb one -H"),
        }
    }
    match cli.command {
        Cmd::Ls { json } => ls(socket, runtime, json),
        Cmd::DialStdio { session, control } => {
            if crate::remote::host().is_some() {
                bail!("dial-stdio joins a socket of this host (the far end of -H); leave -H and BERTH_HOST out");
            }
            let stream = match (session, control) {
                (Some(name), _) => {
                    let path = locate::find(&name, socket, runtime)?;
                    crate::connect::session_stream(&name, &path)?
                }
                (None, _) => crate::connect::control_stream(runtime)?,
            };
            crate::remote::dial_stdio(stream)
        }
        Cmd::Watch {
            name,
            dashboard,
            config,
            layout,
        } => {
            if socket.is_some() {
                bail!("--socket names one session; berth watch takes session names or globs");
            }
            let args = crate::watch::Args {
                sessions: name,
                dashboard,
                config,
                layout,
            };
            crate::watch::run(args, runtime)
        }
        Cmd::Web { verb } => crate::web::run(&verb, runtime),
        Cmd::Mcp {
            read_only,
            sessions,
        } => {
            if socket.is_some() {
                bail!("--socket names one session; berth mcp serves sessions by name (--sessions)");
            }
            let opts = crate::mcp::Options {
                read_only,
                sessions,
                runtime: runtime.map(Path::to_path_buf),
            };
            crate::mcp::serve(opts)
        }
        Cmd::Has { name } => Ok(has(&name, socket, runtime)),
        Cmd::Attach {
            name,
            read_only,
            detach_others,
            detach_key,
            nested,
        } => {
            let opts = crate::attach::Options {
                read_only,
                detach_others,
                prefix: detach_key,
                nested,
            };
            // Refuse a missing terminal before connecting or touching anything.
            let interactive = crate::attach::check_terminal(&opts)?;
            let name = match name {
                Some(name) => name,
                None => most_recent(runtime)?,
            };
            attach_to(&name, socket, runtime, &opts, interactive)
        }
        Cmd::Capture {
            name,
            start,
            end,
            escapes,
            join,
            since,
            json,
        } => {
            let req = CaptureRequest {
                start,
                end,
                escapes,
                join,
                since,
            };
            scripting::capture(&name, open(&name, socket, runtime)?, &req, json)
        }
        Cmd::Send {
            name,
            literal,
            paste,
            json,
            wait,
            timeout,
            keys,
        } => {
            let waits = wait.is_some();
            let send = || {
                let args = scripting::SendArgs {
                    keys,
                    typing: berth_proto::keys::Typing::from_wire(literal, paste),
                    json,
                    wait,
                    timeout,
                };
                scripting::send(&name, open(&name, socket, runtime)?, args)
            };
            match waits {
                true => scripting::guarded(send),
                false => send(),
            }
        }
        Cmd::Wait {
            name,
            pattern,
            timeout,
            since,
            screen,
            json,
        } => scripting::guarded(|| {
            let args = scripting::WaitArgs {
                pattern,
                timeout,
                since,
                screen,
                json,
            };
            scripting::wait(&name, open(&name, socket, runtime)?, args)
        }),
        Cmd::Run {
            name,
            timeout,
            interrupt_on_timeout,
            json,
            max_lines,
            command,
        } => scripting::guarded(|| {
            let session = open(&name, socket, runtime)?;
            let a = scripting::RunArgs {
                command,
                timeout,
                interrupt_on_timeout,
                max_lines,
                json,
            };
            scripting::run(&name, session, a)
        }),
        Cmd::Result {
            name,
            wait,
            json,
            max_lines,
        } => scripting::guarded(|| {
            let session = open(&name, socket, runtime)?;
            scripting::result(&name, session, wait, max_lines, json)
        }),
        Cmd::Interrupt {
            name,
            grace,
            json,
            max_lines,
        } => scripting::guarded(|| {
            let session = open(&name, socket, runtime)?;
            scripting::interrupt(&name, session, grace, max_lines, json)
        }),
        Cmd::Logs {
            name,
            follow,
            plain,
            lines,
        } => scripting::logs(&name, open(&name, socket, runtime)?, follow, plain, lines),
        Cmd::Rec {
            name,
            since,
            until,
            last_commands,
            output,
            idle_limit,
            list,
            json,
        } => {
            let req = crate::rec::request(since, until, last_commands, idle_limit)?;
            let session = open(&name, socket, runtime)?;
            if list {
                crate::rec::list(&name, session, req, json)
            } else {
                crate::rec::export(&name, session, req, output)
            }
        }
        Cmd::Status { name, json } => status(&name, socket, runtime, json),
        Cmd::Validate { config, system } => validate(config, system, runtime),
        Cmd::Reload => match daemon(runtime, DaemonRequest::Reload)? {
            Response::Reloaded {
                added,
                removed,
                changed,
                unchanged,
                failed,
            } => {
                let list = |v: &[String]| {
                    if v.is_empty() {
                        "-".to_owned()
                    } else {
                        v.join(", ")
                    }
                };
                println!(
                    "reloaded: added {}; removed {}; changed {}; unchanged {}",
                    list(&added),
                    list(&removed),
                    list(&changed),
                    list(&unchanged)
                );
                // Each failure on a line of its own, and a failed exit.
                for (name, why) in &failed {
                    eprintln!("berth: reload: session {name}: {why}");
                }
                Ok(if failed.is_empty() { 0 } else { 1 })
            }
            other => bail!("unexpected reply from berthd: {other:?}"),
        },
        Cmd::New {
            name,
            user,
            attach,
            if_missing,
            command,
        } => {
            let opts = crate::attach::Options {
                read_only: false,
                detach_others: false,
                prefix: 0x02, // C-b, as attach
                nested: false,
            };
            // -A: refuse a missing terminal before creating anything.
            let interactive = match attach {
                true => Some(crate::attach::check_terminal(&opts)?),
                false => None,
            };
            let exists = (attach || if_missing) && has(&name, socket, runtime) == 0;
            if !exists {
                let req = DaemonRequest::New {
                    name: name.clone(),
                    user,
                    command,
                };
                daemon(runtime, req)?;
            }
            match interactive {
                Some(interactive) => attach_to(&name, socket, runtime, &opts, interactive),
                None => Ok(0),
            }
        }
        // With --socket, the host itself: one started by hand has no berthd.
        Cmd::Kill { name } => match socket {
            Some(_) => host_verb(&name, socket, &Request::Kill),
            None => daemon(runtime, DaemonRequest::Kill { name }).map(|_| 0),
        },
        Cmd::Start { name } => match socket {
            Some(_) => host_verb(&name, socket, &Request::Start),
            None => berthd_or_host(
                &name,
                runtime,
                DaemonRequest::Start { name: name.clone() },
                &Request::Start,
            ),
        },
        Cmd::Stop { name } => match socket {
            Some(_) => host_verb(&name, socket, &Request::Stop),
            None => berthd_or_host(
                &name,
                runtime,
                DaemonRequest::Stop { name: name.clone() },
                &Request::Stop,
            ),
        },
        Cmd::Restart { name } => {
            let mut s = open(&name, socket, runtime)?;
            call(&name, &mut s, &Request::Restart)?;
            Ok(0)
        }
    }
}

pub(crate) fn open(
    name: &str,
    socket: Option<&Path>,
    runtime: Option<&Path>,
) -> anyhow::Result<Session> {
    if let Some(remote) = crate::remote::host() {
        crate::remote::refuse_local_only(socket.is_some())?;
        return crate::connect::connect_remote(remote, name);
    }
    let path = locate::find(name, socket, runtime)?;
    let s = connect(name, &path)?;
    // A socket named by path answers for one session: the name given
    // must be its own.
    if socket.is_some() && s.session != name {
        bail!(
            "{} is the socket of session {:?}, not {name:?}",
            path.display(),
            s.session
        );
    }
    Ok(s)
}

/// Attaches this terminal (`interactive`), or streams the screen as text.
fn attach_to(
    name: &str,
    socket: Option<&Path>,
    runtime: Option<&Path>,
    opts: &crate::attach::Options,
    interactive: bool,
) -> anyhow::Result<u8> {
    let session = open(name, socket, runtime)?;
    if interactive {
        crate::attach::interactive(name, session, opts)
    } else {
        crate::attach::text_stream(name, session, opts)
    }
}

/// `stop` and `start`: through berthd, or, when its control socket is
/// closed to the caller (an operator of a session with its own
/// access.group need not be in the berth group) or berthd is down, to the
/// session's host itself, which checks the operator right as berthd
/// would (berthd only forwards these to the host).
fn berthd_or_host(
    name: &str,
    runtime: Option<&Path>,
    through_berthd: DaemonRequest,
    to_host: &Request,
) -> anyhow::Result<u8> {
    let e = match daemon(runtime, through_berthd) {
        Ok(_) => return Ok(0),
        Err(e) => e,
    };
    let closed = crate::connect::is_control_closed(&e) || crate::connect::is_not_running(&e);
    match closed {
        true => match open(name, None, runtime) {
            Ok(mut s) => {
                call(name, &mut s, to_host)?;
                Ok(0)
            }
            // No host to ask either: berthd's answer says more.
            Err(_) => Err(e),
        },
        false => Err(e),
    }
}

/// A lifecycle verb sent to the host behind `--socket`.
fn host_verb(name: &str, socket: Option<&Path>, req: &Request) -> anyhow::Result<u8> {
    let mut s = open(name, socket, None)?;
    call(name, &mut s, req)?;
    Ok(0)
}

fn call(name: &str, s: &mut Session, req: &Request) -> anyhow::Result<Response> {
    s.call(req).map_err(|e| request_error(name, e))
}

/// Sends one request to berthd's control socket.
pub(crate) fn daemon(runtime: Option<&Path>, req: DaemonRequest) -> anyhow::Result<Response> {
    daemon_at(crate::remote::host(), runtime, req)
}

/// [`daemon`] on `remote` (`None`: this host).
pub(crate) fn daemon_at(
    remote: Option<&crate::remote::Remote>,
    runtime: Option<&Path>,
    req: DaemonRequest,
) -> anyhow::Result<Response> {
    let mut client = crate::connect::daemon_at(remote, runtime)?;
    client
        .call(&Request::Daemon(req))
        .map_err(|e| crate::connect::request_error("berthd", e))
}

fn validate(
    config: Option<std::path::PathBuf>,
    system: bool,
    runtime: Option<&Path>,
) -> anyhow::Result<u8> {
    use berth_config::paths;
    // Not told: the config the running berthd reads, as it reads it; with
    // none running, the one berthd would read started by this user.
    let (path, mode) = match config {
        Some(path) => {
            let mode = paths::mode_for_config(&path);
            (path, mode)
        }
        None => match daemon(runtime, DaemonRequest::ConfigFile) {
            Ok(Response::ConfigFile { path, mode }) => {
                eprintln!("berth: checking {path}, the config the running berthd reads");
                let mode = match mode.as_str() {
                    "system" => paths::Mode::System,
                    _ => paths::Mode::User,
                };
                (std::path::PathBuf::from(path), mode)
            }
            _ => {
                let mode = paths::Mode::current();
                let path = paths::config_file(mode);
                eprintln!(
                    "berth: checking {}, the config berthd reads when started by you (--config FILE checks another)",
                    path.display()
                );
                (path, mode)
            }
        },
    };
    let mode = match system {
        true => paths::Mode::System,
        false => mode,
    };
    let valid = berth_config::check_and_print(&path, berth_config::Checks::new(mode), "berth");
    Ok(if valid { 0 } else { 1 })
}

fn has(name: &str, socket: Option<&Path>, runtime: Option<&Path>) -> u8 {
    match open(name, socket, runtime).and_then(|mut s| call(name, &mut s, &Request::Status)) {
        Ok(Response::Status(_)) => 0,
        _ => 1,
    }
}

fn fetch_status(name: &str, s: &mut Session) -> anyhow::Result<Status> {
    s.status().map_err(|e| request_error(name, e))
}

fn status(
    name: &str,
    socket: Option<&Path>,
    runtime: Option<&Path>,
    json: bool,
) -> anyhow::Result<u8> {
    let mut s = open(name, socket, runtime)?;
    let st = fetch_status(name, &mut s)?;
    let mut out = std::io::stdout().lock();
    if json {
        writeln!(out, "{}", serde_json::to_string_pretty(&st)?)?;
    } else {
        out.write_all(crate::render::status(&st).as_bytes())?;
    }
    Ok(0)
}

/// Every session, as `ls` lists them: from berthd, which knows every
/// session it manages, else by scanning the sockets (with the line that
/// says why the list may be partial, when berthd refused rather than
/// being absent).
pub(crate) fn session_rows(
    runtime: Option<&Path>,
) -> anyhow::Result<(Vec<SessionSummary>, Option<String>)> {
    if let Some(remote) = crate::remote::host() {
        // The far berthd's list (its sockets are not ours to scan).
        return Ok((crate::fleet::sessions_at(remote)?, None));
    }
    // A planted runtime directory is refused before anything is asked.
    locate::runtime_dirs(runtime)?;
    match daemon(runtime, DaemonRequest::List) {
        Ok(Response::Sessions { sessions }) => Ok((sessions, None)),
        Ok(other) => bail!("unexpected reply from berthd: {other:?}"),
        // Not the end: the sockets may still let this user in; said why
        // the list may be partial.
        Err(e) => Ok((
            scan(runtime)?,
            Some(format!("{e:#}; listing the session sockets instead")),
        )),
    }
}

fn ls(socket: Option<&Path>, runtime: Option<&Path>, json: bool) -> anyhow::Result<u8> {
    let (rows, partial) = match socket {
        // The one session behind the socket.
        Some(path) => {
            let mut s = connect("the session", path)?;
            let name = s.session.clone();
            (
                vec![SessionSummary::from_status(fetch_status(&name, &mut s)?)],
                None,
            )
        }
        None => session_rows(runtime)?,
    };
    if let Some(why) = partial {
        eprintln!("berth: {why}");
    }
    let mut out = std::io::stdout().lock();
    if json {
        writeln!(out, "{}", serde_json::to_string(&rows)?)?;
        return Ok(0);
    }
    out.write_all(crate::render::ls(&rows).as_bytes())?;
    let denied: Vec<&str> = rows
        .iter()
        .filter(|r| r.state == "denied")
        .map(|r| r.name.as_str())
        .collect();
    if !denied.is_empty() {
        eprintln!(
            "berth: permission denied on {}: ask an admin to list you in its access.operators or access.observers",
            denied.join(", ")
        );
    }
    Ok(0)
}

/// The session with the latest output or input among those the caller
/// may attach to (read-only counts).
fn most_recent(runtime: Option<&Path>) -> anyhow::Result<String> {
    let mut best: Option<(u64, String)> = None;
    for (name, status) in statuses(runtime)? {
        if let Ok(st) = status {
            let at = st.active_at_ms.unwrap_or(0);
            if best.as_ref().is_none_or(|(b, _)| at > *b) {
                best = Some((at, name));
            }
        }
    }
    best.map(|(_, name)| name).ok_or_else(|| {
        anyhow::anyhow!("no session you may attach to (see berth ls); name one: berth attach NAME")
    })
}

/// Every live session socket, each asked for its status.
fn statuses(runtime: Option<&Path>) -> anyhow::Result<Vec<(String, anyhow::Result<Status>)>> {
    if crate::remote::host().is_some() {
        bail!("with -H, name the session: berth -H URL attach NAME (berth -H URL ls lists them)");
    }
    let mut found = Vec::new();
    for (name, path) in locate::all(&locate::runtime_dirs(runtime)?) {
        let status = crate::connect::connect_live(&name, &path)
            .and_then(|s| s.map(|mut s| fetch_status(&name, &mut s)).transpose());
        match status {
            // A socket nothing listens on is a session that is gone.
            Ok(None) => continue,
            Ok(Some(st)) => found.push((name, Ok(st))),
            Err(e) => found.push((name, Err(e))),
        }
    }
    Ok(found)
}

/// Sessions found by their sockets, each asked for its status.
fn scan(runtime: Option<&Path>) -> anyhow::Result<Vec<SessionSummary>> {
    Ok(statuses(runtime)?
        .into_iter()
        .map(|(name, status)| match status {
            Ok(st) => SessionSummary::from_status(st),
            Err(e) if crate::connect::is_denied(&e) => {
                SessionSummary::without_status(name, "denied", None)
            }
            Err(_) => SessionSummary::without_status(name, "unreachable", None),
        })
        .collect())
}
