//! The store example's application: a key-value store that follows RFC 9110's
//! conditional-request rules exactly, built with axum and [`ConditionalLayer`], over any
//! [`Storage`]: process memory (the default), SQLite or PostgreSQL.
//!
//! Shared by `examples/store/main.rs` (the server), `examples/demo.rs` (a scripted walk-through)
//! and several tests, each of which includes this file as a module.
//!
//! | request | answer |
//! |---|---|
//! | `GET /items/{key}` | 200 with the bytes, `ETag`, `Last-Modified`; 404 when missing |
//! | `GET` with `Range: bytes=a-b`, `a-` or `-n` | 206 with `Content-Range`; 416 when unsatisfiable |
//! | `HEAD /items/{key}` | the headers of the `GET`, no body |
//! | `PUT /items/{key}` | 201 when created, 204 when replaced; carries the new `ETag` |
//! | `DELETE /items/{key}` | 204; 404 when missing |
//!
//! Preconditions are evaluated by the layer before a handler runs (304, 412, 428, 400); a
//! replacing `PUT` or a `DELETE` must carry `If-Match` or `If-Unmodified-Since` (else 428), and
//! `If-None-Match: *` makes a `PUT` create-only. The write itself is a compare-and-set against the
//! version the layer checked: see [`put_item`] for why.
//!
//! When the storage fails (database down or slow), the layer's default source-error policy
//! applies: reads are served unevaluated, writes refused with 503 before the handler runs; a
//! handler whose own storage call fails answers 503 too. Nothing is cached in the process, so the
//! next request after the database returns is served normally.

// Included with `#[path]` from other directories, so each module names its own file.
#[path = "memory.rs"]
pub mod memory;
#[path = "storage.rs"]
pub mod storage;

use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Request, State};
use axum::http::header::{
    ACCEPT_RANGES, CACHE_CONTROL, CONTENT_RANGE, CONTENT_TYPE, ETAG, HeaderValue, LAST_MODIFIED,
    RANGE, VARY,
};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use tower_conditional::{
    Checked, Condition, ConditionalLayer, ETag, LastModified, Lookup, ResourceState,
    ValidatorCache, Validators,
};

use memory::Memory;
use storage::{CasOutcome, Expected, Storage, StorageError, Version};

/// Keys are 1 to 64 characters from `[A-Za-z0-9_-]`.
const MAX_KEY_LEN: usize = 64;

const OCTET_STREAM: HeaderValue = HeaderValue::from_static("application/octet-stream");
const NO_CACHE: HeaderValue = HeaderValue::from_static("no-cache");
const ACCEPT_ENCODING: HeaderValue = HeaderValue::from_static("Accept-Encoding");

/// The application over an empty in-memory store.
pub fn router() -> Router {
    router_with(Memory::new())
}

/// This replica's clock, as the application reads it: only to send no `Last-Modified` later
/// than its own current time (RFC 9110 §8.8.2.1). Versions are dated by the storage's clock, so
/// no precondition depends on this one.
#[derive(Debug, Clone, Copy, Default)]
pub struct Clock {
    /// Seconds added to the system clock: 0, except in tests of replicas whose clocks disagree.
    offset: i64,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Clock::default()
    }

    /// The system clock, `seconds` ahead (or behind, when negative): a replica whose clock is
    /// off, for tests.
    #[allow(
        dead_code,
        reason = "used by the tests of replicas whose clocks disagree"
    )]
    pub fn offset_by(seconds: i64) -> Self {
        Clock { offset: seconds }
    }

    fn now(self) -> LastModified {
        let now = LastModified::now();
        let seconds = now.unix_seconds().saturating_add_signed(self.offset);
        LastModified::from_unix_seconds(seconds).unwrap_or(now)
    }
}

/// The application over `storage`.
///
/// Layers run outside in: the router matches `/items/{key}`, then [`check_key`] rejects bad
/// keys with 400 (before any precondition is looked at: RFC 9110 §13.2.1 evaluates preconditions
/// only on otherwise well-formed requests), then the [`ConditionalLayer`] answers 304, 412, 428,
/// 400 or 503 itself or calls the handler.
pub fn router_with<S: Storage>(storage: S) -> Router {
    router_with_clock(storage, Clock::system())
}

/// The application over `storage`, on a replica whose clock is `clock`.
pub fn router_with_clock<S: Storage>(storage: S, clock: Clock) -> Router {
    router_cached(storage, clock, None)
}

/// The key of the item a request head targets, once [`check_key`] has validated it: what the
/// validator cache is keyed by.
#[allow(
    dead_code,
    reason = "used by cache.rs, which the tests including this file lack"
)]
pub fn item_key(head: &Parts) -> Option<String> {
    head.extensions
        .get::<ItemKey>()
        .map(|ItemKey(key)| key.clone())
}

/// The application over `storage` on a replica whose clock is `clock`, with a validator cache
/// when one is given (see `cache.rs`).
pub fn router_cached<S: Storage>(
    storage: S,
    clock: Clock,
    cache: Option<ValidatorCache<String>>,
) -> Router {
    // The layer's validator source: the stored validators of the item the request targets. A
    // storage error becomes the layer's source error (reads served unevaluated, writes 503).
    let source = {
        let storage = storage.clone();
        move |head: &Parts| {
            let storage = storage.clone();
            let key = head.extensions.get::<ItemKey>().cloned();
            async move {
                // No key only if `check_key` did not run: reads are then served unevaluated and
                // writes refused with 503 (the layer's default `OnSourceError::serve_reads()`).
                let Some(ItemKey(key)) = key else {
                    return Ok(Lookup::Unknown);
                };
                Ok::<_, StorageError>(match storage.version(&key).await? {
                    Some(version) => Lookup::Present(validators(&version)),
                    None => Lookup::Missing,
                })
            }
        }
    };
    let conditional = ConditionalLayer::new(source).require_preconditions([
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
    ]);
    let conditional = match cache {
        Some(cache) => conditional.validator_cache(cache),
        None => conditional,
    };
    Router::new()
        .route(
            "/items/{key}",
            get(get_item::<S>)
                .put(put_item::<S>)
                .delete(delete_item::<S>),
        )
        // `route_layer`: only matched routes are wrapped, so an unknown path stays a 404 and a
        // wrong method a 405 without consulting the store. The last layer added runs first.
        .route_layer(conditional)
        .route_layer(middleware::from_fn(check_key))
        .layer(Extension(clock))
        .with_state(storage)
}

/// What the conditional layer needs: the validators, plus the metadata a 304 repeats.
fn validators(version: &Version) -> Validators {
    Validators::new()
        .with_etag(version.etag.clone())
        .with_last_modified(version.last_modified)
        .with_cache_control(NO_CACHE)
        .with_vary(ACCEPT_ENCODING)
}

/// `ETag` and `Last-Modified`, as sent with every successful response about an item: a date
/// ahead of this replica's clock (a version dated one second after the one it replaced, or a
/// database clock ahead of this one) is sent as the clock's current second (RFC 9110 §8.8.2.1).
/// Such a date names no single version: `If-Unmodified-Since` with it is refused until the
/// clock has passed the stored date, and a refetch then sends the stored one.
fn insert_validators(version: &Version, clock: Clock, headers: &mut HeaderMap) {
    headers.insert(ETAG, HeaderValue::from(&version.etag));
    let date = version.last_modified.header_value_at(clock.now());
    headers.insert(LAST_MODIFIED, date);
}

/// The state the conditional layer evaluates against (and a 412 reports).
fn state_of(version: Option<&Version>) -> ResourceState {
    match version {
        Some(version) => ResourceState::Present(validators(version)),
        None => ResourceState::Missing,
    }
}

/// The item key, validated by [`check_key`] and put in the request's extensions for the
/// validator source and the handlers.
#[derive(Debug, Clone)]
struct ItemKey(String);

/// Rejects keys outside `[A-Za-z0-9_-]{1,64}` with 400 before the conditional layer runs.
async fn check_key(
    path: Result<Path<String>, PathRejection>,
    mut request: Request,
    next: Next,
) -> Response {
    match path {
        Ok(Path(key)) if is_valid_key(&key) => {
            request.extensions_mut().insert(ItemKey(key));
            next.run(request).await
        }
        _ => problem(
            StatusCode::BAD_REQUEST,
            "item keys are 1 to 64 characters from A-Z, a-z, 0-9, '_' and '-'",
        ),
    }
}

fn is_valid_key(key: &str) -> bool {
    (1..=MAX_KEY_LEN).contains(&key.len())
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// `GET` (and `HEAD`: axum runs this handler and drops the body).
///
/// # Ranges of exactly the version `If-Range` named
///
/// When the layer let a `Range` through because `If-Range` was true, it evaluated `If-Range`
/// against the version it looked up, and hands that version over as [`Checked`]. A write may
/// have committed since: the item read here is then the next version, and a range of it would
/// splice two versions in the client's copy. So the range is served only while the item read is
/// still the checked version; otherwise the whole item goes out with a 200, which is what
/// `If-Range` asks for when it is false (RFC 9110 §13.1.5). A ranged GET whose `If-Match` or
/// `If-Unmodified-Since` named the version gets the 412 those fields get once the write has
/// committed (§13.1.1: "more of this version, or nothing"). (The layer would not let a 206 of
/// another version through anyway: it compares the 206's `ETag` with the fields and answers
/// 412, or 503 with `Retry-After: 0` for `If-Range`. Checking here gives the client its 200
/// at once.)
async fn get_item<S: Storage>(
    State(storage): State<S>,
    Extension(ItemKey(key)): Extension<ItemKey>,
    Extension(clock): Extension<Clock>,
    checked: Option<Checked>,
    method: Method,
    request_headers: HeaderMap,
) -> Response {
    let item = match storage.get(&key).await {
        Ok(Some(item)) => item,
        Ok(None) => return problem(StatusCode::NOT_FOUND, "no item is stored under this key"),
        Err(error) => return storage_unavailable(&error),
    };

    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, OCTET_STREAM);
    insert_validators(&item.version, clock, &mut headers);
    headers.insert(CACHE_CONTROL, NO_CACHE);
    headers.insert(VARY, ACCEPT_ENCODING);
    headers.insert(ACCEPT_RANGES, HeaderValue::from_static("bytes"));

    // Range is defined for GET only (RFC 9110 §14.2). When If-Range was false the layer has
    // already removed Range; when it (or If-Match, If-Unmodified-Since) named a version, the
    // range is of the checked version only.
    let current = state_of(Some(&item.version));
    let same_version = checked
        .as_ref()
        .is_none_or(|checked| checked.is_current(&current));
    if let Some(checked) = checked.filter(|_| !same_version) {
        // "More of this version, or nothing": the precondition is false now (§13.1.1).
        if matches!(
            checked.passed(),
            Some(Condition::IfMatch | Condition::IfUnmodifiedSince)
        ) {
            return checked.refusal(&current).into_response();
        }
    }
    let range = match request_headers.get(RANGE) {
        Some(value) if method == Method::GET && same_version => {
            parse_range(value.as_bytes(), item.content.len())
        }
        _ => RangeRequest::Full,
    };
    match range {
        RangeRequest::Full => (StatusCode::OK, headers, item.content).into_response(),
        RangeRequest::Slice { first, last } => {
            let content_range = format!("bytes {first}-{last}/{}", item.content.len());
            headers.insert(CONTENT_RANGE, header_value(content_range));
            let slice = item.content.slice(first..=last);
            (StatusCode::PARTIAL_CONTENT, headers, slice).into_response()
        }
        RangeRequest::Unsatisfiable => {
            let mut response = problem(
                StatusCode::RANGE_NOT_SATISFIABLE,
                "the requested range starts beyond the end of the item",
            );
            let content_range = format!("bytes */{}", item.content.len());
            response
                .headers_mut()
                .insert(CONTENT_RANGE, header_value(content_range));
            response
        }
    }
}

/// `PUT`: create (201) or replace (204) the item with the request body.
///
/// # Lost-update prevention: compare-and-set against the checked version
///
/// By the time this handler runs, the conditional layer has compared the request's
/// preconditions with the item's validators *as they were when it looked*, and put that state in
/// the [`Checked`] extension. That check alone does not prevent lost updates: the layer's
/// look-up and this write are two steps, and between them (here: while the request body is
/// still arriving, or on another replica) another client holding the same `ETag` can pass the
/// same check and write. If both writes went through, the first would be silently lost, which is
/// exactly what `If-Match` exists to prevent.
///
/// So the write is conditional on the very version the layer checked: [`Storage::put_if`]
/// succeeds only if the stored item is still the one the layer saw (same `ETag`, or still absent
/// if it was missing), decided atomically by the storage itself: `UPDATE items SET ... WHERE key =
/// $key AND etag = $checked` in SQL, the map's lock in memory. Of two writers that passed the
/// layer's check with the same tag, the storage orders them: the first finds its checked tag
/// current and writes; the second finds a different tag and gets 412, carrying the current `ETag`
/// so it can refetch and retry, however many replicas share the database.
///
/// Comparing against the *checked* state rather than the client's header is what makes this work
/// for every precondition. What each one guarantees:
///
/// - `If-Match: "tag"`: the write replaces exactly the version with that tag (the tags are
///   hashes of the content, so "the version" means "these bytes"), or is refused. No exception.
/// - `If-None-Match: *`: the write creates the item only if no item exists; a create that finds
///   the key taken fails rather than overwriting. No exception.
/// - `If-Unmodified-Since: date`: the layer passes it when the stored date is not after `date`;
///   the checked tag is then the one current at that look-up, so a write landing after the
///   look-up is caught by the compare-and-set. That the date names the version the client read
///   comes from the storage: every version of an item is dated later than the one it replaced,
///   by the database's clock (see `storage.rs`), so a date the store sent as `Last-Modified`
///   names one version, whatever the replicas' clocks say. The one exception: an item deleted
///   and created again no later than the deleted version's date. A date taken from elsewhere
///   (a `Date` header, the client's clock) names a second, not a version: a write within that
///   second is not seen. `If-Match` is the precise way to say "the version I read".
async fn put_item<S: Storage>(
    State(storage): State<S>,
    Extension(ItemKey(key)): Extension<ItemKey>,
    Extension(clock): Extension<Clock>,
    checked: Checked,
    content: Bytes,
) -> Response {
    let expected = match (checked.state(), checked.state().etag()) {
        (ResourceState::Missing, _) => Expected::Missing,
        (ResourceState::Present(_), Some(etag)) => Expected::Current(etag),
        // Every stored item has a tag, so the layer always checked one.
        (ResourceState::Present(_), None) => {
            return problem(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the checked item had no entity tag",
            );
        }
    };
    // Hash the new content before the round trip: the storage compares, dates and stores.
    let etag = ETag::from_content(&content);
    match storage.put_if(&key, expected, content, etag).await {
        Ok(CasOutcome::Done(version)) => {
            let mut headers = HeaderMap::new();
            insert_validators(&version, clock, &mut headers);
            let status = match expected {
                Expected::Missing => StatusCode::CREATED,
                Expected::Current(_) => StatusCode::NO_CONTENT,
            };
            (status, headers).into_response()
        }
        // Someone else wrote in between: this request's precondition, evaluated now, is false.
        Ok(CasOutcome::Conflict(current)) => lost_race(&checked, current.as_ref()),
        Err(error) => storage_unavailable(&error),
    }
}

/// `DELETE`: remove the item (204), with the same compare-and-set as [`put_item`].
async fn delete_item<S: Storage>(
    State(storage): State<S>,
    Extension(ItemKey(key)): Extension<ItemKey>,
    checked: Checked,
) -> Response {
    // Missing when the layer looked (it ignores preconditions then: the answer is 404 with or
    // without them). Even if the key has been created since, this DELETE is ordered before that
    // create: it must not remove an item it never saw.
    let (ResourceState::Present(_), Some(etag)) = (checked.state(), checked.state().etag()) else {
        return problem(StatusCode::NOT_FOUND, "no item is stored under this key");
    };
    match storage.delete_if(&key, etag).await {
        Ok(CasOutcome::Done(())) => StatusCode::NO_CONTENT.into_response(),
        Ok(CasOutcome::Conflict(current)) => lost_race(&checked, current.as_ref()),
        Err(error) => storage_unavailable(&error),
    }
}

/// The answer to a write whose checked version was no longer current at the compare-and-set:
/// 412 with the current validators when a precondition held at the check (it is false now), or
/// 428 for an unconditional create that lost to another create (overwriting would lose that
/// write). `Checked::refusal` decides; the crate's responses are axum responses as they are.
fn lost_race(checked: &Checked, current: Option<&Version>) -> Response {
    checked.refusal(&state_of(current)).into_response()
}

/// The answer when the storage failed in a handler: 503, like the layer's own answer when the
/// validator source fails. The error goes to the log, not to the client.
fn storage_unavailable(error: &StorageError) -> Response {
    eprintln!("{error}");
    problem(
        StatusCode::SERVICE_UNAVAILABLE,
        "the store's database is unavailable; retry later",
    )
}

/// The `Range` of a GET, against a representation of `len` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RangeRequest {
    /// No range, or one this server ignores (several ranges, unknown unit, bad syntax): 200.
    Full,
    /// Bytes `first..=last`: 206.
    Slice { first: usize, last: usize },
    /// A valid single range that selects nothing: 416.
    Unsatisfiable,
}

/// Parses `bytes=a-b`, `bytes=a-` and `bytes=-n` (RFC 9110 §14.1.2). Anything else, including
/// several ranges, is ignored, which RFC 9110 §14.2 allows.
fn parse_range(value: &[u8], len: usize) -> RangeRequest {
    let Ok(value) = std::str::from_utf8(value) else {
        return RangeRequest::Full;
    };
    let Some((unit, set)) = value.trim().split_once('=') else {
        return RangeRequest::Full;
    };
    // Range units are case-insensitive (§14.1); several ranges are served whole.
    if !unit.eq_ignore_ascii_case("bytes") || set.contains(',') {
        return RangeRequest::Full;
    }
    let Some((first, last)) = set.trim().split_once('-') else {
        return RangeRequest::Full;
    };
    let len = len as u64;
    let range = match (number(first), number(last), last.is_empty()) {
        // `-n`: the last n bytes.
        (None, Some(suffix), _) if first.is_empty() => {
            if suffix == 0 || len == 0 {
                return RangeRequest::Unsatisfiable;
            }
            (len - suffix.min(len), len - 1)
        }
        // `a-`: from a to the end.
        (Some(first), None, true) => {
            if first >= len {
                return RangeRequest::Unsatisfiable;
            }
            (first, len - 1)
        }
        // `a-b`, b clamped to the end.
        (Some(first), Some(last), _) if first <= last => {
            if first >= len {
                return RangeRequest::Unsatisfiable;
            }
            (first, last.min(len - 1))
        }
        _ => return RangeRequest::Full,
    };
    // Both ends are below `len`, which came from a `usize`.
    RangeRequest::Slice {
        first: range.0 as usize,
        last: range.1 as usize,
    }
}

/// `1*DIGIT`; values past `u64::MAX` saturate (they are past any end anyway).
fn number(digits: &str) -> Option<u64> {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(digits.parse().unwrap_or(u64::MAX))
}

fn header_value(text: String) -> HeaderValue {
    HeaderValue::try_from(text).expect("digits, spaces, '-', '*' and '/' are valid header bytes")
}

/// A short RFC 9457 problem document, like the layer's own answers. `detail` is constant text.
fn problem(status: StatusCode, detail: &'static str) -> Response {
    let title = status.canonical_reason().unwrap_or("Error");
    let body = format!(
        "{{\"type\":\"about:blank\",\"title\":\"{title}\",\"status\":{},\"detail\":\"{detail}\"}}",
        status.as_u16()
    );
    (
        status,
        [(
            CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        )],
        body,
    )
        .into_response()
}
