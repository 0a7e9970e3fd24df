//! `berth -H ssh://...` (issue 33) against a real OpenSSH server started
//! here on a loopback port with its own host key, and throwaway accounts
//! logging in with a key: each verb runs on the far side as the ssh login
//! user, under that host's own access lists; ssh's own host key check
//! refuses a wrong key. Root only (accounts, sshd); SKIPPED otherwise.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};

use berth_e2e::accounts::Throwaway;
use berth_e2e::daemon::Daemon;
use berth_e2e::shells::stdout;
use berth_e2e::term_client::TermClient;
use berth_e2e::*;

const OP: &str = "bt6-op";
const OBS: &str = "bt6-obs";
const SVC: &str = "bt6-svc";
const SSHD: &str = "/usr/sbin/sshd";

/// An sshd of the test's own on 127.0.0.1:`port`; killed on drop.
struct Sshd {
    child: Child,
    dir: tempfile::TempDir,
    port: u16,
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{cmd:?}: {}", stderr(&out));
}

fn keygen(path: &Path) {
    run(Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(path));
}

impl Sshd {
    fn start(users: &[&str]) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("berth-sshd-")
            .tempdir()
            .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        keygen(&dir.path().join("host_key"));
        keygen(&dir.path().join("client_key"));
        std::fs::copy(
            dir.path().join("client_key.pub"),
            dir.path().join("authorized_keys"),
        )
        .unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let d = dir.path().display();
        std::fs::write(
            dir.path().join("sshd_config"),
            format!(
                "Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/host_key\nAuthorizedKeysFile {d}/authorized_keys\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\nPermitRootLogin no\nAllowUsers {}\nAcceptEnv BERTH_RUNTIME_DIR\nPidFile {d}/sshd.pid\nStrictModes no\n",
                users.join(" ")
            ),
        )
        .unwrap();
        // (StrictModes no: the keys are in a directory under /tmp, whose
        // sticky world-writable mode sshd would refuse for a home.)
        // The privilege separation directory Debian's package makes at boot.
        std::fs::create_dir_all("/run/sshd").unwrap();
        let host_pub = std::fs::read_to_string(dir.path().join("host_key.pub")).unwrap();
        std::fs::write(
            dir.path().join("known_hosts"),
            format!("[127.0.0.1]:{port} {host_pub}"),
        )
        .unwrap();
        let child = Command::new(SSHD)
            .args(["-D", "-e", "-f"])
            .arg(dir.path().join("sshd_config"))
            .stderr(std::fs::File::create(dir.path().join("sshd.log")).unwrap())
            .spawn()
            .unwrap();
        wait_for("sshd to listen", DEADLINE, || {
            std::net::TcpStream::connect(("127.0.0.1", port)).ok()
        });
        Self { child, dir, port }
    }

    /// BERTH_SSH_COMMAND: our key, our known_hosts, host keys checked.
    fn ssh_command(&self, known_hosts: &Path) -> String {
        format!(
            "ssh -F /dev/null -i {} -o UserKnownHostsFile={} -o StrictHostKeyChecking=yes -o BatchMode=yes -o SendEnv=BERTH_RUNTIME_DIR",
            self.dir.path().join("client_key").display(),
            known_hosts.display()
        )
    }

    /// What `berth -H` needs to reach the far side through this sshd: our
    /// ssh command (with `known`), the far berth, its runtime directory.
    fn env_with(&self, known: &Path, runtime: &Path) -> [(&'static str, std::ffi::OsString); 3] {
        [
            ("BERTH_SSH_COMMAND", self.ssh_command(known).into()),
            ("BERTH_REMOTE_BERTH", bin("berth").into()),
            ("BERTH_RUNTIME_DIR", runtime.into()),
        ]
    }

    /// [`Sshd::env_with`] with the right host key.
    fn env(&self, runtime: &Path) -> [(&'static str, std::ffi::OsString); 3] {
        self.env_with(&self.dir.path().join("known_hosts"), runtime)
    }

    fn url(&self, user: &str) -> String {
        format!("ssh://{user}@127.0.0.1:{}", self.port)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("sshd.log")).unwrap_or_default()
    }
}

/// `berth -H URL ARGS` with the far runtime directory sent along.
fn remote(sshd: &Sshd, user: &str, runtime: &Path, args: &[&str]) -> Output {
    remote_with(
        sshd,
        user,
        runtime,
        &sshd.dir.path().join("known_hosts"),
        args,
    )
}

fn remote_with(sshd: &Sshd, user: &str, runtime: &Path, known: &Path, args: &[&str]) -> Output {
    Command::new(bin("berth"))
        .arg("-H")
        .arg(sshd.url(user))
        .args(args)
        .envs(sshd.env_with(known, runtime))
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn every_verb_runs_on_the_far_host_under_its_own_lists() {
    if skip_unless_root(
        "every_verb_runs_on_the_far_host_under_its_own_lists",
        &["/usr/sbin/useradd", SSHD, "/usr/bin/ssh"],
    ) {
        return;
    }
    let _group = Throwaway::groups_if_missing(&["berth"]);
    let mut accounts = Throwaway::create(&[(OP, &["berth"]), (OBS, &["berth"])], &[]);
    accounts.also_remove(SVC);
    for u in [OP, OBS] {
        // A login shell and an unlocked (if unusable) password: sshd
        // refuses locked accounts even for keys.
        run(Command::new("usermod").args(["-s", "/bin/sh", "-p", "*", u]));
    }
    let d = Daemon::start_system(&format!(
        "[daemon]\nadmins = [\"{OP}\"]\n\n[session.sh]\ncommand = [\"bash\"]\nuser = \"{SVC}\"\ncreate_user = true\naccess.operators = [\"{OP}\"]\naccess.observers = [\"{OBS}\"]\n"
    ));
    d.wait_running(&["sh"]);
    let sshd = Sshd::start(&[OP, OBS]);
    let rt = d.runtime();
    let ok = |user: &str, args: &[&str]| {
        let out = remote(&sshd, user, &rt, args);
        assert!(
            out.status.success(),
            "{args:?} as {user}: {}\nsshd: {}",
            stderr(&out),
            sshd.log()
        );
        stdout(&out)
    };

    // ls and status come from the far berthd and host.
    let rows: serde_json::Value = serde_json::from_str(&ok(OP, &["ls", "--json"])).unwrap();
    assert_eq!(rows[0]["name"], "sh", "{rows}");
    let st: serde_json::Value = serde_json::from_str(&ok(OP, &["status", "sh", "--json"])).unwrap();
    assert_eq!(st["state"], "running");
    // run: the command's output and its exit status, across ssh.
    let out = remote(
        &sshd,
        OP,
        &rt,
        &["run", "sh", "--json", "--", "echo far-$((6*7))"],
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("{} {}", stdout(&out), stderr(&out)));
    assert_eq!(
        (&v["output"], &v["status"]),
        (&"far-42\n".into(), &0.into())
    );
    let v: serde_json::Value = serde_json::from_str(&ok(OBS, &["result", "sh", "--json"])).unwrap();
    assert_eq!(v["output"], "far-42\n", "an observer reads the last result");
    let out = remote(&sshd, OP, &rt, &["run", "sh", "--", "(exit 3)"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    // send, wait and capture.
    let seq: serde_json::Value = serde_json::from_str(&ok(
        OP,
        &["send", "sh", "--json", "echo sent-$((2*5))", "Enter"],
    ))
    .unwrap();
    let since = seq["seq"].to_string();
    ok(
        OP,
        &[
            "wait",
            "sh",
            "--since",
            &since,
            "-m",
            "^sent-10$",
            "-t",
            "20",
        ],
    );
    assert!(ok(OBS, &["capture", "sh"]).contains("sent-10"));
    // The observer reads but may not type: the far host's own lists say so.
    let out = remote(&sshd, OBS, &rt, &["send", "sh", "echo nope", "Enter"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(
        stderr(&out).trim(),
        format!("berth: permission denied: {OBS} is an observer of sh and cannot send input")
    );
    // A command still running at the timeout, then interrupted.
    let out = remote(
        &sshd,
        OP,
        &rt,
        &["run", "sh", "-t", "1", "--", "sleep 1000"],
    );
    assert_eq!(out.status.code(), Some(124), "{}", stderr(&out));
    let v: serde_json::Value =
        serde_json::from_str(&ok(OP, &["interrupt", "sh", "--json"])).unwrap();
    assert_eq!(v["steps"], serde_json::json!(["typed C-c"]), "{v}");
    // The output log, through the far host; -f follows it until stopped.
    assert!(ok(OBS, &["logs", "sh", "--plain"]).contains("sent-10"));
    let mut follow = Command::new(bin("berth"))
        .args(["-H", &sshd.url(OBS), "logs", "sh", "-f", "--plain"])
        .envs(sshd.env(&rt))
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let shown = output_shows(follow.stdout.take().unwrap(), "followed-8");
    ok(OP, &["send", "sh", "echo followed-$((4*2))", "Enter"]);
    let seen = shown.recv_timeout(DEADLINE);
    let _ = follow.kill();
    let _ = follow.wait();
    assert!(seen.is_ok(), "logs -f over ssh never showed the new line");
    // An admin there creates, kills and reloads.
    ok(OP, &["new", "scratch", "--", "bash"]);
    ok(OP, &["kill", "scratch"]);
    ok(OP, &["reload"]);
    // An interactive attach: typed into, detached from.
    let cmd = pty_process::blocking::Command::new(bin("berth"))
        .arg("-H")
        .arg(sshd.url(OP))
        .args(["attach", "sh"])
        .envs(sshd.env(&rt));
    let mut client = TermClient::spawn(cmd, 100, 30);
    client.keys(b"echo typed-$((20+1))\r");
    client.wait_screen("typed-21");
    // A resize of the local terminal reaches the far session.
    client.resize(90, 25);
    wait_for("the far session's new size", DEADLINE, || {
        let st: serde_json::Value =
            serde_json::from_str(&ok(OP, &["status", "sh", "--json"])).ok()?;
        (st["size"]["cols"] == 90 && st["size"]["rows"] == 25).then_some(())
    });
    client.detach();
    client.wait_printed("[detached from sh]");
    assert!(client.wait_exit().success());
    // Lifecycle verbs go to the far berthd, under its rights.
    ok(OP, &["restart", "sh"]);
    let out = remote(&sshd, OBS, &rt, &["stop", "sh"]);
    assert_eq!(
        stderr(&out).trim(),
        format!("berth: permission denied: {OBS} is an observer of sh and cannot stop it")
    );

    // A wrong host key: ssh's own check refuses, berth says so in a line.
    let wrong = sshd.dir.path().join("wrong_known_hosts");
    keygen(&sshd.dir.path().join("other_key"));
    let other = std::fs::read_to_string(sshd.dir.path().join("other_key.pub")).unwrap();
    std::fs::write(&wrong, format!("[127.0.0.1]:{} {other}", sshd.port)).unwrap();
    let out = remote_with(&sshd, OP, &rt, &wrong, &["ls"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out).trim(),
        format!(
            "berth: {OP}@127.0.0.1:{}: ssh could not connect: Host key verification failed.",
            sshd.port
        )
    );
    // A host without berth: one line that says so.
    let out = Command::new(bin("berth"))
        .args(["-H", &sshd.url(OP), "status", "sh"])
        .env(
            "BERTH_SSH_COMMAND",
            sshd.ssh_command(&sshd.dir.path().join("known_hosts")),
        )
        .env("BERTH_REMOTE_BERTH", "/nonexistent/berth")
        .output()
        .unwrap();
    let said = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        said.starts_with(&format!("berth: {OP}@127.0.0.1:{}: berth is not installed there (set BERTH_REMOTE_BERTH to its path if it is not on the PATH of ssh logins): ", sshd.port)),
        "{said}"
    );
    assert_eq!(said.trim().lines().count(), 1, "{said}");
    // A far berth of another protocol version, and a far side that
    // answers with something else (a login script's greeting): one line.
    let far = |script: &str, name: &str| {
        let path = sshd.dir.path().join(name);
        std::fs::write(&path, script).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        let out = Command::new(bin("berth"))
            .args(["-H", &sshd.url(OP), "status", "sh"])
            .env(
                "BERTH_SSH_COMMAND",
                sshd.ssh_command(&sshd.dir.path().join("known_hosts")),
            )
            .env("BERTH_REMOTE_BERTH", &path)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        stderr(&out).trim().to_owned()
    };
    let label = format!("{OP}@127.0.0.1:{}", sshd.port);
    assert_eq!(
        far("#!/bin/sh\nprintf 'BRTH\\000\\002\\000\\000'\nexec cat >/dev/null\n", "old-berth"),
        format!("berth: {label}: its berth speaks protocol version 2, this berth version {}; install the same berth on both hosts", berth_proto::PROTOCOL_VERSION)
    );
    assert_eq!(
        far("#!/bin/sh\necho 'Welcome to runner-7!'\nexec cat >/dev/null\n", "chatty"),
        format!("berth: {label}: the far side did not answer as berth does (does a login script there print to standard output?)")
    );
    // BERTH_HOST stands for -H.
    let out = Command::new(bin("berth"))
        .args(["status", "sh"])
        .env("BERTH_HOST", sshd.url(OP))
        .envs(sshd.env(&rt))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    // A session the far host lacks: its own line, unchanged.
    let out = remote(&sshd, OP, &rt, &["status", "nosuch"]);
    assert_eq!(
        stderr(&out).trim(),
        format!(
            "berth: {OP}@127.0.0.1:{}: no session \"nosuch\" (see berth ls)",
            sshd.port
        )
    );

    // A fleet: named hosts (two names for this sshd) and one that is down.
    let config = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(config.path().join("berth")).unwrap();
    std::fs::write(
        config.path().join("berth/hosts"),
        format!("# the fleet\nfar {}\nfar2 {}\n", sshd.url(OP), sshd.url(OP)),
    )
    .unwrap();
    let fleet = |args: &[&str]| {
        let mut cmd = Command::new(bin("berth"));
        cmd.args(args)
            .env("XDG_CONFIG_HOME", config.path())
            .envs(sshd.env(&rt));
        cmd.output().unwrap()
    };
    let down = format!("ssh://{OP}@127.0.0.1:1");
    let out = fleet(&["ls", "-H", "far", "-H", &down]);
    assert_eq!(out.status.code(), Some(1), "one host failed");
    let table = stdout(&out);
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].starts_with("HOST NAME "), "{table}");
    assert!(lines[1].starts_with("far  sh "), "{table}");
    assert_eq!(lines.len(), 2, "{table}");
    assert_eq!(
        stderr(&out).trim(),
        format!("berth: {OP}@127.0.0.1:1: ssh could not connect: ssh: connect to host 127.0.0.1 port 1: Connection refused")
    );
    // --hosts FILE, as JSON with the host of each row.
    let list = config.path().join("fleet.txt");
    std::fs::write(&list, format!("far\n{}  # by URL\n", sshd.url(OP))).unwrap();
    let out = fleet(&["ls", "--json", "--hosts", list.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let hosts: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["host"].as_str().unwrap())
        .collect();
    assert_eq!(hosts, ["far", &format!("{OP}@127.0.0.1:{}", sshd.port)]);
    // watch tiles the sessions of several hosts, titled host:name.
    let cmd = pty_process::blocking::Command::new(bin("berth"))
        .args(["watch", "-H", "far", "-H", "far2"])
        .env("XDG_CONFIG_HOME", config.path())
        .envs(sshd.env(&rt));
    let mut client = TermClient::spawn(cmd, 120, 30);
    client.wait_screen(" far:sh ");
    client.wait_screen(" far2:sh ");
    client.wait_screen("typed-21");
    client.keys(b"q");
    assert!(client.wait_exit().success());

    // berth mcp over the fleet: the tools take the host, and reach no
    // host berth mcp was not given.
    let python = berth_e2e::mcp::python("every_verb_runs_on_the_far_host_under_its_own_lists");
    if let Some(python) = python {
        let ssh = sshd.ssh_command(&sshd.dir.path().join("known_hosts"));
        let berth = bin("berth");
        let server = [berth.to_str().unwrap(), "mcp", "-H", "far", "-H", "far2"];
        let mut c = berth_e2e::mcp::McpClient::start(
            &python,
            "auto",
            &server,
            &[
                ("XDG_CONFIG_HOME", config.path()),
                ("BERTH_SSH_COMMAND", Path::new(&ssh)),
                ("BERTH_REMOTE_BERTH", &berth),
                ("BERTH_RUNTIME_DIR", &rt),
            ],
        );
        let listed = c.ok("list_sessions", serde_json::json!({}));
        let hosts: Vec<&str> = listed["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["host"].as_str().unwrap())
            .collect();
        assert_eq!(hosts, ["far", "far2"], "{listed}");
        let r = c.ok(
            "run_command",
            serde_json::json!({"session": "sh", "host": "far2", "command": "echo mcp-$((5*5))"}),
        );
        assert_eq!(
            (&r["output"], &r["exit_status"]),
            (&"mcp-25\n".into(), &0.into()),
            "{r}"
        );
        assert_eq!(
            c.refused("session_status", serde_json::json!({"session": "sh"})),
            "say which host: this server serves far, far2 (the host of each session is in list_sessions)"
        );
        assert_eq!(
            c.refused(
                "session_status",
                serde_json::json!({"session": "sh", "host": "evil.example"})
            ),
            "no host \"evil.example\": this server serves far, far2"
        );
    }
    let _: PathBuf = rt;
}

#[test]
fn bad_host_urls_get_one_line() {
    let config = tempfile::tempdir().unwrap();
    let hosts = config.path().join("berth/hosts");
    for url in ["runner-7", "ssh://-oProxyCommand=x", "ssh://h:port"] {
        let out = Command::new(bin("berth"))
            .args(["-H", url, "ls"])
            .env("XDG_CONFIG_HOME", config.path())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        assert_eq!(
            stderr(&out),
            format!("berth: -H wants ssh://[user@]host[:port] or a name from {}, not {url:?} (as docker -H and podman --url take it)", hosts.display())
        );
    }
    // A hosts file with a bad line says where.
    std::fs::create_dir_all(hosts.parent().unwrap()).unwrap();
    std::fs::write(&hosts, "# my hosts\nr7 ssh://ops@runner-7\nbroken\n").unwrap();
    let out = Command::new(bin("berth"))
        .args(["-H", "r7", "ls"])
        .env("XDG_CONFIG_HOME", config.path())
        .output()
        .unwrap();
    assert_eq!(
        stderr(&out),
        format!(
            "berth: {}:3: expected NAME ssh://[user@]host[:port], got \"broken\"",
            hosts.display()
        )
    );
    // Several hosts are for ls, watch and mcp.
    let out = Command::new(bin("berth"))
        .args(["-H", "ssh://a", "-H", "ssh://b", "status", "x"])
        .output()
        .unwrap();
    assert_eq!(
        stderr(&out),
        "berth: several hosts are for ls, watch and mcp; give this verb one -H"
    );
    // dial-stdio is the far end itself; an empty --hosts file names no one.
    let out = Command::new(bin("berth"))
        .args(["-H", "ssh://h", "dial-stdio", "--control"])
        .output()
        .unwrap();
    assert_eq!(
        stderr(&out),
        "berth: dial-stdio joins a socket of this host (the far end of -H); leave -H and BERTH_HOST out"
    );
    let empty = config.path().join("none.txt");
    std::fs::write(&empty, "# nobody yet\n").unwrap();
    let out = Command::new(bin("berth"))
        .args(["ls", "--hosts", empty.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(
        (out.status.code(), stderr(&out)),
        (
            Some(1),
            format!(
                "berth: {} names no host (one a line: ssh://[user@]host[:port] or a name)",
                empty.display()
            )
        )
    );
    let out = Command::new(bin("berth"))
        .args(["-H", "ssh://h", "--socket", "/tmp/x.sock", "status", "x"])
        .output()
        .unwrap();
    assert_eq!(
        stderr(&out),
        "berth: --socket names a socket on this host; with -H, name the session"
    );
}
