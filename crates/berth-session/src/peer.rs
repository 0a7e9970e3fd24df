//! Who is on the other end of a connection (SO_PEERCRED). What they may
//! do is decided by `berth_config::access`, the check berthd shares.

pub use berth_config::access::{Caller as Peer, SessionAccess as AccessPolicy};
pub use berth_config::model::Principal;

/// Test hook: account lookups take this many more milliseconds, to show
/// that a slow account database (LDAP, SSSD) stalls nothing but the
/// connection being looked up.
pub const DELAY_LOOKUP_ENV: &str = "BERTH_TEST_DELAY_LOOKUP_MS";

/// `uid`'s name and groups, from the account databases. Blocks: call it
/// on a blocking thread.
pub fn lookup(uid: u32, pid: Option<i32>) -> Peer {
    delay_for_tests();
    Peer::lookup(uid, pid)
}

/// Whether `uid` is the web dashboard's account. Blocks like [`lookup`].
pub fn is_web_account(uid: u32) -> bool {
    delay_for_tests();
    berth_config::accounts::user_name(uid) == berth_config::access::WEB_ACCOUNT
}

/// A peer known by its credentials only, before its account is looked up.
pub fn unnamed(uid: u32, pid: Option<i32>) -> Peer {
    Peer {
        uid,
        pid,
        user: format!("uid {uid}"),
        groups: Vec::new(),
    }
}

fn delay_for_tests() {
    if let Some(ms) = std::env::var(DELAY_LOOKUP_ENV)
        .ok()
        .and_then(|v| v.parse().ok())
    {
        std::thread::sleep(std::time::Duration::from_millis(ms));
    }
}
