//! The recording's file: asciicast v3 lines, rotated by size and kept
//! like the output log (written on the output log's thread, by
//! [`super::sink`]).
//!
//! Each file stands alone: a header (the terminal's size then, the
//! whole second it starts at), then one event a line with the interval
//! since the previous one. The first event's interval counts from the
//! header's `timestamp`, so every event's absolute time is exact: the
//! timestamp plus the intervals so far. A write error pauses the
//! recording (the session runs on); it resumes after a while with a
//! marker saying how many events were not recorded. A torn line is cut
//! back out, so a file never holds half an event.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::{label, Event};

/// How far output after a marker at the same instant is placed after it.
const AFTER_MARKER: Duration = Duration::from_millis(1);
/// How long a paused recording waits before writing again.
const RETRY_AFTER: Duration = Duration::from_secs(5);

/// What the header says besides the size.
#[derive(Debug, Clone)]
pub struct Describe {
    /// The session's name (the title).
    pub session: String,
    /// The program, as configured.
    pub command: String,
}

pub struct CastWriter {
    path: PathBuf,
    file: Option<File>,
    size: u64,
    /// The header's length: a file holding only it is never rotated.
    header_len: u64,
    max_size: u64,
    keep: u32,
    describe: Describe,
    cols: u16,
    rows: u16,
    /// The file's time zero: the whole second its header gives.
    zero: Instant,
    /// The last event's time, from zero.
    last: Duration,
    /// The last event written was a marker.
    after_marker: bool,
    /// The start of a UTF-8 character cut by the end of a read.
    carry: Vec<u8>,
    paused: Option<Paused>,
    /// The line being written (kept to reuse its buffer).
    line: Vec<u8>,
}

struct Paused {
    retry_at: Instant,
    error: String,
    events: u64,
}

impl CastWriter {
    /// Opens the recording at `path` for a host that starts now: a
    /// recording already there (an earlier host's) is rotated first, so
    /// each file is one host's.
    pub fn create(
        path: &Path,
        max_size: u64,
        keep: u32,
        (cols, rows): (u16, u16),
        describe: Describe,
    ) -> std::io::Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        if std::fs::metadata(path).is_ok_and(|m| m.len() > 0) {
            berth_log::rotate::push_back(path, keep)?;
        }
        let mut w = Self {
            path: path.to_owned(),
            file: None,
            size: 0,
            header_len: 0,
            max_size,
            keep,
            describe,
            cols,
            rows,
            zero: Instant::now(),
            last: Duration::ZERO,
            after_marker: false,
            carry: Vec::new(),
            paused: None,
            line: Vec::new(),
        };
        w.begin()?;
        // A new host's terminal is new: a player that plays this file
        // after an earlier host's starts from a clean screen.
        w.write(Instant::now(), "o", "\u{1b}c");
        Ok(w)
    }

    /// Starts a file: its header, its time zero.
    fn begin(&mut self) -> std::io::Result<()> {
        let now = Instant::now();
        let since_epoch = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        self.zero = now
            .checked_sub(Duration::from_nanos(since_epoch.subsec_nanos().into()))
            .unwrap_or(now);
        self.last = Duration::ZERO;
        let title = format!("berth session {}", self.describe.session);
        let text = super::Header {
            command: Some(&self.describe.command),
            title: Some(&title),
            ..super::Header::new(self.cols, self.rows, since_epoch.as_secs())
        }
        .line();
        let mut file = crate::output_log::open_append(&self.path)?;
        file.write_all(text.as_bytes())?;
        self.file = Some(file);
        self.size = text.len() as u64;
        self.header_len = self.size;
        Ok(())
    }

    /// Output written at `at`.
    pub fn output(&mut self, at: Instant, bytes: &[u8]) {
        let mut data = std::mem::take(&mut self.line);
        data.clear();
        // A character cut by the end of a read waits for its rest.
        let joined;
        let bytes = if self.carry.is_empty() {
            bytes
        } else {
            let mut v = std::mem::take(&mut self.carry);
            v.extend_from_slice(bytes);
            joined = v;
            &joined[..]
        };
        let whole = super::json::escape_lossy(&mut data, bytes);
        self.carry.extend_from_slice(&bytes[whole..]);
        if !data.is_empty() {
            self.write_escaped(at, "o", &data);
        }
        self.line = data;
    }

    /// Anything else that happened at `at`.
    pub fn event(&mut self, at: Instant, event: Event) {
        match event {
            Event::Output(bytes) => self.output(at, &bytes),
            Event::Input(bytes) => self.write(at, "i", &String::from_utf8_lossy(&bytes)),
            Event::Resize(cols, rows) => {
                self.cols = cols;
                self.rows = rows;
                self.write(at, "r", &format!("{cols}x{rows}"));
            }
            Event::Marker(text) => self.write(at, "m", &text),
            Event::Exit(status) => self.write(at, "x", &status.to_string()),
        }
    }

    /// The output paused: the line buffer goes.
    pub fn settle(&mut self) {
        self.line = Vec::new();
    }

    /// One event line of `data` (text).
    fn write(&mut self, at: Instant, code: &str, data: &str) {
        let mut escaped = Vec::with_capacity(data.len() + 8);
        super::json::escape(&mut escaped, data.as_bytes());
        self.write_escaped(at, code, &escaped);
    }

    /// One event line of `data`, already escaped; rotates first when it
    /// would overflow the file.
    fn write_escaped(&mut self, at: Instant, code: &str, data: &[u8]) {
        if let Some(p) = &mut self.paused {
            if Instant::now() < p.retry_at {
                p.events += 1;
                return;
            }
            let said = label::not_recorded_events(p.events, &p.error);
            let error = p.error.clone();
            self.paused = None;
            // Where writing failed may hold a torn line: a new file.
            if let Err(e) = self.rotate() {
                self.pause(format!("cannot rotate {}: {e}", self.path.display()));
                return;
            }
            tracing::info!(recording = %self.path.display(), "recording resumed after: {error}");
            self.write(at, "m", &said);
        }
        // `[SECONDS.MICROS, "c", "DATA"]\n`: at most 40 bytes besides the data.
        let len = data.len() as u64 + 40;
        if self.size > self.header_len && self.size + len > self.max_size {
            if let Err(e) = self.rotate() {
                self.pause(format!("cannot rotate {}: {e}", self.path.display()));
                return;
            }
        }
        let mut t = at.saturating_duration_since(self.zero).max(self.last);
        if code == "o" && self.after_marker && t == self.last {
            // Output that came in the same read as a command's mark, after
            // it, is placed a millisecond later: a player seeking to the
            // marker shows the screen before that output, not after.
            t += AFTER_MARKER;
        }
        self.after_marker = code == "m";
        let dt = t - self.last;
        self.last = t;
        let mut head = Vec::with_capacity(40);
        let _ = write!(
            head,
            "[{}.{:06}, \"{code}\", \"",
            dt.as_secs(),
            dt.subsec_micros()
        );
        self.append(&[&head, data, b"\"]\n"]);
    }

    /// Writes the parts of one line (in one system call, the data not
    /// copied); a line cut by an error is taken back out.
    fn append(&mut self, parts: &[&[u8]]) {
        let Some(file) = self.file.as_mut() else {
            self.pause(format!("{} is not open", self.path.display()));
            return;
        };
        let total: usize = parts.iter().map(|p| p.len()).sum();
        if let Err(e) = write_parts(file, parts, total) {
            // Cut back to where the line began: no torn event.
            let _ = file.set_len(self.size);
            self.pause(format!("cannot write {}: {e}", self.path.display()));
            return;
        }
        self.size += total as u64;
    }

    fn pause(&mut self, error: String) {
        match &mut self.paused {
            Some(p) => p.events += 1,
            None => {
                tracing::warn!(recording = %self.path.display(), "{error}; recording paused, the session keeps running");
                self.paused = Some(Paused {
                    retry_at: Instant::now() + RETRY_AFTER,
                    error,
                    events: 1,
                });
            }
        }
    }

    /// `NAME.cast` → `NAME.cast.1` …, and a new file from now.
    fn rotate(&mut self) -> std::io::Result<()> {
        self.file = None;
        berth_log::rotate::push_back(&self.path, self.keep)?;
        self.begin()
    }
}

/// Writes every byte of `parts` (`total` of them) with vectored writes.
fn write_parts(file: &mut File, parts: &[&[u8]], total: usize) -> std::io::Result<()> {
    let mut done = 0;
    while done < total {
        let mut skip = done;
        let mut slices = Vec::with_capacity(parts.len());
        for part in parts {
            if skip >= part.len() {
                skip -= part.len();
                continue;
            }
            slices.push(std::io::IoSlice::new(&part[skip..]));
            skip = 0;
        }
        match file.write_vectored(&slices) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(n) => done += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
