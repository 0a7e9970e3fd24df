//! The hosts' own logs under the embedded backend (`LOG_DIR/NAME.host.log`:
//! a host's stderr, its audit trail among it; root's, 0600), rotated by
//! size and kept like output logs (`LOG_MAX_SIZE`, `LOG_KEEP`).
//!
//! A host writes through the descriptor berthd gave it when it started
//! (O_APPEND) and, running as its service account, could not open a new
//! file in root's directory: so the file is rotated as logrotate's
//! `copytruncate` does, copied to `.1` and truncated in place, and the
//! host writes on from the start. Lines a host writes between the copy
//! and the truncation are lost (the window is one copy of at most
//! `LOG_MAX_SIZE`); the audit lines are rate-limited, so a host fills
//! its log slowly. Checked before each host start and every minute.

use std::io::Write as _;
use std::path::Path;
use std::time::Duration;

use berth_config::defaults::{LOG_KEEP, LOG_MAX_SIZE};

/// How often the logs' sizes are looked at.
pub const CHECK_EVERY: Duration = Duration::from_secs(60);

/// Rotates every host log in `dir` that outgrew `max`; how many.
pub fn rotate_all(dir: &Path) -> usize {
    berth_config::paths::named_files(dir, ".host.log")
        .into_iter()
        .filter(|(_, path)| match rotate(path, LOG_MAX_SIZE, LOG_KEEP) {
            Ok(rotated) => rotated,
            Err(e) => {
                tracing::warn!(log = %path.display(), "cannot rotate the host log: {e}");
                false
            }
        })
        .count()
}

/// Rotates `path` when it is larger than `max`: copied to `PATH.1` (older
/// copies shifted, `keep` kept) and truncated; whether it was.
pub fn rotate(path: &Path, max: u64, keep: u32) -> std::io::Result<bool> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    };
    if !meta.is_file() || meta.len() <= max {
        return Ok(false);
    }
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)?;
    if keep > 0 {
        berth_log::rotate::shift(path, keep)?;
        let first = berth_log::rotate::numbered(path, 1);
        let mut copy = {
            use std::os::unix::fs::OpenOptionsExt;
            std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&first)?
        };
        std::io::copy(&mut &file, &mut copy)?;
        copy.flush()?;
    }
    file.set_len(0)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_over_its_size_is_copied_and_truncated_and_the_writer_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.host.log");
        let mut writer = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .unwrap();
        writer.write_all(b"first\n").unwrap();
        assert!(!rotate(&path, 100, 2).unwrap(), "small enough");
        writer.write_all(&[b'x'; 200]).unwrap();
        assert!(rotate(&path, 100, 2).unwrap());
        writer.write_all(b"after\n").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"after\n");
        let kept = std::fs::read(berth_log::rotate::numbered(&path, 1)).unwrap();
        assert!(kept.starts_with(b"first\n") && kept.len() == 206);
        // Again: the older copy moves to .2, and no more than 2 are kept.
        writer.write_all(&[b'y'; 200]).unwrap();
        assert!(rotate(&path, 100, 2).unwrap());
        writer.write_all(&[b'z'; 200]).unwrap();
        assert!(rotate(&path, 100, 2).unwrap());
        assert!(std::fs::read(berth_log::rotate::numbered(&path, 2))
            .unwrap()
            .starts_with(b"after\ny"));
        assert!(std::fs::read(berth_log::rotate::numbered(&path, 1))
            .unwrap()
            .starts_with(b"zzz"));
        assert!(!berth_log::rotate::numbered(&path, 3).exists());
    }
}
