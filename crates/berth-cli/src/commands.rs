//! The verbs.

use std::io::Write;
use std::path::Path;

use anyhow::{bail, Context};
use berth_proto::{
    CaptureRequest, DaemonRequest, Request, Response, SessionSummary, State, Status,
};

use crate::cli::{Cli, Cmd};
use crate::connect::{connect, request_error, Session};
use crate::locate;

/// Runs one command; the value is the exit code.
pub fn run(cli: Cli) -> anyhow::Result<u8> {
    let socket = cli.socket.as_deref();
    let runtime = cli.runtime_dir.as_deref();
    match cli.command {
        Cmd::Ls { json } => ls(runtime, json),
        Cmd::Has { name } => Ok(has(&name, socket, runtime)),
        Cmd::Attach {
            name,
            read_only,
            detach_others,
            detach_key,
        } => {
            let opts = crate::attach::Options {
                read_only,
                detach_others,
                prefix: detach_key,
            };
            // Refuse a missing terminal before connecting or touching anything.
            let interactive = crate::attach::check_terminal(&opts)?;
            let session = open(&name, socket, runtime)?;
            if interactive {
                crate::attach::interactive(&name, session, &opts)
            } else {
                crate::attach::text_stream(&name, session, &opts)
            }
        }
        Cmd::Capture {
            name,
            start,
            end,
            escapes,
            join,
            json,
        } => {
            let req = CaptureRequest {
                start,
                end,
                escapes,
                join,
            };
            capture(&name, socket, runtime, &req, json)
        }
        Cmd::Send {
            name,
            literal,
            keys,
        } => send(&name, socket, runtime, keys, literal),
        Cmd::Status { name, json } => status(&name, socket, runtime, json),
        Cmd::Validate { config, system } => validate(config, system),
        Cmd::Reload => match daemon(runtime, DaemonRequest::Reload)? {
            Response::Reloaded {
                added,
                removed,
                changed,
                unchanged,
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
                Ok(0)
            }
            other => bail!("unexpected reply from berthd: {other:?}"),
        },
        Cmd::New {
            name,
            user,
            command,
        } => {
            daemon(
                runtime,
                DaemonRequest::New {
                    name,
                    user,
                    command,
                },
            )?;
            Ok(0)
        }
        Cmd::Kill { name } => {
            daemon(runtime, DaemonRequest::Kill { name })?;
            Ok(0)
        }
        Cmd::Start { name } => {
            daemon(runtime, DaemonRequest::Start { name })?;
            Ok(0)
        }
        Cmd::Stop { name } => {
            daemon(runtime, DaemonRequest::Stop { name })?;
            Ok(0)
        }
        Cmd::Restart { name } => {
            let mut s = open(&name, socket, runtime)?;
            call(&name, &mut s, &Request::Restart)?;
            Ok(0)
        }
    }
}

fn open(name: &str, socket: Option<&Path>, runtime: Option<&Path>) -> anyhow::Result<Session> {
    let path = locate::find(name, socket, runtime)?;
    connect(name, &path)
}

fn call(name: &str, s: &mut Session, req: &Request) -> anyhow::Result<Response> {
    s.call(req).map_err(|e| request_error(name, e))
}

/// Sends one request to berthd's control socket.
fn daemon(runtime: Option<&Path>, req: DaemonRequest) -> anyhow::Result<Response> {
    let mut client = crate::connect::daemon(runtime)?;
    client
        .call(&Request::Daemon(req))
        .map_err(|e| crate::connect::request_error("berthd", e))
}

fn validate(config: Option<std::path::PathBuf>, system: bool) -> anyhow::Result<u8> {
    use berth_config::paths;
    let path = config.unwrap_or_else(|| paths::config_file(paths::Mode::current()));
    let mode = match system {
        true => paths::Mode::System,
        false => paths::mode_for_config(&path),
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

fn capture(
    name: &str,
    socket: Option<&Path>,
    runtime: Option<&Path>,
    req: &CaptureRequest,
    json: bool,
) -> anyhow::Result<u8> {
    let mut s = open(name, socket, runtime)?;
    let text = s.capture(req).map_err(|e| request_error(name, e))?;
    let mut out = std::io::stdout().lock();
    if json {
        let text = String::from_utf8_lossy(&text);
        let lines: Vec<&str> = text.lines().collect();
        let value = serde_json::json!({ "session": s.session, "lines": lines });
        writeln!(out, "{value}")?;
    } else {
        out.write_all(&text)?;
    }
    out.flush().context("failed to write the capture")?;
    Ok(0)
}

fn send(
    name: &str,
    socket: Option<&Path>,
    runtime: Option<&Path>,
    keys: Vec<String>,
    literal: bool,
) -> anyhow::Result<u8> {
    let size: usize = keys.iter().map(String::len).sum();
    let limit = berth_proto::MAX_FRAME_LEN / 2;
    if size > limit {
        bail!("input too large: {size} bytes in one send; send at most {limit} bytes at a time");
    }
    let mut s = open(name, socket, runtime)?;
    call(name, &mut s, &Request::Send { keys, literal })?;
    Ok(0)
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
        out.write_all(render_status(&st).as_bytes())?;
    }
    Ok(0)
}

fn render_status(st: &Status) -> String {
    let mut state = st.state.to_string();
    match st.state {
        State::Running => {
            if let Some(pid) = st.pid {
                state.push_str(&format!(" (pid {pid}"));
                if let Some(up) = st.uptime_s {
                    state.push_str(&format!(", up {}", human_secs(up)));
                }
                state.push(')');
            }
        }
        State::Backoff => {
            if let Some(ms) = st.restart_in_ms {
                state.push_str(&format!(
                    " (restarting in {})",
                    human_secs(ms.div_ceil(1000))
                ));
            }
        }
        _ => {}
    }
    let last_exit = st
        .last_exit
        .as_ref()
        .map(|e| format!(" (last exit: {} at {})", e.text, local_time(e.at)))
        .unwrap_or_default();
    let clients = if st.clients.is_empty() {
        "none".to_owned()
    } else {
        st.clients
            .iter()
            .map(|c| {
                let mode = match c.mode {
                    berth_proto::ClientMode::ReadWrite => "read-write",
                    berth_proto::ClientMode::ReadOnly => "read-only",
                };
                format!(
                    "{} (uid {}, pid {}, {mode})",
                    c.user,
                    c.uid,
                    c.pid.unwrap_or(0)
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut lines = vec![
        ("session", st.name.clone()),
        ("state", state),
        ("user", format!("{} (uid {})", st.user, st.uid)),
        ("command", shell_words(&st.command)),
        ("restarts", format!("{}{last_exit}", st.restarts)),
        ("clients", clients),
        ("size", format!("{}x{}", st.size.cols, st.size.rows)),
        ("log", st.log.clone().unwrap_or_else(|| "none".into())),
        (
            "foreground",
            st.foreground.clone().unwrap_or_else(|| "-".into()),
        ),
        ("host pid", st.host_pid.to_string()),
    ];
    if let Some(err) = &st.last_error {
        lines.push(("error", err.clone()));
    }
    if let Some(err) = &st.log_error {
        lines.push(("warning", err.clone()));
    }
    lines.iter().map(|(k, v)| format!("{k:<11}{v}\n")).collect()
}

fn ls(runtime: Option<&Path>, json: bool) -> anyhow::Result<u8> {
    // berthd knows every session it manages; without it, scan the sockets.
    let rows = match daemon(runtime, DaemonRequest::List) {
        Ok(Response::Sessions { sessions }) => sessions,
        Ok(other) => bail!("unexpected reply from berthd: {other:?}"),
        Err(e) => {
            if !crate::connect::is_not_running(&e) {
                // Not the end: the sockets may still let this user in. Say
                // why the list may be partial.
                eprintln!("berth: {e:#}; listing the session sockets instead");
            }
            scan(runtime)
        }
    };
    let mut out = std::io::stdout().lock();
    if json {
        writeln!(out, "{}", serde_json::to_string(&rows)?)?;
        return Ok(0);
    }
    out.write_all(render_ls(&rows).as_bytes())?;
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

/// The `ls` table; the NAME and USER columns are as wide as their longest entry.
fn render_ls(rows: &[SessionSummary]) -> String {
    let dash = || "-".to_owned();
    let cells: Vec<[String; 7]> = rows
        .iter()
        .map(|r| {
            [
                r.name.clone(),
                r.state.clone(),
                r.pid.map_or_else(dash, |p| p.to_string()),
                r.user.clone().unwrap_or_else(dash),
                r.uptime_s.map_or_else(dash, human_secs),
                r.restarts.map_or_else(dash, |n| n.to_string()),
                r.clients.map_or_else(dash, |n| n.to_string()),
            ]
        })
        .collect();
    let head = [
        "NAME", "STATE", "PID", "USER", "UPTIME", "RESTARTS", "CLIENTS",
    ]
    .map(str::to_owned);
    let width = |i: usize, min: usize| {
        cells
            .iter()
            .map(|c| c[i].chars().count())
            .chain([head[i].len(), min])
            .max()
            .unwrap_or(min)
    };
    let (name_w, state_w, user_w) = (width(0, 20), width(1, 11), width(3, 12));
    let mut text = String::new();
    for c in std::iter::once(&head).chain(cells.iter()) {
        text.push_str(&format!(
            "{:<name_w$} {:<state_w$} {:>8} {:<user_w$} {:>8} {:>8} {:>8}",
            c[0], c[1], c[2], c[3], c[4], c[5], c[6]
        ));
        text.push('\n');
    }
    text
}

/// Sessions found by their sockets, each asked for its status.
fn scan(runtime: Option<&Path>) -> Vec<SessionSummary> {
    let mut rows = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for dir in locate::runtime_dirs(runtime) {
        for (name, path) in locate::list(&dir) {
            if !seen.insert(name.clone()) {
                continue;
            }
            let status = crate::connect::connect_live(&name, &path)
                .and_then(|s| s.map(|mut s| fetch_status(&name, &mut s)).transpose());
            let row = match status {
                // A socket nothing listens on is a session that is gone.
                Ok(None) => continue,
                Ok(Some(st)) => SessionSummary::from_status(st),
                Err(e) if crate::connect::is_denied(&e) => {
                    SessionSummary::without_status(name, "denied", None)
                }
                Err(_) => SessionSummary::without_status(name, "unreachable", None),
            };
            rows.push(row);
        }
    }
    rows
}

fn human_secs(s: u64) -> String {
    if s == 0 {
        return "0s".into();
    }
    berth_config::values::format_duration(std::time::Duration::from_secs(s))
}

fn local_time(unix: u64) -> String {
    jiff::Timestamp::from_second(unix as i64)
        .map(|t| {
            t.to_zoned(jiff::tz::TimeZone::system())
                .strftime("%Y-%m-%d %H:%M:%S")
                .to_string()
        })
        .unwrap_or_else(|_| unix.to_string())
}

/// The command as one would type it.
fn shell_words(words: &[String]) -> String {
    words
        .iter()
        .map(|w| {
            if !w.is_empty()
                && w.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,+@%".contains(&b))
            {
                w.clone()
            } else {
                format!("'{}'", w.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ls_columns_stay_aligned_with_long_names() {
        let long = "n".repeat(64);
        let rows = vec![
            SessionSummary::without_status(long.clone(), "denied", None),
            SessionSummary::without_status("ci".into(), "running", Some(7)),
        ];
        let text = render_ls(&rows);
        let lines: Vec<&str> = text.lines().collect();
        // Every column starts at the same place on every line.
        assert_eq!(lines[0].find("STATE"), Some(65));
        assert_eq!(lines[1][65..].split_whitespace().next(), Some("denied"));
        assert_eq!(lines[2][65..].split_whitespace().next(), Some("running"));
        assert!(lines[1].starts_with(&long));
        let widths: Vec<usize> = lines.iter().map(|l| l.len()).collect();
        assert!(widths.iter().all(|w| *w == widths[0]), "{text}");
    }
}
