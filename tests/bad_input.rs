//! Bad input gets one clear error and harms nothing: malformed frames,
//! wrong versions, silent clients, unknown sessions, programs that cannot
//! start, and senders of too much.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;

use berth_e2e::wire::*;
use berth_e2e::*;
use berth_proto::{encode_control, ErrorCode, Header, Request, Response};

/// A session that several raw connections will try to upset.
fn victim(env: &Env) -> Host {
    let host = env.host(
        "victim",
        &["--handshake-timeout", "1s"],
        &["bash", "--norc", "--noprofile", "-i"],
    );
    host.send(&["echo alive-$((20+1))", "Enter"]);
    host.wait_screen("alive-21");
    host
}

fn connect(env: &Env) -> UnixStream {
    UnixStream::connect(env.socket("victim")).unwrap()
}

/// After every abuse the session still runs the same program with its state.
fn still_fine(host: &Host, pid: &serde_json::Value) {
    let status = host.status();
    assert_eq!(&status["pid"], pid, "the program was not disturbed");
    assert!(host.capture(&[]).contains("alive-21"));
}

#[test]
fn malformed_connections_are_closed_alone() {
    let env = Env::new();
    let host = victim(&env);
    let pid = host.status()["pid"].clone();

    // Not berth at all.
    let mut s = connect(&env);
    s.write_all(b"GET / HTTP/1.1\r\n\r\n").unwrap();
    assert_eq!(
        error_then_close(s),
        (
            ErrorCode::Malformed,
            "not a berth client: bad protocol header; closing the connection".into()
        )
    );
    still_fine(&host, &pid);

    // Another protocol version: both versions named.
    let mut s = connect(&env);
    s.write_all(&Header { version: 9 }.to_bytes()).unwrap();
    assert_eq!(
        error_then_close(s),
        (
            ErrorCode::Version,
            "protocol version mismatch: session victim speaks version 1, the client speaks version 9; use a berth of the same version".into()
        )
    );

    // An oversized frame after a good handshake.
    let mut s = connect(&env);
    let mut bytes = hello();
    bytes.extend_from_slice(&(2u32 << 20).to_be_bytes());
    bytes.push(1);
    s.write_all(&bytes).unwrap();
    let (code, message) = error_then_close(s);
    assert_eq!(code, ErrorCode::Malformed);
    assert_eq!(
        message,
        "malformed input: frame of 2097152 bytes exceeds the limit of 1048576 bytes; closing the connection"
    );

    // A control frame that is not JSON.
    let mut s = connect(&env);
    let mut bytes = hello();
    berth_proto::encode(berth_proto::FrameKind::Control, b"{not json", &mut bytes).unwrap();
    s.write_all(&bytes).unwrap();
    let (code, message) = error_then_close(s);
    assert_eq!(code, ErrorCode::Malformed);
    assert!(
        message.starts_with("malformed input: malformed control message: "),
        "{message}"
    );

    // A request before hello.
    let mut s = connect(&env);
    let mut bytes = Header::ours().to_bytes().to_vec();
    encode_control(&Request::Status, &mut bytes);
    s.write_all(&bytes).unwrap();
    assert_eq!(
        error_then_close(s),
        (
            ErrorCode::BadRequest,
            "expected hello first, got status; closing the connection".into()
        )
    );

    // An unknown frame kind.
    let mut s = connect(&env);
    let mut bytes = hello();
    bytes.extend_from_slice(&[0, 0, 0, 1, 7]);
    s.write_all(&bytes).unwrap();
    let (_, message) = error_then_close(s);
    assert_eq!(
        message,
        "malformed input: unknown frame kind 7; closing the connection"
    );

    still_fine(&host, &pid);
}

#[test]
fn a_silent_client_is_dropped_and_others_are_served_meanwhile() {
    let env = Env::new();
    let host = victim(&env);
    let pid = host.status()["pid"].clone();
    let silent = connect(&env);
    let half = UnixStream::connect(env.socket("victim")).unwrap();
    (&half).write_all(&Header::ours().to_bytes()[..3]).unwrap();
    // While both hang, the session serves others.
    still_fine(&host, &pid);
    assert_eq!(
        error_then_close(silent),
        (
            ErrorCode::Timeout,
            "handshake not finished within 1s; closing the connection".into()
        )
    );
    assert_eq!(error_then_close(half).0, ErrorCode::Timeout);
    still_fine(&host, &pid);
}

#[test]
fn unknown_and_odd_sockets_are_named() {
    let env = Env::new();
    let host = victim(&env);

    let out = env.berth(&["capture", "victm"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "berth: no session \"victm\" (did you mean \"victim\"? see berth ls)"
    );
    let out = env.berth(&["status", "nothing-like-it"]);
    assert_eq!(
        stderr(&out),
        "berth: no session \"nothing-like-it\" (see berth ls)"
    );
    let out = env.berth(&["has", "victm"]);
    assert_eq!(
        (out.status.code(), out.stdout.len(), out.stderr.len()),
        (Some(1), 0, 0)
    );
    let out = env.berth(&["capture", "../etc"]);
    assert_eq!(
        stderr(&out),
        "berth: bad session name \"../etc\": use 1 to 64 of A-Z a-z 0-9 _ . -, starting with a letter or digit"
    );

    // A socket that is not berth's.
    let other = env.socket("imposter");
    let listener = std::os::unix::net::UnixListener::bind(&other).unwrap();
    let server = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let _ = s.write_all(b"SSH-2.0-OpenSSH\r\n");
    });
    let out = env.berth(&["status", "imposter"]);
    server.join().unwrap();
    assert_eq!(
        stderr(&out),
        format!(
            "berth: {} is not a berth session socket (it does not speak the berth protocol)",
            other.display()
        )
    );

    // A host of another protocol version.
    let newer = env.socket("newer");
    let listener = std::os::unix::net::UnixListener::bind(&newer).unwrap();
    let server = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let _ = s.write_all(&Header { version: 2 }.to_bytes());
        let mut sink = [0u8; 64];
        let _ = s.read(&mut sink);
    });
    let out = env.berth(&["status", "newer"]);
    server.join().unwrap();
    assert_eq!(
        stderr(&out),
        "berth: protocol version mismatch: this berth speaks version 1, session \"newer\" speaks version 2; use the berth that came with it"
    );

    // A stale socket: nothing listens.
    let stale = env.socket("stale");
    drop(std::os::unix::net::UnixListener::bind(&stale).unwrap());
    let out = env.berth(&["capture", "stale"]);
    assert_eq!(
        stderr(&out),
        format!(
            "berth: session \"stale\" is not running (nothing listens on {}); start it again, or remove the stale socket",
            stale.display()
        )
    );
    drop(host);
}

#[test]
fn bad_cli_arguments_get_one_line() {
    let env = Env::new();
    let _host = victim(&env);
    let out = env.berth(&["capture", "victim", "-S", "abc"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with(
            "berth: invalid value 'abc' for '--start <START>': bad line number \"abc\""
        ),
        "{err}"
    );
    let out = env.berth(&["send", "victim"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
    // Too much input in one send: refused before anything is typed.
    let big = "x".repeat(100_000);
    let args: Vec<&str> = ["send", "victim"]
        .into_iter()
        .chain(std::iter::repeat_n(big.as_str(), 6))
        .collect();
    let out = env.berth(&args);
    assert_eq!(
        stderr(&out),
        "berth: input too large: 600000 bytes in one send; send at most 524288 bytes at a time"
    );
}

#[test]
fn programs_that_cannot_start_are_reported_and_backed_off() {
    let env = Env::new();
    let fast = [
        "--restart-delay",
        "20ms",
        "--restart-max-delay",
        "40ms",
        "--restart-burst",
        "2",
    ];

    let host = env.host("missing", &fast, &["/nonexistent/prog"]);
    let status = host.wait_status("state failed", |s| s["state"] == "failed");
    assert_eq!(
        status["last_error"],
        "cannot start /nonexistent/prog: no such file"
    );
    let screen = host.capture(&["-J"]);
    assert_eq!(
        screen
            .matches("[berth] cannot start /nonexistent/prog: no such file at ")
            .count(),
        3,
        "{screen}"
    );

    let host = env.host("nopath", &fast, &["no-such-command-berth"]);
    let status = host.wait_status("state failed", |s| s["state"] == "failed");
    assert_eq!(
        status["last_error"],
        "cannot start no-such-command-berth: command not found in PATH (/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin)"
    );

    let script = env.path("not-executable.sh");
    std::fs::write(&script, "#!/bin/sh\necho hi\n").unwrap();
    let host = env.host(
        "noexec",
        &["--restart", "never"],
        &[script.to_str().unwrap()],
    );
    let status = host.wait_status("state exited", |s| s["state"] == "exited");
    assert_eq!(
        status["last_error"],
        format!(
            "cannot start {}: permission denied (is it executable?)",
            script.display()
        )
    );

    let host = env.host(
        "badcwd",
        &["--restart", "never", "--cwd", "/nonexistent/dir"],
        &["true"],
    );
    let status = host.wait_status("state exited", |s| s["state"] == "exited");
    assert_eq!(
        status["last_error"],
        "cannot start true: working directory /nonexistent/dir (cwd) does not exist or is not a directory"
    );
    assert!(host
        .capture(&["-J"])
        .contains("[berth] cannot start true: working directory /nonexistent/dir"));
}

#[test]
fn a_second_host_refuses_a_busy_socket() {
    let env = Env::new();
    let host = victim(&env);
    // A second host on a live socket refuses and leaves the first alone.
    let socket = env.socket("victim");
    let out = std::process::Command::new(bin("berth-session"))
        .args([
            "--name",
            "victim",
            "--socket",
            socket.to_str().unwrap(),
            "--",
            "true",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        format!(
            "berth-session: {} is in use by a running session; stop it first or choose another --socket",
            socket.display()
        )
    );
    assert!(host.capture(&[]).contains("alive-21"));
}

#[test]
fn the_host_drops_input_from_a_read_only_client() {
    read_only_client_types_in_vain(true, false);
}

/// A client attached for frames (`berth watch`) is read-only even when
/// its owner is an operator and it asks for read-write.
#[test]
fn the_host_drops_input_from_a_frames_client() {
    read_only_client_types_in_vain(false, true);
}

fn read_only_client_types_in_vain(read_only: bool, frames: bool) {
    let env = Env::new();
    let host = victim(&env);
    let mut s = connect(&env);
    let mut bytes = hello();
    encode_control(
        &Request::Attach(berth_proto::AttachRequest {
            read_only,
            detach_others: false,
            size: Some(berth_proto::Size { cols: 40, rows: 10 }),
            frames,
        }),
        &mut bytes,
    );
    // A modified client that sends keystrokes anyway, and tries to resize.
    berth_proto::encode(
        berth_proto::FrameKind::Data,
        b"echo sneaky-$((1+1))\r",
        &mut bytes,
    )
    .unwrap();
    encode_control(&Request::Resize { cols: 20, rows: 5 }, &mut bytes);
    encode_control(&Request::Detach, &mut bytes);
    s.write_all(&bytes).unwrap();
    let (code, message) = match last_response(s) {
        Response::Detached { reason } => (None, reason),
        Response::Error { code, message } => (Some(code), message),
        other => panic!("{other:?}"),
    };
    assert_eq!((code, message.as_str()), (None, "detached"));
    host.send(&["echo marker-$((2+2))", "Enter"]);
    host.wait_screen("marker-4");
    assert!(!host.capture(&["-S", "-"]).contains("sneaky-2"));
    assert_eq!(
        host.status()["size"],
        serde_json::json!({"cols": 120, "rows": 40})
    );
    let log = std::fs::read_to_string(env.path("victim.host.err")).unwrap();
    assert!(
        log.lines()
            .any(|l| l.contains("mode=read-only") && l.contains("ignored_input_bytes=21")),
        "{log}"
    );
}
