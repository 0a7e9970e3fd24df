//! The figures of issue 6 / DESIGN.md "Performance goals", one module each.
//! A figure measures one system once per call; the caller repeats and
//! alternates systems.

pub mod attach;
pub mod capture;
pub mod echo;
pub mod memory;
pub mod startup;
pub mod throughput;

use std::path::PathBuf;

use crate::env::{Bins, Workdir};

/// Sizes of one benchmark run.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Sizes {
    /// Bytes `cat` writes in the throughput figures.
    pub throughput_bytes: u64,
    /// Keystrokes timed in the echo figure.
    pub keys: usize,
    /// Lines of history in the memory and capture figures.
    pub history_lines: usize,
    /// Sessions measured together in the memory figure.
    pub memory_sessions: usize,
    /// Sessions started in the startup figure.
    pub startup_sessions: usize,
}

impl Sizes {
    pub fn full(throughput_mb: u64) -> Self {
        Self {
            throughput_bytes: throughput_mb * 1_000_000,
            keys: 1000,
            history_lines: 10_000,
            memory_sessions: 20,
            startup_sessions: 100,
        }
    }

    pub fn quick() -> Self {
        Self {
            throughput_bytes: 2_000_000,
            keys: 50,
            history_lines: 200,
            memory_sessions: 2,
            startup_sessions: 5,
        }
    }
}

/// What every figure needs.
pub struct Ctx {
    pub work: Workdir,
    pub bins: Bins,
    pub sizes: Sizes,
    /// 79-column base64 lines, `throughput_bytes` long.
    pub bulk: PathBuf,
    /// `history_lines` lines of 80 columns.
    pub lines: PathBuf,
}

/// Quotes `s` for `sh -c`.
pub fn sh_quote(s: &std::path::Path) -> String {
    format!("'{}'", s.display().to_string().replace('\'', "'\\''"))
}
