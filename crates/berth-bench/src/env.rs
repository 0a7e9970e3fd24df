//! What the benchmark runs on: the berth binaries it measures, the peers it
//! finds on PATH, the machine, and a scratch directory per measurement.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use serde::Serialize;

/// The berth binaries measured: the ones built next to this benchmark.
#[derive(Debug, Clone)]
pub struct Bins {
    pub berth: PathBuf,
    pub session: PathBuf,
    pub berthd: PathBuf,
}

impl Bins {
    pub fn beside_me() -> anyhow::Result<Self> {
        let exe = std::env::current_exe().context("failed to find the benchmark's own path")?;
        let dir = exe
            .parent()
            .context("the benchmark's path has no directory")?;
        let bins = Self {
            berth: dir.join("berth"),
            session: dir.join("berth-session"),
            berthd: dir.join("berthd"),
        };
        for b in [&bins.berth, &bins.session, &bins.berthd] {
            if !b.is_file() {
                bail!(
                    "{} not found: build the workspace first (cargo build --release), then run the benchmark from the same target directory",
                    b.display()
                );
            }
        }
        Ok(bins)
    }
}

/// A program on PATH, if there is one.
pub fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

/// The machine the figures were measured on.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    pub cores: usize,
    pub memory_gib: f64,
    pub kernel: String,
    pub cpu: String,
}

impl Machine {
    pub fn read() -> Self {
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let mem_kib: f64 = meminfo
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0.0);
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name"))
            .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
            .unwrap_or_else(|| "unknown".into());
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|s| s.trim().to_owned())
            .unwrap_or_else(|_| "unknown".into());
        Self {
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            memory_gib: (mem_kib / 1024.0 / 1024.0 * 10.0).round() / 10.0,
            kernel,
            cpu,
        }
    }
}

/// The benchmark's scratch directory, removed when dropped.
pub struct Workdir {
    pub path: PathBuf,
    next: AtomicU32,
}

impl Workdir {
    pub fn create() -> anyhow::Result<Self> {
        // Short: Unix socket paths must stay under 108 bytes.
        let path = std::env::temp_dir().join(format!("bb-{}", std::process::id()));
        std::fs::create_dir_all(&path)
            .with_context(|| format!("failed to create {}", path.display()))?;
        Ok(Self {
            path,
            next: AtomicU32::new(0),
        })
    }

    /// A fresh directory for one measurement.
    pub fn fresh(&self, what: &str) -> anyhow::Result<PathBuf> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let dir = self.path.join(format!("{what}{n}"));
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("failed to create {}", dir.display()))?;
        Ok(dir)
    }
}

impl Drop for Workdir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Polls `cond` every `every` until it holds or `limit` passes.
pub fn wait_until(
    what: &str,
    limit: Duration,
    every: Duration,
    mut cond: impl FnMut() -> bool,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + limit;
    loop {
        if cond() {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("timed out after {limit:?} waiting for {what}");
        }
        std::thread::sleep(every);
    }
}

/// Writes `lines` lines of `width` base64 characters to `path`, from a
/// fixed pseudo-random sequence so every run measures the same bytes.
pub fn write_base64_lines(path: &Path, lines: usize, width: usize) -> anyhow::Result<()> {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut out = Vec::with_capacity(lines * (width + 1));
    for _ in 0..lines {
        for _ in 0..width {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            out.push(ALPHABET[(x >> 58) as usize]);
        }
        out.push(b'\n');
    }
    std::fs::write(path, out).with_context(|| format!("failed to write {}", path.display()))
}
