//! Rotated files, numbered as logrotate numbers them: `NAME.1` is the
//! newest kept, `NAME.KEEP` the oldest. One rule for the sessions' output
//! logs (berth-session) and the hosts' own logs (berthd).

use std::path::{Path, PathBuf};

/// `PATH.i`.
pub fn numbered(path: &Path, i: u32) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(format!(".{i}"));
    PathBuf::from(s)
}

/// Makes room for a new `PATH.1`: `.KEEP-1` becomes `.KEEP` (the oldest
/// kept is replaced), ..., `.1` becomes `.2`.
pub fn shift(path: &Path, keep: u32) -> std::io::Result<()> {
    for i in (1..keep).rev() {
        let from = numbered(path, i);
        if from.exists() {
            std::fs::rename(&from, numbered(path, i + 1))?;
        }
    }
    Ok(())
}

/// `PATH` becomes `PATH.1` (the others shifted, the oldest dropped), or is
/// removed when none are kept: room for a new `PATH`.
pub fn push_back(path: &Path, keep: u32) -> std::io::Result<()> {
    if keep == 0 {
        return std::fs::remove_file(path);
    }
    shift(path, keep)?;
    std::fs::rename(path, numbered(path, 1))
}
