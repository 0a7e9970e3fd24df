//! Service accounts and the access matrix, as root with throwaway accounts:
//! operator, observer, stranger (past the file gate) and outsider (stopped
//! by it) against attach read-write, attach read-only, send, capture and
//! restart. Says SKIPPED without root; CI sets BERTH_REQUIRE_ROOT_TESTS=1.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::process::{Command, Output};

use berth_e2e::daemon::Daemon;
use berth_e2e::term_client::TermClient;
use berth_e2e::*;

/// Throwaway accounts, removed on drop however the test ends.
struct Accounts;

const USERS: &[&str] = &["bt-op", "bt-obs", "bt-str", "bt-out"];
const GROUPS: &[&str] = &["bt-oncall", "bt-sock"];

impl Accounts {
    fn create() -> Self {
        let guard = Accounts;
        guard.remove();
        for g in GROUPS {
            run("groupadd", &["--system", g]);
        }
        run(
            "useradd",
            &[
                "--system",
                "--no-create-home",
                "-G",
                "bt-oncall,bt-sock",
                "bt-op",
            ],
        );
        run(
            "useradd",
            &["--system", "--no-create-home", "-G", "bt-sock", "bt-obs"],
        );
        run(
            "useradd",
            &["--system", "--no-create-home", "-G", "bt-sock", "bt-str"],
        );
        run("useradd", &["--system", "--no-create-home", "bt-out"]);
        guard
    }

    fn remove(&self) {
        for u in USERS.iter().chain(["bt-svc"].iter()) {
            let _ = Command::new("userdel").arg(u).output();
        }
        for g in GROUPS {
            let _ = Command::new("groupdel").arg(g).output();
        }
        let _ = std::fs::remove_dir_all("/var/lib/berth/acl");
    }
}

impl Drop for Accounts {
    fn drop(&mut self) {
        self.remove();
    }
}

fn run(cmd: &str, args: &[&str]) {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{cmd}: {e}"));
    assert!(
        out.status.success(),
        "{cmd} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn berth_as(d: &Daemon, user: &str, args: &[&str]) -> Output {
    Command::new("runuser")
        .args(["-u", user, "--"])
        .arg(bin("berth"))
        .args(args)
        .env("BERTH_RUNTIME_DIR", d.runtime())
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

const CONFIG: &str = r#"
[session.acl]
command = ["bash", "--norc", "--noprofile", "-i"]
user = "bt-svc"
create_user = true
access.operators = ["group:bt-oncall"]
access.observers = ["bt-obs"]
access.group = "bt-sock"
"#;

#[test]
fn service_accounts_and_the_access_matrix() {
    if skip_unless_root(
        "service_accounts_and_the_access_matrix",
        &["/usr/sbin/useradd", "/usr/sbin/runuser"],
    ) {
        return;
    }
    let _accounts = Accounts::create();
    let d = Daemon::start_system(CONFIG);
    d.wait_running(&["acl"]);

    // The socket: the service account's, the access group's, 0660, in root-owned directories.
    let socket = d.runtime().join("sessions/acl.sock");
    let meta = std::fs::metadata(&socket).unwrap();
    assert_eq!(meta.uid(), uid("bt-svc"));
    assert_eq!(
        meta.gid(),
        nix::unistd::Group::from_name("bt-sock")
            .unwrap()
            .unwrap()
            .gid
            .as_raw()
    );
    assert_eq!(meta.permissions().mode() & 0o777, 0o660);
    for dir in [d.runtime(), d.runtime().join("sessions")] {
        let m = std::fs::metadata(&dir).unwrap();
        assert_eq!(
            (m.uid(), m.permissions().mode() & 0o777),
            (0, 0o755),
            "{}",
            dir.display()
        );
    }

    // The program really runs as the service account.
    let out = d.berth(&[
        "send",
        "acl",
        "echo uid=$(id -u) user=$(id -un) home=$HOME",
        "Enter",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let svc = uid("bt-svc");
    wait_for("the program's identity", DEADLINE, || {
        let text = String::from_utf8_lossy(&d.berth(&["capture", "acl"]).stdout).into_owned();
        text.contains(&format!("uid={svc} user=bt-svc home=/var/lib/berth/acl"))
            .then_some(())
    });
    let status: serde_json::Value =
        serde_json::from_slice(&d.berth(&["status", "acl", "--json"]).stdout).unwrap();
    assert_eq!(status["user"], "bt-svc");
    assert_eq!(status["uid"], svc);

    let denied_str = format!(
        "berth: permission denied: bt-str (uid {}) is not an operator or observer of session acl",
        uid("bt-str")
    );
    let denied_out = format!(
        "berth: permission denied: cannot open the socket of session \"acl\" at {} (owner bt-svc, group bt-sock, mode 0660); ask an admin for access to it",
        socket.display()
    );

    // capture
    assert!(berth_as(&d, "bt-op", &["capture", "acl"]).status.success());
    assert!(berth_as(&d, "bt-obs", &["capture", "acl"]).status.success());
    assert_eq!(
        stderr(&berth_as(&d, "bt-str", &["capture", "acl"])),
        denied_str
    );
    assert_eq!(
        stderr(&berth_as(&d, "bt-out", &["capture", "acl"])),
        denied_out
    );
    // send
    assert!(
        berth_as(&d, "bt-op", &["send", "acl", "echo from-op", "Enter"])
            .status
            .success()
    );
    assert_eq!(
        stderr(&berth_as(
            &d,
            "bt-obs",
            &["send", "acl", "echo from-obs", "Enter"]
        )),
        "berth: permission denied: bt-obs is an observer of acl and cannot send input"
    );
    assert_eq!(
        stderr(&berth_as(
            &d,
            "bt-str",
            &["send", "acl", "echo from-str", "Enter"]
        )),
        denied_str
    );
    assert_eq!(
        stderr(&berth_as(&d, "bt-out", &["send", "acl", "x"])),
        denied_out
    );
    // restart
    assert_eq!(
        stderr(&berth_as(&d, "bt-obs", &["restart", "acl"])),
        "berth: permission denied: bt-obs is an observer of acl and cannot restart it"
    );
    assert_eq!(
        stderr(&berth_as(&d, "bt-str", &["restart", "acl"])),
        denied_str
    );
    assert_eq!(
        stderr(&berth_as(&d, "bt-out", &["restart", "acl"])),
        denied_out
    );
    // attach read-only (into a pipe: the text reader)
    let out = berth_as(&d, "bt-str", &["attach", "-r", "acl"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stderr(&out), denied_str);
    assert_eq!(
        stderr(&berth_as(&d, "bt-out", &["attach", "-r", "acl"])),
        denied_out
    );
    // attach read-write: the operator writes, the observer is held to read-only.
    let op = TermClient::attach_as(Some("bt-op"), &d.runtime(), &["acl"], 80, 24);
    op.wait_screen("from-op");
    let obs = TermClient::attach_as(Some("bt-obs"), &d.runtime(), &["acl"], 80, 24);
    obs.wait_printed("[attached to acl read-only: you may only observe it]");
    let status = wait_until(DEADLINE, || {
        let s: serde_json::Value =
            serde_json::from_slice(&d.berth(&["status", "acl", "--json"]).stdout).ok()?;
        (s["clients"].as_array()?.len() == 2).then_some(s)
    })
    .expect("two clients");
    let clients = status["clients"].as_array().unwrap();
    let mode_of = |u: &str| {
        clients
            .iter()
            .find(|c| c["user"] == u)
            .map(|c| c["mode"].clone())
    };
    assert_eq!(mode_of("bt-op"), Some("read-write".into()));
    assert_eq!(mode_of("bt-obs"), Some("read-only".into()));
    assert_eq!(
        clients.iter().find(|c| c["user"] == "bt-op").unwrap()["uid"],
        uid("bt-op")
    );
    obs.keys(b"echo typed-by-obs\r");
    op.keys(b"echo typed-by-op\r");
    obs.wait_screen("typed-by-op");
    assert!(
        !String::from_utf8_lossy(&d.berth(&["capture", "acl", "-S", "-"]).stdout)
            .contains("typed-by-obs")
    );
    // The operator may restart.
    assert!(berth_as(&d, "bt-op", &["restart", "acl"]).status.success());
    // And stop and start, though not in the berth group (berthd's control
    // socket is closed to them): the host itself is asked.
    let out = berth_as(&d, "bt-op", &["stop", "acl"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let stopped: serde_json::Value =
        serde_json::from_slice(&d.berth(&["status", "acl", "--json"]).stdout).unwrap();
    assert_eq!(stopped["state"], "stopped");
    assert_eq!(
        stderr(&berth_as(&d, "bt-obs", &["start", "acl"])),
        "berth: permission denied: bt-obs is an observer of acl and cannot start it"
    );
    let out = berth_as(&d, "bt-op", &["start", "acl"]);
    assert!(out.status.success(), "{}", stderr(&out));
    d.wait_running(&["acl"]);

    // Root is refused without allow_root.
    let cfg = d.dir.path().join("root.toml");
    std::fs::write(&cfg, "[session.r]\ncommand = [\"true\"]\nuser = \"root\"\n").unwrap();
    let out = Command::new(bin("berthd"))
        .args(["--check", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains(
        ":3:8: session \"r\" would run as root: set allow_root = true if you mean it, or choose a service account"
    ));
}

/// Accounts of the second test, removed on drop.
struct HomelessAccounts {
    made_berth_group: bool,
}

impl HomelessAccounts {
    const USERS: [&'static str; 4] = ["bt3-svc", "berth-bt3adhoc", "berth-bt3fail", "bt3-adm"];

    fn create() -> Self {
        let mut guard = Self {
            made_berth_group: false,
        };
        guard.remove();
        if nix::unistd::Group::from_name("berth").unwrap().is_none() {
            run("groupadd", &["--system", "berth"]);
            guard.made_berth_group = true;
        }
        // Debian's usual service account: no home, a shell nobody logs in with.
        run(
            "useradd",
            &[
                "--system",
                "--no-create-home",
                "--home-dir",
                "/nonexistent",
                "--shell",
                "/usr/sbin/nologin",
                "bt3-svc",
            ],
        );
        run(
            "useradd",
            &["--system", "--no-create-home", "-G", "berth", "bt3-adm"],
        );
        guard
    }

    fn remove(&mut self) {
        for u in Self::USERS {
            let _ = Command::new("userdel").arg(u).output();
        }
        for dir in ["bt3adhoc", "bt3fail"] {
            let _ = std::fs::remove_dir_all(format!("/var/lib/berth/{dir}"));
        }
        if self.made_berth_group {
            let _ = Command::new("groupdel").arg("berth").output();
        }
    }
}

impl Drop for HomelessAccounts {
    fn drop(&mut self) {
        self.remove();
    }
}

const HOMELESS: &str = r#"
[daemon]
admins = ["bt3-adm"]

[session.nohome]
command = ["bash", "--norc", "--noprofile", "-i"]
user = "bt3-svc"

[session.badcwd]
command = ["bash", "--norc", "--noprofile", "-i"]
user = "bt3-svc"
cwd = "/no/such/dir"
restart = "never"
"#;

#[test]
fn homeless_accounts_and_adhoc_sessions_in_system_mode() {
    if skip_unless_root(
        "homeless_accounts_and_adhoc_sessions_in_system_mode",
        &["/usr/sbin/useradd", "/usr/sbin/runuser"],
    ) {
        return;
    }
    let _accounts = HomelessAccounts::create();
    let d = Daemon::start_system(HOMELESS);
    // An account without a home runs in /, with /bin/sh as its SHELL.
    wait_for("nohome to run", DEADLINE, || {
        d.ls()
            .iter()
            .any(|r| r.0 == "nohome" && r.1 == "running")
            .then_some(())
    });
    let out = d.berth(&[
        "send",
        "nohome",
        "echo cwd=$(pwd) shell=$SHELL home=$HOME",
        "Enter",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    wait_for("the program's directory and shell", DEADLINE, || {
        String::from_utf8_lossy(&d.berth(&["capture", "nohome"]).stdout)
            .contains("cwd=/ shell=/bin/sh home=/nonexistent")
            .then_some(())
    });
    // An explicit cwd that is missing stays an error, said plainly.
    let status = wait_for("badcwd to give up", DEADLINE, || {
        let v: serde_json::Value =
            serde_json::from_slice(&d.berth(&["status", "badcwd", "--json"]).stdout).ok()?;
        (v["state"] == "exited").then_some(v)
    });
    assert_eq!(
        status["last_error"],
        "cannot start bash: working directory /no/such/dir (cwd) does not exist or is not a directory"
    );

    // berth new as root: the same defaults and checks as a declared session.
    let out = d.berth(&[
        "new",
        "bt3adhoc",
        "--",
        "bash",
        "--norc",
        "--noprofile",
        "-i",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let status = wait_for("bt3adhoc to run", DEADLINE, || {
        let v: serde_json::Value =
            serde_json::from_slice(&d.berth(&["status", "bt3adhoc", "--json"]).stdout).ok()?;
        (v["state"] == "running").then_some(v)
    });
    assert_eq!(status["user"], "berth-bt3adhoc");
    let socket = std::fs::metadata(d.runtime().join("sessions/bt3adhoc.sock")).unwrap();
    assert_eq!(socket.uid(), uid("berth-bt3adhoc"));
    assert_eq!(socket.permissions().mode() & 0o777, 0o660);
    assert_eq!(
        stderr(&d.berth(&["new", "r", "--user", "root", "--", "bash"])),
        "berth: berth new does not run sessions as root: declare the session in the config with user = \"root\" and allow_root = true if you mean it"
    );
    assert_eq!(
        stderr(&d.berth(&["new", "nouser", "--user", "bt3-nosuch", "--", "bash"])),
        "berth: user \"bt3-nosuch\" does not exist: create it, or set create_user = true"
    );
    // An admin's ad-hoc session is the admin's to operate.
    let out = berth_as(
        &d,
        "bt3-adm",
        &["new", "bt3adm", "--", "bash", "--norc", "--noprofile", "-i"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    wait_for("the admin's session", DEADLINE, || {
        berth_as(&d, "bt3-adm", &["send", "bt3adm", "echo mine", "Enter"])
            .status
            .success()
            .then_some(())
    });
    assert!(berth_as(&d, "bt3-adm", &["kill", "bt3adm"])
        .status
        .success());
    let _ = Command::new("userdel").arg("berth-bt3adm").output();
    let _ = std::fs::remove_dir_all("/var/lib/berth/bt3adm");

    // A new that fails after its account was made leaves nothing behind.
    std::fs::create_dir(d.runtime().join("sessions/bt3fail.sock")).unwrap();
    let out = d.berth(&["new", "bt3fail", "--", "bash"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.starts_with(&format!(
            "berth: failed to start session \"bt3fail\": {} exists and is not a socket; remove it",
            d.runtime().join("sessions/bt3fail.sock").display()
        )),
        "{err}"
    );
    assert!(err.ends_with("; nothing was left behind"), "{err}");
    assert!(nix::unistd::User::from_name("berth-bt3fail")
        .unwrap()
        .is_none());
    assert!(!d.runtime().join("hosts/bt3fail.json").exists());
    assert!(!d.ls().iter().any(|r| r.0 == "bt3fail"));
    assert!(!std::path::Path::new("/var/lib/berth/bt3fail").exists());
    assert!(!d.dir.path().join("logs/bt3fail").exists());
}
