//! What berthd and the host tell systemd (sd_notify), read from a real
//! datagram socket standing in for systemd's NOTIFY_SOCKET.

use std::os::unix::net::UnixDatagram;
use std::process::{Command, Stdio};
use std::time::Duration;

use berth_e2e::*;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// Kills the child when the test ends, however it ends.
struct Reaped(std::process::Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

struct Notifications {
    socket: UnixDatagram,
    seen: Vec<String>,
}

impl Notifications {
    fn bind(path: &std::path::Path) -> Self {
        let socket = UnixDatagram::bind(path).unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        Self {
            socket,
            seen: Vec::new(),
        }
    }

    /// Waits for a message containing `needle`; returns it.
    fn wait(&mut self, needle: &str) -> String {
        let mut buf = [0u8; 4096];
        let found = wait_until(DEADLINE, || {
            if let Some(m) = self.seen.iter().find(|m| m.contains(needle)) {
                return Some(m.clone());
            }
            if let Ok(n) = self.socket.recv(&mut buf) {
                self.seen
                    .push(String::from_utf8_lossy(&buf[..n]).trim_end().to_owned());
            }
            None
        });
        found.unwrap_or_else(|| panic!("no notification with {needle:?}; got {:#?}", self.seen))
    }
}

#[test]
fn the_host_reports_ready_and_its_state() {
    let env = Env::new();
    let mut n = Notifications::bind(&env.path("notify.sock"));
    let _host = Reaped(
        Command::new(bin("berth-session"))
            .args(["--name", "svc", "--socket"])
            .arg(env.socket("svc"))
            .args(["--restart-delay", "300ms", "--", "sleep", "1000"])
            .env("NOTIFY_SOCKET", env.path("notify.sock"))
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    n.wait("READY=1");
    let running = n.wait("STATUS=running pid ");
    let pid: i32 = running
        .trim_start_matches("STATUS=running pid ")
        .split(',')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(running, format!("STATUS=running pid {pid}, 0 restarts"));
    kill(Pid::from_raw(pid), Signal::SIGKILL).unwrap();
    assert_eq!(
        n.wait("STATUS=backoff"),
        "STATUS=backoff, restarting in 1s, 0 restarts, last exit SIGKILL"
    );
    let again = n.wait("1 restart, last exit SIGKILL");
    assert!(again.starts_with("STATUS=running pid "), "{again}");
}

#[test]
fn berthd_reports_ready_status_reload_and_stopping() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("berth.toml"),
        "[session.a]\ncommand = [\"sleep\", \"1000\"]\n[session.b]\ncommand = [\"sleep\", \"1000\"]\n",
    )
    .unwrap();
    let mut n = Notifications::bind(&dir.path().join("notify.sock"));
    let mut berthd = Reaped(
        Command::new(bin("berthd"))
            .args(["--user", "--config"])
            .arg(dir.path().join("berth.toml"))
            .arg("--log-dir")
            .arg(dir.path().join("logs"))
            .env("BERTH_RUNTIME_DIR", dir.path().join("run"))
            .env("NOTIFY_SOCKET", dir.path().join("notify.sock"))
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let ready = n.wait("READY=1");
    assert!(ready.contains("STATUS=2 sessions: "), "{ready}");
    n.wait("STATUS=2 sessions: 2 running");
    // Hosts do not talk to berthd's systemd: only berthd's messages arrive.
    assert!(
        !n.seen.iter().any(|m| m.contains("STATUS=running pid")),
        "{:#?}",
        n.seen
    );
    std::fs::write(
        dir.path().join("berth.toml"),
        "[session.a]\ncommand = [\"sleep\", \"1000\"]\n",
    )
    .unwrap();
    kill(Pid::from_raw(berthd.0.id() as i32), Signal::SIGHUP).unwrap();
    n.wait("RELOADING=1");
    n.wait("STATUS=1 session: 1 running");
    kill(Pid::from_raw(berthd.0.id() as i32), Signal::SIGTERM).unwrap();
    n.wait("STOPPING=1");
    berthd.0.wait().unwrap();
    // berthd is gone; its session is not. Stop it.
    let out = berth_in(&dir.path().join("run"), &["status", "a", "--json"]);
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let host = status["host_pid"].as_i64().unwrap() as i32;
    kill(Pid::from_raw(host), Signal::SIGTERM).unwrap();
    wait_for("the host to stop", DEADLINE, || {
        kill(Pid::from_raw(host), None).is_err().then_some(())
    });
}
