//! Reading the output log for `berth logs`: the last lines across rotated
//! files, then what is written next, across rotation (like `tail -F`).
//! The host serves it, so operators and observers read the log without
//! permissions on the file.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::output_log::numbered;

/// An open log, read up to where it ends.
pub struct LogReader {
    path: PathBuf,
    file: File,
    ino: u64,
}

impl LogReader {
    /// The log's retained text (the last `lines` lines, reaching into the
    /// rotated files when the current one has fewer; without `lines`, the
    /// current file), and a reader positioned at its end.
    pub fn open(path: &Path, keep: u32, lines: Option<usize>) -> std::io::Result<(Vec<u8>, Self)> {
        let mut file = File::open(path)?;
        let ino = file.metadata()?.ino();
        let mut text = Vec::new();
        file.read_to_end(&mut text)?;
        if let Some(n) = lines {
            let mut i = 1;
            while count_lines(&text) < n + 1 && i <= keep {
                match std::fs::read(numbered(path, i)) {
                    Ok(mut older) => {
                        older.extend_from_slice(&text);
                        text = older;
                    }
                    Err(_) => break,
                }
                i += 1;
            }
            let start = last_lines_start(&text, n);
            text.drain(..start);
        }
        let reader = Self {
            path: path.to_owned(),
            file,
            ino,
        };
        Ok((text, reader))
    }

    /// What was written since the last call; after a rotation, the rest of
    /// the old file and then the new one from its start.
    pub fn read_new(&mut self) -> std::io::Result<Vec<u8>> {
        let mut out = Vec::new();
        self.file.read_to_end(&mut out)?;
        match std::fs::metadata(&self.path) {
            Ok(m) if m.ino() != self.ino => {
                // Rotated. What the writer appended to the old file between
                // the read above and the rename is read now: once the new
                // file exists, the old one is complete.
                self.file.read_to_end(&mut out)?;
                self.file = File::open(&self.path)?;
                self.ino = self.file.metadata()?.ino();
                self.file.read_to_end(&mut out)?;
            }
            Ok(m) if m.len() < self.file.stream_position()? => {
                // Truncated in place: start over, as tail -F does.
                self.file.seek(SeekFrom::Start(0))?;
                self.file.read_to_end(&mut out)?;
            }
            _ => {}
        }
        Ok(out)
    }
}

fn count_lines(text: &[u8]) -> usize {
    memchr::memchr_iter(b'\n', text).count()
}

/// Where the last `n` lines of `text` start (a last line without its
/// newline counts).
fn last_lines_start(text: &[u8], n: usize) -> usize {
    let body = text.strip_suffix(b"\n").unwrap_or(text);
    if n == 0 {
        return text.len();
    }
    memchr::memrchr_iter(b'\n', body)
        .nth(n - 1)
        .map_or(0, |nl| nl + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_lines() {
        assert_eq!(last_lines_start(b"a\nb\nc\n", 2), 2);
        assert_eq!(last_lines_start(b"a\nb\nc", 2), 2);
        assert_eq!(last_lines_start(b"a\nb\nc\n", 9), 0);
        assert_eq!(last_lines_start(b"a\nb\n", 0), 4);
    }

    #[test]
    fn tails_across_rotation_and_follows_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.log");
        std::fs::write(numbered(&path, 1), "old 1\nold 2\n").unwrap();
        std::fs::write(&path, "new 1\n").unwrap();
        let (text, mut reader) = LogReader::open(&path, 5, Some(2)).unwrap();
        assert_eq!(text, b"old 2\nnew 1\n");
        let (all, _) = LogReader::open(&path, 5, None).unwrap();
        assert_eq!(all, b"new 1\n");
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        f.write_all(b"new 2\n").unwrap();
        assert_eq!(reader.read_new().unwrap(), b"new 2\n");
        f.write_all(b"new 3\n").unwrap();
        std::fs::rename(&path, numbered(&path, 1)).unwrap();
        std::fs::write(&path, "newer 1\n").unwrap();
        assert_eq!(reader.read_new().unwrap(), b"new 3\nnewer 1\n");
        assert_eq!(reader.read_new().unwrap(), b"");
    }
}
