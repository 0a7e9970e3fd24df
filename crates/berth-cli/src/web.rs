//! `berth web login` / `logout`: one line to berth-web's login socket,
//! which reads who asks from the kernel; one line back.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;

use anyhow::{bail, Context as _};
use berth_cli::cli::WebVerb;
use berth_cli::locate;
use berth_config::paths;

pub fn run(verb: &WebVerb, runtime: Option<&Path>) -> anyhow::Result<u8> {
    let request = match verb {
        WebVerb::Login => "login",
        WebVerb::Logout { all: false } => "logout",
        WebVerb::Logout { all: true } => "logout-all",
    };
    let Some(socket) = locate::runtime_dirs(runtime)?
        .iter()
        .map(|d| paths::web_login_socket(d))
        .find(|p| p.exists())
    else {
        bail!("the web dashboard is not running: add [web] to berth.toml and reload berthd (see berth.toml(5))");
    };
    let mut stream = UnixStream::connect(&socket)
        .with_context(|| format!("cannot reach the web dashboard at {}", socket.display()))?;
    stream.write_all(format!("{request}\n").as_bytes())?;
    let mut line = String::new();
    BufReader::new(&stream).read_line(&mut line)?;
    let line = line.trim_end();
    match line.split_once(' ') {
        Some(("ok", url)) if request == "login" => println!("{url}"),
        Some(("ok", n)) => println!("ended {n} login(s)"),
        Some(("error", message)) => bail!("{message}"),
        _ => bail!("the web dashboard answered {line:?}; is berth-web the same version as berth?"),
    }
    Ok(0)
}
