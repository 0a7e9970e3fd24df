//! Figure 8: what `berth watch` costs a session it shows. The mixed build
//! log is `cat` in a session, once detached and once while `berth watch`
//! shows it beside two other sessions (in a terminal read as fast as a
//! terminal would); the clock runs as in the throughput figure. berth only:
//! the peers have no such view (a tmux window of three panes is one server
//! drawing all three, which the attached figures already measure).

use std::time::Duration;

use anyhow::Context as _;

use super::{sh_quote, Ctx};
use crate::fifo::Fifo;
use crate::streams::Stream;
use crate::systems::{Run, System};
use crate::term::Term;

/// The stream `cat` writes: the realistic one (colour, redraws, wrapping).
pub const STREAM: Stream = Stream::Mixed;

/// Seconds to `cat` the stream (detached, shown in watch), or `None` for
/// systems other than berth. The order alternates with `run`, so drift
/// over time weighs on both alike.
pub fn measure(ctx: &Ctx, system: System, run: usize) -> anyhow::Result<Option<(f64, f64)>> {
    if system != System::Berth {
        return Ok(None);
    }
    let (detached, shown) = if run.is_multiple_of(2) {
        let d = once(ctx, false)?;
        (d, once(ctx, true)?)
    } else {
        let s = once(ctx, true)?;
        (once(ctx, false)?, s)
    };
    Ok(Some((detached, shown)))
}

fn once(ctx: &Ctx, watched: bool) -> anyhow::Result<f64> {
    let file = ctx
        .streams
        .get(&STREAM)
        .ok_or_else(|| anyhow::anyhow!("no file was written for {}", STREAM.name()))?;
    let dir = ctx.work.fresh("watch")?;
    let gate = dir.join("gate");
    nix::unistd::mkfifo(&gate, nix::sys::stat::Mode::from_bits_truncate(0o600))?;
    let start = Fifo::new(&dir.join("start"))?;
    let done = Fifo::new(&dir.join("done"))?;
    // The program waits at the gate until the view (if any) is up.
    let program = format!(
        "read x < {}; echo > {}; cat {}; echo > {}; exec sleep 1000000",
        sh_quote(&gate),
        sh_quote(start.path()),
        sh_quote(file),
        sh_quote(done.path()),
    );
    let mut run = Run::new(System::Berth, dir.clone(), &ctx.bins)?;
    let session = run.start("build", &program)?;
    let _view = if watched {
        // Two neighbours: a quiet shell and a clock that ticks.
        run.start("shell", "exec sleep 1000000")?;
        run.start("clock", "while :; do date; sleep 1; done")?;
        let runtime = run.runtime_dir();
        let runtime = runtime.to_str().context("a runtime path that is UTF-8")?;
        let term = Term::spawn(
            &ctx.bins.berth,
            &["watch", "--runtime-dir", runtime, "build", "shell", "clock"],
            &[],
        )?;
        let drain = term.drain()?;
        // Up once the view holds a connection to each session.
        for name in ["build", "shell", "clock"] {
            run.wait_clients(&run.session(name), 1)?;
        }
        Some((term, drain))
    } else {
        None
    };
    std::fs::write(&gate, b"go\n").context("failed to open the gate")?;
    let t0 = start.wait(Duration::from_secs(30))?;
    let t1 = done.wait(Duration::from_secs(900))?;
    drop(session);
    Ok((t1 - t0).as_secs_f64())
}
