//! Fuzzing the protocol's parsers with arbitrary input (proptest): whatever
//! a peer sends, decoding returns a frame, a message or an error, never a
//! panic, and never buffers past the limit. The suite runs a short pass;
//! `PROPTEST_CASES=1000000 cargo test -p berth-proto --test fuzz` runs a
//! long one.

use berth_proto::keys::{translate, Modes};
use berth_proto::{
    decode, Decoder, Frame, FrameError, Request, Response, MAX_FRAME_LEN, PREFIX_LEN,
};
use proptest::prelude::*;

/// JSON-shaped text that reaches deep into the message parser: real type
/// tags and keys, wrong types, odd nesting.
fn jsonish() -> impl Strategy<Value = Vec<u8>> {
    let atom = prop_oneof![
        Just("\"type\"".to_owned()),
        Just("\"hello\"".to_owned()),
        Just("\"attach\"".to_owned()),
        Just("\"send\"".to_owned()),
        Just("\"resize\"".to_owned()),
        Just("\"daemon\"".to_owned()),
        Just("\"verb\"".to_owned()),
        Just("\"size\"".to_owned()),
        Just("\"cols\"".to_owned()),
        Just("\"keys\"".to_owned()),
        Just("65535".to_owned()),
        Just("-1".to_owned()),
        Just("1e999".to_owned()),
        Just("null".to_owned()),
        Just("true".to_owned()),
        "\"[^\"\\\\]{0,12}\"",
        "[{}\\[\\]:,]",
    ];
    prop::collection::vec(atom, 0..40).prop_map(|parts| parts.concat().into_bytes())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(512)
    ))]

    #[test]
    fn the_frame_decoder_takes_any_bytes(
        chunks in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..64), 0..32),
        limit in 1usize..=MAX_FRAME_LEN,
    ) {
        let mut d = Decoder::with_limit(limit);
        'feed: for chunk in chunks {
            d.extend(&chunk);
            loop {
                match d.next_frame() {
                    Ok(Some(Frame::Control(p) | Frame::Data(p))) => prop_assert!(p.len() < limit),
                    // What waits is at most one frame begun: its prefix and
                    // less than the limit.
                    Ok(None) => {
                        prop_assert!(d.pending() <= PREFIX_LEN + limit, "{} pending", d.pending());
                        break;
                    }
                    // A connection ends at its first bad frame.
                    Err(FrameError::TooLarge(n, l)) => {
                        prop_assert!(n > l);
                        break 'feed;
                    }
                    Err(_) => break 'feed,
                }
            }
        }
    }

    #[test]
    fn the_message_parser_takes_any_bytes(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = decode::<Request>(&bytes);
        let _ = decode::<Response>(&bytes);
    }

    #[test]
    fn the_message_parser_takes_any_json_shape(bytes in jsonish()) {
        let _ = decode::<Request>(&bytes);
        let _ = decode::<Response>(&bytes);
    }

    #[test]
    fn the_key_parser_takes_any_word(word in ".{0,40}", literal in any::<bool>(), cursor in any::<bool>()) {
        let modes = Modes { application_cursor: cursor };
        let bytes = translate(&word, literal, modes);
        if literal {
            prop_assert_eq!(bytes, word.as_bytes());
        }
    }

    #[test]
    fn the_key_parser_takes_key_like_words(
        word in "(C-|M-|S-){0,3}(Enter|Escape|Up|F[0-9]{1,2}|BSpace|Tab|Space|[a-zA-Z0-9]|[^a-zA-Z0-9]{1,3}){0,2}",
    ) {
        let _ = translate(&word, false, Modes { application_cursor: false });
    }
}
