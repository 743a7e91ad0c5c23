//! Property tests: [`evaluate`] against a small reference model written straight from the rule
//! book (RFC 9110 §13 digest), over random combinations of the five conditional header fields,
//! `Range`, resource states and methods.
//!
//! The model does its own parsing (entity tags, lists, `*`, If-Range); only HTTP-dates are
//! parsed with the `httpdate` crate. It shares no code with the crate under test.

use std::time::UNIX_EPOCH;

use http::header::{
    HeaderName, IF_MATCH, IF_MODIFIED_SINCE, IF_NONE_MATCH, IF_RANGE, IF_UNMODIFIED_SINCE, RANGE,
};
use http::{HeaderMap, HeaderValue, Method};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::Config;
use tower_conditional::{
    Condition, Decision, ETag, Ignored, LastModified, RangeHandling, ResourceState, Validators,
    evaluate,
};

use Condition::{IfMatch, IfModifiedSince, IfNoneMatch, IfUnmodifiedSince};

/// Sun, 06 Nov 1994 08:49:37 GMT.
const T: u64 = 784_111_777;

// ---------------------------------------------------------------------------------------------
// Inputs
// ---------------------------------------------------------------------------------------------

/// A current entity tag.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Tag {
    weak: bool,
    opaque: Vec<u8>,
}

/// The resource as the model sees it.
#[derive(Debug, Clone)]
enum State {
    Missing,
    Present {
        etag: Option<Tag>,
        /// Unix seconds, milliseconds, declared strong.
        modified: Option<(u64, u64, bool)>,
    },
}

impl State {
    fn to_crate(&self) -> ResourceState {
        match self {
            State::Missing => ResourceState::Missing,
            State::Present { etag, modified } => {
                let mut validators = Validators::new();
                if let Some(tag) = etag {
                    let etag = if tag.weak {
                        ETag::weak(&tag.opaque)
                    } else {
                        ETag::strong(&tag.opaque)
                    };
                    validators = validators.with_etag(etag.unwrap());
                }
                if let Some((seconds, millis, strong)) = *modified {
                    let time =
                        UNIX_EPOCH + std::time::Duration::from_millis(seconds * 1000 + millis);
                    validators = validators
                        .with_last_modified(LastModified::try_from(time).unwrap())
                        .with_strong_last_modified(strong);
                }
                ResourceState::Present(validators)
            }
        }
    }

    fn is_present(&self) -> bool {
        matches!(self, State::Present { .. })
    }

    fn etag(&self) -> Option<&Tag> {
        match self {
            State::Present { etag, .. } => etag.as_ref(),
            State::Missing => None,
        }
    }

    /// Last-Modified at one-second resolution, and whether it is strong.
    fn modified(&self) -> Option<(u64, bool)> {
        match self {
            State::Present {
                modified: Some((seconds, _millis, strong)),
                ..
            } => Some((*seconds, *strong)),
            _ => None,
        }
    }
}

/// One request: a method and the lines of each field (no lines: absent).
#[derive(Debug, Clone)]
struct Request {
    method: String,
    if_match: Vec<Vec<u8>>,
    if_none_match: Vec<Vec<u8>>,
    if_modified_since: Vec<Vec<u8>>,
    if_unmodified_since: Vec<Vec<u8>>,
    if_range: Vec<Vec<u8>>,
    range: bool,
}

impl Request {
    fn headers(&self) -> HeaderMap {
        let mut map = HeaderMap::new();
        let fields: [(HeaderName, &Vec<Vec<u8>>); 5] = [
            (IF_MATCH, &self.if_match),
            (IF_NONE_MATCH, &self.if_none_match),
            (IF_MODIFIED_SINCE, &self.if_modified_since),
            (IF_UNMODIFIED_SINCE, &self.if_unmodified_since),
            (IF_RANGE, &self.if_range),
        ];
        for (name, lines) in fields {
            for line in lines {
                let value = HeaderValue::from_bytes(line)
                    .unwrap_or_else(|e| panic!("generated an invalid header value {line:?}: {e}"));
                map.append(name.clone(), value);
            }
        }
        if self.range {
            map.insert(RANGE, HeaderValue::from_static("bytes=0-99"));
        }
        map
    }

    fn method(&self) -> Method {
        Method::from_bytes(self.method.as_bytes()).unwrap()
    }
}

// ---------------------------------------------------------------------------------------------
// The reference model
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Proceed {
        range: RangeHandling,
        passed: Option<Condition>,
        etag_matched: bool,
        ignored: Option<Ignored>,
    },
    NotModified(Condition),
    PreconditionFailed(Condition),
    BadRequest(Condition),
}

impl Outcome {
    fn of(decision: &Decision) -> Outcome {
        match decision {
            Decision::Proceed(p) => Outcome::Proceed {
                range: p.range(),
                passed: p.passed(),
                etag_matched: p.etag_matched(),
                ignored: p.ignored(),
            },
            Decision::NotModified(c) => Outcome::NotModified(*c),
            Decision::PreconditionFailed(c) => Outcome::PreconditionFailed(*c),
            Decision::BadRequest(c) => Outcome::BadRequest(*c),
            other => panic!("unknown decision {other:?}"),
        }
    }
}

/// `If-Match` / `If-None-Match`: `"*" / #entity-tag`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum ListField {
    Absent,
    Malformed,
    Star,
    Tags(Vec<Tag>),
}

/// `etagc = %x21 / %x23-7E / obs-text`: any visible byte but DQUOTE and DEL.
fn etagc(b: u8) -> bool {
    b > b' ' && b != b'"' && b != 0x7f
}

fn skip<'a>(mut bytes: &'a [u8], set: &[u8]) -> &'a [u8] {
    while let [first, rest @ ..] = bytes {
        if !set.contains(first) {
            break;
        }
        bytes = rest;
    }
    bytes
}

fn trim_ows(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|b| !b" \t".contains(b));
    let end = bytes.iter().rposition(|b| !b" \t".contains(b));
    match (start, end) {
        (Some(start), Some(end)) => &bytes[start..=end],
        _ => &[],
    }
}

/// `entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE` at the start of `bytes`; the tag and the rest.
fn entity_tag(bytes: &[u8]) -> Option<(Tag, &[u8])> {
    let (weak, quoted) = match bytes.strip_prefix(b"W/") {
        Some(rest) => (true, rest),
        None => (false, bytes),
    };
    let body = quoted.strip_prefix(b"\"")?;
    let close = body.iter().position(|&b| b == b'"')?;
    let opaque = &body[..close];
    if !opaque.iter().all(|&b| etagc(b)) {
        return None;
    }
    let tag = Tag {
        weak,
        opaque: opaque.to_vec(),
    };
    Some((tag, &body[close + 1..]))
}

/// Several lines form one list, as if joined by commas (RFC 9110 §5.3). Empty elements are
/// skipped (§5.6.1). `*` must be the only member (empty elements around it do not count).
fn list_field(lines: &[Vec<u8>]) -> ListField {
    if lines.is_empty() {
        return ListField::Absent;
    }
    let joined = lines.join(&b", "[..]);
    let mut rest = &joined[..];
    let mut stars = 0;
    let mut tags = Vec::new();
    loop {
        rest = skip(rest, b" \t,");
        if rest.is_empty() {
            break;
        }
        if let Some(after) = rest.strip_prefix(b"*") {
            stars += 1;
            rest = after;
        } else if let Some((tag, after)) = entity_tag(rest) {
            tags.push(tag);
            rest = after;
        } else {
            return ListField::Malformed;
        }
        rest = skip(rest, b" \t");
        if !rest.is_empty() && rest[0] != b',' {
            return ListField::Malformed;
        }
    }
    match (stars, tags.is_empty()) {
        (0, _) => ListField::Tags(tags),
        (1, true) => ListField::Star,
        _ => ListField::Malformed,
    }
}

/// If-Modified-Since / If-Unmodified-Since: `None` when absent, `Some(None)` when present but
/// not exactly one HTTP-date on one line.
fn date_field(lines: &[Vec<u8>]) -> Option<Option<u64>> {
    match lines {
        [] => None,
        [line] => Some(http_date(line)),
        _ => Some(None),
    }
}

fn http_date(bytes: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(trim_ows(bytes)).ok()?;
    let time = httpdate::parse_http_date(text).ok()?;
    Some(time.duration_since(UNIX_EPOCH).ok()?.as_secs())
}

fn strong_eq(a: &Tag, b: &Tag) -> bool {
    !a.weak && !b.weak && a.opaque == b.opaque
}

fn weak_eq(a: &Tag, b: &Tag) -> bool {
    a.opaque == b.opaque
}

/// If-Range: exactly one entity-tag matching strongly, or exactly one HTTP-date equal to a
/// strong Last-Modified. Anything else is false.
fn if_range_holds(lines: &[Vec<u8>], state: &State) -> bool {
    let [line] = lines else {
        return false;
    };
    let value = trim_ows(line);
    if let Some((tag, rest)) = entity_tag(value) {
        return rest.is_empty() && state.etag().is_some_and(|current| strong_eq(current, &tag));
    }
    match (http_date(value), state.modified()) {
        (Some(date), Some((modified, strong))) => strong && modified == date,
        _ => false,
    }
}

/// The rule book, in order.
fn model(request: &Request, state: &State) -> Outcome {
    let method = request.method.as_str();
    let get = method == "GET";
    let get_or_head = get || method == "HEAD";
    let range_requested = get && request.range;
    let proceed = |range, passed, etag_matched, ignored| Outcome::Proceed {
        range,
        passed,
        etag_matched,
        ignored,
    };

    // When to evaluate (§13.2.1): these come first, malformed fields included.
    if matches!(method, "CONNECT" | "OPTIONS" | "TRACE") {
        return proceed(
            RangeHandling::NotRequested,
            None,
            false,
            Some(Ignored::Method),
        );
    }
    if !state.is_present() && (get_or_head || method == "DELETE") {
        let range = if range_requested {
            RangeHandling::Honor
        } else {
            RangeHandling::NotRequested
        };
        return proceed(range, None, false, Some(Ignored::Missing));
    }

    // 400 before any 412.
    let if_match = list_field(&request.if_match);
    let if_none_match = list_field(&request.if_none_match);
    if if_match == ListField::Malformed {
        return Outcome::BadRequest(IfMatch);
    }
    if if_none_match == ListField::Malformed && !get_or_head {
        return Outcome::BadRequest(IfNoneMatch);
    }

    let current = state.etag();
    let modified = state.modified().map(|(seconds, _)| seconds);
    let mut true_conditions = Vec::new();
    let mut etag_matched = false;

    match &if_match {
        // Step 1.
        ListField::Star => {
            if !state.is_present() {
                return Outcome::PreconditionFailed(IfMatch);
            }
            true_conditions.push(IfMatch);
        }
        ListField::Tags(tags) => {
            if !tags
                .iter()
                .any(|tag| current.is_some_and(|c| strong_eq(tag, c)))
            {
                return Outcome::PreconditionFailed(IfMatch);
            }
            true_conditions.push(IfMatch);
            etag_matched = true;
        }
        // Step 2: only without If-Match, only with a valid date and a Last-Modified.
        ListField::Absent => {
            if let (Some(Some(date)), Some(modified)) =
                (date_field(&request.if_unmodified_since), modified)
            {
                if modified > date {
                    return Outcome::PreconditionFailed(IfUnmodifiedSince);
                }
                true_conditions.push(IfUnmodifiedSince);
            }
        }
        ListField::Malformed => unreachable!("answered 400 above"),
    }

    let none_match_false = if get_or_head {
        Outcome::NotModified(IfNoneMatch)
    } else {
        Outcome::PreconditionFailed(IfNoneMatch)
    };
    match &if_none_match {
        // Step 3.
        ListField::Star => {
            if state.is_present() {
                return none_match_false;
            }
            true_conditions.push(IfNoneMatch);
        }
        ListField::Tags(tags) => {
            if tags
                .iter()
                .any(|tag| current.is_some_and(|c| weak_eq(tag, c)))
            {
                return none_match_false;
            }
            true_conditions.push(IfNoneMatch);
        }
        // Malformed on GET/HEAD: ignored, but present, so step 4 does not run.
        ListField::Malformed => {}
        // Step 4: GET and HEAD only.
        ListField::Absent => {
            if let (true, Some(Some(date)), Some(modified)) = (
                get_or_head,
                date_field(&request.if_modified_since),
                modified,
            ) {
                if modified <= date {
                    return Outcome::NotModified(IfModifiedSince);
                }
                true_conditions.push(IfModifiedSince);
            }
        }
    }

    // Step 5.
    let range = if !range_requested {
        RangeHandling::NotRequested
    } else if request.if_range.is_empty() || if_range_holds(&request.if_range, state) {
        RangeHandling::Honor
    } else {
        RangeHandling::Ignore
    };
    proceed(range, true_conditions.first().copied(), etag_matched, None)
}

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

const DATES: [&str; 12] = [
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
];

const BAD_DATES: [&str; 10] = [
    "",
    "yesterday",
    "784111777",
    "Mon, 06 Nov 1994 08:49:37 GMT",
    "Sun, 06 Nov 1994 08:49:37 UTC",
    "Sun, 06 Nov 1994 08:49:37 GMT,",
    "Sun, 06 Nov 1994 08:49:37 GMT, Sun, 06 Nov 1994 08:49:37 GMT",
    "Sun, 06 Nov 1994 24:49:37 GMT",
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

/// A 304 needs a valid validator that matched: a well-formed If-None-Match whose `*` met a
/// present representation or whose tag matched weakly, or (without If-None-Match) one valid
/// If-Modified-Since date not older than Last-Modified.
fn not_modified_is_justified(condition: Condition, request: &Request, state: &State) -> bool {
    match condition {
        IfNoneMatch => match list_field(&request.if_none_match) {
            ListField::Star => state.is_present(),
            ListField::Tags(tags) => tags
                .iter()
                .any(|tag| state.etag().is_some_and(|c| weak_eq(tag, c))),
            ListField::Absent | ListField::Malformed => false,
        },
        IfModifiedSince => {
            request.if_none_match.is_empty()
                && match (date_field(&request.if_modified_since), state.modified()) {
                    (Some(Some(date)), Some((modified, _))) => modified <= date,
                    _ => false,
                }
        }
        _ => false,
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
