//! Wiring: PTY, program, supervisor, server, signals.

use std::os::fd::AsFd;
use std::sync::Arc;

use anyhow::Context;
use tokio::io::AsyncWriteExt;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc;

use crate::args::Args;
use crate::output_log::OutputLog;
use crate::peer::AccessPolicy;
use crate::program::{Identity, Launch};
use crate::server::Server;
use crate::session::{Command, HostInfo, Session, Shared};
use crate::supervisor::Supervisor;
use crate::terminal::Terminal;

/// Runs the host; `inherited` is the socket from [`crate::listener::inherited`].
pub async fn run(
    args: Args,
    inherited: Option<std::os::unix::net::UnixListener>,
) -> anyhow::Result<()> {
    let from_berthd = args.listen_fd.is_some();
    let args = args.spec;
    let joined = crate::cleanup::join(&args.name);
    if let Some(user) = &args.user {
        // Before the PTY is opened or any program output is read: the
        // terminal parser, which reads untrusted output, never runs as root.
        berth_log::account::become_user("berth-session", user)?;
    }
    let identity = Identity::current();
    let crate::listener::Listener {
        listener,
        bound: _socket_file,
    } = crate::listener::listen(inherited, &args.socket, from_berthd)?;
    let log = match &args.log {
        Some(path) => Some(
            OutputLog::open(path, args.log_max_size, args.log_keep)
                .with_context(|| format!("failed to open output log {}", path.display()))?,
        ),
        None => None,
    };

    let recording = match (&args.log, args.record) {
        (Some(log), true) => {
            let path = crate::recording::path_beside(log);
            let describe = crate::recording::writer::Describe {
                session: args.name.clone(),
                command: args.program.command.join(" "),
            };
            let writer = crate::recording::writer::CastWriter::create(
                &path,
                args.log_max_size,
                args.log_keep,
                args.program.size,
                describe,
            )
            .with_context(|| format!("failed to open the recording {}", path.display()))?;
            Some((path, writer))
        }
        _ => None,
    };

    let (pty, pts) = pty_process::open().context("failed to open a pty")?;
    let (cols, rows) = args.program.size;
    pty.resize(pty_process::Size::new(rows, cols))
        .context("failed to size the pty")?;
    let pty_fd = pty
        .as_fd()
        .try_clone_to_owned()
        .context("failed to duplicate the pty")?;
    let (reader, mut writer) = pty.into_split();

    let (input_tx, mut input_rx) = crate::input::queue();
    let (cmd_tx, cmd_rx) = mpsc::channel::<Command>(16);
    let info = HostInfo {
        name: args.name.clone(),
        identity: identity.clone(),
        log: args.log.clone(),
        log_keep: args.log_keep,
        journal: args.log_journal,
        recording: recording.as_ref().map(|(path, _)| path.clone()),
        stop_grace: args.stop_grace,
        cleanup: crate::cleanup::describe(joined.as_deref()),
        by_berthd: from_berthd,
    };
    let session = Session::new(
        Terminal::new(cols, rows, args.scrollback),
        args.program.size_policy,
        args.program.command.clone(),
    );
    let shared = Arc::new(Shared::new(info, session, pty_fd, input_tx, cmd_tx.clone()));
    // One writer keeps input in order; a program that stops reading makes
    // senders wait here (or refuses them), never the output path.
    let input_name = args.name.clone();
    let input_shared = Arc::clone(&shared);
    let record_input = args.record_input;
    tokio::spawn(async move {
        while let Some((bytes, typist, _room)) = input_rx.next().await {
            if record_input {
                // Recorded as the program gets it, in order with output.
                let mut s = input_shared.lock();
                let offset = s.output_bytes;
                if let Some(r) = &mut s.recording {
                    r.input(offset, &typist, &bytes);
                }
            }
            if let Err(e) = writer.write_all(&bytes).await {
                tracing::warn!(session = %input_name, "writing input to the terminal failed: {e}");
            }
        }
    });

    let server = Arc::new(Server {
        shared: Arc::clone(&shared),
        policy: AccessPolicy {
            owner_uid: Some(identity.uid),
            operators: args.operators.clone(),
            observers: args.observers.clone(),
        },
        handshake_timeout: args.handshake_timeout,
        limit: Arc::new(berth_proto::server::ConnLimit::for_descriptors(
            berth_log::inherited::descriptor_limit(),
        )),
        audit: Arc::default(),
        runtime: args
            .socket
            .parent()
            .and_then(std::path::Path::parent)
            .map(std::path::Path::to_path_buf),
        people: Arc::new(berth_proto::server::ConnLimit::per_uid(
            berth_config::defaults::CONNECTIONS_PER_PERSON,
        )),
        web_limit: Arc::new(berth_proto::server::ConnLimit::per_uid(
            berth_config::defaults::WEB_CONNECTIONS,
        )),
    });
    tokio::spawn(Arc::clone(&server).serve(listener));

    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let stop_tx = cmd_tx;
    tokio::spawn(async move {
        tokio::select! {
            _ = term.recv() => {},
            _ = int.recv() => {},
        }
        let _ = stop_tx.send(Command::Shutdown).await;
    });
    // A hangup of the terminal berthd started us from must not end the session.
    let mut hup = signal(SignalKind::hangup())?;
    tokio::spawn(async move { while hup.recv().await.is_some() {} });
    // Nor a file size limit reached by the output log: the write fails
    // (EFBIG) and the log pauses, as on a full disk.
    let mut xfsz = signal(SignalKind::from_raw(nix::libc::SIGXFSZ))?;
    tokio::spawn(async move { while xfsz.recv().await.is_some() {} });

    tracing::info!(session = %args.name, socket = %args.socket.display(), user = %identity.user, "session host ready");
    // Serving its socket: ready, as far as systemd is concerned.
    let _ = sd_notify::notify(&[sd_notify::NotifyState::Ready]);
    let shell_integration = crate::shell_integration::when(
        args.program.shell_integration,
        None,
        &args.program.command,
        &args.name,
    );
    let log = match log {
        Some(log) => {
            // The recording is written on the log's thread, from its batches.
            let (events, sink) = match recording {
                Some((_, writer)) => {
                    let (events, received) = crate::recording::channel();
                    let sink = crate::recording::sink::Sink::new(writer, received);
                    (Some(events), Some(sink))
                }
                None => (None, None),
            };
            let writer = crate::log_writer::LogWriter::start(log, sink, Arc::clone(&shared))
                .context("failed to start the output log's thread")?;
            if let Some(events) = events {
                let waker = Box::new(writer.waker());
                shared.lock().recording = Some(crate::recording::Recorder::new(
                    events,
                    waker,
                    args.record_input,
                ));
            }
            Some(writer)
        }
        None => None,
    };
    let supervisor = Supervisor {
        shared,
        policy: crate::args::restart_policy(&args.program),
        spec: Launch {
            command: args.program.command,
            cwd: args.program.cwd,
            env: args.program.env,
            identity,
            no_new_privileges: args.no_new_privileges,
            shell_integration,
        },
        log,
        journal: args
            .log_journal
            .then(|| crate::journal_log::JournalLog::new(&args.name)),
        pts,
        reader,
        commands: cmd_rx,
        stop_grace: args.stop_grace,
    };
    let shared = Arc::clone(&supervisor.shared);
    supervisor.run().await;
    // Attached clients are told the session ended; let them read it.
    shared
        .lock()
        .clients
        .end_all(&format!("session {} ended", args.name));
    shared.clients_gone(std::time::Duration::from_secs(2)).await;
    // `_socket_file` drops here: a socket this process bound is removed.
    Ok(())
}
