//! Audit lines summarised when they repeat, like the kernel's printk
//! ratelimit: each key (who, and what kind of line) may write `burst`
//! lines per `interval`; past that its lines are counted, not written,
//! and one summary line ("N more ... suppressed") says how many once the
//! interval is over. One caller with a loop cannot fill the disk or drown
//! the lines that matter, and no event goes uncounted.
//!
//! Time is passed in, so the policy is unit-tested without waiting.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Lines per key per interval, and the interval: 20 in 10 s.
pub const BURST: u32 = 20;
pub const INTERVAL: Duration = Duration::from_secs(10);
/// Keys kept at most: past that, the oldest windows are summarised early.
const MAX_KEYS: usize = 4096;

#[derive(Debug)]
struct Window {
    started: Instant,
    written: u32,
    suppressed: u64,
}

/// What to do with one line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admit {
    /// Write it.
    Write,
    /// Count it: the key is over its burst.
    Suppress,
}

pub struct Limiter<K> {
    burst: u32,
    interval: Duration,
    windows: Mutex<HashMap<K, Window>>,
}

impl<K: Hash + Eq + Clone> Limiter<K> {
    pub fn new(burst: u32, interval: Duration) -> Self {
        Self {
            burst,
            interval,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Whether the line for `key` at `now` is written. A key whose window
    /// is over starts a new one (its summary is [`Limiter::expired`]'s).
    pub fn admit(&self, key: &K, now: Instant) -> (Admit, Option<u64>) {
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        let mut summary = None;
        if let Some(w) = windows.get(key) {
            if now.duration_since(w.started) >= self.interval {
                summary = (w.suppressed > 0).then_some(w.suppressed);
                windows.remove(key);
            }
        }
        if !windows.contains_key(key) && windows.len() >= MAX_KEYS {
            // Bounded: an attacker with many keys (there are only so many
            // uids) ends windows early rather than growing the map.
            windows.retain(|_, w| w.suppressed > 0);
            if windows.len() >= MAX_KEYS {
                windows.clear();
            }
        }
        let w = windows.entry(key.clone()).or_insert(Window {
            started: now,
            written: 0,
            suppressed: 0,
        });
        let admit = if w.written < self.burst {
            w.written += 1;
            Admit::Write
        } else {
            w.suppressed += 1;
            Admit::Suppress
        };
        (admit, summary)
    }

    /// The keys whose window is over with lines suppressed, and how many;
    /// those windows end. Call it every interval, so a summary is written
    /// even when the key goes quiet.
    pub fn expired(&self, now: Instant) -> Vec<(K, u64)> {
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = Vec::new();
        windows.retain(|k, w| {
            if now.duration_since(w.started) < self.interval {
                return true;
            }
            if w.suppressed > 0 {
                out.push((k.clone(), w.suppressed));
            }
            false
        });
        out
    }
}

impl<K: Hash + Eq + Clone> Default for Limiter<K> {
    fn default() -> Self {
        Self::new(BURST, INTERVAL)
    }
}

/// The audit trail's key: who (uid) and which kind of line.
pub type AuditKey = (u32, &'static str);

/// Whether an audit line of `kind` about `uid` is written now; a summary
/// of what the key's last window held back is written first.
pub fn audit_admit(limiter: &Limiter<AuditKey>, uid: u32, kind: &'static str) -> bool {
    let (admit, summary) = limiter.admit(&(uid, kind), Instant::now());
    if let Some(n) = summary {
        summarise(uid, kind, n);
    }
    admit == Admit::Write
}

/// Writes the summaries of windows that are over: call every [`INTERVAL`].
pub fn audit_flush(limiter: &Limiter<AuditKey>) {
    for ((uid, kind), n) in limiter.expired(Instant::now()) {
        summarise(uid, kind, n);
    }
}

fn summarise(uid: u32, kind: &'static str, n: u64) {
    tracing::info!(
        target: "berth::audit",
        user_uid = uid,
        kind,
        suppressed = n,
        "{n} more {kind} lines for uid {uid} were counted, not written (over {BURST} in {}s)",
        INTERVAL.as_secs()
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_written_then_counted_then_summarised() {
        let limiter = Limiter::new(3, Duration::from_secs(10));
        let t0 = Instant::now();
        let key = (1000u32, "refused");
        for _ in 0..3 {
            assert_eq!(limiter.admit(&key, t0), (Admit::Write, None));
        }
        for _ in 0..5 {
            assert_eq!(limiter.admit(&key, t0).0, Admit::Suppress);
        }
        // Another key is not held back by this one.
        assert_eq!(limiter.admit(&(0, "refused"), t0).0, Admit::Write);
        assert!(limiter.expired(t0 + Duration::from_secs(9)).is_empty());
        assert_eq!(
            limiter.expired(t0 + Duration::from_secs(10)),
            vec![(key, 5)]
        );
        // The next window starts afresh.
        assert_eq!(
            limiter.admit(&key, t0 + Duration::from_secs(11)),
            (Admit::Write, None)
        );
    }

    #[test]
    fn a_key_back_after_its_window_carries_the_summary() {
        let limiter = Limiter::new(1, Duration::from_secs(10));
        let t0 = Instant::now();
        limiter.admit(&7u32, t0);
        limiter.admit(&7u32, t0);
        limiter.admit(&7u32, t0);
        assert_eq!(
            limiter.admit(&7u32, t0 + Duration::from_secs(10)),
            (Admit::Write, Some(2))
        );
    }

    #[test]
    fn the_keys_kept_are_bounded() {
        let limiter = Limiter::new(1, Duration::from_secs(10));
        let t0 = Instant::now();
        for k in 0..(MAX_KEYS as u32 * 3) {
            limiter.admit(&k, t0);
        }
        assert!(limiter.windows.lock().unwrap().len() <= MAX_KEYS);
    }
}
