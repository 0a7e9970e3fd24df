//! State shared by the supervisor and the connections, and the status it reports.

use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use berth_proto::{ExitInfo, Size, State, Status};
use tokio::sync::mpsc;

use crate::{program::Identity, terminal::Terminal};

/// Fixed facts about this host.
#[derive(Debug, Clone)]
pub struct HostInfo {
    pub name: String,
    pub command: Vec<String>,
    pub identity: Identity,
    pub log: Option<PathBuf>,
}

/// What changes as the session lives.
pub struct Session {
    pub term: Terminal,
    pub state: State,
    pub pid: Option<u32>,
    pub started: Option<Instant>,
    pub restarts: u32,
    pub last_exit: Option<ExitInfo>,
    pub last_error: Option<String>,
    pub restart_at: Option<Instant>,
    pub log_error: Option<String>,
}

impl Session {
    pub fn new(term: Terminal) -> Self {
        Self {
            term,
            state: State::Starting,
            pid: None,
            started: None,
            restarts: 0,
            last_exit: None,
            last_error: None,
            restart_at: None,
            log_error: None,
        }
    }

    /// Everything the program (or berth on its behalf) wrote to the terminal.
    pub fn output(&mut self, bytes: &[u8]) {
        self.term.process(bytes);
    }

    /// A `[berth] ...` line in the screen.
    pub fn marker(&mut self, text: &str) {
        self.term.write_marker(text);
    }
}

/// Requests to the supervisor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Restart the program now, with a clean restart history.
    Restart,
    /// Stop the program and end the session.
    Stop,
}

pub struct Shared {
    pub info: HostInfo,
    session: Mutex<Session>,
    /// The PTY master, for ioctls (foreground process group, window size).
    pub pty: OwnedFd,
    /// Keyboard input for the program, written in order by one task.
    pub input: mpsc::Sender<Vec<u8>>,
    pub commands: mpsc::Sender<Command>,
}

impl Shared {
    pub fn new(
        info: HostInfo,
        session: Session,
        pty: OwnedFd,
        input: mpsc::Sender<Vec<u8>>,
        commands: mpsc::Sender<Command>,
    ) -> Self {
        Self {
            info,
            session: Mutex::new(session),
            pty,
            input,
            commands,
        }
    }

    /// Locks the session state. Never held across an await.
    pub fn lock(&self) -> MutexGuard<'_, Session> {
        // A panic while holding the lock leaves state that is still readable.
        self.session.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Name of the PTY's foreground process, like tmux's `pane_current_command`.
    pub fn foreground(&self) -> Option<String> {
        let pgrp = rustix::termios::tcgetpgrp(&self.pty).ok()?;
        let comm = std::fs::read_to_string(format!("/proc/{}/comm", pgrp.as_raw_nonzero())).ok()?;
        Some(comm.trim_end().to_owned())
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
            command: self.info.command.clone(),
            restarts: s.restarts,
            last_exit: s.last_exit.clone(),
            clients: Vec::new(),
            size: Size { cols, rows },
            log: self.info.log.as_ref().map(|p| p.display().to_string()),
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
        }
    }
}
