//! `berth web login` / `logout`: asked of berthd on its control socket,
//! which reads who asks from the kernel and issues or ends the logins
//! (berth-web holds no login path of its own).

use std::path::Path;

use anyhow::bail;
use berth_cli::cli::WebVerb;
use berth_proto::{DaemonRequest, Response};

pub fn run(verb: &WebVerb, runtime: Option<&Path>) -> anyhow::Result<u8> {
    let request = match verb {
        WebVerb::Login => DaemonRequest::WebLogin,
        WebVerb::Logout { all } => DaemonRequest::WebLogout { all: *all },
    };
    match crate::commands::daemon(runtime, request)? {
        Response::WebLink { url } => println!("{url}"),
        Response::WebLoggedOut { ended } => println!("ended {ended} login(s)"),
        other => bail!("unexpected reply from berthd: {other:?}"),
    }
    Ok(0)
}
