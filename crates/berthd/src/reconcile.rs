//! What to do to make the running sessions match the wanted ones (pure).

use std::collections::BTreeMap;

/// Per session, the host command line wanted (from the config) and the one
/// it runs with.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Plan {
    pub start: Vec<String>,
    pub stop: Vec<String>,
    pub restart: Vec<String>,
    pub keep: Vec<String>,
}

/// `wanted`: sessions the config declares. `running`: sessions with a live
/// host. `pinned`: running sessions that stay whatever the config says
/// (ad-hoc sessions from `berth new`).
pub fn plan(
    wanted: &BTreeMap<String, Vec<String>>,
    running: &BTreeMap<String, Vec<String>>,
    pinned: &[String],
) -> Plan {
    let mut p = Plan::default();
    for (name, args) in wanted {
        match running.get(name) {
            None => p.start.push(name.clone()),
            Some(current) if current == args => p.keep.push(name.clone()),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn m(items: &[(&str, &str)]) -> BTreeMap<String, Vec<String>> {
        items
            .iter()
            .map(|(k, v)| (k.to_string(), vec![v.to_string()]))
            .collect()
    }

    #[test]
    fn added_removed_changed_unchanged() {
        let wanted = m(&[("a", "1"), ("b", "2"), ("new", "9")]);
        let running = m(&[("a", "1"), ("b", "changed"), ("gone", "3"), ("adhoc", "4")]);
        let p = plan(&wanted, &running, &["adhoc".to_string()]);
        assert_eq!(p.start, ["new"]);
        assert_eq!(p.restart, ["b"]);
        assert_eq!(p.stop, ["gone"]);
        assert_eq!(p.keep, ["a", "adhoc"]);
    }
}
