//! Who is on the other end of a connection (SO_PEERCRED). What they may
//! do is decided by `berth_config::access`, the check berthd shares.

pub use berth_config::access::{Caller as Peer, SessionAccess as AccessPolicy};
pub use berth_config::model::Principal;

/// The peer of `stream`, with its account name and groups.
pub fn from_stream(stream: &tokio::net::UnixStream) -> std::io::Result<Peer> {
    let cred = stream.peer_cred()?;
    Ok(Peer::lookup(cred.uid(), cred.pid()))
}
