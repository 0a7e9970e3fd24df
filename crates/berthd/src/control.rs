//! berthd's control socket: whole-host requests from `berth`.
//!
//! Connections are served concurrently; each request is handed to the
//! daemon loop and answered when it is done, so all changes happen in one
//! place, in order.

use std::time::Duration;

use berth_config::access::Caller;
use berth_proto::{
    decode, encode_control, Access, DaemonRequest, Decoder, ErrorCode, Frame, Header, Request,
    Response, HEADER_LEN,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, oneshot};

/// A request from `caller`, and where to send the answer.
pub type Job = (Caller, DaemonRequest, oneshot::Sender<Response>);

pub async fn serve(listener: UnixListener, jobs: mpsc::Sender<Job>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let jobs = jobs.clone();
        tokio::spawn(async move {
            if let Err(e) = connection(stream, jobs).await {
                tracing::debug!("control connection: {e}");
            }
        });
    }
}

async fn connection(mut stream: UnixStream, jobs: mpsc::Sender<Job>) -> anyhow::Result<()> {
    let cred = stream.peer_cred()?;
    // Rights are checked per request (crate::rights), never per connection:
    // the socket's group only opens the file.
    let caller = Caller::lookup(cred.uid(), cred.pid());
    stream.write_all(&Header::ours().to_bytes()).await?;
    let mut header = [0u8; HEADER_LEN];
    tokio::time::timeout(Duration::from_secs(5), stream.read_exact(&mut header)).await??;
    if let Err(e) = Header::check(&header) {
        return reply(&mut stream, error(ErrorCode::Version, e.to_string())).await;
    }
    let mut decoder = Decoder::new();
    let mut buf = vec![0u8; 16 * 1024];
    let mut hello = false;
    loop {
        let frame = loop {
            if let Some(f) = decoder.next_frame()? {
                break f;
            }
            let n = stream.read(&mut buf).await?;
            if n == 0 {
                return Ok(());
            }
            decoder.extend(&buf[..n]);
        };
        let Frame::Control(payload) = frame else {
            return reply(
                &mut stream,
                error(ErrorCode::BadRequest, "unexpected data frame".into()),
            )
            .await;
        };
        let request: Request = match decode(&payload) {
            Ok(r) => r,
            Err(e) => return reply(&mut stream, error(ErrorCode::Malformed, e.to_string())).await,
        };
        match request {
            Request::Hello { .. } if !hello => {
                hello = true;
                reply(
                    &mut stream,
                    Response::Welcome {
                        session: "berthd".into(),
                        access: Access::Operator,
                    },
                )
                .await?;
            }
            Request::Daemon(req) if hello => {
                let (verb, session) = describe(&req);
                let (tx, rx) = oneshot::channel();
                jobs.send((caller.clone(), req, tx)).await?;
                let response = rx.await?;
                let outcome = match &response {
                    Response::Error {
                        code: ErrorCode::Denied,
                        ..
                    } => "denied",
                    Response::Error { .. } => "failed",
                    _ => "allowed",
                };
                tracing::info!(
                    target: "berth::audit",
                    user_uid = caller.uid,
                    user = %caller.user,
                    pid = caller.pid.unwrap_or(0),
                    verb,
                    session,
                    outcome,
                    "control request {verb} {session}: {outcome}"
                );
                reply(&mut stream, response).await?;
            }
            _ => {
                return reply(
                    &mut stream,
                    error(
                        ErrorCode::BadRequest,
                        "this is berthd's control socket: say hello, then send daemon requests"
                            .into(),
                    ),
                )
                .await
            }
        }
    }
}

/// The verb and the session it names ("-" for host-wide verbs), for the audit.
fn describe(req: &DaemonRequest) -> (&'static str, String) {
    match req {
        DaemonRequest::List => ("ls", "-".into()),
        DaemonRequest::Reload => ("reload", "-".into()),
        DaemonRequest::New { name, .. } => ("new", name.clone()),
        DaemonRequest::Kill { name } => ("kill", name.clone()),
        DaemonRequest::Start { name } => ("start", name.clone()),
        DaemonRequest::Stop { name } => ("stop", name.clone()),
        DaemonRequest::Restart { name } => ("restart", name.clone()),
    }
}

fn error(code: ErrorCode, message: String) -> Response {
    Response::Error { code, message }
}

async fn reply(stream: &mut UnixStream, response: Response) -> anyhow::Result<()> {
    let mut out = Vec::new();
    encode_control(&response, &mut out);
    stream.write_all(&out).await?;
    Ok(())
}
