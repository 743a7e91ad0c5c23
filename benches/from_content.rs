//! `ETag::from_content` against its floor, a raw `sha2::Sha256::digest` of the same bytes
//! (issue 4), at 1 KiB, 64 KiB and 1 MiB, with `Throughput::Bytes`.
//!
//! The content is built once per size, outside the timed loop.
//!
//! Run: `cargo bench --bench from_content -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use sha2::{Digest, Sha256};
use tower_conditional::ETag;

const SIZES: [(usize, &str); 3] = [(1 << 10, "1KiB"), (64 << 10, "64KiB"), (1 << 20, "1MiB")];

/// `len` bytes that do not repeat in any short period (xorshift), so nothing is special-cased.
fn content(len: usize) -> Vec<u8> {
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_le_bytes()[0]
        })
        .collect()
}

fn bench_from_content(c: &mut Criterion) {
    let mut group = c.benchmark_group("from_content");
    for (len, label) in SIZES {
        let data = content(len);
        // Same digest: the tag is the first 16 bytes of SHA-256, in hex.
        let tag = ETag::from_content(&data);
        let digest = Sha256::digest(&data);
        assert_eq!(tag.opaque(), hex::encode(&digest[..16]).as_bytes());

        group.throughput(Throughput::Bytes(len as u64));
        group.bench_with_input(
            BenchmarkId::new("etag_from_content", label),
            &data,
            |b, data| b.iter(|| ETag::from_content(black_box(data))),
        );
        group.bench_with_input(
            BenchmarkId::new("sha256_digest", label),
            &data,
            |b, data| b.iter(|| Sha256::digest(black_box(data))),
        );
    }
    group.finish();
}

criterion_group!(benches, bench_from_content);
criterion_main!(benches);
