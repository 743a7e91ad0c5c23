//! `ETag::parse` on arbitrary bytes.
//!
//! - never panics, and accepts exactly what the grammar `[ "W/" ] DQUOTE *etagc DQUOTE` accepts
//!   (checked against an independent one-line reading of RFC 9110 §8.8.3);
//! - a parsed tag round-trips: `as_bytes` (and its header value) equal the input, `opaque` is
//!   the part between the quotes, `is_weak` says whether the input starts with `W/`;
//! - `Display`, `Debug` and the error's `Display` never panic; errors point inside the input;
//! - the other constructors agree: `FromStr`, `TryFrom<HeaderValue>`, and `ETag::strong` /
//!   `ETag::weak` around the input taken as an opaque tag.
#![no_main]

use http::HeaderValue;
use libfuzzer_sys::fuzz_target;
use tower_conditional::ETag;

/// `etagc = %x21 / %x23-7E / obs-text`.
fn etagc(b: u8) -> bool {
    b == 0x21 || (0x23..=0x7e).contains(&b) || b >= 0x80
}

/// The grammar, read straight from RFC 9110 §8.8.3.
fn grammar_accepts(data: &[u8]) -> bool {
    let quoted = data.strip_prefix(b"W/").unwrap_or(data);
    quoted.len() >= 2
        && quoted[0] == b'"'
        && quoted[quoted.len() - 1] == b'"'
        && quoted[1..quoted.len() - 1].iter().all(|&b| etagc(b))
}

fuzz_target!(|data: &[u8]| {
    let parsed = ETag::parse(data);
    assert_eq!(
        parsed.is_ok(),
        grammar_accepts(data),
        "{data:?}: {parsed:?}"
    );
    match &parsed {
        Ok(tag) => {
            assert_eq!(tag.as_bytes(), data);
            assert_eq!(HeaderValue::from(tag).as_bytes(), data);
            assert_eq!(HeaderValue::from(tag).as_bytes(), data);
            let weak = data.starts_with(b"W/");
            assert_eq!(tag.is_weak(), weak);
            let start = if weak { 3 } else { 1 };
            assert_eq!(tag.opaque(), &data[start..data.len() - 1]);
            // Display: the wire form, lossily for non-UTF-8 bytes.
            let shown = tag.to_string();
            assert_eq!(shown, String::from_utf8_lossy(data));
            let _ = format!("{tag:?}");
            // The comparisons are reflexive as RFC 9110 §8.8.3.2 says.
            assert!(tag.weak_eq(tag));
            assert_eq!(tag.strong_eq(tag), !weak);
            // Rebuilt from its opaque part, it is the same tag.
            let rebuilt = if weak {
                ETag::weak(tag.opaque())
            } else {
                ETag::strong(tag.opaque())
            };
            assert_eq!(rebuilt.as_ref(), Ok(tag));
        }
        Err(error) => {
            assert!(error.position() <= data.len(), "{error} for {data:?}");
            let _ = error.to_string();
            let _ = format!("{error:?}");
        }
    }

    // FromStr agrees on UTF-8 input.
    if let Ok(text) = std::str::from_utf8(data) {
        assert_eq!(text.parse::<ETag>(), parsed);
    }
    // So does TryFrom<HeaderValue>, for every input a header can carry (a valid tag always can).
    match HeaderValue::from_bytes(data) {
        Ok(value) => {
            assert_eq!(ETag::try_from(&value), parsed);
            assert_eq!(ETag::try_from(value), parsed);
        }
        Err(_) => assert!(
            parsed.is_err(),
            "a valid tag that is no header value: {data:?}"
        ),
    }

    // The input as an opaque tag: accepted exactly when it is all etagc bytes.
    let all_etagc = data.iter().all(|&b| etagc(b));
    for weak in [false, true] {
        let built = if weak {
            ETag::weak(data)
        } else {
            ETag::strong(data)
        };
        assert_eq!(built.is_ok(), all_etagc, "{data:?}");
        match built {
            Ok(tag) => {
                assert_eq!(tag.opaque(), data);
                assert_eq!(tag.is_weak(), weak);
                let reparsed = ETag::parse(tag.as_bytes()).expect("a built tag parses");
                assert_eq!(reparsed, tag);
                assert!(fuzz_support::is_clean_header_value(tag.as_bytes()));
            }
            Err(error) => {
                assert!(error.position() < data.len());
                assert!(!etagc(data[error.position()]));
                let _ = error.to_string();
            }
        }
    }
});
