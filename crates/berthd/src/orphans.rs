//! What a dead host leaves behind. Its program dies with it (the host
//! starts it with a parent-death signal), but the program's own children
//! live on in the program's process session. berthd ends them before it
//! starts the session again, so no program of a session survives beside
//! the one berthd tracks. (The systemd backend has cgroups for this.)

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// SIGKILLs every process in the process session `sid` that runs as `uid`
/// (a session id is the pid of its leader, the program; the uid guards
/// against a reused number). Returns how many were killed.
pub fn end_session(sid: u32, uid: u32) -> usize {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0;
    };
    let mut killed = 0;
    for pid in entries.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok()) {
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let Some(session) = session_of(&stat) else {
            continue;
        };
        if session != sid || owner(pid) != Some(uid) {
            continue;
        }
        if kill(Pid::from_raw(pid as i32), Signal::SIGKILL).is_ok() {
            killed += 1;
        }
    }
    killed
}

/// The session id in a `/proc/PID/stat` line (field 6; the command in
/// field 2 may hold spaces and parentheses, so count from its last `)`).
fn session_of(stat: &str) -> Option<u32> {
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(3)?.parse().ok()
}

fn owner(pid: u32) -> Option<u32> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(format!("/proc/{pid}"))
        .ok()
        .map(|m| m.uid())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_is_read_past_any_command_name() {
        let stat = "4242 (we(ird) name) S 1 4240 4241 34816 4242 4194560 0 0";
        assert_eq!(session_of(stat), Some(4241));
        assert_eq!(session_of("garbage"), None);
    }
}
