//! Real examples for each verb, shown after `berth VERB --help` and as the
//! EXAMPLES section of its man page (berth-manual reads the same text):
//! a command line indented two spaces, what it does indented six.

/// The examples of `verb`, if it has any.
pub fn of(verb: &str) -> Option<&'static str> {
    EXAMPLES.iter().find(|(v, _)| *v == verb).map(|(_, e)| *e)
}

/// (command line, what it does) pairs of `text`.
pub fn pairs(text: &str) -> Vec<(&str, &str)> {
    let mut out = Vec::new();
    let mut lines = text.lines().skip(1).peekable();
    while let Some(cmd) = lines.next() {
        let what = lines.next_if(|l| l.starts_with("      ")).unwrap_or("");
        out.push((cmd.trim(), what.trim()));
    }
    out
}

pub const EXAMPLES: &[(&str, &str)] = &[
    (
        "dial-stdio",
        "\
Examples:
  berth -H ssh://ops@runner-7 status ci
      what runs on the far side: ssh -T ops@runner-7 berth dial-stdio --session ci
  ssh -T runner-7 berth dial-stdio --control
      berthd's control socket on runner-7, on this ssh's standard input and output",
    ),
    (
        "ls",
        "\
Examples:
  berth ls
      every session, its state, pid, uptime, restarts and clients
  berth -H ssh://ops@runner-7 ls
      the sessions of another host, over OpenSSH, as ops there
  berth ls --json | jq -r '.[] | select(.state != \"running\") | .name'
      the sessions that are not running",
    ),
    (
        "attach",
        "\
Examples:
  berth attach ci-runner
      attach; Ctrl-b d detaches, Ctrl-b ? lists the keys
  berth attach -r ci-runner
      watch without typing (an on-call colleague's view)
  berth new -A scratch -- bash
      attach to scratch, creating it first if it does not exist (tmux new -A)",
    ),
    (
        "watch",
        "\
Examples:
  berth watch 'ci-*'
      every CI runner tiled; Enter attaches to the focused one
  berth watch -D overview --config config/example.toml
      a dashboard declared in the config",
    ),
    (
        "mcp",
        "\
Examples:
  claude mcp add berth -- berth mcp
      give Claude Code this host's sessions as tools
  ssh -T ops@runner-7 berth mcp --read-only
      the same for another host, over OpenSSH, reading only",
    ),
    (
        "web",
        "\
Examples:
  berth web login
      a one-time link that logs you in to the dashboard",
    ),
    (
        "has",
        "\
Examples:
  berth has repl || berth new repl -- python3 -q
      create the session only if it is missing",
    ),
    (
        "capture",
        "\
Examples:
  berth capture repl -S -100
      the screen and the last 100 lines of history
  berth capture ci-runner -S - -J > ci.txt
      the whole history, wrapped lines joined
  berth capture repl --since 41 --json
      exactly the lines after line 41, numbered",
    ),
    (
        "wait",
        "\
Examples:
  berth wait ci-runner -m 'BUILD (PASSED|FAILED)' -t 30m
      block until the build says how it ended
  berth wait repl --since \"$seq\" -m '^>>> $' -t 10
      the REPL's next prompt after the line send --json gave",
    ),
    (
        "logs",
        "\
Examples:
  berth logs ci-runner -n 200 --plain
      the last 200 lines of the output log, escapes removed
  berth logs ci-runner -f
      follow it across rotation, like tail -F",
    ),
    (
        "rec",
        "\
Examples:
  berth rec ci-runner -o ci.cast && asciinema play ci.cast
      the whole recording, played back where it ran
  berth rec agent --last-commands 3 --idle-limit 2s -o last.cast
      the last three commands, no pause longer than 2 s
  berth rec agent --list --since 1h
      the commands of the last hour, with their statuses",
    ),
    (
        "run",
        "\
Examples:
  berth run sh -- make test
      exactly make's output, and berth exits with make's status
  berth run sh --json -t 60 -- cargo build
      as JSON; after 60 s the output so far, the build goes on
  berth run sh -- printf '%s\\n' 'a b' c
      several words are each quoted for the shell",
    ),
    (
        "result",
        "\
Examples:
  berth result sh --wait 10m --json
      collect a long build's output and status after run gave up",
    ),
    (
        "interrupt",
        "\
Examples:
  berth interrupt sh
      C-c, then SIGTERM and SIGKILL to the command, until the prompt is back
  berth run sh -t 30 --interrupt-on-timeout -- ./slow-test
      the same, at a run's timeout",
    ),
    (
        "send",
        "\
Examples:
  berth send repl 'print(6*7)' Enter
      type a line into a Python REPL and press Enter
  seq=$(berth send repl --json 'print(6*7)' Enter | jq .seq)
      the same, keeping the line it was typed on for wait --since
  berth send sh --wait '^done$' -t 60 './deploy.sh && echo done' Enter
      type a command and wait for its output
  berth send vim Escape :wq Enter
      key names and words mixed",
    ),
    (
        "status",
        "\
Examples:
  berth status ci-runner
      state, pid, restarts, last exit, clients, what its shell runs
  berth status ci-runner --json | jq .shell.last_status
      the last command's exit status",
    ),
    (
        "reload",
        "\
Examples:
  berth validate && berth reload
      check the edited config, then apply it",
    ),
    (
        "new",
        "\
Examples:
  berth new scratch -- bash
      an ad-hoc session, like tmux new -d
  berth new -A scratch -- bash
      attach to scratch, creating it if it is missing (tmux new -A)
  berth new -d scratch -- bash
      create it if it is missing, for scripts: exit 0 either way",
    ),
    (
        "kill",
        "\
Examples:
  berth kill scratch
      stop the session and forget it
  berth --socket /tmp/demo.sock kill demo
      end a host started by hand",
    ),
    (
        "start",
        "\
Examples:
  berth start ci-runner
      start a stopped session's program again",
    ),
    (
        "stop",
        "\
Examples:
  berth stop ci-runner
      stop the program and keep its screen; berth start brings it back",
    ),
    (
        "validate",
        "\
Examples:
  berth validate
      the config the running berthd reads (named on stderr)
  berth validate --config ./berth.toml --system
      a file, checked as berthd as root would",
    ),
    (
        "restart",
        "\
Examples:
  berth restart ci-runner
      restart the program now, clearing its restart limit",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_verb_has_examples_that_are_berth_commands() {
        use clap::CommandFactory;
        let cmd = crate::cli::Cli::command();
        for verb in cmd.get_subcommands() {
            let name = verb.get_name();
            let text = of(name).unwrap_or_else(|| panic!("{name} has no examples"));
            let pairs = pairs(text);
            assert!(!pairs.is_empty(), "{name}");
            for (line, what) in pairs {
                assert!(line.contains("berth "), "{name}: {line}");
                assert!(!what.is_empty(), "{name}: {line} says nothing");
            }
        }
    }
}
