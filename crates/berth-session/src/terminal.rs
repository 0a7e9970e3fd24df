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

use std::fmt::Write as _;

use berth_proto::CaptureRequest;
use vt100::capture::{basic_formatted_rows, basic_formatted_to_plain, BasicFormattedCaptureState};

use berth_proto::keys::{Modes, SANE_MODES};

use crate::plain::{rows_of, Absorbed, PlainLines};
use crate::{capture, history::History};

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
}

impl vt100::Callbacks for Scrollback {
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
            scrolled: 0,
            mute: false,
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
                match self.plain.absorb(bytes) {
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
        if self.plain.held() > self.batch_limit {
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
        if !self.plain.partial.is_empty() {
            let partial = std::mem::take(&mut self.plain.partial);
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
                self.parser.process(line);
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
            let history = &mut self.parser.callbacks_mut().history;
            for line in plain.lines() {
                let n = rows_of(line.len(), cols);
                let pushed = n.min(direct);
                for r in 0..pushed {
                    let row = &line[r * cols..((r + 1) * cols).min(line.len())];
                    history.push(row, r + 1 < n);
                }
                direct -= pushed;
                if pushed < n {
                    redraw.extend_from_slice(&line[pushed * cols..]);
                    redraw.extend_from_slice(b"\r\n");
                    redrawn_text |= line.len() > pushed * cols;
                } else if let Some(&c) = line.last() {
                    last_direct = Some(c);
                }
            }
            if let (false, Some(c)) = (redrawn_text, last_direct) {
                // Print it where the cursor is (bottom left, blank) and
                // erase it again.
                self.parser.process(&[c, b'\r', 0x1b, b'[', b'K']);
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

    /// Text of the requested lines, `\n`-terminated, and how many lines.
    pub fn capture(&mut self, req: &CaptureRequest) -> (String, usize) {
        self.apply_plain();
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
            attrs.process(&rest.as_bytes()[at..stop]);
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
        t: &mut Terminal,
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
        let mut t = term_with("one\r\ntwo\r\nthree\r\nfour");
        assert_eq!(cap(&mut t, None, None, false, false), "two\nthree\nfour\n");
        assert_eq!(
            cap(&mut t, Some(Line(-1)), Some(Line(0)), false, false),
            "one\ntwo\n"
        );
        assert_eq!(
            cap(&mut t, Some(Edge), Some(Edge), false, false),
            "one\ntwo\nthree\nfour\n"
        );
    }

    #[test]
    fn wrapped_lines_split_or_join() {
        let mut t = term_with("0123456789abcdef\r\nend");
        assert_eq!(
            cap(&mut t, None, None, false, false),
            "0123456789\nabcdef\nend\n"
        );
        assert_eq!(
            cap(&mut t, None, None, false, true),
            "0123456789abcdef\nend\n"
        );
        // Wrapped across history and screen.
        let mut t = term_with("x\r\ny\r\n0123456789abcdef\r\nend");
        assert_eq!(
            cap(&mut t, Some(Edge), None, false, true),
            "x\ny\n0123456789abcdef\nend\n"
        );
    }

    #[test]
    fn escapes_are_kept_and_reset() {
        let mut t = term_with("\x1b[31mred\x1b[0m\r\nplain\r\n\x1b[1mbold\r\nstill");
        let plain = cap(&mut t, Some(Edge), None, false, false);
        assert_eq!(plain, "red\nplain\nbold\nstill\n");
        let e = cap(&mut t, Some(Edge), None, true, false);
        assert!(e.starts_with("\x1b[31mred\x1b[0m\n"), "{e:?}");
        // Row 2 of the screen ("still") starts in bold: the prefix says so.
        let last = cap(&mut t, Some(Line(2)), None, true, false);
        assert_eq!(last, "\x1b[1mstill\x1b[0m\n");
        let screen = cap(&mut t, None, None, true, false);
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
        assert_eq!(cap(&mut t, None, None, false, false), "keep\n\n\n");
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
            cap(&mut t, Some(Edge), None, false, false),
            "one\ntwo\n[berth] marker\n\n"
        );
        let mut t = wide("main\r\n\x1b[?1049halt screen");
        t.write_marker("marker");
        assert!(!t.screen().alternate_screen());
        assert_eq!(
            cap(&mut t, None, None, false, false),
            "main\n[berth] marker\n\n"
        );
    }

    /// Everything a client can observe: history and screen with escapes
    /// and wrap flags, the whole state redraw, the cursor.
    fn observe(t: &mut Terminal) -> (String, String, String, (u16, u16), usize) {
        let all = |escapes, join| CaptureRequest {
            start: Some(Edge),
            end: Some(Edge),
            escapes,
            join,
        };
        (
            t.capture(&all(true, false)).0,
            t.capture(&all(false, true)).0,
            t.screen().state_formatted(),
            t.screen().cursor_position(),
            t.history_len(),
        )
    }

    #[test]
    fn plain_floods_take_the_fast_path() {
        let mut t = Terminal::new(80, 24, 10_000);
        let line = "x".repeat(79) + "\r\n";
        for _ in 0..1000 {
            t.process(line.as_bytes());
        }
        // Mostly batched: the emulator has not seen most of it yet.
        assert!(t.plain.held() > 0);
        assert!(t.fast);
        let mut exact = Terminal::exact(80, 24, 10_000);
        for _ in 0..1000 {
            exact.process(line.as_bytes());
        }
        assert_eq!(observe(&mut t), observe(&mut exact));
    }

    mod fast_path_matches_the_emulator {
        use super::*;
        use proptest::prelude::*;

        /// Pieces of output: mostly plain lines, with what breaks the fast
        /// path in between.
        fn piece() -> impl Strategy<Value = Vec<u8>> {
            prop_oneof![
                8 => "[a-c ]{0,70}\r\n".prop_map(String::into_bytes),
                2 => "[a-c ]{0,20}".prop_map(String::into_bytes),
                1 => Just(b"\r\n".to_vec()),
                1 => Just(b"\r".to_vec()),
                1 => Just(b"\n".to_vec()),
                1 => Just(b"\t".to_vec()),
                1 => Just("é".as_bytes().to_vec()),
                1 => Just(b"\x1b[31m".to_vec()),
                1 => Just(b"\x1b[0m".to_vec()),
                1 => Just(b"\x1b[1;44m".to_vec()),
                1 => Just(b"\x1b[H".to_vec()),
                1 => Just(b"\x1b[2J".to_vec()),
                1 => Just(b"\x1b[3;5r".to_vec()),
                1 => Just(b"\x1b[r".to_vec()),
                1 => Just(b"\x1b[?1049h".to_vec()),
                1 => Just(b"\x1b[?1049l".to_vec()),
                1 => Just(b"\x1b[?6h".to_vec()),
                1 => Just(b"\x1b[?6l".to_vec()),
                1 => Just(b"\x1b[2;3H".to_vec()),
                1 => Just(b"\x1b[K".to_vec()),
                1 => Just(b"\x1b7".to_vec()),
                1 => Just(b"\x1b8".to_vec()),
                1 => Just(b"\x1b[3b".to_vec()),
                1 => Just(b"\x1b[2S".to_vec()),
            ]
        }

        #[derive(Debug, Clone)]
        enum Step {
            /// Output, split into chunks at these points.
            Output(Vec<u8>, Vec<usize>),
            /// Something that reads the state mid-stream.
            Capture,
            Resize(u16, u16),
        }

        fn step() -> impl Strategy<Value = Step> {
            prop_oneof![
                10 => (prop::collection::vec(piece(), 1..40), prop::collection::vec(0usize..4000, 0..6))
                    .prop_map(|(p, cuts)| Step::Output(p.concat(), cuts)),
                1 => Just(Step::Capture),
                1 => (4u16..30, 2u16..9).prop_map(|(c, r)| Step::Resize(c, r)),
            ]
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(1000))]
            #[test]
            fn same_screen_and_history(
                cols in 4u16..30,
                rows in 2u16..9,
                scrollback in prop_oneof![Just(0usize), 5usize..300],
                batch_limit in prop_oneof![Just(PLAIN_BATCH), 1usize..400],
                steps in prop::collection::vec(step(), 1..12),
            ) {
                let mut fast = Terminal {
                    batch_limit,
                    ..Terminal::new(cols, rows, scrollback)
                };
                let mut exact = Terminal::exact(cols, rows, scrollback);
                for step in steps {
                    match step {
                        Step::Output(bytes, mut cuts) => {
                            cuts.retain(|&c| c < bytes.len());
                            cuts.sort_unstable();
                            let mut at = 0;
                            for cut in cuts.into_iter().chain([bytes.len()]) {
                                fast.process(&bytes[at..cut]);
                                exact.process(&bytes[at..cut]);
                                at = cut;
                            }
                        }
                        Step::Capture => prop_assert_eq!(observe(&mut fast), observe(&mut exact)),
                        Step::Resize(c, r) => {
                            fast.resize(c, r);
                            exact.resize(c, r);
                        }
                    }
                }
                prop_assert_eq!(observe(&mut fast), observe(&mut exact));
            }
        }
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
