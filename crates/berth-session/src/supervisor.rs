//! The PTY pump and the program's lifecycle, in one loop.
//!
//! One task reads the PTY, logs and parses every byte, reaps the program,
//! writes the exit marker, and restarts per policy. Keeping all of that in
//! one `select!` keeps output and markers in order: the marker for an exit
//! always follows the last output of the run that exited.

use std::sync::Arc;
use std::time::{Duration, Instant};

use berth_config::values::format_duration;
use berth_proto::{ExitInfo, State};
use nix::sys::signal::Signal;
use tokio::io::AsyncReadExt;
use tokio::sync::mpsc;

use crate::log_writer::LogWriter;
use crate::policy::{Decision, Outcome, RestartPolicy, Restarts};
use crate::program::Launch;
use crate::session::{Command, Shared};

/// After the program exits, output still in flight through the line
/// discipline is read until the PTY stays quiet this long.
const DRAIN_QUIET: Duration = Duration::from_millis(30);
/// Upper bound on that drain, for background jobs that keep writing.
const DRAIN_MAX: Duration = Duration::from_millis(500);
/// Bytes read from the PTY at a time.
const READ_CHUNK: usize = 64 * 1024;

pub struct Supervisor {
    pub shared: Arc<Shared>,
    pub spec: Launch,
    pub policy: RestartPolicy,
    pub log: Option<LogWriter>,
    /// `log = "journal"`.
    pub journal: Option<crate::journal_log::JournalLog>,
    pub pts: pty_process::Pts,
    pub reader: pty_process::OwnedReadPty,
    pub commands: mpsc::Receiver<Command>,
    /// Between signals when stopping the program: SIGHUP, SIGTERM, SIGKILL.
    pub stop_grace: Duration,
}

/// What the loop waits for besides output and commands.
enum Timer {
    None,
    /// Start the program at this instant (backoff).
    Start(Instant),
    /// Send the next stop signal at this instant.
    Escalate(Instant, Signal),
}

/// Why the program is being stopped.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Pending {
    Nothing,
    /// Start it again right away; the words say why (for the marker).
    Restart(&'static str),
    /// Keep it stopped; the host, screen and clients stay (`berth stop`).
    Halt,
    /// End the session: the host exits.
    Shutdown,
}

/// The loop's state a command may change.
struct Run<'a> {
    child: &'a Option<tokio::process::Child>,
    pending: &'a mut Pending,
    timer: &'a mut Timer,
    restarts: &'a mut Restarts,
}

impl Supervisor {
    /// Runs until the session is stopped.
    /// Runs the session until it ends, then lets the log finish writing.
    pub async fn run(mut self) {
        self.run_loop().await;
        {
            // The recording's end: the session's, with the program's last
            // status; then the recorder goes, so the log's thread can end.
            let mut s = self.shared.lock();
            let status = s.last_exit.as_ref().map_or(0, ExitInfo::shell_status);
            s.record(crate::recording::Event::Exit(status));
            s.recording = None;
        }
        if let Some(log) = self.log.take() {
            log.finish().await;
        }
    }

    async fn run_loop(&mut self) {
        let mut buf = vec![0u8; READ_CHUNK];
        let mut restarts = Restarts::default();
        let mut child: Option<tokio::process::Child> = None;
        let mut timer = Timer::Start(Instant::now());
        let mut pending = Pending::Nothing;
        let mut commands_open = true;

        loop {
            let deadline = match timer {
                Timer::None => None,
                Timer::Start(t) | Timer::Escalate(t, _) => Some(t),
            };
            tokio::select! {
                biased;
                read = self.reader.read(&mut buf) => match read {
                    Ok(0) => {}
                    Ok(n) => self.output(&buf[..n]).await,
                    Err(e) if e.raw_os_error() == Some(nix::libc::EIO) => {
                        // No process holds the terminal open; the host still
                        // does, so this is transient. Avoid spinning.
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                    Err(e) => {
                        tracing::error!(session = %self.shared.info.name, "reading the terminal failed: {e}");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                },
                status = async { child.as_mut().expect("guarded").wait().await }, if child.is_some() => {
                    child = None;
                    self.drain(&mut buf).await;
                    let exit = exit_info(status);
                    // Before any marker: a `run` waiting gets exactly what
                    // the shell printed, and how it ended.
                    self.shell_ended(&exit);
                    match std::mem::replace(&mut pending, Pending::Nothing) {
                        Pending::Shutdown => {
                            self.ended(exit);
                            return;
                        }
                        Pending::Restart(why) => {
                            restarts.reset();
                            self.marker(&format!("{} at {}; restarting now ({why})", exit.phrase(), clock()));
                            self.record_exit(exit, State::Starting, None);
                            timer = Timer::Start(Instant::now());
                        }
                        Pending::Halt => {
                            let name = &self.shared.info.name;
                            self.marker(&format!("{} at {}; stopped (berth stop); `berth start {name}` starts it again", exit.phrase(), clock()));
                            self.record_exit(exit, State::Stopped, None);
                            timer = Timer::None;
                        }
                        Pending::Nothing => {
                            timer = self.after_exit(exit, None, &mut restarts);
                        }
                    }
                },
                _ = sleep_until(deadline), if deadline.is_some() => match timer {
                    Timer::Start(_) => {
                        timer = Timer::None;
                        match self.start() {
                            Ok(c) => child = Some(c),
                            Err(why) => {
                                let exit = ExitInfo { code: None, signal: None, text: why.clone(), at: unix_now() };
                                timer = self.after_exit(exit, Some(why), &mut restarts);
                            }
                        }
                    }
                    Timer::Escalate(_, signal) => {
                        if let Some(c) = &child {
                            signal_group(c, signal);
                        }
                        timer = match signal {
                            Signal::SIGTERM => Timer::Escalate(Instant::now() + self.stop_grace, Signal::SIGKILL),
                            _ => Timer::None,
                        };
                    }
                    Timer::None => {}
                },
                cmd = self.commands.recv(), if commands_open => {
                    let Some(cmd) = cmd else {
                        commands_open = false;
                        continue;
                    };
                    let mut run = Run { child: &child, pending: &mut pending, timer: &mut timer, restarts: &mut restarts };
                    if self.command(cmd, &mut run) {
                        return;
                    }
                },
                // Last, so it runs only when nothing above is ready: the
                // PTY has no more output for now.
                () = std::future::ready(()), if self.settling_due() => {
                    // Clients first: the log write must not delay an echo.
                    tokio::task::yield_now().await;
                    self.settle().await;
                }
            }
        }
    }

    /// Carries out a request; true when the session must end now.
    fn command(&mut self, cmd: Command, run: &mut Run) -> bool {
        let stopping = matches!(*run.pending, Pending::Halt | Pending::Shutdown);
        match cmd {
            Command::Restart => self.restart_now(run, "berth restart", false),
            Command::Reconfigure(settings) => {
                self.apply(*settings);
                let stopped = self.shared.lock().state == State::Stopped;
                if (run.child.is_none() && stopped) || *run.pending == Pending::Halt {
                    let name = &self.shared.info.name;
                    self.marker(&format!("configuration changed at {}; the program stays stopped until `berth start {name}`", clock()));
                } else if *run.pending != Pending::Shutdown {
                    self.restart_now(run, "configuration changed (berth reload)", true);
                }
            }
            Command::Start => {
                if run.child.is_none() && !stopping {
                    run.restarts.reset();
                    *run.timer = Timer::Start(Instant::now());
                    self.shared.lock().state = State::Starting;
                    self.shared.publish();
                }
            }
            Command::StopProgram => match run.child {
                Some(c) if !stopping => {
                    *run.pending = Pending::Halt;
                    self.shared.lock().shell.stopping(false);
                    // A terminal hangup first, as when a terminal closes.
                    signal_group(c, Signal::SIGHUP);
                    *run.timer = Timer::Escalate(Instant::now() + self.stop_grace, Signal::SIGTERM);
                }
                Some(_) => {}
                None => {
                    *run.timer = Timer::None;
                    let was = {
                        let mut s = self.shared.lock();
                        s.restart_at = None;
                        std::mem::replace(&mut s.state, State::Stopped)
                    };
                    if was != State::Stopped {
                        let name = &self.shared.info.name;
                        self.marker(&format!("stopped at {} (berth stop, was {was}); `berth start {name}` starts it again", clock()));
                    }
                    self.shared.publish();
                }
            },
            Command::Shutdown => match run.child {
                Some(c) => {
                    if *run.pending != Pending::Shutdown {
                        *run.pending = Pending::Shutdown;
                        signal_group(c, Signal::SIGHUP);
                        *run.timer =
                            Timer::Escalate(Instant::now() + self.stop_grace, Signal::SIGTERM);
                    }
                }
                None => {
                    let mut s = self.shared.lock();
                    s.state = State::Stopped;
                    s.restart_at = None;
                    return true;
                }
            },
        }
        false
    }

    /// Stops the program to start it again at once (or starts it now if it
    /// does not run). `announce`: say so in the screen when nothing runs.
    fn restart_now(&mut self, run: &mut Run, why: &'static str, announce: bool) {
        match run.child {
            Some(c) => {
                if *run.pending == Pending::Nothing {
                    *run.pending = Pending::Restart(why);
                    // The shell on its way out says nothing more that
                    // counts; a `run` now waits for the next one's prompt.
                    let integrates = self.spec.shell_integration.is_some();
                    self.shared.lock().shell.stopping(integrates);
                    // SIGHUP right after SIGTERM, as systemd's SendSIGHUP=:
                    // an interactive shell ignores SIGTERM but not a hangup.
                    signal_group(c, Signal::SIGTERM);
                    signal_group(c, Signal::SIGHUP);
                    *run.timer = Timer::Escalate(Instant::now() + self.stop_grace, Signal::SIGKILL);
                }
            }
            None => {
                if announce {
                    self.marker(&format!("{why} at {}; starting now", clock()));
                }
                run.restarts.reset();
                self.shared.lock().state = State::Starting;
                self.shared.publish();
                *run.timer = Timer::Start(Instant::now());
            }
        }
    }

    /// Takes a reload's program settings; the next start uses them.
    fn apply(&mut self, p: berth_config::spec::ProgramSpec) {
        self.policy = crate::args::restart_policy(&p);
        self.spec.command = p.command;
        self.spec.cwd = p.cwd;
        self.spec.env = p.env;
        self.spec.shell_integration = crate::shell_integration::when(
            p.shell_integration,
            self.spec.shell_integration.take(),
            &self.spec.command,
            &self.shared.info.name,
        );
        let mut s = self.shared.lock();
        s.command = self.spec.command.clone();
        s.default_size = berth_proto::Size {
            cols: p.size.0,
            rows: p.size.1,
        };
        s.clients.policy = p.size_policy;
        self.shared.apply_size(&mut s);
    }

    /// Whether a burst of output left work or buffers behind.
    fn settling_due(&self) -> bool {
        if self.log.as_ref().is_some_and(LogWriter::holds_buffer) {
            return true;
        }
        self.shared.lock().term.has_batch()
    }

    /// After a burst: writes what the log gathered, applies the batched
    /// lines to the screen, and frees the buffers both used.
    async fn settle(&mut self) {
        if let Some(log) = &mut self.log {
            log.settle().await;
        }
        self.shared.lock().term.settle();
    }

    /// Logs, parses and shows program output.
    async fn output(&mut self, bytes: &[u8]) {
        if let Some(journal) = &mut self.journal {
            journal.write(bytes);
        }
        // The log's thread writes it, and tells `logs -f` readers.
        if let Some(log) = &mut self.log {
            log.write(bytes).await;
        }
        self.shared.lock().output(bytes);
        self.shared.output_arrived.notify_waiters();
    }

    /// Reads what the exited program wrote that is still on its way.
    async fn drain(&mut self, buf: &mut [u8]) {
        let until = Instant::now() + DRAIN_MAX;
        while Instant::now() < until {
            match tokio::time::timeout(DRAIN_QUIET, self.reader.read(buf)).await {
                Ok(Ok(n)) if n > 0 => self.output(&buf[..n]).await,
                _ => break,
            }
        }
    }

    fn start(&mut self) -> Result<tokio::process::Child, String> {
        {
            // Every start after the first is a restart, whether or not the
            // program can be started: status counts what the marker's
            // "attempt N/M" counts.
            let mut s = self.shared.lock();
            if s.started.is_some() || s.last_exit.is_some() {
                s.restarts += 1;
            }
        }
        let child = self.spec.spawn(&self.pts)?;
        let pid = child.id();
        let mut s = self.shared.lock();
        s.state = State::Running;
        s.pid = pid;
        s.started = Some(Instant::now());
        s.restart_at = None;
        s.last_error = None;
        // A shell started with berth's integration draws its first prompt
        // soon: `run` waits for it rather than refusing.
        s.shell.expect_marks(self.spec.shell_integration.is_some());
        s.record_marker(crate::recording::label::program_started(
            &self.spec.command.join(" "),
            pid.unwrap_or(0),
        ));
        drop(s);
        self.shared.publish();
        tracing::info!(session = %self.shared.info.name, pid = pid.unwrap_or(0), "program started: {}", self.spec.command.join(" "));
        Ok(child)
    }

    /// Applies the restart policy to an exit (or failed start) and shows it.
    fn after_exit(
        &mut self,
        exit: ExitInfo,
        start_error: Option<String>,
        restarts: &mut Restarts,
    ) -> Timer {
        let ran_for = self
            .shared
            .lock()
            .started
            .map_or(Duration::ZERO, |t| t.elapsed());
        let ran_for = if start_error.is_some() {
            Duration::ZERO
        } else {
            ran_for
        };
        let outcome = Outcome {
            success: exit.code == Some(0),
            ran_for,
        };
        let decision = restarts.on_exit(&self.policy, outcome, Instant::now());
        let what = format!("{} at {}", exit.phrase(), clock());
        let name = &self.shared.info.name;
        let (text, state, timer) = match decision {
            Decision::Restart { after, attempt, of } => (
                format!("{what}; restarting in {} (attempt {attempt}/{of})", format_duration(after)),
                State::Backoff,
                Timer::Start(Instant::now() + after),
            ),
            Decision::Exited => (
                format!("{what}; not restarting (restart policy); `berth restart {name}` starts it again"),
                State::Exited,
                Timer::None,
            ),
            Decision::Failed => (
                format!(
                    "{what}; restart limit reached ({} restarts within {}); `berth restart {name}` tries again",
                    self.policy.burst,
                    format_duration(self.policy.interval)
                ),
                State::Failed,
                Timer::None,
            ),
        };
        tracing::warn!(session = %name, "{text}");
        self.marker(&text);
        let restart_at = match timer {
            Timer::Start(t) => Some(t),
            _ => None,
        };
        self.record_exit(exit, state, restart_at);
        self.shared.lock().last_error = start_error;
        timer
    }

    fn record_exit(&mut self, exit: ExitInfo, state: State, restart_at: Option<Instant>) {
        let mut s = self.shared.lock();
        s.state = state;
        s.pid = None;
        s.last_exit = Some(exit);
        s.restart_at = restart_at;
        drop(s);
        self.shared.publish();
    }

    /// The program ended: what the shell integration knew goes with it.
    fn shell_ended(&mut self, exit: &ExitInfo) {
        let mut s = self.shared.lock();
        let s = &mut *s;
        s.shell
            .ended(exit.shell_status(), exit.phrase(), &mut s.term);
    }

    /// Writes a visible `[berth] ...` line into the screen.
    fn marker(&mut self, text: &str) {
        let mut s = self.shared.lock();
        s.marker(text);
    }

    fn ended(&mut self, exit: ExitInfo) {
        tracing::info!(session = %self.shared.info.name, "session stopped; program {}", exit.phrase());
        let mut s = self.shared.lock();
        s.state = State::Stopped;
        s.pid = None;
        s.last_exit = Some(exit);
    }
}

/// Sends `signal` to the program's process group (it is a session leader,
/// so its pgid is its pid): background jobs of a shell go too.
fn signal_group(child: &tokio::process::Child, signal: Signal) {
    if let Some(pid) = child.id() {
        let _ = nix::sys::signal::killpg(nix::unistd::Pid::from_raw(pid as i32), signal);
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(t) => tokio::time::sleep_until(t.into()).await,
        None => std::future::pending().await,
    }
}

fn exit_info(status: std::io::Result<std::process::ExitStatus>) -> ExitInfo {
    use std::os::unix::process::ExitStatusExt;
    let at = unix_now();
    match status {
        Ok(st) => {
            if let Some(code) = st.code() {
                ExitInfo {
                    code: Some(code),
                    signal: None,
                    text: format!("status {code}"),
                    at,
                }
            } else {
                let sig = st.signal().unwrap_or(0);
                let name = Signal::try_from(sig)
                    .map(|s| s.as_str())
                    .unwrap_or("unknown");
                ExitInfo {
                    code: None,
                    signal: Some(sig),
                    text: format!("signal {sig} ({name})"),
                    at,
                }
            }
        }
        Err(e) => ExitInfo {
            code: None,
            signal: None,
            text: format!("lost track of the program: {e}"),
            at,
        },
    }
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Local wall-clock time, HH:MM:SS.
fn clock() -> String {
    jiff::Zoned::now().strftime("%H:%M:%S").to_string()
}
