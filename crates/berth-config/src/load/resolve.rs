//! A session's keys merged over `[defaults]` and built-in defaults, and
//! the checks that need the whole session.

use std::path::{Path, PathBuf};

use crate::defaults;
use crate::error::{ConfigError, Locator};
use crate::paths::Mode;
use crate::values;

use super::*;

/// Session keys over `[defaults]` over built-in defaults, then checks that
/// need the whole session.
#[allow(clippy::too_many_arguments)]
pub(super) fn resolve(
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
        if u == crate::access::WEB_ACCOUNT {
            // Its connections may speak for logged-in people: a program
            // running as it could speak for anyone.
            errors.push(here(format!(
                "session {name:?} may not run as {u:?}: berth-web runs as that account, and a session's program would hold its rights; choose a service account of the session's own"
            )));
        } else if u == "root" && !allow_root {
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
    let shell_integration = k
        .shell_integration
        .or(d.shell_integration)
        .unwrap_or(defaults::SHELL_INTEGRATION);
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
    let log = k.log.or(d.log).unwrap_or(LogTarget::File);
    let (record, record_at) = k.record.or(d.record).unwrap_or((false, 0));
    let (record_input, input_at) = k.record_input.or(d.record_input).unwrap_or((false, 0));
    // Said at the session's own key, else at its header (from [defaults]).
    let said = |own: bool, at: usize, m: String| {
        if own {
            loc.error(at, m)
        } else {
            at_header(m)
        }
    };
    if record && log != LogTarget::File {
        errors.push(said(
            k.record.is_some(),
            record_at,
            format!(
                "session {name:?}: record = true needs log = \"file\" (the recording is kept beside the output log); set log = \"file\" or drop record"
            ),
        ));
    }
    if record_input && !record {
        errors.push(said(
            k.record_input.is_some(),
            input_at,
            format!(
                "session {name:?}: record_input = true records nothing without record = true; set record = true too, or drop record_input"
            ),
        ));
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
        shell_integration,
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
        log,
        log_max_size: k
            .log_max_size
            .or(d.log_max_size)
            .unwrap_or(defaults::LOG_MAX_SIZE),
        log_keep: k.log_keep.or(d.log_keep).unwrap_or(defaults::LOG_KEEP),
        record,
        record_input,
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

/// In system mode, the users and groups in `list` that do not exist, as
/// "user \"x\"" / "group \"y\"" with where they were written.
pub(super) fn unknown_principals(
    list: &[(Principal, usize)],
    checks: Checks,
) -> Vec<(String, usize)> {
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
