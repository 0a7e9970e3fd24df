//! Requests that ask for a lot: a screen of a million truecolor cells, a
//! capture of 600,000 lines, the whole of a long log for clients that never
//! read, and requests of every size and shape. Each is answered whole, or
//! refused in words; none panics the host, and what the host holds for
//! them stays bounded (hosts run under prlimit).

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use berth_e2e::wire::hello;
use berth_e2e::*;
use berth_proto::scripting::{
    InterruptRequest, LogsRequest, ResultRequest, RunRequest, WaitRequest,
};
use berth_proto::sync::{Client, Event};
use berth_proto::{
    encode_control, AttachRequest, CaptureRequest, LineBound, Request, Size, MAX_FRAME_LEN,
};
use proptest::prelude::*;

/// Address space a host gets here: far above what it needs, far below
/// what holding a long history or log once per connection would take.
const HOST_LIMIT: u64 = 1 << 30;

/// The host's stderr has no panic in it.
fn no_panic(env: &Env, name: &str) {
    let err = std::fs::read_to_string(env.path(&format!("{name}.host.err"))).unwrap();
    assert!(!err.contains("panicked"), "the host panicked:\n{err}");
}

fn client(env: &Env, name: &str) -> Client<UnixStream> {
    Client::handshake(UnixStream::connect(env.socket(name)).unwrap(), "test").unwrap()
}

#[test]
fn a_redraw_of_a_thousand_column_truecolor_screen_arrives_whole() {
    let env = Env::new();
    // 150 rows of 1000 cells, each its own colour, on a 1000x1000 screen:
    // its redraw is more than two of the largest frames.
    let script = [
        "import sys, time",
        "for r in range(150):",
        "    sys.stdout.write(''.join('\\x1b[38;2;%d;%d;%dm#' % (r, c % 256, c // 4) for c in range(1000)))",
        "sys.stdout.write('\\x1b[m\\r\\nDRAWN')",
        "sys.stdout.flush()",
        "time.sleep(3600)",
    ]
    .join("\n");
    let host = env.host_limited(
        "big",
        &["--size", "1000x1000"],
        &["python3", "-c", &script],
        HOST_LIMIT,
    );
    host.wait_screen("DRAWN");
    let mut c = client(&env, "big");
    c.attach(AttachRequest {
        read_only: true,
        size: Some(Size {
            cols: 1000,
            rows: 1000,
        }),
        ..Default::default()
    })
    .unwrap();
    let mut input = c.input().unwrap();
    input.request(&Request::Redraw).unwrap();
    // Detached is sent after everything queued before it: the redraw ends there.
    input.request(&Request::Detach).unwrap();
    let (mut redraw, mut redrawing) = (Vec::new(), false);
    loop {
        match c.event().unwrap() {
            Event::Redraw => redrawing = true,
            Event::Output(bytes) if redrawing => redraw.extend(bytes),
            Event::Detached(_) => break,
            _ => {}
        }
    }
    assert!(redraw.len() > 2 * MAX_FRAME_LEN, "{} bytes", redraw.len());
    let side = std::num::NonZeroU16::new(1000).unwrap();
    let mut screen = vt100::Parser::new(side, side, 0);
    screen.process(&redraw);
    let screen = screen.screen();
    assert_eq!(screen.contents_between(149, 0, 149, 1000), "#".repeat(1000));
    assert_eq!(
        screen.cell(149, 999).unwrap().fgcolor(),
        vt100::Color::Rgb(149, (999 % 256) as u8, (999 / 4) as u8)
    );
    assert!(screen.contents().contains("DRAWN"));
    no_panic(&env, "big");
}

#[test]
fn a_capture_of_600000_lines_arrives_whole_with_every_number() {
    let env = Env::new();
    let host = env.host_limited(
        "long",
        &["--scrollback", "700000"],
        &["sh", "-c", "seq 1 600000; echo SEQ-DONE; exec sleep 3600"],
        HOST_LIMIT,
    );
    host.wait_screen("SEQ-DONE");
    let captured = client(&env, "long")
        .capture(&CaptureRequest {
            start: Some(LineBound::Edge),
            ..Default::default()
        })
        .unwrap();
    let info = captured.info.unwrap();
    let text = String::from_utf8(captured.text).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), info.seqs.len());
    assert_eq!(info.seqs.len(), info.wrapped.len());
    assert_eq!(&lines[..3], ["1", "2", "3"]);
    assert!(lines.contains(&"600000"));
    // One number per line, in order, none skipped.
    assert!(info.seqs.windows(2).all(|w| w[1] == w[0] + 1));
    // Waits from line 0 look through it all, a slice at a time, while
    // 16 others do the same with a pattern that never matches.
    let mut heavy = Vec::new();
    for _ in 0..16 {
        let mut c = client(&env, "long");
        c.send(&Request::Wait(WaitRequest {
            pattern: "^(x+x+)+y$|[[:alpha:]]{50}".into(),
            since: Some(0),
            screen: false,
            timeout_ms: Some(60_000),
        }))
        .unwrap();
        heavy.push(c);
    }
    let found = client(&env, "long")
        .wait(WaitRequest {
            pattern: "^599999$".into(),
            since: Some(0),
            screen: false,
            timeout_ms: Some(60_000),
        })
        .unwrap();
    let at = info.seqs[lines.iter().position(|l| *l == "599999").unwrap()];
    assert_eq!(
        found,
        berth_proto::sync::Waited::Matched {
            seq: at,
            text: "599999".into()
        }
    );
    drop(heavy);
    // Through the CLI too, as an observer would ask.
    let out = host.berth(&["capture", "long", "-S", "-"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        out.stdout.iter().filter(|&&b| b == b'\n').count(),
        lines.len()
    );
    no_panic(&env, "long");
}

#[test]
fn clients_asking_for_a_long_log_and_never_reading_hold_a_chunk_each() {
    let env = Env::new();
    let log = env.path("long.log");
    // About 40 MB of log.
    let host = env.host_limited(
        "logged",
        &[
            "--log",
            log.to_str().unwrap(),
            "--log-max-size",
            "1G",
            "--scrollback",
            "100",
        ],
        &["sh", "-c", "seq 1 5000000; echo LOG-DONE; exec sleep 3600"],
        HOST_LIMIT,
    );
    wait_for("the log to be written", Duration::from_secs(120), || {
        let text = std::fs::read(&log).ok()?;
        text.ends_with(b"LOG-DONE\r\n").then_some(())
    });
    let log_size = std::fs::metadata(&log).unwrap().len();
    let before = host.rss();
    // 48 connections ask for the whole log and never read a byte.
    let mut idle = Vec::new();
    for _ in 0..48 {
        let mut s = UnixStream::connect(env.socket("logged")).unwrap();
        let mut bytes = hello();
        encode_control(
            &Request::Logs(LogsRequest {
                lines: Some(usize::MAX),
                follow: false,
            }),
            &mut bytes,
        );
        s.write_all(&bytes).unwrap();
        idle.push(s);
    }
    // Each has as much in flight as the socket takes: a reader that reads
    // gets the whole log meanwhile.
    let out = host.berth(&["logs", "logged", "-n", "999999999"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(out.stdout.len() as u64, log_size);
    let during = host.rss();
    assert!(
        during < before + (64 << 20),
        "host RSS grew from {before} to {during} with 48 idle readers of a {log_size}-byte log"
    );
    drop(idle);
    no_panic(&env, "logged");
}

/// One request of any shape and size a client could send.
fn request() -> impl Strategy<Value = Request> {
    let bound = prop_oneof![
        Just(LineBound::Edge),
        any::<i64>().prop_map(LineBound::Line),
        (-5000i64..50).prop_map(LineBound::Line),
    ];
    let size = (0u16..1200, 0u16..1200).prop_map(|(cols, rows)| Size { cols, rows });
    let text = prop_oneof![
        ".{0,40}",
        (0usize..(3 * MAX_FRAME_LEN / 2)).prop_map(|n| "x".repeat(n)),
    ];
    let pattern = prop_oneof![
        Just("x".to_owned()),
        Just("(a+)+$".to_owned()),
        Just("[[:alpha:]]{1,1000}".to_owned()),
        Just("(".to_owned()),
        Just(".{100000}".to_owned()),
        ".{0,20}",
    ];
    prop_oneof![
        Just(Request::Status),
        Just(Request::Redraw),
        Just(Request::Detach),
        Just(Request::Watch),
        (
            prop::option::of(bound.clone()),
            prop::option::of(bound),
            any::<bool>(),
            any::<bool>(),
            prop::option::of(any::<u64>())
        )
            .prop_map(|(start, end, escapes, join, since)| Request::Capture(
                CaptureRequest {
                    start,
                    end,
                    escapes,
                    join,
                    since,
                }
            )),
        (
            prop::collection::vec(text.clone(), 0..4),
            any::<bool>(),
            any::<bool>()
        )
            .prop_map(|(keys, literal, paste)| Request::Send {
                keys,
                literal,
                paste,
                wait: None,
            }),
        (
            pattern,
            prop::option::of(any::<u64>()),
            any::<bool>(),
            0u64..200
        )
            .prop_map(|(pattern, since, screen, ms)| Request::Wait(WaitRequest {
                pattern,
                since,
                screen,
                timeout_ms: Some(ms),
            })),
        (prop::option::of(any::<usize>()), any::<bool>())
            .prop_map(|(lines, follow)| Request::Logs(LogsRequest { lines, follow })),
        (
            text.clone(),
            prop::collection::vec(text, 0..4),
            0u64..200,
            prop::option::of(any::<usize>()),
            any::<bool>()
        )
            .prop_map(|(command, words, ms, max_lines, interrupt_on_timeout)| {
                Request::Run(RunRequest {
                    command,
                    words,
                    timeout_ms: Some(ms),
                    max_lines,
                    interrupt_on_timeout,
                })
            }),
        (
            prop::option::of(0u64..200),
            prop::option::of(any::<usize>())
        )
            .prop_map(|(wait_ms, max_lines)| Request::Result(ResultRequest { wait_ms, max_lines })),
        (
            prop::option::of(0u64..100),
            prop::option::of(any::<usize>())
        )
            .prop_map(
                |(grace_ms, max_lines)| Request::Interrupt(InterruptRequest {
                    grace_ms,
                    max_lines
                })
            ),
        (prop::option::of(size.clone()), any::<bool>(), any::<bool>()).prop_map(
            |(size, read_only, frames)| Request::Attach(AttachRequest {
                read_only,
                detach_others: false,
                size,
                frames,
            })
        ),
        size.prop_map(|s| Request::Resize {
            cols: s.cols,
            rows: s.rows
        }),
    ]
}

/// Sends the requests on one connection and reads what comes back until
/// the host closes or goes quiet.
fn converse(env: &Env, requests: &[Request]) {
    let mut s = UnixStream::connect(env.socket("target")).unwrap();
    let mut bytes = hello();
    for r in requests {
        encode_control(r, &mut bytes);
    }
    let mut writer = s.try_clone().unwrap();
    // Written aside: the host may close before it took everything.
    let sender = std::thread::spawn(move || {
        let _ = writer.write_all(&bytes);
    });
    s.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let until = Instant::now() + Duration::from_secs(5);
    let mut buf = vec![0; 1 << 16];
    while Instant::now() < until {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
            Err(_) => break,
        }
    }
    let _ = s.shutdown(std::net::Shutdown::Both);
    sender.join().unwrap();
}

#[test]
fn requests_of_every_size_and_shape_never_panic_the_host() {
    let env = Env::new();
    let log = env.path("target.log");
    // A program that takes any input without acting on it (raw mode: no
    // key ends it), after 3,000 lines of history to capture.
    let host = env.host_limited(
        "target",
        &["--log", log.to_str().unwrap(), "--scrollback", "5000"],
        &[
            "sh",
            "-c",
            "seq 1 3000; echo READY; stty raw -echo; exec cat >/dev/null",
        ],
        HOST_LIMIT,
    );
    host.wait_screen("READY");
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(40);
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(cases));
    runner
        .run(&prop::collection::vec(request(), 1..6), |requests| {
            converse(&env, &requests);
            // Alive and answering after each conversation.
            let out = host.berth(&["has", "target"]);
            prop_assert!(out.status.success(), "{}", stderr(&out));
            Ok(())
        })
        .unwrap();
    let whole = host.capture(&["-S", "-"]);
    assert!(whole.contains("\n3000\nREADY\n"), "the history is intact");
    no_panic(&env, "target");
}

#[test]
fn a_hung_log_disk_stalls_neither_the_screen_nor_the_program_and_its_gap_is_marked() {
    let env = Env::new();
    let log = env.path("hung.log");
    let go = env.path("go");
    // The log's first write hangs for 8 s, as on a disk that stopped; the
    // program prints 15 MB at once, then one more line when told to.
    let program = format!(
        "seq 1 2000000; echo SEQ-DONE; while [ ! -e {} ]; do sleep 0.05; done; echo AFTER-GAP; exec sleep 3600",
        go.display()
    );
    let host = env.host_with_env(
        "hung",
        &["--log", log.to_str().unwrap(), "--log-max-size", "1G"],
        &["sh", "-c", &program],
        &[(berth_session::log_writer::DELAY_WRITE_ENV, "8000")],
    );
    host.wait_screen("SEQ-DONE");
    assert_eq!(
        std::fs::metadata(&log).unwrap().len(),
        0,
        "the screen has all the output while the log's first write still hangs"
    );
    // The disk moves again: the log takes what it queued, and says what
    // it left out as soon as it caught up, before any more output.
    wait_for("the gap to be said", Duration::from_secs(60), || {
        let text = std::fs::read(&log).ok()?;
        text.windows(8).any(|w| w == b"[berth] ").then_some(())
    });
    std::fs::write(&go, "").unwrap();
    let text = wait_for("the log to catch up", Duration::from_secs(60), || {
        let text = std::fs::read(&log).ok()?;
        text.ends_with(b"AFTER-GAP\r\n").then_some(text)
    });
    let total: usize = (1..=2_000_000u32)
        .map(|i| i.to_string().len() + 2)
        .sum::<usize>()
        + "SEQ-DONE\r\n".len()
        + "AFTER-GAP\r\n".len();
    let marker = regex_lite_marker(&text);
    let (at, len, skipped) = marker.expect("one [berth] line says what was not logged");
    // The '\n' before the marker is the marker's when it ended a cut line.
    let ends_cut_line = at > 0 && text[at - 1] == b'\n' && (at < 2 || text[at - 2] != b'\r');
    let logged = text.len() - len - usize::from(ends_cut_line);
    assert_eq!(skipped + logged, total, "the gap is said exactly");
    no_panic(&env, "hung");
}

/// The one `[berth]` line in `text`: where it starts, its length with its
/// newline, and the bytes it says were not logged.
fn regex_lite_marker(text: &[u8]) -> Option<(usize, usize, usize)> {
    const PREFIX: &[u8] = b"[berth] ";
    const SUFFIX: &str = " bytes of output were not logged (the log's disk did not keep up)\n";
    let at = text.windows(PREFIX.len()).position(|w| w == PREFIX)?;
    let rest = &text[at..];
    let end = rest.iter().position(|&b| b == b'\n')? + 1;
    let line = std::str::from_utf8(&rest[..end]).ok()?;
    assert!(
        !text[at + end..].windows(PREFIX.len()).any(|w| w == PREFIX),
        "one marker"
    );
    let number = line.strip_prefix("[berth] ")?.strip_suffix(SUFFIX)?;
    Some((at, end, number.parse().ok()?))
}

#[test]
fn a_slow_account_lookup_stalls_only_the_connection_being_looked_up() {
    let env = Env::new();
    let log = env.path("ticks.log");
    // Every account lookup takes 3 s, as with a slow LDAP server.
    let host = env.host_with_env(
        "ticks",
        &["--log", log.to_str().unwrap()],
        &[
            "sh",
            "-c",
            "i=0; while :; do i=$((i+1)); echo tick-$i; sleep 0.01; done",
        ],
        &[(berth_session::peer::DELAY_LOOKUP_ENV, "3000")],
    );
    let ticks = || {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .matches("tick-")
            .count()
    };
    let runtime = env.runtime().to_owned();
    let status = std::thread::spawn(move || berth_in(&runtime, &["status", "ticks"]));
    // The program's output goes on while that connection is looked up.
    let before = ticks();
    wait_for("output while a lookup is pending", DEADLINE, || {
        (ticks() >= before + 20).then_some(())
    });
    assert!(
        !status.is_finished(),
        "20 more lines were logged before the 3 s lookup ended"
    );
    let out = status.join().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    drop(host);
}
