//! Plain-line batching: the fast path for floods of ordinary text.
//!
//! Most bulk output (logs, builds, `cat`) is lines of printable ASCII ending
//! in CR LF. Once such a line scrolls the screen at the bottom with default
//! attributes, every further plain line does the same thing: push the top
//! row into history and appear at the bottom. So instead of feeding each
//! byte to the emulator and formatting each row that scrolls off, plain
//! lines are collected here, and [`crate::terminal::Terminal`] applies them
//! in batches: rows that would scroll off at once go into history as text
//! directly; only the last screenful goes through the emulator. The result
//! is the same screen and history (property-tested against the emulator
//! alone in `terminal.rs`), at the cost of scanning and copying the bytes.

/// Complete plain lines waiting to be applied, and the incomplete last one.
#[derive(Debug, Default)]
pub struct PlainLines {
    /// Complete lines, back to back, each with its CR LF.
    text: Vec<u8>,
    /// End offset in `text` of each complete line (after its LF).
    ends: Vec<usize>,
    /// The line still being written: plain bytes, possibly ending in CR.
    pub partial: Vec<u8>,
}

/// What [`PlainLines::absorb`] did with the input.
#[derive(Debug, PartialEq, Eq)]
pub enum Absorbed {
    /// All of it was plain.
    All,
    /// Plain up to this index; the byte there is not part of a plain line.
    Until(usize),
}

/// Printable ASCII: one column each, no state change in the emulator.
fn printable(b: u8) -> bool {
    (0x20..0x7f).contains(&b)
}

impl PlainLines {
    /// Bytes allocated for batches.
    pub fn capacity(&self) -> usize {
        self.text.capacity() + self.partial.capacity() + self.ends.capacity() * 8
    }

    /// Bytes held, to bound memory.
    pub fn held(&self) -> usize {
        self.text.len() + self.partial.len()
    }

    /// The complete lines, without their CR LF.
    pub fn lines(&self) -> impl Iterator<Item = &[u8]> {
        let mut start = 0;
        self.ends.iter().map(move |&end| {
            let line = &self.text[start..end - 2];
            start = end;
            line
        })
    }

    /// Rows the complete lines fill on a screen `cols` wide.
    pub fn rows(&self, cols: usize) -> usize {
        self.lines().map(|l| rows_of(l.len(), cols)).sum()
    }

    /// Takes the complete lines out, leaving the partial one.
    pub fn take_lines(&mut self) -> PlainLines {
        PlainLines {
            text: std::mem::take(&mut self.text),
            ends: std::mem::take(&mut self.ends),
            partial: Vec::new(),
        }
    }

    /// Gives back the buffers of lines taken out and applied, so a flood
    /// does not allocate (and fault in) fresh buffers for every batch.
    pub fn reuse(&mut self, mut applied: PlainLines) {
        if self.text.is_empty() && self.ends.is_empty() {
            applied.text.clear();
            applied.ends.clear();
            self.text = applied.text;
            self.ends = applied.ends;
        }
    }

    /// Takes in the plain lines at the start of `bytes`, continuing the
    /// partial line. Stops at the first byte that is not printable ASCII or
    /// part of a CR LF pair.
    pub fn absorb(&mut self, bytes: &[u8]) -> Absorbed {
        if self.absorb_whole(bytes) {
            Absorbed::All
        } else {
            self.absorb_exact(bytes)
        }
    }

    /// The common case in one pass over the lines: all of `bytes` is
    /// plain. False (and nothing taken) otherwise.
    fn absorb_whole(&mut self, bytes: &[u8]) -> bool {
        let lines_before = self.ends.len();
        let base = self.text.len() + self.partial.len();
        let mut start = 0;
        for nl in memchr::memchr_iter(b'\n', bytes) {
            let ok = if nl == start {
                // An LF right at the start: the CR ends the partial line.
                start == 0 && self.partial.last() == Some(&b'\r')
            } else {
                let body = &bytes[start..nl - 1];
                (start > 0 || self.partial.last() != Some(&b'\r'))
                    && bytes[nl - 1] == b'\r'
                    && all_printable(body)
            };
            if !ok {
                self.ends.truncate(lines_before);
                return false;
            }
            self.ends.push(base + nl + 1);
            start = nl + 1;
        }
        let tail = &bytes[start..];
        let tail_ok = match tail.split_last() {
            None => true,
            Some((&last, body)) => {
                (start > 0 || self.partial.last() != Some(&b'\r'))
                    && all_printable(body)
                    && (last == b'\r' || printable(last))
            }
        };
        if !tail_ok {
            self.ends.truncate(lines_before);
            return false;
        }
        if start > 0 {
            self.text.extend_from_slice(&self.partial);
            self.partial.clear();
            self.text.extend_from_slice(&bytes[..start]);
        }
        self.partial.extend_from_slice(tail);
        true
    }

    /// Line by line, to find exactly where plain text stops.
    fn absorb_exact(&mut self, bytes: &[u8]) -> Absorbed {
        let mut i = 0;
        while i < bytes.len() {
            let rest = &bytes[i..];
            let Some(nl) = memchr::memchr(b'\n', rest) else {
                // No line end yet: all of it joins the partial line if plain.
                let ok = plain_run(rest, self.partial.last() == Some(&b'\r'));
                self.partial.extend_from_slice(&rest[..ok]);
                return if ok == rest.len() {
                    Absorbed::All
                } else {
                    Absorbed::Until(i + ok)
                };
            };
            // `rest[..nl]` must be printable then CR (the CR possibly
            // already in the partial line).
            let body = &rest[..nl];
            let cr_pending = self.partial.last() == Some(&b'\r');
            let ok = plain_run(body, cr_pending);
            let complete = ok == body.len()
                && if body.is_empty() {
                    cr_pending
                } else {
                    body[body.len() - 1] == b'\r'
                };
            if !complete {
                self.partial.extend_from_slice(&body[..ok]);
                return Absorbed::Until(i + ok);
            }
            self.text.extend_from_slice(&self.partial);
            self.text.extend_from_slice(&rest[..=nl]);
            self.partial.clear();
            self.ends.push(self.text.len());
            i += nl + 1;
        }
        Absorbed::All
    }
}

/// Whether every byte is printable, checked without early exit so the
/// compiler vectorises it.
fn all_printable(bytes: &[u8]) -> bool {
    bytes.iter().fold(true, |ok, &b| ok & printable(b))
}

/// Length of the plain prefix of `bytes`: printable ASCII, with at most one
/// CR and only as the last byte. `cr_before`: a CR precedes `bytes`, so
/// nothing more may follow it.
fn plain_run(bytes: &[u8], cr_before: bool) -> usize {
    if cr_before {
        return 0;
    }
    match bytes.iter().position(|&b| !printable(b)) {
        None => bytes.len(),
        Some(p) if bytes[p] == b'\r' => p + 1,
        Some(p) => p,
    }
}

/// Rows a line of `len` printable characters fills on a screen `cols` wide.
pub fn rows_of(len: usize, cols: usize) -> usize {
    len.div_ceil(cols).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn lines(p: &PlainLines) -> Vec<String> {
        p.lines()
            .map(|l| String::from_utf8(l.to_vec()).unwrap())
            .collect()
    }

    #[test]
    fn complete_lines_and_a_partial_one() {
        let mut p = PlainLines::default();
        assert_eq!(p.absorb(b"one\r\ntwo\r\nthr"), Absorbed::All);
        assert_eq!(lines(&p), ["one", "two"]);
        assert_eq!(p.partial, b"thr");
        assert_eq!(p.absorb(b"ee\r"), Absorbed::All);
        assert_eq!(p.absorb(b"\n\r\n"), Absorbed::All);
        assert_eq!(lines(&p), ["one", "two", "three", ""]);
        assert!(p.partial.is_empty());
    }

    #[test]
    fn stops_at_anything_else() {
        let mut p = PlainLines::default();
        assert_eq!(p.absorb(b"a\r\nb\x1b[m"), Absorbed::Until(4));
        assert_eq!(p.partial, b"b");
        let mut p = PlainLines::default();
        // A lone LF, a CR not followed by LF, a tab, UTF-8.
        assert_eq!(p.absorb(b"ab\ncd"), Absorbed::Until(2));
        let mut p = PlainLines::default();
        assert_eq!(p.absorb(b"ab\rcd"), Absorbed::Until(3));
        assert_eq!(p.partial, b"ab\r");
        let mut p = PlainLines::default();
        assert_eq!(p.absorb(b"a\tb\r\n"), Absorbed::Until(1));
        let mut p = PlainLines::default();
        assert_eq!(p.absorb("é\r\n".as_bytes()), Absorbed::Until(0));
        let mut p = PlainLines::default();
        assert_eq!(p.absorb(b"x\r"), Absorbed::All);
        assert_eq!(p.absorb(b"\r\n"), Absorbed::Until(0));
    }

    proptest::proptest! {
        /// The vectorised path takes exactly what the line-by-line one does.
        #[test]
        fn whole_and_exact_agree(
            partial in "[ab]{0,3}\r?",
            input in proptest::collection::vec(
                proptest::prop_oneof![Just(b'a'), Just(b' '), Just(b'\r'), Just(b'\n'), Just(b'\t')], 0..40),
        ) {
            let mut whole = PlainLines { partial: partial.clone().into_bytes(), ..Default::default() };
            let mut exact = PlainLines { partial: partial.into_bytes(), ..Default::default() };
            if whole.absorb_whole(&input) {
                proptest::prop_assert_eq!(exact.absorb_exact(&input), Absorbed::All);
                proptest::prop_assert_eq!(&whole.text, &exact.text);
                proptest::prop_assert_eq!(&whole.ends, &exact.ends);
                proptest::prop_assert_eq!(&whole.partial, &exact.partial);
            } else {
                proptest::prop_assert_ne!(exact.absorb_exact(&input), Absorbed::All);
            }
        }
    }

    #[test]
    fn rows_wrap_at_the_width() {
        assert_eq!(rows_of(0, 80), 1);
        assert_eq!(rows_of(80, 80), 1);
        assert_eq!(rows_of(81, 80), 2);
        assert_eq!(rows_of(160, 80), 2);
    }
}
