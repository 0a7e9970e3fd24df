//! Asking a session host for its status over its socket.

use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use berth_proto::sync::Client;
use berth_proto::{Request, Response, Status};

/// Sends one request to the host behind `socket` and returns its answer
/// (an error answer included); fails if it does not answer in time.
pub fn request(socket: &Path, req: &Request) -> anyhow::Result<Response> {
    let stream = UnixStream::connect(socket)?;
    // A stop is answered once the program has ended: up to three stop
    // graces (5 s each by default) and a drain.
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    stream.set_write_timeout(Some(Duration::from_secs(10)))?;
    let mut client = Client::handshake(stream, "berthd")?;
    match client.call(req) {
        Ok(response) => Ok(response),
        Err(berth_proto::sync::ClientError::Refused { code, message }) => {
            Ok(Response::Error { code, message })
        }
        Err(e) => Err(e.into()),
    }
}

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
