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

use crate::defaults;
use crate::error::{ConfigError, Locator};
use crate::model::*;
use crate::paths::Mode;
use crate::values;

const TOP_KEYS: &[&str] = &["daemon", "defaults", "session"];
const DAEMON_KEYS: &[&str] = &["backend", "include", "admins"];
const SESSION_KEYS: &[&str] = &[
    "command",
    "user",
    "create_user",
    "allow_root",
    "dynamic_user",
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
}

impl Checks {
    pub fn new(mode: Mode) -> Self {
        Self {
            mode,
            systemd: None,
        }
    }
}

/// Loads `path` and its includes.
pub fn load(path: &Path, checks: Checks) -> Result<Config, Vec<ConfigError>> {
    let mut errors = Vec::new();
    let text = match crate::error::read_text(path, "the config") {
        Ok(t) => t,
        Err(e) => return Err(vec![e]),
    };
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
    if errors.is_empty() {
        Ok(Config {
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

/// Session keys as written (in `[defaults]` or a session), not yet merged.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Keys {
    /// Keys written here that only the systemd backend applies, and where.
    systemd_only: Vec<(&'static str, usize)>,
    command: Option<Command>,
    /// `command` was written, valid or not (so a bad one is not also "missing").
    command_given: bool,
    user: Option<(String, usize)>,
    create_user: Option<bool>,
    allow_root: Option<bool>,
    dynamic_user: Option<bool>,
    cwd: Option<PathBuf>,
    env: Option<BTreeMap<String, String>>,
    restart: Option<RestartMode>,
    restart_delay: Option<std::time::Duration>,
    restart_max_delay: Option<(std::time::Duration, usize)>,
    restart_limit: Option<RestartLimit>,
    scrollback: Option<usize>,
    size: Option<(u16, u16)>,
    size_policy: Option<SizePolicy>,
    log: Option<LogTarget>,
    /// Where `log` was written.
    log_at: usize,
    log_max_size: Option<u64>,
    log_keep: Option<u32>,
    operators: Option<Vec<(Principal, usize)>>,
    observers: Option<Vec<(Principal, usize)>>,
    group: Option<(String, usize)>,
    after: Option<Vec<String>>,
    memory: Option<u64>,
    cpu: Option<u32>,
    tasks: Option<u32>,
    no_new_privileges: Option<bool>,
    protect_system: Option<String>,
    private_tmp: Option<bool>,
}

fn keys(loc: &Locator, errors: &mut Vec<ConfigError>, what: &str, t: &DeTable) -> Keys {
    let mut k = Keys::default();
    for (key, v) in t.iter() {
        let name = key.get_ref().as_ref();
        let at = v.span().start;
        let e = &mut *errors;
        match name {
            "command" => {
                k.command_given = true;
                k.command = match v.get_ref() {
                    DeValue::String(s) if !s.trim().is_empty() => {
                        usable(loc, e, "command", at, s).map(Command::Shell)
                    }
                    DeValue::Array(_) => match strings(loc, e, "command", v) {
                        Some(list) if !list.is_empty() && !list[0].is_empty() => {
                            Some(Command::Argv(list))
                        }
                        Some(_) => {
                            e.push(loc.error(at, "command is empty: give the program and its arguments, e.g. [\"/usr/bin/python3\", \"-i\"]"));
                            None
                        }
                        None => None,
                    },
                    DeValue::String(_) => {
                        e.push(loc.error(at, "command is empty: give a shell line or an array of program and arguments"));
                        None
                    }
                    other => {
                        e.push(loc.error(
                            at,
                            format!(
                                "command: expected an array of strings or a string, found {}",
                                kind(other)
                            ),
                        ));
                        None
                    }
                };
                if let Some(why) = k.command.as_ref().and_then(too_long) {
                    e.push(loc.error(at, why));
                    k.command = None;
                }
            }
            "user" => k.user = string(loc, e, name, v).map(|s| (s, at)),
            "create_user" => k.create_user = boolean(loc, e, name, v),
            "allow_root" => k.allow_root = boolean(loc, e, name, v),
            "dynamic_user" => {
                k.dynamic_user = boolean(loc, e, name, v);
                if k.dynamic_user == Some(true) {
                    k.systemd_only.push(("dynamic_user", at));
                }
            }
            "cwd" => {
                k.cwd = string(loc, e, name, v).and_then(|s| {
                    if s.starts_with('/') {
                        Some(PathBuf::from(s))
                    } else {
                        e.push(loc.error(at, format!("cwd {s:?} is not an absolute path")));
                        None
                    }
                })
            }
            "env" => {
                if let Some(t) = table(loc, e, "env", v) {
                    let mut env = BTreeMap::new();
                    for (ek, ev) in t.iter() {
                        let key_name = ek.get_ref().to_string();
                        if key_name.is_empty() || key_name.contains('=') || key_name.contains('\0')
                        {
                            e.push(loc.error(
                                ek.span().start,
                                format!("bad environment name {key_name:?}"),
                            ));
                            continue;
                        }
                        if let Some(val) = string(loc, e, &format!("env.{key_name}"), ev) {
                            env.insert(key_name, val);
                        }
                    }
                    k.env = Some(env);
                }
            }
            "restart" => k.restart = parsed(loc, e, name, v, |s| s.parse()),
            "restart_delay" => {
                k.restart_delay = parsed(loc, e, name, v, |s| {
                    values::parse_duration(s).map_err(|x| x.to_string())
                })
            }
            "restart_max_delay" => {
                k.restart_max_delay = parsed(loc, e, name, v, |s| {
                    values::parse_duration(s).map_err(|x| x.to_string())
                })
                .map(|d| (d, at))
            }
            "restart_limit" => {
                if let Some(t) = table(loc, e, "restart_limit", v) {
                    let mut burst = None;
                    let mut interval = None;
                    for (lk, lv) in t.iter() {
                        match lk.get_ref().as_ref() {
                            "burst" => {
                                burst = integer(loc, e, "restart_limit.burst", lv, 1, 10_000)
                                    .map(|n| n as u32)
                            }
                            "interval" => {
                                interval = parsed(loc, e, "restart_limit.interval", lv, |s| {
                                    values::parse_duration(s).map_err(|x| x.to_string())
                                })
                            }
                            other => unknown(
                                loc,
                                e,
                                "restart_limit",
                                other,
                                lk.span().start,
                                RESTART_LIMIT_KEYS,
                            ),
                        }
                    }
                    k.restart_limit = Some(RestartLimit {
                        burst: burst.unwrap_or(defaults::RESTART_LIMIT_BURST),
                        interval: interval.unwrap_or(defaults::RESTART_LIMIT_INTERVAL),
                    });
                }
            }
            "scrollback" => {
                k.scrollback = integer(loc, e, name, v, 0, 1_000_000).map(|n| n as usize)
            }
            "size" => {
                k.size = parsed(loc, e, name, v, |s| {
                    values::parse_term_size(s).map_err(|x| x.to_string())
                })
            }
            "size_policy" => k.size_policy = parsed(loc, e, name, v, |s| s.parse()),
            "log" => {
                k.log_at = at;
                k.log = parsed(loc, e, name, v, |s| match s {
                    "file" => Ok(LogTarget::File),
                    "journal" => Ok(LogTarget::Journal),
                    "none" => Ok(LogTarget::None),
                    other => Err(format!(
                        "bad log target {other:?}: expected file, journal or none"
                    )),
                })
            }
            "log_max_size" => {
                k.log_max_size = parsed(loc, e, name, v, |s| {
                    values::parse_byte_size(s).map_err(|x| x.to_string())
                })
            }
            "log_keep" => k.log_keep = integer(loc, e, name, v, 0, 1000).map(|n| n as u32),
            "access" => {
                if let Some(t) = table(loc, e, "access", v) {
                    for (ak, av) in t.iter() {
                        let sub = ak.get_ref().as_ref();
                        match sub {
                            "operators" | "observers" => {
                                let list = principals(loc, e, &format!("access.{sub}"), av);
                                if sub == "operators" {
                                    k.operators = list;
                                } else {
                                    k.observers = list;
                                }
                            }
                            "group" => {
                                k.group =
                                    string(loc, e, "access.group", av).map(|g| (g, av.span().start))
                            }
                            other => unknown(loc, e, "access", other, ak.span().start, ACCESS_KEYS),
                        }
                    }
                }
            }
            "after" => {
                k.after = strings(loc, e, name, v);
                let units = k
                    .after
                    .iter()
                    .flatten()
                    .filter(|a| crate::model::is_unit_name(a));
                if units.count() > 0 {
                    k.systemd_only.push(("after (a systemd unit)", at));
                }
            }
            "limits" => {
                if let Some(t) = table(loc, e, "limits", v) {
                    for (lk, lv) in t.iter() {
                        if let Some(key) = ["limits.memory", "limits.cpu", "limits.tasks"]
                            .into_iter()
                            .find(|key| key[7..] == *lk.get_ref().as_ref())
                        {
                            k.systemd_only.push((key, lk.span().start));
                        }
                        match lk.get_ref().as_ref() {
                            "memory" => {
                                k.memory = parsed(loc, e, "limits.memory", lv, |s| {
                                    values::parse_byte_size(s).map_err(|x| x.to_string())
                                })
                            }
                            "cpu" => {
                                k.cpu = parsed(loc, e, "limits.cpu", lv, |s| {
                                    s.strip_suffix('%')
                                        .and_then(|n| n.parse::<u32>().ok())
                                        .filter(|n| *n > 0)
                                        .ok_or_else(|| format!("bad cpu limit {s:?}: expected a percentage of one CPU, like \"150%\""))
                                })
                            }
                            "tasks" => {
                                k.tasks = integer(loc, e, "limits.tasks", lv, 1, 1 << 22)
                                    .map(|n| n as u32)
                            }
                            other => unknown(loc, e, "limits", other, lk.span().start, LIMIT_KEYS),
                        }
                    }
                }
            }
            "sandbox" => {
                if let Some(t) = table(loc, e, "sandbox", v) {
                    for (sk, sv) in t.iter() {
                        match sk.get_ref().as_ref() {
                            "no_new_privileges" => {
                                k.no_new_privileges =
                                    boolean(loc, e, "sandbox.no_new_privileges", sv)
                            }
                            "private_tmp" => {
                                k.private_tmp = boolean(loc, e, "sandbox.private_tmp", sv);
                                k.systemd_only
                                    .push(("sandbox.private_tmp", sk.span().start));
                            }
                            "protect_system" => {
                                k.systemd_only
                                    .push(("sandbox.protect_system", sk.span().start));
                                k.protect_system =
                                    parsed(loc, e, "sandbox.protect_system", sv, |s| match s {
                                        "full" | "strict" | "yes" | "no" => Ok(s.to_owned()),
                                        other => Err(format!(
                                            "bad value {other:?}: expected full, strict, yes or no"
                                        )),
                                    })
                            }
                            other => {
                                unknown(loc, e, "sandbox", other, sk.span().start, SANDBOX_KEYS)
                            }
                        }
                    }
                }
            }
            other => unknown(loc, e, what, other, key.span().start, SESSION_KEYS),
        }
    }
    k
}

/// Session keys over `[defaults]` over built-in defaults, then checks that
/// need the whole session.
#[allow(clippy::too_many_arguments)]
fn resolve(
    name: &str,
    d: &Keys,
    k: Keys,
    origin: Origin,
    header: usize,
    loc: &Locator,
    checks: Checks,
    errors: &mut Vec<ConfigError>,
) -> Option<Session> {
    let at_header = |message: String| loc.error(header, message);
    let Some(command) = k.command.clone() else {
        if !k.command_given {
            errors.push(at_header(format!(
                "session {name:?} has no command: add command = [\"program\", \"arg\"] or command = \"shell line\""
            )));
        }
        return None;
    };
    let before = errors.len();
    if checks.systemd == Some(false) {
        let embedded = |key: &str, from: &str| {
            format!("{key}{from} is applied by the systemd backend only, and these sessions run on the embedded backend: remove it, or run berthd where systemd is PID 1 (backend = \"systemd\")")
        };
        for (key, at) in &k.systemd_only {
            errors.push(loc.error(*at, embedded(key, "")));
        }
        for (key, _) in &d.systemd_only {
            if !k.systemd_only.iter().any(|(own, _)| own == key) {
                errors.push(at_header(embedded(key, " (from [defaults])")));
            }
        }
    }
    if k.log.or(d.log) == Some(LogTarget::Journal) && !Path::new(JOURNAL_SOCKET).exists() {
        let at = if k.log.is_some() { k.log_at } else { header };
        errors.push(loc.error(
            at,
            format!("log = \"journal\" needs systemd-journald, which is not running here (no {JOURNAL_SOCKET}): use log = \"file\""),
        ));
    }
    let user = k.user.clone().or_else(|| d.user.clone());
    let create_user = k.create_user.or(d.create_user).unwrap_or(false);
    let allow_root = k.allow_root.or(d.allow_root).unwrap_or(false);
    if let Some((u, at)) = &user {
        let here = |m: String| {
            if k.user.is_some() {
                loc.error(*at, m)
            } else {
                at_header(m)
            }
        };
        if u == "root" && !allow_root {
            errors.push(here(format!(
                "session {name:?} would run as root: set allow_root = true if you mean it, or choose a service account"
            )));
        } else if checks.mode == Mode::User {
            let me = crate::accounts::user_name(nix::unistd::geteuid().as_raw());
            if *u != me {
                errors.push(here(format!(
                    "user {u:?} needs system mode: berthd runs as {me}, which cannot switch users (run berthd as root, or drop the user key)"
                )));
            }
        } else if nix::unistd::User::from_name(u).ok().flatten().is_none() {
            if !create_user {
                errors.push(here(crate::accounts::missing_user(u)));
            } else if let Err(rule) = crate::accounts::check_account_name(u) {
                // berthd would create it: useradd must take the name.
                errors.push(here(format!("user {u:?} cannot be created: {rule}")));
            }
        }
    }
    let dynamic_user = k.dynamic_user.or(d.dynamic_user).unwrap_or(false);
    if checks.mode == Mode::System && user.is_none() && !dynamic_user {
        // berthd creates berth-NAME: useradd must take it.
        let account = crate::accounts::service_account(name, None);
        if let Err(rule) = crate::accounts::check_account_name(&account) {
            errors.push(at_header(format!(
                "session {name:?} would run as {account:?}, which cannot be created ({rule}): set user, or rename the session"
            )));
        }
    }
    let socket = crate::paths::session_socket(&crate::paths::runtime_dir(checks.mode), name);
    if socket.as_os_str().len() > SOCKET_PATH_MAX {
        errors.push(at_header(format!(
            "session {name:?}: its socket {} would be longer than the {SOCKET_PATH_MAX} bytes a Unix socket path may have; choose a shorter name",
            socket.display()
        )));
    }
    let restart_delay = k
        .restart_delay
        .or(d.restart_delay)
        .unwrap_or(defaults::RESTART_DELAY);
    let restart_max_delay = k.restart_max_delay.or(d.restart_max_delay);
    if let Some((max, at)) = restart_max_delay {
        if max < restart_delay {
            errors.push(loc.error(
                if k.restart_max_delay.is_some() { at } else { 0 },
                format!(
                    "restart_max_delay ({}) is shorter than restart_delay ({})",
                    values::format_duration(max),
                    values::format_duration(restart_delay)
                ),
            ));
        }
    }
    let operators = k
        .operators
        .clone()
        .or_else(|| d.operators.clone())
        .unwrap_or_default();
    let observers = k
        .observers
        .clone()
        .or_else(|| d.observers.clone())
        .unwrap_or_default();
    let group = k.group.clone().or_else(|| d.group.clone());
    if let Some((g, at)) = &group {
        // The default group is created by berthd; any other must exist.
        let missing = checks.mode == Mode::System
            && g != defaults::ACCESS_GROUP
            && nix::unistd::Group::from_name(g).ok().flatten().is_none();
        if missing {
            let at = if k.group.is_some() { *at } else { 0 };
            errors.push(loc.error(
                at,
                format!("access.group {g:?} does not exist: create it (groupadd {g}), or leave the default {:?}", defaults::ACCESS_GROUP),
            ));
        }
    }
    let listed: Vec<(Principal, usize)> = operators.iter().chain(&observers).cloned().collect();
    for (what, at) in unknown_principals(&listed, checks) {
        let at = if k.operators.is_some() || k.observers.is_some() {
            at
        } else {
            0
        };
        errors.push(loc.error(at, format!("session {name:?}: access names unknown {what}")));
    }
    if errors.len() > before {
        return None;
    }
    Some(Session {
        name: name.to_owned(),
        command,
        user: user.map(|(u, _)| u),
        create_user,
        allow_root,
        dynamic_user,
        cwd: k.cwd.or(d.cwd.clone()),
        env: k.env.or(d.env.clone()).unwrap_or_default(),
        restart: k.restart.or(d.restart).unwrap_or(RestartMode::OnFailure),
        restart_delay,
        restart_max_delay: restart_max_delay.map_or(defaults::RESTART_MAX_DELAY, |(m, _)| m),
        restart_limit: k
            .restart_limit
            .or(d.restart_limit.clone())
            .unwrap_or(RestartLimit {
                burst: defaults::RESTART_LIMIT_BURST,
                interval: defaults::RESTART_LIMIT_INTERVAL,
            }),
        scrollback: k
            .scrollback
            .or(d.scrollback)
            .unwrap_or(defaults::SCROLLBACK_LINES),
        size: k
            .size
            .or(d.size)
            .unwrap_or((defaults::COLS, defaults::ROWS)),
        size_policy: k
            .size_policy
            .or(d.size_policy)
            .unwrap_or(SizePolicy::Smallest),
        log: k.log.or(d.log).unwrap_or(LogTarget::File),
        log_max_size: k
            .log_max_size
            .or(d.log_max_size)
            .unwrap_or(defaults::LOG_MAX_SIZE),
        log_keep: k.log_keep.or(d.log_keep).unwrap_or(defaults::LOG_KEEP),
        access: Access {
            operators: operators.into_iter().map(|(p, _)| p).collect(),
            observers: observers.into_iter().map(|(p, _)| p).collect(),
            group: group.map_or_else(|| defaults::ACCESS_GROUP.to_owned(), |(g, _)| g),
        },
        after: k.after.or(d.after.clone()).unwrap_or_default(),
        limits: Limits {
            memory: k.memory.or(d.memory),
            cpu_percent: k.cpu.or(d.cpu),
            tasks: k.tasks.or(d.tasks),
        },
        sandbox: {
            let base = Sandbox::default();
            Sandbox {
                no_new_privileges: k
                    .no_new_privileges
                    .or(d.no_new_privileges)
                    .unwrap_or(base.no_new_privileges),
                protect_system: k
                    .protect_system
                    .or(d.protect_system.clone())
                    .unwrap_or(base.protect_system),
                private_tmp: k.private_tmp.or(d.private_tmp).unwrap_or(base.private_tmp),
            }
        },
        origin,
    })
}

fn kind(v: &DeValue) -> &'static str {
    match v {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a datetime",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

fn unknown(
    loc: &Locator,
    errors: &mut Vec<ConfigError>,
    what: &str,
    key: &str,
    at: usize,
    known: &[&str],
) {
    let hint = known
        .iter()
        .map(|k| (strsim::damerau_levenshtein(key, k), *k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 3))
        .min()
        .map_or(String::new(), |(_, k)| format!(" (did you mean {k:?}?)"));
    errors.push(loc.error(at, format!("unknown key {key:?} in {what}{hint}")));
}

fn table<'a, 'i>(
    loc: &Locator,
    errors: &mut Vec<ConfigError>,
    what: &str,
    v: &'a Spanned<DeValue<'i>>,
) -> Option<&'a DeTable<'i>> {
    match v.get_ref() {
        DeValue::Table(t) => Some(t),
        other => {
            errors.push(loc.error(
                v.span().start,
                format!("{what}: expected a table, found {}", kind(other)),
            ));
            None
        }
    }
}

fn string(
    loc: &Locator,
    errors: &mut Vec<ConfigError>,
    key: &str,
    v: &Spanned<DeValue>,
) -> Option<String> {
    match v.get_ref() {
        DeValue::String(s) => usable(loc, errors, key, v.span().start, s),
        other => {
            errors.push(loc.error(
                v.span().start,
                format!("{key}: expected a string, found {}", kind(other)),
            ));
            None
        }
    }
}

/// A string a program, path or account name can hold: no NUL character.
fn usable(
    loc: &Locator,
    errors: &mut Vec<ConfigError>,
    key: &str,
    at: usize,
    s: &str,
) -> Option<String> {
    if s.contains('\0') {
        errors.push(loc.error(
            at,
            format!("{key}: contains a NUL character, which no argument, path or name can hold; remove it"),
        ));
        return None;
    }
    Some(s.to_owned())
}

/// Why the kernel would refuse to start `command` (E2BIG), if it would.
/// (All arguments together fit: a config file is at most 1 MiB.)
fn too_long(command: &Command) -> Option<String> {
    // MAX_ARG_STRLEN: one argument, its NUL included.
    const ARG: usize = 128 * 1024;
    let args: Vec<&str> = match command {
        Command::Argv(list) => list.iter().map(String::as_str).collect(),
        // The shell gets it as one argument.
        Command::Shell(line) => vec![line.as_str()],
    };
    let long = args.iter().find(|a| a.len() >= ARG)?;
    Some(format!(
        "command: an argument of {} bytes is longer than the {} bytes the kernel takes in one argument",
        long.len(),
        ARG - 1
    ))
}

fn boolean(
    loc: &Locator,
    errors: &mut Vec<ConfigError>,
    key: &str,
    v: &Spanned<DeValue>,
) -> Option<bool> {
    match v.get_ref() {
        DeValue::Boolean(b) => Some(*b),
        other => {
            errors.push(loc.error(
                v.span().start,
                format!("{key}: expected true or false, found {}", kind(other)),
            ));
            None
        }
    }
}

fn integer(
    loc: &Locator,
    errors: &mut Vec<ConfigError>,
    key: &str,
    v: &Spanned<DeValue>,
    min: i64,
    max: i64,
) -> Option<i64> {
    let n = match v.get_ref() {
        DeValue::Integer(i) => i64::from_str_radix(&i.as_str().replace('_', ""), i.radix()).ok(),
        other => {
            errors.push(loc.error(
                v.span().start,
                format!("{key}: expected an integer, found {}", kind(other)),
            ));
            return None;
        }
    };
    match n {
        Some(n) if (min..=max).contains(&n) => Some(n),
        _ => {
            errors.push(loc.error(
                v.span().start,
                format!("{key}: expected an integer from {min} to {max}"),
            ));
            None
        }
    }
}

fn strings(
    loc: &Locator,
    errors: &mut Vec<ConfigError>,
    key: &str,
    v: &Spanned<DeValue>,
) -> Option<Vec<String>> {
    match v.get_ref() {
        DeValue::Array(items) => {
            let mut out = Vec::new();
            for item in items.iter() {
                match item.get_ref() {
                    DeValue::String(s) => out.push(usable(loc, errors, key, item.span().start, s)?),
                    other => {
                        errors.push(loc.error(
                            item.span().start,
                            format!(
                                "{key}: expected an array of strings, found {} in it",
                                kind(other)
                            ),
                        ));
                        return None;
                    }
                }
            }
            Some(out)
        }
        other => {
            errors.push(loc.error(
                v.span().start,
                format!("{key}: expected an array of strings, found {}", kind(other)),
            ));
            None
        }
    }
}

/// `["alice", "group:oncall"]`, each with where it was written.
fn principals(
    loc: &Locator,
    errors: &mut Vec<ConfigError>,
    key: &str,
    v: &Spanned<DeValue>,
) -> Option<Vec<(Principal, usize)>> {
    let at = v.span().start;
    let list = strings(loc, errors, key, v)?;
    Some(
        list.into_iter()
            .filter_map(|p| match p.parse::<Principal>() {
                Ok(principal) => Some((principal, at)),
                Err(m) => {
                    errors.push(loc.error(at, format!("{key}: {m}")));
                    None
                }
            })
            .collect(),
    )
}

/// In system mode, the users and groups in `list` that do not exist, as
/// "user \"x\"" / "group \"y\"" with where they were written.
fn unknown_principals(list: &[(Principal, usize)], checks: Checks) -> Vec<(String, usize)> {
    if checks.mode != Mode::System {
        return Vec::new();
    }
    list.iter()
        .filter_map(|(p, at)| {
            let missing = match p {
                Principal::User(u) => nix::unistd::User::from_name(u)
                    .ok()
                    .flatten()
                    .is_none()
                    .then(|| format!("user {u:?}")),
                Principal::Group(g) => nix::unistd::Group::from_name(g)
                    .ok()
                    .flatten()
                    .is_none()
                    .then(|| format!("group {g:?}")),
            };
            missing.map(|what| (what, *at))
        })
        .collect()
}

/// A session not in the config (`berth new`), resolved exactly as a
/// declared one: `[defaults]`, then built-in defaults, with the same checks.
/// The error is one line.
pub fn adhoc_session(
    config: &Config,
    name: &str,
    command: Vec<String>,
    user: Option<String>,
    checks: Checks,
) -> Result<Session, String> {
    values::check_session_name(name)?;
    if command.first().is_none_or(|c| c.is_empty()) {
        return Err(format!(
            "no command: give the program after --, as in berth new {name} -- bash"
        ));
    }
    let origin = Origin {
        file: PathBuf::from("(berth new)"),
        line: 0,
    };
    let loc = Locator::new(&origin.file, "");
    let keys = Keys {
        command: Some(Command::Argv(command)),
        command_given: true,
        user: user.map(|u| (u, 0)),
        ..Keys::default()
    };
    let mut errors = Vec::new();
    resolve(
        name,
        &config.defaults,
        keys,
        origin.clone(),
        0,
        &loc,
        checks,
        &mut errors,
    )
    .ok_or_else(|| {
        errors
            .iter()
            .map(|e| e.message.as_str())
            .collect::<Vec<_>>()
            .join("; ")
    })
}

/// A string value run through `parse`, whose error is the message.
fn parsed<T>(
    loc: &Locator,
    errors: &mut Vec<ConfigError>,
    key: &str,
    v: &Spanned<DeValue>,
    parse: impl FnOnce(&str) -> Result<T, String>,
) -> Option<T> {
    let s = string(loc, errors, key, v)?;
    match parse(&s) {
        Ok(t) => Some(t),
        Err(m) => {
            errors.push(loc.error(v.span().start, format!("{key}: {m}")));
            None
        }
    }
}
