//! Connections on the session socket: header, handshake, peer check, requests.
//!
//! A connection's trouble stays its own: a malformed frame, a wrong version
//! or a silent client gets one error frame and is closed; nothing it sends
//! can stop the session or disturb other clients.

use std::sync::Arc;
use std::time::{Duration, Instant};

use berth_proto::server::{ConnError, ConnLimit, ConnSlot, ServerConn};
use berth_proto::{Access, ClientMode, ErrorCode, Request, Response};
use tokio::net::UnixStream;

use crate::peer::{AccessPolicy, Peer};
use crate::recording::Typist;
use crate::session::{Command, Shared};
use berth_config::access::denial;
use berth_log::ratelimit::{audit_admit, audit_flush, AuditKey, Limiter};

mod attach;
mod interrupt;
mod scripting;

use scripting::Waiter;

pub struct Server {
    pub shared: Arc<Shared>,
    pub policy: AccessPolicy,
    pub handshake_timeout: Duration,
    /// Connections per uid on this socket.
    pub limit: Arc<ConnLimit>,
    /// Audit lines per uid, summarised past a burst.
    pub audit: Arc<Limiter<AuditKey>>,
    /// berthd's runtime directory (the socket's grandparent), where root
    /// records live web logins; `None` for a host started by hand.
    pub runtime: Option<std::path::PathBuf>,
    /// Connections per person berth-web speaks for: its connections are
    /// many people's, so past the per-uid budget at accept they are held
    /// to [`Server::web_limit`] there and to this after the handshake.
    pub people: Arc<ConnLimit>,
    /// berth-web's own connections, all people together.
    pub web_limit: Arc<ConnLimit>,
}

/// What the audit record of a connection says.
struct Audit {
    /// Whom the connection acts as: the peer, or whom berth-web speaks for.
    peer: Peer,
    /// Set when berth-web speaks for `peer`: its pid and the browser's address.
    via_web: Option<(Option<i32>, String)>,
    access: Option<Access>,
    /// Set when the connection attached.
    mode: Option<ClientMode>,
    requests: Vec<&'static str>,
    input_bytes: usize,
    /// Input a read-only client sent, dropped.
    ignored_bytes: usize,
    started: Instant,
}

impl Audit {
    /// Who types what this connection sends.
    fn typist(&self) -> Typist {
        Typist {
            uid: self.peer.uid,
            user: self.peer.user.clone(),
        }
    }
}

impl Server {
    pub async fn serve(self: Arc<Self>, listener: tokio::net::UnixListener) {
        let audit = Arc::clone(&self.audit);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(berth_log::ratelimit::INTERVAL).await;
                audit_flush(&audit);
            }
        });
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    let uid = match stream.peer_cred() {
                        Ok(cred) => cred.uid(),
                        Err(e) => {
                            tracing::warn!(session = %self.shared.info.name, "cannot read peer credentials: {e}");
                            continue;
                        }
                    };
                    let this = Arc::clone(&self);
                    tokio::spawn(async move { this.admit(stream, uid).await });
                }
                Err(e) => {
                    tracing::warn!(session = %self.shared.info.name, "accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }

    /// Takes the connection under the per-uid limit, or refuses it at once,
    /// before anything is allocated for it. Past the limit the account is
    /// looked up (off this thread: berth-web's connections have a budget of
    /// their own), since it may have been made after this host started.
    async fn admit(&self, stream: UnixStream, uid: u32) {
        let admitted = match self.limit.admit(uid) {
            Ok(slot) => Ok(slot),
            Err(refused) => match blocking(move || crate::peer::is_web_account(uid)).await {
                Ok(true) => self.web_limit.admit(uid),
                _ => Err(refused),
            },
        };
        match admitted {
            Ok(slot) => self.connection(stream, slot).await,
            Err(message) => {
                if audit_admit(&self.audit, uid, "refused connection") {
                    tracing::info!(
                        target: "berth::audit",
                        session = %self.shared.info.name,
                        user_uid = uid,
                        "connection refused: {message}"
                    );
                }
                ServerConn::new(stream)
                    .refuse_at_once(ErrorCode::Denied, message)
                    .await;
            }
        }
    }

    async fn connection(&self, stream: UnixStream, slot: ConnSlot) {
        // Credentials now (the kernel's, no lookup); the account's name and
        // groups after the handshake, off this thread.
        let peer = match stream.peer_cred() {
            Ok(cred) => crate::peer::unnamed(cred.uid(), cred.pid()),
            Err(e) => {
                tracing::warn!(session = %self.shared.info.name, "cannot read peer credentials: {e}");
                return;
            }
        };
        let mut conn = ServerConn::new(stream);
        let mut audit = Audit {
            peer,
            via_web: None,
            access: None,
            mode: None,
            requests: Vec::new(),
            input_bytes: 0,
            ignored_bytes: 0,
            started: Instant::now(),
        };
        let result = self.handle(&mut conn, &mut audit).await;
        conn.close(result.as_ref().err()).await;
        drop(slot);
        if self.limit.total() == 0 {
            crate::memory::release();
        }
        let (outcome, kind) = match &result {
            Ok(()) | Err(ConnError::Closed) => ("closed".to_owned(), "connection"),
            Err(ConnError::Refused(_, message)) => {
                (format!("refused: {message}"), "refused connection")
            }
            Err(ConnError::Io(e)) => (format!("i/o error: {e}"), "connection"),
        };
        if !audit_admit(&self.audit, audit.peer.uid, kind) {
            return;
        }
        let access = match audit.access {
            Some(Access::Operator) => "operator",
            Some(Access::Observer) => "observer",
            None => "none",
        };
        let mode = match audit.mode {
            Some(ClientMode::ReadWrite) => "read-write",
            Some(ClientMode::ReadOnly) => "read-only",
            None => "-",
        };
        let via = match &audit.via_web {
            Some((pid, from)) => format!("web from {from} (berth-web pid {})", pid.unwrap_or(0)),
            None => "socket".to_owned(),
        };
        tracing::info!(
            target: "berth::audit",
            session = %self.shared.info.name,
            user_uid = audit.peer.uid,
            user = %audit.peer.user,
            pid = audit.peer.pid.unwrap_or(0),
            access = %access,
            mode = %mode,
            requests = %audit.requests.join(","),
            input_bytes = audit.input_bytes,
            ignored_input_bytes = audit.ignored_bytes,
            duration_ms = audit.started.elapsed().as_millis() as u64,
            via = %via,
            "connection {outcome}"
        );
    }

    async fn handle(&self, conn: &mut ServerConn, audit: &mut Audit) -> Result<(), ConnError> {
        let speaker = format!("session {}", self.shared.info.name);
        let mut delegated = None;
        let mut _person_slot = None;
        let claim = conn.handshake(self.handshake_timeout, &speaker).await?;
        let (uid, pid) = (audit.peer.uid, audit.peer.pid);
        audit.peer = blocking(move || crate::peer::lookup(uid, pid)).await?;
        if let Some(claim) = claim {
            let refused = |message| ConnError::Refused(ErrorCode::Denied, message);
            let (peer, runtime) = (audit.peer.clone(), self.runtime.clone());
            let (person, login) = blocking(move || {
                berth_config::access::delegate(&peer, claim.uid, runtime.as_deref())
            })
            .await?
            .map_err(refused)?;
            if person.uid == self.shared.info.identity.uid {
                return Err(refused(format!(
                    "permission denied: the web dashboard never acts as session {}'s own account",
                    self.shared.info.name
                )));
            }
            _person_slot = Some(self.people.admit(person.uid).map_err(refused)?);
            audit.via_web = Some((audit.peer.pid, claim.from));
            audit.peer = person;
            delegated = Some(login);
        }
        let Some(access) = self.policy.right(&audit.peer) else {
            return Err(ConnError::Refused(
                ErrorCode::Denied,
                denial(&audit.peer, None, &self.shared.info.name, ""),
            ));
        };
        // Typing through the dashboard only where the login allows input:
        // such an attach is read-only, whatever the person's right.
        let attach_access = match delegated {
            Some(login) if !login.input => Access::Observer,
            _ => access,
        };
        audit.access = Some(access);
        conn.authorized();
        conn.reply(&Response::Welcome {
            session: self.shared.info.name.clone(),
            access,
        })
        .await?;
        loop {
            let request = conn.request().await?;
            audit.requests.push(request.name());
            if delegated.is_some() {
                berth_config::access::delegated_may(request.name())
                    .map_err(|m| ConnError::Refused(ErrorCode::Denied, m))?;
            }
            match request {
                Request::Hello { .. } => {
                    return Err(ConnError::Refused(
                        ErrorCode::BadRequest,
                        "hello sent twice".into(),
                    ));
                }
                Request::Status => {
                    let status = self.shared.status();
                    conn.reply(&Response::Status(Box::new(status))).await?;
                }
                Request::Watch => return self.watch(conn).await,
                Request::Capture(req) => self.capture(conn, &req).await?,
                Request::Send {
                    keys,
                    literal,
                    paste,
                    wait,
                } => {
                    self.require_operator(access, audit, "send input")?;
                    let how = berth_proto::keys::Typing::from_wire(literal, paste);
                    let (bytes, seq, waiter) =
                        self.send(&keys, how, wait.as_ref(), &audit.typist())?;
                    audit.input_bytes += bytes;
                    match waiter {
                        Some(waiter) => self.wait(conn, waiter).await?,
                        None => conn.reply(&Response::Sent { seq }).await?,
                    }
                }
                Request::Wait(req) => {
                    let waiter = Waiter::new(&req, &mut self.shared.lock().term, None)?;
                    self.wait(conn, waiter).await?;
                }
                Request::Run(req) => {
                    self.require_operator(access, audit, "run commands in it")?;
                    audit.input_bytes +=
                        req.command.len() + req.words.iter().map(String::len).sum::<usize>();
                    self.run(conn, &req, &audit.typist()).await?;
                }
                Request::Result(req) => self.result(conn, &req).await?,
                Request::Interrupt(req) => {
                    self.require_operator(access, audit, "interrupt its command")?;
                    self.interrupt(conn, &req, &audit.typist()).await?;
                }
                Request::Logs(req) => return self.logs(conn, &req).await,
                Request::Recording(req) => self.recording(conn, &req).await?,
                Request::Restart => {
                    self.require_operator(access, audit, "restart it")?;
                    self.command(Command::Restart).await?;
                    conn.reply(&Response::Ok).await?;
                }
                Request::Stop => {
                    self.require_operator(access, audit, "stop it")?;
                    self.command(Command::StopProgram).await?;
                    // Like systemctl stop: answered once it has stopped.
                    if !self.shared.stopped().await {
                        return Err(ConnError::Refused(
                            ErrorCode::Internal,
                            format!("session {} did not stop in time", self.shared.info.name),
                        ));
                    }
                    conn.reply(&Response::Ok).await?;
                }
                Request::Start => {
                    self.require_operator(access, audit, "start it")?;
                    if self.shared.lock().pid.is_some() {
                        return Err(ConnError::Refused(
                            ErrorCode::BadRequest,
                            format!(
                                "session {} is already running (berth restart {0} restarts it)",
                                self.shared.info.name
                            ),
                        ));
                    }
                    self.command(Command::Start).await?;
                    conn.reply(&Response::Ok).await?;
                }
                Request::Kill => {
                    self.require_operator(access, audit, "kill it")?;
                    let name = &self.shared.info.name;
                    if self.shared.info.by_berthd {
                        return Err(ConnError::Refused(
                            ErrorCode::BadRequest,
                            format!("session {name} belongs to berthd, which would start it again: berth kill {name} (without --socket) asks berthd"),
                        ));
                    }
                    self.command(Command::Shutdown).await?;
                    conn.reply(&Response::Ok).await?;
                }
                Request::Reconfigure { args } => {
                    // Changing the program is the host's owner's right, not an
                    // operator's: it runs commands as the service account.
                    if audit.peer.uid != 0 && audit.peer.uid != self.shared.info.identity.uid {
                        return Err(ConnError::Refused(
                            ErrorCode::Denied,
                            format!(
                                "permission denied: {} may not reconfigure session {}; change the config and run berth reload",
                                audit.peer.user, self.shared.info.name
                            ),
                        ));
                    }
                    let spec = berth_config::spec::HostSpec::from_args(&args).map_err(|m| {
                        ConnError::Refused(
                            ErrorCode::BadRequest,
                            format!("bad reconfigure request: {m}"),
                        )
                    })?;
                    self.command(Command::Reconfigure(Box::new(spec.program)))
                        .await?;
                    conn.reply(&Response::Ok).await?;
                }
                Request::Attach(req) => return self.attach(conn, req, attach_access, audit).await,
                Request::Daemon(_) => {
                    return Err(ConnError::Refused(
                        ErrorCode::BadRequest,
                        "this is a session socket; whole-host requests go to berthd's control socket".into(),
                    ));
                }
                Request::Resize { .. } | Request::Detach | Request::Redraw => {
                    return Err(ConnError::Refused(
                        ErrorCode::BadRequest,
                        format!("{} without attach; closing the connection", request.name()),
                    ));
                }
            }
        }
    }

    fn require_operator(&self, access: Access, audit: &Audit, what: &str) -> Result<(), ConnError> {
        match access {
            Access::Operator => Ok(()),
            Access::Observer => Err(ConnError::Refused(
                ErrorCode::Denied,
                denial(&audit.peer, Some(access), &self.shared.info.name, what),
            )),
        }
    }

    async fn command(&self, cmd: Command) -> Result<(), ConnError> {
        self.shared.commands.send(cmd).await.map_err(|_| {
            ConnError::Refused(ErrorCode::Internal, "the session is shutting down".into())
        })
    }
}

/// Runs `work` on a blocking thread (file reads, account lookups): the
/// host's loop, which pumps the program's output, never waits on a disk.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ConnError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ConnError::Refused(ErrorCode::Internal, e.to_string()))
}
