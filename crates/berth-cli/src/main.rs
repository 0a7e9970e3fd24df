//! `berth`: the command line. Per-session verbs talk straight to the
//! session socket, so they work while berthd is down.
#![deny(unsafe_code)]

mod attach;
mod cli;
mod commands;
mod connect;
mod locate;

use std::process::ExitCode;

use clap::Parser as _;

fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help and --version.
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            // One line, like every other error, instead of clap's block.
            let text = e.kind().as_str().map(str::to_owned).unwrap_or_default();
            let rendered = e.render().to_string();
            let first = rendered.lines().next().unwrap_or(&text);
            let first = first.strip_prefix("error: ").unwrap_or(first);
            eprintln!("berth: {first} (see berth --help)");
            return ExitCode::FAILURE;
        }
    };
    match commands::run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            // One line that says what to do.
            eprintln!("berth: {e:#}");
            ExitCode::FAILURE
        }
    }
}
