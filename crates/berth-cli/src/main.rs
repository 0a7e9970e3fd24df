//! `berth`: the command line. Per-session verbs talk straight to the
//! session socket, so they work while berthd is down.
#![deny(unsafe_code)]

mod cli;
mod commands;
mod connect;
mod locate;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match commands::run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            // One line that says what to do.
            eprintln!("berth: {e:#}");
            ExitCode::FAILURE
        }
    }
}
