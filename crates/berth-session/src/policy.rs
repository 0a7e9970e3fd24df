//! When to restart a program that exited: pure policy, no clocks or
//! processes, so every rule is unit-tested with made-up instants.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

pub use berth_config::model::RestartMode;

#[derive(Debug, Clone)]
pub struct RestartPolicy {
    pub mode: RestartMode,
    /// First backoff step; doubles with each consecutive failure.
    pub delay: Duration,
    pub max_delay: Duration,
    /// Restarts allowed within `interval`; one more and the session is failed.
    pub burst: u32,
    pub interval: Duration,
    /// A run at least this long resets the backoff.
    pub stable_after: Duration,
}

/// How a run of the program ended.
#[derive(Debug, Clone, Copy)]
pub struct Outcome {
    /// Exit status 0.
    pub success: bool,
    pub ran_for: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Start again after `after`; this is restart `attempt` of `of` allowed.
    Restart {
        after: Duration,
        attempt: u32,
        of: u32,
    },
    /// The policy does not restart: keep the screen as a tombstone.
    Exited,
    /// Too many restarts within the interval.
    Failed,
}

/// The restart history the policy looks at.
#[derive(Debug, Default)]
pub struct Restarts {
    /// When recent restarts were decided, oldest first.
    recent: VecDeque<Instant>,
    /// Failures since the last stable run.
    consecutive: u32,
}

impl Restarts {
    /// Decides what to do about a run that just ended at `now`.
    pub fn on_exit(&mut self, policy: &RestartPolicy, outcome: Outcome, now: Instant) -> Decision {
        let wanted = match policy.mode {
            RestartMode::Never => false,
            RestartMode::OnFailure => !outcome.success,
            RestartMode::Always => true,
        };
        if !wanted {
            return Decision::Exited;
        }
        if outcome.ran_for >= policy.stable_after {
            self.consecutive = 0;
        }
        while let Some(&t) = self.recent.front() {
            if now.duration_since(t) >= policy.interval {
                self.recent.pop_front();
            } else {
                break;
            }
        }
        if self.recent.len() as u32 >= policy.burst {
            return Decision::Failed;
        }
        self.recent.push_back(now);
        self.consecutive += 1;
        let after = berth_config::values::backoff(policy.delay, policy.max_delay, self.consecutive);
        Decision::Restart {
            after,
            attempt: self.recent.len() as u32,
            of: policy.burst,
        }
    }

    /// An operator asked for a restart: start over with a clean slate.
    pub fn reset(&mut self) {
        self.recent.clear();
        self.consecutive = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(mode: RestartMode) -> RestartPolicy {
        RestartPolicy {
            mode,
            delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(8),
            burst: 5,
            interval: Duration::from_secs(300),
            stable_after: Duration::from_secs(10),
        }
    }

    const FAIL: Outcome = Outcome {
        success: false,
        ran_for: Duration::from_millis(10),
    };
    const OK: Outcome = Outcome {
        success: true,
        ran_for: Duration::from_millis(10),
    };

    fn after(d: Decision) -> Duration {
        match d {
            Decision::Restart { after, .. } => after,
            other => panic!("expected a restart, got {other:?}"),
        }
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_then_fails() {
        let p = policy(RestartMode::Always);
        let mut r = Restarts::default();
        let t0 = Instant::now();
        let got: Vec<_> = (0..5)
            .map(|i| r.on_exit(&p, FAIL, t0 + Duration::from_secs(i)))
            .collect();
        assert_eq!(
            got.iter().map(|d| after(*d).as_secs()).collect::<Vec<_>>(),
            [1, 2, 4, 8, 8]
        );
        assert_eq!(
            got[2],
            Decision::Restart {
                after: Duration::from_secs(4),
                attempt: 3,
                of: 5
            }
        );
        assert_eq!(
            r.on_exit(&p, FAIL, t0 + Duration::from_secs(6)),
            Decision::Failed
        );
    }

    #[test]
    fn old_restarts_leave_the_window() {
        let p = policy(RestartMode::Always);
        let mut r = Restarts::default();
        let t0 = Instant::now();
        for i in 0..5 {
            r.on_exit(&p, FAIL, t0 + Duration::from_secs(i));
        }
        let later = t0 + Duration::from_secs(400);
        assert!(matches!(
            r.on_exit(&p, FAIL, later),
            Decision::Restart { attempt: 1, .. }
        ));
    }

    #[test]
    fn a_stable_run_resets_the_backoff() {
        let p = policy(RestartMode::Always);
        let mut r = Restarts::default();
        let t0 = Instant::now();
        r.on_exit(&p, FAIL, t0);
        r.on_exit(&p, FAIL, t0);
        let stable = Outcome {
            success: false,
            ran_for: Duration::from_secs(60),
        };
        assert_eq!(after(r.on_exit(&p, stable, t0)), Duration::from_secs(1));
    }

    #[test]
    fn modes() {
        let t0 = Instant::now();
        let mut r = Restarts::default();
        assert_eq!(
            r.on_exit(&policy(RestartMode::Never), FAIL, t0),
            Decision::Exited
        );
        assert_eq!(
            r.on_exit(&policy(RestartMode::OnFailure), OK, t0),
            Decision::Exited
        );
        assert!(matches!(
            r.on_exit(&policy(RestartMode::OnFailure), FAIL, t0),
            Decision::Restart { .. }
        ));
        assert!(matches!(
            r.on_exit(&policy(RestartMode::Always), OK, t0),
            Decision::Restart { .. }
        ));
    }

    #[test]
    fn reset_clears_the_limit() {
        let p = policy(RestartMode::Always);
        let mut r = Restarts::default();
        let t0 = Instant::now();
        for _ in 0..5 {
            r.on_exit(&p, FAIL, t0);
        }
        assert_eq!(r.on_exit(&p, FAIL, t0), Decision::Failed);
        r.reset();
        assert_eq!(after(r.on_exit(&p, FAIL, t0)), Duration::from_secs(1));
    }
}
