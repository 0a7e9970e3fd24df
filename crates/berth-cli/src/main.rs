//! `berth`: the command line. Per-session verbs talk straight to the
//! session socket, so they work while berthd is down.

mod attach;
mod commands;
mod connect;
mod fleet;
mod mcp;
mod rec;
mod remote;
mod render;
mod screen_switch;
mod scripting;
mod viewport;
mod watch;
mod web;

use std::process::ExitCode;

use berth_cli::{cli, complete};

fn main() -> ExitCode {
    // A shell asking for Tab completions (before anything is printed).
    complete::answer_if_asked();
    // One line, like every other error, instead of clap's block.
    let usage = if scripting::verb_in(std::env::args()) {
        i32::from(scripting::ERROR)
    } else {
        1
    };
    let cli: cli::Cli = berth_log::usage::parse_or_exit("berth", usage);
    match remote::set(&cli.host, cli.hosts.as_deref()).and_then(|()| commands::run(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            // One line that says what to do.
            eprintln!("berth: {e:#}");
            ExitCode::FAILURE
        }
    }
}
