//! Account lookups (the passwd and group databases), shared by every binary.

use nix::unistd::{Gid, Group, Uid, User};

/// The account name for `uid`, or the number when it has none.
pub fn user_name(uid: u32) -> String {
    match User::from_uid(Uid::from_raw(uid)) {
        Ok(Some(u)) => u.name,
        _ => uid.to_string(),
    }
}

/// The group name for `gid`, or the number when it has none.
pub fn group_name(gid: u32) -> String {
    match Group::from_gid(Gid::from_raw(gid)) {
        Ok(Some(g)) => g.name,
        _ => gid.to_string(),
    }
}

/// The account a session runs as in system mode: its `user`, else
/// `berth-NAME` (created by berthd).
pub fn service_account(session: &str, user: Option<&str>) -> String {
    user.map_or_else(|| format!("berth-{session}"), str::to_owned)
}

/// What useradd takes as a name, said as the fix.
const ACCOUNT_NAME_RULE: &str =
    "an account name is 1 to 32 lowercase letters, digits, \"_\" or \"-\", not starting with a digit or \"-\"";

/// Whether useradd would take `name`; the error is the rule.
pub fn check_account_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 32
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
        && !name.starts_with(|c: char| c.is_ascii_digit() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(ACCOUNT_NAME_RULE.to_owned())
    }
}

/// The refusal for a session whose `user` does not exist and may not be
/// created: the config check says it, and berthd when the account went
/// away after the check.
pub fn missing_user(name: &str) -> String {
    format!("user {name:?} does not exist: create it, or set create_user = true")
}
