//! Who may do what: the one access decision, used by the session host on
//! its socket and by berthd on its control socket (DESIGN.md "Security").
//!
//! Two kinds of right, never conflated. Session rights come from a
//! session's access lists; host rights (reload, new) from `[daemon] admins`.
//! Opening a socket file grants neither.

use crate::accounts::{group_name, user_name};
use crate::model::Principal;

/// What a caller may do with one session: the wire's own type, so the
/// host and berthd answer with what they decided.
pub use berth_proto::Access as Right;

/// Someone on the other end of a socket: the uid from SO_PEERCRED, its
/// account name and the names of every group it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub uid: u32,
    pub pid: Option<i32>,
    pub user: String,
    pub groups: Vec<String>,
}

impl Caller {
    /// Looks `uid`'s name and groups up in the account databases.
    pub fn lookup(uid: u32, pid: Option<i32>) -> Self {
        Self {
            uid,
            pid,
            user: user_name(uid),
            groups: groups_of(uid),
        }
    }

    /// Whether `principal` names this caller.
    pub fn is(&self, principal: &Principal) -> bool {
        match principal {
            Principal::User(u) => *u == self.user,
            Principal::Group(g) => self.groups.iter().any(|name| name == g),
        }
    }

    fn in_list(&self, list: &[Principal]) -> bool {
        list.iter().any(|p| self.is(p))
    }
}

/// One session's access lists. Root and the account the session runs as
/// are operators; then `operators`, then `observers`; nobody else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionAccess {
    /// The service account's uid, when known (a DynamicUser has none
    /// until systemd allocates it).
    pub owner_uid: Option<u32>,
    pub operators: Vec<Principal>,
    pub observers: Vec<Principal>,
}

impl SessionAccess {
    pub fn right(&self, caller: &Caller) -> Option<Right> {
        let owner = caller.uid == 0 || Some(caller.uid) == self.owner_uid;
        if owner || caller.in_list(&self.operators) {
            Some(Right::Operator)
        } else if caller.in_list(&self.observers) {
            Some(Right::Observer)
        } else {
            None
        }
    }
}

/// Who may run host-wide verbs (`reload`, `new`): root, the account berthd
/// itself runs as (user mode), and `[daemon] admins`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostAccess {
    pub daemon_uid: u32,
    pub admins: Vec<Principal>,
}

impl HostAccess {
    pub fn allows(&self, caller: &Caller) -> bool {
        caller.uid == 0 || caller.uid == self.daemon_uid || caller.in_list(&self.admins)
    }
}

/// The one-line refusal of `what` ("stop it", "send input"; empty for
/// connecting at all) to a caller holding `right` on `session`.
pub fn denial(caller: &Caller, right: Option<Right>, session: &str, what: &str) -> String {
    match right {
        Some(Right::Observer) => format!(
            "permission denied: {} is an observer of {session} and cannot {what}",
            caller.user
        ),
        _ if what.is_empty() => format!(
            "permission denied: {} (uid {}) is not an operator or observer of session {session}",
            caller.user, caller.uid
        ),
        _ => format!(
            "permission denied: {} (uid {}) is not an operator of session {session} and cannot {what}",
            caller.user, caller.uid
        ),
    }
}

/// The account berth-web runs as. Its leading `_` keeps it apart from
/// every session's `berth-NAME` (a session named `web` is `berth-web`).
pub const WEB_ACCOUNT: &str = "_berth-web";

/// Whom a connection acts as when it says it speaks for `uid`, and the
/// live login that allows it: that user, if the connection is berth-web's
/// and root recorded a live login for them under `runtime`
/// ([`crate::logins`]); an error saying why not otherwise. The one rule
/// of delegation, for every socket that takes it. What a delegated
/// connection may then do is [`delegated_may`]'s.
pub fn delegate(
    peer: &Caller,
    uid: u32,
    runtime: Option<&std::path::Path>,
) -> Result<(Caller, crate::logins::Login), String> {
    if peer.user != WEB_ACCOUNT || peer.uid == 0 {
        return Err(format!(
            "permission denied: only the web dashboard's account ({WEB_ACCOUNT}) may speak for another user; connect as yourself"
        ));
    }
    if uid == 0 {
        return Err(
            "permission denied: the web dashboard never acts as root; log in to it as another user"
                .into(),
        );
    }
    let person = Caller::lookup(uid, None);
    let login = runtime.and_then(|r| crate::logins::live(r, uid)).ok_or_else(|| {
        format!(
            "permission denied: {} (uid {uid}) holds no live web login; the dashboard speaks only for people logged in with berth web login",
            person.user
        )
    })?;
    Ok((person, login))
}

/// What the web dashboard offers, and so all a connection speaking for
/// someone may ask: to view sessions (list, status, follow, capture,
/// attach read-only, replay their recordings) and, where the login
/// allows input, to attach read-write. Never a lifecycle or host-wide verb, never `reconfigure`,
/// `send`, `run`, `wait` or `logs`.
pub fn delegated_may(verb: &str) -> Result<(), String> {
    match verb {
        "ls" | "status" | "watch" | "capture" | "attach" | "resize" | "detach" | "redraw"
        | "recording" => Ok(()),
        other => Err(format!(
            "permission denied: the web dashboard may only view sessions (and type where allowed), not {other}; use berth on the host"
        )),
    }
}

/// Names of the groups `uid` belongs to (primary and supplementary).
fn groups_of(uid: u32) -> Vec<String> {
    let Ok(Some(user)) = nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid)) else {
        return Vec::new();
    };
    let Ok(name) = std::ffi::CString::new(user.name) else {
        return Vec::new();
    };
    nix::unistd::getgrouplist(&name, user.gid)
        .unwrap_or_default()
        .into_iter()
        .map(|g| group_name(g.as_raw()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(uid: u32, user: &str, groups: &[&str]) -> Caller {
        Caller {
            uid,
            pid: None,
            user: user.into(),
            groups: groups.iter().map(|g| g.to_string()).collect(),
        }
    }

    #[test]
    fn only_the_web_account_speaks_for_others_and_never_for_root() {
        let web = caller(990, WEB_ACCOUNT, &[]);
        // uid 0 is always in the account database, with its name.
        // Without a live login recorded by root, no one.
        assert!(delegate(&web, 65534, None)
            .unwrap_err()
            .contains("holds no live web login"));
        assert_eq!(
            delegate(&web, 0, None).unwrap_err(),
            "permission denied: the web dashboard never acts as root; log in to it as another user"
        );
        for impostor in [
            caller(1000, "alice", &[]),
            caller(0, "root", &[]),
            caller(991, "berth-web", &[]),
            caller(0, WEB_ACCOUNT, &[]),
        ] {
            assert_eq!(
                delegate(&impostor, 65534, None).unwrap_err(),
                "permission denied: only the web dashboard's account (_berth-web) may speak for another user; connect as yourself",
                "{impostor:?}"
            );
        }
    }

    fn lists() -> SessionAccess {
        SessionAccess {
            owner_uid: Some(900),
            operators: vec![
                Principal::Group("oncall".into()),
                Principal::User("alice".into()),
            ],
            observers: vec![Principal::Group("dev".into())],
        }
    }

    #[test]
    fn session_rights_follow_the_lists() {
        let a = lists();
        assert_eq!(a.right(&caller(0, "root", &[])), Some(Right::Operator));
        assert_eq!(a.right(&caller(900, "svc", &[])), Some(Right::Operator));
        assert_eq!(
            a.right(&caller(1001, "alice", &["dev"])),
            Some(Right::Operator)
        );
        assert_eq!(
            a.right(&caller(1002, "bob", &["dev", "oncall"])),
            Some(Right::Operator)
        );
        assert_eq!(
            a.right(&caller(1003, "carol", &["dev"])),
            Some(Right::Observer)
        );
        // The socket group opens the file; it grants nothing.
        assert_eq!(a.right(&caller(1004, "dave", &["berth"])), None);
        // A user whose name is a listed group's is not that group.
        assert_eq!(a.right(&caller(1005, "oncall", &[])), None);
    }

    #[test]
    fn host_rights_are_root_berthd_and_admins() {
        let h = HostAccess {
            daemon_uid: 0,
            admins: vec![Principal::Group("ops".into())],
        };
        assert!(h.allows(&caller(0, "root", &[])));
        assert!(h.allows(&caller(1001, "alice", &["ops"])));
        assert!(!h.allows(&caller(1002, "bob", &["berth", "oncall"])));
        let user_mode = HostAccess {
            daemon_uid: 1000,
            admins: vec![],
        };
        assert!(user_mode.allows(&caller(1000, "me", &[])));
    }

    #[test]
    fn denials_say_who_what_and_why() {
        let obs = caller(1003, "carol", &["dev"]);
        assert_eq!(
            denial(&obs, Some(Right::Observer), "ci", "stop it"),
            "permission denied: carol is an observer of ci and cannot stop it"
        );
        assert_eq!(
            denial(&caller(1004, "dave", &[]), None, "ci", ""),
            "permission denied: dave (uid 1004) is not an operator or observer of session ci"
        );
        assert_eq!(
            denial(&caller(1004, "dave", &[]), None, "ci", "stop it"),
            "permission denied: dave (uid 1004) is not an operator of session ci and cannot stop it"
        );
    }
}
