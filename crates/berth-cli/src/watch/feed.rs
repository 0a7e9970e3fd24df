//! One session as a tile sees it: its latest screen and status, kept
//! current by two threads on two connections to its socket, the same
//! protocol `berth attach -r` and berthd speak.
//!
//! The screen comes as frames: the host says when output changed the
//! screen and sends the whole screen when asked, at most [`FRAME`] apart,
//! so a session flooding output costs the dashboard one screen per frame,
//! not every byte, and the session's program never waits for it. The
//! status comes from a status watch (pushed on change, nothing while idle).
//! Either thread reconnects while the session is gone, so a session that
//! restarts or appears is shown again without restarting the view.

use std::num::NonZeroU16;
use std::path::PathBuf;
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use berth_proto::sync::Event;
use berth_proto::{Access, AttachRequest, Request, Response, Size, Status};

use crate::connect::{connect_live, is_denied, request_error};
use crate::remote::Remote;

/// Where a tile's session is: its socket on this host, or a session of
/// another host (reached through ssh, see remote.rs).
#[derive(Debug, Clone)]
pub enum Place {
    Local(PathBuf),
    Remote(&'static Remote, String),
}

/// The shortest time between two screens of one session (25 a second).
pub const FRAME: Duration = Duration::from_millis(40);
/// How long to wait before trying a session that is gone or refused again.
const RETRY: Duration = Duration::from_secs(1);

/// Whether the dashboard can see the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reach {
    Connecting,
    Live,
    /// The socket refused this user; the message says so.
    Denied(String),
    /// Nothing listens (stopped host, killed session), or no socket.
    Gone(String),
}

pub struct Tile {
    pub name: String,
    pub reach: Reach,
    /// Operator or observer, from the handshake.
    pub access: Option<Access>,
    /// The latest status and when it came (its clocks age from there).
    pub status: Option<(Status, Instant)>,
    pub screen: vt100::Parser,
    /// The window's origin when the session is larger than its tile.
    pub top: u16,
    pub left: u16,
}

impl Tile {
    pub(super) fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            reach: Reach::Connecting,
            access: None,
            status: None,
            screen: vt100::Parser::new(NonZeroU16::MIN, NonZeroU16::MIN, 0),
            top: 0,
            left: 0,
        }
    }

    /// The status as of now.
    pub fn status_now(&self) -> Option<Status> {
        self.status
            .as_ref()
            .map(|(s, at)| s.clone().aged(at.elapsed()))
    }
}

/// A tile shared between its feeding threads and the drawing thread; each
/// change wakes the drawer.
#[derive(Clone)]
pub struct Shared {
    tile: Arc<Mutex<Tile>>,
    wake: Sender<super::Msg>,
}

impl Shared {
    pub fn lock(&self) -> MutexGuard<'_, Tile> {
        self.tile.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn change(&self, f: impl FnOnce(&mut Tile)) {
        f(&mut self.lock());
        let _ = self.wake.send(super::Msg::Changed);
    }
}

/// Starts following the session at `place` in a tile titled `title`.
pub fn follow(title: &str, place: Place, wake: Sender<super::Msg>) -> Shared {
    let shared = Shared {
        tile: Arc::new(Mutex::new(Tile::new(title))),
        wake,
    };
    {
        let (s, place) = (shared.clone(), place.clone());
        std::thread::spawn(move || loop {
            screens(&s, &place);
            std::thread::sleep(RETRY);
        });
    }
    {
        let s = shared.clone();
        std::thread::spawn(move || loop {
            statuses(&s, &place);
            std::thread::sleep(RETRY);
        });
    }
    shared
}

/// Connects, or marks the tile as denied or gone.
fn open(s: &Shared, place: &Place) -> Option<crate::connect::Session> {
    let path = match place {
        Place::Local(path) => path,
        Place::Remote(remote, name) => {
            return match crate::connect::connect_remote(remote, name) {
                Ok(session) => Some(session),
                Err(e) if is_denied(&e) => {
                    s.change(|t| t.reach = Reach::Denied(format!("{e:#}")));
                    None
                }
                Err(e) => {
                    gone(s, &format!("{e:#}"));
                    None
                }
            };
        }
    };
    let name = s.lock().name.clone();
    match connect_live(&name, path) {
        Ok(Some(session)) => Some(session),
        Ok(None) => {
            gone(s, "not running");
            None
        }
        Err(e) if is_denied(&e) => {
            s.change(|t| t.reach = Reach::Denied(format!("{e:#}")));
            None
        }
        Err(e) => {
            let why = if path.exists() {
                format!("{e:#}")
            } else {
                "no session".into()
            };
            gone(s, &why);
            None
        }
    }
}

fn gone(s: &Shared, why: &str) {
    let why = why.to_owned();
    let already = matches!(&s.lock().reach, Reach::Gone(w) if *w == why);
    if !already {
        s.change(|t| {
            t.reach = Reach::Gone(why);
            t.status = None;
        });
    }
}

/// Follows the screen until the connection ends.
fn screens(s: &Shared, place: &Place) {
    let Some(mut session) = open(s, place) else {
        return;
    };
    let name = s.lock().name.clone();
    let access = session.access;
    let attached = match session.attach(AttachRequest {
        read_only: true,
        detach_others: false,
        size: Some(Size { cols: 80, rows: 24 }),
        frames: true,
    }) {
        Ok(a) => a,
        Err(e) => {
            let e = request_error(&name, e);
            s.change(|t| {
                t.reach = if is_denied(&e) {
                    Reach::Denied(format!("{e:#}"))
                } else {
                    Reach::Gone(format!("{e:#}"))
                }
            });
            return;
        }
    };
    let _ = session.stream().set_read_timeout(None);
    let Ok(mut input) = session.input() else {
        return;
    };
    let mut size = attached.size;
    let fresh = |size: Size| vt100::Parser::new(nz(size.rows), nz(size.cols), 0);
    s.change(|t| {
        t.reach = Reach::Live;
        t.access = Some(access);
        t.screen = fresh(size);
    });
    // The next output is a whole screen (the first, or one asked for).
    let mut whole = true;
    let mut asked = Instant::now();
    loop {
        let event = match session.event() {
            Ok(e) => e,
            Err(_) => return gone(s, "not running"),
        };
        match event {
            Event::Output(bytes) => {
                let replace = whole && attached.frames;
                whole = false;
                s.change(|t| {
                    if replace {
                        t.screen = fresh(size);
                    }
                    t.screen.process(&bytes);
                });
            }
            Event::Redraw => whole = true,
            Event::Changed => {
                // One screen per frame, however fast output comes.
                let next = asked + FRAME;
                if let Some(wait) = next.checked_duration_since(Instant::now()) {
                    std::thread::sleep(wait);
                }
                asked = Instant::now();
                if input.request(&Request::Redraw).is_err() {
                    return gone(s, "not running");
                }
            }
            Event::Resized(new) => {
                size = new;
                s.change(|t| t.screen.set_size(nz(new.rows), nz(new.cols)));
            }
            Event::Ended => return gone(s, "ended"),
            Event::Detached(why) => return gone(s, &why),
        }
    }
}

/// Follows the status until the connection ends.
fn statuses(s: &Shared, place: &Place) {
    let Some(mut session) = open(s, place) else {
        return;
    };
    let _ = session.stream().set_read_timeout(None);
    if session.send(&Request::Watch).is_err() {
        return;
    }
    while let Ok(Response::Status(status)) = session.response() {
        s.change(|t| t.status = Some((*status, Instant::now())));
    }
}

fn nz(n: u16) -> NonZeroU16 {
    NonZeroU16::new(n).unwrap_or(NonZeroU16::MIN)
}
