//! Figure 1: `cat` of a large file of one stream (plain lines, colour,
//! UTF-8, progress bars, a build log) in a session, detached or with one
//! client attached that reads as fast as a terminal would. The clock runs
//! from the program's start to `cat`'s exit, both signalled through FIFOs,
//! so session start-up is not counted. When `cat` exits the host has read
//! all but what the kernel's PTY buffer holds.

use std::time::Duration;

use super::{sh_quote, Ctx};
use crate::fifo::Fifo;
use crate::streams::Stream;
use crate::systems::{Run, System};
use crate::term::Term;

/// Seconds to `cat` the stream's file, or `None` where the figure does not apply.
pub fn measure(
    ctx: &Ctx,
    system: System,
    stream: Stream,
    attached: bool,
) -> anyhow::Result<Option<f64>> {
    if system == System::Raw && attached {
        return Ok(None);
    }
    let file = ctx
        .streams
        .get(&stream)
        .ok_or_else(|| anyhow::anyhow!("no file was written for {}", stream.name()))?;
    let dir = ctx.work.fresh("tp")?;
    let start = Fifo::new(&dir.join("start"))?;
    let done = Fifo::new(&dir.join("done"))?;
    let program = format!(
        "{}echo > {}; cat {}; echo > {}",
        if attached { "read x; " } else { "" },
        sh_quote(start.path()),
        sh_quote(file),
        sh_quote(done.path()),
    );
    let limit = Duration::from_secs(900);
    if system == System::Raw {
        let term = Term::spawn("sh".as_ref(), &["-c", &program], &[])?;
        let _drain = term.drain()?;
        let t0 = start.wait(Duration::from_secs(30))?;
        let t1 = done.wait(limit)?;
        return Ok(Some((t1 - t0).as_secs_f64()));
    }
    let mut run = Run::new(system, dir, &ctx.bins)?;
    let session = run.start("tp", &program)?;
    let t0 = if attached {
        let mut client = run.attach(&session)?;
        let _drain = client.drain()?;
        // The program waits for a line typed through the client, which
        // proves the client is attached. Typed again until it arrives, as
        // some clients flush input while they set up.
        let mut t0 = None;
        for _ in 0..50 {
            client.write(b"go\r")?;
            if let Some(t) = start.poll(Duration::from_millis(200)) {
                t0 = Some(t);
                break;
            }
        }
        let t0 = t0.ok_or_else(|| {
            anyhow::anyhow!("the attached client never passed a line to the program")
        })?;
        let t1 = done.wait(limit)?;
        host_cpu(ctx, &run, stream, true, file)?;
        drop(client);
        return Ok(Some((t1 - t0).as_secs_f64()));
    } else {
        start.wait(Duration::from_secs(30))?
    };
    let t1 = done.wait(limit)?;
    host_cpu(ctx, &run, stream, false, file)?;
    if system == System::BerthRecord {
        let output = std::fs::metadata(file)?.len();
        let recorded = settled_size(&run.dir.join("logs"), "tp.cast");
        ctx.recorded
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((stream, output, recorded));
    }
    drop(run);
    Ok(Some((t1 - t0).as_secs_f64()))
}

/// The CPU seconds a berth run's host used, once it stopped using more
/// (its log and recording may still be writing when the program is done).
fn host_cpu(
    ctx: &Ctx,
    run: &Run,
    stream: Stream,
    attached: bool,
    file: &std::path::Path,
) -> anyhow::Result<()> {
    if !matches!(run.system, System::Berth | System::BerthRecord) {
        return Ok(());
    }
    let last = settled(|| -> f64 {
        run.processes()
            .unwrap_or_default()
            .into_iter()
            .filter_map(crate::procs::cpu_seconds)
            .sum()
    });
    let bytes = std::fs::metadata(file)?.len();
    ctx.host_cpu
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(super::HostCpu {
            system: run.system,
            stream,
            attached,
            bytes,
            seconds: last,
        });
    Ok(())
}

/// The bytes of every file in `dir` named `name` or `name.N`, once they
/// stop growing (the recording's thread may still be writing when the
/// program is done).
fn settled_size(dir: &std::path::Path, name: &str) -> u64 {
    let total = || -> u64 {
        std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| {
                let n = e.file_name();
                let n = n.to_string_lossy();
                n == name || n.strip_prefix(name).is_some_and(|r| r.starts_with('.'))
            })
            .filter_map(|e| e.metadata().ok())
            .map(|m| m.len())
            .sum()
    };
    settled(total)
}

/// `read()` once it reads the same twice 100 ms apart (at most 10 s).
fn settled<T: PartialEq>(read: impl Fn() -> T) -> T {
    let mut last = read();
    for _ in 0..100 {
        std::thread::sleep(Duration::from_millis(100));
        let now = read();
        if now == last {
            break;
        }
        last = now;
    }
    last
}
