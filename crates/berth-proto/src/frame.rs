//! Length-prefixed frames and the incremental decoder shared by the sync
//! client and the async host.

/// Hard cap on `length` (kind byte plus payload). A peer announcing more is
/// malformed: the connection is closed before any of it is buffered.
pub const MAX_FRAME_LEN: usize = 1 << 20;

/// Longest control message a client takes from a host, all its parts
/// together (a command's output in `run`'s reply can be large); a host
/// takes requests of one frame only.
pub const MAX_MESSAGE_LEN: usize = 64 << 20;

/// Bytes before the payload: the `u32` length and the kind byte.
pub const PREFIX_LEN: usize = 5;

/// Buffer a decoder keeps between frames.
const KEEP_CAPACITY: usize = 64 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum FrameKind {
    Control = 1,
    Data = 2,
    /// A part of a control message too long for one frame: the parts are
    /// joined, and the control frame that follows them ends the message.
    Part = 3,
}

/// One decoded frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A JSON-encoded [`crate::Request`] or [`crate::Response`].
    Control(Vec<u8>),
    /// Raw bytes: program output, capture text, or keyboard input.
    Data(Vec<u8>),
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FrameError {
    #[error("frame of {0} bytes exceeds the limit of {1} bytes")]
    TooLarge(usize, usize),
    #[error("message of more than {0} bytes exceeds the limit")]
    MessageTooLarge(usize),
    #[error("data frame in the middle of a control message")]
    DataInMessage,
    #[error("empty frame")]
    Empty,
    #[error("unknown frame kind {0}")]
    UnknownKind(u8),
    #[error("malformed control message: {0}")]
    BadMessage(String),
}

/// Appends the encoding of one frame to `out`; a payload over the cap is
/// refused (senders use [`encode_data`] and [`encode_control_payload`],
/// which split anything into frames that fit).
pub fn encode(kind: FrameKind, payload: &[u8], out: &mut Vec<u8>) -> Result<(), FrameError> {
    let len = payload.len() + 1;
    if len > MAX_FRAME_LEN {
        return Err(FrameError::TooLarge(len, MAX_FRAME_LEN));
    }
    out.reserve(PREFIX_LEN + payload.len());
    push(kind, payload, out);
    Ok(())
}

/// The pieces a payload is sent in: none fills more than a frame.
fn pieces(bytes: &[u8]) -> std::slice::Chunks<'_, u8> {
    bytes.chunks(MAX_FRAME_LEN - 1)
}

/// Appends `bytes` as data frames, as many as the cap needs (none for none).
pub fn encode_data(bytes: &[u8], out: &mut Vec<u8>) {
    out.reserve(bytes.len() + PREFIX_LEN);
    for piece in pieces(bytes) {
        push(FrameKind::Data, piece, out);
    }
}

/// Appends a control message of any length: parts, then the control frame
/// with its last piece. The receiver's [`Decoder`] bounds what it joins.
pub fn encode_control_payload(json: &[u8], out: &mut Vec<u8>) {
    out.reserve(json.len() + PREFIX_LEN);
    let mut rest = pieces(json).peekable();
    if rest.peek().is_none() {
        push(FrameKind::Control, b"", out);
    }
    while let Some(piece) = rest.next() {
        let kind = match rest.peek() {
            Some(_) => FrameKind::Part,
            None => FrameKind::Control,
        };
        push(kind, piece, out);
    }
}

/// A payload that fits (one [`pieces`] cut, or one [`encode`] checked).
fn push(kind: FrameKind, piece: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(&((piece.len() + 1) as u32).to_be_bytes());
    out.push(kind as u8);
    out.extend_from_slice(piece);
}

/// Accumulates bytes from a stream and yields whole frames.
#[derive(Debug)]
pub struct Decoder {
    buf: Vec<u8>,
    /// Start of the not-yet-decoded bytes in `buf`; compacted lazily so a
    /// burst of small frames is not a memmove each.
    pos: usize,
    /// Longest frame accepted: a server keeps it small until the peer is
    /// authorized, so an unknown peer cannot make it buffer a megabyte.
    limit: usize,
    /// Longest control message accepted, its parts joined.
    message_limit: usize,
    /// The parts of a control message received so far.
    parts: Vec<u8>,
}

impl Default for Decoder {
    /// A client's: frames up to the cap, messages up to [`MAX_MESSAGE_LEN`].
    fn default() -> Self {
        Self {
            message_limit: MAX_MESSAGE_LEN,
            ..Self::with_limit(MAX_FRAME_LEN)
        }
    }
}

impl Decoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// A decoder refusing frames, and messages, longer than `limit` (at
    /// most [`MAX_FRAME_LEN`]): a server's, which takes requests of one frame.
    pub fn with_limit(limit: usize) -> Self {
        let limit = limit.min(MAX_FRAME_LEN);
        Self {
            buf: Vec::new(),
            pos: 0,
            limit,
            message_limit: limit,
            parts: Vec::new(),
        }
    }

    /// Changes the longest frame and message accepted from now on.
    pub fn set_limit(&mut self, limit: usize) {
        self.limit = limit.min(MAX_FRAME_LEN);
        self.message_limit = self.limit;
    }

    /// Adds bytes read from the stream.
    pub fn extend(&mut self, bytes: &[u8]) {
        if self.pos > 0 && self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes received but not yet returned as frames.
    pub fn pending(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// The next complete frame (a control message joined from its
    /// parts), `Ok(None)` if more bytes are needed.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, FrameError> {
        loop {
            let Some((kind, payload)) = self.peek()? else {
                return Ok(None);
            };
            let end = payload.end;
            let joined = self.parts.len() + payload.len();
            match kind {
                1 | 3 if joined > self.message_limit => {
                    return Err(FrameError::MessageTooLarge(self.message_limit))
                }
                1 => {
                    let mut message = std::mem::take(&mut self.parts);
                    message.extend_from_slice(&self.buf[payload]);
                    self.consume_to(end);
                    return Ok(Some(Frame::Control(message)));
                }
                3 => {
                    self.parts.extend_from_slice(&self.buf[payload]);
                    self.consume_to(end);
                }
                2 if !self.parts.is_empty() => return Err(FrameError::DataInMessage),
                2 => {
                    let payload = self.buf[payload].to_vec();
                    self.consume_to(end);
                    return Ok(Some(Frame::Data(payload)));
                }
                other => return Err(FrameError::UnknownKind(other)),
            }
        }
    }

    /// Appends the payload of the next frame to `out` if it is a complete
    /// data frame (else leaves it): a reader that is behind writes the
    /// output it already holds at once, not one frame at a time.
    pub fn append_data(&mut self, out: &mut Vec<u8>) -> Result<bool, FrameError> {
        match self.peek()? {
            Some((kind, payload)) if kind == FrameKind::Data as u8 && self.parts.is_empty() => {
                let end = payload.end;
                out.extend_from_slice(&self.buf[payload]);
                self.consume_to(end);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    /// The kind of the next frame and where its payload is in `buf`, if
    /// the frame is complete.
    fn peek(&self) -> Result<Option<(u8, std::ops::Range<usize>)>, FrameError> {
        let rest = &self.buf[self.pos..];
        if rest.len() < 4 {
            return Ok(None);
        }
        let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        if len == 0 {
            return Err(FrameError::Empty);
        }
        if len > self.limit {
            return Err(FrameError::TooLarge(len, self.limit));
        }
        if rest.len() < 4 + len {
            return Ok(None);
        }
        Ok(Some((rest[4], self.pos + PREFIX_LEN..self.pos + 4 + len)))
    }

    /// Marks everything before `end` (a frame's end) decoded.
    fn consume_to(&mut self, end: usize) {
        self.pos = end;
        if self.pos == self.buf.len() {
            // All decoded: a large frame's buffer goes back to the allocator
            // rather than staying with an idle connection.
            self.buf.clear();
            self.pos = 0;
            if self.buf.capacity() > KEEP_CAPACITY {
                self.buf.shrink_to(KEEP_CAPACITY);
            }
        } else if self.pos > 64 * 1024 && self.pos * 2 > self.buf.len() {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn encoded(frames: &[Frame]) -> Vec<u8> {
        let mut out = Vec::new();
        for f in frames {
            match f {
                Frame::Control(p) => encode_control_payload(p, &mut out),
                Frame::Data(p) => encode(FrameKind::Data, p, &mut out).unwrap(),
            }
        }
        out
    }

    #[test]
    fn oversized_length_is_refused_before_buffering() {
        let mut d = Decoder::new();
        d.extend(&((MAX_FRAME_LEN as u32) + 1).to_be_bytes());
        assert_eq!(
            d.next_frame(),
            Err(FrameError::TooLarge(MAX_FRAME_LEN + 1, MAX_FRAME_LEN))
        );
        let mut d = Decoder::with_limit(4096);
        d.extend(&4097u32.to_be_bytes());
        assert_eq!(d.next_frame(), Err(FrameError::TooLarge(4097, 4096)));
        d.set_limit(MAX_FRAME_LEN);
        assert_eq!(d.next_frame(), Ok(None));
    }

    #[test]
    fn a_control_message_of_any_length_is_sent_in_parts_and_joined_within_a_bound() {
        let json = vec![b'x'; 3 * MAX_FRAME_LEN + 17];
        let mut out = Vec::new();
        encode_control_payload(&json, &mut out);
        encode_data(b"after", &mut out);
        let mut d = Decoder::new();
        d.extend(&out);
        assert_eq!(d.next_frame(), Ok(Some(Frame::Control(json.clone()))));
        assert_eq!(d.next_frame(), Ok(Some(Frame::Data(b"after".to_vec()))));
        // A server takes requests of one frame: parts past it are refused
        // before they are joined.
        let mut d = Decoder::with_limit(MAX_FRAME_LEN);
        d.extend(&out);
        assert_eq!(
            d.next_frame(),
            Err(FrameError::MessageTooLarge(MAX_FRAME_LEN))
        );
        assert!(d.parts.len() < MAX_FRAME_LEN);
        // A single oversized frame cannot even be encoded.
        assert_eq!(
            encode(FrameKind::Control, &json, &mut Vec::new()),
            Err(FrameError::TooLarge(json.len() + 1, MAX_FRAME_LEN))
        );
    }

    #[test]
    fn data_inside_a_control_message_is_malformed() {
        let mut out = Vec::new();
        encode(FrameKind::Part, b"{\"ty", &mut out).unwrap();
        encode(FrameKind::Data, b"x", &mut out).unwrap();
        let mut d = Decoder::new();
        d.extend(&out);
        let mut sink = Vec::new();
        assert_eq!(d.append_data(&mut sink), Ok(false));
        assert_eq!(d.next_frame(), Err(FrameError::DataInMessage));
    }

    #[test]
    fn unknown_kind_and_empty_are_errors() {
        let mut d = Decoder::new();
        d.extend(&[0, 0, 0, 1, 9]);
        assert_eq!(d.next_frame(), Err(FrameError::UnknownKind(9)));
        let mut d = Decoder::new();
        d.extend(&[0, 0, 0, 0]);
        assert_eq!(d.next_frame(), Err(FrameError::Empty));
    }

    #[test]
    fn buffered_data_frames_append_until_a_control_frame() {
        let mut d = Decoder::new();
        d.extend(&encoded(&[
            Frame::Data(b"ab".to_vec()),
            Frame::Data(b"cd".to_vec()),
            Frame::Control(b"{}".to_vec()),
            Frame::Data(b"ef".to_vec()),
        ]));
        let Some(Frame::Data(mut out)) = d.next_frame().unwrap() else {
            panic!("data first");
        };
        while d.append_data(&mut out).unwrap() {}
        assert_eq!(out, b"abcd");
        assert_eq!(d.next_frame(), Ok(Some(Frame::Control(b"{}".to_vec()))));
        // Incomplete: left for the next read.
        d.extend(&[0, 0, 0, 9, 2, b'g']);
        let mut out = Vec::new();
        assert_eq!(d.append_data(&mut out), Ok(true));
        assert_eq!(d.append_data(&mut out), Ok(false));
        assert_eq!(out, b"ef");
        assert_eq!(d.pending(), 6);
    }

    /// Adjacent data frames as one: what a reader appending them sees.
    fn merged(frames: Vec<Frame>) -> Vec<Frame> {
        let mut out: Vec<Frame> = Vec::new();
        for f in frames {
            match (out.last_mut(), f) {
                (Some(Frame::Data(prev)), Frame::Data(more)) => prev.extend(more),
                (_, f) => out.push(f),
            }
        }
        out
    }

    proptest! {
        /// Read frame by frame, and with data frames appended as a client
        /// that is behind does: the same frames, every byte in order.
        #[test]
        fn frames_survive_any_split(
            payloads in proptest::collection::vec((any::<bool>(), proptest::collection::vec(any::<u8>(), 0..300)), 0..20),
            chunk in 1usize..64,
        ) {
            let frames: Vec<Frame> = payloads
                .into_iter()
                .map(|(c, p)| if c { Frame::Control(p) } else { Frame::Data(p) })
                .collect();
            let bytes = encoded(&frames);
            let (mut d, mut appending) = (Decoder::new(), Decoder::new());
            let (mut got, mut appended) = (Vec::new(), Vec::new());
            for piece in bytes.chunks(chunk) {
                d.extend(piece);
                while let Some(f) = d.next_frame().unwrap() {
                    got.push(f);
                }
                appending.extend(piece);
                while let Some(mut f) = appending.next_frame().unwrap() {
                    if let Frame::Data(out) = &mut f {
                        while appending.append_data(out).unwrap() {}
                    }
                    appended.push(f);
                }
            }
            prop_assert_eq!(merged(appended), merged(frames.clone()));
            prop_assert_eq!(appending.pending(), 0);
            prop_assert_eq!(got, frames);
            prop_assert_eq!(d.pending(), 0);
        }
    }
}
