//! A PTY the benchmark holds the master side of: the raw-PTY floor runs its
//! program in one directly, and every attach client runs in one as if in
//! the user's terminal emulator.

use std::io::{Read as _, Write as _};
use std::process::Child;
use std::thread::JoinHandle;

use anyhow::Context as _;

pub const COLS: u16 = 80;
pub const ROWS: u16 = 24;

pub struct Term {
    pub pty: pty_process::blocking::Pty,
    pub child: Child,
}

impl Term {
    /// Runs `program args..` on a new 80x24 PTY.
    pub fn spawn(
        program: &std::path::Path,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> anyhow::Result<Self> {
        let (pty, pts) = pty_process::blocking::open().context("failed to open a PTY")?;
        pty.resize(pty_process::Size::new(ROWS, COLS))
            .context("failed to size the PTY")?;
        let mut cmd = pty_process::blocking::Command::new(program)
            .args(args)
            .env("TERM", "xterm-256color");
        for (k, v) in env {
            cmd = cmd.env(k, v);
        }
        let child = cmd
            .spawn(pts)
            .with_context(|| format!("failed to start {}", program.display()))?;
        Ok(Self { pty, child })
    }

    pub fn write(&mut self, bytes: &[u8]) -> anyhow::Result<()> {
        self.pty
            .write_all(bytes)
            .context("failed to write to the PTY")
    }

    /// Reads what arrives within `limit`: `Ok(None)` if nothing did,
    /// `Ok(Some(0))` once the PTY closed.
    pub fn read_timeout(
        &mut self,
        buf: &mut [u8],
        limit: std::time::Duration,
    ) -> anyhow::Result<Option<usize>> {
        use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
        use std::os::fd::AsFd as _;
        let deadline = std::time::Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let ms = i32::try_from(left.as_millis()).unwrap_or(i32::MAX);
            let ready = {
                let mut fds = [PollFd::new(self.pty.as_fd(), PollFlags::POLLIN)];
                poll(
                    &mut fds,
                    PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX),
                )
                .context("failed to poll the PTY")?
            };
            if ready == 0 {
                return Ok(None);
            }
            match self.pty.read(buf) {
                Ok(n) => return Ok(Some(n)),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                // EIO: every process on the other side closed it.
                Err(e) if e.raw_os_error() == Some(nix::libc::EIO) => return Ok(Some(0)),
                Err(e) => return Err(e).context("failed to read the PTY"),
            }
            if left.is_zero() {
                return Ok(None);
            }
        }
    }

    /// Reads and discards everything in a thread, as a terminal that keeps
    /// up would. Ends when the PTY closes.
    pub fn drain(&self) -> anyhow::Result<Drain> {
        use std::os::fd::AsFd as _;
        let fd = self
            .pty
            .as_fd()
            .try_clone_to_owned()
            .context("failed to duplicate the PTY descriptor")?;
        let thread = std::thread::spawn(move || {
            let mut f = std::fs::File::from(fd);
            let mut buf = vec![0u8; 64 * 1024];
            while let Ok(n) = f.read(&mut buf) {
                if n == 0 {
                    break;
                }
            }
        });
        Ok(Drain { _thread: thread })
    }
}

pub struct Drain {
    _thread: JoinHandle<()>,
}

impl Drop for Term {
    fn drop(&mut self) {
        // The whole process group: `sh -c` may have left children behind.
        let pgid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::killpg(pgid, nix::sys::signal::Signal::SIGKILL);
        let _ = self.child.wait();
    }
}
