//! `evaluate` against its floor and against the `headers` crate, one criterion group per
//! scenario (issue 4).
//!
//! Each group measures three functions in the same run, on the same inputs:
//!
//! - `evaluate`: the crate, `tower_conditional::evaluate(&Method, &HeaderMap, &ResourceState)`.
//! - `floor`: the bare cost of finding the same header values in the `HeaderMap` and comparing
//!   their bytes with the current validators. Fields are found the cheapest way for the map's
//!   size (one pass over the names of a small map, as the crate does; hash look-ups past 24
//!   names), in RFC 9110 §13.2.2 order, stopping as soon as the outcome is known; list lines
//!   are compared with the quoted current tag (`==`, else `memchr::memmem`), dates by exact
//!   byte equality. No RFC parsing, no validation: a lower bound no real evaluator can beat,
//!   not a correct evaluator.
//! - `headers_crate`: the same decision as a user writes it today with the `headers` crate's
//!   typed headers (`typed_get` + `precondition_passes` / `is_modified`, RFC order).
//!
//! All inputs (header maps, states, tags, dates) are built outside the timed loop; every input
//! goes through `std::hint::black_box`. Before timing, each group checks that the three
//! functions agree on the outcome of its scenario.
//!
//! Before the groups, the bench prints each scenario's `headers_crate` / `evaluate` ratio
//! measured in pairs: batches of about 100 µs of each, back to back in alternating order, the
//! ratio taken per pair and its median over 101 pairs printed. On a shared machine whose speed
//! drifts between criterion's groups, a pair sees one machine: this ratio is the guard's figure.
//!
//! Run: `cargo bench --bench evaluate -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use criterion::{Criterion, criterion_group, criterion_main};
use headers::{HeaderMapExt, IfMatch, IfModifiedSince, IfNoneMatch, IfRange, IfUnmodifiedSince};
use http::header::{
    ACCEPT, ACCEPT_ENCODING, GetAll, HOST, HeaderName, IF_MATCH, IF_MODIFIED_SINCE, IF_NONE_MATCH,
    IF_RANGE, IF_UNMODIFIED_SINCE, RANGE, USER_AGENT,
};
use http::{HeaderMap, HeaderValue, Method};
use memchr::memmem;
use tower_conditional::{
    Decision, ETag, LastModified, RangeHandling, ResourceState, Validators, evaluate,
};

#[path = "support/paired.rs"]
mod paired;

/// Seconds since the epoch of the resource's modification date (Tue, 14 Nov 2023 22:13:20 GMT).
const MODIFIED: u64 = 1_700_000_000;

/// The outcome of a decision, coarse enough for the three implementations to be compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Proceed,
    ProceedIgnoringRange,
    NotModified,
    PreconditionFailed,
    BadRequest,
}

fn outcome(decision: &Decision) -> Outcome {
    match decision {
        Decision::Proceed(proceed) if proceed.range() == RangeHandling::Ignore => {
            Outcome::ProceedIgnoringRange
        }
        Decision::Proceed(_) => Outcome::Proceed,
        Decision::NotModified(_) => Outcome::NotModified,
        Decision::PreconditionFailed(_) => Outcome::PreconditionFailed,
        Decision::BadRequest(_) => Outcome::BadRequest,
        _ => unreachable!("no other decision exists"),
    }
}

/// What the resource looks like right now, in each implementation's terms.
struct Current {
    /// For `evaluate`.
    state: ResourceState,
    /// For the floor: the wire form of the tag (`"…"`) and of the date.
    tag: Vec<u8>,
    date: Vec<u8>,
    /// For the `headers` crate.
    etag: headers::ETag,
    modified: SystemTime,
    last_modified: headers::LastModified,
}

impl Current {
    fn new() -> Self {
        let tag = ETag::from_content(b"the current representation of /items/42");
        let date = LastModified::from_unix_seconds(MODIFIED).expect("in range");
        let modified = UNIX_EPOCH + Duration::from_secs(MODIFIED);
        Current {
            etag: tag.to_string().parse().expect("a valid entity tag"),
            tag: tag.as_bytes().to_vec(),
            date: date.to_string().into_bytes(),
            modified,
            last_modified: headers::LastModified::from(modified),
            state: ResourceState::Present(
                Validators::new().with_etag(tag).with_last_modified(date),
            ),
        }
    }
}

// ----- floor --------------------------------------------------------------------------------

/// Whether `line` contains `needle`: one comparison when it is exactly the needle (a single
/// tag), a SIMD substring search otherwise.
#[inline]
fn line_contains(line: &HeaderValue, needle: &[u8]) -> bool {
    let line = line.as_bytes();
    line == needle || (line.len() > needle.len() && memmem::find(line, needle).is_some())
}

/// `None` when the field is absent; otherwise whether any of its lines contains `needle`.
#[inline]
fn lines_contain(lines: GetAll<'_, HeaderValue>, needle: &[u8]) -> Option<bool> {
    let mut lines = lines.iter();
    let first = lines.next()?;
    Some(line_contains(first, needle) || lines.any(|line| line_contains(line, needle)))
}

/// Past this many distinct names, hash look-ups beat one pass over the names.
const SCAN_LIMIT: usize = 24;

/// The least work that reaches the same outcome: find the conditional fields the cheapest way
/// for the map's size (one pass over the names of a small map, no hashing for absent fields),
/// then compare the bytes of the fields the outcome depends on with the current tag and date.
#[inline(never)]
fn floor(method: &Method, headers: &HeaderMap, tag: &[u8], date: &[u8]) -> Outcome {
    if headers.keys_len() > SCAN_LIMIT {
        return floor_by_lookups(method, headers, tag, date);
    }
    const IM: u8 = 1;
    const INM: u8 = 2;
    const IMS: u8 = 4;
    const IUS: u8 = 8;
    const IR: u8 = 16;
    const R: u8 = 32;
    let mut present = 0;
    for name in headers.keys() {
        present |= match *name {
            IF_MATCH => IM,
            IF_NONE_MATCH => INM,
            IF_MODIFIED_SINCE => IMS,
            IF_UNMODIFIED_SINCE => IUS,
            IF_RANGE => IR,
            RANGE => R,
            _ => 0,
        };
    }
    let read = method == Method::GET || method == Method::HEAD;
    if present & IM != 0 {
        if lines_contain(headers.get_all(&IF_MATCH), tag) == Some(false) {
            return Outcome::PreconditionFailed;
        }
    } else if present & IUS != 0
        && headers
            .get(&IF_UNMODIFIED_SINCE)
            .is_some_and(|value| value.as_bytes() != date)
    {
        return Outcome::PreconditionFailed;
    }
    if present & INM != 0 {
        if lines_contain(headers.get_all(&IF_NONE_MATCH), tag) == Some(true) {
            return if read {
                Outcome::NotModified
            } else {
                Outcome::PreconditionFailed
            };
        }
    } else if read
        && present & IMS != 0
        && headers
            .get(&IF_MODIFIED_SINCE)
            .is_some_and(|value| value.as_bytes() == date)
    {
        return Outcome::NotModified;
    }
    if method == Method::GET
        && present & (R | IR) == R | IR
        && headers
            .get(&IF_RANGE)
            .is_some_and(|value| value.as_bytes() != tag)
    {
        return Outcome::ProceedIgnoringRange;
    }
    Outcome::Proceed
}

/// [`floor`] for large maps: hash look-ups in RFC order, stopping as soon as the outcome is
/// known.
fn floor_by_lookups(method: &Method, headers: &HeaderMap, tag: &[u8], date: &[u8]) -> Outcome {
    let read = method == Method::GET || method == Method::HEAD;
    match lines_contain(headers.get_all(&IF_MATCH), tag) {
        Some(false) => return Outcome::PreconditionFailed,
        Some(true) => {}
        None => {
            if let Some(value) = headers.get(&IF_UNMODIFIED_SINCE)
                && value.as_bytes() != date
            {
                return Outcome::PreconditionFailed;
            }
        }
    }
    match lines_contain(headers.get_all(&IF_NONE_MATCH), tag) {
        Some(true) if read => return Outcome::NotModified,
        Some(true) => return Outcome::PreconditionFailed,
        Some(false) => {}
        None => {
            if read
                && let Some(value) = headers.get(&IF_MODIFIED_SINCE)
                && value.as_bytes() == date
            {
                return Outcome::NotModified;
            }
        }
    }
    if method == Method::GET
        && headers.contains_key(&RANGE)
        && let Some(value) = headers.get(&IF_RANGE)
        && value.as_bytes() != tag
    {
        return Outcome::ProceedIgnoringRange;
    }
    Outcome::Proceed
}

// ----- headers crate ------------------------------------------------------------------------

/// RFC 9110 §13.2.2 written with the `headers` crate's typed headers, as a user would today.
#[inline(never)]
fn headers_crate(
    method: &Method,
    headers: &HeaderMap,
    etag: &headers::ETag,
    modified: SystemTime,
    last_modified: &headers::LastModified,
) -> Outcome {
    let read = method == Method::GET || method == Method::HEAD;
    if let Some(if_match) = headers.typed_get::<IfMatch>() {
        if !if_match.precondition_passes(etag) {
            return Outcome::PreconditionFailed;
        }
    } else if let Some(if_unmodified_since) = headers.typed_get::<IfUnmodifiedSince>()
        && !if_unmodified_since.precondition_passes(modified)
    {
        return Outcome::PreconditionFailed;
    }
    if let Some(if_none_match) = headers.typed_get::<IfNoneMatch>() {
        if !if_none_match.precondition_passes(etag) {
            return if read {
                Outcome::NotModified
            } else {
                Outcome::PreconditionFailed
            };
        }
    } else if read
        && let Some(if_modified_since) = headers.typed_get::<IfModifiedSince>()
        && !if_modified_since.is_modified(modified)
    {
        return Outcome::NotModified;
    }
    if method == Method::GET
        && headers.contains_key(RANGE)
        && let Some(if_range) = headers.typed_get::<IfRange>()
        && if_range.is_modified(Some(etag), Some(last_modified))
    {
        return Outcome::ProceedIgnoringRange;
    }
    Outcome::Proceed
}

// ----- scenarios ----------------------------------------------------------------------------

struct Scenario {
    name: &'static str,
    method: Method,
    headers: HeaderMap,
    expected: Outcome,
}

/// A request head as a browser sends it, plus `conditional`.
fn request_headers(conditional: &[(HeaderName, String)]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(HOST, HeaderValue::from_static("example.com"));
    headers.insert(
        USER_AGENT,
        HeaderValue::from_static("Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101"),
    );
    headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
    headers.insert(ACCEPT_ENCODING, HeaderValue::from_static("gzip, br"));
    for (name, value) in conditional {
        headers.append(
            name,
            HeaderValue::from_str(value).expect("a valid header value"),
        );
    }
    headers
}

fn scenarios(current: &Current) -> Vec<Scenario> {
    let tag = String::from_utf8(current.tag.clone()).expect("ASCII");
    let date = String::from_utf8(current.date.clone()).expect("ASCII");
    let other = |i: u32| ETag::from_content(format!("version {i}").as_bytes()).to_string();
    let list_of_100: Vec<String> = (0..99).map(other).chain([tag.clone()]).collect();
    let scenario = |name, method, conditional: &[(HeaderName, String)], expected| Scenario {
        name,
        method,
        headers: request_headers(conditional),
        expected,
    };
    vec![
        scenario("none", Method::GET, &[], Outcome::Proceed),
        scenario(
            "inm_single_match",
            Method::GET,
            &[(IF_NONE_MATCH, tag.clone())],
            Outcome::NotModified,
        ),
        scenario(
            "inm_list100_match_last",
            Method::GET,
            &[(IF_NONE_MATCH, list_of_100.join(", "))],
            Outcome::NotModified,
        ),
        scenario(
            "inm_no_match",
            Method::GET,
            &[(IF_NONE_MATCH, other(1000))],
            Outcome::Proceed,
        ),
        scenario(
            "if_match_put",
            Method::PUT,
            &[(IF_MATCH, tag.clone())],
            Outcome::Proceed,
        ),
        scenario(
            "if_match_stale_put",
            Method::PUT,
            &[(IF_MATCH, other(7))],
            Outcome::PreconditionFailed,
        ),
        scenario(
            "ims_only",
            Method::GET,
            &[(IF_MODIFIED_SINCE, date.clone())],
            Outcome::NotModified,
        ),
        scenario(
            "inm_and_ims",
            Method::GET,
            &[(IF_NONE_MATCH, tag.clone()), (IF_MODIFIED_SINCE, date)],
            Outcome::NotModified,
        ),
        scenario(
            "if_range_with_range",
            Method::GET,
            &[(RANGE, "bytes=0-1023".to_owned()), (IF_RANGE, tag.clone())],
            Outcome::Proceed,
        ),
        // The current tag without its quotes: a common client bug. Ignored on GET (RFC 9110
        // §13.1.2 needs a valid list), so the answer is a full 200.
        scenario(
            "malformed_inm",
            Method::GET,
            &[(IF_NONE_MATCH, tag.trim_matches('"').to_owned())],
            Outcome::Proceed,
        ),
    ]
}

/// Wall time of `count` calls of `f`.
fn time_calls(f: &impl Fn() -> Outcome, count: u32) -> Duration {
    let start = Instant::now();
    for _ in 0..count {
        black_box(f());
    }
    start.elapsed()
}

/// The median over 101 pairs of `slow`'s time over `fast`'s for one batch each, measured back
/// to back (which goes first alternates); batches of about 100 µs of `fast`.
fn paired_ratio(fast: impl Fn() -> Outcome, slow: impl Fn() -> Outcome) -> f64 {
    let one = time_calls(&fast, 1_000).as_secs_f64() / 1_000.0;
    let count = ((100e-6 / one.max(1e-9)) as u32).clamp(16, 1_000_000);
    let ratios = paired::ratios(
        101,
        || time_calls(&fast, count),
        || time_calls(&slow, count),
    );
    paired::quantile(&ratios, 0.5)
}

fn print_paired_ratios(current: &Current) {
    println!("headers_crate / evaluate, paired (median of 101 pairs of ~100 µs batches):");
    for scenario in scenarios(current) {
        let Scenario {
            name,
            method,
            headers,
            ..
        } = &scenario;
        let ratio = paired_ratio(
            || {
                outcome(&evaluate(
                    black_box(method),
                    black_box(headers),
                    &current.state,
                ))
            },
            || {
                headers_crate(
                    black_box(method),
                    black_box(headers),
                    &current.etag,
                    current.modified,
                    &current.last_modified,
                )
            },
        );
        println!("  {name:<24} {ratio:.2}x");
    }
}

fn bench_evaluate(c: &mut Criterion) {
    let current = Current::new();
    print_paired_ratios(&current);
    for scenario in scenarios(&current) {
        let Scenario {
            name,
            method,
            headers,
            expected,
        } = &scenario;
        // The three implementations agree before any of them is timed.
        assert_eq!(
            outcome(&evaluate(method, headers, &current.state)),
            *expected,
            "{name}: evaluate"
        );
        assert_eq!(
            floor(method, headers, &current.tag, &current.date),
            *expected,
            "{name}: floor"
        );
        assert_eq!(
            headers_crate(
                method,
                headers,
                &current.etag,
                current.modified,
                &current.last_modified
            ),
            *expected,
            "{name}: headers crate"
        );

        let mut group = c.benchmark_group(format!("evaluate/{name}"));
        group.bench_function("evaluate", |b| {
            b.iter(|| {
                evaluate(
                    black_box(method),
                    black_box(headers),
                    black_box(&current.state),
                )
            })
        });
        group.bench_function("floor", |b| {
            b.iter(|| {
                floor(
                    black_box(method),
                    black_box(headers),
                    black_box(&current.tag),
                    black_box(&current.date),
                )
            })
        });
        group.bench_function("headers_crate", |b| {
            b.iter(|| {
                headers_crate(
                    black_box(method),
                    black_box(headers),
                    black_box(&current.etag),
                    black_box(current.modified),
                    black_box(&current.last_modified),
                )
            })
        });
        group.finish();
    }
}

criterion_group!(benches, bench_evaluate);
criterion_main!(benches);
