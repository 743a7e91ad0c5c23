//! The cost of draining an unread request body before an early answer (issue 11), in process.
//!
//! A PUT with a stale `If-Match` and an N-MiB body (1, 8 and 64 MiB, in 64 KiB `Bytes` chunks,
//! declared with an exact size hint as a `Content-Length` body is) goes through
//! `ConditionalLayer`, which answers 412 after reading and discarding the body. Compared with:
//!
//! - `consume`: the same body read to its end by a loop of `poll_frame`, no layer: the
//!   irreducible cost of producing and consuming the chunks;
//! - `bare_drop`: the same request through a bare `service_fn` that drops the body unread: what
//!   the request costs without any reading.
//!
//! The chunks are clones of one shared `Bytes` (a reference count, no copy), so the figures are
//! the layer's own per-chunk cost; copying the bytes out of the socket is the server's (hyper's
//! and the kernel's) cost, measured end to end in BENCHMARKS.md. Every body is always ready, so
//! each future resolves on its first poll and is polled once with a no-op waker. The request is
//! built outside the timed section.
//!
//! Run: `cargo bench --bench drain -- --warm-up-time 1 --measurement-time 3`

use std::convert::Infallible;
use std::future::ready;
use std::hint::black_box;
use std::pin::{Pin, pin};
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use http::header::{CONTENT_TYPE, HOST, IF_MATCH};
use http::request::Parts;
use http::{Method, Request, Response, StatusCode};
use http_body::{Body, Frame, SizeHint};
use http_body_util::Full;
use tower::{Layer, Service, ServiceExt, service_fn};
use tower_conditional::{ConditionalBody, ConditionalLayer, ETag, Lookup, Validators};

#[path = "support/poll.rs"]
mod poll;

use poll::run;

const CHUNK: usize = 64 * 1024;
const MIB: u64 = 1024 * 1024;

/// A request body of `remaining` bytes in `CHUNK`-byte frames, always ready, with an exact size
/// hint (as hyper gives a body with `Content-Length`).
struct Chunks {
    chunk: Bytes,
    remaining: u64,
}

impl Chunks {
    fn new(chunk: &Bytes, bytes: u64) -> Self {
        Chunks {
            chunk: chunk.clone(),
            remaining: bytes,
        }
    }
}

impl Body for Chunks {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if self.remaining == 0 {
            return Poll::Ready(None);
        }
        let take = self.remaining.min(self.chunk.len() as u64);
        self.remaining -= take;
        let data = self.chunk.slice(..take as usize);
        Poll::Ready(Some(Ok(Frame::data(data))))
    }

    fn is_end_stream(&self) -> bool {
        self.remaining == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining)
    }
}

/// A PUT with a stale `If-Match` and a body of `bytes` bytes.
fn request(chunk: &Bytes, bytes: u64) -> Request<Chunks> {
    Request::builder()
        .method(Method::PUT)
        .uri("/items/42")
        .header(HOST, "example.com")
        .header(CONTENT_TYPE, "application/octet-stream")
        .header(IF_MATCH, "\"stale-version\"")
        .body(Chunks::new(chunk, bytes))
        .expect("a valid request")
}

/// The application: a small 200 that never reads the request body.
fn bare()
-> impl Service<Request<Chunks>, Response = Response<Full<Bytes>>, Error = Infallible> + Clone {
    service_fn(|_request: Request<Chunks>| {
        ready(Ok::<_, Infallible>(Response::new(Full::new(
            Bytes::from_static(b"{\"key\":42}"),
        ))))
    })
}

/// The application behind the layer (default drain bounds: 64 MiB, 10 s), with a source that
/// answers at once.
fn layered()
-> impl Service<Request<Chunks>, Response = Response<ConditionalBody<Full<Bytes>>>, Error = Infallible>
+ Clone {
    let validators = Validators::new().with_etag(ETag::from_content(b"the current version"));
    let source = move |_: &Parts| ready(Ok::<_, Infallible>(Lookup::Present(validators.clone())));
    ConditionalLayer::new(source).layer(bare())
}

#[inline(never)]
fn serve<S, B>(service: &S, request: Request<Chunks>) -> StatusCode
where
    S: Service<Request<Chunks>, Response = Response<B>, Error = Infallible> + Clone,
{
    let response = run(service.clone().oneshot(request)).expect("infallible");
    let status = response.status();
    drop(black_box(response));
    status
}

/// Reads `body` to its end; answers the bytes read.
#[inline(never)]
fn consume(body: Chunks) -> u64 {
    let mut body = pin!(body);
    let mut cx = Context::from_waker(Waker::noop());
    let mut read = 0;
    while let Poll::Ready(Some(frame)) = body.as_mut().poll_frame(&mut cx) {
        if let Ok(data) = frame.expect("infallible").into_data() {
            read += black_box(data).len() as u64;
        }
    }
    read
}

fn bench_drain(c: &mut Criterion) {
    let chunk = Bytes::from(vec![0x5a; CHUNK]);
    let bare = bare();
    let layered = layered();
    let mut group = c.benchmark_group("drain");
    for mib in [1, 8, 64] {
        let bytes = mib * MIB;
        assert_eq!(consume(Chunks::new(&chunk, bytes)), bytes);
        assert_eq!(serve(&bare, request(&chunk, bytes)), StatusCode::OK);
        let (response, _) = run(layered.clone().oneshot(request(&chunk, bytes)))
            .expect("infallible")
            .into_parts();
        assert_eq!(response.status, StatusCode::PRECONDITION_FAILED);
        assert!(
            !response.headers.contains_key(http::header::CONNECTION),
            "the body is drained whole: the connection stays open"
        );
        group.throughput(Throughput::Bytes(bytes));
        group.bench_function(BenchmarkId::new("consume", format!("{mib}MiB")), |b| {
            b.iter_batched(
                || Chunks::new(&chunk, bytes),
                consume,
                BatchSize::SmallInput,
            )
        });
        group.bench_function(BenchmarkId::new("bare_drop", format!("{mib}MiB")), |b| {
            b.iter_batched(
                || request(&chunk, bytes),
                |request| serve(&bare, request),
                BatchSize::SmallInput,
            )
        });
        group.bench_function(
            BenchmarkId::new("layer_412_drain", format!("{mib}MiB")),
            |b| {
                b.iter_batched(
                    || request(&chunk, bytes),
                    |request| serve(&layered, request),
                    BatchSize::SmallInput,
                )
            },
        );
    }
    group.finish();
}

criterion_group!(benches, bench_drain);
criterion_main!(benches);
