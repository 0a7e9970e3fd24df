//! `berth rec`: a session's recording through its host (observers may
//! read it, as they may read `logs`), or the commands it marks.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use berth_proto::scripting::{RecordedCommand, RecordingRequest};

use crate::connect::{request_error, Session};

/// How long the host may take to make a part of the export (reading the
/// kept files, and playing what came before `--since` into a screen)
/// before the CLI stops waiting.
const PART_WAIT: Duration = Duration::from_secs(120);

/// The request for the options given; times are read here, where the
/// caller's clock and time zone are.
pub fn request(
    since: Option<String>,
    until: Option<String>,
    last_commands: Option<u32>,
    idle_limit: Option<Duration>,
) -> anyhow::Result<RecordingRequest> {
    let now = jiff::Timestamp::now();
    let when = |flag: &str, text: Option<String>| {
        text.map(|t| moment(&t, now).map_err(|e| anyhow::anyhow!("--{flag} {t:?}: {e}")))
            .transpose()
    };
    let since_ms = when("since", since)?;
    let until_ms = when("until", until)?;
    if let (Some(s), Some(u)) = (since_ms, until_ms) {
        anyhow::ensure!(
            s <= u,
            "--since is after --until: give the earlier time to --since"
        );
    }
    if idle_limit == Some(Duration::ZERO) {
        anyhow::bail!("--idle-limit 0 would play the recording as one frame: give a pause like 2s");
    }
    Ok(RecordingRequest {
        since_ms,
        until_ms,
        last_commands,
        idle_limit_ms: idle_limit.map(|d| d.as_millis() as u64),
        list: false,
    })
}

/// A moment in Unix milliseconds: how long ago (`10m`, `90`), or a time
/// (`14:05`, `14:05:30` today; `2026-12-08 14:05[:30]` local; RFC 3339;
/// `@SECONDS`, a fraction allowed).
pub fn moment(text: &str, now: jiff::Timestamp) -> Result<u64, String> {
    let ms = |t: jiff::Timestamp| t.as_millisecond().max(0) as u64;
    if let Some(secs) = text.strip_prefix('@') {
        return secs
            .parse::<f64>()
            .ok()
            .filter(|s| s.is_finite() && *s >= 0.0 && *s < 1e13)
            .map(|s| (s * 1000.0).round() as u64)
            .ok_or_else(|| {
                "expected @ and seconds since 1970, like @1796694644 or @1796694644.250".to_owned()
            });
    }
    if let Ok(ago) = berth_config::values::parse_duration(text) {
        let ago = jiff::SignedDuration::try_from(ago).map_err(|e| e.to_string())?;
        return now.checked_sub(ago).map(ms).map_err(|e| e.to_string());
    }
    if let Ok(t) = text.parse::<jiff::Timestamp>() {
        return Ok(ms(t));
    }
    let zone = jiff::tz::TimeZone::system();
    let today = now.to_zoned(zone.clone()).date();
    let local = text.parse::<jiff::civil::DateTime>().ok().or_else(|| {
        text.parse::<jiff::civil::Time>()
            .ok()
            .map(|t| today.to_datetime(t))
    });
    match local {
        Some(dt) => dt
            .to_zoned(zone)
            .map(|z| ms(z.timestamp()))
            .map_err(|e| e.to_string()),
        None => Err("expected how long ago (10m, 1h30m, 90) or a time (14:05, 2026-12-08 14:05:30, 2026-12-08T14:05:30Z, @1796694644)".to_owned()),
    }
}

/// Writes the recording to `output` (or standard output).
pub fn export(
    name: &str,
    mut s: Session,
    req: RecordingRequest,
    output: Option<PathBuf>,
) -> anyhow::Result<u8> {
    s.stream().set_read_timeout(Some(PART_WAIT))?;
    match output {
        None => {
            let mut out = std::io::stdout().lock();
            s.recording(req, |bytes| out.write_all(bytes))
                .map_err(|e| request_error(name, e))?;
            out.flush()?;
        }
        Some(path) => {
            let mut file = std::fs::File::create(&path)
                .with_context(|| format!("cannot write {}", path.display()))?;
            let got = s.recording(req, |bytes| file.write_all(bytes));
            if let Err(e) = got {
                // No half recording left behind to be taken for a whole one.
                let _ = std::fs::remove_file(&path);
                return Err(request_error(name, e));
            }
            file.sync_all()
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
    }
    Ok(0)
}

/// Prints the commands the recording marks.
pub fn list(name: &str, mut s: Session, req: RecordingRequest, json: bool) -> anyhow::Result<u8> {
    s.stream().set_read_timeout(Some(PART_WAIT))?;
    let commands = s
        .recorded_commands(req)
        .map_err(|e| request_error(name, e))?;
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer(&mut out, &commands)?;
        writeln!(out)?;
        return Ok(0);
    }
    writeln!(
        out,
        "{:<19}  {:>6}  {:>9}  COMMAND",
        "STARTED", "STATUS", "TOOK"
    )?;
    for c in &commands {
        writeln!(out, "{}", row(c))?;
    }
    Ok(0)
}

/// One line of the list, in the local time zone.
fn row(c: &RecordedCommand) -> String {
    let started = jiff::Timestamp::from_millisecond(c.started_ms as i64)
        .map(|t| {
            t.to_zoned(jiff::tz::TimeZone::system())
                .strftime("%Y-%m-%d %H:%M:%S")
                .to_string()
        })
        .unwrap_or_else(|_| c.started_ms.to_string());
    let status = c.status.map_or_else(|| "-".to_owned(), |s| s.to_string());
    let took = c.duration_ms.map_or_else(
        || "-".to_owned(),
        |ms| format!("{:.3}s", ms as f64 / 1000.0),
    );
    format!("{started:<19}  {status:>6}  {took:>9}  {}", c.command)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moments_are_ago_or_times() {
        let now: jiff::Timestamp = "2026-12-08T12:00:00Z".parse().unwrap();
        let at = |s: &str| moment(s, now);
        assert_eq!(at("10m"), Ok(now.as_millisecond() as u64 - 600_000));
        assert_eq!(at("90"), Ok(now.as_millisecond() as u64 - 90_000));
        assert_eq!(at("@1796694644"), Ok(1_796_694_644_000));
        assert_eq!(at("@1796694644.25"), Ok(1_796_694_644_250));
        assert_eq!(
            at("@soon"),
            Err(
                "expected @ and seconds since 1970, like @1796694644 or @1796694644.250".to_owned()
            )
        );
        assert_eq!(
            at("2026-12-08T11:00:00Z"),
            Ok(now.as_millisecond() as u64 - 3_600_000)
        );
        assert!(at("2026-12-08 11:00").is_ok());
        assert!(at("11:00").is_ok());
        assert_eq!(
            at("yesterday"),
            Err("expected how long ago (10m, 1h30m, 90) or a time (14:05, 2026-12-08 14:05:30, 2026-12-08T14:05:30Z, @1796694644)".to_owned())
        );
    }
}
