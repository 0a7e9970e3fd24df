//! berthd's control socket: whole-host requests from `berth`.
//!
//! Connections are served concurrently; each request is handed to the
//! daemon loop and answered when it is done, so all changes happen in one
//! place, in order.

use std::sync::Arc;
use std::time::Duration;

use berth_config::access::Caller;
use berth_proto::server::{ConnError, ConnLimit, ServerConn};
use berth_proto::{Access, DaemonRequest, ErrorCode, Request, Response};
use tokio::net::UnixListener;
use tokio::sync::{mpsc, oneshot};

/// A request from `caller`, and where to send the answer.
pub type Job = (Caller, DaemonRequest, oneshot::Sender<Response>);

pub async fn serve(listener: UnixListener, jobs: mpsc::Sender<Job>, handshake: Duration) {
    let limit = Arc::new(ConnLimit::for_descriptors(
        berth_log::inherited::descriptor_limit(),
    ));
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let jobs = jobs.clone();
        let limit = Arc::clone(&limit);
        tokio::spawn(async move {
            let Ok(cred) = stream.peer_cred() else { return };
            let conn = ServerConn::new(stream);
            match limit.admit(cred.uid()) {
                Ok(_slot) => connection(conn, cred, jobs, handshake).await,
                Err(message) => {
                    tracing::warn!(
                        user_uid = cred.uid(),
                        "control connection refused: {message}"
                    );
                    conn.refuse_at_once(ErrorCode::Denied, message).await;
                }
            }
        });
    }
}

async fn connection(
    mut conn: ServerConn,
    cred: tokio::net::unix::UCred,
    jobs: mpsc::Sender<Job>,
    handshake: Duration,
) {
    let result = requests(&mut conn, cred, jobs, handshake).await;
    if let Err(e) = &result {
        tracing::debug!("control connection: {e}");
    }
    conn.close(result.as_ref().err()).await;
}

async fn requests(
    conn: &mut ServerConn,
    cred: tokio::net::unix::UCred,
    jobs: mpsc::Sender<Job>,
    handshake: Duration,
) -> Result<(), ConnError> {
    let claim = conn.handshake(handshake, "berthd").await?;
    // Rights are checked per request (crate::rights), never per connection:
    // the socket's group only opens the file. Who asks is looked up once
    // the handshake is done, so a silent peer costs no lookup. berth-web
    // asks for the person logged in to it, by the sessions' own rule.
    let peer = Caller::lookup(cred.uid(), cred.pid());
    let (caller, via) = match claim {
        Some(claim) => (
            berth_config::access::delegate(&peer, claim.uid)
                .map_err(|message| ConnError::Refused(ErrorCode::Denied, message))?,
            format!(
                "web from {} (berth-web pid {})",
                claim.from,
                peer.pid.unwrap_or(0)
            ),
        ),
        None => (peer, "socket".to_owned()),
    };
    conn.authorized();
    conn.reply(&Response::Welcome {
        session: "berthd".into(),
        access: Access::Operator,
    })
    .await?;
    loop {
        let req = match conn.reader.request().await? {
            Request::Daemon(req) => req,
            other => {
                return Err(ConnError::Refused(
                    ErrorCode::BadRequest,
                    format!(
                        "this is berthd's control socket: {} is a session request; send daemon requests",
                        other.name()
                    ),
                ))
            }
        };
        let (verb, session) = describe(&req);
        let (tx, rx) = oneshot::channel();
        let shutting_down =
            || ConnError::Refused(ErrorCode::Internal, "berthd is shutting down".into());
        jobs.send((caller.clone(), req, tx))
            .await
            .map_err(|_| shutting_down())?;
        let response = rx.await.map_err(|_| shutting_down())?;
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
            via = %via,
            "control request {verb} {session}: {outcome}"
        );
        conn.reply(&response).await?;
    }
}

/// The verb and the session it names ("-" for host-wide verbs), for the audit.
fn describe(req: &DaemonRequest) -> (&'static str, String) {
    match req {
        DaemonRequest::List => ("ls", "-".into()),
        DaemonRequest::Reload => ("reload", "-".into()),
        DaemonRequest::Metrics => ("metrics", "-".into()),
        DaemonRequest::New { name, .. } => ("new", name.clone()),
        DaemonRequest::Kill { name } => ("kill", name.clone()),
        DaemonRequest::Start { name } => ("start", name.clone()),
        DaemonRequest::Stop { name } => ("stop", name.clone()),
        DaemonRequest::Restart { name } => ("restart", name.clone()),
    }
}
