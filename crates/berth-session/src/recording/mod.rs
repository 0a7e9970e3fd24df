//! The session's recording (`record = true`): asciicast v3, the format
//! asciinema and its player read, written beside the output log and
//! rotated and kept like it.
//!
//! What is recorded, and where it comes from: every byte of output with
//! its time (`o`: the output log's batches, shared with the recording, not
//! copied), the terminal's resizes (`r`), a marker (`m`) when each command
//! starts (its text) and ends (its status and duration), when the program
//! starts, exits or restarts, and when clients attach or detach; what
//! clients type (`i`) only with `record_input = true`, each run preceded
//! by a marker naming who typed it; and the host's end (`x`).
//!
//! Everything but output is stamped under the session lock with the
//! number of output bytes the session had taken in by then ([`Stamped`]),
//! and the output log's thread ([`sink`]) writes each event exactly there
//! in the output, whichever of the two queues brought it first. So the
//! recording's order is the order in which the session saw it, the
//! output loop copies nothing for it and never waits for it, and the
//! file is written off that loop ([`writer`]).

pub mod export;
mod json;
pub mod label;
pub mod sink;
pub mod writer;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};

/// Output that arrives this long after the first byte gathered starts an
/// event of its own: an event's time is never further than this from its
/// bytes' (the output log gathers by it while recording).
pub const GATHER_SPAN: Duration = Duration::from_millis(10);
/// Events (not output) waiting for the writer at most; more are counted
/// and said in a marker.
const EVENTS: usize = 4096;
/// How long an export waits for the writer to catch up with the session.
pub const SYNC_WAIT: Duration = Duration::from_secs(1);

/// The recording of `log` (`NAME.log` → `NAME.cast`).
pub fn path_beside(log: &Path) -> PathBuf {
    log.with_extension("cast")
}

/// Where the first shell integration mark (OSC 133) in `bytes` ends, when
/// one ends in them: the recording puts a command's marker there.
pub fn after_mark(bytes: &[u8]) -> Option<usize> {
    let start = memchr::memmem::find(bytes, b"\x1b]133;")?;
    let body = &bytes[start + 6..];
    // Ended by BEL or by ST (ESC \\).
    let end = memchr::memchr2(b'\x07', b'\x1b', body)?;
    let len = if body[end] == b'\x07' { 1 } else { 2 };
    Some((start + 6 + end + len).min(bytes.len()))
}

/// An asciicast v3 header, its fields in the spec's order.
#[derive(serde::Serialize)]
pub struct Header<'a> {
    pub version: u8,
    pub term: Term,
    /// Unix time, seconds: the first event's interval counts from it.
    pub timestamp: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idle_time_limit: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<&'a str>,
}

#[derive(serde::Serialize)]
pub struct Term {
    pub cols: u16,
    pub rows: u16,
    #[serde(rename = "type")]
    pub kind: &'static str,
}

impl Header<'_> {
    /// A header for a terminal of `cols`×`rows` starting at `timestamp`.
    pub fn new(cols: u16, rows: u16, timestamp: u64) -> Self {
        Self {
            version: 3,
            term: Term {
                cols,
                rows,
                kind: berth_config::defaults::TERM,
            },
            timestamp,
            idle_time_limit: None,
            command: None,
            title: None,
        }
    }

    /// The header's line, ending with a newline.
    pub fn line(&self) -> String {
        let mut text = serde_json::to_string(self).expect("a header serializes");
        text.push('\n');
        text
    }
}

/// Something that happened, as a recording says it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Bytes the host itself showed (its `[berth]` lines).
    Output(Vec<u8>),
    /// What clients typed (only with `record_input`).
    Input(Vec<u8>),
    Resize(u16, u16),
    Marker(String),
    /// The host ended; the program's last status.
    Exit(i32),
}

/// An event, where in the output it happened (bytes taken in before it)
/// and when.
#[derive(Debug)]
pub struct Stamped {
    pub offset: u64,
    pub at: Instant,
    pub event: Event,
}

/// The events' queue: the session's end, and [`sink::Sink`]'s.
pub fn channel() -> (SyncSender<Stamped>, Receiver<Stamped>) {
    sync_channel(EVENTS)
}

/// Who typed input, for `record_input`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Typist {
    pub uid: u32,
    pub user: String,
}

/// Wakes the thread that writes the recording, and asks it to catch up
/// (the output log's queue, [`crate::log_writer::Waker`]).
pub trait Wake: Send {
    /// Events are waiting.
    fn wake(&self);
    /// Answered once everything queued so far is written.
    fn sync(&self) -> Option<tokio::sync::oneshot::Receiver<()>>;
}

/// The session's end of the recording, kept in the session state: every
/// event is stamped and queued under the session lock, and never waits.
pub struct Recorder {
    events: SyncSender<Stamped>,
    waker: Box<dyn Wake>,
    /// Events the queue had no room for, not said yet.
    missed: u64,
    /// `record_input`.
    input: bool,
    /// Who typed the last input recorded.
    typist: Option<u32>,
}

impl Recorder {
    /// A recorder sending to `events` (from [`channel`]), waking the
    /// writer with `waker`; `input`: record what clients type.
    pub fn new(events: SyncSender<Stamped>, waker: Box<dyn Wake>, input: bool) -> Self {
        Self {
            events,
            waker,
            missed: 0,
            input,
            typist: None,
        }
    }

    /// `event`, after the first `offset` bytes of output.
    pub fn event(&mut self, offset: u64, event: Event) {
        let at = Instant::now();
        if self.missed > 0 {
            let said = Stamped {
                offset,
                at,
                event: Event::Marker(label::not_recorded_events(
                    self.missed,
                    "the recording's queue was full",
                )),
            };
            if self.events.try_send(said).is_ok() {
                self.missed = 0;
            }
        }
        match self.events.try_send(Stamped { offset, at, event }) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => self.missed += 1,
            Err(TrySendError::Disconnected(_)) => return,
        }
        self.waker.wake();
    }

    pub fn marker(&mut self, offset: u64, label: impl Into<String>) {
        self.event(offset, Event::Marker(label.into()));
    }

    /// Input `typist` typed, when input is recorded: a marker first
    /// whenever the typist changes.
    pub fn input(&mut self, offset: u64, typist: &Typist, bytes: &[u8]) {
        if !self.input {
            return;
        }
        if self.typist != Some(typist.uid) {
            self.typist = Some(typist.uid);
            self.marker(offset, label::typist(&typist.user, typist.uid));
        }
        self.event(offset, Event::Input(bytes.to_vec()));
    }

    /// Answered once everything recorded so far is in the file.
    pub fn sync(&self) -> Option<tokio::sync::oneshot::Receiver<()>> {
        self.waker.sync()
    }
}
