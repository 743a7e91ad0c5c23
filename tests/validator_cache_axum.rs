//! The validator cache behind an axum router, keyed by extractors: aliases of one resource
//! share one entry (so a client cannot grow the cache with spellings of its choice), and a
//! rejection by the key's or the source's extractors is the client's answer, warm cache or not.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::{FromRequestParts, Path, State};
use axum::routing::get;
use http::header::{AUTHORIZATION, IF_MATCH, IF_NONE_MATCH};
use http::request::Parts;
use http::{Method, Request, StatusCode};
use tower::ServiceExt;
use tower_conditional::{
    ConditionalLayer, ETag, Lookup, ValidatorCache, Validators, source_fn, source_fn_with_state,
};

/// The version of item 7 (every other id is missing), and how often the source's query ran.
#[derive(Clone, Default)]
struct Db {
    version: Arc<AtomicUsize>,
    queries: Arc<AtomicUsize>,
}

impl Db {
    fn queries(&self) -> usize {
        self.queries.load(Ordering::SeqCst)
    }

    fn validators(&self, id: u64) -> Option<Validators> {
        self.queries.fetch_add(1, Ordering::SeqCst);
        let version = self.version.load(Ordering::SeqCst) as u64;
        (id == 7).then(|| Validators::new().with_etag(ETag::from(version)))
    }
}

/// Refuses a request without `Authorization: Bearer ok` with 401, as an authentication
/// extractor does.
struct User;

impl<S: Send + Sync> FromRequestParts<S> for User {
    type Rejection = StatusCode;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, StatusCode> {
        match parts.headers.get(AUTHORIZATION) {
            Some(value) if value == "Bearer ok" => Ok(User),
            _ => Err(StatusCode::UNAUTHORIZED),
        }
    }
}

/// Items at `/items/{id}` behind an authenticating source, cached by the id `Path` decodes; a
/// PUT bumps the version and answers 204.
fn app(db: &Db, cache: &ValidatorCache<u64>) -> Router {
    let source = source_fn_with_state(
        db.clone(),
        |_: User, State(db): State<Db>, Path(id): Path<u64>| async move {
            Ok::<_, Infallible>(db.validators(id))
        },
    );
    let writer = db.clone();
    Router::new()
        .route(
            "/items/{id}",
            get(|| async { "item" }).put(move || async move {
                writer.version.fetch_add(1, Ordering::SeqCst);
                StatusCode::NO_CONTENT
            }),
        )
        .route_layer(ConditionalLayer::new(source).validator_cache(cache.clone()))
}

fn request(method: Method, path: &str, headers: &[(http::HeaderName, &str)]) -> Request<String> {
    let mut request = Request::builder().method(method).uri(path);
    for (name, value) in headers {
        request = request.header(name, *value);
    }
    request.body(String::new()).unwrap()
}

/// A revalidation of `path` by the authenticated user, holding `tag`.
fn revalidate(path: &str, tag: &str) -> Request<String> {
    request(
        Method::GET,
        path,
        &[(AUTHORIZATION, "Bearer ok"), (IF_NONE_MATCH, tag)],
    )
}

async fn status(app: &Router, request: Request<String>) -> StatusCode {
    app.clone().oneshot(request).await.unwrap().status()
}

#[tokio::test]
async fn ten_thousand_aliases_of_one_item_are_one_entry_within_the_byte_bound() {
    const MAX_BYTES: u64 = 64 * 1024;
    let db = Db::default();
    let cache = ValidatorCache::keyed_by(|Path(id): Path<u64>| id)
        .max_bytes(MAX_BYTES)
        .max_age(Duration::from_secs(3600)) // a debug build takes a while
        .build();
    let app = app(&db, &cache);
    for zeros in 0..10_000 {
        // `/items/7`, `/items/07`, ... and their percent-encoded spellings.
        let path = match zeros % 2 {
            0 => format!("/items/{}7", "0".repeat(zeros)),
            _ => format!("/items/{}%37", "%30".repeat(zeros)),
        };
        assert_eq!(
            status(&app, revalidate(&path, "\"0\"")).await,
            StatusCode::NOT_MODIFIED
        );
        assert!(cache.bytes() <= MAX_BYTES);
        assert!(cache.len() <= 1, "{} entries after {zeros}", cache.len());
    }
    assert_eq!(db.queries(), 1, "one entry answered every alias");
    assert!(
        cache.bytes() < 1024,
        "{} bytes for one entry",
        cache.bytes()
    );
}

#[tokio::test]
async fn with_the_cache_warm_the_source_s_extractors_still_reject() {
    let db = Db::default();
    let cache = ValidatorCache::keyed_by(|Path(id): Path<u64>| id).build();
    let app = app(&db, &cache);
    for _ in 0..3 {
        let warm = revalidate("/items/7", "\"0\"");
        assert_eq!(status(&app, warm).await, StatusCode::NOT_MODIFIED);
    }
    assert_eq!(db.queries(), 1, "warm: the cache answered");
    for authorization in [None, Some("Bearer stolen")] {
        let mut headers = vec![(IF_NONE_MATCH, "\"0\"")];
        headers.extend(authorization.map(|value| (AUTHORIZATION, value)));
        let anonymous = request(Method::GET, "/items/7", &headers);
        let response = app.clone().oneshot(anonymous).await.unwrap();
        assert_eq!(
            response.status(),
            StatusCode::UNAUTHORIZED,
            "not the cached 304"
        );
        assert!(!response.headers().contains_key(http::header::ETAG));
    }
    assert_eq!(db.queries(), 1, "the rejected requests never queried");
}

#[tokio::test]
async fn a_rejection_by_the_key_s_extractors_is_the_answer_warm_or_cold() {
    let db = Db::default();
    // The key's extractor is stricter than the source's: ids are at most 4 digits.
    let cache = ValidatorCache::keyed_by(|Path(id): Path<u16>| u64::from(id)).build();
    let app = app(&db, &cache);
    let too_big = || revalidate("/items/70000", "\"0\"");
    assert_eq!(status(&app, too_big()).await, StatusCode::BAD_REQUEST);
    assert_eq!(
        status(&app, revalidate("/items/7", "\"0\"")).await,
        StatusCode::NOT_MODIFIED
    );
    assert_eq!(status(&app, too_big()).await, StatusCode::BAD_REQUEST);
    // A write the key rejects is never performed.
    let write = request(Method::PUT, "/items/70000", &[(AUTHORIZATION, "Bearer ok")]);
    assert_eq!(status(&app, write).await, StatusCode::BAD_REQUEST);
    assert_eq!(db.version.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_write_to_an_alias_invalidates_the_item() {
    let db = Db::default();
    let cache = ValidatorCache::keyed_by(|Path(id): Path<u64>| id).build();
    let app = app(&db, &cache);
    assert_eq!(
        status(&app, revalidate("/items/7", "\"0\"")).await,
        StatusCode::NOT_MODIFIED
    );
    // Unconditional: no look-up, but the key is taken and the 204 invalidates it.
    let write = request(Method::PUT, "/items/007", &[(AUTHORIZATION, "Bearer ok")]);
    assert_eq!(status(&app, write).await, StatusCode::NO_CONTENT);
    assert_eq!(
        status(&app, revalidate("/items/7", "\"0\"")).await,
        StatusCode::OK,
        "the cached version 0 answered after the write"
    );
    let conditional = request(
        Method::PUT,
        "/items/%37",
        &[(AUTHORIZATION, "Bearer ok"), (IF_MATCH, "\"1\"")],
    );
    assert_eq!(status(&app, conditional).await, StatusCode::NO_CONTENT);
    assert_eq!(
        status(&app, revalidate("/items/7", "\"1\"")).await,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_closure_source_is_consulted_after_the_key_and_its_future_never_polled_on_a_hit() {
    let polled = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&polled);
    let source = move |_: &Parts| {
        let counted = Arc::clone(&counted);
        async move {
            counted.fetch_add(1, Ordering::SeqCst);
            Ok::<_, Infallible>(Lookup::from(
                Validators::new().with_etag(ETag::from_static("\"v1\"")),
            ))
        }
    };
    let cache = ValidatorCache::keyed_by(|Path(name): Path<String>| name).build();
    let app = Router::new()
        .route("/files/{name}", get(|| async { "file" }))
        .route_layer(ConditionalLayer::new(source).validator_cache(cache.clone()));
    for path in ["/files/a%20b", "/files/%61%20b", "/files/a%20%62"] {
        let request = request(Method::GET, path, &[(IF_NONE_MATCH, "\"v1\"")]);
        assert_eq!(status(&app, request).await, StatusCode::NOT_MODIFIED);
    }
    assert_eq!(polled.load(Ordering::SeqCst), 1);
    assert_eq!(cache.len(), 1);
}

#[tokio::test]
async fn keys_without_state_work_with_source_fn_too() {
    let db = Db::default();
    let reader = db.clone();
    let source = source_fn(move |Path(id): Path<u64>| {
        let db = reader.clone();
        async move { Ok::<_, Infallible>(db.validators(id)) }
    });
    let cache = ValidatorCache::keyed_by(|Path(id): Path<u64>| id).build();
    let app = Router::new()
        .route("/items/{id}", get(|| async { "item" }))
        .route_layer(ConditionalLayer::new(source).validator_cache(cache.clone()));
    for _ in 0..3 {
        let request = request(Method::GET, "/items/7", &[(IF_NONE_MATCH, "\"0\"")]);
        assert_eq!(status(&app, request).await, StatusCode::NOT_MODIFIED);
    }
    // Missing items are never cached, whatever ids clients try.
    for id in 0..100 {
        let path = format!("/items/{}", 100 + id);
        let request = request(Method::GET, &path, &[(IF_NONE_MATCH, "\"0\"")]);
        assert_eq!(status(&app, request).await, StatusCode::OK);
    }
    assert_eq!(db.queries(), 101);
    assert_eq!(cache.len(), 1);
}

#[tokio::test]
async fn adding_a_keyed_cache_never_refuses_a_write_to_a_route_without_the_key() {
    // The layer covers the collection too (`POST /items` creates), as one `route_layer` on the
    // router does; the source answers for both routes.
    let source = |_: &Parts| async {
        Ok::<_, Infallible>(Lookup::from(
            Validators::new().with_etag(ETag::from_static("\"v1\"")),
        ))
    };
    let cache = ValidatorCache::keyed_by(|Path(id): Path<u64>| id).build();
    let app = Router::new()
        .route(
            "/items",
            get(|| async { "list" }).post(|| async { StatusCode::CREATED }),
        )
        .route("/items/{id}", get(|| async { "item" }))
        .route_layer(ConditionalLayer::new(source).validator_cache(cache.clone()));
    // Without the cache this is a 201: the key cannot be taken, so it should play no part.
    let create = request(Method::POST, "/items", &[]);
    assert_eq!(status(&app, create).await, StatusCode::CREATED);
    let list = request(Method::GET, "/items", &[(IF_NONE_MATCH, "\"v1\"")]);
    assert_eq!(status(&app, list).await, StatusCode::NOT_MODIFIED);
    assert_eq!(cache.len(), 0, "an unkeyed read fills nothing");
}

#[tokio::test]
async fn a_write_to_a_route_without_the_key_empties_the_cache_it_cannot_name() {
    let version = Arc::new(AtomicU64::new(1));
    let source = {
        let version = Arc::clone(&version);
        move |_: &Parts| {
            let tag = ETag::from(version.load(Ordering::SeqCst));
            async move { Ok::<_, Infallible>(Lookup::from(Validators::new().with_etag(tag))) }
        }
    };
    let cache = ValidatorCache::keyed_by(|Path(id): Path<u64>| id).build();
    let bump = {
        let version = Arc::clone(&version);
        move || async move {
            version.fetch_add(1, Ordering::SeqCst); // a bulk update of every item
            StatusCode::NO_CONTENT
        }
    };
    let app = Router::new()
        .route("/items", axum::routing::post(bump))
        .route("/items/{id}", get(|| async { "item" }))
        .route_layer(ConditionalLayer::new(source).validator_cache(cache.clone()));
    let warm = revalidate("/items/7", "\"1\"");
    assert_eq!(status(&app, warm).await, StatusCode::NOT_MODIFIED);
    assert_eq!(cache.len(), 1);
    let bulk = request(Method::POST, "/items", &[]);
    assert_eq!(status(&app, bulk).await, StatusCode::NO_CONTENT);
    assert_eq!(cache.len(), 0, "emptied: the write's target has no key");
    let stale = revalidate("/items/7", "\"1\"");
    assert_eq!(
        status(&app, stale).await,
        StatusCode::OK,
        "never a stale 304"
    );
}

#[tokio::test]
#[ignore = "review finding: a warm cache skips a source_fn body's own Lookup::Rejected (403)"]
async fn with_the_cache_warm_a_rejection_by_the_source_function_still_answers() {
    // Authorization inside the source's function: only the owner (Bearer ok) may see item 7.
    let source = source_fn(|Path(id): Path<u64>, headers: http::HeaderMap| async move {
        let owner = headers
            .get(AUTHORIZATION)
            .is_some_and(|value| value == "Bearer ok");
        if !owner {
            return Ok::<_, Infallible>(Lookup::Rejected(
                tower_conditional::Rejection::from_status(StatusCode::FORBIDDEN),
            ));
        }
        Ok(Lookup::from(Validators::new().with_etag(ETag::from(id))))
    });
    let cache = ValidatorCache::keyed_by(|Path(id): Path<u64>| id).build();
    let app = Router::new()
        .route("/items/{id}", get(|| async { "item" }))
        .route_layer(ConditionalLayer::new(source).validator_cache(cache));
    let owner = revalidate("/items/7", "\"7\"");
    assert_eq!(status(&app, owner).await, StatusCode::NOT_MODIFIED);
    let stranger = request(
        Method::GET,
        "/items/7",
        &[(AUTHORIZATION, "Bearer other"), (IF_NONE_MATCH, "\"7\"")],
    );
    assert_eq!(
        status(&app, stranger).await,
        StatusCode::FORBIDDEN,
        "the owner's cached validators answered a stranger"
    );
}
