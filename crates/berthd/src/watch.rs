//! The latest status of every host, pushed by the hosts themselves (one
//! `watch` connection each), so that listing sessions or reporting to
//! systemd never waits on a host: a stopped or stuck host delays nothing.
//!
//! The same connection is how berthd learns that a host died, without
//! polling: when it ends, or cannot be made, the session's name is sent on
//! `gone`, and the daemon looks at that one host.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use berth_proto::Status;
use tokio::sync::{mpsc, Notify};
use tokio::task::JoinHandle;

/// How soon to try again when a host does not answer (starting, or gone).
const RETRY: Duration = Duration::from_millis(500);

pub struct Watcher {
    /// With when it arrived: a host pushes only changes, so its clocks
    /// (uptime, countdown) are aged here.
    latest: Arc<Mutex<HashMap<String, (Status, Instant)>>>,
    /// The last program each host ran (pid, uid), kept after the host is
    /// gone: what may be left of it is found by it (see orphans.rs).
    programs: Arc<Mutex<HashMap<String, (u32, u32)>>>,
    tasks: HashMap<String, JoinHandle<()>>,
    /// Where the name of a host that could not be followed goes.
    gone: mpsc::UnboundedSender<String>,
    /// Signalled (one stored permit) when a host pushes a status.
    changed: Arc<Notify>,
}

impl Watcher {
    pub fn new(gone: mpsc::UnboundedSender<String>) -> Self {
        Self {
            latest: Default::default(),
            programs: Default::default(),
            tasks: HashMap::new(),
            gone,
            changed: Arc::new(Notify::new()),
        }
    }

    /// Signalled whenever a host pushed a status: await `notified()` on
    /// it; a push while nobody waits is kept for the next wait.
    pub fn changes(&self) -> Arc<Notify> {
        Arc::clone(&self.changed)
    }

    /// Follows the host behind `socket` from now on (again, if it was).
    pub fn follow(&mut self, name: &str, socket: PathBuf) {
        self.forget(name);
        let latest = Arc::clone(&self.latest);
        let programs = Arc::clone(&self.programs);
        let gone = self.gone.clone();
        let changed = Arc::clone(&self.changed);
        let key = name.to_owned();
        let task = tokio::spawn(async move {
            loop {
                let result = crate::status::watch(&socket, |st| {
                    if let Some(pid) = st.pid {
                        lock(&programs).insert(key.clone(), (pid, st.uid));
                    }
                    lock(&latest).insert(key.clone(), (st, Instant::now()));
                    changed.notify_one();
                })
                .await;
                lock(&latest).remove(&key);
                if let Err(e) = result {
                    tracing::debug!(session = %key, "watch: {e:#}");
                }
                // Dead, starting or stuck: the daemon finds out which.
                if gone.send(key.clone()).is_err() {
                    return;
                }
                tokio::time::sleep(RETRY).await;
            }
        });
        self.tasks.insert(name.to_owned(), task);
    }

    /// Stops following `name` and drops what was known of it.
    pub fn forget(&mut self, name: &str) {
        if let Some(task) = self.tasks.remove(name) {
            task.abort();
        }
        lock(&self.latest).remove(name);
        lock(&self.programs).remove(name);
        // After 500 sessions went, their tables' room goes too: an idle
        // berthd goes back to what it held before them.
        shrink(&mut self.tasks);
        shrink(&mut lock(&self.latest));
        shrink(&mut lock(&self.programs));
    }

    /// The last program the host of `name` was seen running: (pid, uid).
    pub fn last_program(&self, name: &str) -> Option<(u32, u32)> {
        lock(&self.programs).get(name).copied()
    }

    /// The host's latest status, if it is connected.
    pub fn status(&self, name: &str) -> Option<Status> {
        let (status, at) = lock(&self.latest).get(name).cloned()?;
        Some(status.aged(at.elapsed()))
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Gives back a table's room once it holds far fewer entries than it has
/// room for.
fn shrink<V>(table: &mut HashMap<String, V>) {
    if table.capacity() > 4 * table.len() + 16 {
        table.shrink_to_fit();
    }
}
