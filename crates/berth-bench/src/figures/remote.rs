//! Remote verbs (`berth -H ssh://...`, issue 33): what a `status` and a
//! `run -- true` cost through OpenSSH, with a new ssh connection each time
//! and with OpenSSH's connection reuse (`ControlMaster`), beside the same
//! verbs on this host. berth only: tmux, screen and dtach have no remote
//! mode of their own (each would be `ssh host tmux ...`, which is the
//! "new connection" column's cost plus theirs).
//!
//! The far side is this machine through a private sshd on a loopback port,
//! with its own host key and a throwaway client key, logging in as root:
//! so the figures are ssh's and berth's own cost, without a network. It
//! needs root and `sshd`; without them the section says why and is left
//! out.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context as _};

use super::Ctx;
use crate::env::wait_until;
use crate::stats::summarize;

const SSHD: &str = "/usr/sbin/sshd";
const SESSION: &str = "rb";

/// How each verb reaches the session.
#[derive(Clone, Copy)]
enum Way {
    Local,
    Ssh,
    SshReused,
}

/// A private sshd, killed on drop (its connection masters with it).
struct Sshd {
    child: Child,
    port: u16,
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The section's markdown table, or why it was left out (on stderr).
pub fn measure(ctx: &Ctx, samples: usize) -> anyhow::Result<Option<String>> {
    if !nix::unistd::geteuid().is_root() || !Path::new(SSHD).exists() {
        eprintln!("berth-bench: remote verbs left out: they need root and {SSHD} (apt-get install openssh-server) for a private sshd on loopback");
        return Ok(None);
    }
    let dir = ctx.work.fresh("remote")?;
    let sshd = start_sshd(&dir)?;
    let mut host = start_host(ctx, &dir)?;
    let outcome = (|| -> anyhow::Result<String> {
        // The shell's first prompt: `run` answers from then on.
        wait_until(
            "the session's first prompt",
            Duration::from_secs(30),
            Duration::from_millis(20),
            || {
                verb(
                    ctx,
                    &dir,
                    &sshd,
                    Way::Local,
                    &["run", SESSION, "--", "true"],
                )
                .is_ok()
            },
        )?;
        let mut rows = Vec::new();
        // ssh's own floor: `ssh host true`, nothing of berth's.
        let mut floor = vec!["—".to_owned()];
        for way in [Way::Ssh, Way::SshReused] {
            plain_ssh(&dir, &sshd, way)?;
            let mut ms = Vec::new();
            for _ in 0..samples {
                let t0 = Instant::now();
                plain_ssh(&dir, &sshd, way)?;
                ms.push(t0.elapsed().as_secs_f64() * 1e3);
            }
            let s = summarize(&ms).context("no samples")?;
            floor.push(format!("{:.1} ms ({:.1}–{:.1})", s.median, s.min, s.max));
        }
        rows.push(format!(
            "| `ssh host true` (ssh's own cost) | {} |",
            floor.join(" | ")
        ));
        for (label, args) in [
            ("`status`", &["status", SESSION][..]),
            ("`run -- true`", &["run", SESSION, "--", "true"][..]),
        ] {
            let mut cells = Vec::new();
            let mut local = None;
            for way in [Way::Local, Way::Ssh, Way::SshReused] {
                // One untimed call: a warm cache, and the master connection.
                verb(ctx, &dir, &sshd, way, args)?;
                let mut ms = Vec::new();
                for _ in 0..samples {
                    let t0 = Instant::now();
                    verb(ctx, &dir, &sshd, way, args)?;
                    ms.push(t0.elapsed().as_secs_f64() * 1e3);
                }
                let s = summarize(&ms).context("no samples")?;
                let ratio = match local {
                    None => {
                        local = Some(s.median);
                        String::new()
                    }
                    Some(l) => format!(" ×{:.0}", s.median / l),
                };
                cells.push(format!(
                    "{:.1} ms ({:.1}–{:.1}){ratio}",
                    s.median, s.min, s.max
                ));
            }
            rows.push(format!("| {label} | {} |", cells.join(" | ")));
        }
        Ok(format!(
            "| remote verb, {samples} calls each, median (min–max) | this host | `-H`, a new ssh connection each | `-H`, ssh `ControlMaster` reused |\n|---|---|---|---|\n{}\n",
            rows.join("\n")
        ))
    })();
    let _ = host.kill();
    let _ = host.wait();
    drop(sshd);
    outcome.map(Some)
}

fn keygen(path: &Path) -> anyhow::Result<()> {
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(path)
        .output()
        .context("failed to run ssh-keygen")?;
    ensure!(
        out.status.success(),
        "ssh-keygen failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

fn start_sshd(dir: &Path) -> anyhow::Result<Sshd> {
    keygen(&dir.join("host_key"))?;
    keygen(&dir.join("client_key"))?;
    std::fs::copy(dir.join("client_key.pub"), dir.join("authorized_keys"))?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let d = dir.display();
    std::fs::write(
        dir.join("sshd_config"),
        format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/host_key\nAuthorizedKeysFile {d}/authorized_keys\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\nPermitRootLogin prohibit-password\nAllowUsers root\nAcceptEnv BERTH_RUNTIME_DIR\nPidFile {d}/sshd.pid\nStrictModes no\n"
        ),
    )?;
    let host_pub = std::fs::read_to_string(dir.join("host_key.pub"))?;
    std::fs::write(
        dir.join("known_hosts"),
        format!("[127.0.0.1]:{port} {host_pub}"),
    )?;
    std::fs::create_dir_all("/run/sshd")?;
    let child = Command::new(SSHD)
        .args(["-D", "-e", "-f"])
        .arg(dir.join("sshd_config"))
        .stdin(Stdio::null())
        .stderr(std::fs::File::create(dir.join("sshd.log"))?)
        .spawn()
        .context("failed to start sshd")?;
    let sshd = Sshd { child, port };
    wait_until(
        "sshd to listen",
        Duration::from_secs(10),
        Duration::from_millis(10),
        || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok(),
    )?;
    Ok(sshd)
}

/// A berth host with an interactive bash (shell integration: `run` works).
fn start_host(ctx: &Ctx, dir: &Path) -> anyhow::Result<Child> {
    let sessions = dir.join("sessions");
    std::fs::create_dir_all(&sessions)?;
    let socket = sessions.join(format!("{SESSION}.sock"));
    let child = Command::new(&ctx.bins.session)
        .args(["--name", SESSION, "--socket"])
        .arg(&socket)
        .args(["--", "bash"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("host.stderr"))?)
        .spawn()
        .context("failed to start berth-session")?;
    wait_until(
        "the berth socket",
        Duration::from_secs(10),
        Duration::from_millis(1),
        || socket.exists(),
    )?;
    Ok(child)
}

/// The ssh command line of `way` (with the options a user would give in
/// BERTH_SSH_COMMAND).
fn ssh_command(dir: &Path, way: Way) -> String {
    let reuse = match way {
        Way::Local | Way::Ssh => "-o ControlMaster=no".to_owned(),
        Way::SshReused => format!(
            "-o ControlMaster=auto -o ControlPath={} -o ControlPersist=60",
            dir.join("cm-%C").display()
        ),
    };
    format!(
        "ssh -F /dev/null -i {} -o UserKnownHostsFile={} -o StrictHostKeyChecking=yes -o BatchMode=yes -o SendEnv=BERTH_RUNTIME_DIR {reuse}",
        dir.join("client_key").display(),
        dir.join("known_hosts").display()
    )
}

/// `ssh root@127.0.0.1 true` as `way`.
fn plain_ssh(dir: &Path, sshd: &Sshd, way: Way) -> anyhow::Result<()> {
    let line = format!(
        "{} -p {} root@127.0.0.1 true",
        ssh_command(dir, way),
        sshd.port
    );
    let out = Command::new("sh")
        .args(["-c", &line])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()?;
    ensure!(
        out.status.success(),
        "{line} failed: {}",
        String::from_utf8_lossy(&out.stderr).trim()
    );
    Ok(())
}

/// One `berth ARGS`, reaching the session `way`; fails unless it succeeded.
fn verb(ctx: &Ctx, dir: &Path, sshd: &Sshd, way: Way, args: &[&str]) -> anyhow::Result<()> {
    let mut cmd = Command::new(&ctx.bins.berth);
    cmd.env("BERTH_RUNTIME_DIR", dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    if !matches!(way, Way::Local) {
        cmd.arg("-H")
            .arg(format!("ssh://root@127.0.0.1:{}", sshd.port))
            .env("BERTH_SSH_COMMAND", ssh_command(dir, way))
            .env("BERTH_REMOTE_BERTH", &ctx.bins.berth);
    }
    let out = cmd.args(args).stderr(Stdio::piped()).output()?;
    if !out.status.success() {
        bail!(
            "berth {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}
