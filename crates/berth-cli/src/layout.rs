//! Where each tile goes: the automatic grid and tmux's named layouts, and
//! which tile lies in a direction from another (focus moves). `berth
//! watch` and the web page (berth-web) both place their tiles with it.

use berth_config::dashboard::Layout;
use berth_proto::Size;
use ratatui::layout::Rect;

/// The tiles' rectangles within `area`, one per session in order.
/// `sessions` are the sessions' sizes (the automatic grid shows as much of
/// each as it can).
pub fn tiles(layout: Layout, area: Rect, sessions: &[Size]) -> Vec<Rect> {
    let n = sessions.len();
    if n == 0 {
        return Vec::new();
    }
    if n == 1 {
        return vec![area];
    }
    match layout {
        Layout::EvenHorizontal => columns(area, n),
        Layout::EvenVertical => rows(area, n),
        Layout::MainVertical => {
            let main = area.width - area.width / 2;
            let (left, right) = split_x(area, main);
            let mut out = vec![left];
            out.extend(rows(right, n - 1));
            out
        }
        Layout::MainHorizontal => {
            let main = area.height - area.height / 2;
            let (top, bottom) = split_y(area, main);
            let mut out = vec![top];
            out.extend(columns(bottom, n - 1));
            out
        }
        Layout::Tiled => grid(area, n, tmux_across(n)),
        Layout::Auto => {
            let across = (1..=n)
                .map(|across| {
                    let rects = grid(area, n, across);
                    let shown: f64 = rects.iter().zip(sessions).map(|(r, s)| shown(*r, *s)).sum();
                    // Ties go to tmux's choice, then to fewer empty places.
                    let near = across.abs_diff(tmux_across(n));
                    (shown, std::cmp::Reverse(near), across)
                })
                .max_by(|a, b| {
                    (a.0 * 1e6)
                        .round()
                        .total_cmp(&(b.0 * 1e6).round())
                        .then(a.1.cmp(&b.1))
                })
                .map_or(1, |(_, _, across)| across);
            grid(area, n, across)
        }
    }
}

/// The part of a session a tile shows (a title row, then the screen).
fn shown(tile: Rect, session: Size) -> f64 {
    let cols = f64::from(tile.width.min(session.cols));
    let rows = f64::from(tile.height.saturating_sub(1).min(session.rows));
    cols * rows / (f64::from(session.cols) * f64::from(session.rows))
}

/// tmux's `tiled`: columns and rows grown in turn until all fit.
fn tmux_across(n: usize) -> usize {
    let (mut across, mut down) = (1, 1);
    while across * down < n {
        across += 1;
        if across * down >= n {
            break;
        }
        down += 1;
    }
    across
}

/// `n` tiles in rows of `across`; a last row with fewer shares its width.
fn grid(area: Rect, n: usize, across: usize) -> Vec<Rect> {
    let down = n.div_ceil(across);
    let mut out = Vec::with_capacity(n);
    for (i, row) in rows(area, down).into_iter().enumerate() {
        let count = across.min(n - i * across);
        out.extend(columns(row, count));
    }
    out
}

/// `total` cells in `n` spans as even as they go (the first get the extra).
fn spans(total: u16, n: usize) -> impl Iterator<Item = (u16, u16)> {
    let n16 = u16::try_from(n).unwrap_or(u16::MAX).max(1);
    let (base, extra) = (total / n16, total % n16);
    (0..n16).scan(0u16, move |at, i| {
        let len = base + u16::from(i < extra);
        let span = (*at, len);
        *at += len;
        Some(span)
    })
}

fn columns(area: Rect, n: usize) -> Vec<Rect> {
    spans(area.width, n)
        .map(|(x, w)| Rect::new(area.x + x, area.y, w, area.height))
        .collect()
}

fn rows(area: Rect, n: usize) -> Vec<Rect> {
    spans(area.height, n)
        .map(|(y, h)| Rect::new(area.x, area.y + y, area.width, h))
        .collect()
}

fn split_x(area: Rect, left: u16) -> (Rect, Rect) {
    (
        Rect::new(area.x, area.y, left, area.height),
        Rect::new(area.x + left, area.y, area.width - left, area.height),
    )
}

fn split_y(area: Rect, top: u16) -> (Rect, Rect) {
    (
        Rect::new(area.x, area.y, area.width, top),
        Rect::new(area.x, area.y + top, area.width, area.height - top),
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Left,
    Right,
    Up,
    Down,
}

/// The tile next to `from` in `dir`: the nearest that lies wholly that
/// way, preferring one beside it (overlapping across the move).
pub fn neighbour(rects: &[Rect], from: usize, dir: Direction) -> Option<usize> {
    let f = *rects.get(from)?;
    let centre = |r: Rect| (2 * r.x + r.width, 2 * r.y + r.height);
    rects
        .iter()
        .enumerate()
        .filter(|(i, r)| *i != from && r.area() > 0)
        .filter_map(|(i, r)| {
            let (gap, beside) = match dir {
                Direction::Left if r.right() <= f.x => (f.x - r.right(), overlaps_y(*r, f)),
                Direction::Right if r.x >= f.right() => (r.x - f.right(), overlaps_y(*r, f)),
                Direction::Up if r.bottom() <= f.y => (f.y - r.bottom(), overlaps_x(*r, f)),
                Direction::Down if r.y >= f.bottom() => (r.y - f.bottom(), overlaps_x(*r, f)),
                _ => return None,
            };
            let (cx, cy) = centre(*r);
            let (fx, fy) = centre(f);
            let across = match dir {
                Direction::Left | Direction::Right => cy.abs_diff(fy),
                Direction::Up | Direction::Down => cx.abs_diff(fx),
            };
            Some(((!beside, gap, across), i))
        })
        .min()
        .map(|(_, i)| i)
}

fn overlaps_x(a: Rect, b: Rect) -> bool {
    a.x < b.right() && b.x < a.right()
}

fn overlaps_y(a: Rect, b: Rect) -> bool {
    a.y < b.bottom() && b.y < a.bottom()
}

#[cfg(test)]
mod tests {
    use super::*;

    const S80: Size = Size { cols: 80, rows: 24 };

    /// The tiles drawn as text: each filled with its number, for snapshots.
    fn picture(layout: Layout, area: Rect, n: usize) -> String {
        let rects = tiles(layout, area, &vec![S80; n]);
        let mut grid = vec![vec!['.'; usize::from(area.width)]; usize::from(area.height)];
        for (i, r) in rects.iter().enumerate() {
            let mark = char::from_digit(u32::try_from(i).unwrap() + 1, 36).unwrap();
            for y in r.y..r.bottom() {
                for x in r.x..r.right() {
                    let edge = x == r.x || y == r.y;
                    grid[usize::from(y)][usize::from(x)] = if edge { '+' } else { mark };
                }
            }
        }
        let mut out = String::new();
        for row in grid {
            out.extend(row);
            out.push('\n');
        }
        out
    }

    #[test]
    fn layouts_of_three_sessions() {
        let area = Rect::new(0, 0, 40, 12);
        for layout in Layout::ALL {
            insta::assert_snapshot!(
                format!("three_{}", layout.as_str()),
                picture(layout, area, 3)
            );
        }
    }

    #[test]
    fn layouts_of_five_sessions() {
        let area = Rect::new(0, 0, 40, 12);
        for layout in [Layout::Tiled, Layout::MainVertical, Layout::MainHorizontal] {
            insta::assert_snapshot!(
                format!("five_{}", layout.as_str()),
                picture(layout, area, 5)
            );
        }
    }

    #[test]
    fn tiles_cover_the_area_without_overlap() {
        let area = Rect::new(0, 1, 83, 31);
        for layout in Layout::ALL {
            for n in 1..=12 {
                let rects = tiles(layout, area, &vec![S80; n]);
                assert_eq!(rects.len(), n);
                let covered: u32 = rects.iter().map(|r| r.area()).sum();
                assert_eq!(covered, area.area(), "{layout:?} {n}");
                for (i, a) in rects.iter().enumerate() {
                    assert!(area.contains(a.as_position()), "{layout:?} {n}");
                    for b in &rects[i + 1..] {
                        assert!(!a.intersects(*b), "{layout:?} {n}: {a:?} {b:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn the_automatic_grid_shows_most_of_each_session() {
        // A tall terminal, three 80x24 sessions: tmux's tiled (two columns
        // of 50) crops each; one column of three shows them whole.
        let tall = Rect::new(0, 0, 100, 80);
        assert_eq!(tiles(Layout::Tiled, tall, &[S80; 3])[0].width, 50);
        let rects = tiles(Layout::Auto, tall, &[S80; 3]);
        assert!(rects.iter().all(|r| r.width == 100), "{rects:?}");
        // A 250x26 terminal: side by side shows more.
        let flat = Rect::new(0, 0, 250, 26);
        let rects = tiles(Layout::Auto, flat, &[S80; 3]);
        assert!(rects.iter().all(|r| r.height == 26), "{rects:?}");
    }

    #[test]
    fn focus_moves_to_the_tile_beside() {
        let area = Rect::new(0, 0, 40, 12);
        let rects = tiles(Layout::MainVertical, area, &[S80; 3]);
        assert_eq!(neighbour(&rects, 0, Direction::Right), Some(1));
        assert_eq!(neighbour(&rects, 2, Direction::Up), Some(1));
        assert_eq!(neighbour(&rects, 1, Direction::Down), Some(2));
        assert_eq!(neighbour(&rects, 2, Direction::Left), Some(0));
        assert_eq!(neighbour(&rects, 0, Direction::Left), None);
    }
}
