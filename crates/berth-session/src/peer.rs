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

/// Who may do what. Root and the account the session runs as are operators.
#[derive(Debug, Clone)]
pub struct AccessPolicy {
    pub owner_uid: u32,
}

impl AccessPolicy {
    pub fn access(&self, peer: &Peer) -> Option<Access> {
        (peer.uid == 0 || peer.uid == self.owner_uid).then_some(Access::Operator)
    }
}
