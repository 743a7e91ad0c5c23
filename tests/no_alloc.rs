//! `evaluate` makes no heap allocation, on any path.
//!
//! A counting global allocator wraps [`System`] and counts allocations per thread (so tests
//! running in parallel do not disturb each other). Every input is built before counting starts;
//! only the `evaluate` call is counted.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::hint::black_box;

use http::header::{
    HeaderName, IF_MATCH, IF_MODIFIED_SINCE, IF_NONE_MATCH, IF_RANGE, IF_UNMODIFIED_SINCE, RANGE,
};
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use tower_conditional::{Decision, ETag, LastModified, ResourceState, Validators, evaluate};

struct Counting;

thread_local! {
    /// Allocations made by this thread. Const-initialised and without destructor, so using it
    /// from inside the allocator never allocates.
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn record() {
    let _ = ALLOCATIONS.try_with(|count| count.set(count.get() + 1));
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        record();
        // SAFETY: forwarded from the caller, who upholds `GlobalAlloc::alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        record();
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        record();
        // SAFETY: as above; `ptr` was allocated by `System` through this wrapper.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Runs `f` and answers how many allocations this thread made meanwhile.
fn allocations_during<R>(f: impl FnOnce() -> R) -> (R, usize) {
    let before = ALLOCATIONS.with(Cell::get);
    let result = f();
    let after = ALLOCATIONS.with(Cell::get);
    (result, after - before)
}

#[test]
fn the_counter_sees_allocations() {
    let (boxed, count) = allocations_during(|| Box::new(black_box(7u64)));
    assert_eq!(*boxed, 7);
    assert!(count >= 1, "the counting allocator is not counting");
    let (vec, count) = allocations_during(|| {
        let mut v = Vec::with_capacity(1);
        v.extend_from_slice(black_box(&[1u8, 2, 3]));
        v
    });
    assert_eq!(vec.len(), 3);
    assert!(count >= 2, "realloc is not counted");
}

const T: u64 = 784_111_777;

/// Name, method, header fields, state, expected status.
type Fixed<'a> = (
    &'a str,
    &'a Method,
    &'a [(HeaderName, &'a str)],
    &'a ResourceState,
    Option<StatusCode>,
);

/// One prepared call: everything is built before counting.
struct Case {
    name: String,
    method: Method,
    headers: HeaderMap,
    state: ResourceState,
    /// The status the decision must have (`None`: proceed), to prove the path was taken.
    status: Option<StatusCode>,
}

fn map(fields: &[(HeaderName, &str)]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (name, value) in fields {
        headers.append(name.clone(), HeaderValue::from_str(value).unwrap());
    }
    headers
}

fn tag_list(count: usize, current_at: Option<usize>) -> String {
    (0..count)
        .map(|i| {
            if Some(i) == current_at {
                "\"current\"".to_owned()
            } else {
                format!("W/\"old-{i}\"")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn cases() -> Vec<Case> {
    let present = || {
        ResourceState::Present(
            Validators::new()
                .with_etag(ETag::from_static("\"current\""))
                .with_last_modified(LastModified::from_unix_seconds(T).unwrap())
                .with_strong_last_modified(true),
        )
    };
    let bare = || ResourceState::Present(Validators::new());
    let missing = || ResourceState::Missing;
    let get = Method::GET;
    let put = Method::PUT;
    let mut cases = Vec::new();
    let mut add = |name: String,
                   method: &Method,
                   headers: HeaderMap,
                   state: ResourceState,
                   status: Option<StatusCode>| {
        cases.push(Case {
            name,
            method: method.clone(),
            headers,
            state,
            status,
        });
    };
    let ok = None;
    let not_modified = Some(StatusCode::NOT_MODIFIED);
    let failed = Some(StatusCode::PRECONDITION_FAILED);
    let bad = Some(StatusCode::BAD_REQUEST);

    // No headers, every method class and state.
    for method in [
        Method::GET,
        Method::HEAD,
        Method::PUT,
        Method::POST,
        Method::PATCH,
        Method::DELETE,
        Method::OPTIONS,
        Method::CONNECT,
        Method::TRACE,
        Method::from_bytes(b"PROPFIND").unwrap(),
        Method::from_bytes(b"get").unwrap(),
        Method::from_bytes(b"A-VERY-LONG-EXTENSION-METHOD-NAME").unwrap(),
    ] {
        for state in [present(), bare(), missing()] {
            add(
                format!("{method} no headers {state:?}"),
                &method,
                HeaderMap::new(),
                state,
                ok,
            );
        }
    }

    // If-None-Match lists of 1..=100 tags: match first, match last, no match; one line and
    // spread over several lines.
    for count in 1..=100 {
        for (label, at, status) in [
            ("first", Some(0), not_modified),
            ("last", Some(count - 1), not_modified),
            ("none", None, ok),
        ] {
            let list = tag_list(count, at);
            add(
                format!("GET If-None-Match {count} tags, match {label}"),
                &get,
                map(&[(IF_NONE_MATCH, &list)]),
                present(),
                status,
            );
            let mut lines = HeaderMap::new();
            for member in list.split(", ") {
                lines.append(IF_NONE_MATCH, HeaderValue::from_str(member).unwrap());
            }
            add(
                format!("GET If-None-Match {count} lines, match {label}"),
                &get,
                lines,
                present(),
                status,
            );
            add(
                format!("PUT If-None-Match {count} tags, match {label}"),
                &put,
                map(&[(IF_NONE_MATCH, &list)]),
                present(),
                status.map(|_| StatusCode::PRECONDITION_FAILED),
            );
        }
        add(
            format!("PUT If-Match {count} tags, match last"),
            &put,
            map(&[(IF_MATCH, &tag_list(count, Some(count - 1)))]),
            present(),
            ok,
        );
    }

    const IMF_AT: &str = "Sun, 06 Nov 1994 08:49:37 GMT";
    const IMF_BEFORE: &str = "Sun, 06 Nov 1994 08:49:36 GMT";
    const BYTES: (HeaderName, &str) = (RANGE, "bytes=0-1");
    let (p, b, m) = (&present(), &bare(), &missing());
    let options = Method::OPTIONS;
    #[rustfmt::skip]
    let fixed: [Fixed<'_>; 36] = [
        ("If-Match match", &put, &[(IF_MATCH, "\"current\"")], p, ok),
        ("If-Match stale", &put, &[(IF_MATCH, "\"old\"")], p, failed),
        ("If-Match weak", &put, &[(IF_MATCH, "W/\"current\"")], p, failed),
        ("If-Match star", &put, &[(IF_MATCH, "*")], p, ok),
        ("If-Match star, bare", &put, &[(IF_MATCH, "*")], b, ok),
        ("If-Match star, missing", &put, &[(IF_MATCH, "*")], m, failed),
        ("If-Match, missing", &put, &[(IF_MATCH, "\"current\"")], m, failed),
        ("If-Match empty", &put, &[(IF_MATCH, "")], p, failed),
        ("If-Match malformed", &put, &[(IF_MATCH, "garbage")], p, bad),
        ("If-Match star twice", &put, &[(IF_MATCH, "*"), (IF_MATCH, "*")], p, bad),
        ("If-Match match then junk", &put, &[(IF_MATCH, "\"current\", \"x")], p, bad),
        ("If-None-Match malformed GET", &get, &[(IF_NONE_MATCH, "w/\"x\"")], p, ok),
        ("If-None-Match malformed PUT", &put, &[(IF_NONE_MATCH, "x")], p, bad),
        ("If-None-Match star GET", &get, &[(IF_NONE_MATCH, "*")], p, not_modified),
        ("If-None-Match star PUT missing", &put, &[(IF_NONE_MATCH, "*")], m, ok),
        ("If-Modified-Since IMF", &get, &[(IF_MODIFIED_SINCE, IMF_AT)], p, not_modified),
        ("If-Modified-Since RFC 850", &get,
            &[(IF_MODIFIED_SINCE, "Sunday, 06-Nov-94 08:49:37 GMT")], p, not_modified),
        ("If-Modified-Since asctime", &get,
            &[(IF_MODIFIED_SINCE, "Sun Nov  6 08:49:37 1994")], p, not_modified),
        ("If-Modified-Since older", &get, &[(IF_MODIFIED_SINCE, IMF_BEFORE)], p, ok),
        ("If-Modified-Since invalid", &get, &[(IF_MODIFIED_SINCE, "yesterday")], p, ok),
        ("If-Modified-Since wrong weekday", &get,
            &[(IF_MODIFIED_SINCE, "Mon, 06 Nov 1994 08:49:37 GMT")], p, ok),
        ("If-Modified-Since two lines", &get,
            &[(IF_MODIFIED_SINCE, IMF_AT), (IF_MODIFIED_SINCE, IMF_AT)], p, ok),
        ("If-Unmodified-Since IMF", &put, &[(IF_UNMODIFIED_SINCE, IMF_BEFORE)], p, failed),
        ("If-Unmodified-Since RFC 850", &put,
            &[(IF_UNMODIFIED_SINCE, "Sunday, 06-Nov-94 08:49:36 GMT")], p, failed),
        ("If-Unmodified-Since asctime", &put,
            &[(IF_UNMODIFIED_SINCE, "Sun Nov  6 08:49:37 1994")], p, ok),
        ("If-Unmodified-Since invalid", &put,
            &[(IF_UNMODIFIED_SINCE, "Sun, 06 Nov 1994 08:49:36 GMT garbage")], p, ok),
        ("If-Range tag", &get, &[BYTES, (IF_RANGE, "\"current\"")], p, ok),
        ("If-Range stale tag", &get, &[BYTES, (IF_RANGE, "\"old\"")], p, ok),
        ("If-Range weak tag", &get, &[BYTES, (IF_RANGE, "W/\"current\"")], p, ok),
        ("If-Range date", &get, &[BYTES, (IF_RANGE, IMF_AT)], p, ok),
        ("If-Range asctime", &get, &[BYTES, (IF_RANGE, "Sun Nov  6 08:49:37 1994")], p, ok),
        ("If-Range garbage", &get, &[BYTES, (IF_RANGE, "\"current\",")], p, ok),
        ("If-Range two lines", &get,
            &[BYTES, (IF_RANGE, "\"current\""), (IF_RANGE, "\"current\"")], p, ok),
        ("everything, missing GET", &get,
            &[(IF_MATCH, "garbage"), (IF_NONE_MATCH, "*"), BYTES], m, ok),
        ("everything, OPTIONS", &options,
            &[(IF_MATCH, "garbage"), (IF_UNMODIFIED_SINCE, IMF_BEFORE)], p, ok),
        ("everything at once", &get, &[
            (IF_MATCH, "\"a\", \"current\""),
            (IF_UNMODIFIED_SINCE, IMF_BEFORE),
            (IF_NONE_MATCH, "\"a\", W/\"b\""),
            (IF_MODIFIED_SINCE, IMF_AT),
            BYTES,
            (IF_RANGE, IMF_AT),
        ], p, ok),
    ];
    for (name, method, fields, state, status) in fixed {
        add(name.to_owned(), method, map(fields), state.clone(), status);
    }
    cases
}

#[test]
fn evaluate_never_allocates() {
    let cases = cases();
    let mut counts = vec![0usize; cases.len()];
    let mut statuses: Vec<Option<StatusCode>> = vec![None; cases.len()];
    let mut decisions: Vec<Option<Decision>> = vec![None; cases.len()];
    for (i, case) in cases.iter().enumerate() {
        let (decision, count) = allocations_during(|| {
            evaluate(
                black_box(&case.method),
                black_box(&case.headers),
                black_box(&case.state),
            )
        });
        counts[i] = count;
        statuses[i] = decision.status();
        decisions[i] = Some(decision);
    }
    let mut failures = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        if counts[i] != 0 {
            failures.push(format!("{}: {} allocation(s)", case.name, counts[i]));
        }
        if statuses[i] != case.status {
            failures.push(format!(
                "{}: expected {:?}, got {:?}",
                case.name, case.status, decisions[i]
            ));
        }
    }
    assert!(cases.len() > 900, "only {} cases", cases.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
