//! `[web]`: the browser dashboard and `/metrics`, off unless the table is
//! present. The rules here (what a listen address may be, when TLS is
//! required) are the whole policy; berthd and berth-web only apply them.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

/// How long a login lasts unless `token_ttl` says otherwise.
pub const DEFAULT_TOKEN_TTL: Duration = Duration::from_secs(12 * 3600);

/// Test hook: berthd's making of the web account (useradd, usermod and
/// the lookups before them) waits until the file this names exists (a
/// minute at most), as on a hung account database, to show that nothing
/// else in berthd waits with it.
pub const TEST_HOLD_ACCOUNT_ENV: &str = "BERTH_TEST_HOLD_WEB_ACCOUNT";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Web {
    pub listen: Listen,
    /// PEM certificate chain and private key: HTTPS. Required for an
    /// address that is not loopback.
    pub tls: Option<Tls>,
    /// Operators may type into sessions from the page.
    pub allow_input: bool,
    /// How long a login's cookie is honoured.
    pub token_ttl: Duration,
    /// Who may read `/metrics`.
    pub metrics: Metrics,
}

impl Web {
    /// The start of the links `berth web login` prints. A Unix socket has
    /// no URL of its own: the link is a path for the proxy in front.
    pub fn base_url(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        match &self.listen {
            Listen::Unix(_) => String::new(),
            Listen::Tcp(addr) if addr.ip().is_unspecified() => {
                let host = nix::unistd::gethostname()
                    .ok()
                    .and_then(|h| h.into_string().ok())
                    .unwrap_or_else(|| "localhost".into());
                format!("{scheme}://{host}:{}", addr.port())
            }
            Listen::Tcp(addr) => format!("{scheme}://{addr}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listen {
    Tcp(SocketAddr),
    /// A Unix socket for a reverse proxy in front.
    Unix(PathBuf),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tls {
    pub cert: PathBuf,
    pub key: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Metrics {
    /// Answered to loopback and Unix-socket clients only (the default).
    Loopback,
    /// Answered to a bearer of the token in this file, from anywhere.
    Token(PathBuf),
    /// Not served.
    Off,
}

impl Listen {
    /// `127.0.0.1:7681`, `[::1]:7681`, `localhost:7681` or an absolute path.
    pub fn parse(s: &str) -> Result<Listen, String> {
        if s.starts_with('/') {
            return Ok(Listen::Unix(PathBuf::from(s)));
        }
        if let Some(port) = s.strip_prefix("localhost:") {
            if let Ok(port) = port.parse::<u16>() {
                return Ok(Listen::Tcp(SocketAddr::new(
                    IpAddr::V4(Ipv4Addr::LOCALHOST),
                    port,
                )));
            }
        }
        s.parse::<SocketAddr>().map(Listen::Tcp).map_err(|_| {
            format!("{s:?} is not an address and port like \"127.0.0.1:7681\" or an absolute Unix socket path like \"/run/berth/web.sock\"")
        })
    }

    /// Whether only this host can reach it (no TLS needed).
    pub fn is_local(&self) -> bool {
        match self {
            Listen::Tcp(addr) => addr.ip().is_loopback(),
            Listen::Unix(_) => true,
        }
    }
}

impl std::fmt::Display for Listen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Listen::Tcp(addr) => write!(f, "{addr}"),
            Listen::Unix(path) => write!(f, "{}", path.display()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_addresses() {
        assert_eq!(
            Listen::parse("localhost:7681"),
            Ok(Listen::Tcp("127.0.0.1:7681".parse().unwrap()))
        );
        assert!(Listen::parse("[::1]:80").unwrap().is_local());
        assert!(Listen::parse("/run/berth/web.sock").unwrap().is_local());
        assert!(!Listen::parse("0.0.0.0:7681").unwrap().is_local());
        assert!(!Listen::parse("192.0.2.7:443").unwrap().is_local());
        assert_eq!(
            Listen::parse("web:80"),
            Err("\"web:80\" is not an address and port like \"127.0.0.1:7681\" or an absolute Unix socket path like \"/run/berth/web.sock\"".into())
        );
        assert!(Listen::parse("127.0.0.1").is_err());
        assert!(Listen::parse("run/web.sock").is_err());
    }
}
