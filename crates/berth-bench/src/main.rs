//! `berth-bench`: berth side by side with tmux, GNU screen, dtach and a raw
//! PTY, in one run on one machine (issue 6, DESIGN.md "Performance goals").
//!
//! Every figure is measured `--runs` times, the systems in a different
//! order each time, and reported as median (min–max); ratios are against
//! the raw PTY of the same run. Benchmarks are not tests: nothing here
//! asserts a timing. `--quick` runs tiny sizes to prove the harness works.

mod env;
mod fifo;
mod figures;
mod procs;
mod report;
mod stats;
mod streams;
mod systems;
mod term;

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Parser;

use figures::{Ctx, Sizes};
use report::{Figure, Results};
use streams::Stream;
use systems::System;

#[derive(Parser)]
#[command(
    version,
    about = "Benchmarks berth against tmux, GNU screen, dtach and a raw PTY"
)]
struct Args {
    /// Tiny sizes and two runs: proves the harness works, measures nothing.
    #[arg(long)]
    quick: bool,
    /// Also write every sample and summary as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Measurements per figure and system.
    #[arg(long)]
    runs: Option<usize>,
    /// Megabytes `cat` writes in the plain throughput figures.
    #[arg(long, default_value_t = 256)]
    throughput_mb: u64,
    /// Megabytes of each other stream (colour, UTF-8, progress, mixed).
    #[arg(long, default_value_t = 64)]
    stream_mb: u64,
    /// Only these figures: throughput, streams, echo, memory, capture, startup, attach, scale, watch, remote.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Only these systems: raw, berth, berthnolog, berthrecord, tmux, screen, dtach.
    #[arg(long, value_delimiter = ',')]
    systems: Vec<String>,
}

/// The remote verbs' section (its own table: berth only).
const REMOTE: &str = "remote";

const GROUPS: [&str; 9] = [
    "throughput",
    "streams",
    "echo",
    "memory",
    "capture",
    "startup",
    "attach",
    "scale",
    "watch",
];

fn main() -> std::process::ExitCode {
    match run(Args::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("berth-bench: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> anyhow::Result<()> {
    for g in &args.only {
        anyhow::ensure!(
            GROUPS.contains(&g.as_str()) || g == REMOTE,
            "unknown figure {g:?}: expected one of {}, {REMOTE}",
            GROUPS.join(", ")
        );
    }
    for name in &args.systems {
        anyhow::ensure!(
            System::ALL
                .iter()
                .any(|s| format!("{s:?}").to_lowercase() == *name),
            "unknown system {name:?}: expected raw, berth, berthnolog, berthrecord, tmux, screen or dtach"
        );
    }
    let mut systems = Vec::new();
    let mut missing = Vec::new();
    for s in System::ALL {
        let name = format!("{s:?}").to_lowercase();
        if !args.systems.is_empty() && !args.systems.contains(&name) {
            continue;
        }
        match s.program() {
            Some(p) if env::which(p).is_none() => {
                eprintln!("berth-bench: {p} not found on PATH: skipping it (apt-get install tmux screen dtach)");
                missing.push(s);
            }
            _ => systems.push(s),
        }
    }
    let sizes = if args.quick {
        Sizes::quick()
    } else {
        Sizes::full(args.throughput_mb, args.stream_mb)
    };
    let runs = args.runs.unwrap_or(if args.quick { 2 } else { 5 }).max(1);
    raise_open_files();
    let work = env::Workdir::create()?;
    let bins = env::Bins::beside_me()?;
    let wanted = |g: &str| args.only.is_empty() || args.only.iter().any(|o| o == g);
    let mut streams = std::collections::BTreeMap::new();
    for stream in stream_groups(&wanted) {
        let path = work.path.join(format!("{stream:?}.txt").to_lowercase());
        let bytes = sizes.stream_bytes(stream);
        eprintln!(
            "berth-bench: writing {} MB of {}",
            bytes / 1_000_000,
            stream.name()
        );
        stream.write(&path, bytes)?;
        streams.insert(stream, path);
    }
    let lines = work.path.join("lines.txt");
    env::write_base64_lines(&lines, sizes.history_lines, 80)?;
    // Written back now, not during the first measurements.
    nix::unistd::sync();
    let ctx = Ctx {
        work,
        bins,
        sizes: sizes.clone(),
        streams,
        lines,
        recorded: Default::default(),
        host_cpu: Default::default(),
    };
    let machine = env::Machine::read();
    let mut results = Results::default();
    let mut remote_failed = false;

    for group in GROUPS.into_iter().filter(|g| wanted(g)) {
        for run in 0..runs {
            // A different order each run, so drift over time (thermal,
            // other load) spreads over every system alike.
            let mut order = systems.clone();
            order.rotate_left(run % systems.len().max(1));
            for &s in &order {
                if s.throughput_only() && stream_group(group).is_none() {
                    continue;
                }
                measure(&ctx, &mut results, group, s, run, runs);
            }
        }
        for &s in &missing {
            for f in figures_of(group) {
                results.cell(f, s).missing = true;
            }
        }
    }

    let mut shown: Vec<System> = systems.clone();
    shown.extend(&missing);
    shown.sort();
    println!(
        "berth-bench on {} cores, {} GiB, Linux {} ({}); {} runs per figure, median (min–max), ×ratio to the raw PTY\n",
        machine.cores, machine.memory_gib, machine.kernel, machine.cpu, runs
    );
    if GROUPS.iter().any(|g| wanted(g)) {
        println!("{}", results.markdown(&shown, &sizes));
    }
    if let Some(table) =
        report::recording_sizes(&ctx.recorded.lock().unwrap_or_else(|e| e.into_inner()))
    {
        println!("{table}");
    }
    if let Some(table) = report::host_cpu(&ctx.host_cpu.lock().unwrap_or_else(|e| e.into_inner())) {
        println!("{table}");
    }
    if wanted(REMOTE) {
        let samples = if args.quick { 3 } else { 20 };
        match figures::remote::measure(&ctx, samples) {
            Ok(Some(table)) => {
                println!("Remote verbs (berth -H ssh://, a private sshd on loopback):\n\n{table}")
            }
            Ok(None) => {}
            Err(e) => {
                eprintln!("berth-bench: remote verbs failed: {e:#}");
                remote_failed = true;
            }
        }
    }
    if let Some(path) = &args.json {
        let json = serde_json::to_string_pretty(&results.json(&machine, &sizes, runs))?;
        std::fs::write(path, json)
            .with_context(|| format!("failed to write {}", path.display()))?;
    }
    let failed = results.failures() + usize::from(remote_failed);
    anyhow::ensure!(
        failed == 0,
        "{failed} measurement(s) failed (see the table and the lines above)"
    );
    Ok(())
}

/// The streams a throughput group measures; `None` for other groups.
fn stream_group(group: &str) -> Option<&'static [Stream]> {
    match group {
        "throughput" => Some(&[Stream::Plain]),
        "streams" => Some(&Stream::NEW),
        _ => None,
    }
}

/// The streams of the wanted groups, whose files must be written.
fn stream_groups(wanted: &dyn Fn(&str) -> bool) -> Vec<Stream> {
    let mut streams: Vec<Stream> = GROUPS
        .into_iter()
        .filter(|g| wanted(g))
        .filter_map(stream_group)
        .flatten()
        .copied()
        .collect();
    if wanted("watch") && !streams.contains(&figures::watch::STREAM) {
        streams.push(figures::watch::STREAM);
    }
    streams
}

/// 1,000 sessions need more than the usual 1,024 descriptors in berthd
/// (a status connection per host) and in the tmux server (a PTY per
/// session): the soft limit is raised to the hard one, for every process
/// the bench starts.
fn raise_open_files() {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    if let Ok((_, hard)) = getrlimit(Resource::RLIMIT_NOFILE) {
        let _ = setrlimit(Resource::RLIMIT_NOFILE, hard, hard);
    }
}

fn figures_of(group: &str) -> Vec<Figure> {
    if let Some(streams) = stream_group(group) {
        return streams
            .iter()
            .flat_map(|&stream| {
                [false, true].map(|attached| Figure::Throughput { stream, attached })
            })
            .collect();
    }
    match group {
        "echo" => vec![Figure::EchoP50, Figure::EchoP99],
        "memory" => vec![Figure::MemoryRss, Figure::MemoryPss, Figure::MemoryUss],
        "capture" => vec![Figure::Capture],
        "startup" => vec![Figure::Startup],
        "scale" => vec![
            Figure::ScaleStart,
            Figure::ScaleList,
            Figure::ScaleReload,
            Figure::ScaleIdleCpu,
            Figure::ScaleSupervisorRss,
        ],
        "watch" => vec![Figure::WatchDetached, Figure::WatchShown],
        _ => vec![Figure::Attach],
    }
}

/// Measures `group` for `s` once and records it; a failure is recorded
/// and reported, and the benchmark goes on.
fn measure(ctx: &Ctx, results: &mut Results, group: &str, s: System, run: usize, runs: usize) {
    type Task<'a> = Box<dyn Fn() -> anyhow::Result<Vec<(Figure, Option<f64>)>> + 'a>;
    let pair = |a: Figure, b: Figure, v: Option<(f64, f64)>| {
        vec![(a, v.map(|x| x.0)), (b, v.map(|x| x.1))]
    };
    let tasks: Vec<(Vec<Figure>, Task)> = match group {
        "throughput" | "streams" => figures_of(group)
            .into_iter()
            .map(|f| -> (Vec<Figure>, Task) {
                let Figure::Throughput { stream, attached } = f else {
                    unreachable!("a throughput group has only throughput figures")
                };
                (
                    vec![f],
                    Box::new(move || {
                        Ok(vec![(
                            f,
                            figures::throughput::measure(ctx, s, stream, attached)?,
                        )])
                    }),
                )
            })
            .collect(),
        "echo" => vec![(
            vec![Figure::EchoP50, Figure::EchoP99],
            Box::new(|| {
                Ok(pair(
                    Figure::EchoP50,
                    Figure::EchoP99,
                    figures::echo::measure(ctx, s)?,
                ))
            }),
        )],
        "memory" => vec![(
            vec![Figure::MemoryRss, Figure::MemoryPss, Figure::MemoryUss],
            Box::new(|| {
                let m = figures::memory::measure(ctx, s)?;
                Ok(vec![
                    (Figure::MemoryRss, m.map(|m| m.rss)),
                    (Figure::MemoryPss, m.map(|m| m.pss)),
                    (Figure::MemoryUss, m.map(|m| m.uss)),
                ])
            }),
        )],
        "capture" => vec![(
            vec![Figure::Capture],
            Box::new(|| Ok(vec![(Figure::Capture, figures::capture::measure(ctx, s)?)])),
        )],
        "startup" => vec![(
            vec![Figure::Startup],
            Box::new(|| Ok(vec![(Figure::Startup, figures::startup::measure(ctx, s)?)])),
        )],
        "scale" => vec![(
            figures_of("scale"),
            Box::new(|| {
                let m = figures::scale::measure(ctx, s)?;
                Ok(vec![
                    (Figure::ScaleStart, m.map(|m| m.start)),
                    (Figure::ScaleList, m.map(|m| m.list)),
                    (Figure::ScaleReload, m.and_then(|m| m.reload)),
                    (Figure::ScaleIdleCpu, m.map(|m| m.idle_cpu)),
                    (Figure::ScaleSupervisorRss, m.map(|m| m.supervisor_rss)),
                ])
            }),
        )],
        "watch" => vec![(
            figures_of("watch"),
            Box::new(|| {
                Ok(pair(
                    Figure::WatchDetached,
                    Figure::WatchShown,
                    figures::watch::measure(ctx, s, run)?,
                ))
            }),
        )],
        _ => vec![(
            vec![Figure::Attach],
            Box::new(|| Ok(vec![(Figure::Attach, figures::attach::measure(ctx, s)?)])),
        )],
    };
    for (figs, task) in tasks {
        match task() {
            Ok(values) => {
                for (f, v) in values {
                    let cell = results.cell(f, s);
                    match v {
                        Some(x) => {
                            eprintln!(
                                "{group} {} run {}/{runs}: {:?} {x:.3} {}",
                                s.name(),
                                run + 1,
                                f,
                                f.unit()
                            );
                            cell.samples.push(x);
                        }
                        None => cell.not_applicable = true,
                    }
                }
            }
            Err(e) => {
                eprintln!("{group} {} run {}/{runs}: failed: {e:#}", s.name(), run + 1);
                for f in figs {
                    results.cell(f, s).error = Some(format!("{e:#}"));
                }
            }
        }
    }
}
