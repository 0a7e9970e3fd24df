//! Captures: which lines tmux's `-S`/`-E` numbering selects, and their
//! text assembled from history and the screen (plain or with escapes,
//! wrapped lines joined or split).

use std::fmt::Write as _;

use berth_proto::scripting::{CaptureInfo, Cursor};
use berth_proto::{CaptureRequest, Size};
use vt100::capture::{basic_formatted_rows, basic_formatted_to_plain};

use super::{nz, Terminal};
use berth_proto::LineBound;

/// Resolves `start`/`end` against `history` lines above `rows` visible ones
/// into a range of absolute indexes (0 = oldest history line), as tmux does:
/// 0 is the top visible line, negatives reach into history, `Edge` is the
/// first history line (start) or the last visible line (end); out-of-range
/// numbers are clamped; a start after the end is swapped like tmux does.
pub fn resolve(
    start: Option<LineBound>,
    end: Option<LineBound>,
    history: usize,
    rows: usize,
) -> std::ops::Range<usize> {
    let h = history as i64;
    let last = h + rows as i64 - 1;
    let abs = |b: LineBound, edge: i64| match b {
        LineBound::Edge => edge,
        LineBound::Line(n) => (h + n).clamp(0, last),
    };
    let s = start.map_or(h, |b| abs(b, 0));
    let e = end.map_or(last, |b| abs(b, last));
    let (s, e) = if s <= e { (s, e) } else { (e, s) };
    s as usize..(e + 1) as usize
}

/// Rows a streamed capture assembles at a time: the work done, and the
/// text held, under the session lock for one slice.
pub const SLICE_ROWS: u64 = 2048;

/// One row of a capture before assembly.
struct Line {
    seq: u64,
    text: String,
    wrapped: bool,
}

/// A whole capture: `\n`-terminated lines, and their numbers.
pub struct Captured {
    pub text: String,
    pub lines: usize,
    pub info: CaptureInfo,
}

/// A capture taken a slice at a time ([`Terminal::capture_slice`]), so a
/// long history is never assembled, nor the lock held, all at once. Rows
/// are found by number, so output that scrolls between slices moves
/// nothing; rows that leave history before their slice count as missed.
pub struct CaptureStream {
    escapes: bool,
    join: bool,
    /// The next row to take, and the row after the last.
    next: u64,
    end: u64,
    /// The line being joined: its first row's number, and its text so far.
    current: Option<(u64, String)>,
    /// Size, cursor and the first line when the capture began; `seqs` and
    /// `wrapped` stay empty (each slice carries its own).
    pub info: CaptureInfo,
    /// Lines assembled so far.
    pub lines: usize,
}

impl CaptureStream {
    pub fn done(&self) -> bool {
        self.next >= self.end && self.current.is_none()
    }
}

/// The lines one slice completed.
#[derive(Default)]
pub struct Slice {
    pub text: String,
    pub seqs: Vec<u64>,
    pub wrapped: Vec<bool>,
}

impl Terminal {
    /// The requested lines, all at once (a screen's worth, or a test's).
    pub fn capture(&mut self, req: &CaptureRequest) -> Captured {
        let mut stream = self.capture_stream(req);
        let mut all = Slice::default();
        while !stream.done() {
            let slice = self.capture_slice(&mut stream, SLICE_ROWS);
            all.text.push_str(&slice.text);
            all.seqs.extend(slice.seqs);
            all.wrapped.extend(slice.wrapped);
        }
        let mut info = stream.info;
        info.seqs = all.seqs;
        info.wrapped = all.wrapped;
        Captured {
            text: all.text,
            lines: stream.lines,
            info,
        }
    }

    /// Begins a capture: which rows it covers, as tmux's numbering and
    /// `since` select them now.
    pub fn capture_stream(&mut self, req: &CaptureRequest) -> CaptureStream {
        self.apply_plain();
        let history = &self.parser.callbacks().history;
        let first_seq = history.first_seq();
        let screen = self.parser.screen();
        let (cols, rows) = self.size();
        let mut range = resolve(req.start, req.end, history.len(), rows as usize);
        let mut missed = 0;
        if let Some(since) = req.since {
            let wanted = since.saturating_add(1);
            missed = first_seq.saturating_sub(wanted);
            let start = wanted.saturating_sub(first_seq).min(range.end as u64);
            range.start = start as usize;
        }
        let (row, col) = screen.cursor_position();
        let cursor = Cursor {
            row,
            col,
            visible: !screen.hide_cursor(),
            seq: history.next_seq() + u64::from(row),
        };
        CaptureStream {
            escapes: req.escapes,
            join: req.join,
            next: first_seq + range.start as u64,
            end: first_seq + range.end as u64,
            current: None,
            info: CaptureInfo {
                size: Size { cols, rows },
                cursor,
                alternate_screen: screen.alternate_screen(),
                first_seq,
                seqs: Vec::new(),
                wrapped: Vec::new(),
                missed,
            },
            lines: 0,
        }
    }

    /// The next at most `max_rows` rows of a capture, assembled.
    pub fn capture_slice(&mut self, c: &mut CaptureStream, max_rows: u64) -> Slice {
        self.apply_plain();
        let history = &self.parser.callbacks().history;
        let (first, top) = (history.first_seq(), history.next_seq());
        if c.next < first {
            c.info.missed += first - c.next;
            c.next = first;
        }
        let screen = self.parser.screen();
        let (cols, rows) = self.size();
        // A screen that shrank since the capture began ends it sooner.
        c.end = c.end.min(top + u64::from(rows));
        let stop = c.end.min(c.next.saturating_add(max_rows.max(1)));
        let mut lines = Vec::new();
        for seq in c.next..stop.min(top) {
            let (text, wrapped) = history.line((seq - first) as usize);
            lines.push(Line { seq, text, wrapped });
        }
        let first_row = (c.next.max(top) - top) as usize;
        let end_row = (stop.max(top) - top) as usize;
        if first_row < end_row {
            if c.escapes {
                lines.extend(visible_formatted(
                    screen, cols, rows, first_row, end_row, top,
                ));
            } else {
                for (i, text) in screen
                    .rows(0, cols)
                    .enumerate()
                    .take(end_row)
                    .skip(first_row)
                {
                    lines.push(Line {
                        seq: top + i as u64,
                        text,
                        wrapped: screen.row_wrapped(i as u16),
                    });
                }
            }
        }
        c.next = stop;
        assemble(c, lines)
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
    top: u64,
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
                seq: top + i as u64,
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

/// Joins rows into lines as tmux prints them: one per line, wrapped ones
/// merged with `join`, trailing spaces trimmed in plain text, attributes
/// reset after every line that set any. A line wrapping past the slice
/// stays in `c.current` for the next; the capture's last row ends its line.
fn assemble(c: &mut CaptureStream, lines: Vec<Line>) -> Slice {
    let mut out = Slice::default();
    for line in lines {
        let (first, mut current) = c.current.take().unwrap_or((line.seq, String::new()));
        if c.escapes {
            current.push_str(&line.text);
            // Every line assumes default attributes at its start.
            if line.text.contains('\x1b') {
                current.push_str("\x1b[0m");
            }
        } else {
            current.extend(basic_formatted_to_plain(&line.text));
        }
        if c.join && line.wrapped && line.seq + 1 < c.end {
            c.current = Some((first, current));
            continue;
        }
        if !c.escapes {
            let trimmed = current.trim_end_matches(' ').len();
            current.truncate(trimmed);
        }
        let _ = writeln!(out.text, "{current}");
        out.seqs.push(first);
        out.wrapped.push(line.wrapped);
    }
    if c.next >= c.end {
        // The rows after a joined line's start left history: end it here.
        if let Some((first, current)) = c.current.take() {
            let _ = writeln!(out.text, "{current}");
            out.seqs.push(first);
            out.wrapped.push(true);
        }
    }
    c.lines += out.seqs.len();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use LineBound::*;

    #[test]
    fn default_is_the_visible_screen() {
        assert_eq!(resolve(None, None, 100, 24), 100..124);
    }

    #[test]
    fn negatives_reach_history_and_clamp() {
        assert_eq!(resolve(Some(Line(-10)), None, 100, 24), 90..124);
        assert_eq!(resolve(Some(Line(-1000)), Some(Line(-1)), 100, 24), 0..100);
        assert_eq!(resolve(Some(Edge), Some(Edge), 100, 24), 0..124);
        assert_eq!(resolve(Some(Line(5)), Some(Line(999)), 0, 24), 5..24);
        assert_eq!(resolve(Some(Line(3)), Some(Line(1)), 0, 24), 1..4);
    }
}
