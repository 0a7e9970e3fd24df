//! Figure 7: one host with `scale_sessions` (1,000) sessions, as a CI host
//! or an agent farm runs them (issue 14). From one start of them all:
//! the time to bring them up (berthd reading a config that declares them,
//! against a `tmux new -d` loop), the time of one listing (`berth ls`,
//! `tmux ls`), the time of a reload that changes nothing (berth; it must
//! leave every host as it was), and the supervisor while they all sit
//! idle: its CPU time over a window, per minute, and its memory (berthd;
//! the tmux server, which is also every session's host).

use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::Context as _;

use super::startup::{start, Started};
use super::Ctx;
use crate::procs;
use crate::systems::System;

#[derive(Debug, Clone, Copy)]
pub struct Scale {
    /// Seconds to all programs running.
    pub start: f64,
    /// Milliseconds for one listing of every session.
    pub list: f64,
    /// Milliseconds for a reload that changes nothing (berth only).
    pub reload: Option<f64>,
    /// CPU milliseconds per minute while every session is idle.
    pub idle_cpu: f64,
    /// KiB resident in the supervisor (berthd, or tmux's server).
    pub supervisor_rss: f64,
}

pub fn measure(ctx: &Ctx, system: System) -> anyhow::Result<Option<Scale>> {
    if !matches!(system, System::Berth | System::Tmux) {
        return Ok(None);
    }
    let n = ctx.sizes.scale_sessions;
    let started = start(ctx, system, n)?;
    let supervisor = supervisor_pid(&started)?;
    let list = timed_ms(&mut list_command(ctx, &started), n)?;
    let reload = match system {
        System::Berth => {
            let before = hosts(&started);
            anyhow::ensure!(before.len() >= n, "found {} of {n} hosts", before.len());
            let ms = timed_ms(&mut berth(ctx, &started, "reload"), 0)?;
            let after = hosts(&started);
            anyhow::ensure!(
                before == after,
                "a reload that changed nothing replaced {} of {n} hosts",
                before.difference(&after).count()
            );
            Some(ms)
        }
        _ => None,
    };
    std::thread::sleep(ctx.sizes.idle_settle);
    let cpu0 = thread_cpu_ns(supervisor)?;
    let t0 = Instant::now();
    std::thread::sleep(ctx.sizes.idle_window);
    let cpu = cpu_spent_ms(&cpu0, &thread_cpu_ns(supervisor)?);
    let idle_cpu = cpu / t0.elapsed().as_secs_f64() * 60.0;
    let supervisor_rss = procs::rss_kib(supervisor).context("supervisor gone")? as f64;
    Ok(Some(Scale {
        start: started.secs,
        list,
        reload,
        idle_cpu,
        supervisor_rss,
    }))
}

fn supervisor_pid(s: &Started) -> anyhow::Result<u32> {
    match &s.daemon {
        Some(d) => Ok(d.id()),
        None => s
            .run
            .processes()?
            .first()
            .copied()
            .context("no tmux server"),
    }
}

/// The berth-session hosts of this run.
fn hosts(s: &Started) -> std::collections::BTreeSet<u32> {
    procs::matching(&format!("{}/", s.run.dir.display()))
        .into_iter()
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|c| c.trim() == "berth-session")
        })
        .collect()
}

fn berth(ctx: &Ctx, s: &Started, verb: &str) -> Command {
    let mut c = Command::new(&ctx.bins.berth);
    c.arg(verb).arg("--runtime-dir").arg(s.run.dir.join("run"));
    c
}

fn list_command(ctx: &Ctx, s: &Started) -> Command {
    match &s.daemon {
        Some(_) => berth(ctx, s, "ls"),
        None => {
            let mut c = Command::new("tmux");
            c.arg("-S").arg(s.run.dir.join("tmux.sock")).arg("ls");
            c
        }
    }
}

/// Runs `cmd` once, checks it succeeded and printed at least `lines`
/// lines, and returns its wall time in milliseconds.
fn timed_ms(cmd: &mut Command, lines: usize) -> anyhow::Result<f64> {
    let t0 = Instant::now();
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("failed to run {cmd:?}"))?;
    let ms = t0.elapsed().as_secs_f64() * 1000.0;
    anyhow::ensure!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr).trim()
    );
    let got = out.stdout.split(|&b| b == b'\n').count().saturating_sub(1);
    anyhow::ensure!(
        got >= lines,
        "{cmd:?} printed {got} lines, expected {lines}"
    );
    Ok(ms)
}

/// CPU time of each thread of `pid` so far, in nanoseconds, by thread
/// id: the scheduler's count (`/proc/PID/task/*/schedstat`), since the
/// clock ticks of `/proc/PID/stat` are 10 ms, coarser than the goal.
fn thread_cpu_ns(pid: u32) -> anyhow::Result<std::collections::HashMap<u32, u64>> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task"))
        .with_context(|| format!("process {pid} is gone"))?;
    let mut threads = std::collections::HashMap::new();
    for task in tasks.flatten() {
        // A thread that ended between the listing and the read is left out.
        let Ok(stat) = std::fs::read_to_string(task.path().join("schedstat")) else {
            continue;
        };
        let tid = task.file_name().to_string_lossy().parse::<u32>()?;
        let on_cpu = stat.split_whitespace().next().context("empty schedstat")?;
        threads.insert(tid, on_cpu.parse::<u64>().context("odd schedstat")?);
    }
    Ok(threads)
}

/// Milliseconds spent between two samples: what each thread alive at
/// the end added (all of it, for a thread that began in between). A
/// thread that ended in between (tokio's blocking pool lets idle threads
/// go after 10 s) counts nothing more: its time after the first sample
/// is lost with it.
fn cpu_spent_ms(
    before: &std::collections::HashMap<u32, u64>,
    after: &std::collections::HashMap<u32, u64>,
) -> f64 {
    let ns: u64 = after
        .iter()
        .map(|(tid, ns)| ns.saturating_sub(before.get(tid).copied().unwrap_or(0)))
        .sum();
    ns as f64 / 1e6
}
