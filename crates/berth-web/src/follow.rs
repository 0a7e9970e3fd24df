//! The sessions each person's pages list, kept current without asking
//! every host at every refresh. For each session a person's page lists,
//! berth-web holds one `watch` connection made for that person: the host
//! checks its access lists once, pushes a status whenever something
//! changes, and writes one audit line, with the duration, when the follow
//! ends. (Asking every host every 2 s wrote an audit line per host per
//! refresh per open page.) A person's follows end when their pages stop
//! asking for [`IDLE`]; a session's follow ends when its socket goes.
//!
//! Each follow holds one of the web account's connections on that host
//! (`MAX_CONNECTIONS_PER_UID`, shared with the live views).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use berth_proto::client_async::AsyncClient;
use berth_proto::sync::ClientError;
use berth_proto::{Access, OnBehalfOf, Request, Response, Status};
use tokio::sync::watch;

/// A host must finish the handshake this soon.
const HANDSHAKE: Duration = Duration::from_secs(2);
/// A refresh waits this long for the sessions it just began to follow.
const FIRST_STATUS: Duration = Duration::from_secs(2);
/// A person's follows end once their pages have not asked for this long.
const IDLE: Duration = Duration::from_secs(30);
/// A session that refused a person is asked again after this long: a
/// reload may have put them on its access lists.
const ASK_AGAIN: Duration = Duration::from_secs(30);

/// What a follow knows of its session.
#[derive(Clone)]
enum Seen {
    Connecting,
    /// Not this person's to see (or the host's budget was spent), at.
    Refused(Instant),
    Live {
        status: Box<Status>,
        /// When the host sent it: the reader ages its clocks.
        at: Instant,
        access: Option<Access>,
    },
    /// The connection ended (the host went away): followed anew on the
    /// next refresh.
    Ended,
}

struct Follow {
    seen: watch::Receiver<Seen>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Follow {
    /// The connection closes with the task: the host audits the follow.
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct Person {
    asked: Instant,
    follows: HashMap<String, Follow>,
}

/// One session as the person sees it: its status (aged to now) and what
/// the host lets them do.
pub struct Visible {
    pub name: String,
    pub status: Status,
    pub access: Option<Access>,
}

#[derive(Default)]
pub struct Follows {
    people: Mutex<HashMap<u32, Person>>,
}

impl Follows {
    /// The sessions among `sockets` (name, socket) that `uid` may see, in
    /// that order; `from` is the browser's address, for the hosts' audit
    /// of follows this call begins.
    pub async fn visible(
        &self,
        uid: u32,
        from: &str,
        sockets: &[(String, PathBuf)],
    ) -> Vec<Visible> {
        let now = Instant::now();
        let mut begun = Vec::new();
        {
            let mut people = self.people.lock().unwrap_or_else(|e| e.into_inner());
            let person = people.entry(uid).or_insert_with(|| Person {
                asked: now,
                follows: HashMap::new(),
            });
            person.asked = now;
            person
                .follows
                .retain(|name, _| sockets.iter().any(|(n, _)| n == name));
            for (name, path) in sockets {
                let again = match person.follows.get(name).map(|f| f.seen.borrow().clone()) {
                    None | Some(Seen::Ended) => true,
                    Some(Seen::Refused(at)) => now.duration_since(at) >= ASK_AGAIN,
                    Some(Seen::Connecting | Seen::Live { .. }) => false,
                };
                if again {
                    let follow = begin(path.clone(), uid, from);
                    begun.push(follow.seen.clone());
                    person.follows.insert(name.clone(), follow);
                }
            }
        }
        let until = tokio::time::Instant::now() + FIRST_STATUS;
        for mut seen in begun {
            let first = seen.wait_for(|s| !matches!(s, Seen::Connecting));
            let _ = tokio::time::timeout_at(until, first).await;
        }
        let people = self.people.lock().unwrap_or_else(|e| e.into_inner());
        let Some(person) = people.get(&uid) else {
            return Vec::new();
        };
        sockets
            .iter()
            .filter_map(
                |(name, _)| match &*person.follows.get(name)?.seen.borrow() {
                    Seen::Live { status, at, access } => Some(Visible {
                        name: name.clone(),
                        status: Status::clone(status).aged(at.elapsed()),
                        access: *access,
                    }),
                    _ => None,
                },
            )
            .collect()
    }

    /// Ends the follows of people whose pages stopped asking; runs as long
    /// as berth-web serves.
    pub async fn end_idle(&self) {
        let mut tick = tokio::time::interval(IDLE / 3);
        loop {
            tick.tick().await;
            self.forget_idle(Instant::now());
        }
    }

    fn forget_idle(&self, now: Instant) {
        let mut people = self.people.lock().unwrap_or_else(|e| e.into_inner());
        people.retain(|_, p| now.duration_since(p.asked) < IDLE);
    }
}

/// How berth-web speaks for `uid` on a session socket: through a claim
/// the host checks against berthd's record of live logins, or, for the
/// user berth-web runs as (`--single-user`, berthd in user mode), as
/// itself (the only person such a dashboard logs in).
pub fn claim(uid: u32, from: &str) -> Option<OnBehalfOf> {
    (uid != nix::unistd::geteuid().as_raw()).then(|| OnBehalfOf {
        uid,
        from: from.to_owned(),
    })
}

/// Starts following the session behind `socket` for `uid`.
fn begin(socket: PathBuf, uid: u32, from: &str) -> Follow {
    let (tx, seen) = watch::channel(Seen::Connecting);
    let claim = claim(uid, from);
    let task = tokio::spawn(async move {
        let end = follow(&socket, claim, &tx).await;
        tx.send_replace(end);
    });
    Follow { seen, task }
}

/// Pushes every status the host sends into `tx`; returns how it ended.
async fn follow(socket: &Path, claim: Option<OnBehalfOf>, tx: &watch::Sender<Seen>) -> Seen {
    let mut client = match AsyncClient::connect_for(socket, "berth-web", claim, HANDSHAKE).await {
        Ok(client) => client,
        Err(ClientError::Refused { .. }) => return Seen::Refused(Instant::now()),
        Err(_) => return Seen::Ended,
    };
    let access = client.access();
    if client.send(&Request::Watch).await.is_err() {
        return Seen::Ended;
    }
    while let Ok(Response::Status(status)) = client.response().await {
        tx.send_replace(Seen::Live {
            status,
            at: Instant::now(),
            access,
        });
    }
    Seen::Ended
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_person_whose_pages_stopped_asking_is_forgotten() {
        let follows = Follows::default();
        // No sockets: nothing to follow, but the person is remembered.
        assert!(follows.visible(1000, "127.0.0.1:1", &[]).await.is_empty());
        let asked = Instant::now();
        follows.forget_idle(asked + IDLE / 2);
        assert_eq!(follows.people.lock().unwrap().len(), 1);
        follows.forget_idle(asked + IDLE + Duration::from_secs(1));
        assert!(follows.people.lock().unwrap().is_empty());
    }
}
