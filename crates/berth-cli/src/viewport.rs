//! What an attached terminal shows when it is not the session's size:
//! smaller, a window of the session's screen, cropped (never wrapped) and
//! following the cursor, with one line saying so; larger (another client
//! sets a smaller size), the whole screen at the top left and dots over
//! the area the session does not use, as tmux draws both.
//!
//! While the terminal is the session's size, output passes through
//! untouched and nothing else is done with it (only screen switches are followed, see
//! screen_switch.rs): an attached client costs what `cat` costs. Once the
//! window must be drawn, the client needs the screen: it asks the host for
//! it ([`Request::Redraw`](berth_proto::Request::Redraw)), keeps its own
//! emulator at the session's size from there, and drops it again when the
//! terminal fits. A host too old to answer gets every byte emulated, as
//! before.
//!
//! Nested ([`Viewport::nested`], an attach made from `berth watch`): the
//! terminal is already watch's alternate screen, and the user's own screen
//! lies under it. Nothing may switch screens then (a program leaving its
//! alternate screen would draw over the user's), so every byte is emulated
//! and the terminal gets the differences of the session's screen, never a
//! screen switch.

use std::num::NonZeroU16;

use berth_proto::Size;

use crate::screen_switch::ScreenSwitch;

pub struct Viewport {
    screen: vt100::Parser,
    /// Whether `screen` follows the session (else it is stale).
    following: bool,
    /// The host answers redraw requests, so `screen` may go stale.
    can_redraw: bool,
    /// A redraw was asked for and has not begun: output until then is
    /// not shown (the terminal cannot take it whole).
    awaiting: bool,
    /// A redraw should be asked for (taken by [`Viewport::take_redraw_request`]).
    request: bool,
    /// Screen switches while passing through.
    switch: ScreenSwitch,
    session: Size,
    terminal: Size,
    /// Top-left corner of the window, in session coordinates.
    top: u16,
    left: u16,
    /// Whether the terminal shows a drawing of the screen (a window, or
    /// the screen among dots) rather than the passed-through stream.
    drawn: bool,
    /// Whether the terminal is on its alternate screen, so leaving can
    /// switch it back. The window mirrors the session's screen choice and
    /// input modes, so keys and detaching behave as without cropping.
    alternate: bool,
    /// Nested in another program's alternate screen: the screen as the
    /// terminal last got it (`None`: not yet drawn whole).
    nested: Option<Option<vt100::Screen>>,
}

impl Viewport {
    /// `can_redraw`: the host answers redraw requests. The first output is
    /// the whole screen.
    pub fn new(session: Size, terminal: Size, can_redraw: bool) -> Self {
        Self {
            screen: vt100::Parser::new(nz(session.rows), nz(session.cols), 0),
            following: true,
            can_redraw,
            awaiting: false,
            request: false,
            switch: ScreenSwitch::default(),
            session,
            terminal,
            top: 0,
            left: 0,
            drawn: false,
            alternate: false,
            nested: None,
        }
    }

    /// A viewport for a terminal that is another program's alternate
    /// screen (see the module's comment).
    pub fn nested(session: Size, terminal: Size, can_redraw: bool) -> Self {
        Self {
            nested: Some(None),
            ..Self::new(session, terminal, can_redraw)
        }
    }

    /// Whether the terminal was left on its alternate screen.
    pub fn on_alternate_screen(&self) -> bool {
        if self.nested.is_some() {
            false
        } else if self.passing() || self.awaiting {
            self.switch.alternate()
        } else {
            self.alternate
        }
    }

    /// Whether the host should be asked for the whole screen now.
    /// The last row both the terminal and the session's screen have (1-based):
    /// where a client's notice goes, inside what a redraw repaints.
    pub fn bottom_row(&self) -> u16 {
        self.terminal.rows.min(self.session.rows)
    }

    /// Whether the host answers redraw requests.
    pub fn can_redraw(&self) -> bool {
        self.can_redraw
    }

    pub fn take_redraw_request(&mut self) -> bool {
        std::mem::take(&mut self.request)
    }

    /// The host's answer to a redraw request begins: the next output is
    /// the whole screen.
    pub fn redraw_begins(&mut self) {
        self.screen = vt100::Parser::new(nz(self.session.rows), nz(self.session.cols), 0);
        if let Some(last) = &mut self.nested {
            *last = None;
        }
        self.following = true;
        self.awaiting = false;
    }

    /// The whole screen fits the terminal (no window needed).
    fn fits(&self) -> bool {
        self.terminal.cols >= self.session.cols && self.terminal.rows >= self.session.rows
    }

    /// The terminal is the session's size: the stream can go untouched.
    fn same_size(&self) -> bool {
        self.terminal == self.session
    }

    /// Output goes to the terminal untouched.
    fn passing(&self) -> bool {
        self.nested.is_none() && self.same_size() && !self.drawn && !self.awaiting
    }

    /// Session output; returns what to write to the terminal.
    pub fn output(&mut self, bytes: &[u8]) -> Vec<u8> {
        if self.passing() {
            if self.following && self.can_redraw {
                // From here the stream alone is followed, not the screen.
                self.following = false;
                self.switch = ScreenSwitch::new(self.screen.screen().alternate_screen());
            }
            if self.following {
                self.screen.process(bytes);
            } else {
                self.switch.feed(bytes);
            }
            return bytes.to_vec();
        }
        if self.following {
            self.screen.process(bytes);
        }
        self.draw()
    }

    /// The session's terminal changed size.
    pub fn session_resized(&mut self, size: Size) -> Vec<u8> {
        self.session = size;
        self.screen.set_size(nz(size.rows), nz(size.cols));
        self.draw()
    }

    /// The user's terminal changed size.
    pub fn terminal_resized(&mut self, size: Size) -> Vec<u8> {
        self.terminal = size;
        self.draw()
    }

    /// Draws what the terminal should show now: the whole screen when it
    /// is the session's size again (and was drawn until now), else the
    /// window or the screen among dots.
    fn draw(&mut self) -> Vec<u8> {
        if !self.following {
            if !self.same_size() {
                // Passing through until now: the screen must come first.
                if !self.awaiting {
                    self.alternate = self.switch.alternate();
                    self.awaiting = true;
                    self.request = true;
                }
            }
            return Vec::new();
        }
        if self.same_size() && self.nested.is_some() {
            return self.nested_diff();
        }
        if self.same_size() {
            if !self.drawn {
                return Vec::new();
            }
            self.drawn = false;
            let mut out = self.switch_screen();
            out.extend_from_slice(b"\x1b[m\x1b[H\x1b[2J");
            out.extend_from_slice(self.screen.screen().state_formatted().as_bytes());
            return out;
        }
        let mut out = self.switch_screen();
        let first = !self.drawn || !out.is_empty();
        self.drawn = true;
        let cropping = !self.fits();
        let screen = self.screen.screen();
        // Cropping: one line for the notice; the rest for the window.
        let rows = match cropping {
            true => self.terminal.rows.saturating_sub(1).max(1),
            false => self.terminal.rows,
        };
        let cols = self.terminal.cols.max(1);
        let (cur_row, cur_col) = screen.cursor_position();
        self.top = follow(self.top, rows, cur_row, self.session.rows);
        self.left = follow(self.left, cols, cur_col, self.session.cols);
        let shown_rows = rows.min(self.session.rows - self.top);
        let shown_cols = cols.min(self.session.cols - self.left);
        out.reserve(usize::from(rows) * usize::from(cols) * 2);
        if first {
            out.extend_from_slice(b"\x1b[m\x1b[H\x1b[2J");
        }
        out.extend_from_slice(b"\x1b[?25l");
        let lines = screen
            .rows_formatted(self.left, shown_cols)
            .skip(usize::from(self.top))
            .take(usize::from(shown_rows));
        for (i, line) in lines.enumerate() {
            out.extend_from_slice(format!("\x1b[{};1H\x1b[m", i + 1).as_bytes());
            out.extend_from_slice(line.as_bytes());
            out.extend_from_slice(b"\x1b[m\x1b[K");
            unused(&mut out, i as u16 + 1, shown_cols, cols);
        }
        for row in shown_rows + 1..=rows {
            unused(&mut out, row, 0, cols);
        }
        if !cropping {
            return self.cursor_and_modes(out);
        }
        let notice = format!(
            "[berth] session {}x{}, terminal {}x{}: rows {}-{}, columns {}-{} (follows the cursor)",
            self.session.cols,
            self.session.rows,
            self.terminal.cols,
            self.terminal.rows,
            self.top + 1,
            (self.top + rows).min(self.session.rows),
            self.left + 1,
            (self.left + cols).min(self.session.cols),
        );
        let notice: String = notice.chars().take(usize::from(cols)).collect();
        out.extend_from_slice(
            format!("\x1b[{};1H\x1b[m\x1b[7m{notice}\x1b[m\x1b[K", rows + 1).as_bytes(),
        );
        self.cursor_and_modes(out)
    }

    /// Ends a drawing: the session's cursor (in the window), attributes and
    /// input modes.
    fn cursor_and_modes(&self, mut out: Vec<u8>) -> Vec<u8> {
        let screen = self.screen.screen();
        let (cur_row, cur_col) = screen.cursor_position();
        let (row, col) = (
            cur_row.saturating_sub(self.top),
            cur_col.saturating_sub(self.left),
        );
        out.extend_from_slice(format!("\x1b[{};{}H", row + 1, col + 1).as_bytes());
        out.extend_from_slice(screen.attributes_formatted().as_bytes());
        if !screen.hide_cursor() {
            out.extend_from_slice(b"\x1b[?25h");
        }
        out.extend_from_slice(screen.input_mode_formatted().as_bytes());
        out
    }

    /// Nested and the session's size: what changed since the terminal last
    /// got the screen (all of it after a redraw or a drawn window).
    fn nested_diff(&mut self) -> Vec<u8> {
        let now = self.screen.screen();
        let last = self.nested.as_mut().and_then(Option::take);
        let mut out = match (&last, self.drawn) {
            (Some(last), false) => now.state_diff(last).into_bytes(),
            _ => {
                let mut whole = b"\x1b[m\x1b[H\x1b[2J".to_vec();
                whole.extend_from_slice(now.state_formatted().as_bytes());
                whole
            }
        };
        self.drawn = false;
        if !now.hide_cursor() {
            out.extend_from_slice(b"\x1b[?25h");
        }
        self.nested = Some(Some(now.clone()));
        out
    }

    /// Puts the terminal on the screen (main or alternate) the session is on.
    fn switch_screen(&mut self) -> Vec<u8> {
        if self.nested.is_some() {
            // The session's own screen is drawn, on the screen we are on.
            return Vec::new();
        }
        let wanted = self.screen.screen().alternate_screen();
        if wanted == self.alternate {
            return Vec::new();
        }
        self.alternate = wanted;
        if wanted {
            b"\x1b[?1049h"
        } else {
            b"\x1b[?1049l"
        }
        .to_vec()
    }
}

/// Dots over row `row` (1-based) from column `from` (0-based) to `cols`:
/// the area of a larger terminal the session does not use (tmux's dots).
fn unused(out: &mut Vec<u8>, row: u16, from: u16, cols: u16) {
    if from >= cols {
        return;
    }
    out.extend_from_slice(format!("\x1b[{row};{}H\x1b[m", from + 1).as_bytes());
    out.extend(std::iter::repeat_n(b'.', usize::from(cols - from)));
}

/// The window's new origin on one axis: unchanged while the cursor is in
/// it, else moved just enough to show it, never past the session's edge;
/// back at the edge when the cursor fits there (a new line of a shell
/// starts at column 0 and its prompt shows whole).
pub(crate) fn follow(origin: u16, window: u16, cursor: u16, total: u16) -> u16 {
    let max_origin = total.saturating_sub(window);
    let origin = if cursor < origin {
        if cursor < window {
            0
        } else {
            cursor
        }
    } else if cursor >= origin + window {
        cursor + 1 - window
    } else {
        origin
    };
    origin.min(max_origin)
}

fn nz(n: u16) -> NonZeroU16 {
    NonZeroU16::new(n).unwrap_or(NonZeroU16::MIN)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn size(cols: u16, rows: u16) -> Size {
        Size { cols, rows }
    }

    /// What a terminal of `t` shows after `bytes` went through the viewport.
    fn shown(v: &mut Viewport, t: Size, bytes: &[u8]) -> vt100::Parser {
        let mut term = vt100::Parser::new(nz(t.rows), nz(t.cols), 0);
        term.process(&v.output(bytes));
        term
    }

    #[test]
    fn a_terminal_of_the_sessions_size_gets_the_stream_untouched() {
        let mut v = Viewport::new(size(80, 24), size(80, 24), false);
        assert_eq!(v.output(b"hello\r\n"), b"hello\r\n");
    }

    #[test]
    fn a_larger_terminal_sees_the_screen_among_dots() {
        let t = size(14, 5);
        let mut v = Viewport::new(size(10, 3), t, false);
        let term = shown(&mut v, t, b"hello\r\nworld");
        let rows: Vec<String> = term.screen().rows(0, t.cols).collect();
        assert_eq!(
            rows,
            [
                "hello     ....",
                "world     ....",
                "          ....",
                "..............",
                "..............",
            ]
        );
        assert_eq!(term.screen().cursor_position(), (1, 5));
        // A clear by the program keeps the dots: they are drawn again.
        let mut term = term;
        term.process(&v.output(b"\x1b[2J\x1b[Hbye"));
        let rows: Vec<String> = term.screen().rows(0, t.cols).collect();
        assert_eq!(rows[0], "bye       ....");
        assert_eq!(rows[4], "..............");
    }

    #[test]
    fn a_smaller_terminal_sees_a_cropped_window_that_follows_the_cursor() {
        let t = size(20, 6);
        let mut v = Viewport::new(size(40, 12), t, false);
        let mut text = Vec::new();
        for i in 0..12 {
            text.extend_from_slice(format!("line {i:02} {}", "x".repeat(25)).as_bytes());
            if i < 11 {
                text.extend_from_slice(b"\r\n");
            }
        }
        let term = shown(&mut v, t, &text);
        let rows: Vec<String> = term.screen().rows(0, 20).collect();
        // The cursor is on the last row, after column 33: the window shows
        // the bottom five rows and columns 15-34, never wrapped.
        for row in &rows[..5] {
            assert_eq!(row, &"x".repeat(19), "{rows:?}");
        }
        assert_eq!(rows[5], "[berth] session 40x1");
        assert_eq!(term.screen().cursor_position(), (4, 19));
        // Back home: the window follows the cursor to the top left.
        let term = shown(&mut v, t, b"\x1b[H");
        let rows: Vec<String> = term.screen().rows(0, 20).collect();
        assert_eq!(rows[0], "line 00 xxxxxxxxxxxx");
        assert_eq!(term.screen().cursor_position(), (0, 0));
    }

    #[test]
    fn growing_the_terminal_restores_the_whole_screen() {
        let mut v = Viewport::new(size(40, 12), size(20, 6), false);
        v.output(b"\x1b[10;30Hfar away");
        let mut term = vt100::Parser::new(nz(12), nz(40), 0);
        term.process(&v.terminal_resized(size(40, 12)));
        assert!(term.screen().contents().contains("far away"));
        // And now it passes through again.
        assert_eq!(v.output(b"!"), b"!");
    }

    #[test]
    fn the_terminal_follows_the_sessions_screen_and_key_modes_while_cropped() {
        let t = size(20, 6);
        let mut v = Viewport::new(size(40, 12), t, false);
        let mut term = vt100::Parser::new(nz(t.rows), nz(t.cols), 0);
        term.process(&v.output(b"$ vim"));
        term.process(&v.output(b"\x1b[?1049h\x1b[?1h\x1b[?2004hbuffer"));
        assert!(term.screen().alternate_screen() && v.on_alternate_screen());
        assert!(term.screen().application_cursor() && term.screen().bracketed_paste());
        // Growing while vim runs: the whole screen, on the alternate screen.
        term.set_size(nz(12), nz(40));
        term.process(&v.terminal_resized(size(40, 12)));
        assert!(term.screen().alternate_screen() && term.screen().application_cursor());
        assert!(term.screen().contents().contains("buffer"));
        // Passed through again, and followed: vim quits.
        term.process(&v.output(b"\x1b[?1049l\x1b[?1l"));
        assert!(!v.on_alternate_screen() && !term.screen().alternate_screen());
        assert!(term.screen().contents().contains("$ vim"));
    }

    /// What the host sends for a redraw (berth-session's
    /// `Terminal::redraw`): the screen it is on, then its whole state.
    fn host_redraw(stream: &[u8], session: Size) -> Vec<u8> {
        let mut host = vt100::Parser::new(nz(session.rows), nz(session.cols), 0);
        host.process(stream);
        let mut out = Vec::new();
        if host.screen().alternate_screen() {
            out.extend_from_slice(b"\x1b[?1049h");
        }
        out.extend_from_slice(host.screen().state_formatted().as_bytes());
        out
    }

    #[test]
    fn passing_through_keeps_no_screen_and_asks_for_it_when_cropping() {
        let s = size(40, 12);
        let mut v = Viewport::new(s, size(40, 12), true);
        // The user's terminal, which sees what the viewport writes.
        let mut term = vt100::Parser::new(nz(12), nz(40), 0);
        let mut stream = Vec::new();
        for chunk in [&b"first screen"[..], b"\x1b[?1049h", b"\x1b[10;30Hfar away"] {
            stream.extend_from_slice(chunk);
            let shown = v.output(chunk);
            assert_eq!(shown, chunk, "passed through untouched");
            term.process(&shown);
            assert!(!v.take_redraw_request());
        }
        assert!(!v.following, "no emulator work while the terminal fits");
        assert!(
            v.on_alternate_screen(),
            "screen switches are still followed"
        );
        // The terminal shrinks: nothing can be drawn until the host redraws.
        term.set_size(nz(6), nz(20));
        assert!(v.terminal_resized(size(20, 6)).is_empty());
        assert!(v.take_redraw_request());
        assert!(v.output(b"lost in the wait").is_empty());
        let t = size(21, 6);
        term.set_size(nz(t.rows), nz(t.cols));
        assert!(v.terminal_resized(t).is_empty());
        assert!(!v.take_redraw_request(), "asked once");
        stream.extend_from_slice(b"lost in the wait");
        v.redraw_begins();
        term.process(&v.output(&host_redraw(&stream, s)));
        let rows: Vec<String> = term.screen().rows(0, t.cols).collect();
        // "far away" ends the row at column 38; the text wraps below it,
        // where the cursor is, so the window shows that row's end.
        assert_eq!(rows[4], "t in the wait", "{rows:?}");
        assert!(term.screen().alternate_screen());
        // Cropped, the emulator follows each output.
        term.process(&v.output(b"!"));
        assert!(term.screen().contents().contains("wait!"));
    }

    #[test]
    fn a_terminal_that_fits_again_before_the_redraw_gets_it_whole() {
        let s = size(40, 12);
        let mut v = Viewport::new(s, size(40, 12), true);
        assert_eq!(v.output(b"hello"), b"hello");
        assert!(v.terminal_resized(size(20, 6)).is_empty());
        assert!(v.take_redraw_request());
        assert!(v.terminal_resized(size(40, 12)).is_empty());
        assert!(v.output(b" world").is_empty(), "still waiting");
        v.redraw_begins();
        let redraw = host_redraw(b"hello world", s);
        assert_eq!(v.output(&redraw), redraw, "the redraw passes through");
        assert_eq!(v.output(b"!"), b"!");
        assert!(!v.following);
    }

    #[test]
    fn nested_in_watch_the_screen_is_drawn_and_never_switched() {
        let s = size(20, 4);
        let mut v = Viewport::nested(s, s, true);
        let mut term = vt100::Parser::new(nz(4), nz(20), 0);
        let mut written = Vec::new();
        let mut show = |v: &mut Viewport, term: &mut vt100::Parser, bytes: &[u8]| {
            let out = v.output(bytes);
            written.extend_from_slice(&out);
            term.process(&out);
            term.screen().rows(0, 20).collect::<Vec<String>>()
        };
        assert_eq!(show(&mut v, &mut term, b"$ vim")[0], "$ vim");
        let rows = show(&mut v, &mut term, b"\x1b[?1049h\x1b[Hbuffer\x1b[?1h");
        assert_eq!(rows[0], "buffer");
        assert!(term.screen().application_cursor(), "input modes follow");
        let rows = show(&mut v, &mut term, b"\x1b[?1049l\x1b[?1l\r\n$ ");
        assert_eq!(&rows[..2], ["$ vim", "$ "]);
        assert!(!term.screen().alternate_screen() && !v.on_alternate_screen());
        let written = String::from_utf8_lossy(&written);
        assert!(
            !written.contains("?1049") && !written.contains("?47"),
            "{written:?}"
        );
    }

    #[test]
    fn follow_moves_only_as_far_as_needed() {
        assert_eq!(follow(0, 10, 5, 40), 0);
        assert_eq!(follow(0, 10, 15, 40), 6);
        assert_eq!(follow(6, 10, 3, 40), 0);
        assert_eq!(follow(20, 10, 12, 40), 12);
        assert_eq!(follow(0, 10, 39, 40), 30);
        assert_eq!(follow(35, 10, 39, 40), 30);
    }
}
