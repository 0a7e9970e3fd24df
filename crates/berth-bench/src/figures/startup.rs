//! Figure 5: from nothing to `startup_sessions` sessions with their programs
//! running. berth: berthd (embedded backend) reading a config that declares
//! them all. Peers: a shell loop creating them one by one, as operators
//! script it. Every program marks itself up with a file (a shell builtin,
//! no extra process) before it execs `sleep`; the clock stops when all
//! marks are there.

use std::fmt::Write as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context as _;

use super::{sh_quote, Ctx};
use crate::env::wait_until;
use crate::systems::{Run, System};

/// Seconds until every program runs.
pub fn measure(ctx: &Ctx, system: System) -> anyhow::Result<Option<f64>> {
    if matches!(
        system,
        System::Raw | System::BerthNoLog | System::BerthRecord
    ) {
        return Ok(None);
    }
    let started = start(ctx, system, ctx.sizes.startup_sessions)?;
    Ok(Some(started.secs))
}

/// `n` sessions started and running; dropping it ends them all.
pub struct Started {
    pub secs: f64,
    /// berthd (berth only).
    pub daemon: Option<std::process::Child>,
    pub run: Run,
}

impl Drop for Started {
    fn drop(&mut self) {
        if let Some(d) = &mut self.daemon {
            let _ = d.kill();
            let _ = d.wait();
        }
    }
}

/// Starts `n` sessions of `system` (berth: through berthd's config) and
/// waits until every program runs.
pub fn start(ctx: &Ctx, system: System, n: usize) -> anyhow::Result<Started> {
    let dir = ctx.work.fresh("up")?;
    let up = dir.join("up");
    std::fs::create_dir(&up)?;
    let mark = |name: &str| format!(": > {}/{name}; exec sleep 1000000", sh_quote(&up));
    let run = Run::new(system, dir.clone(), &ctx.bins)?;
    let t0;
    let mut daemon = None;
    match system {
        System::Raw | System::BerthNoLog | System::BerthRecord => {
            anyhow::bail!("{} has no sessions to start", system.name())
        }
        System::Berth => {
            let mut config = String::from("[defaults]\nsize = \"80x24\"\nscrollback = 10000\n");
            for i in 0..n {
                let name = format!("s{i}");
                let _ = writeln!(
                    config,
                    "[session.{name}]\ncommand = {}",
                    toml_string(&mark(&name))
                );
            }
            let file = dir.join("berth.toml");
            std::fs::write(&file, config)?;
            t0 = Instant::now();
            daemon = Some(
                Command::new(&ctx.bins.berthd)
                    .args(["--user", "--backend", "embedded", "--config"])
                    .arg(&file)
                    .arg("--runtime-dir")
                    .arg(dir.join("run"))
                    .arg("--log-dir")
                    .arg(dir.join("logs"))
                    .arg("--session-binary")
                    .arg(&ctx.bins.session)
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .context("failed to start berthd")?,
            );
        }
        System::Tmux | System::Screen | System::Dtach => {
            let d = sh_quote(&dir);
            let one = match system {
                System::Tmux => format!(
                    "tmux -S {d}/tmux.sock -f {d}/tmux.conf new-session -d -s s$i -x 80 -y 24 \"{}\"",
                    mark("s$i")
                ),
                System::Screen => format!(
                    "SCREENDIR={d}/S screen -c {d}/screenrc -dmS s$i sh -c \"{}\"",
                    mark("s$i")
                ),
                _ => format!("dtach -n {d}/s$i.sock -z sh -c \"{}\"", mark("s$i")),
            };
            let script = format!("i=0; while [ $i -lt {n} ]; do {one}; i=$((i+1)); done");
            t0 = Instant::now();
            let st = Command::new("sh")
                .args(["-c", &script])
                .stdin(Stdio::null())
                .status()?;
            anyhow::ensure!(st.success(), "the {} loop failed", system.name());
        }
    }
    wait_until(
        "every session's program",
        Duration::from_secs(120),
        Duration::from_millis(1),
        || std::fs::read_dir(&up).is_ok_and(|d| d.count() >= n),
    )?;
    Ok(Started {
        secs: t0.elapsed().as_secs_f64(),
        daemon,
        run,
    })
}

fn toml_string(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}
