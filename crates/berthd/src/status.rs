//! Asking a session host for its status over its socket.

use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use berth_proto::sync::Client;
use berth_proto::{Request, Response, Status};

/// The host's status, or `None` if it does not answer within a second.
pub fn query(socket: &Path) -> Option<Status> {
    let stream = UnixStream::connect(socket).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(1))).ok()?;
    stream
        .set_write_timeout(Some(Duration::from_secs(1)))
        .ok()?;
    let mut client = Client::handshake(stream, "berthd").ok()?;
    match client.call(&Request::Status).ok()? {
        Response::Status(st) => Some(*st),
        _ => None,
    }
}
