//! `raw-client SOCKET JSON...`: speaks the berth protocol by hand, with no
//! CLI in between, for the access tests: sends the header, a hello, then
//! each JSON request as a control frame, and prints the first control
//! frame answering each (one JSON line per request). Stops after an error
//! frame, an `attached` answer, or a closed connection (prints "closed").
//! `BERTH_RAW_HELLO` replaces the hello (JSON), to claim what the CLI
//! never sends (`on_behalf_of`). `BERTH_RAW_CONNECTIONS=N`: instead, opens
//! N connections, each held open while the next is made, and prints the
//! first answer of each (one line each): how budgets of connections hold.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use berth_proto::{encode, Decoder, Frame, FrameKind, Header, HEADER_LEN};

fn main() {
    let mut args = std::env::args().skip(1);
    let socket = args.next().expect("usage: raw-client SOCKET JSON...");
    if let Some(n) = std::env::var("BERTH_RAW_CONNECTIONS")
        .ok()
        .and_then(|n| n.parse().ok())
    {
        return hold(&socket, n);
    }
    let mut stream = match UnixStream::connect(&socket) {
        Ok(s) => s,
        Err(e) => {
            println!("connect failed: {e}");
            return;
        }
    };
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut header = [0u8; HEADER_LEN];
    if stream.read_exact(&mut header).is_err() {
        println!("closed");
        return;
    }
    let mut out = Header::ours().to_bytes().to_vec();
    let hello = std::env::var("BERTH_RAW_HELLO")
        .unwrap_or_else(|_| r#"{"type":"hello","client":"raw-client"}"#.to_owned());
    encode(FrameKind::Control, hello.as_bytes(), &mut out).expect("a hello fits a frame");
    stream.write_all(&out).unwrap();
    let mut decoder = Decoder::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut next_control = |stream: &mut UnixStream| -> Option<String> {
        loop {
            match decoder.next_frame() {
                Ok(Some(Frame::Control(p))) => return Some(String::from_utf8_lossy(&p).into()),
                Ok(Some(Frame::Data(_))) => continue,
                Ok(None) => {}
                Err(e) => return Some(format!("bad frame: {e}")),
            }
            match stream.read(&mut buf) {
                Ok(0) | Err(_) => return None,
                Ok(n) => decoder.extend(&buf[..n]),
            }
        }
    };
    // The welcome (or the refusal).
    match next_control(&mut stream) {
        Some(line) if line.contains(r#""type":"error""#) => {
            println!("{line}");
            return;
        }
        Some(_) => {}
        None => {
            println!("closed");
            return;
        }
    }
    for request in args {
        let mut frame = Vec::new();
        encode(FrameKind::Control, request.as_bytes(), &mut frame).expect("a request fits a frame");
        if stream.write_all(&frame).is_err() {
            println!("closed");
            return;
        }
        match next_control(&mut stream) {
            Some(line) => {
                println!("{line}");
                if line.contains(r#""type":"error""#) || line.contains(r#""type":"attached""#) {
                    return;
                }
            }
            None => {
                println!("closed");
                return;
            }
        }
    }
}

/// Opens `n` connections to `socket`, each kept open, printing the first
/// control frame each one gets after its hello.
fn hold(socket: &str, n: usize) {
    let hello = std::env::var("BERTH_RAW_HELLO")
        .unwrap_or_else(|_| r#"{"type":"hello","client":"raw-client"}"#.to_owned());
    let mut open = Vec::new();
    for _ in 0..n {
        let Ok(mut stream) = UnixStream::connect(socket) else {
            println!("connect failed");
            continue;
        };
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut out = Header::ours().to_bytes().to_vec();
        encode(FrameKind::Control, hello.as_bytes(), &mut out).expect("a hello fits a frame");
        let _ = stream.write_all(&out);
        let mut header = [0u8; HEADER_LEN];
        let mut decoder = Decoder::new();
        let mut buf = vec![0u8; 64 * 1024];
        let answer = match stream.read_exact(&mut header) {
            Err(_) => "closed".to_owned(),
            Ok(()) => loop {
                match decoder.next_frame() {
                    Ok(Some(Frame::Control(p))) => break String::from_utf8_lossy(&p).into_owned(),
                    Ok(_) => {}
                    Err(e) => break format!("bad frame: {e}"),
                }
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break "closed".to_owned(),
                    Ok(k) => decoder.extend(&buf[..k]),
                }
            },
        };
        println!("{answer}");
        open.push(stream);
    }
}
