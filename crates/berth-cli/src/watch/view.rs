//! What the dashboard shows and how keys and clicks change it: focus,
//! zoom, layout, help. No I/O here, so every key is unit-tested.

use berth_config::dashboard::Layout;
use ratatui::crossterm::event::{
    KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};
use ratatui::layout::{Position, Rect};

use berth_cli::layout::{neighbour, Direction};

pub use berth_cli::watch_keys::{HINT, KEYS};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct View {
    pub layout: Layout,
    pub focus: usize,
    pub zoomed: bool,
    pub help: bool,
    /// A line for the user (why an attach failed), shown instead of the
    /// keys until the next key.
    pub notice: Option<String>,
}

/// What the caller does after an input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Nothing changed.
    None,
    /// The view changed: draw it.
    Draw,
    /// Attach to the focused tile's session.
    Attach(usize),
    Quit,
}

impl View {
    pub fn new(layout: Layout) -> Self {
        Self {
            layout,
            focus: 0,
            zoomed: false,
            help: false,
            notice: None,
        }
    }

    /// A key, with the tiles as drawn (for moves by direction). Any key
    /// also clears the notice.
    pub fn key(&mut self, key: KeyEvent, tiles: &[Rect]) -> Action {
        if key.kind == KeyEventKind::Release {
            return Action::None;
        }
        let noticed = self.notice.take().is_some();
        match self.act(key, tiles) {
            Action::None if noticed => Action::Draw,
            action => action,
        }
    }

    fn act(&mut self, key: KeyEvent, tiles: &[Rect]) -> Action {
        if self.help {
            self.help = false;
            return Action::Draw;
        }
        let count = tiles.len();
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let dir = match key.code {
            KeyCode::Char('c') if ctrl => return Action::Quit,
            KeyCode::Char('q') => return Action::Quit,
            KeyCode::Char('?') => {
                self.help = true;
                return Action::Draw;
            }
            KeyCode::Char('z') if count > 0 => {
                self.zoomed = !self.zoomed;
                return Action::Draw;
            }
            KeyCode::Esc if self.zoomed => {
                self.zoomed = false;
                return Action::Draw;
            }
            KeyCode::Char(' ') => {
                self.layout = self.layout.next();
                return Action::Draw;
            }
            KeyCode::Enter if count > 0 => return Action::Attach(self.focus),
            KeyCode::Tab if count > 0 => return self.focus_on((self.focus + 1) % count),
            KeyCode::BackTab if count > 0 => {
                return self.focus_on((self.focus + count - 1) % count)
            }
            KeyCode::Left | KeyCode::Char('h') => Direction::Left,
            KeyCode::Right | KeyCode::Char('l') => Direction::Right,
            KeyCode::Up | KeyCode::Char('k') => Direction::Up,
            KeyCode::Down | KeyCode::Char('j') => Direction::Down,
            _ => return Action::None,
        };
        if self.zoomed {
            return Action::None;
        }
        match neighbour(tiles, self.focus, dir) {
            Some(i) => self.focus_on(i),
            None => Action::None,
        }
    }

    /// A mouse event: a left click focuses the tile under it.
    pub fn mouse(&mut self, event: MouseEvent, tiles: &[Rect]) -> Action {
        if event.kind != MouseEventKind::Down(MouseButton::Left) || self.zoomed {
            return Action::None;
        }
        let at = Position::new(event.column, event.row);
        match tiles.iter().position(|r| r.contains(at)) {
            Some(i) => self.focus_on(i),
            None => Action::None,
        }
    }

    /// Keeps the focus on a tile that exists after the list changed.
    pub fn clamp(&mut self, count: usize) {
        self.focus = self.focus.min(count.saturating_sub(1));
        if count == 0 {
            self.zoomed = false;
        }
    }

    fn focus_on(&mut self, i: usize) -> Action {
        if i == self.focus {
            return Action::None;
        }
        self.focus = i;
        Action::Draw
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_proto::Size;

    fn press(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    fn three() -> Vec<Rect> {
        let s = Size { cols: 80, rows: 24 };
        berth_cli::layout::tiles(Layout::MainVertical, Rect::new(0, 0, 80, 24), &[s; 3])
    }

    #[test]
    fn keys_move_zoom_attach_and_quit() {
        let tiles = three();
        let mut v = View::new(Layout::MainVertical);
        assert_eq!(v.key(press(KeyCode::Right), &tiles), Action::Draw);
        assert_eq!(v.focus, 1);
        assert_eq!(v.key(press(KeyCode::Char('j')), &tiles), Action::Draw);
        assert_eq!(v.focus, 2);
        assert_eq!(v.key(press(KeyCode::Down), &tiles), Action::None);
        assert_eq!(v.key(press(KeyCode::Tab), &tiles), Action::Draw);
        assert_eq!(v.focus, 0);
        assert_eq!(v.key(press(KeyCode::BackTab), &tiles), Action::Draw);
        assert_eq!(v.focus, 2);
        assert_eq!(v.key(press(KeyCode::Char('z')), &tiles), Action::Draw);
        assert!(v.zoomed);
        assert_eq!(
            v.key(press(KeyCode::Left), &tiles),
            Action::None,
            "zoomed: focus stays"
        );
        assert_eq!(v.key(press(KeyCode::Esc), &tiles), Action::Draw);
        assert!(!v.zoomed);
        assert_eq!(v.key(press(KeyCode::Enter), &tiles), Action::Attach(2));
        assert_eq!(v.key(press(KeyCode::Char(' ')), &tiles), Action::Draw);
        assert_eq!(v.layout, Layout::MainHorizontal);
        assert_eq!(v.key(press(KeyCode::Char('?')), &tiles), Action::Draw);
        assert_eq!(
            v.key(press(KeyCode::Char('q')), &tiles),
            Action::Draw,
            "closes help"
        );
        assert!(!v.help);
        assert_eq!(v.key(press(KeyCode::Char('q')), &tiles), Action::Quit);
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(v.key(ctrl_c, &tiles), Action::Quit);
    }

    #[test]
    fn any_key_clears_the_notice() {
        let tiles = three();
        let mut v = View::new(Layout::Auto);
        v.notice = Some("cannot attach".into());
        assert_eq!(v.key(press(KeyCode::Char('x')), &tiles), Action::Draw);
        assert_eq!(v.notice, None);
        assert_eq!(v.key(press(KeyCode::Char('x')), &tiles), Action::None);
    }

    #[test]
    fn a_click_focuses_the_tile_under_it() {
        let tiles = three();
        let mut v = View::new(Layout::MainVertical);
        let click = |column, row| MouseEvent {
            kind: MouseEventKind::Down(MouseButton::Left),
            column,
            row,
            modifiers: KeyModifiers::NONE,
        };
        assert_eq!(v.mouse(click(70, 20), &tiles), Action::Draw);
        assert_eq!(v.focus, 2);
        assert_eq!(v.mouse(click(70, 20), &tiles), Action::None);
        assert_eq!(v.mouse(click(3, 3), &tiles), Action::Draw);
        assert_eq!(v.focus, 0);
    }
}
