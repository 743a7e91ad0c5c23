//! The response side in process (issue 6): `ConditionalLayer::from_responses()` over a
//! `service_fn` answering 200 with a body of 1 KiB, 64 KiB or 1 MiB and no `ETag`, so the layer
//! reads the body, hashes it (SHA-256) and tags the response with the hash.
//!
//! Per size, three cases:
//! - `bare_200`: the same service without the layer, body collected (the floor);
//! - `hashed_200`: a plain GET through the layer: read, hash, tag, then the body collected;
//! - `hashed_304`: a GET revalidating with the hash: read and hash, then an empty 304 (the body
//!   the handler made is dropped).
//!
//! Every future here resolves on its first poll (the source and the service answer at once and
//! `Full` yields its one frame at once), so each is polled once with a no-op waker: no runtime.
//! The body `Bytes` is built once; the handler hands out reference-counted clones of it. The
//! request is built outside the timed section (`iter_batched`); collecting and dropping the
//! response are timed, as they are part of a request's cost.
//!
//! Run: `cargo bench --bench response_side -- --warm-up-time 1 --measurement-time 3`

use std::convert::Infallible;
use std::future::{Ready, ready};
use std::hint::black_box;

use bytes::Bytes;
use criterion::measurement::WallTime;
use criterion::{
    BatchSize, BenchmarkGroup, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main,
};
use http::header::{ACCEPT, ETAG, HOST, IF_NONE_MATCH};
use http::{HeaderValue, Request, Response, StatusCode};
use http_body::Body;
use http_body_util::{BodyExt, Empty, Full};
use tower::{Layer, Service, ServiceExt, service_fn};
use tower_conditional::{ConditionalLayer, ETag};

#[path = "support/poll.rs"]
mod poll;

use poll::run;

/// A page-like body of `size` bytes (HTML-ish text, so nothing about it is degenerate).
fn content(size: usize) -> Bytes {
    let line = b"<li class=\"item\"><a href=\"/items/0042\">item 42: rendered text</a></li>\n";
    line.iter()
        .copied()
        .cycle()
        .take(size)
        .collect::<Vec<u8>>()
        .into()
}

type Page = Response<Full<Bytes>>;

/// The application: 200 with `body` (a reference-counted clone) and no validators.
fn bare(
    body: Bytes,
) -> impl Service<
    Request<Empty<Bytes>>,
    Response = Page,
    Error = Infallible,
    Future = Ready<Result<Page, Infallible>>,
> + Clone {
    service_fn(move |_request: Request<Empty<Bytes>>| {
        ready(Ok::<_, Infallible>(Response::new(Full::new(body.clone()))))
    })
}

/// A GET as a browser sends it, revalidating with `etag` when given.
fn request(etag: Option<&HeaderValue>) -> Request<Empty<Bytes>> {
    let mut request = Request::get("/page")
        .header(HOST, "example.com")
        .header(ACCEPT, "text/html")
        .body(Empty::new())
        .expect("a valid request");
    if let Some(etag) = etag {
        request.headers_mut().insert(IF_NONE_MATCH, etag.clone());
    }
    request
}

/// One request through a clone of `service`, body collected; answers the status and body size.
fn serve<S, B>(service: &S, request: Request<Empty<Bytes>>) -> (StatusCode, usize)
where
    S: Service<Request<Empty<Bytes>>, Response = Response<B>, Error = Infallible> + Clone,
    B: Body,
    B::Error: std::fmt::Debug,
{
    let response = run(service.clone().oneshot(request)).expect("infallible");
    let (head, body) = response.into_parts();
    let bytes = run(body.collect()).expect("a whole body").to_bytes();
    let answer = (head.status, bytes.len());
    drop(black_box((head, bytes)));
    answer
}

/// Times one case; the request is built outside the timed section.
fn bench_case<S, B>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    label: &str,
    service: &S,
    etag: Option<&HeaderValue>,
    expected: (StatusCode, usize),
) where
    S: Service<Request<Empty<Bytes>>, Response = Response<B>, Error = Infallible> + Clone,
    B: Body,
    B::Error: std::fmt::Debug,
{
    assert_eq!(serve(service, request(etag)), expected, "{name}/{label}");
    group.bench_function(BenchmarkId::new(name, label), |b| {
        b.iter_batched(
            || request(etag),
            |request| serve(service, request),
            BatchSize::SmallInput,
        )
    });
}

fn bench_response_side(c: &mut Criterion) {
    let mut group = c.benchmark_group("response_side");
    for (label, size) in [("1KiB", 1 << 10), ("64KiB", 64 << 10), ("1MiB", 1 << 20)] {
        let body = content(size);
        let tag = HeaderValue::from(ETag::from_content(&body));
        let bare = bare(body.clone());
        let layered = ConditionalLayer::from_responses().layer(bare.clone());

        // The layer tags the 200 with the hash (1 MiB is exactly the default limit: hashed).
        let response = run(layered.clone().oneshot(request(None))).expect("infallible");
        assert_eq!(response.headers().get(ETAG), Some(&tag), "{label}");

        group.throughput(Throughput::Bytes(size as u64));
        bench_case(
            &mut group,
            "bare_200",
            label,
            &bare,
            None,
            (StatusCode::OK, size),
        );
        bench_case(
            &mut group,
            "hashed_200",
            label,
            &layered,
            None,
            (StatusCode::OK, size),
        );
        bench_case(
            &mut group,
            "hashed_304",
            label,
            &layered,
            Some(&tag),
            (StatusCode::NOT_MODIFIED, 0),
        );
    }
    group.finish();
}

criterion_group!(benches, bench_response_side);
criterion_main!(benches);
