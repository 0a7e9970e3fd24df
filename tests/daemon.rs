//! berthd end to end (embedded backend, user mode): declared sessions,
//! reload, survival of berthd's death, host restarts, lifecycle verbs.

use berth_e2e::daemon::Daemon;
use berth_e2e::term_client::TermClient;
use berth_e2e::*;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

const THREE: &str = r#"
[defaults]
restart = "always"
restart_delay = "100ms"

[session.alpha]
command = ["bash", "--norc", "--noprofile", "-i"]

[session.beta]
command = "while true; do echo beta-tick; sleep 1; done"

[session.gamma]
command = ["python3", "-i", "-q"]
"#;

fn pids(rows: &[(String, String, Option<u64>, Option<u64>)]) -> Vec<(String, Option<u64>)> {
    rows.iter().map(|r| (r.0.clone(), r.2)).collect()
}

#[test]
fn three_sessions_run_and_reload_changes_exactly_what_changed() {
    let d = Daemon::start(THREE);
    let before = d.wait_running(&["alpha", "beta", "gamma"]);
    // Added delta, removed gamma, changed beta; alpha untouched.
    let changed = THREE.replace("echo beta-tick", "echo beta-tock").replace(
        "[session.gamma]\ncommand = [\"python3\", \"-i\", \"-q\"]",
        "[session.delta]\ncommand = [\"sleep\", \"1000\"]",
    );
    std::fs::write(d.config(), changed).unwrap();
    let out = d.berth(&["reload"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "reloaded: added delta; removed gamma; changed beta; unchanged alpha\n"
    );
    d.wait_running(&["alpha", "beta", "delta"]);
    // beta's program restarts inside the same host (the screen stays).
    let after = wait_until(DEADLINE, || {
        let rows = d.wait_running(&["alpha", "beta", "delta"]);
        (rows[1].2 != before[1].2).then_some(rows)
    })
    .expect("beta's program restarted");
    assert_eq!(before[0], after[0], "alpha kept its program and host");
    assert_eq!(before[1].3, after[1].3, "beta kept its host");
    wait_for("beta's new program", DEADLINE, || {
        String::from_utf8_lossy(&d.berth(&["capture", "beta"]).stdout)
            .contains("beta-tock")
            .then_some(())
    });
    assert!(
        !d.runtime().join("sessions/gamma.sock").exists(),
        "a removed session's socket is gone"
    );
}

#[test]
fn an_invalid_reload_changes_nothing_and_says_where() {
    let mut d = Daemon::start(THREE);
    let before = d.wait_running(&["alpha", "beta", "gamma"]);
    std::fs::write(
        d.config(),
        THREE.replace("restart_delay = \"100ms\"", "restart_delay = \"soon\""),
    )
    .unwrap();
    let out = d.berth(&["reload"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    let config = d.config().display().to_string();
    assert!(
        err.starts_with("berth: 1 error in the configuration; nothing was changed:"),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "{config}:4:17: restart_delay: bad duration \"soon\""
        )),
        "{err}"
    );
    assert_eq!(pids(&d.ls()), pids(&before));
    // SIGHUP with the bad config: still nothing changes, berthd stays up.
    kill(Pid::from_raw(d.child.id() as i32), Signal::SIGHUP).unwrap();
    d.wait_ready();
    assert_eq!(pids(&d.ls()), pids(&before));
    // berthd --check agrees.
    let check = std::process::Command::new(bin("berthd"))
        .args(["--user", "--check", "--config", &config])
        .output()
        .unwrap();
    assert_eq!(check.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&check.stderr).contains(":4:17: restart_delay: bad duration"));
    // SIGHUP with a fixed config applies it.
    std::fs::write(
        d.config(),
        THREE.replace("[session.gamma]", "[session.gamma2]"),
    )
    .unwrap();
    kill(Pid::from_raw(d.child.id() as i32), Signal::SIGHUP).unwrap();
    d.wait_running(&["alpha", "beta", "gamma2"]);
}

#[test]
fn sessions_and_clients_survive_berthd_and_are_adopted() {
    let mut d = Daemon::start(THREE);
    let before = d.wait_running(&["alpha", "beta", "gamma"]);
    let client = TermClient::attach_in(&d.runtime(), &["alpha"], 80, 24);
    // bash --norc's own prompt: bash-5.2# as root, bash-5.2$ otherwise.
    client.wait_screen("bash-");
    client.keys(b"PS1='$ '; echo attached-$((1+2))\r");
    client.wait_screen("attached-3");
    d.crash_and_restart();
    let after = d.wait_running(&["alpha", "beta", "gamma"]);
    assert_eq!(
        before, after,
        "same programs, same hosts: adopted, not restarted"
    );
    let hosts = std::process::Command::new("pgrep")
        .args(["-f", "--", &format!("--socket {}", d.runtime().display())])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&hosts.stdout).lines().count(),
        3,
        "no duplicate hosts"
    );
    // The attached client never noticed.
    client.keys(b"echo still-attached-$((2+2))\r");
    client.wait_screen("still-attached-4");
    assert!(d
        .log()
        .contains("adopted a running session host session=alpha"));
}

#[test]
fn an_adhoc_session_whose_host_died_while_berthd_was_down_is_started_again() {
    let mut d = Daemon::start(THREE);
    d.wait_running(&["alpha", "beta", "gamma"]);
    let out = d.berth(&["new", "x", "--", "sleep", "4000001"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let all = ["alpha", "beta", "gamma", "x"];
    let rows = d.wait_running(&all);
    let host = rows[3].3.unwrap();
    d.crash();
    kill(Pid::from_raw(host as i32), Signal::SIGKILL).unwrap();
    wait_for("x's host to be gone", DEADLINE, || {
        (!std::path::Path::new(&format!("/proc/{host}")).exists()).then_some(())
    });
    d.start_again();
    // Like a declared one: it lives until someone kills it.
    let rows = d.wait_running(&all);
    assert!(rows[3].3.is_some_and(|p| p != host), "{rows:?}");
    assert!(d
        .log()
        .contains("died while berthd was down; starting it again"));
    let out = d.berth(&["kill", "x"]);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn a_host_whose_record_lacks_its_pid_is_adopted_by_the_socket_it_answers() {
    let mut d = Daemon::start(THREE);
    let before = d.wait_running(&["alpha", "beta", "gamma"]);
    d.crash();
    // berthd died between writing beta's record and its host's pid.
    let record = d.runtime().join("hosts").join("beta.json");
    let mut json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&record).unwrap()).unwrap();
    json["host_pid"] = 0.into();
    std::fs::write(&record, serde_json::to_vec(&json).unwrap()).unwrap();
    d.start_again();
    // Adopted, not started twice: the same host and program.
    assert_eq!(d.wait_running(&["alpha", "beta", "gamma"]), before);
    assert!(d
        .log()
        .contains("adopted a running session host session=beta"));
}

#[test]
fn a_killed_host_is_started_again() {
    let d = Daemon::start(THREE);
    let before = d.wait_running(&["alpha", "beta", "gamma"]);
    let host = before[1].3.expect("beta's host pid");
    kill(Pid::from_raw(host as i32), Signal::SIGKILL).unwrap();
    let after = wait_until(DEADLINE, || {
        let rows = d.ls();
        (rows[1].1 == "running" && rows[1].3.is_some_and(|p| p != host)).then_some(rows)
    })
    .unwrap_or_else(|| panic!("beta's host was not restarted; log:\n{}", d.log()));
    assert_eq!(after[0], before[0]);
    assert!(d.log().contains("session host died; starting it again"));
}

/// Hosts push their status only when it changes; what berthd lists still
/// follows the program: the foreground command typed at a prompt, who is
/// attached, and the uptime (aged by berthd between pushes).
#[test]
fn ls_through_berthd_follows_foreground_clients_and_uptime() {
    let d = Daemon::start(
        "[session.shell]\ncommand = [\"bash\", \"--norc\", \"--noprofile\", \"-i\"]\n",
    );
    d.wait_running(&["shell"]);
    let row = |d: &Daemon| -> serde_json::Value {
        let out = d.berth(&["ls", "--json"]);
        let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
        rows[0].clone()
    };
    wait_for("bash in the foreground", DEADLINE, || {
        (row(&d)["foreground"] == "bash").then_some(())
    });
    let client = TermClient::attach_in(&d.runtime(), &["shell"], 80, 24);
    // bash --norc's own prompt: bash-5.2# as root, bash-5.2$ otherwise.
    client.wait_screen("bash-");
    wait_for("one client listed", DEADLINE, || {
        (row(&d)["clients"] == 1).then_some(())
    });
    client.keys(b"sleep 1000\r");
    wait_for("sleep in the foreground", DEADLINE, || {
        (row(&d)["foreground"] == "sleep").then_some(())
    });
    let first = row(&d)["uptime_s"].as_u64().unwrap();
    wait_for("uptime moving on without output", DEADLINE, || {
        (row(&d)["uptime_s"].as_u64().unwrap() >= first + 2).then_some(())
    });
    client.detach();
    wait_for("no client listed", DEADLINE, || {
        (row(&d)["clients"] == 0).then_some(())
    });
}

#[test]
fn new_kill_stop_start() {
    let d = Daemon::start(
        "[session.base]\ncommand = [\"bash\", \"--norc\", \"--noprofile\", \"-i\"]\n",
    );
    d.wait_running(&["base"]);
    let out = d.berth(&["new", "adhoc", "--", "bash", "--norc", "--noprofile", "-i"]);
    assert!(out.status.success(), "{}", stderr(&out));
    d.wait_running(&["adhoc", "base"]);
    let out = d.berth(&["new", "adhoc", "--", "true"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "berth: session \"adhoc\" already exists (see berth ls)"
    );
    // An ad-hoc session survives a reload (it is not in the config).
    assert!(d.berth(&["reload"]).status.success());
    d.wait_running(&["adhoc", "base"]);
    // stop stops the program and keeps the host: status, capture and has
    // agree, the screen stays readable, attached clients stay.
    assert!(d
        .berth(&["send", "base", "echo before-stop", "Enter"])
        .status
        .success());
    wait_for("the echo", DEADLINE, || {
        String::from_utf8_lossy(&d.berth(&["capture", "base"]).stdout)
            .contains("\nbefore-stop")
            .then_some(())
    });
    let client = TermClient::attach_in(&d.runtime(), &["base"], 80, 24);
    client.wait_screen("before-stop");
    let host_pid = d.ls()[1].3;
    assert!(d.berth(&["stop", "base"]).status.success());
    wait_for("base stopped", DEADLINE, || {
        (d.ls()[1].1 == "stopped").then_some(())
    });
    let status: serde_json::Value =
        serde_json::from_slice(&d.berth(&["status", "base", "--json"]).stdout).unwrap();
    assert_eq!(status["state"], "stopped");
    assert_eq!(status["pid"], serde_json::Value::Null);
    assert_eq!(status["clients"].as_array().unwrap().len(), 1);
    assert_eq!(d.berth(&["has", "base"]).status.code(), Some(0));
    let screen = String::from_utf8_lossy(&d.berth(&["capture", "-J", "base"]).stdout).into_owned();
    assert!(screen.contains("before-stop"), "{screen}");
    assert!(
        screen.contains("stopped (berth stop); `berth start base` starts it again"),
        "{screen}"
    );
    client.wait_screen("stopped (berth stop)");
    // A second stop is harmless; start brings the program back in the same host.
    assert!(d.berth(&["stop", "base"]).status.success());
    assert!(d.berth(&["start", "base"]).status.success());
    let rows = d.wait_running(&["adhoc", "base"]);
    assert_eq!(rows[1].3, host_pid, "the same host");
    let out = d.berth(&["start", "base"]);
    assert_eq!(
        stderr(&out),
        "berth: session base is already running (berth restart base restarts it)"
    );
    // kill forgets it.
    assert!(d.berth(&["kill", "adhoc"]).status.success());
    d.wait_running(&["base"]);
    let out = d.berth(&["kill", "adhoc"]);
    assert_eq!(stderr(&out), "berth: no session \"adhoc\" (see berth ls)");
    let out = d.berth(&["stop", "bsae"]);
    assert_eq!(
        stderr(&out),
        "berth: no session \"bsae\" (did you mean \"base\"? see berth ls)"
    );
}

#[test]
fn reload_of_a_changed_program_keeps_the_screen_and_clients() {
    let config = |cmd: &str, scrollback: u32| {
        format!(
            "[session.keep]\ncommand = \"{cmd}\"\nscrollback = {scrollback}\nenv = {{ WHO = \"first\" }}\n"
        )
    };
    let d = Daemon::start(&config(
        "echo run-$WHO; exec bash --norc --noprofile -i",
        1000,
    ));
    let before = d.wait_running(&["keep"]);
    wait_for("the first run", DEADLINE, || {
        String::from_utf8_lossy(&d.berth(&["capture", "keep"]).stdout)
            .contains("run-first")
            .then_some(())
    });
    let client = TermClient::attach_in(&d.runtime(), &["keep"], 80, 24);
    client.wait_screen("run-first");
    // Command and environment change: the program restarts in the same host.
    std::fs::write(
        d.config(),
        config("echo run-$WHO; exec bash --norc --noprofile -i", 1000).replace("first", "second"),
    )
    .unwrap();
    let out = d.berth(&["reload"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "reloaded: added -; removed -; changed keep; unchanged -\n"
    );
    client.wait_screen("run-second");
    let screen = String::from_utf8_lossy(&d.berth(&["capture", "-J", "keep"]).stdout).into_owned();
    assert!(
        screen.contains("run-first"),
        "the old screen stays: {screen}"
    );
    assert!(
        screen.contains("restarting now (configuration changed (berth reload))"),
        "{screen}"
    );
    let after = d.wait_running(&["keep"]);
    assert_eq!(before[0].3, after[0].3, "the same host");
    let status: serde_json::Value =
        serde_json::from_slice(&d.berth(&["status", "keep", "--json"]).stdout).unwrap();
    assert_eq!(
        status["clients"].as_array().unwrap().len(),
        1,
        "the client stayed"
    );
    assert_eq!(
        status["command"][2],
        "echo run-$WHO; exec bash --norc --noprofile -i"
    );
    // scrollback needs a new host: replaced, and the client is told.
    std::fs::write(
        d.config(),
        config("echo run-$WHO; exec bash --norc --noprofile -i", 50).replace("first", "second"),
    )
    .unwrap();
    assert!(d.berth(&["reload"]).status.success());
    let replaced = wait_until(DEADLINE, || {
        let rows = d.wait_running(&["keep"]);
        (rows[0].3 != after[0].3).then_some(rows)
    });
    assert!(replaced.is_some(), "a new host for a new scrollback");
    client.wait_printed("[session keep ended]");
}

#[test]
fn without_berthd_ls_scans_and_verbs_say_so() {
    let env = Env::new();
    let _host = env.host("lone", &[], &["sleep", "1000"]);
    let out = env.berth(&["ls"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("lone"));
    let out = env.berth(&["reload"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        format!(
            "berth: berthd is not running (no control socket in {}); start it with berthd",
            env.runtime().display()
        )
    );
}

#[test]
fn sandbox_no_new_privileges_applies_on_the_embedded_backend() {
    let d = Daemon::start(
        r#"
[session.locked]
command = ["sh", "-c", "grep NoNewPrivs /proc/self/status; exec sleep 100000"]

[session.open]
command = ["sh", "-c", "grep NoNewPrivs /proc/self/status; exec sleep 100000"]
sandbox = { no_new_privileges = false }
"#,
    );
    d.wait_running(&["locked", "open"]);
    for (name, want) in [("locked", "1"), ("open", "0")] {
        let shown = wait_for(&format!("{name}'s NoNewPrivs"), DEADLINE, || {
            let out = d.berth(&["capture", name]);
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            let value = text
                .split("NoNewPrivs:")
                .nth(1)?
                .split_whitespace()
                .next()?;
            Some(value.to_owned())
        });
        assert_eq!(shown, want, "{name}");
    }
}
