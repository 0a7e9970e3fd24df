//! The man pages and completion scripts committed under packaging/ are the
//! ones the binaries' definitions and config/README.md render now.

#[test]
fn generated_files_are_current() {
    let root = berth_manual::repo_root();
    let reference = std::fs::read_to_string(root.join("config/README.md")).unwrap();
    let files = berth_manual::generate(&reference);
    let stale: Vec<&str> = files
        .iter()
        .filter(|f| {
            std::fs::read_to_string(root.join(&f.path)).ok().as_deref() != Some(&f.contents)
        })
        .map(|f| f.path.as_str())
        .collect();
    assert!(
        stale.is_empty(),
        "stale generated files (run `cargo run -p berth-manual` and commit them): {stale:?}"
    );
    // Every page berth installs is among them.
    for page in [
        "man/berth.1",
        "man/berth-attach.1",
        "man/berthd.8",
        "man/berth-session.8",
        "man/berth.toml.5",
    ] {
        assert!(
            files.iter().any(|f| f.path == format!("packaging/{page}")),
            "{page}"
        );
    }
}

#[test]
fn check_mode_agrees_and_a_bad_argument_is_one_line() {
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_berth-manual"))
            .args(args)
            .output()
            .unwrap()
    };
    let check = run(&["--check"]);
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    let bad = run(&["--chek"]);
    assert_eq!(bad.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&bad.stderr),
        "berth-manual: unknown argument '--chek' (usage: berth-manual [--check])\n"
    );
}
