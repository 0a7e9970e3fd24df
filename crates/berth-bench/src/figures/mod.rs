//! The figures of issue 6 / DESIGN.md "Performance goals", one module each.
//! A figure measures one system once per call; the caller repeats and
//! alternates systems.

pub mod attach;
pub mod capture;
pub mod echo;
pub mod memory;
pub mod remote;
pub mod scale;
pub mod startup;
pub mod throughput;
pub mod watch;

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::env::{Bins, Workdir};
use crate::streams::Stream;

/// Sizes of one benchmark run.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Sizes {
    /// Bytes `cat` writes in the plain throughput figures.
    pub throughput_bytes: u64,
    /// Bytes of each other stream (colour, UTF-8, progress, mixed).
    pub other_stream_bytes: u64,
    /// Keystrokes timed in the echo figure.
    pub keys: usize,
    /// Lines of history in the memory and capture figures.
    pub history_lines: usize,
    /// Sessions measured together in the memory figure.
    pub memory_sessions: usize,
    /// Sessions started in the startup figure.
    pub startup_sessions: usize,
    /// Sessions on one host in the scale figures.
    pub scale_sessions: usize,
    /// How long the idle supervisor is watched, after how long a quiet.
    pub idle_window: std::time::Duration,
    pub idle_settle: std::time::Duration,
}

impl Sizes {
    pub fn full(throughput_mb: u64, stream_mb: u64) -> Self {
        Self {
            throughput_bytes: throughput_mb * 1_000_000,
            other_stream_bytes: stream_mb * 1_000_000,
            keys: 1000,
            history_lines: 10_000,
            memory_sessions: 20,
            startup_sessions: 100,
            scale_sessions: 1000,
            idle_window: std::time::Duration::from_secs(20),
            // What the listing and the reload set off ends first: berthd's
            // STATUS= update 2 s after a change, tokio's blocking threads
            // leaving 10 s after their last job.
            idle_settle: std::time::Duration::from_secs(12),
        }
    }

    pub fn quick() -> Self {
        Self {
            throughput_bytes: 2_000_000,
            other_stream_bytes: 1_000_000,
            keys: 50,
            history_lines: 200,
            memory_sessions: 2,
            startup_sessions: 5,
            scale_sessions: 10,
            idle_window: std::time::Duration::from_secs(1),
            idle_settle: std::time::Duration::from_millis(100),
        }
    }
}

impl Sizes {
    /// Bytes `cat` writes of `stream`.
    pub fn stream_bytes(&self, stream: Stream) -> u64 {
        match stream {
            Stream::Plain => self.throughput_bytes,
            _ => self.other_stream_bytes,
        }
    }
}

/// What every figure needs.
pub struct Ctx {
    pub work: Workdir,
    pub bins: Bins,
    pub sizes: Sizes,
    /// The file of each stream the throughput figures measure.
    pub streams: BTreeMap<Stream, PathBuf>,
    /// `history_lines` lines of 80 columns.
    pub lines: PathBuf,
    /// Each detached recorded run: its stream, the stream's bytes and the
    /// recording's bytes.
    pub recorded: std::sync::Mutex<Vec<(Stream, u64, u64)>>,
    /// Each berth run of the throughput figures.
    pub host_cpu: std::sync::Mutex<Vec<HostCpu>>,
}

/// The CPU a berth host used in one throughput run (a steadier measure
/// than wall time on a noisy machine).
#[derive(Debug, Clone, Copy)]
pub struct HostCpu {
    pub system: crate::systems::System,
    pub stream: Stream,
    pub attached: bool,
    /// The stream's bytes.
    pub bytes: u64,
    pub seconds: f64,
}

/// Quotes `s` for `sh -c`.
pub fn sh_quote(s: &std::path::Path) -> String {
    format!("'{}'", s.display().to_string().replace('\'', "'\\''"))
}
