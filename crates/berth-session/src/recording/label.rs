//! The markers' words. A player shows them as chapters, so they are
//! written for people; `berth rec --list` reads the command markers back,
//! so their shape is written and parsed here, in one place.

use std::time::Duration;

/// A command started (mark C): `$ make test`.
pub fn command_started(command: &str) -> String {
    format!("$ {command}")
}

/// A command ended (mark D): `status 2 after 1.520s: make test`.
pub fn command_ended(status: i32, took: Duration, command: &str) -> String {
    format!(
        "status {status} after {:.3}s: {command}",
        took.as_secs_f64()
    )
}

/// The program started (the first time, or again).
pub fn program_started(command: &str, pid: u32) -> String {
    format!("program started: {command} (pid {pid})")
}

/// Who typed the input that follows.
pub fn typist(user: &str, uid: u32) -> String {
    format!("input from {user} (uid {uid})")
}

/// A client attached (`read_only`: as an observer, or by choice).
pub fn attached(user: &str, uid: u32, read_only: bool) -> String {
    let how = if read_only { "read-only" } else { "read-write" };
    format!("{user} (uid {uid}) attached {how}")
}

pub fn detached(user: &str, uid: u32) -> String {
    format!("{user} (uid {uid}) detached")
}

/// Output that never reached the recording.
pub fn not_recorded(bytes: u64) -> String {
    format!("{bytes} bytes of output were not recorded (the disk did not keep up)")
}

/// Events a paused recording could not write, and why.
pub fn not_recorded_events(events: u64, why: &str) -> String {
    format!("{events} events were not recorded ({why})")
}

/// What a marker says, as far as `--list` cares.
#[derive(Debug, PartialEq, Eq)]
pub enum Label<'a> {
    Started(&'a str),
    Ended {
        status: i32,
        took: Duration,
        command: &'a str,
    },
    ProgramStarted,
    Other,
}

pub fn parse(label: &str) -> Label<'_> {
    if let Some(command) = label.strip_prefix("$ ") {
        return Label::Started(command);
    }
    if label.starts_with("program started: ") {
        return Label::ProgramStarted;
    }
    let ended = || {
        let rest = label.strip_prefix("status ")?;
        let (status, rest) = rest.split_once(" after ")?;
        let (secs, command) = rest.split_once("s: ")?;
        let secs: f64 = secs
            .parse()
            .ok()
            .filter(|s: &f64| s.is_finite() && *s >= 0.0)?;
        Some(Label::Ended {
            status: status.parse().ok()?,
            took: Duration::from_secs_f64(secs),
            command,
        })
    };
    ended().unwrap_or(Label::Other)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_markers_read_back() {
        assert_eq!(parse(&command_started("ls -l")), Label::Started("ls -l"));
        assert_eq!(
            parse(&command_ended(
                127,
                Duration::from_millis(1520),
                "no such: cmd"
            )),
            Label::Ended {
                status: 127,
                took: Duration::from_millis(1520),
                command: "no such: cmd"
            }
        );
        assert_eq!(parse(&attached("ann", 1000, true)), Label::Other);
        assert_eq!(parse(&program_started("bash -l", 7)), Label::ProgramStarted);
        assert_eq!(parse("status x after 1s: y"), Label::Other);
        assert_eq!(parse("status 1 after -1s: y"), Label::Other);
    }
}
