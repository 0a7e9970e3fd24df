//! The Debian package, tested by installing it as an operator would: built
//! with cargo-deb, installed with `apt-get install ./berth_*.deb` into a
//! throwaway systemd container booted from a writable overlay of this
//! machine's root, then used, removed and purged; each step checked against
//! what packaging/README.md promises.
//!
//! Needs root, systemd-nspawn and cargo-deb: SKIPPED otherwise, a failure
//! when BERTH_REQUIRE_SYSTEMD_TESTS=1 (CI sets it and installs cargo-deb).

use std::path::{Path, PathBuf};
use std::process::Command;

use berth_e2e::machine::{skip_unless_possible, Machine, Overlay};

const CARGO: &str = env!("CARGO");

fn cargo_deb_missing() -> bool {
    !Command::new(CARGO)
        .args(["deb", "--version"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// `cargo deb -p berth-cli`, in a target directory of its own (the suite's
/// build may be holding the workspace's); returns the directory holding
/// the one .deb it made.
fn build_package() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let target = root.join("target/package-test");
    let out_dir = target.join("debian-out");
    let _ = std::fs::remove_dir_all(&out_dir);
    std::fs::create_dir_all(&out_dir).unwrap();
    let out = Command::new(CARGO)
        .args(["deb", "-p", "berth-cli", "--output"])
        .arg(&out_dir)
        .env("CARGO_TARGET_DIR", &target)
        .current_dir(&root)
        .output()
        .expect("cargo deb");
    // The end of cargo's output says why; hundreds of `Compiling` lines
    // before it would push the reason out of a truncated CI log.
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(
        out.status.success(),
        "cargo deb failed ({}), the last lines of its output:\n{}",
        out.status,
        lines[lines.len().saturating_sub(40)..].join("\n")
    );
    let debs: Vec<_> = std::fs::read_dir(&out_dir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".deb"))
        .collect();
    assert_eq!(debs.len(), 1, "one package in {}", out_dir.display());
    // And its debug symbols beside it, in a package of their own.
    let ddebs = std::fs::read_dir(&out_dir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".ddeb"))
        .count();
    assert_eq!(ddebs, 1, "one -dbgsym package in {}", out_dir.display());
    out_dir
}

fn session_json(m: &Machine, name: &str) -> Option<serde_json::Value> {
    let out = m.sh(&format!("berth status {name} --json"));
    serde_json::from_slice(&out.stdout).ok()
}

fn wait_running(m: &Machine, name: &str) -> serde_json::Value {
    m.wait_for(
        &format!("session {name} running"),
        &format!("berth status {name} --json"),
        |s| s.contains("\"state\":\"running\"") || s.contains("\"state\": \"running\""),
    );
    session_json(m, name).expect("status JSON")
}

#[test]
fn the_package_installs_runs_and_removes_as_documented() {
    const TEST: &str = "the_package_installs_runs_and_removes_as_documented";
    if skip_unless_possible(TEST) {
        return;
    }
    if cargo_deb_missing() {
        assert!(
            std::env::var("BERTH_REQUIRE_SYSTEMD_TESTS").as_deref() != Ok("1"),
            "{TEST}: cannot run (cargo-deb is missing: cargo install cargo-deb) but BERTH_REQUIRE_SYSTEMD_TESTS=1"
        );
        eprintln!("SKIPPED {TEST}: cargo-deb is missing (cargo install cargo-deb)");
        return;
    }
    let debs = build_package();
    let overlay = Overlay::mount();
    let m = Machine::boot_root(
        &format!("berth-pkg-{}", std::process::id()),
        &overlay.root(),
        &[(&debs, "/opt/pkg")],
    );
    // Images built for containers forbid starting services from maintainer
    // scripts (policy-rc.d exits 101); a host installing berth has none.
    m.ok("rm -f /usr/sbin/policy-rc.d");
    m.ok("cd /opt/pkg && apt-get install -y --no-install-recommends ./berth_*.deb");
    // Stripped binaries: what dpkg says is installed (KiB) stays small.
    let kib: u64 = m
        .ok("dpkg-query -W -f='${Installed-Size}' berth")
        .trim()
        .parse()
        .unwrap();
    assert!(kib < 20 * 1024, "the package installs {kib} KiB");

    // berthd is enabled, active and said READY (Type=notify: `active` is
    // only reached after READY=1), with a status line.
    assert_eq!(m.show("berthd", "UnitFileState"), "enabled");
    assert_eq!(m.show("berthd", "Type"), "notify");
    assert_eq!(m.show("berthd", "ActiveState"), "active", "{}", m.journal());
    assert_eq!(m.show("berthd", "StatusText"), "0 sessions");
    // What is installed where.
    m.ok("test -x /usr/bin/berth && test -x /usr/bin/berthd && test -x /usr/libexec/berth/berth-session");
    // The web dashboard (off until [web] is configured), with xterm.js's licence.
    m.ok("test -x /usr/libexec/berth/berth-web && grep -q 'The xterm.js authors' /usr/share/doc/berth/xterm.js-LICENSE && grep -q 'Apache License' /usr/share/doc/berth/asciinema-player-LICENSE && man -w 8 berth-web");
    m.ok("getent group berth");
    let conffiles = m.ok("dpkg-query -W -f='${Conffiles}' berth");
    assert!(conffiles.contains("/etc/berth/berth.toml"), "{conffiles}");
    let pages = m.ok("man -w berth berthd berth.toml berth-session berth-attach");
    for page in [
        "man1/berth.1",
        "man8/berthd.8",
        "man5/berth.toml.5",
        "man8/berth-session.8",
        "man1/berth-attach.1",
    ] {
        assert!(pages.contains(page), "man -w found:\n{pages}");
    }
    m.ok("test -f /usr/share/bash-completion/completions/berth && test -f /usr/share/zsh/vendor-completions/_berth && test -f /usr/share/fish/vendor_completions.d/berth.fish");
    m.ok("test -f /usr/share/doc/berth/config-reference.md && test -f /usr/share/doc/berth/examples/berth.toml");
    // The shipped units pass inspection.
    m.ok("systemd-analyze verify /usr/lib/systemd/system/berthd.service /usr/lib/systemd/system/berth.slice");

    // A session dropped into sessions.d and a reload: it runs as its own
    // service account, as units (the systemd backend) that also pass
    // inspection.
    m.ok("printf '[session.probe]\\ncommand = [\"sleep\", \"100000\"]\\n' > /etc/berth/sessions.d/probe.toml");
    m.ok("berth validate && systemctl reload berthd");
    let st = wait_running(&m, "probe");
    assert_eq!(st["user"], "berth-probe", "{st}");
    let pid = st["pid"].as_u64().expect("pid");
    assert_eq!(m.ok(&format!("ps -o user= -p {pid}")).trim(), "berth-probe");
    assert_eq!(m.show("berth-session@probe.service", "User"), "berth-probe");
    // Both units berth made for it: the service and the socket unit through
    // which systemd creates the session's socket.
    m.ok("systemd-analyze verify /run/systemd/transient/berth-session@probe.service /run/systemd/transient/berth-session@probe.socket");
    // STATUS= follows within seconds (it is recomputed after a change).
    m.wait_for(
        "berthd's status line",
        "systemctl show -P StatusText berthd",
        |s| s.trim() == "1 session: 1 running",
    );
    // The installed completion asks the installed berth, which knows the session.
    let offered = m.ok("COMPLETE=bash _CLAP_COMPLETE_INDEX=2 berth -- berth attach pro");
    assert!(offered.contains("probe"), "{offered}");

    // The embedded backend under the hardened unit: berthd says, once, that
    // its sessions inherit its sandbox; sessions still start.
    m.ok("rm /etc/berth/sessions.d/probe.toml && systemctl reload berthd");
    m.wait_for("probe gone", "berth ls --json", |s| !s.contains("probe"));
    m.ok("sed -i 's/^backend = \"auto\"/backend = \"embedded\"/' /etc/berth/berth.toml");
    m.ok("printf '[session.embedded]\\ncommand = [\"sleep\", \"100000\"]\\n' > /etc/berth/sessions.d/embedded.toml");
    m.ok("systemctl restart berthd");
    let st = wait_running(&m, "embedded");
    assert_eq!(st["user"], "berth-embedded", "{st}");
    let journal = m.journal();
    assert!(
        // (PID 1's namespaces are not readable without CAP_SYS_PTRACE.)
        journal.contains("berthd runs sandboxed (a system call filter, no new privileges, fewer capabilities) and the embedded backend starts every session as its child, so each session inherits that sandbox"),
        "{journal}"
    );
    let host_pid = m.ok("pgrep -x berth-session").trim().to_owned();
    assert!(!host_pid.is_empty());
    // berth-web is berthd's child there too, under a unit that allows Unix
    // sockets only: a TCP [web] is refused with what to do, not left
    // listening where nobody can reach it; the session is untouched.
    m.ok("printf '\\n[web]\\nlisten = \"127.0.0.1:7681\"\\n' >> /etc/berth/berth.toml && systemctl reload berthd");
    m.wait_for(
        "berth-web's refusal in the journal",
        "journalctl -u berthd --no-pager -o cat",
        |s| s.contains("berth-web: cannot listen on 127.0.0.1:7681: this process may open Unix sockets only (berthd.service's sandbox, inherited under the embedded backend); set backend = \"systemd\" in [daemon] so berth-web runs as a unit of its own, or listen on a Unix socket under /run/berth"),
    );
    assert_eq!(m.ok("pgrep -x berth-session").trim(), host_pid);

    // apt-get remove: every session ends and berthd stops; what operators
    // and sessions made stays (configuration, logs, accounts).
    m.ok("apt-get remove -y berth");
    assert_eq!(m.show("berthd", "ActiveState"), "inactive");
    assert!(
        !m.sh("pgrep -x berth-session").status.success(),
        "a host survived the removal"
    );
    assert!(
        !m.sh("pgrep -u berth-embedded").status.success(),
        "a program survived the removal"
    );
    m.ok("test ! -e /usr/bin/berth && test ! -e /usr/libexec/berth/berth-session");
    m.ok("test -f /etc/berth/berth.toml && test -f /etc/berth/sessions.d/embedded.toml");
    m.ok("test -d /var/log/berth/embedded && getent passwd berth-embedded && getent passwd berth-probe");

    // apt-get purge: logs and state go, the conffile goes; accounts and
    // the files the operator wrote stay.
    m.ok("apt-get purge -y berth");
    m.ok("test ! -e /var/log/berth && test ! -e /var/lib/berth && test ! -e /etc/berth/berth.toml");
    m.ok("test -f /etc/berth/sessions.d/embedded.toml && getent passwd berth-embedded");
}
