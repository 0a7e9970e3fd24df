//! The terminal against byte streams: history, captures, the plain-text
//! fast path against the emulator fed byte by byte.

use super::*;
use berth_proto::CaptureRequest;
use berth_proto::LineBound::*;

fn term_with(text: &str) -> Terminal {
    let mut t = Terminal::new(10, 3, 100);
    t.process(text.as_bytes());
    t
}

fn cap(
    t: &mut Terminal,
    start: Option<berth_proto::LineBound>,
    end: Option<berth_proto::LineBound>,
    e: bool,
    j: bool,
) -> String {
    t.capture(&CaptureRequest {
        start,
        end,
        escapes: e,
        join: j,
        since: None,
    })
    .text
}

#[test]
fn visible_screen_by_default() {
    let mut t = term_with("one\r\ntwo\r\nthree\r\nfour");
    assert_eq!(cap(&mut t, None, None, false, false), "two\nthree\nfour\n");
    assert_eq!(
        cap(&mut t, Some(Line(-1)), Some(Line(0)), false, false),
        "one\ntwo\n"
    );
    assert_eq!(
        cap(&mut t, Some(Edge), Some(Edge), false, false),
        "one\ntwo\nthree\nfour\n"
    );
}

#[test]
fn wrapped_lines_split_or_join() {
    let mut t = term_with("0123456789abcdef\r\nend");
    assert_eq!(
        cap(&mut t, None, None, false, false),
        "0123456789\nabcdef\nend\n"
    );
    assert_eq!(
        cap(&mut t, None, None, false, true),
        "0123456789abcdef\nend\n"
    );
    // Wrapped across history and screen.
    let mut t = term_with("x\r\ny\r\n0123456789abcdef\r\nend");
    assert_eq!(
        cap(&mut t, Some(Edge), None, false, true),
        "x\ny\n0123456789abcdef\nend\n"
    );
}

#[test]
fn escapes_are_kept_and_reset() {
    let mut t = term_with("\x1b[31mred\x1b[0m\r\nplain\r\n\x1b[1mbold\r\nstill");
    let plain = cap(&mut t, Some(Edge), None, false, false);
    assert_eq!(plain, "red\nplain\nbold\nstill\n");
    let e = cap(&mut t, Some(Edge), None, true, false);
    assert!(e.starts_with("\x1b[31mred\x1b[0m\n"), "{e:?}");
    // Row 2 of the screen ("still") starts in bold: the prefix says so.
    let last = cap(&mut t, Some(Line(2)), None, true, false);
    assert_eq!(last, "\x1b[1mstill\x1b[0m\n");
    let screen = cap(&mut t, None, None, true, false);
    assert_eq!(screen, "plain\n\x1b[1mbold\x1b[0m\n\x1b[1mstill\x1b[0m\n");
}

#[test]
fn alternate_screen_rows_are_not_history() {
    let mut t = term_with("keep\r\n");
    t.process(b"\x1b[?1049h");
    for i in 0..20 {
        t.process(format!("alt {i}\r\n").as_bytes());
    }
    t.process(b"\x1b[?1049l");
    assert_eq!(t.history_len(), 0);
    assert_eq!(cap(&mut t, None, None, false, false), "keep\n\n\n");
}

#[test]
fn marker_keeps_output_and_leaves_the_alternate_screen() {
    let wide = |text: &str| {
        let mut t = Terminal::new(40, 3, 100);
        t.process(text.as_bytes());
        t
    };
    let mut t = wide("one\r\ntwo");
    t.write_marker("marker");
    assert_eq!(
        cap(&mut t, Some(Edge), None, false, false),
        "one\ntwo\n[berth] marker\n\n"
    );
    let mut t = wide("main\r\n\x1b[?1049halt screen");
    t.write_marker("marker");
    assert!(!t.screen().alternate_screen());
    assert_eq!(
        cap(&mut t, None, None, false, false),
        "main\n[berth] marker\n\n"
    );
}

/// Everything a client can observe: history and screen with escapes
/// and wrap flags, the whole state redraw, the cursor.
fn observe(t: &mut Terminal) -> (String, String, String, (u16, u16), usize) {
    let all = |escapes, join| CaptureRequest {
        start: Some(Edge),
        end: Some(Edge),
        escapes,
        join,
        since: None,
    };
    // Line numbers too: the fast path must number lines as the emulator does.
    let numbered =
        |c: super::capture::Captured| format!("{}{:?}{:?}", c.text, c.info.seqs, c.info.cursor);
    (
        numbered(t.capture(&all(true, false))),
        numbered(t.capture(&all(false, true))),
        t.screen().state_formatted(),
        t.screen().cursor_position(),
        t.history_len(),
    )
}

#[test]
fn plain_floods_take_the_fast_path() {
    let mut t = Terminal::new(80, 24, 10_000);
    let line = "x".repeat(79) + "\r\n";
    for _ in 0..1000 {
        t.process(line.as_bytes());
    }
    // Mostly batched: the emulator has not seen most of it yet.
    assert!(t.plain.held() > 0);
    assert!(t.fast);
    let mut exact = Terminal::exact(80, 24, 10_000);
    for _ in 0..1000 {
        exact.process(line.as_bytes());
    }
    assert_eq!(observe(&mut t), observe(&mut exact));
}

#[test]
fn colour_utf8_progress_and_build_log_floods_take_the_fast_path() {
    let colour = |i: usize| {
        format!(
            "\x1b[2m12:00:{i:02}\x1b[0m \x1b[1;31mERROR\x1b[0m \x1b[38;5;208mworker-{i}\x1b[0m {} \x1b[1m0.{i}s\x1b[m\r\n",
            "request handled ".repeat(i % 9)
        )
    };
    let utf8 = |i: usize| format!("café привет 日本語 → {i} ✓ {}\r\n", "λόγος ".repeat(i % 20));
    let progress = |i: usize| {
        let mut s = String::new();
        for step in 0..=20 {
            s += &format!(
                "file-{i}: {step:3}%|{}{}|",
                "█".repeat(step),
                " ".repeat(20 - step)
            );
            s += if step == 20 { "\r\n" } else { "\r" };
        }
        s
    };
    // A build log: compile lines, a 3-line status block redrawn in place,
    // tab-separated test results.
    let mixed = |i: usize| {
        let mut s = String::new();
        for c in 0..4 {
            s += &format!("\x1b[1m\x1b[32m   Compiling\x1b[0m crate-{i}-{c} v1.{i}.0\r\n");
        }
        s += &format!("test case_{i}\t...\t\x1b[32mok\x1b[0m\t{i}ms\r\n");
        s += "\x1b[3A";
        for job in 0..3 {
            s += &format!("\r\x1b[K\x1b[36m  job {job}\x1b[0m building crate-{i} ({i}/500)\r\n");
        }
        s
    };
    // Nothing of the build log after its first blocks left the batch.
    let mut t = Terminal::new(80, 24, 10_000);
    for i in 0..2 {
        t.process(mixed(i).as_bytes());
    }
    t.apply_plain();
    let later: String = (2..500).map(mixed).collect();
    t.process(later.as_bytes());
    // (Rewritten lines are replaced, and the moves and erases are not
    // text, so less is held than was written; a bail at each block would
    // leave one chunk at most.)
    assert!(t.plain.held() > later.len() / 3, "{}", t.plain.held());
    let streams: [&dyn Fn(usize) -> String; 4] = [&colour, &utf8, &progress, &mixed];
    for stream in streams {
        let mut t = Terminal::new(80, 24, 10_000);
        let mut exact = Terminal::exact(80, 24, 10_000);
        for i in 0..500 {
            t.process(stream(i).as_bytes());
            exact.process(stream(i).as_bytes());
        }
        // Batched: the emulator has not seen it yet (the progress bars'
        // redraws are collapsed, so less is held than was written).
        assert!(t.plain.held() > 0, "{}", stream(1));
        assert!(t.fast);
        assert_eq!(observe(&mut t), observe(&mut exact));
    }
}

mod fast_path_matches_the_emulator {
    use super::*;
    use proptest::prelude::*;

    /// What real lines are made of: text, colours and other SGR, UTF-8
    /// (narrow, wide, combining, zero-width, a C1 control), `\r` redraws,
    /// tabs.
    fn token() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            6 => "[a-c ]{1,12}".prop_map(String::into_bytes),
            1 => Just(b"\t".to_vec()),
            2 => prop_oneof![
                Just("\x1b[31m"), Just("\x1b[0m"), Just("\x1b[m"), Just("\x1b[1;44m"),
                Just("\x1b[38;5;200m"), Just("\x1b[48;2;1;2;3m"), Just("\x1b[22;39;49m"),
                Just("\x1b[2;3;4;7m"), Just("\x1b[23;24;27m"), Just("\x1b[92;103m"),
                Just("\x1b[5m"), Just("\x1b[4:3m"), Just("\x1b[38;5m"),
            ].prop_map(|s| s.as_bytes().to_vec()),
            2 => prop_oneof![
                Just("é"), Just("жи"), Just("→"), Just("日本"), Just("🙂"), Just("e\u{301}"),
                Just("\u{200b}"), Just("\u{85}"), Just("\u{ad}"),
            ].prop_map(|s| s.as_bytes().to_vec()),
            1 => Just(b"\r".to_vec()),
        ]
    }

    /// A line of tokens, usually reset and ended as programs end lines.
    fn rich_line() -> impl Strategy<Value = Vec<u8>> {
        (
            prop::collection::vec(token(), 0..10),
            prop_oneof![Just(&b"\x1b[m\r\n"[..]), Just(&b"\r\n"[..]), Just(&b""[..])],
        )
            .prop_map(|(tokens, end)| [tokens.concat(), end.to_vec()].concat())
    }

    /// A status block redrawn in place, as build tools draw one: the
    /// cursor up over the last lines, each erased and written again
    /// (sometimes fewer lines than it went up, or not erased first).
    fn status_block() -> impl Strategy<Value = Vec<u8>> {
        (
            prop_oneof![Just("\x1b[A"), Just("\x1b[1A"), Just("\x1b[2A"), Just("\x1b[3A"), Just("\x1b[0A"), Just("\x1b[9A")],
            prop::collection::vec(
                (
                    prop_oneof![4 => Just("\r\x1b[K"), 1 => Just("\x1b[0K"), 1 => Just("\r"), 1 => Just("")],
                    prop::collection::vec(token(), 0..4),
                    prop_oneof![4 => Just("\r\n"), 1 => Just("\x1b[m\r\n"), 1 => Just("")],
                ),
                0..4,
            ),
        )
            .prop_map(|(up, lines)| {
                let mut out = up.as_bytes().to_vec();
                for (start, tokens, end) in lines {
                    out.extend_from_slice(start.as_bytes());
                    out.extend_from_slice(&tokens.concat());
                    out.extend_from_slice(end.as_bytes());
                }
                out
            })
    }

    /// Pieces of output: mostly lines the fast path takes, with what
    /// breaks it in between.
    fn piece() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            6 => "[a-c ]{0,70}\r\n".prop_map(String::into_bytes),
            3 => status_block(),
            1 => Just(b"\x1b[K".to_vec()),
            2 => "[a-c \t]{0,40}\r\n".prop_map(String::into_bytes),
            6 => rich_line(),
            2 => "[a-c ]{0,20}".prop_map(String::into_bytes),
            1 => "[a-c ]{0,12}\r".prop_map(String::into_bytes),
            1 => Just(b"\r\n".to_vec()),
            1 => Just(b"\r".to_vec()),
            1 => Just(b"\n".to_vec()),
            1 => Just(b"\t".to_vec()),
            1 => Just("é".as_bytes().to_vec()),
            1 => Just(b"\x1b[31m".to_vec()),
            1 => Just(b"\x1b[0m".to_vec()),
            1 => Just(b"\x1b[1;44m".to_vec()),
            1 => Just(b"\x1b[H".to_vec()),
            1 => Just(b"\x1b[2J".to_vec()),
            1 => Just(b"\x1b[3;5r".to_vec()),
            1 => Just(b"\x1b[r".to_vec()),
            1 => Just(b"\x1b[?1049h".to_vec()),
            1 => Just(b"\x1b[?1049l".to_vec()),
            1 => Just(b"\x1b[?6h".to_vec()),
            1 => Just(b"\x1b[?6l".to_vec()),
            1 => Just(b"\x1b[2;3H".to_vec()),
            1 => Just(b"\x1b[K".to_vec()),
            1 => Just(b"\x1b7".to_vec()),
            1 => Just(b"\x1b8".to_vec()),
            1 => Just(b"\x1b[3b".to_vec()),
            1 => Just(b"\x1b[2S".to_vec()),
        ]
    }

    #[derive(Debug, Clone)]
    enum Step {
        /// Output, split into chunks at these points.
        Output(Vec<u8>, Vec<usize>),
        /// Something that reads the state mid-stream.
        Capture,
        Resize(u16, u16),
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            10 => (prop::collection::vec(piece(), 1..40), prop::collection::vec(0usize..4000, 0..6))
                .prop_map(|(p, cuts)| Step::Output(p.concat(), cuts)),
            1 => Just(Step::Capture),
            1 => (4u16..30, 2u16..9).prop_map(|(c, r)| Step::Resize(c, r)),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]
        #[test]
        fn same_screen_and_history(
            cols in 4u16..30,
            rows in 2u16..9,
            scrollback in prop_oneof![Just(0usize), 5usize..300],
            batch_limit in prop_oneof![Just(PLAIN_BATCH), 1usize..400],
            steps in prop::collection::vec(step(), 1..12),
        ) {
            let mut fast = Terminal {
                batch_limit,
                ..Terminal::new(cols, rows, scrollback)
            };
            let mut exact = Terminal::exact(cols, rows, scrollback);
            for step in steps {
                match step {
                    Step::Output(bytes, mut cuts) => {
                        cuts.retain(|&c| c < bytes.len());
                        cuts.sort_unstable();
                        let mut at = 0;
                        for cut in cuts.into_iter().chain([bytes.len()]) {
                            fast.process(&bytes[at..cut]);
                            exact.process(&bytes[at..cut]);
                            at = cut;
                        }
                    }
                    Step::Capture => prop_assert_eq!(observe(&mut fast), observe(&mut exact)),
                    Step::Resize(c, r) => {
                        fast.resize(c, r);
                        exact.resize(c, r);
                    }
                }
            }
            prop_assert_eq!(observe(&mut fast), observe(&mut exact));
        }

        /// A capture sent a slice at a time is the capture taken at once,
        /// wherever the slices cut a wrapped line.
        #[test]
        fn a_capture_in_slices_is_the_capture_at_once(
            cols in 4u16..30,
            rows in 2u16..9,
            scrollback in prop_oneof![Just(0usize), 5usize..300],
            pieces in prop::collection::vec(piece(), 1..80),
            slice in 1u64..40,
            escapes in any::<bool>(),
            join in any::<bool>(),
            since in prop::option::of(0u64..100),
        ) {
            let mut t = Terminal::new(cols, rows, scrollback);
            t.process(&pieces.concat());
            let req = CaptureRequest {
                start: Some(Edge),
                escapes,
                join,
                since,
                ..Default::default()
            };
            let whole = t.capture(&req);
            let mut stream = t.capture_stream(&req);
            let (mut text, mut seqs, mut wrapped) = (String::new(), Vec::new(), Vec::new());
            while !stream.done() {
                let part = t.capture_slice(&mut stream, slice);
                text.push_str(&part.text);
                seqs.extend(part.seqs);
                wrapped.extend(part.wrapped);
            }
            prop_assert_eq!(text, whole.text);
            prop_assert_eq!(seqs, whole.info.seqs);
            prop_assert_eq!(wrapped, whole.info.wrapped);
            prop_assert_eq!(stream.lines, whole.lines);
            prop_assert_eq!(stream.info.missed, whole.info.missed);
        }
    }
}

#[test]
fn binary_junk_does_not_panic_and_history_is_bounded() {
    let mut t = Terminal::new(80, 24, 50);
    let mut x: u32 = 1;
    let mut junk = vec![0u8; 1 << 20];
    for b in junk.iter_mut() {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        *b = x as u8;
    }
    t.process(&junk);
    assert!(t.history_len() <= 50);
    let n = t
        .capture(&CaptureRequest {
            start: Some(Edge),
            ..Default::default()
        })
        .lines;
    assert!(n <= 74);
}

#[test]
fn line_numbers_only_grow_across_trimming() {
    let mut t = Terminal::new(20, 4, 5);
    for i in 0..12 {
        t.process(format!("line {i}\r\n").as_bytes());
    }
    // 12 lines and a blank bottom row on a 4-row screen: 9 scrolled off,
    // 5 kept.
    let all = CaptureRequest {
        start: Some(berth_proto::LineBound::Edge),
        ..Default::default()
    };
    let c = t.capture(&all);
    assert_eq!(c.info.first_seq, 4);
    assert_eq!(c.info.seqs, (4..13).collect::<Vec<u64>>());
    assert_eq!(c.text.lines().next(), Some("line 4"));
    assert_eq!(c.info.cursor.seq, 12);
    assert_eq!((c.info.cursor.row, c.info.cursor.col), (3, 0));
    // Since 9: lines 10 on; since 1: lines 2 and 3 already left history.
    let mut since = |s| {
        t.capture(&CaptureRequest {
            since: Some(s),
            ..Default::default()
        })
    };
    let c = since(9);
    assert_eq!(
        c.text.lines().collect::<Vec<_>>(),
        ["line 10", "line 11", ""]
    );
    assert_eq!((c.info.seqs[0], c.info.missed), (10, 0));
    let c = since(1);
    assert_eq!((c.info.seqs[0], c.info.missed), (4, 2));
}

#[test]
fn wrapped_rows_are_one_line_numbered_by_its_first_row() {
    let mut t = Terminal::new(10, 8, 100);
    t.process(b"$ echo 0123456789abcd\r\nout\r\n$ ");
    let l = t.lines_from(0, 4096);
    assert_eq!(l.lines[0], (0, "$ echo 0123456789abcd".to_owned()));
    assert_eq!(l.lines[1], (3, "out".to_owned()));
    assert_eq!(l.lines[2], (4, "$".to_owned()));
    // The rest of a line that started before is not a line of its own.
    assert_eq!(t.lines_from(1, 4096).lines[0], (3, "out".to_owned()));
    let from = super::Pos { seq: 0, col: 2 };
    let to = t.cursor();
    assert_eq!(to, super::Pos { seq: 4, col: 2 });
    assert_eq!(t.text_between(from, to).0, "echo 0123456789abcd\nout\n$");
}

#[test]
fn shell_marks_are_seen_where_the_cursor_is() {
    let mut t = Terminal::new(20, 4, 100);
    t.process(b"\x1b]133;A\x07$ \x1b]133;B\x07ls\r\n\x1b]133;C\x07a b\r\n\x1b]133;D;2\x07");
    let marks = t.take_marks();
    use super::{Mark, Pos};
    assert_eq!(
        marks,
        [
            (Mark::PromptStart, Pos { seq: 0, col: 0 }),
            (Mark::CommandStart, Pos { seq: 0, col: 2 }),
            (Mark::OutputStart, Pos { seq: 1, col: 0 }),
            (Mark::Finished(Some(2)), Pos { seq: 2, col: 0 }),
        ]
    );
    assert!(t.take_marks().is_empty());
    assert_eq!(t.text_between(marks[2].1, marks[3].1).0, "a b\n");
}

#[test]
fn lines_read_a_slice_at_a_time_are_the_lines_read_at_once() {
    let mut t = Terminal::new(10, 3, 1000);
    for i in 0..200 {
        // Every seventh line wraps over three rows.
        let text = match i % 7 {
            0 => format!("long line {i} {}", "x".repeat(14)),
            _ => format!("line {i}"),
        };
        t.process(format!("{text}\r\n").as_bytes());
    }
    let whole = t.lines_from(0, u64::MAX);
    assert!(!whole.more);
    // Any slice that holds the longest line (three rows).
    for limit in [3, 4, 5, 7, 64] {
        let (mut from, mut got) = (0, Vec::new());
        loop {
            let slice = t.lines_from(from, limit);
            assert!(slice.settled > from || !slice.more, "progress");
            got.extend(slice.lines.into_iter().filter(|l| l.0 >= from));
            if !slice.more {
                break;
            }
            from = slice.settled;
        }
        assert_eq!(got, whole.lines, "slices of {limit} rows");
    }
}
