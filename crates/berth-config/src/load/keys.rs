//! Session keys as written, read from a table with every error located.

use std::collections::BTreeMap;
use std::path::PathBuf;

use toml::de::{DeTable, DeValue};

use crate::defaults;
use crate::error::{ConfigError, Locator};
use crate::values;

use super::read::*;
use super::*;

/// Session keys as written (in `[defaults]` or a session), not yet merged.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Keys {
    /// Keys written here that only the systemd backend applies, and where.
    pub(super) systemd_only: Vec<(&'static str, usize)>,
    pub(super) command: Option<Command>,
    /// `command` was written, valid or not (so a bad one is not also "missing").
    pub(super) command_given: bool,
    pub(super) user: Option<(String, usize)>,
    pub(super) create_user: Option<bool>,
    pub(super) allow_root: Option<bool>,
    pub(super) dynamic_user: Option<bool>,
    pub(super) shell_integration: Option<bool>,
    pub(super) cwd: Option<PathBuf>,
    pub(super) env: Option<BTreeMap<String, String>>,
    pub(super) restart: Option<RestartMode>,
    pub(super) restart_delay: Option<std::time::Duration>,
    pub(super) restart_max_delay: Option<(std::time::Duration, usize)>,
    pub(super) restart_limit: Option<RestartLimit>,
    pub(super) scrollback: Option<usize>,
    pub(super) size: Option<(u16, u16)>,
    pub(super) size_policy: Option<SizePolicy>,
    pub(super) log: Option<LogTarget>,
    /// Where `log` was written.
    pub(super) log_at: usize,
    pub(super) log_max_size: Option<u64>,
    pub(super) log_keep: Option<u32>,
    /// `record`, and where it was written.
    pub(super) record: Option<(bool, usize)>,
    /// `record_input`, and where it was written.
    pub(super) record_input: Option<(bool, usize)>,
    pub(super) operators: Option<Vec<(Principal, usize)>>,
    pub(super) observers: Option<Vec<(Principal, usize)>>,
    pub(super) group: Option<(String, usize)>,
    pub(super) after: Option<Vec<String>>,
    pub(super) memory: Option<u64>,
    pub(super) cpu: Option<u32>,
    pub(super) tasks: Option<u32>,
    pub(super) no_new_privileges: Option<bool>,
    pub(super) protect_system: Option<String>,
    pub(super) private_tmp: Option<bool>,
}

pub(super) fn keys(loc: &Locator, errors: &mut Vec<ConfigError>, what: &str, t: &DeTable) -> Keys {
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
            "shell_integration" => k.shell_integration = boolean(loc, e, name, v),
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
            "record" => k.record = boolean(loc, e, name, v).map(|b| (b, at)),
            "record_input" => k.record_input = boolean(loc, e, name, v).map(|b| (b, at)),
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
