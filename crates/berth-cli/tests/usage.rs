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
fn usage_errors_are_one_line() {
    for args in [
        &["frobnicate"][..],
        &["capture"],
        &["capture", "x", "-S", "top"],
        &["send", "x"],
        &["attach", "x", "--bogus"],
    ] {
        let (code, _, err) = berth(args);
        assert_eq!(code, Some(1), "{args:?}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(
            err.starts_with("berth: ") && err.trim_end().ends_with("(see berth --help)"),
            "{args:?}: {err}"
        );
    }
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
