//! Hostile input costs work linear in its size (issue 5): `evaluate` over `If-None-Match` lists
//! of 10 to 10,000 tags, and over header values of 1 KiB to 64 KiB, reported per tag
//! (`Throughput::Elements`) and per byte (`Throughput::Bytes`). Flat per-tag and per-byte
//! figures across sizes mean no quadratic corner.
//!
//! Every input is the worst case of its kind: no tag matches (the whole list is read), the one
//! long tag differs from the current one only in its last byte, the malformed list is malformed
//! only at its very end. Inputs are built outside the timed loop; each group first checks the
//! decision it times.
//!
//! Issue 18 adds `hostile/every_option`: each hostile family through `ConditionalLayer` with
//! every option on (encoding-aware tags included), at 4, 16 and 64 KiB of header, reported per
//! header byte. A flat ns-per-byte line across the three sizes is linear cost; a line that
//! grows with the size is not. `accept_x_inm` is the If-None-Match × Accept-Encoding family,
//! with `accept_x_inm_off` (encoding-aware tags off) as its baseline in the same run.
//!
//! Run: `cargo bench --bench hostile -- --warm-up-time 1 --measurement-time 3`

use std::convert::Infallible;
use std::future::{Ready, ready};
use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use http::header::{ACCEPT_ENCODING, IF_MATCH, IF_MODIFIED_SINCE, IF_NONE_MATCH};
use http::request::Parts;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Response, StatusCode};
use tower::{Layer, Service, service_fn};
use tower_conditional::{
    BodyHashConfig, Condition, ConditionalLayer, Decision, DrainConfig, ETag, LastModified, Lookup,
    OnSourceError, ResourceState, Validators, evaluate,
};

#[path = "support/poll.rs"]
mod poll;

const KIB: usize = 1024;

/// Tags of one width (`"0000002a"`, 10 bytes plus `, `), so bytes per tag stay constant.
fn tag_list(tags: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(tags * 12);
    for i in 0..tags {
        if i > 0 {
            out.extend_from_slice(b", ");
        }
        out.extend_from_slice(format!("\"{i:08x}\"").as_bytes());
    }
    out
}

/// About `bytes` bytes of tag list.
fn tag_list_of_size(bytes: usize) -> Vec<u8> {
    tag_list(bytes.div_ceil(12))
}

fn one(name: HeaderName, value: &[u8]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(
        name,
        HeaderValue::from_bytes(value).expect("a valid header value"),
    );
    headers
}

fn state(etag: ETag) -> ResourceState {
    ResourceState::Present(
        Validators::new()
            .with_etag(etag)
            .with_last_modified(LastModified::from_unix_seconds(1_700_000_000).unwrap()),
    )
}

fn if_none_match_tags(c: &mut Criterion) {
    let current = state(ETag::from_content(b"the current representation"));
    let mut group = c.benchmark_group("hostile/if_none_match_tags");
    for tags in [10usize, 100, 1_000, 10_000] {
        let headers = one(IF_NONE_MATCH, &tag_list(tags));
        let decision = evaluate(&Method::GET, &headers, &current);
        assert_eq!(decision.condition(), Some(Condition::IfNoneMatch));
        assert!(matches!(decision, Decision::Proceed(_)), "no tag matches");
        group.throughput(Throughput::Elements(tags as u64));
        group.bench_with_input(BenchmarkId::from_parameter(tags), &headers, |b, headers| {
            b.iter(|| {
                evaluate(
                    black_box(&Method::GET),
                    black_box(headers),
                    black_box(&current),
                )
            })
        });
    }
    group.finish();
}

fn value_bytes(c: &mut Criterion) {
    let mut group = c.benchmark_group("hostile/value_bytes");
    for size in [KIB, 8 * KIB, 64 * KIB] {
        group.throughput(Throughput::Bytes(size as u64));

        // One tag of `size` bytes, equal to the current one but for its last opaque byte.
        let opaque = vec![b'x'; size - 2];
        let mut near = opaque.clone();
        *near.last_mut().unwrap() = b'y';
        let long = state(ETag::strong(&opaque).unwrap());
        let headers = one(IF_NONE_MATCH, ETag::strong(&near).unwrap().as_bytes());
        assert!(matches!(
            evaluate(&Method::GET, &headers, &long),
            Decision::Proceed(_)
        ));
        group.bench_with_input(BenchmarkId::new("one_long_tag", size), &headers, |b, h| {
            b.iter(|| evaluate(black_box(&Method::GET), black_box(h), black_box(&long)))
        });

        // A list of short tags, none matching.
        let current = state(ETag::from_content(b"the current representation"));
        let headers = one(IF_NONE_MATCH, &tag_list_of_size(size));
        assert!(matches!(
            evaluate(&Method::GET, &headers, &current),
            Decision::Proceed(_)
        ));
        group.bench_with_input(BenchmarkId::new("tag_list", size), &headers, |b, h| {
            b.iter(|| evaluate(black_box(&Method::GET), black_box(h), black_box(&current)))
        });

        // An If-Match list that is malformed only at its end: 400 after reading it all.
        let mut list = tag_list_of_size(size);
        list.extend_from_slice(b", x");
        let headers = one(IF_MATCH, &list);
        assert_eq!(
            evaluate(&Method::PUT, &headers, &current),
            Decision::BadRequest(Condition::IfMatch)
        );
        group.bench_with_input(
            BenchmarkId::new("malformed_at_end", size),
            &headers,
            |b, h| b.iter(|| evaluate(black_box(&Method::PUT), black_box(h), black_box(&current))),
        );

        // An If-Modified-Since date padded with `size` bytes of optional whitespace.
        let mut padded = vec![b' '; size / 2];
        padded.extend_from_slice(b"Tue, 14 Nov 2023 22:13:20 GMT");
        padded.resize(size, b'\t');
        let headers = one(IF_MODIFIED_SINCE, &padded);
        assert_eq!(
            evaluate(&Method::GET, &headers, &current),
            Decision::NotModified(Condition::IfModifiedSince)
        );
        group.bench_with_input(BenchmarkId::new("padded_date", size), &headers, |b, h| {
            b.iter(|| evaluate(black_box(&Method::GET), black_box(h), black_box(&current)))
        });
    }
    group.finish();
}

/// The layer with every option on (encoding-aware tags as given), over a source that answers
/// `"v2"` and a handler that answers 200.
fn every_option(
    encoding_aware: bool,
) -> impl Service<Request<String>, Response = Response<impl Sized>, Error = Infallible> + Clone {
    let current = Lookup::from(state(ETag::from_static("\"v2\"")));
    let source =
        move |_: &Parts| -> Ready<Result<Lookup, Infallible>> { ready(Ok(current.clone())) };
    ConditionalLayer::new(source)
        .require_preconditions([Method::PUT, Method::PATCH, Method::DELETE])
        .on_source_error(OnSourceError::reject_all().retry_after(Duration::from_secs(2)))
        .validators_in_412(true)
        .drain(
            DrainConfig::default()
                .limit(1 << 20)
                .timeout(Duration::from_secs(1)),
        )
        .fill_response_validators(true)
        .body_hash(BodyHashConfig::default().limit(1 << 20))
        .encoding_aware_etags(encoding_aware)
        .layer(service_fn(|_: Request<String>| {
            ready(Ok::<_, Infallible>(Response::new(String::from("inner"))))
        }))
}

/// `n` copies of `member`, joined by `, `, about `bytes` bytes in all.
fn repeated(member: &[u8], bytes: usize) -> Vec<u8> {
    vec![member; bytes.div_ceil(member.len() + 2)].join(&b", "[..])
}

/// The families of tests/hostile.rs at about `size` header bytes: name, method, headers and the
/// status the layer answers.
fn families(size: usize) -> Vec<(&'static str, bool, Method, HeaderMap, StatusCode)> {
    let chain = [&b"\"v2"[..], &b"-identity".repeat(size / 9), b"\""].concat();
    let mut lines = HeaderMap::new();
    for _ in 0..size / 1024 {
        let line = tag_list_of_size(1022);
        lines.append(IF_NONE_MATCH, HeaderValue::from_bytes(&line).unwrap());
    }
    let mut accept_x_inm = one(IF_NONE_MATCH, &repeated(b"\"v2-zstd\"", size / 2));
    accept_x_inm.insert(
        ACCEPT_ENCODING,
        HeaderValue::from_bytes(&repeated(b"gz", size / 2)).unwrap(),
    );
    let member = format!("\"{}\"", "x".repeat(size - 2));
    vec![
        (
            "suffix_chain",
            true,
            Method::PUT,
            one(IF_MATCH, &chain),
            StatusCode::PRECONDITION_FAILED,
        ),
        (
            "tag_list",
            true,
            Method::GET,
            one(IF_NONE_MATCH, &tag_list_of_size(size)),
            StatusCode::OK,
        ),
        ("many_lines", true, Method::GET, lines, StatusCode::OK),
        (
            "huge_member",
            true,
            Method::GET,
            one(IF_NONE_MATCH, member.as_bytes()),
            StatusCode::OK,
        ),
        (
            "accept_x_inm",
            true,
            Method::GET,
            accept_x_inm.clone(),
            StatusCode::OK,
        ),
        (
            "accept_x_inm_off",
            false,
            Method::GET,
            accept_x_inm,
            StatusCode::OK,
        ),
    ]
}

fn every_option_group(c: &mut Criterion) {
    let mut group = c.benchmark_group("hostile/every_option");
    group.sample_size(10);
    for size in [4 * KIB, 16 * KIB, 64 * KIB] {
        for (name, encoding_aware, method, headers, want) in families(size) {
            let bytes: usize = headers
                .iter()
                .map(|(n, v)| n.as_str().len() + v.len())
                .sum();
            let service = every_option(encoding_aware);
            let send = |service: &mut _| {
                let mut request = Request::new(String::new());
                *request.method_mut() = method.clone();
                *request.headers_mut() = headers.clone();
                poll::run(Service::call(service, black_box(request)))
            };
            let mut check = service.clone();
            assert_eq!(send(&mut check).unwrap().status(), want, "{name} at {size}");
            group.throughput(Throughput::Bytes(bytes as u64));
            group.bench_function(BenchmarkId::new(name, size), |b| {
                let mut service = service.clone();
                b.iter(|| send(&mut service))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, if_none_match_tags, value_bytes, every_option_group);
criterion_main!(benches);
