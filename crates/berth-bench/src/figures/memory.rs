//! Figure 3: memory per idle session after `history_lines` lines of 80
//! columns, with 10,000 lines of scrollback, over several sessions.
//!
//! Proportional set size (PSS) counts a page shared by k processes as 1/k
//! to each, so a binary's code shared by every berth host or screen process
//! is not counted once per session. berth, screen and dtach: the session
//! processes' PSS, per session. tmux, one server for all sessions: the
//! server's growth from one session to all of them, per added session.

use std::time::Duration;

use super::{sh_quote, Ctx};
use crate::fifo::Fifo;
use crate::procs;
use crate::systems::{Run, System};

/// Sessions' memory once idle: (PSS KiB per session, RSS KiB per session).
pub fn measure(ctx: &Ctx, system: System) -> anyhow::Result<Option<(f64, f64)>> {
    if system == System::Raw {
        return Ok(None);
    }
    let dir = ctx.work.fresh("mem")?;
    let mut run = Run::new(system, dir.clone(), &ctx.bins)?;
    let n = ctx.sizes.memory_sessions.max(2);
    let mut base = None;
    for i in 0..n {
        let done = Fifo::new(&dir.join(format!("done{i}")))?;
        let program = format!(
            "cat {}; echo > {}; exec sleep 1000000",
            sh_quote(&ctx.lines),
            sh_quote(done.path())
        );
        run.start(&format!("m{i}"), &program)?;
        done.wait(Duration::from_secs(30))?;
        if i == 0 && system == System::Tmux {
            base = Some(settled(&run)?);
        }
    }
    let (pss, rss) = settled(&run)?;
    Ok(Some(match base {
        Some((pss0, rss0)) => (
            (pss - pss0) as f64 / (n - 1) as f64,
            (rss - rss0) as f64 / (n - 1) as f64,
        ),
        None => (pss as f64 / n as f64, rss as f64 / n as f64),
    }))
}

/// Total (PSS, RSS) of the run's processes once two readings 100 ms apart
/// agree within 1% (the sessions finished taking in their output).
fn settled(run: &Run) -> anyhow::Result<(u64, u64)> {
    let read = || -> anyhow::Result<(u64, u64)> {
        let pids = run.processes()?;
        anyhow::ensure!(!pids.is_empty(), "found no session processes");
        Ok(pids.iter().fold((0, 0), |(p, r), &pid| {
            (
                p + procs::pss_kib(pid).unwrap_or(0),
                r + procs::rss_kib(pid).unwrap_or(0),
            )
        }))
    };
    let mut last = read()?;
    for _ in 0..50 {
        std::thread::sleep(Duration::from_millis(100));
        let now = read()?;
        if now.0.abs_diff(last.0) * 100 <= last.0 {
            return Ok(now);
        }
        last = now;
    }
    Ok(last)
}
