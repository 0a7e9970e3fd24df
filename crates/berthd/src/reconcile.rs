//! What to do to make the running sessions match the wanted ones (pure).

use std::collections::BTreeMap;

/// What a session is, in two parts: what its host is (account, socket,
/// access, log, history; under systemd the unit too) and what its program
/// is (command, environment, cwd, restart policy, size).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    pub host: Vec<String>,
    pub program: Vec<String>,
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Plan {
    pub start: Vec<String>,
    pub stop: Vec<String>,
    /// The host must be replaced (the screen goes with it).
    pub restart: Vec<String>,
    /// Only the program changed: restart it inside the running host.
    pub reconfigure: Vec<String>,
    pub keep: Vec<String>,
}

/// `wanted`: sessions the config declares. `running`: sessions with a live
/// host. `pinned`: running sessions that stay whatever the config says
/// (ad-hoc sessions from `berth new`).
pub fn plan(
    wanted: &BTreeMap<String, Fingerprint>,
    running: &BTreeMap<String, Fingerprint>,
    pinned: &[String],
) -> Plan {
    let mut p = Plan::default();
    for (name, want) in wanted {
        match running.get(name) {
            None => p.start.push(name.clone()),
            Some(current) if current == want => p.keep.push(name.clone()),
            Some(current) if current.host == want.host => p.reconfigure.push(name.clone()),
            Some(_) => p.restart.push(name.clone()),
        }
    }
    for name in running.keys() {
        if !wanted.contains_key(name) {
            if pinned.contains(name) {
                p.keep.push(name.clone());
            } else {
                p.stop.push(name.clone());
            }
        }
    }
    p
}

/// `names` in an order where each comes after the ones its `after` lists
/// (among `names`; others are already running or not declared): the
/// embedded backend's reading of `after`, which is start order, as
/// systemd's After= is. A cycle is broken in name order.
pub fn start_order(names: &[String], after: impl Fn(&str) -> Vec<String>) -> Vec<String> {
    let mut order: Vec<String> = Vec::with_capacity(names.len());
    let mut left: Vec<String> = names.to_vec();
    while !left.is_empty() {
        let ready = left
            .iter()
            .position(|n| after(n).iter().all(|dep| !left.contains(dep) || dep == n));
        // Nothing ready: a cycle; take the first to break it.
        let next = left.remove(ready.unwrap_or(0));
        order.push(next);
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_start_after_the_ones_they_name() {
        let names: Vec<String> = ["app", "db", "proxy", "x"].map(String::from).to_vec();
        let after = |n: &str| match n {
            "app" => vec!["db".to_owned(), "elsewhere".to_owned()],
            "proxy" => vec!["app".to_owned()],
            "x" => vec!["x".to_owned()],
            _ => vec![],
        };
        assert_eq!(start_order(&names, after), ["db", "app", "proxy", "x"]);
        // A cycle still starts everything.
        let cyclic = |n: &str| match n {
            "app" => vec!["db".to_owned()],
            "db" => vec!["app".to_owned()],
            _ => vec![],
        };
        assert_eq!(start_order(&names, cyclic), ["proxy", "x", "app", "db"]);
    }

    fn m(items: &[(&str, &str, &str)]) -> BTreeMap<String, Fingerprint> {
        items
            .iter()
            .map(|(k, host, program)| {
                let f = Fingerprint {
                    host: vec![host.to_string()],
                    program: vec![program.to_string()],
                };
                (k.to_string(), f)
            })
            .collect()
    }

    #[test]
    fn added_removed_changed_unchanged() {
        let wanted = m(&[
            ("a", "1", "p"),
            ("b", "2", "p"),
            ("c", "3", "new"),
            ("new", "9", "p"),
        ]);
        let running = m(&[
            ("a", "1", "p"),
            ("b", "changed", "p"),
            ("c", "3", "old"),
            ("gone", "3", "p"),
            ("adhoc", "4", "p"),
        ]);
        let p = plan(&wanted, &running, &["adhoc".to_string()]);
        assert_eq!(p.start, ["new"]);
        assert_eq!(p.restart, ["b"]);
        assert_eq!(p.reconfigure, ["c"]);
        assert_eq!(p.stop, ["gone"]);
        assert_eq!(p.keep, ["a", "adhoc"]);
    }
}
