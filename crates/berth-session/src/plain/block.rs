//! A status block redrawn in place: the cursor goes up over lines still
//! in the batch, and each of them is erased and written again, as build
//! tools, package managers and test runners redraw their last few lines
//! (`ESC [ 3 A`, then `\r ESC [ K text \r\n` per line).
//!
//! The new lines are kept aside until the cursor is back on the row it
//! left (the bottom); only then do they replace the batch's last lines,
//! which the screen shows in the same rows. If anything else comes first,
//! the emulator gets the batch as it was and then every byte of the block
//! as written, so a block that is not finished costs exactness nothing.

use super::{rows_of, LineInfo};

#[derive(Debug, Default)]
pub struct Block {
    /// Every byte since the cursor-up, as written.
    pub raw: Vec<u8>,
    /// Where the block starts in the input being absorbed, until that
    /// input's bytes are added to `raw`.
    pub started_at: Option<usize>,
    /// Lines still to be written before the cursor is back.
    pub up: usize,
    /// The line being written began by erasing its row.
    pub erased: bool,
    /// The lines written so far: text, and its info (`end` unset).
    pub lines: Vec<(Vec<u8>, LineInfo)>,
    /// The characters printed last by the lines the block rewrites, for
    /// REP: see [`Block::commit`].
    replaced_last: Option<char>,
}

impl Block {
    /// A cursor-up of `n` rows from the start of a blank bottom row, over
    /// the batch's lines `info`, on a screen `cols` by `rows`: a block, if
    /// the rows it goes up over are exactly the batch's last `n` lines,
    /// each one row.
    pub fn open(n: usize, info: &[LineInfo], cols: usize, rows: usize) -> Option<Block> {
        if n == 0 || n >= rows || n > info.len() {
            return None;
        }
        let over = &info[info.len() - n..];
        if over.iter().any(|l| rows_of(l.cols as usize, cols) != 1) {
            return None;
        }
        Some(Block {
            up: n,
            replaced_last: over.iter().rev().find_map(|l| l.last),
            ..Block::default()
        })
    }

    /// A line of the block is complete: whether it is one the block can
    /// take (it erased its row first and fits in it).
    pub fn take_line(&mut self, text: Vec<u8>, info: LineInfo, cols: usize) -> bool {
        if !self.erased || info.cols as usize > cols || info.reprint.is_some() {
            return false;
        }
        self.lines.push((text, info));
        self.erased = false;
        self.up -= 1;
        true
    }

    /// Whether the cursor is back on the bottom row.
    pub fn done(&self) -> bool {
        self.up == 0
    }

    /// Puts the block's lines in place of the batch's last lines. False
    /// (nothing changed) when it cannot: the emulator's last printed
    /// character (which REP repeats) must come out the same, and a block
    /// that printed nothing would leave the one of the lines it replaced.
    pub fn commit(&mut self, text: &mut Vec<u8>, info: &mut Vec<LineInfo>) -> bool {
        if self.replaced_last.is_some() && self.lines.iter().all(|(_, l)| l.last.is_none()) {
            return false;
        }
        let first = info.len() - self.lines.len();
        text.truncate(if first == 0 { 0 } else { info[first - 1].end });
        info.truncate(first);
        for (line, mut i) in self.lines.drain(..) {
            text.extend_from_slice(&line);
            i.end = text.len();
            info.push(i);
        }
        true
    }
}
