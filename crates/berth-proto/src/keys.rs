//! tmux key names to the bytes a terminal would send.
//!
//! [`crate::Request::Send`] carries key names, not bytes: the host
//! translates them with this module because the bytes depend on the
//! program's input modes: in application cursor mode (vim, less) Up is
//! `ESC O A`, otherwise `ESC [ A`. Words that are not key names are sent as
//! they are, as `tmux send-keys` does.

/// Sequences that put a terminal back to a sane state after a program left
/// it in the middle of something: default attributes, visible cursor,
/// normal cursor keys and keypad, no mouse reporting, no bracketed paste.
/// The host shows them to clients when a program ends; the CLI writes them
/// when an attach ends.
pub const SANE_MODES: &str =
    "\x1b[0m\x1b[?25h\x1b[?1l\x1b>\x1b[?1000l\x1b[?1002l\x1b[?1003l\x1b[?1006l\x1b[?2004l";

/// How `send`'s words are typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Typing {
    /// tmux key names (`literal`: every word as text, as `send-keys -l`).
    Keys { literal: bool },
    /// One bracketed paste of all the words where the program enabled it
    /// (tmux `paste-buffer -p`), plain text elsewhere.
    Paste,
}

impl Typing {
    /// From [`crate::Request::Send`]'s `literal` and `paste`.
    pub fn from_wire(literal: bool, paste: bool) -> Self {
        match paste {
            true => Typing::Paste,
            false => Typing::Keys { literal },
        }
    }

    /// [`crate::Request::Send`]'s `literal` and `paste`.
    pub fn to_wire(self) -> (bool, bool) {
        match self {
            Typing::Keys { literal } => (literal, false),
            Typing::Paste => (false, true),
        }
    }
}

/// The program's input modes that change what keys send.
#[derive(Debug, Clone, Copy, Default)]
pub struct Modes {
    pub application_cursor: bool,
}

/// The bytes for one `send` argument.
pub fn translate(word: &str, literal: bool, modes: Modes) -> Vec<u8> {
    if literal {
        return word.as_bytes().to_vec();
    }
    key(word, modes).unwrap_or_else(|| word.as_bytes().to_vec())
}

/// The one byte a key spec like `C-b` or `C-a` stands for (attach's detach
/// prefix); an error sentence for anything that is not a single byte.
pub fn single_byte(spec: &str) -> Result<u8, String> {
    match key(spec, Modes::default())
        .or_else(|| (spec.len() == 1).then(|| spec.as_bytes().to_vec()))
    {
        Some(bytes) if bytes.len() == 1 => Ok(bytes[0]),
        _ => Err(format!(
            "bad detach key {spec:?}: expected a single key such as C-b, C-a or C-]"
        )),
    }
}

/// Modifier bits as xterm encodes them (parameter = 1 + bits).
const SHIFT: u8 = 1;
const META: u8 = 2;
const CTRL: u8 = 4;

fn key(word: &str, modes: Modes) -> Option<Vec<u8>> {
    let (mods, base) = split_modifiers(word);
    if base.is_empty() {
        return None;
    }
    let mut chars = base.chars();
    if let (Some(c), None) = (chars.next(), chars.clone().next()) {
        // A single character, perhaps with modifiers.
        if mods == 0 {
            return None; // a plain character is literal text
        }
        return single_char(c, mods);
    }
    if base.starts_with('^') && base.chars().count() == 2 {
        return single_char(base.chars().nth(1)?, mods | CTRL);
    }
    named(base, mods, modes)
}

/// Splits `C-M-S-` style prefixes (tmux also accepts lower case).
fn split_modifiers(word: &str) -> (u8, &str) {
    let mut mods = 0;
    let mut rest = word;
    loop {
        let b = rest.as_bytes();
        if b.len() > 2 && b[1] == b'-' {
            let bit = match b[0] {
                b'C' | b'c' => CTRL,
                b'M' | b'm' => META,
                b'S' | b's' => SHIFT,
                _ => break,
            };
            mods |= bit;
            rest = &rest[2..];
        } else {
            break;
        }
    }
    (mods, rest)
}

fn single_char(c: char, mods: u8) -> Option<Vec<u8>> {
    let mut c = c;
    if mods & SHIFT != 0 {
        c = c.to_ascii_uppercase();
    }
    let mut out = Vec::new();
    if mods & META != 0 {
        out.push(0x1b);
    }
    if mods & CTRL != 0 {
        let byte = match c {
            'a'..='z' => c as u8 - b'a' + 1,
            'A'..='Z' => c as u8 - b'A' + 1,
            '@' | ' ' | '2' => 0,
            '[' | '3' => 0x1b,
            '\\' | '4' => 0x1c,
            ']' | '5' => 0x1d,
            '^' | '6' => 0x1e,
            '_' | '7' | '/' => 0x1f,
            '?' | '8' => 0x7f,
            _ => return None,
        };
        out.push(byte);
    } else {
        let mut buf = [0u8; 4];
        out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
    }
    Some(out)
}

fn named(name: &str, mods: u8, modes: Modes) -> Option<Vec<u8>> {
    let lower = name.to_ascii_lowercase();
    // Keys that are plain bytes; modifiers other than meta do not apply.
    let plain: Option<&[u8]> = match lower.as_str() {
        "enter" => Some(b"\r"),
        "escape" | "esc" => Some(b"\x1b"),
        "tab" => Some(if mods & SHIFT != 0 { b"\x1b[Z" } else { b"\t" }),
        "btab" => Some(b"\x1b[Z"),
        "bspace" => Some(b"\x7f"),
        "space" if mods & CTRL != 0 => Some(b"\0"),
        "space" => Some(b" "),
        _ => None,
    };
    if let Some(bytes) = plain {
        let mut out = Vec::new();
        if mods & META != 0 {
            out.push(0x1b);
        }
        out.extend_from_slice(bytes);
        return Some(out);
    }
    // Cursor-style keys: final byte, sent as SS3 in application mode.
    let cursor = match lower.as_str() {
        "up" => Some(b'A'),
        "down" => Some(b'B'),
        "right" => Some(b'C'),
        "left" => Some(b'D'),
        "home" => Some(b'H'),
        "end" => Some(b'F'),
        _ => None,
    };
    if let Some(fin) = cursor {
        return Some(if mods != 0 {
            format!("\x1b[1;{}{}", 1 + mods, fin as char).into_bytes()
        } else if modes.application_cursor {
            vec![0x1b, b'O', fin]
        } else {
            vec![0x1b, b'[', fin]
        });
    }
    // F1-F4 are SS3 P..S; the rest are CSI n ~.
    let ss3 = match lower.as_str() {
        "f1" => Some(b'P'),
        "f2" => Some(b'Q'),
        "f3" => Some(b'R'),
        "f4" => Some(b'S'),
        _ => None,
    };
    if let Some(fin) = ss3 {
        return Some(if mods != 0 {
            format!("\x1b[1;{}{}", 1 + mods, fin as char).into_bytes()
        } else {
            vec![0x1b, b'O', fin]
        });
    }
    let tilde = match lower.as_str() {
        "ic" | "insert" => 2,
        "dc" | "delete" => 3,
        "ppage" | "pageup" | "pgup" => 5,
        "npage" | "pagedown" | "pgdn" => 6,
        "f5" => 15,
        "f6" => 17,
        "f7" => 18,
        "f8" => 19,
        "f9" => 20,
        "f10" => 21,
        "f11" => 23,
        "f12" => 24,
        _ => return None,
    };
    Some(if mods != 0 {
        format!("\x1b[{tilde};{}~", 1 + mods).into_bytes()
    } else {
        format!("\x1b[{tilde}~").into_bytes()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(word: &str) -> Vec<u8> {
        translate(word, false, Modes::default())
    }

    #[test]
    fn named_keys() {
        assert_eq!(t("Enter"), b"\r");
        assert_eq!(t("enter"), b"\r");
        assert_eq!(t("Escape"), b"\x1b");
        assert_eq!(t("BSpace"), b"\x7f");
        assert_eq!(t("Space"), b" ");
        assert_eq!(t("Tab"), b"\t");
        assert_eq!(t("Up"), b"\x1b[A");
        assert_eq!(t("PageDown"), b"\x1b[6~");
        assert_eq!(t("NPage"), b"\x1b[6~");
        assert_eq!(t("F1"), b"\x1bOP");
        assert_eq!(t("F5"), b"\x1b[15~");
        assert_eq!(t("F12"), b"\x1b[24~");
        assert_eq!(t("C-Up"), b"\x1b[1;5A");
    }

    #[test]
    fn application_cursor_mode_changes_arrows() {
        let app = Modes {
            application_cursor: true,
        };
        assert_eq!(translate("Up", false, app), b"\x1bOA");
        assert_eq!(translate("Home", false, app), b"\x1bOH");
    }

    #[test]
    fn modifiers_on_characters() {
        assert_eq!(t("C-c"), [3]);
        assert_eq!(t("C-C"), [3]);
        assert_eq!(t("^c"), [3]);
        assert_eq!(t("C-["), [0x1b]);
        assert_eq!(t("C-Space"), [0]);
        assert_eq!(t("M-x"), b"\x1bx");
        assert_eq!(t("C-M-a"), [0x1b, 1]);
    }

    #[test]
    fn detach_keys() {
        assert_eq!(single_byte("C-b"), Ok(2));
        assert_eq!(single_byte("C-]"), Ok(0x1d));
        assert_eq!(single_byte("`"), Ok(b'`'));
        assert!(single_byte("Up").is_err());
        assert!(single_byte("C-").is_err());
        assert_eq!(
            single_byte("ctrl-b").unwrap_err(),
            "bad detach key \"ctrl-b\": expected a single key such as C-b, C-a or C-]"
        );
    }

    #[test]
    fn other_words_are_literal() {
        assert_eq!(t("ls"), b"ls");
        assert_eq!(t("x"), b"x");
        assert_eq!(t("C-"), b"C-");
        assert_eq!(t("print(6*7)"), b"print(6*7)");
        assert_eq!(t("Enterprise"), b"Enterprise");
        assert_eq!(translate("Enter", true, Modes::default()), b"Enter");
        assert_eq!(t("héllo"), "héllo".as_bytes());
    }
}
