//! `berth watch`: several live sessions tiled in one terminal.
//!
//! Threads: one per session connection (screen frames, status; feed.rs),
//! one reading the keyboard and mouse, one taking termination signals;
//! all send to the drawing loop here, which draws at most once per
//! [`feed::FRAME`] whatever arrives, and otherwise sleeps (once a second
//! it looks for sessions that appeared and ages the titles' clocks).
//! Enter runs `berth attach` for the focused session on this terminal
//! and comes back when it detaches. watch itself never types into a
//! session: every connection it opens is read-only.

mod draw;
mod feed;
use berth_cli::layout;
mod select;
mod view;

use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use berth_config::dashboard::Layout;
use berth_proto::{Access, Size};
use nix::sys::signal::Signal;
use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::event::{self, DisableMouseCapture, EnableMouseCapture, Event};
use ratatui::crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, Clear, ClearType, EnterAlternateScreen, LeaveAlternateScreen,
};
use ratatui::crossterm::{cursor, execute};
use ratatui::layout::Rect;
use ratatui::Terminal;

use select::Selection;
use view::{Action, View};

/// How often sessions that appeared are looked for, and titles' clocks move.
const TICK: Duration = Duration::from_secs(1);

/// What wakes the drawing loop.
pub enum Msg {
    /// A tile's screen, status or reach changed.
    Changed,
    Input(Event),
    /// The input thread stopped reading (an attach takes the terminal).
    Paused,
    Signal(Signal),
}

pub struct Args {
    pub sessions: Vec<String>,
    pub dashboard: Option<String>,
    pub config: Option<PathBuf>,
    pub layout: Option<Layout>,
}

/// Runs the dashboard until the user quits; the exit code.
pub fn run(args: Args, runtime: Option<&Path>) -> anyhow::Result<u8> {
    let (selection, layout) = Selection::new(&args, runtime)?;
    selection.check_names(&args)?;
    if !(std::io::stdin().is_terminal() && std::io::stdout().is_terminal()) {
        bail!("watch needs a terminal (stdin and stdout); for text use berth capture NAME");
    }
    let signals = crate::attach::take_signals(&[])?;
    let (tx, rx) = mpsc::channel();
    {
        let tx = tx.clone();
        std::thread::spawn(move || {
            if let Ok(sig) = signals.wait() {
                let _ = tx.send(Msg::Signal(sig));
            }
        });
    }
    let (pause_tx, pause_rx) = mpsc::channel();
    {
        let tx = tx.clone();
        std::thread::spawn(move || read_input(&tx, &pause_rx));
    }
    let mut screen = Screen::enter()?;
    let mut dash = Dashboard {
        selection,
        view: View::new(layout),
        followed: HashMap::new(),
        shown: Vec::new(),
        tiles: Vec::new(),
        wake: tx,
    };
    dash.rescan();
    let end = dash.run(&mut screen, &rx, &pause_tx);
    drop(screen);
    match end {
        Ok(None) => Ok(0),
        Ok(Some(sig)) => {
            eprintln!("[berth watch: got {}]", sig.as_str());
            Ok(1)
        }
        Err(e) => Err(e),
    }
}

struct Dashboard {
    selection: Selection,
    view: View,
    /// Every session followed so far, by title.
    followed: HashMap<String, (feed::Place, feed::Shared)>,
    /// The sessions shown, in order.
    shown: Vec<String>,
    /// Where each shown tile was last drawn.
    tiles: Vec<Rect>,
    wake: Sender<Msg>,
}

impl Dashboard {
    /// The loop: input and changes in, at most one draw per frame out.
    fn run(
        &mut self,
        screen: &mut Screen,
        rx: &Receiver<Msg>,
        pause: &Sender<bool>,
    ) -> anyhow::Result<Option<Signal>> {
        let mut dirty = true;
        let mut drawn = Instant::now() - feed::FRAME;
        let mut ticked = Instant::now();
        loop {
            if dirty && drawn.elapsed() >= feed::FRAME {
                self.draw(screen)?;
                drawn = Instant::now();
                dirty = false;
            }
            let timeout = if dirty {
                feed::FRAME.saturating_sub(drawn.elapsed())
            } else {
                TICK.saturating_sub(ticked.elapsed())
            };
            let msg = match rx.recv_timeout(timeout) {
                Ok(m) => Some(m),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => return Ok(None),
            };
            if ticked.elapsed() >= TICK {
                ticked = Instant::now();
                self.rescan();
                dirty = true;
            }
            let action = match msg {
                None | Some(Msg::Paused) => Action::None,
                Some(Msg::Changed) => Action::Draw,
                Some(Msg::Signal(sig)) => return Ok(Some(sig)),
                Some(Msg::Input(Event::Key(key))) => self.view.key(key, &self.tiles),
                Some(Msg::Input(Event::Mouse(m))) => self.view.mouse(m, &self.tiles),
                Some(Msg::Input(Event::Resize(..))) => Action::Draw,
                Some(Msg::Input(_)) => Action::None,
            };
            match action {
                Action::None => {}
                Action::Draw => dirty = true,
                Action::Quit => return Ok(None),
                Action::Attach(i) => {
                    self.attach(i, screen, rx, pause)?;
                    dirty = true;
                }
            }
        }
    }

    /// Follows sessions that appeared; the tiles are the selection's now.
    fn rescan(&mut self) {
        let (shown, places) = self.selection.sessions();
        for (title, place) in places {
            if !self.followed.contains_key(&title) {
                let shared = feed::follow(&title, place.clone(), self.wake.clone());
                self.followed.insert(title, (place, shared));
            }
        }
        // The focus stays on its session when others come or go.
        let focused = self.shown.get(self.view.focus).cloned();
        self.shown = shown;
        if let Some(i) = focused.and_then(|f| self.shown.iter().position(|n| *n == f)) {
            self.view.focus = i;
        }
        self.view.clamp(self.shown.len());
    }

    fn draw(&mut self, screen: &mut Screen) -> anyhow::Result<()> {
        let shown = &self.shown;
        let followed = &self.followed;
        let view = &self.view;
        let mut placed = Vec::new();
        let what = self.selection.describe();
        screen
            .terminal
            .draw(|frame| {
                let area = frame.area();
                let buf = frame.buffer_mut();
                let (tiles_area, hint_area) = (
                    Rect::new(area.x, area.y, area.width, area.height.saturating_sub(1)),
                    Rect::new(area.x, area.bottom().saturating_sub(1), area.width, 1),
                );
                let sizes: Vec<Size> = shown
                    .iter()
                    .map(|n| {
                        let t = followed[n].1.lock();
                        let (rows, cols) = t.screen.screen().size();
                        Size {
                            cols: cols.get(),
                            rows: rows.get(),
                        }
                    })
                    .collect();
                placed = layout::tiles(view.layout, tiles_area, &sizes);
                if shown.is_empty() {
                    draw::empty(&what, tiles_area, buf);
                }
                for (i, name) in shown.iter().enumerate() {
                    let rect = if view.zoomed {
                        if i != view.focus {
                            continue;
                        }
                        tiles_area
                    } else {
                        placed[i]
                    };
                    let last = rect.right() >= tiles_area.right();
                    let mut t = followed[name].1.lock();
                    draw::tile(&mut t, rect, i == view.focus, last, buf);
                }
                draw::hint(view, shown.len(), hint_area, buf);
                if view.help {
                    draw::help(tiles_area, buf);
                }
            })
            .context("failed to draw")?;
        self.tiles = placed;
        Ok(())
    }

    /// Runs `berth attach` on this terminal for tile `i`, then comes back.
    fn attach(
        &mut self,
        i: usize,
        screen: &mut Screen,
        rx: &Receiver<Msg>,
        pause: &Sender<bool>,
    ) -> anyhow::Result<()> {
        let Some(name) = self.shown.get(i) else {
            return Ok(());
        };
        let (place, shared) = &self.followed[name];
        let (reach, access) = {
            let t = shared.lock();
            (t.reach.clone(), t.access)
        };
        // A session the view cannot reach is not attached to: the tile
        // already says why.
        if reach != feed::Reach::Live {
            self.view.notice = Some(format!("cannot attach to {name}: see its tile"));
            return Ok(());
        }
        let read_only = access != Some(Access::Operator);
        // The keyboard goes to the attach: stop reading it first.
        pause.send(true).ok();
        while let Ok(msg) = rx.recv() {
            if let Msg::Paused = msg {
                break;
            }
        }
        // The attach draws on watch's alternate screen and never switches
        // screens, so the user's own screen under it is as it was when
        // watch quits.
        screen.hand_over()?;
        let exe = std::env::current_exe().context("failed to find the berth binary")?;
        let mut cmd = std::process::Command::new(exe);
        match place {
            feed::Place::Local(path) => {
                cmd.arg("attach")
                    .arg("--nested")
                    .arg("--socket")
                    .arg(path)
                    .arg(name);
            }
            feed::Place::Remote(remote, session) => {
                cmd.arg("-H")
                    .arg(&remote.url)
                    .arg("attach")
                    .arg("--nested")
                    .arg(session);
            }
        }
        if read_only {
            cmd.arg("-r");
        }
        // Its errors are shown on the dashboard's last line, which comes
        // back at once (on this terminal they would be drawn over).
        cmd.stderr(std::process::Stdio::piped());
        let out = cmd.spawn().and_then(|child| child.wait_with_output());
        screen.resume()?;
        pause.send(false).ok();
        let out = out.context("failed to run berth attach")?;
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            let line = err.lines().rev().find(|l| !l.trim().is_empty());
            self.view.notice = Some(match line {
                Some(l) => l.trim().to_owned(),
                None => format!("berth attach {name} ended with {}", out.status),
            });
        }
        Ok(())
    }
}

/// Keyboard, mouse and resize events to the loop; stops reading while an
/// attach has the terminal (`true` on `pause` stops, `false` resumes).
fn read_input(tx: &Sender<Msg>, pause: &Receiver<bool>) {
    loop {
        if let Ok(true) = pause.try_recv() {
            if tx.send(Msg::Paused).is_err() {
                return;
            }
            // Until resumed.
            while let Ok(true) = pause.recv() {}
        }
        match event::poll(Duration::from_millis(100)) {
            Ok(true) => match event::read() {
                Ok(ev) => {
                    if tx.send(Msg::Input(ev)).is_err() {
                        return;
                    }
                }
                Err(_) => return,
            },
            Ok(false) => {}
            Err(_) => return,
        }
    }
}

/// The terminal in raw mode on its alternate screen with the mouse
/// reported; restored on drop, however watch ends.
struct Screen {
    terminal: Terminal<CrosstermBackend<std::io::Stdout>>,
    /// Raw mode and the mouse are on.
    active: bool,
    /// On the alternate screen (entering it twice would save the cursor
    /// over the user's, which leaving it restores).
    alternate: bool,
}

impl Screen {
    fn enter() -> anyhow::Result<Self> {
        let mut this = Self {
            terminal: new_terminal()?,
            active: false,
            alternate: false,
        };
        this.resume()?;
        Ok(this)
    }

    fn resume(&mut self) -> anyhow::Result<()> {
        enable_raw_mode().context("failed to put the terminal in raw mode")?;
        self.active = true;
        if !std::mem::replace(&mut self.alternate, true) {
            execute!(std::io::stdout(), EnterAlternateScreen)?;
        }
        execute!(
            std::io::stdout(),
            EnableMouseCapture,
            cursor::Hide,
            Clear(ClearType::All)
        )?;
        // A new terminal's previous frame is blank, like the screen now, so
        // the next draw writes every cell. (Terminal::clear would ask the
        // terminal where its cursor is, and wait for the answer.)
        self.terminal = new_terminal()?;
        Ok(())
    }

    /// Lends the terminal to an attach: its own modes, on this alternate
    /// screen, cleared ([`Screen::resume`] takes it back).
    fn hand_over(&mut self) -> anyhow::Result<()> {
        if !std::mem::take(&mut self.active) {
            return Ok(());
        }
        execute!(
            std::io::stdout(),
            DisableMouseCapture,
            cursor::Show,
            Clear(ClearType::All)
        )?;
        disable_raw_mode().context("failed to restore the terminal's mode")?;
        Ok(())
    }

    fn leave(&mut self) {
        if std::mem::take(&mut self.active) {
            let _ = execute!(std::io::stdout(), DisableMouseCapture);
            let _ = disable_raw_mode();
        }
        if std::mem::take(&mut self.alternate) {
            let _ = execute!(std::io::stdout(), LeaveAlternateScreen, cursor::Show);
        }
    }
}

fn new_terminal() -> anyhow::Result<Terminal<CrosstermBackend<std::io::Stdout>>> {
    Terminal::new(CrosstermBackend::new(std::io::stdout())).context("failed to set up the terminal")
}

impl Drop for Screen {
    fn drop(&mut self) {
        self.leave();
    }
}
