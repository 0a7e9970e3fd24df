//! The emulators issue 14 named, fed the bench's streams in-process: what
//! taking a stream into a screen with 10,000 lines of history costs each,
//! with no PTY, no process and no log in the way.
//!
//! `cargo run --release -p berth-bench --example emulators [MB]` writes
//! each stream (MB megabytes, default 64) as the bench does, then feeds it
//! as the PTY hands it on (newlines as CR LF) in 4 KiB reads (what a PTY
//! read gives the host) to:
//! - berth's host terminal (`berth_session::terminal::Terminal`: the fast
//!   path, vt100 behind it for what the fast path does not take);
//! - vt100 alone (what the host did before the fast path);
//! - avt (asciinema's emulator);
//! - alacritty_terminal (vte's parser and alacritty's grid).
//!
//! Each is given the best of three runs; a checksum of what each shows at
//! the end keeps the work from being optimised away.

#[path = "../src/env.rs"]
#[allow(dead_code)]
mod env;
#[path = "../src/streams.rs"]
#[allow(dead_code)]
mod streams;

use std::time::{Duration, Instant};

use alacritty_terminal::grid::Dimensions;
use streams::Stream;

const COLS: usize = 80;
const ROWS: usize = 24;
const HISTORY: usize = 10_000;
const READ: usize = 4096;

/// Takes a whole stream; returns a checksum of the end state.
type Feed = fn(&[u8]) -> usize;

struct Size;

impl Dimensions for Size {
    fn total_lines(&self) -> usize {
        ROWS
    }
    fn screen_lines(&self) -> usize {
        ROWS
    }
    fn columns(&self) -> usize {
        COLS
    }
}

fn berth(bytes: &[u8]) -> usize {
    let mut t = berth_session::terminal::Terminal::new(COLS as u16, ROWS as u16, HISTORY);
    for chunk in bytes.chunks(READ) {
        t.process(chunk);
    }
    t.settle();
    t.history_len() + t.screen().contents().len()
}

fn vt100_alone(bytes: &[u8]) -> usize {
    let mut p = vt100::Parser::new(nz(ROWS), nz(COLS), HISTORY);
    for chunk in bytes.chunks(READ) {
        p.process(chunk);
    }
    p.screen().contents().len()
}

fn avt(bytes: &[u8]) -> usize {
    let mut t = avt::Terminal::with_scrollback(COLS, ROWS, Some(HISTORY)).expect("size");
    // avt takes text: decoded per read as a host using it would, with a
    // character cut by the read's end carried into the next.
    let mut carry = Vec::new();
    for chunk in bytes.chunks(READ) {
        carry.extend_from_slice(chunk);
        let valid = match std::str::from_utf8(&carry) {
            Ok(s) => s.len(),
            Err(e) => e.valid_up_to(),
        };
        let text = std::str::from_utf8(&carry[..valid]).expect("valid prefix");
        t.feed(text);
        carry.drain(..valid);
    }
    t.screen().text().iter().map(String::len).sum()
}

fn alacritty(bytes: &[u8]) -> usize {
    let config = alacritty_terminal::term::Config {
        scrolling_history: HISTORY,
        ..Default::default()
    };
    let mut term =
        alacritty_terminal::Term::new(config, &Size, alacritty_terminal::event::VoidListener);
    let mut parser: alacritty_terminal::vte::ansi::Processor =
        alacritty_terminal::vte::ansi::Processor::new();
    for chunk in bytes.chunks(READ) {
        parser.advance(&mut term, chunk);
    }
    term.grid().total_lines() + term.grid().cursor.point.column.0
}

fn best_of_three(f: Feed, bytes: &[u8]) -> (Duration, usize) {
    let mut best = Duration::MAX;
    let mut check = 0;
    for _ in 0..3 {
        let t0 = Instant::now();
        check = std::hint::black_box(f(bytes));
        best = best.min(t0.elapsed());
    }
    (best, check)
}

fn main() -> anyhow::Result<()> {
    let mb: u64 = std::env::args().nth(1).map_or(Ok(64), |a| a.parse())?;
    let dir = std::env::temp_dir().join(format!("berth-emulators-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let emulators: [(&str, Feed); 4] = [
        ("berth host (fast path + vt100)", berth),
        ("vt100 alone", vt100_alone),
        ("avt", avt),
        ("alacritty_terminal", alacritty),
    ];
    println!(
        "| stream ({mb} MB) | {} |",
        emulators.map(|e| e.0).join(" | ")
    );
    println!("|---|{}", "---|".repeat(emulators.len()));
    for stream in [
        Stream::Plain,
        Stream::Colour,
        Stream::Utf8,
        Stream::Progress,
        Stream::Mixed,
    ] {
        let path = dir.join("stream");
        stream.write(&path, mb << 20)?;
        let bytes = onlcr(&std::fs::read(&path)?);
        let mut cells = Vec::new();
        for (_, f) in emulators {
            let (took, _) = best_of_three(f, &bytes);
            let rate = bytes.len() as f64 / took.as_secs_f64() / 1e6;
            cells.push(format!("{:.2} s ({rate:.0} MB/s)", took.as_secs_f64()));
        }
        println!("| {} | {} |", stream.name(), cells.join(" | "));
    }
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

/// What the PTY's line discipline hands the host for what `cat` wrote:
/// each newline as CR LF (`onlcr`, on by default).
fn onlcr(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + bytes.len() / 32);
    for &b in bytes {
        if b == b'\n' {
            out.push(b'\r');
        }
        out.push(b);
    }
    out
}

fn nz(n: usize) -> std::num::NonZeroU16 {
    std::num::NonZeroU16::new(n as u16).expect("a size")
}
