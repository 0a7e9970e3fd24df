//! Output as numbered plain lines: what `wait` matches and what `run`
//! reports. A logical line is the rows the terminal wrapped into each
//! other, joined; its number is its first row's.

use vt100::capture::basic_formatted_to_plain;

use super::{Pos, Terminal};

/// Rows looked at before a line number, to find where its line starts.
const WRAP_LOOKBACK: u64 = 64;

/// One row as plain text, with its number and whether it wrapped.
struct Row {
    seq: u64,
    text: String,
    wrapped: bool,
}

/// Logical lines from some number on.
#[derive(Debug)]
pub struct Lines {
    /// (number, plain text), trailing blanks trimmed.
    pub lines: Vec<(u64, String)>,
    /// Rows asked for that have already left history.
    pub missed: u64,
    /// The first line that reaches the screen, or that the row limit cut
    /// off: lines before it are history, never change again, and were all
    /// returned.
    pub settled: u64,
    /// The row limit cut the lines short: more follow from `settled`.
    pub more: bool,
}

impl Terminal {
    /// The number of the screen's top row.
    pub fn screen_top(&mut self) -> u64 {
        self.apply_plain();
        self.parser.callbacks().history.next_seq()
    }

    /// Rows numbered `from` on, up to (not including) `until` (history,
    /// then the screen).
    fn rows_from(&mut self, from: u64, until: u64) -> (Vec<Row>, u64) {
        self.apply_plain();
        let history = &self.parser.callbacks().history;
        let first = history.first_seq();
        let top = history.next_seq();
        let missed = first.saturating_sub(from);
        let from = from.max(first);
        let mut rows = Vec::new();
        for seq in from..top.min(until) {
            let (text, wrapped) = history.line((seq - first) as usize);
            rows.push(Row {
                seq,
                text: basic_formatted_to_plain(&text).collect(),
                wrapped,
            });
        }
        let screen = self.parser.screen();
        let (_, cols) = screen.size();
        for (r, text) in screen.rows(0, cols.get()).enumerate() {
            let seq = top + r as u64;
            if seq >= until {
                break;
            }
            if seq >= from {
                rows.push(Row {
                    seq,
                    text,
                    wrapped: screen.row_wrapped(r as u16),
                });
            }
        }
        (rows, missed)
    }

    /// Logical lines that start at `from` or later (the rest of a line
    /// that started before is not one of them), from at most `limit` rows
    /// of history past `from` (the screen is always looked at whole): a
    /// wait over a long history looks at it a slice at a time. A line
    /// longer than the whole slice is seen as far as the slice goes.
    pub fn lines_from(&mut self, from: u64, limit: u64) -> Lines {
        let top = {
            self.apply_plain();
            self.parser.callbacks().history.next_seq()
        };
        let end = from.saturating_add(limit.max(1));
        let cut = end < top;
        let until = if cut { end } else { u64::MAX };
        let (rows, _) = self.rows_from(from.saturating_sub(WRAP_LOOKBACK), until);
        let missed = {
            let first = self.parser.callbacks().history.first_seq();
            first.saturating_sub(from)
        };
        let mut lines: Vec<(u64, String)> = Vec::new();
        let mut settled = from.max(top);
        let mut continues = false;
        for row in rows {
            match lines.last_mut() {
                Some(last) if continues => last.1.push_str(&row.text),
                _ => lines.push((row.seq, row.text)),
            }
            if row.seq == top {
                // The line the top screen row belongs to (it may start in history).
                settled = lines.last().map_or(top, |l| l.0);
            }
            continues = row.wrapped;
        }
        lines.retain(|l| l.0 >= from);
        if cut {
            // All history: settled up to where the slice ends. Its last
            // line may go on past it, so it is the next slice's first
            // (unless it is the only one).
            settled = match lines.len() {
                0 | 1 => until,
                _ => lines.pop().expect("more than one line").0,
            };
        }
        for line in &mut lines {
            let end = line.1.trim_end().len();
            line.1.truncate(end);
        }
        Lines {
            lines,
            missed,
            settled,
            more: cut,
        }
    }

    /// The plain text from `from` up to (not including) `to`: rows
    /// joined, a newline where the terminal did not wrap, trailing blanks
    /// of each line trimmed. With the rows that had already left history.
    pub fn text_between(&mut self, from: Pos, to: Pos) -> (String, u64) {
        if to <= from {
            return (String::new(), 0);
        }
        let (rows, missed) = self.rows_from(from.seq, to.seq.saturating_add(1));
        let mut out = String::new();
        let mut line = String::new();
        for row in rows.iter().take_while(|r| r.seq <= to.seq) {
            let mut chars: Vec<char> = row.text.chars().collect();
            if row.seq == to.seq {
                chars.truncate(to.col as usize);
            }
            let skip = if row.seq == from.seq {
                from.col as usize
            } else {
                0
            };
            line.extend(chars.iter().skip(skip));
            if row.seq == to.seq {
                break;
            }
            if !row.wrapped {
                out.push_str(line.trim_end());
                out.push('\n');
                line.clear();
            }
        }
        out.push_str(line.trim_end());
        (out, missed)
    }
}
