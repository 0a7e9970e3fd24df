//! The berth wire protocol, spoken on every session socket.
//!
//! # Connection
//!
//! Both sides send an 8-byte [`Header`] immediately on connect, without
//! waiting for the other: the magic `b"BRTH"`, the protocol version as a
//! big-endian `u16`, and two reserved zero bytes. Each side therefore knows
//! the other's version before reading anything else. The header layout and
//! the layout of an [`Frame::Control`] frame carrying [`Response::Error`] are
//! frozen across versions, so a peer of another version can always be told,
//! in words, which two versions met.
//!
//! After the headers the client sends [`Request::Hello`]; the host answers
//! [`Response::Welcome`] or [`Response::Error`] (and closes). A client that
//! does not finish this handshake within a few seconds is dropped.
//!
//! # Frames
//!
//! ```text
//! +----------------+----------+---------------------------+
//! | length: u32 BE | kind: u8 | payload: length - 1 bytes |
//! +----------------+----------+---------------------------+
//! ```
//!
//! `length` counts the kind byte and the payload and must be between 1 and
//! [`MAX_FRAME_LEN`]; anything else is malformed and closes the connection.
//! Kinds:
//!
//! - `1` control: a JSON [`Request`] (client to host) or [`Response`] (host
//!   to client);
//! - `2` data: raw bytes. Host to client: program output while attached, or
//!   a piece of a capture. Client to host: keyboard input while attached.
//! - `3` part: the first pieces of a control message longer than one frame
//!   (a long command's output in a reply); the control frame that follows
//!   ends it. A client joins at most [`MAX_MESSAGE_LEN`]; a host takes
//!   requests of one frame only.
//!
//! Bulk bytes travel in data frames so they are never escaped into JSON.

mod frame;
mod header;
mod message;

pub use frame::{
    encode, encode_control_payload, encode_data, Decoder, Frame, FrameError, FrameKind,
    MAX_FRAME_LEN, MAX_MESSAGE_LEN, PREFIX_LEN,
};
pub use header::{Header, HeaderError, HEADER_LEN, MAGIC, PROTOCOL_VERSION};
pub use message::*;

#[cfg(feature = "server")]
pub mod client_async;
pub mod keys;
pub mod scripting;
#[cfg(feature = "server")]
pub mod server;
#[cfg(feature = "server")]
pub mod socket;
pub mod sync;
