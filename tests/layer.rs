//! Service-level tests of `ConditionalLayer`: `tower::service_fn` + `ServiceExt::oneshot`, no
//! sockets (except the hyper test, over loopback TCP). Each test names the behaviour it pins down.
//!
//! Nothing here depends on the `tracing` feature: every test passes with and without it.

use std::convert::Infallible;
use std::future::{Future, Ready, pending, ready};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::header::{
    ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_LENGTH, CONTENT_LOCATION, CONTENT_TYPE, ETAG, EXPIRES,
    IF_MATCH, IF_MODIFIED_SINCE, IF_NONE_MATCH, IF_RANGE, IF_UNMODIFIED_SINCE, LAST_MODIFIED,
    RANGE, RETRY_AFTER, VARY,
};
use http::request::Parts;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::BodyExt;
use tower::util::ServiceFn;
use tower::{Layer, ServiceBuilder, ServiceExt, service_fn};
use tower_conditional::{
    Checked, Condition, Conditional, ConditionalBody, ConditionalLayer, DrainConfig, ETag,
    LastModified, Lookup, OnSourceError, ResourceState, ResponseFuture, ValidatorSource,
    Validators,
};

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------

/// The current entity tag of the resource behind [`present`].
const CURRENT: &str = "\"v2\"";
/// Its modification date, 1_700_000_000 seconds after the epoch.
const MODIFIED: &str = "Tue, 14 Nov 2023 22:13:20 GMT";
const BEFORE_MODIFIED: &str = "Tue, 14 Nov 2023 22:13:19 GMT";

fn modified() -> LastModified {
    LastModified::from_unix_seconds(1_700_000_000).unwrap()
}

/// The validators of the resource, with every piece of metadata a 304 must repeat.
fn validators() -> Validators {
    Validators::new()
        .with_etag(ETag::from_static(CURRENT))
        .with_last_modified(modified())
        .with_cache_control(HeaderValue::from_static("max-age=60"))
        .with_vary(HeaderValue::from_static("Accept-Encoding"))
        .with_expires(HeaderValue::from_static("Thu, 01 Dec 2094 16:00:00 GMT"))
        .with_content_location(HeaderValue::from_static("/items/1.en"))
}

/// A source that always gives `lookup`.
fn answering(lookup: Lookup) -> impl Fn(&Parts) -> Ready<Result<Lookup, Infallible>> + Clone {
    move |_: &Parts| ready(Ok(lookup.clone()))
}

/// A source for an existing resource with [`validators`].
fn present() -> impl Fn(&Parts) -> Ready<Result<Lookup, Infallible>> + Clone {
    answering(Lookup::Present(validators()))
}

/// A source for a resource that does not exist.
fn missing() -> impl Fn(&Parts) -> Ready<Result<Lookup, Infallible>> + Clone {
    answering(Lookup::Missing)
}

/// A source that cannot tell before the handler runs.
fn unknown() -> impl Fn(&Parts) -> Ready<Result<Lookup, Infallible>> + Clone {
    answering(Lookup::Unknown)
}

const SOURCE_ERROR: &str = "connection to db-7.internal refused";

/// A source whose look-up fails.
fn failing() -> impl Fn(&Parts) -> Ready<Result<Lookup, &'static str>> + Clone {
    |_: &Parts| ready(Err(SOURCE_ERROR))
}

/// A request for `/items/1` with these header fields.
fn request(method: Method, headers: &[(HeaderName, &str)]) -> Request<String> {
    let mut builder = Request::builder().method(method).uri("/items/1");
    for (name, value) in headers {
        builder = builder.header(name, *value);
    }
    builder.body(String::new()).unwrap()
}

/// The handler most tests use: 200 `hello`, with a Content-Type and Content-Length of its own.
async fn hello(_: Request<String>) -> Response<String> {
    Response::builder()
        .header(CONTENT_TYPE, "text/plain")
        .header(CONTENT_LENGTH, "5")
        .body(String::from("hello"))
        .unwrap()
}

/// What the inner service saw, recorded inside its `service_fn`.
#[derive(Debug, Clone)]
struct Seen {
    headers: HeaderMap,
    checked: Option<Checked>,
}

/// The outcome of one request through the layer.
#[derive(Debug)]
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
    /// How many times the inner service was called.
    calls: usize,
    /// The request the inner service got, if it was called.
    seen: Option<Seen>,
}

impl Answer {
    #[track_caller]
    fn json(&self) -> serde_json::Value {
        assert_eq!(self.headers[CONTENT_TYPE], "application/problem+json");
        serde_json::from_slice(&self.body).expect("a problem+json body is valid JSON")
    }

    #[track_caller]
    fn header(&self, name: HeaderName) -> &str {
        self.headers
            .get(&name)
            .unwrap_or_else(|| panic!("no {name} in {:?}", self.headers))
            .to_str()
            .unwrap()
    }

    #[track_caller]
    fn seen(&self) -> &Seen {
        self.seen
            .as_ref()
            .expect("the inner service should have been called")
    }
}

/// Sends `request` through `layer` in front of [`hello`].
async fn send<V>(layer: &ConditionalLayer<V>, request: Request<String>) -> Answer
where
    V: ValidatorSource + Clone,
{
    send_to(layer, hello, request).await
}

/// Sends `request` through `layer` in front of `handler`, counting the inner service's calls
/// (an `AtomicUsize` in the `service_fn`) and recording what it saw.
async fn send_to<V, H, Fut>(
    layer: &ConditionalLayer<V>,
    handler: H,
    request: Request<String>,
) -> Answer
where
    V: ValidatorSource + Clone,
    H: Fn(Request<String>) -> Fut + Clone,
    Fut: Future<Output = Response<String>>,
{
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = Arc::new(Mutex::new(None));
    let inner = service_fn({
        let calls = Arc::clone(&calls);
        let seen = Arc::clone(&seen);
        move |request: Request<String>| {
            calls.fetch_add(1, Ordering::SeqCst);
            *seen.lock().unwrap() = Some(Seen {
                headers: request.headers().clone(),
                checked: request.extensions().get::<Checked>().cloned(),
            });
            let response = handler(request);
            async move { Ok::<_, Infallible>(response.await) }
        }
    });
    let response = layer.layer(inner).oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    let seen = seen.lock().unwrap().take();
    Answer {
        status: parts.status,
        headers: parts.headers,
        body,
        calls: calls.load(Ordering::SeqCst),
        seen,
    }
}

// ---------------------------------------------------------------------------------------------
// 304 Not Modified
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn get_with_matching_if_none_match_answers_304_without_calling_the_inner_service() {
    let layer = ConditionalLayer::new(present());
    let answer = send(&layer, request(Method::GET, &[(IF_NONE_MATCH, CURRENT)])).await;

    assert_eq!(answer.status, StatusCode::NOT_MODIFIED);
    assert_eq!(answer.calls, 0);
}

#[tokio::test]
async fn not_modified_carries_etag_and_cache_metadata_but_no_body_metadata_and_no_body() {
    let layer = ConditionalLayer::new(present());
    let answer = send(
        &layer,
        request(Method::GET, &[(IF_NONE_MATCH, "\"v1\", W/\"v2\"")]),
    )
    .await;

    assert_eq!(answer.status, StatusCode::NOT_MODIFIED);
    assert_eq!(answer.header(ETAG), CURRENT);
    assert_eq!(answer.header(CACHE_CONTROL), "max-age=60");
    assert_eq!(answer.header(VARY), "Accept-Encoding");
    assert_eq!(answer.header(EXPIRES), "Thu, 01 Dec 2094 16:00:00 GMT");
    assert_eq!(answer.header(CONTENT_LOCATION), "/items/1.en");
    for name in [CONTENT_TYPE, CONTENT_LENGTH, LAST_MODIFIED] {
        assert!(!answer.headers.contains_key(&name), "unexpected {name}");
    }
    assert!(answer.body.is_empty());
}

#[tokio::test]
async fn get_with_if_modified_since_answers_304_with_last_modified_when_there_is_no_etag() {
    let layer = ConditionalLayer::new(answering(Lookup::Present(
        Validators::new().with_last_modified(modified()),
    )));
    let answer = send(
        &layer,
        request(Method::GET, &[(IF_MODIFIED_SINCE, MODIFIED)]),
    )
    .await;

    assert_eq!(answer.status, StatusCode::NOT_MODIFIED);
    assert_eq!(answer.header(LAST_MODIFIED), MODIFIED);
    assert_eq!(answer.calls, 0);
}

#[tokio::test]
async fn get_with_stale_if_none_match_calls_the_inner_service() {
    let layer = ConditionalLayer::new(present());
    let answer = send(&layer, request(Method::GET, &[(IF_NONE_MATCH, "\"v1\"")])).await;

    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.calls, 1);
    assert_eq!(answer.body, "hello");
}

#[tokio::test]
async fn head_revalidation_answers_exactly_like_get() {
    let layer = ConditionalLayer::new(present());
    let get = send(&layer, request(Method::GET, &[(IF_NONE_MATCH, CURRENT)])).await;
    let head = send(&layer, request(Method::HEAD, &[(IF_NONE_MATCH, CURRENT)])).await;

    assert_eq!(head.status, StatusCode::NOT_MODIFIED);
    assert_eq!(head.status, get.status);
    assert_eq!(head.headers, get.headers);
    assert_eq!(head.calls, 0);
    assert!(head.body.is_empty());

    let get = send(&layer, request(Method::GET, &[(IF_NONE_MATCH, "\"v1\"")])).await;
    let head = send(&layer, request(Method::HEAD, &[(IF_NONE_MATCH, "\"v1\"")])).await;
    assert_eq!((head.status, head.calls), (get.status, get.calls));
    assert_eq!(head.headers, get.headers);
}

// ---------------------------------------------------------------------------------------------
// 412 Precondition Failed and 400 Bad Request
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn put_with_stale_if_match_answers_412_with_current_validators_and_a_problem_body() {
    let layer = ConditionalLayer::new(present());
    let answer = send(&layer, request(Method::PUT, &[(IF_MATCH, "\"v1\"")])).await;

    assert_eq!(answer.status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(answer.calls, 0);
    assert_eq!(answer.header(ETAG), CURRENT);
    assert_eq!(answer.header(LAST_MODIFIED), MODIFIED);
    let json = answer.json();
    assert_eq!(json["status"], 412);
    assert_eq!(json["title"], "Precondition Failed");
    assert_eq!(json["condition"], "If-Match");
    assert!(json["detail"].as_str().unwrap().contains("If-Match"));
}

#[tokio::test]
async fn put_with_if_unmodified_since_before_the_modification_answers_412() {
    let layer = ConditionalLayer::new(present());
    let answer = send(
        &layer,
        request(Method::PUT, &[(IF_UNMODIFIED_SINCE, BEFORE_MODIFIED)]),
    )
    .await;

    assert_eq!(answer.status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(answer.calls, 0);
    assert_eq!(answer.json()["condition"], "If-Unmodified-Since");
}

#[tokio::test]
async fn put_with_malformed_if_match_answers_400_without_calling_the_inner_service() {
    let layer = ConditionalLayer::new(present());
    let answer = send(&layer, request(Method::PUT, &[(IF_MATCH, "v2")])).await;

    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(answer.calls, 0);
    let json = answer.json();
    assert_eq!(json["status"], 400);
    assert_eq!(json["condition"], "If-Match");
}

#[tokio::test]
async fn get_with_malformed_if_none_match_is_served_in_full() {
    let layer = ConditionalLayer::new(present());
    for garbage in ["v2", "\"v2", "w/\"v2\""] {
        let answer = send(&layer, request(Method::GET, &[(IF_NONE_MATCH, garbage)])).await;
        assert_eq!(answer.status, StatusCode::OK, "If-None-Match: {garbage}");
        assert_eq!(answer.calls, 1);
        assert_eq!(answer.body, "hello");
    }
}

// ---------------------------------------------------------------------------------------------
// 428 Precondition Required
// ---------------------------------------------------------------------------------------------

fn requiring(
    source: impl Fn(&Parts) -> Ready<Result<Lookup, Infallible>> + Clone,
) -> ConditionalLayer<impl ValidatorSource + Clone> {
    ConditionalLayer::new(source).require_preconditions([Method::PUT, Method::DELETE])
}

#[tokio::test]
async fn required_put_on_existing_resource_without_preconditions_answers_428_no_store() {
    let answer = send(&requiring(present()), request(Method::PUT, &[])).await;

    assert_eq!(answer.status, StatusCode::PRECONDITION_REQUIRED);
    assert_eq!(answer.calls, 0);
    assert_eq!(answer.header(CACHE_CONTROL), "no-store");
    let json = answer.json();
    assert_eq!(json["status"], 428);
    assert!(json["detail"].as_str().unwrap().contains("If-Match"));
}

#[tokio::test]
async fn required_delete_on_existing_resource_without_preconditions_answers_428() {
    let answer = send(&requiring(present()), request(Method::DELETE, &[])).await;

    assert_eq!(answer.status, StatusCode::PRECONDITION_REQUIRED);
    assert_eq!(answer.calls, 0);
}

#[tokio::test]
async fn required_put_creating_a_missing_resource_passes() {
    let answer = send(&requiring(missing()), request(Method::PUT, &[])).await;

    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.calls, 1);
}

#[tokio::test]
async fn required_put_with_matching_if_match_passes() {
    let answer = send(
        &requiring(present()),
        request(Method::PUT, &[(IF_MATCH, CURRENT)]),
    )
    .await;

    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.calls, 1);
}

#[tokio::test]
async fn required_put_with_if_unmodified_since_passes() {
    let answer = send(
        &requiring(present()),
        request(Method::PUT, &[(IF_UNMODIFIED_SINCE, MODIFIED)]),
    )
    .await;

    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.calls, 1);
}

#[tokio::test]
async fn required_put_with_if_none_match_star_on_existing_resource_answers_412_not_428() {
    let answer = send(
        &requiring(present()),
        request(Method::PUT, &[(IF_NONE_MATCH, "*")]),
    )
    .await;

    assert_eq!(answer.status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(answer.calls, 0);
    assert_eq!(answer.json()["condition"], "If-None-Match");
}

#[tokio::test]
async fn required_put_with_malformed_if_match_answers_400_not_428() {
    let answer = send(
        &requiring(present()),
        request(Method::PUT, &[(IF_MATCH, "v2")]),
    )
    .await;

    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(answer.calls, 0);
}

#[tokio::test]
async fn post_not_in_the_required_methods_passes_without_preconditions() {
    let answer = send(&requiring(present()), request(Method::POST, &[])).await;

    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.calls, 1);
}

/// RFC 9110 §13.1.4: an If-Unmodified-Since that is not a valid HTTP-date is ignored, so the
/// write below is performed without any check: exactly what `require_preconditions` exists to
/// prevent.
#[tokio::test]
async fn required_put_with_unparseable_if_unmodified_since_answers_428() {
    let answer = send(
        &requiring(present()),
        request(Method::PUT, &[(IF_UNMODIFIED_SINCE, "yesterday")]),
    )
    .await;

    assert_eq!(answer.status, StatusCode::PRECONDITION_REQUIRED);
    assert_eq!(answer.calls, 0);
}

/// RFC 9110 §13.1.4: If-Unmodified-Since is ignored when the resource has no modification date,
/// so nothing was checked before this write.
#[tokio::test]
async fn required_put_with_if_unmodified_since_on_resource_without_last_modified_answers_428() {
    let etag_only = answering(Lookup::Present(
        Validators::new().with_etag(ETag::from_static(CURRENT)),
    ));
    let answer = send(
        &requiring(etag_only),
        request(Method::PUT, &[(IF_UNMODIFIED_SINCE, MODIFIED)]),
    )
    .await;

    assert_eq!(answer.status, StatusCode::PRECONDITION_REQUIRED);
    assert_eq!(answer.calls, 0);
}

// ---------------------------------------------------------------------------------------------
// Source errors and Lookup::Unknown
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn source_error_serves_get_and_head_unevaluated_by_default() {
    let layer = ConditionalLayer::new(failing());
    for method in [Method::GET, Method::HEAD] {
        let answer = send(&layer, request(method.clone(), &[(IF_NONE_MATCH, CURRENT)])).await;
        assert_eq!(answer.status, StatusCode::OK, "{method}");
        assert_eq!(answer.calls, 1, "{method}");
    }
}

#[tokio::test]
async fn source_error_refuses_conditional_writes_with_503_and_retry_after() {
    let layer = ConditionalLayer::new(failing());
    for method in [Method::PUT, Method::POST, Method::DELETE, Method::PATCH] {
        let answer = send(&layer, request(method.clone(), &[(IF_MATCH, CURRENT)])).await;
        assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE, "{method}");
        assert_eq!(answer.calls, 0, "{method}");
        assert_eq!(answer.header(CACHE_CONTROL), "no-store");
        assert_eq!(answer.header(RETRY_AFTER), "1");
        assert_eq!(answer.json()["status"], 503);
    }
}

#[tokio::test]
async fn source_error_refuses_a_write_under_428_policy_with_503() {
    let layer = ConditionalLayer::new(failing()).require_preconditions([Method::PUT]);
    let answer = send(&layer, request(Method::PUT, &[])).await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(answer.calls, 0);
}

#[tokio::test]
async fn retry_after_is_configurable_and_can_be_left_out() {
    let write = || request(Method::PUT, &[(IF_MATCH, CURRENT)]);
    let layer = ConditionalLayer::new(failing())
        .on_source_error(OnSourceError::default().retry_after(Duration::from_secs(30)));
    assert_eq!(send(&layer, write()).await.header(RETRY_AFTER), "30");
    let layer = ConditionalLayer::new(failing())
        .on_source_error(OnSourceError::default().retry_after(None));
    let answer = send(&layer, write()).await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(!answer.headers.contains_key(RETRY_AFTER));
}

/// A broken database must not take down routes that never needed it: CORS preflights, plain
/// reads and unconditional writes go through, exactly as with a source that answers.
#[tokio::test]
async fn source_error_does_not_affect_requests_that_needed_no_look_up() {
    for policy in [OnSourceError::serve_reads(), OnSourceError::reject_all()] {
        let layer = ConditionalLayer::new(failing()).on_source_error(policy);
        for method in [
            Method::OPTIONS,
            Method::POST,
            Method::PUT,
            Method::GET,
            Method::HEAD,
        ] {
            let answer = send(&layer, request(method.clone(), &[])).await;
            assert_eq!(answer.status, StatusCode::OK, "{policy:?} {method}");
            assert_eq!(answer.calls, 1, "{policy:?} {method}");
        }
        // A preflight carrying a precondition field is still never checked (§13.2.1).
        let preflight = request(Method::OPTIONS, &[(IF_MATCH, CURRENT)]);
        assert_eq!(send(&layer, preflight).await.status, StatusCode::OK);
    }
}

#[tokio::test]
async fn source_error_with_reject_all_refuses_conditional_reads_with_503() {
    let layer = ConditionalLayer::new(failing()).on_source_error(OnSourceError::reject_all());
    for method in [Method::GET, Method::HEAD] {
        let answer = send(&layer, request(method.clone(), &[(IF_NONE_MATCH, CURRENT)])).await;
        assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE, "{method}");
        assert_eq!(answer.calls, 0, "{method}");
        if method == Method::HEAD {
            // No content on a HEAD answer (RFC 9110 §9.3.2): its GET's length, and no body.
            assert!(answer.body.is_empty(), "{method}");
            assert!(answer.headers.contains_key(http::header::CONTENT_LENGTH));
        } else {
            assert_eq!(answer.json()["status"], 503);
        }
    }
}

/// The source's error is only ever displayed in a `tracing` event (with the `tracing` feature);
/// with or without the feature it never reaches the client.
#[tokio::test]
async fn source_error_text_is_never_echoed_to_the_client() {
    let layer = ConditionalLayer::new(failing());
    let answer = send(&layer, request(Method::PUT, &[(IF_MATCH, CURRENT)])).await;

    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    let body = std::str::from_utf8(&answer.body).unwrap();
    assert!(!body.contains("db-7"), "{body}");
    for value in answer.headers.values() {
        assert!(!value.to_str().unwrap().contains("db-7"));
    }
}

/// With `Lookup::Unknown` nothing is decided before the handler: the inner service always runs
/// for GET, and a tag that merely looks like the resource's is not evaluated against anything
/// but the handler's response (here untagged, so hashed: no match).
#[tokio::test]
async fn unknown_validators_call_the_inner_service_for_get_even_with_a_matching_looking_if_none_match()
 {
    let layer = ConditionalLayer::new(unknown());
    let answer = send(&layer, request(Method::GET, &[(IF_NONE_MATCH, CURRENT)])).await;

    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.calls, 1);
    assert_eq!(answer.body, "hello");
}

#[tokio::test]
async fn unknown_validators_serve_get_even_with_reject_all() {
    let layer = ConditionalLayer::new(unknown()).on_source_error(OnSourceError::reject_all());
    let answer = send(&layer, request(Method::GET, &[(IF_NONE_MATCH, CURRENT)])).await;

    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.calls, 1);
}

/// The handler's response for `/items/1`, tagged by the handler itself.
async fn tagged_hello(_: Request<String>) -> Response<String> {
    Response::builder()
        .header(CONTENT_TYPE, "text/plain")
        .header(CONTENT_LENGTH, "5")
        .header(ETAG, CURRENT)
        .header(CACHE_CONTROL, "max-age=60")
        .body(String::from("hello"))
        .unwrap()
}

#[tokio::test]
async fn unknown_validators_evaluate_get_and_head_against_the_handlers_own_etag() {
    let layer = ConditionalLayer::new(unknown());
    for method in [Method::GET, Method::HEAD] {
        let answer = send_to(
            &layer,
            tagged_hello,
            request(method.clone(), &[(IF_NONE_MATCH, CURRENT)]),
        )
        .await;
        assert_eq!(answer.status, StatusCode::NOT_MODIFIED, "{method}");
        assert_eq!(answer.calls, 1, "the handler had to run to know its ETag");
        assert_eq!(answer.header(ETAG), CURRENT);
        assert_eq!(answer.header(CACHE_CONTROL), "max-age=60");
        assert!(!answer.headers.contains_key(CONTENT_TYPE));
        assert!(!answer.headers.contains_key(CONTENT_LENGTH));
        assert!(answer.body.is_empty());
    }
}

#[tokio::test]
async fn unknown_validators_tag_a_small_get_body_with_its_hash_and_revalidate_it() {
    // A source is asked about an unconditional GET only when validators are to be filled in;
    // then its `Unknown` hands the GET to the response side, which tags the body.
    let layer = ConditionalLayer::new(unknown()).fill_response_validators(true);
    let first = send(&layer, request(Method::GET, &[])).await;
    let tag = ETag::from_content(b"hello").to_string();
    assert_eq!(first.header(ETAG), tag);
    assert_eq!(first.body, "hello");

    let again = send(&layer, request(Method::GET, &[(IF_NONE_MATCH, &tag)])).await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert_eq!(again.header(ETAG), tag);
    assert!(again.body.is_empty());
}

/// Without filling, a source that may answer `Unknown` is not asked about plain GETs, so their
/// 200s pass untagged (use `from_responses` to tag every one).
#[tokio::test]
async fn unknown_validators_leave_an_unconditional_get_alone_without_filling() {
    let answer = send(&ConditionalLayer::new(unknown()), request(Method::GET, &[])).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(!answer.headers.contains_key(ETAG));
}

#[tokio::test]
async fn source_errors_never_evaluate_reads_even_against_the_handlers_own_etag() {
    let layer = ConditionalLayer::new(failing());
    let answer = send_to(
        &layer,
        tagged_hello,
        request(Method::GET, &[(IF_NONE_MATCH, CURRENT)]),
    )
    .await;

    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body, "hello");
}

/// Where the layer evaluates If-Range it removes a Range whose If-Range is false, so handlers
/// may serve Range blindly. Where it cannot evaluate it (validators unknown, source down), the
/// stale If-Range and its Range still reach the handler, which then splices bytes of the new
/// representation onto the client's old copy. A full 200 would always be safe.
#[tokio::test]
async fn unknown_validators_do_not_forward_range_with_an_unevaluated_if_range() {
    let layer = ConditionalLayer::new(unknown());
    let answer = send(
        &layer,
        request(Method::GET, &[(RANGE, "bytes=0-1"), (IF_RANGE, "\"v1\"")]),
    )
    .await;

    assert_eq!(answer.calls, 1);
    assert!(
        !answer.seen().headers.contains_key(RANGE),
        "Range with an unchecked If-Range"
    );
}

#[tokio::test]
async fn source_errors_do_not_forward_range_with_an_unevaluated_if_range() {
    let layer = ConditionalLayer::new(failing());
    let answer = send(
        &layer,
        request(Method::GET, &[(RANGE, "bytes=0-1"), (IF_RANGE, "\"v1\"")]),
    )
    .await;

    assert_eq!(answer.calls, 1);
    assert!(
        !answer.seen().headers.contains_key(RANGE),
        "Range with an unchecked If-Range"
    );
}

#[tokio::test]
async fn unknown_validators_let_a_put_without_preconditions_through_without_checked() {
    let layer = ConditionalLayer::new(unknown());
    let answer = send(&layer, request(Method::PUT, &[])).await;

    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.calls, 1);
    assert_eq!(answer.seen().checked, None, "nothing was checked");
}

/// A precondition that cannot be verified before the write is not known to be true: 412, a
/// permanent answer, never a "retry later" 503.
#[tokio::test]
async fn unknown_validators_fail_a_conditional_write_with_412() {
    let layer = ConditionalLayer::new(unknown());
    for (field, value, condition) in [
        (IF_MATCH, CURRENT, "If-Match"),
        (IF_MATCH, "*", "If-Match"),
        (IF_NONE_MATCH, "*", "If-None-Match"),
        (IF_UNMODIFIED_SINCE, MODIFIED, "If-Unmodified-Since"),
        // A valid HTTP-date before 1970 is a date all the same.
        (
            IF_UNMODIFIED_SINCE,
            "Wed, 31 Dec 1969 23:59:59 GMT",
            "If-Unmodified-Since",
        ),
    ] {
        let answer = send(&layer, request(Method::PUT, &[(field.clone(), value)])).await;
        assert_eq!(answer.status, StatusCode::PRECONDITION_FAILED, "{field}");
        assert_eq!(answer.calls, 0, "{field}");
        assert_eq!(answer.json()["condition"], condition);
        assert!(!answer.headers.contains_key(RETRY_AFTER));
    }
}

#[tokio::test]
async fn unknown_validators_still_refuse_a_malformed_if_match_with_400() {
    let layer = ConditionalLayer::new(unknown());
    let answer = send(&layer, request(Method::PUT, &[(IF_MATCH, "v2")])).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(answer.calls, 0);
}

/// An invalid date is ignored (RFC 9110 §13.1.4): the write is unconditional, and goes through.
#[tokio::test]
async fn unknown_validators_let_a_write_with_an_invalid_date_through() {
    let layer = ConditionalLayer::new(unknown());
    let answer = send(
        &layer,
        request(Method::PUT, &[(IF_UNMODIFIED_SINCE, "soon")]),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.calls, 1);
}

/// Requiring preconditions on a route whose validators are only known after the handler is a
/// configuration error: a 428 would send the client round a loop (any precondition it added
/// would get 412), so the answer is a 500 that names the problem.
#[tokio::test]
async fn unknown_validators_on_a_required_write_are_a_500_configuration_error() {
    let answer = send(&requiring(unknown()), request(Method::PUT, &[])).await;

    assert_eq!(answer.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(answer.calls, 0);
    assert!(
        answer.json()["detail"]
            .as_str()
            .unwrap()
            .contains("configuration")
    );
}

// ---------------------------------------------------------------------------------------------
// When the source is asked
// ---------------------------------------------------------------------------------------------

/// A source for an existing resource that counts its look-ups.
fn counted(
    lookups: &Arc<AtomicUsize>,
) -> impl Fn(&Parts) -> Ready<Result<Lookup, Infallible>> + Clone {
    let lookups = Arc::clone(lookups);
    move |_: &Parts| {
        lookups.fetch_add(1, Ordering::SeqCst);
        ready(Ok(Lookup::Present(validators())))
    }
}

/// How many look-ups one request costs through `layer`.
async fn lookups_for<V: ValidatorSource + Clone>(
    layer: impl Fn() -> ConditionalLayer<V>,
    lookups: &Arc<AtomicUsize>,
    request: Request<String>,
) -> usize {
    lookups.store(0, Ordering::SeqCst);
    send(&layer(), request).await;
    lookups.load(Ordering::SeqCst)
}

#[tokio::test]
async fn requests_that_cannot_use_the_answer_cost_no_look_up() {
    let lookups = Arc::new(AtomicUsize::new(0));
    let layer = || ConditionalLayer::new(counted(&lookups));
    for method in [
        Method::GET,
        Method::HEAD,
        Method::OPTIONS,
        Method::TRACE,
        Method::POST,
        Method::PUT,
        Method::DELETE,
        Method::PATCH,
    ] {
        let n = lookups_for(layer, &lookups, request(method.clone(), &[])).await;
        assert_eq!(n, 0, "unconditional {method}");
    }
    // Fields whose evaluation §13 skips for these requests do not count either.
    for (method, field, value) in [
        (Method::OPTIONS, IF_MATCH, CURRENT),
        (Method::TRACE, IF_NONE_MATCH, CURRENT),
        (Method::PUT, IF_MODIFIED_SINCE, MODIFIED),
        (Method::GET, IF_RANGE, CURRENT), // no Range: If-Range is ignored
    ] {
        let one = request(method.clone(), &[(field.clone(), value)]);
        let n = lookups_for(layer, &lookups, one).await;
        assert_eq!(n, 0, "{method} with only {field}");
    }
}

#[tokio::test]
async fn each_conditional_request_costs_one_look_up() {
    let lookups = Arc::new(AtomicUsize::new(0));
    let layer = || ConditionalLayer::new(counted(&lookups));
    for (method, headers) in [
        (Method::GET, vec![(IF_NONE_MATCH, CURRENT)]),
        (Method::HEAD, vec![(IF_MODIFIED_SINCE, MODIFIED)]),
        (Method::GET, vec![(IF_MATCH, CURRENT)]),
        (Method::GET, vec![(IF_UNMODIFIED_SINCE, MODIFIED)]),
        (Method::GET, vec![(RANGE, "bytes=0-1"), (IF_RANGE, CURRENT)]),
        (Method::PUT, vec![(IF_MATCH, CURRENT)]),
        (Method::POST, vec![(IF_NONE_MATCH, "*")]),
        (Method::DELETE, vec![(IF_UNMODIFIED_SINCE, MODIFIED)]),
    ] {
        let n = lookups_for(layer, &lookups, request(method.clone(), &headers)).await;
        assert_eq!(n, 1, "{method} {headers:?}");
    }
}

#[tokio::test]
async fn a_write_under_428_policy_costs_one_look_up_and_others_none() {
    let lookups = Arc::new(AtomicUsize::new(0));
    let layer = || ConditionalLayer::new(counted(&lookups)).require_preconditions([Method::PUT]);
    assert_eq!(
        lookups_for(layer, &lookups, request(Method::PUT, &[])).await,
        1
    );
    assert_eq!(
        lookups_for(layer, &lookups, request(Method::POST, &[])).await,
        0
    );
}

#[tokio::test]
async fn filling_response_validators_costs_a_look_up_per_read() {
    let lookups = Arc::new(AtomicUsize::new(0));
    let layer = || ConditionalLayer::new(counted(&lookups)).fill_response_validators(true);
    for method in [Method::GET, Method::HEAD] {
        let n = lookups_for(layer, &lookups, request(method.clone(), &[])).await;
        assert_eq!(n, 1, "{method}");
    }
    assert_eq!(
        lookups_for(layer, &lookups, request(Method::POST, &[])).await,
        0
    );
}

#[tokio::test]
async fn a_request_that_needs_no_look_up_reaches_the_handler_untouched() {
    let lookups = Arc::new(AtomicUsize::new(0));
    let layer = ConditionalLayer::new(counted(&lookups));
    let answer = send(&layer, request(Method::PUT, &[(IF_RANGE, CURRENT)])).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.seen().headers[IF_RANGE], CURRENT);
    assert_eq!(answer.seen().checked, None, "nothing was checked");
    assert_eq!(lookups.load(Ordering::SeqCst), 0);
}

// ---------------------------------------------------------------------------------------------
// If-Range
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn false_if_range_removes_range_and_if_range_before_the_inner_service() {
    let calls = Arc::new(AtomicUsize::new(0));
    let inner = service_fn({
        let calls = Arc::clone(&calls);
        move |request: Request<String>| {
            calls.fetch_add(1, Ordering::SeqCst);
            assert!(
                !request.headers().contains_key(RANGE),
                "Range reached the handler"
            );
            assert!(
                !request.headers().contains_key(IF_RANGE),
                "If-Range reached the handler"
            );
            ready(Ok::<_, Infallible>(Response::new(String::from("whole"))))
        }
    });
    let service = ConditionalLayer::new(present()).layer(inner);
    let stale = request(Method::GET, &[(RANGE, "bytes=0-1"), (IF_RANGE, "\"v1\"")]);
    let response = service.oneshot(stale).await.unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn weak_if_range_is_false_and_removes_range() {
    let layer = ConditionalLayer::new(present());
    let weak = request(Method::GET, &[(RANGE, "bytes=0-1"), (IF_RANGE, "W/\"v2\"")]);
    let answer = send(&layer, weak).await;

    assert_eq!(answer.calls, 1);
    assert!(!answer.seen().headers.contains_key(RANGE));
    assert!(!answer.seen().headers.contains_key(IF_RANGE));
}

#[tokio::test]
async fn true_if_range_keeps_range_and_removes_the_evaluated_if_range() {
    let layer = ConditionalLayer::new(present());
    let current = request(Method::GET, &[(RANGE, "bytes=0-1"), (IF_RANGE, CURRENT)]);
    let answer = send(&layer, current).await;

    assert_eq!(answer.calls, 1);
    assert_eq!(answer.seen().headers[RANGE], "bytes=0-1");
    // The layer has evaluated If-Range: the handler serves the Range it sees, no second check.
    assert!(!answer.seen().headers.contains_key(IF_RANGE));
}

// ---------------------------------------------------------------------------------------------
// fill_response_validators
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn validators_are_not_filled_in_by_default() {
    let answer = send(&ConditionalLayer::new(present()), request(Method::GET, &[])).await;

    assert_eq!(answer.status, StatusCode::OK);
    assert!(!answer.headers.contains_key(ETAG));
    assert!(!answer.headers.contains_key(LAST_MODIFIED));
}

#[tokio::test]
async fn fill_response_validators_adds_etag_and_last_modified_to_a_successful_get_and_head() {
    let layer = ConditionalLayer::new(present()).fill_response_validators(true);
    for method in [Method::GET, Method::HEAD] {
        let answer = send(&layer, request(method.clone(), &[])).await;
        assert_eq!(answer.status, StatusCode::OK, "{method}");
        assert_eq!(answer.header(ETAG), CURRENT, "{method}");
        assert_eq!(answer.header(LAST_MODIFIED), MODIFIED, "{method}");
    }
}

#[tokio::test]
async fn fill_response_validators_keeps_the_handlers_own_etag() {
    let layer = ConditionalLayer::new(present()).fill_response_validators(true);
    let own_etag = |_: Request<String>| async {
        Response::builder()
            .header(ETAG, "\"handler\"")
            .body(String::from("hello"))
            .unwrap()
    };
    let answer = send_to(&layer, own_etag, request(Method::GET, &[])).await;

    assert_eq!(answer.header(ETAG), "\"handler\"");
    assert_eq!(answer.headers.get_all(ETAG).iter().count(), 1);
    assert_eq!(
        answer.header(LAST_MODIFIED),
        MODIFIED,
        "the missing one is still filled"
    );
}

#[tokio::test]
async fn fill_response_validators_leaves_non_2xx_responses_alone() {
    let layer = ConditionalLayer::new(present()).fill_response_validators(true);
    let not_found = |_: Request<String>| async {
        Response::builder()
            .status(StatusCode::NOT_FOUND)
            .body(String::from("gone"))
            .unwrap()
    };
    let answer = send_to(&layer, not_found, request(Method::GET, &[])).await;

    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert!(!answer.headers.contains_key(ETAG));
    assert!(!answer.headers.contains_key(LAST_MODIFIED));
}

#[tokio::test]
async fn fill_response_validators_leaves_responses_to_writes_alone() {
    let layer = ConditionalLayer::new(present()).fill_response_validators(true);
    let answer = send(&layer, request(Method::PUT, &[(IF_MATCH, CURRENT)])).await;

    assert_eq!(answer.status, StatusCode::OK);
    assert!(
        !answer.headers.contains_key(ETAG),
        "the write changed the representation"
    );
    assert!(!answer.headers.contains_key(LAST_MODIFIED));
}

/// One source of truth: the 200 carries exactly the metadata the 304 for it carries (RFC 9110
/// §15.4.5), so the two cannot drift apart. The handler's own values win; `Vary` is merged.
#[tokio::test]
async fn fill_response_validators_gives_the_200_the_metadata_of_the_304() {
    let layer = ConditionalLayer::new(present()).fill_response_validators(true);
    let ok = send(&layer, request(Method::GET, &[])).await;
    let not_modified = send(&layer, request(Method::GET, &[(IF_NONE_MATCH, CURRENT)])).await;
    assert_eq!(not_modified.status, StatusCode::NOT_MODIFIED);
    for name in [ETAG, CACHE_CONTROL, VARY, EXPIRES, CONTENT_LOCATION] {
        assert_eq!(
            ok.headers.get(&name),
            not_modified.headers.get(&name),
            "{name}"
        );
    }

    let own = |_: Request<String>| async {
        Response::builder()
            .header(CACHE_CONTROL, "no-store")
            .header(VARY, "Origin")
            .body(String::from("hello"))
            .unwrap()
    };
    let answer = send_to(&layer, own, request(Method::GET, &[])).await;
    assert_eq!(
        answer.header(CACHE_CONTROL),
        "no-store",
        "the handler's value wins"
    );
    let vary: Vec<_> = answer.headers.get_all(VARY).iter().collect();
    assert_eq!(vary, ["Origin", "Accept-Encoding"], "Vary is merged");
}

// ---------------------------------------------------------------------------------------------
// Encoding-aware tags: opt-in, and never a write on a tag the server did not issue
// ---------------------------------------------------------------------------------------------

fn tagged(tag: &'static str) -> impl Fn(&Parts) -> Ready<Result<Lookup, Infallible>> + Clone {
    answering(Lookup::Present(
        Validators::new().with_etag(ETag::from_static(tag)),
    ))
}

fn aware(tag: &'static str) -> ConditionalLayer<impl ValidatorSource + Clone> {
    ConditionalLayer::new(tagged(tag)).encoding_aware_etags(true)
}

#[tokio::test]
async fn coding_suffixes_mean_nothing_by_default() {
    let layer = ConditionalLayer::new(tagged("\"doc-pt\""));
    let revalidate = request(
        Method::GET,
        &[(IF_NONE_MATCH, "\"doc-pt-br\""), (ACCEPT_ENCODING, "br")],
    );
    assert_eq!(send(&layer, revalidate).await.status, StatusCode::OK);
    let write = request(Method::PUT, &[(IF_MATCH, "\"doc-pt-br\"")]);
    let answer = send(&layer, write).await;
    assert_eq!(answer.status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(answer.calls, 0);
}

#[tokio::test]
async fn doc_pt_and_doc_pt_br_in_every_direction() {
    // Current "doc-pt": "doc-pt-br" is the tag issued for its br form.
    let layer = aware("\"doc-pt\"");
    let held_br = |accept| {
        request(
            Method::GET,
            &[(IF_NONE_MATCH, "\"doc-pt-br\""), (ACCEPT_ENCODING, accept)],
        )
    };
    let fresh = send(&layer, held_br("gzip, br")).await;
    assert_eq!(fresh.status, StatusCode::NOT_MODIFIED);
    assert_eq!(
        fresh.header(ETAG),
        "\"doc-pt-br\"",
        "the form the client holds"
    );
    assert_eq!(fresh.header(VARY), "Accept-Encoding");
    // The request would not be served br: the cached br bytes are not what it would get.
    assert_eq!(send(&layer, held_br("gzip")).await.status, StatusCode::OK);
    let write = send(&layer, request(Method::PUT, &[(IF_MATCH, "\"doc-pt-br\"")])).await;
    assert_eq!(
        write.status,
        StatusCode::OK,
        "a tag issued for the current version"
    );

    // Current "doc-pt-br": its own tags are "doc-pt-br-identity", "doc-pt-br-br", ...
    let layer = aware("\"doc-pt-br\"");
    for (member, status) in [
        ("\"doc-pt\"", StatusCode::PRECONDITION_FAILED),
        ("\"doc-pt-br\"", StatusCode::PRECONDITION_FAILED), // would be the br form of "doc-pt"
        ("\"doc-pt-br-identity\"", StatusCode::OK),
        ("\"doc-pt-br-br\"", StatusCode::OK),
    ] {
        let answer = send(&layer, request(Method::PUT, &[(IF_MATCH, member)])).await;
        assert_eq!(answer.status, status, "If-Match: {member}");
        if status == StatusCode::PRECONDITION_FAILED {
            assert_eq!(answer.calls, 0);
            assert_eq!(
                answer.header(ETAG),
                "\"doc-pt-br-identity\"",
                "the tag it issues"
            );
        }
    }
    for (member, status) in [
        ("\"doc-pt\"", StatusCode::OK),
        ("\"doc-pt-br\"", StatusCode::OK),
        ("\"doc-pt-br-identity\"", StatusCode::NOT_MODIFIED),
        ("\"doc-pt-br-br\"", StatusCode::NOT_MODIFIED),
    ] {
        let revalidate = request(
            Method::GET,
            &[(IF_NONE_MATCH, member), (ACCEPT_ENCODING, "br")],
        );
        assert_eq!(
            send(&layer, revalidate).await.status,
            status,
            "If-None-Match: {member}"
        );
    }
    // Its identity 200 leaves with the tag that cannot be mistaken for "doc-pt"'s br form.
    let filled = aware("\"doc-pt-br\"").fill_response_validators(true);
    let ok = send(&filled, request(Method::GET, &[])).await;
    assert_eq!(ok.header(ETAG), "\"doc-pt-br-identity\"");
}

#[tokio::test]
async fn every_tag_the_layer_sends_is_an_issued_form() {
    // A 304 that no If-None-Match member decided (If-Modified-Since here) names the identity
    // form, never the raw "doc-pt-br" (which would mean the br form of "doc-pt").
    let layer = ConditionalLayer::new(answering(Lookup::Present(
        Validators::new()
            .with_etag(ETag::from_static("\"doc-pt-br\""))
            .with_last_modified(modified()),
    )))
    .encoding_aware_etags(true);
    let since = send(
        &layer,
        request(Method::GET, &[(IF_MODIFIED_SINCE, MODIFIED)]),
    )
    .await;
    assert_eq!(since.status, StatusCode::NOT_MODIFIED);
    assert_eq!(since.header(ETAG), "\"doc-pt-br-identity\"");

    // A handler's own 412 (a lost compare-and-set) is finished like the layer's.
    let own_412 = |_: Request<String>| async {
        Response::builder()
            .status(StatusCode::PRECONDITION_FAILED)
            .header(ETAG, "\"doc-pt-br\"")
            .header(LAST_MODIFIED, MODIFIED)
            .body(String::new())
            .unwrap()
    };
    let write = || request(Method::PUT, &[(IF_MATCH, "\"doc-pt-br-identity\"")]);
    let answer = send_to(&layer, own_412, write()).await;
    assert_eq!(answer.status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(answer.header(ETAG), "\"doc-pt-br-identity\"");
    let hidden = layer.clone().validators_in_412(false);
    let answer = send_to(&hidden, own_412, write()).await;
    assert!(!answer.headers.contains_key(ETAG), "{:?}", answer.headers);
    assert!(!answer.headers.contains_key(LAST_MODIFIED));
}

#[tokio::test]
async fn if_range_names_the_identity_form_with_encoding_aware_tags() {
    let layer = aware("\"doc-br\"");
    let resume = |tag| {
        request(
            Method::GET,
            &[
                (RANGE, "bytes=0-1"),
                (IF_RANGE, tag),
                (ACCEPT_ENCODING, "br"),
            ],
        )
    };
    let honoured = send(&layer, resume("\"doc-br-identity\"")).await;
    assert_eq!(honoured.seen().headers[RANGE], "bytes=0-1");
    // "doc-br" is the br form of "doc": a range of other bytes, never honoured.
    let refused = send(&layer, resume("\"doc-br\"")).await;
    assert!(!refused.seen().headers.contains_key(RANGE));
}

#[tokio::test]
async fn if_none_match_on_a_write_counts_every_issued_form() {
    let layer = aware("\"v7\"");
    for accept in ["", "gzip"] {
        let create_over = request(
            Method::PUT,
            &[(IF_NONE_MATCH, "\"v7-gzip\""), (ACCEPT_ENCODING, accept)],
        );
        let answer = send(&layer, create_over).await;
        assert_eq!(answer.status, StatusCode::PRECONDITION_FAILED, "{accept:?}");
        assert_eq!(answer.calls, 0);
    }
}

#[tokio::test]
async fn a_tag_the_layer_never_issued_never_passes_if_match() {
    let answer = send(
        &aware("\"v7\""),
        request(Method::PUT, &[(IF_MATCH, "\"v7-identity\"")]),
    )
    .await;
    assert_eq!(answer.status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(answer.calls, 0);
}

#[tokio::test]
async fn a_drained_head_304_reports_no_size() {
    let layer = ConditionalLayer::new(present());
    let inner =
        service_fn(|_: Request<String>| ready(Ok::<_, Infallible>(Response::new(String::new()))));
    let head = Request::head("/items/1")
        .header(IF_NONE_MATCH, CURRENT)
        .body(String::from("a body on a HEAD"))
        .unwrap();
    let response = layer.layer(inner).oneshot(head).await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(http_body::Body::size_hint(response.body()).exact(), None);
}

// ---------------------------------------------------------------------------------------------
// 412 answers and early-answer bounds
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn validators_can_be_left_off_412_answers() {
    let layer = ConditionalLayer::new(present()).validators_in_412(false);
    let answer = send(&layer, request(Method::PUT, &[(IF_MATCH, "\"v1\"")])).await;
    assert_eq!(answer.status, StatusCode::PRECONDITION_FAILED);
    assert!(!answer.headers.contains_key(ETAG));
    assert!(!answer.headers.contains_key(LAST_MODIFIED));
    assert_eq!(answer.json()["status"], 412);
}

/// A request body that counts what was read of it, of unknown size (chunked).
struct Upload {
    chunks: usize,
    read: Arc<AtomicUsize>,
}

impl http_body::Body for Upload {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Infallible>>> {
        if self.chunks == 0 {
            return std::task::Poll::Ready(None);
        }
        self.chunks -= 1;
        self.read.fetch_add(1024, Ordering::SeqCst);
        std::task::Poll::Ready(Some(Ok(http_body::Frame::data(Bytes::from(vec![0; 1024])))))
    }
}

async fn stale_upload(
    layer: ConditionalLayer<impl ValidatorSource + Clone>,
    kib: usize,
) -> (Answer, usize) {
    let read = Arc::new(AtomicUsize::new(0));
    let body = Upload {
        chunks: kib,
        read: Arc::clone(&read),
    };
    let request = Request::put("/items/1")
        .header(IF_MATCH, "\"v1\"")
        .body(body)
        .unwrap();
    let inner =
        service_fn(|_: Request<Upload>| ready(Ok::<_, Infallible>(Response::new(String::new()))));
    let response = layer.layer(inner).oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    let answer = Answer {
        status: parts.status,
        headers: parts.headers,
        body: body.collect().await.unwrap().to_bytes(),
        calls: 0,
        seen: None,
    };
    (answer, read.load(Ordering::SeqCst))
}

#[tokio::test]
async fn an_early_answer_reads_the_whole_body_within_the_limit() {
    let layer = ConditionalLayer::new(present()).drain(DrainConfig::default().limit(64 * 1024));
    let (answer, read) = stale_upload(layer, 64).await;
    assert_eq!(answer.status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(read, 64 * 1024, "drained to the end");
    assert!(!answer.headers.contains_key(http::header::CONNECTION));
}

#[tokio::test]
async fn past_the_drain_limit_the_answer_says_connection_close() {
    let layer = ConditionalLayer::new(present()).drain(DrainConfig::default().limit(16 * 1024));
    let (answer, read) = stale_upload(layer, 64).await;
    assert_eq!(answer.status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(answer.header(http::header::CONNECTION), "close");
    assert!(read <= 17 * 1024, "stopped reading past the limit: {read}");
}

#[tokio::test]
async fn past_the_drain_deadline_the_answer_says_connection_close() {
    let layer =
        ConditionalLayer::new(present()).drain(DrainConfig::default().timeout(Duration::ZERO));
    let (answer, read) = stale_upload(layer, 64).await;
    assert_eq!(answer.header(http::header::CONNECTION), "close");
    assert_eq!(read, 1024, "one chunk, then the deadline had passed");
}

// ---------------------------------------------------------------------------------------------
// The Checked extension
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn checked_reaches_the_inner_service_for_a_put_with_a_matching_if_match() {
    let layer = ConditionalLayer::new(present());
    let answer = send(
        &layer,
        request(Method::PUT, &[(IF_MATCH, "\"v1\", \"v2\"")]),
    )
    .await;

    let checked = answer.seen().checked.as_ref().expect("Checked for a PUT");
    assert_eq!(checked.state(), &ResourceState::Present(validators()));
    assert_eq!(checked.passed(), Some(Condition::IfMatch));
    assert_eq!(checked.matched_etag(), Some(&ETag::from_static(CURRENT)));
    assert_eq!(checked.state().etag(), Some(&ETag::from_static(CURRENT)));
    assert_eq!(checked.state().last_modified(), Some(modified()));
}

#[tokio::test]
async fn checked_for_if_match_star_has_no_matched_etag() {
    let layer = ConditionalLayer::new(present());
    let answer = send(&layer, request(Method::PUT, &[(IF_MATCH, "*")])).await;

    let checked = answer.seen().checked.as_ref().expect("Checked for a PUT");
    assert_eq!(checked.passed(), Some(Condition::IfMatch));
    assert_eq!(checked.matched_etag(), None);
    assert_eq!(checked.state().etag(), Some(&ETag::from_static(CURRENT)));
}

#[tokio::test]
async fn checked_for_an_unconditional_create_records_the_missing_state() {
    let layer = requiring(missing());
    let answer = send(&layer, request(Method::PUT, &[])).await;

    let checked = answer.seen().checked.as_ref().expect("Checked for a PUT");
    assert_eq!(checked.state(), &ResourceState::Missing);
    assert_eq!(checked.passed(), None);
    assert_eq!(checked.matched_etag(), None);
}

#[tokio::test]
async fn checked_for_if_unmodified_since_names_it() {
    let layer = ConditionalLayer::new(present());
    let answer = send(
        &layer,
        request(Method::DELETE, &[(IF_UNMODIFIED_SINCE, MODIFIED)]),
    )
    .await;

    let checked = answer
        .seen()
        .checked
        .as_ref()
        .expect("Checked for a DELETE");
    assert_eq!(checked.passed(), Some(Condition::IfUnmodifiedSince));
    assert_eq!(checked.matched_etag(), None);
}

#[tokio::test]
async fn checked_is_absent_on_get_and_head() {
    let layer = ConditionalLayer::new(present());
    for method in [Method::GET, Method::HEAD] {
        let answer = send(
            &layer,
            request(method.clone(), &[(IF_NONE_MATCH, "\"v1\"")]),
        )
        .await;
        assert_eq!(answer.seen().checked, None, "{method}");
    }
}

// ---------------------------------------------------------------------------------------------
// The inner service's own answers
// ---------------------------------------------------------------------------------------------

#[derive(Debug, PartialEq)]
struct InnerError(&'static str);

#[tokio::test]
async fn inner_service_errors_pass_through_untouched() {
    let inner =
        service_fn(|_: Request<String>| ready(Err::<Response<String>, _>(InnerError("disk full"))));
    let service = ConditionalLayer::new(present()).layer(inner);
    let error = service
        .oneshot(request(Method::PUT, &[(IF_MATCH, CURRENT)]))
        .await
        .unwrap_err();

    assert_eq!(error, InnerError("disk full"));
}

#[tokio::test]
async fn inner_non_2xx_responses_pass_through_untouched() {
    let layer = ConditionalLayer::new(present()).fill_response_validators(true);
    let conflict = |_: Request<String>| async {
        Response::builder()
            .status(StatusCode::CONFLICT)
            .header(CONTENT_TYPE, "text/plain")
            .header("x-handler", "yes")
            .body(String::from("version conflict"))
            .unwrap()
    };
    let answer = send_to(
        &layer,
        conflict,
        request(Method::GET, &[(IF_NONE_MATCH, "\"v1\"")]),
    )
    .await;

    assert_eq!(answer.status, StatusCode::CONFLICT);
    assert_eq!(answer.calls, 1);
    assert_eq!(answer.body, "version conflict");
    assert_eq!(answer.header(CONTENT_TYPE), "text/plain");
    assert_eq!(answer.header(HeaderName::from_static("x-handler")), "yes");
    assert_eq!(answer.headers.len(), 2);
}

// ---------------------------------------------------------------------------------------------
// Async behaviour and composition
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_source_that_is_pending_for_a_while_is_awaited() {
    let slow = |_: &Parts| async {
        tokio::time::sleep(Duration::from_millis(30)).await;
        Ok::<_, Infallible>(Lookup::Present(validators()))
    };
    let layer = ConditionalLayer::new(slow);
    let hit = send(&layer, request(Method::GET, &[(IF_NONE_MATCH, CURRENT)])).await;
    let miss = send(&layer, request(Method::GET, &[(IF_NONE_MATCH, "\"v1\"")])).await;

    assert_eq!((hit.status, hit.calls), (StatusCode::NOT_MODIFIED, 0));
    assert_eq!((miss.status, miss.calls), (StatusCode::OK, 1));
}

/// The layer puts no deadline on the source. To bound a slow database, put
/// `tower::timeout::TimeoutLayer` *outside* `ConditionalLayer`: the deadline then covers the
/// look-up and the handler, and expiry is an error (`tower::timeout::error::Elapsed`, boxed),
/// which axum users turn into a response with `HandleErrorLayer` (or use
/// `tower_http::timeout::TimeoutLayer`, which answers 408 instead).
#[tokio::test]
async fn timeout_layer_outside_the_layer_bounds_a_source_that_never_answers() {
    let never = |_: &Parts| pending::<Result<Lookup, Infallible>>();
    let calls = Arc::new(AtomicUsize::new(0));
    let service = ServiceBuilder::new()
        .timeout(Duration::from_millis(50))
        .layer(ConditionalLayer::new(never))
        .service(service_fn({
            let calls = Arc::clone(&calls);
            move |_: Request<String>| {
                calls.fetch_add(1, Ordering::SeqCst);
                ready(Ok::<_, Infallible>(Response::new(String::new())))
            }
        }));
    let error = service
        .oneshot(request(Method::GET, &[(IF_NONE_MATCH, CURRENT)]))
        .await
        .unwrap_err();

    assert!(error.is::<tower::timeout::error::Elapsed>(), "{error}");
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

/// `ConditionalLayer` outside tower-http's `CompressionLayer`: the strong tag of the gzip body
/// names its coding (with encoding-aware tags on), and either form revalidates.
#[tokio::test]
async fn outside_compression_the_etag_names_the_coding_and_both_forms_revalidate() {
    use http::header::{ACCEPT_ENCODING, CONTENT_ENCODING};
    use tower_http::compression::CompressionLayer;

    let service = ServiceBuilder::new()
        .layer(
            ConditionalLayer::new(present())
                .fill_response_validators(true)
                .encoding_aware_etags(true),
        )
        .layer(CompressionLayer::new())
        .service(service_fn(|_: Request<String>| async {
            let text = "hello, compressible world. ".repeat(8);
            Ok::<_, Infallible>(
                Response::builder()
                    .header(CONTENT_TYPE, "text/plain")
                    .body(text)
                    .unwrap(),
            )
        }));

    let compressed = service
        .clone()
        .oneshot(request(Method::GET, &[(ACCEPT_ENCODING, "gzip")]))
        .await
        .unwrap();
    assert_eq!(compressed.headers()[CONTENT_ENCODING], "gzip");
    assert_eq!(compressed.headers()[ETAG], "\"v2-gzip\"");

    let identity = service
        .clone()
        .oneshot(request(Method::GET, &[]))
        .await
        .unwrap();
    assert!(!identity.headers().contains_key(CONTENT_ENCODING));
    assert_eq!(identity.headers()[ETAG], CURRENT);

    for held in ["\"v2-gzip\"", CURRENT] {
        let fresh = service
            .clone()
            .oneshot(request(
                Method::GET,
                &[(ACCEPT_ENCODING, "gzip"), (IF_NONE_MATCH, held)],
            ))
            .await
            .unwrap();
        assert_eq!(
            fresh.status(),
            StatusCode::NOT_MODIFIED,
            "If-None-Match: {held}"
        );
        assert_eq!(
            fresh.headers()[ETAG],
            held,
            "the 304 names the form the client holds"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// axum
// ---------------------------------------------------------------------------------------------

mod with_axum {
    use axum::Router;
    use axum::body::Body;
    use axum::routing::get;

    use super::*;

    fn counting_source(
        lookups: &Arc<AtomicUsize>,
    ) -> impl Fn(&Parts) -> Ready<Result<Lookup, Infallible>> + Clone + Send + Sync + 'static {
        let lookups = Arc::clone(lookups);
        move |_: &Parts| {
            lookups.fetch_add(1, Ordering::SeqCst);
            ready(Ok(Lookup::Present(validators())))
        }
    }

    fn routes() -> Router {
        Router::new().route(
            "/items/{id}",
            get(|| async { "hello" }).put(|| async { "stored" }),
        )
    }

    fn axum_request(method: Method, uri: &str, headers: &[(HeaderName, &str)]) -> Request<Body> {
        let mut builder = Request::builder().method(method).uri(uri);
        for (name, value) in headers {
            builder = builder.header(name, *value);
        }
        builder.body(Body::empty()).unwrap()
    }

    #[tokio::test]
    async fn router_layer_answers_304_412_and_passes_through() {
        let lookups = Arc::new(AtomicUsize::new(0));
        let app = routes().layer(ConditionalLayer::new(counting_source(&lookups)));

        let fresh = app
            .clone()
            .oneshot(axum_request(
                Method::GET,
                "/items/1",
                &[(IF_NONE_MATCH, CURRENT)],
            ))
            .await
            .unwrap();
        assert_eq!(fresh.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(fresh.headers()[ETAG], CURRENT);

        let stale = app
            .clone()
            .oneshot(axum_request(
                Method::PUT,
                "/items/1",
                &[(IF_MATCH, "\"v1\"")],
            ))
            .await
            .unwrap();
        assert_eq!(stale.status(), StatusCode::PRECONDITION_FAILED);

        let full = app
            .oneshot(axum_request(Method::GET, "/items/1", &[]))
            .await
            .unwrap();
        assert_eq!(full.status(), StatusCode::OK);
        assert_eq!(
            full.into_body().collect().await.unwrap().to_bytes(),
            "hello"
        );
        assert_eq!(
            lookups.load(Ordering::SeqCst),
            2,
            "the plain GET needed no look-up"
        );
    }

    #[tokio::test]
    async fn router_route_layer_answers_304_and_leaves_unmatched_routes_alone() {
        let lookups = Arc::new(AtomicUsize::new(0));
        let app = routes().route_layer(
            ConditionalLayer::new(counting_source(&lookups)).require_preconditions([Method::PUT]),
        );

        let fresh = app
            .clone()
            .oneshot(axum_request(
                Method::GET,
                "/items/1",
                &[(IF_NONE_MATCH, CURRENT)],
            ))
            .await
            .unwrap();
        assert_eq!(fresh.status(), StatusCode::NOT_MODIFIED);

        let blind = app
            .clone()
            .oneshot(axum_request(Method::PUT, "/items/1", &[]))
            .await
            .unwrap();
        assert_eq!(blind.status(), StatusCode::PRECONDITION_REQUIRED);

        let written = app
            .clone()
            .oneshot(axum_request(
                Method::PUT,
                "/items/1",
                &[(IF_MATCH, CURRENT)],
            ))
            .await
            .unwrap();
        assert_eq!(written.status(), StatusCode::OK);
        assert_eq!(
            written.into_body().collect().await.unwrap().to_bytes(),
            "stored"
        );
        assert_eq!(lookups.load(Ordering::SeqCst), 3);

        // route_layer runs after routing: a 404 stays a 404 and the source is not asked.
        let unrouted = app
            .oneshot(axum_request(
                Method::PUT,
                "/elsewhere",
                &[(IF_MATCH, "\"v1\"")],
            ))
            .await
            .unwrap();
        assert_eq!(unrouted.status(), StatusCode::NOT_FOUND);
        assert_eq!(lookups.load(Ordering::SeqCst), 3);
    }
}

// ---------------------------------------------------------------------------------------------
// hyper
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn conditional_serves_over_hyper_through_tower_to_hyper_service() {
    use http_body_util::{Empty, Full};
    use hyper::body::Incoming;
    use hyper_util::rt::TokioIo;
    use hyper_util::service::TowerToHyperService;
    use tokio::net::{TcpListener, TcpStream};

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let inner = service_fn(|_: Request<Incoming>| async {
        Ok::<_, Infallible>(
            Response::builder()
                .header(ETAG, CURRENT)
                .body(Full::new(Bytes::from_static(b"hello")))
                .unwrap(),
        )
    });
    let service: Conditional<_, _> = ConditionalLayer::new(present()).layer(inner);
    let server = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        hyper::server::conn::http1::Builder::new()
            .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service))
            .await
            .unwrap();
    });

    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut client, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    let connection = tokio::spawn(connection);

    let get = |headers: &[(HeaderName, &str)]| {
        let mut builder = Request::get("/items/1").header(http::header::HOST, addr.to_string());
        for (name, value) in headers {
            builder = builder.header(name, *value);
        }
        builder.body(Empty::<Bytes>::new()).unwrap()
    };

    let full = client.send_request(get(&[])).await.unwrap();
    assert_eq!(full.status(), StatusCode::OK);
    assert_eq!(full.headers()[ETAG], CURRENT);
    assert_eq!(
        full.into_body().collect().await.unwrap().to_bytes(),
        "hello"
    );

    client.ready().await.unwrap();
    let fresh = client
        .send_request(get(&[(IF_NONE_MATCH, CURRENT)]))
        .await
        .unwrap();
    assert_eq!(fresh.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(fresh.headers()[ETAG], CURRENT);
    assert!(
        !fresh.headers().contains_key(CONTENT_LENGTH),
        "a 304 must not claim a length of 0"
    );
    assert!(
        fresh
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .is_empty()
    );

    drop(client);
    connection.await.unwrap().unwrap();
    server.await.unwrap();
}

// ---------------------------------------------------------------------------------------------
// Auto traits
// ---------------------------------------------------------------------------------------------

fn assert_send_sync<T: Send + Sync>() {}

type Source = fn(&Parts) -> Ready<Result<Lookup, Infallible>>;
type Handler = ServiceFn<fn(Request<String>) -> Ready<Result<Response<String>, Infallible>>>;

#[test]
fn layer_service_future_body_and_checked_are_send_and_sync() {
    assert_send_sync::<ConditionalLayer<Source>>();
    assert_send_sync::<Conditional<Handler, Source>>();
    assert_send_sync::<ResponseFuture<Handler, Source, String, String>>();
    assert_send_sync::<ConditionalBody<String>>();
    assert_send_sync::<Checked>();
}

#[test]
fn the_future_of_a_closure_source_and_async_handler_is_send() {
    fn assert_send<T: Send>(_: &T) {}

    let source = |head: &Parts| {
        let path = head.uri.path().to_owned();
        async move {
            tokio::task::yield_now().await;
            Ok::<_, Infallible>(if path == "/items/1" {
                Lookup::Missing
            } else {
                Lookup::Unknown
            })
        }
    };
    let mut service = ConditionalLayer::new(source).layer(service_fn(|_: Request<String>| async {
        tokio::task::yield_now().await;
        Ok::<_, Infallible>(Response::new(String::new()))
    }));
    let future = tower::Service::call(&mut service, request(Method::GET, &[]));
    assert_send(&future);
    assert_send(&service);
}

// ---------------------------------------------------------------------------------------------
// Edges found in review
// ---------------------------------------------------------------------------------------------

/// A handler that honours `Range` with a 206 and tags its responses `"v2"`.
async fn ranged(request: Request<String>) -> Response<String> {
    let status = if request.headers().contains_key(RANGE) {
        StatusCode::PARTIAL_CONTENT
    } else {
        StatusCode::OK
    };
    Response::builder()
        .status(status)
        .header(ETAG, CURRENT)
        .body(String::from("he"))
        .unwrap()
}

#[tokio::test]
async fn unknown_validators_and_a_conditional_range_request_get_the_full_representation_evaluated()
{
    // §13.2.2 evaluates If-None-Match before Range; a 206 could not become the 304 owed here.
    let layer = ConditionalLayer::new(unknown());
    let conditional = request(
        Method::GET,
        &[(RANGE, "bytes=0-1"), (IF_NONE_MATCH, CURRENT)],
    );
    let answer = send_to(&layer, ranged, conditional).await;
    assert_eq!(answer.status, StatusCode::NOT_MODIFIED);
    assert!(!answer.seen().headers.contains_key(RANGE));

    let stale_if_match = request(Method::GET, &[(RANGE, "bytes=0-1"), (IF_MATCH, "\"v1\"")]);
    let answer = send_to(&layer, ranged, stale_if_match).await;
    assert_eq!(answer.status, StatusCode::PRECONDITION_FAILED);
}

#[tokio::test]
async fn unknown_validators_keep_an_unconditional_range() {
    let layer = ConditionalLayer::new(unknown());
    let answer = send_to(
        &layer,
        ranged,
        request(Method::GET, &[(RANGE, "bytes=0-1")]),
    )
    .await;
    assert_eq!(answer.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(answer.seen().headers[RANGE], "bytes=0-1");
}

#[tokio::test]
async fn methods_whose_preconditions_are_ignored_never_get_428() {
    let layer = ConditionalLayer::new(present()).require_preconditions([
        Method::OPTIONS,
        Method::TRACE,
        Method::PUT,
    ]);
    for method in [Method::OPTIONS, Method::TRACE] {
        let answer = send(&layer, request(method.clone(), &[])).await;
        assert_eq!(answer.status, StatusCode::OK, "{method}");
        assert_eq!(answer.calls, 1, "{method}");
    }
    let answer = send(&layer, request(Method::PUT, &[])).await;
    assert_eq!(answer.status, StatusCode::PRECONDITION_REQUIRED);
}

/// `require_preconditions([GET])` with encoding-aware tags: the 428 was moved before the
/// coding's decision for a request that proceeds (`a_required_precondition_is_enforced_before_the_coding_decides`),
/// but its mirror, a revalidation the look-up says 304 and the response's coding turns into a
/// 200, still reaches the handler and is served its 200 with neither If-Match nor
/// If-Unmodified-Since.
#[tokio::test]
async fn a_required_read_whose_304_the_coding_turns_into_a_200_gets_428() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&calls);
    let source = |_: &Parts| async {
        let current = Validators::new().with_etag(ETag::from_static("\"v1\""));
        Ok::<_, Infallible>(Lookup::Present(current))
    };
    // A compressor inside the layer answered gzip.
    let handler = service_fn(move |_: Request<String>| {
        counted.fetch_add(1, Ordering::SeqCst);
        async {
            let mut response = Response::new(String::from("compressed bytes"));
            response.headers_mut().insert(
                http::header::CONTENT_ENCODING,
                HeaderValue::from_static("gzip"),
            );
            Ok::<_, Infallible>(response)
        }
    });
    let service = ConditionalLayer::new(source)
        .encoding_aware_etags(true)
        .require_preconditions([Method::GET])
        .layer(handler);
    let request = Request::get("/doc")
        .header(IF_NONE_MATCH, "W/\"v1\"")
        .header(ACCEPT_ENCODING, "gzip")
        .body(String::new())
        .unwrap();
    let response = service.oneshot(request).await.unwrap();
    let status = response.status();
    assert!(
        status == StatusCode::NOT_MODIFIED || status == StatusCode::PRECONDITION_REQUIRED,
        "a required GET without If-Match got {status} (ETag {:?}) from the handler ({} call)",
        response.headers().get(ETAG),
        calls.load(Ordering::SeqCst)
    );
}
