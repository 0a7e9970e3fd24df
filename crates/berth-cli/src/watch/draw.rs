//! Drawing the dashboard into a ratatui buffer: each tile's title bar and
//! its session's screen, cropped (never wrapped) to a window that follows
//! the cursor when the session is larger than the tile; the help line and
//! the help screen. ratatui then writes only the cells that changed.

use berth_proto::{Access, State, Status};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Widget, Wrap};

use super::feed::{Reach, Tile};
use super::view::{View, HINT, KEYS};

/// Draws one tile into `area` (title row, then the screen), with a
/// separator column on its right unless `last_column`.
pub fn tile(tile: &mut Tile, area: Rect, focused: bool, last_column: bool, buf: &mut Buffer) {
    if area.width == 0 || area.height == 0 {
        return;
    }
    let width = if last_column || area.width < 2 {
        area.width
    } else {
        for y in area.y..area.bottom() {
            buf[(area.right() - 1, y)]
                .set_symbol("│")
                .set_style(Style::new().fg(Color::DarkGray));
        }
        area.width - 1
    };
    let title_area = Rect::new(area.x, area.y, width, 1);
    let bar = if focused {
        Style::new()
            .bg(Color::Blue)
            .fg(Color::White)
            .add_modifier(Modifier::BOLD)
    } else {
        Style::new().bg(Color::DarkGray).fg(Color::White)
    };
    buf.set_style(title_area, bar);
    Line::from(title(tile)).style(bar).render(title_area, buf);
    let body = Rect::new(area.x, area.y + 1, width, area.height - 1);
    if body.height == 0 {
        return;
    }
    match &tile.reach {
        Reach::Live => screen(tile, body, focused, buf),
        Reach::Denied(why) | Reach::Gone(why) => Paragraph::new(why.as_str())
            .wrap(Wrap { trim: true })
            .style(Style::new().fg(Color::Red))
            .render(body, buf),
        Reach::Connecting => Line::from("connecting...").render(body, buf),
    }
}

/// The title: name, state, whether you may type (rw) or only watch (ro),
/// foreground command, restarts (most telling first: tiles are narrow).
pub fn title(tile: &Tile) -> Vec<Span<'static>> {
    let mut spans = vec![Span::raw(format!(" {} ", tile.name))];
    let sep = || Span::raw(" · ");
    match &tile.reach {
        Reach::Denied(_) => {
            spans.push(Span::styled(" permission denied ", alert(Color::Red)));
            return spans;
        }
        Reach::Gone(why) => {
            spans.push(Span::styled(format!(" {why} "), alert(Color::Red)));
            return spans;
        }
        Reach::Connecting => {
            spans.push(Span::raw(" connecting "));
            return spans;
        }
        Reach::Live => {}
    }
    let Some(st) = tile.status_now() else {
        return spans;
    };
    spans.push(Span::styled(
        format!(" {} ", state_text(&st)),
        state_style(st.state),
    ));
    spans.push(sep());
    spans.push(Span::raw(match tile.access {
        Some(Access::Operator) => "rw",
        _ => "ro",
    }));
    if let Some(fg) = &st.foreground {
        spans.push(sep());
        spans.push(Span::raw(fg.clone()));
    }
    spans.push(sep());
    spans.push(Span::raw(format!("↻ {} ", st.restarts)));
    spans
}

fn state_text(st: &Status) -> String {
    let exit = || st.last_exit.as_ref().map(|e| e.text.clone());
    match st.state {
        State::Backoff => match st.restart_in_ms {
            Some(ms) => format!("backoff, restart in {}s", ms.div_ceil(1000)),
            None => "backoff".into(),
        },
        State::Failed | State::Exited => match exit() {
            Some(e) => format!("{} ({e})", st.state),
            None => st.state.to_string(),
        },
        other => other.to_string(),
    }
}

fn state_style(state: State) -> Style {
    match state {
        State::Running => Style::new().fg(Color::LightGreen),
        State::Starting => Style::new().fg(Color::LightCyan),
        State::Backoff => alert(Color::Yellow),
        State::Failed => alert(Color::Red),
        State::Exited | State::Stopped => Style::new().fg(Color::Gray),
    }
}

fn alert(bg: Color) -> Style {
    Style::new()
        .bg(bg)
        .fg(Color::Black)
        .add_modifier(Modifier::BOLD)
}

/// The session's screen in `body`: the part around the cursor when it is
/// larger, cell by cell with its colours.
fn screen(tile: &mut Tile, body: Rect, focused: bool, buf: &mut Buffer) {
    let screen = tile.screen.screen();
    let (rows, cols) = screen.size();
    let (rows, cols) = (rows.get(), cols.get());
    let (cur_row, cur_col) = screen.cursor_position();
    tile.top = crate::viewport::follow(tile.top, body.height, cur_row, rows);
    tile.left = crate::viewport::follow(tile.left, body.width, cur_col, cols);
    let show_cursor = focused && !screen.hide_cursor();
    for dy in 0..body.height.min(rows - tile.top.min(rows)) {
        let row = tile.top + dy;
        let mut dx = 0;
        while dx < body.width && tile.left + dx < cols {
            let col = tile.left + dx;
            let (x, y) = (body.x + dx, body.y + dy);
            dx += 1;
            let Some(cell) = screen.cell(row, col) else {
                continue;
            };
            if cell.is_wide_continuation() {
                continue;
            }
            let mut style = cell_style(cell);
            if show_cursor && (row, col) == (cur_row, cur_col) {
                style = style.add_modifier(Modifier::REVERSED);
            }
            let text = cell.contents();
            // A wide character cut by the tile's edge is not drawn half.
            let symbol = match (text.is_empty(), cell.is_wide() && dx >= body.width) {
                (true, _) | (_, true) => " ",
                _ => text,
            };
            buf[(x, y)].set_symbol(symbol).set_style(style);
        }
    }
}

fn cell_style(cell: &vt100::Cell) -> Style {
    let mut style = Style::new()
        .fg(color(cell.fgcolor()))
        .bg(color(cell.bgcolor()));
    for (on, m) in [
        (cell.bold(), Modifier::BOLD),
        (cell.dim(), Modifier::DIM),
        (cell.italic(), Modifier::ITALIC),
        (cell.underline(), Modifier::UNDERLINED),
        (cell.inverse(), Modifier::REVERSED),
    ] {
        if on {
            style = style.add_modifier(m);
        }
    }
    style
}

fn color(c: vt100::Color) -> Color {
    match c {
        vt100::Color::Default => Color::Reset,
        vt100::Color::Idx(i) => Color::Indexed(i),
        vt100::Color::Rgb(r, g, b) => Color::Rgb(r, g, b),
    }
}

/// The bottom line: the keys, the layout, how many sessions.
pub fn hint(view: &View, count: usize, area: Rect, buf: &mut Buffer) {
    let zoom = if view.zoomed { ", zoomed" } else { "" };
    let text = format!(
        "[{}{zoom}, {count} session{}]  {}",
        view.layout.as_str(),
        if count == 1 { "" } else { "s" },
        view.notice.as_deref().unwrap_or(HINT)
    );
    Line::from(text)
        .style(Style::new().add_modifier(Modifier::REVERSED))
        .render(area, buf);
}

/// Columns the keys take in the help box, before their descriptions.
const KEY_COLUMN: usize = 18;

/// `text` in lines of at most `width` columns, broken between words.
fn wrap_words(text: &str, width: usize) -> Vec<String> {
    let mut lines = vec![String::new()];
    for word in text.split(' ') {
        let line = lines.last_mut().expect("one line at least");
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(word.to_owned());
        } else {
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
    }
    lines
}

/// The full list of keys, over the tiles; a description too long for a
/// line goes on under itself, not under the keys.
pub fn help(area: Rect, buf: &mut Buffer) {
    let width = area.width.saturating_sub(4).min(100);
    let room = usize::from(width.saturating_sub(2))
        .saturating_sub(KEY_COLUMN)
        .max(10);
    let mut lines: Vec<Line> = Vec::new();
    for (keys, what) in KEYS {
        for (i, part) in wrap_words(what, room).into_iter().enumerate() {
            let left = match i {
                0 => format!("{keys:>16}  "),
                _ => " ".repeat(KEY_COLUMN),
            };
            lines.push(Line::from(vec![
                Span::styled(left, Style::new().add_modifier(Modifier::BOLD)),
                Span::raw(part),
            ]));
        }
    }
    let height = area
        .height
        .saturating_sub(2)
        .min(u16::try_from(lines.len() + 2).unwrap_or(20));
    let boxed = Rect::new(
        area.x + (area.width - width) / 2,
        area.y + (area.height - height) / 2,
        width,
        height,
    );
    Clear.render(boxed, buf);
    Paragraph::new(lines)
        .block(Block::bordered().title(" berth watch: keys "))
        .render(boxed, buf);
}

/// Says there is nothing to show yet.
pub fn empty(what: &str, area: Rect, buf: &mut Buffer) {
    Paragraph::new(format!(
        "no session matches {what} (yet); waiting for one to appear"
    ))
    .wrap(Wrap { trim: true })
    .render(area, buf);
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU16;
    use std::time::Instant;

    use berth_config::dashboard::Layout;
    use ratatui::backend::TestBackend;

    use super::*;
    use berth_cli::layout::tiles;

    fn status(name: &str, state: &str, restarts: u32, foreground: &str) -> Status {
        serde_json::from_value(serde_json::json!({
            "name": name, "state": state, "pid": 7, "user": "svc", "uid": 999,
            "command": ["bash"], "restarts": restarts, "last_exit": null, "clients": [],
            "size": {"cols": 60, "rows": 20}, "log": null, "foreground": foreground,
            "uptime_s": 5, "restart_in_ms": 3000, "last_error": null, "log_error": null,
            "host_pid": 6
        }))
        .unwrap()
    }

    fn live(name: &str, state: &str, access: Access, output: &str) -> Tile {
        let mut t = Tile::new(name);
        t.reach = Reach::Live;
        t.access = Some(access);
        t.status = Some((status(name, state, 2, "bash"), Instant::now()));
        let nz = |n| NonZeroU16::new(n).unwrap();
        t.screen = vt100::Parser::new(nz(20), nz(60), 0);
        t.screen.process(output.as_bytes());
        t
    }

    /// The dashboard drawn into a 70x14 terminal, as text.
    fn drawn(list: &mut [Tile], layout: Layout, focus: usize) -> String {
        let mut term = ratatui::Terminal::new(TestBackend::new(70, 14)).unwrap();
        let sizes = vec![Size { cols: 60, rows: 20 }; list.len()];
        term.draw(|f| {
            let area = Rect::new(0, 0, 70, 13);
            let rects = tiles(layout, area, &sizes);
            for (i, (t, r)) in list.iter_mut().zip(rects).enumerate() {
                tile(t, r, i == focus, r.right() >= area.right(), f.buffer_mut());
            }
            let mut view = View::new(layout);
            view.focus = focus;
            hint(&view, list.len(), Rect::new(0, 13, 70, 1), f.buffer_mut());
        })
        .unwrap();
        let buf = term.backend().buffer();
        let mut out = String::new();
        for y in 0..buf.area.height {
            for x in 0..buf.area.width {
                out.push_str(buf[(x, y)].symbol());
            }
            out.push('\n');
        }
        out
    }

    use berth_proto::Size;

    #[test]
    fn three_sessions_in_main_vertical() {
        // The agent triad: the worker's long lines are cropped (the cursor
        // is on the left), the db log is followed to its last lines.
        let db: String = (1..=20).map(|i| format!("\r\ndb log line {i}")).collect();
        let mut list = [
            live(
                "engine",
                "running",
                Access::Operator,
                "$ engine --serve\r\nlistening on :8080",
            ),
            live(
                "worker",
                "backoff",
                Access::Observer,
                &format!("{}\r\njob 7 done\r\n$ ", "x".repeat(59)),
            ),
            live("db", "running", Access::Observer, &db),
        ];
        insta::assert_snapshot!(drawn(&mut list, Layout::MainVertical, 0));
    }

    #[test]
    fn denied_and_gone_sessions_say_so() {
        let mut denied = Tile::new("secret");
        denied.reach =
            Reach::Denied("permission denied: you may not read session \"secret\"".into());
        let mut gone = Tile::new("old");
        gone.reach = Reach::Gone("not running".into());
        let mut list = [live("ok", "failed", Access::Operator, "bye"), denied, gone];
        insta::assert_snapshot!(drawn(&mut list, Layout::EvenVertical, 1));
    }

    #[test]
    fn the_help_box_wraps_descriptions_under_themselves() {
        let area = Rect::new(0, 0, 60, 30);
        let mut buf = Buffer::empty(area);
        help(area, &mut buf);
        let rows: Vec<String> = (0..area.height)
            .map(|y| (0..area.width).map(|x| buf[(x, y)].symbol()).collect())
            .collect();
        let enter = rows
            .iter()
            .position(|r| r.contains("Enter  attach"))
            .expect("the Enter line");
        // The next line goes on with the description, in its column.
        let next = &rows[enter + 1];
        let start = rows[enter].find("attach").unwrap();
        assert_eq!(
            next[..start].trim_matches(|c| c == ' ' || c == '│'),
            "",
            "{rows:#?}"
        );
        assert!(!next[start..].starts_with(' '), "{rows:#?}");
    }
}
