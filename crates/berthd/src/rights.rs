//! Who may ask berthd for what (pure): every control verb checked against
//! the caller with the same decision the session hosts use
//! (`berth_config::access`). Opening the control socket grants nothing.

use berth_config::access::{denial, Caller, HostAccess, Right, SessionAccess};
use berth_proto::DaemonRequest;

/// The right a request needs.
#[derive(Debug, PartialEq, Eq)]
pub enum Needs<'a> {
    /// Anyone who can open the socket (`ls` shows each caller only what
    /// it may read).
    Nothing,
    /// Root or `[daemon] admins`; the words say what is refused.
    Host(&'static str),
    /// Operator of session `name`.
    Operator(&'a str, &'static str),
    /// Every session's figures: root, `[daemon] admins`, and berth-web's
    /// account speaking for itself (for `/metrics`). A person berth-web
    /// speaks for arrives here as that person, and gets no more than any
    /// other caller.
    Monitor,
    /// berth-web's own account, speaking for itself (`WebRedeem`); in user
    /// mode berth-web runs as berthd's own user, who is the one that may.
    WebAccount,
}

pub fn needs(req: &DaemonRequest) -> Needs<'_> {
    match req {
        DaemonRequest::List | DaemonRequest::ConfigFile => Needs::Nothing,
        DaemonRequest::Reload => Needs::Host("reload berthd's configuration"),
        DaemonRequest::Metrics => Needs::Monitor,
        DaemonRequest::New { .. } => Needs::Host("create sessions"),
        DaemonRequest::Kill { name } => Needs::Operator(name, "kill it"),
        DaemonRequest::Start { name } => Needs::Operator(name, "start it"),
        DaemonRequest::Stop { name } => Needs::Operator(name, "stop it"),
        DaemonRequest::Restart { name } => Needs::Operator(name, "restart it"),
        // Who may log in (not root, not a service account) is decided
        // where the logins are (verbs.rs): it needs the sessions' accounts.
        DaemonRequest::WebLogin | DaemonRequest::WebLogout { .. } => Needs::Nothing,
        DaemonRequest::WebRedeem { .. } => Needs::WebAccount,
    }
}

/// Whether `caller` may make `req`. `session` gives a session's access
/// lists (`None`: no such session, which the verb itself reports).
/// `config` names the file where admins are declared, for the hint.
pub fn check(
    caller: &Caller,
    req: &DaemonRequest,
    host: &HostAccess,
    session: impl Fn(&str) -> Option<SessionAccess>,
    config: &std::path::Path,
) -> Result<(), String> {
    match needs(req) {
        Needs::Nothing => Ok(()),
        Needs::Host(_) if host.allows(caller) => {
            if let DaemonRequest::New { user: Some(u), .. } = req {
                if caller.uid != 0 {
                    return Err(format!(
                        "permission denied: only root may choose the account of a session (--user {u}); leave --user out, or ask root"
                    ));
                }
            }
            Ok(())
        }
        Needs::Host(what) => Err(format!(
            "permission denied: {} may not {what}; only root and [daemon] admins may (ask to be added to admins in {})",
            caller.user,
            config.display()
        )),
        Needs::Monitor if host.allows(caller) || caller.user == berth_config::access::WEB_ACCOUNT => {
            Ok(())
        }
        Needs::Monitor => Err(format!(
            "permission denied: {} may not read every session's figures; only root, [daemon] admins and the web dashboard may (read /metrics through it, or ask to be added to admins in {})",
            caller.user,
            config.display()
        )),
        Needs::WebAccount
            if (caller.user == berth_config::access::WEB_ACCOUNT
                || caller.uid == host.daemon_uid)
                && caller.uid != 0 =>
        {
            Ok(())
        }
        Needs::WebAccount => Err(
            "permission denied: only the web dashboard trades login codes; open the link in a browser"
                .to_owned(),
        ),
        Needs::Operator(name, what) => match session(name) {
            None => Ok(()),
            Some(lists) => match lists.right(caller) {
                Some(Right::Operator) => Ok(()),
                other => Err(denial(caller, other, name, what)),
            },
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_config::model::Principal;
    use std::path::Path;

    fn caller(uid: u32, user: &str, groups: &[&str]) -> Caller {
        Caller {
            uid,
            pid: None,
            user: user.into(),
            groups: groups.iter().map(|g| g.to_string()).collect(),
        }
    }

    fn host() -> HostAccess {
        HostAccess {
            daemon_uid: 0,
            admins: vec![Principal::Group("ops".into())],
        }
    }

    fn lists(name: &str) -> Option<SessionAccess> {
        (name == "a").then(|| SessionAccess {
            owner_uid: Some(900),
            operators: vec![Principal::User("op".into())],
            observers: vec![Principal::User("obs".into())],
        })
    }

    fn ask(who: &Caller, req: DaemonRequest) -> Result<(), String> {
        check(
            who,
            &req,
            &host(),
            lists,
            Path::new("/etc/berth/berth.toml"),
        )
    }

    fn stop(name: &str) -> DaemonRequest {
        DaemonRequest::Stop { name: name.into() }
    }

    #[test]
    fn session_verbs_need_an_operator_of_that_session() {
        assert_eq!(ask(&caller(1, "op", &[]), stop("a")), Ok(()));
        assert_eq!(ask(&caller(0, "root", &[]), stop("a")), Ok(()));
        assert_eq!(ask(&caller(900, "svc", &[]), stop("a")), Ok(()));
        assert_eq!(
            ask(&caller(2, "obs", &["berth"]), stop("a")),
            Err("permission denied: obs is an observer of a and cannot stop it".into())
        );
        assert_eq!(
            ask(
                &caller(3, "eve", &["berth", "ops"]),
                DaemonRequest::Kill { name: "a".into() }
            ),
            Err(
                "permission denied: eve (uid 3) is not an operator of session a and cannot kill it"
                    .into()
            )
        );
        // An unknown session is the verb's own "no session" error.
        assert_eq!(ask(&caller(3, "eve", &[]), stop("zz")), Ok(()));
        assert_eq!(ask(&caller(3, "eve", &[]), DaemonRequest::List), Ok(()));
    }

    #[test]
    fn host_verbs_need_root_or_an_admin() {
        let new = |user: Option<&str>| DaemonRequest::New {
            name: "x".into(),
            user: user.map(str::to_owned),
            command: vec!["bash".into()],
        };
        assert_eq!(ask(&caller(0, "root", &[]), DaemonRequest::Reload), Ok(()));
        assert_eq!(ask(&caller(4, "ada", &["ops"]), new(None)), Ok(()));
        assert_eq!(ask(&caller(0, "root", &[]), new(Some("svc"))), Ok(()));
        assert_eq!(
            ask(&caller(1, "op", &["berth"]), DaemonRequest::Reload),
            Err("permission denied: op may not reload berthd's configuration; only root and [daemon] admins may (ask to be added to admins in /etc/berth/berth.toml)".into())
        );
        assert_eq!(
            ask(&caller(4, "ada", &["ops"]), new(Some("root"))),
            Err("permission denied: only root may choose the account of a session (--user root); leave --user out, or ask root".into())
        );
    }

    #[test]
    fn every_sessions_figures_go_to_root_admins_and_the_web_account_only() {
        let web = berth_config::access::WEB_ACCOUNT;
        for who in [
            caller(0, "root", &[]),
            caller(4, "ada", &["ops"]),
            caller(990, web, &["berth"]),
        ] {
            assert_eq!(ask(&who, DaemonRequest::Metrics), Ok(()), "{}", who.user);
        }
        // An operator of a session (which is what berth-web's delegation
        // makes a logged-in person) is not enough.
        assert_eq!(
            ask(&caller(1, "op", &["berth"]), DaemonRequest::Metrics),
            Err("permission denied: op may not read every session's figures; only root, [daemon] admins and the web dashboard may (read /metrics through it, or ask to be added to admins in /etc/berth/berth.toml)".into())
        );
    }

    #[test]
    fn login_codes_are_traded_by_the_web_account_or_a_user_berthds_own_user() {
        let redeem = || DaemonRequest::WebRedeem { code: "c".into() };
        let web = berth_config::access::WEB_ACCOUNT;
        let refused = Err(
            "permission denied: only the web dashboard trades login codes; open the link in a browser"
                .to_owned(),
        );
        // System mode (berthd is root): berth-web's account alone.
        assert_eq!(ask(&caller(990, web, &[]), redeem()), Ok(()));
        for who in [caller(0, "root", &[]), caller(4, "ada", &["ops"])] {
            assert_eq!(ask(&who, redeem()), refused, "{}", who.user);
        }
        // User mode: berth-web runs as berthd's user, who trades them.
        let mine = HostAccess {
            daemon_uid: 1000,
            admins: Vec::new(),
        };
        let as_user = |who: &Caller| {
            check(
                who,
                &redeem(),
                &mine,
                lists,
                Path::new("/home/alice/.config/berth/berth.toml"),
            )
        };
        assert_eq!(as_user(&caller(1000, "alice", &[])), Ok(()));
        assert_eq!(as_user(&caller(1001, "bob", &[])), refused);
    }
}
