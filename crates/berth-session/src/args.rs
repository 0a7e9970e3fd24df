//! `berth-session` command line: the host spec berthd wrote
//! (`berth_config::spec`, which owns every flag and default), and how this
//! start was handed its socket.

use berth_config::spec::{HostSpec, ProgramSpec};
use clap::Parser;

use crate::policy::RestartPolicy;

/// The per-session host: owns one session's PTY, screen, history, output log
/// and socket, and restarts its program. Normally started by berthd.
#[derive(Debug, Parser)]
#[command(name = "berth-session", version)]
pub struct Args {
    #[command(flatten)]
    pub spec: HostSpec,
    /// Serve the listening socket on this descriptor (berthd passes it so).
    #[arg(long)]
    pub listen_fd: Option<i32>,
}

/// How the program restarts, as its spec says.
pub fn restart_policy(p: &ProgramSpec) -> RestartPolicy {
    RestartPolicy {
        mode: p.restart,
        delay: p.restart_delay,
        max_delay: p.restart_max_delay,
        burst: p.restart_burst,
        interval: p.restart_interval,
        stable_after: berth_config::defaults::RESTART_STABLE_AFTER,
    }
}
