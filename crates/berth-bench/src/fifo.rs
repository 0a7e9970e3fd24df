//! Named pipes that tell the benchmark, to the microsecond and without
//! polling, when a program in a session reached a point: the program runs
//! `echo > FIFO`, which completes once the benchmark has the pipe open.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context as _};

pub struct Fifo {
    path: PathBuf,
    opened: mpsc::Receiver<Instant>,
}

impl Fifo {
    /// Creates the pipe and starts waiting for the program's write.
    pub fn new(path: &Path) -> anyhow::Result<Self> {
        nix::unistd::mkfifo(path, nix::sys::stat::Mode::from_bits_truncate(0o600))
            .with_context(|| format!("failed to create the fifo {}", path.display()))?;
        let (tx, opened) = mpsc::channel();
        let p = path.to_owned();
        std::thread::spawn(move || {
            // Opening for reading blocks until the program opens it to write.
            if let Ok(mut f) = std::fs::File::open(&p) {
                let at = Instant::now();
                let mut sink = Vec::new();
                let _ = f.read_to_end(&mut sink);
                let _ = tx.send(at);
            }
        });
        Ok(Self {
            path: path.to_owned(),
            opened,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The instant the program reached the point, if it did within `limit`.
    /// The pipe keeps waiting either way.
    pub fn poll(&self, limit: Duration) -> Option<Instant> {
        self.opened.recv_timeout(limit).ok()
    }

    /// The instant the program reached the point, or an error after `limit`.
    pub fn wait(&self, limit: Duration) -> anyhow::Result<Instant> {
        self.opened.recv_timeout(limit).map_err(|_| {
            // Unblock the reader thread so it does not linger.
            let _ = std::fs::OpenOptions::new().write(true).open(&self.path);
            anyhow!(
                "the program never wrote {} within {limit:?}",
                self.path.display()
            )
        })
    }
}
