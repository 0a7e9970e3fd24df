//! The CLI's own usage errors are one line. (Also: having an integration
//! test makes `cargo test --workspace` build `berth`, which the end-to-end
//! tests in `tests/` run.)

use std::process::Command;

fn berth(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(args)
        .env("BERTH_RUNTIME_DIR", "/nonexistent/berth-usage-test")
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn usage_errors_are_one_line_that_names_the_fix() {
    let cases: &[(&[&str], &str)] = &[
        (&[], "berth: no command given: try berth ls, berth attach NAME, or berth --help"),
        (
            &["captur", "x"],
            "berth: unknown command 'captur' (did you mean 'capture'? see berth --help)",
        ),
        (&["frobnicate"], "berth: unknown command 'frobnicate' (see berth --help)"),
        // Two guesses (watch, attach): only the likelier.
        (
            &["atach"],
            "berth: unknown command 'atach' (did you mean 'attach'? see berth --help)",
        ),
        (
            &["capture", "x", "--jsn"],
            "berth: unknown flag '--jsn' (did you mean '--json'? see berth capture --help)",
        ),
        (&["attach", "x", "--bogus"], "berth: unknown flag '--bogus' (see berth attach --help)"),
        (&["capture"], "berth: capture needs <NAME> (usage: berth capture [OPTIONS] <NAME>)"),
        (&["send", "x"], "berth: send needs <KEYS>... (usage: berth send [OPTIONS] <NAME> <KEYS>...)"),
        (
            &["new", "foo", "bash"],
            "berth: unexpected argument 'bash': put the program and its arguments after --, as in berth new NAME -- bash (usage: berth new [OPTIONS] <NAME> -- <COMMAND>...)",
        ),
        (&["new", "foo"], "berth: new needs <COMMAND>... (usage: berth new [OPTIONS] <NAME> -- <COMMAND>...)"),
        (&["status", "x", "y"], "berth: unexpected argument 'y' (usage: berth status [OPTIONS] <NAME>)"),
        (
            &["send", "x", "-l", "-p", "a"],
            "berth: the argument '--literal' cannot be used with '--paste' (see berth send --help)",
        ),
        (
            &["new", "-A", "-d", "x", "--", "bash"],
            "berth: the argument '--attach' cannot be used with '--if-missing' (see berth new --help)",
        ),
        (
            &["mcp", "--sessions", "["],
            "berth: bad session glob \"[\": Pattern syntax error near position 0: invalid range pattern",
        ),
    ];
    for (args, expected) in cases {
        let (code, _, err) = berth(args);
        assert_eq!(code, Some(1), "{args:?}");
        assert_eq!(err.trim_end(), *expected, "{args:?}");
    }
    // A scripting verb's usage error exits 2, as its other errors.
    let (code, _, err) = berth(&["interrupt", "x", "--grace", "nope"]);
    assert_eq!(code, Some(2));
    assert_eq!(
        err.trim_end(),
        "berth: invalid value 'nope' for '--grace <GRACE>': bad duration \"nope\": expected seconds, or a number with a unit, like \"10\", \"500ms\", \"90s\", \"5m\", \"1h30m\" (see berth --help)"
    );
    let (code, _, err) = berth(&["capture", "x", "-S", "top"]);
    assert_eq!(code, Some(1));
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with(
            "berth: invalid value 'top' for '--start <START>': bad line number \"top\""
        ),
        "{err}"
    );
}

#[test]
fn status_json_has_help() {
    let (_, out, _) = berth(&["status", "--help"]);
    assert!(
        out.contains("--json ") && out.contains("{\"name\", \"state\""),
        "{out}"
    );
    assert!(
        out.contains("<NAME>\n          The session's name (see berth ls)"),
        "{out}"
    );
    // And examples.
    assert!(
        out.ends_with("Examples:\n  berth status ci-runner\n      state, pid, restarts, last exit, clients, what its shell runs\n  berth status ci-runner --json | jq .shell.last_status\n      the last command's exit status\n"),
        "{out}"
    );
}

#[test]
fn help_and_version_go_to_stdout() {
    let (code, out, _) = berth(&["--version"]);
    assert_eq!(code, Some(0));
    assert!(out.starts_with("berth "));
    let (code, out, _) = berth(&["--help"]);
    assert_eq!(code, Some(0));
    assert!(out.contains("capture"));
}

#[test]
fn no_session_in_an_empty_runtime_dir() {
    let (code, _, err) = berth(&["status", "ghost"]);
    assert_eq!(code, Some(1));
    assert_eq!(err.trim_end(), "berth: no session \"ghost\" (see berth ls)");
    let (code, out, err) = berth(&["has", "ghost"]);
    assert_eq!((code, out.as_str(), err.as_str()), (Some(1), "", ""));
}

#[test]
fn validate_reports_every_error_and_accepts_the_example() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../../config/example.toml");
    let (code, out, err) = berth(&["validate", "--config", example]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.ends_with(
            ": valid; 3 sessions (monitor, repl, shell), 1 dashboard (overview) from 3 files\n"
        ),
        "{out}"
    );

    let dir = std::env::temp_dir().join(format!("berth-validate-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("berth.toml");
    std::fs::write(
        &bad,
        "[session.a]\ncomand = [\"x\"]\n[session.b]\ncommand = [\"y\"]\nsize = \"big\"\n",
    )
    .unwrap();
    let (code, out, err) = berth(&["validate", "--config", bad.to_str().unwrap()]);
    assert_eq!((code, out.as_str()), (Some(1), ""));
    let lines: Vec<&str> = err.lines().collect();
    let file = bad.display();
    assert_eq!(lines[0], format!("{file}:1:10: session \"a\" has no command: add command = [\"program\", \"arg\"] or command = \"shell line\""));
    assert_eq!(
        lines[1],
        format!("{file}:2:1: unknown key \"comand\" in [session.a] (did you mean \"command\"?)")
    );
    assert!(lines[2].starts_with(&format!("{file}:5:8: size: bad terminal size \"big\"")));
    assert_eq!(
        lines[3],
        "berth: 3 errors in the configuration; nothing was changed"
    );
    let (code, _, err) = berth(&["validate", "--config", "/nonexistent/berth.toml"]);
    assert_eq!(code, Some(1));
    assert!(
        err.starts_with(
            "/nonexistent/berth.toml: cannot read the config: No such file or directory"
        ),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(dir);
}
