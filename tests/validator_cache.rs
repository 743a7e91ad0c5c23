//! The validator cache through the real layer (`service_fn` + `oneshot`): warm 304s ask the
//! source nothing, each "never" of `ValidatorCache` holds, and invalidation is correct under a
//! race driven by barriers.

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::header::{
    AUTHORIZATION, ETAG, IF_MATCH, IF_MODIFIED_SINCE, IF_NONE_MATCH, IF_RANGE, RANGE,
};
use http::request::Parts;
use http::{HeaderValue, Method, Request, Response, StatusCode};
use tokio::sync::Barrier;
use tower::util::BoxCloneService;
use tower::{Layer, ServiceExt, service_fn};
use tower_conditional::{
    ConditionalBody, ConditionalLayer, ETag, LastModified, Lookup, ValidatorCache, Validators,
};

/// What the source answers, how often it was asked, and (for the race) barriers it waits on.
#[derive(Clone, Default)]
struct Db {
    /// The current tag of every path; a path not here is missing. `"error"` makes it fail.
    tags: Arc<Mutex<Vec<(String, &'static str)>>>,
    queries: Arc<AtomicUsize>,
    /// When set, each look-up waits twice: once when it has started, once to finish.
    gate: Arc<Mutex<Option<Arc<Barrier>>>>,
}

impl Db {
    fn set(&self, path: &str, tag: &'static str) {
        let mut tags = self.tags.lock().unwrap();
        tags.retain(|(held, _)| held != path);
        tags.push((path.to_owned(), tag));
    }

    fn queries(&self) -> usize {
        self.queries.load(Ordering::SeqCst)
    }

    async fn lookup(self, path: String) -> Result<Lookup, String> {
        let gate = self.gate.lock().unwrap().clone();
        if let Some(gate) = &gate {
            gate.wait().await;
        }
        self.queries.fetch_add(1, Ordering::SeqCst);
        let tag = self
            .tags
            .lock()
            .unwrap()
            .iter()
            .find(|(held, _)| *held == path)
            .map(|t| t.1);
        if let Some(gate) = &gate {
            gate.wait().await;
        }
        match tag {
            None => Ok(Lookup::Missing),
            Some("error") => Err(String::from("database unreachable")),
            Some("unknown") => Ok(Lookup::Unknown),
            Some(tag) => Ok(Lookup::Present(
                Validators::new()
                    .with_etag(ETag::from_static(tag))
                    .with_last_modified(LastModified::from_unix_seconds(1_700_000_000).unwrap()),
            )),
        }
    }
}

type Service = BoxCloneService<Request<String>, Response<ConditionalBody<String>>, Infallible>;

fn cache() -> ValidatorCache<String> {
    ValidatorCache::builder(|head: &Parts| Some(head.uri.path().to_owned()))
        .also_invalidates(|key: &String| {
            key.strip_prefix("/items/").map(|_| String::from("/items"))
        })
        .build()
}

/// The layer over `db` with `cache`; a PUT's handler sets the tag to `"v9"` and answers 200
/// (or 500 when the path ends in `/fails`), a POST's sets it and answers 303, a read answers
/// 200 with whatever Range it got.
fn service(db: &Db, cache: &ValidatorCache<String>, fill: bool) -> Service {
    let source = {
        let db = db.clone();
        move |head: &Parts| db.clone().lookup(head.uri.path().to_owned())
    };
    let handler_db = db.clone();
    let handler = service_fn(move |request: Request<String>| {
        let db = handler_db.clone();
        async move {
            let path = request.uri().path().to_owned();
            if request.method() == Method::POST {
                // Post/Redirect/Get: the write is done, the answer points elsewhere.
                db.set(&path, "\"v9\"");
                let mut response = Response::new(String::new());
                *response.status_mut() = StatusCode::SEE_OTHER;
                return Ok::<_, Infallible>(response);
            }
            if request.method() == Method::PUT {
                if path.ends_with("/fails") {
                    let mut response = Response::new(String::new());
                    *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
                    return Ok::<_, Infallible>(response);
                }
                db.set(&path, "\"v9\"");
            }
            let range = request
                .headers()
                .get(RANGE)
                .map(|range| range.to_str().unwrap().to_owned());
            Ok(Response::new(range.unwrap_or_default()))
        }
    });
    let layer = ConditionalLayer::new(source)
        .fill_response_validators(fill)
        .validator_cache(cache.clone());
    BoxCloneService::new(layer.layer(handler))
}

fn get(path: &str, headers: &[(http::HeaderName, &str)]) -> Request<String> {
    request(Method::GET, path, headers)
}

fn request(method: Method, path: &str, headers: &[(http::HeaderName, &str)]) -> Request<String> {
    let mut request = Request::builder().method(method).uri(path);
    for (name, value) in headers {
        request = request.header(name, *value);
    }
    request.body(String::new()).unwrap()
}

async fn status(service: &Service, request: Request<String>) -> StatusCode {
    service.clone().oneshot(request).await.unwrap().status()
}

/// Warms the cache for `path` at tag `"v1"`: one query.
async fn warm(db: &Db, service: &Service, path: &str) {
    db.set(path, "\"v1\"");
    let before = db.queries();
    let revalidate = get(path, &[(IF_NONE_MATCH, "\"v1\"")]);
    assert_eq!(status(service, revalidate).await, StatusCode::NOT_MODIFIED);
    assert_eq!(db.queries(), before + 1);
}

#[tokio::test]
async fn warm_revalidations_ask_the_source_nothing() {
    let (db, cache) = (Db::default(), cache());
    let service = service(&db, &cache, false);
    warm(&db, &service, "/items/1").await;
    for _ in 0..100 {
        let revalidate = get("/items/1", &[(IF_NONE_MATCH, "\"v1\"")]);
        assert_eq!(status(&service, revalidate).await, StatusCode::NOT_MODIFIED);
        let head = request(Method::HEAD, "/items/1", &[(IF_NONE_MATCH, "\"v1\"")]);
        assert_eq!(status(&service, head).await, StatusCode::NOT_MODIFIED);
        let dated = get(
            "/items/1",
            &[(IF_MODIFIED_SINCE, "Wed, 15 Nov 2023 00:00:00 GMT")],
        );
        assert_eq!(status(&service, dated).await, StatusCode::NOT_MODIFIED);
    }
    assert_eq!(db.queries(), 1, "only the first revalidation queried");
    let response = service
        .clone()
        .oneshot(get("/items/1", &[(IF_NONE_MATCH, "\"v1\"")]))
        .await
        .unwrap();
    assert_eq!(response.headers()[ETAG], "\"v1\"");
}

#[tokio::test]
async fn a_lookup_that_started_before_an_invalidation_fills_nothing() {
    let (db, cache) = (Db::default(), cache());
    let service = service(&db, &cache, false);
    db.set("/items/1", "\"v1\"");
    let gate = Arc::new(Barrier::new(2));
    *db.gate.lock().unwrap() = Some(Arc::clone(&gate));
    let revalidate = service
        .clone()
        .oneshot(get("/items/1", &[(IF_NONE_MATCH, "\"v1\"")]));
    let running = tokio::spawn(revalidate);
    gate.wait().await; // the look-up has started
    cache.invalidate(&String::from("/items/1")); // a write lands meanwhile
    gate.wait().await; // the look-up completes with what it read
    assert_eq!(
        running.await.unwrap().unwrap().status(),
        StatusCode::NOT_MODIFIED
    );
    *db.gate.lock().unwrap() = None;
    assert!(
        cache.is_empty(),
        "a look-up older than the invalidation filled the cache"
    );
    let again = get("/items/1", &[(IF_NONE_MATCH, "\"v1\"")]);
    assert_eq!(status(&service, again).await, StatusCode::NOT_MODIFIED);
    assert_eq!(db.queries(), 2, "the next revalidation asked the source");
}

#[tokio::test]
async fn a_cached_state_that_would_not_give_304_asks_the_source() {
    let (db, cache) = (Db::default(), cache());
    let service = service(&db, &cache, true);
    warm(&db, &service, "/doc").await;
    db.set("/doc", "\"v2\""); // changed by a writer the layer does not see
    // The cached "v1" does not match "v0": the source decides, and the 200 carries its tag.
    let response = service
        .clone()
        .oneshot(get("/doc", &[(IF_NONE_MATCH, "\"v0\"")]))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()[ETAG],
        "\"v2\"",
        "a 200's validators come from the source"
    );
    assert_eq!(db.queries(), 2);
    // Its answer replaced the entry: "v1" is no longer answered 304.
    let stale = get("/doc", &[(IF_NONE_MATCH, "\"v1\"")]);
    assert_eq!(status(&service, stale).await, StatusCode::OK);
}

#[tokio::test]
async fn a_write_is_never_decided_from_the_cache() {
    let (db, cache) = (Db::default(), cache());
    let service = service(&db, &cache, false);
    warm(&db, &service, "/doc").await;
    db.set("/doc", "\"v2\"");
    let stale_write = request(Method::PUT, "/doc", &[(IF_MATCH, "\"v1\"")]);
    assert_eq!(
        status(&service, stale_write).await,
        StatusCode::PRECONDITION_FAILED
    );
    let create = request(Method::PUT, "/doc", &[(IF_NONE_MATCH, "\"v1\"")]);
    assert_eq!(status(&service, create).await, StatusCode::OK);
    assert_eq!(db.queries(), 3, "each write asked the source");
}

#[tokio::test]
async fn a_reads_if_match_and_if_range_are_never_decided_from_the_cache() {
    let (db, cache) = (Db::default(), cache());
    let service = service(&db, &cache, false);
    warm(&db, &service, "/doc").await;
    db.set("/doc", "\"v2\"");
    // From the cached "v1" this would be 304; the source says If-Match is false.
    let guarded = get("/doc", &[(IF_MATCH, "\"v1\""), (IF_NONE_MATCH, "\"v1\"")]);
    assert_eq!(
        status(&service, guarded).await,
        StatusCode::PRECONDITION_FAILED
    );
    // A range of the cached "v1" would splice two versions: the source says v2, no Range.
    let ranged = get(
        "/doc",
        &[
            (RANGE, "bytes=0-1"),
            (IF_RANGE, "\"v1\""),
            (IF_NONE_MATCH, "\"v0\""),
        ],
    );
    let response = service.clone().oneshot(ranged).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap();
    assert!(body.to_bytes().is_empty(), "the handler saw no Range");
    assert_eq!(db.queries(), 3);
}

#[tokio::test]
async fn missing_unknown_and_failed_lookups_are_never_cached() {
    let (db, cache) = (Db::default(), cache());
    let service = service(&db, &cache, false);
    db.set("/unknown", "unknown");
    db.set("/error", "error");
    for path in ["/missing", "/unknown", "/error"] {
        for _ in 0..2 {
            let revalidate = get(path, &[(IF_NONE_MATCH, "\"v1\"")]);
            assert_ne!(status(&service, revalidate).await, StatusCode::NOT_MODIFIED);
        }
    }
    assert_eq!(db.queries(), 6, "every one asked the source");
    assert!(cache.is_empty());
}

#[tokio::test]
async fn a_successful_write_invalidates_its_key_and_its_collections() {
    let (db, cache) = (Db::default(), cache());
    let service = service(&db, &cache, false);
    warm(&db, &service, "/items/7").await;
    warm(&db, &service, "/items").await;
    warm(&db, &service, "/other").await;
    // An unconditional PUT asks the source nothing, but its 200 invalidates.
    let write = request(Method::PUT, "/items/7", &[]);
    assert_eq!(status(&service, write).await, StatusCode::OK);
    assert_eq!(db.queries(), 3);
    db.set("/items", "\"v2\""); // the list changed with the item
    for path in ["/items/7", "/items"] {
        let stale = get(path, &[(IF_NONE_MATCH, "\"v1\"")]);
        assert_eq!(status(&service, stale).await, StatusCode::OK, "{path}");
    }
    let untouched = get("/other", &[(IF_NONE_MATCH, "\"v1\"")]);
    assert_eq!(status(&service, untouched).await, StatusCode::NOT_MODIFIED);
    assert_eq!(db.queries(), 5);
}

#[tokio::test]
async fn a_failed_write_and_safe_methods_invalidate_nothing() {
    let (db, cache) = (Db::default(), cache());
    let service = service(&db, &cache, false);
    warm(&db, &service, "/doc/fails").await;
    let failed = request(Method::PUT, "/doc/fails", &[]);
    assert_eq!(
        status(&service, failed).await,
        StatusCode::INTERNAL_SERVER_ERROR
    );
    let refused = request(Method::PUT, "/doc/fails", &[(IF_MATCH, "\"v0\"")]);
    assert_eq!(
        status(&service, refused).await,
        StatusCode::PRECONDITION_FAILED
    );
    let preflight = request(Method::OPTIONS, "/doc/fails", &[]);
    assert_eq!(status(&service, preflight).await, StatusCode::OK);
    assert_eq!(db.queries(), 2);
    let revalidate = get("/doc/fails", &[(IF_NONE_MATCH, "\"v1\"")]);
    assert_eq!(status(&service, revalidate).await, StatusCode::NOT_MODIFIED);
    assert_eq!(db.queries(), 2, "still cached");
}

#[tokio::test]
async fn entries_expire_after_the_maximum_age_and_the_handle_clears_them() {
    let db = Db::default();
    let cache = ValidatorCache::builder(|head: &Parts| Some(head.uri.path().to_owned()))
        .max_age(Duration::from_millis(50))
        .build();
    let service = service(&db, &cache, false);
    warm(&db, &service, "/doc").await;
    tokio::time::sleep(Duration::from_millis(80)).await;
    db.set("/doc", "\"v2\"");
    let stale = get("/doc", &[(IF_NONE_MATCH, "\"v1\"")]);
    assert_eq!(
        status(&service, stale).await,
        StatusCode::OK,
        "older than the max age"
    );
    let current = get("/doc", &[(IF_NONE_MATCH, "\"v2\"")]);
    assert_eq!(status(&service, current).await, StatusCode::NOT_MODIFIED);
    assert_eq!(db.queries(), 2, "the fresh answer was cached");
    cache.invalidate_all();
    let current = get("/doc", &[(IF_NONE_MATCH, "\"v2\"")]);
    assert_eq!(status(&service, current).await, StatusCode::NOT_MODIFIED);
    assert_eq!(db.queries(), 3, "asked again after invalidate_all");
}

#[tokio::test]
async fn requests_without_a_key_never_use_the_cache() {
    let db = Db::default();
    let cache = ValidatorCache::builder(|head: &Parts| {
        head.uri.path().strip_prefix("/cached/").map(str::to_owned)
    })
    .build();
    let service = service(&db, &cache, false);
    db.set("/plain", "\"v1\"");
    for _ in 0..3 {
        let revalidate = get("/plain", &[(IF_NONE_MATCH, "\"v1\"")]);
        assert_eq!(status(&service, revalidate).await, StatusCode::NOT_MODIFIED);
    }
    assert_eq!(db.queries(), 3);
    assert!(cache.is_empty());
}

#[tokio::test]
async fn the_maximum_age_bounds_a_304_from_when_the_source_read_not_from_its_answer() {
    // The source reads the database at once and its answer takes a while to come back (a slow
    // network, a busy runtime). A writer the layer does not see changes the item just after the
    // read: the maximum age is documented as the bound on how late a 304 can then be.
    const MAX_AGE: Duration = Duration::from_millis(300);
    let current: Arc<Mutex<&'static str>> = Arc::new(Mutex::new("\"v1\""));
    let read = Arc::clone(&current);
    let source = move |_: &Parts| {
        let tag = *read.lock().unwrap(); // the read
        async move {
            tokio::time::sleep(Duration::from_millis(600)).await; // the answer's way back
            let validators = Validators::new().with_etag(ETag::from_static(tag));
            Ok::<_, Infallible>(Lookup::Present(validators))
        }
    };
    let cache = ValidatorCache::builder(|head: &Parts| Some(head.uri.path().to_owned()))
        .max_age(MAX_AGE)
        .build();
    let handler = service_fn(|_: Request<String>| async {
        Ok::<_, Infallible>(Response::new(String::new()))
    });
    let service: Service = BoxCloneService::new(
        ConditionalLayer::new(source)
            .validator_cache(cache)
            .layer(handler),
    );
    let first = tokio::spawn({
        let service = service.clone();
        let request = get("/doc", &[(IF_NONE_MATCH, "\"v1\"")]);
        async move { service.oneshot(request).await.unwrap().status() }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    *current.lock().unwrap() = "\"v2\""; // written elsewhere, never invalidated
    let written = std::time::Instant::now();
    assert_eq!(
        first.await.unwrap(),
        StatusCode::NOT_MODIFIED,
        "v1 was current at the read"
    );
    let again = status(&service, get("/doc", &[(IF_NONE_MATCH, "\"v1\"")])).await;
    let late = written.elapsed();
    assert!(
        again != StatusCode::NOT_MODIFIED || late < MAX_AGE,
        "a 304 for v1 {late:?} after v2 was written, past the maximum age {MAX_AGE:?}"
    );
}

#[tokio::test]
async fn a_write_answered_303_invalidates() {
    let (db, cache) = (Db::default(), cache());
    let service = service(&db, &cache, false);
    warm(&db, &service, "/items/7").await;
    let post = request(Method::POST, "/items/7", &[]);
    assert_eq!(status(&service, post).await, StatusCode::SEE_OTHER);
    let stale = get("/items/7", &[(IF_NONE_MATCH, "\"v1\"")]);
    assert_eq!(
        status(&service, stale).await,
        StatusCode::OK,
        "a 304 for the version the POST replaced"
    );
    assert_eq!(
        db.queries(),
        2,
        "the revalidation after the 303 asked the source"
    );
}

#[tokio::test]
async fn a_cache_built_switched_off_neither_answers_nor_fills_until_switched_on() {
    let db = Db::default();
    let cache = ValidatorCache::builder(|head: &Parts| Some(head.uri.path().to_owned()))
        .switched_off()
        .build();
    let service = service(&db, &cache, false);
    db.set("/doc", "\"v1\"");
    for _ in 0..3 {
        let revalidate = get("/doc", &[(IF_NONE_MATCH, "\"v1\"")]);
        assert_eq!(status(&service, revalidate).await, StatusCode::NOT_MODIFIED);
    }
    assert_eq!(db.queries(), 3, "off: every revalidation asked the source");
    assert!(cache.is_empty(), "off: nothing filled");
    cache.switch_on();
    warm(&db, &service, "/doc").await;
    let revalidate = get("/doc", &[(IF_NONE_MATCH, "\"v1\"")]);
    assert_eq!(status(&service, revalidate).await, StatusCode::NOT_MODIFIED);
    assert_eq!(db.queries(), 4, "on: answered from the cache");
}

#[tokio::test]
async fn switching_off_empties_the_cache_and_answers_from_the_source() {
    let (db, cache) = (Db::default(), cache());
    let service = service(&db, &cache, false);
    warm(&db, &service, "/doc").await;
    cache.switch_off();
    assert!(!cache.is_on());
    assert!(cache.is_empty());
    db.set("/doc", "\"v2\""); // a write the feed did not hear
    let stale = get("/doc", &[(IF_NONE_MATCH, "\"v1\"")]);
    assert_eq!(status(&service, stale).await, StatusCode::OK);
    assert_eq!(db.queries(), 2);
}

#[tokio::test]
async fn a_lookup_that_started_before_switch_on_fills_nothing() {
    let (db, cache) = (Db::default(), cache());
    let service = service(&db, &cache, false);
    db.set("/items/1", "\"v1\"");
    let gate = Arc::new(Barrier::new(2));
    *db.gate.lock().unwrap() = Some(Arc::clone(&gate));
    let running = tokio::spawn(
        service
            .clone()
            .oneshot(get("/items/1", &[(IF_NONE_MATCH, "\"v1\"")])),
    );
    gate.wait().await; // the look-up has started, with the cache on
    cache.switch_off(); // the feed went deaf, a write was missed, the feed came back
    cache.switch_on();
    gate.wait().await;
    assert_eq!(
        running.await.unwrap().unwrap().status(),
        StatusCode::NOT_MODIFIED
    );
    *db.gate.lock().unwrap() = None;
    assert!(
        cache.is_empty(),
        "a look-up from before the gap filled the cache"
    );
}

/// A source whose validators depend on the user: each user's own tag, `Vary: Authorization`.
fn per_user_service(queries: &Arc<AtomicUsize>, cache: &ValidatorCache<String>) -> Service {
    let counted = Arc::clone(queries);
    let source = move |head: &Parts| {
        let user = head.headers.get(AUTHORIZATION).cloned();
        let counted = Arc::clone(&counted);
        async move {
            counted.fetch_add(1, Ordering::SeqCst);
            let tag = match user.as_ref().map(HeaderValue::as_bytes) {
                Some(b"Bearer a") => "\"a1\"",
                Some(b"Bearer b") => "\"b1\"",
                _ => return Ok::<_, Infallible>(Lookup::Missing),
            };
            // Both users' versions have the same date: only the tag tells them apart.
            let modified = LastModified::from_unix_seconds(1_700_000_000).unwrap();
            Ok(Lookup::Present(
                Validators::new()
                    .with_etag(ETag::from_static(tag))
                    .with_last_modified(modified)
                    .with_vary(HeaderValue::from_static("Accept-Encoding, Authorization")),
            ))
        }
    };
    let handler = service_fn(|_: Request<String>| async {
        Ok::<_, Infallible>(Response::new(String::from("your view")))
    });
    BoxCloneService::new(
        ConditionalLayer::new(source)
            .validator_cache(cache.clone())
            .layer(handler),
    )
}

#[tokio::test]
async fn user_b_never_gets_a_304_from_user_a_s_cached_validators() {
    let queries = Arc::new(AtomicUsize::new(0));
    let cache = cache();
    let service = per_user_service(&queries, &cache);
    for _ in 0..10 {
        let a = get(
            "/me",
            &[(AUTHORIZATION, "Bearer a"), (IF_NONE_MATCH, "\"a1\"")],
        );
        assert_eq!(status(&service, a).await, StatusCode::NOT_MODIFIED);
        // B holds A's tag (a shared proxy served it), or a date A's version also has.
        for condition in [
            (IF_NONE_MATCH, "\"a1\""),
            (IF_MODIFIED_SINCE, "Wed, 15 Nov 2023 00:00:00 GMT"),
        ] {
            let b = get("/me", &[(AUTHORIZATION, "Bearer b"), condition.clone()]);
            let response = service.clone().oneshot(b).await.unwrap();
            if condition.0 == IF_NONE_MATCH {
                assert_eq!(response.status(), StatusCode::OK, "B got A's 304");
            }
            if let Some(tag) = response.headers().get(ETAG) {
                assert_ne!(tag, "\"a1\"", "B was told A's tag");
            }
        }
    }
    assert!(cache.is_empty(), "validators that vary by user were cached");
    assert_eq!(
        queries.load(Ordering::SeqCst),
        30,
        "every request asked the source"
    );
}

#[tokio::test]
async fn an_answer_that_varies_by_user_removes_the_key_s_entry() {
    let (db, cache) = (Db::default(), cache());
    let service = service(&db, &cache, false);
    warm(&db, &service, "/me").await;
    assert_eq!(cache.len(), 1);
    // The same key, now answered per user (the resource became private).
    let queries = Arc::new(AtomicUsize::new(0));
    let per_user = per_user_service(&queries, &cache);
    let b = get(
        "/me",
        &[(AUTHORIZATION, "Bearer b"), (IF_NONE_MATCH, "\"v0\"")],
    );
    assert_eq!(status(&per_user, b).await, StatusCode::OK);
    assert!(cache.is_empty());
}

#[tokio::test]
async fn ten_thousand_keys_of_a_client_s_choice_for_one_item_stay_within_the_byte_bound() {
    // The key a hand-parsed URL gives (the raw path) is of the client's choosing: `/items/7`,
    // `/items/07`, `/items/007`, ... are one item to the source and 10,000 keys to the cache,
    // each as long as the client likes. The bound is in bytes, keys weighed.
    const MAX_BYTES: u64 = 256 * 1024;
    let queries = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&queries);
    let source = move |head: &Parts| {
        let id = head
            .uri
            .path()
            .strip_prefix("/items/")
            .map(str::parse::<u64>);
        counted.fetch_add(1, Ordering::SeqCst);
        async move {
            Ok::<_, Infallible>(match id {
                Some(Ok(7)) => Lookup::Present(Validators::new().with_etag(ETag::from(7u64))),
                _ => Lookup::Missing,
            })
        }
    };
    let cache = ValidatorCache::builder(|head: &Parts| Some(head.uri.path().to_owned()))
        .max_bytes(MAX_BYTES)
        .build();
    let handler = service_fn(|_: Request<String>| async {
        Ok::<_, Infallible>(Response::new(String::new()))
    });
    let service: Service = BoxCloneService::new(
        ConditionalLayer::new(source)
            .validator_cache(cache.clone())
            .layer(handler),
    );
    let mut heaviest = 0;
    for zeros in 0..10_000 {
        let path = format!("/items/{}7", "0".repeat(zeros));
        let revalidate = get(&path, &[(IF_NONE_MATCH, "\"7\"")]);
        assert_eq!(status(&service, revalidate).await, StatusCode::NOT_MODIFIED);
        heaviest = heaviest.max(cache.bytes());
        assert!(
            cache.bytes() <= MAX_BYTES,
            "{} bytes after {zeros} aliases",
            cache.bytes()
        );
    }
    assert_eq!(queries.load(Ordering::SeqCst), 10_000);
    // Each entry weighs at least its key's length: the long ones crowd each other out.
    let entries = cache.len() as u64;
    assert!(entries <= MAX_BYTES / 64, "{entries} entries");
    assert!(
        heaviest > MAX_BYTES / 2,
        "the bound was reached ({heaviest} bytes)"
    );
}

/// A source whose tag depends on the request's `Accept-Encoding` (as `tower-conditional-fs`'s
/// `StaticFiles` tags a `.gz` sibling), saying so with `Vary: accept-encoding`.
fn per_coding_service(queries: &Arc<AtomicUsize>, cache: &ValidatorCache<String>) -> Service {
    let queries = Arc::clone(queries);
    let source = move |head: &Parts| {
        queries.fetch_add(1, Ordering::SeqCst);
        let gzip = head
            .headers
            .get(http::header::ACCEPT_ENCODING)
            .is_some_and(|value| value.to_str().unwrap_or("").contains("gzip"));
        let tag = if gzip { "\"v1-gz\"" } else { "\"v1\"" };
        async move {
            Ok::<_, Infallible>(Lookup::Present(
                Validators::new()
                    .with_etag(ETag::from_static(tag))
                    .with_vary(HeaderValue::from_static("accept-encoding")),
            ))
        }
    };
    let handler = service_fn(|_: Request<String>| async {
        Ok::<_, Infallible>(Response::new(String::new()))
    });
    let layer = ConditionalLayer::new(source).validator_cache(cache.clone());
    BoxCloneService::new(layer.layer(handler))
}

#[tokio::test]
async fn a_coding_s_cached_tag_never_answers_a_request_of_another_coding() {
    let (queries, cache) = (Arc::new(AtomicUsize::new(0)), cache());
    let service = per_coding_service(&queries, &cache);
    // A gzip client's revalidation fills the entry with the gzip copy's tag.
    let gzip = get(
        "/file",
        &[
            (http::header::ACCEPT_ENCODING, "gzip"),
            (IF_NONE_MATCH, "\"v1-gz\""),
        ],
    );
    assert_eq!(status(&service, gzip).await, StatusCode::NOT_MODIFIED);
    // A shared cache holding both copies revalidates for an identity client with both tags:
    // the source says the identity copy ("v1") is current, never the gzip one.
    for _ in 0..2 {
        let identity = get("/file", &[(IF_NONE_MATCH, "\"v1-gz\", \"x\"")]);
        let response = service.clone().oneshot(identity).await.unwrap();
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "the gzip copy's cached tag validated an identity request"
        );
        let both = get("/file", &[(IF_NONE_MATCH, "\"v1-gz\", \"v1\"")]);
        let response = service.clone().oneshot(both).await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(
            response.headers()[ETAG],
            "\"v1\"",
            "the identity copy's tag"
        );
    }
}

/// A source whose one tag is the current `version` (`"1"`, `"2"`, ...).
fn versioned_source(
    version: Arc<AtomicUsize>,
) -> impl Fn(&Parts) -> std::future::Ready<Result<Lookup, Infallible>> + Clone {
    move |_: &Parts| {
        let tag = ETag::from(version.load(Ordering::SeqCst) as u64);
        std::future::ready(Ok(Lookup::from(Validators::new().with_etag(tag))))
    }
}

/// Review finding: as with `keyed_by` (a route without the key), a write for which the
/// `builder`'s function answers `None` changed something the cache cannot name (a bulk update
/// on `/items`, an alias the function does not parse): it empties the cache when it succeeds,
/// or a stale 304 answers for up to the maximum age.
#[tokio::test]
async fn a_write_the_builder_s_key_cannot_name_empties_the_cache() {
    let version = Arc::new(AtomicUsize::new(1));
    let source = versioned_source(Arc::clone(&version));
    let cache = ValidatorCache::builder(|head: &Parts| {
        head.uri.path().strip_prefix("/items/")?.parse::<u64>().ok()
    })
    .build();
    let handler = {
        let version = Arc::clone(&version);
        service_fn(move |request: Request<String>| {
            if request.method() == Method::POST {
                version.fetch_add(1, Ordering::SeqCst); // a bulk update of every item
            }
            async { Ok::<_, Infallible>(Response::new(String::new())) }
        })
    };
    let service = ConditionalLayer::new(source)
        .validator_cache(cache.clone())
        .layer(handler);
    let warm = get("/items/7", &[(IF_NONE_MATCH, "\"1\"")]);
    let response = service.clone().oneshot(warm).await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(cache.len(), 1);
    let bulk = request(Method::POST, "/items", &[]);
    let response = service.clone().oneshot(bulk).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let stale = get("/items/7", &[(IF_NONE_MATCH, "\"1\"")]);
    let response = service.clone().oneshot(stale).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "never a stale 304");
}

/// A lost race's 412 behind a warm cache with encoding-aware tags: the second look-up goes to
/// the source (a write never consults the cache), and the 412 names the winner.
#[tokio::test]
async fn a_lost_race_behind_a_warm_cache_names_the_winner() {
    let version = Arc::new(AtomicUsize::new(1));
    let source = versioned_source(Arc::clone(&version));
    let handler = {
        let version = Arc::clone(&version);
        service_fn(move |request: Request<String>| {
            let checked = tower_conditional::Checked::from_request(&request);
            let version = Arc::clone(&version);
            async move {
                let Some(checked) = checked else {
                    return Ok::<_, Infallible>(Response::new(String::new()));
                };
                // Another writer commits between the check and this compare-and-set.
                version.fetch_add(1, Ordering::SeqCst);
                Ok(checked.lost_race().map(|_| String::new()))
            }
        })
    };
    let cache = cache();
    let service = ConditionalLayer::new(source)
        .encoding_aware_etags(true)
        .validator_cache(cache.clone())
        .layer(handler);
    let warm = get("/doc", &[(IF_NONE_MATCH, "\"1\"")]);
    let response = service.clone().oneshot(warm).await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(cache.len(), 1);
    let loser = request(Method::PUT, "/doc", &[(IF_MATCH, "\"1\"")]);
    let refused = service.clone().oneshot(loser).await.unwrap();
    assert_eq!(refused.status(), StatusCode::PRECONDITION_FAILED);
    assert_eq!(refused.headers()[ETAG], "\"2\"");
}
