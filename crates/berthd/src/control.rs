//! berthd's control socket: whole-host requests from `berth`.
//!
//! Connections are served concurrently; each request is handed to the
//! daemon loop and answered when it is done, so all changes happen in one
//! place, in order.

use std::sync::Arc;
use std::time::Duration;

use berth_config::access::Caller;
use berth_log::ratelimit::{audit_admit, audit_flush, AuditKey, Limiter};
use berth_proto::server::{ConnError, ConnLimit, ServerConn};
use berth_proto::{Access, DaemonRequest, ErrorCode, Request, Response};
use tokio::net::UnixListener;
use tokio::sync::{mpsc, oneshot};

/// A request from `caller`, and where to send the answer.
pub type Job = (Caller, DaemonRequest, oneshot::Sender<Response>);

pub async fn serve(
    listener: UnixListener,
    jobs: mpsc::Sender<Job>,
    handshake: Duration,
    runtime: std::path::PathBuf,
) {
    let runtime = Arc::new(runtime);
    let limit = Arc::new(ConnLimit::for_descriptors(
        berth_log::inherited::descriptor_limit(),
    ));
    // Audit lines per uid, summarised past a burst (berth_log::ratelimit).
    let audit: Arc<Limiter<AuditKey>> = Arc::default();
    let flushing = Arc::clone(&audit);
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(berth_log::ratelimit::INTERVAL).await;
            audit_flush(&flushing);
        }
    });
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let jobs = jobs.clone();
        let limit = Arc::clone(&limit);
        let audit = Arc::clone(&audit);
        let runtime = Arc::clone(&runtime);
        tokio::spawn(async move {
            let Ok(cred) = stream.peer_cred() else { return };
            let conn = ServerConn::new(stream);
            match limit.admit(cred.uid()) {
                Ok(_slot) => connection(conn, cred, jobs, handshake, &audit, &runtime).await,
                Err(message) => {
                    if audit_admit(&audit, cred.uid(), "refused control connection") {
                        tracing::info!(
                            target: "berth::audit",
                            user_uid = cred.uid(),
                            pid = cred.pid().unwrap_or(0),
                            "control connection refused: {message}"
                        );
                    }
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
    audit: &Limiter<AuditKey>,
    runtime: &std::path::Path,
) {
    let result = requests(&mut conn, cred, jobs, handshake, audit, runtime).await;
    // Every refusal is audited, the ones before any request too (a
    // malformed header, a wrong version, an oversized frame, a silent
    // client, a refused delegation); a client that simply left is not.
    match &result {
        Ok(()) | Err(ConnError::Closed) => {}
        Err(e) => {
            if audit_admit(audit, cred.uid(), "refused control connection") {
                tracing::info!(
                    target: "berth::audit",
                    user_uid = cred.uid(),
                    pid = cred.pid().unwrap_or(0),
                    "control connection refused: {e}"
                );
            }
        }
    }
    conn.close(result.as_ref().err()).await;
}

async fn requests(
    conn: &mut ServerConn,
    cred: tokio::net::unix::UCred,
    jobs: mpsc::Sender<Job>,
    handshake: Duration,
    audit: &Limiter<AuditKey>,
    runtime: &std::path::Path,
) -> Result<(), ConnError> {
    let claim = conn.handshake(handshake, "berthd").await?;
    // Rights are checked per request (crate::rights), never per connection:
    // the socket's group only opens the file. Who asks is looked up once
    // the handshake is done, so a silent peer costs no lookup. berth-web
    // asks for the person logged in to it, by the sessions' own rule.
    let peer = Caller::lookup(cred.uid(), cred.pid());
    let (caller, via, delegated) = match claim {
        Some(claim) => (
            berth_config::access::delegate(&peer, claim.uid, Some(runtime))
                .map_err(|message| ConnError::Refused(ErrorCode::Denied, message))?
                .0,
            format!(
                "web from {} (berth-web pid {})",
                claim.from,
                peer.pid.unwrap_or(0)
            ),
            true,
        ),
        None => (peer, "socket".to_owned(), false),
    };
    conn.authorized();
    conn.reply(&Response::Welcome {
        session: "berthd".into(),
        access: Access::Operator,
    })
    .await?;
    loop {
        let req = match conn.request().await? {
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
        if delegated {
            // The dashboard lists and views; nothing else, for anyone.
            berth_config::access::delegated_may(verb)
                .map_err(|m| ConnError::Refused(ErrorCode::Denied, m))?;
        }
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
        let kind = match outcome {
            "denied" => "denied control request",
            _ => "control request",
        };
        if audit_admit(audit, caller.uid, kind) {
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
        }
        conn.reply(&response).await?;
    }
}

/// The verb and the session it names ("-" for host-wide verbs), for the
/// audit. A name that is not a valid session name is shown quoted and
/// escaped: it came from the client, not from the config.
fn describe(req: &DaemonRequest) -> (&'static str, String) {
    let (verb, name) = verb_and_name(req);
    match berth_config::values::check_session_name(&name) {
        Ok(()) => (verb, name),
        Err(_) if name == "-" => (verb, name),
        Err(_) => (verb, format!("{name:?}")),
    }
}

fn verb_and_name(req: &DaemonRequest) -> (&'static str, String) {
    match req {
        DaemonRequest::List => ("ls", "-".into()),
        DaemonRequest::ConfigFile => ("config-file", "-".into()),
        DaemonRequest::Reload => ("reload", "-".into()),
        DaemonRequest::Metrics => ("metrics", "-".into()),
        DaemonRequest::New { name, .. } => ("new", name.clone()),
        DaemonRequest::Kill { name } => ("kill", name.clone()),
        DaemonRequest::Start { name } => ("start", name.clone()),
        DaemonRequest::Stop { name } => ("stop", name.clone()),
        DaemonRequest::Restart { name } => ("restart", name.clone()),
        DaemonRequest::WebLogin => ("web-login", "-".into()),
        DaemonRequest::WebLogout { all: false } => ("web-logout", "-".into()),
        DaemonRequest::WebLogout { all: true } => ("web-logout-all", "-".into()),
        DaemonRequest::WebRedeem { .. } => ("web-redeem", "-".into()),
    }
}
