//! An async client for berthd, which talks to many hosts at once from one
//! thread: the same handshake as [`crate::sync::Client`], on tokio.

use std::path::Path;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::UnixStream;

use crate::server::{ConnError, FrameReader};
use crate::sync::ClientError;
use crate::{
    decode, encode_control, encode_data, Access, Frame, Header, OnBehalfOf, Request, Response,
    HEADER_LEN,
};

/// A handshaken connection to a session host.
pub struct AsyncClient {
    reader: FrameReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
    /// What the host said the caller may do.
    access: Option<Access>,
}

impl AsyncClient {
    /// Connects to `socket` and finishes the handshake within `deadline`.
    pub async fn connect(
        socket: &Path,
        client: &str,
        deadline: Duration,
    ) -> Result<Self, ClientError> {
        Self::connect_for(socket, client, None, deadline).await
    }

    /// [`AsyncClient::connect`] speaking for someone (berth-web only: a
    /// host refuses the claim from anyone else).
    pub async fn connect_for(
        socket: &Path,
        client: &str,
        on_behalf_of: Option<OnBehalfOf>,
        deadline: Duration,
    ) -> Result<Self, ClientError> {
        let stream = UnixStream::connect(socket).await?;
        tokio::time::timeout(deadline, Self::handshake(stream, client, on_behalf_of))
            .await
            .map_err(|_| {
                ClientError::Io(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "the host did not finish the handshake in time",
                ))
            })?
    }

    async fn handshake(
        stream: UnixStream,
        client: &str,
        on_behalf_of: Option<OnBehalfOf>,
    ) -> Result<Self, ClientError> {
        let (mut reader, mut writer) = stream.into_split();
        writer.write_all(&Header::ours().to_bytes()).await?;
        let mut header = [0u8; HEADER_LEN];
        reader
            .read_exact(&mut header)
            .await
            .map_err(|_| ClientError::Closed)?;
        Header::check(&header)?;
        let mut this = Self {
            reader: FrameReader::for_client(reader),
            writer,
            access: None,
        };
        match this
            .call(&Request::Hello {
                client: client.to_owned(),
                on_behalf_of,
            })
            .await?
        {
            Response::Welcome { access, .. } => {
                this.access = Some(access);
                Ok(this)
            }
            other => Err(ClientError::Unexpected(format!("{other:?}"))),
        }
    }

    /// What the host lets the caller (or the person it speaks for) do.
    pub fn access(&self) -> Option<Access> {
        self.access
    }

    pub async fn send(&mut self, request: &Request) -> Result<(), ClientError> {
        let mut out = Vec::new();
        encode_control(request, &mut out);
        self.writer.write_all(&out).await?;
        Ok(())
    }

    /// The next control message; error responses become [`ClientError::Refused`].
    pub async fn response(&mut self) -> Result<Response, ClientError> {
        let frame = self.reader.next().await.map_err(ClientError::from)?;
        match frame {
            Frame::Control(payload) => match decode::<Response>(&payload)? {
                Response::Error { code, message } => Err(ClientError::Refused { code, message }),
                other => Ok(other),
            },
            Frame::Data(_) => Err(ClientError::Unexpected("data frame".into())),
        }
    }

    pub async fn call(&mut self, request: &Request) -> Result<Response, ClientError> {
        self.send(request).await?;
        self.response().await
    }

    /// Halves that run at once, for an attached client: one reads the
    /// session's output while the other writes input.
    pub fn into_split(self) -> (AsyncReader, AsyncWriter) {
        (
            AsyncReader {
                reader: self.reader,
            },
            AsyncWriter {
                writer: self.writer,
            },
        )
    }
}

/// What an attached client receives: a control message or output.
#[derive(Debug)]
pub enum Received {
    Response(Response),
    Data(Vec<u8>),
}

/// The reading half of an [`AsyncClient`].
pub struct AsyncReader {
    reader: FrameReader<OwnedReadHalf>,
}

impl AsyncReader {
    /// The next frame; error responses become [`ClientError::Refused`].
    pub async fn next(&mut self) -> Result<Received, ClientError> {
        match self.reader.next().await.map_err(ClientError::from)? {
            Frame::Control(payload) => match decode::<Response>(&payload)? {
                Response::Error { code, message } => Err(ClientError::Refused { code, message }),
                other => Ok(Received::Response(other)),
            },
            Frame::Data(bytes) => Ok(Received::Data(bytes)),
        }
    }
}

/// The writing half of an [`AsyncClient`].
pub struct AsyncWriter {
    writer: OwnedWriteHalf,
}

impl AsyncWriter {
    pub async fn send(&mut self, request: &Request) -> Result<(), ClientError> {
        let mut out = Vec::new();
        encode_control(request, &mut out);
        self.writer.write_all(&out).await?;
        Ok(())
    }

    /// Keyboard input, as an attached read-write client types it.
    pub async fn send_data(&mut self, bytes: &[u8]) -> Result<(), ClientError> {
        let mut out = Vec::new();
        encode_data(bytes, &mut out);
        self.writer.write_all(&out).await?;
        Ok(())
    }
}

impl From<ConnError> for ClientError {
    fn from(e: ConnError) -> Self {
        match e {
            ConnError::Io(e) => ClientError::Io(e),
            ConnError::Closed => ClientError::Closed,
            ConnError::Refused(code, message) => ClientError::Refused { code, message },
        }
    }
}
