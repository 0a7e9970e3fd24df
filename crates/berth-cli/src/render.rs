//! How the verbs' answers look on a terminal: the `status` lines and the
//! `ls` table.

use berth_proto::{SessionSummary, State, Status};

pub fn status(st: &Status) -> String {
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
    if let Some(shell) = &st.shell {
        let state = match (shell.at_prompt, shell.running_since) {
            (true, _) => "at prompt".to_owned(),
            (false, Some(since)) => format!(
                "running {} (since {})",
                shell.last_command.as_deref().unwrap_or("a command"),
                local_time(since / 1000)
            ),
            (false, None) => "busy".to_owned(),
        };
        lines.push(("shell", state));
        if let Some(status) = shell.last_status {
            let last = shell
                .last_command
                .as_deref()
                .filter(|_| shell.running_since.is_none());
            lines.push((
                "last cmd",
                match last {
                    Some(cmd) => format!("{cmd} (exit {status})"),
                    None => format!("exit {status}"),
                },
            ));
        }
    }
    if let Some(err) = &st.last_error {
        lines.push(("error", err.clone()));
    }
    if let Some(err) = &st.log_error {
        lines.push(("warning", err.clone()));
    }
    if let Some(cleanup) = &st.cleanup {
        lines.push(("cleanup", cleanup.clone()));
    }
    lines.iter().map(|(k, v)| format!("{k:<11}{v}\n")).collect()
}

/// The `ls` table; the NAME and USER columns are as wide as their longest entry.
pub fn ls(rows: &[SessionSummary]) -> String {
    let dash = || "-".to_owned();
    let cells: Vec<[String; 8]> = rows
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
                r.foreground.clone().unwrap_or_else(dash),
            ]
        })
        .collect();
    let head = [
        "NAME",
        "STATE",
        "PID",
        "USER",
        "UPTIME",
        "RESTARTS",
        "CLIENTS",
        "FOREGROUND",
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
    let (name_w, state_w, user_w, fg_w) = (width(0, 20), width(1, 11), width(3, 12), width(7, 10));
    let mut text = String::new();
    for c in std::iter::once(&head).chain(cells.iter()) {
        text.push_str(&format!(
            "{:<name_w$} {:<state_w$} {:>8} {:<user_w$} {:>8} {:>8} {:>8} {:<fg_w$}",
            c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]
        ));
        text.push('\n');
    }
    text
}

/// The `ls` table of several hosts: a HOST column first.
pub fn ls_fleet(rows: &[(&str, SessionSummary)]) -> String {
    let sessions: Vec<SessionSummary> = rows.iter().map(|(_, s)| s.clone()).collect();
    let width = rows
        .iter()
        .map(|(h, _)| h.chars().count())
        .chain([4])
        .max()
        .unwrap_or(4);
    let hosts = std::iter::once("HOST").chain(rows.iter().map(|(h, _)| *h));
    ls(&sessions)
        .lines()
        .zip(hosts)
        .map(|(line, host)| format!("{host:<width$} {line}\n"))
        .collect()
}

pub fn human_secs(s: u64) -> String {
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
        let text = ls(&rows);
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
