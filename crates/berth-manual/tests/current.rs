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
