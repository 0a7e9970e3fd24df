//! Figure 3: memory per idle session after `history_lines` lines of 80
//! columns, with 10,000 lines of scrollback, over several sessions.
//!
//! Three views of the same processes. RSS (what `ps` shows, and what
//! issue 6 asks for) counts every resident page, including the binary's and
//! libc's code that all hosts share; PSS counts a page shared by k
//! processes as 1/k to each; USS counts only pages no other process maps:
//! what one more session adds. berth, screen and dtach: the session
//! processes, per session. tmux, one server for all sessions: the server's
//! growth from one session to all of them, per added session (the same in
//! all three views).

use std::time::Duration;

use super::{sh_quote, Ctx};
use crate::fifo::Fifo;
use crate::procs;
use crate::systems::{Run, System};

/// KiB per idle session.
#[derive(Debug, Clone, Copy)]
pub struct PerSession {
    pub rss: f64,
    pub pss: f64,
    pub uss: f64,
}

/// Totals over the run's processes.
#[derive(Debug, Clone, Copy, Default)]
struct Totals {
    rss: u64,
    pss: u64,
    uss: u64,
}

/// Sessions' memory once idle.
pub fn measure(ctx: &Ctx, system: System) -> anyhow::Result<Option<PerSession>> {
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
    let t = settled(&run)?;
    let per = |v: u64, v0: u64, k: usize| v.saturating_sub(v0) as f64 / k as f64;
    Ok(Some(match base {
        Some(b) => PerSession {
            rss: per(t.rss, b.rss, n - 1),
            pss: per(t.pss, b.pss, n - 1),
            uss: per(t.uss, b.uss, n - 1),
        },
        None => PerSession {
            rss: per(t.rss, 0, n),
            pss: per(t.pss, 0, n),
            uss: per(t.uss, 0, n),
        },
    }))
}

/// Totals over the run's processes once two readings 100 ms apart agree
/// within 1% (the sessions finished taking in their output).
fn settled(run: &Run) -> anyhow::Result<Totals> {
    let read = || -> anyhow::Result<Totals> {
        let pids = run.processes()?;
        anyhow::ensure!(!pids.is_empty(), "found no session processes");
        Ok(pids.iter().fold(Totals::default(), |t, &pid| Totals {
            rss: t.rss + procs::rss_kib(pid).unwrap_or(0),
            pss: t.pss + procs::pss_kib(pid).unwrap_or(0),
            uss: t.uss + procs::uss_kib(pid).unwrap_or(0),
        }))
    };
    let mut last = read()?;
    for _ in 0..50 {
        std::thread::sleep(Duration::from_millis(100));
        let now = read()?;
        if now.pss.abs_diff(last.pss) * 100 <= last.pss {
            return Ok(now);
        }
        last = now;
    }
    Ok(last)
}
