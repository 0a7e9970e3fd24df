//! `[dashboard.NAME]` tables: `sessions` (names or globs) and `layout`.

use std::collections::BTreeMap;

use toml::de::DeValue;
use toml::Spanned;

use super::read::{string, strings, table, unknown};
use crate::dashboard::{Dashboard, Layout, Selector};
use crate::error::{ConfigError, Locator};
use crate::model::Session;

const DASHBOARD_KEYS: &[&str] = &["sessions", "layout"];

/// A dashboard as read, with where each name it lists was written.
pub(super) struct Declared {
    dashboard: Dashboard,
    /// Literal names (not globs) and their offsets, checked once every
    /// session is known.
    names: Vec<(String, usize)>,
}

/// Reads the `[dashboard]` table.
pub(super) fn read(
    loc: &Locator,
    errors: &mut Vec<ConfigError>,
    value: &Spanned<DeValue>,
) -> Vec<Declared> {
    let Some(t) = table(loc, errors, "[dashboard]", value) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (name, body) in t.iter() {
        let name_str = name.get_ref().to_string();
        if let Err(e) = crate::values::check_session_name(&name_str) {
            let e = e.replacen("session name", "dashboard name", 1);
            errors.push(loc.error(name.span().start, e));
            continue;
        }
        let what = format!("[dashboard.{name_str}]");
        let Some(body) = table(loc, errors, &what, body) else {
            continue;
        };
        let mut sessions = None;
        let mut layout = Layout::default();
        let mut names = Vec::new();
        let mut listed = false;
        for (k, v) in body.iter() {
            match k.get_ref().as_ref() {
                "sessions" => {
                    listed = true;
                    let at = v.span().start;
                    let Some(list) = strings(loc, errors, "sessions", v) else {
                        continue;
                    };
                    if list.is_empty() {
                        errors.push(loc.error(at, format!("{what} sessions is empty: list session names or globs, like [\"ci-*\", \"db\"]")));
                        continue;
                    }
                    // Each entry's own offset, for errors that point at it.
                    let offsets: Vec<usize> = match v.get_ref() {
                        DeValue::Array(items) => items.iter().map(|i| i.span().start).collect(),
                        _ => Vec::new(),
                    };
                    let mut selectors = Vec::new();
                    for (i, s) in list.into_iter().enumerate() {
                        let at = offsets.get(i).copied().unwrap_or(at);
                        match Selector::parse(&s) {
                            Ok(Selector::Name(n)) => {
                                names.push((n.clone(), at));
                                selectors.push(Selector::Name(n));
                            }
                            Ok(glob) => selectors.push(glob),
                            Err(m) => errors.push(loc.error(at, format!("{what} sessions: {m}"))),
                        }
                    }
                    sessions = Some(selectors);
                }
                "layout" => {
                    if let Some(s) = string(loc, errors, "layout", v) {
                        match s.parse() {
                            Ok(l) => layout = l,
                            Err(m) => errors.push(loc.error(v.span().start, format!("{what} {m}"))),
                        }
                    }
                }
                other => unknown(loc, errors, &what, other, k.span().start, DASHBOARD_KEYS),
            }
        }
        let Some(sessions) = sessions else {
            // A list with errors was reported as such.
            if !listed {
                errors.push(loc.error(
                    name.span().start,
                    format!("{what} has no sessions: add sessions = [\"NAME\", \"GLOB*\"]"),
                ));
            }
            continue;
        };
        out.push(Declared {
            dashboard: Dashboard {
                name: name_str,
                sessions,
                layout,
                file: loc.file.to_owned(),
                line: loc.line(name.span().start),
            },
            names,
        });
    }
    out
}

/// The dashboards, once each literal name they list is a declared session
/// (a glob may match none yet: ad-hoc sessions come and go).
pub(super) fn check(
    loc: &Locator,
    errors: &mut Vec<ConfigError>,
    declared: Vec<Declared>,
    sessions: &BTreeMap<String, Session>,
) -> BTreeMap<String, Dashboard> {
    let known: Vec<&str> = sessions.keys().map(String::as_str).collect();
    let mut out = BTreeMap::new();
    for d in declared {
        for (name, at) in &d.names {
            if !sessions.contains_key(name) {
                let why = crate::values::no_session(name, &known)
                    .replace("see berth ls", "declare it, or use a glob");
                errors.push(loc.error(
                    *at,
                    format!("[dashboard.{}] sessions: {why}", d.dashboard.name),
                ));
            }
        }
        out.insert(d.dashboard.name.clone(), d.dashboard);
    }
    out
}
