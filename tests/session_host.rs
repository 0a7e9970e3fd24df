//! The session host end to end: real `berth-session`, real programs in a
//! real PTY, driven by the real `berth` CLI.

use berth_e2e::*;

#[test]
fn python_repl_answers() {
    let env = Env::new();
    let host = env.host("py", &["--size", "80x24"], &["python3", "-i", "-q"]);
    host.wait_screen(">>>");
    host.send(&["print(6*7)", "Enter"]);
    let screen = host.wait_screen("\n42\n");
    assert!(screen.contains(">>> print(6*7)\n42\n>>>"), "{screen}");
    let status = host.status();
    assert_eq!(status["state"], "running");
    assert_eq!(status["foreground"], "python3");
    assert_eq!(status["size"], serde_json::json!({"cols": 80, "rows": 24}));
}

#[test]
fn bash_keeps_shell_variables_across_connections() {
    let env = Env::new();
    let host = env.host("sh", &[], &["bash", "--norc", "--noprofile", "-i"]);
    host.send(&["-l", "X=berth_kept"]);
    host.send(&["Enter"]);
    // A separate connection, later: the same shell answers.
    host.send(&["echo \"$X-done\"", "Enter"]);
    host.wait_screen("berth_kept-done");
    // The environment is the clean base, not the test runner's.
    host.send(&[
        "echo \"term=$TERM path=$PATH leak=${BERTH_RUNTIME_DIR:-none}\"",
        "Enter",
    ]);
    host.wait_screen("term=xterm-256color path=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin leak=none");
}

/// A screen of 20x5 after known output: history line1..line11, then on the
/// screen line12, red, a 30-character line wrapped at 20, and the cursor row.
fn known_output(env: &Env) -> Host {
    let script = r#"for i in $(seq 1 12); do echo line$i; done; printf '\033[31mred\033[0m\n'; printf '%s\n' AAAAAAAAAAAAAAAAAAAABBBBBBBBBB; echo -n; exec sleep 100000"#;
    let host = env.host("known", &["--size", "20x5"], &["sh", "-c", script]);
    host.wait_screen("BBBBBBBBBB");
    host
}

#[test]
fn capture_numbering_like_tmux() {
    let env = Env::new();
    let host = known_output(&env);
    assert_eq!(
        host.capture(&[]),
        "line12\nred\nAAAAAAAAAAAAAAAAAAAA\nBBBBBBBBBB\n\n"
    );
    assert_eq!(
        host.capture(&["-S", "-2", "-E", "0"]),
        "line10\nline11\nline12\n"
    );
    assert_eq!(host.capture(&["-S", "-", "-E", "-10"]), "line1\nline2\n");
    assert_eq!(host.capture(&["-S", "3", "-E", "-"]), "BBBBBBBBBB\n\n");
    // Out of range clamps, as tmux does.
    assert_eq!(host.capture(&["-S", "-500", "-E", "-11"]), "line1\n");
    assert_eq!(host.capture(&["-S", "-", "-E", "-"]).lines().count(), 16);
}

#[test]
fn capture_joins_and_keeps_escapes() {
    let env = Env::new();
    let host = known_output(&env);
    assert_eq!(
        host.capture(&["-J", "-S", "1", "-E", "3"]),
        "red\nAAAAAAAAAAAAAAAAAAAABBBBBBBBBB\n"
    );
    assert_eq!(
        host.capture(&["-e", "-S", "1", "-E", "1"]),
        "\x1b[31mred\x1b[0m\n"
    );
    assert_eq!(host.capture(&["-e", "-S", "0", "-E", "0"]), "line12\n");
    let json = host.capture(&["--json", "-S", "0", "-E", "1"]);
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    // Lines numbered from the first ever written (line1 is 0), the cursor
    // on the blank row below the wrapped line.
    assert_eq!(
        value,
        serde_json::json!({
            "session": "known",
            "size": {"cols": 20, "rows": 5},
            "cursor": {"row": 4, "col": 0, "visible": true, "seq": 15},
            "alternate_screen": false,
            "first_seq": 0,
            "lines": [
                {"seq": 11, "text": "line12", "wrapped": false},
                {"seq": 12, "text": "red", "wrapped": false},
            ],
        })
    );
    let wrapped = host.capture(&["--json", "-S", "2", "-E", "3"]);
    let value: serde_json::Value = serde_json::from_str(&wrapped).unwrap();
    assert_eq!(
        value["lines"][0],
        serde_json::json!({"seq": 13, "text": "AAAAAAAAAAAAAAAAAAAA", "wrapped": true})
    );
}

#[test]
fn sigkill_restarts_below_the_old_output() {
    let env = Env::new();
    let host = env.host(
        "crash",
        &["--restart-delay", "100ms"],
        &["bash", "--norc", "--noprofile", "-i"],
    );
    host.send(&["echo before-$((40+2))", "Enter"]);
    host.wait_screen("before-42");
    let old = host.status()["pid"].as_u64().expect("pid");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(old as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let status = host.wait_status("a new pid", |s| {
        s["state"] == "running" && s["pid"].as_u64().is_some_and(|p| p != old)
    });
    assert_eq!(status["restarts"], 1);
    assert_eq!(status["last_exit"]["signal"], 9);
    let screen = host.wait_screen("[berth] killed by signal 9 (SIGKILL)");
    let before = screen.find("before-42").expect("old output kept");
    let marker = screen
        .find("[berth] killed by signal 9 (SIGKILL) at ")
        .expect("marker");
    assert!(before < marker, "old output above the marker:\n{screen}");
    assert!(
        screen[marker..].contains("; restarting in 100ms (attempt 1/5)"),
        "{screen}"
    );
    // The new shell works.
    host.send(&["echo after-$((40+3))", "Enter"]);
    host.wait_screen("after-43");
}

#[test]
fn restart_limit_reaches_failed() {
    let env = Env::new();
    let flags = [
        "--restart",
        "always",
        "--restart-delay",
        "20ms",
        "--restart-max-delay",
        "40ms",
        "--restart-burst",
        "3",
    ];
    let host = env.host("flaky", &flags, &["sh", "-c", "echo boom; exit 3"]);
    let status = host.wait_status("state failed", |s| s["state"] == "failed");
    assert_eq!(status["restarts"], 3);
    assert_eq!(status["last_exit"]["code"], 3);
    assert_eq!(status["pid"], serde_json::Value::Null);
    let screen = host.capture(&["-J", "-S", "-"]);
    assert_eq!(screen.matches("boom").count(), 4, "{screen}");
    assert!(screen.contains("(attempt 3/3)"), "{screen}");
    assert!(
        screen.contains("[berth] exited with status 3 at ")
            && screen.contains(
                "; restart limit reached (3 restarts within 5m); `berth restart flaky` tries again"
            ),
        "{screen}"
    );
    // An operator's restart clears the limit.
    host.berth(&["restart", "flaky"]);
    host.wait_status("restarts after a manual restart", |s| {
        s["restarts"].as_u64() > Some(3)
    });
}

#[test]
fn never_keeps_a_readable_tombstone_until_restarted() {
    let env = Env::new();
    let host = env.host(
        "once",
        &["--restart", "never"],
        &["sh", "-c", "echo tombstone-$((6*7))"],
    );
    host.wait_status("state exited", |s| s["state"] == "exited");
    let screen = host.capture(&["-J"]);
    assert!(screen.contains("tombstone-42"), "{screen}");
    assert!(
        screen.contains("[berth] exited with status 0 at "),
        "{screen}"
    );
    assert!(
        screen.contains("; not restarting (restart policy); `berth restart once` starts it again"),
        "{screen}"
    );
    let out = host.berth(&["restart", "once"]);
    assert!(out.status.success(), "{}", stderr(&out));
    host.wait_status("the second run", |s| s["restarts"] == 1);
    wait_for("two tombstones", DEADLINE, || {
        (host.capture(&["-S", "-"]).matches("tombstone-42").count() == 2).then_some(())
    });
}

/// Deterministic pseudo-random bytes: binary junk, escape sequences and all.
fn junk(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

#[test]
fn a_100mb_burst_of_junk_is_fully_logged_and_memory_stays_bounded() {
    let env = Env::new();
    let source = env.path("burst.bin");
    let data = junk(100 * 1024 * 1024);
    std::fs::write(&source, &data).unwrap();
    let log = env.path("logs/burst.log");
    let script = format!("stty raw -echo; exec cat {}", source.display());
    let host = env.host(
        "burst",
        &[
            "--restart",
            "never",
            "--log",
            log.to_str().unwrap(),
            "--log-max-size",
            "16M",
            "--log-keep",
            "10",
        ],
        &["sh", "-c", &script],
    );
    let status = host.wait_status_long("the burst to finish", |s| s["state"] == "exited");
    assert_eq!(status["last_exit"]["code"], 0);
    // Rotated files, oldest first, then the current one: every byte, in order.
    let mut logged = Vec::with_capacity(data.len());
    for i in (1..=10).rev() {
        if let Ok(bytes) = std::fs::read(format!("{}.{i}", log.display())) {
            assert!(bytes.len() <= 16 << 20);
            logged.extend(bytes);
        }
    }
    logged.extend(std::fs::read(&log).unwrap());
    assert_eq!(logged.len(), data.len(), "byte count");
    assert!(logged == data, "logged bytes equal the source");
    // The host is still up and small.
    let rss_kib = rss_kib(host.pid());
    assert!(
        rss_kib < 64 * 1024,
        "host RSS {rss_kib} KiB after the burst"
    );
    assert_eq!(host.berth(&["has", "burst"]).status.code(), Some(0));
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

#[test]
fn full_disk_pauses_the_log_not_the_session() {
    let env = Env::new();
    let host = env.host(
        "full",
        &["--log", "/dev/full"],
        &["bash", "--norc", "--noprofile", "-i"],
    );
    host.send(&["echo still-$((1+1))", "Enter"]);
    host.wait_screen("still-2");
    let status = host.wait_status("a log warning", |s| s["log_error"].is_string());
    let warning = status["log_error"].as_str().unwrap();
    assert!(
        warning.starts_with("output log paused: cannot write /dev/full: No space left on device"),
        "{warning}"
    );
    assert_eq!(status["state"], "running");
}

trait LongWait {
    fn wait_status_long(
        &self,
        what: &str,
        check: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value;
}

impl LongWait for Host {
    /// For the burst: a debug build parses 100 MB in well under this.
    fn wait_status_long(
        &self,
        what: &str,
        check: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let mut last = serde_json::Value::Null;
        wait_until(std::time::Duration::from_secs(300), || {
            last = self.status();
            check(&last).then(|| last.clone())
        })
        .unwrap_or_else(|| panic!("timed out waiting for {what}; status: {last:#}"))
    }
}

#[test]
fn serves_a_socket_passed_in_listen_fds_and_leaves_it_to_its_owner() {
    let env = Env::new();
    std::fs::create_dir_all(env.runtime().join("sessions")).unwrap();
    let socket = env.socket("passed");
    // As berthd will: bind with the mode it chose, pass it as fd 3 with
    // LISTEN_PID set to the host's pid (exec keeps the pid).
    let wrapper = r#"
import os, socket, sys
path, host = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path)
os.chmod(path, 0o640)
s.listen(16)
if s.fileno() != 3:
    os.dup2(s.fileno(), 3)
os.set_inheritable(3, True)
os.environ["LISTEN_PID"] = str(os.getpid())
os.environ["LISTEN_FDS"] = "1"
os.execv(host, [host] + sys.argv[3:])
"#;
    let bogus = env.path("not-used.sock");
    let mut child = std::process::Command::new("python3")
        .args([
            "-c",
            wrapper,
            socket.to_str().unwrap(),
            bin("berth-session").to_str().unwrap(),
        ])
        .args([
            "--name",
            "passed",
            "--socket",
            bogus.to_str().unwrap(),
            "--",
            "bash",
            "--norc",
            "--noprofile",
            "-i",
        ])
        .stderr(std::fs::File::create(env.path("passed.host.err")).unwrap())
        .spawn()
        .unwrap();
    wait_for("the passed socket to answer", DEADLINE, || {
        (env.berth(&["has", "passed"]).status.code() == Some(0)).then_some(())
    });
    assert!(
        !bogus.exists(),
        "--socket is ignored when a socket is passed in"
    );
    let out = env.berth(&[
        "send",
        "passed",
        "echo \"fds=${LISTEN_FDS:-unset}\"",
        "Enter",
    ]);
    assert!(out.status.success());
    // LISTEN_FDS does not leak to the program.
    wait_for("the echo of fds=unset", DEADLINE, || {
        let text = String::from_utf8(env.berth(&["capture", "passed"]).stdout).unwrap();
        text.contains("fds=unset").then_some(())
    });
    // Stopping the host leaves the socket file to whoever created it.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let status = wait_for("the host to exit", DEADLINE, || child.try_wait().unwrap());
    assert!(status.success(), "{status:?}");
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&socket).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o640);
}
