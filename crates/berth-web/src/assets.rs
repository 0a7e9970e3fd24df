//! The page: one HTML file, its script and style, xterm.js and
//! asciinema-player (vendored from the npm registry, see each SOURCE), all
//! inside the binary: no CDN, nothing read from disk at run time.

use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

use crate::http::State;

const INDEX: &str = include_str!("../assets/index.html");
/// The page of a login link (`{code}` is put in by the route).
pub const LOGIN: &str = include_str!("../assets/login.html");
const LOGIN_JS: &str = include_str!("../assets/login.js");
const APP_JS: &str = include_str!("../assets/app.js");
const APP_CSS: &str = include_str!("../assets/app.css");
const XTERM_JS: &str = include_str!("../assets/xterm/xterm.js");
const XTERM_CSS: &str = include_str!("../assets/xterm/xterm.css");
/// The replay view's player (assets/asciinema-player/SOURCE).
const PLAYER_JS: &str = include_str!("../assets/asciinema-player/asciinema-player.min.js");
const PLAYER_CSS: &str = include_str!("../assets/asciinema-player/asciinema-player.css");

pub fn routes() -> Router<State> {
    let file = |body: &'static str, kind: &'static str| {
        get(move || async move { ([(header::CONTENT_TYPE, kind)], body).into_response() })
    };
    Router::new()
        .route("/", file(INDEX, "text/html; charset=utf-8"))
        .route(
            "/assets/app.js",
            file(APP_JS, "text/javascript; charset=utf-8"),
        )
        .route("/assets/app.css", file(APP_CSS, "text/css; charset=utf-8"))
        .route(
            "/assets/login.js",
            file(LOGIN_JS, "text/javascript; charset=utf-8"),
        )
        .route(
            "/assets/xterm.js",
            file(XTERM_JS, "text/javascript; charset=utf-8"),
        )
        .route(
            "/assets/xterm.css",
            file(XTERM_CSS, "text/css; charset=utf-8"),
        )
        .route(
            "/assets/asciinema-player.js",
            file(PLAYER_JS, "text/javascript; charset=utf-8"),
        )
        .route(
            "/assets/asciinema-player.css",
            file(PLAYER_CSS, "text/css; charset=utf-8"),
        )
}
