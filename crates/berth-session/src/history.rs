//! Compact scrollback: lines that scrolled off the screen, newest last.
//!
//! Every line is stored once, as UTF-8 text with SGR escapes ("basic
//! formatted", starting from default attributes), packed back to back in one
//! ring of bytes with a small record per line. An 80-column line of plain text
//! costs about 90 bytes, against kilobytes for a row of terminal cells, which
//! is what keeps an idle host with 10,000 lines of history small.

use std::collections::VecDeque;

#[derive(Debug)]
pub struct History {
    /// Text of all lines, oldest first.
    bytes: VecDeque<u8>,
    /// Per line: its end offset in `bytes` counted from `base`. Offsets
    /// wrap at 2^32: the ring never holds 4 GiB, so differences stay exact,
    /// and four bytes a line instead of eight keep an idle host small.
    ends: VecDeque<u32>,
    /// Per line: whether the terminal wrapped it into the next line.
    wrapped: VecDeque<bool>,
    /// Offset (wrapping) of `bytes[0]`; advances as old lines are dropped.
    base: u32,
    capacity: usize,
    /// Lines ever pushed: the sequence number the next line gets. Line
    /// numbers only grow, whatever is dropped (scripts wait from them).
    pushed: u64,
}

impl History {
    pub fn new(capacity: usize) -> Self {
        Self {
            bytes: VecDeque::new(),
            ends: VecDeque::new(),
            wrapped: VecDeque::new(),
            base: 0,
            capacity,
            pushed: 0,
        }
    }

    /// The sequence number of the oldest line held (of the next line when
    /// none is held).
    pub fn first_seq(&self) -> u64 {
        self.pushed - self.ends.len() as u64
    }

    /// The sequence number the next line pushed gets: the top screen row's.
    pub fn next_seq(&self) -> u64 {
        self.pushed
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Appends one line (UTF-8 text), dropping the oldest beyond capacity.
    pub fn push(&mut self, text: &[u8], wrapped: bool) {
        self.pushed += 1;
        if self.capacity == 0 {
            return;
        }
        if self.ends.len() == self.capacity {
            let first = self.ends.pop_front().expect("capacity > 0");
            self.wrapped.pop_front();
            let drop = first.wrapping_sub(self.base) as usize;
            self.bytes.drain(..drop);
            self.base = first;
        }
        self.bytes.extend(text);
        self.ends
            .push_back(self.base.wrapping_add(self.bytes.len() as u32));
        self.wrapped.push_back(wrapped);
        // Give memory back after a burst of long lines was scrolled away.
        if self.bytes.capacity() > 4096 && self.bytes.capacity() > 4 * self.bytes.len() {
            self.bytes.shrink_to(self.bytes.len() * 2);
        }
    }

    /// The text of line `i` (0 = oldest) and whether it wrapped.
    pub fn line(&self, i: usize) -> (String, bool) {
        let start = if i == 0 { self.base } else { self.ends[i - 1] };
        let s = start.wrapping_sub(self.base) as usize;
        let e = self.ends[i].wrapping_sub(self.base) as usize;
        let (a, b) = self.bytes.as_slices();
        let mut raw = Vec::with_capacity(e - s);
        if s < a.len() {
            raw.extend_from_slice(&a[s..e.min(a.len())]);
        }
        if e > a.len() {
            raw.extend_from_slice(&b[s.saturating_sub(a.len())..e - a.len()]);
        }
        // Lines are pushed as UTF-8 (formatted rows, or printable ASCII).
        (String::from_utf8(raw).unwrap_or_default(), self.wrapped[i])
    }

    /// Approximate heap bytes held, for status and benchmarks.
    pub fn heap_bytes(&self) -> usize {
        self.bytes.capacity() + self.ends.capacity() * 4 + self.wrapped.capacity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_newest_lines() {
        let mut h = History::new(3);
        for i in 0..5 {
            h.push(format!("line {i}").as_bytes(), i == 3);
        }
        assert_eq!(h.len(), 3);
        assert_eq!(h.line(0), ("line 2".into(), false));
        assert_eq!(h.line(1), ("line 3".into(), true));
        assert_eq!(h.line(2), ("line 4".into(), false));
        // Numbers go on from the lines dropped.
        assert_eq!((h.first_seq(), h.next_seq()), (2, 5));
        let mut none = History::new(0);
        none.push(b"x", false);
        assert_eq!((none.first_seq(), none.next_seq()), (1, 1));
    }

    #[test]
    fn offsets_wrap_around_4_gib() {
        let mut h = History::new(3);
        h.base = u32::MAX - 10;
        for i in 0..6 {
            h.push(format!("line number {i}").as_bytes(), false);
        }
        assert_eq!(h.len(), 3);
        assert_eq!(h.line(0).0, "line number 3");
        assert_eq!(h.line(2).0, "line number 5");
        assert!(h.base < 100, "the offsets wrapped");
    }

    #[test]
    fn zero_capacity_keeps_nothing() {
        let mut h = History::new(0);
        h.push(b"x", false);
        assert!(h.is_empty());
    }

    #[test]
    fn ten_thousand_lines_are_small() {
        let mut h = History::new(10_000);
        let line = "x".repeat(80);
        for _ in 0..20_000 {
            h.push(line.as_bytes(), false);
        }
        assert_eq!(h.len(), 10_000);
        assert!(h.heap_bytes() < 2 * 10_000 * 86, "{}", h.heap_bytes());
    }
}
