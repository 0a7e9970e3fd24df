//! berth believes only what the system vouches for (issue 28): a runtime
//! directory or socket someone else planted, a config file another user
//! can write. As root with throwaway accounts (`bt3-*`), removed after.
//! Says SKIPPED without root; CI sets BERTH_REQUIRE_ROOT_TESTS=1.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use berth_e2e::accounts::Throwaway;
use berth_e2e::*;

const VICTIM: &str = "bt3-victim";
const PLANTER: &str = "bt3-planter";
// The second test's pair: tests run at once, each with its own accounts.
const VICTIM2: &str = "bt3-victim2";
const PLANTER2: &str = "bt3-planter2";

/// Runs `program args` as `user` with no runtime directory in the
/// environment at all (as su, sudo, cron and ssh without logind leave it).
fn bare(user: &str, program: &Path, args: &[&str]) -> Output {
    Command::new("runuser")
        .args([
            "-u",
            user,
            "--",
            "env",
            "-u",
            "XDG_RUNTIME_DIR",
            "-u",
            "BERTH_RUNTIME_DIR",
        ])
        .arg(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// A listener of the planter's that writes whatever it is sent to `log`:
/// what an attacker behind a planted socket would see.
fn plant_listener(planter: &str, socket: &Path, log: &Path) -> std::process::Child {
    let script = format!(
        "import socket,os\n\
         s=socket.socket(socket.AF_UNIX)\n\
         s.bind({socket:?})\n\
         os.chmod({socket:?},0o777)\n\
         s.listen(8)\n\
         while True:\n\
         \x20   c,_=s.accept()\n\
         \x20   d=c.recv(65536)\n\
         \x20   open({log:?},'ab').write(d)\n\
         \x20   c.close()\n",
        socket = socket.display().to_string(),
        log = log.display().to_string(),
    );
    // Started as the planter directly (no runuser in between), so killing
    // the child ends the listener.
    use std::os::unix::process::CommandExt;
    let account = nix::unistd::User::from_name(planter).unwrap().unwrap();
    Command::new("python3")
        .args(["-c", &script])
        .uid(account.uid.as_raw())
        .gid(account.gid.as_raw())
        .stdin(Stdio::null())
        .spawn()
        .unwrap()
}

struct Killed(std::process::Child);
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_planted_runtime_directory_is_refused_by_every_verb_and_by_berthd() {
    if skip_unless_root(
        "a_planted_runtime_directory_is_refused_by_every_verb_and_by_berthd",
        &["/usr/sbin/useradd", "/usr/sbin/runuser"],
    ) {
        return;
    }
    let _accounts = Throwaway::create(&[(VICTIM, &[]), (PLANTER, &[])], &[]);
    let victim = uid(VICTIM);
    let planter = uid(PLANTER);
    let planted = std::path::PathBuf::from(format!("/tmp/berth-{victim}"));
    let _ = std::fs::remove_dir_all(&planted);
    struct Gone(std::path::PathBuf);
    impl Drop for Gone {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
            let _ = std::fs::remove_file(&self.0);
        }
    }
    let _gone = Gone(planted.clone());
    // The planter makes the victim's default directory, open to all, with
    // a listener of its own as session "prod" and as berthd.
    let out = Command::new("runuser")
        .args(["-u", PLANTER, "--", "mkdir", "-m", "0777", "-p"])
        .arg(planted.join("sessions"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    std::fs::set_permissions(&planted, std::fs::Permissions::from_mode(0o777)).unwrap();
    let seen = tempfile::Builder::new()
        .prefix("berth-e2e-seen-")
        .tempdir()
        .unwrap();
    std::fs::set_permissions(seen.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let log = seen.path().join("received");
    let session = planted.join("sessions/prod.sock");
    let control = planted.join("control.sock");
    let _fake_host = Killed(plant_listener(PLANTER, &session, &log));
    let _fake_daemon = Killed(plant_listener(PLANTER, &control, &log));
    wait_for("the planted sockets", DEADLINE, || {
        (session.exists() && control.exists()).then_some(())
    });

    let refusal = format!(
        "berth: refusing {}: it is owned by {PLANTER} (uid {planter}), not by you or root; someone else may have put it there: remove it, or set XDG_RUNTIME_DIR (or --runtime-dir) to a directory of your own",
        planted.display()
    );
    let berth = bin("berth");
    for args in [
        &["send", "prod", "password", "Enter"][..],
        &["attach", "-r", "prod"],
        &["run", "prod", "--", "id"],
        &["capture", "prod"],
        &["status", "prod"],
        &["kill", "prod"],
        &["ls"],
        &["reload"],
        &["web", "login"],
        &["watch", "prod"],
    ] {
        let out = bare(VICTIM, &berth, args);
        // run, like wait, says "error" with 2 (its 1 is the command's).
        let code = if args[0] == "run" { 2 } else { 1 };
        assert_eq!(out.status.code(), Some(code), "berth {args:?}");
        assert_eq!(stderr(&out), refusal, "berth {args:?}");
        assert!(
            out.stdout.is_empty(),
            "berth {args:?} printed {:?}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    assert!(
        !log.exists(),
        "the planted sockets received {:?}",
        std::fs::read(&log)
    );

    // berthd as the victim refuses the directory and changes nothing in it.
    let out = bare(VICTIM, &bin("berthd"), &["--user", "--config", "/dev/null"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).ends_with(&refusal["berth: ".len()..]),
        "berthd said {:?}",
        stderr(&out)
    );
    let mode = std::fs::metadata(&planted).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode, 0o777, "berthd changed the planted directory");

    // A link planted where berthd would make its directory is not followed
    // (nor its target chmod'ed).
    drop(_fake_host);
    drop(_fake_daemon);
    std::fs::remove_dir_all(&planted).unwrap();
    let target = tempfile::Builder::new()
        .prefix("berth-e2e-target-")
        .tempdir()
        .unwrap();
    std::fs::set_permissions(target.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = Command::new("runuser")
        .args(["-u", PLANTER, "--", "ln", "-s"])
        .arg(target.path())
        .arg(&planted)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let out = bare(VICTIM, &bin("berthd"), &["--user", "--config", "/dev/null"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).ends_with(&format!(
            "refusing {}: it is a symbolic link (owned by {PLANTER} (uid {planter})); berth follows none here; someone else may have put it there: remove it, or set XDG_RUNTIME_DIR (or --runtime-dir) to a directory of your own",
            planted.display()
        )),
        "berthd said {:?}",
        stderr(&out)
    );
    let mode = std::fs::metadata(target.path())
        .unwrap()
        .permissions()
        .mode()
        & 0o7777;
    assert_eq!(mode, 0o755, "berthd chmod'ed the link's target");
    let out = bare(VICTIM, &berth, &["send", "prod", "x"]);
    assert!(
        stderr(&out).starts_with(&format!(
            "berth: refusing {}: it is a symbolic link",
            planted.display()
        )),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_socket_someone_else_answers_or_planted_in_a_shared_directory_is_refused() {
    if skip_unless_root(
        "a_socket_someone_else_answers_or_planted_in_a_shared_directory_is_refused",
        &["/usr/sbin/useradd", "/usr/sbin/runuser"],
    ) {
        return;
    }
    let _accounts = Throwaway::create(&[(VICTIM2, &[]), (PLANTER2, &[])], &[]);
    let planter = uid(PLANTER2);
    let berth = bin("berth");
    let seen = tempfile::Builder::new()
        .prefix("berth-e2e-seen-")
        .tempdir()
        .unwrap();
    std::fs::set_permissions(seen.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let log = seen.path().join("received");

    // In /tmp (anyone may write, sticky): a socket of the planter's.
    let shared = std::path::PathBuf::from(format!(
        "/tmp/berth-e2e-planted-{}.sock",
        std::process::id()
    ));
    let _ = std::fs::remove_file(&shared);
    let listener = Killed(plant_listener(PLANTER2, &shared, &log));
    wait_for("the planted socket", DEADLINE, || {
        shared.exists().then_some(())
    });
    let out = bare(
        VICTIM2,
        &berth,
        &["--socket", shared.to_str().unwrap(), "send", "prod", "x"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        format!(
            "berth: refusing {}: it is owned by {PLANTER2} (uid {planter}), not by you or root, in a directory anyone may write; someone else may have put it there: remove it, or set XDG_RUNTIME_DIR (or --runtime-dir) to a directory of your own",
            shared.display()
        )
    );

    // In a directory only root can write, a socket file root owns but the
    // planter answers (moved there): who answers is checked too.
    let dir = tempfile::Builder::new()
        .prefix("berth-e2e-moved-")
        .tempdir()
        .unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let moved = dir.path().join("prod.sock");
    std::fs::rename(&shared, &moved).unwrap();
    nix::unistd::chown(&moved, Some(nix::unistd::Uid::from_raw(0)), None).unwrap();
    let out = bare(
        VICTIM2,
        &berth,
        &["--socket", moved.to_str().unwrap(), "send", "prod", "x"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        format!(
            "berth: refusing {}: it is answered by {PLANTER2} (uid {planter}), who is neither you, root nor the socket's owner root (uid 0); someone else may have put it there: remove it",
            moved.display()
        )
    );
    drop(listener);
    let received = std::fs::read(&log).unwrap_or_default();
    assert!(received.is_empty(), "the planter received {received:?}");
}

const AUTHOR: &str = "bt3-author";

#[test]
fn a_config_file_another_user_can_write_is_refused_by_validate_check_and_reload() {
    if skip_unless_root(
        "a_config_file_another_user_can_write_is_refused_by_validate_check_and_reload",
        &["/usr/sbin/useradd"],
    ) {
        return;
    }
    let _accounts = Throwaway::create(&[(AUTHOR, &[])], &[]);
    let author = uid(AUTHOR);
    let ok = "[session.ok]\ncommand = [\"sleep\", \"1000\"]\nuser = \"nobody\"\n";
    let d = berth_e2e::daemon::Daemon::start_system(ok);
    d.wait_running(&["ok"]);
    let includes = d.dir.path().join("sessions.d");
    std::fs::create_dir(&includes).unwrap();
    std::fs::set_permissions(&includes, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(
        d.config(),
        format!("[daemon]\ninclude = [\"sessions.d/*.toml\"]\n\n{ok}"),
    )
    .unwrap();
    // An include an ordinary user owns, declaring a program to run as root.
    let evil = includes.join("evil.toml");
    std::fs::write(
        &evil,
        "[session.evil]\ncommand = [\"touch\", \"/tmp/berth-e2e-evil-ran\"]\nuser = \"root\"\nallow_root = true\n",
    )
    .unwrap();
    nix::unistd::chown(&evil, Some(nix::unistd::Uid::from_raw(author)), None).unwrap();
    let error = format!(
        "{}: refusing this file: it is owned by {AUTHOR} (uid {author}), not by root; berthd runs what it declares as root, so it and its directories must be root's and writable by root alone (chown root:root, chmod go-w)",
        evil.display()
    );
    let config = d.config();
    let out = Command::new(bin("berth"))
        .args(["validate", "--system", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        format!("{error}\nberth: 1 error in the configuration; nothing was changed")
    );
    let out = Command::new(bin("berthd"))
        .args(["--check", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        format!("{error}\nberthd: 1 error in the configuration; nothing was changed")
    );
    let out = d.berth(&["reload"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains(&error), "{}", stderr(&out));
    // root's own, but in a directory anyone may write: the same.
    nix::unistd::chown(&evil, Some(nix::unistd::Uid::from_raw(0)), None).unwrap();
    std::fs::set_permissions(&includes, std::fs::Permissions::from_mode(0o777)).unwrap();
    let out = d.berth(&["reload"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains(&format!(
            "{}: refusing this file: {} is writable by group or others (mode 0777)",
            evil.display(),
            includes.display()
        )),
        "{}",
        stderr(&out)
    );
    let names: Vec<String> = d.ls().into_iter().map(|r| r.0).collect();
    assert_eq!(names, ["ok"], "nothing was changed");
    assert!(!Path::new("/tmp/berth-e2e-evil-ran").exists());
    // Made root's alone, it is taken.
    std::fs::set_permissions(&includes, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(
        &evil,
        "[session.fine]\ncommand = [\"sleep\", \"1000\"]\nuser = \"nobody\"\n",
    )
    .unwrap();
    let out = d.berth(&["reload"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    d.wait_running(&["fine", "ok"]);
}

const ADMIN: &str = "bt3-admin";

/// The processes whose command line is exactly `argv`, joined by spaces.
fn pids_of(argv: &str) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .map(|c| String::from_utf8_lossy(&c).replace('\0', " ").trim_end() == argv)
                .unwrap_or(false)
        })
        .collect()
}

#[test]
fn a_killed_session_leaves_nothing_running_and_nothing_to_the_next_of_its_name() {
    if skip_unless_root(
        "a_killed_session_leaves_nothing_running_and_nothing_to_the_next_of_its_name",
        &["/usr/sbin/useradd", "/usr/sbin/runuser"],
    ) {
        return;
    }
    // The control socket opens to the berth group (made here if missing).
    let made: &[&str] = match nix::unistd::Group::from_name("berth").unwrap() {
        Some(_) => &[],
        None => &["berth"],
    };
    let mut accounts = Throwaway::create(&[(ADMIN, &["berth"])], made);
    accounts.also_remove("berth-bt3esc");
    let home = Path::new("/var/lib/berth/bt3esc");
    let _ = std::fs::remove_dir_all(home);
    struct Homes;
    impl Drop for Homes {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all("/var/lib/berth/bt3esc");
            for e in std::fs::read_dir("/var/lib/berth/.retired")
                .into_iter()
                .flatten()
                .flatten()
            {
                if e.file_name().to_string_lossy().starts_with("bt3esc.") {
                    let _ = std::fs::remove_dir_all(e.path());
                }
            }
        }
    }
    let _homes = Homes;
    let d = berth_e2e::daemon::Daemon::start_system("[daemon]\nadmins = [\"bt3-admin\"]\n");
    // A program that leaves its process session (setsid) and writes a
    // secret to its home and its output.
    let out = d.berth(&[
        "new",
        "bt3esc",
        "--",
        "bash",
        "-c",
        "echo old-secret-output; echo old-secret-file > $HOME/notes; setsid sleep 4242 & exec sleep 1000",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    wait_for("the escaped process", DEADLINE, || {
        (pids_of("sleep 4242").len() == 1).then_some(())
    });
    let status = d.berth(&["status", "bt3esc"]);
    let status = String::from_utf8_lossy(&status.stdout).into_owned();
    // berthd makes groups where it may write its own (as it decides).
    let cgroups = berth_config::paths::own_cgroup_dir().is_some_and(|b| {
        nix::unistd::access(&b.join("cgroup.procs"), nix::unistd::AccessFlags::W_OK).is_ok()
    });
    let cleanup = status
        .lines()
        .find(|l| l.starts_with("cleanup"))
        .unwrap_or_default()
        .to_owned();
    if cgroups {
        let group = berth_config::paths::session_cgroup(&d.runtime(), "bt3esc");
        assert!(
            cleanup.starts_with("cleanup    cgroup /") && cleanup.ends_with(&group),
            "{status}"
        );
    } else {
        assert!(cleanup.starts_with("cleanup    best-effort"), "{status}");
    }
    let out = d.berth(&["kill", "bt3esc"]);
    assert!(out.status.success(), "{}", stderr(&out));
    if cgroups {
        wait_for(
            "the escaped process to be ended with its session",
            DEADLINE,
            || pids_of("sleep 4242").is_empty().then_some(()),
        );
    } else {
        for pid in pids_of("sleep 4242") {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid as i32),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }

    // An admin makes a new session of the same name: nothing of the old
    // one is theirs to read.
    let as_admin = |args: &[&str]| berth_as(ADMIN, &d.runtime(), args);
    let out = as_admin(&[
        "new",
        "bt3esc",
        "--",
        "bash",
        "-c",
        "echo fresh-output; ls -A $HOME; exec sleep 1000",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let logs = wait_for("the new session's output", DEADLINE, || {
        let out = as_admin(&["logs", "bt3esc"]);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.contains("fresh-output").then_some(text)
    });
    assert!(
        !logs.contains("old-secret"),
        "the new session shows the old one's output or files: {logs}"
    );
    assert!(!home.join("notes").exists());
    // Kept for root alone.
    let retired = d.dir.path().join("logs/.retired");
    let meta = std::fs::metadata(&retired).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o700);
    let kept: Vec<_> = std::fs::read_dir(&retired).unwrap().flatten().collect();
    assert_eq!(kept.len(), 1);
    let old = std::fs::read_to_string(kept[0].path().join("bt3esc.log")).unwrap();
    assert!(old.contains("old-secret-output"), "{old}");
    let out = d.berth(&["kill", "bt3esc"]);
    assert!(out.status.success(), "{}", stderr(&out));
}

const MEMBER: &str = "bt3-member";

/// Connects to `socket` as `user`, sends `bytes`, reads until the close.
fn raw_as(user: &str, socket: &Path, bytes: &[u8]) {
    use std::io::{Read, Write};
    // A child as `user` (with its groups) does the talking: the kernel
    // vouches for its uid.
    let script = "import socket,sys\n\
                  s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.settimeout(15)\n\
                  s.sendall(sys.stdin.buffer.read()); s.shutdown(socket.SHUT_WR)\n\
                  while s.recv(65536): pass\n";
    let mut child = Command::new("runuser")
        .args(["-u", user, "--", "python3", "-c", script])
        .arg(socket)
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(bytes).unwrap();
    let status = child.wait().unwrap();
    let mut err = String::new();
    let _ = child.stderr.take().unwrap().read_to_string(&mut err);
    assert!(status.success(), "{err}");
}

#[test]
fn audit_lines_cannot_be_forged_every_refusal_is_one_and_floods_are_summarised() {
    if skip_unless_root(
        "audit_lines_cannot_be_forged_every_refusal_is_one_and_floods_are_summarised",
        &["/usr/sbin/useradd"],
    ) {
        return;
    }
    let made: &[&str] = match nix::unistd::Group::from_name("berth").unwrap() {
        Some(_) => &[],
        None => &["berth"],
    };
    let _accounts = Throwaway::create(&[(MEMBER, &["berth"])], made);
    let member = uid(MEMBER);
    let d = berth_e2e::daemon::Daemon::start_system("");
    let control = d.runtime().join("control.sock");
    let header = berth_proto::Header::ours().to_bytes().to_vec();

    // A name that would end the audit line and forge one of its own.
    let mut forged = berth_e2e::wire::hello();
    berth_proto::encode_control(
        &berth_proto::Request::Daemon(berth_proto::DaemonRequest::Kill {
            name: "x\nFAKE-AUDIT allowed user=root".into(),
        }),
        &mut forged,
    );
    raw_as(MEMBER, &control, &forged);
    // A malformed header, another version, an oversized frame.
    raw_as(MEMBER, &control, b"GET / HTTP/1.0\r\n\r\n");
    let mut other = header.clone();
    other[4] = 0x7f;
    raw_as(MEMBER, &control, &other);
    let mut oversized = header.clone();
    oversized.extend_from_slice(&(64u32 << 20).to_be_bytes());
    oversized.push(0);
    raw_as(MEMBER, &control, &oversized);
    let log = wait_for("the refusals in the audit", DEADLINE, || {
        let log = d.log();
        let refused = log
            .lines()
            .filter(|l| {
                l.contains("control connection refused")
                    && l.contains(&format!("user_uid={member}"))
            })
            .count();
        (refused >= 3).then_some(log)
    });
    assert!(
        !log.lines().any(|l| l.starts_with("FAKE-AUDIT")),
        "a client wrote a line of its own:\n{log}"
    );
    assert!(
        log.contains("control request kill \"x\\nFAKE-AUDIT allowed user=root\": failed"),
        "the name is logged escaped:\n{log}"
    );

    // A flood of refusals: at most a burst written, the rest counted.
    for _ in 0..200 {
        raw_as(MEMBER, &control, b"junkjunk");
    }
    let log = wait_for("the summary of the flood", Duration::from_secs(40), || {
        let log = d.log();
        log.contains(&format!(
            "more refused control connection lines for uid {member} were counted, not written"
        ))
        .then_some(log)
    });
    let written = log
        .lines()
        .filter(|l| {
            l.contains("control connection refused") && l.contains(&format!("user_uid={member}"))
        })
        .count();
    assert!(
        written <= 2 * berth_log::ratelimit::BURST as usize,
        "{written} refusal lines written for one uid"
    );
}
