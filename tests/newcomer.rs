//! What a newcomer does in the first hour, as the README shows it: the
//! agent example, a session host run by hand and the verbs that reach it
//! through `--socket`, `validate` without `--config`, `ls` when berthd is
//! down, and a socket that accepts and never answers. Exact messages.

use std::os::unix::net::UnixListener;
use std::process::Command;

use berth_e2e::shells::stdout;
use berth_e2e::*;

#[test]
fn the_agent_example_finds_the_berth_the_quick_start_built() {
    let d = berth_e2e::daemon::Daemon::start("");
    // The example beside a build directory, as a clone after `cargo
    // build` has it; nothing on PATH and no $BERTH.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("examples")).unwrap();
    std::fs::create_dir_all(dir.path().join("target/debug")).unwrap();
    let example =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/agent_loop.py");
    std::fs::copy(&example, dir.path().join("examples/agent_loop.py")).unwrap();
    std::os::unix::fs::symlink(bin("berth"), dir.path().join("target/debug/berth")).unwrap();
    let out = Command::new("python3")
        .arg(dir.path().join("examples/agent_loop.py"))
        .arg("nc")
        .env("PATH", "/usr/bin:/bin")
        .env_remove("BERTH")
        .env("BERTH_RUNTIME_DIR", d.runtime())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).ends_with("agent loop: all results and exit codes as expected\n"));
    // Without any berth: said how to get one.
    std::fs::remove_file(dir.path().join("target/debug/berth")).unwrap();
    let out = Command::new("python3")
        .arg(dir.path().join("examples/agent_loop.py"))
        .env("PATH", "/usr/bin:/bin")
        .env_remove("BERTH")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "agent_loop.py: no berth found: put it on PATH, set BERTH=/path/to/berth, or build it first (cargo build --release)"
    );
}

#[test]
fn verbs_with_socket_talk_to_a_host_run_by_hand() {
    let env = Env::new();
    let host = env.host("demo", &[], &["python3", "-q", "-i"]);
    host.wait_screen(">>>");
    let socket = env.socket("demo");
    let socket = socket.to_str().unwrap();
    let berth = |args: &[&str]| {
        let mut all = vec!["--socket", socket];
        all.extend_from_slice(args);
        env.berth(&all)
    };
    // ls lists that one host.
    let out = berth(&["ls", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 1);
    assert_eq!(rows[0]["name"], "demo");
    assert_eq!(rows[0]["state"], "running");
    // A name that is not the host's own is refused.
    let out = berth(&["capture", "wrongname"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        format!("berth: {socket} is the socket of session \"demo\", not \"wrongname\"")
    );
    // stop and start reach the host, not a berthd.
    let out = berth(&["stop", "demo"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(host.status()["state"], "stopped");
    let out = berth(&["start", "demo"]);
    assert!(out.status.success(), "{}", stderr(&out));
    host.wait_status("running again", |s| s["state"] == "running");
    // kill ends the host: its socket goes with it.
    let out = berth(&["kill", "demo"]);
    assert!(out.status.success(), "{}", stderr(&out));
    wait_for("the host to end", DEADLINE, || {
        (!std::path::Path::new(socket).exists()).then_some(())
    });
}

#[test]
fn a_host_berthd_started_is_killed_through_berthd_not_its_socket() {
    let d = berth_e2e::daemon::Daemon::start("[session.kept]\ncommand = [\"sleep\", \"100000\"]\n");
    d.wait_running(&["kept"]);
    let socket = d.runtime().join("sessions/kept.sock");
    let out = d.berth(&["--socket", socket.to_str().unwrap(), "kill", "kept"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "berth: session kept belongs to berthd, which would start it again: berth kill kept (without --socket) asks berthd"
    );
    d.wait_running(&["kept"]);
}

#[test]
fn validate_without_config_checks_what_berthd_reads_and_says_which() {
    let d = berth_e2e::daemon::Daemon::start("[session.one]\ncommand = [\"sleep\", \"100000\"]\n");
    let out = d.berth(&["validate"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let config = d.config();
    assert_eq!(
        stderr(&out),
        format!(
            "berth: checking {}, the config the running berthd reads",
            config.display()
        )
    );
    assert_eq!(
        stdout(&out),
        format!("{}: valid; 1 session (one) from 1 file\n", config.display())
    );
    // berthd down: the file berthd would read started by this user.
    let empty = tempfile::tempdir().unwrap();
    let out = berth_in(empty.path(), &["validate"]);
    let own = berth_config::paths::config_file(berth_config::paths::Mode::current());
    assert!(
        stderr(&out).starts_with(&format!(
            "berth: checking {}, the config berthd reads when started by you (--config FILE checks another)",
            own.display()
        )),
        "{}",
        stderr(&out)
    );
}

#[test]
fn ls_says_berthd_is_down_when_it_lists_the_sockets_instead() {
    let env = Env::new();
    let _host = env.host("alone", &[], &["sleep", "100000"]);
    let out = env.berth(&["ls"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("alone"), "{}", stdout(&out));
    assert_eq!(
        stderr(&out),
        format!(
            "berth: berthd is not running (no control socket in {}); start it with berthd; listing the session sockets instead",
            env.runtime().display()
        )
    );
}

#[test]
fn a_socket_that_accepts_and_never_answers_is_named_and_left() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mute.sock");
    let listener = UnixListener::bind(&path).unwrap();
    // Accepts, then says nothing, as a stopped host's socket does.
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in listener.incoming().flatten() {
            held.push(conn);
        }
    });
    let out = Command::new(bin("berth"))
        .args(["--socket", path.to_str().unwrap(), "status", "mute"])
        .env("BERTH_TEST_REPLY_TIMEOUT_MS", "500")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        format!(
            "berth: {} accepted the connection but did not answer within 0.5s: its host may be stopped or stuck; see berth ls, or restart session mute",
            path.display()
        )
    );
}

#[test]
fn new_attach_or_create_and_create_if_missing_as_tmux_new_a() {
    use berth_e2e::term_client::TermClient;
    let d = berth_e2e::daemon::Daemon::start("");
    // -d: created if missing, nothing done if present, exit 0 both times.
    for _ in 0..2 {
        let out = d.berth(&["new", "-d", "kept", "--", "python3", "-q"]);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let pid = d.wait_running(&["kept"])[0].2;
    let out = d.berth(&["new", "-d", "kept", "--", "python3", "-q"]);
    assert!(out.status.success());
    assert_eq!(d.wait_running(&["kept"])[0].2, pid, "-d replaced it");
    // Without -d or -A, an existing name is an error, as before.
    let out = d.berth(&["new", "kept", "--", "python3", "-q"]);
    assert_eq!(
        stderr(&out),
        "berth: session \"kept\" already exists (see berth ls)"
    );
    // -A on an existing session attaches to it.
    let new_a = |name: &str| {
        let cmd = pty_process::blocking::Command::new(bin("berth"))
            .args(["new", "-A", name, "--", "python3", "-q"])
            .env("BERTH_RUNTIME_DIR", d.runtime());
        TermClient::spawn(cmd, 80, 24)
    };
    let mut t = new_a("kept");
    t.keys(b"print('in-' + 'kept')\r");
    t.wait_screen("in-kept");
    t.detach();
    assert!(t.wait_exit().success());
    assert_eq!(d.wait_running(&["kept"])[0].2, pid);
    // -A on a missing one creates it, then attaches.
    let mut t = new_a("fresh");
    t.keys(b"print('in-' + 'fresh')\r");
    t.wait_screen("in-fresh");
    t.detach();
    assert!(t.wait_exit().success());
    d.wait_running(&["fresh", "kept"]);
}

#[test]
fn a_program_that_cannot_start_is_refused_warned_about_and_counted() {
    // berth new refuses it, leaving nothing.
    let d = berth_e2e::daemon::Daemon::start("");
    let out = d.berth(&["new", "nocmd", "--", "/nonexistent/prog"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "berth: failed to start session \"nocmd\": cannot start its program: /nonexistent/prog: no such file; nothing was left behind"
    );
    assert!(!stdout(&d.berth(&["ls"])).contains("nocmd"));
    // validate warns (the file may appear later) and still says valid.
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("berth.toml");
    std::fs::write(
        &config,
        "[session.bad]\ncommand = [\"no-such-program-berth\"]\n\n[session.good]\ncommand = [\"sleep\", \"1\"]\n",
    )
    .unwrap();
    let out = d.berth(&["validate", "--config", config.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        format!(
            "{}:1: warning: session bad: no-such-program-berth: command not found in PATH ({}); berthd cannot start it as things are",
            config.display(),
            berth_config::defaults::PATH
        )
    );
    // A host whose program cannot start counts each attempt: status and
    // the marker's "attempt N/M" (the next one) agree.
    let env = Env::new();
    let host = env.host("rc", &["--restart-delay", "200ms"], &["/nonexistent/prog"]);
    wait_for("status and the marker to agree", DEADLINE, || {
        let restarts = host.status()["restarts"].as_u64()?;
        let screen = host.capture(&[]);
        let last = screen.lines().rev().find(|l| l.contains("(attempt "))?;
        (restarts >= 2 && last.contains(&format!("(attempt {}/5)", restarts + 1))).then_some(())
    });
}

#[test]
fn logs_plain_shows_each_line_as_the_terminal_finally_did() {
    let env = Env::new();
    let log = env.path("pasted.log");
    let log_flag = log.to_str().unwrap().to_owned();
    let host = berth_e2e::shells::shell_session(&env, "pasted", "bash", &["--log", &log_flag]);
    // Pasted text: bash shows it in reverse video, then redraws it.
    let out = host.berth(&["send", "pasted", "-p", "echo LOGLINE-$((1+1))"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = host.berth(&[
        "send",
        "pasted",
        "--wait",
        "^LOGLINE-2$",
        "-t",
        "20",
        "Enter",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let plain = wait_for("the output in the log", DEADLINE, || {
        let out = host.berth(&["logs", "pasted", "--plain"]);
        let text = stdout(&out);
        text.contains("LOGLINE-2\n").then_some(text)
    });
    let typed: Vec<&str> = plain
        .lines()
        .filter(|l| l.contains("echo LOGLINE"))
        .collect();
    assert_eq!(typed.len(), 1, "{plain}");
    assert!(typed[0].ends_with("echo LOGLINE-$((1+1))"), "{plain}");
    assert_eq!(typed[0].matches("echo").count(), 1, "{plain}");
}

#[test]
fn watch_of_a_name_no_session_has_is_an_error_before_the_screen() {
    let env = Env::new();
    let _host = env.host("runner", &[], &["sleep", "100000"]);
    let out = env.berth(&["watch", "runer"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "berth: no session \"runer\" (did you mean \"runner\"? see berth ls)"
    );
    assert!(out.stdout.is_empty(), "the screen was taken");
}

#[test]
fn attach_names_the_session_in_the_title_and_answers_its_own_keys() {
    use berth_e2e::term_client::TermClient;
    let env = Env::new();
    let host = berth_e2e::shells::shell_session(&env, "keys", "bash", &[]);
    let mut t = TermClient::attach(&env, &["keys"], 80, 24);
    t.wait_printed("\x1b]2;berth: keys\x07");
    t.keys(b"echo ready-$((1+1))\r");
    t.wait_screen("ready-2");
    // Ctrl-b ?: the client's keys, then the screen again.
    t.keys(b"\x02?");
    t.wait_screen("berth keys: C-b d detaches, C-b C-b sends C-b, C-b ? shows this");
    wait_for("the notice to go", DEADLINE, || {
        (!t.screen().contains("berth keys:")).then_some(())
    });
    assert!(t.screen().contains("ready-2"), "{}", t.screen());
    // Ctrl-b then a key nothing is bound to: said, and nothing typed.
    t.keys(b"\x02x");
    t.wait_screen("C-b x is not bound: nothing typed (C-b ? lists the keys)");
    t.keys(b"echo after-$((2+2))\r");
    host.wait_screen("after-4");
    assert!(
        !host.capture(&[]).contains("xecho after"),
        "{}",
        host.capture(&[])
    );
    t.detach();
    assert!(t.wait_exit().success());
    // The user's title comes back.
    assert!(t.printed().contains("\x1b[23;0t"));
}
