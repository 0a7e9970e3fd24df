//! Which screen (main or alternate) a stream leaves the terminal on,
//! followed without an emulator.
//!
//! While the attach client passes output through untouched it keeps no
//! screen, yet on the way out it must know whether to switch the user's
//! terminal back from the alternate screen. Only escapes are looked at
//! (memchr finds them), so following costs next to nothing per byte.

/// Longest sequence kept across reads: `ESC [ ? 1049 ; 1047 h` and a little.
const MAX_SEQ: usize = 32;

#[derive(Debug, Default)]
pub struct ScreenSwitch {
    alternate: bool,
    /// The start of an escape cut by the end of the last read.
    partial: Vec<u8>,
}

impl ScreenSwitch {
    pub fn new(alternate: bool) -> Self {
        Self {
            alternate,
            partial: Vec::new(),
        }
    }

    /// Whether the stream so far leaves the terminal on the alternate screen.
    pub fn alternate(&self) -> bool {
        self.alternate
    }

    /// Follows `bytes`, the next output.
    pub fn feed(&mut self, bytes: &[u8]) {
        if !self.partial.is_empty() {
            let mut joined = std::mem::take(&mut self.partial);
            let take = bytes.len().min(MAX_SEQ);
            joined.extend_from_slice(&bytes[..take]);
            let used = match self.escape(&joined) {
                Step::Done(n) => n,
                Step::Cut => {
                    if joined.len() < MAX_SEQ {
                        self.partial = joined;
                        return;
                    }
                    1
                }
            };
            // What of `bytes` the joined escape took; the rest is scanned.
            let consumed = used.saturating_sub(joined.len() - take);
            self.scan(&bytes[consumed..]);
        } else {
            self.scan(bytes);
        }
    }

    fn scan(&mut self, bytes: &[u8]) {
        let mut at = 0;
        while let Some(i) = memchr::memchr(0x1b, &bytes[at..]) {
            let start = at + i;
            match self.escape(&bytes[start..]) {
                Step::Done(n) => at = start + n,
                Step::Cut => {
                    self.partial = bytes[start..].to_vec();
                    return;
                }
            }
        }
    }

    /// Looks at the escape at the start of `seq`: a switch of screens
    /// (`ESC [ ? 47/1047/1049 h|l`, or a reset `ESC c`) is applied.
    fn escape(&mut self, seq: &[u8]) -> Step {
        match seq.get(1) {
            None => return Step::Cut,
            Some(b'c') => {
                self.alternate = false;
                return Step::Done(2);
            }
            Some(b'[') => {}
            Some(_) => return Step::Done(1),
        }
        match seq.get(2) {
            None => return Step::Cut,
            Some(b'?') => {}
            Some(_) => return Step::Done(2),
        }
        let params = &seq[3..];
        let Some(end) = params.iter().position(|b| !matches!(b, b'0'..=b'9' | b';')) else {
            return if params.len() < MAX_SEQ {
                Step::Cut
            } else {
                Step::Done(3)
            };
        };
        let set = match params[end] {
            b'h' => true,
            b'l' => false,
            _ => return Step::Done(3 + end),
        };
        let switches = params[..end]
            .split(|b| *b == b';')
            .any(|p| matches!(p, b"47" | b"1047" | b"1049"));
        if switches {
            self.alternate = set;
        }
        Step::Done(3 + end + 1)
    }
}

enum Step {
    /// The escape took this many bytes (at least the ESC).
    Done(usize),
    /// It goes on past the end of what was read.
    Cut,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn after(chunks: &[&[u8]]) -> bool {
        let mut s = ScreenSwitch::new(false);
        for c in chunks {
            s.feed(c);
        }
        s.alternate()
    }

    #[test]
    fn follows_each_way_of_switching() {
        assert!(after(&[b"$ vim\x1b[?1049h\x1b[?1h"]));
        assert!(!after(&[b"\x1b[?1049h...\x1b[?1049l"]));
        assert!(after(&[b"\x1b[?47h"]));
        assert!(after(&[b"\x1b[?1;1047h"]));
        assert!(!after(&[b"\x1b[?1049h\x1bc"]));
        assert!(!after(&[b"\x1b[?25h\x1b[?2004h\x1b[31mred\x1b[m"]));
        assert!(!after(&[b"\x1b[1049h"]), "not a private mode");
    }

    #[test]
    fn an_escape_cut_by_a_read_is_joined() {
        let whole = b"x\x1b[?1049hy\x1b[?1049lz\x1b[?1049h";
        for cut in 0..whole.len() {
            assert!(after(&[&whole[..cut], &whole[cut..]]), "cut at {cut}");
        }
        for cut in 0..whole.len() - 1 {
            for second in cut + 1..whole.len() {
                assert!(
                    after(&[&whole[..cut], &whole[cut..second], &whole[second..]]),
                    "cut at {cut} and {second}"
                );
            }
        }
    }

    #[test]
    /// vt100 knows 1049 (and reset) only; xterm, and so the user's
    /// terminal, also switch on 47 and 1047 (tested above).
    fn agrees_with_the_emulator() {
        let stream: &[u8] =
            b"a\x1b[?1049hb\x1b[2J\x1b[?1049l\x1b[?1;1049hc\x1b[?25;1049ld\x1b[?1049h\x1bce\x1b[?1049h";
        let n = |v| std::num::NonZeroU16::new(v).unwrap();
        let mut vt = vt100::Parser::new(n(24), n(80), 0);
        let mut s = ScreenSwitch::new(false);
        for (i, b) in stream.iter().enumerate() {
            vt.process(std::slice::from_ref(b));
            s.feed(std::slice::from_ref(b));
            assert_eq!(
                s.alternate(),
                vt.screen().alternate_screen(),
                "after byte {i}"
            );
        }
    }
}
