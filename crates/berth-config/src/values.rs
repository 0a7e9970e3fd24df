//! Values as humans write them: `"90s"`, `"1m30s"`, `"2G"`, `"120x40"`.

use std::time::Duration;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ValueError {
    #[error("bad duration {0:?}: expected seconds, or a number with a unit, like \"10\", \"500ms\", \"90s\", \"5m\", \"1h30m\"")]
    Duration(String),
    #[error("duration {0:?} is too long: at most 30d")]
    TooLong(String),
    #[error("bad size {0:?}: expected bytes with an optional unit K, M or G (powers of 1024), like \"64M\"")]
    ByteSize(String),
    #[error(
        "bad terminal size {0:?}: expected COLSxROWS with both between {min} and {max}, like \"120x40\"",
        min = berth_proto::Size::MIN,
        max = berth_proto::Size::MAX
    )]
    TermSize(String),
}

/// Parses `"250ms"`, `"90s"`, `"5m"`, `"2h"`, `"1d"`, sums like `"1m30s"`,
/// and a number without a unit as seconds (`"10"`, and `"1m30"`), as
/// systemd and `timeout(1)` read one.
pub fn parse_duration(text: &str) -> Result<Duration, ValueError> {
    let err = || ValueError::Duration(text.to_owned());
    let s = text.trim();
    if s.is_empty() {
        return Err(err());
    }
    let mut total = Duration::ZERO;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err(err());
        }
        let n: u64 = rest[..digits].parse().map_err(|_| err())?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let part = match unit {
            "ms" => Duration::from_millis(n),
            "s" => Duration::from_secs(n),
            "m" | "min" => Duration::from_secs(n.checked_mul(60).ok_or_else(err)?),
            "h" => Duration::from_secs(n.checked_mul(3600).ok_or_else(err)?),
            "d" => Duration::from_secs(n.checked_mul(86400).ok_or_else(err)?),
            "" => Duration::from_secs(n),
            _ => return Err(err()),
        };
        total = total.checked_add(part).ok_or_else(err)?;
    }
    if total > MAX_DURATION {
        return Err(ValueError::TooLong(text.to_owned()));
    }
    Ok(total)
}

/// The longest duration any setting takes: adding it to a clock can never
/// overflow, and nothing in berth waits longer.
pub const MAX_DURATION: Duration = Duration::from_secs(30 * 86400);

/// The wait before attempt `failures + 1` after `failures` failures in a
/// row: `first`, doubling each time, never more than `max`. One rule for
/// the host's program restarts and berthd's host restarts.
pub fn backoff(first: Duration, max: Duration, failures: u32) -> Duration {
    let factor = 1u32.checked_shl(failures.max(1) - 1).unwrap_or(u32::MAX);
    first.checked_mul(factor).unwrap_or(max).min(max)
}

/// Formats a duration the way [`parse_duration`] reads it: `"500ms"`,
/// `"4s"`, `"1m30s"`, `"2h"`.
pub fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let secs = d.as_secs_f64().round() as u64;
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    let mut out = String::new();
    for (n, unit) in [(h, "h"), (m, "m"), (s, "s")] {
        if n > 0 {
            out.push_str(&format!("{n}{unit}"));
        }
    }
    out
}

/// Parses `"64M"`, `"2G"`, `"512K"`, `"1000"` (bytes); units are powers of 1024.
pub fn parse_byte_size(text: &str) -> Result<u64, ValueError> {
    let err = || ValueError::ByteSize(text.to_owned());
    let s = text.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    if split == 0 {
        return Err(err());
    }
    let n: u64 = s[..split].parse().map_err(|_| err())?;
    let mult: u64 = match s[split..].trim() {
        "" | "B" => 1,
        "K" | "k" | "KiB" => 1 << 10,
        "M" | "MiB" => 1 << 20,
        "G" | "GiB" => 1 << 30,
        "T" | "TiB" => 1 << 40,
        _ => return Err(err()),
    };
    n.checked_mul(mult).ok_or_else(err)
}

/// Parses `"120x40"` into (cols, rows).
pub fn parse_term_size(text: &str) -> Result<(u16, u16), ValueError> {
    let err = || ValueError::TermSize(text.to_owned());
    let (c, r) = text.trim().split_once(['x', 'X']).ok_or_else(err)?;
    let cols: u16 = c.parse().map_err(|_| err())?;
    let rows: u16 = r.parse().map_err(|_| err())?;
    berth_proto::Size { cols, rows }
        .check()
        .map_err(|_| err())?;
    Ok((cols, rows))
}

/// Session names: 1 to 64 of `A-Z a-z 0-9 _ . -`, and not `.` or `..`.
pub fn check_session_name(name: &str) -> Result<(), String> {
    // A name becomes a file name, an account name (berth-NAME), a unit
    // instance and a word on command lines: a leading '-' would read as an
    // option there, a leading '.' as a hidden or relative file.
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.as_bytes()[0].is_ascii_alphanumeric()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if ok {
        Ok(())
    } else {
        // The name is shown escaped: it may come from anyone.
        Err(format!(
            "bad session name {name:?}: use 1 to 64 of A-Z a-z 0-9 _ . -, starting with a letter or digit"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        // A bare number is seconds, as systemd and timeout(1) read it.
        assert_eq!(parse_duration("10"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("1m30"), Ok(Duration::from_secs(90)));
        for bad in ["", "s", "10x", "-1s", "1.5s", "10 s"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            parse_duration("10x").unwrap_err().to_string(),
            "bad duration \"10x\": expected seconds, or a number with a unit, like \"10\", \"500ms\", \"90s\", \"5m\", \"1h30m\""
        );
    }

    #[test]
    fn formats_round_trip() {
        for d in ["500ms", "4s", "1m30s", "2h", "1h1m1s"] {
            assert_eq!(format_duration(parse_duration(d).unwrap()), d);
        }
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_byte_size("64M"), Ok(64 << 20));
        assert_eq!(parse_byte_size("2G"), Ok(2 << 30));
        assert_eq!(parse_byte_size("100"), Ok(100));
        assert!(parse_byte_size("2Q").is_err());
        assert!(parse_byte_size("M").is_err());
        assert_eq!(parse_term_size("120x40"), Ok((120, 40)));
        assert!(parse_term_size("0x40").is_err());
        assert!(parse_term_size("120").is_err());
    }

    #[test]
    fn names() {
        assert!(check_session_name("ci-runner.2_a").is_ok());
        for bad in [
            "",
            ".",
            "..",
            "a/b",
            "a b",
            &"x".repeat(65),
            "-x",
            "--user",
            ".hidden",
            "_x",
        ] {
            assert!(check_session_name(bad).is_err(), "{bad:?}");
        }
    }
}

/// "no session \"x\" (did you mean \"y\"? see berth ls)": the one wording,
/// with a suggestion when a known name is close enough to be a typo.
pub fn no_session(name: &str, known: &[&str]) -> String {
    let close = known
        .iter()
        .map(|n| (strsim::damerau_levenshtein(name, n), *n))
        .filter(|(d, n)| *d <= 2.max(n.len() / 4))
        .min()
        .map(|(_, n)| n);
    match close {
        Some(close) => format!("no session {name:?} (did you mean {close:?}? see berth ls)"),
        None => format!("no session {name:?} (see berth ls)"),
    }
}

#[cfg(test)]
mod no_session_tests {
    use super::no_session;

    #[test]
    fn suggests_typos_only() {
        let names = ["ci-runner", "repl"];
        assert_eq!(
            no_session("ci-runnr", &names),
            "no session \"ci-runnr\" (did you mean \"ci-runner\"? see berth ls)"
        );
        assert_eq!(
            no_session("rpel", &names),
            "no session \"rpel\" (did you mean \"repl\"? see berth ls)"
        );
        assert_eq!(
            no_session("database", &names),
            "no session \"database\" (see berth ls)"
        );
    }
}
