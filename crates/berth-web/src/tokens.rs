//! Cookies: what a browser holds once berthd traded the one-time code it
//! brought (`berth web login` prints the link; berthd checks the code and
//! records the person's live login, see `berth_config::logins`), each
//! bound to that person's uid. Nothing is stored on disk: a restart of
//! berth-web logs everyone out (berthd clears the live logins then too).
//!
//! Time is passed in, never read here, so expiry is unit-tested without
//! waiting.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Bytes of randomness in a cookie.
const SECRET_BYTES: usize = 32;
/// Cookies held at most (a person logging in again and again ends their
/// oldest).
const COOKIES_PER_PERSON: usize = 16;

#[derive(Debug, Clone, Copy)]
struct Login {
    uid: u32,
    issued: Instant,
    expires: Instant,
}

/// Every live cookie. Keyed by the secret itself: the map's hasher is
/// keyed at random per process, so a lookup's timing says nothing usable
/// about the secrets it holds.
#[derive(Debug, Default)]
pub struct Tokens {
    live: HashMap<String, Login>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    #[error("this login link was used already or has expired: run berth web login again")]
    CodeUnknown,
    #[error("not logged in, or the login expired: run berth web login on the host")]
    CookieUnknown,
    #[error("no randomness from the kernel: {0}")]
    Random(String),
}

/// Compares two secrets in time that depends on their length only.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0, |acc, (x, y)| acc | (x ^ y))
            == 0
}

impl Tokens {
    /// A cookie for `uid`, good for `ttl` (what berthd recorded).
    pub fn cookie(&mut self, uid: u32, ttl: Duration, now: Instant) -> Result<String, TokenError> {
        self.forget_expired(now);
        let mut mine: Vec<(Instant, String)> = self
            .live
            .iter()
            .filter(|(_, l)| l.uid == uid)
            .map(|(c, l)| (l.issued, c.clone()))
            .collect();
        if mine.len() >= COOKIES_PER_PERSON {
            mine.sort();
            self.live.remove(&mine[0].1);
        }
        let cookie = secret()?;
        self.live.insert(
            cookie.clone(),
            Login {
                uid,
                issued: now,
                expires: now + ttl,
            },
        );
        Ok(cookie)
    }

    /// The uid a cookie speaks for.
    pub fn check(&self, cookie: &str, now: Instant) -> Result<u32, TokenError> {
        match self.live.get(cookie) {
            Some(l) if l.expires > now => Ok(l.uid),
            _ => Err(TokenError::CookieUnknown),
        }
    }

    /// Ends every cookie of `uid`; how many ended.
    pub fn revoke(&mut self, uid: u32) -> usize {
        let before = self.live.len();
        self.live.retain(|_, l| l.uid != uid);
        before - self.live.len()
    }

    fn forget_expired(&mut self, now: Instant) {
        self.live.retain(|_, l| l.expires > now);
    }
}

/// 32 random bytes as URL-safe hex.
fn secret() -> Result<String, TokenError> {
    let mut bytes = [0u8; SECRET_BYTES];
    getrandom::fill(&mut bytes).map_err(|e| TokenError::Random(e.to_string()))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: Duration = Duration::from_secs(3600);

    #[test]
    fn a_cookie_speaks_for_its_person_until_it_expires_or_is_revoked() {
        let t0 = Instant::now();
        let mut tokens = Tokens::default();
        let a = tokens.cookie(1000, HOUR, t0).unwrap();
        assert_eq!(a.len(), 64);
        assert_eq!(tokens.check(&a, t0), Ok(1000));
        assert_eq!(tokens.check(&a, t0 + HOUR), Err(TokenError::CookieUnknown));
        let b = tokens.cookie(1001, HOUR, t0).unwrap();
        assert_eq!(tokens.revoke(1001), 1);
        assert_eq!(tokens.check(&b, t0), Err(TokenError::CookieUnknown));
        assert!(!same_secret(&a, &b) && same_secret(&a, &a.clone()));
    }

    #[test]
    fn cookies_are_bounded_per_person() {
        let t0 = Instant::now();
        let mut tokens = Tokens::default();
        let first = tokens.cookie(7, HOUR, t0).unwrap();
        for i in 1..=COOKIES_PER_PERSON as u64 {
            tokens
                .cookie(7, HOUR, t0 + Duration::from_millis(i))
                .unwrap();
        }
        assert_eq!(tokens.live.len(), COOKIES_PER_PERSON);
        assert_eq!(tokens.check(&first, t0), Err(TokenError::CookieUnknown));
    }
}
