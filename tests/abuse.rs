//! Attacks on the real binaries, each under a bound that must hold: hosts
//! run with their address space limited (prlimit), so an unbounded
//! allocation fails the test instead of exhausting the machine.

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::time::Duration;

use berth_e2e::daemon::Daemon;
use berth_e2e::wire::*;
use berth_e2e::*;
use berth_proto::{encode, encode_control, AttachRequest, ErrorCode, FrameKind, Request, Size};

/// Address space a host gets in these tests: far above what it needs
/// (tens of MiB), far below what an unbounded attack would take.
const HOST_LIMIT: u64 = 1 << 30;
/// Resident memory a host may reach under any attack here.
const RSS_BOUND: u64 = 64 << 20;

fn shell(env: &Env, name: &str) -> Host {
    let host = env.host_limited(
        name,
        &["--handshake-timeout", "1s"],
        &["bash", "--norc", "--noprofile", "-i"],
        HOST_LIMIT,
    );
    host.send(&["echo alive-$((20+1))", "Enter"]);
    host.wait_screen("alive-21");
    host
}

fn connect(env: &Env, name: &str) -> UnixStream {
    UnixStream::connect(env.socket(name)).unwrap()
}

fn request(req: &Request) -> Vec<u8> {
    let mut out = hello();
    encode_control(req, &mut out);
    out
}

fn attach(size: Size) -> Request {
    Request::Attach(AttachRequest {
        read_only: false,
        detach_others: false,
        size: Some(size),
        frames: false,
    })
}

fn out_of_range(cols: u16, rows: u16) -> (ErrorCode, String) {
    (
        ErrorCode::BadRequest,
        format!("terminal size {cols}x{rows} is out of range: columns and rows must be between 2 and 1000; closing the connection"),
    )
}

#[test]
fn client_sizes_are_held_to_the_configs_bounds() {
    let env = Env::new();
    let host = shell(&env, "sized");
    let pid = host.status()["pid"].clone();
    for (cols, rows) in [(65535, 65535), (0, 0), (1001, 40), (120, 1)] {
        let mut s = connect(&env, "sized");
        s.write_all(&request(&attach(Size { cols, rows }))).unwrap();
        assert_eq!(error_then_close(s), out_of_range(cols, rows));
    }
    // A resize while attached, too.
    let mut s = connect(&env, "sized");
    let mut bytes = request(&attach(Size { cols: 80, rows: 24 }));
    encode_control(
        &Request::Resize {
            cols: 5000,
            rows: 5,
        },
        &mut bytes,
    );
    s.write_all(&bytes).unwrap();
    assert_eq!(error_then_close(s), out_of_range(5000, 5));
    host.wait_status("the size back at its own", |s| s["size"]["cols"] == 120);
    assert_eq!(host.status()["pid"], pid, "the program was not disturbed");
    assert!(host.rss() < RSS_BOUND, "host RSS {}", host.rss());
}

#[test]
fn silent_and_half_sent_connections_are_bounded_and_closed() {
    let env = Env::new();
    let host = shell(&env, "idle");
    let baseline = host.rss();
    // One uid holds 64 connections at most; the next is told so at once.
    let silent: Vec<UnixStream> = (0..64).map(|_| connect(&env, "idle")).collect();
    let uid = nix::unistd::geteuid();
    let refused = error_then_close(connect(&env, "idle"));
    assert_eq!(
        refused,
        (
            ErrorCode::Denied,
            format!(
                "too many connections from uid {uid}: at most 64 at once; close some and try again"
            )
        )
    );
    let out = env.berth(&["status", "idle"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        format!("berth: too many connections from uid {uid}: at most 64 at once; close some and try again")
    );
    assert!(host.rss() < RSS_BOUND, "host RSS {}", host.rss());
    // Each is closed when its handshake deadline passes.
    for s in silent {
        assert_eq!(
            error_then_close(s),
            (
                ErrorCode::Timeout,
                "handshake not finished within 1s; closing the connection".into()
            )
        );
    }
    assert_eq!(host.status()["state"], "running");
    // Their memory goes back to the system once they are closed.
    wait_for("the host's memory back near where it was", DEADLINE, || {
        (host.rss() < baseline + (4 << 20)).then_some(())
    });

    // Before the hello, a frame may not be large.
    let mut s = connect(&env, "idle");
    let mut bytes = berth_proto::Header::ours().to_bytes().to_vec();
    bytes.extend_from_slice(&(1u32 << 20).to_be_bytes());
    s.write_all(&bytes).unwrap();
    assert_eq!(
        error_then_close(s),
        (
            ErrorCode::Malformed,
            "malformed input: frame of 1048576 bytes exceeds the limit of 4096 bytes; closing the connection".into()
        )
    );
    // After it, a frame that has begun must end.
    let mut s = connect(&env, "idle");
    let mut bytes = hello();
    bytes.extend_from_slice(&[0, 0, 0, 100, 1, b'{']);
    s.write_all(&bytes).unwrap();
    assert_eq!(
        error_then_close(s),
        (
            ErrorCode::Timeout,
            "a frame was not finished within 10s; closing the connection".into()
        )
    );
    assert!(host.rss() < RSS_BOUND, "host RSS {}", host.rss());
}

/// The verbs of an attached connection are refused on one that is not,
/// by name; on an attached one (even read-only), a redraw is the whole
/// screen, in order with the output.
#[test]
fn attach_verbs_need_an_attach_and_redraw_sends_the_screen() {
    let env = Env::new();
    let host = shell(&env, "verbs");
    for (req, name) in [
        (Request::Redraw, "redraw"),
        (Request::Detach, "detach"),
        (Request::Resize { cols: 80, rows: 24 }, "resize"),
    ] {
        let mut s = connect(&env, "verbs");
        s.write_all(&request(&req)).unwrap();
        assert_eq!(
            error_then_close(s),
            (
                ErrorCode::BadRequest,
                format!("{name} without attach; closing the connection")
            )
        );
    }
    let mut client = berth_proto::sync::Client::handshake(connect(&env, "verbs"), "abuse").unwrap();
    let attached = client
        .attach(AttachRequest {
            read_only: true,
            detach_others: false,
            size: Some(Size { cols: 80, rows: 24 }),
            frames: false,
        })
        .unwrap();
    assert!(attached.redraw && attached.read_only);
    let first = client.event().unwrap();
    assert!(
        matches!(&first, berth_proto::sync::Event::Output(b) if String::from_utf8_lossy(b).contains("alive-21"))
    );
    host.send(&["echo after-$((40+2))", "Enter"]);
    host.wait_screen("\nafter-42");
    client.input().unwrap().request(&Request::Redraw).unwrap();
    // Output comes first or after, never inside: the redraw is announced,
    // then it is one data frame with the screen as it was then.
    let redraw = loop {
        match client.event().unwrap() {
            berth_proto::sync::Event::Redraw => break client.event().unwrap(),
            berth_proto::sync::Event::Output(_) => continue,
            other => panic!("unexpected {other:?}"),
        }
    };
    let berth_proto::sync::Event::Output(screen) = redraw else {
        panic!("the redraw is data: {redraw:?}");
    };
    let mut term = vt100::Parser::new(24.try_into().unwrap(), 80.try_into().unwrap(), 0);
    term.process(&screen);
    assert!(
        term.screen().contents().contains("alive-21\n")
            && term.screen().contents().contains("after-42\n"),
        "{:?}",
        term.screen().contents()
    );
}

#[test]
fn input_for_a_program_that_does_not_read_is_bounded() {
    let env = Env::new();
    // Raw mode: the terminal keeps what is typed (a canonical terminal
    // discards the rest of an over-long line), and nobody reads it.
    let host = env.host_limited(
        "sink",
        &[],
        &["sh", "-c", "stty raw -echo; echo raw; exec sleep 100000"],
        HOST_LIMIT,
    );
    host.wait_screen("raw");
    // `send` is refused once 4 MiB wait, with the reason.
    let text = "x".repeat(900 * 1024);
    let mut client = berth_proto::sync::Client::handshake(connect(&env, "sink"), "abuse").unwrap();
    let mut refusal = None;
    for _ in 0..16 {
        let send = Request::Send {
            keys: vec![text.clone()],
            literal: true,
            paste: false,
            wait: None,
        };
        if let Err(e) = client.call(&send) {
            refusal = Some(e.to_string());
            break;
        }
    }
    assert_eq!(
        refusal.expect("send refused before 16 x 900 KiB were queued"),
        "session sink: the program is not reading its input: 4 MiB are waiting for it; try again once it reads"
    );
    // Filled to the last byte, the CLI is refused too.
    // (A refusal ends its connection, so each size gets a new one.)
    for piece in [64 * 1024, 4096, 256, 16, 1] {
        let send = Request::Send {
            keys: vec!["z".repeat(piece)],
            literal: true,
            paste: false,
            wait: None,
        };
        let mut client =
            berth_proto::sync::Client::handshake(connect(&env, "sink"), "abuse").unwrap();
        while client.call(&send).is_ok() {}
    }
    let out = env.berth(&["send", "sink", "-l", "more"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "berth: session sink: the program is not reading its input: 4 MiB are waiting for it; try again once it reads"
    );
    // An attached client is pushed back: its writes stop being taken.
    let s = connect(&env, "sink");
    (&s).write_all(&request(&attach(Size { cols: 80, rows: 24 })))
        .unwrap();
    s.set_write_timeout(Some(Duration::from_secs(2))).unwrap();
    let mut frame = Vec::new();
    encode(FrameKind::Data, &vec![b'y'; 512 * 1024], &mut frame).unwrap();
    let mut written = 0usize;
    while written < (64 << 20) {
        match (&s).write_all(&frame) {
            Ok(()) => written += frame.len(),
            Err(_) => break,
        }
    }
    assert!(
        written < (16 << 20),
        "the host took {written} bytes of input the program never read"
    );
    assert!(host.rss() < RSS_BOUND, "host RSS {}", host.rss());
    assert_eq!(host.status()["state"], "running");
}

#[test]
fn the_control_socket_keeps_the_same_bounds() {
    let d = Daemon::start("");
    let control = d.runtime().join("control.sock");
    let header_only = UnixStream::connect(&control).unwrap();
    (&header_only)
        .write_all(&berth_proto::Header::ours().to_bytes())
        .unwrap();
    let silent: Vec<UnixStream> = (0..63)
        .map(|_| UnixStream::connect(&control).unwrap())
        .collect();
    let uid = nix::unistd::geteuid();
    let out = d.berth(&["ls"]);
    assert_eq!(
        stderr(&out),
        format!("berth: too many connections from uid {uid}: at most 64 at once; close some and try again; listing the session sockets instead")
    );
    assert_eq!(
        error_then_close(header_only),
        (
            ErrorCode::Timeout,
            "handshake not finished within 5s; closing the connection".into()
        )
    );
    drop(silent);
    // A bad header is named as such, and a bad frame gets an error frame.
    let mut s = UnixStream::connect(&control).unwrap();
    s.write_all(b"GET / HTTP/1.1\r\n\r\n").unwrap();
    assert_eq!(
        error_then_close(s),
        (
            ErrorCode::Malformed,
            "not a berth client: bad protocol header; closing the connection".into()
        )
    );
    let mut s = UnixStream::connect(&control).unwrap();
    let mut bytes = hello();
    bytes.extend_from_slice(&[0, 0, 0, 1, 7]);
    s.write_all(&bytes).unwrap();
    assert_eq!(
        error_then_close(s),
        (
            ErrorCode::Malformed,
            "malformed input: unknown frame kind 7; closing the connection".into()
        )
    );
    wait_for("berthd to answer again", DEADLINE, || {
        d.berth(&["ls"]).status.success().then_some(())
    });
}

#[test]
fn berthd_outlives_its_stderr_and_passes_nothing_inherited_on() {
    // Launched with a stray descriptor 7, a low soft descriptor limit, and
    // stderr into a pipe whose reader goes away at once (as `berthd 2>&1 |
    // head -1`).
    let mut d = Daemon::start_via(
        r#"
[session.fds]
command = ["python3", "-c", "import os, resource, time; print('fds', sorted(os.listdir('/proc/self/fd'))); print('nofile', resource.getrlimit(resource.RLIMIT_NOFILE)); time.sleep(100000)"]
"#,
        &[
            "sh",
            "-c",
            "exec 7</dev/null; ulimit -Sn 100; exec \"$@\"",
            "sh",
        ],
        Some(std::process::Stdio::piped()),
    );
    drop(d.child.stderr.take());
    d.wait_running(&["fds"]);
    // Every request is an audit line written into the broken pipe.
    for _ in 0..20 {
        assert!(d.berth(&["ls"]).status.success());
    }
    assert!(
        d.child.try_wait().unwrap().is_none(),
        "berthd is still running"
    );
    // The program has its terminal and nothing else (3 is its own listing).
    let shown = wait_for("the program's descriptors", DEADLINE, || {
        let out = d.berth(&["capture", "fds"]);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.contains("fds [").then_some(text)
    });
    assert!(shown.contains("fds ['0', '1', '2', '3']"), "{shown}");
    // berthd runs at its hard descriptor limit; the program starts with
    // the conventional soft limit under the same hard one.
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", d.child.id())).unwrap();
    let open_files: Vec<u64> = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap()
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    assert_eq!(open_files[0], open_files[1], "{limits}");
    let hard = open_files[1];
    assert!(
        shown.contains(&format!("nofile ({}, {hard})", hard.min(1024))),
        "{shown}"
    );
    // The host logs to a file of its own, not to berthd's stderr.
    let host_log = d.dir.path().join("logs").join("fds.host.log");
    let log = wait_for("the host's own log", DEADLINE, || {
        let log = std::fs::read_to_string(&host_log).ok()?;
        log.contains("session host ready").then_some(log)
    });
    assert!(log.contains("session=fds"), "{log}");
}

#[test]
fn a_host_ended_by_sigterm_leaves_no_socket_and_readers_exit_1() {
    let mut d = Daemon::start(
        "[session.one]\ncommand = [\"sleep\", \"100000\"]\n\n[session.two]\ncommand = [\"sleep\", \"100000\"]\n",
    );
    let rows = d.wait_running(&["one", "two"]);
    // berthd is gone (hosts outlive it); then one host is terminated.
    let _ = d.child.kill();
    let _ = d.child.wait();
    let reader = std::process::Command::new(bin("berth"))
        .args(["attach", "-r", "two"])
        .env("BERTH_RUNTIME_DIR", d.runtime())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let host = rows.iter().find(|r| r.0 == "one").unwrap().3.unwrap() as i32;
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(host),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let socket = d.runtime().join("sessions").join("one.sock");
    wait_for("the host to remove its socket", DEADLINE, || {
        (!socket.exists()).then_some(())
    });
    let out = d.berth(&["ls"]);
    let listed = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        !listed.contains("one") && listed.contains("two"),
        "{listed}"
    );
    // A text reader ended by a signal says so and exits 1.
    wait_for("the reader to be attached", DEADLINE, || {
        let st = d.berth(&["status", "two", "--json"]);
        let st: serde_json::Value = serde_json::from_slice(&st.stdout).ok()?;
        (st["clients"].as_array()?.len() == 1).then_some(())
    });
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(reader.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let out = reader.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stderr(&out), "[detached from two: berth got SIGTERM]");
}

fn alive(pid: i32) -> bool {
    // A zombie waiting for its reaper is as good as gone.
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        !stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z')
    })
}

#[test]
fn a_killed_host_leaves_no_program_behind() {
    let d = Daemon::start(
        r#"
[session.stubborn]
command = "trap '' HUP; sleep 100000 & echo child=$!; while true; do sleep 1; done"
"#,
    );
    let rows = d.wait_running(&["stubborn"]);
    let (program, host) = (rows[0].2.unwrap() as i32, rows[0].3.unwrap() as i32);
    let child: i32 = wait_for("the child's pid", DEADLINE, || {
        let text = String::from_utf8_lossy(&d.berth(&["capture", "stubborn"]).stdout).into_owned();
        text.split("child=")
            .nth(1)?
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    });
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(host),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    wait_for("a new host", DEADLINE, || {
        let rows = d.ls();
        (rows[0].1 == "running" && rows[0].3 != Some(host as u64)).then_some(())
    });
    wait_for("the old program and its child to be gone", DEADLINE, || {
        (!alive(program) && !alive(child)).then_some(())
    });
    assert!(
        d.log()
            .contains("processes the dead host's program left behind"),
        "{}",
        d.log()
    );
}

#[test]
fn a_stopped_host_never_stalls_berthd() {
    let d = Daemon::start(
        "[session.frozen]\ncommand = [\"sleep\", \"100000\"]\n\n[session.other]\ncommand = [\"sleep\", \"100000\"]\n",
    );
    let rows = d.wait_running(&["frozen", "other"]);
    let host = rows[0].3.unwrap() as i32;
    let pid = nix::unistd::Pid::from_raw(host);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGSTOP).unwrap();
    // A stop of the frozen session waits on it (and then fails) ...
    let stop = d.berth_spawn(&["stop", "frozen"]);
    // ... while berthd answers everyone else at once.
    for _ in 0..5 {
        let out = d.berth(&["ls"]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(d.berth(&["stop", "other"]).status.success());
        assert!(d.berth(&["start", "other"]).status.success());
    }
    let out = stop.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).starts_with("berth: session \"frozen\" did not answer: "),
        "{}",
        stderr(&out)
    );
    // Killing the frozen host waits out its grace, then SIGKILLs it; berthd
    // answers everyone else meanwhile.
    let kill = d.berth_spawn(&["kill", "frozen"]);
    wait_for("frozen shown stopping", DEADLINE, || {
        d.berth(&["ls"])
            .stdout
            .windows(8)
            .any(|w| w == b"stopping")
            .then_some(())
    });
    for _ in 0..3 {
        assert!(d.berth(&["ls"]).status.success());
        assert!(d.berth(&["stop", "other"]).status.success());
        assert!(d.berth(&["start", "other"]).status.success());
    }
    let out = kill.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!alive(host), "the frozen host outlived its kill");
    let listed = String::from_utf8_lossy(&d.berth(&["ls"]).stdout).into_owned();
    assert!(!listed.contains("frozen"), "{listed}");
    // No audit line per status poll: berthd follows each host on one connection.
    let log = std::fs::read_to_string(d.dir.path().join("logs").join("other.host.log")).unwrap();
    let lines = log.matches("connection closed").count();
    assert!(lines <= 25, "{lines} audit lines for 15 requests:\n{log}");
}

#[test]
fn a_log_that_cannot_be_written_resumes_with_the_exact_gap_and_no_torn_line() {
    let env = Env::new();
    let log = env.path("gap.log");
    let go = env.path("go");
    // 100 lines at once, then (once `go` exists) 60 more, one every 200 ms:
    // each line is 51 bytes on the terminal (LF becomes CR LF).
    let program = format!(
        "import os, time\n\
         for i in range(1, 101): print('line-%04d-' % i + 'x' * 39)\n\
         while not os.path.exists('{}'): time.sleep(0.05)\n\
         for i in range(101, 161): print('line-%04d-' % i + 'x' * 39); time.sleep(0.2)\n\
         time.sleep(100000)\n",
        go.display()
    );
    // The log may grow to 4000 bytes, like a disk that fills up mid-line.
    let host = env.host_under_prlimit(
        "gap",
        &["--log", log.to_str().unwrap()],
        &["python3", "-u", "-c", &program],
        &["--fsize=4000"],
    );
    host.wait_status("the log paused", |s| s["log_error"].is_string());
    assert!(
        host.status()["log_error"]
            .as_str()
            .unwrap()
            .starts_with("output log paused: cannot write "),
        "{}",
        host.status()
    );
    // The operator makes room: what was logged is kept aside, the log is
    // emptied (the host appends, so it writes at the start again).
    let before = std::fs::read_to_string(&log).unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&log)
        .unwrap()
        .set_len(0)
        .unwrap();
    std::fs::write(&go, "").unwrap();
    let after = wait_for("the last line in the log", DEADLINE, || {
        let text = std::fs::read_to_string(&log).ok()?;
        text.contains("line-0160-").then_some(text)
    });
    let text = before + &after;
    // Every line is whole: a program line of 51 bytes, or one [berth] line.
    let mut markers = Vec::new();
    let mut logged = 0;
    let mut numbers = Vec::new();
    for line in text.split_inclusive('\n') {
        if let Some(rest) = line.strip_prefix("[berth] ") {
            markers.push(rest.to_owned());
            continue;
        }
        assert_eq!(line.len(), 51, "a torn line: {line:?}\n{text}");
        assert!(
            line.starts_with("line-") && line.ends_with("x\r\n"),
            "{line:?}"
        );
        numbers.push(line[5..9].parse::<u32>().unwrap());
        logged += line.len();
    }
    assert_eq!(markers.len(), 1, "{text}");
    // The gap is said exactly: all 160 lines were printed.
    let missing = 160 * 51 - logged;
    assert!(
        markers[0].starts_with(&format!(
            "{missing} bytes of output were not logged (cannot write "
        )),
        "{}",
        markers[0]
    );
    // In order, with one gap.
    assert!(numbers.windows(2).all(|w| w[0] < w[1]), "{numbers:?}");
    assert_eq!(numbers[0], 1);
    assert_eq!(*numbers.last().unwrap(), 160);
    assert_eq!(host.status()["log_error"], serde_json::Value::Null);
}

#[test]
fn a_marker_that_does_not_fit_the_full_disk_is_taken_back_out() {
    let env = Env::new();
    let log = env.path("full.log");
    // 100 lines at once fill the 4000 bytes the log may have; then a line
    // every 100 ms for 12 s, so the log tries again (every 5 s) while the
    // disk is still full, with a few bytes free: too few for its marker.
    let program = "import time\n\
         for i in range(1, 101): print('line-%04d-' % i + 'x' * 39)\n\
         for i in range(101, 221): print('line-%04d-' % i + 'x' * 39); time.sleep(0.1)\n\
         print('ALL-PRINTED')\n\
         time.sleep(100000)\n";
    let host = env.host_under_prlimit(
        "full",
        &["--log", log.to_str().unwrap()],
        &["python3", "-u", "-c", program],
        &["--fsize=4000"],
    );
    host.wait_screen("ALL-PRINTED");
    host.wait_status("the log still paused", |s| s["log_error"].is_string());
    let text = std::fs::read_to_string(&log).unwrap();
    // Only whole lines: no piece of a marker that did not fit.
    for line in text.split_inclusive('\n') {
        assert!(
            line.len() == 51 && line.starts_with("line-") && line.ends_with("x\r\n"),
            "a torn line: {line:?}\n{text}"
        );
    }
    assert!(text.len() <= 4000);
}

#[test]
fn berthd_keeps_descriptors_for_its_own_work() {
    // 64 descriptors in all: connections may take 32 of them.
    let d = Daemon::start_via(
        "[session.s1]\ncommand = [\"sleep\", \"100000\"]\n",
        &["prlimit", "--nofile=64:64", "--"],
        None,
    );
    let host = d.wait_running(&["s1"])[0].3;
    let control = d.runtime().join("control.sock");
    let held: Vec<UnixStream> = (0..32)
        .map(|_| UnixStream::connect(&control).unwrap())
        .collect();
    let refused = error_then_close(UnixStream::connect(&control).unwrap());
    assert_eq!(
        refused,
        (
            ErrorCode::Denied,
            "too many connections: 32 are open, the most this server takes at once; try again shortly".into()
        )
    );
    drop(held);
    // berthd went on with its own work: the session is the same, kill works.
    let rows = d.wait_running(&["s1"]);
    assert_eq!(rows[0].3, host, "the host was never taken for dead");
    let out = d.berth(&["kill", "s1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    wait_for("s1 gone", DEADLINE, || d.ls().is_empty().then_some(()));
}
