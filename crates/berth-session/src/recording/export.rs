//! Reading a recording back (`berth rec`): its files stitched in order,
//! cut to a time range, rebased to start at zero, long pauses capped; or
//! the commands it marks (`--list`).
//!
//! An export that starts after the recording does (`--since`,
//! `--last-commands`) starts with the screen as it was then: the output
//! before it is played into an emulator and its state is the export's
//! first event. The work is bounded by what is kept (the files' size and
//! count), and runs on a blocking thread, a chunk handed out at a time.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use berth_proto::scripting::{RecordedCommand, RecordingRequest};

use super::label::{self, Label};

/// A line longer than this is not one the host wrote: skipped.
const MAX_LINE: u64 = 8 << 20;
/// Export text handed out at a time.
pub const CHUNK: usize = 64 * 1024;

/// The files of the recording at `path`, oldest first (`NAME.cast.KEEP` …
/// `NAME.cast.1`, `NAME.cast`), those that exist.
pub fn files(path: &Path, keep: u32) -> Vec<PathBuf> {
    let mut list: Vec<PathBuf> = (1..=keep)
        .rev()
        .map(|i| berth_log::rotate::numbered(path, i))
        .collect();
    list.push(path.to_owned());
    list.retain(|p| p.is_file());
    list
}

/// One event with its absolute time (Unix seconds).
#[derive(Debug, Clone, PartialEq)]
struct Timed {
    at: f64,
    code: String,
    data: String,
}

/// What the reader met next.
enum Item {
    /// A file begins: its terminal's size and time zero.
    File {
        cols: u16,
        rows: u16,
        zero: f64,
    },
    Event(Timed),
}

/// Every event of every file, in order.
struct Reader {
    files: std::vec::IntoIter<PathBuf>,
    current: Option<BufReader<File>>,
    /// The current file's time: its zero plus the intervals so far.
    clock: f64,
    line: Vec<u8>,
}

impl Reader {
    fn new(files: Vec<PathBuf>) -> Self {
        Self {
            files: files.into_iter(),
            current: None,
            clock: 0.0,
            line: Vec::new(),
        }
    }

    /// The next line of the current file; `None` at its end.
    fn next_line(&mut self) -> std::io::Result<Option<()>> {
        let Some(file) = self.current.as_mut() else {
            return Ok(None);
        };
        loop {
            self.line.clear();
            let n = file
                .by_ref()
                .take(MAX_LINE)
                .read_until(b'\n', &mut self.line)?;
            if n == 0 {
                return Ok(None);
            }
            if self.line.last() == Some(&b'\n') || (n as u64) < MAX_LINE {
                return Ok(Some(()));
            }
            // Too long: skip to its end.
            let mut rest = Vec::new();
            while !rest.ends_with(b"\n") {
                rest.clear();
                if file.by_ref().take(MAX_LINE).read_until(b'\n', &mut rest)? == 0 {
                    return Ok(None);
                }
            }
        }
    }

    fn next(&mut self) -> std::io::Result<Option<Item>> {
        loop {
            if self.current.is_none() {
                let Some(path) = self.files.next() else {
                    return Ok(None);
                };
                // A file rotated away since it was listed is skipped.
                let Ok(file) = File::open(&path) else {
                    continue;
                };
                self.current = Some(BufReader::with_capacity(CHUNK, file));
                if self.next_line()?.is_none() {
                    self.current = None;
                    continue;
                }
                match header(&self.line) {
                    Some((cols, rows, zero)) => {
                        self.clock = zero;
                        return Ok(Some(Item::File { cols, rows, zero }));
                    }
                    None => {
                        self.current = None;
                        continue;
                    }
                }
            }
            match self.next_line()? {
                None => self.current = None,
                Some(()) => {
                    let Ok((dt, code, data)) =
                        serde_json::from_slice::<(f64, String, String)>(&self.line)
                    else {
                        continue;
                    };
                    if dt.is_finite() && dt > 0.0 {
                        self.clock += dt;
                    }
                    return Ok(Some(Item::Event(Timed {
                        at: self.clock,
                        code,
                        data,
                    })));
                }
            }
        }
    }
}

/// A header line's size and time zero (Unix seconds).
fn header(line: &[u8]) -> Option<(u16, u16, f64)> {
    let v: serde_json::Value = serde_json::from_slice(line).ok()?;
    if v.get("version")?.as_u64()? != 3 {
        return None;
    }
    let term = v.get("term")?;
    let cols = u16::try_from(term.get("cols")?.as_u64()?).ok()?;
    let rows = u16::try_from(term.get("rows")?.as_u64()?).ok()?;
    let zero = v.get("timestamp").and_then(|t| t.as_u64()).unwrap_or(0) as f64;
    Some((cols, rows, zero))
}

/// Why a recording cannot be read as asked.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("the recording marks no commands (they are marked by shell integration, in bash, zsh and fish): use --since instead")]
    NoCommands,
}

fn ms(at: f64) -> u64 {
    (at * 1000.0).round().max(0.0) as u64
}

fn within(at: f64, req: &RecordingRequest) -> bool {
    req.since_ms.is_none_or(|s| ms(at) >= s) && req.until_ms.is_none_or(|u| ms(at) <= u)
}

/// The commands the recording marks, oldest first: each start with the
/// end that followed it (if one did), within the request's range, the
/// last `last_commands` of them.
pub fn commands(
    files: Vec<PathBuf>,
    req: &RecordingRequest,
) -> std::io::Result<Vec<RecordedCommand>> {
    let mut reader = Reader::new(files);
    let mut list: Vec<RecordedCommand> = Vec::new();
    // The command begun and not ended yet.
    let mut open: Option<usize> = None;
    while let Some(item) = reader.next()? {
        let Item::Event(e) = item else { continue };
        if e.code != "m" {
            continue;
        }
        match label::parse(&e.data) {
            Label::Started(command) => {
                open = Some(list.len());
                list.push(RecordedCommand {
                    started_ms: ms(e.at),
                    command: command.to_owned(),
                    status: None,
                    duration_ms: None,
                });
            }
            Label::Ended { status, took, .. } => {
                if let Some(i) = open.take() {
                    list[i].status = Some(status);
                    list[i].duration_ms = Some(took.as_millis() as u64);
                }
            }
            // The program started again: a command still open never ended.
            Label::ProgramStarted => open = None,
            Label::Other => {}
        }
    }
    list.retain(|c| within(c.started_ms as f64 / 1000.0, req));
    if let Some(n) = req.last_commands {
        let skip = list.len().saturating_sub(n as usize);
        list.drain(..skip);
    }
    Ok(list)
}

/// An export being made, a chunk at a time ([`Export::next_chunk`]), so
/// that no thread waits on the reader between chunks.
pub struct Export {
    reader: Reader,
    since: Option<f64>,
    until_ms: Option<u64>,
    idle: Option<f64>,
    /// The screen before the export's start, while it has not started.
    before: Option<vt100::Parser>,
    cols: u16,
    rows: u16,
    /// The header is written.
    begun: bool,
    /// The last event's time (the first event's interval is zero: the
    /// export starts at it).
    last: Option<f64>,
    done: bool,
}

impl Export {
    /// The export of `files` as `req` asks.
    pub fn new(files: Vec<PathBuf>, req: &RecordingRequest) -> Result<Self, ExportError> {
        let mut since_ms = req.since_ms;
        if req.last_commands.is_some() {
            let marked = commands(files.clone(), req)?;
            let first = marked.first().ok_or(ExportError::NoCommands)?;
            since_ms = Some(first.started_ms);
        }
        let since = since_ms.map(|s| s as f64 / 1000.0);
        Ok(Self {
            reader: Reader::new(files),
            since,
            until_ms: req.until_ms,
            idle: req.idle_limit_ms.map(|l| l as f64 / 1000.0),
            before: since.map(|_| vt100::Parser::new(nz(24), nz(80), 0)),
            cols: 80,
            rows: 24,
            begun: false,
            last: None,
            done: false,
        })
    }

    /// The next part of the export; empty once it is all given.
    pub fn next_chunk(&mut self) -> std::io::Result<Vec<u8>> {
        let mut text = Vec::with_capacity(CHUNK);
        while !self.done && text.len() < CHUNK {
            match self.reader.next()? {
                Some(Item::File { cols, rows, zero }) => self.file(&mut text, cols, rows, zero),
                Some(Item::Event(e)) => self.event(&mut text, e),
                None => self.finish(&mut text),
            }
        }
        Ok(text)
    }

    fn file(&mut self, text: &mut Vec<u8>, cols: u16, rows: u16, zero: f64) {
        let resized = (cols, rows) != (self.cols, self.rows);
        (self.cols, self.rows) = (cols, rows);
        if let Some(screen) = &mut self.before {
            screen.set_size(nz(rows), nz(cols));
        } else if !self.begun {
            self.header(text, zero);
        } else if resized {
            let at = self.last.unwrap_or(zero);
            self.line(text, zero - at, "r", &format!("{cols}x{rows}"));
            self.last = Some(zero.max(at));
        }
    }

    fn event(&mut self, text: &mut Vec<u8>, e: Timed) {
        if self.until_ms.is_some_and(|u| ms(e.at) > u) {
            return self.finish(text);
        }
        if let (Some(screen), Some(since)) = (&mut self.before, self.since) {
            if ms(e.at) < ms(since) {
                match e.code.as_str() {
                    "o" => screen.process(e.data.as_bytes()),
                    "r" => {
                        if let Some((c, r)) = size(&e.data) {
                            (self.cols, self.rows) = (c, r);
                            screen.set_size(nz(r), nz(c));
                        }
                    }
                    _ => {}
                }
                return;
            }
            self.start_at(text, since);
        }
        if e.code == "r" {
            if let Some(s) = size(&e.data) {
                (self.cols, self.rows) = s;
            }
        }
        let at = self.last.unwrap_or(e.at);
        self.line(text, e.at - at, &e.code, &e.data);
        self.last = Some(e.at.max(at));
    }

    /// The export starts at `since`, with the screen as it was then.
    fn start_at(&mut self, text: &mut Vec<u8>, since: f64) {
        let Some(screen) = self.before.take() else {
            return;
        };
        self.header(text, since);
        self.line(text, 0.0, "o", &screen.screen().state_formatted());
        self.last = Some(since);
    }

    fn finish(&mut self, text: &mut Vec<u8>) {
        if let Some(since) = self.since {
            // Nothing after the start: the screen as it was, alone.
            self.start_at(text, since);
        }
        if !self.begun {
            self.header(text, 0.0);
        }
        self.done = true;
    }

    fn header(&mut self, text: &mut Vec<u8>, at: f64) {
        let header = super::Header {
            idle_time_limit: self.idle,
            ..super::Header::new(self.cols, self.rows, at.floor() as u64)
        };
        text.extend_from_slice(header.line().as_bytes());
        self.begun = true;
    }

    /// One event line; its interval never negative, never past the idle limit.
    fn line(&self, text: &mut Vec<u8>, dt: f64, code: &str, data: &str) {
        let dt = self.idle.map_or(dt, |limit| dt.min(limit)).max(0.0);
        let micros = (dt * 1e6).round() as u64;
        let _ = write!(text, "[{}.{:06}, ", micros / 1_000_000, micros % 1_000_000);
        serde_json::to_writer(&mut *text, code).expect("a string serializes");
        text.extend_from_slice(b", ");
        serde_json::to_writer(&mut *text, data).expect("a string serializes");
        text.extend_from_slice(b"]\n");
    }
}

fn nz(n: u16) -> std::num::NonZeroU16 {
    std::num::NonZeroU16::new(n).unwrap_or(std::num::NonZeroU16::MIN)
}

fn size(data: &str) -> Option<(u16, u16)> {
    let (c, r) = data.split_once('x')?;
    Some((c.parse().ok()?, r.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;
    use crate::recording::writer::{CastWriter, Describe};
    use crate::recording::Event;

    fn describe() -> Describe {
        Describe {
            session: "t".into(),
            command: "sh".into(),
        }
    }

    /// Everything `export` gives for `req`, as (interval, code, data).
    fn exported(
        files: Vec<PathBuf>,
        req: &RecordingRequest,
    ) -> (serde_json::Value, Vec<(f64, String, String)>) {
        let mut e = Export::new(files, req).unwrap();
        let mut text = Vec::new();
        loop {
            let chunk = e.next_chunk().unwrap();
            if chunk.is_empty() {
                break;
            }
            text.extend(chunk);
        }
        let text = String::from_utf8(text).unwrap();
        let mut lines = text.lines();
        let header = serde_json::from_str(lines.next().unwrap()).unwrap();
        let events = lines.map(|l| serde_json::from_str(l).unwrap()).collect();
        (header, events)
    }

    #[test]
    fn files_written_and_read_back_hold_every_event_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.cast");
        // Small files: the writer rotates many times.
        let mut w = CastWriter::create(&path, 300, 50, (80, 24), describe()).unwrap();
        let t0 = Instant::now();
        for i in 0..40u32 {
            let at = t0 + Duration::from_millis(u64::from(i) * 10);
            w.output(at, format!("line-{i}\r\n").as_bytes());
            if i == 20 {
                let after = at + Duration::from_millis(1);
                w.event(after, Event::Marker(label::command_started("make")));
                w.event(after, Event::Resize(100, 30));
            }
        }
        w.event(
            t0 + Duration::from_millis(500),
            Event::Marker(label::command_ended(2, Duration::from_millis(190), "make")),
        );
        drop(w);
        let kept = files(&path, 50);
        assert!(kept.len() > 5, "rotated: {kept:?}");
        let (header, events) = exported(kept.clone(), &RecordingRequest::default());
        assert_eq!(header["term"]["cols"], 80);
        let output: String = events
            .iter()
            .filter(|e| e.1 == "o")
            .map(|e| e.2.as_str())
            .collect();
        let want: String = (0..40).map(|i| format!("line-{i}\r\n")).collect();
        assert_eq!(output.replace('\u{1b}', "").trim_start_matches('c'), want);
        assert!(events.iter().all(|e| e.0 >= 0.0));
        assert_eq!(events[0].0, 0.0, "rebased to start at zero");
        assert!(
            events.contains(&(0.0, "r".into(), "100x30".into()))
                || events.iter().any(|e| e.1 == "r" && e.2 == "100x30")
        );
        let listed = commands(kept.clone(), &RecordingRequest::default()).unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(
            (
                listed[0].command.as_str(),
                listed[0].status,
                listed[0].duration_ms
            ),
            ("make", Some(2), Some(190))
        );

        // From the command on: the screen of then first (lines 0..=20 on
        // a 100x30 terminal, as the resize came after them), then the rest.
        let req = RecordingRequest {
            since_ms: Some(listed[0].started_ms),
            ..Default::default()
        };
        let (header, events) = exported(kept, &req);
        assert_eq!(
            header["term"]["cols"], 80,
            "the size when the export starts"
        );
        assert_eq!(events[0].1, "o");
        assert!(
            events[0].2.contains("line-20") && events[0].2.contains("line-0"),
            "{:?}",
            events[0]
        );
        assert!(!events[0].2.contains("line-21"));
        let later: String = events[1..]
            .iter()
            .filter(|e| e.1 == "o")
            .map(|e| e.2.as_str())
            .collect();
        assert!(
            later.starts_with("line-21\r\n") && later.ends_with("line-39\r\n"),
            "{later}"
        );
    }

    #[test]
    fn a_character_cut_by_a_read_is_whole_and_bad_bytes_are_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("u.cast");
        let mut w = CastWriter::create(&path, 1 << 20, 1, (80, 24), describe()).unwrap();
        let now = Instant::now();
        let euro = "€".as_bytes();
        w.output(now, &[b"a".as_slice(), &euro[..1]].concat());
        w.output(now, &[&euro[1..], b"b\xffc".as_slice()].concat());
        drop(w);
        let (_, events) = exported(files(&path, 1), &RecordingRequest::default());
        let output: Vec<&str> = events
            .iter()
            .filter(|e| e.1 == "o")
            .map(|e| e.2.as_str())
            .collect();
        assert_eq!(output, vec!["\u{1b}c", "a", "€b\u{fffd}c"]);
    }

    #[test]
    fn a_mark_ends_where_its_terminator_does() {
        use crate::recording::after_mark;
        assert_eq!(after_mark(b"ab\x1b]133;C\x07out"), Some(10));
        assert_eq!(after_mark(b"\x1b]133;D;0\x1b\\x"), Some(11));
        assert_eq!(after_mark(b"no mark"), None);
        assert_eq!(after_mark(b"\x1b]133;A"), None, "cut by the read: no split");
    }
}
