//! The `[web]` table: `listen`, `tls_cert`, `tls_key`, `allow_input`,
//! `token_ttl`, `metrics`, `metrics_token_file`.

use std::path::PathBuf;
use std::time::Duration;

use toml::de::DeValue;
use toml::Spanned;

use super::read::{boolean, parsed, string, table, unknown};
use crate::error::{ConfigError, Locator};
use crate::web::{Listen, Metrics, Tls, Web, DEFAULT_TOKEN_TTL};

const WEB_KEYS: &[&str] = &[
    "listen",
    "tls_cert",
    "tls_key",
    "allow_input",
    "token_ttl",
    "metrics",
    "metrics_token_file",
];

/// A login shorter than this could not be used: the one-time URL alone
/// needs a moment to be opened.
const MIN_TOKEN_TTL: Duration = Duration::from_secs(60);

/// Reads `[web]`; `None` where it is wrong (each error reported).
pub(super) fn read(
    loc: &Locator,
    errors: &mut Vec<ConfigError>,
    value: &Spanned<DeValue>,
) -> Option<Web> {
    let at_table = value.span().start;
    let t = table(loc, errors, "[web]", value)?;
    let before = errors.len();
    let mut listen = None;
    let mut cert = None;
    let mut key = None;
    let mut allow_input = false;
    let mut token_ttl = DEFAULT_TOKEN_TTL;
    let mut metrics_mode = None;
    let mut metrics_token = None;
    for (k, v) in t.iter() {
        let at = v.span().start;
        match k.get_ref().as_ref() {
            "listen" => listen = parsed(loc, errors, "listen", v, Listen::parse).map(|l| (l, at)),
            "tls_cert" => cert = absolute(loc, errors, "tls_cert", v).map(|p| (p, at)),
            "tls_key" => key = absolute(loc, errors, "tls_key", v).map(|p| (p, at)),
            "allow_input" => allow_input = boolean(loc, errors, "allow_input", v).unwrap_or(false),
            "token_ttl" => {
                let ttl = parsed(loc, errors, "token_ttl", v, |s| {
                    crate::values::parse_duration(s).map_err(|e| e.to_string())
                });
                match ttl {
                    Some(d) if d < MIN_TOKEN_TTL => errors.push(loc.error(
                        at,
                        "token_ttl: a login must last at least 1m (like \"12h\")".to_owned(),
                    )),
                    Some(d) => token_ttl = d,
                    None => {}
                }
            }
            "metrics" => {
                metrics_mode = parsed(loc, errors, "metrics", v, |s| match s {
                    "loopback" | "token" | "off" => Ok(s.to_owned()),
                    _ => Err(format!(
                        "{s:?} is not one of \"loopback\", \"token\", \"off\""
                    )),
                })
                .map(|m| (m, at))
            }
            "metrics_token_file" => {
                metrics_token = absolute(loc, errors, "metrics_token_file", v).map(|p| (p, at))
            }
            other => unknown(loc, errors, "[web]", other, k.span().start, WEB_KEYS),
        }
    }
    let Some((listen, listen_at)) = listen else {
        if errors.len() == before {
            errors.push(loc.error(
                at_table,
                "[web] needs listen = \"127.0.0.1:7681\" (or a Unix socket path)".to_owned(),
            ));
        }
        return None;
    };
    let tls_written = cert.is_some() || key.is_some();
    let tls = match (cert, key) {
        (Some((cert, _)), Some((key, _))) => Some(Tls { cert, key }),
        (Some((_, at)), None) => {
            errors.push(loc.error(
                at,
                "tls_cert is set without tls_key: set both (PEM files)".to_owned(),
            ));
            None
        }
        (None, Some((_, at))) => {
            errors.push(loc.error(
                at,
                "tls_key is set without tls_cert: set both (PEM files)".to_owned(),
            ));
            None
        }
        (None, None) => None,
    };
    // A Unix socket is for a proxy in front, which speaks TLS itself:
    // certificates here would be accepted and never used.
    if let (Some(_), Listen::Unix(_)) = (&tls, &listen) {
        errors.push(loc.error(
            listen_at,
            "[web] tls_cert and tls_key are for a TCP address: behind a Unix socket the proxy in front serves HTTPS (remove them, or listen on an address)".to_owned(),
        ));
    }
    // Half a TLS setting was reported above; this would say it again.
    if !tls_written && !listen.is_local() {
        errors.push(loc.error(
            listen_at,
            format!("[web] listen = \"{listen}\" is reachable from other hosts: set tls_cert and tls_key to serve it over HTTPS, or listen on 127.0.0.1 or a Unix socket behind a proxy"),
        ));
    }
    let metrics = match (metrics_mode, metrics_token) {
        (Some((m, _)), Some((path, _))) if m == "token" => Metrics::Token(path),
        (Some((m, at)), None) if m == "token" => {
            errors.push(
                loc.error(
                    at,
                    "metrics = \"token\" needs metrics_token_file = \"/etc/berth/metrics.token\""
                        .to_owned(),
                ),
            );
            Metrics::Off
        }
        (mode, Some((_, at))) if mode.as_ref().is_none_or(|(m, _)| m != "token") => {
            errors.push(loc.error(at, "metrics_token_file is only read with metrics = \"token\": set that, or remove it".to_owned()));
            Metrics::Off
        }
        (Some((m, _)), _) if m == "off" => Metrics::Off,
        _ => Metrics::Loopback,
    };
    (errors.len() == before).then_some(Web {
        listen,
        tls,
        allow_input,
        token_ttl,
        metrics,
    })
}

/// A path that must be absolute: berthd and berth-web do not share a
/// working directory with whoever wrote the file.
fn absolute(
    loc: &Locator,
    errors: &mut Vec<ConfigError>,
    key: &str,
    v: &Spanned<DeValue>,
) -> Option<PathBuf> {
    let s = string(loc, errors, key, v)?;
    if !s.starts_with('/') {
        errors.push(loc.error(
            v.span().start,
            format!("{key}: {s:?} is not an absolute path"),
        ));
        return None;
    }
    Some(PathBuf::from(s))
}
