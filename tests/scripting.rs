//! What scripts and agents do, end to end, with real bash, zsh and python3
//! in real sessions: numbered captures, `wait` (alone and after `send`),
//! `run` with shell integration, `logs`, and the exit codes they promise.
//! Nothing here is timed: every wait has a deadline, none is a sleep.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use berth_e2e::shells::{bash, json, stdout};
use berth_e2e::*;
use serde_json::{json, Value};

/// The line numbers of a `capture --json`.
fn seqs(capture: &Value) -> Vec<u64> {
    capture["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .map(|l| l["seq"].as_u64().expect("seq"))
        .collect()
}

#[test]
fn wait_since_never_misses_output_that_came_right_after_send() {
    let env = Env::new();
    let host = env.host(
        "fast",
        &[],
        &[
            "python3",
            "-u",
            "-c",
            "import sys\nfor l in sys.stdin: print('got-' + l.strip(), flush=True)",
        ],
    );
    for i in 0..20 {
        // The answer is printed within microseconds of the keys, long
        // before `wait` connects: --since still sees it.
        let sent = json(&host.berth(&["send", "fast", "--json", &format!("n{i}"), "Enter"]));
        let seq = sent["seq"]
            .as_u64()
            .expect("send --json gives seq")
            .to_string();
        let out = host.berth(&[
            "wait",
            "fast",
            "--since",
            &seq,
            "-m",
            &format!("^got-n{i}$"),
            "-t",
            "20s",
            "--json",
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let w = json(&out);
        assert_eq!(w["matched"], true);
        assert_eq!(w["text"], format!("got-n{i}"));
        assert!(w["seq"].as_u64().unwrap() > seq.parse().unwrap());
    }
    // send --wait does both at once, without a race.
    let out = host.berth(&[
        "send",
        "fast",
        "--wait",
        "^got-both$",
        "-t",
        "20s",
        "both",
        "Enter",
    ]);
    assert_eq!(
        (out.status.code(), stdout(&out)),
        (Some(0), "got-both\n".to_owned())
    );
}

#[test]
fn wait_exit_codes_and_messages() {
    let env = Env::new();
    let host = env.host("w", &[], &["sh", "-c", "echo already-here; exec cat"]);
    host.wait_screen("already-here");
    // Default: only what arrives after the call; --screen also what is there.
    let out = host.berth(&["wait", "w", "-m", "already", "-t", "300ms"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "berth: nothing matched in session w before the timeout"
    );
    let out = host.berth(&["wait", "w", "-m", "already", "-t", "300ms", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json(&out)["matched"], false);
    let out = host.berth(&["wait", "w", "--screen", "-m", "al+ready-h"]);
    assert_eq!(
        (out.status.code(), stdout(&out)),
        (Some(0), "already-here\n".to_owned())
    );
    // A wait that is under way sees output that arrives later.
    let mut waiting = Command::new(bin("berth"))
        .args(["wait", "w", "-m", "^later$", "-t", "30s"])
        .env("BERTH_RUNTIME_DIR", env.runtime())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // Typed until the waiter has seen it: cat echoes each line back.
    wait_for("the wait to see new output", DEADLINE, || {
        host.send(&["later", "Enter"]);
        waiting.try_wait().unwrap().map(|_| ())
    });
    let out = waiting.wait_with_output().unwrap();
    assert_eq!(
        (out.status.code(), stdout(&out)),
        (Some(0), "later\n".to_owned())
    );
    // Errors exit 2, in one line.
    let out = host.berth(&["wait", "w", "-m", "(unclosed"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        "berth: bad regular expression \"(unclosed\": unclosed group"
    );
    let out = env.berth(&["wait", "nosuch", "-m", "x"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).starts_with("berth: no session \"nosuch\""),
        "{}",
        stderr(&out)
    );
    let out = env.berth(&["wait", "w"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).starts_with("berth: wait needs --match <REGEX>"),
        "{}",
        stderr(&out)
    );
    let out = host.berth(&["send", "w", "--wait", "(", "x"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        "berth: bad regular expression \"(\": unclosed group"
    );
    // A bad pattern typed nothing.
    assert!(!host.capture(&[]).lines().any(|l| l == "x"));
}

#[test]
fn run_reports_exactly_the_commands_output_and_status() {
    let env = Env::new();
    let host = bash(&env, "sh");
    run_trio(&host);
}

#[test]
fn run_in_zsh() {
    if !std::path::Path::new("/usr/bin/zsh").exists() && !std::path::Path::new("/bin/zsh").exists()
    {
        assert!(
            std::env::var("BERTH_REQUIRE_ROOT_TESTS").as_deref() != Ok("1"),
            "zsh is not installed"
        );
        eprintln!("SKIPPED run_in_zsh: zsh is not installed");
        return;
    }
    let env = Env::new();
    let home = env.path("z-home");
    std::fs::create_dir_all(&home).unwrap();
    // A user .zshrc that sets its own prompt: read, and still marked.
    std::fs::write(home.join(".zshrc"), "PS1='zsh> '\nexport FROM_ZSHRC=yes\n").unwrap();
    let host = env.host(
        "z",
        &["--env", &format!("HOME={}", home.display())],
        &["zsh"],
    );
    host.wait_status("zsh at its prompt", |s| s["shell"]["at_prompt"] == true);
    run_trio(&host);
    let out = host.berth(&["run", "z", "--", "echo $FROM_ZSHRC"]);
    assert_eq!(
        (out.status.code(), stdout(&out)),
        (Some(0), "yes\n".to_owned())
    );
}

fn run_trio(host: &Host) {
    let name = host.name.as_str();
    let out = host.berth(&["run", name, "--", "true"]);
    assert_eq!(
        (out.status.code(), stdout(&out)),
        (Some(0), String::new()),
        "{}",
        stderr(&out)
    );
    let out = host.berth(&["run", name, "--", "false"]);
    assert_eq!((out.status.code(), stdout(&out)), (Some(1), String::new()));
    let out = host.berth(&["run", name, "--", "no-such-command-berth"]);
    assert_eq!(out.status.code(), Some(127));
    assert!(
        stdout(&out).contains("no-such-command-berth"),
        "{}",
        stdout(&out)
    );
    assert!(stdout(&out).contains("not found"), "{}", stdout(&out));
    assert_eq!(stdout(&out).lines().count(), 1, "{}", stdout(&out));
    let out = host.berth(&["run", name, "--", "echo one; echo two"]);
    assert_eq!(
        (out.status.code(), stdout(&out)),
        (Some(0), "one\ntwo\n".to_owned())
    );
    let out = host.berth(&[
        "run",
        name,
        "--json",
        "--",
        "echo json; exit_with() { return $1; }; exit_with 3",
    ]);
    assert_eq!(out.status.code(), Some(3));
    let r = json(&out);
    assert_eq!(r["output"], "json\n");
    assert_eq!(r["status"], 3);
    assert!(r["last_seq"].as_u64() >= r["first_seq"].as_u64());
    assert!(r["duration_ms"].is_u64());
    let st = host.status();
    assert_eq!(st["shell"]["at_prompt"], true);
    assert_eq!(st["shell"]["last_status"], 3);
    assert_eq!(
        st["shell"]["last_command"],
        "echo json; exit_with() { return $1; }; exit_with 3"
    );
}

#[test]
fn run_refuses_a_busy_session_and_gives_up_on_time() {
    let env = Env::new();
    let host = bash(&env, "busy");
    host.send(&["sleep 300", "Enter"]);
    let st = host.wait_status("sleep to run", |s| s["shell"]["at_prompt"] == false);
    assert!(st["shell"]["running_since"].is_u64());
    let before = host.capture(&["-S", "-"]);
    let out = host.berth(&["run", "busy", "--", "echo typed"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        "berth: session busy is not at a prompt (a command is running: sleep 300); nothing was typed"
    );
    assert_eq!(host.capture(&["-S", "-"]), before, "nothing was typed");
    host.send(&["C-c"]);
    host.wait_status("the prompt again", |s| s["shell"]["at_prompt"] == true);
    // Half a line typed at the prompt: refused too.
    host.send(&["-l", "partial"]);
    host.wait_screen("partial");
    let out = host.berth(&["run", "busy", "--", "true"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        "berth: session busy has input typed at its prompt; clear it (berth send busy C-u) and try again"
    );
    host.send(&["C-u"]);
    // On timeout: 124, and the command goes on.
    let out = host.berth(&["run", "busy", "-t", "300ms", "--", "sleep 300"]);
    assert_eq!(out.status.code(), Some(124));
    assert_eq!(
        stderr(&out),
        "berth: the command is still running in session busy after 300ms; it was not stopped (berth result busy --wait DUR collects its result)"
    );
    assert_eq!(host.status()["shell"]["at_prompt"], false);
    // A program without shell integration: said so.
    let py = env.host("py", &[], &["python3", "-i", "-q"]);
    py.wait_screen(">>>");
    let out = py.berth(&["run", "py", "--", "1+1"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        "berth: session py shows no shell integration marks (OSC 133): berth run needs bash, zsh or fish with shell_integration on, or a program that writes the marks"
    );
    // Turned off: bash runs without marks.
    let plain = env.host(
        "plain",
        &["--shell-integration", "false"],
        &["bash", "--norc", "-i"],
    );
    plain.send(&["echo up", "Enter"]);
    plain.wait_screen("up");
    assert_eq!(plain.status()["shell"], Value::Null);
}

#[test]
fn line_numbers_survive_restarts_and_history_trimming() {
    let env = Env::new();
    let host = env.host(
        "num",
        &["--scrollback", "5", "--size", "20x4", "--restart", "always"],
        &["sh", "-c", "seq 1 12; exec cat"],
    );
    host.wait_screen("12");
    let first = json(&host.berth(&["capture", "num", "--json", "-S", "-"]));
    let first_seqs = seqs(&first);
    assert!(
        first["first_seq"].as_u64().unwrap() > 0,
        "history was trimmed: {first}"
    );
    assert!(
        first_seqs.windows(2).all(|w| w[1] == w[0] + 1),
        "{first_seqs:?}"
    );
    assert_eq!(first["size"], serde_json::json!({"cols": 20, "rows": 4}));
    assert!(first["cursor"]["visible"].is_boolean());
    assert_eq!(first["alternate_screen"], false);
    let last = *first_seqs.last().unwrap();
    host.berth(&["restart", "num"]);
    host.wait_status("a restart", |s| {
        s["restarts"] == 1 && s["state"] == "running"
    });
    // The new run's output goes on from the numbers the old one reached.
    host.send(&["after-restart", "Enter"]);
    host.wait_screen("after-restart");
    let again = json(&host.berth(&[
        "capture",
        "num",
        "--json",
        "--since",
        &first["cursor"]["seq"].to_string(),
    ]));
    let new = seqs(&again);
    assert!(
        new.iter()
            .all(|s| *s > first["cursor"]["seq"].as_u64().unwrap()),
        "{again}"
    );
    assert!(again["first_seq"].as_u64() >= first["first_seq"].as_u64());
    assert!(again["cursor"]["seq"].as_u64().unwrap() > last);
    // Lines asked for that left history are counted, not silently skipped.
    let old = json(&host.berth(&["capture", "num", "--json", "--since", "0"]));
    assert!(old["missed"].as_u64().unwrap() > 0, "{old}");
}

#[test]
fn logs_read_through_the_host_and_follow_rotation() {
    let env = Env::new();
    let log = env.path("lg.log");
    let host = env.host(
        "lg",
        &[
            "--log",
            log.to_str().unwrap(),
            "--log-max-size",
            "1K",
            "--log-keep",
            "3",
        ],
        &["sh", "-c", "printf '\\033[1mbold\\033[0m one\\n'; exec cat"],
    );
    host.wait_screen("bold one");
    // The log has the escapes; --plain removes them.
    let out = wait_for("the log to hold the first line", DEADLINE, || {
        let out = host.berth(&["logs", "lg"]);
        stdout(&out).contains("one").then_some(out)
    });
    assert!(
        stdout(&out).contains("\x1b[1mbold\x1b[0m one"),
        "{:?}",
        stdout(&out)
    );
    let out = host.berth(&["logs", "lg", "--plain", "-n", "1"]);
    assert_eq!(stdout(&out), "bold one\n");
    // Following: everything written next, across two rotations, in order.
    let mut follow = Command::new(bin("berth"))
        .args(["logs", "lg", "-f", "-n", "1"])
        .env("BERTH_RUNTIME_DIR", env.runtime())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let reader = BufReader::new(follow.stdout.take().unwrap());
    std::thread::spawn(move || {
        for line in reader.lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    // The last line first: from then on the follower is reading, and
    // nothing typed next can fall before it.
    let first = rx
        .recv_timeout(DEADLINE)
        .expect("logs -f printed the last line");
    assert_eq!(first, "\x1b[1mbold\x1b[0m one");
    let mut seen = Vec::new();
    for i in 0..60 {
        let line = format!("follow-{i:02}-{}", "x".repeat(40));
        host.send(&["-l", &line]);
        host.send(&["Enter"]);
        // cat echoes it: the line is the typed one and cat's copy.
        while seen
            .iter()
            .filter(|l: &&String| l.trim_end() == line)
            .count()
            < 2
        {
            let got = rx.recv_timeout(DEADLINE).unwrap_or_else(|_| {
                panic!(
                    "logs -f went quiet waiting for {line}; it printed {seen:#?}; the log holds {:?}",
                    std::fs::read_to_string(&log)
                )
            });
            seen.push(got);
        }
    }
    let _ = follow.kill();
    let _ = follow.wait();
    assert!(
        std::fs::metadata(format!("{}.2", log.display())).is_ok(),
        "the log rotated twice"
    );
    let order: Vec<&String> = seen.iter().filter(|l| l.starts_with("follow-")).collect();
    assert_eq!(order.len(), 120, "{seen:?}");
    // Errors: a session that keeps no log.
    let nolog = env.host("nolog", &[], &["cat"]);
    let out = nolog.berth(&["logs", "nolog"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stderr(&out), "berth: session nolog keeps no output log (log = \"none\"); berth capture nolog -S - shows its history");
    let _ = Duration::ZERO;
}

#[test]
fn attach_without_a_name_and_the_foreground_column() {
    let env = Env::new();
    let _a = env.host(
        "older",
        &[],
        &["sh", "-c", "echo older-screen; exec sleep 100000"],
    );
    let b = env.host("newer", &[], &["cat"]);
    b.send(&["newer-screen", "Enter"]);
    b.wait_screen("newer-screen");
    // attach -r into a pipe: the most recently active session's screen.
    let mut attach = Command::new(bin("berth"))
        .args(["attach", "-r"])
        .env("BERTH_RUNTIME_DIR", env.runtime())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(attach.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let _ = attach.kill();
    let _ = attach.wait();
    assert_eq!(first, "newer-screen\n");
    let ls = stdout(&env.berth(&["ls"]));
    let head = ls.lines().next().unwrap();
    assert!(head.contains("FOREGROUND"), "{ls}");
    let row = ls.lines().find(|l| l.starts_with("older")).unwrap();
    assert_eq!(row.split_whitespace().nth(7), Some("sleep"), "{ls}");
    let rows: Value = serde_json::from_slice(&env.berth(&["ls", "--json"]).stdout).unwrap();
    let newer = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "newer")
        .unwrap();
    assert_eq!(newer["foreground"], "cat");
}

#[test]
fn an_observer_may_wait_and_read_but_never_run_or_type() {
    if skip_unless_root(
        "an_observer_may_wait_and_read_but_never_run_or_type",
        &["/usr/sbin/runuser"],
    ) {
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new();
    let home = env.path("obs-home");
    std::fs::create_dir_all(&home).unwrap();
    let host = env.host(
        "watched",
        &[
            "--observer",
            "nobody",
            "--env",
            &format!("HOME={}", home.display()),
        ],
        &["bash"],
    );
    host.wait_status("the prompt", |s| s["shell"]["at_prompt"] == true);
    for dir in [env.runtime().to_owned(), env.runtime().join("sessions")] {
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    std::fs::set_permissions(
        env.socket("watched"),
        std::fs::Permissions::from_mode(0o666),
    )
    .unwrap();
    let as_nobody = |args: &[&str]| berth_as("nobody", env.runtime(), args);
    let out = as_nobody(&["run", "watched", "--", "touch /tmp/berth-pwned"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        "berth: permission denied: nobody is an observer of watched and cannot run commands in it"
    );
    let out = as_nobody(&["send", "watched", "--wait", "x", "echo pwned", "Enter"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        "berth: permission denied: nobody is an observer of watched and cannot send input"
    );
    let out = as_nobody(&["interrupt", "watched"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        "berth: permission denied: nobody is an observer of watched and cannot interrupt its command"
    );
    // Reading is allowed: wait, capture, and a command's result.
    let out = as_nobody(&["wait", "watched", "--screen", "-m", "[#$] ?$", "-t", "20s"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = host.berth(&["run", "watched", "--", "echo by the operator"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = as_nobody(&["result", "watched"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "by the operator\n");
    // The same through a raw client: the host refuses, whatever the CLI does.
    let raw = Command::new("runuser")
        .args(["-u", "nobody", "--"])
        .arg(bin("raw-client"))
        .arg(env.socket("watched"))
        .arg(r#"{"type":"run","command":"touch /tmp/berth-pwned"}"#)
        .output()
        .unwrap();
    let answer = stdout(&raw);
    assert!(
        answer.contains("\"denied\"") && answer.contains("cannot run commands"),
        "{answer}"
    );
    let raw = Command::new("runuser")
        .args(["-u", "nobody", "--"])
        .arg(bin("raw-client"))
        .arg(env.socket("watched"))
        .arg(r#"{"type":"interrupt"}"#)
        .output()
        .unwrap();
    let answer = stdout(&raw);
    assert!(
        answer.contains("\"denied\"") && answer.contains("cannot interrupt its command"),
        "{answer}"
    );
    assert!(!std::path::Path::new("/tmp/berth-pwned").exists());
    assert!(!host.capture(&["-S", "-"]).contains("pwned"));
}

#[test]
fn the_agent_loop_example_runs() {
    let d = berth_e2e::daemon::Daemon::start("");
    let bins = bin("berth").parent().unwrap().to_owned();
    let path = format!(
        "{}:{}",
        bins.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let example =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/agent_loop.py");
    let out = Command::new("python3")
        .arg(&example)
        .arg("ex")
        .env("PATH", path)
        .env("BERTH_RUNTIME_DIR", d.runtime())
        .output()
        .unwrap();
    let text = stdout(&out);
    assert!(out.status.success(), "{text}\n{}", stderr(&out));
    assert!(text.contains("py> 6 * 7\n42\n"), "{text}");
    assert!(
        text.contains("py> len(words), words[-1]\n(3, 'sessions')\n"),
        "{text}"
    );
    assert!(text.contains("[exit 3]"), "{text}");
    assert!(
        text.ends_with("agent loop: all results and exit codes as expected\n"),
        "{text}"
    );
    // It cleaned up after itself.
    assert!(!stdout(&d.berth(&["ls"])).contains("ex-py"));
}

/// `run` whose command ends the shell itself, in `shell`, under `restart`.
fn the_shell_ending_during_run(shell: &str, restart: &str) {
    let env = Env::new();
    let home = env.path("home");
    std::fs::create_dir_all(&home).unwrap();
    let host = env.host(
        "s",
        &[
            "--env",
            &format!("HOME={}", home.display()),
            "--restart",
            restart,
            "--restart-delay",
            "100ms",
        ],
        &[shell],
    );
    let at_prompt = |s: &Value| s["shell"]["at_prompt"] == true;
    host.wait_status("the shell at its prompt", at_prompt);
    // It exits: its status, at once, and no berth marker in the output.
    let out = host.berth(&["run", "s", "--json", "-t", "30s", "--", "echo bye; exit 7"]);
    assert_eq!(out.status.code(), Some(7), "{}", stderr(&out));
    let result = json(&out);
    assert_eq!(result["status"], 7);
    assert_eq!(result["shell_exited"], "exited with status 7");
    assert_eq!(
        result["output"].as_str().unwrap().lines().next(),
        Some("bye")
    );
    assert!(!result["output"].as_str().unwrap().contains("[berth]"));
    assert_eq!(
        stderr(&out),
        "berth: the shell of session s ended during the command (exited with status 7)"
    );
    match restart {
        "never" => {
            // No shell now: said at once, nothing typed.
            let out = host.berth(&["run", "s", "--", "true"]);
            assert_eq!(out.status.code(), Some(2));
            assert_eq!(
                stderr(&out),
                "berth: session s has no program running: the last one exited with status 7; nothing was typed (berth start s starts it)"
            );
        }
        _ => {
            // The next shell starts afresh; it is killed: 128+9.
            host.wait_status("the new shell at its prompt", at_prompt);
            // fish names its own pid $fish_pid.
            let kill = match shell {
                "fish" => "kill -9 $fish_pid",
                _ => "kill -9 $$",
            };
            let out = host.berth(&["run", "s", "--json", "-t", "30s", "--", kill]);
            assert_eq!(out.status.code(), Some(137), "{}", stderr(&out));
            let result = json(&out);
            assert_eq!(result["status"], 137);
            assert_eq!(result["shell_exited"], "killed by signal 9 (SIGKILL)");
            host.wait_status("a third shell at its prompt", at_prompt);
            let out = host.berth(&["run", "s", "--json", "--", "echo again"]);
            assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
            assert_eq!(json(&out)["shell_exited"], Value::Null);
        }
    }
}

#[test]
fn a_bash_that_exits_or_is_killed_during_run_is_reported_at_once() {
    the_shell_ending_during_run("bash", "always");
    the_shell_ending_during_run("bash", "never");
}

#[test]
fn a_zsh_or_fish_that_exits_or_is_killed_during_run_is_reported_at_once() {
    for shell in ["zsh", "fish"] {
        if berth_e2e::shells::installed(shell, "a_zsh_or_fish_that_exits_or_is_killed_during_run") {
            the_shell_ending_during_run(shell, "always");
            the_shell_ending_during_run(shell, "never");
        }
    }
}

#[test]
fn run_keeps_argv_and_send_takes_options_anywhere() {
    let env = Env::new();
    let host = bash(&env, "q");
    // Several words: each quoted, so the shell sees exactly them.
    let out = host.berth(&["run", "q", "--", "printf", "%s\\n", "a b", "c"]);
    assert_eq!(
        (out.status.code(), stdout(&out)),
        (Some(0), "a b\nc\n".to_owned()),
        "{}",
        stderr(&out)
    );
    let out = host.berth(&["run", "q", "--", "echo", "$HOME", "*", "it's", "\"q\""]);
    assert_eq!(stdout(&out), "$HOME * it's \"q\"\n");
    let out = host.berth(&["run", "q", "--", "ls", "-d", "/"]);
    assert_eq!(stdout(&out), "/\n");
    // One argument is a command line, typed as it is.
    let out = host.berth(&["run", "q", "--", "echo $((6*7)) | tr 4 X"]);
    assert_eq!(stdout(&out), "X2\n");
    // A bare number is seconds.
    let out = host.berth(&["run", "q", "-t", "10", "--", "true"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // Options after the keys are options; literal dashes go after `--`.
    let out = host.berth(&[
        "send",
        "q",
        "echo sent-$((1+1))",
        "Enter",
        "--wait",
        "^sent-2$",
        "-t",
        "10",
    ]);
    assert_eq!(
        (out.status.code(), stdout(&out)),
        (Some(0), "sent-2\n".to_owned()),
        "{}",
        stderr(&out)
    );
    let out = host.berth(&["send", "q", "--", "-x"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    host.wait_screen("-x");
    host.send(&["C-u"]);
}

#[test]
fn keys_for_a_stopped_program_are_refused_not_kept_for_the_next() {
    let env = Env::new();
    let host = env.host("repl", &[], &["python3", "-i", "-q"]);
    host.wait_screen(">>>");
    // Stopped through its own socket (no berthd here), as berth stop does.
    let ask = |request: berth_proto::Request| {
        let socket = std::os::unix::net::UnixStream::connect(env.socket("repl")).unwrap();
        let mut client = berth_proto::sync::Client::handshake(socket, "test").unwrap();
        client.call(&request).unwrap()
    };
    assert_eq!(ask(berth_proto::Request::Stop), berth_proto::Response::Ok);
    let out = host.berth(&["send", "repl", "print('queued')", "Enter"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "berth: session repl has no program running: the last one was killed by signal 1 (SIGHUP); nothing was typed (berth start repl starts it)"
    );
    assert_eq!(ask(berth_proto::Request::Start), berth_proto::Response::Ok);
    host.wait_screen(">>>");
    host.send(&["print('fresh-' + 'start')", "Enter"]);
    let screen = host.wait_screen("fresh-start");
    assert!(!screen.contains("queued"), "{screen}");
}

#[test]
fn run_bounds_its_output_and_reports_what_it_saw_when_time_is_up() {
    let env = Env::new();
    let host = bash(&env, "t");
    // 5,000 lines, 4 kept: the first two and the last two.
    let out = host.berth(&["run", "t", "--json", "--max-lines", "4", "--", "seq 1 5000"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let r = json(&out);
    assert_eq!(r["truncated"], 4996);
    let since = r["first_seq"].as_u64().unwrap() - 1;
    assert_eq!(
        r["output"],
        format!(
            "1\n2\n[... 4996 lines left out: berth capture --since {since} shows them all ...]\n4999\n5000\n"
        )
    );
    // All of it stays reachable.
    let all = host.berth(&["capture", "t", "--since", &since.to_string()]);
    assert!(stdout(&all).starts_with("1\n2\n3\n"), "{}", stdout(&all));
    assert!(stdout(&all).contains("\n2500\n"));
    // Time is up: what it printed so far, where it stands, and 124.
    let out = host.berth(&[
        "run",
        "t",
        "--json",
        "-t",
        "1",
        "--",
        "echo started; sleep 30",
    ]);
    assert_eq!(out.status.code(), Some(124));
    let r = json(&out);
    assert_eq!(r["timed_out"], true);
    assert_eq!(r["status"], 124);
    assert_eq!(r["output"], "started\n");
    assert!(r["first_seq"].is_u64());
    assert_eq!(
        stderr(&out),
        "berth: the command is still running in session t after 1s; it was not stopped (berth result t --wait DUR collects its result)"
    );
    host.send(&["C-c"]);
    host.wait_status("the prompt again", |s| s["shell"]["at_prompt"] == true);
    // A command that itself exits 124 is told apart in --json.
    let out = host.berth(&["run", "t", "--json", "--", "(exit 124)"]);
    assert_eq!(out.status.code(), Some(124));
    let r = json(&out);
    assert_eq!(
        (r["status"].clone(), r["timed_out"].clone()),
        (json!(124), json!(false))
    );
}

#[test]
fn run_waits_for_a_starting_shells_first_prompt_and_for_an_interrupted_command() {
    let env = Env::new();
    let home = env.path("slow-home");
    std::fs::create_dir_all(&home).unwrap();
    // A .bashrc that takes a second, as root's sometimes does.
    std::fs::write(home.join(".bashrc"), "sleep 1\n").unwrap();
    let host = env.host(
        "slow",
        &["--env", &format!("HOME={}", home.display())],
        &["bash"],
    );
    // Right after the start: waits for the first prompt instead of refusing.
    let out = host.berth(&["run", "slow", "-t", "20", "--", "echo first"]);
    assert_eq!(
        (out.status.code(), stdout(&out)),
        (Some(0), "first\n".to_owned()),
        "{}",
        stderr(&out)
    );
    // Right after a restart, the same.
    let socket = std::os::unix::net::UnixStream::connect(env.socket("slow")).unwrap();
    let mut client = berth_proto::sync::Client::handshake(socket, "test").unwrap();
    assert_eq!(
        client.call(&berth_proto::Request::Restart).unwrap(),
        berth_proto::Response::Ok
    );
    let out = host.berth(&["run", "slow", "-t", "20", "--", "echo again"]);
    assert_eq!(
        (out.status.code(), stdout(&out)),
        (Some(0), "again\n".to_owned()),
        "{}",
        stderr(&out)
    );
    // Right after C-c: the interrupted command's prompt is waited for.
    for i in 0..10 {
        host.send(&["cat", "Enter"]);
        host.wait_status("cat running", |s| {
            s["shell"]["running_since"].is_u64() && s["shell"]["last_command"] == "cat"
        });
        host.send(&["C-c"]);
        let out = host.berth(&["run", "slow", "-t", "20", "--", &format!("echo after-{i}")]);
        assert_eq!(
            (out.status.code(), stdout(&out)),
            (Some(0), format!("after-{i}\n")),
            "{}",
            stderr(&out)
        );
    }
    // A command that really runs is still refused.
    host.send(&["sleep 30", "Enter"]);
    host.wait_status("sleep running", |s| {
        s["shell"]["last_command"] == "sleep 30"
    });
    let out = host.berth(&["run", "slow", "--", "true"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        "berth: session slow is not at a prompt (a command is running: sleep 30); nothing was typed"
    );
    host.send(&["C-c"]);
}

/// A loop, a here-doc and a function over several lines, in `host`'s shell.
fn several_lines(host: &Host) {
    let name = host.name.as_str();
    let out = host.berth(&[
        "run",
        name,
        "--json",
        "--",
        "for i in 1 2 3; do\n  echo \"n=$i\"\ndone",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(json(&out)["output"], "n=1\nn=2\nn=3\n");
    let out = host.berth(&["run", name, "--", "cat <<'EOF'\nfirst $HOME\nsecond\nEOF\n"]);
    assert_eq!(
        (out.status.code(), stdout(&out)),
        (Some(0), "first $HOME\nsecond\n".to_owned()),
        "{}",
        stderr(&out)
    );
    let out = host.berth(&[
        "run",
        name,
        "--",
        "twice() {\n  echo \"$1$1\"\n  return 4\n}",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = host.berth(&["run", name, "--", "twice ab"]);
    assert_eq!(
        (out.status.code(), stdout(&out)),
        (Some(4), "abab\n".to_owned())
    );
    // Keys are not text: still refused.
    let out = host.berth(&["run", name, "--", "echo a\u{3}"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        "berth: the command holds control characters other than newlines and tabs (use berth send for keys)"
    );
}

#[test]
fn run_types_a_command_of_several_lines_as_one_in_bash_and_zsh() {
    let env = Env::new();
    several_lines(&bash(&env, "b"));
    if !std::path::Path::new("/usr/bin/zsh").exists() && !std::path::Path::new("/bin/zsh").exists()
    {
        assert!(
            std::env::var("BERTH_REQUIRE_ROOT_TESTS").as_deref() != Ok("1"),
            "zsh is not installed"
        );
        eprintln!("SKIPPED the zsh half of run_types_a_command_of_several_lines_as_one_in_bash_and_zsh: zsh is not installed");
        return;
    }
    let home = env.path("zsh-home");
    std::fs::create_dir_all(&home).unwrap();
    let zsh = env.host(
        "z",
        &["--env", &format!("HOME={}", home.display())],
        &["zsh"],
    );
    zsh.wait_status("zsh at its prompt", |s| s["shell"]["at_prompt"] == true);
    several_lines(&zsh);
}
