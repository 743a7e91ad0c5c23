//! What a source written like a handler costs (issue 22): an axum router whose
//! `/notes/{id}` route answers a conditional GET with the layer's 304, its source either a
//! plain `Fn(&Parts)` closure that parses the id out of the raw path, or `source_fn` with
//! axum's `Path<u64>` extractor, which runs on a clone of the request head (its URI, its header
//! map and every extension: axum's matched path and URL parameters). The difference is the
//! clone, the extractor and the boxed future; both run the same router and layer.
//!
//! Each request is driven by a tokio current-thread runtime (`block_on`); the request (six
//! header fields, as a browser sends) is built outside the timed section.
//!
//! Run: `cargo bench --bench extractor_source -- --warm-up-time 1 --measurement-time 3`

use std::convert::Infallible;
use std::future::ready;
use std::hint::black_box;

use axum::Router;
use axum::body::Body;
use axum::extract::Path;
use axum::routing::get;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use http::header::{ACCEPT, ACCEPT_ENCODING, ACCEPT_LANGUAGE, HOST, IF_NONE_MATCH, USER_AGENT};
use http::request::Parts;
use http::{Request, StatusCode};
use tower::ServiceExt;
use tower_conditional::{ConditionalLayer, ETag, Lookup, Validators, source_fn};

fn validators(id: u64) -> Validators {
    Validators::new().with_etag(ETag::from(id))
}

fn closure_app() -> Router {
    let source = |head: &Parts| {
        let id = head
            .uri
            .path()
            .rsplit('/')
            .next()
            .and_then(|id| id.parse().ok());
        ready(Ok::<_, Infallible>(Lookup::from(id.map(validators))))
    };
    Router::new()
        .route("/notes/{id}", get(|| async { "note" }))
        .route_layer(ConditionalLayer::new(source))
}

fn extractor_app() -> Router {
    let source =
        source_fn(|Path(id): Path<u64>| async move { Ok::<_, Infallible>(validators(id)) });
    Router::new()
        .route("/notes/{id}", get(|| async { "note" }))
        .route_layer(ConditionalLayer::new(source))
}

fn request() -> Request<Body> {
    Request::get("/notes/42")
        .header(HOST, "api.example")
        .header(
            USER_AGENT,
            "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0",
        )
        .header(ACCEPT, "application/json")
        .header(ACCEPT_LANGUAGE, "en-GB,en;q=0.5")
        .header(ACCEPT_ENCODING, "gzip, deflate, br, zstd")
        .header(IF_NONE_MATCH, "\"42\"")
        .body(Body::empty())
        .expect("a valid request")
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    let mut group = c.benchmark_group("source_304");
    for (name, app) in [
        ("closure_over_parts", closure_app()),
        ("source_fn_path", extractor_app()),
    ] {
        let check = runtime
            .block_on(app.clone().oneshot(request()))
            .expect("infallible");
        assert_eq!(check.status(), StatusCode::NOT_MODIFIED, "{name}");
        group.bench_function(name, |b| {
            b.iter_batched(
                request,
                |request| {
                    let response = runtime.block_on(app.clone().oneshot(request));
                    black_box(response.expect("infallible").status())
                },
                BatchSize::SmallInput,
            );
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
