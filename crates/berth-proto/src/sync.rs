//! A blocking client: what the CLI uses, one conversation per connection.
//! Typed calls ([`Client::status`], [`Client::capture`], [`Client::attach`]
//! and the attached [`Event`] stream) so no caller reads a frame itself.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;

use crate::{
    decode, encode_control, encode_data, Access, AttachRequest, CaptureRequest, Decoder, Frame,
    FrameError, Header, HeaderError, Request, Response, Size, Status, HEADER_LEN,
};

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Header(#[from] HeaderError),
    #[error(transparent)]
    Frame(#[from] FrameError),
    #[error("the session closed the connection")]
    Closed,
    /// The host refused the request; `message` is meant for the user.
    #[error("{message}")]
    Refused {
        code: crate::ErrorCode,
        message: String,
    },
    #[error("unexpected reply from the session: {0}")]
    Unexpected(String),
}

/// A handshaken connection to a session host.
pub struct Client<S> {
    stream: S,
    decoder: Decoder,
    buf: Vec<u8>,
    pub session: String,
    pub access: Access,
}

impl<S: Read + Write> Client<S> {
    /// Exchanges headers and Hello/Welcome.
    pub fn handshake(mut stream: S, client: &str) -> Result<Self, ClientError> {
        // A peer that is not berth may have written and closed before our
        // header goes out: what it said explains more than our write error.
        let written = stream.write_all(&Header::ours().to_bytes());
        let mut header = [0u8; HEADER_LEN];
        match read_exact_or_closed(&mut stream, &mut header) {
            Ok(()) => {
                Header::check(&header)?;
                written?;
            }
            Err(e) => {
                written?;
                return Err(e);
            }
        }
        let mut this = Self {
            stream,
            decoder: Decoder::new(),
            buf: vec![0; 64 * 1024],
            session: String::new(),
            access: Access::Observer,
        };
        this.send(&Request::Hello {
            client: client.to_owned(),
        })?;
        match this.response()? {
            Response::Welcome { session, access } => {
                this.session = session;
                this.access = access;
                Ok(this)
            }
            other => Err(ClientError::Unexpected(format!("{other:?}"))),
        }
    }

    pub fn send(&mut self, request: &Request) -> Result<(), ClientError> {
        let mut out = Vec::new();
        encode_control(request, &mut out);
        self.stream.write_all(&out)?;
        Ok(())
    }

    /// The next frame from the host.
    fn frame(&mut self) -> Result<Frame, ClientError> {
        loop {
            if let Some(frame) = self.decoder.next_frame()? {
                return Ok(frame);
            }
            let n = self.stream.read(&mut self.buf)?;
            if n == 0 {
                return Err(ClientError::Closed);
            }
            self.decoder.extend(&self.buf[..n]);
        }
    }

    /// The next control message; error responses become [`ClientError::Refused`].
    pub fn response(&mut self) -> Result<Response, ClientError> {
        match self.frame()? {
            Frame::Control(payload) => reply(&payload),
            Frame::Data(_) => Err(ClientError::Unexpected("data frame".into())),
        }
    }

    /// Sends a request and expects a single control reply.
    pub fn call(&mut self, request: &Request) -> Result<Response, ClientError> {
        self.send(request)?;
        self.response()
    }

    pub fn stream(&self) -> &S {
        &self.stream
    }

    /// The session's status.
    pub fn status(&mut self) -> Result<Status, ClientError> {
        match self.call(&Request::Status)? {
            Response::Status(status) => Ok(*status),
            other => Err(unexpected(other)),
        }
    }

    /// A capture: its text, gathered from the data frames before the end.
    pub fn capture(&mut self, req: &CaptureRequest) -> Result<Vec<u8>, ClientError> {
        self.send(&Request::Capture(req.clone()))?;
        let mut text = Vec::new();
        loop {
            match self.frame()? {
                Frame::Data(bytes) => text.extend_from_slice(&bytes),
                Frame::Control(payload) => {
                    return match reply(&payload)? {
                        Response::CaptureEnd { .. } => Ok(text),
                        other => Err(unexpected(other)),
                    }
                }
            }
        }
    }

    /// Attaches; what follows comes as [`Client::event`]s.
    pub fn attach(&mut self, req: AttachRequest) -> Result<Attached, ClientError> {
        match self.call(&Request::Attach(req))? {
            Response::Attached { size, read_only } => Ok(Attached { size, read_only }),
            other => Err(unexpected(other)),
        }
    }

    /// The next thing an attached session says. Messages this client does
    /// not know are skipped: a newer host may say more.
    pub fn event(&mut self) -> Result<Event, ClientError> {
        loop {
            let response = match self.frame()? {
                Frame::Data(bytes) => return Ok(Event::Output(bytes)),
                Frame::Control(payload) => decode::<Response>(&payload)?,
            };
            return Ok(match response {
                Response::Resized { size } => Event::Resized(size),
                Response::Detached { reason } => Event::Detached(reason),
                Response::Error { message, .. } => Event::Detached(message),
                Response::Ended { .. } => Event::Ended,
                _ => continue,
            });
        }
    }
}

impl Client<UnixStream> {
    /// A second handle on the connection for another thread: input,
    /// resizes and detach while this one reads events.
    pub fn input(&self) -> std::io::Result<Input> {
        Ok(Input {
            stream: self.stream.try_clone()?,
        })
    }
}

/// What an attach began with.
#[derive(Debug, Clone, Copy)]
pub struct Attached {
    pub size: Size,
    /// The host may attach a client read-only that asked for read-write.
    pub read_only: bool,
}

/// What an attached session says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Program output (the first is the screen).
    Output(Vec<u8>),
    /// The session's terminal changed size.
    Resized(Size),
    /// This client was detached, and why.
    Detached(String),
    /// The session ended.
    Ended,
}

/// The writing side of an attached connection.
pub struct Input {
    stream: UnixStream,
}

impl Input {
    /// Keyboard input.
    pub fn keys(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        let mut out = Vec::new();
        encode_data(bytes, &mut out);
        self.stream.write_all(&out)
    }

    pub fn request(&mut self, request: &Request) -> std::io::Result<()> {
        let mut out = Vec::new();
        encode_control(request, &mut out);
        self.stream.write_all(&out)
    }

    /// Ends the connection both ways: the reader's next event fails.
    pub fn close(&self) {
        let _ = self.stream.shutdown(std::net::Shutdown::Both);
    }
}

/// A control frame from the host; an error becomes [`ClientError::Refused`].
fn reply(payload: &[u8]) -> Result<Response, ClientError> {
    match decode::<Response>(payload)? {
        Response::Error { code, message } => Err(ClientError::Refused { code, message }),
        other => Ok(other),
    }
}

fn unexpected(response: Response) -> ClientError {
    ClientError::Unexpected(format!("{response:?}"))
}

fn read_exact_or_closed(stream: &mut impl Read, buf: &mut [u8]) -> Result<(), ClientError> {
    match stream.read_exact(buf) {
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Err(ClientError::Closed),
        other => Ok(other?),
    }
}
