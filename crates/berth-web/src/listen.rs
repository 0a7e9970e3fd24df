//! Where the page is served: a loopback TCP port, HTTPS on any address
//! (rustls), or a Unix socket behind a reverse proxy. Bound while still
//! root (a privileged port, a key only root reads); served after the
//! drop. TLS handshakes run in tasks of their own, so a client that
//! stalls one delays nobody else.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::connect_info::Connected;
use axum::serve::IncomingStream;
use berth_config::web::{Listen, Tls};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::mpsc;
use tokio_rustls::rustls;

use crate::guard::{Addresses, Guarded};

/// A TLS handshake must end this soon.
const HANDSHAKE: Duration = Duration::from_secs(10);
/// Connections accepted and not yet taken by the server.
const BACKLOG: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum ListenError {
    #[error("failed to listen on {0}: {1}")]
    Bind(String, std::io::Error),
    /// berthd.service allows Unix sockets only, and the embedded backend's
    /// children inherit that: say where the limit comes from.
    #[error("cannot listen on {0}: this process may open Unix sockets only (berthd.service's sandbox, inherited under the embedded backend); set backend = \"systemd\" in [daemon] so berth-web runs as a unit of its own, or listen on a Unix socket under /run/berth")]
    UnixOnly(String),
    #[error(transparent)]
    Socket(#[from] berth_proto::socket::BindError),
    #[error("failed to read {0}: {1}")]
    Read(String, std::io::Error),
    #[error("{0}: {1}")]
    Pem(String, rustls::pki_types::pem::Error),
    #[error("tls_cert and tls_key do not make a usable pair: {0}")]
    Tls(#[from] rustls::Error),
}

/// Who is on the other end: the browser's address for the audit trail,
/// and whether it is this host (for `metrics = "loopback"`).
#[derive(Debug, Clone)]
pub struct Peer {
    pub addr: String,
    pub local: bool,
}

pub trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// A bound listener, not yet serving.
pub enum Bound {
    Tcp(std::net::TcpListener, Option<Arc<rustls::ServerConfig>>),
    Unix(std::os::unix::net::UnixListener),
}

/// Binds `listen` and reads the TLS files (as root, before the drop).
pub fn bind(listen: &Listen, tls: Option<&Tls>) -> Result<Bound, ListenError> {
    let bind_error = |e| ListenError::Bind(listen.to_string(), e);
    match listen {
        Listen::Tcp(addr) => {
            let tls = tls.map(server_config).transpose()?.map(Arc::new);
            let l = std::net::TcpListener::bind(addr).map_err(|e| {
                match e.raw_os_error() == Some(nix::libc::EAFNOSUPPORT) {
                    true => ListenError::UnixOnly(listen.to_string()),
                    false => bind_error(e),
                }
            })?;
            l.set_nonblocking(true).map_err(bind_error)?;
            Ok(Bound::Tcp(l, tls))
        }
        Listen::Unix(path) => {
            // A socket left by a previous run is replaced; anything else
            // at the path (a typo naming a file) is never touched.
            let l = berth_proto::socket::bind_fresh(path)?;
            // The proxy in front runs as its own account; like a loopback
            // port, anyone on the host may connect, and the cookie decides.
            std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o666))
                .map_err(bind_error)?;
            l.set_nonblocking(true).map_err(bind_error)?;
            Ok(Bound::Unix(l))
        }
    }
}

fn server_config(tls: &Tls) -> Result<rustls::ServerConfig, ListenError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let read =
        |p: &Path| std::fs::read(p).map_err(|e| ListenError::Read(p.display().to_string(), e));
    let pem_error = |p: &Path| {
        let p = p.display().to_string();
        move |e| ListenError::Pem(p.clone(), e)
    };
    let certs = CertificateDer::pem_slice_iter(&read(&tls.cert)?)
        .collect::<Result<Vec<_>, _>>()
        .map_err(pem_error(&tls.cert))?;
    let key = PrivateKeyDer::from_pem_slice(&read(&tls.key)?).map_err(pem_error(&tls.key))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)?)
}

/// Connections ready to serve (TLS already spoken), for `axum::serve`.
pub struct Incoming {
    ready: mpsc::Receiver<(Box<dyn Stream>, Peer)>,
}

impl Bound {
    /// Starts accepting (inside the runtime).
    pub fn incoming(self) -> std::io::Result<Incoming> {
        let (tx, ready) = mpsc::channel(BACKLOG);
        match self {
            Bound::Tcp(l, tls) => {
                let l = tokio::net::TcpListener::from_std(l)?;
                let tls = tls.map(tokio_rustls::TlsAcceptor::from);
                tokio::spawn(accept_tcp(l, tls, tx));
            }
            Bound::Unix(l) => {
                let l = tokio::net::UnixListener::from_std(l)?;
                tokio::spawn(accept_unix(l, tx));
            }
        }
        Ok(Incoming { ready })
    }
}

type Ready = mpsc::Sender<(Box<dyn Stream>, Peer)>;

async fn accept_tcp(l: tokio::net::TcpListener, tls: Option<tokio_rustls::TlsAcceptor>, tx: Ready) {
    let addresses = Addresses::default();
    loop {
        let (stream, addr) = match l.accept().await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let slot = match addresses.admit(addr.ip()) {
            Ok(slot) => slot,
            Err(why) => {
                tracing::debug!("connection refused: {why}");
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let peer = Peer {
            addr: addr.to_string(),
            local: addr.ip().is_loopback(),
        };
        match &tls {
            None => {
                if tx
                    .send((Box::new(Guarded::new(stream, slot)), peer))
                    .await
                    .is_err()
                {
                    return;
                }
            }
            Some(acceptor) => {
                let (acceptor, tx) = (acceptor.clone(), tx.clone());
                tokio::spawn(async move {
                    match tokio::time::timeout(HANDSHAKE, acceptor.accept(stream)).await {
                        Ok(Ok(s)) => {
                            let _ = tx.send((Box::new(Guarded::new(s, slot)), peer)).await;
                        }
                        Ok(Err(e)) => {
                            tracing::debug!(from = %peer.addr, "TLS handshake failed: {e}")
                        }
                        Err(_) => tracing::debug!(from = %peer.addr, "TLS handshake timed out"),
                    }
                });
            }
        }
    }
}

async fn accept_unix(l: tokio::net::UnixListener, tx: Ready) {
    loop {
        match l.accept().await {
            Ok((stream, _)) => {
                let peer = Peer {
                    addr: "unix".to_owned(),
                    local: true,
                };
                if tx
                    .send((Box::new(Guarded::new(stream, None)), peer))
                    .await
                    .is_err()
                {
                    return;
                }
            }
            Err(e) => {
                tracing::warn!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

impl axum::serve::Listener for Incoming {
    type Io = Box<dyn Stream>;
    type Addr = Peer;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(c) => c,
            // The accept task ended: nothing more will come.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(Peer {
            addr: "berth-web".to_owned(),
            local: true,
        })
    }
}

impl Connected<IncomingStream<'_, Incoming>> for Peer {
    fn connect_info(stream: IncomingStream<'_, Incoming>) -> Self {
        stream.remote_addr().clone()
    }
}
