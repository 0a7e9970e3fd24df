//! The session's terminal: the live screen in a vt100 emulator, and the
//! lines that scroll off it in the compact [`History`].
//!
//! The emulator keeps no scrollback of its own (capacity 0): every row it
//! pushes off the top arrives in [`Scrollback::on_scroll`] and is stored
//! once, as text with SGR escapes. Rows scrolled off the alternate screen
//! (vim, less) are not history, as in tmux.
//!
//! Floods of plain lines take the fast path of [`crate::plain`]: while the
//! emulator sits in the state where each such line just scrolls the screen
//! (cursor at the bottom left, default attributes, full-screen scrolling),
//! lines are batched and applied mostly as history text. Everything that
//! reads or changes the screen applies the batch first.

use vt100::capture::BasicFormattedCaptureState;

use berth_proto::keys::{Modes, SANE_MODES};

use crate::history::History;
use crate::plain::{rows, rows_of, Absorbed, PlainLines};

pub mod capture;
mod lines;
#[cfg(test)]
mod tests;

/// Leaves the alternate screen. Only sent when on it: outside it, this
/// sequence also restores a saved cursor position and would overwrite output.
const LEAVE_ALTERNATE: &str = "\x1b[?1049l";

/// Plain text batched beyond this many bytes is applied, bounding memory.
const PLAIN_BATCH: usize = 1024 * 1024;
/// Rows, per batch, that the fast path also scrolls through the emulator
/// unseen (see [`Terminal::apply_lines`]): vt100 pulls up to as many rows as
/// ever scrolled off back into view when the terminal grows, so it must
/// count the rows the fast path put into history directly. No terminal
/// grows by more than this at once.
const SCROLLED_MAKEUP: usize = 512;

pub struct Terminal {
    parser: vt100::Parser<Scrollback>,
    /// Plain lines not yet applied to the emulator; only while `fast`.
    plain: PlainLines,
    /// The emulator is where every plain line just scrolls: cursor at the
    /// bottom left of a blank bottom row, default attributes, main screen,
    /// and the whole screen scrolls into history.
    fast: bool,
    /// Whether plain lines may take the fast path at all (tests compare
    /// with the emulator alone).
    batching: bool,
    /// Batches beyond this many bytes are applied ([`PLAIN_BATCH`]; small
    /// in tests, to apply batches in the middle of the stream).
    batch_limit: usize,
}

struct Scrollback {
    history: History,
    scratch: String,
    /// Rows of the main screen scrolled off so far.
    scrolled: u64,
    /// Rows scrolled off now are blank filler: not history.
    mute: bool,
    /// Shell integration marks (OSC 133) seen and not yet taken.
    marks: Vec<(Mark, Pos)>,
}

/// A place in the output: a line's sequence number and a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Pos {
    pub seq: u64,
    pub col: u16,
}

/// The OSC 133 marks a shell (or any program) writes around prompts and
/// commands, as VS Code, WezTerm and kitty read them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    /// `A`: the prompt starts.
    PromptStart,
    /// `B`: the prompt ends; what is typed next is the command.
    CommandStart,
    /// `C`: the command runs; its output starts here.
    OutputStart,
    /// `D[;status]`: the command ended.
    Finished(Option<i32>),
}

impl Mark {
    fn parse(params: &[&[u8]]) -> Option<Self> {
        if params.first() != Some(&&b"133"[..]) {
            return None;
        }
        Some(match params.get(1)?.first()? {
            b'A' => Self::PromptStart,
            b'B' => Self::CommandStart,
            b'C' => Self::OutputStart,
            b'D' => Self::Finished(
                params
                    .get(2)
                    .and_then(|s| std::str::from_utf8(s).ok())
                    .and_then(|s| s.parse().ok()),
            ),
            _ => return None,
        })
    }
}

impl vt100::Callbacks for Scrollback {
    fn unhandled_osc(&mut self, screen: &mut vt100::Screen, params: &[&[u8]]) {
        if let Some(mark) = Mark::parse(params) {
            let (row, col) = screen.cursor_position();
            let seq = self.history.next_seq() + u64::from(row);
            // Bounded: a program spraying marks between two reads keeps the latest.
            if self.marks.len() >= 1024 {
                self.marks.remove(0);
            }
            self.marks.push((mark, Pos { seq, col }));
        }
    }

    fn on_scroll(&mut self, row: vt100::capture::RowContents<'_>, alternate_screen: bool) {
        if alternate_screen || self.mute {
            return;
        }
        self.scrolled += 1;
        self.scratch.clear();
        let mut state = BasicFormattedCaptureState::new();
        // Writing into a String cannot fail.
        let _ = row.write_formatted_basic(&mut self.scratch, &mut state);
        let wrapped = !newline_pending(&row, &mut state);
        self.history.push(self.scratch.as_bytes(), wrapped);
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

impl Terminal {
    pub fn new(cols: u16, rows: u16, scrollback: usize) -> Self {
        let callbacks = Scrollback {
            history: History::new(scrollback),
            scratch: String::new(),
            scrolled: 0,
            mute: false,
            marks: Vec::new(),
        };
        Self {
            parser: vt100::Parser::new_with_callbacks(nz(rows), nz(cols), 0, callbacks),
            plain: PlainLines::default(),
            fast: false,
            batching: true,
            batch_limit: PLAIN_BATCH,
        }
    }

    /// A terminal that feeds everything to the emulator: the reference the
    /// fast path is tested against.
    #[cfg(test)]
    fn exact(cols: u16, rows: u16, scrollback: usize) -> Self {
        Self {
            batching: false,
            ..Self::new(cols, rows, scrollback)
        }
    }

    /// Takes in program output.
    pub fn process(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            if self.fast {
                let (cols, rows) = self.size();
                match self
                    .plain
                    .absorb(bytes, usize::from(cols), usize::from(rows))
                {
                    Absorbed::All => break,
                    Absorbed::Until(i) => {
                        self.apply_plain();
                        bytes = &bytes[i..];
                    }
                }
            }
            // The emulator takes the rest a line at a time, so that plain
            // lines after it can take the fast path again.
            let line = bytes
                .iter()
                .position(|&b| b == b'\n')
                .map_or(bytes.len(), |nl| nl + 1);
            self.feed(&bytes[..line]);
            bytes = &bytes[line..];
        }
        // Not while a status block redraws the batch's last lines.
        if self.plain.held() > self.batch_limit && !self.plain.in_block() {
            self.apply_lines();
        }
    }

    /// Feeds the emulator directly, and notes whether it ended in the fast
    /// state: a CR LF whose LF scrolled the main screen into history at the
    /// bottom row proves the scroll region is the whole screen.
    fn feed(&mut self, bytes: &[u8]) {
        let Some(head) = bytes.strip_suffix(b"\r\n") else {
            self.parser.process(bytes);
            self.fast = false;
            return;
        };
        self.parser.process(head);
        self.parser.process(b"\r");
        let before = self.parser.callbacks().scrolled;
        self.parser.process(b"\n");
        let screen = self.parser.screen();
        let (rows, _) = screen.size();
        self.fast = self.batching
            && self.parser.callbacks().scrolled == before + 1
            && rows.get() >= 2
            && screen.cursor_position() == (rows.get() - 1, 0)
            && !screen.alternate_screen()
            && screen.fgcolor() == vt100::Color::Default
            && screen.bgcolor() == vt100::Color::Default
            && !(screen.bold()
                || screen.dim()
                || screen.italic()
                || screen.underline()
                || screen.inverse());
    }

    /// Whether a batch of plain lines (or its buffers) is held.
    pub fn has_batch(&self) -> bool {
        self.plain.held() > 0 || self.plain.capacity() > 0
    }

    /// The output paused: applies the batch and frees its buffers, so an
    /// idle session holds only its screen and history.
    pub fn settle(&mut self) {
        self.apply_plain();
        self.plain = PlainLines::default();
    }

    /// Applies every batched plain line, the partial one included; the
    /// emulator then holds the whole state.
    fn apply_plain(&mut self) {
        self.apply_lines();
        if self.plain.has_partial() {
            let partial = self.plain.take_partial();
            self.parser.process(&partial);
            self.fast = false;
        }
    }

    /// Applies the complete batched lines, staying in the fast state.
    ///
    /// The screen's rows above the cursor scroll into history through the
    /// emulator (blank line feeds); rows that would scroll off at once go
    /// into history as text; the last screenful less one row is drawn from
    /// the top, leaving the cursor at the bottom left as the line feeds
    /// would have.
    fn apply_lines(&mut self) {
        let (cols, rows) = self.size();
        let (cols, keep) = (cols as usize, rows as usize - 1);
        let total = self.plain.rows(cols);
        if total == 0 {
            return;
        }
        let plain = self.plain.take_lines();
        if total <= keep {
            for line in plain.lines() {
                self.parser.process(line.text);
                if let Some(n) = line.reprint {
                    self.parser.process(b"\r");
                    self.parser.process(&line.text[..n]);
                }
                self.parser.process(b"\r\n");
            }
        } else {
            self.parser.process("\n".repeat(keep).as_bytes());
            let mut direct = total - keep;
            // The screen is blank now: scroll blank rows, unseen, so the
            // emulator counts the rows that go to history directly.
            let rows_per = keep + 1;
            let mut makeup = direct.min(SCROLLED_MAKEUP);
            self.parser.callbacks_mut().mute = true;
            while makeup > 0 {
                let n = makeup.min(rows_per);
                self.parser.process(format!("\x1b[{n}S").as_bytes());
                makeup -= n;
            }
            self.parser.callbacks_mut().mute = false;
            let mut redraw = Vec::with_capacity(keep * (cols + 2) + 3);
            redraw.extend_from_slice(b"\x1b[H");
            // The last character printed, which REP (CSI b) repeats.
            let mut last_direct = None;
            let mut redrawn_text = false;
            let mut scratch = Vec::new();
            let history = &mut self.parser.callbacks_mut().history;
            for line in plain.lines() {
                let n = rows_of(line.cols, cols);
                let pushed = n.min(direct);
                rows::split(
                    &line,
                    cols,
                    pushed,
                    &mut scratch,
                    &mut redraw,
                    |row, wrapped| history.push(row, wrapped),
                );
                direct -= pushed;
                if pushed < n {
                    if let (0, Some(n)) = (pushed, line.reprint) {
                        redraw.push(b'\r');
                        redraw.extend_from_slice(&line.text[..n]);
                    }
                    redraw.extend_from_slice(b"\r\n");
                    // The redrawn rows print a character: a wrapped row
                    // starts with one; a whole line, if it printed any (a
                    // line of tabs prints none).
                    redrawn_text |= if pushed == 0 {
                        line.last.is_some()
                    } else {
                        line.cols > pushed * cols
                    };
                } else if let Some(c) = line.last {
                    last_direct = Some(c);
                }
            }
            if let (false, Some(c)) = (redrawn_text, last_direct) {
                // Print it where the cursor is (bottom left, blank) and
                // erase it again.
                let mut bytes = [0; 4];
                self.parser.process(c.encode_utf8(&mut bytes).as_bytes());
                self.parser.process(b"\r\x1b[K");
            }
            self.parser.process(&redraw);
        }
        self.plain.reuse(plain);
    }

    pub fn size(&self) -> (u16, u16) {
        let (rows, cols) = self.parser.screen().size();
        (cols.get(), rows.get())
    }

    pub fn resize(&mut self, cols: u16, rows: u16) {
        self.apply_plain();
        self.parser.set_size(nz(rows), nz(cols));
    }

    pub fn screen(&mut self) -> &vt100::Screen {
        self.apply_plain();
        self.parser.screen()
    }

    pub fn modes(&self) -> Modes {
        Modes {
            application_cursor: self.parser.screen().application_cursor(),
        }
    }

    /// The OSC 133 marks seen since the last call, in order.
    pub fn take_marks(&mut self) -> Vec<(Mark, Pos)> {
        std::mem::take(&mut self.parser.callbacks_mut().marks)
    }

    /// Where the cursor is.
    pub fn cursor(&mut self) -> Pos {
        self.apply_plain();
        let (row, col) = self.parser.screen().cursor_position();
        Pos {
            seq: self.parser.callbacks().history.next_seq() + u64::from(row),
            col,
        }
    }

    pub fn history_len(&mut self) -> usize {
        self.apply_plain();
        self.parser.callbacks().history.len()
    }

    /// Writes a visible `[berth] TEXT` line, whatever state the program
    /// left the terminal in: back on the main screen, sane modes, at the
    /// start of a fresh line. Returns the bytes, for attached clients.
    pub fn write_marker(&mut self, text: &str) -> Vec<u8> {
        self.apply_plain();
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
    pub fn redraw(&mut self) -> Vec<u8> {
        self.apply_plain();
        let screen = self.parser.screen();
        let mut out = String::new();
        if screen.alternate_screen() {
            out.push_str("\x1b[?1049h");
        }
        out.push_str(&screen.state_formatted());
        out.into_bytes()
    }
}
