//! `berth attach` end to end: the client runs on a real PTY and a second
//! emulator in the test shows what the user would see.

use std::time::Instant;

use berth_e2e::term_client::TermClient;
use berth_e2e::*;
use nix::sys::signal::{kill, Signal};

fn shell(env: &Env, name: &str, extra: &[&str]) -> Host {
    let host = env.host(name, extra, &["bash", "--norc", "--noprofile", "-i"]);
    // Waited for by the output of the line that sets it: a "$" would
    // already be there in the line's own echo.
    host.send(&["PS1='$ '; echo prompt-$((40+2))", "Enter"]);
    host.wait_screen("prompt-42");
    host
}

fn size(host: &Host) -> (u64, u64) {
    let s = host.status();
    (
        s["size"]["cols"].as_u64().unwrap(),
        s["size"]["rows"].as_u64().unwrap(),
    )
}

fn clients(host: &Host) -> usize {
    host.status()["clients"].as_array().unwrap().len()
}

#[test]
fn attach_draws_the_screen_types_and_detaches_cleanly() {
    let env = Env::new();
    let host = shell(&env, "main", &[]);
    host.send(&["echo before-$((2*21))", "Enter"]);
    host.wait_screen("before-42");
    let mut client = TermClient::attach(&env, &["main"], 100, 30);
    let before = client.initial.clone();
    client.wait_screen("before-42");
    host.wait_status("one client", |s| {
        s["clients"].as_array().is_some_and(|c| c.len() == 1)
    });
    let status = host.status();
    assert_eq!(status["clients"][0]["mode"], "read-write");
    assert_eq!(status["clients"][0]["uid"], nix::unistd::getuid().as_raw());
    // The session follows the client's size, and its program is told.
    assert_eq!(size(&host), (100, 30));
    client.keys(b"stty size; echo typed-$((1+1))\r");
    client.wait_screen("30 100");
    client.wait_screen("typed-2");
    assert!(host.capture(&[]).contains("typed-2"));

    // Raw while attached, restored exactly after detaching.
    let raw = client.termios();
    assert!(!raw
        .local_modes
        .contains(rustix::termios::LocalModes::ICANON));
    client.detach();
    let status = client.wait_exit();
    assert!(status.success(), "{status:?}");
    assert!(client
        .wait_printed("[detached from main]")
        .ends_with("[detached from main]\r\n"));
    let after = client.termios();
    assert_eq!(after.local_modes, before.local_modes);
    assert_eq!(after.input_modes, before.input_modes);
    assert_eq!(after.output_modes, before.output_modes);
    client.with_screen(|s| {
        assert!(
            !s.alternate_screen()
                && !s.hide_cursor()
                && !s.bracketed_paste()
                && !s.application_cursor()
        );
    });
    // The session goes on, at its own size again.
    host.wait_status("no clients", |s| {
        s["clients"].as_array().is_some_and(|c| c.is_empty())
    });
    assert_eq!(size(&host), (120, 40));
    assert_eq!(host.status()["state"], "running");
}

#[test]
fn vim_with_unsaved_changes_survives_detach_and_a_killed_client() {
    let env = Env::new();
    let host = shell(&env, "editor", &[]);
    let client = TermClient::attach(&env, &["editor"], 80, 24);
    client.wait_screen("$");
    client.keys(b"vim -u NONE -N -n\r");
    host.wait_status("vim in the foreground", |s| s["foreground"] == "vim");
    // In the foreground is not yet ready: keys typed before vim switched
    // the terminal (raw mode, its screen) are echoed by the line
    // discipline onto the shell's screen instead.
    wait_for("vim on its screen", DEADLINE, || {
        client.with_screen(|s| s.alternate_screen()).then_some(())
    });
    client.keys(b"iunsaved words from berth\x1b");
    client.wait_screen("unsaved words from berth");
    client.detach();
    let mut client = client;
    assert!(client.wait_exit().success());

    // Reattach: the same buffer, the alternate screen and vim's key modes.
    let mut again = TermClient::attach(&env, &["editor"], 80, 24);
    again.wait_screen("unsaved words from berth");
    let (alternate, cursor_keys) =
        again.with_screen(|s| (s.alternate_screen(), s.application_cursor()));
    let printed = again.printed();
    assert!(
        alternate,
        "vim's alternate screen is restored; the client printed {printed:?}"
    );
    assert!(
        cursor_keys,
        "vim's cursor-key mode is restored; the client printed {printed:?}"
    );
    // The client dies hard: the session does not care.
    kill(again.pid(), Signal::SIGKILL).unwrap();
    again.wait_exit();
    host.wait_status("the dead client to be gone", |s| {
        s["clients"].as_array().is_some_and(|c| c.is_empty())
    });
    assert_eq!(host.status()["foreground"], "vim");
    let third = TermClient::attach(&env, &["editor"], 80, 24);
    third.wait_screen("unsaved words from berth");
    third.keys(b":q!\r");
    third.wait_screen("$");
    third.with_screen(|s| assert!(!s.alternate_screen()));
}

#[test]
fn two_writers_see_each_other_and_size_follows_the_smallest() {
    let env = Env::new();
    let host = shell(&env, "pair", &[]);
    let a = TermClient::attach(&env, &["pair"], 100, 30);
    a.wait_screen("$");
    host.wait_status("a's size", |s| s["size"]["cols"] == 100);
    let mut b = TermClient::attach(&env, &["pair"], 80, 20);
    b.wait_screen("$");
    host.wait_status("the smallest size", |s| {
        s["size"]["cols"] == 80 && s["size"]["rows"] == 20
    });
    a.keys(b"echo from-$((10+1))-a\r");
    b.wait_screen("from-11-a");
    b.keys(b"echo from-$((10+2))-b\r");
    a.wait_screen("from-12-b");
    // The larger client sees which area the session does not use: dots
    // right of column 80 and below row 20, as tmux draws them.
    wait_for("dots on the larger client", DEADLINE, || {
        a.with_screen(|s| {
            let rows: Vec<String> = s.rows(0, 100).collect();
            let right = rows[..20]
                .iter()
                .all(|r| r.chars().count() == 100 && r.ends_with(&".".repeat(20)));
            let below = rows[20..].iter().all(|r| r == &".".repeat(100));
            (right && below).then_some(())
        })
    });
    assert!(!b.screen().contains(".........."), "{}", b.screen());
    // A window change propagates.
    a.resize(70, 25);
    host.wait_status("a resized below b", |s| {
        s["size"]["cols"] == 70 && s["size"]["rows"] == 20
    });
    b.detach();
    assert!(b.wait_exit().success());
    host.wait_status("the size to follow a alone", |s| {
        s["size"]["cols"] == 70 && s["size"]["rows"] == 25
    });
    drop(a);
    host.wait_status("the configured size", |s| {
        s["size"]["cols"] == 120 && s["size"]["rows"] == 40
    });
}

#[test]
fn latest_policy_follows_the_last_writer() {
    let env = Env::new();
    let host = shell(&env, "latest", &["--size-policy", "latest"]);
    let a = TermClient::attach(&env, &["latest"], 70, 20);
    a.wait_screen("$");
    let b = TermClient::attach(&env, &["latest"], 110, 35);
    b.wait_screen("$");
    host.wait_status("b's size", |s| s["size"]["cols"] == 110);
    a.resize(90, 30);
    host.wait_status("a's new size", |s| {
        s["size"]["cols"] == 90 && s["size"]["rows"] == 30
    });
}

#[test]
fn read_only_clients_never_type_resize_or_detach_others() {
    let env = Env::new();
    let host = shell(&env, "watch", &[]);
    let writer = TermClient::attach(&env, &["watch"], 100, 30);
    writer.wait_screen("$");
    let mut reader = TermClient::attach(&env, &["-r", "watch"], 60, 15);
    reader.wait_screen("$");
    host.wait_status("two clients", |s| {
        s["clients"].as_array().is_some_and(|c| c.len() == 2)
    });
    assert_eq!(
        size(&host),
        (100, 30),
        "a read-only client does not change the size"
    );
    reader.keys(b"echo read-only-typed\r");
    reader.resize(50, 10);
    writer.keys(b"echo writer-$((5*5))\r");
    reader.wait_screen("writer-25");
    let screen = host.capture(&["-S", "-"]);
    assert!(!screen.contains("read-only-typed"), "{screen}");
    assert_eq!(size(&host), (100, 30));
    // -d is not for observers.
    let out = env.berth(&["attach", "-r", "-d", "watch"]);
    assert_eq!(out.status.code(), Some(1));
    // (stdout is not a terminal here, so this is the text reader; -d is refused.)
    assert_eq!(
        stderr(&out),
        "berth: permission denied: root attaches read-only to watch and cannot detach others"
    );
    // The detach key works for readers.
    reader.detach();
    assert!(reader.wait_exit().success());
    reader.wait_printed("[detached from watch]");
}

#[test]
fn detach_others_ends_the_other_clients() {
    let env = Env::new();
    let _host = shell(&env, "steal", &[]);
    let mut first = TermClient::attach(&env, &["steal"], 80, 24);
    first.wait_screen("$");
    let second = TermClient::attach(&env, &["-d", "steal"], 80, 24);
    second.wait_screen("$");
    assert!(first.wait_exit().success());
    let uid = nix::unistd::getuid().as_raw();
    let user = nix::unistd::User::from_uid(nix::unistd::getuid())
        .unwrap()
        .unwrap()
        .name;
    let expected =
        format!("[detached from steal: detached by {user} (uid {uid}) attaching with -d]");
    first.wait_printed(&expected);
    second.keys(b"echo still-here\r");
    second.wait_screen("still-here");
}

#[test]
fn a_stopped_client_does_not_stop_the_program_and_is_resynced() {
    let env = Env::new();
    let host = shell(&env, "flood", &[]);
    let flood = "yes 'berth flood line 0123456789abcdefghijklmnopqrstuvwxyz' | head -c 50000000; echo; echo flood-$((6*7))-done";

    // Baseline: the flood with nobody attached.
    let started = Instant::now();
    host.send(&["-l", flood]);
    host.send(&["Enter"]);
    host.wait_screen("flood-42-done");
    let alone = started.elapsed();
    host.send(&["clear", "Enter"]);
    host.wait_status("a cleared prompt", |_| {
        !host.capture(&[]).contains("flood-42-done")
    });

    let client = TermClient::attach(&env, &["flood"], 100, 30);
    client.wait_screen("$");
    kill(client.pid(), Signal::SIGSTOP).unwrap();
    let started = Instant::now();
    host.send(&["-l", &flood.replace("done", "again")]);
    host.send(&["Enter"]);
    // The program finishes while the client is stopped.
    host.wait_screen("flood-42-again");
    let stopped = started.elapsed();
    eprintln!("50 MB flood: {alone:?} with nobody attached, {stopped:?} with a stopped client");
    let rss = std::fs::read_to_string(format!("/proc/{}/status", host.pid())).unwrap();
    let rss_kib: u64 = rss
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .unwrap()
        .trim()
        .trim_end_matches(" kB")
        .parse()
        .unwrap();
    assert!(
        rss_kib < 64 * 1024,
        "host RSS {rss_kib} KiB with a stopped client"
    );

    // After SIGCONT the client catches up with a full redraw.
    kill(client.pid(), Signal::SIGCONT).unwrap();
    client.wait_screen("flood-42-again");
    let want = host.capture(&[]);
    let got = wait_until(DEADLINE, || {
        let screen = client.screen();
        let same = screen
            .lines()
            .map(str::trim_end)
            .eq(want.lines().map(str::trim_end).take(screen.lines().count()));
        same.then_some(screen)
    });
    assert!(
        got.is_some(),
        "client shows the session's screen:\n{}\nvs\n{want}",
        client.screen()
    );
}

#[test]
fn restarts_and_the_end_of_the_session_reach_attached_clients() {
    let env = Env::new();
    let host = shell(&env, "life", &["--restart-delay", "100ms"]);
    let mut client = TermClient::attach(&env, &["life"], 100, 30);
    client.wait_screen("$");
    let pid = host.status()["pid"].as_u64().unwrap();
    kill(nix::unistd::Pid::from_raw(pid as i32), Signal::SIGKILL).unwrap();
    client.wait_screen("[berth] killed by signal 9 (SIGKILL)");
    host.wait_status("the new shell", |s| {
        s["state"] == "running" && s["pid"].as_u64() != Some(pid)
    });
    client.keys(b"echo reborn-$((3+4))\r");
    client.wait_screen("reborn-7");
    assert_eq!(clients(&host), 1, "the client stayed attached");
    // Stopping the session ends the client.
    kill(
        nix::unistd::Pid::from_raw(host.pid() as i32),
        Signal::SIGTERM,
    )
    .unwrap();
    assert!(client.wait_exit().success());
    client.wait_printed("[session life ended]");
}

#[test]
fn input_modes_come_back_on_reattach() {
    let env = Env::new();
    let host = shell(&env, "modes", &[]);
    // Bash turns bracketed paste on at its prompt.
    host.send(&["bind 'set enable-bracketed-paste on'", "Enter"]);
    let client = TermClient::attach(&env, &["modes"], 80, 24);
    client.wait_screen("$");
    client.keys(b"\r");
    wait_for("bracketed paste on the client", DEADLINE, || {
        client.with_screen(|s| s.bracketed_paste()).then_some(())
    });
    client.detach();
    let mut client = client;
    assert!(client.wait_exit().success());
    client.with_screen(|s| assert!(!s.bracketed_paste(), "turned off on detach"));
    let again = TermClient::attach(&env, &["modes"], 80, 24);
    again.wait_screen("$");
    again.with_screen(|s| assert!(s.bracketed_paste(), "restored on reattach"));
    // A paste is still one paste.
    again.keys(b"\x1b[200~echo pasted-$((8*8))\x1b[201~\r");
    again.wait_screen("pasted-64");
}

#[test]
fn signals_to_the_client_restore_its_terminal() {
    let env = Env::new();
    let _host = shell(&env, "sig", &[]);
    for sig in [Signal::SIGTERM, Signal::SIGHUP] {
        let mut client = TermClient::attach(&env, &["sig"], 80, 24);
        let before = client.initial.clone();
        client.wait_screen("$");
        wait_for("raw mode", DEADLINE, || {
            (!client
                .termios()
                .local_modes
                .contains(rustix::termios::LocalModes::ICANON))
            .then_some(())
        });
        kill(client.pid(), sig).unwrap();
        let status = client.wait_exit();
        assert_eq!(status.code(), Some(1));
        assert_eq!(client.termios().local_modes, before.local_modes, "{sig}");
        client.wait_printed(&format!("[detached from sig: berth got {}]", sig.as_str()));
    }
}

#[test]
fn without_a_terminal() {
    let env = Env::new();
    let host = shell(&env, "pipe", &[]);
    host.send(&["echo on-screen-$((9*9))", "Enter"]);
    host.wait_screen("on-screen-81");
    // stdin is not a terminal.
    let out = env.berth(&["attach", "pipe"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "berth: attach needs a terminal, and stdin is not one (use berth capture NAME, or berth attach -r NAME | ... to stream text)"
    );
    // A bad detach key is refused before anything happens.
    let out = env.berth(&["attach", "pipe", "--detach-key", "Up"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "berth: invalid value 'Up' for '--detach-key <DETACH_KEY>': bad detach key \"Up\": expected a single key such as C-b, C-a or C-] (see berth --help)"
    );
    // -r into a pipe streams text: the screen, then live output.
    let mut reader = std::process::Command::new(bin("berth"))
        .args(["attach", "-r", "pipe"])
        .env("BERTH_RUNTIME_DIR", env.runtime())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = reader.stdout.take().unwrap();
    let text = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    {
        let text = std::sync::Arc::clone(&text);
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = std::io::Read::read(&mut stdout, &mut buf) {
                if n == 0 {
                    break;
                }
                text.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
    }
    wait_for("the screen as text", DEADLINE, || {
        text.lock().unwrap().contains("on-screen-81").then_some(())
    });
    host.wait_status("a read-only reader", |s| {
        s["clients"][0]["mode"] == "read-only"
    });
    host.send(&["printf '\\033[31mcolour-%s\\033[0m\\n' $((4+4))", "Enter"]);
    wait_for("live output", DEADLINE, || {
        text.lock().unwrap().contains("colour-8").then_some(())
    });
    assert!(
        !text.lock().unwrap().contains("\x1b["),
        "escape sequences are stripped"
    );
    reader.kill().unwrap();
    reader.wait().unwrap();
}

#[test]
fn prefix_twice_sends_it_and_a_lost_host_restores_the_terminal() {
    let env = Env::new();
    let host = shell(&env, "lost", &[]);
    let client = TermClient::attach(&env, &["lost"], 80, 24);
    client.wait_screen("$");
    client.keys(b"cat -v\r");
    host.wait_status("cat in the foreground", |s| s["foreground"] == "cat");
    client.keys(b"\x02\x02x\r");
    client.wait_screen("^Bx");
    // A custom prefix: C-a, then d.
    drop(client);
    let mut client = TermClient::attach(&env, &["--detach-key", "C-a", "lost"], 80, 24);
    client.wait_screen("^Bx");
    client.keys(b"\x02\x01\x01\r");
    client.wait_screen("^B^A");
    // The host dies without a word: the client says so and restores the terminal.
    kill(
        nix::unistd::Pid::from_raw(host.pid() as i32),
        Signal::SIGKILL,
    )
    .unwrap();
    let status = client.wait_exit();
    assert_eq!(status.code(), Some(1));
    client.wait_printed("[lost connection to session lost]");
    assert_eq!(client.termios().local_modes, client.initial.local_modes);
}

#[test]
fn a_smaller_terminal_sees_a_cropped_window_not_wrapped_lines() {
    let env = Env::new();
    // The session keeps 120x40 while only a read-only client watches.
    let host = shell(&env, "wide", &["--size", "120x40"]);
    let long = format!("{}END", "abcdefghij".repeat(10));
    host.send(&[&format!("echo {long}"), "Enter"]);
    host.wait_screen(&format!("\n{long}"));
    let client = TermClient::attach(&env, &["-r", "wide"], 75, 19);
    // A notice of the real size on the last line, and the window follows
    // the cursor: the prompt is at column 2 of the session, so the window
    // starts at column 1 and the long line is cut at 75 columns, not wrapped.
    client.wait_screen("[berth] session 120x40, terminal 75x19");
    client.with_screen(|s| {
        let rows: Vec<String> = s.rows(0, 75).collect();
        let cut = &long[..75];
        assert!(rows.iter().any(|r| r == cut), "{rows:#?}");
        assert!(!rows.iter().any(|r| r.contains("END")), "{rows:#?}");
    });
    // A cursor far to the right moves the window there (the prompt
    // follows the text on the same line).
    host.send(&["printf '%108s' RIGHT-EDGE", "Enter"]);
    client.wait_screen("RIGHT-EDGE$");
    assert_eq!(size(&host), (120, 40), "a read-only client never resizes");
    // A terminal as large as the session gets the plain stream again.
    client.resize(120, 40);
    client.wait_screen(&long);
    // Output passed through while it fits is in the window when it
    // shrinks again (the client asks the host for the screen then).
    host.send(&["echo WIDE-$((6*7))", "Enter"]);
    client.wait_screen("WIDE-42");
    client.resize(75, 19);
    client.wait_screen("[berth] session 120x40, terminal 75x19");
    assert!(client.screen().contains("WIDE-42"), "{}", client.screen());
    client.resize(120, 40);
    client.wait_screen(&long);
    // A full-screen program: the terminal follows it to the alternate screen
    // and its cursor-key mode while cropped, and keeps both when it grows
    // back.
    client.resize(75, 19);
    host.send(&[
        "printf '\\033[?1049h\\033[H\\033[?1hALT-%s' SCREEN",
        "Enter",
    ]);
    client.wait_screen("ALT-SCREEN");
    let modes = |c: &TermClient| c.with_screen(|s| (s.alternate_screen(), s.application_cursor()));
    assert_eq!(modes(&client), (true, true), "{:?}", client.printed());
    client.resize(120, 40);
    wait_until(DEADLINE, || {
        client.screen().contains("ALT-SCREEN").then_some(())
    })
    .expect("the whole alternate screen");
    assert_eq!(modes(&client), (true, true), "{:?}", client.printed());
    host.send(&["printf '\\033[?1049l\\033[?1l'", "Enter"]);
    wait_until(DEADLINE, || {
        (modes(&client) == (false, false)).then_some(())
    })
    .expect("back on the main screen with normal cursor keys");
}
