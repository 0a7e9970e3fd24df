//! What the shell integration marks (OSC 133) say: whether the shell is at
//! its prompt, the command it runs, and how each command ended. Fed by the
//! marks the terminal saw, in order; answers `berth run` when its command
//! ends.

use std::time::{Instant, SystemTime};

use berth_proto::scripting::{RunResult, ShellState};
use tokio::sync::oneshot;

use crate::terminal::{Mark, Pos, Terminal};

#[derive(Default)]
pub struct Shell {
    /// Marks were seen: the program speaks OSC 133.
    integrated: bool,
    at_prompt: bool,
    /// Where the command line starts (after the prompt, mark B).
    input_at: Option<Pos>,
    /// The running command: where its output starts (mark C), and when.
    output_at: Option<(Pos, Instant, SystemTime)>,
    last_command: Option<String>,
    last_status: Option<i32>,
    /// A `run` typed its command and waits for it to end.
    run: Option<oneshot::Sender<RunResult>>,
    /// Others waiting for the running command to end (`result --wait`,
    /// `interrupt`): one per connection, so as many as connections.
    watchers: Vec<oneshot::Sender<RunResult>>,
    /// The last command that ended: where its output is (taken again from
    /// the terminal when asked for), and its result without the output.
    /// Kept across a restart of the shell.
    last: Option<(Pos, Pos, RunResult)>,
    /// A command ended and its prompt is not drawn yet (no B since).
    prompt_pending: bool,
    /// The program is a shell started with berth's integration: its marks
    /// are on their way even before the first prompt.
    expected: bool,
    /// The program is being stopped: its marks no longer count.
    stopping: bool,
}

/// Whether a command may be typed now.
#[derive(Debug, PartialEq, Eq)]
pub enum Readiness {
    Ready,
    /// The last command ended; its prompt is on its way.
    Soon,
    /// The shell started and has not drawn its first prompt yet.
    Starting,
    /// Not now, and why.
    Refused(String),
}

impl Shell {
    /// Takes the marks the terminal saw; returns the recording's markers
    /// for them (each command's start and end).
    pub fn on_marks(&mut self, marks: Vec<(Mark, Pos)>, term: &mut Terminal) -> Vec<String> {
        let mut chapters = Vec::new();
        if self.stopping {
            return chapters;
        }
        for (mark, pos) in marks {
            self.integrated = true;
            match mark {
                Mark::PromptStart => {
                    self.at_prompt = true;
                    self.prompt_pending = true;
                }
                Mark::CommandStart => {
                    self.at_prompt = true;
                    self.prompt_pending = false;
                    self.input_at = Some(pos);
                }
                Mark::OutputStart => {
                    if let Some(input) = self.input_at.take() {
                        let (text, _) = term.text_between(input, pos);
                        let command = text.replace('\n', " ").trim().to_owned();
                        self.last_command = (!command.is_empty()).then_some(command);
                    }
                    self.at_prompt = false;
                    self.output_at = Some((pos, Instant::now(), SystemTime::now()));
                    let command = self.last_command.as_deref().unwrap_or_default();
                    chapters.push(crate::recording::label::command_started(command));
                }
                Mark::Finished(status) => {
                    self.prompt_pending = true;
                    let began = self.output_at.as_ref().map(|(_, at, _)| at.elapsed());
                    self.finished(status, pos, term);
                    if let (Some(took), Some(status)) = (began, self.last_status) {
                        let command = self.last_command.as_deref().unwrap_or_default();
                        chapters.push(crate::recording::label::command_ended(
                            status, took, command,
                        ));
                    }
                }
            }
        }
        chapters
    }

    /// Mark D. A D without a C is a prompt redrawn after an empty line,
    /// unless a `run` waits: then the shell refused the line (a syntax
    /// error) and what it printed is after the command line.
    fn finished(&mut self, status: Option<i32>, pos: Pos, term: &mut Terminal) {
        let start = match self.output_at.take() {
            Some(start) => start,
            None if self.run.is_some() => {
                let line = self.input_at.map_or(pos.seq, |p| p.seq + 1).min(pos.seq);
                (Pos { seq: line, col: 0 }, Instant::now(), SystemTime::now())
            }
            None => return,
        };
        let status = status.unwrap_or(0);
        self.last_status = Some(status);
        let result = RunResult {
            output: String::new(),
            status,
            first_seq: start.0.seq,
            last_seq: pos.seq.max(start.0.seq),
            duration_ms: start.1.elapsed().as_millis() as u64,
            missed: 0,
            shell_exited: None,
            timed_out: false,
            truncated: 0,
            command: self.last_command.clone(),
            interrupted: Vec::new(),
        };
        self.last = Some((start.0, pos, result));
        if self.run.is_some() || !self.watchers.is_empty() {
            let result = self.last_result(term).expect("just set");
            self.answer(result);
        }
    }

    /// Gives `result` to the `run` and everyone else waiting for it.
    fn answer(&mut self, result: RunResult) {
        for waiting in self.run.take().into_iter().chain(self.watchers.drain(..)) {
            let _ = waiting.send(result.clone());
        }
    }

    /// The last finished command's result, its output taken from the
    /// terminal now (lines that left history since are counted missed).
    pub fn last_result(&self, term: &mut Terminal) -> Option<RunResult> {
        let (start, end, result) = self.last.as_ref()?;
        let (output, missed) = term.text_between(*start, *end);
        Some(RunResult {
            output,
            missed,
            ..result.clone()
        })
    }

    /// A command runs, or a `run` typed one whose output has not started.
    pub fn busy(&self) -> bool {
        self.output_at.is_some() || self.run.is_some()
    }

    /// `done` gets the running command's result when it ends (or the
    /// shell does).
    pub fn watch(&mut self, done: oneshot::Sender<RunResult>) {
        self.watchers.retain(|w| !w.is_closed());
        self.watchers.push(done);
    }

    /// The running command's output so far (it goes on running).
    pub fn running_so_far(&self, term: &mut Terminal) -> RunResult {
        RunResult {
            timed_out: true,
            ..self.so_far(124, term)
        }
    }

    /// A `run` gave up waiting: what its command printed so far (it goes
    /// on running), with status 124.
    pub fn gave_up(&mut self, term: &mut Terminal) -> RunResult {
        self.run = None;
        self.running_so_far(term)
    }

    /// The shell ended (`how`, with the `status` a shell would report): a
    /// `run` waiting gets the output so far and that status at once, and
    /// what the marks said is forgotten (the next shell starts afresh).
    pub fn ended(&mut self, status: i32, how: String, term: &mut Terminal) {
        if self.busy() || !self.watchers.is_empty() {
            let result = RunResult {
                shell_exited: Some(how),
                ..self.so_far(status, term)
            };
            let end = term.cursor();
            let start = Pos {
                seq: result.first_seq,
                col: 0,
            };
            self.last = Some((
                start,
                end,
                RunResult {
                    output: String::new(),
                    ..result.clone()
                },
            ));
            self.answer(result);
        }
        // A restart in progress: the next shell's prompt is still awaited.
        let expected = self.stopping && self.expected;
        let last = self.last.take();
        *self = Self {
            expected,
            last,
            ..Self::default()
        };
    }

    /// The running command's output up to the cursor, for a `run` that is
    /// answered before the command ended (from the line after the command
    /// line when no output mark came).
    fn so_far(&self, status: i32, term: &mut Terminal) -> RunResult {
        let end = term.cursor();
        let start = self.output_at.unwrap_or_else(|| {
            let line = self.input_at.map_or(end.seq, |p| p.seq + 1).min(end.seq);
            (Pos { seq: line, col: 0 }, Instant::now(), SystemTime::now())
        });
        let (output, missed) = term.text_between(start.0, end);
        RunResult {
            output,
            status,
            first_seq: start.0.seq,
            last_seq: end.seq.max(start.0.seq),
            duration_ms: start.1.elapsed().as_millis() as u64,
            missed,
            shell_exited: None,
            timed_out: false,
            truncated: 0,
            command: self
                .last_command
                .clone()
                .filter(|_| self.output_at.is_some()),
            interrupted: Vec::new(),
        }
    }

    /// Whether a command may be typed now (the cursor where the command
    /// line starts: nothing typed yet); a refusal says why not.
    pub fn readiness(&self, session: &str, cursor: Pos) -> Readiness {
        if self.integrated && self.run.is_none() && self.output_at.is_none() && self.prompt_pending
        {
            return Readiness::Soon;
        }
        if !self.integrated && self.expected {
            return Readiness::Starting;
        }
        match self.ready_for(session, cursor) {
            Ok(()) => Readiness::Ready,
            Err(why) => Readiness::Refused(why),
        }
    }

    fn ready_for(&self, session: &str, cursor: Pos) -> Result<(), String> {
        if !self.integrated {
            return Err(no_marks(session, "berth run"));
        }
        if self.run.is_some() {
            return Err(format!(
                "session {session} is running a command from another berth run; wait for it"
            ));
        }
        match self.input_at {
            Some(at) if self.at_prompt && self.output_at.is_none() && at == cursor => Ok(()),
            Some(_) if self.at_prompt && self.output_at.is_none() => Err(format!(
                "session {session} has input typed at its prompt; clear it (berth send {session} C-u) and try again"
            )),
            _ => Err(format!(
                "session {session} is not at a prompt (a command is running{}); nothing was typed",
                self.last_command
                    .as_ref()
                    .filter(|_| self.output_at.is_some())
                    .map(|c| format!(": {c}"))
                    .unwrap_or_default()
            )),
        }
    }

    /// The program is being stopped; `restarting` with berth's integration:
    /// a `run` waits for the next shell's first prompt. A `run` waiting for
    /// a command keeps waiting: the shell's end answers it.
    pub fn stopping(&mut self, restarting: bool) {
        let run = self.run.take();
        let watchers = std::mem::take(&mut self.watchers);
        let last = self.last.take();
        // Where the running command's output is, for the answer its end gives.
        let (output_at, input_at, last_command) = (
            self.output_at.take(),
            self.input_at.take(),
            self.last_command.take(),
        );
        *self = Self {
            run,
            watchers,
            last,
            output_at,
            input_at,
            last_command,
            expected: restarting,
            stopping: true,
            ..Self::default()
        };
    }

    /// Whether the program is a shell berth integrates (set at each start).
    pub fn expect_marks(&mut self, expected: bool) {
        self.expected = expected;
    }

    /// A command runs (its output started and it has not ended).
    pub fn command_running(&self) -> bool {
        self.output_at.is_some()
    }

    /// A `run` typed its command: the result goes to `done`.
    pub fn running(&mut self, done: oneshot::Sender<RunResult>) {
        self.run = Some(done);
    }

    pub fn state(&self) -> Option<ShellState> {
        self.integrated.then(|| ShellState {
            at_prompt: self.at_prompt && self.output_at.is_none() && self.run.is_none(),
            last_command: self.last_command.clone(),
            last_status: self.last_status,
            running_since: self.output_at.map(|(_, _, at)| unix_ms(at)),
        })
    }
}

/// Why `verb` cannot work in `session`: its program writes no marks.
pub fn no_marks(session: &str, verb: &str) -> String {
    format!(
        "session {session} shows no shell integration marks (OSC 133): {verb} needs bash, zsh or fish with shell_integration on, or a program that writes the marks"
    )
}

pub fn unix_ms(at: SystemTime) -> u64 {
    at.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}
