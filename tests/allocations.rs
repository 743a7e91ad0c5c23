//! Heap allocation budgets (issue 4), counted by a per-thread counting global allocator.
//!
//! - `evaluate` allocates nothing, on every path.
//! - The layer's pass-through path for GET adds at most one allocation per request over the
//!   bare service (in fact it adds none); in an axum `Router`, as a `route_layer` around a
//!   handler, it adds none over what axum's routing costs any layer.
//! - The 304 and 412 short-circuits allocate no more than they do today (regression guards;
//!   each allocation is named below).
//!
//! Counting is per thread, so tests running in parallel do not disturb each other. Requests
//! are built before counting starts; counts are the minimum over several runs after warm-up,
//! so one-off work (the first clone of a `Bytes` promoting it to shared storage) is excluded.

use std::convert::Infallible;
use std::future::{Ready, ready};

use bytes::Bytes;
use http::header::{
    ACCEPT, HOST, HeaderName, IF_MATCH, IF_MODIFIED_SINCE, IF_NONE_MATCH, IF_RANGE,
    IF_UNMODIFIED_SINCE, RANGE,
};
use http::request::Parts;
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::Full;
use tower::{Layer, Service, ServiceExt, service_fn};
use tower_conditional::{
    ConditionalLayer, ETag, LastModified, Lookup, ResourceState, Validators, evaluate,
};

// ----- allocation counting ------------------------------------------------------------------

#[path = "../benches/support/counting.rs"]
mod counting;

use counting::allocations;

#[path = "../benches/support/poll.rs"]
mod poll;

use poll::run;

/// The fewest allocations `f` makes over several runs, after warming up.
fn min_allocations(mut f: impl FnMut()) -> u64 {
    for _ in 0..3 {
        f();
    }
    (0..10)
        .map(|_| {
            let before = allocations();
            f();
            allocations() - before
        })
        .min()
        .expect("ten runs")
}

#[test]
fn the_counter_counts() {
    let count = min_allocations(|| {
        std::hint::black_box(Box::new(std::hint::black_box(42_u64)));
    });
    assert_eq!(count, 1);
}

// ----- evaluate -----------------------------------------------------------------------------

fn current_tag() -> ETag {
    ETag::from_content(b"the current representation of /items/42")
}

fn modified() -> LastModified {
    LastModified::from_unix_seconds(1_700_000_000).expect("in range")
}

fn validators() -> Validators {
    Validators::new()
        .with_etag(current_tag())
        .with_last_modified(modified())
}

fn header_map(fields: &[(HeaderName, &str)]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(HOST, HeaderValue::from_static("example.com"));
    headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
    for (name, value) in fields {
        headers.append(name, HeaderValue::from_str(value).expect("a valid value"));
    }
    headers
}

#[test]
fn evaluate_never_allocates() {
    let tag = current_tag().to_string();
    let date = modified().to_string();
    let list: Vec<String> = (0..99)
        .map(|i| ETag::from_content(format!("version {i}").as_bytes()).to_string())
        .chain([tag.clone()])
        .collect();
    let list = list.join(", ");
    let unquoted = tag.trim_matches('"').to_owned();
    let cases: Vec<(Method, Vec<(HeaderName, &str)>)> = vec![
        (Method::GET, vec![]),
        (Method::GET, vec![(IF_NONE_MATCH, &tag)]),
        (Method::GET, vec![(IF_NONE_MATCH, &list)]),
        (Method::GET, vec![(IF_NONE_MATCH, "\"other\"")]),
        (Method::GET, vec![(IF_NONE_MATCH, "*")]),
        (
            Method::GET,
            vec![(IF_NONE_MATCH, "\"a\""), (IF_NONE_MATCH, "W/\"b\"")],
        ),
        (Method::PUT, vec![(IF_MATCH, &tag)]),
        (Method::PUT, vec![(IF_MATCH, "\"stale\"")]),
        (Method::PUT, vec![(IF_MATCH, "*")]),
        (Method::PUT, vec![(IF_NONE_MATCH, "*")]),
        (Method::GET, vec![(IF_MODIFIED_SINCE, &date)]),
        (
            Method::GET,
            vec![(IF_MODIFIED_SINCE, "Sun, 06 Nov 1994 08:49:37 GMT")],
        ),
        (
            Method::GET,
            vec![(IF_MODIFIED_SINCE, "Sunday, 06-Nov-94 08:49:37 GMT")],
        ),
        (
            Method::GET,
            vec![(IF_MODIFIED_SINCE, "Sun Nov  6 08:49:37 1994")],
        ),
        (Method::GET, vec![(IF_MODIFIED_SINCE, "yesterday")]),
        (Method::PUT, vec![(IF_UNMODIFIED_SINCE, &date)]),
        (
            Method::PUT,
            vec![(IF_UNMODIFIED_SINCE, "Sun, 06 Nov 1994 08:49:37 GMT")],
        ),
        (
            Method::GET,
            vec![(IF_NONE_MATCH, &tag), (IF_MODIFIED_SINCE, &date)],
        ),
        (Method::GET, vec![(RANGE, "bytes=0-1023"), (IF_RANGE, &tag)]),
        (
            Method::GET,
            vec![(RANGE, "bytes=0-1023"), (IF_RANGE, "\"old\"")],
        ),
        (
            Method::GET,
            vec![(RANGE, "bytes=0-1023"), (IF_RANGE, &date)],
        ),
        (Method::GET, vec![(IF_NONE_MATCH, &unquoted)]),
        (Method::PUT, vec![(IF_NONE_MATCH, &unquoted)]),
        (Method::PUT, vec![(IF_MATCH, "garbage")]),
        (Method::OPTIONS, vec![(IF_MATCH, "\"x\"")]),
        (Method::DELETE, vec![(IF_MATCH, &tag)]),
    ];
    let present = ResourceState::Present(validators());
    let missing = ResourceState::Missing;
    for (method, fields) in &cases {
        let headers = header_map(fields);
        for state in [&present, &missing] {
            let count = min_allocations(|| {
                std::hint::black_box(evaluate(method, &headers, state));
            });
            assert_eq!(
                count,
                0,
                "{method} {fields:?} against {state:?}",
                state = state.is_present()
            );
        }
    }
}

// ----- the layer ----------------------------------------------------------------------------

type Body = Full<Bytes>;

/// The application: a small 200, allocation-free.
fn bare() -> impl Service<
    Request<Full<Bytes>>,
    Response = Response<Body>,
    Error = Infallible,
    Future = Ready<Result<Response<Body>, Infallible>>,
> + Clone {
    service_fn(|_request: Request<Full<Bytes>>| {
        ready(Ok::<_, Infallible>(Response::new(Full::new(
            Bytes::from_static(b"{\"key\":42,\"value\":\"hello\"}"),
        ))))
    })
}

/// The application behind the layer, with a source that answers at once.
fn layered()
-> impl Service<Request<Full<Bytes>>, Response = Response<impl Sized>, Error = Infallible> + Clone {
    let validators = validators();
    let source = move |_: &Parts| ready(Ok::<_, Infallible>(Lookup::Present(validators.clone())));
    ConditionalLayer::new(source).layer(bare())
}

fn request(method: Method, condition: Option<(HeaderName, HeaderValue)>) -> Request<Full<Bytes>> {
    let mut request = Request::builder()
        .method(method)
        .uri("/items/42")
        .header(HOST, "example.com")
        .header(ACCEPT, "application/json")
        .body(Full::new(Bytes::from_static(b"{\"value\":\"goodbye\"}")))
        .expect("a valid request");
    if let Some((name, value)) = condition {
        request.headers_mut().insert(name, value);
    }
    request
}

/// Allocations of one request through a clone of `service` (cloned and built beforehand),
/// response dropped.
fn per_request<S, B>(
    service: &S,
    make: impl Fn() -> Request<Full<Bytes>>,
    expected: StatusCode,
) -> u64
where
    S: Service<Request<Full<Bytes>>, Response = Response<B>, Error = Infallible> + Clone,
{
    let response = run(service.clone().oneshot(make())).expect("infallible");
    assert_eq!(response.status(), expected);
    for _ in 0..3 {
        drop(run(service.clone().oneshot(make())));
    }
    (0..10)
        .map(|_| {
            let service = service.clone();
            let request = make();
            let before = allocations();
            drop(run(service.oneshot(request)));
            allocations() - before
        })
        .min()
        .expect("ten runs")
}

fn current() -> Option<(HeaderName, HeaderValue)> {
    Some((IF_NONE_MATCH, HeaderValue::from(current_tag())))
}

fn stale_if_match() -> Option<(HeaderName, HeaderValue)> {
    Some((IF_MATCH, HeaderValue::from_static("\"stale\"")))
}

#[test]
fn the_bare_service_does_not_allocate() {
    // The baseline the layer is measured against: `Response::new` with an empty `HeaderMap`
    // and a static body allocates nothing.
    let count = per_request(&bare(), || request(Method::GET, None), StatusCode::OK);
    assert_eq!(count, 0);
}

#[test]
fn pass_through_get_adds_at_most_one_allocation() {
    let bare = per_request(&bare(), || request(Method::GET, None), StatusCode::OK);
    let layered = per_request(&layered(), || request(Method::GET, None), StatusCode::OK);
    // Budget: at most one more than bare. Measured: none more. On this path the layer
    // splits the request into parts and body and puts them back (moves), calls the inner
    // service without cloning it, gets `ready(Lookup)` from the source (cloning
    // `Validators` only bumps the `Bytes` reference count of the tag), reads the headers
    // borrowed and evaluates without allocating, and wraps the body (a move). Nothing on
    // the heap.
    assert!(
        layered <= bare + 1,
        "pass-through: {layered} allocations, bare: {bare}"
    );
    assert_eq!(
        layered, bare,
        "the pass-through path allocates nothing today"
    );
}

#[test]
fn not_modified_allocates_only_its_header_map() {
    let count = per_request(
        &layered(),
        || request(Method::GET, current()),
        StatusCode::NOT_MODIFIED,
    );
    // 1. The boxed look-up state (`Waiting`, 584 bytes: the source's future and the request
    //    waiting for it; boxed so that requests needing no look-up have a small future),
    // 2. the boxed drain of this request's 19-byte body (`Draining`, 176 bytes; a GET without
    //    a body has none), 3. the 304's `HeaderMap` index table and 4. its entries vector,
    //    both allocated when `response::not_modified` inserts `ETag` (the tag's bytes are
    //    shared, not copied: `Bytes` reference count). Found by recording allocation sizes.
    assert!(count <= 4, "304: {count} allocations");
}

#[test]
fn precondition_failed_allocations_are_bounded() {
    let count = per_request(
        &layered(),
        || request(Method::PUT, stale_if_match()),
        StatusCode::PRECONDITION_FAILED,
    );
    // The boxed look-up state and the boxed drain of the request body (see the 304 above),
    // then, found with a backtrace-capturing allocator, all in `response::precondition_failed`:
    // 1. the problem+json body `String` (`format!` in `response::problem`, 108 bytes),
    // 2. its growth while `format!` writes the long `detail` (a realloc, 216 bytes),
    // 3. its growth for `,"condition":"If-Match"}` (`push_str`, a realloc, 432 bytes),
    // 4. the `Bytes` shared header for the body (`Bytes::from(String)` when the capacity
    //    exceeds the length),
    // 5. and 6. the `HeaderMap` index table and entries vector (first `insert`, of
    //    `Content-Type`),
    // 7. the `Last-Modified` text (`LastModified::to_string` in `header_value_at`; its
    //    conversion into a `HeaderValue` reuses the buffer, as length equals capacity).
    assert!(count <= 9, "412: {count} allocations");
}

#[test]
fn pass_through_put_allocations_are_bounded() {
    let bare = per_request(
        &bare(),
        || {
            request(
                Method::PUT,
                Some((IF_MATCH, HeaderValue::from(current_tag()))),
            )
        },
        StatusCode::OK,
    );
    let layered = per_request(
        &layered(),
        || {
            request(
                Method::PUT,
                Some((IF_MATCH, HeaderValue::from(current_tag()))),
            )
        },
        StatusCode::OK,
    );
    // Not part of the GET budget; found with a backtrace-capturing allocator. Writes carry a
    // `Checked` in the request's extensions, and `Extensions::insert` (in
    // `layer::before::hand_over`) allocates
    // 1. the boxed `AnyMap` (the extensions are empty until then),
    // 2. the `Box<dyn AnyClone>` holding the `Checked` (it owns the `Validators`),
    // 3. the map's hash table (148 bytes);
    // and 4. the boxed look-up state (see the 304 above). Nothing else: the request head
    // that a `lost_race` 412 needs for its second look-up is copied only when the handler
    // takes the `Checked` (`Checked::from_request`, the axum extractor), which this inner
    // service never does, and the target the source was asked about is kept as a
    // fingerprint, not a copy.
    assert!(
        layered <= bare + 4,
        "pass-through PUT: {layered} allocations, bare: {bare}"
    );
}

// ----- the layer in an axum Router ----------------------------------------------------------

/// An application's state, as most handlers have: it makes axum's boxed route to the handler
/// a real allocation to clone (a handler without state is zero-sized, and so is its box).
type AppState = std::sync::Arc<&'static str>;

/// A router with one handler route, not yet given its state.
fn handler_router() -> axum::Router<AppState> {
    let handler =
        |axum::extract::State(greeting): axum::extract::State<AppState>| async move { *greeting };
    axum::Router::new().route("/items/42", axum::routing::get(handler))
}

/// Allocations of one unconditional GET through `router` given its state (as `axum::serve`
/// takes it: handlers already turned into routes), response dropped.
fn per_router_request(router: axum::Router<AppState>) -> u64 {
    let mut router = router.with_state(AppState::new("hello"));
    let make = || {
        Request::get("/items/42")
            .header(HOST, "example.com")
            .body(axum::body::Body::empty())
            .expect("a valid request")
    };
    let response = run(router.call(make())).expect("infallible");
    assert_eq!(response.status(), StatusCode::OK);
    drop(response);
    for _ in 0..3 {
        drop(run(router.call(make())));
    }
    (0..10)
        .map(|_| {
            let request = make();
            let before = allocations();
            drop(run(router.call(request)));
            allocations() - before
        })
        .min()
        .expect("ten runs")
}

#[test]
fn an_axum_route_layer_adds_no_allocation_to_an_unconditional_get() {
    let bare = per_router_request(handler_router());
    // What any `route_layer` whose response body is a type of its own costs, the conditional
    // layer's included (measured: 4 over the bare router's 13): axum boxes the layered route
    // and clones it per request, the handler's route inside it too, and boxes the body. The
    // least such layer is this one, which only wraps the body.
    let wrapper = tower::util::MapResponseLayer::new(|response: Response<axum::body::Body>| {
        response.map(http_body_util::Either::<_, http_body_util::Empty<Bytes>>::Left)
    });
    let wrapped = per_router_request(handler_router().route_layer(wrapper));
    let source = |_: &Parts| ready(Ok::<_, Infallible>(Lookup::Present(validators())));
    let layered = per_router_request(handler_router().route_layer(ConditionalLayer::new(source)));
    // Nothing more: a request that needs no look-up calls the ready route without cloning it
    // (a clone of axum's boxed route is an allocation).
    assert_eq!(
        layered, wrapped,
        "conditional route layer: {layered}, body-wrapping route layer: {wrapped}, \
         bare router: {bare}"
    );
}
