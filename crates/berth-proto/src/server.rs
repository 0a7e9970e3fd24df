//! The server side of a connection, for every berth socket (session hosts
//! and berthd's control socket): headers, the handshake deadline, frames
//! with a deadline once begun, error replies the peer gets to read, and a
//! per-uid limit on open connections.
//!
//! One implementation, so every socket keeps the same bounds: before a
//! peer is authorized a connection holds a read buffer of [`READ_CHUNK`]
//! and frames of at most [`MAX_FRAME_BEFORE_AUTH`]; the handshake must end
//! within the server's deadline; a frame that has begun must end within
//! [`FRAME_DEADLINE`]; a uid holds at most [`MAX_CONNECTIONS_PER_UID`]
//! connections at once.
//!
//! A connection is sealed, as mini-redis's `Connection` is: its halves are
//! private, and handlers only send replies and data through
//! [`FrameWriter`], which splits anything into frames that fit, writes at
//! most [`WRITE_CHUNK`] at a time, and gives each write [`WRITE_DEADLINE`].
//! No reply, however large, can reach a frame-size check; a peer that stops
//! reading holds one chunk, and only for so long.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::UnixStream;
use tokio::time::Instant;

use crate::{
    decode, encode_control, encode_data, Decoder, ErrorCode, Frame, FrameError, Header,
    HeaderError, OnBehalfOf, Request, Response, HEADER_LEN, MAX_FRAME_LEN, PROTOCOL_VERSION,
};

/// A frame whose first byte arrived must be complete this soon: a peer
/// cannot hold a half-sent frame (and its buffer) open.
pub const FRAME_DEADLINE: Duration = Duration::from_secs(10);
/// Longest frame before the peer is authorized; a hello is a few dozen bytes.
pub const MAX_FRAME_BEFORE_AUTH: usize = 4 * 1024;
/// Bytes read from the socket at a time.
pub const READ_CHUNK: usize = 8 * 1024;
/// Open connections one uid may hold on one socket.
pub const MAX_CONNECTIONS_PER_UID: usize = 64;
/// How long one write may wait for the peer to read: a peer that stops
/// reading (a stopped client, a hostile one) loses its connection then,
/// and with it the reply it was holding in the server.
pub const WRITE_DEADLINE: Duration = Duration::from_secs(60);
/// Bytes of a reply encoded and written at a time: what a peer that does
/// not read makes the server hold, whatever it asked for.
pub const WRITE_CHUNK: usize = 256 * 1024;
/// How long a refused peer has to read our error frame.
const LINGER: Duration = Duration::from_secs(1);
/// What a refused peer may still send while we wait for it to read.
const LINGER_BYTES: usize = 4 << 20;

/// Why a connection ended early.
#[derive(Debug, thiserror::Error)]
pub enum ConnError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The peer is told `message` in an error frame, then the connection closes.
    #[error("{1}")]
    Refused(ErrorCode, String),
    #[error("connection closed")]
    Closed,
}

impl From<FrameError> for ConnError {
    fn from(e: FrameError) -> Self {
        ConnError::Refused(
            ErrorCode::Malformed,
            format!("malformed input: {e}; closing the connection"),
        )
    }
}

/// Frames from a stream, each begun frame under [`FRAME_DEADLINE`].
pub struct FrameReader<R> {
    reader: R,
    decoder: Decoder,
    buf: Vec<u8>,
    /// When the frame being received began, while one is incomplete.
    begun: Option<Instant>,
}

impl<R: AsyncRead + Unpin> FrameReader<R> {
    /// A server's: frames, and requests, of at most `limit` bytes.
    pub fn new(reader: R, limit: usize) -> Self {
        Self::with_decoder(reader, Decoder::with_limit(limit))
    }

    /// A client's: replies up to [`crate::MAX_MESSAGE_LEN`], joined from parts.
    pub fn for_client(reader: R) -> Self {
        Self::with_decoder(reader, Decoder::new())
    }

    fn with_decoder(reader: R, decoder: Decoder) -> Self {
        Self {
            reader,
            decoder,
            // Allocated on the first read: a connection refused before it
            // sent anything costs no buffer.
            buf: Vec::new(),
            begun: None,
        }
    }

    /// The next frame. Waiting between frames is unbounded (an attached
    /// client may be idle for days); a begun frame must end in time.
    pub async fn next(&mut self) -> Result<Frame, ConnError> {
        loop {
            if let Some(frame) = self.decoder.next_frame()? {
                self.begun = (self.decoder.pending() > 0).then(Instant::now);
                return Ok(frame);
            }
            if self.buf.is_empty() {
                self.buf = vec![0; READ_CHUNK];
            }
            let read = self.reader.read(&mut self.buf);
            let n = match self.begun {
                None => read.await?,
                Some(begun) => tokio::time::timeout_at(begun + FRAME_DEADLINE, read)
                    .await
                    .map_err(|_| {
                        ConnError::Refused(
                            ErrorCode::Timeout,
                            format!(
                                "a frame was not finished within {}s; closing the connection",
                                FRAME_DEADLINE.as_secs()
                            ),
                        )
                    })??,
            };
            if n == 0 {
                return Err(ConnError::Closed);
            }
            self.decoder.extend(&self.buf[..n]);
            self.begun.get_or_insert_with(Instant::now);
        }
    }

    /// The next frame as a request; input data outside an attach is refused.
    pub async fn request(&mut self) -> Result<Request, ConnError> {
        match self.incoming().await? {
            Incoming::Request(request) => Ok(request),
            Incoming::Input(_) => Err(ConnError::Refused(
                ErrorCode::BadRequest,
                "input data outside an attached session; closing the connection".into(),
            )),
        }
    }

    /// The next thing an attached client sends.
    pub async fn incoming(&mut self) -> Result<Incoming, ConnError> {
        Ok(match self.next().await? {
            Frame::Control(payload) => Incoming::Request(decode::<Request>(&payload)?),
            Frame::Data(bytes) => Incoming::Input(bytes),
        })
    }
}

/// What a client sends: keyboard input, or a request.
#[derive(Debug, PartialEq, Eq)]
pub enum Incoming {
    Input(Vec<u8>),
    Request(Request),
}

/// Frames to a stream: replies and data, split to fit, each write under
/// [`WRITE_DEADLINE`].
pub struct FrameWriter<W> {
    writer: W,
    buf: Vec<u8>,
}

impl<W: AsyncWrite + Unpin> FrameWriter<W> {
    pub fn new(writer: W) -> Self {
        Self {
            writer,
            buf: Vec::new(),
        }
    }

    /// A control message, of any length.
    pub async fn reply(&mut self, response: &Response) -> Result<(), ConnError> {
        self.buf.clear();
        encode_control(response, &mut self.buf);
        self.flush().await
    }

    /// Bytes as data frames, encoded [`WRITE_CHUNK`] at a time.
    pub async fn send_data(&mut self, bytes: &[u8]) -> Result<(), ConnError> {
        for piece in bytes.chunks(WRITE_CHUNK) {
            self.buf.clear();
            encode_data(piece, &mut self.buf);
            self.flush().await?;
        }
        Ok(())
    }

    /// Writes what `buf` holds, a chunk at a time, each under the deadline.
    async fn flush(&mut self) -> Result<(), ConnError> {
        for piece in self.buf.chunks(WRITE_CHUNK) {
            tokio::time::timeout(WRITE_DEADLINE, self.writer.write_all(piece))
                .await
                .map_err(|_| {
                    ConnError::Refused(
                        ErrorCode::Timeout,
                        format!(
                            "the client read nothing for {}s; closing the connection",
                            WRITE_DEADLINE.as_secs()
                        ),
                    )
                })??;
        }
        self.buf.clear();
        if self.buf.capacity() > 2 * WRITE_CHUNK {
            // A long reply's buffer goes back rather than staying with an
            // idle connection.
            self.buf = Vec::new();
        }
        Ok(())
    }
}

/// One accepted connection: requests in; replies and data out. Sealed:
/// handlers reach the stream only through these methods.
pub struct ServerConn {
    reader: FrameReader<OwnedReadHalf>,
    writer: FrameWriter<OwnedWriteHalf>,
}

impl ServerConn {
    /// A connection from a peer not yet authorized: small frames only.
    pub fn new(stream: UnixStream) -> Self {
        let (reader, writer) = stream.into_split();
        Self {
            reader: FrameReader::new(reader, MAX_FRAME_BEFORE_AUTH),
            writer: FrameWriter::new(writer),
        }
    }

    /// Sends our header, then takes the peer's header and its hello within
    /// `deadline`. `speaker` names this side in a version mismatch
    /// ("session ci-runner", "berthd").
    /// Exchanges headers and takes the Hello; returns whom the client
    /// says it speaks for (the caller decides whether to believe it).
    pub async fn handshake(
        &mut self,
        deadline: Duration,
        speaker: &str,
    ) -> Result<Option<OnBehalfOf>, ConnError> {
        self.write_header().await?;
        tokio::time::timeout(deadline, self.header_and_hello(speaker))
            .await
            .map_err(|_| {
                ConnError::Refused(
                    ErrorCode::Timeout,
                    format!(
                        "handshake not finished within {}s; closing the connection",
                        deadline.as_secs_f64()
                    ),
                )
            })?
    }

    async fn header_and_hello(&mut self, speaker: &str) -> Result<Option<OnBehalfOf>, ConnError> {
        let mut header = [0u8; HEADER_LEN];
        self.reader
            .reader
            .read_exact(&mut header)
            .await
            .map_err(|_| ConnError::Closed)?;
        match Header::check(&header) {
            Ok(_) => {}
            Err(HeaderError::NotBerth) => {
                return Err(ConnError::Refused(
                    ErrorCode::Malformed,
                    "not a berth client: bad protocol header; closing the connection".into(),
                ))
            }
            Err(HeaderError::VersionMismatch { theirs, .. }) => {
                return Err(ConnError::Refused(
                    ErrorCode::Version,
                    format!(
                        "protocol version mismatch: {speaker} speaks version {PROTOCOL_VERSION}, the client speaks version {theirs}; use a berth of the same version"
                    ),
                ))
            }
        }
        match self.reader.request().await? {
            Request::Hello { on_behalf_of, .. } => Ok(on_behalf_of),
            other => Err(ConnError::Refused(
                ErrorCode::BadRequest,
                format!(
                    "expected hello first, got {}; closing the connection",
                    other.name()
                ),
            )),
        }
    }

    /// The peer is allowed in: frames up to the protocol's cap from now on.
    pub fn authorized(&mut self) {
        self.reader.decoder.set_limit(MAX_FRAME_LEN);
    }

    async fn write_header(&mut self) -> Result<(), ConnError> {
        let header = Header::ours().to_bytes();
        tokio::time::timeout(WRITE_DEADLINE, self.writer.writer.write_all(&header))
            .await
            .map_err(|_| ConnError::Closed)??;
        Ok(())
    }

    /// The next request.
    pub async fn request(&mut self) -> Result<Request, ConnError> {
        self.reader.request().await
    }

    pub async fn reply(&mut self, response: &Response) -> Result<(), ConnError> {
        self.writer.reply(response).await
    }

    /// Bytes as data frames (a capture's text, the log).
    pub async fn send_data(&mut self, bytes: &[u8]) -> Result<(), ConnError> {
        self.writer.send_data(bytes).await
    }

    /// Resolves when the peer speaks while it should wait for our answer
    /// (`during` says what it waits for), or closes: what to end with.
    pub async fn interrupted(&mut self, during: &str) -> ConnError {
        match self.reader.next().await {
            Err(e) => e,
            Ok(_) => ConnError::Refused(
                ErrorCode::BadRequest,
                format!("requests {during}; closing the connection"),
            ),
        }
    }

    /// Both halves at once, for an attached client: input is read while
    /// output is written.
    pub fn halves(
        &mut self,
    ) -> (
        &mut FrameReader<OwnedReadHalf>,
        &mut FrameWriter<OwnedWriteHalf>,
    ) {
        (&mut self.reader, &mut self.writer)
    }

    /// Ends the connection after `error` (if any), so that the peer reads
    /// it: closing a Unix socket that still has unread input makes the
    /// peer's read fail with ECONNRESET and the error frame is lost. So:
    /// send, shut down writing, then discard what the peer still sends,
    /// for a moment and a bounded amount.
    pub async fn close(mut self, error: Option<&ConnError>) {
        if let Some(ConnError::Refused(code, message)) = error {
            let error = Response::Error {
                code: *code,
                message: message.clone(),
            };
            // A peer that does not read (the write deadline ended it) is
            // not waited for again.
            let _ = tokio::time::timeout(LINGER, self.reply(&error)).await;
        }
        let _ = self.writer.writer.shutdown().await;
        // The read buffer goes now; discarding needs only a small one.
        self.reader.buf = Vec::new();
        let reader = &mut self.reader.reader;
        let _ = tokio::time::timeout(LINGER, async {
            let mut sink = [0u8; 512];
            let mut discarded = 0;
            while discarded < LINGER_BYTES {
                match reader.read(&mut sink).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => discarded += n,
                }
            }
        })
        .await;
    }

    /// Refuses a connection before any handshake: our header (so any
    /// client can read what follows), the error, and the close.
    pub async fn refuse_at_once(mut self, code: ErrorCode, message: String) {
        let _ = tokio::time::timeout(LINGER, self.write_header()).await;
        self.close(Some(&ConnError::Refused(code, message))).await;
    }
}

/// Open connections per uid on one socket, and all together. (berth-web
/// holds each person's live views with one too.)
pub struct ConnLimit {
    open: Mutex<HashMap<u32, usize>>,
    /// Connections one uid may hold.
    max_per_uid: usize,
    /// Connections of all uids together: a server keeps the rest of its
    /// descriptors for its own work (see [`ConnLimit::for_descriptors`]).
    max_total: usize,
}

impl Default for ConnLimit {
    fn default() -> Self {
        Self {
            open: Mutex::default(),
            max_per_uid: MAX_CONNECTIONS_PER_UID,
            max_total: usize::MAX,
        }
    }
}

/// A connection's place under [`ConnLimit`]; given back on drop.
pub struct ConnSlot {
    limit: Arc<ConnLimit>,
    uid: u32,
}

impl ConnLimit {
    /// Limits for a server that may hold `descriptors` open: connections
    /// take at most half, the other half stays for the server's own work
    /// (its hosts, its logs, its children), so many accounts together can
    /// exhaust neither.
    pub fn for_descriptors(descriptors: u64) -> Self {
        let half = usize::try_from(descriptors / 2).unwrap_or(usize::MAX);
        Self {
            max_total: half.max(8),
            ..Self::default()
        }
    }

    /// At most `max` connections per uid, any number in all.
    pub fn per_uid(max: usize) -> Self {
        Self {
            max_per_uid: max,
            ..Self::default()
        }
    }

    /// A place for one more connection of `uid`, or the refusal to send.
    pub fn admit(self: &Arc<Self>, uid: u32) -> Result<ConnSlot, String> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let total: usize = open.values().sum();
        if total >= self.max_total {
            return Err(format!(
                "too many connections: {total} are open, the most this server takes at once; try again shortly"
            ));
        }
        let count = open.entry(uid).or_default();
        if *count >= self.max_per_uid {
            return Err(format!(
                "too many connections from uid {uid}: at most {} at once; close some and try again",
                self.max_per_uid
            ));
        }
        *count += 1;
        Ok(ConnSlot {
            limit: Arc::clone(self),
            uid,
        })
    }

    /// Connections open now, all uids together.
    pub fn total(&self) -> usize {
        let open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        open.values().sum()
    }

    /// Connections `uid` holds now.
    pub fn open(&self, uid: u32) -> usize {
        let open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        open.get(&uid).copied().unwrap_or(0)
    }
}

impl Drop for ConnSlot {
    fn drop(&mut self) {
        let mut open = self.limit.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = open.get_mut(&self.uid) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.uid);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_uid_holds_a_bounded_number_of_connections() {
        let limit = Arc::new(ConnLimit::default());
        let slots: Vec<_> = (0..MAX_CONNECTIONS_PER_UID)
            .map(|_| limit.admit(1000).unwrap())
            .collect();
        assert_eq!(
            limit.admit(1000).err().unwrap(),
            "too many connections from uid 1000: at most 64 at once; close some and try again"
        );
        // Other uids are not affected; a closed connection frees its place.
        assert!(limit.admit(1001).is_ok());
        drop(slots);
        assert_eq!(limit.open(1000), 0);
        assert!(limit.admit(1000).is_ok());
    }

    #[test]
    fn all_uids_together_leave_half_the_descriptors_free() {
        let limit = Arc::new(ConnLimit::for_descriptors(40));
        let slots: Vec<_> = (0..20).map(|uid| limit.admit(uid).unwrap()).collect();
        assert_eq!(
            limit.admit(99).err().unwrap(),
            "too many connections: 20 are open, the most this server takes at once; try again shortly"
        );
        drop(slots);
        assert!(limit.admit(99).is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn a_begun_frame_must_end_in_time_an_idle_peer_may_wait() {
        let (ours, mut theirs) = UnixStream::pair().unwrap();
        let mut reader = FrameReader::new(ours, MAX_FRAME_LEN);
        // Idle for longer than the deadline, then a whole frame: fine.
        let idle = tokio::spawn(async move {
            tokio::time::sleep(FRAME_DEADLINE * 3).await;
            theirs.write_all(&[0, 0, 0, 2, 2, b'x']).await.unwrap();
            // Then half a frame, and nothing more.
            theirs.write_all(&[0, 0, 0, 9, 2, b'y']).await.unwrap();
            theirs
        });
        assert_eq!(reader.next().await.unwrap(), Frame::Data(b"x".to_vec()));
        let _theirs = idle.await.unwrap();
        match reader.next().await {
            Err(ConnError::Refused(ErrorCode::Timeout, m)) => assert_eq!(
                m,
                "a frame was not finished within 10s; closing the connection"
            ),
            other => panic!("{other:?}"),
        }
    }
}
