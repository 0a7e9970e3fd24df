//! Figure 6: from starting the attach client to the first full screen on
//! the user's terminal (parsed by a second emulator), for a session whose
//! screen is full of text.

use std::time::{Duration, Instant};

use anyhow::bail;

use super::{sh_quote, Ctx};
use crate::fifo::Fifo;
use crate::systems::{Run, System};
use crate::term::{COLS, ROWS};

/// Milliseconds to the first full screen; `None` for systems that keep no
/// screen to draw (the raw PTY, dtach).
pub fn measure(ctx: &Ctx, system: System) -> anyhow::Result<Option<f64>> {
    if matches!(system, System::Raw | System::Dtach) {
        return Ok(None);
    }
    let dir = ctx.work.fresh("att")?;
    let mut run = Run::new(system, dir.clone(), &ctx.bins)?;
    let ready = Fifo::new(&dir.join("ready"))?;
    let last = ROWS - 1;
    let program = format!(
        "i=1; while [ $i -le {last} ]; do echo row$i; i=$((i+1)); done; printf END; echo > {}; exec sleep 1000000",
        sh_quote(ready.path())
    );
    let session = run.start("att", &program)?;
    ready.wait(Duration::from_secs(10))?;
    // Settle: let the session take in the 24 lines before timing the attach.
    std::thread::sleep(Duration::from_millis(100));
    let t0 = Instant::now();
    let mut client = run.attach(&session)?;
    let mut screen = vt100::Parser::new(nz(ROWS), nz(COLS), 0);
    let mut buf = [0u8; 65536];
    let deadline = t0 + Duration::from_secs(10);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match client.read_timeout(&mut buf, left)? {
            Some(0) => bail!("the client exited before drawing the screen"),
            Some(n) => screen.process(&buf[..n]),
            None => {}
        }
        let text = screen.screen().contents();
        if text.starts_with("row1\n") && text.contains(&format!("row{last}\nEND")) {
            return Ok(Some(t0.elapsed().as_secs_f64() * 1e3));
        }
        if Instant::now() > deadline {
            bail!("no full screen within 10 s; the client drew:\n{text}");
        }
    }
}

fn nz(n: u16) -> std::num::NonZeroU16 {
    std::num::NonZeroU16::new(n).unwrap_or(std::num::NonZeroU16::MIN)
}
