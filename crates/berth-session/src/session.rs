//! State shared by the supervisor and the connections, and the status it reports.

use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use berth_proto::{ExitInfo, Response, Size, State, Status};
use tokio::sync::{mpsc, Notify};

use crate::clients::{Clients, SizePolicy};
use crate::{program::Identity, terminal::Terminal};

/// Fixed facts about this host.
#[derive(Debug, Clone)]
pub struct HostInfo {
    pub name: String,
    pub identity: Identity,
    pub log: Option<PathBuf>,
    /// Rotated log files kept beside it.
    pub log_keep: u32,
    /// Output goes to the journal (`--log-journal`).
    pub journal: bool,
    /// The recording (`--record`), beside the log.
    pub recording: Option<PathBuf>,
    /// Between the signals that stop the program (HUP, TERM, KILL).
    pub stop_grace: std::time::Duration,
    /// What ends the program's leftovers when the session stops.
    pub cleanup: String,
    /// berthd started this host (and ends it: `berth kill` goes to berthd).
    pub by_berthd: bool,
}

/// What changes as the session lives.
pub struct Session {
    pub term: Terminal,
    /// The program, as configured (a reload may change it).
    pub command: Vec<String>,
    pub state: State,
    pub pid: Option<u32>,
    pub started: Option<Instant>,
    pub restarts: u32,
    pub last_exit: Option<ExitInfo>,
    pub last_error: Option<String>,
    pub restart_at: Option<Instant>,
    pub log_error: Option<String>,
    pub clients: Clients,
    /// The size while no read-write client is attached.
    pub default_size: Size,
    /// What the shell integration marks say.
    pub shell: crate::shell::Shell,
    /// The last output or input.
    pub active_at: Option<std::time::SystemTime>,
    /// Bytes the program wrote since the host started (`/metrics`).
    pub output_bytes: u64,
    /// `record = true`: the recording's end in the session.
    pub recording: Option<crate::recording::Recorder>,
}

impl Session {
    pub fn new(term: Terminal, size_policy: SizePolicy, command: Vec<String>) -> Self {
        let (cols, rows) = term.size();
        Self {
            term,
            command,
            state: State::Starting,
            pid: None,
            started: None,
            restarts: 0,
            last_exit: None,
            last_error: None,
            restart_at: None,
            log_error: None,
            clients: Clients::new(size_policy),
            default_size: Size { cols, rows },
            shell: Default::default(),
            active_at: None,
            output_bytes: 0,
            recording: None,
        }
    }

    /// Everything the program wrote: into the screen and to every client.
    pub fn output(&mut self, bytes: &[u8]) {
        // Clients get the read whole, however it is cut below.
        self.clients.broadcast(bytes);
        if self.recording.is_some() {
            // Each command's markers right after the mark that made them,
            // not after the rest of the read.
            let mut rest = bytes;
            while let Some(end) = crate::recording::after_mark(rest) {
                let (part, next) = rest.split_at(end);
                self.take_output(part);
                rest = next;
            }
            return self.take_output(rest);
        }
        self.take_output(bytes);
    }

    /// Into the screen, counted, and what the marks in it say.
    fn take_output(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        self.term.process(bytes);
        self.output_bytes += bytes.len() as u64;
        let marks = self.term.take_marks();
        if !marks.is_empty() {
            let chapters = self.shell.on_marks(marks, &mut self.term);
            chapters.into_iter().for_each(|c| self.record_marker(c));
        }
        self.active_at = Some(std::time::SystemTime::now());
    }

    /// A marker in the recording, if there is one, where the output is now.
    pub fn record_marker(&mut self, label: impl Into<String>) {
        self.record(crate::recording::Event::Marker(label.into()));
    }

    /// An event in the recording, if there is one, where the output is now.
    pub fn record(&mut self, event: crate::recording::Event) {
        if let Some(r) = &mut self.recording {
            r.event(self.output_bytes, event);
        }
    }

    /// Whether a program runs to take input; if not, the refusal to give
    /// (`session` is the session's name).
    pub fn program_running(&self, session: &str) -> Result<(), String> {
        // Starting: the program is being started (the host's first start,
        // or a restart) and reads what waits in its terminal once it runs.
        if self.pid.is_some() || self.state == State::Starting {
            return Ok(());
        }
        let how = self
            .last_exit
            .as_ref()
            .map(|e| format!(": the last one {}", e.predicate()))
            .unwrap_or_default();
        Err(format!(
            "session {session} has no program running{how}; nothing was typed (berth start {session} starts it)"
        ))
    }

    /// A `[berth] ...` line in the screen and on every client.
    pub fn marker(&mut self, text: &str) {
        let bytes = self.term.write_marker(text);
        self.clients.broadcast(&bytes);
        if self.recording.is_some() {
            self.record(crate::recording::Event::Output(bytes));
            self.record_marker(format!("[berth] {text}"));
        }
    }
}

/// Requests to the supervisor.
#[derive(Debug, Clone)]
pub enum Command {
    /// Restart the program now, with a clean restart history.
    Restart,
    /// Stop the program and keep the host, its screen and clients.
    StopProgram,
    /// Start the program if it is not running.
    Start,
    /// New program settings from a reload: restart the program with them.
    Reconfigure(Box<berth_config::spec::ProgramSpec>),
    /// Stop the program and end the session (the host exits).
    Shutdown,
}

pub struct Shared {
    pub info: HostInfo,
    session: Mutex<Session>,
    /// The PTY master, for ioctls (foreground process group, window size).
    pub pty: OwnedFd,
    /// Keyboard input for the program, written in order by one task.
    pub input: crate::input::InputSender,
    pub commands: mpsc::Sender<Command>,
    /// Signalled whenever a client leaves.
    pub client_left: Notify,
    /// Signalled whenever the state changes (see [`Shared::publish`]).
    pub state_changed: Notify,
    /// Signalled whenever output was taken in (for `wait`).
    pub output_arrived: Notify,
    /// Signalled whenever the output log may have grown (for `logs -f`).
    pub log_written: Notify,
}

impl Shared {
    pub fn new(
        info: HostInfo,
        session: Session,
        pty: OwnedFd,
        input: crate::input::InputSender,
        commands: mpsc::Sender<Command>,
    ) -> Self {
        Self {
            info,
            session: Mutex::new(session),
            pty,
            input,
            commands,
            client_left: Notify::new(),
            state_changed: Notify::new(),
            output_arrived: Notify::new(),
            log_written: Notify::new(),
        }
    }

    /// Sets the terminal to the size the clients ask for, or the default.
    /// The kernel tells the program with SIGWINCH.
    pub fn apply_size(&self, s: &mut Session) {
        let want = s.clients.wanted_size().unwrap_or(s.default_size);
        if s.term.size() == (want.cols, want.rows) {
            return;
        }
        s.term.resize(want.cols, want.rows);
        s.record(crate::recording::Event::Resize(want.cols, want.rows));
        s.clients.notify(Response::Resized { size: want });
        self.state_changed.notify_waiters();
        let ws = rustix::termios::Winsize {
            ws_row: want.rows,
            ws_col: want.cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        if let Err(e) = rustix::termios::tcsetwinsize(&self.pty, ws) {
            tracing::warn!(session = %self.info.name, "failed to resize the terminal: {e}");
        }
    }

    /// Removes a client and lets the size follow the rest.
    pub fn remove_client(&self, id: u64) {
        let mut s = self.lock();
        if let Some(c) = s.clients.info_of(id) {
            s.record_marker(crate::recording::label::detached(&c.user, c.uid));
        }
        s.clients.remove(id);
        self.apply_size(&mut s);
        drop(s);
        self.client_left.notify_waiters();
        self.state_changed.notify_waiters();
    }

    /// Waits until every client has gone, at most `limit`.
    pub async fn clients_gone(&self, limit: std::time::Duration) {
        let _ = tokio::time::timeout(limit, async {
            loop {
                let left = self.client_left.notified();
                if self.lock().clients.is_empty() {
                    return;
                }
                left.await;
            }
        })
        .await;
    }

    /// Locks the session state. Never held across an await.
    pub fn lock(&self) -> MutexGuard<'_, Session> {
        // A panic while holding the lock leaves state that is still readable.
        self.session.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Name of the PTY's foreground process, like tmux's `pane_current_command`.
    pub fn foreground(&self) -> Option<String> {
        command_name(self.foreground_group()?)
    }

    /// The PTY's foreground process group.
    pub fn foreground_group(&self) -> Option<i32> {
        let pgrp = rustix::termios::tcgetpgrp(&self.pty).ok()?;
        Some(pgrp.as_raw_nonzero().get())
    }

    /// The one-line state systemd shows (`systemctl status`), e.g.
    /// "running pid 812, 3 restarts, last exit 1".
    pub fn status_line(&self) -> String {
        let s = self.lock();
        let last = s.last_exit.as_ref().map(|e| match (e.code, e.signal) {
            (Some(c), _) => format!("last exit {c}"),
            (_, Some(sig)) => format!(
                "last exit {}",
                nix::sys::signal::Signal::try_from(sig)
                    .map_or_else(|_| format!("signal {sig}"), |x| x.as_str().to_owned())
            ),
            _ => "last start failed".to_owned(),
        });
        let restarts = format!(
            "{} restart{}",
            s.restarts,
            if s.restarts == 1 { "" } else { "s" }
        );
        let mut parts = vec![match s.state {
            State::Running => format!("running pid {}", s.pid.unwrap_or(0)),
            State::Backoff => {
                let secs = s.restart_at.map_or(0, |t| {
                    t.saturating_duration_since(Instant::now())
                        .as_secs_f64()
                        .ceil() as u64
                });
                format!("backoff, restarting in {secs}s")
            }
            State::Exited => "exited, not restarting".to_owned(),
            State::Failed => "failed, restart limit reached".to_owned(),
            State::Starting => "starting".to_owned(),
            State::Stopped => "stopped".to_owned(),
        }];
        parts.push(restarts);
        parts.extend(last);
        parts.join(", ")
    }

    /// Waits until the program is stopped, at most as long as stopping it
    /// can take (SIGHUP, SIGTERM and SIGKILL a grace apart, then the drain).
    /// True when it is.
    pub async fn stopped(&self) -> bool {
        let limit = self.info.stop_grace * 3 + std::time::Duration::from_secs(1);
        tokio::time::timeout(limit, async {
            loop {
                let changed = self.state_changed.notified();
                if self.lock().state == State::Stopped {
                    return;
                }
                changed.await;
            }
        })
        .await
        .is_ok()
    }

    /// Tells waiters and systemd the current state (systemd only with
    /// NOTIFY_SOCKET).
    pub fn publish(&self) {
        self.state_changed.notify_waiters();
        if std::env::var_os("NOTIFY_SOCKET").is_none() {
            return;
        }
        let line = self.status_line();
        let _ = sd_notify::notify(&[sd_notify::NotifyState::Status(&line)]);
    }

    pub fn status(&self) -> Status {
        let foreground = self.foreground();
        let s = self.lock();
        let (cols, rows) = s.term.size();
        let now = Instant::now();
        Status {
            name: self.info.name.clone(),
            state: s.state,
            pid: s.pid,
            user: self.info.identity.user.clone(),
            uid: self.info.identity.uid,
            command: s.command.clone(),
            restarts: s.restarts,
            last_exit: s.last_exit.clone(),
            clients: s.clients.infos(),
            size: Size { cols, rows },
            log: match (&self.info.log, self.info.journal) {
                (Some(p), _) => Some(p.display().to_string()),
                (None, true) => Some("journal".into()),
                (None, false) => None,
            },
            foreground: s.pid.and(foreground),
            uptime_s: s
                .started
                .filter(|_| s.pid.is_some())
                .map(|t| now.duration_since(t).as_secs()),
            restart_in_ms: s
                .restart_at
                .filter(|_| s.state == State::Backoff)
                .map(|t| t.saturating_duration_since(now).as_millis() as u64),
            last_error: s.last_error.clone(),
            log_error: s.log_error.clone(),
            host_pid: std::process::id(),
            shell: s.shell.state(),
            active_at_ms: s.active_at.map(crate::shell::unix_ms),
            output_bytes: s.output_bytes,
            memory_bytes: crate::memory::resident(),
            cleanup: Some(self.info.cleanup.clone()),
        }
    }
}

/// A process's command name (`/proc/PID/comm`).
pub fn command_name(pid: i32) -> Option<String> {
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
    Some(comm.trim_end().to_owned())
}
