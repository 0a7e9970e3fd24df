//! Who is on the other end of a connection, and what they may do.

use berth_config::accounts::user_name;
use berth_proto::Access;

/// A connected peer, from SO_PEERCRED.
#[derive(Debug, Clone)]
pub struct Peer {
    pub uid: u32,
    pub pid: Option<i32>,
    pub user: String,
}

impl Peer {
    pub fn from_stream(stream: &tokio::net::UnixStream) -> std::io::Result<Self> {
        let cred = stream.peer_cred()?;
        Ok(Self {
            uid: cred.uid(),
            pid: cred.pid(),
            user: user_name(cred.uid()),
        })
    }
}

pub use berth_config::model::Principal;

/// Who may do what. Root and the account the session runs as are operators;
/// then `operators`, then `observers`; everyone else is refused.
#[derive(Debug, Clone)]
pub struct AccessPolicy {
    pub owner_uid: u32,
    pub operators: Vec<Principal>,
    pub observers: Vec<Principal>,
}

impl AccessPolicy {
    pub fn access(&self, peer: &Peer) -> Option<Access> {
        if peer.uid == 0 || peer.uid == self.owner_uid {
            return Some(Access::Operator);
        }
        let groups = peer_groups(peer.uid);
        let matches = |list: &[Principal]| {
            list.iter().any(|p| match p {
                Principal::User(u) => *u == peer.user,
                Principal::Group(g) => groups.iter().any(|name| name == g),
            })
        };
        if matches(&self.operators) {
            Some(Access::Operator)
        } else if matches(&self.observers) {
            Some(Access::Observer)
        } else {
            None
        }
    }
}

/// Names of the groups `uid` belongs to (primary and supplementary).
fn peer_groups(uid: u32) -> Vec<String> {
    let Ok(Some(user)) = nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid)) else {
        return Vec::new();
    };
    let Ok(name) = std::ffi::CString::new(user.name) else {
        return Vec::new();
    };
    nix::unistd::getgrouplist(&name, user.gid)
        .unwrap_or_default()
        .into_iter()
        .map(|g| berth_config::accounts::group_name(g.as_raw()))
        .collect()
}
