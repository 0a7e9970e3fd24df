//! A throwaway systemd: a container booted with systemd-nspawn, entered
//! with nsenter, stopped on every exit path (Drop). The host's OS under a
//! fresh tmpfs ([`Machine::boot`], the DESIGN recipe), or a writable
//! overlay of it that a package can be installed into ([`Overlay`],
//! [`Machine::boot_root`]).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use crate::{bin, wait_until};

pub struct Machine {
    nspawn: Child,
    leader: i32,
    _dir: tempfile::TempDir,
}

impl Machine {
    /// Boots the host's own OS read-only under a fresh tmpfs root
    /// (`--volatile=yes`), with this build's binaries at /opt/berth and the
    /// repository's units at /opt/berth-units.
    pub fn boot(name: &str) -> Machine {
        let bins = bin("berthd").parent().unwrap().to_owned();
        let units = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../units")
            .canonicalize()
            .unwrap();
        Self::boot_with(
            name,
            &[
                "-D".into(),
                "/".into(),
                "--volatile=yes".into(),
                format!("--bind-ro={}:/opt/berth", bins.display()),
                format!("--bind-ro={}:/opt/berth-units", units.display()),
            ],
        )
    }

    /// Boots the tree at `root` (writable: packages can be installed into
    /// it), with `binds` (host path, container path) read-only.
    pub fn boot_root(name: &str, root: &Path, binds: &[(&Path, &str)]) -> Machine {
        let mut args = vec!["-D".to_owned(), root.display().to_string()];
        args.extend(
            binds
                .iter()
                .map(|(host, inside)| format!("--bind-ro={}:{inside}", host.display())),
        );
        Self::boot_with(name, &args)
    }

    fn boot_with(name: &str, root_args: &[String]) -> Machine {
        let dir = tempfile::tempdir().unwrap();
        let console = std::fs::File::create(dir.path().join("console.log")).unwrap();
        let nspawn = Command::new("systemd-nspawn")
            .args(root_args)
            .args(["-b", "--register=no", "--keep-unit", "-M", name])
            .arg("systemd.firstboot=off")
            .stdin(Stdio::null())
            .stdout(console.try_clone().unwrap())
            .stderr(console)
            .spawn()
            .expect("systemd-nspawn");
        let mut m = Machine {
            nspawn,
            leader: 0,
            _dir: dir,
        };
        // The container's PID 1 is systemd-nspawn's child, or its
        // grandchild when nspawn keeps a helper (as it does on a terminal).
        let outer = m.nspawn.id() as i32;
        m.leader = wait_until(Duration::from_secs(60), || {
            let kids = children(outer);
            kids.iter()
                .copied()
                .chain(kids.iter().flat_map(|k| children(*k)))
                .find(|p| comm(*p) == "systemd")
        })
        .expect("the container's systemd");
        // Entering it works once its namespaces are set up and systemd answers.
        let mut state = String::new();
        let up = wait_until(Duration::from_secs(90), || {
            let out = m.sh("systemctl is-system-running --wait");
            state = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout).trim(),
                String::from_utf8_lossy(&out.stderr).trim()
            );
            (state == "running" || state == "degraded").then_some(())
        });
        assert!(up.is_some(), "the container did not boot: {state}");
        m
    }

    /// Runs a shell command inside the container.
    pub fn sh(&self, cmd: &str) -> Output {
        Command::new("nsenter")
            .args([
                "-t",
                &self.leader.to_string(),
                "-a",
                "--",
                "/bin/sh",
                "-c",
                cmd,
            ])
            .env(
                "PATH",
                "/opt/berth:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            )
            .stdin(Stdio::null())
            .output()
            .expect("nsenter")
    }

    /// Runs it and returns stdout, failing the test if it fails.
    pub fn ok(&self, cmd: &str) -> String {
        let out = self.sh(cmd);
        assert!(
            out.status.success(),
            "`{cmd}` failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn show(&self, unit: &str, prop: &str) -> String {
        self.ok(&format!("systemctl show -P {prop} {unit}"))
            .trim()
            .to_owned()
    }

    pub fn status_json(&self, session: &str) -> serde_json::Value {
        serde_json::from_str(&self.ok(&format!("berth status {session} --json"))).unwrap()
    }

    pub fn wait_for(&self, what: &str, cmd: &str, want: impl Fn(&str) -> bool) -> String {
        let mut last = String::new();
        wait_until(Duration::from_secs(30), || {
            let out = self.sh(cmd);
            last = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            want(&last).then(|| last.clone())
        })
        .unwrap_or_else(|| {
            panic!(
                "timed out waiting for {what}: `{cmd}` says:\n{last}\nberthd's journal:\n{}",
                self.journal()
            )
        })
    }

    pub fn journal(&self) -> String {
        String::from_utf8_lossy(&self.sh("journalctl -u berthd --no-pager | tail -40").stdout)
            .into_owned()
    }
}

impl Drop for Machine {
    fn drop(&mut self) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.nspawn.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        if wait_until(Duration::from_secs(20), || {
            self.nspawn.try_wait().ok().flatten()
        })
        .is_none()
        {
            let _ = self.nspawn.kill();
            let _ = self.nspawn.wait();
        }
    }
}

/// Processes whose parent is `pid` (what `pgrep -P` finds).
fn children(pid: i32) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|child| {
            std::fs::read_to_string(format!("/proc/{child}/stat"))
                .ok()
                .and_then(|stat| {
                    stat.rsplit(')')
                        .next()
                        .and_then(|r| r.split_whitespace().nth(1))
                        .map(str::to_owned)
                })
                .is_some_and(|ppid| ppid == pid.to_string())
        })
        .collect()
}

fn comm(pid: i32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .unwrap_or_default()
        .trim()
        .to_owned()
}

pub fn skip_unless_possible(test: &str) -> bool {
    let root = nix::unistd::geteuid().is_root();
    let nspawn = ["/usr/bin/systemd-nspawn", "/bin/systemd-nspawn"]
        .iter()
        .any(|p| PathBuf::from(p).exists());
    if root && nspawn {
        return false;
    }
    let why = if !root {
        "not running as root"
    } else {
        "systemd-nspawn is missing (apt-get install systemd-container)"
    };
    if std::env::var("BERTH_REQUIRE_SYSTEMD_TESTS").as_deref() == Ok("1") {
        panic!("{test}: cannot run ({why}) but BERTH_REQUIRE_SYSTEMD_TESTS=1");
    }
    eprintln!("SKIPPED {test}: {why}");
    true
}

/// A writable copy-on-write view of this machine's root: an overlay with
/// the host's / as its read-only lower layer and a tmpfs above, so dpkg can
/// install into /usr and /etc of a container booted from it while the host
/// stays untouched. Unmounted, and every change gone, on drop.
pub struct Overlay {
    dir: tempfile::TempDir,
}

impl Overlay {
    pub fn mount() -> Overlay {
        let dir = tempfile::Builder::new()
            .prefix("berth-overlay-")
            .tempdir()
            .unwrap();
        let d = dir.path().display();
        let script = format!(
            "mount -t tmpfs berth-overlay {d} && mkdir {d}/upper {d}/work {d}/root && \
             mount -t overlay berth-overlay -o lowerdir=/,upperdir={d}/upper,workdir={d}/work {d}/root"
        );
        let out = Command::new("sh").args(["-c", &script]).output().unwrap();
        assert!(
            out.status.success(),
            "cannot mount an overlay of / (needs root and overlayfs): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Overlay { dir }
    }

    pub fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }
}

impl Drop for Overlay {
    fn drop(&mut self) {
        for target in [self.root(), self.dir.path().to_owned()] {
            let _ = Command::new("umount").arg("-l").arg(&target).status();
        }
    }
}
