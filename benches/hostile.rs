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
//! Run: `cargo bench --bench hostile -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use http::header::{IF_MATCH, IF_MODIFIED_SINCE, IF_NONE_MATCH};
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use tower_conditional::{
    Condition, Decision, ETag, LastModified, ResourceState, Validators, evaluate,
};

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

criterion_group!(benches, if_none_match_tags, value_bytes);
criterion_main!(benches);
