//! What to do to make the running sessions match the wanted ones (pure).

use std::collections::BTreeMap;

use berth_config::spec::Changes;

/// A host as it was (or would be) started: its command line, and the
/// settings of its unit under systemd ("MemoryMax=1G"; none otherwise).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostLine {
    pub args: Vec<String>,
    pub unit: Vec<String>,
}

/// Which settings differ between a running host and the wanted one. With
/// `reconfigurable` false (a unit's command line is fixed when it is
/// created) every change needs a new host.
pub fn changes(running: &HostLine, wanted: &HostLine, reconfigurable: bool) -> Changes {
    let mut c = berth_config::spec::compare(&running.args, &wanted.args);
    let key = |setting: &String| setting.split('=').next().unwrap_or_default().to_owned();
    let mut unit: Vec<String> = running
        .unit
        .iter()
        .filter(|x| !wanted.unit.contains(x))
        .chain(wanted.unit.iter().filter(|x| !running.unit.contains(x)))
        .map(key)
        .collect();
    unit.sort();
    unit.dedup();
    c.host.extend(unit);
    if !reconfigurable {
        c.host.append(&mut c.program);
    }
    c
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
    /// What changed, for each session restarted or reconfigured.
    pub changes: BTreeMap<String, Changes>,
}

/// `wanted`: sessions the config declares. `running`: sessions with a live
/// host. `pinned`: running sessions that stay whatever the config says
/// (ad-hoc sessions from `berth new`).
pub fn plan(
    wanted: &BTreeMap<String, HostLine>,
    running: &BTreeMap<String, HostLine>,
    pinned: &[String],
    reconfigurable: bool,
) -> Plan {
    let mut p = Plan::default();
    for (name, want) in wanted {
        let Some(current) = running.get(name) else {
            p.start.push(name.clone());
            continue;
        };
        let c = changes(current, want, reconfigurable);
        if c.is_empty() {
            p.keep.push(name.clone());
            continue;
        }
        if c.host.is_empty() {
            p.reconfigure.push(name.clone());
        } else {
            p.restart.push(name.clone());
        }
        p.changes.insert(name.clone(), c);
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

/// `names` in waves: each session comes in a wave after the ones its
/// `after` lists (among `names`; others are already running or not
/// declared), and the sessions of one wave may start together. The
/// embedded backend's reading of `after`, which is start order, as
/// systemd's After= is. A cycle is broken in name order.
pub fn start_waves(names: &[String], after: impl Fn(&str) -> Vec<String>) -> Vec<Vec<String>> {
    let mut waves: Vec<Vec<String>> = Vec::new();
    let mut left: Vec<String> = names.to_vec();
    while !left.is_empty() {
        let ready: Vec<String> = left
            .iter()
            .filter(|n| after(n).iter().all(|dep| !left.contains(dep) || dep == *n))
            .cloned()
            .collect();
        // Nothing ready: a cycle; take the first to break it.
        let wave = match ready.is_empty() {
            true => vec![left[0].clone()],
            false => ready,
        };
        left.retain(|n| !wave.contains(n));
        waves.push(wave);
    }
    waves
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
        assert_eq!(
            start_waves(&names, after),
            [vec!["db", "x"], vec!["app"], vec!["proxy"]]
        );
        // A cycle still starts everything.
        let cyclic = |n: &str| match n {
            "app" => vec!["db".to_owned()],
            "db" => vec!["app".to_owned()],
            _ => vec![],
        };
        assert_eq!(
            start_waves(&names, cyclic).concat(),
            ["proxy", "x", "app", "db"]
        );
    }

    fn line(scrollback: &str, command: &str, unit: &[&str]) -> HostLine {
        let args = format!("--name x --socket /s --scrollback {scrollback} -- {command}");
        HostLine {
            args: args.split(' ').map(str::to_owned).collect(),
            unit: unit.iter().map(|u| u.to_string()).collect(),
        }
    }

    fn m(items: &[(&str, HostLine)]) -> BTreeMap<String, HostLine> {
        items
            .iter()
            .map(|(k, l)| (k.to_string(), l.clone()))
            .collect()
    }

    #[test]
    fn added_removed_changed_unchanged() {
        let wanted = m(&[
            ("a", line("1", "p", &[])),
            ("b", line("2", "p", &[])),
            ("c", line("3", "new", &[])),
            ("u", line("3", "p", &["MemoryMax=2G"])),
            ("new", line("9", "p", &[])),
        ]);
        let running = m(&[
            ("a", line("1", "p", &[])),
            ("b", line("7", "p", &[])),
            ("c", line("3", "old", &[])),
            ("u", line("3", "p", &["MemoryMax=1G"])),
            ("gone", line("3", "p", &[])),
            ("adhoc", line("4", "p", &[])),
        ]);
        let p = plan(&wanted, &running, &["adhoc".to_string()], true);
        assert_eq!(p.start, ["new"]);
        assert_eq!(p.restart, ["b", "u"]);
        assert_eq!(p.reconfigure, ["c"]);
        assert_eq!(p.stop, ["gone"]);
        assert_eq!(p.keep, ["a", "adhoc"]);
        assert_eq!(p.changes["b"].to_string(), "scrollback");
        assert_eq!(p.changes["c"].to_string(), "command");
        assert_eq!(p.changes["u"].to_string(), "MemoryMax");
        // A unit's command line is fixed: the program's change replaces it.
        let p = plan(&wanted, &running, &[], false);
        assert_eq!(p.restart, ["b", "c", "u"]);
        assert!(p.reconfigure.is_empty());
    }
}
