//! A complete line cut into the rows it fills on a screen `cols` wide: the
//! first rows as history text, written as vt100 writes a row that scrolls
//! off (`write_contents_formatted_basic`: from default attributes, an SGR
//! change before each character whose attributes differ from the last one
//! written, nothing after the last character), and the rest as the bytes
//! that draw it on the emulator.

use super::sgr::Attrs;
use super::unit::{printable_prefix, Unit};
use super::Line;

/// Gives the first `n` rows of `line` to `row` (text, whether the row wrapped
/// into the next), and writes the bytes that draw the rows after them,
/// from the start of a row with default attributes, to `tail`.
pub fn split(
    line: &Line<'_>,
    cols: usize,
    n: usize,
    scratch: &mut Vec<u8>,
    tail: &mut Vec<u8>,
    mut row: impl FnMut(&[u8], bool),
) {
    let text = line.text;
    let total = super::rows_of(line.cols, cols);
    if n == 0 {
        tail.extend_from_slice(text);
        return;
    }
    if !line.sgr && !line.tabs && total <= 1 {
        // One row of text: nothing to cut or to rebuild.
        row(text, false);
        return;
    }
    if line.ascii {
        for r in 0..n.min(total) {
            row(
                &text[r * cols..((r + 1) * cols).min(text.len())],
                r + 1 < total,
            );
        }
        if n < total {
            tail.extend_from_slice(&text[n * cols..]);
        }
        return;
    }
    let default = Attrs::default();
    // Rows are rebuilt in `scratch` rather than sliced from the text.
    let rebuild = line.sgr || line.tabs;
    // Blank cells a tab skipped, not yet written: vt100 writes them as
    // spaces before the next character (and its attribute change), and
    // not at all at the row's end.
    let mut blanks = 0;
    // Row `r` is being filled: `col` columns so far, starting at byte
    // `row_start` (text without SGR: a row is a slice of it) or rebuilt in
    // `scratch` with `written` the attributes last written there.
    let (mut r, mut col, mut row_start) = (0, 0, 0);
    let (mut attrs, mut written) = (default, default);
    // Just after the last character placed, and the attributes then: where
    // the tail starts.
    let (mut after_char, mut attrs_after) = (0, default);
    scratch.clear();
    let mut i = 0;
    while i < text.len() {
        let rest = &text[i..];
        let run = printable_prefix(rest);
        // `len` bytes to place: a run of ASCII (a column a byte) or one
        // character `width` columns wide.
        let (len, width, ascii_run) = if run > 0 {
            (run, 1, true)
        } else {
            match Unit::parse(rest) {
                Unit::Sgr { params, len } => {
                    // Checked when the line was taken in.
                    attrs = attrs.apply(params).unwrap_or_default();
                    i += len;
                    continue;
                }
                Unit::Char { width, len, .. } => (len, width.unwrap_or(1), false),
                Unit::Tab => {
                    // Checked when the line was taken in: the stop is
                    // inside this row.
                    let width = super::unit::tab_width(col);
                    debug_assert!(col + width < cols);
                    col += width;
                    blanks += width;
                    i += 1;
                    (after_char, attrs_after) = (i, attrs);
                    continue;
                }
                // Not in a line taken in (moves and erases are not kept
                // in its text); placed as one column regardless.
                Unit::Incomplete | Unit::Other | Unit::Up { .. } | Unit::EraseLine { .. } => {
                    (1, 1, false)
                }
            }
        };
        let end = i + len;
        let mut at = i;
        while at < end {
            if col + width > cols {
                if rebuild {
                    row(scratch, true);
                } else {
                    row(&text[row_start..at], true);
                }
                r += 1;
                if r == n {
                    attrs_after.write_diff(&default, tail);
                    tail.extend_from_slice(&text[after_char..]);
                    return;
                }
                scratch.clear();
                (written, col, row_start, blanks) = (default, 0, at, 0);
            }
            let take = if ascii_run {
                (cols - col).min(end - at)
            } else {
                len
            };
            if rebuild {
                scratch.resize(scratch.len() + std::mem::take(&mut blanks), b' ');
                attrs.write_diff(&written, scratch);
                written = attrs;
                scratch.extend_from_slice(&text[at..at + take]);
            }
            col += if ascii_run { take } else { width };
            at += take;
            (after_char, attrs_after) = (at, attrs);
        }
        i = end;
    }
    if rebuild {
        row(scratch, false);
    } else {
        row(&text[row_start..], false);
    }
}
