//! Whether berthd runs inside a sandbox its embedded hosts would inherit.
//!
//! The embedded backend forks each session's host from berthd, so a
//! program in a session gets berthd's system call filter, capability
//! bounding set, no-new-privileges flag and namespaces. berthd.service
//! imposes all of these (units/berthd.service): with the systemd backend
//! that costs the sessions nothing (each is a unit of its own), with the
//! embedded one a CI runner would have no network and a JIT no W+X memory.
//! berthd cannot lift a sandbox it was started in, so it says so at start.

/// What berthd's process has that PID 1's does not, as short phrases.
pub fn inherited() -> Vec<&'static str> {
    let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
    let ns = |pid: &str, kind: &str| {
        std::fs::read_link(format!("/proc/{pid}/ns/{kind}"))
            .map(|l| l.to_string_lossy().into_owned())
            .ok()
    };
    let own = Process {
        status: read("/proc/self/status"),
        mount_ns: ns("self", "mnt"),
        net_ns: ns("self", "net"),
    };
    let init = Process {
        status: read("/proc/1/status"),
        mount_ns: ns("1", "mnt"),
        net_ns: ns("1", "net"),
    };
    compare(&own, &init)
}

/// The parts of a process a sandbox changes.
struct Process {
    /// The text of /proc/PID/status.
    status: String,
    mount_ns: Option<String>,
    net_ns: Option<String>,
}

fn field<'a>(status: &'a str, name: &str) -> Option<&'a str> {
    status.lines().find_map(|l| {
        l.strip_prefix(name)
            .and_then(|r| r.strip_prefix(':'))
            .map(str::trim)
    })
}

/// Differences that make berthd's children more confined than PID 1's
/// (what cannot be read is not reported: without CAP_SYS_PTRACE, as under
/// berthd.service, PID 1's namespaces cannot be read, and the capabilities
/// and filters found say enough).
fn compare(own: &Process, init: &Process) -> Vec<&'static str> {
    let mut found = Vec::new();
    // A container may filter and confine PID 1 too (systemd-nspawn does):
    // only what berthd has beyond it is berthd's own sandbox. Filters are
    // inherited and stack, so more of them than PID 1 has means a unit's.
    let filters = |s: &str| field(s, "Seccomp_filters").and_then(|v| v.parse::<u32>().ok());
    let filtered = |s: &str| field(s, "Seccomp").is_some_and(|v| v != "0");
    let more_filters = match (filters(&own.status), filters(&init.status)) {
        (Some(mine), Some(theirs)) => mine > theirs,
        _ => filtered(&own.status) && !filtered(&init.status),
    };
    if more_filters {
        found.push("a system call filter");
    }
    let no_new = |s: &str| field(s, "NoNewPrivs") == Some("1");
    if no_new(&own.status) && !no_new(&init.status) {
        found.push("no new privileges");
    }
    let bounding = |s: &str| field(s, "CapBnd").and_then(|v| u64::from_str_radix(v, 16).ok());
    if let (Some(mine), Some(theirs)) = (bounding(&own.status), bounding(&init.status)) {
        if mine & theirs != theirs {
            found.push("fewer capabilities");
        }
    }
    let differs =
        |a: &Option<String>, b: &Option<String>| matches!((a, b), (Some(a), Some(b)) if a != b);
    if differs(&own.mount_ns, &init.mount_ns) {
        found.push("its own mount namespace");
    }
    if differs(&own.net_ns, &init.net_ns) {
        found.push("its own network namespace");
    }
    found
}

/// The one-line warning for `found` (empty: nothing to say).
pub fn warning(found: &[&str]) -> Option<String> {
    if found.is_empty() {
        return None;
    }
    Some(format!(
        "berthd runs sandboxed ({}) and the embedded backend starts every session as its child, \
         so each session inherits that sandbox (under berthd.service: no network, no W+X memory \
         for JITs, read-only /usr and homes); set backend = \"systemd\" in [daemon] to run each \
         session as a unit of its own, or run berthd outside the sandbox (see man berthd)",
        found.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const FREE: &str = "Name:\tsystemd\nCapBnd:\t000001ffffffffff\nNoNewPrivs:\t0\nSeccomp:\t0\n";

    fn process(status: &str, mnt: &str, net: &str) -> Process {
        Process {
            status: status.to_owned(),
            mount_ns: Some(mnt.to_owned()),
            net_ns: Some(net.to_owned()),
        }
    }

    #[test]
    fn an_unconfined_berthd_has_nothing_to_say() {
        let init = process(FREE, "mnt:[1]", "net:[1]");
        let own = process(FREE, "mnt:[1]", "net:[1]");
        assert!(compare(&own, &init).is_empty());
        assert_eq!(warning(&[]), None);
    }

    #[test]
    fn each_part_of_a_unit_sandbox_is_named() {
        let init = process(FREE, "mnt:[1]", "net:[1]");
        let sandboxed = "Name:\tberthd\nCapBnd:\t00000000000000eb\nNoNewPrivs:\t1\nSeccomp:\t2\n";
        let own = process(sandboxed, "mnt:[2]", "net:[3]");
        let found = compare(&own, &init);
        assert_eq!(
            found,
            [
                "a system call filter",
                "no new privileges",
                "fewer capabilities",
                "its own mount namespace",
                "its own network namespace"
            ]
        );
        let line = warning(&found).unwrap();
        assert!(!line.contains('\n'));
        assert!(
            line.starts_with("berthd runs sandboxed (a system call filter, no new privileges,"),
            "{line}"
        );
        assert!(
            line.contains("set backend = \"systemd\" in [daemon]"),
            "{line}"
        );
    }

    #[test]
    fn what_a_container_imposes_on_pid_1_too_is_not_berthds() {
        let confined =
            "CapBnd:\t00000000a80425fb\nNoNewPrivs:\t1\nSeccomp:\t2\nSeccomp_filters:\t1\n";
        let init = process(confined, "mnt:[1]", "net:[1]");
        let own = process(confined, "mnt:[1]", "net:[1]");
        assert!(compare(&own, &init).is_empty());
        // A unit's filter on top of the container's is berthd's own.
        let more = confined.replace("Seccomp_filters:\t1", "Seccomp_filters:\t4");
        let own = process(&more, "mnt:[1]", "net:[1]");
        assert_eq!(compare(&own, &init), ["a system call filter"]);
    }

    #[test]
    fn what_cannot_be_read_is_not_reported() {
        let unknown = Process {
            status: String::new(),
            mount_ns: None,
            net_ns: None,
        };
        assert!(compare(&unknown, &process(FREE, "mnt:[1]", "net:[1]")).is_empty());
    }
}
