//! Reading `berth.toml` and its includes into a [`Config`], collecting
//! every error with its file, line and column.
//!
//! The files are parsed into toml's spanned tree and walked key by key, so
//! one run reports every unknown key, wrong type and bad value, not just the
//! first that a derive-based deserializer would stop at.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use toml::de::{DeTable, DeValue};
use toml::Spanned;

use crate::error::{ConfigError, Locator};
use crate::model::*;
use crate::paths::Mode;
use crate::values;

mod dashboards;
mod keys;
mod read;
mod resolve;
mod web;

use keys::keys;
pub(crate) use keys::Keys;
use read::*;
pub use resolve::adhoc_session;
use resolve::{resolve, unknown_principals};

const TOP_KEYS: &[&str] = &["daemon", "defaults", "session", "dashboard", "web"];
const DAEMON_KEYS: &[&str] = &["backend", "include", "admins"];
const SESSION_KEYS: &[&str] = &[
    "command",
    "user",
    "create_user",
    "allow_root",
    "dynamic_user",
    "shell_integration",
    "cwd",
    "env",
    "restart",
    "restart_delay",
    "restart_max_delay",
    "restart_limit",
    "scrollback",
    "size",
    "size_policy",
    "log",
    "log_max_size",
    "log_keep",
    "record",
    "record_input",
    "access",
    "after",
    "limits",
    "sandbox",
];
const ACCESS_KEYS: &[&str] = &["operators", "observers", "group"];
const LIMIT_KEYS: &[&str] = &["memory", "cpu", "tasks"];
const SANDBOX_KEYS: &[&str] = &["no_new_privileges", "protect_system", "private_tmp"];
const RESTART_LIMIT_KEYS: &[&str] = &["burst", "interval"];

/// Where systemd-journald takes entries.
const JOURNAL_SOCKET: &str = "/run/systemd/journal/socket";

/// The longest path a Unix socket can be bound at (sun_path, less its NUL).
const SOCKET_PATH_MAX: usize = 107;

/// How to check a config: accounts as in `mode`, settings against the
/// backend that will run the sessions.
#[derive(Debug, Clone, Copy)]
pub struct Checks {
    pub mode: Mode,
    /// Whether sessions will be systemd units; `None`: as the config's
    /// `[daemon] backend` decides on this machine.
    pub systemd: Option<bool>,
    /// Whose config files are believed (`trust`): `Some(0)`, root's
    /// alone, where berthd runs as root what the files declare (system
    /// mode, as sudo and sshd check theirs); `None`: not checked (user
    /// mode, where the files are the user's own).
    pub trust: Option<u32>,
}

impl Checks {
    pub fn new(mode: Mode) -> Self {
        Self {
            mode,
            systemd: None,
            trust: Self::trust_for(mode),
        }
    }

    /// Whose files berthd believes in `mode`.
    pub fn trust_for(mode: Mode) -> Option<u32> {
        (mode == Mode::System).then_some(0)
    }
}

/// The error for a config file that someone other than the trusted owner
/// could have written, or `None` when nothing on its path could have been.
fn untrusted_file(file: &Path, checks: Checks) -> Option<ConfigError> {
    let uid = checks.trust?;
    let why = crate::trust::check(file, uid, crate::trust::Last::File).err()??;
    let subject = why.said_of(file);
    Some(ConfigError {
        file: file.to_owned(),
        line: 0,
        col: 0,
        message: format!(
            "refusing this file: {subject}; berthd runs what it declares as root, so it and its directories must be root's and writable by root alone (chown root:root, chmod go-w)"
        ),
    })
}

/// Loads `path` and its includes.
pub fn load(path: &Path, checks: Checks) -> Result<Config, Vec<ConfigError>> {
    let mut errors = Vec::new();
    let text = match crate::error::read_text(path, "the config") {
        Ok(t) => t,
        Err(e) => return Err(vec![e]),
    };
    errors.extend(untrusted_file(path, checks));
    let mut backend = Backend::Auto;
    let mut backend_at = 0;
    let mut admins = Vec::new();
    let mut files = vec![path.to_owned()];
    let mut defaults_keys = Keys::default();
    let mut declared: Vec<(String, Keys, PathBuf, usize)> = Vec::new();
    // Every file's text, for locating errors found after parsing.
    let mut texts: BTreeMap<PathBuf, String> = BTreeMap::new();
    let main_loc = Locator::new(path, &text);
    let root = parse(&main_loc, &mut errors);
    let mut include_patterns = Vec::new();
    let mut dashboards_declared = Vec::new();
    let mut web_config = None;
    for (key, value) in root.iter() {
        match key.get_ref().as_ref() {
            "daemon" => {
                let Some(t) = table(&main_loc, &mut errors, "[daemon]", value) else {
                    continue;
                };
                for (k, v) in t.iter() {
                    match k.get_ref().as_ref() {
                        "backend" => {
                            if let Some(s) = string(&main_loc, &mut errors, "backend", v) {
                                match Backend::parse(&s) {
                                    Ok(b) => {
                                        backend = b;
                                        backend_at = v.span().start;
                                    }
                                    Err(m) => errors.push(main_loc.error(v.span().start, m)),
                                }
                            }
                        }
                        "admins" => {
                            if let Some(list) = principals(&main_loc, &mut errors, "admins", v) {
                                for (what, at) in unknown_principals(&list, checks) {
                                    errors.push(main_loc.error(
                                        at,
                                        format!("[daemon] admins names unknown {what}"),
                                    ));
                                }
                                admins = list.into_iter().map(|(p, _)| p).collect();
                            }
                        }
                        "include" => {
                            if let Some(list) = strings(&main_loc, &mut errors, "include", v) {
                                include_patterns
                                    .extend(list.into_iter().map(|p| (p, v.span().start)));
                            }
                        }
                        other => unknown(
                            &main_loc,
                            &mut errors,
                            "[daemon]",
                            other,
                            k.span().start,
                            DAEMON_KEYS,
                        ),
                    }
                }
            }
            "defaults" => {
                if let Some(t) = table(&main_loc, &mut errors, "[defaults]", value) {
                    defaults_keys = keys(&main_loc, &mut errors, "[defaults]", t);
                }
            }
            "session" => sessions(&main_loc, &mut errors, value, &mut declared),
            "dashboard" => {
                dashboards_declared.extend(dashboards::read(&main_loc, &mut errors, value));
            }
            "web" => {
                // In user mode berth-web runs as berthd's own user and
                // serves that user alone (crates/berthd/src/web.rs).
                web_config = web::read(&main_loc, &mut errors, value);
            }
            other => unknown(
                &main_loc,
                &mut errors,
                "the top level",
                other,
                key.span().start,
                TOP_KEYS,
            ),
        }
    }
    // Includes, relative to the main file's directory, in name order.
    let base = path.parent().unwrap_or(Path::new("."));
    for (pattern, at) in include_patterns {
        let full = base.join(&pattern);
        let found = match glob::glob(&full.to_string_lossy()) {
            Ok(paths) => paths.flatten().collect::<Vec<_>>(),
            Err(e) => {
                errors.push(main_loc.error(at, format!("bad include pattern {pattern:?}: {e}")));
                continue;
            }
        };
        let mut found = found;
        found.sort();
        if found.is_empty() {
            // A pattern may match nothing yet (an empty sessions.d), but
            // it must point somewhere: a literal file, or a directory.
            let wild = pattern.contains(['*', '?', '[']);
            let dir = full.parent().map(Path::to_path_buf).unwrap_or_default();
            if !wild {
                errors.push(main_loc.error(
                    at,
                    format!("include {pattern:?}: no such file {}", full.display()),
                ));
            } else if !dir.is_dir() {
                errors.push(main_loc.error(
                    at,
                    format!(
                        "include {pattern:?}: no directory {}; create it or fix the pattern",
                        dir.display()
                    ),
                ));
            }
        }
        for file in found {
            match crate::error::read_text(&file, "included file") {
                Ok(t) => {
                    errors.extend(untrusted_file(&file, checks));
                    files.push(file.clone());
                    let loc = Locator::new(&file, &t);
                    let root = parse(&loc, &mut errors);
                    for (key, value) in root.iter() {
                        match key.get_ref().as_ref() {
                            "session" => sessions(&loc, &mut errors, value, &mut declared),
                            other => errors.push(loc.error(
                                key.span().start,
                                format!("{other:?} does not belong in an included file: only [session.NAME] tables do (put it in {})", path.display()),
                            )),
                        }
                    }
                    texts.insert(file.clone(), t);
                }
                Err(e) => errors.push(e),
            }
        }
    }

    texts.insert(path.to_owned(), text.clone());
    let systemd = match checks.systemd {
        Some(s) => s,
        None => backend
            .uses_systemd(checks.mode, Backend::systemd_booted())
            .unwrap_or_else(|m| {
                errors.push(main_loc.error(backend_at, format!("backend: {m}")));
                true
            }),
    };
    let checks = Checks {
        systemd: Some(systemd),
        ..checks
    };
    let mut sessions_out = BTreeMap::new();
    let mut first_seen: BTreeMap<String, (PathBuf, usize)> = BTreeMap::new();
    for (name, k, file, at) in declared {
        let loc = Locator::new(&file, texts.get(&file).map_or("", String::as_str));
        let line = loc.line(at);
        if let Some((f, l)) = first_seen.get(&name) {
            errors.push(loc.error(
                at,
                format!(
                    "duplicate session {name:?}: already declared at {}:{l}",
                    f.display()
                ),
            ));
            continue;
        }
        first_seen.insert(name.clone(), (file.clone(), line));
        let origin = Origin {
            file: file.clone(),
            line,
        };
        if let Some(s) = resolve(
            &name,
            &defaults_keys,
            k,
            origin,
            at,
            &loc,
            checks,
            &mut errors,
        ) {
            sessions_out.insert(name, s);
        }
    }
    for s in sessions_out.values() {
        for a in &s.after {
            if !crate::model::is_unit_name(a) && !sessions_out.contains_key(a) {
                let loc = Locator::new(
                    &s.origin.file,
                    texts.get(&s.origin.file).map_or("", String::as_str),
                );
                let at = loc.offset_of_line(s.origin.line);
                errors.push(loc.error(
                    at,
                    format!("session {:?}: after names no session {a:?}: declare it, or name a systemd unit (like {a}.service)", s.name),
                ));
            }
        }
    }
    let dashboards = dashboards::check(&main_loc, &mut errors, dashboards_declared, &sessions_out);
    if errors.is_empty() {
        Ok(Config {
            dashboards,
            web: web_config,
            backend,
            admins,
            files,
            sessions: sessions_out,
            defaults: defaults_keys,
        })
    } else {
        errors.sort_by(|a, b| (&a.file, a.line, a.col).cmp(&(&b.file, b.line, b.col)));
        Err(errors)
    }
}

/// The file's tables; empty when it has syntax errors (then only those
/// are reported: what a broken file seems to say is not checked, so a
/// missing `]` is not also an "unknown key" on the next line).
fn parse<'i>(loc: &Locator<'i>, errors: &mut Vec<ConfigError>) -> DeTable<'i> {
    let (root, syntax) = DeTable::parse_recoverable(loc.text);
    if syntax.is_empty() {
        return root.into_inner();
    }
    for e in syntax {
        let at = e.span().map_or(0, |s| s.start);
        errors.push(loc.error(at, format!("invalid TOML: {}", e.message().trim_end())));
    }
    DeTable::default()
}

/// `[session.NAME]` tables.
fn sessions(
    loc: &Locator,
    errors: &mut Vec<ConfigError>,
    value: &Spanned<DeValue>,
    out: &mut Vec<(String, Keys, PathBuf, usize)>,
) {
    let Some(t) = table(loc, errors, "[session]", value) else {
        return;
    };
    for (name, body) in t.iter() {
        let name_str = name.get_ref().to_string();
        if let Err(e) = values::check_session_name(&name_str) {
            errors.push(loc.error(name.span().start, e));
            continue;
        }
        let what = format!("[session.{name_str}]");
        let Some(body_table) = table(loc, errors, &what, body) else {
            continue;
        };
        let k = keys(loc, errors, &what, body_table);
        out.push((name_str, k, loc.file.to_owned(), name.span().start));
    }
}
