//! The output log: every byte the program wrote, in order, rotated by size.
//!
//! Writing never fails from the caller's point of view: a write error (a
//! full disk) pauses the log with a warning and the session runs on; the
//! log retries a few seconds later and says how much it could not keep.
//! A gap is never silent: a line the error cut is ended, a `[berth]` line
//! gives the exact number of bytes not logged, and logging resumes at the
//! start of a line (the rest of a line whose start was lost is counted).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long a paused log waits before trying to write again.
const RETRY_AFTER: Duration = Duration::from_secs(5);
/// Output is gathered up to this much and written in one call, so a flood
/// costs one write per 64 KiB rather than one per PTY read (4 KiB). The
/// supervisor flushes whenever the PTY has nothing more to read, so only a
/// host killed in the middle of a flood loses what it had gathered.
const BATCH: usize = 64 * 1024;

pub struct OutputLog {
    path: PathBuf,
    file: Option<File>,
    /// Bytes in the current file.
    size: u64,
    max_size: u64,
    keep: u32,
    paused: Option<Paused>,
    /// Output not yet written; see [`BATCH`].
    pending: Vec<u8>,
    /// The file ends with a newline (or is empty).
    at_line_start: bool,
    /// Where the file's last line starts: an error in the middle of a line
    /// cuts the file back to here, so no line is left torn.
    line_start: u64,
}

struct Paused {
    /// Writing is tried again from then on.
    retry_at: Instant,
    error: String,
    dropped: u64,
    /// The last byte not logged ended a line: resuming starts at a line.
    dropped_ends_line: bool,
}

impl OutputLog {
    /// Opens (appending to) the log at `path`, creating its directory.
    pub fn open(path: &Path, max_size: u64, keep: u32) -> std::io::Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let file = open_append(path)?;
        let size = file.metadata().map(|m| m.len()).unwrap_or(0);
        Ok(Self {
            path: path.to_owned(),
            file: Some(file),
            size,
            max_size,
            keep,
            paused: None,
            pending: Vec::new(),
            at_line_start: true,
            line_start: size,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Why the log is paused, if it is.
    pub fn error(&self) -> Option<String> {
        self.paused.as_ref().map(|p| {
            format!(
                "output log paused: {} ({} bytes not logged so far)",
                p.error, p.dropped
            )
        })
    }

    /// Appends `bytes` (gathered; see [`BATCH`]).
    pub fn write(&mut self, bytes: &[u8]) {
        let gathered = (self.pending.len() + bytes.len()) as u64;
        // Flushed before the file would overflow too, so rotation still
        // happens between the same writes as without gathering.
        if gathered > BATCH as u64 || self.size + gathered > self.max_size {
            self.flush();
        }
        if bytes.len() >= BATCH {
            self.write_now(bytes);
        } else {
            self.pending.extend_from_slice(bytes);
        }
    }

    /// Whether the gathering buffer holds memory.
    pub fn holds_buffer(&self) -> bool {
        self.pending.capacity() > 0
    }

    /// Writes what was gathered and frees the buffer (the output paused).
    pub fn settle(&mut self) {
        self.flush();
        self.pending = Vec::new();
    }

    /// Records `bytes` of output that never reached the log (its writer fell
    /// behind): the next write says so in a `[berth]` line first, and
    /// resumes at the start of a line.
    pub fn skipped(&mut self, bytes: u64, ends_line: bool, why: &str) {
        self.flush();
        match &mut self.paused {
            Some(p) => {
                p.dropped += bytes;
                p.dropped_ends_line = ends_line;
            }
            None => {
                self.paused = Some(Paused {
                    retry_at: Instant::now(),
                    error: why.to_owned(),
                    dropped: bytes,
                    dropped_ends_line: ends_line,
                })
            }
        }
    }

    /// Writes what was gathered.
    pub fn flush(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let mut pending = std::mem::take(&mut self.pending);
        self.write_now(&pending);
        pending.clear();
        self.pending = pending;
    }

    /// Appends `bytes` to the file, rotating first if they would overflow it.
    fn write_now(&mut self, mut bytes: &[u8]) {
        if let Some(p) = &mut self.paused {
            if Instant::now() < p.retry_at {
                p.dropped += bytes.len() as u64;
                p.dropped_ends_line = bytes.last() == Some(&b'\n');
                return;
            }
            // Resume at the start of a line: the rest of a line whose
            // start was lost is lost too.
            if !p.dropped_ends_line {
                match bytes.iter().position(|&b| b == b'\n') {
                    Some(nl) => {
                        p.dropped += nl as u64 + 1;
                        p.dropped_ends_line = true;
                        bytes = &bytes[nl + 1..];
                    }
                    None => {
                        p.dropped += bytes.len() as u64;
                        return;
                    }
                }
            }
        }
        if self.size > 0 && self.size + bytes.len() as u64 > self.max_size {
            if let Err(e) = self.rotate() {
                self.pause(format!("cannot rotate {}: {e}", self.path.display()), bytes);
                return;
            }
        }
        if self.paused.is_some() && !self.write_marker() {
            // Still paused (under the first error): these bytes join the gap.
            self.pause(String::new(), bytes);
            return;
        }
        if let Err((written, e)) = self.append(bytes) {
            let error = format!("cannot write {}: {e}", self.path.display());
            let cut = self.untear();
            self.pause(error, &bytes[written..]);
            if let Some(p) = &mut self.paused {
                p.dropped += cut;
            }
        }
    }

    /// Says the gap in the log itself, on a line of its own, and resumes;
    /// false (still paused) when the marker could not be written.
    fn write_marker(&mut self) -> bool {
        let Some(p) = &self.paused else {
            return true;
        };
        let mut marker = String::new();
        if !self.at_line_start {
            marker.push('\n');
        }
        marker.push_str(&format!(
            "[berth] {} bytes of output were not logged ({})\n",
            p.dropped, p.error
        ));
        match self.append(marker.as_bytes()) {
            Ok(()) => {
                let p = self.paused.take().expect("paused");
                tracing::warn!(
                    log = %self.path.display(),
                    dropped = p.dropped,
                    "output log resumed after a write error; {} bytes were not logged",
                    p.dropped
                );
                true
            }
            Err((_, e)) => {
                // A marker cut short is taken back out, like a torn
                // line: the next try writes it whole, and nothing
                // adding up the markers counts a gap twice.
                self.untear();
                let error = format!("cannot write {}: {e}", self.path.display());
                self.pause(error, &[]);
                false
            }
        }
    }

    /// A gap whose last byte ended a line is said at once (without
    /// waiting for more output to resume with).
    pub fn resume_now(&mut self) {
        if self
            .paused
            .as_ref()
            .is_some_and(|p| p.dropped_ends_line && Instant::now() >= p.retry_at)
        {
            self.flush();
            self.write_marker();
        }
    }

    /// Writes `bytes` to the file; on an error, also how many were written.
    fn append(&mut self, bytes: &[u8]) -> Result<(), (usize, std::io::Error)> {
        let Some(file) = self.file.as_mut() else {
            let e = std::io::Error::other(format!("{} is not open", self.path.display()));
            return Err((0, e));
        };
        let mut written = 0;
        let result = loop {
            if written == bytes.len() {
                break Ok(());
            }
            match file.write(&bytes[written..]) {
                Ok(0) => break Err(std::io::ErrorKind::WriteZero.into()),
                Ok(n) => written += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => break Err(e),
            }
        };
        let before = self.size;
        self.size += written as u64;
        if let Some(nl) = bytes[..written].iter().rposition(|&b| b == b'\n') {
            self.line_start = before + nl as u64 + 1;
        }
        if written > 0 {
            self.at_line_start = bytes[written - 1] == b'\n';
        }
        result.map_err(|e| (written, e))
    }

    /// After an error in the middle of a line: cuts the file back to the
    /// line's start (a smaller file is allowed on a full disk and past a
    /// size limit). Returns the bytes taken out, or 0 when the line stays
    /// (it is then ended before the `[berth]` line).
    fn untear(&mut self) -> u64 {
        if self.at_line_start {
            return 0;
        }
        let Some(file) = self.file.as_mut() else {
            return 0;
        };
        let cut = self.size - self.line_start;
        if file.set_len(self.line_start).is_err() {
            return 0;
        }
        self.size = self.line_start;
        self.at_line_start = true;
        cut
    }

    /// Pauses the log (or extends the pause) after `lost` could not be written.
    fn pause(&mut self, error: String, lost: &[u8]) {
        let ends_line = lost.last().map(|&b| b == b'\n');
        match &mut self.paused {
            Some(p) => {
                p.retry_at = Instant::now() + RETRY_AFTER;
                p.dropped += lost.len() as u64;
                if let Some(e) = ends_line {
                    p.dropped_ends_line = e;
                }
            }
            None => {
                tracing::warn!(log = %self.path.display(), "{error}; output logging paused, the session keeps running");
                self.paused = Some(Paused {
                    retry_at: Instant::now() + RETRY_AFTER,
                    error,
                    dropped: lost.len() as u64,
                    // Nothing lost yet: resuming starts where the file stands.
                    dropped_ends_line: ends_line.unwrap_or(self.at_line_start),
                });
            }
        }
    }

    /// `log` → `log.1` → ... → `log.KEEP`, dropping the oldest.
    fn rotate(&mut self) -> std::io::Result<()> {
        self.file = None;
        berth_log::rotate::push_back(&self.path, self.keep)?;
        self.file = Some(open_append(&self.path)?);
        self.size = 0;
        self.at_line_start = true;
        self.line_start = 0;
        Ok(())
    }
}

impl Drop for OutputLog {
    fn drop(&mut self) {
        self.flush();
    }
}

/// A log file opened to append, readable by the group (ops read logs).
pub(crate) fn open_append(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o640)
        .open(path)
}

/// The `i`th rotated file (1 is the newest): `NAME.log.1`.
pub use berth_log::rotate::numbered;

#[cfg(test)]
mod tests {
    use super::*;

    fn tempdir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "berth-log-test-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn rotates_and_keeps_everything_in_order() {
        let dir = tempdir();
        let path = dir.join("s.log");
        let mut log = OutputLog::open(&path, 100, 10).unwrap();
        let mut all = Vec::new();
        for i in 0..50u8 {
            let chunk = vec![b'a' + (i % 26); 30];
            all.extend_from_slice(&chunk);
            log.write(&chunk);
        }
        log.flush();
        let mut got = Vec::new();
        for i in (1..=10).rev() {
            if let Ok(b) = std::fs::read(numbered(&path, i)) {
                got.extend(b);
            }
        }
        got.extend(std::fs::read(&path).unwrap());
        // Ten rotated files of 90 bytes plus the current one hold the tail.
        assert!(
            all.ends_with(&got),
            "rotated files are the newest output, in order"
        );
        assert!(std::fs::metadata(&path).unwrap().len() <= 100);
        assert!(!numbered(&path, 11).exists());
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn a_gap_that_ended_a_line_is_said_at_once_and_one_that_did_not_waits_for_a_line() {
        let dir = tempdir();
        let path = dir.join("s.log");
        let mut log = OutputLog::open(&path, 1 << 20, 1).unwrap();
        log.write(b"one\r\n");
        log.skipped(10, true, "the log's disk did not keep up");
        log.resume_now();
        let said = "[berth] 10 bytes of output were not logged (the log's disk did not keep up)\n";
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            format!("one\r\n{said}")
        );
        assert!(log.error().is_none());
        // Cut mid-line: the rest of that line is left out too, then said.
        log.skipped(4, false, "the log's disk did not keep up");
        log.resume_now();
        log.write(b"rest\r\ntwo\r\n");
        log.flush();
        let said_too =
            "[berth] 10 bytes of output were not logged (the log's disk did not keep up)\n";
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            format!("one\r\n{said}{said_too}two\r\n")
        );
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn a_full_disk_pauses_without_failing() {
        let mut log = OutputLog::open(Path::new("/dev/full"), 1 << 30, 1).unwrap();
        log.write(b"hello");
        log.flush();
        log.write(b"world");
        log.flush();
        let err = log.error().expect("paused");
        assert!(
            err.starts_with("output log paused: cannot write /dev/full: No space left on device"),
            "{err}"
        );
        assert!(err.ends_with("(10 bytes not logged so far)"), "{err}");
    }
}
