//! Concurrent revalidations of one changed file hash it once. The hashes are counted from the
//! crate's `tracing` events (one "hashed a file" event per hash), with a subscriber that counts
//! them (this test binary's only test, since the subscriber is global).

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use http::StatusCode;
use http::header::IF_NONE_MATCH;
use tower_conditional::ETag;
use tower_conditional_fs::StaticFiles;
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

use common::{get, replace};

static HASHES: AtomicUsize = AtomicUsize::new(0);

struct CountHashes;

impl Subscriber for CountHashes {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.target().starts_with("tower_conditional_fs")
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let metadata = event.metadata();
        if metadata.level() == &Level::DEBUG && metadata.target() == "tower_conditional_fs::index" {
            HASHES.fetch_add(1, Ordering::SeqCst);
        }
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_requests_for_a_changed_file_hash_it_once() {
    tracing::subscriber::set_global_default(CountHashes).expect("the only subscriber");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.bin");
    let old: Vec<u8> = (0..1_000_000u32).map(|i| (i % 241) as u8).collect();
    std::fs::write(&path, &old).unwrap();
    let files = StaticFiles::builder(dir.path()).build().await.unwrap();
    assert_eq!(HASHES.load(Ordering::SeqCst), 1, "one hash at startup");
    let held = ETag::from_content(&old).to_string();

    let new: Vec<u8> = old.iter().map(|b| b ^ 0x5a).collect();
    replace(&path, &new);
    // Past the racy window (stat.rs): the new version's hash will stand for its key.
    tokio::time::sleep(Duration::from_millis(1100)).await;

    let mut requests = tokio::task::JoinSet::new();
    for _ in 0..16 {
        let (files, held) = (files.clone(), held.clone());
        requests.spawn(
            async move { get(files.service(), "/big.bin", &[(IF_NONE_MATCH, &held)]).await },
        );
    }
    while let Some(reply) = requests.join_next().await {
        let reply = reply.unwrap();
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.etag(), ETag::from_content(&new).to_string());
    }
    assert_eq!(
        HASHES.load(Ordering::SeqCst),
        2,
        "one more hash for 16 requests"
    );
}
