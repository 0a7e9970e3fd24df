//! Connections on the session socket: header, handshake, peer check, requests.
//!
//! A connection's trouble stays its own: a malformed frame, a wrong version
//! or a silent client gets one error frame and is closed; nothing it sends
//! can stop the session or disturb other clients.

use std::sync::Arc;
use std::time::{Duration, Instant};

use berth_proto::server::{ConnError, ConnLimit, ConnSlot, Incoming, ServerConn};
use berth_proto::{
    encode, encode_control, encode_data, keys, Access, AttachRequest, CaptureRequest, ClientInfo,
    ClientMode, ErrorCode, FrameKind, Request, Response, MAX_FRAME_LEN,
};
use tokio::io::AsyncWriteExt;
use tokio::net::UnixStream;

use crate::clients::{Inbox, Out};
use crate::input::InputError;
use crate::peer::{AccessPolicy, Peer};
use crate::session::{Command, Shared};
use berth_config::access::denial;

/// A watcher hears the status at least this often (uptime, foreground).
const WATCH_REFRESH: Duration = Duration::from_secs(2);

pub struct Server {
    pub shared: Arc<Shared>,
    pub policy: AccessPolicy,
    pub handshake_timeout: Duration,
    /// Connections per uid on this socket.
    pub limit: Arc<ConnLimit>,
}

/// What the audit record of a connection says.
struct Audit {
    peer: Peer,
    access: Option<Access>,
    /// Set when the connection attached.
    mode: Option<ClientMode>,
    requests: Vec<&'static str>,
    input_bytes: usize,
    /// Input a read-only client sent, dropped.
    ignored_bytes: usize,
    started: Instant,
}

/// Removes an attached client however its connection ends.
struct LeaveOnDrop<'a> {
    shared: &'a Shared,
    id: u64,
}

impl Drop for LeaveOnDrop<'_> {
    fn drop(&mut self) {
        self.shared.remove_client(self.id);
    }
}

impl Server {
    pub async fn serve(self: Arc<Self>, listener: tokio::net::UnixListener) {
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
                    // Over the limit: refused at once, before anything is
                    // looked up or allocated for the connection.
                    match self.limit.admit(uid) {
                        Ok(slot) => {
                            let this = Arc::clone(&self);
                            tokio::spawn(async move { this.connection(stream, slot).await });
                        }
                        Err(message) => {
                            tracing::info!(
                                target: "berth::audit",
                                session = %self.shared.info.name,
                                user_uid = uid,
                                "connection refused: {message}"
                            );
                            let conn = ServerConn::new(stream);
                            tokio::spawn(conn.refuse_at_once(ErrorCode::Denied, message));
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(session = %self.shared.info.name, "accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }

    async fn connection(&self, stream: UnixStream, slot: ConnSlot) {
        let peer = match crate::peer::from_stream(&stream) {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(session = %self.shared.info.name, "cannot read peer credentials: {e}");
                return;
            }
        };
        let mut conn = ServerConn::new(stream);
        let mut audit = Audit {
            peer,
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
        let outcome = match &result {
            Ok(()) | Err(ConnError::Closed) => "closed".to_owned(),
            Err(ConnError::Refused(_, message)) => format!("refused: {message}"),
            Err(ConnError::Io(e)) => format!("i/o error: {e}"),
        };
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
            "connection {outcome}"
        );
    }

    async fn handle(&self, conn: &mut ServerConn, audit: &mut Audit) -> Result<(), ConnError> {
        let speaker = format!("session {}", self.shared.info.name);
        conn.handshake(self.handshake_timeout, &speaker).await?;
        let Some(access) = self.policy.right(&audit.peer) else {
            return Err(ConnError::Refused(
                ErrorCode::Denied,
                denial(&audit.peer, None, &self.shared.info.name, ""),
            ));
        };
        audit.access = Some(access);
        conn.authorized();
        conn.reply(&Response::Welcome {
            session: self.shared.info.name.clone(),
            access,
        })
        .await?;
        loop {
            let request = conn.reader.request().await?;
            audit.requests.push(request.name());
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
                Request::Send { keys, literal } => {
                    self.require_operator(access, audit, "send input")?;
                    let bytes = self.send(&keys, literal).await?;
                    audit.input_bytes += bytes;
                    conn.reply(&Response::Ok).await?;
                }
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
                Request::Attach(req) => return self.attach(conn, req, access, audit).await,
                Request::Daemon(_) => {
                    return Err(ConnError::Refused(
                        ErrorCode::BadRequest,
                        "this is a session socket; whole-host requests go to berthd's control socket".into(),
                    ));
                }
                Request::Resize { .. } | Request::Detach => {
                    return Err(ConnError::Refused(
                        ErrorCode::BadRequest,
                        format!("{} without attach; closing the connection", request.name()),
                    ));
                }
            }
        }
    }

    /// Serves an attached client until it detaches, is detached, or the
    /// session ends.
    async fn attach(
        &self,
        conn: &mut ServerConn,
        req: AttachRequest,
        access: Access,
        audit: &mut Audit,
    ) -> Result<(), ConnError> {
        if let Some(size) = req.size {
            checked(size)?;
        }
        let read_only = req.read_only || access == Access::Observer || req.size.is_none();
        if req.detach_others && read_only {
            return Err(ConnError::Refused(
                ErrorCode::Denied,
                format!(
                    "permission denied: {} attaches read-only to {} and cannot detach others",
                    audit.peer.user, self.shared.info.name
                ),
            ));
        }
        let mode = if read_only {
            ClientMode::ReadOnly
        } else {
            ClientMode::ReadWrite
        };
        audit.mode = Some(mode);
        let info = ClientInfo {
            uid: audit.peer.uid,
            user: audit.peer.user.clone(),
            pid: audit.peer.pid,
            mode,
        };
        // Register, take the first screen and answer under one lock: no
        // output can fall between the screen and the live stream.
        let mut out = Vec::new();
        let (id, mut inbox) = {
            let mut s = self.shared.lock();
            let (id, inbox) = s.clients.add(info, if read_only { None } else { req.size });
            if req.detach_others {
                let reason = format!(
                    "detached by {} (uid {}) attaching with -d",
                    audit.peer.user, audit.peer.uid
                );
                s.clients.detach_others(id, &reason);
            }
            self.shared.apply_size(&mut s);
            let (cols, rows) = s.term.size();
            let first = match req.size {
                Some(_) => s.term.redraw(),
                None => s.term.capture(&CaptureRequest::default()).0.into_bytes(),
            };
            encode_control(
                &Response::Attached {
                    size: berth_proto::Size { cols, rows },
                    read_only,
                },
                &mut out,
            );
            encode_data(&first, &mut out);
            (id, inbox)
        };
        let _leave = LeaveOnDrop {
            shared: &self.shared,
            id,
        };
        let ServerConn { reader, writer } = conn;
        writer.write_all(&out).await?;

        let send_output = async {
            let mut frame = Vec::new();
            loop {
                let Some(next) = inbox.rx.recv().await else {
                    return Ok::<(), ConnError>(());
                };
                frame.clear();
                match next {
                    Out::Data(bytes) => {
                        encode(FrameKind::Data, &bytes, &mut frame);
                        writer.write_all(&frame).await?;
                        inbox.sent(bytes.len());
                    }
                    Out::Notice(response) => {
                        encode_control(&response, &mut frame);
                        writer.write_all(&frame).await?;
                    }
                    Out::Last(response) => {
                        encode_control(&response, &mut frame);
                        writer.write_all(&frame).await?;
                        return Ok(());
                    }
                }
                if inbox.is_lagging() {
                    self.resync(&mut inbox, writer).await?;
                }
            }
        };
        let receive_input = async {
            loop {
                match reader.incoming().await? {
                    Incoming::Input(bytes) if read_only => {
                        audit.ignored_bytes += bytes.len();
                    }
                    Incoming::Input(bytes) => {
                        audit.input_bytes += bytes.len();
                        if self.shared.input.send(bytes).await.is_err() {
                            return Ok(());
                        }
                    }
                    Incoming::Request(request) => match request {
                        Request::Resize { cols, rows } => {
                            let size = checked(berth_proto::Size { cols, rows })?;
                            if !read_only {
                                let mut s = self.shared.lock();
                                s.clients.set_size(id, size);
                                self.shared.apply_size(&mut s);
                            }
                        }
                        Request::Detach => {
                            self.shared.lock().clients.finish(
                                id,
                                Response::Detached {
                                    reason: "detached".into(),
                                },
                            );
                            // The writer sends it after any queued output and ends.
                            std::future::pending::<()>().await;
                        }
                        other => {
                            return Err(ConnError::Refused(
                                ErrorCode::BadRequest,
                                format!("{} while attached; closing the connection", other.name()),
                            ))
                        }
                    },
                }
            }
        };
        tokio::select! {
            r = send_output => r,
            r = receive_input => r,
        }
    }

    /// Sends the status now and on every change, until the client closes.
    async fn watch(&self, conn: &mut ServerConn) -> Result<(), ConnError> {
        loop {
            let changed = self.shared.state_changed.notified();
            let status = self.shared.status();
            conn.reply(&Response::Status(Box::new(status))).await?;
            tokio::select! {
                _ = changed => {}
                _ = tokio::time::sleep(WATCH_REFRESH) => {}
                // Nothing more is expected: anything sent, or the close, ends it.
                r = conn.reader.next() => {
                    r?;
                    return Err(ConnError::Refused(
                        ErrorCode::BadRequest,
                        "requests after watch; closing the connection".into(),
                    ));
                }
            }
        }
    }

    /// Sends a full redraw to a client that missed output, once it caught up.
    async fn resync(
        &self,
        inbox: &mut Inbox,
        writer: &mut (impl AsyncWriteExt + Unpin),
    ) -> Result<(), ConnError> {
        let redraw = {
            let mut s = self.shared.lock();
            if !inbox.take_resync() {
                return Ok(());
            }
            s.term.redraw()
        };
        let mut frame = Vec::new();
        encode_data(&redraw, &mut frame);
        writer.write_all(&frame).await?;
        Ok(())
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

    async fn capture(&self, conn: &mut ServerConn, req: &CaptureRequest) -> Result<(), ConnError> {
        let (text, lines) = self.shared.lock().term.capture(req);
        let mut out = Vec::new();
        encode_data(text.as_bytes(), &mut out);
        encode_control(&Response::CaptureEnd { lines }, &mut out);
        conn.writer.write_all(&out).await?;
        Ok(())
    }

    async fn send(&self, keys: &[String], literal: bool) -> Result<usize, ConnError> {
        let modes = self.shared.lock().term.modes();
        let mut bytes = Vec::new();
        for key in keys {
            bytes.extend(keys::translate(key, literal, modes));
        }
        if bytes.len() > MAX_FRAME_LEN {
            return Err(ConnError::Refused(
                ErrorCode::BadRequest,
                format!(
                    "input of {} bytes is too large: send at most {} MiB at a time",
                    bytes.len(),
                    MAX_FRAME_LEN >> 20
                ),
            ));
        }
        let n = bytes.len();
        self.shared.input.try_send(bytes).map_err(|e| {
            let code = match e {
                InputError::Full => ErrorCode::BadRequest,
                InputError::Closed => ErrorCode::Internal,
            };
            ConnError::Refused(code, format!("session {}: {e}", self.shared.info.name))
        })?;
        Ok(n)
    }

    async fn command(&self, cmd: Command) -> Result<(), ConnError> {
        self.shared.commands.send(cmd).await.map_err(|_| {
            ConnError::Refused(ErrorCode::Internal, "the session is shutting down".into())
        })
    }
}

/// A client's terminal size, within the bounds a configured size has.
fn checked(size: berth_proto::Size) -> Result<berth_proto::Size, ConnError> {
    size.check().map_err(|m| {
        ConnError::Refused(
            ErrorCode::BadRequest,
            format!("{m}; closing the connection"),
        )
    })
}
