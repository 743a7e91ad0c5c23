//! `If-Range` with a write forced between the layer's look-up and the handler's read (RFC 9110
//! §13.1.5): a client holding v1 must never get a 206 of v2's bytes, whatever the handler does.
//!
//! Each test's source is a wrapper that commits a write right after it answers the look-up, as
//! a racing writer would: the layer evaluates `If-Range` against v1, the handler then reads v2.
//! Served over a loopback socket by axum; the bytes received are what is checked.

#[allow(dead_code)]
#[path = "../store/app.rs"]
mod app;
mod backends;
#[allow(dead_code)]
#[path = "../store/database.rs"]
mod database;
// The HTTP test client shared with the library's own tests.
#[path = "../../tests/support/mod.rs"]
mod support;

use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::routing::get;
use http::header::{CONTENT_RANGE, ETAG, IF_MATCH, IF_RANGE, LAST_MODIFIED, RANGE, RETRY_AFTER};
use http::request::Parts;
use http::{Request, Response, StatusCode};
use tower_conditional::{ConditionalLayer, ETag, Lookup, Validators};

use app::storage::{CasOutcome, Expected, Item, Storage, StorageError, Version};
use support::{Reply, Server};

const V1: &[u8] = b"AAAAAAAA";
const V2: &[u8] = b"BBBBBBBB";

/// One document: its version number and bytes. The tag is `"v<number>"`.
#[derive(Clone)]
struct Document(Arc<Mutex<(u64, &'static [u8])>>);

impl Document {
    fn new() -> Self {
        Document(Arc::new(Mutex::new((1, V1))))
    }

    fn read(&self) -> (u64, &'static [u8]) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self, content: &'static [u8]) {
        let mut document = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        *document = (document.0 + 1, content);
    }
}

fn tag(version: u64) -> String {
    format!("\"v{version}\"")
}

/// How the test handler answers a `Range: bytes=4-`: never looking at what the layer checked.
#[derive(Clone, Copy)]
enum Handler {
    /// Its 206 carries the `ETag` of the version it read.
    TaggedRange,
    /// Its 206 carries no validator at all.
    BareRange,
}

/// The layer over `handler`, with a source that answers with the document's current version
/// and then, once `race` is armed, commits v2 at once: the write lands between look-up and read.
fn racing_router(document: Document, handler: Handler, race: Arc<AtomicBool>) -> Router {
    let source = {
        let document = document.clone();
        move |_: &Parts| {
            let (version, _) = document.read();
            if race.swap(false, Ordering::SeqCst) {
                document.write(V2);
            }
            let validators =
                Validators::new().with_etag(ETag::strong(format!("v{version}")).unwrap());
            async move { Ok::<_, Infallible>(Lookup::Present(validators)) }
        }
    };
    let serve = move |request: Request<Body>| {
        let document = document.clone();
        async move {
            let (version, content) = document.read();
            let mut response = Response::builder();
            if request.headers().contains_key(RANGE) {
                response = response
                    .status(StatusCode::PARTIAL_CONTENT)
                    .header(CONTENT_RANGE, format!("bytes 4-7/{}", content.len()));
                if let Handler::TaggedRange = handler {
                    response = response.header(ETAG, tag(version));
                }
                return response.body(Body::from(&content[4..])).unwrap();
            }
            response
                .header(ETAG, tag(version))
                .body(Body::from(content))
                .unwrap()
        }
    };
    Router::new()
        .route("/doc", get(serve))
        .route_layer(ConditionalLayer::new(source))
}

async fn resume(server: &Server, path: &str, if_range: &str) -> Reply {
    server
        .get(path, &[(RANGE, "bytes=4-"), (IF_RANGE, if_range)])
        .await
}

/// The one thing that must never happen: a 206 whose bytes are not v1's bytes 4.. for a client
/// whose `If-Range` named v1.
#[track_caller]
fn assert_no_splice(reply: &Reply, v1_range: &[u8]) {
    if reply.status == StatusCode::PARTIAL_CONTENT {
        assert_eq!(
            &reply.body[..],
            v1_range,
            "a 206 of another version: {reply:?}"
        );
    }
}

async fn a_write_between_look_up_and_read_never_gets_a_206_of_the_next_version(handler: Handler) {
    let document = Document::new();
    let race = Arc::new(AtomicBool::new(true));
    let server = Server::start(racing_router(document.clone(), handler, race)).await;

    let raced = resume(&server, "/doc", &tag(1)).await;
    assert_no_splice(&raced, &V1[4..]);
    assert_eq!(document.read(), (2, V2), "the write landed");
    // The layer could not send all of v2 itself: the client is told to retry at once.
    assert_eq!(raced.status, StatusCode::SERVICE_UNAVAILABLE, "{raced:?}");
    assert_eq!(raced.header(RETRY_AFTER), "0");
    assert_eq!(raced.problem()["condition"], "If-Range");

    // The retry, its If-Range now false, gets the whole of v2.
    let retry = resume(&server, "/doc", &tag(1)).await;
    assert_eq!(retry.status, StatusCode::OK, "{retry:?}");
    assert_eq!(&retry.body[..], V2);
    assert_eq!(retry.etag(), tag(2));
}

async fn a_matching_if_range_still_gets_its_206(handler: Handler) {
    let document = Document::new();
    let race = Arc::new(AtomicBool::new(false));
    let server = Server::start(racing_router(document, handler, race)).await;
    let reply = resume(&server, "/doc", &tag(1)).await;
    assert_eq!(reply.status, StatusCode::PARTIAL_CONTENT, "{reply:?}");
    assert_eq!(&reply.body[..], &V1[4..]);
}

#[tokio::test]
async fn tagged_206_of_the_next_version_is_never_sent() {
    a_write_between_look_up_and_read_never_gets_a_206_of_the_next_version(Handler::TaggedRange)
        .await;
}

#[tokio::test]
async fn untagged_206_of_the_next_version_is_never_sent() {
    a_write_between_look_up_and_read_never_gets_a_206_of_the_next_version(Handler::BareRange).await;
}

#[tokio::test]
async fn tagged_206_of_the_named_version_is_sent() {
    a_matching_if_range_still_gets_its_206(Handler::TaggedRange).await;
}

#[tokio::test]
async fn untagged_206_of_the_named_version_is_sent() {
    a_matching_if_range_still_gets_its_206(Handler::BareRange).await;
}

/// A date `If-Range` (the source declares its dates strong): the 206's `Last-Modified` decides.
#[tokio::test]
async fn a_date_if_range_never_gets_a_206_of_the_next_version() {
    const FIRST: &str = "Sun, 06 Nov 1994 08:49:37 GMT";
    const SECOND: &str = "Sun, 06 Nov 1994 08:49:38 GMT";
    const FIRST_SECONDS: u64 = 784_111_777;
    let document = Document::new();
    let race = Arc::new(AtomicBool::new(true));
    let source = {
        let (document, race) = (document.clone(), race.clone());
        move |_: &Parts| {
            let (version, _) = document.read();
            if race.swap(false, Ordering::SeqCst) {
                document.write(V2);
            }
            let seconds = FIRST_SECONDS + version - 1;
            let date = tower_conditional::LastModified::from_unix_seconds(seconds).unwrap();
            let validators = Validators::new()
                .with_last_modified(date)
                .with_strong_last_modified(true);
            async move { Ok::<_, Infallible>(Lookup::Present(validators)) }
        }
    };
    let serve = move |_: Request<Body>| {
        let document = document.clone();
        async move {
            let (version, content) = document.read();
            let date = if version == 1 { FIRST } else { SECOND };
            Response::builder()
                .status(StatusCode::PARTIAL_CONTENT)
                .header(CONTENT_RANGE, "bytes 4-7/8")
                .header(LAST_MODIFIED, date)
                .body(Body::from(&content[4..]))
                .unwrap()
        }
    };
    let router = Router::new()
        .route("/doc", get(serve))
        .route_layer(ConditionalLayer::new(source));
    let server = Server::start(router).await;
    let raced = resume(&server, "/doc", FIRST).await;
    assert_no_splice(&raced, &V1[4..]);
    assert_eq!(raced.status, StatusCode::SERVICE_UNAVAILABLE, "{raced:?}");
    // No race this time: v2 is current, its own date gets its 206.
    let matching = resume(&server, "/doc", SECOND).await;
    assert_eq!(matching.status, StatusCode::PARTIAL_CONTENT, "{matching:?}");
    assert_eq!(&matching.body[..], &V2[4..]);
}

// ---------------------------------------------------------------------------------------------
// The store example: a storage wrapper commits a write right after the layer's look-up.

/// Wraps a storage: once armed, its next `version` (the layer's look-up) is followed at once by
/// a committed replace of the item with `V2`.
#[derive(Clone)]
struct WriteAfterLookup<S> {
    inner: S,
    armed: Arc<AtomicBool>,
}

impl<S: Storage> Storage for WriteAfterLookup<S> {
    async fn version(&self, key: &str) -> Result<Option<Version>, StorageError> {
        let version = self.inner.version(key).await?;
        if let Some(current) = &version
            && self.armed.swap(false, Ordering::SeqCst)
        {
            let expected = Expected::Current(&current.etag);
            let written = self
                .inner
                .put_if(
                    key,
                    expected,
                    Bytes::from_static(V2),
                    ETag::from_content(V2),
                )
                .await?;
            assert!(matches!(written, CasOutcome::Done(_)), "{written:?}");
        }
        Ok(version)
    }

    async fn get(&self, key: &str) -> Result<Option<Item>, StorageError> {
        self.inner.get(key).await
    }

    async fn put_if(
        &self,
        key: &str,
        expected: Expected<'_>,
        content: Bytes,
        etag: ETag,
    ) -> Result<CasOutcome<Version>, StorageError> {
        self.inner.put_if(key, expected, content, etag).await
    }

    async fn delete_if(&self, key: &str, expected: &ETag) -> Result<CasOutcome<()>, StorageError> {
        self.inner.delete_if(key, expected).await
    }
}

/// The store serves the range only of the version it was handed as `Checked`: the raced
/// request gets all of v2 at once, with a 200.
async fn store_answers_a_raced_if_range_with_the_whole_next_version<S: Storage>(storage: S) {
    let armed = Arc::new(AtomicBool::new(false));
    let racing = WriteAfterLookup {
        inner: storage,
        armed: armed.clone(),
    };
    let server = Server::start(app::router_with(racing)).await;
    let v1 = server
        .put("/items/doc", &[(http::header::IF_NONE_MATCH, "*")], V1)
        .await
        .etag();

    let matching = resume(&server, "/items/doc", &v1).await;
    assert_eq!(matching.status, StatusCode::PARTIAL_CONTENT, "{matching:?}");
    assert_eq!(&matching.body[..], &V1[4..]);

    armed.store(true, Ordering::SeqCst);
    let raced = resume(&server, "/items/doc", &v1).await;
    assert_no_splice(&raced, &V1[4..]);
    assert_eq!(raced.status, StatusCode::OK, "{raced:?}");
    assert_eq!(&raced.body[..], V2);
    assert_eq!(raced.etag(), format!("{}", ETag::from_content(V2)));
    assert!(!armed.load(Ordering::SeqCst), "the write was forced");
    // The write is there for everyone; an If-Match with v1 is now stale.
    let stale = server.put("/items/doc", &[(IF_MATCH, &v1)], "late").await;
    assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_in_memory_never_splices_a_raced_range() {
    store_answers_a_raced_if_range_with_the_whole_next_version(app::memory::Memory::new()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_on_sqlite_never_splices_a_raced_range() {
    let (scratch, _) = backends::Scratch::sqlite();
    store_answers_a_raced_if_range_with_the_whole_next_version(backends::sqlite(&scratch)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_on_postgres_never_splices_a_raced_range() {
    let Some((_scratch, url)) = backends::Scratch::postgres().await else {
        return; // No PostgreSQL: skipped, and `postgres_url` said so.
    };
    store_answers_a_raced_if_range_with_the_whole_next_version(backends::postgres(&url).await)
        .await;
}
