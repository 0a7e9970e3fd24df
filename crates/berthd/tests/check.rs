//! `berthd --check` and berthd's own flag errors. (Also: having an
//! integration test makes `cargo test --workspace` build `berthd`, which the
//! end-to-end tests in `tests/` run.)

use std::process::Command;

fn berthd(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_berthd"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn check_prints_every_error() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("berth.toml");
    std::fs::write(
        &config,
        "[session.a]\ncommand = [\"x\"]\nsize = \"big\"\n[session.b]\nrestrat = \"always\"\n",
    )
    .unwrap();
    let (code, _, err) = berthd(&["--user", "--check", "--config", config.to_str().unwrap()]);
    assert_eq!(code, Some(1));
    let lines: Vec<&str> = err.lines().collect();
    let file = config.display();
    assert!(
        lines[0].starts_with(&format!("{file}:3:8: size: bad terminal size \"big\"")),
        "{err}"
    );
    assert_eq!(lines[1], format!("{file}:4:10: session \"b\" has no command: add command = [\"program\", \"arg\"] or command = \"shell line\""));
    assert_eq!(
        lines[2],
        format!("{file}:5:1: unknown key \"restrat\" in [session.b] (did you mean \"restart\"?)")
    );
    assert_eq!(
        lines[3],
        "berthd: 3 errors in the configuration; nothing was changed"
    );

    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../../config/example.toml");
    let (code, out, _) = berthd(&["--user", "--check", "--config", example]);
    assert_eq!(code, Some(0));
    assert!(
        out.ends_with(
            ": valid; 3 sessions (monitor, repl, shell), 1 dashboard (overview) from 3 files\n"
        ),
        "{out}"
    );
}

#[test]
fn unavailable_backend_is_refused_before_anything_starts() {
    // Asked for by the flag, or by the config's [daemon] backend.
    for (config_text, flags) in [
        (
            "[session.a]\ncommand = [\"sleep\", \"100\"]\n",
            &["--backend", "systemd"][..],
        ),
        ("[daemon]\nbackend = \"systemd\"\n", &[][..]),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("berth.toml");
        std::fs::write(&config, config_text).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_berthd"))
            .args(["--user", "--config", config.to_str().unwrap()])
            .args(flags)
            .env("BERTH_RUNTIME_DIR", dir.path().join("run"))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        assert_eq!(
            String::from_utf8_lossy(&out.stderr).trim_end(),
            "berthd: the systemd backend needs system mode (berthd as root, without --user); use the embedded backend"
        );
        assert!(
            !dir.path().join("run/sessions").exists(),
            "nothing was started"
        );
    }
}

#[test]
fn a_bad_flag_is_one_line() {
    let (code, out, err) = berthd(&["--bogus"]);
    assert_eq!((code, out.as_str()), (Some(2), ""));
    assert_eq!(err, "berthd: unknown flag '--bogus' (see berthd --help)\n");
}
