//! Processes by command line, and what they hold in memory.

use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// Pids whose command line contains `needle`, other than this process.
pub fn matching(needle: &str) -> Vec<u32> {
    let me = std::process::id();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| pid != me)
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .map(|c| String::from_utf8_lossy(&c).contains(needle))
                .unwrap_or(false)
        })
        .collect()
}

/// Proportional set size in KiB: resident pages, shared ones divided among
/// the processes sharing them. The fair "cost of one more" for processes
/// that share a binary.
pub fn pss_kib(pid: u32) -> Option<u64> {
    field_kib(&format!("/proc/{pid}/smaps_rollup"), "Pss:")
}

/// Unique set size in KiB: resident pages no other process maps, i.e.
/// what this process adds to the machine.
pub fn uss_kib(pid: u32) -> Option<u64> {
    let file = format!("/proc/{pid}/smaps_rollup");
    Some(field_kib(&file, "Private_Clean:")? + field_kib(&file, "Private_Dirty:")?)
}

/// Resident set size in KiB, as `ps` shows it.
pub fn rss_kib(pid: u32) -> Option<u64> {
    field_kib(&format!("/proc/{pid}/status"), "VmRSS:")
}

/// CPU time the process used so far (user and system, all its threads),
/// in seconds.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // After the command name, which may hold spaces: fields 3 onwards.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    let per_second = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .filter(|t| *t > 0)
        .unwrap_or(100);
    Some(ticks as f64 / per_second as f64)
}

fn field_kib(file: &str, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(file).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
}

/// SIGTERM to every process whose command line mentions `needle`, then
/// SIGKILL to any still there a moment later.
pub fn kill_matching(needle: &str) {
    for pid in matching(needle) {
        let _ = kill(Pid::from_raw(pid as i32), Signal::SIGTERM);
    }
    let gone = crate::env::wait_until(
        "processes to exit",
        Duration::from_secs(3),
        Duration::from_millis(10),
        || matching(needle).is_empty(),
    );
    if gone.is_err() {
        for pid in matching(needle) {
            let _ = kill(Pid::from_raw(pid as i32), Signal::SIGKILL);
        }
    }
}
