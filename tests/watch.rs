//! `berth watch` end to end: real hosts, the dashboard on a real PTY, and
//! an emulator in the test reading what the user would see.

use std::os::unix::fs::PermissionsExt;

use berth_e2e::term_client::TermClient;
use berth_e2e::*;

fn shell(env: &Env, name: &str, extra: &[&str]) -> Host {
    let host = env.host(name, extra, &["bash", "--norc", "--noprofile", "-i"]);
    // Waited for by the output of the line that sets it: a "$" would
    // already be there in the line's own echo.
    host.send(&["PS1='$ '; echo prompt-$((40+2))", "Enter"]);
    host.wait_screen("prompt-42");
    host
}

/// `berth watch ARGS` in a `cols`x`rows` terminal, as `user` (root only).
fn watch_as(user: &str, env: &Env, args: &[&str], cols: u16, rows: u16) -> TermClient {
    let cmd = pty_process::blocking::Command::new("runuser")
        .args(["-u", user, "--"])
        .arg(bin("berth"))
        .arg("watch")
        .args(args)
        .env("BERTH_RUNTIME_DIR", env.runtime());
    TermClient::spawn(cmd, cols, rows)
}

fn watch(env: &Env, args: &[&str], cols: u16, rows: u16) -> TermClient {
    watch_in(env.runtime(), args, cols, rows)
}

fn watch_in(runtime: &std::path::Path, args: &[&str], cols: u16, rows: u16) -> TermClient {
    let cmd = pty_process::blocking::Command::new(bin("berth"))
        .arg("watch")
        .args(args)
        .env("BERTH_RUNTIME_DIR", runtime);
    TermClient::spawn(cmd, cols, rows)
}

/// Where on the dashboard's screen `needle` is: (row, column).
fn find(client: &TermClient, needle: &str) -> Option<(u16, u16)> {
    client.with_screen(|s| {
        let (_, cols) = s.size();
        s.rows(0, cols.get()).enumerate().find_map(|(row, text)| {
            let col = text.find(needle)?;
            let col = text[..col].chars().count();
            Some((u16::try_from(row).ok()?, u16::try_from(col).ok()?))
        })
    })
}

/// Waits until `needle` is shown, and returns where.
fn wait_at(client: &TermClient, needle: &str) -> (u16, u16) {
    client.wait_screen(needle);
    wait_for(&format!("{needle:?} on the dashboard"), DEADLINE, || {
        find(client, needle)
    })
}

#[test]
fn three_sessions_in_three_tiles_truthful_through_a_restart() {
    let env = Env::new();
    let hosts: Vec<Host> = ["engine", "worker", "db"]
        .iter()
        .map(|n| {
            let h = shell(&env, n, &["--restart", "always", "--restart-delay", "2s"]);
            h.send(&[&format!("echo marker-$((7*6))-{n}"), "Enter"]);
            h.wait_screen(&format!("marker-42-{n}"));
            h
        })
        .collect();
    let mut client = watch(
        &env,
        &["engine", "worker", "db", "--layout", "even-horizontal"],
        150,
        30,
    );
    // Three tiles side by side, each with its title and its own screen.
    let mut columns = Vec::new();
    for n in ["engine", "worker", "db"] {
        let (title_row, title_col) = wait_at(&client, &format!(" {n}  running "));
        let (row, col) = wait_at(&client, &format!("marker-42-{n}"));
        assert_eq!(title_row, 0);
        assert!(row > title_row);
        assert!(
            col >= title_col && col < title_col + 50,
            "{n}: {col} vs {title_col}"
        );
        columns.push(title_col);
    }
    assert_eq!(columns, [0, 50, 100], "{}", client.screen());
    client.wait_screen("· rw · bash · ↻ 0");
    // Live: output after the dashboard opened shows in its tile.
    hosts[2].send(&["echo later-$((2+2))", "Enter"]);
    let (_, col) = wait_at(&client, "later-4");
    assert!(col >= 100);

    // The worker's shell exits: backoff, then running again, restarted once.
    hosts[1].send(&["exit 3", "Enter"]);
    client.wait_screen(" worker  backoff, restart in");
    client.wait_screen(" worker  running  · rw · bash · ↻ 1");
    // Killing a session: its tile says so, the view goes on.
    let mut hosts = hosts;
    drop(hosts.remove(0));
    client.wait_screen(" engine  no session ");
    assert!(client.screen().contains(" db  running "));

    client.keys(b"q");
    assert!(client.wait_exit().success());
}

#[test]
fn zoom_attach_and_back() {
    let env = Env::new();
    let a = shell(&env, "alpha", &[]);
    let _b = shell(&env, "beta", &[]);
    a.send(&["echo alpha-$((1+1))", "Enter"]);
    a.wait_screen("alpha-2");
    // What the user's terminal showed before watch, to be there after it.
    let cmd = pty_process::blocking::Command::new("sh")
        .args([
            "-c",
            "echo before-watch-$((3+4)); exec \"$0\" watch --layout even-vertical",
        ])
        .arg(bin("berth"))
        .env("BERTH_RUNTIME_DIR", env.runtime());
    let mut client = TermClient::spawn(cmd, 100, 30);
    wait_at(&client, " alpha  running ");
    let (beta_row, _) = wait_at(&client, " beta  running ");
    assert!(beta_row > 10, "stacked: {}", client.screen());

    // Zoom the focused (first) tile: only it is shown, then back.
    client.keys(b"z");
    wait_for("the zoomed view", DEADLINE, || {
        let s = client.screen();
        (s.contains("zoomed") && !s.contains(" beta  running")).then_some(())
    });
    client.keys(b"z");
    client.wait_screen(" beta  running ");

    // Focus beta with a click (SGR mouse report), attach with Enter,
    // type, detach: back in the dashboard.
    client.keys(format!("\x1b[<0;5;{}M\x1b[<0;5;{}m", beta_row + 3, beta_row + 3).as_bytes());
    client.keys(b"\r");
    wait_for("the attach", DEADLINE, || {
        // The dashboard's last line (keys or a notice) always starts so.
        (!client.screen().contains("[even-vertical, 2 sessions]")).then_some(())
    });
    client.keys(b"echo typed-$((6*7))\r");
    client.wait_screen("typed-42");
    _b.wait_screen("typed-42");
    // A program on its own alternate screen, then back: the session's
    // screen comes back whole, drawn on watch's screen.
    client.keys(b"printf '\\033[?1049hin-alt-%s\\n' $((3*3)); read x; printf '\\033[?1049l'\r");
    client.wait_screen("in-alt-9");
    client.keys(b"\r");
    wait_for("the shell's screen again", DEADLINE, || {
        let s = client.screen();
        (!s.contains("in-alt-9") && s.contains("typed-42")).then_some(())
    });
    client.detach();
    client.wait_screen("[even-vertical, 2 sessions]");
    client.wait_screen(" beta  running ");
    // The dashboard's own connections never count as a read-write client.
    let clients = _b.status()["clients"].clone();
    assert!(
        clients
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["mode"] == "read-only"),
        "{clients}"
    );
    client.keys(b"q");
    assert!(client.wait_exit().success());
    // The user's screen is as watch found it: nothing the attach drew.
    let screen = client.screen();
    assert!(screen.contains("before-watch-7"), "{screen}");
    for left_behind in ["typed-42", "in-alt-9", "detached", "running"] {
        assert!(!screen.contains(left_behind), "{left_behind}: {screen}");
    }
    assert!(!client.with_screen(|s| s.alternate_screen()));
}

#[test]
fn a_resize_lays_the_tiles_out_again() {
    let env = Env::new();
    let _hosts: Vec<Host> = ["one", "two", "three"]
        .iter()
        .map(|n| shell(&env, n, &["--size", "80x24"]))
        .collect();
    // Wide and low: the automatic grid puts them side by side.
    let client = watch(&env, &[], 250, 27);
    let (row, _) = wait_at(&client, " three  running ");
    assert_eq!(row, 0, "{}", client.screen());
    // Narrow and tall: one above the other.
    client.resize(100, 80);
    wait_until(DEADLINE, || {
        // In name order.
        let rows: Vec<u16> = ["one", "three", "two"]
            .iter()
            .filter_map(|n| find(&client, &format!(" {n}  running ")))
            .map(|(r, c)| if c == 0 { r } else { u16::MAX })
            .collect();
        (rows.len() == 3 && rows[0] < rows[1] && rows[1] < rows[2]).then_some(())
    })
    .unwrap_or_else(|| panic!("the tiles did not stack:\n{}", client.screen()));
}

#[test]
fn a_session_that_appears_is_added() {
    let env = Env::new();
    let _a = shell(&env, "ci-1", &[]);
    let client = watch(&env, &["ci-*"], 120, 30);
    wait_at(&client, " ci-1  running ");
    client.wait_screen("[auto, 1 session]");
    let _b = shell(&env, "ci-2", &[]);
    let _other = shell(&env, "db", &[]);
    wait_at(&client, " ci-2  running ");
    client.wait_screen("[auto, 2 sessions]");
    assert!(!client.screen().contains(" db "));
}

#[test]
fn bad_arguments_get_one_line() {
    let env = Env::new();
    let out = env.berth(&["watch", "bad name"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "berth: bad session name \"bad name\": use 1 to 64 of A-Z a-z 0-9 _ . -, starting with a letter or digit"
    );
    let out = env.berth(&["watch", "--layout", "grid"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).starts_with(
        "berth: invalid value 'grid' for '--layout <LAYOUT>': bad layout \"grid\": expected auto, tiled,"
    ), "{}", stderr(&out));
    let out = env.berth(&["--socket", "/tmp/x.sock", "watch"]);
    assert_eq!(
        stderr(&out),
        "berth: --socket names one session; berth watch takes session names or globs"
    );
    // Not a terminal.
    let out = env.berth(&["watch"]);
    assert_eq!(
        stderr(&out),
        "berth: watch needs a terminal (stdin and stdout); for text use berth capture NAME"
    );
    let config = env.path("berth.toml");
    std::fs::write(
        &config,
        "[session.a]\ncommand = \"bash\"\n[dashboard.ops]\nsessions = [\"a\"]\n",
    )
    .unwrap();
    let out = env.berth(&[
        "watch",
        "--dashboard",
        "opz",
        "--config",
        config.to_str().unwrap(),
    ]);
    assert_eq!(
        stderr(&out),
        format!("berth: no dashboard \"opz\" in {} (declared: ops); declare [dashboard.opz] sessions = [...]", config.display())
    );
    std::fs::write(&config, "[dashboard.ops]\nsessions = [\"a\"]\n").unwrap();
    let out = env.berth(&[
        "watch",
        "--dashboard",
        "ops",
        "--config",
        config.to_str().unwrap(),
    ]);
    assert_eq!(
        stderr(&out),
        format!("berth: 1 error in the configuration (first: {}:2:13: [dashboard.ops] sessions: no session \"a\" (declare it, or use a glob)); see berth validate --config {}", config.display(), config.display())
    );
}

#[test]
fn a_declared_dashboard_opens_with_its_layout() {
    let env = Env::new();
    let _a = shell(&env, "engine", &[]);
    let _b = shell(&env, "worker", &[]);
    let _c = shell(&env, "db", &[]);
    let config = env.path("berth.toml");
    let session = |n: &str| format!("[session.{n}]\ncommand = \"bash\"\n");
    std::fs::write(
        &config,
        format!(
            "{}{}{}[dashboard.triad]\nsessions = [\"engine\", \"worker\", \"db\"]\nlayout = \"main-vertical\"\n",
            session("engine"),
            session("worker"),
            session("db")
        ),
    )
    .unwrap();
    let client = watch(
        &env,
        &["--dashboard", "triad", "--config", config.to_str().unwrap()],
        120,
        30,
    );
    client.wait_screen("[main-vertical, 3 sessions]");
    let engine = wait_at(&client, " engine  running ");
    let worker = wait_at(&client, " worker  running ");
    let db = wait_at(&client, " db  running ");
    assert_eq!(engine, (0, 0));
    assert_eq!(worker, (0, 60));
    assert!(db.0 > 10 && db.1 == 60, "{}", client.screen());
}

/// An observer sees the session, read-only, and cannot type through the
/// dashboard or the attach it opens; a session it may not read is shown
/// as permission denied. Needs root (to act as `nobody`).
#[test]
fn an_observer_watches_but_cannot_type_and_denied_sessions_say_so() {
    if skip_unless_root(
        "an_observer_watches_but_cannot_type_and_denied_sessions_say_so",
        &["/usr/sbin/runuser"],
    ) {
        return;
    }
    let env = Env::new();
    let seen = shell(&env, "seen", &["--observer", "nobody"]);
    let _secret = shell(&env, "secret", &[]);
    seen.send(&["echo visible-$((5*5))", "Enter"]);
    seen.wait_screen("visible-25");
    for dir in [env.runtime().to_owned(), env.runtime().join("sessions")] {
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    for name in ["seen", "secret"] {
        std::fs::set_permissions(env.socket(name), std::fs::Permissions::from_mode(0o666)).unwrap();
    }
    let mut client = watch_as("nobody", &env, &["--layout", "even-vertical"], 100, 30);
    client.wait_screen(" seen  running  · ro ");
    client.wait_screen("visible-25");
    client.wait_screen(" secret  permission denied ");
    client.wait_screen(
        "permission denied: nobody (uid 65534) is not an operator or observer of session secret",
    );
    // Keys in the dashboard go nowhere; Enter attaches read-only.
    // Enter on the denied tile (focused first) attaches to nothing.
    client.keys(b"\r");
    client.wait_screen("cannot attach to secret: see its tile");
    client.keys(b"dash-typed");
    // seen is below secret (sessions in name order).
    client.keys(b"j");
    client.keys(b"\r");
    wait_for("the attach", DEADLINE, || {
        // The dashboard's last line (keys or a notice) always starts so.
        (!client.screen().contains("[even-vertical, 2 sessions]")).then_some(())
    });
    client.wait_screen("visible-25");
    client.keys(b"echo obs-typed-$((8*8))\r");
    let clients = seen.status()["clients"].clone();
    assert!(
        clients
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["mode"] == "read-only" && c["uid"] == 65534),
        "{clients}"
    );
    client.detach();
    client.wait_screen("[even-vertical, 2 sessions]");
    // Nothing typed reached the session: a marker typed by its owner
    // comes after, and nothing of the observer's is before it.
    seen.send(&["echo owner-mark", "Enter"]);
    let text = seen.wait_screen("owner-mark");
    assert!(
        !text.contains("obs-typed") && !text.contains("64") && !text.contains("dash-typed"),
        "{text}"
    );
    client.keys(b"q");
    assert!(client.wait_exit().success());

    // The same through a raw client speaking the frames attach by hand:
    // refused where nobody is listed nowhere, read-only where it observes
    // even when it asks for read-write.
    let frames =
        r#"{"type":"attach","read_only":false,"size":{"cols":80,"rows":24},"frames":true}"#;
    let raw = |session: &str| {
        let out = std::process::Command::new("runuser")
            .args(["-u", "nobody", "--"])
            .arg(bin("raw-client"))
            .arg(env.socket(session))
            .arg(frames)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let answer = raw("secret");
    assert!(
        answer.contains("\"denied\"")
            && answer
                .contains("nobody (uid 65534) is not an operator or observer of session secret"),
        "{answer}"
    );
    let answer = raw("seen");
    assert!(
        answer.contains(r#""type":"attached""#)
            && answer.contains(r#""read_only":true"#)
            && answer.contains(r#""frames":true"#),
        "{answer}"
    );
}

/// berthd's lifecycle verbs, seen in the title as they happen: stop keeps
/// the host (the tile stays, "stopped"), start brings the program back,
/// kill ends the host and the session goes; each without restarting the view.
#[test]
fn stop_start_and_kill_through_berthd_show_in_the_title() {
    let d = berth_e2e::daemon::Daemon::start(
        "[session.svc]\ncommand = [\"bash\", \"--norc\", \"--noprofile\", \"-i\"]\nrestart = \"always\"\n",
    );
    d.wait_running(&["svc"]);
    let mut client = watch_in(&d.runtime(), &["svc"], 100, 20);
    client.wait_screen(" svc  running ");
    let out = d.berth(&["stop", "svc"]);
    assert!(out.status.success(), "{}", stderr(&out));
    client.wait_screen(" svc  stopped ");
    let out = d.berth(&["start", "svc"]);
    assert!(out.status.success(), "{}", stderr(&out));
    client.wait_screen(" svc  running ");
    let out = d.berth(&["kill", "svc"]);
    assert!(out.status.success(), "{}", stderr(&out));
    client.wait_screen(" svc  no session ");
    client.keys(b"q");
    assert!(client.wait_exit().success());
}
