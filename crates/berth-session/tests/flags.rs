//! `berth-session` refuses bad flags with one clear line, before touching
//! anything. (Also: having an integration test makes `cargo test
//! --workspace` build this binary, which the end-to-end tests in `tests/` run.)

use std::process::Command;

fn host(args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_berth-session"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn bad_flags_are_named() {
    let base = ["--name", "x", "--socket", "/nonexistent/dir/x.sock"];
    let cases: &[(&[&str], &str)] = &[
        (
            &["--restart", "sometimes"],
            "bad restart policy \"sometimes\": expected always, on-failure or never",
        ),
        (
            &["--size", "0x10"],
            "bad terminal size \"0x10\": expected COLSxROWS with both between 2 and 1000",
        ),
        (
            &["--restart-delay", "10x"],
            "bad duration \"10x\": expected seconds, or a number with a unit",
        ),
        (
            &["--log-max-size", "lots"],
            "bad size \"lots\": expected bytes with an optional unit K, M or G",
        ),
        (
            &["--env", "NOEQUALS"],
            "bad environment entry \"NOEQUALS\": expected KEY=VALUE",
        ),
        (
            &["--size-policy", "biggest"],
            "bad size policy \"biggest\": expected smallest or latest",
        ),
    ];
    for (flags, expected) in cases {
        let mut args: Vec<&str> = base.to_vec();
        args.extend_from_slice(flags);
        args.extend_from_slice(&["--", "true"]);
        let (code, err) = host(&args);
        assert_eq!(code, Some(2), "{flags:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{flags:?}: {err}");
        assert!(err.contains(expected), "{flags:?}: {err}");
    }
    let (code, err) = host(&["--name", "a/b", "--socket", "/tmp/x.sock", "--", "true"]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("bad session name \"a/b\": use 1 to 64 of A-Z a-z 0-9 _ . -, starting with a letter or digit"),
        "{err}"
    );
    let (code, err) = host(&["--name", "x", "--socket", "/tmp/x.sock"]);
    assert_eq!(code, Some(2));
    assert_eq!(
        err.trim_end(),
        "berth-session: berth-session needs <COMMAND>... (usage: berth-session [OPTIONS] --name <NAME> --socket <SOCKET> -- <COMMAND>...)"
    );
    let (code, err) = host(&["--bogus"]);
    assert_eq!(code, Some(2));
    assert_eq!(
        err.trim_end(),
        "berth-session: unknown flag '--bogus' (see berth-session --help)"
    );
}

#[test]
fn an_unusable_socket_path_is_reported() {
    let (code, err) = host(&[
        "--name",
        "x",
        "--socket",
        "/proc/berth-cannot/x.sock",
        "--",
        "true",
    ]);
    assert_eq!(code, Some(1));
    assert_eq!(err.trim_end(), "berth-session: failed to create /proc/berth-cannot: No such file or directory (os error 2)");
}
