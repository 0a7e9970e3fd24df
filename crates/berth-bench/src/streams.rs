//! The output streams the throughput figures `cat`, generated here from a
//! fixed pseudo-random sequence, so every run (and every machine) measures
//! the same bytes and nothing is stored in the repository.
//!
//! Each imitates what sessions print in practice (issue 14): a CI runner's
//! coloured log, text in several scripts, a progress bar redrawn with `\r`,
//! and a build transcript that mixes them with cursor-up redraws and tabs.

use std::io::Write as _;
use std::path::Path;

use anyhow::Context as _;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stream {
    /// 79-column base64 lines: plain ASCII, the original figure.
    Plain,
    /// Log lines of about 120 columns, SGR on the timestamp, level, worker
    /// and duration, reset before each line ends.
    Colour,
    /// Words with accents, Cyrillic, Greek, CJK (two columns each) and
    /// arrows, in lines of up to 78 columns.
    Utf8,
    /// A tqdm-style bar (block characters) redrawn with `\r` 100 times,
    /// then a newline: 101 states per line, 75 columns wide (tqdm fits its
    /// bar to the terminal).
    Progress,
    /// A build transcript: coloured "Compiling" lines, a three-line status
    /// block redrawn with cursor-up and erase-line, warnings longer than
    /// the screen is wide, tab-separated test results.
    Mixed,
}

impl Stream {
    pub const NEW: [Stream; 4] = [
        Stream::Colour,
        Stream::Utf8,
        Stream::Progress,
        Stream::Mixed,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Stream::Plain => "plain",
            Stream::Colour => "colour",
            Stream::Utf8 => "UTF-8",
            Stream::Progress => "progress bars",
            Stream::Mixed => "mixed build log",
        }
    }

    /// Writes about `bytes` bytes of this stream to `path`.
    pub fn write(self, path: &Path, bytes: u64) -> anyhow::Result<()> {
        if self == Stream::Plain {
            return crate::env::write_base64_lines(path, (bytes / 80).max(1) as usize, 79);
        }
        let file = std::fs::File::create(path)
            .with_context(|| format!("failed to create {}", path.display()))?;
        let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
        let mut g = Gen::new(self);
        let mut buf = Vec::with_capacity(64 * 1024);
        let mut written = 0u64;
        while written < bytes {
            buf.clear();
            g.chunk(&mut buf);
            out.write_all(&buf)?;
            written += buf.len() as u64;
        }
        out.flush()
            .with_context(|| format!("failed to write {}", path.display()))
    }
}

/// xorshift64: cheap, fixed, good enough to vary text.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() >> 33) as usize % n
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

struct Gen {
    stream: Stream,
    rng: Rng,
    /// Lines (or bars) written so far.
    n: u64,
}

const LEVELS: [(&str, &str); 4] = [
    ("\x1b[32m", "INFO "),
    ("\x1b[36m", "DEBUG"),
    ("\x1b[33m", "WARN "),
    ("\x1b[1;31m", "ERROR"),
];
const ASCII_WORDS: [&str; 12] = [
    "request", "handled", "upstream", "cache", "miss", "retrying", "job", "queued", "artifact",
    "uploaded", "checksum", "verified",
];
const UTF8_WORDS: [&str; 16] = [
    "café",
    "naïve",
    "Größe",
    "déjà",
    "привет",
    "мир",
    "данные",
    "λόγος",
    "ηλιος",
    "日本語",
    "東京",
    "中文",
    "한국어",
    "→",
    "⇒",
    "✓",
];
const CRATES: [&str; 8] = [
    "serde", "tokio", "regex", "clap", "hyper", "rustls", "vt100", "nix",
];

impl Gen {
    fn new(stream: Stream) -> Self {
        Self {
            stream,
            rng: Rng(0x9e37_79b9_7f4a_7c15),
            n: 0,
        }
    }

    /// Appends the next few lines of the stream.
    fn chunk(&mut self, out: &mut Vec<u8>) {
        for _ in 0..64 {
            match self.stream {
                Stream::Plain => unreachable!("plain lines are written by env::write_base64_lines"),
                Stream::Colour => self.colour(out),
                Stream::Utf8 => self.utf8(out),
                Stream::Progress => self.progress(out),
                Stream::Mixed => self.mixed(out),
            }
            self.n += 1;
        }
    }

    fn colour(&mut self, out: &mut Vec<u8>) {
        let (sgr, level) = *self.rng.pick(&LEVELS);
        let n = self.n;
        let (h, m, s, ms) = (n / 3_600_000 % 24, n / 60_000 % 60, n / 1000 % 60, n % 1000);
        let _ = write!(
            out,
            "\x1b[2m2026-11-23T{h:02}:{m:02}:{s:02}.{ms:03}Z\x1b[0m {sgr}{level}\x1b[0m \x1b[35mworker-{:02}\x1b[0m ",
            self.rng.below(16)
        );
        let mut cols = 0;
        while cols < 70 {
            let w = *self.rng.pick(&ASCII_WORDS);
            out.extend_from_slice(w.as_bytes());
            out.push(b' ');
            cols += w.len() + 1;
        }
        let _ = writeln!(
            out,
            "id={:08x} \x1b[1m{}.{:03}s\x1b[0m",
            self.rng.next() as u32,
            self.rng.below(10),
            self.rng.below(1000)
        );
    }

    fn utf8(&mut self, out: &mut Vec<u8>) {
        let mut cols = 0;
        loop {
            let w = *self.rng.pick(&UTF8_WORDS);
            let width: usize = w.chars().map(char_columns).sum();
            if cols + width + 1 > 78 {
                break;
            }
            out.extend_from_slice(w.as_bytes());
            out.push(b' ');
            cols += width + 1;
        }
        out.push(b'\n');
    }

    /// One bar from 0% to 100% in 100 `\r` redraws, then a newline.
    fn progress(&mut self, out: &mut Vec<u8>) {
        const PARTS: [char; 8] = [' ', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];
        let total = 1000 + self.rng.below(9000);
        for step in 0..=100 {
            let done = total * step / 100;
            let eighths = step * 30 * 8 / 100;
            let _ = write!(out, "file-{:04}.tar: {step:3}%|", self.n % 10_000);
            for cell in 0..30 {
                let c = match (eighths / 8).cmp(&cell) {
                    std::cmp::Ordering::Greater => '█',
                    std::cmp::Ordering::Equal => PARTS[eighths % 8],
                    std::cmp::Ordering::Less => ' ',
                };
                let _ = write!(out, "{c}");
            }
            let _ = write!(
                out,
                "| {done}/{total} [00:{:02}<00:{:02}]",
                step % 60,
                (100 - step) % 60
            );
            out.push(if step == 100 { b'\n' } else { b'\r' });
        }
    }

    fn mixed(&mut self, out: &mut Vec<u8>) {
        let n = self.n;
        match n % 8 {
            0..=3 => {
                let c = *self.rng.pick(&CRATES);
                let _ = writeln!(
                    out,
                    "\x1b[1m\x1b[32m   Compiling\x1b[0m {c} v1.{}.{} (registry)",
                    self.rng.below(40),
                    self.rng.below(20)
                );
            }
            4 => {
                // The status block: three lines redrawn in place.
                let _ = write!(out, "\x1b[3A");
                for job in 0..3 {
                    let _ = write!(
                        out,
                        "\r\x1b[K\x1b[36m  job {job}\x1b[0m building {} ({}/{})\n",
                        self.rng.pick(&CRATES),
                        n % 400,
                        400
                    );
                }
            }
            5 => {
                let _ = write!(
                    out,
                    "\x1b[1;33mwarning\x1b[0m\x1b[1m: unused variable in\x1b[0m"
                );
                let mut cols = 0;
                while cols < 200 {
                    let w = *self.rng.pick(&ASCII_WORDS);
                    out.push(b' ');
                    out.extend_from_slice(w.as_bytes());
                    cols += w.len() + 1;
                }
                out.push(b'\n');
            }
            6 => {
                let _ = writeln!(
                    out,
                    "test {}::case_{}\t...\t\x1b[32mok\x1b[0m\t{}ms",
                    self.rng.pick(&CRATES),
                    n % 1000,
                    self.rng.below(500)
                );
            }
            _ => {
                let _ = writeln!(out, "   {} → {} ✓", self.rng.pick(&UTF8_WORDS), n);
            }
        }
    }
}

/// Columns a character takes on a terminal, for the generator's line
/// widths: East Asian wide characters take two.
fn char_columns(c: char) -> usize {
    match c as u32 {
        0x1100..=0x115f | 0x2e80..=0xa4cf | 0xac00..=0xd7a3 | 0xf900..=0xfaff | 0xff00..=0xff60 => {
            2
        }
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_deterministic_and_sized() {
        for s in Stream::NEW {
            let (mut a, mut b) = (Vec::new(), Vec::new());
            Gen::new(s).chunk(&mut a);
            Gen::new(s).chunk(&mut b);
            assert_eq!(a, b, "{s:?}");
            assert!(std::str::from_utf8(&a).is_ok(), "{s:?}");
            assert!(a.len() > 1000, "{s:?}");
        }
    }

    #[test]
    fn progress_lines_hold_101_states() {
        let mut out = Vec::new();
        Gen::new(Stream::Progress).progress(&mut out);
        assert_eq!(out.iter().filter(|&&b| b == b'\r').count(), 100);
        let last = std::str::from_utf8(&out)
            .unwrap()
            .rsplit('\r')
            .next()
            .unwrap();
        assert!(
            last.trim_end().chars().map(char_columns).sum::<usize>() <= 80,
            "{last}"
        );
        assert_eq!(out.last(), Some(&b'\n'));
    }
}
