//! The systems compared, and how each one starts a detached session, lets a
//! client attach, captures history, and names the processes it costs.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{bail, Context as _};
use serde::Serialize;

use crate::env::{wait_until, which, Bins};
use crate::procs;
use crate::term::{Term, COLS, ROWS};

/// History kept by every system that keeps any (DESIGN.md's figure).
pub const SCROLLBACK: usize = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum System {
    /// The floor: the benchmark itself runs the program on a PTY and
    /// discards what it writes.
    Raw,
    Berth,
    /// berth with `log = "none"`: what the output log costs.
    BerthNoLog,
    /// berth with `record = true` (and its log): what recording costs.
    BerthRecord,
    Tmux,
    Screen,
    Dtach,
}

impl System {
    pub const ALL: [System; 7] = [
        System::Raw,
        System::Berth,
        System::BerthNoLog,
        System::BerthRecord,
        System::Tmux,
        System::Screen,
        System::Dtach,
    ];

    pub fn name(self) -> &'static str {
        match self {
            System::Raw => "raw PTY",
            System::Berth => "berth",
            System::BerthNoLog => "berth, log off",
            System::BerthRecord => "berth, recording",
            System::Tmux => "tmux",
            System::Screen => "screen",
            System::Dtach => "dtach",
        }
    }

    /// The variants measured only where the log matters (throughput).
    pub fn throughput_only(self) -> bool {
        matches!(self, System::BerthNoLog | System::BerthRecord)
    }

    /// The program this system needs on PATH, if it is a peer.
    pub fn program(self) -> Option<&'static str> {
        match self {
            System::Raw | System::Berth | System::BerthNoLog | System::BerthRecord => None,
            System::Tmux => Some("tmux"),
            System::Screen => Some("screen"),
            System::Dtach => Some("dtach"),
        }
    }
}

/// One measurement's sessions of one system, in a directory of their own.
/// Dropping it ends every process it started.
pub struct Run {
    pub system: System,
    pub dir: PathBuf,
    bins: Bins,
    hosts: Vec<Child>,
}

/// A detached session in a [`Run`].
pub struct Session {
    pub name: String,
    /// berth and dtach: the session's socket.
    pub socket: PathBuf,
}

impl Run {
    pub fn new(system: System, dir: PathBuf, bins: &Bins) -> anyhow::Result<Self> {
        match system {
            System::Tmux => std::fs::write(
                dir.join("tmux.conf"),
                format!("set -g history-limit {SCROLLBACK}\nset -g status off\n"),
            )?,
            System::Screen => {
                std::fs::write(
                    dir.join("screenrc"),
                    format!("defscrollback {SCROLLBACK}\nstartup_message off\nhardstatus off\n"),
                )?;
                let sd = dir.join("S");
                std::fs::create_dir(&sd)?;
                std::fs::set_permissions(&sd, std::os::unix::fs::PermissionsExt::from_mode(0o700))?;
            }
            _ => {}
        }
        Ok(Self {
            system,
            dir,
            bins: bins.clone(),
            hosts: Vec::new(),
        })
    }

    fn tmux(&self) -> Command {
        let mut c = Command::new("tmux");
        c.arg("-S")
            .arg(self.dir.join("tmux.sock"))
            .arg("-f")
            .arg(self.dir.join("tmux.conf"));
        c
    }

    fn screen(&self) -> Command {
        let mut c = Command::new("screen");
        c.env("SCREENDIR", self.dir.join("S"))
            .arg("-c")
            .arg(self.dir.join("screenrc"));
        c
    }

    /// Starts `shell` (run by `sh -c`) in a new detached 80x24 session with
    /// 10,000 lines of history, as its users would: berth as berthd starts
    /// a host (default settings, output log on), the peers from their
    /// command line.
    pub fn start(&mut self, name: &str, shell: &str) -> anyhow::Result<Session> {
        let socket = self.session(name).socket;
        let size = format!("{COLS}x{ROWS}");
        match self.system {
            System::Raw => bail!("the raw PTY has no sessions"),
            System::Berth | System::BerthNoLog | System::BerthRecord => {
                std::fs::create_dir_all(self.runtime_dir().join("sessions"))?;
                let mut cmd = Command::new(&self.bins.session);
                cmd.args(["--name", name, "--socket"]).arg(&socket);
                if self.system != System::BerthNoLog {
                    let log = self.dir.join("logs").join(format!("{name}.log"));
                    cmd.arg("--log").arg(&log);
                }
                if self.system == System::BerthRecord {
                    cmd.arg("--record");
                }
                let child = cmd
                    .args(["--scrollback", &SCROLLBACK.to_string(), "--size", &size])
                    .args(["--restart", "never", "--", "sh", "-c", shell])
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(std::fs::File::create(
                        self.dir.join(format!("{name}.stderr")),
                    )?)
                    .spawn()
                    .context("failed to start berth-session")?;
                self.hosts.push(child);
                let s = socket.clone();
                wait_until(
                    "the berth socket",
                    Duration::from_secs(10),
                    Duration::from_millis(1),
                    || s.exists(),
                )?;
            }
            System::Tmux => {
                let x = COLS.to_string();
                let y = ROWS.to_string();
                check(
                    self.tmux()
                        .args(["new-session", "-d", "-s", name, "-x", &x, "-y", &y, shell]),
                    "tmux new-session",
                )?;
            }
            System::Screen => {
                check(
                    self.screen().args(["-dmS", name, "sh", "-c", shell]),
                    "screen -dmS",
                )?;
                let dir = self.dir.join("S");
                let suffix = format!(".{name}");
                wait_until(
                    "the screen socket",
                    Duration::from_secs(10),
                    Duration::from_millis(1),
                    || {
                        std::fs::read_dir(&dir).is_ok_and(|mut d| {
                            d.any(|e| {
                                e.is_ok_and(|e| e.file_name().to_string_lossy().ends_with(&suffix))
                            })
                        })
                    },
                )?;
            }
            System::Dtach => {
                check(
                    Command::new("dtach")
                        .arg("-n")
                        .arg(&socket)
                        .args(["-z", "sh", "-c", shell]),
                    "dtach -n",
                )?;
                let s = socket.clone();
                wait_until(
                    "the dtach socket",
                    Duration::from_secs(10),
                    Duration::from_millis(1),
                    || s.exists(),
                )?;
            }
        }
        Ok(Session {
            name: name.to_owned(),
            socket,
        })
    }

    /// Session `name` of this run (started or not).
    pub fn session(&self, name: &str) -> Session {
        let socket = match self.system {
            // Where berth looks in a runtime directory, so `berth watch
            // --runtime-dir` finds the run's sessions by name.
            System::Berth | System::BerthNoLog | System::BerthRecord => self
                .runtime_dir()
                .join("sessions")
                .join(format!("{name}.sock")),
            _ => self.dir.join(format!("{name}.sock")),
        };
        Session {
            name: name.to_owned(),
            socket,
        }
    }

    /// berth's runtime directory for this run's sessions.
    pub fn runtime_dir(&self) -> PathBuf {
        self.dir.clone()
    }

    /// Waits until at least `n` clients are attached to berth session `s`.
    pub fn wait_clients(&self, s: &Session, n: usize) -> anyhow::Result<()> {
        wait_until(
            "clients to attach",
            Duration::from_secs(10),
            Duration::from_millis(5),
            || {
                Command::new(&self.bins.berth)
                    .args(["status", &s.name, "--json", "--socket"])
                    .arg(&s.socket)
                    .output()
                    .ok()
                    .and_then(|o| serde_json::from_slice::<serde_json::Value>(&o.stdout).ok())
                    .and_then(|v| v["clients"].as_array().map(Vec::len))
                    .is_some_and(|c| c >= n)
            },
        )
    }

    /// Starts the system's attach client for `s` in a new PTY, as a user
    /// would in their terminal.
    pub fn attach(&self, s: &Session) -> anyhow::Result<Term> {
        let (exe, args, env) = self.attach_command(s);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        Term::spawn(&exe, &args, &env)
    }

    /// The client that attaches to `s`: (program, args, env).
    fn attach_command(&self, s: &Session) -> (PathBuf, Vec<String>, Vec<(String, String)>) {
        let dir = self.dir.display().to_string();
        let sock = s.socket.display().to_string();
        let exe = |p: &str| which(p).unwrap_or_else(|| PathBuf::from(p));
        match self.system {
            System::Raw => unreachable!("the raw PTY has no client"),
            System::Berth | System::BerthNoLog | System::BerthRecord => (
                self.bins.berth.clone(),
                vec!["attach".into(), s.name.clone(), "--socket".into(), sock],
                vec![],
            ),
            System::Tmux => (
                exe("tmux"),
                vec![
                    "-S".into(),
                    format!("{dir}/tmux.sock"),
                    "attach".into(),
                    "-t".into(),
                    s.name.clone(),
                ],
                vec![],
            ),
            System::Screen => (
                exe("screen"),
                vec!["-r".into(), s.name.clone()],
                vec![("SCREENDIR".into(), format!("{dir}/S"))],
            ),
            System::Dtach => (
                exe("dtach"),
                vec![
                    "-a".into(),
                    sock,
                    "-E".into(),
                    "-z".into(),
                    "-r".into(),
                    "none".into(),
                ],
                vec![],
            ),
        }
    }

    /// Prints the whole history and screen of `s`; returns how many lines.
    /// `None`: the system keeps no history (dtach). `expect`: the lines it
    /// should hold, to know when screen has finished writing its file.
    pub fn capture(&self, s: &Session, expect: usize) -> anyhow::Result<Option<usize>> {
        let out = match self.system {
            System::Raw | System::Dtach => return Ok(None),
            System::Berth | System::BerthNoLog | System::BerthRecord => {
                Command::new(&self.bins.berth)
                    .args(["capture", &s.name, "--socket"])
                    .arg(&s.socket)
                    .args(["-S", "-", "-E", "-"])
                    .output()?
            }
            System::Tmux => self
                .tmux()
                .args(["capture-pane", "-p", "-S", "-", "-E", "-", "-t", &s.name])
                .output()?,
            System::Screen => {
                // screen writes captures only to files: the time includes
                // waiting for the file to appear whole.
                let file = self.dir.join(format!("{}.hardcopy", s.name));
                let _ = std::fs::remove_file(&file);
                let st = self
                    .screen()
                    .args(["-S", &s.name, "-X", "hardcopy", "-h"])
                    .arg(&file)
                    .output()?;
                if !st.status.success() {
                    bail!(
                        "screen hardcopy failed: {}",
                        String::from_utf8_lossy(&st.stdout).trim()
                    );
                }
                // screen writes the file in pieces: it is whole once it holds
                // the lines expected and ends with a line end.
                let mut text = Vec::new();
                let whole = wait_until(
                    "screen's hardcopy file",
                    Duration::from_secs(2),
                    Duration::from_micros(200),
                    || {
                        text = std::fs::read(&file).unwrap_or_default();
                        text.ends_with(b"\n") && text.split(|&b| b == b'\n').count() > expect
                    },
                );
                if whole.is_err() && text.is_empty() {
                    bail!("screen wrote no hardcopy to {}", file.display());
                }
                return Ok(Some(text.split(|&b| b == b'\n').count().saturating_sub(1)));
            }
        };
        if !out.status.success() {
            bail!(
                "capture failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(Some(
            out.stdout.split(|&b| b == b'\n').count().saturating_sub(1),
        ))
    }

    /// The processes the sessions of this run cost, besides their programs.
    pub fn processes(&self) -> anyhow::Result<Vec<u32>> {
        Ok(match self.system {
            System::Raw => Vec::new(),
            System::Berth | System::BerthNoLog | System::BerthRecord => {
                self.hosts.iter().map(|c| c.id()).collect()
            }
            System::Tmux => {
                let out = self
                    .tmux()
                    .args(["display-message", "-p", "#{pid}"])
                    .output()?;
                let pid = String::from_utf8_lossy(&out.stdout)
                    .trim()
                    .parse()
                    .context("tmux did not tell its server's pid")?;
                vec![pid]
            }
            System::Screen => std::fs::read_dir(self.dir.join("S"))?
                .filter_map(|e| {
                    e.ok()?
                        .file_name()
                        .to_str()?
                        .split('.')
                        .next()?
                        .parse()
                        .ok()
                })
                .collect(),
            // The session masters: `dtach -n` leaves only them behind.
            System::Dtach => procs::matching(&format!("{}/", self.dir.display()))
                .into_iter()
                .filter(|pid| {
                    std::fs::read_to_string(format!("/proc/{pid}/comm"))
                        .is_ok_and(|c| c.trim() == "dtach")
                })
                .collect(),
        })
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        if self.system == System::Tmux {
            let _ = self
                .tmux()
                .arg("kill-server")
                .stderr(Stdio::null())
                .status();
        }
        procs::kill_matching(&format!("{}/", self.dir.display()));
        for mut h in self.hosts.drain(..) {
            let _ = h.kill();
            let _ = h.wait();
        }
        // Output logs of deleted files are never written back to disk, so
        // one run's logs do not load the disk during the next run.
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn check(cmd: &mut Command, what: &str) -> anyhow::Result<()> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("failed to run {what}"))?;
    if !out.status.success() {
        bail!(
            "{what} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}
