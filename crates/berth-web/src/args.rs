//! berth-web's command line, as a library: the binary parses with it and
//! `berth-manual` renders berth-web(8) from it. berthd writes it (see
//! crates/berthd/src/web.rs); people do not run berth-web by hand.

use std::path::PathBuf;

use berth_config::dashboard::{Layout, Selector};
use berth_config::web::Listen;
use clap::Parser;

#[derive(Debug, Parser)]
#[command(
    name = "berth-web",
    version,
    about = "The browser dashboard of berth (started by berthd from [web] in berth.toml)"
)]
pub struct Args {
    /// Where to serve: "127.0.0.1:7681", or an absolute Unix socket path.
    #[arg(long, value_parser = Listen::parse)]
    pub listen: Listen,
    /// PEM certificate chain: serve HTTPS (with --tls-key).
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Operators may type into sessions from the page.
    #[arg(long)]
    pub allow_input: bool,
    /// Who may read /metrics: loopback, token or off.
    #[arg(long, default_value = "loopback", value_parser = ["loopback", "token", "off"])]
    pub metrics: String,
    /// The bearer token for --metrics token (the file's first line).
    #[arg(long, required_if_eq("metrics", "token"))]
    pub metrics_token_file: Option<PathBuf>,
    /// The runtime directory: session sockets in sessions/, berthd's
    /// control.sock (which issues logins), the live logins in web/logins.
    #[arg(long)]
    pub runtime_dir: PathBuf,
    /// The account to become after binding, when started as root.
    #[arg(long, conflicts_with = "single_user")]
    pub user: Option<String>,
    /// Serve only the user berth-web runs as (berthd in user mode): only
    /// that user logs in, and the sessions are reached as that user.
    #[arg(long)]
    pub single_user: bool,
    /// Exit when standard input closes: berthd holds its other end, so
    /// berth-web never outlives berthd.
    #[arg(long)]
    pub exit_with_stdin: bool,
    /// A declared dashboard, NAME:LAYOUT:SESSION,SESSION (repeatable).
    #[arg(long = "dashboard")]
    pub dashboards: Vec<Dashboard>,
}

/// A `[dashboard.NAME]` as berthd passes it: `NAME:LAYOUT:SEL,SEL`.
#[derive(Debug, Clone, PartialEq)]
pub struct Dashboard {
    pub name: String,
    pub layout: Layout,
    pub sessions: Vec<Selector>,
}

impl std::str::FromStr for Dashboard {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let mut parts = s.splitn(3, ':');
        let (Some(name), Some(layout), Some(sel)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(format!("{s:?} is not NAME:LAYOUT:SESSION,SESSION"));
        };
        let sessions = sel
            .split(',')
            .filter(|p| !p.is_empty())
            .map(Selector::parse)
            .collect::<Result<_, _>>()?;
        Ok(Dashboard {
            name: name.to_owned(),
            layout: layout.parse()?,
            sessions,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dashboards_read_as_berthd_passes_them() {
        let d: Dashboard = "ops:main-vertical:ci-*,db".parse().unwrap();
        assert_eq!(d.name, "ops");
        assert_eq!(d.layout, Layout::MainVertical);
        assert_eq!(d.sessions.len(), 2);
        assert_eq!(
            "ops:grid:a".parse::<Dashboard>(),
            Err("bad layout \"grid\": expected auto, tiled, even-horizontal, even-vertical, main-vertical, main-horizontal".into())
        );
        assert!("ops".parse::<Dashboard>().is_err());
    }
}
