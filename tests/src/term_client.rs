//! `berth attach` on a real PTY, with a second emulator standing in for the
//! user's terminal.

use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::process::{Child, ExitStatus};
use std::sync::{Arc, Mutex};

use crate::{bin, wait_until, Env, DEADLINE};

pub struct TermClient {
    pub child: Child,
    pty: Arc<pty_process::blocking::Pty>,
    pts: pty_process::blocking::Pts,
    /// What the user's terminal shows.
    pub term: Arc<Mutex<vt100::Parser>>,
    /// Every byte the client wrote to its terminal.
    pub raw: Arc<Mutex<Vec<u8>>>,
    /// The terminal settings before the client started.
    pub initial: rustix::termios::Termios,
}

impl TermClient {
    /// Runs `berth attach ARGS` in a `cols`x`rows` terminal.
    pub fn attach(env: &Env, args: &[&str], cols: u16, rows: u16) -> Self {
        Self::attach_in(env.runtime(), args, cols, rows)
    }

    /// The same, against the sessions in `runtime`.
    pub fn attach_in(runtime: &std::path::Path, args: &[&str], cols: u16, rows: u16) -> Self {
        Self::attach_as(None, runtime, args, cols, rows)
    }

    /// The same, as another account (through runuser; needs root).
    pub fn attach_as(
        user: Option<&str>,
        runtime: &std::path::Path,
        args: &[&str],
        cols: u16,
        rows: u16,
    ) -> Self {
        let cmd = match user {
            Some(u) => pty_process::blocking::Command::new("runuser")
                .args(["-u", u, "--"])
                .arg(bin("berth")),
            None => pty_process::blocking::Command::new(bin("berth")),
        };
        let cmd = cmd
            .arg("attach")
            .args(args)
            .env("BERTH_RUNTIME_DIR", runtime);
        Self::spawn(cmd, cols, rows)
    }

    /// Runs any program in a `cols`x`rows` terminal (TERM=xterm-256color).
    pub fn spawn(cmd: pty_process::blocking::Command, cols: u16, rows: u16) -> Self {
        let (pty, pts) = pty_process::blocking::open().expect("open pty");
        pty.resize(pty_process::Size::new(rows, cols))
            .expect("size pty");
        let initial = rustix::termios::tcgetattr(pts.as_fd()).expect("tcgetattr");
        let mut cmd = cmd.env("TERM", "xterm-256color");
        let child = cmd
            .spawn_borrowed(&pts)
            .expect("spawn the program in a pty");
        let pty = Arc::new(pty);
        let term = Arc::new(Mutex::new(vt100::Parser::new(nz(rows), nz(cols), 0)));
        let raw = Arc::new(Mutex::new(Vec::new()));
        {
            let (pty, term, raw) = (Arc::clone(&pty), Arc::clone(&term), Arc::clone(&raw));
            std::thread::spawn(move || {
                let mut buf = [0u8; 65536];
                loop {
                    match (&*pty).read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => {
                            term.lock().unwrap().process(&buf[..n]);
                            raw.lock().unwrap().extend_from_slice(&buf[..n]);
                        }
                    }
                }
            });
        }
        Self {
            child,
            pty,
            pts,
            term,
            raw,
            initial,
        }
    }

    /// Types bytes as the user would.
    pub fn keys(&self, bytes: &[u8]) {
        (&*self.pty).write_all(bytes).expect("type into the client");
    }

    /// Ctrl-b d.
    pub fn detach(&self) {
        self.keys(b"\x02d");
    }

    pub fn screen(&self) -> String {
        self.term.lock().unwrap().screen().contents()
    }

    pub fn with_screen<T>(&self, f: impl FnOnce(&vt100::Screen) -> T) -> T {
        f(self.term.lock().unwrap().screen())
    }

    /// Waits until the client's terminal shows `needle`.
    pub fn wait_screen(&self, needle: &str) -> String {
        let mut last = String::new();
        wait_until(DEADLINE, || {
            last = self.screen();
            last.contains(needle).then(|| last.clone())
        })
        .unwrap_or_else(|| {
            panic!("timed out waiting for {needle:?} on the client's terminal; it shows:\n{last}")
        })
    }

    /// Waits for the client to exit, and for its terminal to show all it
    /// wrote: a marker written to the terminal after the exit comes out
    /// behind the client's last bytes (this side holds the terminal open,
    /// so its end cannot be read).
    pub fn wait_exit(&mut self) -> ExitStatus {
        let status =
            wait_until(DEADLINE, || self.child.try_wait().unwrap()).expect("the client exits");
        const SYNC: &[u8] = b"\x1b]9999;berth-e2e-sync\x07";
        rustix::io::write(&self.pts, SYNC).expect("write the sync marker");
        wait_until(DEADLINE, || {
            let mut raw = self.raw.lock().unwrap();
            let at = raw.windows(SYNC.len()).position(|w| w == SYNC)?;
            // Not part of what the client printed.
            raw.drain(at..at + SYNC.len());
            Some(())
        })
        .expect("the terminal caught up with the client");
        status
    }

    /// Changes the client's window size; the kernel sends it SIGWINCH.
    pub fn resize(&self, cols: u16, rows: u16) {
        // Our emulator takes the new size before the client can draw for it.
        let mut term = self.term.lock().unwrap();
        self.pty
            .resize(pty_process::Size::new(rows, cols))
            .expect("resize");
        term.screen_mut().set_size(nz(rows), nz(cols));
    }

    /// The terminal settings the client left on its terminal.
    pub fn termios(&self) -> rustix::termios::Termios {
        rustix::termios::tcgetattr(self.pts.as_fd()).expect("tcgetattr")
    }

    /// Waits until the client has printed `needle` (its terminal may still
    /// be delivering output after it exited).
    pub fn wait_printed(&self, needle: &str) -> String {
        let mut last = String::new();
        wait_until(DEADLINE, || {
            last = self.printed();
            last.contains(needle).then(|| last.clone())
        })
        .unwrap_or_else(|| {
            panic!("timed out waiting for the client to print {needle:?}; it printed:\n{last:?}")
        })
    }

    /// Everything the client printed, as text.
    pub fn printed(&self) -> String {
        String::from_utf8_lossy(&self.raw.lock().unwrap()).into_owned()
    }

    pub fn pid(&self) -> nix::unistd::Pid {
        nix::unistd::Pid::from_raw(self.child.id() as i32)
    }
}

impl Drop for TermClient {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn nz(n: u16) -> std::num::NonZeroU16 {
    std::num::NonZeroU16::new(n).expect("non-zero size")
}
