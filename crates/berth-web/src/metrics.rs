//! `/metrics`: every session's figures in the Prometheus text format,
//! asked of berthd (which answers this verb to berth-web speaking for
//! itself, to root and to `[daemon] admins`, and to nobody else).

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use berth_proto::client_async::AsyncClient;
use berth_proto::{DaemonRequest, Request, Response, SessionMetrics};

/// berthd answers within this, or the scrape fails (Prometheus marks the
/// target down, which is the truth).
const DEADLINE: Duration = Duration::from_secs(5);

/// The states every scrape reports, present or not, so that an alert on
/// `berth_sessions{state="backoff"} > 0` has a series to read.
const STATES: &[&str] = &[
    "starting",
    "running",
    "backoff",
    "exited",
    "failed",
    "stopping",
    "stopped",
    "unreachable",
];

/// Who may read `/metrics` (`[web] metrics`).
#[derive(Clone)]
pub enum Access {
    /// Clients on this host (loopback, or the Unix socket's proxy).
    Loopback,
    /// Bearers of this token, from anywhere.
    Token(String),
    Off,
}

/// The token in `path` (its first line), read before the privilege drop.
pub fn read_token(path: &Path) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("failed to read the metrics token {}: {e}", path.display()))?;
    let token = text.lines().next().unwrap_or("").trim().to_owned();
    if token.len() < 16 {
        anyhow::bail!(
            "the metrics token in {} is shorter than 16 characters: put a long random line there (openssl rand -hex 32)",
            path.display()
        );
    }
    Ok(token)
}

/// berthd's figures of every session.
pub async fn gather(control: &Path) -> anyhow::Result<Vec<SessionMetrics>> {
    let mut client = AsyncClient::connect(control, "berth-web", DEADLINE).await?;
    let answer = tokio::time::timeout(
        DEADLINE,
        client.call(&Request::Daemon(DaemonRequest::Metrics)),
    )
    .await
    .map_err(|_| anyhow::anyhow!("berthd did not answer within {}s", DEADLINE.as_secs()))??;
    match answer {
        Response::Metrics { sessions } => Ok(sessions),
        other => anyhow::bail!("unexpected answer from berthd: {other:?}"),
    }
}

/// Trades a login code for its person (uid) and how long the login
/// lasts, through berthd (`WebRedeem`); the inner error is berthd's
/// refusal, for the browser.
pub async fn redeem(
    control: &Path,
    code: &str,
) -> anyhow::Result<Result<(u32, std::time::Duration), String>> {
    let mut client = AsyncClient::connect(control, "berth-web", DEADLINE).await?;
    let request = Request::Daemon(DaemonRequest::WebRedeem {
        code: code.to_owned(),
    });
    let answer = tokio::time::timeout(DEADLINE, client.call(&request))
        .await
        .map_err(|_| anyhow::anyhow!("berthd did not answer within {}s", DEADLINE.as_secs()))?;
    match answer {
        Ok(Response::WebRedeemed { uid, ttl_s, .. }) => {
            Ok(Ok((uid, std::time::Duration::from_secs(ttl_s))))
        }
        Err(berth_proto::sync::ClientError::Refused { message, .. }) => Ok(Err(message)),
        Err(e) => Err(e.into()),
        Ok(other) => anyhow::bail!("unexpected answer from berthd: {other:?}"),
    }
}

/// The exposition text: the counts by state over every session, and the
/// per-session series of the sessions `shown` (see http.rs: everyone's to
/// a token, a person's own to their login, none to an anonymous scrape).
pub fn render(all: &[SessionMetrics], shown: &dyn Fn(&str) -> bool) -> String {
    let sessions = all;
    let mut out = String::new();
    family(
        &mut out,
        "berth_sessions",
        "gauge",
        "Sessions berthd manages, by state.",
    );
    for state in STATES {
        let n = sessions.iter().filter(|s| s.state == *state).count();
        let _ = writeln!(out, "berth_sessions{{state=\"{state}\"}} {n}");
    }
    let mut others: Vec<&str> = sessions
        .iter()
        .map(|s| s.state.as_str())
        .filter(|st| !STATES.contains(st))
        .collect();
    others.sort_unstable();
    others.dedup();
    for state in others {
        let n = sessions.iter().filter(|s| s.state == state).count();
        let _ = writeln!(out, "berth_sessions{{state=\"{}\"}} {n}", escape(state));
    }
    let listed: Vec<&SessionMetrics> = sessions.iter().filter(|s| shown(&s.name)).collect();
    let sessions = listed.as_slice();
    let each = |out: &mut String,
                name: &str,
                kind: &str,
                help: &str,
                value: &dyn Fn(&SessionMetrics) -> Option<String>| {
        family(out, name, kind, help);
        for s in sessions.iter().copied() {
            if let Some(v) = value(s) {
                let _ = writeln!(out, "{name}{{session=\"{}\"}} {v}", escape(&s.name));
            }
        }
    };
    family(
        &mut out,
        "berth_session_state",
        "gauge",
        "1 for the state each session is in.",
    );
    for s in sessions.iter().copied() {
        let _ = writeln!(
            out,
            "berth_session_state{{session=\"{}\",state=\"{}\"}} 1",
            escape(&s.name),
            escape(&s.state)
        );
    }
    each(
        &mut out,
        "berth_session_restarts_total",
        "counter",
        "Restarts of the program since its host started.",
        &|s| s.restarts.map(|n| n.to_string()),
    );
    each(
        &mut out,
        "berth_session_last_exit_code",
        "gauge",
        "Exit status of the program's last run (absent if it was killed by a signal or never ended).",
        &|s| s.last_exit.as_ref()?.code.map(|c| c.to_string()),
    );
    each(
        &mut out,
        "berth_session_last_exit_signal",
        "gauge",
        "Signal that ended the program's last run (absent if it exited).",
        &|s| s.last_exit.as_ref()?.signal.map(|c| c.to_string()),
    );
    each(
        &mut out,
        "berth_session_last_exit_timestamp_seconds",
        "gauge",
        "When the program's last run ended, in Unix time.",
        &|s| s.last_exit.as_ref().map(|e| e.at.to_string()),
    );
    each(
        &mut out,
        "berth_session_output_bytes_total",
        "counter",
        "Bytes the program wrote since its host started.",
        &|s| s.output_bytes.map(|n| n.to_string()),
    );
    each(
        &mut out,
        "berth_session_clients",
        "gauge",
        "Clients attached to the session now.",
        &|s| s.clients.map(|n| n.to_string()),
    );
    each(
        &mut out,
        "berth_session_host_memory_bytes",
        "gauge",
        "Resident memory of the session's host process (screen, history, buffers).",
        &|s| s.memory_bytes.map(|n| n.to_string()),
    );
    out
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// A label value as the text format wants it.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_proto::ExitInfo;

    #[test]
    fn every_family_and_label_is_written() {
        let s = |name: &str, state: &str| SessionMetrics {
            name: name.into(),
            state: state.into(),
            restarts: Some(3),
            last_exit: Some(ExitInfo {
                code: Some(2),
                signal: None,
                text: "exited with status 2".into(),
                at: 1_700_000_000,
            }),
            output_bytes: Some(4096),
            clients: Some(1),
            memory_bytes: Some(8 << 20),
        };
        let mut down = s("b\"x", "weird");
        down.restarts = None;
        down.last_exit = None;
        let all = [s("ci", "running"), down];
        let text = render(&all, &|_| true);
        for line in [
            "berth_sessions{state=\"running\"} 1",
            "berth_sessions{state=\"backoff\"} 0",
            "berth_sessions{state=\"weird\"} 1",
            "berth_session_state{session=\"ci\",state=\"running\"} 1",
            "berth_session_restarts_total{session=\"ci\"} 3",
            "berth_session_last_exit_code{session=\"ci\"} 2",
            "berth_session_last_exit_timestamp_seconds{session=\"ci\"} 1700000000",
            "berth_session_output_bytes_total{session=\"ci\"} 4096",
            "berth_session_clients{session=\"ci\"} 1",
            "berth_session_host_memory_bytes{session=\"ci\"} 8388608",
            "berth_session_state{session=\"b\\\"x\",state=\"weird\"} 1",
            "# TYPE berth_session_restarts_total counter",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "{line} missing from\n{text}"
            );
        }
        assert!(!text.contains("berth_session_restarts_total{session=\"b"));
        assert!(!text.contains("last_exit_signal{"));
        // Shown only what the reader may see: the counts, and no names.
        let text = render(&all, &|name| name == "ci");
        assert!(text.contains("berth_sessions{state=\"weird\"} 1"), "{text}");
        assert!(!text.contains("session=\"b"), "{text}");
        assert!(
            text.contains("berth_session_state{session=\"ci\""),
            "{text}"
        );
        let text = render(&all, &|_| false);
        assert!(!text.contains("session="), "{text}");
    }
}
