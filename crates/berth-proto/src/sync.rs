//! A blocking client: what the CLI uses, one conversation per connection.
//! Typed calls ([`Client::status`], [`Client::capture`], [`Client::attach`]
//! and the attached [`Event`] stream) so no caller reads a frame itself.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;

use crate::scripting::{
    CaptureInfo, InterruptRequest, Interrupted, LogsRequest, RecordedCommand, RecordingRequest,
    ResultRequest, RunRequest, RunResult, WaitRequest,
};
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

/// Output events grow by the data frames already received up to this size.
const MERGE_OUTPUT_UP_TO: usize = 256 * 1024;

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
            on_behalf_of: None,
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

    /// A capture: its text, gathered from the data frames before the end,
    /// and its numbers.
    pub fn capture(&mut self, req: &CaptureRequest) -> Result<Captured, ClientError> {
        self.send(&Request::Capture(req.clone()))?;
        let mut text = Vec::new();
        let (mut seqs, mut wrapped) = (Vec::new(), Vec::new());
        loop {
            let part = self.data_until(|bytes| {
                text.extend_from_slice(bytes);
                Ok(())
            })?;
            match part {
                // A long capture's numbers come in parts ahead of its end.
                Response::CaptureLines {
                    seqs: more,
                    wrapped: more_wrapped,
                } => {
                    seqs.extend(more);
                    wrapped.extend(more_wrapped);
                }
                Response::CaptureEnd { info, .. } => {
                    let info = info.map(|mut info| {
                        seqs.append(&mut info.seqs);
                        wrapped.append(&mut info.wrapped);
                        info.seqs = seqs;
                        info.wrapped = wrapped;
                        *info
                    });
                    return Ok(Captured { text, info });
                }
                other => return Err(unexpected(other)),
            }
        }
    }

    /// Data frames to `sink` until a control message, which is returned.
    fn data_until(
        &mut self,
        mut sink: impl FnMut(&[u8]) -> std::io::Result<()>,
    ) -> Result<Response, ClientError> {
        loop {
            match self.frame()? {
                Frame::Data(bytes) => sink(&bytes)?,
                Frame::Control(payload) => return reply(&payload),
            }
        }
    }

    /// Types keys; with `wait`, answers once output matches (or not in time).
    pub fn send_keys(
        &mut self,
        keys: Vec<String>,
        typing: crate::keys::Typing,
        wait: Option<WaitRequest>,
    ) -> Result<Sent, ClientError> {
        let waits = wait.is_some();
        let (literal, paste) = typing.to_wire();
        match self.call(&Request::Send {
            keys,
            literal,
            paste,
            wait,
        })? {
            Response::Sent { seq } if !waits => Ok(Sent::At(seq)),
            // A host from before sequence numbers.
            Response::Ok if !waits => Ok(Sent::At(0)),
            other if waits => self.waited(other).map(Sent::Waited),
            other => Err(unexpected(other)),
        }
    }

    /// Waits for matching output.
    pub fn wait(&mut self, req: WaitRequest) -> Result<Waited, ClientError> {
        let answer = self.call(&Request::Wait(req))?;
        self.waited(answer)
    }

    fn waited(&mut self, answer: Response) -> Result<Waited, ClientError> {
        match answer {
            Response::Matched { seq, text } => Ok(Waited::Matched { seq, text }),
            Response::WaitTimedOut { seq } => Ok(Waited::TimedOut { seq }),
            other => Err(unexpected(other)),
        }
    }

    /// Runs a command at the shell's prompt.
    pub fn run(&mut self, req: RunRequest) -> Result<RunResult, ClientError> {
        match self.call(&Request::Run(req))? {
            Response::Ran(result) => Ok(*result),
            other => Err(unexpected(other)),
        }
    }

    /// The running or last finished command's result.
    pub fn result(&mut self, req: ResultRequest) -> Result<RunResult, ClientError> {
        match self.call(&Request::Result(req))? {
            Response::Ran(result) => Ok(*result),
            other => Err(unexpected(other)),
        }
    }

    /// Interrupts the running command; answered once the prompt is back.
    pub fn interrupt(&mut self, req: InterruptRequest) -> Result<Interrupted, ClientError> {
        match self.call(&Request::Interrupt(req))? {
            Response::Interrupted(done) => Ok(*done),
            other => Err(unexpected(other)),
        }
    }

    /// The output log to `sink`; following, until the connection ends.
    pub fn logs(
        &mut self,
        req: LogsRequest,
        sink: impl FnMut(&[u8]) -> std::io::Result<()>,
    ) -> Result<(), ClientError> {
        self.send(&Request::Logs(req))?;
        match self.data_until(sink)? {
            Response::LogEnd => Ok(()),
            other => Err(unexpected(other)),
        }
    }

    /// The session's recording to `sink`, asciicast v3.
    pub fn recording(
        &mut self,
        req: RecordingRequest,
        sink: impl FnMut(&[u8]) -> std::io::Result<()>,
    ) -> Result<(), ClientError> {
        self.send(&Request::Recording(RecordingRequest { list: false, ..req }))?;
        match self.data_until(sink)? {
            Response::RecordingEnd => Ok(()),
            other => Err(unexpected(other)),
        }
    }

    /// The commands the session's recording marks.
    pub fn recorded_commands(
        &mut self,
        req: RecordingRequest,
    ) -> Result<Vec<RecordedCommand>, ClientError> {
        match self.call(&Request::Recording(RecordingRequest { list: true, ..req }))? {
            Response::Commands { commands } => Ok(commands),
            other => Err(unexpected(other)),
        }
    }

    /// Attaches; what follows comes as [`Client::event`]s.
    pub fn attach(&mut self, req: AttachRequest) -> Result<Attached, ClientError> {
        match self.call(&Request::Attach(req))? {
            Response::Attached {
                size,
                read_only,
                redraw,
                frames,
            } => Ok(Attached {
                size,
                read_only,
                redraw,
                frames,
            }),
            other => Err(unexpected(other)),
        }
    }

    /// The next thing an attached session says. Messages this client does
    /// not know are skipped: a newer host may say more.
    pub fn event(&mut self) -> Result<Event, ClientError> {
        loop {
            let response = match self.frame()? {
                Frame::Data(mut bytes) => {
                    // Output already read arrives as one event: a client
                    // that is behind writes it to its terminal in one go
                    // (a write per frame cost a terminal wake-up each).
                    while bytes.len() < MERGE_OUTPUT_UP_TO
                        && self.decoder.append_data(&mut bytes)?
                    {}
                    return Ok(Event::Output(bytes));
                }
                Frame::Control(payload) => decode::<Response>(&payload)?,
            };
            return Ok(match response {
                Response::Resized { size } => Event::Resized(size),
                Response::Redraw => Event::Redraw,
                Response::Changed => Event::Changed,
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

/// A capture's text and numbers (`None` from a host before them).
#[derive(Debug, Clone)]
pub struct Captured {
    pub text: Vec<u8>,
    pub info: Option<CaptureInfo>,
}

/// How a `send` went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sent {
    /// Typed; the cursor's line then.
    At(u64),
    Waited(Waited),
}

/// How a wait ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Waited {
    Matched { seq: u64, text: String },
    TimedOut { seq: u64 },
}

/// What an attach began with.
#[derive(Debug, Clone, Copy)]
pub struct Attached {
    pub size: Size,
    /// The host may attach a client read-only that asked for read-write.
    pub read_only: bool,
    /// The host answers [`Request::Redraw`].
    pub redraw: bool,
    /// The host sends screens on request, not the stream.
    pub frames: bool,
}

/// What an attached session says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Program output (the first is the screen).
    Output(Vec<u8>),
    /// The session's terminal changed size.
    Resized(Size),
    /// The next output is the whole screen (asked for with [`Request::Redraw`]).
    Redraw,
    /// Attached for frames: the screen changed since the last one sent.
    Changed,
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
