//! The HTTP side: `/login?code=` is a page that posts the one-time code
//! back (a same-origin POST, so no other site can log a browser in), and
//! the POST trades it, through berthd, for the cookie;
//! `/api/sessions` and `/api/view` say what the cookie's person may see,
//! `/api/attach/NAME` is a live view of one session (live.rs),
//! `/api/recording/NAME` its recording for the replay view (replay.rs); `/metrics`
//! answers by its own rule (metrics.rs). Every `/api` route needs the
//! cookie; without it, 401 and nothing else. The page and its scripts
//! (assets.rs) hold no data.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{ConnectInfo, Path, Query};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};

use crate::listen::{Incoming, Peer};
use crate::sessions::Sessions;
use crate::tokens::{TokenError, Tokens};

const COOKIE: &str = "berth_session";

#[derive(Clone)]
pub struct State {
    pub tokens: Arc<Mutex<Tokens>>,
    pub sessions: Arc<Sessions>,
    pub allow_input: bool,
    /// `--single-user`: the one uid that may log in (berth-web's own).
    pub single_user: Option<u32>,
    /// Served over TLS: the cookie is marked Secure.
    pub https: bool,
    pub metrics: crate::metrics::Access,
    /// berthd's control socket, for `/metrics` and logins.
    pub control: PathBuf,
    /// berthd's runtime directory, where it records live logins.
    pub runtime: PathBuf,
    /// Live views per person ([`crate::live::VIEWS_PER_PERSON`]).
    pub views: Arc<berth_proto::server::ConnLimit>,
    /// A loopback listener's address: requests must name it (or
    /// `localhost`) in `Host`, so a page of another site whose name was
    /// rebound to 127.0.0.1 cannot read this one. `None`: any Host (a
    /// proxy in front, or TLS, whose certificate names the host).
    pub loopback: Option<std::net::SocketAddr>,
}

pub async fn serve(incoming: Incoming, state: State) -> std::io::Result<()> {
    let app = Router::new()
        .route("/login", get(login_page).post(login))
        .route("/api/sessions", get(sessions))
        .route("/api/view", get(view))
        .route("/api/attach/{session}", get(attach))
        .route("/api/recording/{session}", get(recording))
        .route("/metrics", get(metrics))
        .merge(crate::assets::routes())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            host_is_ours,
        ))
        .with_state(state)
        .layer(axum::middleware::map_response(secure_headers));
    axum::serve(incoming, app.into_make_service_with_connect_info::<Peer>()).await
}

/// Refuses a request whose `Host` is not the loopback address listened on
/// (DNS rebinding: another site's name pointed at 127.0.0.1).
async fn host_is_ours(
    axum::extract::State(state): axum::extract::State<State>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let Some(listen) = state.loopback else {
        return next.run(request).await;
    };
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if names_loopback(host, listen.port()) {
        return next.run(request).await;
    }
    (
        StatusCode::MISDIRECTED_REQUEST,
        format!(
            "Host {host:?} is not this dashboard's address: open http://{listen}/ (berth-web answers only requests for its own loopback address)"
        ),
    )
        .into_response()
}

/// Whether `host` (a Host header) is `localhost` or a loopback address,
/// with `port` or none.
fn names_loopback(host: &str, port: u16) -> bool {
    let (name, given) = match host.rsplit_once(':') {
        Some((n, p)) if !n.ends_with(':') && p.bytes().all(|b| b.is_ascii_digit()) => (n, Some(p)),
        _ => (host, None),
    };
    if given.is_some_and(|p| p.parse() != Ok(port)) {
        return false;
    }
    let name = name.trim_start_matches('[').trim_end_matches(']');
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// On every answer: no framing, no inline scripts, no sniffing. Inline
/// styles are allowed: xterm.js colours its DOM renderer with a <style>
/// element it writes; scripts stay 'self' only. 'wasm-unsafe-eval' lets
/// the replay's player compile the terminal emulator it carries as
/// WebAssembly (it allows no JavaScript eval).
async fn secure_headers(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        // Not "no-referrer": with it, browsers send `Origin: null` on
        // the login page's own POST, and the origin check could not tell
        // it from another site's. Nothing leaves this origin either way.
        HeaderValue::from_static("same-origin"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[derive(serde::Deserialize)]
struct Code {
    code: String,
}

/// Whether `code` looks like one berthd issues (64 hex digits): only such
/// a string is ever put in the page or sent on.
fn well_formed(code: &str) -> bool {
    code.len() == 64 && code.bytes().all(|b| b.is_ascii_hexdigit())
}

/// `GET /login?code=`: the link `berth web login` printed. A GET changes
/// nothing (a link followed from another site logs no one in): the page
/// posts the code back to this origin (`login.js`; a button without it).
async fn login_page(Query(q): Query<Code>) -> Response {
    if !well_formed(&q.code) {
        return unauthorized(TokenError::CodeUnknown);
    }
    let page = crate::assets::LOGIN.replace("{code}", &q.code);
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response()
}

/// `POST /login` (form `code=`), from this origin only: berthd checks the
/// code and records the person's live login; the cookie follows.
async fn login(
    axum::extract::State(state): axum::extract::State<State>,
    ConnectInfo(from): ConnectInfo<Peer>,
    headers: HeaderMap,
    axum::Form(q): axum::Form<Code>,
) -> Response {
    // Browsers say where a request comes from (Sec-Fetch-Site); Origin
    // for those that do not.
    let site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    if site.is_some_and(|s| s != "same-origin") || !same_origin(&headers) {
        return (
            StatusCode::FORBIDDEN,
            "the page posting the login is not berth's own (Origin differs from Host)",
        )
            .into_response();
    }
    if !well_formed(&q.code) {
        return unauthorized(TokenError::CodeUnknown);
    }
    let (uid, ttl) = match crate::metrics::redeem(&state.control, &q.code).await {
        Ok(Ok(redeemed)) => redeemed,
        Ok(Err(message)) => {
            tracing::info!(target: "berth::audit", from = %from.addr, "web login refused: {message}");
            return (StatusCode::UNAUTHORIZED, message).into_response();
        }
        Err(e) => {
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                format!("berthd did not answer: {e:#}"),
            )
                .into_response()
        }
    };
    if state.single_user.is_some_and(|own| own != uid) {
        // berthd mints codes for its own user alone in user mode: this is
        // a second line, should the two ever disagree.
        tracing::warn!(target: "berth::audit", user_uid = uid, from = %from.addr, "web login refused: a single user's dashboard");
        return (
            StatusCode::FORBIDDEN,
            "this dashboard serves the user berthd runs as, alone",
        )
            .into_response();
    }
    let cookie = {
        let mut tokens = state.tokens.lock().unwrap_or_else(|e| e.into_inner());
        tokens.cookie(uid, ttl, Instant::now())
    };
    match cookie {
        Ok(cookie) => {
            tracing::info!(target: "berth::audit", user_uid = uid, from = %from.addr, "web login");
            // Over HTTPS the browser must never send it in clear.
            let secure = if state.https { "; Secure" } else { "" };
            let set = format!(
                "{COOKIE}={cookie}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}{secure}",
                ttl.as_secs()
            );
            (
                StatusCode::SEE_OTHER,
                [
                    (header::SET_COOKIE, set),
                    (header::LOCATION, "/".to_owned()),
                ],
            )
                .into_response()
        }
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

/// The uid the request's cookie speaks for.
fn person(state: &State, headers: &HeaderMap) -> Result<u32, TokenError> {
    let cookie = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|kv| {
            kv.trim()
                .strip_prefix(&format!("{COOKIE}="))
                .map(str::to_owned)
        });
    let mut tokens = state.tokens.lock().unwrap_or_else(|e| e.into_inner());
    let uid = match cookie {
        Some(c) => tokens.check(&c, Instant::now())?,
        None => return Err(TokenError::CookieUnknown),
    };
    // berthd's record says whether the login still lives (a logout there
    // ends it here too). In user mode berthd is the single user, not root.
    let writer = state.single_user.unwrap_or(0);
    if berth_config::logins::live_recorded_by(&state.runtime, uid, writer).is_none() {
        tokens.revoke(uid);
        return Err(TokenError::CookieUnknown);
    }
    Ok(uid)
}

fn unauthorized(e: TokenError) -> Response {
    (StatusCode::UNAUTHORIZED, e.to_string()).into_response()
}

async fn sessions(
    axum::extract::State(state): axum::extract::State<State>,
    ConnectInfo(from): ConnectInfo<Peer>,
    headers: HeaderMap,
) -> Response {
    let uid = match person(&state, &headers) {
        Ok(uid) => uid,
        Err(e) => return unauthorized(e),
    };
    Json(
        state
            .sessions
            .visible(uid, &from.addr, state.allow_input)
            .await,
    )
    .into_response()
}

#[derive(serde::Deserialize)]
struct ViewQuery {
    dashboard: Option<String>,
    layout: Option<String>,
}

/// The tiles of a dashboard (or of every visible session), placed by the
/// layouts `berth watch` uses.
async fn view(
    axum::extract::State(state): axum::extract::State<State>,
    ConnectInfo(from): ConnectInfo<Peer>,
    headers: HeaderMap,
    Query(q): Query<ViewQuery>,
) -> Response {
    let uid = match person(&state, &headers) {
        Ok(uid) => uid,
        Err(e) => return unauthorized(e),
    };
    let layout = match q.layout.as_deref().map(str::parse).transpose() {
        Ok(l) => l,
        Err(e) => return (StatusCode::BAD_REQUEST, e).into_response(),
    };
    let visible = state
        .sessions
        .visible(uid, &from.addr, state.allow_input)
        .await;
    match state.sessions.view(visible, q.dashboard.as_deref(), layout) {
        Ok(v) => Json(v).into_response(),
        Err(e) => (StatusCode::NOT_FOUND, e).into_response(),
    }
}

#[derive(serde::Deserialize)]
struct AttachQuery {
    #[serde(default)]
    input: bool,
}

async fn attach(
    axum::extract::State(state): axum::extract::State<State>,
    ConnectInfo(from): ConnectInfo<Peer>,
    headers: HeaderMap,
    Path(session): Path<String>,
    Query(q): Query<AttachQuery>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    // The cookie first: without it, 401 whatever else is wrong.
    let uid = match person(&state, &headers) {
        Ok(uid) => uid,
        Err(e) => return unauthorized(e),
    };
    if let Err(e) = berth_config::values::check_session_name(&session) {
        return (StatusCode::BAD_REQUEST, e).into_response();
    }
    let upgrade = match upgrade {
        Ok(u) => u,
        Err(e) => return e.into_response(),
    };
    // A page of another site must not open views with this cookie.
    if !same_origin(&headers) {
        return (
            StatusCode::FORBIDDEN,
            "the page asking is not berth's own (Origin differs from Host)",
        )
            .into_response();
    }
    let slot = match state.views.admit(uid) {
        Ok(slot) => slot,
        Err(e) => return (StatusCode::TOO_MANY_REQUESTS, e).into_response(),
    };
    let socket = state.sessions.socket(&session);
    let view = crate::live::View {
        uid,
        from: from.addr,
        session,
        input: q.input,
        slot,
    };
    let allow_input = state.allow_input;
    upgrade.on_upgrade(move |ws| async move {
        crate::live::relay(ws, &socket, view, allow_input).await;
    })
}

#[derive(serde::Deserialize)]
struct RecordingQuery {
    /// Only the last this many commands.
    last_commands: Option<u32>,
}

/// The session's recording, asked of its host as the person logged in.
async fn recording(
    axum::extract::State(state): axum::extract::State<State>,
    ConnectInfo(from): ConnectInfo<Peer>,
    headers: HeaderMap,
    Path(session): Path<String>,
    Query(q): Query<RecordingQuery>,
) -> Response {
    let uid = match person(&state, &headers) {
        Ok(uid) => uid,
        Err(e) => return unauthorized(e),
    };
    if let Err(e) = berth_config::values::check_session_name(&session) {
        return (StatusCode::BAD_REQUEST, e).into_response();
    }
    let socket = state.sessions.socket(&session);
    let claim = crate::follow::claim(uid, &from.addr);
    let req = berth_proto::scripting::RecordingRequest {
        last_commands: q.last_commands.filter(|n| *n > 0),
        ..Default::default()
    };
    tracing::info!(target: "berth::audit", user_uid = uid, session = %session, from = %from.addr, "web replay asked");
    crate::replay::recording(&socket, claim, req).await
}

/// Whether a request's Origin (sent by browsers on WebSocket handshakes)
/// names the host it was sent to. No Origin: not a browser, so no
/// cross-site page is involved, and the cookie still decides.
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let origin_host = origin.split_once("://").map(|(_, rest)| rest);
    host.is_some() && origin_host == host
}

async fn metrics(
    axum::extract::State(state): axum::extract::State<State>,
    ConnectInfo(from): ConnectInfo<Peer>,
    headers: HeaderMap,
) -> Response {
    use crate::metrics::Access;
    let allowed = match &state.metrics {
        Access::Off => {
            return (
                StatusCode::NOT_FOUND,
                "/metrics is off ([web] metrics = \"off\")",
            )
                .into_response()
        }
        Access::Loopback => from.local,
        Access::Token(token) => headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .is_some_and(|given| crate::tokens::same_secret(given, token)),
    };
    if !allowed {
        let why = match state.metrics {
            Access::Token(_) => "/metrics needs the bearer token of [web] metrics_token_file",
            _ => "/metrics answers only this host ([web] metrics = \"loopback\")",
        };
        return (StatusCode::UNAUTHORIZED, why).into_response();
    }
    // Which sessions' own series: every one to the token's holder (the
    // operator chose to hand them out); a person logged in, theirs; an
    // anonymous scrape, none (the counts by state only).
    let readable: Option<Vec<String>> = match &state.metrics {
        Access::Token(_) => None,
        _ => Some(match person(&state, &headers) {
            Ok(uid) => state
                .sessions
                .visible(uid, &from.addr, state.allow_input)
                .await
                .into_iter()
                .filter_map(|v| v["name"].as_str().map(str::to_owned))
                .collect(),
            Err(_) => Vec::new(),
        }),
    };
    let shown = |name: &str| {
        readable
            .as_ref()
            .is_none_or(|r| r.iter().any(|n| n == name))
    };
    match crate::metrics::gather(&state.control).await {
        Ok(sessions) => (
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            crate::metrics::render(&sessions, &shown),
        )
            .into_response(),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("berthd did not give the figures: {e:#}"),
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_names_are_this_dashboards() {
        for ok in [
            "127.0.0.1:7681",
            "localhost:7681",
            "LOCALHOST",
            "[::1]:7681",
            "127.0.0.1",
        ] {
            assert!(names_loopback(ok, 7681), "{ok}");
        }
        for bad in [
            "evil.example:7681",
            "evil.example",
            "127.0.0.1:80",
            "10.0.0.1:7681",
            "",
        ] {
            assert!(!names_loopback(bad, 7681), "{bad}");
        }
    }
}
