//! A live terminal in the browser: a WebSocket relaying one attach to a
//! session host, made as the person logged in. Output goes to the browser
//! as binary messages, the host's notices (attached, resized, ended) as
//! JSON text. Input is relayed only when the host attached the person
//! read-write, which it does only for an operator who asked to type, and
//! berth-web asks only if `[web] allow_input = true`. Anything typed on a
//! read-only view closes it with the reason: the page never sends it.

use std::path::Path;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use berth_proto::client_async::{AsyncClient, AsyncReader, AsyncWriter, Received};
use berth_proto::sync::ClientError;
use berth_proto::{AttachRequest, OnBehalfOf, Request, Response, Size};

/// The handshake with a host must end this soon.
const DEADLINE: Duration = Duration::from_secs(5);
/// Live views one person may hold at once. Every web view is a connection
/// of berth-web's account on the host, whose budget all web users share
/// (64 per host): a person with many tabs must not take it all.
pub const VIEWS_PER_PERSON: usize = 16;
/// WebSocket close code for a policy violation (RFC 6455).
const POLICY: u16 = 1008;

/// What the browser asked for.
pub struct View {
    pub uid: u32,
    pub from: String,
    pub session: String,
    /// Attach read-write (the page's "type" button; operators only).
    pub input: bool,
    /// Its place under [`VIEWS_PER_PERSON`], given back when it ends.
    pub slot: berth_proto::server::ConnSlot,
}

/// Serves one view until either side ends it.
pub async fn relay(mut ws: WebSocket, socket: &Path, view: View, allow_input: bool) {
    let claim = crate::follow::claim(view.uid, &view.from);
    let attached = attach(socket, claim, view.input && allow_input).await;
    let a = match attached {
        Ok(a) => a,
        Err(message) => {
            let _ = ws.send(notice("error", &message)).await;
            let _ = ws.send(close(POLICY, &message)).await;
            return;
        }
    };
    tracing::info!(
        target: "berth::audit",
        user_uid = view.uid,
        session = %view.session,
        mode = if a.read_only { "read-only" } else { "read-write" },
        from = %view.from,
        "web view opened"
    );
    let refusal = if !a.read_only {
        None
    } else if view.input && !allow_input {
        Some("input refused: typing from the browser is off ([web] allow_input = false)".to_owned())
    } else {
        Some(format!(
            "input refused: this view of {} is read-only (only its operators may type, from a view opened for typing)",
            view.session
        ))
    };
    let ended = pump(&mut ws, a, refusal).await;
    tracing::info!(target: "berth::audit", user_uid = view.uid, session = %view.session, from = %view.from, "web view closed: {ended}");
    let _ = ws.send(close(1000, &ended)).await;
    drop(view.slot);
}

/// An attach made as the person: the halves, whether the host made it
/// read-only, and the session's size.
struct Attached {
    reader: AsyncReader,
    writer: AsyncWriter,
    read_only: bool,
    size: Size,
}

async fn attach(socket: &Path, claim: Option<OnBehalfOf>, input: bool) -> Result<Attached, String> {
    let refused = |e: ClientError| match e {
        ClientError::Refused { message, .. } => message,
        other => format!("cannot reach the session: {other}"),
    };
    let mut client = AsyncClient::connect_for(socket, "berth-web", claim, DEADLINE)
        .await
        .map_err(refused)?;
    // The session's own size: a read-write view must not resize it.
    let size = match client.call(&Request::Status).await.map_err(refused)? {
        Response::Status(st) => st.size,
        _ => Size { cols: 80, rows: 24 },
    };
    let (mut reader, mut writer) = client.into_split();
    writer
        .send(&Request::Attach(AttachRequest {
            read_only: !input,
            size: Some(size),
            ..Default::default()
        }))
        .await
        .map_err(refused)?;
    match reader.next().await.map_err(refused)? {
        Received::Response(Response::Attached {
            read_only, size, ..
        }) => Ok(Attached {
            reader,
            writer,
            read_only,
            size,
        }),
        other => Err(format!("unexpected answer from the session: {other:?}")),
    }
}

/// Relays until the session ends the attach, the browser leaves, or the
/// browser types on a read-only view (`refusal` says why that is
/// refused). Returns why it ended.
async fn pump(ws: &mut WebSocket, a: Attached, refusal: Option<String>) -> String {
    let Attached {
        mut reader,
        mut writer,
        read_only,
        size,
    } = a;
    let hello = serde_json::json!({
        "type": "attached", "cols": size.cols, "rows": size.rows, "read_only": read_only,
    });
    if ws
        .send(Message::Text(hello.to_string().into()))
        .await
        .is_err()
    {
        return "the browser left".into();
    }
    loop {
        tokio::select! {
            from_host = reader.next() => match from_host {
                Ok(Received::Data(bytes)) => {
                    if ws.send(Message::Binary(bytes.into())).await.is_err() {
                        return "the browser left".into();
                    }
                }
                Ok(Received::Response(Response::Resized { size })) => {
                    let m = serde_json::json!({"type": "resized", "cols": size.cols, "rows": size.rows});
                    if ws.send(Message::Text(m.to_string().into())).await.is_err() {
                        return "the browser left".into();
                    }
                }
                Ok(Received::Response(Response::Ended { reason } | Response::Detached { reason })) => {
                    let _ = ws.send(notice("ended", &reason)).await;
                    return reason;
                }
                // Redraw notices and the like: the bytes that follow say it all.
                Ok(Received::Response(_)) => {}
                Err(e) => return format!("the session closed the view: {e}"),
            },
            from_browser = ws.recv() => match from_browser {
                Some(Ok(Message::Binary(bytes))) => match &refusal {
                    Some(why) => {
                        let _ = ws.send(notice("error", why)).await;
                        let _ = ws.send(close(POLICY, why)).await;
                        return why.clone();
                    }
                    None => {
                        if let Err(e) = writer.send_data(&bytes).await {
                            return format!("the session closed the view: {e}");
                        }
                    }
                },
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return "the browser left".into(),
                // Pings are answered by axum; text is not part of the protocol.
                Some(Ok(_)) => {}
            },
        }
    }
}

/// A JSON notice for the page.
fn notice(kind: &str, message: &str) -> Message {
    Message::Text(
        serde_json::json!({"type": kind, "message": message})
            .to_string()
            .into(),
    )
}

fn close(code: u16, reason: &str) -> Message {
    // A close reason is at most 123 bytes.
    let mut end = reason.len().min(123);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    Message::Close(Some(CloseFrame {
        code,
        reason: reason[..end].into(),
    }))
}
