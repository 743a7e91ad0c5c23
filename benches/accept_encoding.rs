//! Encoding-aware revalidation costs work linear in the request (issue 18/19): a GET whose
//! `If-None-Match` is `n` bytes of `"v7-zstd"` members (each names the current tag `"v7"`, in a
//! coding the request does not accept, so every one is decoded and weighed) and whose
//! `Accept-Encoding` is `n` bytes of `gz` members, through the layer with
//! `encoding_aware_etags(true)`. Reported per byte of both fields (`Throughput::Bytes`): flat
//! figures across sizes mean no quadratic corner (before issue 19 each member re-read the whole
//! `Accept-Encoding`).
//!
//! The baseline in the same run is the same `If-None-Match` with `Accept-Encoding: gzip`.
//!
//! Run: `cargo bench --bench accept_encoding -- --warm-up-time 1 --measurement-time 3`

use std::convert::Infallible;
use std::future::ready;
use std::hint::black_box;

use bytes::Bytes;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use http::header::{ACCEPT_ENCODING, IF_NONE_MATCH};
use http::request::Parts;
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::Full;
use tower::{Layer, Service, service_fn};
use tower_conditional::{ConditionalLayer, ETag, Lookup, Validators};

#[path = "support/poll.rs"]
mod poll;

use poll::run;

const KIB: usize = 1024;

/// About `bytes` bytes of `member, member, ...`.
fn list(member: &str, bytes: usize) -> HeaderValue {
    let count = bytes / (member.len() + 2);
    let value = vec![member; count.max(1)].join(", ");
    HeaderValue::from_str(&value).expect("a valid header value")
}

fn accept_encoding(c: &mut Criterion) {
    let source = |_: &Parts| {
        let current = Validators::new().with_etag(ETag::from_static("\"v7\""));
        ready(Ok::<_, Infallible>(Lookup::Present(current)))
    };
    let handler = service_fn(|_: Request<Full<Bytes>>| {
        ready(Ok::<_, Infallible>(Response::new(Full::new(
            Bytes::from_static(b"hello"),
        ))))
    });
    let service = ConditionalLayer::new(source)
        .encoding_aware_etags(true)
        .layer(handler);
    let mut group = c.benchmark_group("accept_encoding/members");
    for size in [6 * KIB, 12 * KIB, 24 * KIB, 48 * KIB] {
        let if_none_match = list("\"v7-zstd\"", size);
        for (name, accept) in [
            ("gzip", HeaderValue::from_static("gzip")),
            ("gz_list", list("gz", size)),
        ] {
            let bytes = if_none_match.len() + accept.len();
            let request = || {
                Request::get("/items/7")
                    .header(IF_NONE_MATCH, if_none_match.clone())
                    .header(ACCEPT_ENCODING, accept.clone())
                    .body(Full::<Bytes>::default())
                    .expect("a valid request")
            };
            // Checked once: no member is acceptable, so the handler's 200 goes out.
            let mut check = service.clone();
            let response = run(check.call(request())).expect("infallible");
            assert_eq!(response.status(), StatusCode::OK);
            group.throughput(Throughput::Bytes(bytes as u64));
            group.bench_with_input(BenchmarkId::new(name, size), &(), |b, ()| {
                b.iter_batched(
                    request,
                    |request| {
                        let mut service = service.clone();
                        black_box(run(service.call(black_box(request))))
                    },
                    criterion::BatchSize::SmallInput,
                );
            });
        }
    }
    group.finish();
}

criterion_group!(benches, accept_encoding);
criterion_main!(benches);
