//! Raw protocol from the client side, for tests that skip the CLI: what
//! a hostile or broken peer would send, and what the server answered.

use std::io::Read;
use std::os::unix::net::UnixStream;
use std::time::Duration;

use berth_proto::{
    decode, encode_control, Decoder, ErrorCode, Frame, Header, Request, Response, HEADER_LEN,
};

/// Our header and a hello, as every client starts.
pub fn hello() -> Vec<u8> {
    let mut out = Header::ours().to_bytes().to_vec();
    encode_control(
        &Request::Hello {
            client: "test".into(),
            on_behalf_of: None,
        },
        &mut out,
    );
    out
}

/// Reads the host's header (which it sends first, whatever the client
/// says), then everything until the host closes; returns the last control
/// message it sent.
pub fn last_response(mut stream: UnixStream) -> Response {
    // Well past every deadline the host keeps (handshake 5 s, a begun
    // frame 10 s), so what is read is the host's doing, not ours.
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut header = [0u8; HEADER_LEN];
    stream.read_exact(&mut header).unwrap();
    assert!(
        Header::check(&header).is_ok(),
        "the host sends its header first"
    );
    let mut rest = Vec::new();
    stream
        .read_to_end(&mut rest)
        .expect("the host closes the connection");
    let mut decoder = Decoder::new();
    decoder.extend(&rest);
    let mut last = None;
    while let Ok(Some(frame)) = decoder.next_frame() {
        if let Frame::Control(payload) = frame {
            last = Some(decode::<Response>(&payload).unwrap());
        }
    }
    last.expect("a control message before the close")
}

/// The error the host sent before closing.
pub fn error_then_close(stream: UnixStream) -> (ErrorCode, String) {
    match last_response(stream) {
        Response::Error { code, message } => (code, message),
        other => panic!("expected an error, got {other:?}"),
    }
}
