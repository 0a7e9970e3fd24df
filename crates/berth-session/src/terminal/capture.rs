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

/// One line of a capture before assembly.
struct Line {
    text: String,
    wrapped: bool,
}

/// A capture: `\n`-terminated lines, and their numbers.
pub struct Captured {
    pub text: String,
    pub lines: usize,
    pub info: CaptureInfo,
}

impl Terminal {
    /// The requested lines.
    pub fn capture(&mut self, req: &CaptureRequest) -> Captured {
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
        let (row, col) = screen.cursor_position();
        let cursor = Cursor {
            row,
            col,
            visible: !screen.hide_cursor(),
            seq: history.next_seq() + u64::from(row),
        };
        let alternate_screen = screen.alternate_screen();
        let (text, numbered) = assemble(lines, req);
        let seq_of = |i: usize| first_seq + (range.start + i) as u64;
        Captured {
            text,
            lines: numbered.len(),
            info: CaptureInfo {
                size: Size { cols, rows },
                cursor,
                alternate_screen,
                first_seq,
                seqs: numbered.iter().map(|(i, _)| seq_of(*i)).collect(),
                wrapped: numbered.iter().map(|(_, w)| *w).collect(),
                missed,
            },
        }
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
/// every line that set any. Per line printed: the index of its first row,
/// and whether its last row wrapped.
fn assemble(lines: Vec<Line>, req: &CaptureRequest) -> (String, Vec<(usize, bool)>) {
    let mut out = String::new();
    let mut current = String::new();
    let mut numbered = Vec::new();
    let mut first = 0;
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
        numbered.push((first, line.wrapped));
        first = i + 1;
    }
    (out, numbered)
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
