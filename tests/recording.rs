//! Recordings (`record = true`, `berth rec`), played by the real asciinema
//! CLI (3.x; `.ci/run` installs it): every exported file converts to text
//! holding what the session showed; command markers carry each command's
//! text and status; intervals are never negative; an export across
//! rotated files plays whole; typed bytes are recorded only with
//! `record_input`; observers may export, strangers may not.

use std::path::{Path, PathBuf};
use std::process::Command;

use berth_e2e::shells::{json, shell_session, stdout};
use berth_e2e::*;
use serde_json::Value;

/// The asciinema CLI, or `None` (SKIPPED, or a failure under
/// BERTH_REQUIRE_ROOT_TESTS=1, where CI installed it).
fn asciinema(test: &str) -> Option<PathBuf> {
    let path = std::env::var_os("BERTH_ASCIINEMA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/opt/asciinema/bin/asciinema"));
    if path.exists() {
        return Some(path);
    }
    assert!(
        std::env::var("BERTH_REQUIRE_ROOT_TESTS").as_deref() != Ok("1"),
        "{test}: the asciinema CLI is not at {}",
        path.display()
    );
    eprintln!(
        "SKIPPED {test}: the asciinema CLI is not at {}",
        path.display()
    );
    None
}

/// What `asciinema convert -f txt` makes of `cast`.
fn as_text(asciinema: &Path, cast: &Path) -> String {
    let txt = cast.with_extension("txt");
    let _ = std::fs::remove_file(&txt);
    let out = Command::new(asciinema)
        .args(["convert", "-f", "txt"])
        .arg(cast)
        .arg(&txt)
        .output()
        .unwrap();
    assert!(out.status.success(), "asciinema convert: {}", stderr(&out));
    std::fs::read_to_string(&txt).unwrap()
}

/// A recording's header and events, checked to be asciicast v3 with no
/// negative interval.
fn events(cast: &Path) -> (Value, Vec<(f64, String, String)>) {
    let text = std::fs::read_to_string(cast).unwrap();
    let mut lines = text.lines();
    let header: Value = serde_json::from_str(lines.next().expect("a header")).unwrap();
    assert_eq!(header["version"], 3, "{header}");
    let events: Vec<(f64, String, String)> = lines
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    for (dt, code, data) in &events {
        assert!(*dt >= 0.0, "a negative interval: {dt} {code} {data}");
    }
    (header, events)
}

fn markers(events: &[(f64, String, String)]) -> Vec<&str> {
    events
        .iter()
        .filter(|(_, code, _)| code == "m")
        .map(|(_, _, data)| data.as_str())
        .collect()
}

/// A recorded bash session with its log in the test's directory.
fn recorded(env: &Env, name: &str, extra: &[&str]) -> Host {
    let log = env.path(&format!("{name}.log"));
    let log = log.to_str().unwrap().to_owned();
    let mut flags = vec!["--log", &log, "--record"];
    flags.extend_from_slice(extra);
    shell_session(env, name, "bash", &flags)
}

fn run(host: &Host, name: &str, command: &str) {
    let out = host.berth(&["run", name, "-t", "20", "--", command]);
    assert!(
        matches!(out.status.code(), Some(0 | 1 | 127)),
        "{command}: {}",
        stderr(&out)
    );
}

#[test]
fn an_export_plays_in_asciinema_with_each_command_and_its_status() {
    let Some(asciinema) =
        asciinema("an_export_plays_in_asciinema_with_each_command_and_its_status")
    else {
        return;
    };
    let env = Env::new();
    let host = recorded(&env, "rec", &[]);
    for command in [
        "true",
        "false",
        "no-such-command-x",
        "echo rec-$((6*7))",
        "sleep 1.5",
    ] {
        run(&host, "rec", command);
    }

    // --list: each command with its status.
    let list = json(&host.berth(&["rec", "rec", "--list", "--json"]));
    let got: Vec<(String, Value)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["command"].as_str().unwrap().to_owned(),
                c["status"].clone(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("true".into(), 0.into()),
            ("false".into(), 1.into()),
            ("no-such-command-x".into(), 127.into()),
            ("echo rec-$((6*7))".into(), 0.into()),
            ("sleep 1.5".into(), 0.into()),
        ]
    );
    assert!(list[4]["duration_ms"].as_u64().unwrap() >= 1500, "{list}");
    // --since and --until pick the commands started between them.
    let at = |i: usize, ms: i64| {
        format!(
            "@{:.3}",
            (list[i]["started_ms"].as_i64().unwrap() + ms) as f64 / 1000.0
        )
    };
    let between = json(&host.berth(&[
        "rec",
        "rec",
        "--list",
        "--json",
        "--since",
        &at(1, 0),
        "--until",
        &at(3, -1),
    ]));
    let names: Vec<&str> = between
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["command"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["false", "no-such-command-x"]);
    let table = stdout(&host.berth(&["rec", "rec", "--list"]));
    let mut rows = table.lines();
    assert_eq!(
        rows.next(),
        Some("STARTED              STATUS       TOOK  COMMAND")
    );
    let third = rows.nth(2).unwrap();
    assert!(
        third.ends_with("   127     ") || third.contains("   127  "),
        "{table}"
    );
    assert!(third.ends_with("  no-such-command-x"), "{table}");

    // The whole recording: asciinema plays it, and the markers carry the
    // commands and their statuses.
    let cast = env.path("whole.cast");
    let out = host.berth(&["rec", "rec", "-o", cast.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = as_text(&asciinema, &cast);
    assert!(text.contains("\nrec-42\n"), "{text}");
    assert!(
        text.contains("no-such-command-x: command not found"),
        "{text}"
    );
    let (header, all) = events(&cast);
    assert_eq!(header["term"]["cols"], 120, "{header}");
    assert_eq!(all[0].0, 0.0, "the export starts at zero");
    let marks = markers(&all);
    for (command, status) in [
        ("true", 0),
        ("false", 1),
        ("no-such-command-x", 127),
        ("echo rec-$((6*7))", 0),
    ] {
        let start = marks
            .iter()
            .position(|m| *m == format!("$ {command}"))
            .unwrap_or_else(|| panic!("no start marker for {command}: {marks:?}"));
        let end = marks[start + 1];
        assert!(
            end.starts_with(&format!("status {status} after "))
                && end.ends_with(&format!("s: {command}")),
            "{command}: {end}"
        );
    }
    assert!(
        marks.iter().any(|m| m.starts_with("program started: bash")),
        "{marks:?}"
    );

    // --idle-limit caps the pause of sleep 1.5.
    let capped = env.path("capped.cast");
    let out = host.berth(&[
        "rec",
        "rec",
        "--idle-limit",
        "500ms",
        "-o",
        capped.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (header, capped_events) = events(&capped);
    assert_eq!(header["idle_time_limit"], 0.5);
    assert!(capped_events.iter().all(|(dt, ..)| *dt <= 0.5));
    assert!(
        all.iter().any(|(dt, ..)| *dt >= 1.4),
        "the uncapped one keeps the pause"
    );

    // --last-commands 2: the screen as it was when `echo` started, then
    // the rest; asciinema plays that too.
    let last = env.path("last.cast");
    let out = host.berth(&[
        "rec",
        "rec",
        "--last-commands",
        "2",
        "-o",
        last.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (_, tail) = events(&last);
    assert_eq!(tail[0].0, 0.0);
    assert!(
        tail[0].2.contains("no-such-command-x: command not found"),
        "the screen before: {:?}",
        tail[0]
    );
    assert_eq!(
        markers(&tail)
            .iter()
            .filter(|m| m.starts_with("$ "))
            .collect::<Vec<_>>(),
        vec![&"$ echo rec-$((6*7))", &"$ sleep 1.5"]
    );
    let text = as_text(&asciinema, &last);
    assert!(text.contains("\nrec-42\n"), "{text}");

    // --since after the last command: the screen alone, still playable.
    let out = host.berth(&["rec", "rec", "--since", "@4102444800"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let empty = env.path("later.cast");
    std::fs::write(&empty, &out.stdout).unwrap();
    let (_, later) = events(&empty);
    assert_eq!(later.len(), 1, "{later:?}");
    assert!(as_text(&asciinema, &empty).contains("rec-42"));

    // The session's end is the recording's `x`, after the program's exit.
    drop(host);
    let (_, ended) = events(&env.path("rec.cast"));
    let (_, code, status) = ended.last().unwrap();
    assert_eq!(
        (code.as_str(), status.as_str()),
        ("x", "129"),
        "bash ended by SIGHUP"
    );
}

#[test]
fn an_export_across_rotated_files_plays_whole() {
    let Some(asciinema) = asciinema("an_export_across_rotated_files_plays_whole") else {
        return;
    };
    let env = Env::new();
    let host = recorded(&env, "rot", &["--log-max-size", "4K", "--log-keep", "40"]);
    // Eight commands of about 3 KB each: every command's output is an
    // event of its own (cut at its marks), and a file of 4 KB holds at
    // most one, so the recording rotates whatever the batches' sizes.
    for c in 1..=8 {
        let command = format!("for i in $(seq 1 250); do echo line-{c}-$i; done");
        run(&host, "rot", &command);
    }
    run(&host, "rot", "echo done-$((40+2))");
    // The recording is written behind the output, on the log's thread.
    wait_for("the recording to rotate three times", DEADLINE, || {
        let rotated = (1..=40)
            .filter(|i| env.path(&format!("rot.cast.{i}")).exists())
            .count();
        (rotated >= 3).then_some(())
    });
    // Each file stands alone: asciinema plays the current one by itself.
    as_text(&asciinema, &env.path("rot.cast"));
    let cast = env.path("all.cast");
    let out = host.berth(&["rec", "rot", "-o", cast.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (_, all) = events(&cast);
    // Every byte of output, in order, once: the stitched `o` events hold
    // every line.
    let output: String = all
        .iter()
        .filter(|(_, code, _)| code == "o")
        .map(|(_, _, data)| data.as_str())
        .collect();
    let mut at = 0;
    for line in (1..=8).flat_map(|c| (1..=250).map(move |i| format!("line-{c}-{i}\r\n"))) {
        at += output[at..]
            .find(&line)
            .unwrap_or_else(|| panic!("{line:?} missing after byte {at}"))
            + line.len();
    }
    let text = as_text(&asciinema, &cast);
    assert!(text.contains("done-42"), "{text}");
    assert_eq!(
        markers(&all).iter().filter(|m| m.starts_with("$ ")).count(),
        9,
        "one start marker per command across the files"
    );
}

#[test]
fn typed_bytes_are_recorded_only_with_record_input() {
    let env = Env::new();
    let quiet = recorded(&env, "quiet", &[]);
    let loud = recorded(&env, "loud", &["--record-input"]);
    for (host, name) in [(&quiet, "quiet"), (&loud, "loud")] {
        // A password read without echo: only typing could record it.
        host.berth(&["send", name, "read -s pw; echo got-${#pw}", "Enter"]);
        host.wait_screen("read -s pw");
        host.berth(&["send", name, "hunter2-secret", "Enter"]);
        host.wait_screen("got-14");
    }
    for (host, name) in [(&quiet, "quiet"), (&loud, "loud")] {
        let out = host.berth(&["rec", name]);
        assert!(out.status.success(), "{}", stderr(&out));
        let cast = env.path(&format!("{name}-export.cast"));
        std::fs::write(&cast, &out.stdout).unwrap();
        let (_, all) = events(&cast);
        let typed: Vec<&str> = all
            .iter()
            .filter(|(_, code, _)| code == "i")
            .map(|(_, _, d)| d.as_str())
            .collect();
        let file = std::fs::read_to_string(env.path(&format!("{name}.cast"))).unwrap();
        if name == "quiet" {
            assert!(typed.is_empty(), "{typed:?}");
            assert!(!file.contains("hunter2"), "a typed secret in the recording");
        } else {
            assert!(typed.contains(&"hunter2-secret\r"), "{typed:?}");
            let me = nix::unistd::User::from_uid(nix::unistd::geteuid())
                .unwrap()
                .unwrap();
            let who = format!("input from {} (uid {})", me.name, me.uid);
            assert!(markers(&all).contains(&who.as_str()), "{:?}", markers(&all));
        }
    }
}

#[test]
fn an_observer_may_export_a_stranger_may_not() {
    if skip_unless_root(
        "an_observer_may_export_a_stranger_may_not",
        &["/usr/sbin/runuser", "/usr/sbin/useradd"],
    ) {
        return;
    }
    let _accounts =
        accounts::Throwaway::create(&[("brec-watch", &[]), ("brec-stranger", &[])], &[]);
    let env = Env::new();
    let host = recorded(&env, "seen", &["--observer", "brec-watch"]);
    run(&host, "seen", "echo seen-$((5*5))");
    use std::os::unix::fs::PermissionsExt;
    for dir in [env.runtime().to_owned(), env.runtime().join("sessions")] {
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    std::fs::set_permissions(env.socket("seen"), std::fs::Permissions::from_mode(0o666)).unwrap();
    let out = berth_as(
        "brec-watch",
        env.runtime(),
        &["rec", "seen", "--list", "--json"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(json(&out)[0]["command"], "echo seen-$((5*5))");
    let out = berth_as("brec-watch", env.runtime(), &["rec", "seen"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("seen-25"));
    let uid = berth_e2e::uid("brec-stranger");
    for args in [&["rec", "seen"][..], &["rec", "seen", "--list"]] {
        let out = berth_as("brec-stranger", env.runtime(), args);
        assert_eq!(out.status.code(), Some(1));
        assert!(out.stdout.is_empty(), "nothing of the recording leaked");
        assert_eq!(
            stderr(&out),
            format!("berth: permission denied: brec-stranger (uid {uid}) is not an operator or observer of session seen")
        );
    }
    // A raw client speaking the protocol is refused the same way.
    let raw = Command::new("runuser")
        .args(["-u", "brec-stranger", "--"])
        .arg(bin("raw-client"))
        .arg(env.socket("seen"))
        .arg(r#"{"type":"recording"}"#)
        .output()
        .unwrap();
    let answer = String::from_utf8_lossy(&raw.stdout);
    assert!(
        answer.contains(&format!(
            "permission denied: brec-stranger (uid {uid}) is not an operator or observer of session seen"
        )) && !answer.contains("seen-25"),
        "{answer}"
    );
}

#[test]
fn bad_requests_get_one_line_that_says_what_to_do() {
    let env = Env::new();
    let plain = env.host("plain", &[], &["bash", "--norc", "--noprofile", "-i"]);
    let out = plain.berth(&["rec", "plain"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "berth: session plain is not recorded: set record = true for it (berth.toml(5)) and berth reload"
    );
    let host = recorded(&env, "nomarks", &[]);
    let cases: &[(&[&str], &str)] = &[
        (&["rec", "nomarks", "--since", "yesterday"], "berth: --since \"yesterday\": expected how long ago (10m, 1h30m, 90) or a time (14:05, 2026-12-08 14:05:30, 2026-12-08T14:05:30Z, @1796694644)"),
        (&["rec", "nomarks", "--since", "1m", "--until", "2m"], "berth: --since is after --until: give the earlier time to --since"),
        (&["rec", "nomarks", "--idle-limit", "0"], "berth: --idle-limit 0 would play the recording as one frame: give a pause like 2s"),
        (&["rec", "nomarks", "--last-commands", "1"], "berth: session nomarks: the recording marks no commands (they are marked by shell integration, in bash, zsh and fish): use --since instead"),
    ];
    for (args, said) in cases {
        let out = host.berth(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert_eq!(stderr(&out), *said, "{args:?}");
    }
}

#[test]
fn record_true_in_the_config_records_the_session_berthd_starts() {
    if !berth_e2e::shells::installed(
        "bash",
        "record_true_in_the_config_records_the_session_berthd_starts",
    ) {
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let d = berth_e2e::daemon::Daemon::start(&format!(
        "[defaults]\nrecord = true\n\n[session.ci]\ncommand = [\"bash\", \"-i\"]\nenv = {{ HOME = \"{}\" }}\n",
        home.path().display()
    ));
    d.wait_running(&["ci"]);
    let out = d.berth(&["run", "ci", "-t", "20", "--", "echo from-berthd-$((2+2))"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let list = json(&d.berth(&["rec", "ci", "--list", "--json"]));
    assert_eq!(list[0]["command"], "echo from-berthd-$((2+2))");
    assert_eq!(list[0]["status"], 0);
    // The recording is beside the output log status names.
    let status = json(&d.berth(&["status", "ci", "--json"]));
    let log = PathBuf::from(status["log"].as_str().unwrap());
    let (_, all) = events(&log.with_extension("cast"));
    assert!(all
        .iter()
        .any(|(_, code, data)| code == "o" && data.contains("from-berthd-4")));
}
