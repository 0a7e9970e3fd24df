//! The seam between berthd's policy (`daemon/`) and the side effects of
//! running hosts. The embedded backend starts hosts as its own children;
//! the systemd backend as units. Only a Backend starts or stops a host,
//! creates its socket or account, or writes its record.
//!
//! Every method that may wait (on `useradd`, on D-Bus, on a host that
//! takes its time to stop) is async and runs in a task of its own, never
//! on the daemon's loop.

pub mod embedded;
pub mod systemd;

use std::future::Future;
use std::path::PathBuf;
use std::process::Child;

use berth_config::model::Session;
use berth_config::paths::Mode;
use berth_config::spec::HostSpec;

use crate::records::Record;

/// A running host, as the daemon holds it.
#[derive(Debug, Default)]
pub struct Host {
    pub pid: u32,
    /// The embedded backend's child, reaped when it ends.
    pub child: Option<Child>,
}

/// A host that just started, and its record (already saved).
#[derive(Debug)]
pub struct Started {
    pub record: Record,
    pub child: Option<Child>,
}

/// The last program a host ran: (pid, uid). What is left of it after the
/// host is gone is found by it (see orphans.rs).
pub type Program = (u32, u32);

/// Where berthd keeps what belongs to hosts; the same for every backend.
#[derive(Debug, Clone)]
pub struct Layout {
    pub mode: Mode,
    pub runtime: PathBuf,
    pub log_dir: PathBuf,
    pub session_binary: PathBuf,
}

impl Layout {
    pub fn socket(&self, name: &str) -> PathBuf {
        berth_config::paths::session_socket(&self.runtime, name)
    }

    pub fn log(&self, name: &str) -> PathBuf {
        berth_config::paths::session_log(&self.log_dir, name, self.mode)
    }

    /// The host's command line. `switch_account`: the host itself becomes
    /// the session's account (system mode, when no service manager does).
    pub fn host_args(&self, s: &Session, switch_account: bool) -> Vec<String> {
        let system = self.mode == Mode::System;
        let account = (system && switch_account).then(|| crate::accounts::account_name(s));
        HostSpec::for_session(s, self.socket(&s.name), Some(self.log(&s.name)), account).to_args()
    }
}

pub trait Backend: Send + Sync + 'static {
    /// "embedded" or "systemd", for the log.
    fn name(&self) -> &'static str;

    fn layout(&self) -> &Layout;

    fn socket(&self, name: &str) -> PathBuf {
        self.layout().socket(name)
    }

    /// The host command line for `s`.
    fn args(&self, s: &Session) -> Vec<String>;

    /// Settings beyond the command line a host is started with (a unit's).
    fn unit(&self, _s: &Session) -> Vec<String> {
        Vec::new()
    }

    /// Whether a running host can take a new program (`Reconfigure`); a
    /// backend whose hosts' command lines are fixed replaces them instead.
    fn reconfigures(&self) -> bool {
        true
    }

    /// Creates what the host needs (account, socket, log directory) and
    /// starts it.
    fn start(
        &self,
        s: Session,
        args: Vec<String>,
        adhoc: bool,
    ) -> impl Future<Output = anyhow::Result<Started>> + Send;

    /// Stops a host and removes its record and socket; fails, saying so,
    /// if it is still running. `program`: what the host last ran, to end
    /// what is left of it.
    fn stop(
        &self,
        name: String,
        host: Host,
        program: Option<Program>,
    ) -> impl Future<Output = Result<(), String>> + Send;

    /// Whether a running host has ended. A backend whose service manager
    /// restarts hosts itself (systemd) never says so: nothing to do.
    fn exited(&self, host: &mut Host) -> bool;

    /// Ends what a dead host's program left behind before the session
    /// starts again.
    fn sweep(&self, _name: String, _program: Program) -> impl Future<Output = ()> + Send {
        async {}
    }

    /// Hosts a previous berthd started that still run.
    fn adopt(&self) -> impl Future<Output = anyhow::Result<Vec<(String, Record)>>> + Send;

    fn save(&self, name: &str, record: &Record) -> anyhow::Result<()>;

    /// Removes the record and socket of a session that is gone.
    fn forget(&self, name: &str);
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_config::model::{Command, Principal};

    fn layout(mode: Mode) -> Layout {
        Layout {
            mode,
            runtime: "/run/berth".into(),
            log_dir: "/var/log/berth".into(),
            session_binary: "berth-session".into(),
        }
    }

    #[test]
    fn only_a_system_host_without_a_service_manager_switches_account() {
        let mut s = Session::with_defaults("ci", Command::Argv(vec!["run".into()]));
        s.access.operators = vec![Principal::Group("oncall".into())];
        let spec = |mode, switch| {
            HostSpec::from_args(&layout(mode).host_args(&s, switch))
                .expect("a line berthd wrote parses")
        };
        let embedded = spec(Mode::System, true);
        assert_eq!(embedded.user.as_deref(), Some("berth-ci"));
        assert_eq!(
            embedded.socket,
            PathBuf::from("/run/berth/sessions/ci.sock")
        );
        assert_eq!(
            embedded.log,
            Some(PathBuf::from("/var/log/berth/ci/ci.log"))
        );
        assert_eq!(embedded.operators, s.access.operators);
        assert_eq!(spec(Mode::System, false).user, None);
        let user = spec(Mode::User, true);
        assert_eq!(user.user, None);
        assert_eq!(user.log, Some(PathBuf::from("/var/log/berth/ci.log")));
    }
}
