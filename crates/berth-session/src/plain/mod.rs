//! Plain-line batching: the fast path for floods of ordinary output.
//!
//! Most bulk output (logs, builds, `cat`, progress bars) is lines that end
//! in CR LF and only print: ASCII or UTF-8 text, colours and other SGR
//! attributes reset by the line's end, and `\r` redraws of the same row.
//! Once such a line scrolls the screen at the bottom with default
//! attributes, every further such line does the same thing: push the top
//! row into history and appear at the bottom. So instead of feeding each
//! byte to the emulator and formatting each row that scrolls off, these
//! lines are collected here, and [`crate::terminal::Terminal`] applies them
//! in batches: rows that would scroll off at once go into history as text
//! written the way the emulator writes rows ([`rows`]); only the last
//! screenful goes through the emulator. The result is the same screen and
//! history, byte for byte (property-tested against the emulator alone in
//! `terminal/tests.rs`), at the cost of scanning and copying the bytes.
//!
//! Also taken: tabs on fresh rows (to a stop inside the row), and a status
//! block redrawn in place over the batch's last lines (`block.rs`).
//!
//! What the fast path leaves to the emulator: every other control or
//! escape, characters of zero width (combining marks) or that the emulator
//! would draw otherwise, a wide character that would straddle the row's
//! end, a line that ends with attributes set, and `\r` redraws other than
//! text over text no wider than the screen.

mod block;
pub mod rows;
pub mod sgr;
mod unit;

use sgr::Attrs;
use unit::Unit;

/// Complete lines waiting to be applied, and the line still being written.
#[derive(Debug, Default)]
pub struct PlainLines {
    /// Complete lines' text, back to back, without their CR LF.
    text: Vec<u8>,
    /// Per complete line, in order.
    info: Vec<LineInfo>,
    /// The line being written.
    line: Partial,
    /// A status block being redrawn over the last lines.
    block: Option<block::Block>,
}

/// What [`PlainLines::absorb`] did with the input.
#[derive(Debug, PartialEq, Eq)]
pub enum Absorbed {
    /// All of it was taken.
    All,
    /// Taken up to this index; the byte there is left to the emulator.
    Until(usize),
}

#[derive(Debug, Clone, Copy)]
struct LineInfo {
    /// End offset of the line in `text`.
    end: usize,
    /// Columns the line fills.
    cols: u32,
    /// Only printable ASCII: a byte is a column.
    ascii: bool,
    /// Holds SGR sequences.
    sgr: bool,
    /// Holds tabs.
    tabs: bool,
    /// The last character printed, which REP (CSI b) repeats.
    last: Option<char>,
    /// See [`Line::reprint`].
    reprint: Option<u32>,
}

/// One complete line, as [`rows`] splits it.
#[derive(Debug, Clone, Copy)]
pub struct Line<'a> {
    pub text: &'a [u8],
    pub cols: usize,
    pub ascii: bool,
    pub sgr: bool,
    /// Holds tabs (only in a line without `\r` redraws, each stopping
    /// inside its row).
    pub tabs: bool,
    pub last: Option<char>,
    /// A line of `\r` redraws whose last character printed is not its
    /// last: drawing it, then CR and this many bytes of it again, leaves
    /// the emulator the same last character (for REP) as the redraws did.
    pub reprint: Option<usize>,
}

/// Text written from the start of a row up to a CR (or the line's end).
#[derive(Debug, Clone)]
struct Segment {
    /// As written, escapes included (and an incomplete escape or UTF-8
    /// character at the end of the input so far: see `Partial::pending`).
    raw: Vec<u8>,
    cols: usize,
    /// Only printable ASCII.
    ascii: bool,
    sgr: bool,
    /// Holds a character two columns wide.
    wide: bool,
    /// Holds a tab: columns it skipped are left as they were (blank).
    tabs: bool,
}

impl Default for Segment {
    fn default() -> Self {
        Segment {
            raw: Vec::new(),
            cols: 0,
            ascii: true,
            sgr: false,
            wide: false,
            tabs: false,
        }
    }
}

impl Segment {
    fn new() -> Self {
        Segment::default()
    }

    fn clear(&mut self) {
        self.raw.clear();
        self.cols = 0;
        self.ascii = true;
        self.sgr = false;
        self.wide = false;
        self.tabs = false;
    }

    /// Text only, one column per character: can be overlaid by another
    /// such segment column for column.
    fn narrow(&self) -> bool {
        !self.sgr && !self.wide && !self.tabs
    }

    /// What `top` written from the start of the row leaves on a row that
    /// held `self`; both narrow, or `top` at least as wide.
    fn overlaid_by(&self, top: &Segment) -> Segment {
        if top.cols >= self.cols {
            return top.clone();
        }
        let mut raw = top.raw.clone();
        raw.extend_from_slice(&self.raw[unit::byte_of_column(&self.raw, self.ascii, top.cols)..]);
        Segment {
            raw,
            cols: self.cols,
            ascii: self.ascii && top.ascii,
            sgr: false,
            wide: false,
            tabs: false,
        }
    }
}

/// The line being written: what a replay to the emulator needs, with the
/// `\r` redraws before the last two collapsed into what they left.
#[derive(Debug, Default)]
struct Partial {
    /// Segments before `prev`, collapsed into the row they left (narrow).
    older: Option<Segment>,
    /// The last non-empty segment ended by a bare CR, as written, so a
    /// replay prints the same last character.
    prev: Option<Segment>,
    seg: Segment,
    /// `seg` was ended by a CR not yet followed by anything.
    cr: bool,
    /// Bytes at the end of `seg.raw` that start an escape or a UTF-8
    /// character the input has not finished yet.
    pending: usize,
    attrs: Attrs,
    last: Option<char>,
}

impl Partial {
    fn is_empty(&self) -> bool {
        self.older.is_none() && self.prev.is_none() && self.seg.raw.is_empty() && !self.cr
    }

    fn held(&self) -> usize {
        self.seg.raw.len()
            + self.prev.as_ref().map_or(0, |s| s.raw.len())
            + self.older.as_ref().map_or(0, |s| s.raw.len())
    }

    /// What the row holds after every segment but the current one.
    fn base(&self) -> Option<Segment> {
        match (&self.older, &self.prev) {
            (Some(o), Some(p)) => Some(o.overlaid_by(p)),
            (o, p) => o.clone().or_else(|| p.clone()),
        }
    }
}

impl PlainLines {
    /// Bytes allocated for batches.
    pub fn capacity(&self) -> usize {
        self.text.capacity()
            + self.info.capacity() * std::mem::size_of::<LineInfo>()
            + self.line.seg.raw.capacity()
    }

    /// Bytes held, to bound memory.
    pub fn held(&self) -> usize {
        self.text.len() + self.line.held() + self.block.as_ref().map_or(0, |b| b.raw.len())
    }

    /// Whether a line is partly written (or a block).
    pub fn has_partial(&self) -> bool {
        !self.line.is_empty() || self.block.is_some()
    }

    /// Whether a status block is being redrawn: the complete lines may
    /// not be applied until it is done.
    pub fn in_block(&self) -> bool {
        self.block.is_some()
    }

    /// The complete lines.
    pub fn lines(&self) -> impl Iterator<Item = Line<'_>> {
        let mut start = 0;
        self.info.iter().map(move |i| {
            let text = &self.text[start..i.end];
            start = i.end;
            Line {
                text,
                cols: i.cols as usize,
                ascii: i.ascii,
                sgr: i.sgr,
                tabs: i.tabs,
                last: i.last,
                reprint: i.reprint.map(|n| n as usize),
            }
        })
    }

    /// Rows the complete lines fill on a screen `cols` wide.
    pub fn rows(&self, cols: usize) -> usize {
        self.info
            .iter()
            .map(|l| rows_of(l.cols as usize, cols))
            .sum()
    }

    /// Takes the complete lines out, leaving the partial one.
    pub fn take_lines(&mut self) -> PlainLines {
        PlainLines {
            text: std::mem::take(&mut self.text),
            info: std::mem::take(&mut self.info),
            line: Partial::default(),
            block: None,
        }
    }

    /// Gives back the buffers of lines taken out and applied, so a flood
    /// does not allocate (and fault in) fresh buffers for every batch.
    pub fn reuse(&mut self, mut applied: PlainLines) {
        if self.text.is_empty() && self.info.is_empty() {
            applied.text.clear();
            applied.info.clear();
            self.text = applied.text;
            self.info = applied.info;
        }
    }

    /// Takes the partly written line out as the bytes that bring the
    /// emulator to the same state: the collapsed redraws, the last two as
    /// written.
    pub fn take_partial(&mut self) -> Vec<u8> {
        let p = std::mem::take(&mut self.line);
        if let Some(block) = self.block.take() {
            // Everything since the cursor-up, the partial line included.
            return block.raw;
        }
        let mut out = Vec::new();
        for s in [p.older, p.prev].into_iter().flatten() {
            out.extend_from_slice(&s.raw);
            out.push(b'\r');
        }
        out.extend_from_slice(&p.seg.raw);
        if p.cr {
            out.push(b'\r');
        }
        out
    }

    /// Takes in what it can of `bytes` on a screen `cols` by `rows`: whole
    /// lines and the start of the next. Stops at the first byte the
    /// emulator must see.
    pub fn absorb(&mut self, bytes: &[u8], cols: usize, rows: usize) -> Absorbed {
        let absorbed = self.absorb_lines(bytes, cols, rows);
        if let Some(block) = &mut self.block {
            // What the block took of this input, for a replay.
            let end = match absorbed {
                Absorbed::All => bytes.len(),
                Absorbed::Until(i) => i,
            };
            let from = block.started_at.take().unwrap_or(0);
            block.raw.extend_from_slice(&bytes[from..end]);
        }
        absorbed
    }

    fn absorb_lines(&mut self, bytes: &[u8], cols: usize, rows: usize) -> Absorbed {
        let mut i = 0;
        if self.line.pending > 0 {
            match self.finish_pending(bytes, cols, rows) {
                Some(n) => i = n,
                None => return Absorbed::Until(0),
            }
        }
        if self.line.cr && i < bytes.len() {
            // The CR the last input ended with: a line end or a redraw.
            let ok = if bytes[i] == b'\n' {
                self.end_line(cols)
            } else {
                self.next_segment(cols)
            };
            if !ok {
                return Absorbed::Until(i);
            }
            self.line.cr = false;
            if bytes[i] == b'\n' {
                i += 1;
            }
        }
        while i < bytes.len() {
            let rest = &bytes[i..];
            let run = unit::printable_prefix(rest);
            if run > 0 {
                if !self.may_print() {
                    return Absorbed::Until(i);
                }
                let seg = &mut self.line.seg;
                seg.raw.extend_from_slice(&rest[..run]);
                seg.cols += run;
                self.line.last = Some(char::from(rest[run - 1]));
                i += run;
                continue;
            }
            if rest[0] >= 0x80 {
                // Text with UTF-8 in it: taken a run at a time, not a
                // character at a time (the same as `take_unit` on each).
                let run = unit::text_run(rest, self.line.seg.cols, cols);
                if run.len > 0 {
                    if !self.may_print() {
                        return Absorbed::Until(i);
                    }
                    let seg = &mut self.line.seg;
                    seg.raw.extend_from_slice(&rest[..run.len]);
                    seg.cols += run.cols;
                    seg.ascii = false;
                    seg.wide |= run.wide;
                    self.line.last = run.last;
                    i += run.len;
                    continue;
                }
            }
            if rest[0] == b'\r' {
                match rest.get(1) {
                    None => {
                        self.line.cr = true;
                        i += 1;
                    }
                    Some(b'\n') => {
                        if !self.end_line(cols) {
                            return Absorbed::Until(i);
                        }
                        i += 2;
                    }
                    Some(_) => {
                        if !self.next_segment(cols) {
                            return Absorbed::Until(i);
                        }
                        i += 1;
                    }
                }
                continue;
            }
            match Unit::parse(rest) {
                Unit::Incomplete if rest.len() < unit::MAX_UNIT => {
                    self.line.seg.raw.extend_from_slice(rest);
                    self.line.pending = rest.len();
                    return Absorbed::All;
                }
                u => {
                    if !self.take_unit(u, cols, rows) {
                        return Absorbed::Until(i);
                    }
                    let len = u.len();
                    match u {
                        // Moves and erases of a blank row: not the line's text.
                        Unit::Up { .. } => {
                            if let Some(b) = &mut self.block {
                                b.started_at = Some(i);
                            }
                        }
                        Unit::EraseLine { .. } => {}
                        _ => self.line.seg.raw.extend_from_slice(&rest[..len]),
                    }
                    i += len;
                }
            }
        }
        Absorbed::All
    }

    /// Completes the escape or character the last input ended in the
    /// middle of; the bytes of `input` it took, or `None` if the emulator
    /// must take it (its start stays in the partial line, to be replayed).
    fn finish_pending(&mut self, input: &[u8], cols: usize, rows: usize) -> Option<usize> {
        let held = self.line.pending;
        let start = self.line.seg.raw.len() - held;
        let mut unit_bytes = self.line.seg.raw[start..].to_vec();
        let more = input.len().min(unit::MAX_UNIT);
        unit_bytes.extend_from_slice(&input[..more]);
        match Unit::parse(&unit_bytes) {
            Unit::Incomplete if unit_bytes.len() < unit::MAX_UNIT => {
                self.line.seg.raw.extend_from_slice(input);
                self.line.pending += input.len();
                Some(input.len())
            }
            // A move or an erase cut by the read: left to the emulator.
            Unit::Up { .. } | Unit::EraseLine { .. } => None,
            u => {
                self.line.pending = 0;
                if !self.take_unit(u, cols, rows) {
                    return None;
                }
                let taken = u.len() - held;
                self.line.seg.raw.extend_from_slice(&input[..taken]);
                Some(taken)
            }
        }
    }

    /// Applies an escape or a non-ASCII character to the line's state (not
    /// its bytes); false if the emulator must take it.
    fn take_unit(&mut self, u: Unit, cols: usize, rows: usize) -> bool {
        match u {
            Unit::Up { n, .. } => {
                if self.block.is_some() || !self.line.is_empty() {
                    return false;
                }
                self.block = block::Block::open(n, &self.info, cols, rows);
                return self.block.is_some();
            }
            // On a blank row with default attributes an erase changes
            // nothing; in a block it is how a line starts over.
            Unit::EraseLine { .. } => {
                if !self.line.is_empty() || !self.line.attrs.is_default() {
                    return false;
                }
                if let Some(b) = &mut self.block {
                    b.erased = true;
                }
                return true;
            }
            _ if !self.may_print() => return false,
            _ => {}
        }
        let line = &mut self.line;
        match u {
            Unit::Sgr { params, .. } => match line.attrs.apply(params) {
                Some(a) => {
                    line.attrs = a;
                    line.seg.sgr = true;
                    line.seg.ascii = false;
                    true
                }
                None => false,
            },
            Unit::Char {
                c, width: Some(1), ..
            } => {
                line.seg.cols += 1;
                line.seg.ascii = false;
                line.last = Some(c);
                true
            }
            // A tab on a fresh row of a line without redraws, to a stop
            // inside the row: the columns it skips are blank and stay so.
            // (Over a redrawn row they would keep what was there; at the
            // row's end the emulator clamps it.)
            Unit::Tab if line.older.is_none() && line.prev.is_none() => {
                let at = line.seg.cols;
                if at > 0 && at.is_multiple_of(cols) {
                    return false; // the cursor waits at the end of a full row
                }
                let width = unit::tab_width(at % cols);
                if at % cols + width >= cols {
                    return false;
                }
                line.seg.cols += width;
                line.seg.ascii = false;
                line.seg.tabs = true;
                true
            }
            // A wide character never straddles the row's end here: the
            // emulator's rules for that are its own.
            Unit::Char {
                c, width: Some(2), ..
            } if line.seg.cols % cols != cols - 1 => {
                line.seg.cols += 2;
                line.seg.ascii = false;
                line.seg.wide = true;
                line.last = Some(c);
                true
            }
            _ => false,
        }
    }

    /// Whether text may be written now: in a block, only on a row erased
    /// first (what the row held before would show through otherwise).
    fn may_print(&self) -> bool {
        self.block.as_ref().is_none_or(|b| b.erased)
    }

    /// The current segment ended with a bare CR: the next one overwrites it
    /// from the row's start. Only text no wider than the screen is
    /// collapsed this way.
    fn next_segment(&mut self, cols: usize) -> bool {
        let line = &mut self.line;
        if !line.seg.narrow() || line.seg.cols > cols {
            return false;
        }
        if line.seg.raw.is_empty() {
            return true;
        }
        if self.block.is_some() {
            return false; // redraws inside a block are the emulator's
        }
        if let Some(prev) = line.prev.take() {
            line.older = Some(match line.older.take() {
                Some(o) => o.overlaid_by(&prev),
                None => prev,
            });
        }
        line.prev = Some(std::mem::replace(&mut line.seg, Segment::new()));
        true
    }

    /// CR LF: the line is complete if it left default attributes and its
    /// redraws collapse.
    fn end_line(&mut self, cols: usize) -> bool {
        let line = &mut self.line;
        if !line.attrs.is_default() {
            return false;
        }
        // The segment that printed last: a prefix of the whole line.
        let printed_last = if line.seg.cols > 0 {
            Some(line.seg.raw.len())
        } else {
            line.prev.as_ref().map(|p| p.raw.len())
        };
        // Borrowed, not moved, when there were no redraws: the segment's
        // buffer stays with the line for the next one (a flood of lines
        // would otherwise grow a fresh buffer for each).
        let overlaid;
        let whole = match line.base() {
            None => &line.seg,
            Some(base) if line.seg.narrow() || line.seg.cols >= base.cols => {
                overlaid = base.overlaid_by(&line.seg);
                &overlaid
            }
            Some(_) => return false,
        };
        let reprint = printed_last.filter(|&n| n < whole.raw.len());
        let info = LineInfo {
            end: 0,
            cols: whole.cols as u32,
            ascii: whole.ascii,
            sgr: whole.sgr,
            tabs: whole.tabs,
            last: line.last,
            reprint: reprint.map(|n| n as u32),
        };
        match &mut self.block {
            None => {
                self.text.extend_from_slice(&whole.raw);
                self.info.push(LineInfo {
                    end: self.text.len(),
                    ..info
                });
            }
            Some(block) => {
                if !block.take_line(whole.raw.clone(), info, cols) {
                    return false;
                }
                if block.done() {
                    if !block.commit(&mut self.text, &mut self.info) {
                        return false;
                    }
                    self.block = None;
                }
            }
        }
        let line = &mut self.line;
        let mut seg = std::mem::take(&mut line.seg);
        seg.clear();
        *line = Partial {
            seg,
            ..Partial::default()
        };
        true
    }
}

/// Rows a line of `len` columns fills on a screen `cols` wide.
pub fn rows_of(len: usize, cols: usize) -> usize {
    len.div_ceil(cols).max(1)
}

#[cfg(test)]
mod tests;
