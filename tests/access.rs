//! The socket's two gates, seen from another account: the file mode keeps
//! strangers out, and the host checks peer credentials when the mode lets
//! them in. Needs root (to act as `nobody`); says SKIPPED otherwise, and
//! fails instead when BERTH_REQUIRE_ROOT_TESTS=1 (CI sets it).

use std::os::unix::fs::PermissionsExt;

use berth_e2e::*;

/// Runs the CLI as `nobody`.
fn berth_as_nobody(env: &Env, args: &[&str]) -> std::process::Output {
    berth_as("nobody", env.runtime(), args)
}

#[test]
fn strangers_are_kept_out_by_mode_and_by_credentials() {
    if skip_unless_root(
        "strangers_are_kept_out_by_mode_and_by_credentials",
        &["/usr/sbin/runuser"],
    ) {
        return;
    }
    let env = Env::new();
    let host = env.host("guarded", &[], &["bash", "--norc", "--noprofile", "-i"]);
    host.send(&["echo secret-$((3*3))", "Enter"]);
    host.wait_screen("secret-9");
    let socket = env.socket("guarded");
    let mode = std::fs::metadata(&socket).unwrap().permissions().mode() & 0o777;
    assert_eq!(
        mode, 0o600,
        "a session socket is born 0600 when the host binds it"
    );
    // The binaries and directories must be reachable for nobody to try.
    for dir in [env.runtime().to_owned(), env.runtime().join("sessions")] {
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    // Gate one: the file mode.
    let out = berth_as_nobody(&env, &["capture", "guarded"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        format!(
            "berth: permission denied: cannot open the socket of session \"guarded\" at {} (owner root, group root, mode 0600); ask an admin for access to it",
            socket.display()
        )
    );

    // Gate two: even through an open socket, the host says no before any data.
    std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o666)).unwrap();
    let out = berth_as_nobody(&env, &["capture", "guarded"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(out.stdout.len(), 0, "no session data leaked");
    assert_eq!(
        stderr(&out),
        "berth: permission denied: nobody (uid 65534) is not an operator or observer of session guarded"
    );
    let out = berth_as_nobody(&env, &["send", "guarded", "echo pwned", "Enter"]);
    assert_eq!(
        stderr(&out),
        "berth: permission denied: nobody (uid 65534) is not an operator or observer of session guarded"
    );
    assert!(!host.capture(&["-S", "-"]).contains("pwned"));

    // The denial is audited.
    let log = std::fs::read_to_string(env.path("guarded.host.err")).unwrap();
    assert!(
        log.lines().any(|l| l.contains("berth::audit")
            && l.contains("uid=65534")
            && l.contains("user=nobody")
            && l.contains("refused: permission denied")),
        "{log}"
    );
}
