//! berthd's control socket: whole-host requests from `berth`.
//!
//! Connections are served concurrently; each request is handed to the
//! daemon loop and answered when it is done, so all changes happen in one
//! place, in order.

use std::time::Duration;

use berth_config::paths::Mode;
use berth_proto::{
    decode, encode_control, Access, DaemonRequest, Decoder, ErrorCode, Frame, Header, Request,
    Response, HEADER_LEN,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, oneshot};

pub type Job = (DaemonRequest, oneshot::Sender<Response>);

/// Who may use the control socket: root and the admin group in system mode,
/// the same user in user mode.
#[derive(Clone)]
pub struct Gate {
    pub mode: Mode,
    pub admin_gid: Option<u32>,
}

impl Gate {
    fn allows(&self, uid: u32) -> bool {
        let me = nix::unistd::geteuid().as_raw();
        if uid == 0 || uid == me {
            return true;
        }
        if self.mode == Mode::User {
            return false;
        }
        let Some(gid) = self.admin_gid else {
            return false;
        };
        let Ok(Some(user)) = nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid)) else {
            return false;
        };
        let Ok(name) = std::ffi::CString::new(user.name) else {
            return false;
        };
        nix::unistd::getgrouplist(&name, user.gid)
            .map(|groups| groups.iter().any(|g| g.as_raw() == gid))
            .unwrap_or(false)
    }
}

pub async fn serve(listener: UnixListener, gate: Gate, jobs: mpsc::Sender<Job>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let (gate, jobs) = (gate.clone(), jobs.clone());
        tokio::spawn(async move {
            if let Err(e) = connection(stream, gate, jobs).await {
                tracing::debug!("control connection: {e}");
            }
        });
    }
}

async fn connection(
    mut stream: UnixStream,
    gate: Gate,
    jobs: mpsc::Sender<Job>,
) -> anyhow::Result<()> {
    let cred = stream.peer_cred()?;
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
                if !gate.allows(cred.uid()) {
                    let user = berth_config::accounts::user_name(cred.uid());
                    tracing::warn!(target: "berth::audit", user_uid = cred.uid(), user = %user, "control connection refused");
                    return reply(
                        &mut stream,
                        error(
                            ErrorCode::Denied,
                            format!("permission denied: {user} (uid {}) may not control berthd; ask to join the berth group", cred.uid()),
                        ),
                    )
                    .await;
                }
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
                tracing::info!(target: "berth::audit", user_uid = cred.uid(), request = ?req, "control request");
                let (tx, rx) = oneshot::channel();
                jobs.send((req, tx)).await?;
                let response = rx.await?;
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

fn error(code: ErrorCode, message: String) -> Response {
    Response::Error { code, message }
}

async fn reply(stream: &mut UnixStream, response: Response) -> anyhow::Result<()> {
    let mut out = Vec::new();
    encode_control(&response, &mut out);
    stream.write_all(&out).await?;
    Ok(())
}
