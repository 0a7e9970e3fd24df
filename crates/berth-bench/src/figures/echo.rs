//! Figure 2: keystroke echo round trip through an attached client. The
//! benchmark is the user's terminal: it writes one key to the client's PTY
//! and times until the key comes back, echoed by `cat` in the session (the
//! session's terminal in raw mode, so the program, not the kernel, echoes).

use std::time::{Duration, Instant};

use anyhow::bail;

use super::Ctx;
use crate::fifo::Fifo;
use crate::stats::quantile_sorted;
use crate::systems::{Run, System};
use crate::term::Term;

/// Keys sent before timing starts.
const WARMUP: usize = 20;

/// (p50, p99) in microseconds.
pub fn measure(ctx: &Ctx, system: System) -> anyhow::Result<Option<(f64, f64)>> {
    let dir = ctx.work.fresh("echo")?;
    let start = Fifo::new(&dir.join("start"))?;
    let program = format!(
        "stty raw -echo; echo > {}; exec cat",
        super::sh_quote(start.path())
    );
    let mut run = None;
    let mut term = if system == System::Raw {
        let t = Term::spawn("sh".as_ref(), &["-c", &program], &[])?;
        start.wait(Duration::from_secs(10))?;
        t
    } else {
        let mut r = Run::new(system, dir, &ctx.bins)?;
        let session = r.start("echo", &program)?;
        start.wait(Duration::from_secs(10))?;
        let t = r.attach(&session)?;
        run = Some(r);
        t
    };
    // Attached once a key makes the round trip; then let the client finish
    // drawing before timing anything.
    let mut synced = false;
    for _ in 0..50 {
        term.write(b"q")?;
        if read_until(&mut term, b'q', Duration::from_millis(200))? {
            synced = true;
            break;
        }
    }
    if !synced {
        bail!("no key came back through the attached client");
    }
    while read_until(&mut term, 0, Duration::from_millis(100))? {}
    let mut times = Vec::with_capacity(ctx.sizes.keys);
    for i in 0..WARMUP + ctx.sizes.keys {
        let key = b"xyz"[i % 3];
        let t0 = Instant::now();
        term.write(&[key])?;
        if !read_until(&mut term, key, Duration::from_secs(5))? {
            bail!("key {i} did not come back within 5 s");
        }
        if i >= WARMUP {
            times.push(t0.elapsed().as_secs_f64() * 1e6);
        }
    }
    drop(term);
    drop(run);
    times.sort_by(f64::total_cmp);
    Ok(Some((
        quantile_sorted(&times, 0.5),
        quantile_sorted(&times, 0.99),
    )))
}

/// Reads until `byte` arrives (true) or `limit` passes (false). With byte
/// 0, reads one chunk and says whether anything arrived.
fn read_until(term: &mut Term, byte: u8, limit: Duration) -> anyhow::Result<bool> {
    let deadline = Instant::now() + limit;
    let mut buf = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match term.read_timeout(&mut buf, left)? {
            None => return Ok(false),
            Some(0) => bail!("the client's terminal closed"),
            Some(n) if byte == 0 || buf[..n].contains(&byte) => return Ok(true),
            Some(_) => {}
        }
    }
}
