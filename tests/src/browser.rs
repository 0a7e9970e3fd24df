//! A real headless Chromium, driven over the DevTools protocol (a
//! WebSocket): open a page, read its DOM, take a screenshot.

use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

use crate::wait_for;

/// Where Debian's chromium package puts it.
pub const CHROMIUM: &str = "/usr/bin/chromium";

pub struct Browser {
    child: Child,
    ws: WebSocket<MaybeTlsStream<TcpStream>>,
    next_id: u64,
    /// The page's DevTools session.
    session: String,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts Chromium with a fresh profile and opens `url` in a tab.
    pub fn open(url: &str) -> Self {
        let profile = tempfile::tempdir().unwrap();
        let child = Command::new(CHROMIUM)
            .args([
                "--headless",
                "--no-sandbox", // as root, in CI
                "--disable-gpu",
                "--no-first-run",
                "--window-size=1280,800",
                "--remote-debugging-port=0",
                // No connections of its own: CI's network is closed, and
                // the test must see only the page's.
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-quic",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            // Its singleton socket directory goes with the profile.
            .env("TMPDIR", profile.path())
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromium");
        // Chromium writes its port and browser path here once it listens.
        let port_file = profile.path().join("DevToolsActivePort");
        let address = wait_for("chromium's DevTools port", Duration::from_secs(30), || {
            let text = std::fs::read_to_string(&port_file).ok()?;
            let mut lines = text.lines();
            let (port, path) = (lines.next()?, lines.next()?);
            Some(format!("ws://127.0.0.1:{port}{path}"))
        });
        let (ws, _) = tungstenite::connect(&address).expect("connect to DevTools");
        let mut b = Browser {
            child,
            ws,
            next_id: 0,
            session: String::new(),
            _profile: profile,
        };
        let target = b.call(None, "Target.createTarget", serde_json::json!({"url": url}));
        let target = target["targetId"].as_str().unwrap().to_owned();
        let attached = b.call(
            None,
            "Target.attachToTarget",
            serde_json::json!({"targetId": target, "flatten": true}),
        );
        b.session = attached["sessionId"].as_str().unwrap().to_owned();
        b
    }

    /// One DevTools command; its result (events before it are skipped).
    fn call(
        &mut self,
        session: Option<&str>,
        method: &str,
        params: serde_json::Value,
    ) -> serde_json::Value {
        self.try_call(session, method, params)
            .unwrap_or_else(|error| panic!("{method}: {error}"))
    }

    /// One DevTools command; its result, or the error it answered.
    fn try_call(
        &mut self,
        session: Option<&str>,
        method: &str,
        params: serde_json::Value,
    ) -> Result<serde_json::Value, serde_json::Value> {
        self.next_id += 1;
        let id = self.next_id;
        let mut msg = serde_json::json!({"id": id, "method": method, "params": params});
        if let Some(s) = session {
            msg["sessionId"] = s.into();
        }
        self.ws.send(Message::text(msg.to_string())).unwrap();
        loop {
            let Message::Text(text) = self.ws.read().expect("DevTools answers") else {
                continue;
            };
            let v: serde_json::Value = serde_json::from_str(&text).unwrap();
            if v["id"] == id {
                if !v["error"].is_null() {
                    return Err(v);
                }
                return Ok(v["result"].clone());
            }
        }
    }

    /// Evaluates `expression` in the page; its value. While the page is
    /// being replaced (the login page's redirect), asked again in the
    /// next one.
    pub fn eval(&mut self, expression: &str) -> serde_json::Value {
        let session = self.session.clone();
        let params = serde_json::json!({"expression": expression, "returnByValue": true});
        let r = wait_for(
            "the page to take the script",
            Duration::from_secs(20),
            || match self.try_call(Some(&session), "Runtime.evaluate", params.clone()) {
                Ok(r) => Some(r),
                Err(e) if navigating(&e) => None,
                Err(e) => panic!("Runtime.evaluate: {e}"),
            },
        );
        r["result"]["value"].clone()
    }

    /// Types `text` as keystrokes into the focused element (Enter for
    /// `\r`), as a person at the keyboard would.
    pub fn type_text(&mut self, text: &str) {
        let session = self.session.clone();
        for c in text.chars() {
            let key = match c {
                '\r' => {
                    serde_json::json!({"key": "Enter", "code": "Enter", "windowsVirtualKeyCode": 13, "text": "\r"})
                }
                c => serde_json::json!({"key": c.to_string(), "text": c.to_string()}),
            };
            for kind in ["keyDown", "keyUp"] {
                let mut event = key.clone();
                event["type"] = kind.into();
                if kind == "keyUp" {
                    event.as_object_mut().unwrap().remove("text");
                }
                self.call(Some(&session), "Input.dispatchKeyEvent", event);
            }
        }
    }

    /// A PNG of the page, written to `path`.
    pub fn screenshot(&mut self, path: &Path) {
        use base64::Engine as _;
        let session = self.session.clone();
        let r = self.call(
            Some(&session),
            "Page.captureScreenshot",
            serde_json::json!({"format": "png"}),
        );
        let png = base64::engine::general_purpose::STANDARD
            .decode(r["data"].as_str().unwrap())
            .unwrap();
        std::fs::write(path, png).unwrap();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether DevTools refused because the page was being replaced.
fn navigating(error: &serde_json::Value) -> bool {
    let message = error["error"]["message"].as_str().unwrap_or("");
    message.contains("navigated or closed") || message.contains("Cannot find context")
}
