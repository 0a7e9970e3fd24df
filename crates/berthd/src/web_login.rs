//! `berth web login`, answered by berthd on its control socket (so the
//! login path has every bound a control connection has): a one-time code
//! for the caller, whom the kernel names. berth-web trades the code a
//! browser brings (`WebRedeem`, from its own account only) for the person
//! it was issued to, and berthd records that person's live login
//! (`berth_config::logins`), which hosts check before they let berth-web
//! speak for anyone. Time is passed in: expiry is unit-tested.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// How long the printed link may wait before it is opened.
pub const CODE_TTL: Duration = Duration::from_secs(120);
/// Links waiting per person; the oldest goes when one more is asked.
const CODES_PER_PERSON: usize = 8;
/// Links waiting in all.
const CODES: usize = 4096;
/// Bytes of randomness in a code.
const SECRET_BYTES: usize = 32;

#[derive(Default)]
pub struct Codes {
    /// Keyed by the code itself: the map's hasher is keyed at random per
    /// process, so a lookup's timing says nothing usable about the codes.
    live: HashMap<String, (u32, Instant)>,
}

impl Codes {
    /// A new code for `uid`.
    pub fn mint(&mut self, uid: u32, now: Instant) -> Result<String, String> {
        self.forget_expired(now);
        let mut mine: Vec<(Instant, String)> = self
            .live
            .iter()
            .filter(|(_, (u, _))| *u == uid)
            .map(|(c, (_, at))| (*at, c.clone()))
            .collect();
        if mine.len() >= CODES_PER_PERSON {
            mine.sort();
            self.live.remove(&mine[0].1);
        }
        if self.live.len() >= CODES {
            return Err(
                "too many login links are waiting to be opened; try again in two minutes".into(),
            );
        }
        let mut bytes = [0u8; SECRET_BYTES];
        getrandom::fill(&mut bytes).map_err(|e| format!("no randomness from the kernel: {e}"))?;
        let code: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        self.live.insert(code.clone(), (uid, now));
        Ok(code)
    }

    /// The person `code` was issued to, once.
    pub fn redeem(&mut self, code: &str, now: Instant) -> Option<u32> {
        self.forget_expired(now);
        self.live.remove(code).map(|(uid, _)| uid)
    }

    /// Ends `uid`'s waiting links (`None`: everyone's).
    pub fn revoke(&mut self, uid: Option<u32>) {
        self.live
            .retain(|_, (u, _)| uid.is_some_and(|uid| uid != *u));
    }

    fn forget_expired(&mut self, now: Instant) {
        self.live
            .retain(|_, (_, at)| now.duration_since(*at) < CODE_TTL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_is_good_once_and_for_two_minutes() {
        let t0 = Instant::now();
        let mut codes = Codes::default();
        let a = codes.mint(1000, t0).unwrap();
        assert_eq!(a.len(), 64);
        assert_eq!(codes.redeem(&a, t0), Some(1000));
        assert_eq!(codes.redeem(&a, t0), None, "used");
        let b = codes.mint(1000, t0).unwrap();
        assert_eq!(codes.redeem(&b, t0 + CODE_TTL), None, "expired");
        let c = codes.mint(1001, t0).unwrap();
        codes.revoke(Some(1001));
        assert_eq!(codes.redeem(&c, t0), None, "revoked");
    }

    #[test]
    fn waiting_codes_are_bounded_per_person() {
        let t0 = Instant::now();
        let mut codes = Codes::default();
        let first = codes.mint(7, t0).unwrap();
        for i in 1..=CODES_PER_PERSON as u64 {
            codes.mint(7, t0 + Duration::from_millis(i)).unwrap();
        }
        assert_eq!(codes.live.len(), CODES_PER_PERSON);
        assert_eq!(codes.redeem(&first, t0), None, "the oldest went");
    }
}
