//! Hostile input (issue 5): huge lists, huge values, many lines, odd bytes, near-miss syntax and
//! broken dates, each answered as the rule book says (/work/shared/conditional-requests.md),
//! through [`evaluate`] and through [`ConditionalLayer`] alike. Never a 304 from garbage, never a
//! write through a malformed `If-Match` (400), malformed dates ignored (never 400).
//!
//! Every layer answer is also checked for hygiene: header values free of CR, LF and other
//! control bytes, problem bodies valid JSON that echo no request bytes, and the inner service
//! called exactly when the layer does not answer itself.
//!
//! The last section (issue 18) runs the same families through the layer with every option on,
//! each on a thread with a 256 KiB stack, so that any recursion on input fails.
//!
//! The whole file runs in about a second in a debug build.

use std::convert::Infallible;
use std::future::{Ready, ready};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use http::header::{
    CACHE_CONTROL, CONTENT_LOCATION, CONTENT_TYPE, ETAG, EXPIRES, IF_MATCH, IF_MODIFIED_SINCE,
    IF_NONE_MATCH, IF_RANGE, IF_UNMODIFIED_SINCE, RANGE, VARY,
};
use http::request::Parts;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::BodyExt;
use tower::{Layer, ServiceExt, service_fn};
use tower_conditional::{
    BodyHashConfig, Condition, ConditionalLayer, Decision, DrainConfig, ETag, LastModified, Lookup,
    RangeHandling, ResourceState, ValidatorSource, Validators, evaluate, response,
};

use Condition::{IfMatch, IfModifiedSince, IfNoneMatch, IfUnmodifiedSince};

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------

/// The current entity tag of the resource.
const CURRENT: &str = "\"v2\"";
/// Its modification date: 1_700_000_000 seconds after the epoch.
const MODIFIED: &str = "Tue, 14 Nov 2023 22:13:20 GMT";
/// One second earlier.
const BEFORE: &str = "Tue, 14 Nov 2023 22:13:19 GMT";
/// The earliest HTTP-date: If-Unmodified-Since with it is false for the resource.
const EPOCH: &str = "Thu, 01 Jan 1970 00:00:00 GMT";
/// The latest HTTP-date: If-Modified-Since with it is false for the resource.
const LAST: &str = "Fri, 31 Dec 9999 23:59:59 GMT";

fn validators_with(etag: ETag) -> Validators {
    Validators::new()
        .with_etag(etag)
        .with_last_modified(LastModified::from_unix_seconds(1_700_000_000).unwrap())
}

/// The resource exists, with [`CURRENT`] and [`MODIFIED`].
fn present() -> ResourceState {
    ResourceState::Present(validators_with(ETag::from_static(CURRENT)))
}

/// A header map from raw lines, in order. Panics on a line a header cannot carry.
fn headers(lines: &[(HeaderName, &[u8])]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, line) in lines {
        let value = HeaderValue::from_bytes(line)
            .unwrap_or_else(|e| panic!("test bug: {line:?} is no header value: {e}"));
        map.append(name.clone(), value);
    }
    map
}

/// One field, one line.
fn one(name: HeaderName, line: impl AsRef<[u8]>) -> HeaderMap {
    headers(&[(name, line.as_ref())])
}

/// One field over several lines.
fn many(name: HeaderName, lines: &[Vec<u8>]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for line in lines {
        map.append(name.clone(), HeaderValue::from_bytes(line).unwrap());
    }
    map
}

/// What the rule book says the answer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Want {
    /// Perform the method: the inner service runs and answers 200.
    Proceed,
    /// 304, because of this condition.
    NotModified(Condition),
    /// 412, because of this condition.
    Failed(Condition),
    /// 400, because this field is malformed.
    Bad(Condition),
}

impl Want {
    fn of(decision: &Decision) -> Want {
        match decision {
            Decision::Proceed(_) => Want::Proceed,
            Decision::NotModified(c) => Want::NotModified(*c),
            Decision::PreconditionFailed(c) => Want::Failed(*c),
            Decision::BadRequest(c) => Want::Bad(*c),
            other => panic!("unknown decision {other:?}"),
        }
    }

    fn status(self) -> StatusCode {
        match self {
            Want::Proceed => StatusCode::OK,
            Want::NotModified(_) => StatusCode::NOT_MODIFIED,
            Want::Failed(_) => StatusCode::PRECONDITION_FAILED,
            Want::Bad(_) => StatusCode::BAD_REQUEST,
        }
    }
}

/// One request through the layer.
#[derive(Debug)]
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
    /// How many times the inner service ran.
    calls: usize,
    /// Whether the inner service saw a `Range` field.
    saw_range: bool,
}

/// Drives a future that is ready at once (every source and service here is) on a throwaway
/// current-thread runtime.
fn block_on<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a current-thread runtime")
        .block_on(future)
}

/// Sends `method` with `headers` through `layer` over a `service_fn` that counts its calls.
fn send_through<V>(layer: &ConditionalLayer<V>, method: Method, headers: &HeaderMap) -> Answer
where
    V: ValidatorSource + Clone,
{
    let calls = Arc::new(AtomicUsize::new(0));
    let saw_range = Arc::new(AtomicUsize::new(0));
    let inner = service_fn({
        let (calls, saw_range) = (Arc::clone(&calls), Arc::clone(&saw_range));
        move |request: Request<String>| {
            calls.fetch_add(1, Ordering::SeqCst);
            if request.headers().contains_key(RANGE) {
                saw_range.fetch_add(1, Ordering::SeqCst);
            }
            ready(Ok::<_, Infallible>(Response::new(String::from("inner"))))
        }
    });
    let mut request = Request::new(String::new());
    *request.method_mut() = method;
    *request.uri_mut() = "/items/1".parse().unwrap();
    *request.headers_mut() = headers.clone();
    let answer = block_on(async {
        let response = layer.layer(inner).oneshot(request).await.unwrap();
        let (parts, body) = response.into_parts();
        let body = body.collect().await.unwrap().to_bytes();
        Answer {
            status: parts.status,
            headers: parts.headers,
            body,
            calls: calls.load(Ordering::SeqCst),
            saw_range: saw_range.load(Ordering::SeqCst) > 0,
        }
    });
    assert_hygienic(&answer, headers);
    answer
}

/// A source that answers `state`.
fn source(
    state: &ResourceState,
) -> impl Fn(&Parts) -> Ready<Result<Lookup, Infallible>> + Clone + use<> {
    let lookup = Lookup::from(state.clone());
    move |_: &Parts| ready(Ok(lookup.clone()))
}

/// Checks `want` through `evaluate` and through the layer; answers the layer's response.
#[track_caller]
fn check(method: Method, headers: &HeaderMap, state: &ResourceState, want: Want) -> Answer {
    let decision = evaluate(&method, headers, state);
    assert_eq!(Want::of(&decision), want, "evaluate: {method} {headers:?}");
    let answer = send_through(
        &ConditionalLayer::new(source(state)),
        method.clone(),
        headers,
    );
    assert_eq!(answer.status, want.status(), "layer: {method} {headers:?}");
    let expected_calls = usize::from(want == Want::Proceed);
    assert_eq!(
        answer.calls, expected_calls,
        "layer: inner service calls for {method} {headers:?}"
    );
    answer
}

/// Header bytes a response may carry: HTAB, SP, visible ASCII, obs-text. No CR, LF, NUL, DEL.
fn is_clean(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .all(|&b| b == b'\t' || (b >= 0x20 && b != 0x7f))
}

#[track_caller]
fn assert_clean_headers(headers: &HeaderMap) {
    for (name, value) in headers {
        assert!(is_clean(value.as_bytes()), "{name}: {value:?}");
    }
}

/// Clean headers; a problem body that is JSON, ASCII and free of request bytes.
#[track_caller]
fn assert_hygienic(answer: &Answer, request: &HeaderMap) {
    assert_clean_headers(&answer.headers);
    if answer.status.is_client_error() || answer.status.is_server_error() {
        assert_problem_body(&answer.headers, &answer.body, answer.status);
        for (name, value) in request {
            let line = value.as_bytes();
            // Short values (`*`, `""`) occur in any JSON text; anything longer must not.
            if line.len() >= 8 {
                assert!(
                    !contains(&answer.body, line),
                    "the {} body echoes {name}: {value:?}",
                    answer.status
                );
            }
        }
    }
    if answer.status == StatusCode::NOT_MODIFIED {
        assert!(answer.body.is_empty());
        assert!(!answer.headers.contains_key(CONTENT_TYPE));
    }
}

#[track_caller]
fn assert_problem_body(headers: &HeaderMap, body: &[u8], status: StatusCode) {
    assert_eq!(headers[CONTENT_TYPE], "application/problem+json");
    assert!(body.is_ascii(), "a non-ASCII problem body: {body:?}");
    let json: serde_json::Value = serde_json::from_slice(body).expect("a JSON problem body");
    assert_eq!(json["status"], status.as_u16());
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

/// `"t0", "t1", ...`: `n` tags, none of them the current one.
fn tag_list(n: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for i in 0..n {
        if i > 0 {
            out.extend_from_slice(b", ");
        }
        out.extend_from_slice(format!("\"t{i}\"").as_bytes());
    }
    out
}

fn with(mut line: Vec<u8>, tail: &[u8]) -> Vec<u8> {
    line.extend_from_slice(tail);
    line
}

// ---------------------------------------------------------------------------------------------
// Size: 10,000 tags, 64 KiB values, 100 lines
// ---------------------------------------------------------------------------------------------

#[test]
fn if_none_match_with_ten_thousand_tags() {
    let state = present();
    let list = tag_list(10_000);
    assert!(list.len() > 80_000);

    // No match: true; GET and PUT proceed.
    let none = one(IF_NONE_MATCH, &list);
    check(Method::GET, &none, &state, Want::Proceed);
    check(Method::PUT, &none, &state, Want::Proceed);

    // The current tag last: found, 304 / 412.
    let last = one(IF_NONE_MATCH, with(list.clone(), b", W/\"v2\""));
    check(Method::GET, &last, &state, Want::NotModified(IfNoneMatch));
    check(Method::HEAD, &last, &state, Want::NotModified(IfNoneMatch));
    check(Method::PUT, &last, &state, Want::Failed(IfNoneMatch));

    // The current tag first, garbage last: the whole field is malformed, so no 304 on GET
    // even though it names the current tag, and 400 on PUT.
    let poisoned = one(
        IF_NONE_MATCH,
        with(with(b"\"v2\", ".to_vec(), &list), b", garbage"),
    );
    check(Method::GET, &poisoned, &state, Want::Proceed);
    check(Method::PUT, &poisoned, &state, Want::Bad(IfNoneMatch));

    // If-Match with 10,000 tags: the current one last lets the write through, none refuses it.
    let matched = one(IF_MATCH, with(list.clone(), b", \"v2\""));
    check(Method::PUT, &matched, &state, Want::Proceed);
    check(
        Method::PUT,
        &one(IF_MATCH, &list),
        &state,
        Want::Failed(IfMatch),
    );
    let poisoned = one(IF_MATCH, with(with(b"\"v2\", ".to_vec(), &list), b", \"x"));
    check(Method::PUT, &poisoned, &state, Want::Bad(IfMatch));
}

#[test]
fn a_64_kib_header_value() {
    const SIZE: usize = 64 * 1024;
    let state = present();
    let huge_opaque = vec![b'x'; SIZE];
    let huge_tag = [&b"\""[..], &huge_opaque, b"\""].concat();

    // One 64 KiB tag that is not the current one.
    check(
        Method::GET,
        &one(IF_NONE_MATCH, &huge_tag),
        &state,
        Want::Proceed,
    );
    check(
        Method::PUT,
        &one(IF_MATCH, &huge_tag),
        &state,
        Want::Failed(IfMatch),
    );

    // A 64 KiB current tag: matched byte for byte, echoed whole (and clean) in the 304.
    let big = ResourceState::Present(validators_with(ETag::strong(&huge_opaque).unwrap()));
    let answer = check(
        Method::GET,
        &one(IF_NONE_MATCH, &huge_tag),
        &big,
        Want::NotModified(IfNoneMatch),
    );
    assert_eq!(answer.headers[ETAG].as_bytes(), &huge_tag[..]);
    // One byte off at the very end: no match.
    let mut near = huge_tag.clone();
    near[SIZE] = b'y';
    check(Method::GET, &one(IF_NONE_MATCH, &near), &big, Want::Proceed);
    check(
        Method::PUT,
        &one(IF_MATCH, &near),
        &big,
        Want::Failed(IfMatch),
    );

    // 64 KiB of garbage, of an unterminated quote, of commas.
    let garbage = vec![b'a'; SIZE];
    let unterminated = [&b"\""[..], &huge_opaque].concat();
    for line in [&garbage, &unterminated] {
        check(
            Method::PUT,
            &one(IF_MATCH, line),
            &state,
            Want::Bad(IfMatch),
        );
        check(
            Method::GET,
            &one(IF_MATCH, line),
            &state,
            Want::Bad(IfMatch),
        );
        check(
            Method::GET,
            &one(IF_NONE_MATCH, line),
            &state,
            Want::Proceed,
        );
        check(
            Method::DELETE,
            &one(IF_NONE_MATCH, line),
            &state,
            Want::Bad(IfNoneMatch),
        );
        check(
            Method::GET,
            &one(IF_MODIFIED_SINCE, line),
            &state,
            Want::Proceed,
        );
        check(
            Method::PUT,
            &one(IF_UNMODIFIED_SINCE, line),
            &state,
            Want::Proceed,
        );
    }
    let commas = vec![b','; SIZE];
    check(
        Method::PUT,
        &one(IF_MATCH, &commas),
        &state,
        Want::Failed(IfMatch),
    );
    check(
        Method::GET,
        &one(IF_NONE_MATCH, &commas),
        &state,
        Want::Proceed,
    );

    // Optional whitespace is unbounded in the grammar: 64 KiB of it around a valid date.
    let padded = [&vec![b' '; SIZE][..], LAST.as_bytes(), &vec![b'\t'; SIZE]].concat();
    check(
        Method::GET,
        &one(IF_MODIFIED_SINCE, &padded),
        &state,
        Want::NotModified(IfModifiedSince),
    );
    // A 64 KiB date with garbage after it is no date.
    let trailing = [LAST.as_bytes(), &garbage].concat();
    check(
        Method::GET,
        &one(IF_MODIFIED_SINCE, &trailing),
        &state,
        Want::Proceed,
    );
}

#[test]
fn a_hundred_lines_of_one_field() {
    let state = present();
    let lines = |f: &dyn Fn(usize) -> Vec<u8>| (0..100).map(f).collect::<Vec<_>>();

    // If-Match over 100 lines, the current tag on the last: one list, and it matches.
    let if_match = many(
        IF_MATCH,
        &lines(&|i| {
            if i == 99 {
                CURRENT.into()
            } else {
                format!("\"t{i}\"").into()
            }
        }),
    );
    check(Method::PUT, &if_match, &state, Want::Proceed);
    let decision = evaluate(&Method::PUT, &if_match, &state);
    assert!(decision.proceed().unwrap().etag_matched());
    let if_match = many(IF_MATCH, &lines(&|i| format!("\"t{i}\"").into()));
    check(Method::DELETE, &if_match, &state, Want::Failed(IfMatch));

    // A `*` on one of 100 If-None-Match lines: malformed, so no 304 on GET, 400 on PUT.
    let star = many(
        IF_NONE_MATCH,
        &lines(&|i| {
            if i == 50 {
                b"*".to_vec()
            } else {
                format!("\"t{i}\"").into()
            }
        }),
    );
    check(Method::GET, &star, &state, Want::Proceed);
    check(Method::PUT, &star, &state, Want::Bad(IfNoneMatch));

    // 100 empty lines: a valid list with no members.
    let empty = many(IF_NONE_MATCH, &lines(&|_| Vec::new()));
    check(Method::GET, &empty, &state, Want::Proceed);
    let empty = many(IF_MATCH, &lines(&|_| b" , ".to_vec()));
    check(Method::PUT, &empty, &state, Want::Failed(IfMatch));

    // 100 If-Modified-Since lines, each of which alone would give 304: more than one member,
    // ignored. The same for If-Unmodified-Since lines that alone would give 412.
    let ims = many(IF_MODIFIED_SINCE, &lines(&|_| MODIFIED.into()));
    check(Method::GET, &ims, &state, Want::Proceed);
    let ius = many(IF_UNMODIFIED_SINCE, &lines(&|_| BEFORE.into()));
    check(Method::PUT, &ius, &state, Want::Proceed);

    // 100 If-Range lines naming the current tag: not one entity-tag, so the range is ignored.
    let mut if_range = many(IF_RANGE, &lines(&|_| CURRENT.into()));
    if_range.insert(RANGE, HeaderValue::from_static("bytes=0-9"));
    let decision = evaluate(&Method::GET, &if_range, &state);
    assert_eq!(decision.proceed().unwrap().range(), RangeHandling::Ignore);
    let answer = check(Method::GET, &if_range, &state, Want::Proceed);
    assert!(
        !answer.saw_range,
        "the Range of a false If-Range reached the handler"
    );
}

// ---------------------------------------------------------------------------------------------
// Bytes: controls, tabs, obs-text, non-UTF-8
// ---------------------------------------------------------------------------------------------

/// `HeaderValue` is the gate: CR, LF, NUL and the other controls but HTAB cannot get into a
/// `HeaderMap` by any safe constructor, so they never reach the library.
#[test]
fn control_bytes_are_rejected_before_they_reach_the_library() {
    for b in 0..=255u8 {
        let accepted = b == b'\t' || (b >= 0x20 && b != 0x7f);
        let line = [b'"', b'v', b, b'"'];
        assert_eq!(HeaderValue::from_bytes(&line).is_ok(), accepted, "{b:#04x}");
        assert_eq!(
            HeaderValue::try_from(line.to_vec()).is_ok(),
            accepted,
            "{b:#04x}"
        );
        assert_eq!(
            HeaderValue::from_maybe_shared(Bytes::copy_from_slice(&line)).is_ok(),
            accepted,
            "{b:#04x}"
        );
        if b.is_ascii() {
            let text = String::from_utf8(line.to_vec()).unwrap();
            assert_eq!(HeaderValue::from_str(&text).is_ok(), accepted, "{b:#04x}");
            assert_eq!(HeaderValue::try_from(text).is_ok(), accepted, "{b:#04x}");
        }
    }
    // Header injection through a request builder fails there, before any service runs.
    for injected in [
        "\"v2\"\r\nX-Evil: 1",
        "\"v2\"\nX-Evil: 1",
        "\"v2\"\r",
        "\"v\0\"",
    ] {
        let built = Request::builder()
            .method(Method::PUT)
            .header(IF_MATCH, injected)
            .body(());
        assert!(built.is_err(), "{injected:?} got into a request");
    }
}

#[test]
fn accepted_odd_bytes_behave() {
    let state = present();

    // obs-text is etagc: a current tag of bytes 0x80 and 0xFF is matched like any other.
    let odd = ResourceState::Present(validators_with(ETag::strong(b"\x80\xff").unwrap()));
    check(
        Method::PUT,
        &one(IF_MATCH, b"\"\x80\xff\""),
        &odd,
        Want::Proceed,
    );
    check(
        Method::GET,
        &one(IF_NONE_MATCH, b"W/\"\x80\xff\""),
        &odd,
        Want::NotModified(IfNoneMatch),
    );
    check(
        Method::GET,
        &one(IF_NONE_MATCH, b"\"\x80\xfe\""),
        &odd,
        Want::Proceed,
    );
    check(
        Method::PUT,
        &one(IF_MATCH, b"\"\x80\xfe\""),
        &odd,
        Want::Failed(IfMatch),
    );

    // HTAB is optional whitespace between members, never part of a tag.
    let tabs = one(IF_NONE_MATCH, b"\t\"x\"\t,\t\"v2\"\t");
    check(Method::GET, &tabs, &state, Want::NotModified(IfNoneMatch));
    for inside in [&b"\"v\t2\""[..], b"\"v2\t\"", b"\"\tv2\""] {
        check(
            Method::GET,
            &one(IF_NONE_MATCH, inside),
            &state,
            Want::Proceed,
        );
        check(
            Method::PUT,
            &one(IF_MATCH, inside),
            &state,
            Want::Bad(IfMatch),
        );
        check(
            Method::PATCH,
            &one(IF_NONE_MATCH, inside),
            &state,
            Want::Bad(IfNoneMatch),
        );
    }

    // obs-text outside the quotes, or a lone non-UTF-8 byte: malformed.
    for outside in [
        &b"\xff\"v2\""[..],
        b"\"v2\"\xff",
        b"\xc3\xa9",
        b"\"v2\", \xe9",
    ] {
        check(
            Method::GET,
            &one(IF_NONE_MATCH, outside),
            &state,
            Want::Proceed,
        );
        check(
            Method::PUT,
            &one(IF_MATCH, outside),
            &state,
            Want::Bad(IfMatch),
        );
    }

    // Non-UTF-8 and obs-text in dates: not a date, ignored.
    for date in [
        [MODIFIED.as_bytes(), b"\xff"].concat(),
        b"Tue, 14 Nov 2023 22:13:20 G\xc3\x9cT".to_vec(),
        b"\xef\xbb\xbfTue, 14 Nov 2023 22:13:20 GMT".to_vec(),
        b"Tue,\xa014 Nov 2023 22:13:20 GMT".to_vec(),
    ] {
        check(
            Method::GET,
            &one(IF_MODIFIED_SINCE, &date),
            &state,
            Want::Proceed,
        );
        check(
            Method::PUT,
            &one(IF_UNMODIFIED_SINCE, &date),
            &state,
            Want::Proceed,
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Near-miss syntax
// ---------------------------------------------------------------------------------------------

#[test]
fn star_mixed_with_tags_is_malformed() {
    let state = present();
    let malformed: [&[&[u8]]; 7] = [
        &[b"*, \"v2\""],
        &[b"\"x\", *"],
        &[b"*, W/\"x\""],
        &[b"*", b"\"v2\""],
        &[b"*, *"],
        &[b"**"],
        &[b"*\"v2\""],
    ];
    for lines in malformed {
        let if_none_match = headers(
            &lines
                .iter()
                .map(|l| (IF_NONE_MATCH, *l))
                .collect::<Vec<_>>(),
        );
        // `*` alone would be false for an existing resource: still no 304 from the mixture.
        check(Method::GET, &if_none_match, &state, Want::Proceed);
        check(Method::PUT, &if_none_match, &state, Want::Bad(IfNoneMatch));
        check(
            Method::PUT,
            &if_none_match,
            &ResourceState::Missing,
            Want::Bad(IfNoneMatch),
        );
        let if_match = headers(&lines.iter().map(|l| (IF_MATCH, *l)).collect::<Vec<_>>());
        check(Method::PUT, &if_match, &state, Want::Bad(IfMatch));
        check(
            Method::POST,
            &if_match,
            &ResourceState::Missing,
            Want::Bad(IfMatch),
        );
    }

    // `*` is the whole value or nothing: empty members around it make the field malformed
    // (`"*" / #entity-tag`; issue 18), so no 304 and no write from `*,`.
    for line in [&b" , * ,, "[..], b"*,", b"*\t,", b",*"] {
        let star = one(IF_NONE_MATCH, line);
        check(Method::GET, &star, &state, Want::Proceed);
        check(
            Method::PUT,
            &star,
            &ResourceState::Missing,
            Want::Bad(IfNoneMatch),
        );
        check(Method::PUT, &star, &state, Want::Bad(IfNoneMatch));
        check(
            Method::PUT,
            &one(IF_MATCH, line),
            &state,
            Want::Bad(IfMatch),
        );
    }
    let star = one(IF_NONE_MATCH, b" * ");
    check(Method::GET, &star, &state, Want::NotModified(IfNoneMatch));
    check(Method::PUT, &star, &ResourceState::Missing, Want::Proceed);
    check(Method::PUT, &one(IF_MATCH, b"*"), &state, Want::Proceed);
    check(
        Method::PUT,
        &one(IF_MATCH, b"*"),
        &ResourceState::Missing,
        Want::Failed(IfMatch),
    );
}

#[test]
fn unterminated_quotes_are_malformed() {
    let state = present();
    for line in [
        &b"\"v2"[..],
        b"\"",
        b"\"v2\", \"x",
        b"W/\"v2",
        b"\"v2\"\"",
        b"\"v2\", \"",
        b"\"v2, \"x\"",
    ] {
        // Even when the current tag is in there: never a 304 from it.
        check(
            Method::GET,
            &one(IF_NONE_MATCH, line),
            &state,
            Want::Proceed,
        );
        check(
            Method::HEAD,
            &one(IF_NONE_MATCH, line),
            &state,
            Want::Proceed,
        );
        check(
            Method::PUT,
            &one(IF_NONE_MATCH, line),
            &state,
            Want::Bad(IfNoneMatch),
        );
        check(
            Method::PUT,
            &one(IF_MATCH, line),
            &state,
            Want::Bad(IfMatch),
        );
        check(
            Method::DELETE,
            &one(IF_MATCH, line),
            &state,
            Want::Bad(IfMatch),
        );
    }
    // A quote left open on one line is not closed by the next.
    let split = headers(&[(IF_MATCH, b"\"v"), (IF_MATCH, b"2\"")]);
    check(Method::PUT, &split, &state, Want::Bad(IfMatch));
}

#[test]
fn weak_prefix_without_a_tag_is_malformed() {
    let state = present();
    for line in [
        &b"W/"[..],
        b"W/ \"v2\"",
        b"W/,\"v2\"",
        b"W/v2",
        b"\"v2\", W/",
        b"W",
        b"W/W/\"v2\"",
    ] {
        check(
            Method::GET,
            &one(IF_NONE_MATCH, line),
            &state,
            Want::Proceed,
        );
        check(
            Method::PUT,
            &one(IF_NONE_MATCH, line),
            &state,
            Want::Bad(IfNoneMatch),
        );
        check(
            Method::PUT,
            &one(IF_MATCH, line),
            &state,
            Want::Bad(IfMatch),
        );
    }
    // `W/""` is a valid (weak, empty) tag: no match here, and weak never matches strongly.
    check(
        Method::GET,
        &one(IF_NONE_MATCH, b"W/\"\""),
        &state,
        Want::Proceed,
    );
    check(
        Method::PUT,
        &one(IF_MATCH, b"W/\"v2\""),
        &state,
        Want::Failed(IfMatch),
    );
}

#[test]
fn lowercase_weak_prefix_is_malformed() {
    let state = present();
    let lower = b"w/\"v2\"";
    // It would be a weak match if `w/` were `W/`: it is not, so no 304.
    check(
        Method::GET,
        &one(IF_NONE_MATCH, lower),
        &state,
        Want::Proceed,
    );
    check(
        Method::HEAD,
        &one(IF_NONE_MATCH, lower),
        &state,
        Want::Proceed,
    );
    check(
        Method::PUT,
        &one(IF_NONE_MATCH, lower),
        &state,
        Want::Bad(IfNoneMatch),
    );
    check(
        Method::PUT,
        &one(IF_MATCH, lower),
        &state,
        Want::Bad(IfMatch),
    );
    check(
        Method::PUT,
        &one(IF_MATCH, b"\"v2\", w/\"v2\""),
        &state,
        Want::Bad(IfMatch),
    );
    // In If-Range: not an entity-tag, so the range is not honoured.
    let mut if_range = one(IF_RANGE, lower);
    if_range.insert(RANGE, HeaderValue::from_static("bytes=0-9"));
    let answer = check(Method::GET, &if_range, &state, Want::Proceed);
    assert!(!answer.saw_range);
}

// ---------------------------------------------------------------------------------------------
// Dates
// ---------------------------------------------------------------------------------------------

/// Dates that are not one valid HTTP-date: trailing garbage, fields out of range, wrong
/// weekday, wrong zone, two members.
const BAD_DATES: [&str; 26] = [
    "Fri, 31 Dec 9999 23:59:59 GMT garbage",
    "Fri, 31 Dec 9999 23:59:59 GMTx",
    "Fri, 31 Dec 9999 23:59:59 GMT,",
    "Fri, 31 Dec 9999 23:59:59 GMT, Fri, 31 Dec 9999 23:59:59 GMT",
    "Fri, 31 Dec 9999 23:59:59 GMT\t\tx",
    "Friday, 31-Dec-99 23:59:59 GMT junk",
    "Fri Dec 31 23:59:59 9999 GMT",
    "Tue, 14 Nov 2023 24:00:00 GMT",
    "Tue, 14 Nov 2023 22:60:00 GMT",
    "Tue, 14 Nov 2023 22:13:60 GMT",
    "Tue, 32 Nov 2023 22:13:20 GMT",
    "Tue, 00 Nov 2023 22:13:20 GMT",
    "Thu, 30 Feb 2023 22:13:20 GMT",
    "Tue, 14 Foo 2023 22:13:20 GMT",
    "Sat, 01 Jan 10000 00:00:00 GMT",
    // Before 1970 is a valid HTTP-date (`year = 4DIGIT`), but not with the wrong weekday.
    "Thu, 31 Dec 1969 23:59:59 GMT",
    "Wed, 14 Nov 2023 22:13:20 GMT",
    "Tue, 14 Nov 2023 22:13:20 UTC",
    "Tue, 14 Nov 2023 22:13:20 +0000",
    "tue, 14 nov 2023 22:13:20 gmt",
    "2023-11-14T22:13:20Z",
    "1700000000",
    "-1",
    "",
    "Tue, 14 Nov 2023 -2:13:20 GMT",
    "Tue, 14 Nov 2023 22:13:2 GMT",
];

#[test]
fn dates_with_trailing_garbage_or_out_of_range_fields_are_ignored() {
    let state = present();
    // Controls: valid dates that decide.
    check(
        Method::GET,
        &one(IF_MODIFIED_SINCE, LAST),
        &state,
        Want::NotModified(IfModifiedSince),
    );
    check(
        Method::PUT,
        &one(IF_UNMODIFIED_SINCE, EPOCH),
        &state,
        Want::Failed(IfUnmodifiedSince),
    );
    check(
        Method::PUT,
        &one(IF_UNMODIFIED_SINCE, "Wed, 31 Dec 1969 23:59:59 GMT"),
        &state,
        Want::Failed(IfUnmodifiedSince),
    );
    for date in BAD_DATES {
        // Ignored: no 304, no 412, and never a 400 for a date.
        check(
            Method::GET,
            &one(IF_MODIFIED_SINCE, date),
            &state,
            Want::Proceed,
        );
        check(
            Method::HEAD,
            &one(IF_MODIFIED_SINCE, date),
            &state,
            Want::Proceed,
        );
        check(
            Method::PUT,
            &one(IF_UNMODIFIED_SINCE, date),
            &state,
            Want::Proceed,
        );
        check(
            Method::DELETE,
            &one(IF_UNMODIFIED_SINCE, date),
            &state,
            Want::Proceed,
        );
        let decision = evaluate(&Method::PUT, &one(IF_UNMODIFIED_SINCE, date), &state);
        assert_eq!(decision.proceed().unwrap().passed(), None, "{date:?}");
        // A garbage If-Range date: the range is not honoured.
        let mut if_range = one(IF_RANGE, date);
        if_range.insert(RANGE, HeaderValue::from_static("bytes=0-9"));
        let decision = evaluate(&Method::GET, &if_range, &state);
        assert_eq!(
            decision.proceed().unwrap().range(),
            RangeHandling::Ignore,
            "{date:?}"
        );
        // A bad date cannot be parsed into a `LastModified` either.
        assert!(date.parse::<LastModified>().is_err(), "{date:?}");
    }
}

#[test]
fn duplicated_if_modified_since_lines_are_ignored() {
    let state = present();
    // Alone, each of these lines gives 304.
    for date in [MODIFIED, LAST] {
        check(
            Method::GET,
            &one(IF_MODIFIED_SINCE, date),
            &state,
            Want::NotModified(IfModifiedSince),
        );
    }
    for lines in [
        [MODIFIED, MODIFIED],
        [MODIFIED, LAST],
        [LAST, BEFORE],
        [MODIFIED, "garbage"],
        ["garbage", MODIFIED],
    ] {
        let twice = headers(&lines.map(|l| (IF_MODIFIED_SINCE, l.as_bytes())));
        check(Method::GET, &twice, &state, Want::Proceed);
        check(Method::HEAD, &twice, &state, Want::Proceed);
    }
    let one_line_two_members = format!("{MODIFIED}, {MODIFIED}");
    check(
        Method::GET,
        &one(IF_MODIFIED_SINCE, one_line_two_members),
        &state,
        Want::Proceed,
    );
    // The same for If-Unmodified-Since: alone 412, twice ignored.
    let twice = headers(&[
        (IF_UNMODIFIED_SINCE, EPOCH.as_bytes()),
        (IF_UNMODIFIED_SINCE, EPOCH.as_bytes()),
    ]);
    check(Method::PUT, &twice, &state, Want::Proceed);
}

// ---------------------------------------------------------------------------------------------
// Security: no echo, clean headers, opaque content tags
// ---------------------------------------------------------------------------------------------

#[test]
fn problem_bodies_never_echo_request_bytes() {
    let state = present();
    let hostile: [&[u8]; 7] = [
        b"<script>alert(1)</script>",
        b"\"<script>alert(1)</script>\"",
        b"\"\\\"}, \"status\": 200, \"x\": \"",
        b"\"}\"; DROP TABLE items; --",
        b"\xff\xfe<img src=x onerror=alert(1)>",
        b"W/\"\xc3\xa9\xe2\x80\xae<b>\"",
        b"{{7*7}} ${jndi:ldap://x/a}",
    ];
    let markers: [&[u8]; 8] = [
        b"<script",
        b"<img",
        b"<b>",
        b"alert",
        b"DROP",
        b"jndi",
        b"{{",
        b"status\": 200",
    ];
    for line in hostile {
        for (method, name) in [
            (Method::PUT, IF_MATCH),
            (Method::PATCH, IF_NONE_MATCH),
            (Method::GET, IF_MATCH),
        ] {
            let answer = send_through(
                &ConditionalLayer::new(source(&state)),
                method.clone(),
                &one(name.clone(), line),
            );
            if answer.status == StatusCode::OK {
                // A valid tag that is not the current one: If-None-Match is true.
                assert_eq!((name.clone(), answer.calls), (IF_NONE_MATCH, 1));
                continue;
            }
            assert!(
                matches!(answer.status.as_u16(), 400 | 412),
                "{method} {name}: {line:?} got {}",
                answer.status
            );
            assert_eq!(answer.calls, 0);
            for marker in markers {
                assert!(
                    !contains(&answer.body, marker),
                    "{:?} in {:?}",
                    marker,
                    answer.body
                );
            }
            assert!(std::str::from_utf8(&answer.body).is_ok());
            // The 412's ETag is the current tag, never the request's.
            if answer.status == StatusCode::PRECONDITION_FAILED {
                assert_eq!(answer.headers[ETAG], CURRENT);
            }
        }
    }

    // 428 and 503 speak of the request in the library's words, and a source's error text (which
    // may name internal hosts) stays out of the response.
    let required = ConditionalLayer::new(source(&state)).require_preconditions([Method::PUT]);
    let answer = send_through(&required, Method::PUT, &one(IF_NONE_MATCH, b"\"<script>\""));
    assert_eq!(
        (answer.status, answer.calls),
        (StatusCode::PRECONDITION_REQUIRED, 0)
    );
    assert!(!contains(&answer.body, b"<script>"));
    let failing = ConditionalLayer::new(|_: &Parts| {
        ready(Err::<Lookup, _>(
            "db-7.internal:5432 password=hunter2 <script>",
        ))
    });
    let answer = send_through(&failing, Method::PUT, &one(IF_MATCH, b"\"<script>\""));
    assert_eq!(
        (answer.status, answer.calls),
        (StatusCode::SERVICE_UNAVAILABLE, 0)
    );
    for leaked in [&b"db-7"[..], b"hunter2", b"<script>"] {
        assert!(!contains(&answer.body, leaked));
        for (_, value) in &answer.headers {
            assert!(!contains(value.as_bytes(), leaked));
        }
    }
}

#[test]
fn every_emitted_header_value_is_clean() {
    // Validators with odd (but valid) bytes everywhere a header value comes from.
    let odd = Validators::new()
        .with_etag(ETag::weak(b"\x80\xff!#~").unwrap())
        .with_last_modified(LastModified::from_unix_seconds(253_402_300_799).unwrap())
        .with_strong_last_modified(true)
        .with_cache_control(HeaderValue::from_bytes(b"max-age=60,\tprivate \xff").unwrap())
        .with_vary(HeaderValue::from_static("Accept-Encoding"))
        .with_expires(HeaderValue::from_bytes(b"\x80").unwrap())
        .with_content_location(HeaderValue::from_bytes(b"/caf\xc3\xa9").unwrap());
    let state = ResourceState::Present(odd.clone());
    let responses: Vec<Response<response::AnswerBody>> = vec![
        response::not_modified(&odd),
        response::not_modified(&Validators::new()),
        response::precondition_failed(IfMatch, &state),
        response::precondition_failed(IfNoneMatch, &ResourceState::Missing),
        response::bad_request(IfMatch),
        response::bad_request(IfNoneMatch),
        response::precondition_required(),
        response::service_unavailable(),
    ];
    for response in &responses {
        assert_clean_headers(response.headers());
        if response.status() != StatusCode::NOT_MODIFIED {
            assert_problem_body(response.headers(), response.body(), response.status());
        }
    }
    let not_modified = &responses[0];
    for name in [ETAG, CACHE_CONTROL, VARY, EXPIRES, CONTENT_LOCATION] {
        assert!(not_modified.headers().contains_key(&name), "{name}");
    }

    // Through the layer, including the paths that build header values of their own: filling
    // validators, encoding-specific tags, and the 304 that echoes a `-gzip` member.
    let layer = ConditionalLayer::new(source(&present()))
        .fill_response_validators(true)
        .encoding_aware_etags(true);
    let answer = send_through(&layer, Method::GET, &HeaderMap::new());
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.headers[ETAG], CURRENT);
    let mut gzip_held = one(IF_NONE_MATCH, b"\"v2-gzip\"");
    gzip_held.insert(
        http::header::ACCEPT_ENCODING,
        HeaderValue::from_static("gzip"),
    );
    let answer = send_through(&layer, Method::GET, &gzip_held);
    assert_eq!(answer.status, StatusCode::NOT_MODIFIED);
    assert_eq!(answer.headers[ETAG], "\"v2-gzip\"");
    let layer = ConditionalLayer::new(source(&state)).fill_response_validators(true);
    for (method, field, line) in [
        (Method::GET, IF_NONE_MATCH, &b"W/\"\x80\xff!#~\""[..]),
        (Method::GET, IF_MODIFIED_SINCE, LAST.as_bytes()),
        (Method::PUT, IF_MATCH, b"\"\x80\xff!#~\""),
        (Method::PUT, IF_MATCH, b"\"\x80"),
        (Method::GET, IF_MATCH, b"*"),
    ] {
        let answer = send_through(&layer, method, &one(field, line));
        assert_clean_headers(&answer.headers);
    }
}

#[test]
fn etags_from_content_are_32_lowercase_hex_digits() {
    let secret = b"password=hunter2; host=db-7.internal; pid=4242";
    let big = vec![0xA5u8; 1 << 20];
    let contents: [&[u8]; 6] = [b"", b"hello", secret, b"\xff\x00\r\n\"", &big, b"W/\"x\""];
    let mut seen = std::collections::HashSet::new();
    for content in contents {
        let tag = ETag::from_content(content);
        let wire = tag.as_bytes();
        assert!(!tag.is_weak());
        assert_eq!(wire.len(), 34, "{tag}");
        assert_eq!((wire[0], wire[33]), (b'"', b'"'));
        assert!(
            tag.opaque()
                .iter()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b)),
            "{tag}"
        );
        assert_eq!(tag, ETag::from_content(content), "deterministic");
        assert_eq!(
            tag,
            ETag::from_content_chunks(content.chunks(7)),
            "chunking is invisible"
        );
        assert!(seen.insert(tag.clone()), "two contents share {tag}");
        assert!(!contains(wire, b"hunter2") && !contains(wire, b"db-7"));
        assert!(is_clean(wire));
    }
    // The published value for the empty content: SHA-256, first 128 bits, nothing else mixed in.
    assert_eq!(
        ETag::from_content(b"").to_string(),
        "\"e3b0c44298fc1c149afbf4c8996fb924\""
    );
}

/// `ETag::from_static` promises to panic only on an invalid tag, but `HeaderValue::from_static`
/// (which it calls) accepts visible ASCII only, so a valid tag with obs-text bytes panics.
#[test]
fn from_static_accepts_every_valid_tag() {
    let tag = ETag::from_static("\"caf\u{e9}\"");
    assert_eq!(tag.opaque(), "caf\u{e9}".as_bytes());
    assert_eq!(tag, ETag::parse("\"caf\u{e9}\"".as_bytes()).unwrap());
}

/// `Conditions` finds fields by one pass over the names of a small header map and by hash
/// look-ups in a large one: both must see the same fields.
#[test]
fn many_distinct_fields_are_looked_up_like_a_few() {
    let conditional: [(HeaderName, &[u8]); 4] = [
        (IF_NONE_MATCH, b"\"other\""),
        (IF_MATCH, b"\"v1\""),
        (RANGE, b"bytes=0-1"),
        (IF_RANGE, b"\"v1\""),
    ];
    for extra in [0usize, 23, 24, 25, 200] {
        let mut map = HeaderMap::new();
        for i in 0..extra {
            let name = HeaderName::from_bytes(format!("x-filler-{i}").as_bytes()).unwrap();
            map.insert(name, HeaderValue::from_static("1"));
        }
        for (name, value) in &conditional {
            map.insert(name.clone(), HeaderValue::from_bytes(value).unwrap());
        }
        let state = ResourceState::Present(validators_with(ETag::from_static("\"v1\"")));
        let decision = evaluate(&Method::GET, &map, &state);
        let proceed = decision.proceed().expect("both preconditions hold");
        assert_eq!(proceed.passed(), Some(IfMatch), "{extra} extra fields");
        assert_eq!(
            proceed.range(),
            RangeHandling::Honor,
            "{extra} extra fields"
        );
        let conditions = tower_conditional::Conditions::from_headers(&map);
        assert!(conditions.has_if_match() && conditions.has_if_none_match());
        assert!(conditions.has_range() && conditions.has_if_range());
        assert!(!conditions.has_if_modified_since() && !conditions.has_if_unmodified_since());

        map.insert(IF_NONE_MATCH, HeaderValue::from_static("\"v1\""));
        assert_eq!(
            evaluate(&Method::GET, &map, &state),
            Decision::NotModified(IfNoneMatch),
            "{extra} extra fields"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Every option on, on a small stack (issue 18)
// ---------------------------------------------------------------------------------------------

/// The layer with every option on: required preconditions, `reject_all()`, a `Retry-After`,
/// validators in 412s, a drain limit and timeout, filled validators, body hashing and
/// encoding-aware tags.
fn every_option(state: &ResourceState) -> ConditionalLayer<impl ValidatorSource + Clone> {
    ConditionalLayer::new(source(state))
        .require_preconditions([Method::PUT, Method::PATCH, Method::DELETE])
        .on_source_error(
            tower_conditional::OnSourceError::reject_all()
                .retry_after(std::time::Duration::from_secs(2)),
        )
        .validators_in_412(true)
        .drain(
            DrainConfig::default()
                .limit(1 << 20)
                .timeout(std::time::Duration::from_secs(1)),
        )
        .fill_response_validators(true)
        .body_hash(BodyHashConfig::default().limit(1 << 20))
        .encoding_aware_etags(true)
}

/// Stack for each hostile family: any recursion per member, suffix or line overflows it.
const SMALL_STACK: usize = 256 * 1024;

/// Runs `family` on a thread with a [`SMALL_STACK`]: each case is a method, its headers and the
/// status the every-option layer must answer (the inner service runs exactly on 200).
#[track_caller]
fn on_small_stack(name: &str, family: fn() -> Vec<(Method, HeaderMap, StatusCode)>) {
    let joined = std::thread::Builder::new()
        .name(name.to_owned())
        .stack_size(SMALL_STACK)
        .spawn(move || {
            let state = present();
            let layer = every_option(&state);
            for (method, headers, want) in family() {
                let answer = send_through(&layer, method.clone(), &headers);
                let size: usize = headers.iter().map(|(_, v)| v.len()).sum();
                assert_eq!(answer.status, want, "{method} with {size} header bytes");
                assert_eq!(answer.calls, usize::from(want == StatusCode::OK));
                // The evaluator alone, too.
                let _ = evaluate(&method, &headers, &state);
            }
        })
        .expect("spawn a thread");
    joined.join().expect("the family ran to the end");
}

/// `"v7-identity-identity-…"` of about `bytes` bytes, optionally after a coding.
fn suffix_chain(coding: &str, bytes: usize) -> Vec<u8> {
    let mut tag = format!("\"v2{coding}").into_bytes();
    tag.extend_from_slice(&b"-identity".repeat(bytes / 9));
    tag.push(b'"');
    tag
}

#[test]
fn every_option_suffix_chains_on_a_small_stack() {
    on_small_stack("suffix chains", || {
        let mut cases = Vec::new();
        for bytes in [300_000, 400_000] {
            for coding in ["", "-gzip", "-br"] {
                let chain = suffix_chain(coding, bytes);
                // Never issued for "v2": refused as a precondition, never a 304.
                cases.push((
                    Method::PUT,
                    one(IF_MATCH, &chain),
                    StatusCode::PRECONDITION_FAILED,
                ));
                cases.push((
                    Method::GET,
                    one(IF_MATCH, &chain),
                    StatusCode::PRECONDITION_FAILED,
                ));
                cases.push((Method::GET, one(IF_NONE_MATCH, &chain), StatusCode::OK));
                let range = headers(&[(RANGE, b"bytes=0-1"), (IF_RANGE, &chain)]);
                cases.push((Method::GET, range, StatusCode::OK));
            }
        }
        cases
    });
}

#[test]
fn every_option_huge_lists_and_members_on_a_small_stack() {
    on_small_stack("huge lists", || {
        let list = tag_list(30_000); // about 240 KB
        let current_last = with(tag_list(30_000), b", \"v2-gzip\"");
        let member = format!("\"{}\"", "x".repeat(400_000)).into_bytes();
        let accept = [(http::header::ACCEPT_ENCODING, &b"gzip"[..])];
        let with_accept = |name: HeaderName, value: &[u8]| {
            let mut map = headers(&accept);
            map.insert(name, HeaderValue::from_bytes(value).unwrap());
            map
        };
        vec![
            (Method::GET, one(IF_NONE_MATCH, &list), StatusCode::OK),
            (
                Method::PUT,
                one(IF_MATCH, &list),
                StatusCode::PRECONDITION_FAILED,
            ),
            (
                Method::GET,
                with_accept(IF_NONE_MATCH, &current_last),
                StatusCode::NOT_MODIFIED,
            ),
            (Method::PUT, one(IF_MATCH, &current_last), StatusCode::OK),
            (Method::GET, one(IF_NONE_MATCH, &member), StatusCode::OK),
            (
                Method::PUT,
                one(IF_MATCH, &member),
                StatusCode::PRECONDITION_FAILED,
            ),
            // Malformed only at the very end: 400 for a write, ignored on a read.
            (
                Method::PUT,
                one(IF_MATCH, with(list.clone(), b", x")),
                StatusCode::BAD_REQUEST,
            ),
            (
                Method::GET,
                one(IF_NONE_MATCH, with(list, b", x")),
                StatusCode::OK,
            ),
        ]
    });
}

#[test]
fn every_option_many_lines_on_a_small_stack() {
    on_small_stack("many lines", || {
        let lines: Vec<Vec<u8>> = (0..2_000)
            .map(|i| format!("\"t{i}\"").into_bytes())
            .collect();
        let mut last_current = lines.clone();
        last_current.push(b"\"v2-br\"".to_vec());
        let mut reads = many(IF_NONE_MATCH, &last_current);
        for _ in 0..500 {
            reads.append(
                http::header::ACCEPT_ENCODING,
                HeaderValue::from_static("gzip;q=0.5"),
            );
        }
        reads.append(
            http::header::ACCEPT_ENCODING,
            HeaderValue::from_static("br"),
        );
        vec![
            (Method::GET, many(IF_NONE_MATCH, &lines), StatusCode::OK),
            (Method::GET, reads, StatusCode::NOT_MODIFIED),
            (
                Method::PATCH,
                many(IF_MATCH, &lines),
                StatusCode::PRECONDITION_FAILED,
            ),
            (Method::PATCH, many(IF_MATCH, &last_current), StatusCode::OK),
            // A required write with only ignored dates: 428.
            (
                Method::DELETE,
                many(IF_UNMODIFIED_SINCE, &vec![b"garbage".to_vec(); 100]),
                StatusCode::PRECONDITION_REQUIRED,
            ),
        ]
    });
}

#[test]
fn every_option_accept_encoding_against_coded_members_on_a_small_stack() {
    // Every If-None-Match member has the current base; Accept-Encoding is long and allows none
    // of their codings. Sizes are small here (the cost per byte is benches/hostile.rs's).
    on_small_stack("accept-encoding", || {
        let members = vec![&b"\"v2-zstd\""[..]; 400].join(&b", "[..]);
        let accept = vec![&b"gz;q=0.5"[..]; 400].join(&b", "[..]);
        let map = headers(&[
            (IF_NONE_MATCH, &members),
            (http::header::ACCEPT_ENCODING, &accept),
        ]);
        let mut allowed = map.clone();
        allowed.append(
            http::header::ACCEPT_ENCODING,
            HeaderValue::from_static("zstd"),
        );
        vec![
            (Method::GET, map, StatusCode::OK),
            (Method::GET, allowed, StatusCode::NOT_MODIFIED),
        ]
    });
}

#[test]
fn every_option_odd_bytes_and_near_misses_on_a_small_stack() {
    on_small_stack("odd bytes", || {
        let obs = b"\"v2-\xe9\xff-identity\"".to_vec();
        let mut accept_obs = one(IF_NONE_MATCH, b"\"v2-gzip\"");
        accept_obs.insert(
            http::header::ACCEPT_ENCODING,
            HeaderValue::from_bytes(b"\xff\xfe, gzip;q=\xe9").unwrap(),
        );
        vec![
            (Method::GET, one(IF_NONE_MATCH, &obs), StatusCode::OK),
            (
                Method::PUT,
                one(IF_MATCH, &obs),
                StatusCode::PRECONDITION_FAILED,
            ),
            // A line that is not visible ASCII is skipped whole, as tower-http's compression
            // skips it (`to_str` fails): only identity is acceptable, so the client's gzip
            // tag names no representation this request may get.
            (Method::GET, accept_obs, StatusCode::OK),
            (Method::PUT, one(IF_MATCH, b"*,"), StatusCode::BAD_REQUEST),
            (
                Method::PUT,
                one(IF_NONE_MATCH, b"*,"),
                StatusCode::BAD_REQUEST,
            ),
            (Method::GET, one(IF_NONE_MATCH, b"*,"), StatusCode::OK),
            (Method::PUT, one(IF_MATCH, b"*"), StatusCode::OK),
            (
                Method::GET,
                one(IF_MODIFIED_SINCE, b"Tue, 14 Nov 2023 22:13:20 G\xc3\x9cT"),
                StatusCode::OK,
            ),
        ]
    });
}
