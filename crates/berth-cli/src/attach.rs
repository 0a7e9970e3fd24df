//! `berth attach`: the interactive client.
//!
//! Three threads, no timers on the path: the main thread copies session
//! output to the terminal as it arrives; an input thread copies keystrokes
//! to the session, watching for the detach key; a signal thread turns
//! SIGWINCH into resize requests and SIGTERM/SIGHUP/SIGINT/SIGQUIT into a
//! clean exit. The terminal is restored on every way out.

use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::sync::{Arc, Mutex, OnceLock};

use anyhow::{bail, Context};
use berth_proto::sync::{Event, Input};
use berth_proto::{AttachRequest, Request, Size};
use nix::sys::signal::{pthread_sigmask, SigSet, SigmaskHow, Signal};

use crate::connect::{request_error, Session};
use crate::viewport::Viewport;

pub struct Options {
    pub read_only: bool,
    pub detach_others: bool,
    /// The detach prefix byte; the prefix then `d` detaches.
    pub prefix: u8,
    /// The terminal is `berth watch`'s alternate screen (see viewport.rs).
    pub nested: bool,
}

/// How an attach ended.
enum End {
    Detached(String),
    Ended,
    Signal(Signal),
    Lost,
}

/// Whether the user's terminal can host an interactive attach.
pub fn check_terminal(opts: &Options) -> anyhow::Result<bool> {
    use std::io::IsTerminal;
    let stdin = std::io::stdin().is_terminal();
    let stdout = std::io::stdout().is_terminal();
    if stdin && stdout {
        return Ok(true);
    }
    if opts.read_only && !stdout {
        return Ok(false); // text stream into a pipe or file
    }
    bail!("attach needs a terminal, and {} is not one (use berth capture NAME, or berth attach -r NAME | ... to stream text)",
        if stdin { "stdout" } else { "stdin" })
}

/// Attaches with the terminal in raw mode until detach; returns the exit code.
pub fn interactive(name: &str, mut session: Session, opts: &Options) -> anyhow::Result<u8> {
    let size = terminal_size();
    let attached = session
        .attach(AttachRequest {
            read_only: opts.read_only,
            detach_others: opts.detach_others,
            size: Some(size),
            frames: false,
        })
        .map_err(|e| request_error(name, e))?;
    let read_only = attached.read_only;
    // Draws the session into this terminal, cropped when it is smaller.
    let view = match opts.nested {
        true => Viewport::nested(attached.size, size, attached.redraw),
        false => Viewport::new(attached.size, size, attached.redraw),
    };
    let view = Arc::new(Mutex::new(view));
    session.stream().set_read_timeout(None)?;

    let signals = take_signals(&[Signal::SIGWINCH])?;

    let _raw = RawMode::enter()?;
    let writer = Arc::new(Mutex::new(session.input()?));
    let signalled: Arc<OnceLock<Signal>> = Arc::new(OnceLock::new());
    {
        let writer = Arc::clone(&writer);
        let signalled = Arc::clone(&signalled);
        let wake = session.input()?;
        let view = Arc::clone(&view);
        std::thread::spawn(move || {
            signal_thread(signals, writer, signalled, wake, read_only, view)
        });
    }
    {
        let writer = Arc::clone(&writer);
        let prefix = opts.prefix;
        let view = Arc::clone(&view);
        std::thread::spawn(move || input_thread(writer, prefix, read_only, view));
    }
    // The terminal's title names the session (tmux's set-titles); the
    // user's own is pushed and comes back on the way out.
    let _ = write_out(format!("\x1b[22;0t\x1b]2;berth: {name}\x07").as_bytes());
    if read_only && !opts.read_only {
        // An observer asked for read-write.
        let _ = writeln_raw(&format!(
            "[attached to {name} read-only: you may only observe it]"
        ));
    }
    let end = output_loop(&mut session, &signalled, &view, &writer);
    drop(_raw);
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(b"\x1b[23;0t");
    // Modes a program may have left on, turned off on the way out, so the
    // user's shell gets its terminal back as it was.
    let _ = out.write_all(berth_proto::keys::SANE_MODES.as_bytes());
    if view.lock().map_or(true, |v| v.on_alternate_screen()) {
        let _ = out.write_all(b"\x1b[?1049l");
    }
    let (line, code) = match end {
        End::Detached(reason) if reason == "detached" => (format!("[detached from {name}]"), 0),
        End::Detached(reason) => (format!("[detached from {name}: {reason}]"), 0),
        End::Ended => (format!("[session {name} ended]"), 0),
        End::Signal(sig) => (
            format!("[detached from {name}: berth got {}]", sig.as_str()),
            1,
        ),
        End::Lost => (format!("[lost connection to session {name}]"), 1),
    };
    let _ = writeln!(out, "\n{line}");
    let _ = out.flush();
    Ok(code)
}

/// `attach -r` into a pipe: the screen as text, then live output with
/// escape sequences removed.
pub fn text_stream(name: &str, mut session: Session, opts: &Options) -> anyhow::Result<u8> {
    session
        .attach(AttachRequest {
            read_only: true,
            detach_others: opts.detach_others,
            size: None,
            frames: false,
        })
        .map_err(|e| request_error(name, e))?;
    session.stream().set_read_timeout(None)?;
    // A termination signal ends the stream like a detach, with exit 1 (no
    // terminal to restore, but the reader is told why it ended).
    let signals = take_signals(&[])?;
    let signalled: Arc<OnceLock<Signal>> = Arc::new(OnceLock::new());
    {
        let signalled = Arc::clone(&signalled);
        let wake = session.input()?;
        std::thread::spawn(move || {
            if let Ok(sig) = signals.wait() {
                let _ = signalled.set(sig);
                wake.close();
            }
        });
    }
    let stdout = std::io::stdout();
    let mut first = true;
    let mut plain = strip_ansi_escapes::Writer::new(stdout.lock());
    loop {
        match session.event() {
            Ok(Event::Output(bytes)) if first => {
                // The first data frame is the screen, already plain text.
                first = false;
                let mut out = stdout.lock();
                out.write_all(&bytes).context("failed to write output")?;
                out.flush()?;
            }
            Ok(Event::Output(bytes)) => {
                plain.write_all(&bytes).context("failed to write output")?;
                plain.flush()?;
            }
            Ok(Event::Ended) => {
                eprintln!("[session {name} ended]");
                return Ok(0);
            }
            Ok(Event::Detached(reason)) => {
                eprintln!("[detached from {name}: {reason}]");
                return Ok(0);
            }
            Ok(Event::Resized(_) | Event::Redraw | Event::Changed) => {}
            Err(_) => {
                match signalled.get() {
                    Some(sig) => eprintln!("[detached from {name}: berth got {}]", sig.as_str()),
                    None => eprintln!("[lost connection to session {name}]"),
                }
                return Ok(1);
            }
        }
    }
}

fn output_loop(
    session: &mut Session,
    signalled: &OnceLock<Signal>,
    view: &Mutex<Viewport>,
    writer: &Mutex<Input>,
) -> End {
    loop {
        let Ok(event) = session.event() else {
            return signalled.get().map_or(End::Lost, |s| End::Signal(*s));
        };
        let shown = match event {
            Event::Output(bytes) => show(view, writer, |v| v.output(&bytes)),
            Event::Resized(size) => show(view, writer, |v| v.session_resized(size)),
            Event::Redraw => show(view, writer, |v| {
                v.redraw_begins();
                Vec::new()
            }),
            Event::Detached(reason) => return End::Detached(reason),
            Event::Ended => return End::Ended,
            // Only sent to clients attached for frames.
            Event::Changed => Ok(()),
        };
        if shown.is_err() {
            return End::Lost;
        }
    }
}

/// Writes what the viewport makes of something to the terminal, and asks
/// the host for the whole screen when the viewport needs it.
fn show(
    view: &Mutex<Viewport>,
    writer: &Mutex<Input>,
    f: impl FnOnce(&mut Viewport) -> Vec<u8>,
) -> Result<(), ()> {
    let redraw = {
        let mut v = view.lock().map_err(|_| ())?;
        let shown = f(&mut v);
        // Written under the lock: the output thread and the resize signal
        // both draw, and a draw computed first must reach the terminal
        // first (a stale window written last stayed on the screen).
        write_out(&shown).map_err(|_| ())?;
        v.take_redraw_request()
    };
    if redraw {
        writer
            .lock()
            .map_err(|_| ())?
            .request(&Request::Redraw)
            .map_err(|_| ())?;
    }
    Ok(())
}

/// How long a client's notice stays before the screen is drawn again.
const NOTICE_FOR: std::time::Duration = std::time::Duration::from_secs(3);

/// Keystrokes to the session; the prefix then `d` detaches, `?` shows the
/// client's keys, and an unbound key says so.
fn input_thread(
    writer: Arc<Mutex<Input>>,
    prefix: u8,
    read_only: bool,
    view: Arc<Mutex<Viewport>>,
) {
    let mut keys = DetachKeys::new(prefix);
    let mut buf = [0u8; 4096];
    let mut stdin = std::io::stdin().lock();
    let mut input = Vec::new();
    let p = key_name(prefix);
    loop {
        let n = match stdin.read(&mut buf) {
            Ok(0) | Err(_) => 0,
            Ok(n) => n,
        };
        input.clear();
        let asked = match n {
            0 => Some(ClientKey::Detach),
            n => keys.feed(&buf[..n], &mut input),
        };
        let Ok(mut w) = writer.lock() else { return };
        if !read_only && !input.is_empty() && w.keys(&input).is_err() {
            return;
        }
        drop(w);
        let notice = match asked {
            None => continue,
            Some(ClientKey::Detach) => {
                if let Ok(mut w) = writer.lock() {
                    let _ = w.request(&Request::Detach);
                }
                return;
            }
            Some(ClientKey::Help) => {
                format!("berth keys: {p} d detaches, {p} {p} sends {p}, {p} ? shows this")
            }
            Some(ClientKey::Unbound(b)) => format!(
                "{p} {} is not bound: nothing typed ({p} ? lists the keys)",
                key_name(b)
            ),
        };
        show_notice(&view, &writer, &notice);
    }
}

/// Writes `text` on the session's bottom row for [`NOTICE_FOR`], then asks
/// the host to draw the screen again over it.
fn show_notice(view: &Arc<Mutex<Viewport>>, writer: &Arc<Mutex<Input>>, text: &str) {
    let can_redraw = {
        let Ok(v) = view.lock() else { return };
        let cols = usize::from(terminal_size().cols);
        let text: String = text.chars().take(cols).collect();
        let row = v.bottom_row();
        let _ =
            write_out(format!("\x1b7\x1b[{row};1H\x1b[0;7m{text}\x1b[K\x1b[0m\x1b8").as_bytes());
        v.can_redraw()
    };
    if can_redraw {
        let writer = Arc::clone(writer);
        std::thread::spawn(move || {
            std::thread::sleep(NOTICE_FOR);
            if let Ok(mut w) = writer.lock() {
                let _ = w.request(&Request::Redraw);
            }
        });
    }
}

/// A key as tmux names it: C-b for 0x02, the character otherwise.
fn key_name(b: u8) -> String {
    match b {
        0 => "C-Space".into(),
        1..=26 => format!("C-{}", (b'a' + b - 1) as char),
        27 => "Escape".into(),
        28..=31 => format!("C-{}", (b'\\' + b - 28) as char),
        127 => "BSpace".into(),
        _ => (b as char).to_string(),
    }
}

/// The termination signals (and `extra`), blocked in this thread before
/// any other starts, so every thread inherits the mask and only the one
/// that waits on the returned set takes them.
pub(crate) fn take_signals(extra: &[Signal]) -> anyhow::Result<SigSet> {
    let mut signals = SigSet::empty();
    for s in [
        Signal::SIGTERM,
        Signal::SIGHUP,
        Signal::SIGINT,
        Signal::SIGQUIT,
    ]
    .iter()
    .chain(extra)
    {
        signals.add(*s);
    }
    pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&signals), None)?;
    Ok(signals)
}

/// Window changes become resize requests; termination signals end the attach.
fn signal_thread(
    signals: SigSet,
    writer: Arc<Mutex<Input>>,
    signalled: Arc<OnceLock<Signal>>,
    wake: Input,
    read_only: bool,
    view: Arc<Mutex<Viewport>>,
) {
    loop {
        let Ok(sig) = signals.wait() else { return };
        if sig == Signal::SIGWINCH {
            let size = terminal_size();
            let _ = show(&view, &writer, |v| v.terminal_resized(size));
            if read_only {
                continue;
            }
            let Size { cols, rows } = size;
            if let Ok(mut w) = writer.lock() {
                let _ = w.request(&Request::Resize { cols, rows });
            }
            continue;
        }
        let _ = signalled.set(sig);
        // Wakes the output loop, which then restores the terminal.
        wake.close();
        return;
    }
}

/// Detach-key recognition: the prefix then `d` detaches, the prefix twice
/// sends one prefix, the prefix then `?` shows the client's keys, and the
/// prefix then any other key sends nothing and says it is not bound (as
/// tmux does).
pub struct DetachKeys {
    prefix: u8,
    pending: bool,
}

/// What a prefixed key asked of the client itself.
#[derive(Debug, PartialEq, Eq)]
pub enum ClientKey {
    Detach,
    Help,
    /// The prefix, then this key, which nothing is bound to.
    Unbound(u8),
}

impl DetachKeys {
    pub fn new(prefix: u8) -> Self {
        Self {
            prefix,
            pending: false,
        }
    }

    /// Appends what to send for `input` to `out`; what the client itself
    /// was asked (the last such key: a detach ends the reading).
    pub fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) -> Option<ClientKey> {
        let mut asked = None;
        for &b in input {
            if self.pending {
                self.pending = false;
                match b {
                    b'd' => return Some(ClientKey::Detach),
                    b'?' => asked = Some(ClientKey::Help),
                    _ if b == self.prefix => out.push(b),
                    _ => asked = Some(ClientKey::Unbound(b)),
                }
            } else if b == self.prefix {
                self.pending = true;
            } else {
                out.push(b);
            }
        }
        asked
    }
}

/// The user's terminal in raw mode; restored on drop and on any exit.
struct RawMode;

static SAVED: OnceLock<rustix::termios::Termios> = OnceLock::new();

impl RawMode {
    fn enter() -> anyhow::Result<Self> {
        let stdin = std::io::stdin();
        let saved = rustix::termios::tcgetattr(stdin.as_fd())
            .context("failed to read the terminal settings")?;
        let mut raw = saved.clone();
        raw.make_raw();
        let _ = SAVED.set(saved);
        rustix::termios::tcsetattr(stdin.as_fd(), rustix::termios::OptionalActions::Now, &raw)
            .context("failed to put the terminal in raw mode")?;
        Ok(Self)
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        if let Some(saved) = SAVED.get() {
            let _ = rustix::termios::tcsetattr(
                std::io::stdin().as_fd(),
                rustix::termios::OptionalActions::Now,
                saved,
            );
        }
    }
}

/// Writes to the user's terminal at once.
fn write_out(bytes: &[u8]) -> std::io::Result<()> {
    if bytes.is_empty() {
        return Ok(());
    }
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)?;
    out.flush()
}

fn writeln_raw(line: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(format!("{line}\r\n").as_bytes())?;
    out.flush()
}

/// The user's terminal size, within the bounds the host accepts (a
/// terminal beyond them is drawn as if it were at the bound).
fn terminal_size() -> Size {
    let bounded = |n: u16| n.clamp(Size::MIN, Size::MAX);
    match rustix::termios::tcgetwinsize(std::io::stdout().as_fd()) {
        Ok(ws) if ws.ws_col > 0 && ws.ws_row > 0 => Size {
            cols: bounded(ws.ws_col),
            rows: bounded(ws.ws_row),
        },
        _ => Size { cols: 80, rows: 24 },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(keys: &mut DetachKeys, input: &[u8]) -> (Vec<u8>, Option<ClientKey>) {
        let mut out = Vec::new();
        let d = keys.feed(input, &mut out);
        (out, d)
    }

    #[test]
    fn detach_key_sequences() {
        let mut k = DetachKeys::new(2);
        assert_eq!(feed(&mut k, b"ls\r"), (b"ls\r".to_vec(), None));
        assert_eq!(feed(&mut k, &[2, 2]), (vec![2], None));
        // Unbound: nothing typed, the client says so.
        assert_eq!(
            feed(&mut k, &[2, b'x']),
            (vec![], Some(ClientKey::Unbound(b'x')))
        );
        assert_eq!(feed(&mut k, &[2, b'?']), (vec![], Some(ClientKey::Help)));
        // Split across reads.
        assert_eq!(feed(&mut k, b"a\x02"), (b"a".to_vec(), None));
        assert_eq!(feed(&mut k, b"d"), (vec![], Some(ClientKey::Detach)));
        let mut k = DetachKeys::new(2);
        assert_eq!(
            feed(&mut k, b"ab\x02dzz"),
            (b"ab".to_vec(), Some(ClientKey::Detach))
        );
    }
}
