//! The web dashboard (issue 17): berthd starts berth-web under its own
//! account when `[web]` is configured; a login is bound to the uid that
//! asked for it; a browser sees and types only what that person may;
//! `/metrics` parses as Prometheus text; a real headless Chromium shows a
//! session's output live. Root only (throwaway accounts); says SKIPPED
//! otherwise.

use std::io::{Read, Write};
use std::process::{Command, Output};
use std::sync::Mutex;
use std::time::Duration;

use berth_e2e::accounts::Throwaway;
use berth_e2e::browser;
use berth_e2e::daemon::Daemon;
use berth_e2e::*;

const WEB: &str = berth_config::access::WEB_ACCOUNT;
const OP: &str = "bt4-op";
const OBS: &str = "bt4-obs";
const OUT: &str = "bt4-out";
const SERVICE: &str = "bt4-svc";
const DEADLINE: Duration = Duration::from_secs(20);

/// The tests share the web account and the berth group: one at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Throwaway accounts (and the ones berthd makes), removed on drop
/// however the test ends.
struct Accounts {
    made_berth_group: bool,
}

impl Accounts {
    fn create() -> Self {
        let mut guard = Accounts {
            made_berth_group: false,
        };
        guard.remove();
        guard.made_berth_group = nix::unistd::Group::from_name("berth").unwrap().is_none();
        if guard.made_berth_group {
            let out = Command::new("groupadd")
                .args(["--system", "berth"])
                .output()
                .unwrap();
            assert!(out.status.success(), "groupadd berth: {}", stderr(&out));
        }
        // People log in through berthd's control socket, which the berth
        // group opens (as it opens every berth socket).
        for u in [OP, OBS, OUT] {
            let out = Command::new("useradd")
                .args(["--system", "--no-create-home", "-G", "berth", u])
                .output()
                .unwrap();
            assert!(out.status.success(), "useradd {u}: {}", stderr(&out));
        }
        guard
    }

    fn remove(&mut self) {
        for u in [OP, OBS, OUT, SERVICE, WEB] {
            let _ = Command::new("userdel").arg(u).output();
        }
        if self.made_berth_group {
            let _ = Command::new("groupdel").arg("berth").output();
        }
    }
}

impl Drop for Accounts {
    fn drop(&mut self) {
        self.remove();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn config(web: &str) -> String {
    format!(
        r#"
[session.mine]
command = ["bash", "--norc", "--noprofile", "-i"]
user = "{SERVICE}"
create_user = true
access.operators = ["{OP}"]
access.observers = ["{OBS}"]

[session.other]
command = ["bash", "--norc", "--noprofile", "-i"]
user = "{SERVICE}"
create_user = true

[dashboard.ops]
sessions = ["mine", "oth*"]
layout = "even-horizontal"

{web}
"#
    )
}

/// berthd (system mode) with `[web]` on a free loopback port, both
/// sessions at a prompt, berth-web answering.
fn start(extra: &str) -> (Daemon, u16) {
    let port = free_port();
    let d = Daemon::start_system(&config(&format!(
        "[web]\nlisten = \"127.0.0.1:{port}\"\n{extra}"
    )));
    d.wait_running(&["mine", "other"]);
    let up = wait_until(DEADLINE, || {
        let listens = std::net::TcpStream::connect(("127.0.0.1", port)).is_ok();
        listens.then_some(())
    });
    assert!(
        up.is_some(),
        "berth-web does not answer; berthd's log:\n{}",
        d.log()
    );
    (d, port)
}

/// Sends `request` (a whole HTTP/1.1 request) to 127.0.0.1:`port` and
/// reads the answer to the close: (status, headers, body).
fn http(port: u16, request: &str) -> (u16, String, String) {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(DEADLINE)).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, head.to_owned(), body.to_owned())
}

/// One HTTP/1.1 GET on 127.0.0.1:`port`: (status, headers, body).
fn get(port: u16, path: &str, cookie: Option<&str>) -> (u16, String, String) {
    let cookie = cookie.map_or(String::new(), |c| format!("Cookie: {c}\r\n"));
    http(
        port,
        &format!(
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{cookie}Connection: close\r\n\r\n"
        ),
    )
}

/// One HTTP/1.1 POST of a login form on 127.0.0.1:`port` from a page of
/// `origin`, with the code of `link` (`/login?code=...`).
fn post_login_from(port: u16, origin: &str, link: &str) -> (u16, String, String) {
    let code = link.strip_prefix("/login?code=").unwrap_or(link);
    let body = format!("code={code}");
    http(
        port,
        &format!(
            "POST /login HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nOrigin: {origin}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    )
}

/// The login form posted from the dashboard's own page.
fn post_login(port: u16, link: &str) -> (u16, String, String) {
    post_login_from(port, &format!("http://127.0.0.1:{port}"), link)
}

/// `berth web ARGS` as `user`.
fn berth_web_as(user: &str, runtime: &std::path::Path, args: &[&str]) -> Output {
    berth_as(user, runtime, &[&["web"], args].concat())
}

/// Logs `user` in: the cookie (`berth_session=...`) the link sets.
fn login(user: &str, d: &Daemon, port: u16) -> String {
    let out = berth_web_as(user, &d.runtime(), &["login"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let url = String::from_utf8(out.stdout).unwrap();
    let path = url
        .trim()
        .strip_prefix(&format!("http://127.0.0.1:{port}"))
        .unwrap_or_else(|| panic!("{url}"))
        .to_owned();
    let (status, head, _) = post_login(port, &path);
    assert_eq!(status, 303, "{head}");
    cookie_in(&head)
}

/// The cookie (`berth_session=...`) a response's head sets.
fn cookie_in(head: &str) -> String {
    head.lines()
        .find_map(|l| l.strip_prefix("set-cookie: "))
        .unwrap_or_else(|| panic!("no cookie set in\n{head}"))
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

type Ws = tungstenite::WebSocket<tungstenite::stream::MaybeTlsStream<std::net::TcpStream>>;

/// The handshake of a live view of `session`, as the page asks for it.
fn view_request(
    port: u16,
    session: &str,
    cookie: &str,
    input: bool,
) -> tungstenite::handshake::client::Request {
    use tungstenite::client::IntoClientRequest;
    let q = if input { "?input=true" } else { "" };
    let mut req = format!("ws://127.0.0.1:{port}/api/attach/{session}{q}")
        .into_client_request()
        .unwrap();
    req.headers_mut().insert("Cookie", cookie.parse().unwrap());
    req.headers_mut().insert(
        "Origin",
        format!("http://127.0.0.1:{port}").parse().unwrap(),
    );
    req
}

/// A live view of `session` as the page opens it, with `cookie`.
fn view(port: u16, session: &str, cookie: &str, input: bool) -> Ws {
    let (ws, _) =
        tungstenite::connect(view_request(port, session, cookie, input)).expect("the view opens");
    if let tungstenite::stream::MaybeTlsStream::Plain(s) = ws.get_ref() {
        s.set_read_timeout(Some(DEADLINE)).unwrap();
    }
    ws
}

/// The refusal of a view: (HTTP status, body).
fn view_refused(req: tungstenite::handshake::client::Request) -> (u16, String) {
    match tungstenite::connect(req) {
        Err(tungstenite::Error::Http(r)) => (
            r.status().as_u16(),
            String::from_utf8_lossy(r.body().as_deref().unwrap_or_default()).into_owned(),
        ),
        Err(e) => panic!("refused otherwise: {e}"),
        Ok(_) => panic!("the view opened"),
    }
}

/// Reads the view until its output holds `text`; the JSON notices seen.
fn view_until(ws: &mut Ws, text: &str) -> Vec<serde_json::Value> {
    let mut output = Vec::new();
    let mut notices = Vec::new();
    while !String::from_utf8_lossy(&output).contains(text) {
        match ws.read() {
            Ok(tungstenite::Message::Binary(b)) => output.extend_from_slice(&b),
            Ok(tungstenite::Message::Text(t)) => notices.push(serde_json::from_str(&t).unwrap()),
            Ok(_) => {}
            Err(e) => panic!(
                "view ended before {text:?} ({e}); output: {}; notices: {notices:?}",
                String::from_utf8_lossy(&output)
            ),
        }
    }
    notices
}

#[test]
fn a_login_carries_exactly_its_users_rights() {
    if skip_unless_root(
        "a_login_carries_exactly_its_users_rights",
        &["/usr/sbin/useradd", "/usr/sbin/runuser"],
    ) {
        return;
    }
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let _accounts = Accounts::create();
    let (d, port) = start("allow_input = true\n");
    d.berth(&["send", "mine", "echo mine-$((2*21))", "Enter"]);

    // A request naming another host (a rebound DNS name) is refused on
    // every route, /metrics included.
    for path in ["/metrics", "/api/sessions", "/"] {
        let (status, head, body) = http(
            port,
            &format!(
                "GET {path} HTTP/1.1\r\nHost: evil.example:{port}\r\nConnection: close\r\n\r\n"
            ),
        );
        assert_eq!(status, 421, "{path}: {head}");
        assert_eq!(
            body,
            format!("Host \"evil.example:{port}\" is not this dashboard's address: open http://127.0.0.1:{port}/ (berth-web answers only requests for its own loopback address)")
        );
    }

    // berthd started berth-web, and it runs as its own account.
    let web_uid = uid(WEB);
    let web_pid = wait_for("berth-web's process", DEADLINE, || {
        std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
            let stat = std::fs::read_to_string(e.path().join("stat")).ok()?;
            let ppid: u32 = stat
                .rsplit(')')
                .next()?
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()?;
            (stat.contains("(berth-web)") && ppid == d.child.id()).then(|| e.path())
        })
    });
    let status = std::fs::read_to_string(web_pid.join("status")).unwrap();
    let uids = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    assert_eq!(
        uids.split_whitespace().skip(1).collect::<Vec<_>>(),
        vec![web_uid.to_string(); 4],
        "{uids}"
    );
    // Started by hand as root without --user: refused before it listens.
    let runtime = d.runtime().display().to_string();
    let out = Command::new(bin("berth-web"))
        .args(["--listen", "127.0.0.1:1", "--runtime-dir", &runtime])
        .output()
        .unwrap();
    assert_eq!(
        (out.status.code(), stderr(&out).as_str()),
        (
            Some(1),
            "berth-web: refusing to run as root: berthd starts berth-web with --user _berth-web"
        )
    );

    // No cookie, or a made-up one: 401 and no session data.
    for path in ["/api/sessions", "/api/view", "/api/attach/mine"] {
        for cookie in [None, Some("berth_session=00ff")] {
            let (status, head, body) = get(port, path, cookie);
            assert_eq!(status, 401, "{path}: {head}");
            assert_eq!(
                body,
                "not logged in, or the login expired: run berth web login on the host"
            );
            assert!(head.contains("x-frame-options: DENY"), "{head}");
            assert!(
                head.contains("content-security-policy: default-src 'self'; script-src 'self'"),
                "{head}"
            );
        }
    }

    // The observer logs in: the link works once and sets a strict cookie.
    let out = berth_web_as(OBS, &d.runtime(), &["login"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let url = String::from_utf8(out.stdout).unwrap();
    let path = url
        .trim()
        .strip_prefix(&format!("http://127.0.0.1:{port}"))
        .unwrap()
        .to_owned();
    assert!(path.starts_with("/login?code="), "{url}");
    // Following the link changes nothing: its page posts the code back.
    let (status, head, page) = get(port, &path, None);
    assert_eq!(status, 200, "{head}");
    assert!(!head.contains("set-cookie"), "{head}");
    let code = path.strip_prefix("/login?code=").unwrap();
    assert!(
        page.contains(&format!(
            "<input type=\"hidden\" name=\"code\" value=\"{code}\">"
        )),
        "{page}"
    );
    // A post from another site's page is refused, and leaves the code good.
    let (status, head, _) = post_login_from(port, "https://evil.example", &path);
    assert_eq!(status, 403, "{head}");
    let (status, head, _) = post_login(port, &path);
    assert_eq!(status, 303, "{head}");
    let set = head
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: "))
        .unwrap();
    assert!(
        set.ends_with("; HttpOnly; SameSite=Strict; Path=/; Max-Age=43200"),
        "{set}"
    );
    let obs = cookie_in(&head);
    let (status, _, body) = post_login(port, &path);
    assert_eq!(
        (status, body.as_str()),
        (
            401,
            "this login link was used already or has expired: run berth web login again"
        )
    );

    // Only the sessions the observer may read, in lists and dashboards.
    let names = |body: &str, key: Option<&str>| -> Vec<String> {
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        let list = key.map_or(&v, |k| &v[k]);
        list.as_array()
            .unwrap()
            .iter()
            .map(|s| s["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let (status, _, body) = get(port, "/api/sessions", Some(&obs));
    assert_eq!(status, 200, "{body}");
    assert_eq!(names(&body, None), ["mine"], "{body}");
    // A page refreshes its list every 2 s: berth-web follows each session
    // for the person over one connection instead of asking every host at
    // every refresh, so refreshes write no audit lines; the host that
    // refused the observer was asked once, not once per refresh.
    let web_audit = |session: &str, what: &str| {
        d.host_log(session)
            .lines()
            .filter(|l| {
                l.contains("berth::audit")
                    && l.contains(&format!("user={OBS} "))
                    && l.contains("via=web")
                    && l.contains(what)
            })
            .count()
    };
    for _ in 0..5 {
        let (status, _, body) = get(port, "/api/sessions", Some(&obs));
        assert_eq!((status, names(&body, None)), (200, vec!["mine".into()]));
    }
    wait_for("the audit of the refusal", DEADLINE, || {
        (web_audit("other", "connection refused") >= 1).then_some(())
    });
    assert_eq!(web_audit("other", "connection refused"), 1);
    assert_eq!(web_audit("mine", "connection"), 0);
    let (_, _, body) = get(port, "/api/view?dashboard=ops", Some(&obs));
    assert_eq!(names(&body, Some("tiles")), ["mine"], "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (
            &v["layout"],
            &v["tiles"][0]["access"],
            &v["tiles"][0]["input"]
        ),
        (&"even-horizontal".into(), &"observer".into(), &false.into())
    );
    assert_eq!(
        get(port, "/api/view?dashboard=nope", Some(&obs)).2,
        "no dashboard \"nope\"; declared: ops"
    );

    // The observer's live view shows the output and refuses typing.
    let mut ws = view(port, "mine", &obs, true);
    let notices = view_until(&mut ws, "mine-42");
    assert_eq!(notices[0]["type"], "attached");
    assert_eq!(notices[0]["read_only"], true);
    ws.send(tungstenite::Message::binary(
        b"echo hacked-$((1+1))\r".to_vec(),
    ))
    .unwrap();
    let refusal = "input refused: this view of mine is read-only (only its operators may type, from a view opened for typing)";
    let mut saw = Vec::new();
    let close = loop {
        match ws.read() {
            Ok(tungstenite::Message::Text(t)) => saw.push(t.to_string()),
            Ok(tungstenite::Message::Close(c)) => break c,
            Ok(_) => {}
            Err(e) => panic!("no close frame: {e}; saw {saw:?}"),
        }
    };
    let close = close.unwrap();
    assert_eq!(
        (u16::from(close.code), close.reason.as_str()),
        (1008, refusal)
    );
    assert!(saw.iter().any(|t| t.contains(refusal)), "{saw:?}");
    // Bad names and layouts: one line saying what is wrong; a page of
    // another site cannot open a view with the cookie.
    let (status, _, body) = get(port, "/api/attach/..%2Fcontrol", Some(&obs));
    assert_eq!(
        (status, body.as_str()),
        (
            400,
            "bad session name \"../control\": use 1 to 64 of A-Z a-z 0-9 _ . -, starting with a letter or digit"
        )
    );
    assert_eq!(
        get(port, "/api/view?layout=grid", Some(&obs)).2,
        "bad layout \"grid\": expected auto, tiled, even-horizontal, even-vertical, main-vertical, main-horizontal"
    );
    let mut foreign = view_request(port, "mine", &obs, false);
    foreign
        .headers_mut()
        .insert("Origin", "https://evil.example".parse().unwrap());
    assert_eq!(
        view_refused(foreign),
        (
            403,
            "the page asking is not berth's own (Origin differs from Host)".into()
        )
    );
    // One person holds at most 16 live views (all web users share the web
    // account's connections to a host).
    let views: Vec<Ws> = (0..16)
        .map(|_| {
            let mut w = view(port, "mine", &obs, false);
            view_until(&mut w, "mine-42");
            w
        })
        .collect();
    assert_eq!(
        view_refused(view_request(port, "mine", &obs, false)),
        (
            429,
            format!(
                "too many connections from uid {}: at most 16 at once; close some and try again",
                uid(OBS)
            )
        )
    );
    drop(views);
    // Someone listed nowhere sees nothing and opens nothing.
    let out_cookie = login(OUT, &d, port);
    assert_eq!(get(port, "/api/sessions", Some(&out_cookie)).2, "[]");
    let mut ws = view(port, "mine", &out_cookie, false);
    let m = ws.read().unwrap();
    assert!(m.to_string().contains("permission denied"), "{m}");

    // The operator types from a view opened for typing; a plain view of
    // theirs stays read-only.
    let op = login(OP, &d, port);
    let mut ws = view(port, "mine", &op, true);
    let notices = view_until(&mut ws, "mine-42");
    assert_eq!(notices[0]["read_only"], false);
    ws.send(tungstenite::Message::binary(
        b"echo typed-$((6*7))\r".to_vec(),
    ))
    .unwrap();
    view_until(&mut ws, "typed-42");
    let mut plain = view(port, "mine", &op, false);
    assert_eq!(view_until(&mut plain, "typed-42")[0]["read_only"], true);
    // The observer's keys never arrived.
    let screen = String::from_utf8(d.berth(&["capture", "mine"]).stdout).unwrap();
    assert!(!screen.contains("hacked-2"), "{screen}");

    // The hosts audited the web's views as the person, with the mode the
    // host gave and the browser's address (written when a view closes).
    drop((ws, plain));
    for (who, mode) in [(OBS, "read-only"), (OP, "read-write")] {
        wait_for(&format!("the audit of {who}'s view"), DEADLINE, || {
            d.host_log("mine")
                .lines()
                .any(|l| {
                    l.contains("berth::audit")
                        && l.contains(&format!("user={who}"))
                        && l.contains(&format!("mode={mode}"))
                        && l.contains("via=web from 127.0.0.1:")
                })
                .then_some(())
        });
    }

    // /metrics, from this host, anonymous: the counts by state, and no
    // session's name, state or exit to someone who may not read it.
    let (status, _, body) = get(port, "/metrics", None);
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("berth_sessions{state=\"running\"} 2"),
        "{body}"
    );
    assert!(!body.contains("session="), "{body}");
    // The operator of `mine` logged in: `mine`'s series, not `other`'s.
    let (status, _, body) = get(port, "/metrics", Some(&op));
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("session=\"mine\""), "{body}");
    assert!(!body.contains("session=\"other\""), "{body}");
    let scrape = prometheus_parse::Scrape::parse(body.lines().map(|l| Ok(l.to_owned()))).unwrap();
    let sample = |name: &str, label: (&str, &str)| {
        scrape
            .samples
            .iter()
            .find(|s| s.metric == name && s.labels.get(label.0) == Some(label.1))
            .map(|s| match s.value {
                prometheus_parse::Value::Counter(v)
                | prometheus_parse::Value::Gauge(v)
                | prometheus_parse::Value::Untyped(v) => v,
                _ => f64::NAN,
            })
            .unwrap_or_else(|| panic!("no {name}{label:?} in\n{body}"))
    };
    assert_eq!(sample("berth_sessions", ("state", "running")), 2.0);
    assert_eq!(
        sample("berth_session_restarts_total", ("session", "mine")),
        0.0
    );
    assert!(sample("berth_session_output_bytes_total", ("session", "mine")) > 0.0);
    assert!(sample("berth_session_host_memory_bytes", ("session", "mine")) > 1e6);

    // Root gets no link; only root ends everyone's logins.
    let out = berth_web_as("root", &d.runtime(), &["login"]);
    assert_eq!(
        stderr(&out),
        "berth: the web dashboard never acts as root: run berth web login as yourself"
    );
    let out = berth_web_as(OBS, &d.runtime(), &["logout", "--all"]);
    assert_eq!(
        stderr(&out),
        "berth: only root may end everyone's logins; berth web logout ends yours"
    );
    // Logging out ends the observer's cookie, not the others'.
    let out = berth_web_as(OBS, &d.runtime(), &["logout"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "ended 1 login(s)\n");
    assert_eq!(get(port, "/api/sessions", Some(&obs)).0, 401);
    assert_eq!(get(port, "/api/sessions", Some(&out_cookie)).0, 200);
    let out = berth_web_as("root", &d.runtime(), &["logout", "--all"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "ended 2 login(s)\n");
    assert_eq!(get(port, "/api/sessions", Some(&out_cookie)).0, 401);
    assert_eq!(get(port, "/api/sessions", Some(&op)).0, 401);

    // [web] removed: the reload stops berth-web.
    std::fs::write(d.config(), config("")).unwrap();
    let out = d.berth(&["reload"]);
    assert!(out.status.success(), "{}", stderr(&out));
    wait_for("berth-web to stop listening", DEADLINE, || {
        std::net::TcpStream::connect(("127.0.0.1", port))
            .is_err()
            .then_some(())
    });
    // The observer's follow of `mine` was audited when it ended, as a
    // watch; no refresh asked for a status of its own.
    wait_for("the audit of the observer's follow", DEADLINE, || {
        (web_audit("mine", "requests=watch") >= 1).then_some(())
    });
    assert_eq!(web_audit("mine", "requests=status input_bytes"), 0);
}

/// `curl ARGS`: (HTTP status, body).
fn curl(args: &[&str]) -> (u16, String) {
    let out = Command::new("curl")
        .args([
            "--silent",
            "--show-error",
            "--max-time",
            "20",
            "--write-out",
            "\n%{http_code}",
        ])
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "curl {args:?}: {}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    let (body, code) = text.rsplit_once('\n').unwrap();
    (code.parse().unwrap(), body.to_owned())
}

#[test]
fn https_a_metrics_token_and_input_off() {
    if skip_unless_root(
        "https_a_metrics_token_and_input_off",
        &[
            "/usr/sbin/useradd",
            "/usr/sbin/runuser",
            "/usr/bin/curl",
            "/usr/bin/openssl",
        ],
    ) {
        return;
    }
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let _accounts = Accounts::create();
    // A certificate and key only root can read, and a metrics token.
    let keys = tempfile::tempdir().unwrap();
    let (cert, key, token) = (
        keys.path().join("cert.pem"),
        keys.path().join("key.pem"),
        keys.path().join("metrics.token"),
    );
    let out = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
        ])
        .args(["-nodes", "-days", "1", "-subj", "/CN=berth-test"])
        .args(["-addext", "subjectAltName=IP:127.0.0.1"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(out.status.success(), "openssl: {}", stderr(&out));
    std::fs::write(&token, "0123456789abcdef0123456789abcdef\n").unwrap();
    let (d, port) = start(&format!(
        "tls_cert = \"{}\"\ntls_key = \"{}\"\nmetrics = \"token\"\nmetrics_token_file = \"{}\"\ntoken_ttl = \"1m\"\n",
        cert.display(),
        key.display(),
        token.display()
    ));
    let base = format!("https://127.0.0.1:{port}");
    let cacert = cert.display().to_string();
    // HTTPS, checked against the certificate; still 401 without a login.
    let (status, body) = curl(&["--cacert", &cacert, &format!("{base}/api/sessions")]);
    assert_eq!(
        (status, body.as_str()),
        (
            401,
            "not logged in, or the login expired: run berth web login on the host"
        )
    );
    // The login link is an https one.
    let out = berth_web_as(OP, &d.runtime(), &["login"]);
    let url = String::from_utf8(out.stdout).unwrap();
    assert!(url.starts_with(&format!("{base}/login?code=")), "{url}");
    // /metrics wants the token, even from this host.
    let metrics = format!("{base}/metrics");
    assert_eq!(
        curl(&["--cacert", &cacert, &metrics]),
        (
            401,
            "/metrics needs the bearer token of [web] metrics_token_file".into()
        )
    );
    let wrong = "Authorization: Bearer 0123456789abcdef0123456789abcdeX";
    assert_eq!(curl(&["--cacert", &cacert, "-H", wrong, &metrics]).0, 401);
    let right = "Authorization: Bearer 0123456789abcdef0123456789abcdef";
    let (status, body) = curl(&["--cacert", &cacert, "-H", right, &metrics]);
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("berth_sessions{state=\"running\"} 2"),
        "{body}"
    );

    // The login works over HTTPS; allow_input is off, so the page is told
    // not to offer typing even to an operator.
    let path = url.trim().strip_prefix(&base).unwrap();
    let code = path.strip_prefix("/login?code=").unwrap();
    let (_, head) = curl(&[
        "--cacert",
        &cacert,
        "--include",
        "--data",
        &format!("code={code}"),
        &format!("{base}/login"),
    ]);
    let logged_in = std::time::Instant::now();
    assert!(
        head.lines().any(|l| l.starts_with("set-cookie: ")
            && l.ends_with("; HttpOnly; SameSite=Strict; Path=/; Max-Age=60; Secure")),
        "{head}"
    );
    let cookie = cookie_in(&head);
    let sessions = || {
        curl(&[
            "--cacert",
            &cacert,
            "-H",
            &format!("Cookie: {cookie}"),
            &format!("{base}/api/sessions"),
        ])
    };
    let (status, body) = sessions();
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (&v[0]["access"], &v[0]["input"]),
        (&"operator".into(), &false.into())
    );

    // token_ttl = "1m": the login is refused once the minute has passed,
    // and not before.
    let refused = wait_until(Duration::from_secs(90), || {
        // One request a second while the minute runs.
        std::thread::sleep(Duration::from_secs(1));
        let (status, body) = sessions();
        (status == 401).then_some(body)
    });
    let lasted = logged_in.elapsed();
    assert_eq!(
        refused.as_deref(),
        Some("not logged in, or the login expired: run berth web login on the host")
    );
    assert!(
        lasted >= Duration::from_secs(60),
        "refused after {lasted:?}"
    );
}

#[test]
fn a_real_browser_shows_a_session_live() {
    if skip_unless_root(
        "a_real_browser_shows_a_session_live",
        &["/usr/sbin/useradd", "/usr/sbin/runuser", browser::CHROMIUM],
    ) {
        return;
    }
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let _accounts = Accounts::create();
    let (d, port) = start("");
    d.berth(&["send", "mine", "echo mine-$((2*21))", "Enter"]);
    d.berth(&["send", "other", "echo other-$((2*22))", "Enter"]);
    let out = berth_web_as(OP, &d.runtime(), &["login"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let url = String::from_utf8(out.stdout).unwrap();

    // The page, opened with the fresh link, tiles the operator's session
    // (not the other one) and shows what it printed.
    let mut b = browser::Browser::open(url.trim());
    let tile_text = |b: &mut browser::Browser, name: &str| {
        b.eval(&format!(
            "(document.querySelector('.tile[data-session=\"{name}\"] .xterm-rows') || {{}}).innerText || ''"
        ))
        .as_str()
        .unwrap_or("")
        .to_owned()
    };
    wait_for("the tile to show mine-42", DEADLINE, || {
        tile_text(&mut b, "mine").contains("mine-42").then_some(())
    });
    let rows = b.eval("document.querySelector('#sessions tbody').innerText");
    assert!(rows.as_str().unwrap().contains("mine\trunning"), "{rows}");
    assert_eq!(b.eval("document.querySelectorAll('.tile').length"), 1);
    assert_eq!(tile_text(&mut b, "other"), "");
    // Live: what `berth send` makes the program print appears.
    d.berth(&["send", "mine", "echo live-$((3*5))", "Enter"]);
    wait_for("the tile to show live-15", DEADLINE, || {
        tile_text(&mut b, "mine").contains("live-15").then_some(())
    });
    // Click to enlarge: a view of its own, read-only (allow_input is off).
    b.eval("document.querySelector('.tile[data-session=\"mine\"]').click()");
    wait_for("the enlarged view", DEADLINE, || {
        let t =
            b.eval("(document.querySelector('#enlarged-term .xterm-rows') || {}).innerText || ''");
        t.as_str()?.contains("live-15").then_some(())
    });
    assert_eq!(b.eval("document.getElementById('type').hidden"), true);
    if let Some(path) = std::env::var_os("BERTH_SCREENSHOT") {
        b.eval("document.getElementById('close').click()");
        b.screenshot(std::path::Path::new(&path));
    }

    // allow_input is off: even the operator's view opened for typing is
    // read-only, and typing into it is refused with the reason.
    let cookie = login(OP, &d, port);
    let mut ws = view(port, "mine", &cookie, true);
    assert_eq!(view_until(&mut ws, "live-15")[0]["read_only"], true);
    ws.send(tungstenite::Message::binary(b"echo nope\r".to_vec()))
        .unwrap();
    let close = loop {
        if let tungstenite::Message::Close(c) = ws.read().unwrap() {
            break c.unwrap();
        }
    };
    assert_eq!(
        close.reason.as_str(),
        "input refused: typing from the browser is off ([web] allow_input = false)"
    );
    drop(b);

    // allow_input turned on by a reload: berthd replaces berth-web (its
    // logins end with it), and the operator types from the page.
    std::fs::write(
        d.config(),
        config(&format!(
            "[web]\nlisten = \"127.0.0.1:{port}\"\nallow_input = true\n"
        )),
    )
    .unwrap();
    let out = d.berth(&["reload"]);
    assert!(out.status.success(), "{}", stderr(&out));
    wait_for(
        "the old login to end with the old berth-web",
        DEADLINE,
        || {
            let answered = std::net::TcpStream::connect(("127.0.0.1", port)).is_ok();
            (answered && get(port, "/api/sessions", Some(&cookie)).0 == 401).then_some(())
        },
    );
    let out = berth_web_as(OP, &d.runtime(), &["login"]);
    let mut b = browser::Browser::open(String::from_utf8(out.stdout).unwrap().trim());
    wait_for("the tile", DEADLINE, || {
        tile_text(&mut b, "mine").contains("live-15").then_some(())
    });
    b.eval("document.querySelector('.tile[data-session=\"mine\"]').click()");
    wait_for("the type button", DEADLINE, || {
        (b.eval("document.getElementById('type').hidden") == false).then_some(())
    });
    b.eval("document.getElementById('type').click()");
    wait_for("the typing view", DEADLINE, || {
        let title = b.eval("document.getElementById('enlarged-title').textContent");
        let text =
            b.eval("(document.querySelector('#enlarged-term .xterm-rows') || {}).innerText || ''");
        (title == "mine (typing)" && text.as_str()?.contains("live-15")).then_some(())
    });
    b.eval("document.querySelector('#enlarged-term textarea').focus()");
    b.type_text("echo typed-$((7*6))\r");
    wait_for(
        "the keys typed in the browser to reach the program",
        DEADLINE,
        || {
            let screen = String::from_utf8(d.berth(&["capture", "mine"]).stdout).ok()?;
            screen.contains("\ntyped-42").then_some(())
        },
    );
}

#[test]
fn a_unix_socket_for_a_proxy_in_front() {
    if skip_unless_root(
        "a_unix_socket_for_a_proxy_in_front",
        &["/usr/sbin/useradd", "/usr/sbin/runuser", "/usr/bin/curl"],
    ) {
        return;
    }
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let _accounts = Accounts::create();
    let dir = tempfile::Builder::new()
        .prefix("berth-web-proxy-")
        .tempdir()
        .unwrap();
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let socket = dir.path().join("web.sock");
    let d = Daemon::start_system(&config(&format!(
        "[web]\nlisten = \"{}\"\n",
        socket.display()
    )));
    d.wait_running(&["mine", "other"]);
    let path = socket.display().to_string();
    // What a proxy running as another account (here: OUT) gets through it.
    let through = |user: &str, url: &str| -> (u16, String) {
        let out = Command::new("runuser")
            .args(["-u", user, "--", "curl", "--silent", "--max-time", "20"])
            .args(["--write-out", "\n%{http_code}", "--unix-socket", &path, url])
            .output()
            .unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
        (code.parse().unwrap_or(0), body.to_owned())
    };
    wait_for("berth-web on its Unix socket", DEADLINE, || {
        (through(OUT, "http://berth/api/sessions").0 == 401).then_some(())
    });
    // A login link is a path: the proxy's address goes in front.
    let out = berth_web_as(OP, &d.runtime(), &["login"]);
    let link = String::from_utf8(out.stdout).unwrap();
    assert!(link.starts_with("/login?code="), "{link}");
    // /metrics in loopback mode: whoever reaches the socket, as the proxy
    // decides.
    let (status, body) = through(OUT, "http://berth/metrics");
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("berth_sessions{state=\"running\"} 2"),
        "{body}"
    );
}

/// The pid of the berth-web berthd `d` started, once it runs.
fn web_pid_of(d: &Daemon) -> u32 {
    wait_for("berth-web's process", DEADLINE, || {
        std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
            let stat = std::fs::read_to_string(e.path().join("stat")).ok()?;
            let ppid: u32 = stat
                .rsplit(')')
                .next()?
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()?;
            let pid: u32 = e.file_name().to_str()?.parse().ok()?;
            (stat.contains("(berth-web)") && ppid == d.child.id()).then_some(pid)
        })
    })
}

#[test]
fn idle_clients_and_a_hung_dashboard_do_not_keep_it_down() {
    if skip_unless_root(
        "idle_clients_and_a_hung_dashboard_do_not_keep_it_down",
        &["/usr/sbin/useradd", "/usr/sbin/runuser"],
    ) {
        return;
    }
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let _accounts = Accounts::create();
    let (d, port) = start("");
    // Many clients that connect and say nothing, or begin a header and
    // never end it: the page still answers, and each is closed in time.
    let mut idle: Vec<std::net::TcpStream> = (0..300)
        .map(|_| std::net::TcpStream::connect(("127.0.0.1", port)).unwrap())
        .collect();
    for s in idle.iter_mut().take(100) {
        s.write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1").unwrap();
    }
    assert_eq!(
        get(port, "/api/sessions", None).0,
        401,
        "the page answers others"
    );
    let started = std::time::Instant::now();
    for s in &mut idle {
        s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        let mut buf = [0u8; 64];
        // Closed by the server: EOF (a 408-less close) or a reset.
        assert!(matches!(s.read(&mut buf), Ok(0) | Err(_)), "still open");
    }
    assert!(
        started.elapsed() < Duration::from_secs(45),
        "{:?}",
        started.elapsed()
    );

    // A berth-web that stops answering (stopped here) is replaced.
    let hung = web_pid_of(&d);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(hung as i32),
        nix::sys::signal::Signal::SIGSTOP,
    )
    .unwrap();
    let replaced = wait_until(Duration::from_secs(60), || {
        let now = web_pid_of(&d);
        // (The new one may not listen yet: `get` wants a listener.)
        let listens = std::net::TcpStream::connect(("127.0.0.1", port)).is_ok();
        (now != hung && listens && get(port, "/api/sessions", None).0 == 401).then_some(now)
    });
    assert!(
        replaced.is_some(),
        "berth-web was not restarted; berthd's log:\n{}",
        d.log()
    );
    assert!(
        d.log()
            .contains("berth-web stopped answering (no heartbeat for 20s); restarting it"),
        "{}",
        d.log()
    );
}

#[test]
fn making_the_web_account_slowly_holds_up_nothing_else_in_berthd() {
    if skip_unless_root(
        "making_the_web_account_slowly_holds_up_nothing_else_in_berthd",
        &["/usr/sbin/useradd"],
    ) {
        return;
    }
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    // Making (or checking) the web account hangs until the test says, as
    // on a hung account database.
    let gate = tempfile::tempdir().unwrap();
    let gate = gate.path().join("go");
    let hook = format!(
        "{}={}",
        berth_config::web::TEST_HOLD_ACCOUNT_ENV,
        gate.display()
    );
    let d = Daemon::start_system_via("", &["env", &hook]);
    let port = free_port();
    std::fs::write(
        d.config(),
        format!("[web]\nlisten = \"127.0.0.1:{port}\"\n"),
    )
    .unwrap();
    let runtime = d.runtime();
    let reload = std::thread::spawn(move || berth_in(&runtime, &["reload"]));
    wait_for("the reload to reach the web account", DEADLINE, || {
        d.log()
            .contains("test hook: the web account waits for")
            .then_some(())
    });
    // berthd itself answers meanwhile (the CLI would fall back to the
    // sockets, saying so on stderr, if it did not).
    let ls = d.berth(&["ls"]);
    assert!(ls.status.success(), "{}", stderr(&ls));
    assert_eq!(stderr(&ls), "", "berthd answered ls");
    assert!(!reload.is_finished());
    std::fs::write(&gate, "").unwrap();
    let out = reload.join().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    wait_for("berth-web to answer", DEADLINE, || {
        std::net::TcpStream::connect(("127.0.0.1", port))
            .is_ok()
            .then_some(())
    });
}

/// Issue 32, item 9: berthd in user mode serves the dashboard too, as its
/// own user and for that user alone.
#[test]
fn in_user_mode_the_dashboard_is_its_users_alone() {
    if skip_unless_root(
        "in_user_mode_the_dashboard_is_its_users_alone",
        &["/usr/sbin/useradd", "/usr/sbin/runuser"],
    ) {
        return;
    }
    const OWNER: &str = "bt4-solo";
    const OTHER: &str = "bt4-else";
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let _accounts = Throwaway::create(&[(OWNER, &[]), (OTHER, &[])], &[]);
    let _ = Command::new("userdel").arg(WEB).output();
    let port = free_port();
    let d = Daemon::start_as_user(
        &format!(
            "[session.work]\ncommand = [\"bash\", \"--norc\", \"--noprofile\", \"-i\"]\n\n[web]\nlisten = \"127.0.0.1:{port}\"\nallow_input = true\n"
        ),
        OWNER,
    );
    d.wait_running(&["work"]);
    wait_for("berth-web to listen", DEADLINE, || {
        std::net::TcpStream::connect(("127.0.0.1", port))
            .is_ok()
            .then_some(())
    });
    // berth-web runs as berthd's user; no account of its own was made.
    let web_uids: Vec<u32> = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|e| {
            std::fs::read(e.path().join("cmdline"))
                .is_ok_and(|c| c.split(|b| *b == 0).any(|a| a.ends_with(b"/berth-web")))
        })
        .filter_map(|e| {
            let status = std::fs::read_to_string(e.path().join("status")).ok()?;
            let line = status.lines().find(|l| l.starts_with("Uid:"))?;
            line.split_whitespace().nth(1)?.parse().ok()
        })
        .collect();
    assert_eq!(web_uids, [uid(OWNER)], "berth-web's uid");
    assert!(nix::unistd::User::from_name(WEB).unwrap().is_none());

    // The user logs in and sees their session, as its operator.
    let cookie = login(OWNER, &d, port);
    let (status, _, body) = get(port, "/api/sessions", Some(&cookie));
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (
            &v[0]["name"],
            &v[0]["access"],
            &v[0]["input"],
            v.as_array().unwrap().len()
        ),
        (&"work".into(), &"operator".into(), &true.into(), 1),
        "{body}"
    );
    // A live view shows the output, and typing from it reaches the shell.
    let out = d.berth(&["send", "work", "echo solo-$((6*7))", "Enter"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let mut ws = view(port, "work", &cookie, true);
    let notices = view_until(&mut ws, "solo-42");
    assert_eq!(notices[0]["read_only"], false, "{notices:?}");
    ws.send(tungstenite::Message::binary(
        b"echo typed-$((2+3))\r".to_vec(),
    ))
    .unwrap();
    view_until(&mut ws, "typed-5");
    drop(ws);

    // Nobody else logs in. root's CLI does not trust the user's directory;
    // asked over a raw socket, berthd refuses root all the same.
    let dir = d.dir.path().display().to_string();
    let root = berth_in(&d.runtime(), &["web", "login"]);
    assert_eq!(
        (root.status.code(), stderr(&root).trim().replace(&dir, "DIR")),
        (Some(1), format!("berth: refusing DIR/run: DIR is owned by {OWNER} (uid {}), not by root; someone else may have put it there: remove it, or set XDG_RUNTIME_DIR (or --runtime-dir) to a directory of your own", uid(OWNER)))
    );
    let control =
        std::os::unix::net::UnixStream::connect(d.runtime().join("control.sock")).unwrap();
    control.set_read_timeout(Some(DEADLINE)).unwrap();
    let mut raw = berth_proto::sync::Client::handshake(control, "test").unwrap();
    let answer = raw.call(&berth_proto::Request::Daemon(
        berth_proto::DaemonRequest::WebLogin,
    ));
    assert_eq!(
        format!("{answer:?}"),
        "Err(Refused { code: Denied, message: \"the web dashboard never acts as root: run berth web login as yourself\" })"
    );
    // Another user cannot even reach the user's sockets.
    let other = berth_web_as(OTHER, &d.runtime(), &["login"]);
    assert_eq!(
        (other.status.code(), stderr(&other).trim().replace(&dir, "DIR")),
        (Some(1), format!("berth: refusing DIR/run: DIR is owned by {OWNER} (uid {}), not by you or root; someone else may have put it there: remove it, or set XDG_RUNTIME_DIR (or --runtime-dir) to a directory of your own", uid(OWNER)))
    );
}

#[test]
fn a_recording_replays_in_the_browser_with_its_commands_as_chapters() {
    if skip_unless_root(
        "a_recording_replays_in_the_browser_with_its_commands_as_chapters",
        &["/usr/sbin/useradd", "/usr/sbin/runuser", browser::CHROMIUM],
    ) {
        return;
    }
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let _accounts = Accounts::create();
    let port = free_port();
    let d = Daemon::start_system(&format!(
        r#"
[session.mine]
command = ["bash", "-i"]
user = "{SERVICE}"
create_user = true
record = true
access.observers = ["{OBS}"]

[web]
listen = "127.0.0.1:{port}"
"#
    ));
    d.wait_running(&["mine"]);
    wait_for("berth-web to answer", DEADLINE, || {
        std::net::TcpStream::connect(("127.0.0.1", port))
            .is_ok()
            .then_some(())
    });
    for command in ["echo alpha-$((1+1))", "echo beta-$((1+2))", "false"] {
        let out = d.berth(&["run", "mine", "-t", "20", "--", command]);
        assert!(matches!(out.status.code(), Some(0 | 1)), "{}", stderr(&out));
    }

    // The route answers as the host's lists do: an observer gets the
    // recording, someone in neither list the host's refusal, no cookie 401.
    let (status, _, cast) = get(port, "/api/recording/mine", Some(&login(OBS, &d, port)));
    assert_eq!(status, 200, "{cast}");
    // Sent as it comes (chunked): the chunks hold the recording.
    assert!(cast.contains("{\"version\":3,"), "{cast}");
    assert!(cast.contains("\"$ echo beta-$((1+2))\""), "{cast}");
    let (status, _, body) = get(port, "/api/recording/mine", Some(&login(OUT, &d, port)));
    assert_eq!(status, 403, "{body}");
    let out_uid = uid(OUT);
    assert!(
        body.contains(&format!(
            "{OUT} (uid {out_uid}) is not an operator or observer of session mine"
        )),
        "{body}"
    );
    assert_eq!(get(port, "/api/recording/mine", None).0, 401);

    // The replay view: the commands as chapters; jumping to one shows the
    // screen as it was when that command started.
    let out = berth_web_as(OBS, &d.runtime(), &["login"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let mut b = browser::Browser::open(String::from_utf8(out.stdout).unwrap().trim());
    wait_for("the tile", DEADLINE, || {
        (b.eval("document.querySelectorAll('.tile').length") == 1).then_some(())
    });
    b.eval("document.querySelector('.tile[data-session=\"mine\"]').click()");
    b.eval("document.getElementById('replay-open').click()");
    let chapters = wait_for("the chapters", DEADLINE, || {
        let list = b.eval(
            "Array.from(document.querySelectorAll('#chapters .chapter')).map((c) => c.textContent).join('\\n')",
        );
        let list = list.as_str()?.to_owned();
        (list.lines().count() == 3).then_some(list)
    });
    assert_eq!(
        chapters,
        "$ echo alpha-$((1+1))  \u{2192} 0\n$ echo beta-$((1+2))  \u{2192} 0\n$ false  \u{2192} 1"
    );
    let screen = |b: &mut browser::Browser| {
        b.eval("(document.querySelector('#replay-player .ap-term') || document.querySelector('#replay-player') || {}).innerText || ''")
            .as_str()
            .unwrap_or("")
            .to_owned()
    };
    b.eval("document.querySelectorAll('#chapters .chapter')[1].click()");
    let shown = wait_for("the screen at the second command", DEADLINE, || {
        let s = screen(&mut b);
        s.contains("echo beta-$((1+2))").then_some(s)
    });
    assert!(shown.contains("\nalpha-2"), "{shown}");
    assert!(!shown.contains("\nbeta-3"), "not yet printed then: {shown}");
    b.eval("document.querySelectorAll('#chapters .chapter')[2].click()");
    wait_for("the screen at the third command", DEADLINE, || {
        screen(&mut b).contains("\nbeta-3").then_some(())
    });
    if let Some(path) = std::env::var_os("BERTH_SCREENSHOT_REPLAY") {
        b.screenshot(std::path::Path::new(&path));
    }
}
