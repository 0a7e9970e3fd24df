//! `berth`: the command line. Per-session verbs talk straight to the
//! session socket, so they work while berthd is down.

mod attach;
mod cli;
mod commands;
mod connect;
mod locate;
mod render;
mod viewport;

use std::process::ExitCode;

fn main() -> ExitCode {
    // One line, like every other error, instead of clap's block.
    let cli: cli::Cli = berth_log::usage::parse_or_exit("berth", 1);
    match commands::run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            // One line that says what to do.
            eprintln!("berth: {e:#}");
            ExitCode::FAILURE
        }
    }
}
