//! The session's terminal: the live screen in a vt100 emulator, and the
//! lines that scroll off it in the compact [`History`].
//!
//! The emulator keeps no scrollback of its own (capacity 0): every row it
//! pushes off the top arrives in [`Scrollback::on_scroll`] and is stored
//! once, as text with SGR escapes. Rows scrolled off the alternate screen
//! (vim, less) are not history, as in tmux.

use std::fmt::Write as _;

use berth_proto::CaptureRequest;
use vt100::capture::{basic_formatted_rows, basic_formatted_to_plain, BasicFormattedCaptureState};

use berth_proto::keys::Modes;

use crate::{capture, history::History};

/// Sequences that put a terminal back to a sane state after a program died
/// in the middle of something: default attributes, visible cursor, normal
/// cursor keys and keypad, no mouse reporting, no bracketed paste.
const SANE_MODES: &str =
    "\x1b[0m\x1b[?25h\x1b[?1l\x1b>\x1b[?1000l\x1b[?1002l\x1b[?1003l\x1b[?1006l\x1b[?2004l";
/// Leaves the alternate screen. Only sent when on it: outside it, this
/// sequence also restores a saved cursor position and would overwrite output.
const LEAVE_ALTERNATE: &str = "\x1b[?1049l";

pub struct Terminal {
    parser: vt100::Parser<Scrollback>,
}

struct Scrollback {
    history: History,
    scratch: String,
}

impl vt100::Callbacks for Scrollback {
    fn on_scroll(&mut self, row: vt100::capture::RowContents<'_>, alternate_screen: bool) {
        if alternate_screen {
            return;
        }
        self.scratch.clear();
        let mut state = BasicFormattedCaptureState::new();
        // Writing into a String cannot fail.
        let _ = row.write_formatted_basic(&mut self.scratch, &mut state);
        let wrapped = !newline_pending(&row, &mut state);
        self.history.push(&self.scratch, wrapped);
    }
}

/// Whether the capture state wants a newline before the next row, i.e. the
/// row just written did not wrap. vt100 keeps that flag private; writing the
/// row again into a writer that stops at the first character reveals it: a
/// pending newline is always written first. Costs O(1) for any row that has
/// content or a pending newline.
fn newline_pending(
    row: &vt100::capture::RowContents<'_>,
    state: &mut BasicFormattedCaptureState,
) -> bool {
    struct FirstChar(Option<char>);
    impl std::fmt::Write for FirstChar {
        fn write_str(&mut self, s: &str) -> std::fmt::Result {
            match s.chars().next() {
                Some(c) => {
                    self.0 = Some(c);
                    Err(std::fmt::Error)
                }
                None => Ok(()),
            }
        }
    }
    let mut probe = FirstChar(None);
    let _ = row.write_formatted_basic(&mut probe, state);
    probe.0 == Some('\n')
}

fn nz(n: u16) -> std::num::NonZeroU16 {
    std::num::NonZeroU16::new(n).unwrap_or(std::num::NonZeroU16::MIN)
}

/// One line of a capture before assembly.
struct Line {
    text: String,
    wrapped: bool,
}

impl Terminal {
    pub fn new(cols: u16, rows: u16, scrollback: usize) -> Self {
        let callbacks = Scrollback {
            history: History::new(scrollback),
            scratch: String::new(),
        };
        Self {
            parser: vt100::Parser::new_with_callbacks(nz(rows), nz(cols), 0, callbacks),
        }
    }

    pub fn process(&mut self, bytes: &[u8]) {
        self.parser.process(bytes);
    }

    pub fn size(&self) -> (u16, u16) {
        let (rows, cols) = self.parser.screen().size();
        (cols.get(), rows.get())
    }

    pub fn resize(&mut self, cols: u16, rows: u16) {
        self.parser.set_size(nz(rows), nz(cols));
    }

    pub fn screen(&self) -> &vt100::Screen {
        self.parser.screen()
    }

    pub fn modes(&self) -> Modes {
        Modes {
            application_cursor: self.parser.screen().application_cursor(),
        }
    }

    pub fn history_len(&self) -> usize {
        self.parser.callbacks().history.len()
    }

    /// Writes a visible `[berth] TEXT` line, whatever state the program
    /// left the terminal in: back on the main screen, sane modes, at the
    /// start of a fresh line. Returns the bytes, for attached clients.
    pub fn write_marker(&mut self, text: &str) -> Vec<u8> {
        let mut out = Vec::new();
        if self.parser.screen().alternate_screen() {
            out.extend_from_slice(LEAVE_ALTERNATE.as_bytes());
            self.parser.process(LEAVE_ALTERNATE.as_bytes());
        }
        let mut rest = String::from(SANE_MODES);
        if self.parser.screen().cursor_position().1 != 0 {
            rest.push_str("\r\n");
        }
        rest.push_str(&format!("\x1b[1m[berth] {text}\x1b[0m\r\n"));
        self.parser.process(rest.as_bytes());
        out.extend_from_slice(rest.as_bytes());
        out
    }

    /// Bytes that draw the whole current state on a client's terminal:
    /// alternate screen if the program is on it, contents, attributes,
    /// cursor, and input modes (bracketed paste, application cursor keys,
    /// mouse reporting), so a reattached client behaves as the program expects.
    pub fn redraw(&self) -> Vec<u8> {
        let screen = self.parser.screen();
        let mut out = String::new();
        if screen.alternate_screen() {
            out.push_str("\x1b[?1049h");
        }
        out.push_str(&screen.state_formatted());
        out.into_bytes()
    }

    /// Text of the requested lines, `\n`-terminated, and how many lines.
    pub fn capture(&self, req: &CaptureRequest) -> (String, usize) {
        let history = &self.parser.callbacks().history;
        let screen = self.parser.screen();
        let (cols, rows) = self.size();
        let range = capture::resolve(req.start, req.end, history.len(), rows as usize);
        let mut lines = Vec::with_capacity(range.len());
        let hist_end = range.end.min(history.len());
        for i in range.start..hist_end {
            let (text, wrapped) = history.line(i);
            lines.push(Line { text, wrapped });
        }
        let first_row = range.start.max(history.len()) - history.len();
        let end_row = range.end - history.len().min(range.end);
        if first_row < end_row {
            if req.escapes {
                lines.extend(visible_formatted(screen, cols, rows, first_row, end_row));
            } else {
                for (i, text) in screen
                    .rows(0, cols)
                    .enumerate()
                    .take(end_row)
                    .skip(first_row)
                {
                    lines.push(Line {
                        text,
                        wrapped: screen.row_wrapped(i as u16),
                    });
                }
            }
        }
        assemble(lines, req)
    }
}

/// Visible rows `first..end` as self-contained basic-formatted lines.
///
/// vt100 formats the visible screen as one stream whose attributes carry
/// from row to row; this splits it into rows and prefixes each with the
/// attributes in force where it starts, so every line starts from default
/// attributes like a history line does.
fn visible_formatted(
    screen: &vt100::Screen,
    cols: u16,
    rows: u16,
    first: usize,
    end: usize,
) -> Vec<Line> {
    let stream = screen.contents_formatted_basic();
    let mut rows_text: Vec<&str> = Vec::with_capacity(rows as usize);
    let mut logical = stream.split('\n');
    let mut row = 0u16;
    while row < rows {
        // A logical line covers this row and every row it wraps into.
        let mut span = 1u16;
        while row + span - 1 < rows - 1 && screen.row_wrapped(row + span - 1) {
            span += 1;
        }
        let text = logical.next().unwrap_or("");
        let mut pieces = basic_formatted_rows(text, cols);
        for k in 0..span {
            let piece = if k + 1 == span {
                // The last row takes whatever is left.
                let rest: Vec<&str> = pieces.by_ref().collect();
                if rest.len() <= 1 {
                    rest.first().copied().unwrap_or("")
                } else {
                    let start = rest[0].as_ptr() as usize - text.as_ptr() as usize;
                    &text[start..]
                }
            } else {
                pieces.next().unwrap_or("")
            };
            rows_text.push(piece);
        }
        row += span;
    }
    // Replay each row's escapes into a scratch emulator to learn the
    // attributes in force where the next row starts.
    let mut attrs = vt100::Parser::new(nz(1), nz(2), 0);
    let mut out = Vec::with_capacity(end - first);
    for (i, row) in rows_text.iter().enumerate().take(end) {
        if i >= first {
            let mut text = String::new();
            // Lines start from default attributes: drop the leading reset.
            let prefix = attrs.screen().attributes_formatted();
            text.push_str(prefix.strip_prefix("\x1b[m").unwrap_or(&prefix));
            text.push_str(row);
            out.push(Line {
                text,
                wrapped: screen.row_wrapped(i as u16),
            });
        }
        let mut rest = *row;
        while let Some(at) = rest.find('\x1b') {
            let stop = rest[at..].find('m').map_or(rest.len(), |e| at + e + 1);
            attrs.process(rest[at..stop].as_bytes());
            rest = &rest[stop..];
        }
    }
    out
}

/// Joins lines as tmux prints them: one per line, wrapped ones merged with
/// `join`, trailing spaces trimmed in plain text, attributes reset after
/// every line that set any.
fn assemble(lines: Vec<Line>, req: &CaptureRequest) -> (String, usize) {
    let mut out = String::new();
    let mut current = String::new();
    let mut count = 0;
    let n = lines.len();
    for (i, line) in lines.into_iter().enumerate() {
        if req.escapes {
            current.push_str(&line.text);
            // Every line assumes default attributes at its start.
            if line.text.contains('\x1b') {
                current.push_str("\x1b[0m");
            }
        } else {
            current.extend(basic_formatted_to_plain(&line.text));
        }
        if req.join && line.wrapped && i + 1 < n {
            continue;
        }
        if !req.escapes {
            let trimmed = current.trim_end_matches(' ').len();
            current.truncate(trimmed);
        }
        let _ = writeln!(out, "{current}");
        current.clear();
        count += 1;
    }
    (out, count)
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_proto::LineBound::*;

    fn term_with(text: &str) -> Terminal {
        let mut t = Terminal::new(10, 3, 100);
        t.process(text.as_bytes());
        t
    }

    fn cap(
        t: &Terminal,
        start: Option<berth_proto::LineBound>,
        end: Option<berth_proto::LineBound>,
        e: bool,
        j: bool,
    ) -> String {
        t.capture(&CaptureRequest {
            start,
            end,
            escapes: e,
            join: j,
        })
        .0
    }

    #[test]
    fn visible_screen_by_default() {
        let t = term_with("one\r\ntwo\r\nthree\r\nfour");
        assert_eq!(cap(&t, None, None, false, false), "two\nthree\nfour\n");
        assert_eq!(
            cap(&t, Some(Line(-1)), Some(Line(0)), false, false),
            "one\ntwo\n"
        );
        assert_eq!(
            cap(&t, Some(Edge), Some(Edge), false, false),
            "one\ntwo\nthree\nfour\n"
        );
    }

    #[test]
    fn wrapped_lines_split_or_join() {
        let t = term_with("0123456789abcdef\r\nend");
        assert_eq!(
            cap(&t, None, None, false, false),
            "0123456789\nabcdef\nend\n"
        );
        assert_eq!(cap(&t, None, None, false, true), "0123456789abcdef\nend\n");
        // Wrapped across history and screen.
        let t = term_with("x\r\ny\r\n0123456789abcdef\r\nend");
        assert_eq!(
            cap(&t, Some(Edge), None, false, true),
            "x\ny\n0123456789abcdef\nend\n"
        );
    }

    #[test]
    fn escapes_are_kept_and_reset() {
        let t = term_with("\x1b[31mred\x1b[0m\r\nplain\r\n\x1b[1mbold\r\nstill");
        let plain = cap(&t, Some(Edge), None, false, false);
        assert_eq!(plain, "red\nplain\nbold\nstill\n");
        let e = cap(&t, Some(Edge), None, true, false);
        assert!(e.starts_with("\x1b[31mred\x1b[0m\n"), "{e:?}");
        // Row 2 of the screen ("still") starts in bold: the prefix says so.
        let last = cap(&t, Some(Line(2)), None, true, false);
        assert_eq!(last, "\x1b[1mstill\x1b[0m\n");
        let screen = cap(&t, None, None, true, false);
        assert_eq!(screen, "plain\n\x1b[1mbold\x1b[0m\n\x1b[1mstill\x1b[0m\n");
    }

    #[test]
    fn alternate_screen_rows_are_not_history() {
        let mut t = term_with("keep\r\n");
        t.process(b"\x1b[?1049h");
        for i in 0..20 {
            t.process(format!("alt {i}\r\n").as_bytes());
        }
        t.process(b"\x1b[?1049l");
        assert_eq!(t.history_len(), 0);
        assert_eq!(cap(&t, None, None, false, false), "keep\n\n\n");
    }

    #[test]
    fn marker_keeps_output_and_leaves_the_alternate_screen() {
        let wide = |text: &str| {
            let mut t = Terminal::new(40, 3, 100);
            t.process(text.as_bytes());
            t
        };
        let mut t = wide("one\r\ntwo");
        t.write_marker("marker");
        assert_eq!(
            cap(&t, Some(Edge), None, false, false),
            "one\ntwo\n[berth] marker\n\n"
        );
        let mut t = wide("main\r\n\x1b[?1049halt screen");
        t.write_marker("marker");
        assert!(!t.screen().alternate_screen());
        assert_eq!(
            cap(&t, None, None, false, false),
            "main\n[berth] marker\n\n"
        );
    }

    #[test]
    fn binary_junk_does_not_panic_and_history_is_bounded() {
        let mut t = Terminal::new(80, 24, 50);
        let mut x: u32 = 1;
        let mut junk = vec![0u8; 1 << 20];
        for b in junk.iter_mut() {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            *b = x as u8;
        }
        t.process(&junk);
        assert!(t.history_len() <= 50);
        let (_, n) = t.capture(&CaptureRequest {
            start: Some(Edge),
            ..Default::default()
        });
        assert!(n <= 74);
    }
}
