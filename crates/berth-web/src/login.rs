//! The login socket: `berth web login` asks for a one-time URL, `logout`
//! ends the caller's logins (`logout-all`: everyone's, root only). Who
//! asks is read from the kernel (SO_PEERCRED), never from the request.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};

use crate::tokens::Tokens;

/// Binds `path`; anyone may connect: the uid decides. Called before the
/// privilege drop, so the socket can live in berthd's runtime directory.
pub fn bind(path: &Path) -> std::io::Result<std::os::unix::net::UnixListener> {
    let listener = berth_proto::socket::bind_fresh(path).map_err(std::io::Error::other)?;
    std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o666))?;
    listener.set_nonblocking(true)?;
    Ok(listener)
}

/// Answers `berth web login`/`logout` on `listener` until it fails.
pub async fn serve(
    listener: std::os::unix::net::UnixListener,
    tokens: Arc<Mutex<Tokens>>,
    base: String,
) -> std::io::Result<()> {
    let listener = UnixListener::from_std(listener)?;
    loop {
        let (stream, _) = listener.accept().await?;
        let tokens = Arc::clone(&tokens);
        let base = base.clone();
        tokio::spawn(async move {
            if let Err(e) = answer(stream, &tokens, &base).await {
                tracing::debug!("login connection: {e}");
            }
        });
    }
}

async fn answer(stream: UnixStream, tokens: &Mutex<Tokens>, base: &str) -> std::io::Result<()> {
    let uid = stream.peer_cred()?.uid();
    let (reader, mut writer) = stream.into_split();
    let mut line = String::new();
    // One short line: the requests are words.
    BufReader::new(reader.take(64)).read_line(&mut line).await?;
    let reply = reply(line.trim(), uid, tokens, base);
    writer.write_all(format!("{reply}\n").as_bytes()).await
}

/// One request's answer: `ok ...` or `error ...`.
fn reply(request: &str, uid: u32, tokens: &Mutex<Tokens>, base: &str) -> String {
    let mut tokens = tokens.lock().unwrap_or_else(|e| e.into_inner());
    match request {
        "login" if uid == 0 => {
            "error the web dashboard never acts as root: run berth web login as yourself".into()
        }
        "login" => match tokens.mint(uid, Instant::now()) {
            Ok(code) => {
                tracing::info!(target: "berth::audit", user_uid = uid, "web login link issued");
                format!("ok {base}/login?code={code}")
            }
            Err(e) => format!("error {e}"),
        },
        "logout" => {
            let n = tokens.revoke(Some(uid));
            tracing::info!(target: "berth::audit", user_uid = uid, ended = n, "web logout");
            format!("ok {n}")
        }
        "logout-all" if uid == 0 => {
            let n = tokens.revoke(None);
            tracing::info!(target: "berth::audit", user_uid = uid, ended = n, "web logout of everyone");
            format!("ok {n}")
        }
        "logout-all" => {
            "error only root may end everyone's logins; berth web logout ends yours".into()
        }
        other => format!("error unknown request {other:?}: expected login, logout or logout-all"),
    }
}
