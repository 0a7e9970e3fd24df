//! The latest status of every host, pushed by the hosts themselves (one
//! `watch` connection each), so that listing sessions or reporting to
//! systemd never waits on a host: a stopped or stuck host delays nothing.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use berth_proto::Status;
use tokio::task::JoinHandle;

/// How soon to try again when a host does not answer (starting, or gone).
const RETRY: Duration = Duration::from_millis(500);

#[derive(Default)]
pub struct Watcher {
    latest: Arc<Mutex<HashMap<String, Status>>>,
    /// The last program each host ran (pid, uid), kept after the host is
    /// gone: what may be left of it is found by it (see orphans.rs).
    programs: Arc<Mutex<HashMap<String, (u32, u32)>>>,
    tasks: HashMap<String, JoinHandle<()>>,
}

impl Watcher {
    /// Follows the host behind `socket` from now on (again, if it was).
    pub fn follow(&mut self, name: &str, socket: PathBuf) {
        self.forget(name);
        let latest = Arc::clone(&self.latest);
        let programs = Arc::clone(&self.programs);
        let key = name.to_owned();
        let task = tokio::spawn(async move {
            loop {
                let result = crate::status::watch(&socket, |st| {
                    if let Some(pid) = st.pid {
                        lock(&programs).insert(key.clone(), (pid, st.uid));
                    }
                    lock(&latest).insert(key.clone(), st);
                })
                .await;
                lock(&latest).remove(&key);
                if let Err(e) = result {
                    tracing::debug!(session = %key, "watch: {e:#}");
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
    }

    /// The last program the host of `name` was seen running: (pid, uid).
    pub fn last_program(&self, name: &str) -> Option<(u32, u32)> {
        lock(&self.programs).get(name).copied()
    }

    /// The host's latest status, if it is connected.
    pub fn status(&self, name: &str) -> Option<Status> {
        lock(&self.latest).get(name).cloned()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
