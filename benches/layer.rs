//! The tower layer in process (issue 4): a bare `service_fn` answering a small 200, against the
//! same service behind `ConditionalLayer` on the pass-through path, the 304 short-circuit and
//! the 412 short-circuit.
//!
//! Each request goes through `tower::ServiceExt::oneshot` on a clone of the service; every
//! future here resolves on its first poll (the source answers with `std::future::ready`), so
//! it is polled once with a no-op waker: no runtime, no scheduling noise. The request is built
//! outside the timed section (`iter_batched`); dropping the response is timed, since freeing
//! is part of a request's cost.
//!
//! `pass_through_get_arc_source` is the pass-through with a source that keeps its validators
//! behind an `Arc`: the default source here owns a `Validators`, so the per-request clone of
//! the service clones it (and drops it) even when the source is not asked.
//!
//! Before the timed groups, the bench prints the heap allocations per request of each path,
//! counted by a global allocator (`tests/allocations.rs` asserts them), and the pass-through's
//! cost as a ratio to bare measured in pairs: rounds of 2,000 requests through each, in
//! alternating order, the ratio taken per round and its median printed. On a shared machine
//! whose speed drifts by tens of percent between criterion's groups, a pair measured within a
//! few milliseconds of each other sees the same machine: this ratio is the guard's figure.
//!
//! A second group (`layer_source_50us`, issue 9) puts a source whose look-up takes 50 µs behind
//! the layer and drives every request with a tokio current-thread runtime (`block_on`, the same
//! for the bare service): an unconditional GET, which needs no look-up, should cost about what
//! the bare service costs, and a conditional GET pays the look-up. The look-up busy-waits: tokio's
//! timer has a 1 ms resolution, so `tokio::time::sleep(50 µs)` would sleep about 1 ms, and a
//! thread sleep would add the scheduler's wake-up latency; a spin measures a 50 µs look-up as
//! such (think of a synchronous cache or database round trip charged to the request).
//!
//! Run: `cargo bench --bench layer -- --warm-up-time 1 --measurement-time 3`

use std::convert::Infallible;
use std::future::{Ready, ready};
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::measurement::WallTime;
use criterion::{BatchSize, BenchmarkGroup, Criterion, criterion_group, criterion_main};
use http::header::{ACCEPT, ACCEPT_ENCODING, HOST, IF_MATCH, IF_NONE_MATCH, USER_AGENT};
use http::request::Parts;
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::Full;
use tower::{Layer, Service, ServiceExt, service_fn};
use tower_conditional::{
    ConditionalBody, ConditionalLayer, ETag, LastModified, Lookup, Validators,
};

// ----- allocation counting ------------------------------------------------------------------

#[path = "support/counting.rs"]
mod counting;

use counting::allocations;

#[path = "support/poll.rs"]
mod poll;

#[path = "support/paired.rs"]
mod paired;

use poll::run;

// ----- services and requests ----------------------------------------------------------------

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

/// The current validators of the one resource.
fn validators() -> Validators {
    Validators::new()
        .with_etag(ETag::from_content(
            b"the current representation of /items/42",
        ))
        .with_last_modified(LastModified::from_unix_seconds(1_700_000_000).expect("in range"))
}

/// The application behind the layer, with a source that answers at once.
fn layered()
-> impl Service<Request<Full<Bytes>>, Response = Response<ConditionalBody<Body>>, Error = Infallible>
+ Clone {
    let validators = validators();
    let source = move |_: &Parts| ready(Ok::<_, Infallible>(Lookup::Present(validators.clone())));
    ConditionalLayer::new(source).layer(bare())
}

/// As [`layered`], but the source holds its validators behind an `Arc`, as a real source holds
/// its store: cloning the service per request (as `serve` and axum do) then costs a reference
/// count instead of a `Validators` clone. A look-up still clones the `Validators`.
fn layered_arc()
-> impl Service<Request<Full<Bytes>>, Response = Response<ConditionalBody<Body>>, Error = Infallible>
+ Clone {
    let validators = Arc::new(validators());
    let source = move |_: &Parts| {
        ready(Ok::<_, Infallible>(Lookup::Present(
            validators.as_ref().clone(),
        )))
    };
    ConditionalLayer::new(source).layer(bare())
}

fn current_tag() -> HeaderValue {
    HeaderValue::from(validators().etag().expect("has a tag"))
}

/// What a request carries besides its method.
#[derive(Debug, Clone, Copy)]
enum Kind {
    /// GET without conditional headers.
    Get,
    /// GET revalidating the current tag.
    GetIfNoneMatchCurrent,
    /// PUT with `If-Match` naming the current tag (the write proceeds).
    PutIfMatchCurrent,
    /// PUT with `If-Match` naming a stale tag.
    PutIfMatchStale,
}

/// A request as a client sends it; built outside the timed section.
fn request(kind: Kind) -> Request<Full<Bytes>> {
    let (method, condition) = match kind {
        Kind::Get => (Method::GET, None),
        Kind::GetIfNoneMatchCurrent => (Method::GET, Some((IF_NONE_MATCH, current_tag()))),
        Kind::PutIfMatchCurrent => (Method::PUT, Some((IF_MATCH, current_tag()))),
        Kind::PutIfMatchStale => (
            Method::PUT,
            Some((IF_MATCH, HeaderValue::from_static("\"stale-version\""))),
        ),
    };
    let body = if method == Method::PUT {
        Bytes::from_static(b"{\"key\":42,\"value\":\"goodbye\"}")
    } else {
        Bytes::new()
    };
    let mut request = Request::builder()
        .method(method)
        .uri("/items/42")
        .header(HOST, "example.com")
        .header(USER_AGENT, "bench/1.0")
        .header(ACCEPT, "application/json")
        .header(ACCEPT_ENCODING, "gzip, br")
        .body(Full::new(body))
        .expect("a valid request");
    if let Some((name, value)) = condition {
        request.headers_mut().insert(name, value);
    }
    request
}

/// One request through a clone of `service`; answers the status. Never inlined, so that a
/// profiler (`valgrind --tool=callgrind`) can count the instructions of one request.
#[inline(never)]
fn serve<S, B>(service: &S, request: Request<Full<Bytes>>) -> StatusCode
where
    S: Service<Request<Full<Bytes>>, Response = Response<B>, Error = Infallible> + Clone,
{
    let response = run(service.clone().oneshot(request)).expect("infallible");
    let status = response.status();
    drop(black_box(response));
    status
}

/// Heap allocations of one request, in steady state (after warm-up), request built beforehand.
fn allocations_per_request<S, B>(service: &S, kind: Kind, expected: StatusCode) -> u64
where
    S: Service<Request<Full<Bytes>>, Response = Response<B>, Error = Infallible> + Clone,
{
    for _ in 0..3 {
        assert_eq!(serve(service, request(kind)), expected, "{kind:?}");
    }
    (0..10)
        .map(|_| {
            let request = request(kind);
            let service = service.clone();
            let before = allocations();
            let response = run(service.oneshot(request)).expect("infallible");
            drop(black_box(response));
            allocations() - before
        })
        .min()
        .expect("ten runs")
}

fn print_allocations() {
    let bare = bare();
    let layered = layered();
    let rows = [
        (
            "bare, GET",
            allocations_per_request(&bare, Kind::Get, StatusCode::OK),
        ),
        (
            "layer pass-through, GET",
            allocations_per_request(&layered, Kind::Get, StatusCode::OK),
        ),
        (
            "layer pass-through, GET, Arc source",
            allocations_per_request(&layered_arc(), Kind::Get, StatusCode::OK),
        ),
        (
            "layer 304, GET If-None-Match current",
            allocations_per_request(
                &layered,
                Kind::GetIfNoneMatchCurrent,
                StatusCode::NOT_MODIFIED,
            ),
        ),
        (
            "bare, PUT If-Match stale",
            allocations_per_request(&bare, Kind::PutIfMatchStale, StatusCode::OK),
        ),
        (
            "layer 412, PUT If-Match stale",
            allocations_per_request(
                &layered,
                Kind::PutIfMatchStale,
                StatusCode::PRECONDITION_FAILED,
            ),
        ),
        (
            "layer pass-through, PUT If-Match current",
            allocations_per_request(&layered, Kind::PutIfMatchCurrent, StatusCode::OK),
        ),
    ];
    println!("heap allocations per request (steady state, request built beforehand):");
    for (path, count) in rows {
        println!("  {path:<42} {count}");
    }
}

// ----- the pass-through's ratio to bare, in pairs -------------------------------------------

/// Wall time of `count` requests of `kind` through `service`. The requests are built in
/// batches of 32 just before their batch is timed, so each is in cache as a request a server
/// has just parsed would be (as criterion's `iter_batched` has them).
fn time_requests<S, B>(service: &S, kind: Kind, count: usize) -> Duration
where
    S: Service<Request<Full<Bytes>>, Response = Response<B>, Error = Infallible> + Clone,
{
    const BATCH: usize = 32;
    let mut total = Duration::ZERO;
    let mut requests = Vec::with_capacity(BATCH);
    for _ in 0..count.div_ceil(BATCH) {
        requests.extend((0..BATCH).map(|_| request(kind)));
        let start = Instant::now();
        for request in requests.drain(..) {
            black_box(serve(service, request));
        }
        total += start.elapsed();
    }
    total
}

/// The median, over `rounds`, of the time of 2,000 requests through `layered` divided by that
/// through `bare`, each round measuring both back to back (which goes first alternates).
fn paired_ratio<S, T, B, C>(bare: &S, layered: &T, kind: Kind, rounds: usize) -> (f64, f64, f64)
where
    S: Service<Request<Full<Bytes>>, Response = Response<B>, Error = Infallible> + Clone,
    T: Service<Request<Full<Bytes>>, Response = Response<C>, Error = Infallible> + Clone,
{
    const PER_ROUND: usize = 2_000;
    time_requests(bare, kind, PER_ROUND);
    time_requests(layered, kind, PER_ROUND);
    let ratios = paired::ratios(
        rounds,
        || time_requests(bare, kind, PER_ROUND),
        || time_requests(layered, kind, PER_ROUND),
    );
    let at = |q| paired::quantile(&ratios, q);
    (at(0.5), at(0.25), at(0.75))
}

fn print_paired_ratios() {
    let (median, low, high) = paired_ratio(&bare(), &layered(), Kind::Get, 301);
    println!(
        "pass-through GET / bare GET, paired (301 rounds of 2,000 each): median {median:.2}x, \
         quartiles {low:.2}x to {high:.2}x"
    );
}

// ----- timed groups -------------------------------------------------------------------------

/// Times one request kind through `service`; the request is built outside the timed section.
fn bench_case<S, B>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    service: &S,
    kind: Kind,
    expected: StatusCode,
) where
    S: Service<Request<Full<Bytes>>, Response = Response<B>, Error = Infallible> + Clone,
{
    assert_eq!(serve(service, request(kind)), expected, "{name}");
    group.bench_function(name, |b| {
        b.iter_batched(
            || request(kind),
            |request| serve(service, request),
            BatchSize::SmallInput,
        )
    });
}

fn bench_layer(c: &mut Criterion) {
    print_allocations();
    print_paired_ratios();

    let bare = bare();
    let layered = layered();
    let mut group = c.benchmark_group("layer");
    bench_case(&mut group, "bare_get", &bare, Kind::Get, StatusCode::OK);
    bench_case(
        &mut group,
        "pass_through_get",
        &layered,
        Kind::Get,
        StatusCode::OK,
    );
    bench_case(
        &mut group,
        "pass_through_get_arc_source",
        &layered_arc(),
        Kind::Get,
        StatusCode::OK,
    );
    bench_case(
        &mut group,
        "short_circuit_304",
        &layered,
        Kind::GetIfNoneMatchCurrent,
        StatusCode::NOT_MODIFIED,
    );
    bench_case(
        &mut group,
        "bare_put",
        &bare,
        Kind::PutIfMatchStale,
        StatusCode::OK,
    );
    bench_case(
        &mut group,
        "short_circuit_412",
        &layered,
        Kind::PutIfMatchStale,
        StatusCode::PRECONDITION_FAILED,
    );
    bench_case(
        &mut group,
        "pass_through_put_if_match",
        &layered,
        Kind::PutIfMatchCurrent,
        StatusCode::OK,
    );
    group.finish();
}

// ----- a source that takes 50 µs (issue 9) --------------------------------------------------

/// How long the slow source's look-up takes.
const LOOKUP_TIME: Duration = Duration::from_micros(50);

/// Busy-waits for `time`: see the module docs for why not a timer.
fn spin(time: Duration) {
    let start = Instant::now();
    while start.elapsed() < time {
        std::hint::spin_loop();
    }
}

/// The application behind the layer, with a source whose look-up takes [`LOOKUP_TIME`] when it
/// is polled (never when the layer does not ask).
fn layered_slow()
-> impl Service<Request<Full<Bytes>>, Response = Response<ConditionalBody<Body>>, Error = Infallible>
+ Clone {
    let validators = validators();
    let source = move |_: &Parts| {
        let validators = validators.clone();
        async move {
            spin(LOOKUP_TIME);
            Ok::<_, Infallible>(Lookup::Present(validators))
        }
    };
    ConditionalLayer::new(source).layer(bare())
}

/// One request through a clone of `service` on `runtime`; answers the status.
#[inline(never)]
fn serve_on<S, B>(
    runtime: &tokio::runtime::Runtime,
    service: &S,
    request: Request<Full<Bytes>>,
) -> StatusCode
where
    S: Service<Request<Full<Bytes>>, Response = Response<B>, Error = Infallible> + Clone,
{
    let response = runtime
        .block_on(service.clone().oneshot(request))
        .expect("infallible");
    let status = response.status();
    drop(black_box(response));
    status
}

/// Times one request kind through `service` on `runtime`.
fn bench_case_on<S, B>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    runtime: &tokio::runtime::Runtime,
    name: &str,
    service: &S,
    kind: Kind,
    expected: StatusCode,
) where
    S: Service<Request<Full<Bytes>>, Response = Response<B>, Error = Infallible> + Clone,
{
    assert_eq!(
        serve_on(runtime, service, request(kind)),
        expected,
        "{name}"
    );
    group.bench_function(name, |b| {
        b.iter_batched(
            || request(kind),
            |request| serve_on(runtime, service, request),
            BatchSize::SmallInput,
        )
    });
}

fn bench_slow_source(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let bare = bare();
    let layered = layered_slow();
    let mut group = c.benchmark_group("layer_source_50us");
    bench_case_on(
        &mut group,
        &runtime,
        "bare_get",
        &bare,
        Kind::Get,
        StatusCode::OK,
    );
    bench_case_on(
        &mut group,
        &runtime,
        "unconditional_get",
        &layered,
        Kind::Get,
        StatusCode::OK,
    );
    bench_case_on(
        &mut group,
        &runtime,
        "conditional_get_304",
        &layered,
        Kind::GetIfNoneMatchCurrent,
        StatusCode::NOT_MODIFIED,
    );
    bench_case_on(
        &mut group,
        &runtime,
        "put_if_match_current",
        &layered,
        Kind::PutIfMatchCurrent,
        StatusCode::OK,
    );
    group.finish();
}

criterion_group!(benches, bench_layer, bench_slow_source);
criterion_main!(benches);
