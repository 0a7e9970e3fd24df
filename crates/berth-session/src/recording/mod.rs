//! The session's recording (`record = true`): asciicast v3, the format
//! asciinema and its player read, written beside the output log and
//! rotated and kept like it.
//!
//! What is recorded, and where it comes from: every byte of output with
//! its time (`o`, from the supervisor's reads, gathered per burst), the
//! terminal's resizes (`r`), a marker (`m`) when each command starts (its
//! text) and ends (its status and duration), when the program starts,
//! exits or restarts, and when clients attach or detach; what clients type
//! (`i`) only with `record_input = true`, each run preceded by a marker
//! naming who typed it; and the host's end (`x`). Everything is stamped
//! and queued under the session lock, so the recording's order is the
//! order in which the session saw it; the file is written by the
//! recording's own thread ([`writer`]), never by the output loop.

pub mod export;
mod json;
pub mod label;
pub mod writer;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};

/// Output gathered at most before it is handed over.
const GATHER: usize = 64 * 1024;
/// Output that arrives this long after the first byte gathered starts an
/// event of its own: an event's time is never further than this from its
/// bytes'.
const GATHER_SPAN: Duration = Duration::from_millis(10);
/// Pieces the queue to the writer holds (what a writer that fell behind
/// costs: at most 4 MiB of output).
const QUEUE: usize = 64;
/// The output loop reads on only while the queue has this much room.
const ROOM: usize = 8;
/// How long the output loop waits for that room: a disk merely slower
/// than the program throttles it, as the output log does; one that takes
/// nothing for this long loses output, said in a marker.
pub const STALL: Duration = Duration::from_secs(1);

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
    /// What clients typed (only with `record_input`).
    Input(Vec<u8>),
    Resize(u16, u16),
    Marker(String),
    /// The host ended; the program's last status.
    Exit(i32),
}

/// What the queue carries to the writer.
#[derive(Debug)]
pub enum Piece {
    Output(Instant, Vec<u8>),
    Event(Instant, Event),
    /// Everything before this is in the file: answer.
    Sync(oneshot::Sender<()>),
    /// Output paused: flush, free buffers.
    Settle,
}

/// Who typed input, for `record_input`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Typist {
    pub uid: u32,
    pub user: String,
}

/// The session's end of the recording, kept in the session state: every
/// event is queued under the session lock, in the order the session saw
/// it, and never waits.
pub struct Recorder {
    queue: mpsc::Sender<Piece>,
    gathered: Vec<u8>,
    gathered_at: Option<Instant>,
    /// Output the queue had no room for, not said yet.
    missed: u64,
    /// `record_input`.
    input: bool,
    /// Who typed the last input recorded.
    typist: Option<u32>,
}

impl Recorder {
    /// A recorder writing to `queue`; `input`: record what clients type.
    pub fn new(queue: mpsc::Sender<Piece>, input: bool) -> Self {
        Self {
            queue,
            gathered: Vec::new(),
            gathered_at: None,
            missed: 0,
            input,
            typist: None,
        }
    }

    /// A queue for [`Recorder::new`] and [`writer::start`].
    pub fn queue() -> (mpsc::Sender<Piece>, mpsc::Receiver<Piece>) {
        mpsc::channel(QUEUE)
    }

    /// Program output, gathered per burst.
    pub fn output(&mut self, bytes: &[u8]) {
        let now = Instant::now();
        if let Some(at) = self.gathered_at {
            if now.duration_since(at) > GATHER_SPAN {
                self.hand_over();
            }
        }
        if self.gathered_at.is_none() {
            self.gathered_at = Some(now);
        }
        self.gathered.extend_from_slice(bytes);
        if self.gathered.len() >= GATHER {
            self.hand_over();
        }
    }

    /// Anything but output, after the output before it.
    pub fn event(&mut self, event: Event) {
        self.hand_over();
        self.send(Piece::Event(Instant::now(), event));
    }

    pub fn marker(&mut self, label: impl Into<String>) {
        self.event(Event::Marker(label.into()));
    }

    /// Input `typist` typed, when input is recorded: a marker first
    /// whenever the typist changes.
    pub fn input(&mut self, typist: &Typist, bytes: &[u8]) {
        if !self.input {
            return;
        }
        if self.typist != Some(typist.uid) {
            self.typist = Some(typist.uid);
            self.marker(label::typist(&typist.user, typist.uid));
        }
        self.event(Event::Input(bytes.to_vec()));
    }

    /// The output paused: what is gathered goes, and the buffer with it.
    pub fn settle(&mut self) {
        self.hand_over();
        self.gathered = Vec::new();
        let _ = self.queue.try_send(Piece::Settle);
    }

    /// Whether a buffer is held here.
    pub fn holds_buffer(&self) -> bool {
        self.gathered.capacity() > 0
    }

    /// Answered once everything recorded so far is in the file; `None`
    /// when the writer cannot take the question now.
    pub fn sync(&mut self) -> Option<oneshot::Receiver<()>> {
        self.hand_over();
        let (tx, rx) = oneshot::channel();
        self.queue.try_send(Piece::Sync(tx)).ok()?;
        Some(rx)
    }

    fn hand_over(&mut self) {
        let Some(at) = self.gathered_at.take() else {
            return;
        };
        let bytes = std::mem::replace(&mut self.gathered, Vec::with_capacity(GATHER));
        let n = bytes.len() as u64;
        if !self.send(Piece::Output(at, bytes)) {
            self.missed += n;
        }
    }

    /// Queues `piece`, saying first what was missed; false when the
    /// queue is full.
    fn send(&mut self, piece: Piece) -> bool {
        if self.missed > 0 {
            let said = Piece::Event(
                Instant::now(),
                Event::Marker(label::not_recorded(self.missed)),
            );
            if self.queue.try_send(said).is_err() {
                return false;
            }
            self.missed = 0;
        }
        self.queue.try_send(piece).is_ok()
    }
}

/// Waits until the recording's queue has room for more output, at most
/// [`STALL`] (the output loop calls it between reads, outside the lock).
pub async fn room(queue: &mpsc::Sender<Piece>) {
    if queue.capacity() >= ROOM {
        return;
    }
    // Room for all at once, given back at once: only waiting is wanted.
    let _ = tokio::time::timeout(STALL, queue.reserve_many(ROOM)).await;
}
