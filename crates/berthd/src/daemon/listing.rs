//! What `berth ls` and systemd's STATUS= say: each host's latest status as
//! it pushed it, or what berthd knows when there is none.

use std::collections::BTreeMap;
use std::time::Duration;

use berth_config::access::Caller;
use berth_proto::SessionSummary;

use super::{Busy, Daemon};
use crate::backend::Backend;

/// A host not heard from this long after its start is unreachable.
const HOST_ANSWERS_WITHIN: Duration = Duration::from_secs(5);

impl<B: Backend> Daemon<B> {
    /// One summary per session. With a caller, sessions it may not read
    /// show only their name, as "denied".
    pub(super) fn list_for(&self, caller: Option<&Caller>) -> Vec<SessionSummary> {
        self.managed
            .iter()
            .map(|(name, m)| {
                let denied = caller.is_some_and(|c| {
                    self.session_access(name)
                        .is_some_and(|lists| lists.right(c).is_none())
                });
                if denied {
                    return SessionSummary::without_status(name.clone(), "denied", None);
                }
                let status = m.host.as_ref().and_then(|_| self.watcher.status(name));
                if let Some(st) = status {
                    return SessionSummary::from_status(st);
                }
                let state = if m.busy == Some(Busy::Stopping) {
                    "stopping"
                } else if m.stopped {
                    "stopped"
                } else if m.host.is_none() || m.started_at.elapsed() < HOST_ANSWERS_WITHIN {
                    "starting"
                } else {
                    "unreachable"
                };
                let host_pid = (m.record.host_pid != 0).then_some(m.record.host_pid);
                SessionSummary::without_status(name.clone(), state, host_pid)
            })
            .collect()
    }

    /// "4 sessions: 3 running, 1 backoff (ci-runner in 8s)", for the log
    /// and systemd's STATUS=.
    pub(super) fn summary(&self) -> String {
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        let mut waiting = Vec::new();
        for s in self.list_for(None) {
            if let Some(secs) = s.restart_in_s {
                waiting.push(format!("{} in {secs}s", s.name));
            }
            *counts.entry(s.state).or_default() += 1;
        }
        let parts: Vec<String> = counts
            .iter()
            .map(|(k, v)| {
                if k == "backoff" && !waiting.is_empty() {
                    format!("{v} {k} ({})", waiting.join(", "))
                } else {
                    format!("{v} {k}")
                }
            })
            .collect();
        let n = self.managed.len();
        let sessions = format!("{n} session{}", if n == 1 { "" } else { "s" });
        match parts.is_empty() {
            // A fresh install declares none: "0 sessions", not "0 sessions: ".
            true => sessions,
            false => format!("{sessions}: {}", parts.join(", ")),
        }
    }
}
