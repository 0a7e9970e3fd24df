//! berth against a real systemd: a throwaway container booted with
//! systemd-nspawn (`--volatile=yes` over this machine's /usr, the built
//! binaries bind-mounted at /opt/berth), berthd running there as a service.
//!
//! Needs root and systemd-nspawn (package systemd-container): prints
//! SKIPPED otherwise, and fails instead when BERTH_REQUIRE_SYSTEMD_TESTS=1
//! (CI sets it). The container is stopped on every exit path (Drop).

use berth_e2e::machine::{skip_unless_possible, Machine};

const CONFIG: &str = r#"
[defaults]
restart = "always"
restart_delay = "200ms"

[session.alpha]
command = ["bash", "--norc", "--noprofile", "-i"]
limits = { memory = "256M", tasks = 64 }

[session.beta]
command = "while true; do printf '\\033[1mbeta\\033[0m-one\\n'; sleep 1; done"
sandbox = { private_tmp = false }
log = "journal"

[session.delta]
command = ["sleep", "100000"]
dynamic_user = true

[session.gamma]
command = ["python3", "-i", "-q"]

[web]
listen = "127.0.0.1:7681"
"#;

#[test]
fn berthd_under_a_real_systemd() {
    if skip_unless_possible("berthd_under_a_real_systemd") {
        return;
    }
    let m = Machine::boot(&format!("berth-test-{}", std::process::id()));
    m.ok("mkdir -p /etc/berth /etc/systemd/system/berthd.service.d && cp /opt/berth-units/berthd.service /opt/berth-units/berth.slice /etc/systemd/system/");
    m.ok(&format!(
        "cat > /etc/berth/berth.toml <<'EOF'\n{CONFIG}\nEOF"
    ));
    m.ok("printf '[Service]\\nExecStart=\\nExecStart=/opt/berth/berthd --foreground\\n' > /etc/systemd/system/berthd.service.d/test.conf");
    let started = m.sh("systemctl daemon-reload && systemctl start berthd");
    assert!(
        started.status.success(),
        "berthd did not start:\n{}",
        m.journal()
    );

    // systemctl status berthd tells the truth.
    m.wait_for(
        "berthd's STATUS",
        "systemctl show -P StatusText berthd",
        |s| s.trim() == "4 sessions: 4 running",
    );
    // The web dashboard is a unit of its own, with the network berthd's
    // unit does not have, running as its account after binding.
    m.wait_for(
        "berth-web.service",
        "systemctl show -P ActiveState berth-web.service",
        |s| s.trim() == "active",
    );
    let web_pid = m.show("berth-web.service", "MainPID");
    m.wait_for(
        "berth-web to drop to its account",
        &format!("ps -o user= -p {web_pid}"),
        |s| s.trim() == "_berth-web",
    );
    assert_eq!(m.show("berth-web.service", "Slice"), "berth.slice");
    assert_eq!(m.show("berth-web.service", "NoNewPrivileges"), "yes");
    // A berth-web that hangs is restarted: it feeds the unit's watchdog.
    assert_eq!(m.show("berth-web.service", "WatchdogUSec"), "20s");
    assert_eq!(m.show("berth-web.service", "NotifyAccess"), "main");
    assert_eq!(m.show("berthd.service", "PrivateNetwork"), "yes");
    let code = m.wait_for(
        "berth-web to answer",
        "curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:7681/api/sessions || true",
        |s| s.trim() == "401",
    );
    assert_eq!(code.trim(), "401");
    m.wait_for(
        "/metrics to count the sessions",
        "curl -s http://127.0.0.1:7681/metrics || true",
        |s| s.contains("berth_sessions{state=\"running\"} 4"),
    );

    // Each session is a unit under its own account.
    for name in ["alpha", "beta", "gamma", "delta"] {
        let unit = format!("berth-session@{name}.service");
        assert_eq!(m.show(&unit, "ActiveState"), "active", "{unit}");
        assert_eq!(m.show(&unit, "SubState"), "running", "{unit}");
        assert_eq!(m.show(&unit, "User"), format!("berth-{name}"), "{unit}");
        assert_eq!(m.show(&unit, "Slice"), "berth.slice", "{unit}");
    }
    // Sandboxing defaults, relaxed where the config says so.
    assert_eq!(m.show("berth-session@alpha.service", "PrivateTmp"), "yes");
    assert_eq!(
        m.show("berth-session@alpha.service", "ProtectSystem"),
        "full"
    );
    assert_eq!(m.show("berth-session@beta.service", "PrivateTmp"), "no");
    // A dynamic account: allocated by systemd while the unit runs.
    assert_eq!(m.show("berth-session@delta.service", "DynamicUser"), "yes");
    assert_eq!(m.show("berth-session@delta.service", "User"), "berth-delta");
    let delta = m.status_json("delta");
    assert_eq!(delta["user"], "berth-delta");
    assert_ne!(delta["uid"], 0);
    assert_eq!(
        m.ok("stat -c '%U %G %a' /run/berth/sessions/delta.sock")
            .trim(),
        "root berth 660"
    );
    let alpha = "berth-session@alpha.service";
    assert_eq!(m.show(alpha, "MemoryMax"), (256u64 << 20).to_string());
    assert_eq!(m.show(alpha, "TasksMax"), "64");
    assert_eq!(m.show(alpha, "NoNewPrivileges"), "yes");
    assert_eq!(
        m.ok("stat -c '%U %G %a' /run/berth/sessions/alpha.sock")
            .trim(),
        "berth-alpha berth 660"
    );
    // The program runs as the account, in the unit's cgroup.
    m.ok("berth send alpha 'echo me=$(id -un)' Enter");
    m.wait_for("the program's account", "berth capture alpha", |s| {
        s.contains("me=berth-alpha")
    });
    let st = m.status_json("alpha");
    let cgroup = m.ok(&format!("cat /proc/{}/cgroup", st["pid"]));
    assert!(
        cgroup.contains("berth.slice/berth-session@alpha.service"),
        "{cgroup}"
    );
    // The host's own STATUS= line.
    m.wait_for(
        "the host's STATUS",
        &format!("systemctl show -P StatusText {alpha}"),
        |s| s.starts_with("running pid "),
    );

    // SIGKILL of the program: the host restarts it, and says so.
    m.ok(&format!("kill -9 {}", st["pid"]));
    m.wait_for(
        "the program's restart",
        &format!("systemctl show -P StatusText {alpha}"),
        |s| s.contains("running pid ") && s.contains("1 restart, last exit SIGKILL"),
    );
    // SIGKILL of the host: systemd restarts the unit.
    let host = m.show(alpha, "MainPID");
    m.ok(&format!("kill -9 {host}"));
    m.wait_for(
        "systemd to restart the host",
        &format!("systemctl show -P MainPID {alpha}"),
        |s| {
            let s = s.trim();
            s != host && s != "0"
        },
    );
    m.wait_for(
        "the unit active again",
        &format!("systemctl is-active {alpha}"),
        |s| s.trim() == "active",
    );

    // An attach is audited in the journal with the attaching uid.
    let _ = m.sh("timeout 2 berth attach -r beta > /dev/null");
    m.wait_for(
        "the audit record",
        "journalctl -o verbose --no-pager SESSION=beta MODE=read-only",
        |s| s.contains("USER_UID=0") && s.contains("MESSAGE=connection closed"),
    );

    // log = "journal": the program's lines, as shown, with SESSION=.
    m.wait_for(
        "beta's output in the journal",
        "journalctl -o verbose --no-pager SESSION=beta SYSLOG_IDENTIFIER=berth-session",
        |s| s.contains("MESSAGE=beta-one"),
    );
    assert_eq!(m.status_json("beta")["log"], "journal");

    // Restarting berthd: session pids unchanged.
    let pids = |m: &Machine| -> Vec<String> {
        ["alpha", "beta", "gamma"]
            .iter()
            .map(|n| m.status_json(n)["pid"].to_string())
            .collect()
    };
    let before = pids(&m);
    m.ok("systemctl restart berthd");
    m.wait_for("berthd back", "systemctl show -P StatusText berthd", |s| {
        s.trim() == "4 sessions: 4 running"
    });
    assert_eq!(
        pids(&m),
        before,
        "sessions keep their pids across a berthd restart"
    );

    // systemctl reload with one changed session changes only that one.
    m.ok("sed -i 's/m-one/m-two/' /etc/berth/berth.toml && systemctl reload berthd");
    m.wait_for("beta's new program", "berth capture beta", |s| {
        s.contains("beta-two")
    });
    let after = pids(&m);
    assert_eq!(
        (after[0].clone(), after[2].clone()),
        (before[0].clone(), before[2].clone())
    );
    assert_ne!(after[1], before[1]);

    // Stopping berthd leaves the sessions running.
    m.ok("systemctl stop berthd");
    assert_eq!(m.show(alpha, "ActiveState"), "active");
    assert_eq!(m.status_json("alpha")["state"], "running");
}
