//! Reading the output log for `berth logs`: the last lines across rotated
//! files, then what is written next, across rotation (like `tail -F`).
//! The host serves it, so operators and observers read the log without
//! permissions on the file.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};

use crate::output_log::numbered;

/// Bytes read from disk at a time, backwards to find where the last lines
/// start and forwards to send them: what one `logs` holds in memory,
/// however long the log and however slowly its reader reads.
pub const CHUNK: usize = 64 * 1024;

/// An open log: the rotated files still to send (oldest first, each from
/// an offset), then the current one, followed across rotation.
pub struct LogReader {
    path: PathBuf,
    older: VecDeque<File>,
    file: File,
    ino: u64,
}

impl LogReader {
    /// Positioned at the start of the log's last `lines` lines (reaching
    /// into the rotated files when the current one has fewer); without
    /// `lines`, at the start of the current file. Nothing is read but
    /// what finding that start takes, a chunk at a time.
    pub fn open(path: &Path, keep: u32, lines: Option<usize>) -> std::io::Result<Self> {
        let mut file = File::open(path)?;
        let ino = file.metadata()?.ino();
        let mut older = VecDeque::new();
        if let Some(n) = lines {
            let mut tail = Tail::new(n);
            let mut start = tail.scan(&file)?;
            let mut i = 1;
            while start.is_none() && i <= keep {
                let Ok(old) = File::open(numbered(path, i)) else {
                    break;
                };
                start = tail.scan(&old)?;
                older.push_front(old);
                i += 1;
            }
            // Not found: everything kept is fewer lines; all of it goes.
            let start = start.unwrap_or(0);
            match older.front_mut() {
                Some(oldest) => oldest.seek(SeekFrom::Start(start))?,
                None => file.seek(SeekFrom::Start(start))?,
            };
        }
        Ok(Self {
            path: path.to_owned(),
            older,
            file,
            ino,
        })
    }

    /// The next at most [`CHUNK`] bytes: of the retained text, then of
    /// what was written since; empty when nothing is left for now. After
    /// a rotation, the rest of the old file and then the new one from its
    /// start; after a truncation in place, the file from its start, as
    /// `tail -F` does.
    pub fn next_chunk(&mut self) -> std::io::Result<Vec<u8>> {
        let mut out = vec![0; CHUNK];
        while let Some(old) = self.older.front_mut() {
            let n = old.read(&mut out)?;
            if n > 0 {
                out.truncate(n);
                return Ok(out);
            }
            self.older.pop_front();
        }
        let n = self.file.read(&mut out)?;
        if n > 0 {
            out.truncate(n);
            return Ok(out);
        }
        match std::fs::metadata(&self.path) {
            Ok(m) if m.ino() != self.ino => {
                // Rotated. What the writer appended to the old file between
                // the read above and the rename is read first: once the new
                // file exists, the old one is complete.
                let new = File::open(&self.path)?;
                self.ino = new.metadata()?.ino();
                self.older.push_back(std::mem::replace(&mut self.file, new));
                self.next_chunk()
            }
            Ok(m) if m.len() < self.file.stream_position()? => {
                self.file.seek(SeekFrom::Start(0))?;
                self.next_chunk()
            }
            _ => Ok(Vec::new()),
        }
    }
}

/// A backwards scan for where the last `n` lines start, file by file from
/// the newest: a last line without its newline counts.
struct Tail {
    /// Newlines still to pass.
    need: usize,
    /// The very last byte of the log is not looked at yet.
    at_end: bool,
}

impl Tail {
    fn new(n: usize) -> Self {
        Self {
            need: n,
            at_end: true,
        }
    }

    /// Where in `file` the last lines start, if they start in it.
    fn scan(&mut self, file: &File) -> std::io::Result<Option<u64>> {
        let len = file.metadata()?.len();
        if self.need == 0 {
            return Ok(Some(len));
        }
        let mut block = vec![0; CHUNK];
        let mut end = len;
        while end > 0 {
            let start = end.saturating_sub(CHUNK as u64);
            let block = &mut block[..(end - start) as usize];
            file.read_exact_at(block, start)?;
            let mut body: &[u8] = block;
            if std::mem::take(&mut self.at_end) {
                body = body.strip_suffix(b"\n").unwrap_or(body);
            }
            for nl in memchr::memrchr_iter(b'\n', body) {
                self.need -= 1;
                if self.need == 0 {
                    return Ok(Some(start + nl as u64 + 1));
                }
            }
            end = start;
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Everything the reader has for now.
    fn drain(reader: &mut LogReader) -> Vec<u8> {
        let mut all = Vec::new();
        loop {
            let chunk = reader.next_chunk().unwrap();
            if chunk.is_empty() {
                return all;
            }
            assert!(chunk.len() <= CHUNK);
            all.extend(chunk);
        }
    }

    fn tail(text: &[u8], n: usize) -> Vec<u8> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.log");
        std::fs::write(&path, text).unwrap();
        drain(&mut LogReader::open(&path, 0, Some(n)).unwrap())
    }

    #[test]
    fn last_lines() {
        assert_eq!(tail(b"a\nb\nc\n", 2), b"b\nc\n");
        assert_eq!(tail(b"a\nb\nc", 2), b"b\nc");
        assert_eq!(tail(b"a\nb\nc\n", 9), b"a\nb\nc\n");
        assert_eq!(tail(b"a\nb\n", 0), b"");
    }

    #[test]
    fn a_long_log_is_read_a_chunk_at_a_time_across_chunk_edges() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.log");
        let old: String = (0..20_000).map(|i| format!("old {i}\n")).collect();
        let new: String = (0..30_000).map(|i| format!("new {i}\n")).collect();
        std::fs::write(numbered(&path, 1), &old).unwrap();
        std::fs::write(&path, &new).unwrap();
        let want = |n: usize| {
            let all = format!("{old}{new}");
            let lines: Vec<&str> = all.lines().collect();
            lines[lines.len() - n.min(lines.len())..]
                .iter()
                .map(|l| format!("{l}\n"))
                .collect::<String>()
        };
        for n in [1, 29_999, 30_000, 30_001, 45_000, 50_000, 90_000] {
            let got = drain(&mut LogReader::open(&path, 5, Some(n)).unwrap());
            assert_eq!(String::from_utf8(got).unwrap(), want(n), "{n} lines");
        }
    }

    #[test]
    fn tails_across_rotation_and_follows_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.log");
        std::fs::write(numbered(&path, 1), "old 1\nold 2\n").unwrap();
        std::fs::write(&path, "new 1\n").unwrap();
        let mut reader = LogReader::open(&path, 5, Some(2)).unwrap();
        assert_eq!(drain(&mut reader), b"old 2\nnew 1\n");
        let all = drain(&mut LogReader::open(&path, 5, None).unwrap());
        assert_eq!(all, b"new 1\n");
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        f.write_all(b"new 2\n").unwrap();
        assert_eq!(drain(&mut reader), b"new 2\n");
        f.write_all(b"new 3\n").unwrap();
        std::fs::rename(&path, numbered(&path, 1)).unwrap();
        std::fs::write(&path, "newer 1\n").unwrap();
        assert_eq!(drain(&mut reader), b"new 3\nnewer 1\n");
        assert_eq!(drain(&mut reader), b"");
    }
}
