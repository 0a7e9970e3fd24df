//! Character attributes as vt100 keeps them, for the SGR sequences the fast
//! path reads itself: the same state changes (`apply`) and the same escape
//! text when a row is written to history (`write_diff`), so a line that
//! took the fast path is stored byte for byte as the emulator would store it.
//!
//! Only what vt100 handles is accepted; anything else (blink, colon
//! sub-parameters, a colour index above 255) makes `apply` refuse, and the
//! line goes to the emulator.

/// A colour as vt100 stores it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Color {
    #[default]
    Default,
    Idx(u8),
    Rgb(u8, u8, u8),
}

const BOLD: u8 = 0b0000_0001;
const DIM: u8 = 0b0000_0010;
const INTENSITY: u8 = BOLD | DIM;
const ITALIC: u8 = 0b0000_0100;
const UNDERLINE: u8 = 0b0000_1000;
const INVERSE: u8 = 0b0001_0000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Attrs {
    fg: Color,
    bg: Color,
    mode: u8,
}

impl Attrs {
    pub fn is_default(&self) -> bool {
        *self == Attrs::default()
    }

    /// The attributes after `ESC [ params m`, or `None` if the sequence
    /// holds anything the fast path leaves to the emulator.
    pub fn apply(&self, params: &[u8]) -> Option<Attrs> {
        let mut a = *self;
        if params.is_empty() {
            return Some(Attrs::default());
        }
        let mut it = params.split(|&b| b == b';').map(number);
        while let Some(p) = it.next() {
            match p? {
                0 => a = Attrs::default(),
                1 => a.mode = a.mode & !INTENSITY | BOLD,
                2 => a.mode = a.mode & !INTENSITY | DIM,
                3 => a.mode |= ITALIC,
                4 => a.mode |= UNDERLINE,
                7 => a.mode |= INVERSE,
                22 => a.mode &= !INTENSITY,
                23 => a.mode &= !ITALIC,
                24 => a.mode &= !UNDERLINE,
                27 => a.mode &= !INVERSE,
                n @ 30..=37 => a.fg = Color::Idx(n as u8 - 30),
                38 => a.fg = extended(&mut it)?,
                39 => a.fg = Color::Default,
                n @ 40..=47 => a.bg = Color::Idx(n as u8 - 40),
                48 => a.bg = extended(&mut it)?,
                49 => a.bg = Color::Default,
                n @ 90..=97 => a.fg = Color::Idx(n as u8 - 82),
                n @ 100..=107 => a.bg = Color::Idx(n as u8 - 92),
                _ => return None,
            }
        }
        Some(a)
    }

    /// Writes what takes a terminal from `from` to these attributes, in
    /// vt100's words (`Attrs::write_escape_code_diff`).
    pub fn write_diff(&self, from: &Attrs, out: &mut Vec<u8>) {
        if self == from {
            return;
        }
        if self.is_default() {
            out.extend_from_slice(b"\x1b[m");
            return;
        }
        // Written as they are found: no list, no strings (this runs for
        // every attribute change of a coloured flood).
        out.extend_from_slice(b"\x1b[");
        let mut params = Params { out, first: true };
        if self.fg != from.fg {
            color_params(self.fg, 30, 82, 38, 39, &mut params);
        }
        if self.bg != from.bg {
            color_params(self.bg, 40, 92, 48, 49, &mut params);
        }
        if self.mode & INTENSITY != from.mode & INTENSITY {
            params.push(match self.mode & INTENSITY {
                BOLD => 1,
                DIM => 2,
                _ => 22,
            });
        }
        for (bit, on, off) in [(ITALIC, 3, 23), (UNDERLINE, 4, 24), (INVERSE, 7, 27)] {
            if self.mode & bit != from.mode & bit {
                params.push(if self.mode & bit != 0 { on } else { off });
            }
        }
        out.push(b'm');
    }
}

/// SGR parameters written to `out`, separated by `;`.
struct Params<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
}

impl Params<'_> {
    fn push(&mut self, n: u16) {
        if !std::mem::take(&mut self.first) {
            self.out.push(b';');
        }
        let mut digits = [0u8; 5];
        let mut at = digits.len();
        let mut n = n;
        loop {
            at -= 1;
            digits[at] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        self.out.extend_from_slice(&digits[at..]);
    }
}

/// A parameter: one to three digits (vt100 drops anything above 255
/// where it reads a byte, so larger numbers are left to it).
fn number(digits: &[u8]) -> Option<u16> {
    if digits.is_empty() || digits.len() > 3 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(digits.iter().fold(0, |n, d| n * 10 + u16::from(d - b'0')))
}

/// The colour after `38;` or `48;`: `5;N` or `2;R;G;B`.
fn extended(it: &mut impl Iterator<Item = Option<u16>>) -> Option<Color> {
    let mut byte = || it.next().flatten().and_then(|n| u8::try_from(n).ok());
    match byte()? {
        5 => Some(Color::Idx(byte()?)),
        2 => Some(Color::Rgb(byte()?, byte()?, byte()?)),
        _ => None,
    }
}

fn color_params(c: Color, base: u16, bright: u16, ext: u16, default: u16, out: &mut Params) {
    match c {
        Color::Default => out.push(default),
        Color::Idx(i) if i < 8 => out.push(base + u16::from(i)),
        Color::Idx(i) if i < 16 => out.push(bright + u16::from(i)),
        Color::Idx(i) => [ext, 5, u16::from(i)].into_iter().for_each(|p| out.push(p)),
        Color::Rgb(r, g, b) => [ext, 2, u16::from(r), u16::from(g), u16::from(b)]
            .into_iter()
            .for_each(|p| out.push(p)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diff(params: &str) -> String {
        let a = Attrs::default().apply(params.as_bytes()).unwrap();
        let mut out = Vec::new();
        a.write_diff(&Attrs::default(), &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn written_as_vt100_writes_them() {
        assert_eq!(diff("1;31"), "\x1b[31;1m");
        assert_eq!(diff("0"), "");
        assert_eq!(diff("92;104;2;3;4;7"), "\x1b[92;104;2;3;4;7m");
        assert_eq!(diff("38;5;200;48;2;1;2;3"), "\x1b[38;5;200;48;2;1;2;3m");
        assert_eq!(diff("38;5;9"), "\x1b[91m");
        let red = Attrs::default().apply(b"31").unwrap();
        let mut out = Vec::new();
        Attrs::default().write_diff(&red, &mut out);
        assert_eq!(out, b"\x1b[m");
        out.clear();
        red.apply(b"1")
            .unwrap()
            .apply(b"22")
            .unwrap()
            .write_diff(&red, &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn what_vt100_would_treat_otherwise_is_refused() {
        for p in [
            "5", "38;5", "38;5;256", "4:3", ";31", "1234", "38;3;1", "53",
        ] {
            assert_eq!(Attrs::default().apply(p.as_bytes()), None, "{p}");
        }
    }
}
