//! Attached clients: the first screen and the live stream under one lock,
//! input and resizes from read-write clients, redraws for clients that
//! fell behind, and status watchers.

use std::time::Duration;

use berth_proto::server::FrameWriter;
use berth_proto::server::{ConnError, Incoming, ServerConn};
use berth_proto::{
    Access, AttachRequest, CaptureRequest, ClientInfo, ClientMode, ErrorCode, Request, Response,
    Status,
};
use tokio::net::unix::OwnedWriteHalf;

use super::{Audit, Server};
use crate::clients::{Inbox, Out};
use crate::session::Shared;

/// How long after output a watcher's status is looked at again (the
/// foreground command, shell marks): also the most it is sent per second
/// while output flows.
const FOREGROUND_SETTLE: Duration = Duration::from_millis(250);
/// And once more this long after the last output, for a program that
/// started without printing.
const FOREGROUND_RECHECK: Duration = Duration::from_secs(2);

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
    /// Serves an attached client until it detaches, is detached, or the
    /// session ends.
    pub(super) async fn attach(
        &self,
        conn: &mut ServerConn,
        req: AttachRequest,
        access: Access,
        audit: &mut Audit,
    ) -> Result<(), ConnError> {
        if let Some(size) = req.size {
            checked(size)?;
        }
        let read_only =
            req.read_only || req.frames || access == Access::Observer || req.size.is_none();
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
        let (id, mut inbox, attached, first) = {
            let mut s = self.shared.lock();
            s.record_marker(crate::recording::label::attached(
                &info.user, info.uid, read_only,
            ));
            let (id, inbox) =
                s.clients
                    .add(info, if read_only { None } else { req.size }, req.frames);
            if req.detach_others {
                let reason = format!(
                    "detached by {} (uid {}) attaching with -d",
                    audit.peer.user, audit.peer.uid
                );
                s.clients.detach_others(id, &reason);
            }
            self.shared.apply_size(&mut s);
            // Watchers show who is attached.
            self.shared.state_changed.notify_waiters();
            let (cols, rows) = s.term.size();
            let first = match req.size {
                Some(_) => s.term.redraw(),
                None => s.term.capture(&CaptureRequest::default()).text.into_bytes(),
            };
            let attached = Response::Attached {
                size: berth_proto::Size { cols, rows },
                read_only,
                redraw: true,
                frames: req.frames,
            };
            (id, inbox, attached, first)
        };
        let _leave = LeaveOnDrop {
            shared: &self.shared,
            id,
        };
        let (reader, writer) = conn.halves();
        writer.reply(&attached).await?;
        writer.send_data(&first).await?;
        drop(first);

        let send_output = async {
            loop {
                let Some(next) = inbox.rx.recv().await else {
                    return Ok::<(), ConnError>(());
                };
                match next {
                    Out::Data(bytes) => {
                        writer.send_data(&bytes).await?;
                        inbox.sent(bytes.len());
                    }
                    Out::Redraw(screen) => {
                        writer.reply(&Response::Redraw).await?;
                        writer.send_data(&screen).await?;
                        inbox.sent(screen.len());
                        inbox.redrawn();
                    }
                    Out::Notice(response) => writer.reply(&response).await?,
                    Out::Last(response) => {
                        writer.reply(&response).await?;
                        return Ok(());
                    }
                }
                if inbox.is_lagging() {
                    self.resync(&mut inbox, writer).await?;
                }
            }
        };
        let typist = audit.typist();
        let receive_input = async {
            loop {
                match reader.incoming().await? {
                    Incoming::Input(bytes) if read_only => {
                        audit.ignored_bytes += bytes.len();
                    }
                    // No program to read it: it would wait in the terminal
                    // for the next one. Dropped (and counted), as a
                    // read-only client's is.
                    Incoming::Input(bytes) if self.shared.lock().pid.is_none() => {
                        audit.ignored_bytes += bytes.len();
                    }
                    Incoming::Input(bytes) => {
                        audit.input_bytes += bytes.len();
                        if self.shared.input.send(bytes, &typist).await.is_err() {
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
                        Request::Redraw => {
                            // One screen queued at a time: a client asking
                            // faster than it reads gets the next one later.
                            let mut s = self.shared.lock();
                            if s.clients.may_redraw(id) {
                                let screen = s.term.redraw();
                                s.clients.redraw(id, screen);
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

    /// Sends the status now and whenever it changes, until the client
    /// closes. Nothing is sent while nothing changes: the reader ages the
    /// clocks (uptime, countdown) itself, so 1,000 idle hosts cost berthd
    /// nothing. The foreground command changes without an event, so it is
    /// looked at shortly after output, and once more a while later.
    pub(super) async fn watch(&self, conn: &mut ServerConn) -> Result<(), ConnError> {
        let mut sent: Option<Status> = None;
        let mut recheck: Option<tokio::time::Instant> = None;
        loop {
            let changed = self.shared.state_changed.notified();
            let output = self.shared.output_arrived.notified();
            let status = self.shared.status();
            if sent.as_ref().is_none_or(|s| status.differs_from(s)) {
                conn.reply(&Response::Status(Box::new(status.clone())))
                    .await?;
                sent = Some(status);
            }
            let late = async {
                match recheck {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = changed => {}
                _ = output => {
                    // A command started from the keyboard shows in the
                    // foreground after its echo: look once it settled.
                    tokio::time::sleep(FOREGROUND_SETTLE).await;
                    recheck = Some(tokio::time::Instant::now() + FOREGROUND_RECHECK);
                }
                _ = late => recheck = None,
                // Nothing more is expected: anything sent, or the close, ends it.
                e = conn.interrupted("after watch") => return Err(e),
            }
        }
    }

    /// Sends a full redraw to a client that missed output, once it caught up.
    async fn resync(
        &self,
        inbox: &mut Inbox,
        writer: &mut FrameWriter<OwnedWriteHalf>,
    ) -> Result<(), ConnError> {
        let redraw = {
            let mut s = self.shared.lock();
            if !inbox.take_resync() {
                return Ok(());
            }
            s.term.redraw()
        };
        writer.send_data(&redraw).await
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
