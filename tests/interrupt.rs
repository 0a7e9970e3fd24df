//! Long commands and stuck ones, as an agent meets them, with real bash,
//! zsh, fish and python3: `berth result` after a `run` gave up, `berth
//! interrupt` and `run --interrupt-on-timeout` (C-c, then signals to the
//! command's process group, never the shell), a shell that replaces itself
//! during a `run`, fish's integration, and `run` right after `berth new`.
//! Nothing here is timed: every wait has a deadline, none is a sleep.

use berth_e2e::shells::{installed, json, shell_session, stdout};
use berth_e2e::*;
use serde_json::Value;

const SHELLS: [&str; 3] = ["bash", "zsh", "fish"];

/// A python3 that ignores C-c (SIGINT), as some servers and REPLs do.
const IGNORES_SIGINT: &str = "python3 -c 'import signal, time; signal.signal(signal.SIGINT, signal.SIG_IGN); print(\"ignoring\", flush=True); time.sleep(300)'";

fn result_after_run_gave_up(shell: &str) {
    let env = Env::new();
    let host = shell_session(&env, "r", shell, &[]);
    // Nothing has run yet: said so, exit 2.
    let out = host.berth(&["result", "r"]);
    assert_eq!(out.status.code(), Some(2), "{shell}");
    assert_eq!(
        stderr(&out),
        "berth: session r has finished no command since its host started; berth run r -- COMMAND runs one"
    );
    // The caller's time is up before the command's: 124, it goes on.
    let long = "echo started; sleep 2; echo finished";
    let out = host.berth(&["run", "r", "--json", "-t", "1", "--", long]);
    assert_eq!(out.status.code(), Some(124), "{shell}: {}", stderr(&out));
    assert_eq!(json(&out)["output"], "started\n", "{shell}");
    // Asked at once: what it printed so far, still running (124).
    let out = host.berth(&["result", "r", "--json"]);
    assert_eq!(out.status.code(), Some(124), "{shell}: {}", stderr(&out));
    let r = json(&out);
    assert_eq!(
        (r["timed_out"].clone(), r["command"].clone()),
        (Value::Bool(true), Value::from(long)),
        "{shell}: {r}"
    );
    assert_eq!(
        stderr(&out),
        "berth: the command is still running in session r; it was not stopped (berth result r --wait DUR collects its result)"
    );
    // Waited for: the whole output and the real status.
    let out = host.berth(&["result", "r", "--wait", "30", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{shell}: {}", stderr(&out));
    let r = json(&out);
    assert_eq!(r["output"], "started\nfinished\n", "{shell}");
    assert_eq!(
        (r["status"].clone(), r["timed_out"].clone()),
        (Value::from(0), Value::Bool(false))
    );
    // The last finished command's result stays, plain too; its status is
    // the exit code.
    let out = host.berth(&["result", "r"]);
    assert_eq!(stdout(&out), "started\nfinished\n");
    let out = host.berth(&["run", "r", "--", "echo failing; false"]);
    assert_eq!(out.status.code(), Some(1));
    let out = host.berth(&["result", "r", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json(&out)["output"], "failing\n");
    assert_eq!(json(&out)["command"], "echo failing; false");
}

#[test]
fn result_collects_a_command_after_run_gave_up_in_bash_zsh_and_fish() {
    for shell in SHELLS {
        if installed(shell, "result_collects_a_command_after_run_gave_up") {
            result_after_run_gave_up(shell);
        }
    }
}

/// What `berth interrupt --json` said, after checking it exited `code`.
fn interrupted(host: &Host, args: &[&str], code: i32) -> Value {
    let mut all = vec!["interrupt", "i", "--json"];
    all.extend_from_slice(args);
    let out = host.berth(&all);
    assert_eq!(out.status.code(), Some(code), "{}", stderr(&out));
    json(&out)
}

fn interrupts(shell: &str) {
    let env = Env::new();
    let host = shell_session(&env, "i", shell, &[]);
    // Nothing runs: nothing is done.
    let out = host.berth(&["interrupt", "i"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        stdout(&out),
        "session i is running no command; nothing was done\n"
    );
    // cat, waiting on the terminal: C-c is enough.
    let out = host.berth(&["run", "i", "-t", "1", "--", "cat"]);
    assert_eq!(out.status.code(), Some(124), "{shell}");
    let out = host.berth(&["interrupt", "i"]);
    assert_eq!(out.status.code(), Some(0), "{shell}: {}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "typed C-c: the command (cat) ended with status 130; session i is at its prompt\n",
        "{shell}"
    );
    // sleep, the same, as JSON.
    let out = host.berth(&["run", "i", "-t", "1", "--", "sleep 300"]);
    assert_eq!(out.status.code(), Some(124), "{shell}");
    let done = interrupted(&host, &[], 0);
    assert_eq!(done["steps"], serde_json::json!(["typed C-c"]), "{shell}");
    assert_eq!(done["result"]["status"], 130, "{shell}");
    assert_eq!(done["result"]["command"], "sleep 300");
    assert_eq!(done["at_prompt"], true);
    // A program that ignores C-c: SIGTERM to its process group.
    let out = host.berth(&["run", "i", "-t", "1", "--", IGNORES_SIGINT]);
    assert_eq!(out.status.code(), Some(124), "{shell}");
    let done = interrupted(&host, &["--grace", "500ms"], 0);
    let steps = done["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 2, "{shell}: {done}");
    assert_eq!(steps[0], "typed C-c");
    let term = steps[1].as_str().unwrap();
    assert!(
        term.starts_with("SIGTERM to process group ") && term.ends_with(" (python3)"),
        "{shell}: {term}"
    );
    assert_eq!(done["result"]["status"], 143, "{shell}: {done}");
    assert!(done["result"]["output"]
        .as_str()
        .unwrap()
        .starts_with("ignoring\n"));
    // The shell itself was never signalled: it runs the next command.
    let out = host.berth(&["run", "i", "--", "echo still here"]);
    assert_eq!(stdout(&out), "still here\n", "{shell}: {}", stderr(&out));
}

#[test]
fn interrupt_stops_cat_sleep_and_a_program_that_ignores_c_c_in_bash_zsh_and_fish() {
    for shell in SHELLS {
        if installed(shell, "interrupt_stops_cat_sleep_and_a_program") {
            interrupts(shell);
        }
    }
}

#[test]
fn run_interrupt_on_timeout_stops_the_command_and_says_how() {
    let env = Env::new();
    let host = shell_session(&env, "i", "bash", &[]);
    let out = host.berth(&[
        "run",
        "i",
        "--json",
        "-t",
        "1",
        "--interrupt-on-timeout",
        "--",
        "echo begun; sleep 300",
    ]);
    assert_eq!(out.status.code(), Some(124), "{}", stderr(&out));
    let r = json(&out);
    assert_eq!(r["timed_out"], true);
    assert_eq!(r["interrupted"], serde_json::json!(["typed C-c"]));
    assert_eq!(r["status"], 130);
    assert!(r["output"].as_str().unwrap().starts_with("begun\n"), "{r}");
    assert_eq!(
        stderr(&out),
        "berth: the command did not end in session i after 1s; stopped it (typed C-c), it ended with status 130"
    );
    // Deaf to C-c and SIGTERM: SIGKILL, and the prompt is back.
    let deaf = "bash -c \"trap '' INT TERM; echo deaf; sleep 300\"";
    let out = host.berth(&[
        "run",
        "i",
        "--json",
        "-t",
        "1",
        "--interrupt-on-timeout",
        "--",
        deaf,
    ]);
    assert_eq!(out.status.code(), Some(124), "{}", stderr(&out));
    let r = json(&out);
    let steps = r["interrupted"].as_array().unwrap();
    assert_eq!(steps.len(), 3, "{r}");
    assert!(steps[2]
        .as_str()
        .unwrap()
        .starts_with("SIGKILL to process group "));
    assert_eq!(r["status"], 137);
    assert_eq!(host.status()["shell"]["at_prompt"], true);
    // Without a timeout the flag means nothing: refused.
    let out = host.berth(&["run", "i", "--interrupt-on-timeout", "--", "true"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        "berth: run needs --timeout <TIMEOUT> (usage: berth run [OPTIONS] <NAME> -- <COMMAND>...)"
    );
}

#[test]
fn interrupt_without_marks_types_c_c_and_says_it_cannot_tell() {
    let env = Env::new();
    let host = env.host("py", &[], &["python3", "-q"]);
    host.wait_screen(">>>");
    host.send(&["import time; time.sleep(300)", "Enter"]);
    let out = host.berth(&["interrupt", "py"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "typed C-c in session py; it shows no shell integration marks, so berth cannot tell whether its program stopped\n"
    );
    // It did: Python says so.
    host.wait_screen("KeyboardInterrupt");
    // berth result has nothing to go on.
    let out = host.berth(&["result", "py"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        "berth: session py shows no shell integration marks (OSC 133): berth result needs bash, zsh or fish with shell_integration on, or a program that writes the marks"
    );
}

fn replaced_during_run(shell: &str) {
    let env = Env::new();
    let host = shell_session(
        &env,
        "x",
        shell,
        &["--restart", "always", "--restart-delay", "100ms"],
    );
    // The shell becomes python3: the run ends, saying so, long before its
    // timeout.
    let out = host.berth(&["run", "x", "--json", "-t", "60", "--", "exec python3 -q"]);
    assert_eq!(out.status.code(), Some(0), "{shell}: {}", stderr(&out));
    let r = json(&out);
    assert_eq!(
        r["shell_exited"],
        "replaced itself with python3 (exec); berth run works again once a shell with its marks runs",
        "{shell}"
    );
    assert_eq!(r["timed_out"], false);
    // Python has no marks: run refuses, nothing typed.
    let out = host.berth(&["run", "x", "--", "print(1)"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        "berth: session x shows no shell integration marks (OSC 133): berth run needs bash, zsh or fish with shell_integration on, or a program that writes the marks"
    );
    // When python3 leaves, the session's shell comes back and runs again.
    host.send(&["exit()", "Enter"]);
    host.wait_status("a new shell at its prompt", |s| {
        s["shell"]["at_prompt"] == true
    });
    let out = host.berth(&["run", "x", "--", "echo back"]);
    assert_eq!(stdout(&out), "back\n", "{shell}: {}", stderr(&out));
}

#[test]
fn a_shell_that_replaces_itself_during_run_is_reported_at_once() {
    for shell in ["bash", "zsh"] {
        if installed(shell, "a_shell_that_replaces_itself_during_run") {
            replaced_during_run(shell);
        }
    }
}

#[test]
fn run_in_fish_keeps_words_takes_loops_and_reports_exits() {
    if !installed(
        "fish",
        "run_in_fish_keeps_words_takes_loops_and_reports_exits",
    ) {
        return;
    }
    let env = Env::new();
    let host = shell_session(&env, "f", "fish", &["--restart", "never"]);
    // State persists between commands; fish's own quoting keeps the words.
    let out = host.berth(&["run", "f", "--", "set -g greeting hello"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = host.berth(&[
        "run",
        "f",
        "--",
        "printf",
        "[%s]\\n",
        "$greeting",
        "a b",
        "it's",
        "back\\slash",
        "*",
        "-n",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "[$greeting]\n[a b]\n[it's]\n[back\\slash]\n[*]\n[-n]\n"
    );
    let out = host.berth(&["run", "f", "--", "echo $greeting"]);
    assert_eq!(stdout(&out), "hello\n");
    // A loop over several lines: one paste, one result.
    let out = host.berth(&["run", "f", "--json", "--", "for i in 1 2\n  echo n$i\nend"]);
    let r = json(&out);
    assert_eq!(
        (r["output"].clone(), r["status"].clone()),
        ("n1\nn2\n".into(), 0.into())
    );
    let out = host.berth(&["run", "f", "--", "false"]);
    assert_eq!(out.status.code(), Some(1));
    // fish exits: its status, at once.
    let out = host.berth(&["run", "f", "--json", "-t", "30", "--", "exit 3"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert_eq!(json(&out)["shell_exited"], "exited with status 3");
}

#[test]
fn run_and_send_right_after_berth_new_wait_for_the_program() {
    let d = berth_e2e::daemon::Daemon::start("");
    for i in 0..5 {
        let name = format!("fresh{i}");
        let out = d.berth(&["new", &name, "--", "bash"]);
        assert!(out.status.success(), "{}", stderr(&out));
        let out = d.berth(&["run", &name, "-t", "30", "--", "echo first"]);
        assert_eq!(stdout(&out), "first\n", "{name}: {}", stderr(&out));
        let out = d.berth(&["kill", &name]);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    for i in 0..5 {
        let name = format!("repl{i}");
        let out = d.berth(&["new", &name, "--", "python3", "-q"]);
        assert!(out.status.success(), "{}", stderr(&out));
        let out = d.berth(&[
            "send",
            &name,
            "--wait",
            "^42$",
            "-t",
            "30",
            "print(6*7)",
            "Enter",
        ]);
        assert_eq!(stdout(&out), "42\n", "{name}: {}", stderr(&out));
        assert!(d.berth(&["kill", &name]).status.success());
    }
    // A program that cannot start is refused before anything is made.
    let out = d.berth(&["new", "nothing", "--", "/nonexistent/berth-shell"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "berth: failed to start session \"nothing\": cannot start its program: /nonexistent/berth-shell: no such file; nothing was left behind"
    );
    let out = d.berth(&["run", "nothing", "-t", "30", "--", "true"]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(
        stderr(&out).starts_with("berth: no session \"nothing\""),
        "{}",
        stderr(&out)
    );
}
