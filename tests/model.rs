//! Property tests: [`evaluate`] against a small reference model written straight from the rule
//! book (RFC 9110 §13 digest), over random combinations of the five conditional header fields,
//! `Range`, resource states and methods.
//!
//! The model does its own parsing (entity tags, lists, `*`, If-Range); only HTTP-dates are
//! parsed with the `httpdate` crate. It shares no code with the crate under test. The model
//! lives in `fuzz/src/model.rs`, shared with the differential fuzz target.

use http::Method;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::Config;
use tower_conditional::{Condition, Decision, Ignored, RangeHandling, evaluate};

use Condition::{IfMatch, IfModifiedSince, IfNoneMatch};

/// The model itself, shared with the `evaluate_differential` fuzz target.
#[path = "../fuzz/src/model.rs"]
mod reference;

use reference::*;

// ---------------------------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------------------------

/// Few opaque tags, so that matches are frequent; one with a comma, one with obs-text.
const OPAQUE: [&[u8]; 5] = [b"a", b"b", b"", b"a,b", b"\xe9"];

const GARBAGE: [&str; 16] = [
    "w/\"a\"",
    "a",
    "\"a",
    "W/a",
    "W/",
    "\"a\" \"b\"",
    "**",
    "\"a b\"",
    "W/ \"a\"",
    "\"a\"b",
    "*\"a\"",
    "'a'",
    "\"a\";",
    "Sun, 06 Nov 1994 08:49:37 GMT",
    "W/\"a",
    "\"",
];

const DATES: [&str; 16] = [
    "Sun, 06 Nov 1994 08:49:36 GMT",
    "Sun, 06 Nov 1994 08:49:37 GMT",
    "Sun, 06 Nov 1994 08:49:38 GMT",
    "Sunday, 06-Nov-94 08:49:36 GMT",
    "Sunday, 06-Nov-94 08:49:37 GMT",
    "Sunday, 06-Nov-94 08:49:38 GMT",
    "Sun Nov  6 08:49:36 1994",
    "Sun Nov  6 08:49:37 1994",
    "Sun Nov  6 08:49:38 1994",
    " Sun, 06 Nov 1994 08:49:37 GMT\t",
    "Thu, 01 Jan 1970 00:00:00 GMT",
    "Fri, 31 Dec 9999 23:59:59 GMT",
    "Wed, 31 Dec 1969 23:59:59 GMT",
    "Wed Dec 31 23:59:59 1969",
    "Sat, 01 Jan 0000 00:00:00 GMT",
    "Wed, 01 Jan 3000 00:00:00 GMT",
];

const BAD_DATES: [&str; 12] = [
    "",
    "yesterday",
    "784111777",
    "Mon, 06 Nov 1994 08:49:37 GMT",
    "Sun, 06 Nov 1994 08:49:37 UTC",
    "Sun, 06 Nov 1994 08:49:37 GMT,",
    "Sun, 06 Nov 1994 08:49:37 GMT, Sun, 06 Nov 1994 08:49:37 GMT",
    "Sun, 06 Nov 1994 24:49:37 GMT",
    "Thu, 31 Dec 1969 23:59:59 GMT",
    "Fri, 29 Feb 1900 00:00:00 GMT",
    "\"a\"",
    "*",
];

/// An opaque tag, mostly `a` so that matches are frequent.
fn opaque() -> impl Strategy<Value = &'static [u8]> {
    prop_oneof![
        6 => Just(OPAQUE[0]),
        2 => Just(OPAQUE[1]),
        1 => select(&OPAQUE[2..]),
    ]
}

/// Weak one time in three.
fn weakness() -> impl Strategy<Value = bool> {
    prop_oneof![2 => Just(false), 1 => Just(true)]
}

fn tag_text() -> impl Strategy<Value = Vec<u8>> {
    (weakness(), opaque()).prop_map(|(weak, opaque)| {
        let mut out = if weak {
            b"W/\"".to_vec()
        } else {
            b"\"".to_vec()
        };
        out.extend_from_slice(opaque);
        out.push(b'"');
        out
    })
}

/// Bytes that `HeaderValue::from_bytes` accepts, biased towards the interesting ones.
fn header_bytes() -> impl Strategy<Value = Vec<u8>> {
    let byte = prop_oneof![
        3 => any::<u8>(),
        2 => select(&b"\"W/*, \tabw"[..]),
    ];
    vec(byte, 0..24).prop_map(|mut bytes| {
        bytes.retain(|&b| b == b'\t' || (b >= 0x20 && b != 0x7f));
        bytes
    })
}

/// One line of an If-Match / If-None-Match field.
fn list_line() -> impl Strategy<Value = Vec<u8>> {
    let item = prop_oneof![
        24 => tag_text(),
        1 => Just(b"*".to_vec()),
        2 => Just(Vec::new()),
        1 => select(&GARBAGE[..]).prop_map(|g| g.as_bytes().to_vec()),
    ];
    let separator = select(&[", ", ",", " ,", " , ", ",,", ",\t"][..]);
    let structured =
        (vec((item, separator), 0..4), prop::bool::weighted(0.2)).prop_map(|(items, trailing)| {
            let mut out = Vec::new();
            let count = items.len();
            for (i, (item, separator)) in items.into_iter().enumerate() {
                out.extend_from_slice(&item);
                if i + 1 < count || trailing {
                    out.extend_from_slice(separator.as_bytes());
                }
            }
            out
        });
    prop_oneof![
        16 => structured,
        3 => Just(b"*".to_vec()),
        1 => header_bytes(),
    ]
}

/// Absent `absent` times in ten; otherwise mostly one line.
fn list_field_lines(absent: u32) -> impl Strategy<Value = Vec<Vec<u8>>> {
    prop_oneof![
        absent * 4 => Just(Vec::new()),
        (10 - absent) * 3 => vec(list_line(), 1..=1),
        10 - absent => vec(list_line(), 2..=3),
    ]
}

fn date_line() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        8 => select(&DATES[..]).prop_map(|d| d.as_bytes().to_vec()),
        2 => select(&BAD_DATES[..]).prop_map(|d| d.as_bytes().to_vec()),
        1 => header_bytes(),
    ]
}

/// Absent `absent` times in ten; otherwise mostly one line.
fn date_field_lines(absent: u32) -> impl Strategy<Value = Vec<Vec<u8>>> {
    prop_oneof![
        absent * 5 => Just(Vec::new()),
        (10 - absent) * 4 => vec(date_line(), 1..=1),
        10 - absent => vec(date_line(), 2..=2),
    ]
}

fn if_range_line() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        6 => tag_text(),
        4 => select(&DATES[..]).prop_map(|d| d.as_bytes().to_vec()),
        1 => select(&BAD_DATES[..]).prop_map(|d| d.as_bytes().to_vec()),
        1 => select(&GARBAGE[..]).prop_map(|g| g.as_bytes().to_vec()),
        1 => select(&["\"a\",", "\"a\", \"a\"", ", \"a\"", " \"a\" ", "\"a\" ,"][..])
            .prop_map(|g| g.as_bytes().to_vec()),
        1 => header_bytes(),
    ]
}

fn if_range_lines() -> impl Strategy<Value = Vec<Vec<u8>>> {
    prop_oneof![
        3 => Just(Vec::new()),
        5 => vec(if_range_line(), 1..=1),
        1 => vec(if_range_line(), 2..=2),
    ]
}

fn method() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => Just("GET"),
        2 => Just("HEAD"),
        2 => Just("PUT"),
        1 => Just("POST"),
        1 => Just("PATCH"),
        2 => Just("DELETE"),
        1 => Just("OPTIONS"),
        1 => Just("CONNECT"),
        1 => Just("TRACE"),
        1 => Just("PROPFIND"),
        1 => Just("get"),
        1 => Just("head"),
        1 => Just("delete"),
    ]
    .prop_map(str::to_owned)
}

fn state() -> impl Strategy<Value = State> {
    let tag = (weakness(), opaque()).prop_map(|(weak, opaque)| Tag {
        weak,
        opaque: opaque.to_vec(),
    });
    let etag = proptest::option::weighted(0.8, tag);
    let modified = proptest::option::weighted(
        0.8,
        (
            prop_oneof![4 => T - 1..=T + 1, 1 => Just(0u64), 1 => Just(253_402_300_799u64)],
            prop_oneof![Just(0u64), Just(999u64), 0..1000u64],
            any::<bool>(),
        ),
    );
    prop_oneof![
        1 => Just(State::Missing),
        4 => (etag, modified).prop_map(|(etag, modified)| State::Present { etag, modified }),
    ]
}

fn request() -> impl Strategy<Value = Request> {
    (
        method(),
        list_field_lines(7),
        list_field_lines(4),
        date_field_lines(4),
        date_field_lines(7),
        if_range_lines(),
        prop_oneof![1 => Just(false), 2 => Just(true)],
    )
        .prop_map(
            |(method, if_match, if_none_match, ims, ius, if_range, range)| Request {
                method,
                if_match,
                if_none_match,
                if_modified_since: ims,
                if_unmodified_since: ius,
                if_range,
                range,
            },
        )
}

/// Every field made of arbitrary header bytes.
fn raw_request() -> impl Strategy<Value = Request> {
    let lines = || {
        prop_oneof![
            1 => Just(Vec::new()),
            1 => vec(header_bytes(), 1..=2),
        ]
    };
    (
        method(),
        lines(),
        lines(),
        lines(),
        lines(),
        lines(),
        any::<bool>(),
    )
        .prop_map(
            |(method, if_match, if_none_match, ims, ius, if_range, range)| Request {
                method,
                if_match,
                if_none_match,
                if_modified_since: ims,
                if_unmodified_since: ius,
                if_range,
                range,
            },
        )
}

fn config() -> Config {
    Config {
        cases: 4000,
        failure_persistence: None,
        ..Config::default()
    }
}
proptest! {
    #![proptest_config(config())]

    #[test]
    fn evaluate_agrees_with_the_model(request in request(), state in state()) {
        let decision = evaluate(&request.method(), &request.headers(), &state.to_crate());
        prop_assert_eq!(Outcome::of(&decision), model(&request, &state));
    }

    #[test]
    fn arbitrary_bytes_never_panic_nor_give_an_unjustified_304(
        request in raw_request(),
        state in state(),
    ) {
        let method = request.method();
        let decision = evaluate(&method, &request.headers(), &state.to_crate());
        if let Decision::NotModified(condition) = decision {
            prop_assert!(
                method == Method::GET || method == Method::HEAD,
                "304 for {}", request.method
            );
            prop_assert!(
                not_modified_is_justified(condition, &request, &state),
                "unjustified 304 ({:?})", condition
            );
        }
        prop_assert_eq!(Outcome::of(&decision), model(&request, &state));
    }
}

/// The model itself, on cases whose answers the rule book states outright.
#[test]
fn the_model_follows_the_rule_book() {
    let present = State::Present {
        etag: Some(Tag {
            weak: false,
            opaque: b"a".to_vec(),
        }),
        modified: Some((T, 700, false)),
    };
    let request = |method: &str, fields: &[(&str, &str)]| {
        let mut r = Request {
            method: method.to_owned(),
            if_match: vec![],
            if_none_match: vec![],
            if_modified_since: vec![],
            if_unmodified_since: vec![],
            if_range: vec![],
            range: false,
        };
        for (name, value) in fields {
            let line = value.as_bytes().to_vec();
            match *name {
                "if-match" => r.if_match.push(line),
                "if-none-match" => r.if_none_match.push(line),
                "if-modified-since" => r.if_modified_since.push(line),
                "if-unmodified-since" => r.if_unmodified_since.push(line),
                "if-range" => r.if_range.push(line),
                "range" => r.range = true,
                _ => unreachable!(),
            }
        }
        r
    };
    let go = |passed| Outcome::Proceed {
        range: RangeHandling::NotRequested,
        passed,
        etag_matched: false,
        ignored: None,
    };
    let cases = [
        (
            request("PUT", &[("if-match", "W/\"a\"")]),
            Outcome::PreconditionFailed(IfMatch),
        ),
        (
            request("GET", &[("if-none-match", "W/\"a\"")]),
            Outcome::NotModified(IfNoneMatch),
        ),
        (
            request("GET", &[("if-none-match", "\"x\", garbage")]),
            go(None),
        ),
        (
            request(
                "GET",
                &[
                    ("if-none-match", "\"b\""),
                    ("if-modified-since", "Sun, 06 Nov 1994 08:49:37 GMT"),
                ],
            ),
            go(Some(IfNoneMatch)),
        ),
        (
            request(
                "GET",
                &[("if-modified-since", "Sun, 06 Nov 1994 08:49:37 GMT")],
            ),
            Outcome::NotModified(IfModifiedSince),
        ),
        (
            request(
                "POST",
                &[("if-modified-since", "Sun, 06 Nov 1994 08:49:37 GMT")],
            ),
            go(None),
        ),
        (
            request("PUT", &[("if-match", "*"), ("if-match", "*")]),
            Outcome::BadRequest(IfMatch),
        ),
        (
            request("PUT", &[("if-match", "\"a\""), ("if-match", ", ,")]),
            Outcome::Proceed {
                range: RangeHandling::NotRequested,
                passed: Some(IfMatch),
                etag_matched: true,
                ignored: None,
            },
        ),
        (
            request("GET", &[("range", ""), ("if-range", "\"a\",")]),
            Outcome::Proceed {
                range: RangeHandling::Ignore,
                passed: None,
                etag_matched: false,
                ignored: None,
            },
        ),
        (
            request("get", &[("if-none-match", "\"a\"")]),
            Outcome::PreconditionFailed(IfNoneMatch),
        ),
        (
            request("TRACE", &[("if-match", "garbage")]),
            Outcome::Proceed {
                range: RangeHandling::NotRequested,
                passed: None,
                etag_matched: false,
                ignored: Some(Ignored::Method),
            },
        ),
    ];
    for (request, want) in cases {
        assert_eq!(model(&request, &present), want, "{request:?}");
        let decision = evaluate(&request.method(), &request.headers(), &present.to_crate());
        assert_eq!(Outcome::of(&decision), want, "{request:?}");
    }
    let missing = State::Missing;
    let delete = request("DELETE", &[("if-match", "\"a\"")]);
    assert_eq!(
        model(&delete, &missing),
        Outcome::Proceed {
            range: RangeHandling::NotRequested,
            passed: None,
            etag_matched: false,
            ignored: Some(Ignored::Missing),
        }
    );
    let put = request("PUT", &[("if-none-match", "*")]);
    assert_eq!(model(&put, &missing), go(Some(IfNoneMatch)));
}
