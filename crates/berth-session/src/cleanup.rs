//! What ends the program's leftovers when the session stops, as `status`
//! says it: a cgroup of the session's own (berthd's embedded backend as
//! root makes one and names it in `BERTH_CGROUP`; systemd runs each
//! session as a unit with one), or, without one, berthd's best-effort
//! sweep of the program's process session, which a process that called
//! `setsid` escapes.

/// The variable berthd names the session's cgroup in.
const ENV: &str = "BERTH_CGROUP";

/// Joins the cgroup berthd made for this session, if it named one; the
/// group's name when it did. Called first thing, as root, before the
/// program exists: everything it starts is born inside. A failure leaves
/// the cleanup best-effort, and says so.
pub fn join(session: &str) -> Option<String> {
    let dir = std::env::var_os(ENV)?;
    // (The program starts with a clean environment: it never sees ENV.)
    let dir = std::path::Path::new(&dir);
    match std::fs::write(dir.join("cgroup.procs"), "0") {
        Ok(()) => Some(dir.file_name()?.to_string_lossy().into_owned()),
        Err(e) => {
            tracing::warn!(%session, "cannot join the session's cgroup {}: {e}; cleanup is best-effort", dir.display());
            None
        }
    }
}

/// How the session's leftovers are ended, from the cgroup this process is
/// in (`/proc/self/cgroup`, its cgroup v2 line): the group `joined`, or a
/// systemd unit's.
pub fn describe(joined: Option<&str>) -> String {
    let own = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    of(&own, joined)
}

fn of(own: &str, joined: Option<&str>) -> String {
    let path = own
        .lines()
        .find_map(|l| l.strip_prefix("0::"))
        .unwrap_or("");
    let last = path.rsplit('/').next().unwrap_or("");
    let embedded = joined == Some(last);
    let unit = last.starts_with("berth-session@") && last.ends_with(".service");
    if embedded || unit {
        format!("cgroup {path}")
    } else {
        "best-effort (no cgroup of its own: a process that leaves the program's process session may outlive it)".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_group_of_the_sessions_own_is_named_else_best_effort() {
        let joined = Some("berth-0badf00d-web");
        assert_eq!(
            of("0::/ci/berth-0badf00d-web\n", joined),
            "cgroup /ci/berth-0badf00d-web"
        );
        assert_eq!(
            of("0::/berth.slice/berth-session@web.service\n", None),
            "cgroup /berth.slice/berth-session@web.service"
        );
        assert!(of("0::/ci\n", joined).starts_with("best-effort"));
        assert!(of("0::/ci/berth-0badf00d-web\n", None).starts_with("best-effort"));
        assert!(of("1:cpu:/\n", None).starts_with("best-effort"));
    }
}
