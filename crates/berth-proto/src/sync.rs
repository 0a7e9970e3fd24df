//! A blocking client: what the CLI uses for one request per connection.

use std::io::{Read, Write};

use crate::{
    decode, encode, encode_control, Access, Decoder, Frame, FrameError, FrameKind, Header,
    HeaderError, Request, Response, HEADER_LEN, MAX_FRAME_LEN,
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

    /// Sends raw input bytes in frames no larger than the cap.
    pub fn send_data(&mut self, bytes: &[u8]) -> Result<(), ClientError> {
        let mut out = Vec::new();
        for piece in bytes.chunks(MAX_FRAME_LEN - 1) {
            out.clear();
            encode(FrameKind::Data, piece, &mut out);
            self.stream.write_all(&out)?;
        }
        Ok(())
    }

    /// The next frame from the host.
    pub fn frame(&mut self) -> Result<Frame, ClientError> {
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
            Frame::Control(payload) => match decode::<Response>(&payload)? {
                Response::Error { code, message } => Err(ClientError::Refused { code, message }),
                other => Ok(other),
            },
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

    /// The stream and the decoder holding any bytes already read, for a
    /// client that goes on to read frames itself (attach).
    pub fn into_parts(self) -> (S, Decoder) {
        (self.stream, self.decoder)
    }
}

fn read_exact_or_closed(stream: &mut impl Read, buf: &mut [u8]) -> Result<(), ClientError> {
    match stream.read_exact(buf) {
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Err(ClientError::Closed),
        other => Ok(other?),
    }
}
