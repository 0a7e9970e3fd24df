//! Output as the inside of a JSON string, in one pass from the bytes the
//! program wrote: what a recording spends most of its time on in a flood,
//! so it looks at eight bytes at a time and copies runs that need no
//! escape whole. Same escapes as serde_json (the property test holds it to
//! that); bytes that are not UTF-8 become U+FFFD, as asciinema records them.

/// Appends `text` (UTF-8) to `out`, escaped for the inside of a JSON string.
pub fn escape(out: &mut Vec<u8>, text: &[u8]) {
    let mut start = 0;
    let mut i = 0;
    while i < text.len() {
        // Whole words with nothing to escape are skipped.
        while let Some(word) = text.get(i..i + 8) {
            let word = u64::from_le_bytes(word.try_into().expect("eight bytes"));
            if needs_escape(word) {
                break;
            }
            i += 8;
        }
        // This word holds one at least (or it is the last, short one):
        // byte by byte up to the first, which is escaped.
        let end = (i + 8).min(text.len());
        while i < end {
            let b = text[i];
            i += 1;
            if b < 0x20 || b == b'"' || b == b'\\' {
                out.extend_from_slice(&text[start..i - 1]);
                push_escape(out, b);
                start = i;
                break;
            }
        }
    }
    out.extend_from_slice(&text[start..]);
}

/// Appends `bytes` escaped as [`escape`] does, their invalid UTF-8 as
/// U+FFFD; returns where an incomplete character at their end starts
/// (`bytes.len()` when none is), which the caller keeps for the next bytes.
pub fn escape_lossy(out: &mut Vec<u8>, bytes: &[u8]) -> usize {
    // The usual case, all of it UTF-8, checked fast; std says where not.
    if simdutf8::basic::from_utf8(bytes).is_ok() {
        escape(out, bytes);
        return bytes.len();
    }
    let mut rest = bytes;
    loop {
        match std::str::from_utf8(rest) {
            Ok(_) => {
                escape(out, rest);
                return bytes.len();
            }
            Err(e) => {
                let (good, bad) = rest.split_at(e.valid_up_to());
                escape(out, good);
                match e.error_len() {
                    Some(n) => {
                        out.extend_from_slice("\u{fffd}".as_bytes());
                        rest = &bad[n..];
                    }
                    None => return bytes.len() - bad.len(),
                }
            }
        }
    }
}

/// Whether any of the eight bytes in `word` is below 0x20, `"` or `\`.
/// (The has-less and has-zero word tricks: exact as "any", which is all
/// that is asked.)
fn needs_escape(word: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero_in = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    let control = word.wrapping_sub(ONES * 0x20) & !word & HIGH;
    let quote = zero_in(word ^ (ONES * u64::from(b'"')));
    let backslash = zero_in(word ^ (ONES * u64::from(b'\\')));
    control | quote | backslash != 0
}

fn push_escape(out: &mut Vec<u8>, b: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    match b {
        b'"' => out.extend_from_slice(b"\\\""),
        b'\\' => out.extend_from_slice(b"\\\\"),
        b'\n' => out.extend_from_slice(b"\\n"),
        b'\r' => out.extend_from_slice(b"\\r"),
        b'\t' => out.extend_from_slice(b"\\t"),
        0x08 => out.extend_from_slice(b"\\b"),
        0x0c => out.extend_from_slice(b"\\f"),
        _ => out.extend_from_slice(&[
            b'\\',
            b'u',
            b'0',
            b'0',
            HEX[usize::from(b >> 4)],
            HEX[usize::from(b & 0xf)],
        ]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn escaped(text: &str) -> String {
        let mut out = Vec::new();
        escape(&mut out, text.as_bytes());
        String::from_utf8(out).unwrap()
    }

    fn serde(text: &str) -> String {
        let quoted = serde_json::to_string(text).unwrap();
        quoted[1..quoted.len() - 1].to_owned()
    }

    #[test]
    fn every_byte_that_needs_it_is_escaped_as_serde_json_does() {
        let all: String = (0u8..0x80).map(char::from).collect();
        assert_eq!(escaped(&all), serde(&all));
        assert_eq!(
            escaped("\u{1b}[31mred\u{1b}[0m \"q\" \\ é€"),
            serde("\u{1b}[31mred\u{1b}[0m \"q\" \\ é€")
        );
    }

    #[test]
    fn a_cut_character_is_left_for_later_and_bad_bytes_are_replaced() {
        let mut out = Vec::new();
        let euro = "€".as_bytes();
        assert_eq!(escape_lossy(&mut out, &[b'a', euro[0], euro[1]]), 1);
        assert_eq!(out, b"a");
        out.clear();
        assert_eq!(escape_lossy(&mut out, b"x\xffy\n"), 4);
        assert_eq!(String::from_utf8(out).unwrap(), "x\u{fffd}y\\n");
    }

    proptest! {
        #[test]
        fn it_is_serde_json_for_any_text(text in "(\\PC|[\\x00-\\x1f\"\\\\]){0,64}") {
            prop_assert_eq!(escaped(&text), serde(&text));
        }

        #[test]
        fn lossy_is_serde_json_of_the_lossy_text(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let mut out = Vec::new();
            let whole = escape_lossy(&mut out, &bytes);
            let lossy = String::from_utf8_lossy(&bytes[..whole]).into_owned();
            prop_assert_eq!(String::from_utf8(out).unwrap(), serde(&lossy));
        }
    }
}
