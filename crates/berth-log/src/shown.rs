//! Output as the lines a terminal leaves on screen, without escapes: what
//! `log = "journal"` writes and `berth logs --plain` prints. A line that
//! was redrawn (a progress bar after `\r`, a shell's prompt rewritten
//! over itself, pasted text shown in reverse video then again) is the
//! line as it was finally shown, not every draw one after another.
//!
//! Within a line it follows what moves the cursor or erases (carriage
//! return, backspace, tab, `ESC[nC`/`D`/`G`, `ESC[K`, `ESC[nP`, `ESC[n@`);
//! every other sequence (colours, OSC titles and marks, modes) is dropped.

/// Longest line kept; a longer one is handed out in pieces.
pub const LINE_MAX: usize = 48 * 1024;

#[derive(Default)]
pub struct Lines {
    cells: Vec<char>,
    cursor: usize,
    /// Bytes of an escape sequence or a UTF-8 character not yet complete.
    pending: Vec<u8>,
}

enum Seq<'a> {
    /// Not complete yet: wait for more bytes.
    Partial,
    /// A CSI sequence: its parameters and final byte, and its length.
    Csi(&'a [u8], u8, usize),
    /// Anything else, to drop: its length.
    Other(usize),
}

impl Lines {
    /// The lines `bytes` completes, as shown; the rest waits for more.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<String> {
        let mut input = std::mem::take(&mut self.pending);
        input.extend_from_slice(bytes);
        let mut out = Vec::new();
        let mut i = 0;
        while i < input.len() {
            match input[i] {
                b'\n' => {
                    out.push(self.take_line());
                    i += 1;
                }
                b'\r' => {
                    self.cursor = 0;
                    i += 1;
                }
                0x08 => {
                    self.cursor = self.cursor.saturating_sub(1);
                    i += 1;
                }
                b'\t' => {
                    self.cursor = (self.cursor / 8 + 1) * 8;
                    i += 1;
                }
                0x1b => match sequence(&input[i..]) {
                    Seq::Partial => break,
                    Seq::Csi(params, fin, len) => {
                        let params = params.to_vec();
                        self.csi(&params, fin);
                        i += len;
                    }
                    Seq::Other(len) => i += len,
                },
                b if b < 0x20 || b == 0x7f => i += 1,
                _ => {
                    let len = utf8_len(input[i]);
                    if i + len > input.len() {
                        break;
                    }
                    let text = String::from_utf8_lossy(&input[i..i + len]);
                    for c in text.chars() {
                        self.put(c);
                    }
                    i += len;
                }
            }
            if self.cells.len() >= LINE_MAX {
                out.push(self.take_line());
            }
        }
        self.pending = input[i..].to_vec();
        // A sequence that never ends is not waited for forever.
        if self.pending.len() > 4096 {
            self.pending.clear();
        }
        out
    }

    /// The unfinished last line, if any (at the end of a log).
    pub fn finish(&mut self) -> Option<String> {
        (!self.cells.is_empty()).then(|| self.take_line())
    }

    fn take_line(&mut self) -> String {
        self.cursor = 0;
        let line: String = std::mem::take(&mut self.cells).into_iter().collect();
        line.trim_end().to_owned()
    }

    fn put(&mut self, c: char) {
        if self.cursor < self.cells.len() {
            self.cells[self.cursor] = c;
        } else {
            self.cells.resize(self.cursor, ' ');
            self.cells.push(c);
        }
        self.cursor += 1;
    }

    fn csi(&mut self, params: &[u8], fin: u8) {
        let n = std::str::from_utf8(params)
            .ok()
            .and_then(|p| p.split(';').next())
            .and_then(|p| p.parse::<usize>().ok());
        let count = n.unwrap_or(1).max(1);
        match fin {
            b'C' => self.cursor += count,
            b'D' => self.cursor = self.cursor.saturating_sub(count),
            b'G' => self.cursor = count - 1,
            b'K' => match n.unwrap_or(0) {
                0 => self.cells.truncate(self.cursor),
                1 => {
                    let end = self.cursor.min(self.cells.len().saturating_sub(1));
                    for c in self.cells.iter_mut().take(end + 1) {
                        *c = ' ';
                    }
                }
                _ => self.cells.clear(),
            },
            b'P' if self.cursor < self.cells.len() => {
                let end = (self.cursor + count).min(self.cells.len());
                self.cells.drain(self.cursor..end);
            }
            b'@' if self.cursor < self.cells.len() => {
                let blanks = count.min(LINE_MAX - self.cells.len().min(LINE_MAX));
                self.cells
                    .splice(self.cursor..self.cursor, std::iter::repeat_n(' ', blanks));
            }
            _ => {}
        }
        self.cursor = self.cursor.min(LINE_MAX);
    }
}

/// The escape sequence at the start of `bytes` (which starts with ESC).
fn sequence(bytes: &[u8]) -> Seq<'_> {
    match bytes.get(1) {
        None => Seq::Partial,
        Some(b'[') => {
            for (j, &b) in bytes.iter().enumerate().skip(2) {
                if (0x40..=0x7e).contains(&b) {
                    return Seq::Csi(&bytes[2..j], b, j + 1);
                }
            }
            Seq::Partial
        }
        // OSC (and DCS, APC, PM): up to BEL or ESC \.
        Some(b']' | b'P' | b'_' | b'^') => {
            for j in 2..bytes.len() {
                if bytes[j] == 0x07 {
                    return Seq::Other(j + 1);
                }
                if bytes[j] == 0x1b && bytes.get(j + 1) == Some(&b'\\') {
                    return Seq::Other(j + 2);
                }
            }
            Seq::Partial
        }
        // Charset designations take one more byte.
        Some(b'(' | b')' | b'*' | b'+' | b'#') => match bytes.len() {
            0..=2 => Seq::Partial,
            _ => Seq::Other(3),
        },
        Some(_) => Seq::Other(2),
    }
}

fn utf8_len(first: u8) -> usize {
    match first {
        0xf0..=0xf7 => 4,
        0xe0..=0xef => 3,
        0xc0..=0xdf => 2,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(bytes: &[u8]) -> Vec<String> {
        let mut lines = Lines::default();
        let mut out = lines.feed(bytes);
        out.extend(lines.finish());
        out
    }

    #[test]
    fn lines_are_what_the_terminal_finally_showed() {
        // Pasted text shown in reverse video, then redrawn over itself.
        let paste = b"\x1b]133;A\x07\x1b[?2004h$ \x1b]133;B\x07\x1b[7mecho hi\x1b[27m\r\x1b[C\x1b[Cecho hi\r\n\x1b[?2004l\rhi\r\n";
        assert_eq!(shown(paste), ["$ echo hi", "hi"]);
        // A progress bar redrawn after \r, erased with ESC[K.
        assert_eq!(shown(b"10%\r50%\r\x1b[Kdone\n"), ["done"]);
        assert_eq!(shown(b"[###   ]\r[######]\n"), ["[######]"]);
        // Colours dropped, UTF-8 kept, a column jump honoured.
        assert_eq!(
            shown("\x1b[1;31mé\x1b[0m ok\x1b[10Gx\n".as_bytes()),
            ["é ok     x"]
        );
        // Backspace and delete-character, as line editors use them.
        assert_eq!(shown(b"abc\x08\x08\x1b[Pd\n"), ["ad"]);
        // A line without its end yet is given by finish().
        assert_eq!(shown(b"prompt> "), ["prompt>"]);
    }

    #[test]
    fn sequences_and_characters_split_across_reads_are_joined() {
        let mut lines = Lines::default();
        assert!(lines.feed(b"a\x1b[3").is_empty());
        assert!(lines.feed(b"1mb\xc3").is_empty());
        assert_eq!(lines.feed(b"\xa9\n"), ["abé"]);
    }

    #[test]
    fn nothing_a_stream_sends_grows_a_line_or_a_sequence_without_bound() {
        let mut lines = Lines::default();
        let out = lines.feed(&vec![b'x'; LINE_MAX * 2 + 5]);
        assert_eq!(out.len(), 2);
        let mut huge = b"\x1b]0;".to_vec();
        huge.extend(vec![b'y'; 10_000]);
        lines.feed(&huge);
        assert!(lines.pending.len() <= 4096);
        // A cursor sent far right does not make a huge line.
        let out = lines.feed(b"\x1b[999999999Cz\n");
        assert!(out[0].chars().count() <= LINE_MAX + 1);
    }
}
