//! The batch on its own: what it takes, what it leaves to the emulator,
//! and how `\r` redraws collapse.

use super::*;

fn lines(p: &PlainLines) -> Vec<String> {
    p.lines()
        .map(|l| String::from_utf8(l.text.to_vec()).unwrap())
        .collect()
}

fn absorb(p: &mut PlainLines, s: &[u8]) -> Absorbed {
    p.absorb(s, 10, 24)
}

#[test]
fn complete_lines_and_a_partial_one() {
    let mut p = PlainLines::default();
    assert_eq!(absorb(&mut p, b"one\r\ntwo\r\nthr"), Absorbed::All);
    assert_eq!(lines(&p), ["one", "two"]);
    assert_eq!(p.take_partial(), b"thr");
    assert_eq!(absorb(&mut p, b"ee\r"), Absorbed::All);
    assert_eq!(absorb(&mut p, b"\n\r\n"), Absorbed::All);
    assert_eq!(lines(&p), ["one", "two", "ee", ""]);
    assert!(!p.has_partial());
}

#[test]
fn stops_at_what_the_emulator_must_see() {
    let cases: [(&[u8], usize); 11] = [
        (b"a\r\nb\x1b[Hc", 4),
        // A lone LF, a tab over a redrawn row or to the row's end, a C1
        // control, a combining accent.
        (b"ab\ncd", 2),
        (b"abc\rx\ty\r\n", 5),
        (b"abcdefghi\tj", 9),
        (b"abcdefghij\tk", 10),
        ("a\u{85}b".as_bytes(), 1),
        ("e\u{301}\r\n".as_bytes(), 1),
        // Attributes left set at the line's end.
        (b"\x1b[31mred\r\n", 8),
        // A wide character that would straddle the row's end (10 columns).
        ("123456789日".as_bytes(), 9),
        // Blink: vt100 ignores it.
        (b"\x1b[5mx", 0),
        // A redraw wider than the screen.
        (b"0123456789ab\rx", 12),
    ];
    for (input, until) in cases {
        let mut p = PlainLines::default();
        assert_eq!(absorb(&mut p, input), Absorbed::Until(until), "{input:?}");
    }
}

#[test]
fn tabs_on_fresh_rows_are_taken() {
    let mut p = PlainLines::default();
    // 10 columns: "a", a tab to column 8, "b", then a wrapped row whose tab
    // also stops inside it.
    assert_eq!(absorb(&mut p, b"a\tbcd\tz\r\n"), Absorbed::All);
    let l = p.lines().next().unwrap();
    assert_eq!((l.cols, l.ascii, l.tabs), (19, false, true));
}

#[test]
fn colour_utf8_and_wide_lines_are_taken() {
    let mut p = PlainLines::default();
    let input = "\x1b[1;31mERROR\x1b[0m café 日本\r\n".as_bytes();
    assert_eq!(absorb(&mut p, input), Absorbed::All);
    let l = p.lines().next().unwrap();
    assert_eq!(
        (l.cols, l.ascii, l.sgr, l.last),
        (15, false, true, Some('本'))
    );
}

#[test]
fn redraws_collapse_to_what_they_leave() {
    let mut p = PlainLines::default();
    assert_eq!(absorb(&mut p, b"10%\r20%\r30% done\rxyz\r"), Absorbed::All);
    // Replayed as the collapsed row, the last two redraws as written.
    assert_eq!(p.take_partial(), b"20%\r30% done\rxyz\r");
    let mut p = PlainLines::default();
    assert_eq!(
        absorb(&mut p, "50% ▉▉\r100% ██\r".as_bytes()),
        Absorbed::All
    );
    assert_eq!(absorb(&mut p, b"ok\r\n"), Absorbed::All);
    assert_eq!(lines(&p), ["ok0% ██"]);
}

#[test]
fn escapes_and_characters_cut_by_a_read_are_completed() {
    let whole = "a\x1b[1;32mé日\x1b[m\r\n".as_bytes();
    for cut in 0..whole.len() {
        let mut p = PlainLines::default();
        assert_eq!(absorb(&mut p, &whole[..cut]), Absorbed::All, "cut at {cut}");
        assert_eq!(absorb(&mut p, &whole[cut..]), Absorbed::All, "cut at {cut}");
        assert_eq!(p.lines().next().unwrap().text, &whole[..whole.len() - 2]);
    }
    // A cut escape that turns out not to be SGR stays in the partial line,
    // replayed to the emulator.
    let mut p = PlainLines::default();
    assert_eq!(absorb(&mut p, b"ab\x1b["), Absorbed::All);
    assert_eq!(absorb(&mut p, b"2J"), Absorbed::Until(0));
    assert_eq!(p.take_partial(), b"ab\x1b[");
}

#[test]
fn rows_wrap_at_the_width() {
    assert_eq!(rows_of(0, 80), 1);
    assert_eq!(rows_of(80, 80), 1);
    assert_eq!(rows_of(81, 80), 2);
    assert_eq!(rows_of(160, 80), 2);
}

#[test]
fn a_status_block_rewrites_the_last_lines_in_place() {
    let mut p = PlainLines::default();
    let block = b"one\r\ntwo\r\nthree\r\n\x1b[2A\r\x1b[K2nd\r\n\x1b[K3rd\r\n";
    assert_eq!(absorb(&mut p, block), Absorbed::All);
    let texts: Vec<&[u8]> = p.lines().map(|l| l.text).collect();
    assert_eq!(texts, [&b"one"[..], b"2nd", b"3rd"]);
    // Left to the emulator: text before the erase, up past the batch or
    // over a wrapped line (10 columns), a redraw inside the block.
    let cases: [(&[u8], usize); 4] = [
        (b"a\r\nb\r\n\x1b[1Ax", 10),
        (b"a\r\n\x1b[2A", 3),
        (b"0123456789ab\r\nc\r\n\x1b[2A", 17),
        (b"a\r\n\x1b[A\x1b[Kb\rc\r\n", 10),
    ];
    for (input, until) in cases {
        let mut p = PlainLines::default();
        assert_eq!(absorb(&mut p, input), Absorbed::Until(until), "{input:?}");
    }
}
