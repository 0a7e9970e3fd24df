//! Several hosts at once (`-H a -H b`, `--hosts FILE`): each asked in
//! parallel over its own ssh connection, one table with the host of each
//! line; a host that is down or refuses is said on its own line, and the
//! exit status says something failed, but the others are listed.

use std::io::Write as _;

use anyhow::bail;
use berth_proto::{DaemonRequest, Response, SessionSummary};

use crate::remote::Remote;

/// Every session of `remote`, from its berthd.
pub fn sessions_at(remote: &Remote) -> anyhow::Result<Vec<SessionSummary>> {
    match crate::commands::daemon_at(Some(remote), None, DaemonRequest::List)? {
        Response::Sessions { sessions } => Ok(sessions),
        other => bail!("unexpected reply from berthd: {other:?}"),
    }
}

/// Every host's sessions, in the order the hosts were given.
pub fn sessions_everywhere() -> Vec<(&'static Remote, anyhow::Result<Vec<SessionSummary>>)> {
    let hosts = crate::remote::hosts();
    std::thread::scope(|s| {
        let asked: Vec<_> = hosts
            .iter()
            .map(|r| (r, s.spawn(move || sessions_at(r))))
            .collect();
        asked
            .into_iter()
            .map(|(r, h)| {
                let rows = h
                    .join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("asking it failed")));
                (r, rows)
            })
            .collect()
    })
}

/// `berth ls` over the fleet.
pub fn ls(json: bool) -> anyhow::Result<u8> {
    let found = sessions_everywhere();
    let mut failed = false;
    let mut rows: Vec<(&str, SessionSummary)> = Vec::new();
    for (remote, result) in &found {
        match result {
            Ok(sessions) => {
                rows.extend(sessions.iter().map(|s| (remote.label.as_str(), s.clone())))
            }
            Err(e) => {
                failed = true;
                // Said once which host (the ssh errors already name it).
                let e = format!("{e:#}");
                match e.starts_with(&format!("{}: ", remote.label)) {
                    true => eprintln!("berth: {e}"),
                    false => eprintln!("berth: {}: {e}", remote.label),
                }
            }
        }
    }
    let mut out = std::io::stdout().lock();
    if json {
        let tagged: Vec<serde_json::Value> = rows
            .iter()
            .map(|(host, s)| {
                let mut v = serde_json::to_value(s).unwrap_or_default();
                v["host"] = (*host).into();
                v
            })
            .collect();
        writeln!(out, "{}", serde_json::to_string(&tagged)?)?;
    } else {
        out.write_all(crate::render::ls_fleet(&rows).as_bytes())?;
    }
    Ok(u8::from(failed))
}
