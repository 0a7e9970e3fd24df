//! Every verb on every socket checks who is asking (system mode, as root,
//! with throwaway accounts). The attack the matrix replays: everyone here
//! but the outsider is in the `berth` group, which opens the control
//! socket and both session sockets; membership must grant nothing.
//!
//! Who: root; an operator of A; an observer of A; an operator of B only; a
//! group member listed nowhere; a user outside the group; an admin
//! (`[daemon] admins`). What: ls, status, capture, send, attach, attach -r,
//! restart, stop, start, kill, reload, new, validate, through the CLI and
//! through a raw protocol client that skips it. Says SKIPPED without root.

use std::collections::BTreeMap;
use std::process::{Command, Output};

use berth_e2e::daemon::Daemon;
use berth_e2e::term_client::TermClient;
use berth_e2e::*;

const OP_A: &str = "bt2-opa";
const OBS_A: &str = "bt2-obsa";
const OP_B: &str = "bt2-opb";
const STRANGER: &str = "bt2-str";
const OUTSIDER: &str = "bt2-out";
const ADMIN: &str = "bt2-adm";
const SERVICE: &str = "bt2-svc";
/// berth-web's account: the one peer whose `on_behalf_of` is believed.
const WEB: &str = berth_config::access::WEB_ACCOUNT;

const CONFIG: &str = r#"
[daemon]
admins = ["bt2-adm"]

[session.sa]
command = ["bash", "--norc", "--noprofile", "-i"]
user = "bt2-svc"
create_user = true
access.operators = ["bt2-opa"]
access.observers = ["bt2-obsa"]

[session.sb]
command = ["bash", "--norc", "--noprofile", "-i"]
user = "bt2-svc"
create_user = true
access.operators = ["bt2-opb"]
"#;

/// Throwaway accounts, removed on drop however the test ends.
struct Accounts {
    made_berth_group: bool,
}

impl Accounts {
    fn create() -> Self {
        let mut guard = Accounts {
            made_berth_group: false,
        };
        guard.remove();
        if nix::unistd::Group::from_name("berth").unwrap().is_none() {
            run("groupadd", &["--system", "berth"]);
            guard.made_berth_group = true;
        }
        for u in [OP_A, OBS_A, OP_B, STRANGER, ADMIN, WEB] {
            run(
                "useradd",
                &["--system", "--no-create-home", "-G", "berth", u],
            );
        }
        run("useradd", &["--system", "--no-create-home", OUTSIDER]);
        guard
    }

    fn remove(&mut self) {
        for u in [
            OP_A,
            OBS_A,
            OP_B,
            STRANGER,
            OUTSIDER,
            ADMIN,
            SERVICE,
            WEB,
            "berth-bt2new",
        ] {
            let _ = Command::new("userdel").arg(u).output();
        }
        for dir in ["sa", "sb", "bt2new"] {
            let _ = std::fs::remove_dir_all(format!("/var/lib/berth/{dir}"));
        }
        if self.made_berth_group {
            let _ = Command::new("groupdel").arg("berth").output();
        }
    }
}

impl Drop for Accounts {
    fn drop(&mut self) {
        self.remove();
    }
}

fn run(cmd: &str, args: &[&str]) {
    let out = Command::new(cmd).args(args).output().unwrap();
    assert!(out.status.success(), "{cmd} {args:?}: {}", stderr(&out));
}

fn as_user(d: &Daemon, user: &str, program: &str, args: &[&str]) -> Output {
    let mut cmd = if user == "root" {
        Command::new(program)
    } else {
        let mut c = Command::new("runuser");
        c.args(["-u", user, "--"]).arg(program);
        c
    };
    cmd.args(args)
        .env("BERTH_RUNTIME_DIR", d.runtime())
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

fn berth(d: &Daemon, user: &str, args: &[&str]) -> Output {
    as_user(d, user, bin("berth").to_str().unwrap(), args)
}

/// What a CLI call should do: succeed, or fail with exactly this line.
#[derive(Debug, Clone, PartialEq)]
enum Want {
    Ok,
    Err(String),
}

struct Messages {
    socket_gate: String,
    control_gate: String,
    config: String,
}

impl Messages {
    fn not_listed(&self, user: &str) -> String {
        format!(
            "berth: permission denied: {user} (uid {}) is not an operator or observer of session sa",
            uid(user)
        )
    }
    fn not_operator(&self, user: &str, what: &str) -> String {
        format!(
            "berth: permission denied: {user} (uid {}) is not an operator of session sa and cannot {what}",
            uid(user)
        )
    }
    fn observer(&self, what: &str) -> String {
        format!("berth: permission denied: {OBS_A} is an observer of sa and cannot {what}")
    }
    fn not_admin(&self, user: &str, what: &str) -> String {
        format!(
            "berth: permission denied: {user} may not {what}; only root and [daemon] admins may (ask to be added to admins in {})",
            self.config
        )
    }
}

/// The expected outcome of `verb` on session sa for `user`.
fn want(m: &Messages, user: &str, verb: &str) -> Want {
    use Want::*;
    let session_read = matches!(user, "root" | OP_A | OBS_A);
    let session_write = matches!(user, "root" | OP_A);
    let host = matches!(user, "root" | ADMIN);
    let (read_verb, write_verb, control_verb) = (
        matches!(verb, "status" | "capture"),
        matches!(verb, "send" | "restart" | "interrupt"),
        matches!(verb, "stop" | "start" | "kill"),
    );
    let what = match verb {
        "send" => "send input",
        "interrupt" => "interrupt its command",
        "restart" => "restart it",
        "stop" => "stop it",
        "start" => "start it",
        "kill" => "kill it",
        _ => "",
    };
    if verb == "validate" {
        return Ok;
    }
    if user == OUTSIDER {
        return Err(if read_verb || write_verb {
            m.socket_gate.clone()
        } else {
            m.control_gate.clone()
        });
    }
    if verb == "reload" || verb == "new" {
        let what = if verb == "reload" {
            "reload berthd's configuration"
        } else {
            "create sessions"
        };
        return if host {
            Ok
        } else {
            Err(m.not_admin(user, what))
        };
    }
    if read_verb {
        return if session_read {
            Ok
        } else {
            Err(m.not_listed(user))
        };
    }
    if session_write {
        return Ok;
    }
    if user == OBS_A {
        return Err(m.observer(what));
    }
    if control_verb {
        Err(m.not_operator(user, what))
    } else {
        Err(m.not_listed(user))
    }
}

fn got(out: &Output) -> Want {
    if out.status.success() {
        Want::Ok
    } else {
        Want::Err(stderr(out))
    }
}

/// Waits until root sees session sa running, not as `old_pid`; its pid.
fn wait_sa_running_anew(d: &Daemon, old_pid: Option<u64>) -> Option<u64> {
    wait_for("sa to run", DEADLINE, || {
        let out = berth(d, "root", &["status", "sa", "--json"]);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
        (v["state"] == "running" && v["pid"].as_u64() != old_pid).then(|| v["pid"].as_u64())
    })
}

fn wait_sa_running(d: &Daemon) -> Option<u64> {
    wait_sa_running_anew(d, None)
}

#[test]
fn every_verb_on_every_socket_checks_the_caller() {
    if skip_unless_root(
        "every_verb_on_every_socket_checks_the_caller",
        &["/usr/sbin/useradd", "/usr/sbin/runuser"],
    ) {
        return;
    }
    let _accounts = Accounts::create();
    let d = Daemon::start_system(CONFIG);
    d.wait_running(&["sa", "sb"]);
    let socket = d.runtime().join("sessions/sa.sock");
    let control = d.runtime().join("control.sock");
    let m = Messages {
        socket_gate: format!(
            "berth: permission denied: cannot open the socket of session \"sa\" at {} (owner {SERVICE}, group berth, mode 0660); ask an admin for access to it",
            socket.display()
        ),
        control_gate: format!(
            "berth: permission denied: cannot open berthd's control socket {}; ask to join the berth group",
            control.display()
        ),
        config: d.config().display().to_string(),
    };
    let config = d.config().display().to_string();
    let users = ["root", OP_A, OBS_A, OP_B, STRANGER, OUTSIDER, ADMIN];
    let mut mismatches = Vec::new();
    let mut unauthorized = 0;
    let mut check = |user: &str, verb: &str, out: &Output| {
        let expected = want(&m, user, verb);
        let actual = got(out);
        if expected != Want::Ok && actual == Want::Ok {
            unauthorized += 1;
        }
        if expected != actual {
            mismatches.push(format!(
                "{user} {verb}: wanted {expected:?}, got {actual:?}"
            ));
        }
    };

    for user in users {
        let out = berth(&d, user, &["status", "sa"]);
        check(user, "status", &out);
        let out = berth(&d, user, &["capture", "sa"]);
        check(user, "capture", &out);
        let out = berth(
            &d,
            user,
            &["send", "sa", &format!("echo sent-by-{user}"), "Enter"],
        );
        check(user, "send", &out);
        let out = berth(&d, user, &["interrupt", "sa"]);
        check(user, "interrupt", &out);
        let pid = wait_sa_running(&d);
        let out = berth(&d, user, &["restart", "sa"]);
        check(user, "restart", &out);
        wait_sa_running_anew(&d, if out.status.success() { pid } else { None });
        // stop, then (whoever could stop it) the screen stays readable and
        // start brings the program back.
        let out = berth(&d, user, &["stop", "sa"]);
        check(user, "stop", &out);
        if out.status.success() {
            let status = wait_for("sa stopped", DEADLINE, || {
                let out = berth(&d, "root", &["status", "sa", "--json"]);
                let v: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
                (v["state"] == "stopped").then_some(v)
            });
            assert_eq!(status["pid"], serde_json::Value::Null);
            assert_eq!(berth(&d, "root", &["has", "sa"]).status.code(), Some(0));
            let screen =
                String::from_utf8_lossy(&berth(&d, "root", &["capture", "-J", "sa"]).stdout)
                    .into_owned();
            assert!(
                screen.contains("stopped (berth stop); `berth start sa` starts it again"),
                "{screen}"
            );
        } else {
            let again = berth(&d, "root", &["stop", "sa"]);
            assert!(
                again.status.success(),
                "{user}: root stop: {}",
                stderr(&again)
            );
        }
        let out = berth(&d, user, &["start", "sa"]);
        check(user, "start", &out);
        if !out.status.success() {
            let again = berth(&d, "root", &["start", "sa"]);
            assert!(
                again.status.success(),
                "{user}: root start: {}",
                stderr(&again)
            );
        }
        wait_sa_running(&d);
        let out = berth(&d, user, &["reload"]);
        check(user, "reload", &out);
        let out = berth(&d, user, &["new", "bt2new", "--", "sleep", "1000"]);
        check(user, "new", &out);
        if out.status.success() {
            assert!(berth(&d, "root", &["kill", "bt2new"]).status.success());
        }
        let out = berth(&d, user, &["validate", "--system", "--config", &config]);
        check(user, "validate", &out);
        // attach -r into a pipe streams until killed: only the refusals end.
        if !matches!(user, "root" | OP_A | OBS_A) {
            let out = berth(&d, user, &["attach", "-r", "sa"]);
            check(user, "capture", &out);
        }
        let out = berth(&d, user, &["kill", "sa"]);
        check(user, "kill", &out);
        if out.status.success() {
            // The config declares it: a reload brings it back.
            assert!(berth(&d, "root", &["reload"]).status.success());
            d.wait_running(&["sa", "sb"]);
        }
    }
    assert_eq!(
        unauthorized, 0,
        "unauthorized CLI successes: {mismatches:#?}"
    );
    assert!(mismatches.is_empty(), "{mismatches:#?}");

    // ls: everyone sees the names; only what they may read in full.
    let ls = |user: &str| -> (BTreeMap<String, String>, String) {
        let out = berth(&d, user, &["ls", "--json"]);
        assert!(out.status.success(), "{user}: {}", stderr(&out));
        let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
        let states = rows
            .iter()
            .map(|r| {
                (
                    r["name"].as_str().unwrap().to_owned(),
                    r["state"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        (states, stderr(&out))
    };
    let states = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    };
    assert_eq!(
        ls("root").0,
        states(&[("sa", "running"), ("sb", "running")])
    );
    assert_eq!(ls(OP_A).0, states(&[("sa", "running"), ("sb", "denied")]));
    assert_eq!(ls(OBS_A).0, states(&[("sa", "running"), ("sb", "denied")]));
    assert_eq!(ls(OP_B).0, states(&[("sa", "denied"), ("sb", "running")]));
    assert_eq!(
        ls(STRANGER).0,
        states(&[("sa", "denied"), ("sb", "denied")])
    );
    // The outsider cannot open the control socket: told so, and the
    // socket scan shows what it may (nothing) without calling it unreachable.
    let (rows, err) = ls(OUTSIDER);
    assert_eq!(rows, states(&[("sa", "denied"), ("sb", "denied")]));
    assert_eq!(
        err,
        format!("{}; listing the session sockets instead", m.control_gate)
    );
    let table = berth(&d, STRANGER, &["ls"]);
    assert_eq!(
        stderr(&table),
        "berth: permission denied on sa, sb: ask an admin to list you in its access.operators or access.observers"
    );

    // attach read-write from a terminal: the operator types, the observer
    // is told it only observes, the stranger is refused.
    let op = TermClient::attach_as(Some(OP_A), &d.runtime(), &["sa"], 80, 24);
    op.keys(b"echo typed-by-op\r");
    op.wait_screen("typed-by-op");
    let obs = TermClient::attach_as(Some(OBS_A), &d.runtime(), &["sa"], 80, 24);
    obs.wait_printed("[attached to sa read-only: you may only observe it]");
    let mut stranger = TermClient::attach_as(Some(STRANGER), &d.runtime(), &["sa"], 80, 24);
    stranger.wait_printed(&m.not_listed(STRANGER));
    assert!(!stranger.wait_exit().success());
    drop((op, obs));

    // The same verbs through a raw client, straight to the sockets.
    let raw = |user: &str, socket: &std::path::Path, requests: &[&str]| -> Vec<String> {
        let out = as_user(
            &d,
            user,
            bin("raw-client").to_str().unwrap(),
            &std::iter::once(socket.to_str().unwrap())
                .chain(requests.iter().copied())
                .collect::<Vec<_>>(),
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_owned)
            .collect()
    };
    let session_requests: &[(&str, &str)] = &[
        ("status", r#"{"type":"status"}"#),
        ("watch", r#"{"type":"watch"}"#),
        ("capture", r#"{"type":"capture"}"#),
        (
            "send",
            r#"{"type":"send","keys":["echo raw"],"literal":true}"#,
        ),
        ("interrupt", r#"{"type":"interrupt"}"#),
        ("result", r#"{"type":"result"}"#),
        ("recording", r#"{"type":"recording","list":true}"#),
        ("kill", r#"{"type":"kill"}"#),
        ("restart", r#"{"type":"restart"}"#),
        ("stop", r#"{"type":"stop"}"#),
        ("start", r#"{"type":"start"}"#),
        (
            "reconfigure",
            r#"{"type":"reconfigure","args":["--name","sa","--socket","/x","--","sh","-c","id > /tmp/bt2-pwned"]}"#,
        ),
        (
            "attach",
            r#"{"type":"attach","size":{"cols":80,"rows":24}}"#,
        ),
    ];
    let control_requests: &[(&str, &str)] = &[
        ("stop", r#"{"type":"daemon","verb":"stop","name":"sa"}"#),
        ("start", r#"{"type":"daemon","verb":"start","name":"sa"}"#),
        (
            "restart",
            r#"{"type":"daemon","verb":"restart","name":"sa"}"#,
        ),
        ("kill", r#"{"type":"daemon","verb":"kill","name":"sa"}"#),
        ("reload", r#"{"type":"daemon","verb":"reload"}"#),
        ("metrics", r#"{"type":"daemon","verb":"metrics"}"#),
        (
            "new",
            r#"{"type":"daemon","verb":"new","name":"bt2new","user":"root","command":["sh","-c","id > /tmp/bt2-pwned"]}"#,
        ),
    ];
    let mut raw_unauthorized = Vec::new();
    for user in [OP_A, OBS_A, OP_B, STRANGER, OUTSIDER, ADMIN] {
        for (verb, request) in session_requests {
            let allowed = match *verb {
                "status" | "watch" | "capture" | "attach" | "result" | "recording" => {
                    matches!(user, OP_A | OBS_A)
                }
                "reconfigure" => false,
                _ => user == OP_A,
            };
            let lines = raw(user, &socket, &[request]);
            let answer = lines.last().cloned().unwrap_or_default();
            // Answers that are not refusals of rights: sa's bash runs
            // without marks (a reader's `result` is told so), and berthd
            // started sa (its operator's `kill` on the socket is sent to
            // berthd).
            let not_rights = (*verb == "result"
                && answer.contains("sa shows no shell integration marks (OSC 133)"))
                || (*verb == "kill" && answer.contains("session sa belongs to berthd"))
                || (*verb == "recording" && answer.contains("session sa is not recorded"));
            let refused = !not_rights
                && (answer.contains(r#""type":"error""#) || answer.starts_with("connect failed"));
            if allowed == refused {
                raw_unauthorized.push(format!("{user} session {verb}: {answer}"));
            }
            if refused && !answer.starts_with("connect failed") {
                assert!(
                    answer.contains("permission denied"),
                    "{user} {verb}: {answer}"
                );
            }
            if *verb == "attach" && user == OBS_A {
                assert!(answer.contains(r#""read_only":true"#), "{answer}");
            }
            if *verb == "stop" && allowed {
                wait_for("sa stopped", DEADLINE, || {
                    let v: serde_json::Value = serde_json::from_slice(
                        &berth(&d, "root", &["status", "sa", "--json"]).stdout,
                    )
                    .ok()?;
                    (v["state"] == "stopped").then_some(())
                });
            }
        }
        // Running again for the control verbs (it may be running already).
        let _ = berth(&d, "root", &["start", "sa"]);
        wait_sa_running(&d);
        for (verb, request) in control_requests {
            let allowed = match *verb {
                "reload" | "metrics" => user == ADMIN,
                "new" => false, // --user root: only root may choose an account
                _ => user == OP_A,
            };
            if allowed && *verb == "kill" {
                continue; // covered through the CLI above
            }
            let lines = raw(user, &control, &[request]);
            let answer = lines.last().cloned().unwrap_or_default();
            let refused =
                answer.contains(r#""type":"error""#) || answer.starts_with("connect failed");
            if allowed == refused {
                raw_unauthorized.push(format!("{user} control {verb}: {answer}"));
            }
            if refused && !answer.starts_with("connect failed") {
                assert!(
                    answer.contains("permission denied"),
                    "{user} {verb}: {answer}"
                );
            }
            if *verb != "stop" {
                wait_sa_running(&d);
            }
        }
    }
    assert!(raw_unauthorized.is_empty(), "{raw_unauthorized:#?}");
    assert!(!std::path::Path::new("/tmp/bt2-pwned").exists());
    let names: Vec<String> = d.ls().into_iter().map(|r| r.0).collect();
    assert_eq!(names, ["sa", "sb"], "a refused new left nothing behind");

    // The audit trail names who asked for what, and the verdict.
    let log = d.log();
    assert!(
        log.contains(&format!(
            "control request stop sa: denied user_uid={} user={OBS_A}",
            uid(OBS_A)
        )),
        "{log}"
    );
    assert!(log.contains(&format!(
        "control request reload -: allowed user_uid={} user={ADMIN}",
        uid(ADMIN)
    )));

    // Delegation: only berth-web's account may speak for someone else,
    // never for root, and then it has exactly that person's rights.
    let claim = |user: &str, socket: &std::path::Path, uid: u32, request: &str| -> String {
        let hello = format!(
            r#"{{"type":"hello","client":"raw-client","on_behalf_of":{{"uid":{uid},"from":"192.0.2.9:4711"}}}}"#
        );
        let out = Command::new("runuser")
            .args(["-u", user, "--"])
            .arg(bin("raw-client"))
            .arg(socket)
            .arg(request)
            .env("BERTH_RAW_HELLO", hello)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .last()
            .unwrap_or_default()
            .to_owned()
    };
    let not_web = format!(
        r#"only the web dashboard's account ({WEB}) may speak for another user; connect as yourself"#
    );
    let attach = r#"{"type":"attach","size":{"cols":80,"rows":24}}"#;
    let send = r#"{"type":"send","keys":["echo raw"],"literal":true}"#;
    let stop = r#"{"type":"daemon","verb":"stop","name":"sa"}"#;
    // Anyone else claiming someone's rights is refused, on both sockets.
    for impostor in [STRANGER, OBS_A, OP_B] {
        for (sock, request) in [(&socket, attach), (&control, stop)] {
            let answer = claim(impostor, sock, uid(OP_A), request);
            assert!(answer.contains(&not_web), "{impostor}: {answer}");
        }
    }
    let root_claim = claim(WEB, &socket, 0, attach);
    assert!(
        root_claim.contains("the web dashboard never acts as root; log in to it as another user"),
        "{root_claim}"
    );
    assert!(claim(WEB, &control, 0, stop).contains("never acts as root"));
    // Nor for anyone who holds no live login (which only berthd, as root,
    // records when the person's code is redeemed).
    let answer = claim(WEB, &socket, uid(OBS_A), attach);
    assert!(
        answer.contains(&format!(
            "permission denied: {OBS_A} (uid {}) holds no live web login",
            uid(OBS_A)
        )),
        "{answer}"
    );
    assert!(claim(
        WEB,
        &control,
        uid(ADMIN),
        r#"{"type":"daemon","verb":"reload"}"#
    )
    .contains("holds no live web login"));
    // Live logins as berthd records them: typing allowed for the admin and
    // the operators, not for the observer.
    let live = |who: &str, input: bool| {
        let login = berth_config::logins::Login {
            expires: berth_config::logins::now() + 600,
            input,
        };
        berth_config::logins::write(&d.runtime(), uid(who), login).unwrap();
    };
    for who in [OP_A, OP_B, ADMIN] {
        live(who, true);
    }
    live(OBS_A, false);
    // Even for a logged-in admin, never a host-wide or lifecycle verb, and
    // never reconfigure, send or run: the dashboard only views (and types).
    let refused =
        "permission denied: the web dashboard may only view sessions (and type where allowed)";
    for (sock, request) in [
        (&control, r#"{"type":"daemon","verb":"reload"}"#),
        (
            &control,
            r#"{"type":"daemon","verb":"new","name":"bt2web","command":["id"]}"#,
        ),
        (&control, stop),
        (&control, r#"{"type":"daemon","verb":"kill","name":"sa"}"#),
        (&socket, send),
        (&socket, r#"{"type":"run","command":"id"}"#),
        (&socket, r#"{"type":"interrupt"}"#),
        (&socket, r#"{"type":"result"}"#),
        (&socket, r#"{"type":"stop"}"#),
        (&socket, r#"{"type":"restart"}"#),
        (
            &socket,
            r#"{"type":"reconfigure","args":["--name","sa","--","id"]}"#,
        ),
    ] {
        // The admin on berthd's socket, A's operator on A's.
        let who = if *sock == control { ADMIN } else { OP_A };
        let answer = claim(WEB, sock, uid(who), request);
        assert!(answer.contains(refused), "{request}: {answer}");
    }
    // berth-web for the observer: attached read-only although it asked for
    // read-write.
    let answer = claim(WEB, &socket, uid(OBS_A), attach);
    assert!(answer.contains(r#""read_only":true"#), "{answer}");
    // For the operator of B only: nothing of A.
    let answer = claim(WEB, &socket, uid(OP_B), attach);
    assert!(
        answer.contains(&format!(
            "{OP_B} (uid {}) is not an operator or observer of session sa",
            uid(OP_B)
        )),
        "{answer}"
    );
    // Every session's figures (/metrics): to berth-web speaking for
    // itself, not to a person it speaks for, operator or not.
    let metrics = r#"{"type":"daemon","verb":"metrics"}"#;
    let lines = raw(WEB, &control, &[metrics]);
    assert!(
        lines.last().unwrap().contains(r#""type":"metrics""#)
            && lines.last().unwrap().contains(r#""name":"sa""#),
        "{lines:?}"
    );
    let answer = claim(WEB, &control, uid(OP_A), metrics);
    assert!(answer.contains(refused), "{answer}");
    // berth-web on its own (no claim) is nobody's operator or observer.
    let lines = raw(WEB, &socket, &[attach]);
    assert!(
        lines.last().unwrap().contains("permission denied"),
        "{lines:?}"
    );
    // Each person berth-web speaks for has a budget of their own on a
    // host (64), not one shared by everybody: berth-web's own uid passes
    // its per-uid 64 (it may hold more, for everyone), and the observer's
    // 65th connection is refused as the observer's, naming their uid.
    let held = Command::new("runuser")
        .args(["-u", WEB, "--"])
        .arg(bin("raw-client"))
        .arg(&socket)
        .env(
            "BERTH_RAW_HELLO",
            format!(
                r#"{{"type":"hello","client":"raw-client","on_behalf_of":{{"uid":{},"from":"192.0.2.9:4711"}}}}"#,
                uid(OBS_A)
            ),
        )
        .env("BERTH_RAW_CONNECTIONS", "65")
        .output()
        .unwrap();
    let answers: Vec<String> = String::from_utf8_lossy(&held.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(answers.len(), 65, "{answers:?}");
    assert!(
        answers[..64]
            .iter()
            .all(|a| a.contains(r#""type":"welcome""#)),
        "{answers:?}"
    );
    assert!(
        answers[64].contains(&format!("too many connections from uid {}", uid(OBS_A))),
        "{}",
        answers[64]
    );
    // For the operator of A, whose login allows input: read-write.
    let answer = claim(WEB, &socket, uid(OP_A), attach);
    assert!(answer.contains(r#""read_only":false"#), "{answer}");
    // Refusals audited as the person, through the web, by berthd.
    let log = d.log();
    assert!(
        log.lines().any(|l| l.contains("control connection refused: permission denied: the web dashboard may only view sessions")
            && l.contains(&format!("user_uid={}", uid(WEB)))),
        "{log}"
    );
    // A session may not run as the web account at all.
    let out = berth(&d, "root", &["new", "bt2web", "--user", WEB, "--", "id"]);
    assert!(
        stderr(&out).contains(&format!("may not run as \"{WEB}\"")),
        "{}",
        stderr(&out)
    );
    wait_for(
        "the delegated connection in the audit trail",
        DEADLINE,
        || {
            d.host_log("sa")
                .lines()
                .any(|l| {
                    l.contains("berth::audit")
                        && l.contains(&format!("user={OP_A}"))
                        && l.contains("via=web from 192.0.2.9:4711")
                })
                .then_some(())
        },
    );
}
