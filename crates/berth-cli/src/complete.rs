//! Tab completion. The shell asks `berth` itself (clap_complete's dynamic
//! engine: the installed script runs `COMPLETE=bash berth -- WORDS...`), so
//! flags and subcommands never drift from the binary, and a session name is
//! completed from the session sockets there are now.
//!
//! Listing reads directory entries only: it connects to no socket, so a
//! Tab press never waits on a session or berthd, and offers exactly the
//! names `berth ls` lists (names are not secret; what a session shows is).

use clap::CommandFactory;
use clap_complete::engine::{ArgValueCandidates, CompletionCandidate};

use crate::cli::Cli;

/// The environment variable the completion scripts set (clap's convention).
pub const VAR: &str = "COMPLETE";

/// Subcommands whose NAME argument names a session that exists; `new`
/// names one that does not yet.
fn names_an_existing_session(sub: &clap::Command) -> bool {
    sub.get_name() != "new" && sub.get_arguments().any(|a| a.get_id() == "name")
}

/// `berth`'s grammar with session names as the candidates for NAME.
pub fn command() -> clap::Command {
    let mut cmd = Cli::command();
    let verbs: Vec<(String, bool)> = cmd
        .get_subcommands()
        .map(|s| (s.get_name().to_owned(), names_an_existing_session(s)))
        .collect();
    // mut_subcommand moves a subcommand to the end: the explicit order
    // keeps help and the man page in the order cli.rs declares.
    for (order, (verb, session)) in verbs.into_iter().enumerate() {
        cmd = cmd.mut_subcommand(verb, |s| {
            let s = s.display_order(order);
            if !session {
                return s;
            }
            // mut_arg moves an argument to the end too: the positionals
            // after NAME are moved after it again, in their order, so the
            // man page's synopsis reads `NAME KEYS...` as the usage does.
            let after: Vec<String> = s
                .get_positionals()
                .map(|a| a.get_id().to_string())
                .skip_while(|id| id != "name")
                .skip(1)
                .collect();
            let mut s = s.mut_arg("name", |a| a.add(ArgValueCandidates::new(session_names)));
            for id in after {
                s = s.mut_arg(id, |a| a);
            }
            s
        });
    }
    cmd
}

/// Answers a completion request and exits when the shell is asking (the
/// variable is set); otherwise returns and `berth` runs as usual.
pub fn answer_if_asked() {
    clap_complete::CompleteEnv::with_factory(command)
        .var(VAR)
        .complete();
}

/// Sessions with a socket in the runtime directories the CLI searches
/// (`BERTH_RUNTIME_DIR`, else yours, then the system's), each once.
fn session_names() -> Vec<CompletionCandidate> {
    // A refused directory completes nothing; the verb itself says why.
    let dirs = crate::locate::runtime_dirs(None).unwrap_or_default();
    crate::locate::all(&dirs)
        .into_iter()
        .map(|(name, _)| CompletionCandidate::new(name))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_verb_that_takes_an_existing_session_completes_names() {
        let cmd = command();
        let with: Vec<&str> = cmd
            .get_subcommands()
            .filter(|s| names_an_existing_session(s))
            .map(|s| s.get_name())
            .collect();
        for verb in [
            "attach",
            "capture",
            "send",
            "status",
            "wait",
            "run",
            "result",
            "interrupt",
            "logs",
            "rec",
            "kill",
        ] {
            assert!(
                with.contains(&verb),
                "{verb} does not complete session names"
            );
        }
        assert!(!with.contains(&"new"), "berth new NAME names a new session");
        assert!(!with.contains(&"ls"));
    }
}
