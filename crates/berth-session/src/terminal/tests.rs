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
    })
    .0
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
    };
    (
        t.capture(&all(true, false)).0,
        t.capture(&all(false, true)).0,
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

mod fast_path_matches_the_emulator {
    use super::*;
    use proptest::prelude::*;

    /// Pieces of output: mostly plain lines, with what breaks the fast
    /// path in between.
    fn piece() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            8 => "[a-c ]{0,70}\r\n".prop_map(String::into_bytes),
            2 => "[a-c ]{0,20}".prop_map(String::into_bytes),
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
    let (_, n) = t.capture(&CaptureRequest {
        start: Some(Edge),
        ..Default::default()
    });
    assert!(n <= 74);
}
