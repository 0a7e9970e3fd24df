//! Typed readers of toml values: each reports a wrong type or value at
//! its location and returns what it could read.

use toml::de::{DeTable, DeValue};
use toml::Spanned;

use crate::error::{ConfigError, Locator};

use super::*;

pub(super) fn kind(v: &DeValue) -> &'static str {
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

pub(super) fn unknown(
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

pub(super) fn table<'a, 'i>(
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

pub(super) fn string(
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
pub(super) fn usable(
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
pub(super) fn too_long(command: &Command) -> Option<String> {
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

pub(super) fn boolean(
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

pub(super) fn integer(
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

pub(super) fn strings(
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
pub(super) fn principals(
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

/// A string value run through `parse`, whose error is the message.
pub(super) fn parsed<T>(
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
