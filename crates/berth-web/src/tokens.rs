//! Logins: a one-time code (the URL `berth web login` prints) that a
//! browser trades once for a session cookie; both bound to the uid the
//! login socket read from the kernel. Nothing is stored on disk: a
//! restart of berth-web logs everyone out.
//!
//! Time is passed in, never read here, so expiry is unit-tested without
//! waiting.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// How long the printed URL may wait before it is opened.
pub const CODE_TTL: Duration = Duration::from_secs(120);

/// Bytes of randomness in a code or cookie.
const SECRET_BYTES: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// In the URL: good for one redemption.
    Code,
    /// In the cookie: good until it expires or is revoked.
    Cookie,
}

#[derive(Debug, Clone, Copy)]
struct Login {
    uid: u32,
    kind: Kind,
    expires: Instant,
}

/// Every live code and cookie. Keyed by the secret itself: the map's
/// hasher is keyed at random per process, so a lookup's timing says
/// nothing usable about the secrets it holds.
#[derive(Debug)]
pub struct Tokens {
    ttl: Duration,
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
    /// Cookies last `ttl` (`[web] token_ttl`).
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            live: HashMap::new(),
        }
    }

    /// How long a cookie lasts: also its Max-Age, so the browser forgets it
    /// when berth-web does.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// A one-time code for `uid`.
    pub fn mint(&mut self, uid: u32, now: Instant) -> Result<String, TokenError> {
        self.forget_expired(now);
        let code = secret()?;
        self.live.insert(
            code.clone(),
            Login {
                uid,
                kind: Kind::Code,
                expires: now + CODE_TTL,
            },
        );
        Ok(code)
    }

    /// Trades a code for a cookie (the code is gone either way).
    pub fn redeem(&mut self, code: &str, now: Instant) -> Result<(String, u32), TokenError> {
        match self.live.remove(code) {
            Some(l) if l.kind == Kind::Code && l.expires > now => {
                let cookie = secret()?;
                self.live.insert(
                    cookie.clone(),
                    Login {
                        uid: l.uid,
                        kind: Kind::Cookie,
                        expires: now + self.ttl,
                    },
                );
                Ok((cookie, l.uid))
            }
            Some(l) if l.kind == Kind::Cookie => {
                // A cookie is not a code: put it back untouched.
                self.live.insert(code.to_owned(), l);
                Err(TokenError::CodeUnknown)
            }
            _ => Err(TokenError::CodeUnknown),
        }
    }

    /// The uid a cookie speaks for.
    pub fn check(&self, cookie: &str, now: Instant) -> Result<u32, TokenError> {
        match self.live.get(cookie) {
            Some(l) if l.kind == Kind::Cookie && l.expires > now => Ok(l.uid),
            _ => Err(TokenError::CookieUnknown),
        }
    }

    /// Ends every login of `uid` (`None`: everyone's); how many ended.
    pub fn revoke(&mut self, uid: Option<u32>) -> usize {
        let before = self.live.len();
        self.live.retain(|_, l| uid.is_some_and(|u| u != l.uid));
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
    fn a_code_is_traded_once_for_a_cookie_that_expires() {
        let t0 = Instant::now();
        let mut tokens = Tokens::new(HOUR);
        let code = tokens.mint(1000, t0).unwrap();
        assert_eq!(code.len(), 64);
        let (cookie, uid) = tokens.redeem(&code, t0).unwrap();
        assert_eq!(uid, 1000);
        assert_ne!(cookie, code);
        assert_eq!(tokens.redeem(&code, t0), Err(TokenError::CodeUnknown));
        assert_eq!(tokens.check(&cookie, t0 + HOUR / 2), Ok(1000));
        assert_eq!(
            tokens.check(&cookie, t0 + HOUR),
            Err(TokenError::CookieUnknown)
        );
        // Neither is the other: a code is no cookie, a cookie no code.
        let code2 = tokens.mint(1000, t0).unwrap();
        assert_eq!(tokens.check(&code2, t0), Err(TokenError::CookieUnknown));
        assert_eq!(tokens.redeem(&cookie, t0), Err(TokenError::CodeUnknown));
        assert_eq!(
            tokens.check(&cookie, t0),
            Ok(1000),
            "a cookie tried as a code stays"
        );
    }

    #[test]
    fn an_unopened_code_expires() {
        let t0 = Instant::now();
        let mut tokens = Tokens::new(HOUR);
        let code = tokens.mint(7, t0).unwrap();
        assert_eq!(
            tokens.redeem(&code, t0 + CODE_TTL),
            Err(TokenError::CodeUnknown)
        );
    }

    #[test]
    fn revoking_ends_one_users_logins_or_everyones() {
        let t0 = Instant::now();
        let mut tokens = Tokens::new(HOUR);
        let a = tokens.mint(1, t0).unwrap();
        let (a, _) = tokens.redeem(&a, t0).unwrap();
        let b = tokens.mint(2, t0).unwrap();
        let (b, _) = tokens.redeem(&b, t0).unwrap();
        assert_eq!(tokens.revoke(Some(1)), 1);
        assert_eq!(tokens.check(&a, t0), Err(TokenError::CookieUnknown));
        assert_eq!(tokens.check(&b, t0), Ok(2));
        assert_eq!(tokens.revoke(None), 1);
        assert_eq!(tokens.check(&b, t0), Err(TokenError::CookieUnknown));
    }
}
