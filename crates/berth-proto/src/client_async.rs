//! An async client for berthd, which talks to many hosts at once from one
//! thread: the same handshake as [`crate::sync::Client`], on tokio.

use std::path::Path;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::UnixStream;

use crate::server::{ConnError, FrameReader};
use crate::sync::ClientError;
use crate::{decode, encode_control, Frame, Header, Request, Response, HEADER_LEN, MAX_FRAME_LEN};

/// A handshaken connection to a session host.
pub struct AsyncClient {
    reader: FrameReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
}

impl AsyncClient {
    /// Connects to `socket` and finishes the handshake within `deadline`.
    pub async fn connect(
        socket: &Path,
        client: &str,
        deadline: Duration,
    ) -> Result<Self, ClientError> {
        let stream = UnixStream::connect(socket).await?;
        tokio::time::timeout(deadline, Self::handshake(stream, client))
            .await
            .map_err(|_| {
                ClientError::Io(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "the host did not finish the handshake in time",
                ))
            })?
    }

    async fn handshake(stream: UnixStream, client: &str) -> Result<Self, ClientError> {
        let (mut reader, mut writer) = stream.into_split();
        writer.write_all(&Header::ours().to_bytes()).await?;
        let mut header = [0u8; HEADER_LEN];
        reader
            .read_exact(&mut header)
            .await
            .map_err(|_| ClientError::Closed)?;
        Header::check(&header)?;
        let mut this = Self {
            reader: FrameReader::new(reader, MAX_FRAME_LEN),
            writer,
        };
        match this
            .call(&Request::Hello {
                client: client.to_owned(),
            })
            .await?
        {
            Response::Welcome { .. } => Ok(this),
            other => Err(ClientError::Unexpected(format!("{other:?}"))),
        }
    }

    pub async fn send(&mut self, request: &Request) -> Result<(), ClientError> {
        let mut out = Vec::new();
        encode_control(request, &mut out);
        self.writer.write_all(&out).await?;
        Ok(())
    }

    /// The next control message; error responses become [`ClientError::Refused`].
    pub async fn response(&mut self) -> Result<Response, ClientError> {
        let frame = self.reader.next().await.map_err(|e| match e {
            ConnError::Io(e) => ClientError::Io(e),
            ConnError::Closed => ClientError::Closed,
            ConnError::Refused(code, message) => ClientError::Refused { code, message },
        })?;
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
}
