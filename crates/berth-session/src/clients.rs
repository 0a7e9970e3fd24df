//! Attached clients: who they are, their bounded backlog, and the size
//! they ask for.
//!
//! Output reaches each client through its own queue. A client that falls
//! behind (its terminal stopped reading, its process was stopped) is never
//! waited for: once its backlog passes [`BACKLOG_LIMIT`] it stops receiving
//! output, and when it has caught up it gets one full redraw of the screen
//! instead of what it missed. The program and the other clients never slow.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use berth_proto::{ClientInfo, ClientMode, Response, Size};
use tokio::sync::mpsc;

/// Output bytes queued for one client before it is resynced instead.
pub const BACKLOG_LIMIT: usize = 1 << 20;

pub use berth_config::model::SizePolicy;

/// What a client's writer sends.
pub enum Out {
    Data(Arc<[u8]>),
    /// The whole screen a client asked for, announced by [`Response::Redraw`].
    Redraw(Vec<u8>),
    /// A control frame in the stream (the session resized).
    Notice(Response),
    /// The final control frame (detached, ended); the writer stops after it.
    Last(Response),
}

/// The receiving end, owned by the client's connection.
pub struct Inbox {
    pub rx: mpsc::UnboundedReceiver<Out>,
    queued: Arc<AtomicUsize>,
    lagging: Arc<AtomicBool>,
    redraw_queued: Arc<AtomicBool>,
}

impl Inbox {
    /// Call after writing a data chunk of `len` bytes.
    pub fn sent(&self, len: usize) {
        self.queued.fetch_sub(len, Ordering::Relaxed);
    }

    /// The client missed output and has drained what was queued: it needs a
    /// full redraw now. Call with the session locked, so no output slips
    /// between the redraw and what follows it.
    pub fn take_resync(&mut self) -> bool {
        self.rx.is_empty() && self.lagging.swap(false, Ordering::Relaxed)
    }

    pub fn is_lagging(&self) -> bool {
        self.lagging.load(Ordering::Relaxed)
    }

    /// Call after writing a requested redraw: the client may ask again.
    pub fn redrawn(&self) {
        self.redraw_queued.store(false, Ordering::Relaxed);
    }
}

struct Client {
    id: u64,
    info: ClientInfo,
    /// The terminal size it asks for; `None` for read-only clients.
    size: Option<Size>,
    /// Stamp of its last attach or resize, for [`SizePolicy::Latest`].
    active: u64,
    tx: mpsc::UnboundedSender<Out>,
    queued: Arc<AtomicUsize>,
    lagging: Arc<AtomicBool>,
    /// A requested screen is queued and not yet written: the unbounded
    /// queue never holds two (each can be megabytes).
    redraw_queued: Arc<AtomicBool>,
    /// Attached for frames: gets [`Response::Changed`], not the output.
    frames: bool,
    /// A frames client was told of output since its last screen.
    told: bool,
}

pub struct Clients {
    list: Vec<Client>,
    next_id: u64,
    stamp: u64,
    pub policy: SizePolicy,
}

impl Clients {
    pub fn new(policy: SizePolicy) -> Self {
        Self {
            list: Vec::new(),
            next_id: 1,
            stamp: 0,
            policy,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    pub fn add(&mut self, info: ClientInfo, size: Option<Size>, frames: bool) -> (u64, Inbox) {
        let (tx, rx) = mpsc::unbounded_channel();
        let queued = Arc::new(AtomicUsize::new(0));
        let lagging = Arc::new(AtomicBool::new(false));
        let redraw_queued = Arc::new(AtomicBool::new(false));
        let id = self.next_id;
        self.next_id += 1;
        self.stamp += 1;
        self.list.push(Client {
            id,
            info,
            size,
            active: self.stamp,
            tx,
            queued: Arc::clone(&queued),
            lagging: Arc::clone(&lagging),
            redraw_queued: Arc::clone(&redraw_queued),
            frames,
            // The first screen is sent with the attach.
            told: false,
        });
        (
            id,
            Inbox {
                rx,
                queued,
                lagging,
                redraw_queued,
            },
        )
    }

    pub fn remove(&mut self, id: u64) {
        self.list.retain(|c| c.id != id);
    }

    pub fn set_size(&mut self, id: u64, size: Size) {
        self.stamp += 1;
        let stamp = self.stamp;
        if let Some(c) = self
            .list
            .iter_mut()
            .find(|c| c.id == id && c.size.is_some())
        {
            c.size = Some(size);
            c.active = stamp;
        }
    }

    /// Queues output for every client that keeps up; tells frames
    /// clients, once, that the screen changed.
    pub fn broadcast(&mut self, bytes: &[u8]) {
        if self.list.is_empty() {
            return;
        }
        let chunk: Arc<[u8]> = Arc::from(bytes);
        for c in &mut self.list {
            if c.frames {
                if !std::mem::replace(&mut c.told, true) {
                    let _ = c.tx.send(Out::Notice(Response::Changed));
                }
                continue;
            }
            if c.lagging.load(Ordering::Relaxed) {
                continue;
            }
            if c.queued.load(Ordering::Relaxed) + chunk.len() > BACKLOG_LIMIT {
                c.lagging.store(true, Ordering::Relaxed);
                continue;
            }
            c.queued.fetch_add(chunk.len(), Ordering::Relaxed);
            let _ = c.tx.send(Out::Data(Arc::clone(&chunk)));
        }
    }

    /// Queues a control frame for every client, in order with its output.
    pub fn notify(&self, response: Response) {
        for c in &self.list {
            let _ = c.tx.send(Out::Notice(response.clone()));
        }
    }

    /// Whether client `id` may have a screen queued now: not while the
    /// last one it asked for waits to be written.
    pub fn may_redraw(&self, id: u64) -> bool {
        self.list
            .iter()
            .any(|c| c.id == id && !c.redraw_queued.load(Ordering::Relaxed))
    }

    /// Queues the whole screen for client `id`, in order with its output,
    /// announced by [`Response::Redraw`]. Call with the session locked.
    pub fn redraw(&mut self, id: u64, screen: Vec<u8>) {
        if let Some(c) = self.list.iter_mut().find(|c| c.id == id) {
            // Output after this screen is news again.
            c.told = false;
            c.redraw_queued.store(true, Ordering::Relaxed);
            c.queued.fetch_add(screen.len(), Ordering::Relaxed);
            let _ = c.tx.send(Out::Redraw(screen));
        }
    }

    /// Sends `response` as the last frame to client `id`.
    pub fn finish(&self, id: u64, response: Response) {
        if let Some(c) = self.list.iter().find(|c| c.id == id) {
            let _ = c.tx.send(Out::Last(response));
        }
    }

    /// Detaches every client but `keep`, telling them why.
    pub fn detach_others(&self, keep: u64, reason: &str) {
        for c in self.list.iter().filter(|c| c.id != keep) {
            let _ = c.tx.send(Out::Last(Response::Detached {
                reason: reason.to_owned(),
            }));
        }
    }

    /// Tells every client the session ended.
    pub fn end_all(&self, reason: &str) {
        for c in &self.list {
            let _ = c.tx.send(Out::Last(Response::Ended {
                reason: reason.to_owned(),
            }));
        }
    }

    /// The size the read-write clients ask for under the policy, if any do.
    pub fn wanted_size(&self) -> Option<Size> {
        let sized = self
            .list
            .iter()
            .filter_map(|c| c.size.map(|s| (c.active, s)));
        match self.policy {
            SizePolicy::Smallest => sized.map(|(_, s)| s).reduce(|a, b| Size {
                cols: a.cols.min(b.cols),
                rows: a.rows.min(b.rows),
            }),
            SizePolicy::Latest => sized.max_by_key(|(stamp, _)| *stamp).map(|(_, s)| s),
        }
    }

    pub fn infos(&self) -> Vec<ClientInfo> {
        self.list.iter().map(|c| c.info.clone()).collect()
    }

    /// Who client `id` is.
    pub fn info_of(&self, id: u64) -> Option<ClientInfo> {
        self.list
            .iter()
            .find(|c| c.id == id)
            .map(|c| c.info.clone())
    }

    pub fn mode(&self, id: u64) -> Option<ClientMode> {
        self.list.iter().find(|c| c.id == id).map(|c| c.info.mode)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info() -> ClientInfo {
        ClientInfo {
            uid: 0,
            user: "root".into(),
            pid: None,
            mode: ClientMode::ReadWrite,
        }
    }

    fn size(cols: u16, rows: u16) -> Size {
        Size { cols, rows }
    }

    #[test]
    fn smallest_and_latest() {
        let mut c = Clients::new(SizePolicy::Smallest);
        assert_eq!(c.wanted_size(), None);
        let (a, _ia) = c.add(info(), Some(size(100, 30)), false);
        let (b, _ib) = c.add(info(), Some(size(80, 40)), false);
        let (_ro, _ir) = c.add(info(), None, false);
        assert_eq!(c.wanted_size(), Some(size(80, 30)));
        c.policy = SizePolicy::Latest;
        assert_eq!(c.wanted_size(), Some(size(80, 40)));
        c.set_size(a, size(120, 50));
        assert_eq!(c.wanted_size(), Some(size(120, 50)));
        c.remove(a);
        assert_eq!(c.wanted_size(), Some(size(80, 40)));
        c.remove(b);
        assert_eq!(c.wanted_size(), None);
    }

    #[test]
    fn a_client_that_does_not_read_is_bounded_then_resynced() {
        let mut c = Clients::new(SizePolicy::Smallest);
        let (_, mut slow) = c.add(info(), None, false);
        let chunk = vec![b'x'; 64 * 1024];
        for _ in 0..100 {
            c.broadcast(&chunk);
        }
        assert!(slow.is_lagging());
        assert!(slow.queued.load(Ordering::Relaxed) <= BACKLOG_LIMIT);
        // Not yet drained: no resync.
        assert!(!slow.take_resync());
        while let Ok(Out::Data(d)) = slow.rx.try_recv() {
            slow.sent(d.len());
        }
        assert!(slow.take_resync());
        assert!(!slow.is_lagging());
        c.broadcast(b"more");
        assert!(matches!(slow.rx.try_recv(), Ok(Out::Data(d)) if &*d == b"more"));
    }

    #[test]
    fn a_frames_client_is_told_once_per_screen_and_gets_no_output() {
        let mut c = Clients::new(SizePolicy::Smallest);
        let (id, mut viewer) = c.add(info(), None, true);
        for _ in 0..1000 {
            c.broadcast(b"flood\r\n");
        }
        assert!(matches!(
            viewer.rx.try_recv(),
            Ok(Out::Notice(Response::Changed))
        ));
        assert!(viewer.rx.try_recv().is_err(), "told once, no output");
        assert!(c.may_redraw(id));
        c.redraw(id, b"screen".to_vec());
        // One screen at a time: the next waits until this one is written.
        assert!(!c.may_redraw(id));
        assert!(matches!(viewer.rx.try_recv(), Ok(Out::Redraw(d)) if d == b"screen"));
        viewer.redrawn();
        assert!(c.may_redraw(id));
        c.broadcast(b"more");
        assert!(matches!(
            viewer.rx.try_recv(),
            Ok(Out::Notice(Response::Changed))
        ));
        assert!(viewer.rx.try_recv().is_err());
    }
}
