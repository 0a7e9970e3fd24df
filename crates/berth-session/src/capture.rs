//! tmux line numbering for captures: which lines `-S`/`-E` select.

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
