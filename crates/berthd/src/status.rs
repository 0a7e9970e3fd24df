//! Asking a session host over its socket, without ever blocking berthd:
//! every call is async and bounded in time.

use std::path::Path;
use std::time::Duration;

use berth_proto::client_async::AsyncClient;
use berth_proto::sync::ClientError;
use berth_proto::{Request, Response, SessionMetrics, SessionSummary, Status};

/// A host must finish the handshake this soon.
const HANDSHAKE: Duration = Duration::from_secs(5);
/// A stop is answered once the program has ended: up to three stop graces
/// (5 s each by default) and a drain.
const REPLY: Duration = Duration::from_secs(60);

/// Sends one request to the host behind `socket` and returns its answer
/// (an error answer included); fails if it does not answer in time.
pub async fn request(socket: &Path, req: &Request) -> anyhow::Result<Response> {
    let mut client = AsyncClient::connect(socket, "berthd", HANDSHAKE).await?;
    match tokio::time::timeout(REPLY, client.call(req)).await {
        Err(_) => anyhow::bail!("no answer within {}s", REPLY.as_secs()),
        Ok(Ok(response)) => Ok(response),
        Ok(Err(ClientError::Refused { code, message })) => Ok(Response::Error { code, message }),
        Ok(Err(e)) => Err(e.into()),
    }
}

/// The host's status, or `None` if it does not answer within a second.
pub async fn query(socket: &Path) -> Option<Status> {
    let ask = async {
        let mut client = AsyncClient::connect(socket, "berthd", HANDSHAKE)
            .await
            .ok()?;
        match client.call(&Request::Status).await.ok()? {
            Response::Status(st) => Some(*st),
            _ => None,
        }
    };
    tokio::time::timeout(Duration::from_secs(1), ask)
        .await
        .ok()
        .flatten()
}

/// Follows a host: `on_status` for every status it pushes, until the
/// connection ends (the host died or went away).
pub async fn watch(socket: &Path, mut on_status: impl FnMut(Status)) -> anyhow::Result<()> {
    let mut client = AsyncClient::connect(socket, "berthd", HANDSHAKE).await?;
    client.send(&Request::Watch).await?;
    loop {
        match client.response().await? {
            Response::Status(st) => on_status(*st),
            other => anyhow::bail!("unexpected answer to watch: {other:?}"),
        }
    }
}

/// Hosts asked at once for `/metrics`: enough to answer 1,000 sessions in
/// a scrape, few enough to leave berthd's descriptors for its own work.
const METRICS_AT_ONCE: usize = 64;

/// Every session's figures: berthd's state of it, and what its host says
/// (nothing from a host that does not answer within a second).
/// How long the hosts' counters answer every scrape: at most one round of
/// connections to the hosts per this, however often `/metrics` is read
/// (a scraper in a loop costs the hosts nothing more).
pub const METRICS_FRESH: std::time::Duration = std::time::Duration::from_secs(10);

/// The last metrics and when they were asked; scrapes that come while
/// they are asked wait for the same answer.
#[derive(Clone, Default)]
pub struct MetricsCache(
    std::sync::Arc<tokio::sync::Mutex<Option<(tokio::time::Instant, Response)>>>,
);

impl MetricsCache {
    /// The metrics: the cached ones while fresh, else asked anew.
    pub async fn get(&self, runtime: &Path, sessions: Vec<SessionSummary>) -> Response {
        let mut last = self.0.lock().await;
        if let Some((at, response)) = last.as_ref() {
            if at.elapsed() < METRICS_FRESH {
                return response.clone();
            }
        }
        let response = metrics(runtime, sessions).await;
        *last = Some((tokio::time::Instant::now(), response.clone()));
        response
    }
}

async fn metrics(runtime: &Path, sessions: Vec<SessionSummary>) -> Response {
    use futures_util::StreamExt;
    let sessions = futures_util::stream::iter(sessions)
        .map(|s| async move {
            let socket = berth_config::paths::session_socket(runtime, &s.name);
            let st = match s.host_pid {
                Some(_) => query(&socket).await,
                None => None,
            };
            SessionMetrics {
                restarts: st.as_ref().map(|st| st.restarts),
                last_exit: st.as_ref().and_then(|st| st.last_exit.clone()),
                output_bytes: st.as_ref().map(|st| st.output_bytes),
                clients: st.as_ref().map(|st| st.clients.len()),
                memory_bytes: st.as_ref().and_then(|st| st.memory_bytes),
                name: s.name,
                state: s.state,
            }
        })
        .buffered(METRICS_AT_ONCE)
        .collect()
        .await;
    Response::Metrics { sessions }
}
