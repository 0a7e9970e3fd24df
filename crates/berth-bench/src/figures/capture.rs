//! Figure 4: print a session's whole history and screen after
//! `history_lines` lines of output; the client command's wall time, from
//! start to its last byte of output.

use std::time::{Duration, Instant};

use anyhow::ensure;

use super::{sh_quote, Ctx};
use crate::fifo::Fifo;
use crate::systems::{Run, System};

/// Milliseconds for one capture, after one untimed warm-up capture.
pub fn measure(ctx: &Ctx, system: System) -> anyhow::Result<Option<f64>> {
    if matches!(system, System::Raw | System::Dtach) {
        return Ok(None);
    }
    let dir = ctx.work.fresh("cap")?;
    let mut run = Run::new(system, dir.clone(), &ctx.bins)?;
    let done = Fifo::new(&dir.join("done"))?;
    let program = format!(
        "cat {}; echo > {}; exec sleep 1000000",
        sh_quote(&ctx.lines),
        sh_quote(done.path())
    );
    let session = run.start("cap", &program)?;
    done.wait(Duration::from_secs(30))?;
    let want = ctx.sizes.history_lines;
    // The warm-up also waits for the session to take in all the output.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let got = run.capture(&session, want)?.unwrap_or(0);
        if got >= want || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let t0 = Instant::now();
    let lines = run.capture(&session, want)?.unwrap_or(0);
    let ms = t0.elapsed().as_secs_f64() * 1e3;
    ensure!(
        lines >= want,
        "{} captured {lines} lines, expected at least {want}",
        system.name()
    );
    Ok(Some(ms))
}
