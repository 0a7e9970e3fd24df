//! The pieces of a line the fast path reads besides printable ASCII: an
//! SGR sequence or one UTF-8 character, with the width the emulator gives
//! it (the same `unicode-width` tables vt100 uses).

use unicode_width::UnicodeWidthChar as _;

/// Longest escape or character kept while the input is cut in its middle;
/// longer ones are left to the emulator.
pub const MAX_UNIT: usize = 64;

#[derive(Debug, Clone, Copy)]
pub enum Unit<'a> {
    /// `ESC [ params m`, `len` bytes in all.
    Sgr { params: &'a [u8], len: usize },
    /// A character of `len` bytes that the emulator draws `width` columns wide
    /// (`None`: not drawn: a control).
    Char {
        c: char,
        width: Option<usize>,
        len: usize,
    },
    /// `ESC [ n A`: the cursor up `n` rows (at least 1), `len` bytes.
    Up { n: usize, len: usize },
    /// `ESC [ K` or `ESC [ 0 K`: erase from the cursor to the row's end.
    EraseLine { len: usize },
    /// A horizontal tab: moves to the next stop (every 8 columns in the
    /// emulator), drawing nothing.
    Tab,
    /// The input ends before the sequence or character does.
    Incomplete,
    /// Anything else: left to the emulator.
    Other,
}

impl<'a> Unit<'a> {
    /// Reads the unit `bytes` starts with (`bytes[0]` is not printable ASCII).
    pub fn parse(bytes: &'a [u8]) -> Unit<'a> {
        match bytes.first() {
            Some(0x1b) => csi(bytes),
            Some(b'\t') => Unit::Tab,
            Some(&b) if b >= 0x80 => utf8(bytes),
            _ => Unit::Other,
        }
    }

    /// Bytes the unit takes (none for `Incomplete` and `Other`).
    pub fn len(&self) -> usize {
        match self {
            Unit::Sgr { len, .. }
            | Unit::Char { len, .. }
            | Unit::Up { len, .. }
            | Unit::EraseLine { len } => *len,
            Unit::Tab => 1,
            Unit::Incomplete | Unit::Other => 0,
        }
    }
}

fn csi(bytes: &[u8]) -> Unit<'_> {
    match bytes.get(1) {
        None => return Unit::Incomplete,
        Some(b'[') => {}
        Some(_) => return Unit::Other,
    }
    for (i, &b) in bytes.iter().enumerate().skip(2) {
        match b {
            b'0'..=b'9' | b';' => {}
            b'm' => {
                return Unit::Sgr {
                    params: &bytes[2..i],
                    len: i + 1,
                }
            }
            b'A' => {
                return match parse_count(&bytes[2..i]) {
                    Some(n) => Unit::Up { n, len: i + 1 },
                    None => Unit::Other,
                }
            }
            b'K' if matches!(&bytes[2..i], b"" | b"0") => return Unit::EraseLine { len: i + 1 },
            _ => return Unit::Other,
        }
    }
    Unit::Incomplete
}

/// A cursor movement's count as vt100 reads it: empty or 0 is 1.
fn parse_count(params: &[u8]) -> Option<usize> {
    if params.is_empty() {
        return Some(1);
    }
    if params.len() > 4 || !params.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n: usize = std::str::from_utf8(params).ok()?.parse().ok()?;
    Some(n.max(1))
}

fn utf8(bytes: &[u8]) -> Unit<'_> {
    let len = match bytes[0] {
        0xc2..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf4 => 4,
        _ => return Unit::Other,
    };
    let Some(whole) = bytes.get(..len) else {
        // Incomplete only if what is there could still become a character.
        return if bytes[1..].iter().all(|&b| b & 0xc0 == 0x80) {
            Unit::Incomplete
        } else {
            Unit::Other
        };
    };
    // Decoded here rather than by `from_utf8`: this runs once per
    // character of every non-ASCII line (a tenth of the host's time on a
    // UTF-8 flood went to `from_utf8` alone). Same validity: continuation
    // bytes, no overlong form, no surrogate, nothing past U+10FFFF.
    if !whole[1..].iter().all(|&b| b & 0xc0 == 0x80) {
        return Unit::Other;
    }
    let mut v = u32::from(whole[0] & (0x7f >> len));
    for &b in &whole[1..] {
        v = (v << 6) | u32::from(b & 0x3f);
    }
    const SHORTEST: [u32; 5] = [0, 0, 0x80, 0x800, 0x1_0000];
    if v < SHORTEST[len] {
        return Unit::Other;
    }
    match char::from_u32(v) {
        Some(c) => Unit::Char {
            c,
            width: c.width(),
            len,
        },
        None => Unit::Other,
    }
}

/// Printable ASCII: one column each, no state change in the emulator.
fn printable(b: u8) -> bool {
    (0x20..0x7f).contains(&b)
}

/// Length of the printable ASCII prefix of `bytes`, 16 bytes at a time
/// where it can (the check without early exit vectorises).
pub fn printable_prefix(bytes: &[u8]) -> usize {
    let mut i = 0;
    for chunk in bytes.chunks_exact(16) {
        if !chunk.iter().fold(true, |ok, &b| ok & printable(b)) {
            break;
        }
        i += 16;
    }
    i + bytes[i..].iter().take_while(|&&b| printable(b)).count()
}

/// A run of text the fast path takes whole: printable ASCII and UTF-8
/// characters one column wide, or two columns wide where they do not
/// straddle a row's end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextRun {
    /// Bytes of the run.
    pub len: usize,
    /// Columns it fills.
    pub cols: usize,
    /// Its last character (REP repeats it).
    pub last: Option<char>,
    /// Holds a character two columns wide.
    pub wide: bool,
}

/// The run of text `bytes` starts with, written from column `at` of a
/// line on rows `row` columns wide: what taking each of its characters
/// one by one as a [`Unit::Char`] would do, in one pass (a UTF-8 flood is
/// mostly such runs: per character, only the decode and the width).
pub fn text_run(bytes: &[u8], at: usize, row: usize) -> TextRun {
    let mut run = TextRun {
        len: 0,
        cols: 0,
        last: None,
        wide: false,
    };
    while run.len < bytes.len() {
        let rest = &bytes[run.len..];
        let ascii = printable_prefix(rest);
        if ascii > 0 {
            run.len += ascii;
            run.cols += ascii;
            run.last = Some(char::from(rest[ascii - 1]));
            continue;
        }
        if rest[0] < 0x80 {
            break;
        }
        let col = (at + run.cols) % row;
        let (c, len) = match utf8(rest) {
            Unit::Char {
                c,
                width: Some(1),
                len,
            } => {
                run.cols += 1;
                (c, len)
            }
            Unit::Char {
                c,
                width: Some(2),
                len,
            } if col != row - 1 => {
                run.cols += 2;
                run.wide = true;
                (c, len)
            }
            _ => break,
        };
        run.len += len;
        run.last = Some(c);
    }
    run
}

/// Columns a tab at column `col` of a row moves the cursor (the
/// emulator's stops are fixed, every 8 columns).
pub fn tab_width(col: usize) -> usize {
    8 - col % 8
}

/// Byte offset of column `col` in text of one-column characters.
pub fn byte_of_column(text: &[u8], ascii: bool, col: usize) -> usize {
    if ascii {
        return col.min(text.len());
    }
    let mut chars = 0;
    for (i, &b) in text.iter().enumerate() {
        if b & 0xc0 != 0x80 {
            if chars == col {
                return i;
            }
            chars += 1;
        }
    }
    text.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert!(matches!(
            Unit::parse(b"\x1b[1;31mx"),
            Unit::Sgr {
                params: b"1;31",
                len: 7
            }
        ));
        assert!(matches!(
            Unit::parse(b"\x1b[m"),
            Unit::Sgr {
                params: b"",
                len: 3
            }
        ));
        assert!(matches!(Unit::parse(b"\x1b[1;3"), Unit::Incomplete));
        assert!(matches!(Unit::parse(b"\x1b"), Unit::Incomplete));
        assert!(matches!(Unit::parse(b"\x1b[2J"), Unit::Other));
        assert!(matches!(Unit::parse(b"\x1b[?25h"), Unit::Other));
        assert!(matches!(Unit::parse(b"\x1b7"), Unit::Other));
        assert!(matches!(
            Unit::parse("é!".as_bytes()),
            Unit::Char {
                c: 'é',
                width: Some(1),
                len: 2
            }
        ));
        assert!(matches!(
            Unit::parse("日".as_bytes()),
            Unit::Char {
                width: Some(2),
                len: 3,
                ..
            }
        ));
        assert!(matches!(
            Unit::parse("\u{301}".as_bytes()),
            Unit::Char { width: Some(0), .. }
        ));
        assert!(matches!(
            Unit::parse(&"日".as_bytes()[..2]),
            Unit::Incomplete
        ));
        assert!(matches!(Unit::parse(b"\xe6a"), Unit::Other));
        assert!(matches!(Unit::parse(b"\xff"), Unit::Other));
        assert!(matches!(
            Unit::parse(b"\xc2\x85"),
            Unit::Char { width: None, .. }
        ));
        assert!(matches!(Unit::parse(b"\t"), Unit::Tab));
        assert_eq!((tab_width(0), tab_width(7), tab_width(8)), (8, 1, 8));
    }

    /// What taking each character as a unit does, for comparison.
    fn one_by_one(bytes: &[u8], at: usize, row: usize) -> TextRun {
        let mut run = TextRun {
            len: 0,
            cols: 0,
            last: None,
            wide: false,
        };
        while let Some(&b) = bytes.get(run.len) {
            let (c, len, w) = if printable(b) {
                (char::from(b), 1, 1)
            } else {
                match Unit::parse(&bytes[run.len..]) {
                    Unit::Char {
                        c,
                        width: Some(w @ (1 | 2)),
                        len,
                    } if w == 1 || (at + run.cols) % row != row - 1 => (c, len, w),
                    _ => break,
                }
            };
            run.len += len;
            run.cols += w;
            run.last = Some(c);
            run.wide |= w == 2 && b >= 0x80;
        }
        run
    }

    #[test]
    fn a_text_run_is_its_characters_one_by_one() {
        let cases: &[(&str, usize, usize)] = &[
            ("héllo wörld Привет → ok", 0, 80),
            ("日本語 and more", 0, 80),
            ("ab日", 0, 4),
            ("abc日", 0, 4),
            ("日x", 3, 4),
            ("é\u{301}x", 0, 80),
            ("é\x1b[1m", 0, 80),
            ("é\u{85}", 0, 80),
            ("\u{e9}\r\n", 10, 80),
        ];
        for &(text, at, row) in cases {
            let run = text_run(text.as_bytes(), at, row);
            assert_eq!(run, one_by_one(text.as_bytes(), at, row), "{text:?}");
        }
        assert_eq!(text_run("ab日".as_bytes(), 0, 4).cols, 4);
        assert_eq!(text_run("abc日".as_bytes(), 0, 4).len, 3);
        // A character cut by the end of the input ends the run before it.
        assert_eq!(text_run(&"é日".as_bytes()[..4], 0, 80).len, 2);
    }

    #[test]
    fn prefixes_and_columns() {
        let long = "a".repeat(40) + "\x1b";
        assert_eq!(printable_prefix(long.as_bytes()), 40);
        assert_eq!(printable_prefix(b"abc\r\n"), 3);
        assert_eq!(byte_of_column("aéb".as_bytes(), false, 2), 3);
        assert_eq!(byte_of_column("aéb".as_bytes(), false, 5), 4);
        assert_eq!(byte_of_column(b"abc", true, 2), 2);
    }

    /// The decoder takes exactly what `from_utf8` takes, as the same
    /// character: every 2- and 3-byte sequence, and every 4-byte one whose
    /// last two bytes are a continuation (the rest cannot matter more).
    #[test]
    fn decodes_as_from_utf8_does() {
        // `bytes` as long as its first byte says (2, 3 or 4).
        let check = |bytes: &[u8]| {
            let want = std::str::from_utf8(bytes)
                .ok()
                .filter(|s| s.chars().count() == 1)
                .map(|s| s.chars().next().unwrap());
            let got = match Unit::parse(bytes) {
                Unit::Char { c, len, .. } => {
                    assert_eq!(len, bytes.len(), "{bytes:02x?}");
                    Some(c)
                }
                _ => None,
            };
            assert_eq!(got, want, "{bytes:02x?}");
        };
        let len_of = |lead: u8| match lead {
            0xc0..=0xdf => 2,
            0xe0..=0xef => 3,
            _ => 4,
        };
        for a in (0x80..0xc0u8).chain(0xf8..=0xff) {
            check(&[a, 0x80]);
        }
        for a in 0xc0..=0xefu8 {
            for b in 0..=0xffu8 {
                if len_of(a) == 2 {
                    check(&[a, b]);
                    continue;
                }
                for c in 0..=0xffu8 {
                    check(&[a, b, c]);
                }
            }
        }
        for a in 0xf0..=0xf7u8 {
            for b in 0..=0xffu8 {
                for c in [0x80u8, 0x9f, 0xbf, 0x00, 0xc0] {
                    check(&[a, b, c, 0x80]);
                    check(&[a, b, 0x80, c]);
                }
            }
        }
    }
}
