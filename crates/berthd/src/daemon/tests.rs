//! The daemon's policy against a fake backend and tokio's paused clock:
//! reconcile, reload, adoption, restarts with backoff, and a loop that
//! answers while a host takes its time.

use std::collections::BTreeSet;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use berth_config::access::Caller;
use berth_config::model::Session;
use berth_config::paths::Mode;
use berth_proto::{DaemonRequest, Response, SessionSummary};
use tokio::sync::{mpsc, oneshot, Semaphore};
use tokio::time::Instant;

use super::{Daemon, Handle};
use crate::backend::{Backend, Host, Layout, Program, Started};
use crate::control::Job;
use crate::records::Record;

/// What the fake backend did and is told to do.
#[derive(Default)]
struct World {
    next_pid: u32,
    /// Hosts that run.
    running: BTreeSet<u32>,
    /// (session, when) for every start asked for.
    starts: Vec<(String, Instant)>,
    stops: Vec<String>,
    forgotten: Vec<String>,
    /// The latest host of each session.
    pids: std::collections::BTreeMap<String, u32>,
    fail_start: BTreeSet<String>,
    fail_stop: BTreeSet<String>,
    adoptable: Vec<(String, Record)>,
}

#[derive(Clone)]
struct Fake {
    layout: Layout,
    world: Arc<Mutex<World>>,
    /// Stops wait for a permit while `hold_stops` is set.
    hold_stops: Arc<Mutex<bool>>,
    stop_gate: Arc<Semaphore>,
}

impl Fake {
    fn new(dir: &Path) -> Self {
        Self {
            layout: Layout {
                mode: Mode::User,
                runtime: dir.to_owned(),
                log_dir: dir.join("logs"),
                session_binary: PathBuf::from("/nonexistent/berth-session"),
            },
            world: Arc::default(),
            hold_stops: Arc::default(),
            stop_gate: Arc::new(Semaphore::new(0)),
        }
    }

    fn world(&self) -> std::sync::MutexGuard<'_, World> {
        self.world.lock().unwrap()
    }

    fn starts_of(&self, name: &str) -> Vec<Instant> {
        let w = self.world();
        w.starts
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, t)| *t)
            .collect()
    }
}

impl Backend for Fake {
    fn name(&self) -> &'static str {
        "fake"
    }

    fn layout(&self) -> &Layout {
        &self.layout
    }

    fn args(&self, s: &Session) -> Vec<String> {
        self.layout.host_args(s, false)
    }

    fn start(
        &self,
        s: Session,
        args: Vec<String>,
        adhoc: bool,
    ) -> impl Future<Output = anyhow::Result<Started>> + Send {
        let mut w = self.world();
        w.starts.push((s.name.clone(), Instant::now()));
        let result = if w.fail_start.contains(&s.name) {
            Err(anyhow::anyhow!("no such program"))
        } else {
            w.next_pid += 1;
            let pid = 1000 + w.next_pid;
            w.running.insert(pid);
            w.pids.insert(s.name.clone(), pid);
            Ok(Started {
                record: Record {
                    host_pid: pid,
                    args,
                    adhoc,
                    unit: Vec::new(),
                    user: s.user.clone(),
                },
                child: None,
            })
        };
        async move { result }
    }

    fn stop(
        &self,
        name: String,
        host: Host,
        _program: Option<Program>,
    ) -> impl Future<Output = Result<(), String>> + Send {
        let this = self.clone();
        async move {
            if *this.hold_stops.lock().unwrap() {
                this.stop_gate.acquire().await.unwrap().forget();
            }
            let mut w = this.world();
            w.stops.push(name.clone());
            if w.fail_stop.contains(&name) {
                return Err(format!("the host of session {name} did not stop"));
            }
            w.running.remove(&host.pid);
            Ok(())
        }
    }

    fn exited(&self, host: &mut Host) -> bool {
        !self.world().running.contains(&host.pid)
    }

    fn adopt(&self) -> impl Future<Output = anyhow::Result<Vec<(String, Record)>>> + Send {
        let adopted = std::mem::take(&mut self.world().adoptable);
        async move { Ok(adopted) }
    }

    fn save(&self, _name: &str, _record: &Record) -> anyhow::Result<()> {
        Ok(())
    }

    fn forget(&self, name: &str) {
        self.world().forgotten.push(name.to_owned());
    }
}

/// A daemon on a fake backend with `config` written and applied.
struct Rig {
    fake: Fake,
    handle: Handle,
    jobs: mpsc::Sender<Job>,
    config: PathBuf,
    _dir: tempfile::TempDir,
}

impl Rig {
    async fn start(config: &str) -> Self {
        Self::start_with(config, |_| {}).await
    }

    async fn start_with(config: &str, before: impl FnOnce(&Fake)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("berth.toml");
        std::fs::write(&path, config).unwrap();
        let fake = Fake::new(dir.path());
        before(&fake);
        let mut daemon = Daemon::new(fake.clone(), path.clone(), Mode::User);
        daemon.adopt().await.unwrap();
        let handle = daemon.handle();
        let (jobs, rx) = mpsc::channel(8);
        tokio::spawn(daemon.run(rx));
        let rig = Self {
            fake,
            handle,
            jobs,
            config: path,
            _dir: dir,
        };
        let applied = rig.handle.apply_config().await;
        assert!(matches!(applied, Response::Reloaded { .. }), "{applied:?}");
        rig
    }

    /// Sends a request as root; the answer arrives on the receiver.
    async fn send(&self, req: DaemonRequest) -> oneshot::Receiver<Response> {
        let caller = Caller {
            uid: 0,
            pid: None,
            user: "root".into(),
            groups: vec![],
        };
        let (tx, rx) = oneshot::channel();
        self.jobs.send((caller, req, tx)).await.unwrap();
        rx
    }

    async fn ask(&self, req: DaemonRequest) -> Response {
        self.send(req).await.await.unwrap()
    }

    async fn ls(&self) -> Vec<(String, String)> {
        match self.ask(DaemonRequest::List).await {
            Response::Sessions { sessions } => sessions
                .into_iter()
                .map(|s: SessionSummary| (s.name, s.state))
                .collect(),
            other => panic!("{other:?}"),
        }
    }

    async fn reload(&self, config: &str) -> Response {
        std::fs::write(&self.config, config).unwrap();
        self.ask(DaemonRequest::Reload).await
    }

    fn pid_of(&self, name: &str) -> u32 {
        self.fake.world().pids[name]
    }

    /// Waits, on the paused clock, until `cond` holds.
    async fn until(&self, what: &str, mut cond: impl FnMut(&Self) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(600);
        while !cond(self) {
            assert!(Instant::now() < deadline, "never: {what}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

const TWO: &str = "[session.a]\ncommand = [\"sleep\", \"1000\"]\n\n[session.b]\ncommand = [\"sleep\", \"1000\"]\n";

fn ok(r: Response) {
    assert!(matches!(r, Response::Ok), "{r:?}");
}

fn error(r: Response) -> String {
    match r {
        Response::Error { message, .. } => message,
        other => panic!("expected an error, got {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn ls_and_other_sessions_are_served_while_a_host_takes_its_time_to_stop() {
    let rig = Rig::start(TWO).await;
    *rig.fake.hold_stops.lock().unwrap() = true;
    let mut kill = rig.send(DaemonRequest::Kill { name: "a".into() }).await;
    // The kill waits on the host; everything else is answered meanwhile.
    let states = rig.ls().await;
    assert_eq!(states[0], ("a".into(), "stopping".into()));
    assert!(
        kill.try_recv().is_err(),
        "kill answered before its host stopped"
    );
    // b's host dies and is started again while a still stops.
    let b = rig.pid_of("b");
    rig.fake.world().running.remove(&b);
    rig.until("b started again", |r| r.fake.starts_of("b").len() == 2)
        .await;
    // A second kill of a waits its turn behind the first.
    let second = rig.send(DaemonRequest::Kill { name: "a".into() }).await;
    rig.fake.stop_gate.add_permits(1);
    ok(kill.await.unwrap());
    let message = error(second.await.unwrap());
    assert!(message.starts_with("no session \"a\""), "{message}");
    assert_eq!(rig.ls().await.len(), 1);
    assert_eq!(rig.fake.world().stops, ["a"]);
}

#[tokio::test(start_paused = true)]
async fn a_host_that_keeps_dying_is_started_again_with_a_doubling_delay() {
    let rig = Rig::start(TWO).await;
    for _ in 0..4 {
        let n = rig.fake.starts_of("a").len();
        let pid = rig.pid_of("a");
        rig.fake.world().running.remove(&pid);
        rig.until("a started again", |r| r.fake.starts_of("a").len() == n + 1)
            .await;
    }
    let starts = rig.fake.starts_of("a");
    let gaps: Vec<u128> = starts
        .windows(2)
        .map(|w| w[1].duration_since(w[0]).as_millis())
        .collect();
    // 0.5 s, 1 s, 2 s, 4 s after each death. A real host's death ends its
    // status connection at once; these fakes have none, so the death is
    // noticed when the watcher next fails to connect (within 500 ms).
    for (gap, want) in gaps.iter().zip([500, 1000, 2000, 4000]) {
        assert!(
            (want..want + 600).contains(gap),
            "gaps {gaps:?}, wanted about {want} ms"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_host_that_fails_to_start_is_tried_again_unless_stopped() {
    let rig = Rig::start_with(TWO, |f| {
        f.world().fail_start.insert("a".into());
    })
    .await;
    rig.until("a tried twice", |r| r.fake.starts_of("a").len() >= 2)
        .await;
    assert_eq!(rig.ls().await[0], ("a".into(), "starting".into()));
    ok(rig.ask(DaemonRequest::Stop { name: "a".into() }).await);
    assert_eq!(rig.ls().await[0], ("a".into(), "stopped".into()));
    let tried = rig.fake.starts_of("a").len();
    tokio::time::sleep(Duration::from_secs(120)).await;
    assert_eq!(
        rig.fake.starts_of("a").len(),
        tried,
        "a stopped session was started"
    );
    // `berth start` tries now, and says why it failed.
    let message = error(rig.ask(DaemonRequest::Start { name: "a".into() }).await);
    assert_eq!(
        message,
        "failed to start session \"a\": no such program; berthd tries again in 500ms"
    );
    rig.fake.world().fail_start.clear();
    rig.until("a running", |r| r.fake.world().running.len() == 2)
        .await;
}

#[tokio::test(start_paused = true)]
async fn reload_starts_stops_replaces_and_keeps_exactly_what_changed() {
    let three = format!("{TWO}\n[session.c]\ncommand = [\"sleep\", \"1000\"]\n");
    let rig = Rig::start(&three).await;
    // a kept; b's program changed (its fake host cannot take it: replaced);
    // c removed; d added.
    let next = "[session.a]\ncommand = [\"sleep\", \"1000\"]\n\n\
                [session.b]\ncommand = [\"sleep\", \"2000\"]\n\n\
                [session.d]\ncommand = [\"sleep\", \"1000\"]\n";
    match rig.reload(next).await {
        Response::Reloaded {
            added,
            removed,
            changed,
            unchanged,
            failed,
        } => {
            assert!(failed.is_empty(), "{failed:?}");
            assert_eq!(added, ["d"]);
            assert_eq!(removed, ["c"]);
            assert_eq!(changed, ["b"]);
            assert_eq!(unchanged, ["a"]);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(rig.fake.world().stops, ["c", "b"]);
    assert_eq!(rig.fake.starts_of("a").len(), 1);
    assert_eq!(rig.fake.starts_of("b").len(), 2);
    let names: Vec<String> = rig.ls().await.into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["a", "b", "d"]);
    // A config that does not load changes nothing.
    let message = error(rig.reload("[session.a]\ncommand = 5\n").await);
    assert!(message.starts_with("1 error"), "{message}");
    assert_eq!(rig.ls().await.len(), 3);
}

#[tokio::test(start_paused = true)]
async fn sessions_start_in_after_order() {
    let config = "[session.app]\ncommand = [\"sleep\", \"1\"]\nafter = [\"db\"]\n\n\
                  [session.db]\ncommand = [\"sleep\", \"1\"]\n";
    let rig = Rig::start(config).await;
    let order: Vec<String> = rig
        .fake
        .world()
        .starts
        .iter()
        .map(|(n, _)| n.clone())
        .collect();
    assert_eq!(order, ["db", "app"]);
}

#[tokio::test(start_paused = true)]
async fn adopted_hosts_that_match_the_config_are_kept() {
    let rig = Rig::start_with(TWO, |f| {
        let dir = f.layout.runtime.clone();
        let config = berth_config::load(
            &dir.join("berth.toml"),
            berth_config::Checks {
                mode: Mode::User,
                systemd: Some(false),
                trust: None,
            },
        )
        .unwrap();
        let record = Record {
            host_pid: 77,
            args: f.args(&config.sessions["a"]),
            ..Default::default()
        };
        let mut w = f.world();
        w.running.insert(77);
        w.adoptable.push(("a".into(), record));
    })
    .await;
    assert_eq!(
        rig.fake.starts_of("a").len(),
        0,
        "an adopted host was started twice"
    );
    assert_eq!(rig.fake.starts_of("b").len(), 1);
    // Until the config named it, the adopted host's access lists were its
    // record's; now they are the config's, and it is managed as any other.
    rig.fake.world().running.remove(&77);
    rig.until("a started again", |r| r.fake.starts_of("a").len() == 1)
        .await;
}

#[tokio::test(start_paused = true)]
async fn restart_and_kill_fail_plainly_when_the_host_does_not_stop() {
    let rig = Rig::start(TWO).await;
    rig.fake.world().fail_stop.insert("a".into());
    let message = error(rig.ask(DaemonRequest::Restart { name: "a".into() }).await);
    assert_eq!(message, "the host of session a did not stop");
    assert_eq!(
        rig.fake.starts_of("a").len(),
        1,
        "started beside a host that runs"
    );
    let message = error(rig.ask(DaemonRequest::Kill { name: "a".into() }).await);
    assert_eq!(message, "the host of session a did not stop");
    assert_eq!(
        rig.ls().await.len(),
        2,
        "a session still running was dropped"
    );
    rig.fake.world().fail_stop.clear();
    ok(rig.ask(DaemonRequest::Restart { name: "a".into() }).await);
    assert_eq!(rig.fake.starts_of("a").len(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_reload_says_which_sessions_it_could_not_start() {
    let rig = Rig::start(TWO).await;
    rig.fake.world().fail_start.insert("c".into());
    let three = format!("{TWO}\n[session.c]\ncommand = [\"sleep\", \"1000\"]\n");
    let Response::Reloaded { added, failed, .. } = rig.reload(&three).await else {
        panic!()
    };
    assert_eq!(added, ["c"]);
    assert_eq!(
        failed.into_iter().collect::<Vec<_>>(),
        [(
            "c".to_owned(),
            "failed to start session \"c\": no such program; berthd tries again in 500ms"
                .to_owned()
        )]
    );
}

#[tokio::test]
async fn a_reload_without_berthds_loop_says_it_did_not_happen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("berth.toml");
    std::fs::write(&path, TWO).unwrap();
    let daemon = Daemon::new(Fake::new(dir.path()), path, Mode::User);
    let handle = daemon.handle();
    // The loop never runs (berthd is shutting down): nothing is applied.
    drop(daemon);
    assert_eq!(
        error(handle.apply_config().await),
        "berthd is shutting down; the config was not applied"
    );
}

#[tokio::test(start_paused = true)]
async fn a_new_session_that_fails_to_start_leaves_nothing_behind() {
    let rig = Rig::start(TWO).await;
    rig.fake.world().fail_start.insert("x".into());
    let new = |name: &str| DaemonRequest::New {
        name: name.into(),
        user: None,
        command: vec!["sleep".into(), "1".into()],
    };
    let message = error(rig.ask(new("x")).await);
    assert_eq!(
        message,
        "failed to start session \"x\": no such program; nothing was left behind"
    );
    assert_eq!(rig.fake.world().forgotten, ["x"]);
    assert_eq!(rig.ls().await.len(), 2);
    // Nothing retries it either.
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(rig.fake.starts_of("x").len(), 1);
    ok(rig.ask(new("y")).await);
    let message = error(rig.ask(new("y")).await);
    assert_eq!(message, "session \"y\" already exists (see berth ls)");
    // An ad-hoc session stays through a reload of a config without it.
    let Response::Reloaded { unchanged, .. } = rig.reload(TWO).await else {
        panic!()
    };
    assert!(unchanged.contains(&"y".to_owned()), "{unchanged:?}");
}

#[tokio::test(start_paused = true)]
async fn a_reload_waiting_on_a_host_holds_up_nothing_else() {
    let rig = Rig::start(TWO).await;
    *rig.fake.hold_stops.lock().unwrap() = true;
    std::fs::write(
        &rig.config,
        "[session.b]\ncommand = [\"sleep\", \"1000\"]\n",
    )
    .unwrap();
    let mut reload = rig.send(DaemonRequest::Reload).await;
    let mut states = rig.ls().await;
    while states[0].1 != "stopping" {
        tokio::time::sleep(Duration::from_millis(10)).await;
        states = rig.ls().await;
    }
    // A host that dies meanwhile is started again.
    let b = rig.pid_of("b");
    rig.fake.world().running.remove(&b);
    rig.until("b started again", |r| r.fake.starts_of("b").len() == 2)
        .await;
    assert!(
        reload.try_recv().is_err(),
        "reload answered before its stop was done"
    );
    rig.fake.stop_gate.add_permits(1);
    let Response::Reloaded { removed, .. } = reload.await.unwrap() else {
        panic!()
    };
    assert_eq!(removed, ["a"]);
}
