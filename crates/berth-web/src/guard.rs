//! Every HTTP connection bounded in time and number, so idle or slow
//! clients cannot take the dashboard down for everyone: a request's
//! header must arrive whole within [`HEADER`] of its first byte, a
//! connection between requests is closed after [`IDLE`] without a byte,
//! and one address holds at most [`PER_ADDRESS`] connections (loopback
//! clients, one address for every local user, are held by the deadlines
//! alone). A connection upgraded to a WebSocket (a live view) is bounded
//! by the view's own rules instead (`live.rs`), not by these deadlines:
//! a quiet session may send nothing for hours.

use std::collections::HashMap;
use std::future::Future as _;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// From a request's first byte to the end of its header.
pub const HEADER: Duration = Duration::from_secs(10);
/// Between requests on a kept-alive connection.
pub const IDLE: Duration = Duration::from_secs(30);
/// Connections from one (non-loopback) address at once.
pub const PER_ADDRESS: usize = 64;
/// The longest request header taken (hyper's own limit is lower).
const HEADER_MAX: usize = 64 * 1024;

/// Connections open per address.
#[derive(Clone, Default)]
pub struct Addresses(Arc<Mutex<HashMap<IpAddr, usize>>>);

/// One connection's place in [`Addresses`]; given back on drop.
pub struct Slot {
    addresses: Addresses,
    ip: IpAddr,
}

impl Addresses {
    /// A place for a connection from `ip`, or why not.
    pub fn admit(&self, ip: IpAddr) -> Result<Option<Slot>, String> {
        if ip.is_loopback() {
            return Ok(None);
        }
        let mut open = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let n = open.entry(ip).or_insert(0);
        if *n >= PER_ADDRESS {
            return Err(format!(
                "too many connections from {ip}: at most {PER_ADDRESS} at once"
            ));
        }
        *n += 1;
        Ok(Some(Slot {
            addresses: self.clone(),
            ip,
        }))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.addresses.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = open.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

/// A client's stream with the deadlines above.
pub struct Guarded<S> {
    inner: S,
    _slot: Option<Slot>,
    deadline: Pin<Box<Sleep>>,
    /// The request header being read (`None`: between requests).
    header: Option<Vec<u8>>,
    /// Upgraded to a WebSocket: no deadlines.
    upgraded: bool,
}

impl<S> Guarded<S> {
    pub fn new(inner: S, slot: Option<Slot>) -> Self {
        Self {
            inner,
            _slot: slot,
            deadline: Box::pin(tokio::time::sleep(IDLE)),
            header: None,
            upgraded: false,
        }
    }

    /// Follows the requests in `bytes`: where headers start and end, and
    /// whether one asked for a WebSocket.
    fn saw(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        if self.upgraded {
            return Ok(());
        }
        let now = Instant::now();
        match &mut self.header {
            None => {
                self.header = Some(bytes.to_vec());
                self.deadline.as_mut().reset(now + HEADER);
            }
            Some(h) => h.extend_from_slice(bytes),
        }
        let header = self.header.as_ref().expect("set above");
        if let Some(end) = find(header, b"\r\n\r\n") {
            let text = String::from_utf8_lossy(&header[..end]).to_ascii_lowercase();
            if text.contains("\nupgrade: websocket") {
                self.upgraded = true;
            }
            // The rest is a body or the next request: either way the
            // connection now waits at most IDLE for more.
            self.header = None;
            self.deadline.as_mut().reset(now + IDLE);
        } else if header.len() > HEADER_MAX {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "request header too large",
            ));
        }
        Ok(())
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

impl<S: AsyncRead + Unpin> AsyncRead for Guarded<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if !this.upgraded && buf.filled().len() > before {
                    let new = buf.filled()[before..].to_vec();
                    this.saw(&new)?;
                }
                Poll::Ready(Ok(()))
            }
            Poll::Pending if !this.upgraded => match this.deadline.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "the client sent nothing in time",
                ))),
                Poll::Pending => Poll::Pending,
            },
            other => other,
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Guarded<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test(start_paused = true)]
    async fn a_silent_client_is_closed_and_a_websocket_is_not() {
        let (client, server) = tokio::io::duplex(1024);
        let mut guarded = Guarded::new(server, None);
        let mut buf = [0u8; 64];
        // Nothing at all: closed after IDLE.
        let e = guarded.read(&mut buf).await.unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::TimedOut);
        drop(client);

        // A header begun and never ended: closed after HEADER.
        let (mut client, server) = tokio::io::duplex(1024);
        let mut guarded = Guarded::new(server, None);
        client
            .write_all(b"GET / HTTP/1.1\r\nHost: x")
            .await
            .unwrap();
        let started = Instant::now();
        let _ = guarded.read(&mut buf).await.unwrap();
        let e = guarded.read(&mut buf).await.unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::TimedOut);
        assert_eq!(started.elapsed(), HEADER);

        // Upgraded: waits as long as it takes.
        let (mut client, server) = tokio::io::duplex(1024);
        let mut guarded = Guarded::new(server, None);
        client
            .write_all(b"GET /api/attach/x HTTP/1.1\r\nUpgrade: websocket\r\n\r\n")
            .await
            .unwrap();
        let _ = guarded.read(&mut buf).await.unwrap();
        let read = tokio::time::timeout(IDLE * 10, guarded.read(&mut buf)).await;
        assert!(read.is_err(), "still waiting after ten idle periods");
    }

    #[test]
    fn one_address_holds_a_bounded_number() {
        let addresses = Addresses::default();
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        let slots: Vec<_> = (0..PER_ADDRESS)
            .map(|_| addresses.admit(ip).unwrap())
            .collect();
        assert!(addresses.admit(ip).is_err());
        drop(slots);
        assert!(addresses.admit(ip).is_ok());
        assert!(addresses
            .admit("127.0.0.1".parse().unwrap())
            .unwrap()
            .is_none());
    }
}
