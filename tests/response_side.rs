//! The response side of `ConditionalLayer` (issue 6), through the real layer: `service_fn` +
//! `ServiceExt::oneshot`, and an axum `Router` where that is how the feature would be used.
//!
//! - `from_responses()`: GET and HEAD evaluated against the handler's own validators.
//! - Body-hash ETags: a 2xx GET of known, small size without an `ETag` is read, tagged with
//!   `ETag::from_content` of its bytes and handed on intact; everything else streams untouched.
//! - How a source's answer (Present, Missing, Unknown) composes with the response side.
//! - A body error while hashing.
//! - tower-http's `CompressionLayer` in both orders, and `encoding_aware_etags`.
//!
//! "Unbuffered" is proved with a channel-backed body whose second frame is sent only after the
//! test has the response head: a layer that read the body first would never answer.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::fmt;
use std::future::{Future, Ready, ready};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::response::Html;
use axum::routing::get;
use bytes::Bytes;
use http::header::{
    ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_LOCATION,
    CONTENT_RANGE, CONTENT_TYPE, DATE, ETAG, EXPIRES, IF_MATCH, IF_MODIFIED_SINCE, IF_NONE_MATCH,
    IF_RANGE, LAST_MODIFIED, RANGE, VARY,
};
use http::request::Parts;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Response, StatusCode};
use http_body::{Body, Frame, SizeHint};
use http_body_util::{BodyExt, Full};
use tokio::sync::mpsc;
use tokio::time::timeout;
use tower::{Layer, Service, ServiceBuilder, ServiceExt, service_fn};
use tower_conditional::{
    BodyHashConfig, Checked, ConditionalBody, ConditionalLayer, ETag, FromResponse, LastModified,
    Lookup, ValidatorSource, Validators,
};
use tower_http::compression::CompressionLayer;

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// No exchange here should take anywhere near this long; a layer that waits for a body the
/// test holds back runs into it.
const LIMIT: Duration = Duration::from_secs(2);

const MODIFIED: &str = "Tue, 14 Nov 2023 22:13:20 GMT";
const BEFORE_MODIFIED: &str = "Tue, 14 Nov 2023 22:13:19 GMT";
const AFTER_MODIFIED: &str = "Tue, 14 Nov 2023 22:13:21 GMT";

/// A request for `/page` with these header fields.
fn request(method: Method, headers: &[(HeaderName, &str)]) -> Request<String> {
    let mut builder = Request::builder().method(method).uri("/page");
    for (name, value) in headers {
        builder = builder.header(name, *value);
    }
    builder.body(String::new()).unwrap()
}

fn get_request(headers: &[(HeaderName, &str)]) -> Request<String> {
    request(Method::GET, headers)
}

/// A response with this status, these header fields and this body.
fn response<B>(status: StatusCode, headers: &[(HeaderName, &str)], body: B) -> Response<B> {
    let mut builder = Response::builder().status(status);
    for (name, value) in headers {
        builder = builder.header(name, *value);
    }
    builder.body(body).unwrap()
}

/// A whole body of known size (`Full` reports its exact size).
fn full(bytes: &'static [u8]) -> Full<Bytes> {
    Full::new(Bytes::from_static(bytes))
}

/// A source that always gives `lookup`.
fn answering(lookup: Lookup) -> impl Fn(&Parts) -> Ready<Result<Lookup, Infallible>> + Clone {
    move |_: &Parts| ready(Ok(lookup.clone()))
}

/// A body of prepared frames (data, trailers, an error), reporting the size hint it is given.
struct Frames {
    frames: VecDeque<Result<Frame<Bytes>, BoxError>>,
    hint: SizeHint,
}

#[derive(Debug)]
struct Broken;

impl fmt::Display for Broken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the upstream connection broke")
    }
}

impl std::error::Error for Broken {}

impl Frames {
    /// These data frames, with their exact total size as the hint.
    fn data(chunks: &[&'static [u8]]) -> Self {
        let size = chunks.iter().map(|c| c.len() as u64).sum();
        Frames {
            frames: chunks
                .iter()
                .map(|c| Ok(Frame::data(Bytes::from_static(c))))
                .collect(),
            hint: SizeHint::with_exact(size),
        }
    }

    fn then_trailers(mut self, trailers: HeaderMap) -> Self {
        self.frames.push_back(Ok(Frame::trailers(trailers)));
        self
    }

    fn then_error(mut self) -> Self {
        self.frames.push_back(Err(Box::new(Broken)));
        self
    }

    fn with_hint(mut self, hint: SizeHint) -> Self {
        self.hint = hint;
        self
    }
}

impl Body for Frames {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        Poll::Ready(self.frames.pop_front())
    }

    fn size_hint(&self) -> SizeHint {
        self.hint
    }
}

/// A body whose frames arrive over a channel: it ends when the sender is dropped.
struct Channel {
    frames: mpsc::UnboundedReceiver<Bytes>,
    hint: SizeHint,
}

impl Body for Channel {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.frames
            .poll_recv(cx)
            .map(|chunk| chunk.map(|chunk| Ok(Frame::data(chunk))))
    }

    fn size_hint(&self) -> SizeHint {
        self.hint
    }
}

const FIRST: &[u8] = b"first frame, ";
const SECOND: &[u8] = b"second frame";
/// `FIRST` and `SECOND` together.
const STREAMED: u64 = (FIRST.len() + SECOND.len()) as u64;

/// A channel body that already holds `FIRST`; `exact` is its announced size, if any.
fn channel(exact: Option<u64>) -> (mpsc::UnboundedSender<Bytes>, Channel) {
    let (sender, frames) = mpsc::unbounded_channel();
    sender.send(Bytes::from_static(FIRST)).unwrap();
    let hint = exact.map_or_else(SizeHint::new, SizeHint::with_exact);
    (sender, Channel { frames, hint })
}

/// A response, read whole.
#[derive(Debug)]
struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
    trailers: Option<HeaderMap>,
    /// How many times the handler ran.
    calls: usize,
}

impl Reply {
    #[track_caller]
    fn header(&self, name: HeaderName) -> &str {
        self.headers
            .get(&name)
            .unwrap_or_else(|| panic!("no {name} in the {} response: {self:?}", self.status))
            .to_str()
            .unwrap()
    }

    #[track_caller]
    fn etag(&self) -> &str {
        self.header(ETAG)
    }

    fn has(&self, name: HeaderName) -> bool {
        self.headers.contains_key(name)
    }
}

/// Reads a response whole; `calls` is what the caller counted of its handler (0 where the
/// test counts nothing, as with the axum routers).
async fn read<B>(response: Response<B>, calls: usize) -> Reply
where
    B: Body,
    B::Error: fmt::Debug,
{
    let (parts, body) = response.into_parts();
    let collected = timeout(LIMIT, body.collect())
        .await
        .expect("the body ends in time")
        .expect("the body ends without error");
    Reply {
        status: parts.status,
        headers: parts.headers,
        trailers: collected.trailers().cloned(),
        body: collected.to_bytes(),
        calls,
    }
}

/// Counts the handler's calls.
#[derive(Clone, Default)]
struct Calls(Arc<AtomicUsize>);

impl Calls {
    fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }

    /// `handler` as a `service_fn` that counts its calls.
    fn service<H, Fut, B>(
        self,
        handler: H,
    ) -> impl Service<
        Request<String>,
        Response = Response<B>,
        Error = Infallible,
        Future = impl Future<Output = Result<Response<B>, Infallible>>,
    > + Clone
    where
        H: Fn(Request<String>) -> Fut + Clone,
        Fut: Future<Output = Response<B>>,
    {
        let calls = self.0;
        service_fn(move |request: Request<String>| {
            calls.fetch_add(1, Ordering::SeqCst);
            let response = handler(request);
            async move { Ok::<_, Infallible>(response.await) }
        })
    }
}

/// The response head of `request` through `layer` in front of `handler`; the body is not read.
/// Fails if the head does not arrive within [`LIMIT`].
async fn head_through<V, H, Fut, B>(
    layer: &ConditionalLayer<V>,
    handler: H,
    request: Request<String>,
) -> (Response<ConditionalBody<B>>, Calls)
where
    V: ValidatorSource + Clone,
    H: Fn(Request<String>) -> Fut + Clone,
    Fut: Future<Output = Response<B>>,
    B: Body,
{
    let calls = Calls::default();
    let service = layer.layer(calls.clone().service(handler));
    let response = timeout(LIMIT, service.oneshot(request))
        .await
        .expect("the response head arrives in time")
        .unwrap();
    (response, calls)
}

/// `request` through `layer` in front of `handler`, read whole.
async fn send<V, H, Fut, B>(
    layer: &ConditionalLayer<V>,
    handler: H,
    request: Request<String>,
) -> Reply
where
    V: ValidatorSource + Clone,
    H: Fn(Request<String>) -> Fut + Clone,
    Fut: Future<Output = Response<B>>,
    B: Body,
    B::Data: From<Bytes>,
    B::Error: fmt::Debug,
{
    let (response, calls) = head_through(layer, handler, request).await;
    read(response, calls.count()).await
}

/// A handler that answers with `response` once (for bodies that cannot be cloned).
fn once<B>(response: Response<B>) -> impl Fn(Request<String>) -> Ready<Response<B>> + Clone {
    let slot = Arc::new(Mutex::new(Some(response)));
    move |_| ready(slot.lock().unwrap().take().expect("the handler runs once"))
}

/// Streams a channel body with this status, these headers and announced size through `layer`:
/// asserts the response head arrives while the body is still incomplete (nothing was
/// buffered), then completes the body and asserts it arrives intact. Returns the head's fields.
async fn assert_streamed_untouched<V>(
    layer: &ConditionalLayer<V>,
    method: Method,
    status: StatusCode,
    headers: &[(HeaderName, &str)],
    exact: Option<u64>,
) -> HeaderMap
where
    V: ValidatorSource + Clone,
{
    let (sender, body) = channel(exact);
    let handler = once(response(status, headers, body));
    // `SECOND` has not been sent: a layer reading the body before answering would time out here.
    let (response, calls) = head_through(layer, handler, request(method, &[])).await;
    assert_eq!(calls.count(), 1);
    assert_eq!(response.status(), status);
    sender.send(Bytes::from_static(SECOND)).unwrap();
    drop(sender);
    let reply = read(response, calls.count()).await;
    assert_eq!(
        reply.body,
        [FIRST, SECOND].concat(),
        "the body is passed on intact"
    );
    reply.headers
}

/// The handler-side page most tests serve.
const PAGE: &[u8] = b"<!doctype html><h1>Items</h1><ul><li>one</li><li>two</li></ul>";

/// A handler answering 200 with `PAGE` (known size) and these header fields.
fn page(
    headers: &[(HeaderName, &str)],
) -> impl Fn(Request<String>) -> Ready<Response<Full<Bytes>>> + Clone {
    let mut head = HeaderMap::new();
    for (name, value) in headers {
        head.append(name, HeaderValue::from_str(value).unwrap());
    }
    move |_| {
        let mut response = Response::new(full(PAGE));
        *response.headers_mut() = head.clone();
        ready(response)
    }
}

fn page_tag() -> String {
    ETag::from_content(PAGE).to_string()
}

// ---------------------------------------------------------------------------------------------
// from_responses(): GET and HEAD against the handler's own validators
// ---------------------------------------------------------------------------------------------

/// Everything a 200 may carry that RFC 9110 §15.4.5 says a 304 must repeat, and some it must not.
const RICH: &[(HeaderName, &str)] = &[
    (ETAG, "\"v1\""),
    (LAST_MODIFIED, MODIFIED),
    (CACHE_CONTROL, "max-age=60"),
    (VARY, "Accept-Language"),
    (EXPIRES, "Thu, 01 Dec 2094 16:00:00 GMT"),
    (CONTENT_LOCATION, "/page.en"),
    (DATE, "Wed, 15 Nov 2023 08:00:00 GMT"),
    (CONTENT_TYPE, "text/html; charset=utf-8"),
    (CONTENT_LENGTH, "63"),
];

#[tokio::test]
async fn from_responses_get_matching_the_handlers_etag_answers_304_with_the_200s_cache_metadata() {
    let layer = ConditionalLayer::from_responses();
    let reply = send(
        &layer,
        page(RICH),
        get_request(&[(IF_NONE_MATCH, "\"v1\"")]),
    )
    .await;

    assert_eq!(reply.status, StatusCode::NOT_MODIFIED);
    assert_eq!(
        reply.calls, 1,
        "the handler runs: its response holds the validators"
    );
    assert!(reply.body.is_empty());
    assert_eq!(reply.etag(), "\"v1\"");
    assert_eq!(reply.header(CACHE_CONTROL), "max-age=60");
    assert_eq!(reply.header(VARY), "Accept-Language");
    assert_eq!(reply.header(EXPIRES), "Thu, 01 Dec 2094 16:00:00 GMT");
    assert_eq!(reply.header(CONTENT_LOCATION), "/page.en");
    assert_eq!(reply.header(DATE), "Wed, 15 Nov 2023 08:00:00 GMT");
    assert!(!reply.has(CONTENT_TYPE), "{reply:?}");
    assert!(!reply.has(CONTENT_LENGTH), "{reply:?}");
    assert!(
        !reply.has(LAST_MODIFIED),
        "Last-Modified only when there is no ETag: {reply:?}"
    );
}

#[tokio::test]
async fn from_responses_304_carries_last_modified_when_the_response_has_no_etag() {
    // Hashing off, so the 200 itself carries no ETag either.
    let layer = ConditionalLayer::from_responses().body_hash(None);
    let headers = &[
        (LAST_MODIFIED, MODIFIED),
        (CACHE_CONTROL, "no-cache"),
        (CONTENT_TYPE, "text/html"),
    ];
    let reply = send(
        &layer,
        page(headers),
        get_request(&[(IF_MODIFIED_SINCE, MODIFIED)]),
    )
    .await;

    assert_eq!(reply.status, StatusCode::NOT_MODIFIED);
    assert_eq!(reply.header(LAST_MODIFIED), MODIFIED);
    assert_eq!(reply.header(CACHE_CONTROL), "no-cache");
    assert!(!reply.has(ETAG));
    assert!(!reply.has(CONTENT_TYPE));
    assert!(reply.body.is_empty());
}

#[tokio::test]
async fn from_responses_if_modified_since_at_or_after_the_responses_last_modified_answers_304() {
    let layer = ConditionalLayer::from_responses().body_hash(None);
    let handler = page(&[(LAST_MODIFIED, MODIFIED)]);
    for date in [MODIFIED, AFTER_MODIFIED] {
        let reply = send(
            &layer,
            handler.clone(),
            get_request(&[(IF_MODIFIED_SINCE, date)]),
        )
        .await;
        assert_eq!(reply.status, StatusCode::NOT_MODIFIED, "{date}");
    }
}

#[tokio::test]
async fn from_responses_if_modified_since_before_the_responses_last_modified_serves_the_200() {
    let layer = ConditionalLayer::from_responses().body_hash(None);
    let handler = page(&[(LAST_MODIFIED, MODIFIED)]);
    let reply = send(
        &layer,
        handler,
        get_request(&[(IF_MODIFIED_SINCE, BEFORE_MODIFIED)]),
    )
    .await;

    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body, PAGE);
}

#[tokio::test]
async fn from_responses_stale_if_none_match_serves_the_handlers_200_untouched() {
    let layer = ConditionalLayer::from_responses();
    let reply = send(
        &layer,
        page(RICH),
        get_request(&[(IF_NONE_MATCH, "\"v0\"")]),
    )
    .await;

    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body, PAGE);
    for (name, value) in RICH {
        assert_eq!(reply.header(name.clone()), *value);
    }
}

/// A write's precondition cannot be checked against a response: by then the write has happened.
/// So `from_responses()` (whose source answers `Lookup::Unknown`) never turns a write into a 304;
/// a write carrying a precondition fails with 412 before the handler runs (it cannot be verified:
/// the documented `Lookup::Unknown` rule), and a write without one reaches the handler untouched.
#[tokio::test]
async fn from_responses_never_answers_304_to_writes_with_matching_if_none_match() {
    let layer = ConditionalLayer::from_responses();
    for method in [Method::POST, Method::PUT, Method::DELETE] {
        let handler = page(&[(ETAG, "\"v1\""), (CONTENT_TYPE, "text/html")]);
        let request = request(method.clone(), &[(IF_NONE_MATCH, "\"v1\"")]);
        let reply = send(&layer, handler, request).await;

        assert_ne!(reply.status, StatusCode::NOT_MODIFIED, "{method}");
        assert_eq!(reply.status, StatusCode::PRECONDITION_FAILED, "{method}");
        assert_eq!(reply.calls, 0, "{method}: not performed unchecked");
    }
}

/// `from_responses()` cannot verify `If-Match` before the write: 412 (a permanent answer, not a
/// 503 "retry later"), while a plain PUT goes through.
#[tokio::test]
async fn from_responses_fails_a_put_with_if_match_and_passes_a_plain_put() {
    let layer = ConditionalLayer::from_responses();
    let handler = page(&[(ETAG, "\"v1\"")]);
    let checked = send(
        &layer,
        handler.clone(),
        request(Method::PUT, &[(IF_MATCH, "\"v1\"")]),
    )
    .await;
    assert_eq!(checked.status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(checked.calls, 0);
    let plain = send(&layer, handler, request(Method::PUT, &[])).await;
    assert_eq!(plain.status, StatusCode::OK);
    assert_eq!(plain.calls, 1);
}

#[tokio::test]
async fn from_responses_passes_writes_without_preconditions_to_the_handler_untouched() {
    let layer = ConditionalLayer::from_responses();
    for method in [Method::POST, Method::PUT, Method::DELETE] {
        let handler = page(&[(ETAG, "\"v1\""), (CONTENT_TYPE, "text/html")]);
        let reply = send(&layer, handler, request(method.clone(), &[])).await;

        assert_eq!(reply.calls, 1, "{method}");
        assert_eq!(reply.status, StatusCode::OK, "{method}: untouched");
        assert_eq!(reply.etag(), "\"v1\"", "{method}");
        assert_eq!(reply.header(CONTENT_TYPE), "text/html", "{method}");
        assert_eq!(reply.headers.len(), 2, "{method}: nothing added");
        assert_eq!(reply.body, PAGE, "{method}");
    }
}

#[tokio::test]
async fn from_responses_never_tags_write_responses_with_a_body_hash() {
    let layer = ConditionalLayer::from_responses();
    for method in [Method::POST, Method::PUT, Method::DELETE, Method::PATCH] {
        let reply = send(&layer, page(&[]), request(method.clone(), &[])).await;
        assert_eq!(reply.status, StatusCode::OK, "{method}");
        assert!(!reply.has(ETAG), "{method}: {reply:?}");
        assert_eq!(reply.body, PAGE, "{method}");
    }
}

#[tokio::test]
async fn from_responses_head_matching_the_handlers_etag_answers_304() {
    let layer = ConditionalLayer::from_responses();
    let head = |_: Request<String>| {
        ready(response(
            StatusCode::OK,
            &[(ETAG, "\"v1\""), (CONTENT_LENGTH, "63")],
            Full::new(Bytes::new()),
        ))
    };
    let matching = send(
        &layer,
        head,
        request(Method::HEAD, &[(IF_NONE_MATCH, "\"v1\"")]),
    )
    .await;
    assert_eq!(matching.status, StatusCode::NOT_MODIFIED);
    assert_eq!(matching.etag(), "\"v1\"");

    let stale = send(
        &layer,
        head,
        request(Method::HEAD, &[(IF_NONE_MATCH, "\"v0\"")]),
    )
    .await;
    assert_eq!(stale.status, StatusCode::OK);
    assert_eq!(stale.header(CONTENT_LENGTH), "63");
}

#[tokio::test]
async fn from_responses_get_with_if_match_not_matching_the_handlers_etag_answers_412() {
    let layer = ConditionalLayer::from_responses();
    let reply = send(&layer, page(RICH), get_request(&[(IF_MATCH, "\"v0\"")])).await;

    assert_eq!(reply.status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(reply.etag(), "\"v1\"");
}

#[tokio::test]
async fn from_responses_revalidates_a_rendered_page_on_an_axum_router() {
    let app = Router::new()
        .route(
            "/page",
            get(|| async { Html("<h1>Items</h1><ul><li>one</li></ul>") }),
        )
        .layer(ConditionalLayer::from_responses());
    let get = |headers: &[(HeaderName, &str)]| {
        let mut builder = Request::get("/page");
        for (name, value) in headers {
            builder = builder.header(name, *value);
        }
        builder.body(axum::body::Body::empty()).unwrap()
    };

    let first = read(app.clone().oneshot(get(&[])).await.unwrap(), 0).await;
    assert_eq!(first.status, StatusCode::OK);
    let etag = first.etag().to_owned();
    assert_eq!(
        etag,
        ETag::from_content(b"<h1>Items</h1><ul><li>one</li></ul>").to_string()
    );

    let again = read(
        app.oneshot(get(&[(IF_NONE_MATCH, &etag)])).await.unwrap(),
        0,
    )
    .await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert_eq!(again.etag(), etag);
    assert!(again.body.is_empty());
    assert!(!again.has(CONTENT_TYPE));
}

/// On the response side the comparison is against the tag the response leaves with, as it is:
/// `"v1-gzip"` names the gzip form of `"v1"`, and this response is the identity one, so a 304
/// would confirm bytes the server is not sending. Off or on, the answer is the full 200.
#[tokio::test]
async fn from_responses_if_none_match_naming_another_coding_gets_the_full_response() {
    for layer in [ConditionalLayer::from_responses(), aware_from_responses()] {
        let handler = page(&[(ETAG, "\"v1\"")]);
        let request = get_request(&[(IF_NONE_MATCH, "\"v1-gzip\""), GZIP]);
        let reply = send(&layer, handler, request).await;

        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.etag(), "\"v1\"");
    }
}

// ---------------------------------------------------------------------------------------------
// Body-hash ETags
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn get_200_of_known_size_without_etag_is_tagged_with_the_strong_hash_of_its_body() {
    let layer = ConditionalLayer::from_responses();
    let reply = send(
        &layer,
        page(&[(CONTENT_TYPE, "text/html")]),
        get_request(&[]),
    )
    .await;

    assert_eq!(reply.status, StatusCode::OK);
    let etag = ETag::parse(reply.etag().as_bytes()).unwrap();
    assert!(!etag.is_weak());
    assert_eq!(etag, ETag::from_content(PAGE));
    assert_eq!(reply.body, PAGE, "the body is passed on intact");
    assert_eq!(reply.header(CONTENT_TYPE), "text/html");
}

#[tokio::test]
async fn other_2xx_get_responses_of_known_size_are_hashed_too() {
    let layer = ConditionalLayer::from_responses();
    let created = |_: Request<String>| ready(response(StatusCode::CREATED, &[], full(PAGE)));
    let reply = send(&layer, created, get_request(&[])).await;

    assert_eq!(reply.status, StatusCode::CREATED);
    assert_eq!(reply.etag(), page_tag());
}

#[tokio::test]
async fn revalidating_with_the_body_hash_answers_304_with_an_empty_body() {
    let layer = ConditionalLayer::from_responses();
    let headers = &[
        (CONTENT_TYPE, "text/html"),
        (CACHE_CONTROL, "no-cache"),
        (LAST_MODIFIED, MODIFIED),
    ];
    let reply = send(
        &layer,
        page(headers),
        get_request(&[(IF_NONE_MATCH, &page_tag())]),
    )
    .await;

    assert_eq!(reply.status, StatusCode::NOT_MODIFIED);
    assert!(reply.body.is_empty());
    assert_eq!(reply.etag(), page_tag());
    assert_eq!(reply.header(CACHE_CONTROL), "no-cache");
    assert!(!reply.has(CONTENT_TYPE));
    assert!(!reply.has(LAST_MODIFIED), "an ETag is there: {reply:?}");

    let listed = format!("\"other\", W/{}", page_tag());
    let weak = send(
        &layer,
        page(headers),
        get_request(&[(IF_NONE_MATCH, &listed)]),
    )
    .await;
    assert_eq!(weak.status, StatusCode::NOT_MODIFIED, "weak comparison");
}

#[tokio::test]
async fn revalidating_with_a_stale_hash_serves_the_200_with_the_current_hash() {
    let layer = ConditionalLayer::from_responses();
    let stale = ETag::from_content(b"yesterday's page").to_string();
    let reply = send(&layer, page(&[]), get_request(&[(IF_NONE_MATCH, &stale)])).await;

    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.etag(), page_tag());
    assert_eq!(reply.body, PAGE);
}

#[tokio::test]
async fn hashed_multi_frame_body_is_passed_on_intact_with_its_trailers() {
    let layer = ConditionalLayer::from_responses();
    let chunks: [&'static [u8]; 3] = [b"<ul><li>one</li>", b"<li>two</li>", b"<li>three</li></ul>"];
    let mut trailers = HeaderMap::new();
    trailers.insert("x-checksum", HeaderValue::from_static("abc123"));
    let body = Frames::data(&chunks).then_trailers(trailers.clone());
    let reply = send(&layer, once(Response::new(body)), get_request(&[])).await;

    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body, chunks.concat());
    assert_eq!(
        reply.etag(),
        ETag::from_content(&chunks.concat()).to_string()
    );
    assert_eq!(reply.trailers, Some(trailers));
}

#[tokio::test]
async fn revalidating_a_multi_frame_body_by_its_hash_answers_304() {
    let layer = ConditionalLayer::from_responses();
    let chunks: [&'static [u8]; 2] = [b"<p>first</p>", b"<p>second</p>"];
    let tag = ETag::from_content(&chunks.concat()).to_string();
    let body = Frames::data(&chunks);
    let reply = send(
        &layer,
        once(Response::new(body)),
        get_request(&[(IF_NONE_MATCH, &tag)]),
    )
    .await;

    assert_eq!(reply.status, StatusCode::NOT_MODIFIED);
    assert_eq!(reply.etag(), tag);
    assert!(reply.body.is_empty());
}

/// The counterpart of the "neither hashed nor buffered" tests below, and the proof that their
/// channel body would catch buffering: a stream of known, small size is read whole before the
/// head leaves, so the head does not arrive while the second frame is held back.
#[tokio::test]
async fn stream_of_known_small_size_is_read_whole_before_the_head_is_sent() {
    let layer = ConditionalLayer::from_responses();
    let (sender, body) = channel(Some(STREAMED));
    let service = layer.layer(Calls::default().service(once(Response::new(body))));
    let call = service.oneshot(get_request(&[]));
    let mut call = std::pin::pin!(call);

    let early = timeout(Duration::from_millis(100), call.as_mut()).await;
    assert!(early.is_err(), "no head while the body is incomplete");

    sender.send(Bytes::from_static(SECOND)).unwrap();
    drop(sender);
    let response = timeout(LIMIT, call)
        .await
        .expect("the head, once the body is whole");
    let reply = read(response.unwrap(), 1).await;
    let whole = [FIRST, SECOND].concat();
    assert_eq!(reply.etag(), ETag::from_content(&whole).to_string());
    assert_eq!(reply.body, whole);
}

#[tokio::test]
async fn body_at_exactly_the_hash_limit_is_hashed() {
    let layer = ConditionalLayer::from_responses().body_hash(BodyHashConfig::default().limit(10));
    let body = Frames::data(&[b"0123456789"]);
    let reply = send(&layer, once(Response::new(body)), get_request(&[])).await;

    assert_eq!(reply.etag(), ETag::from_content(b"0123456789").to_string());
}

#[tokio::test]
async fn stream_of_unknown_size_is_neither_hashed_nor_buffered() {
    let layer = ConditionalLayer::from_responses();
    let headers = assert_streamed_untouched(&layer, Method::GET, StatusCode::OK, &[], None).await;
    assert!(!headers.contains_key(ETAG), "{headers:?}");
}

#[tokio::test]
async fn body_above_the_hash_limit_is_neither_hashed_nor_buffered() {
    let layer = ConditionalLayer::from_responses().body_hash(BodyHashConfig::default().limit(10));
    let headers =
        assert_streamed_untouched(&layer, Method::GET, StatusCode::OK, &[], Some(STREAMED)).await;
    assert!(!headers.contains_key(ETAG), "{headers:?}");
}

#[tokio::test]
async fn body_hash_none_turns_hashing_off() {
    let layer = ConditionalLayer::from_responses().body_hash(None);
    let headers =
        assert_streamed_untouched(&layer, Method::GET, StatusCode::OK, &[], Some(STREAMED)).await;
    assert!(!headers.contains_key(ETAG), "{headers:?}");

    let reply = send(&layer, page(&[]), get_request(&[])).await;
    assert!(!reply.has(ETAG), "not even a small full body: {reply:?}");
}

#[tokio::test]
async fn event_stream_is_neither_hashed_nor_buffered() {
    let layer = ConditionalLayer::from_responses();
    for content_type in ["text/event-stream", "Text/Event-Stream; charset=utf-8"] {
        let headers = assert_streamed_untouched(
            &layer,
            Method::GET,
            StatusCode::OK,
            &[(CONTENT_TYPE, content_type)],
            Some(STREAMED),
        )
        .await;
        assert!(!headers.contains_key(ETAG), "{content_type}: {headers:?}");
    }
}

#[tokio::test]
async fn no_store_response_is_neither_hashed_nor_buffered() {
    let layer = ConditionalLayer::from_responses();
    for cache_control in ["no-store", "private, no-store", "private,NO-STORE"] {
        let headers = assert_streamed_untouched(
            &layer,
            Method::GET,
            StatusCode::OK,
            &[(CACHE_CONTROL, cache_control)],
            Some(STREAMED),
        )
        .await;
        assert!(!headers.contains_key(ETAG), "{cache_control}: {headers:?}");
        assert_eq!(headers[CACHE_CONTROL], cache_control);
    }
}

#[tokio::test]
async fn partial_content_is_neither_hashed_nor_buffered() {
    let layer = ConditionalLayer::from_responses();
    let headers = assert_streamed_untouched(
        &layer,
        Method::GET,
        StatusCode::PARTIAL_CONTENT,
        &[(CONTENT_RANGE, "bytes 0-24/100")],
        Some(STREAMED),
    )
    .await;
    assert!(!headers.contains_key(ETAG), "{headers:?}");
}

#[tokio::test]
async fn non_2xx_responses_are_neither_hashed_nor_buffered() {
    let layer = ConditionalLayer::from_responses();
    for status in [
        StatusCode::MOVED_PERMANENTLY,
        StatusCode::NOT_FOUND,
        StatusCode::INTERNAL_SERVER_ERROR,
    ] {
        let headers =
            assert_streamed_untouched(&layer, Method::GET, status, &[], Some(STREAMED)).await;
        assert!(!headers.contains_key(ETAG), "{status}: {headers:?}");
    }
}

#[tokio::test]
async fn non_2xx_responses_are_never_answered_304_even_when_their_etag_matches() {
    let layer = ConditionalLayer::from_responses();
    let not_found = |_: Request<String>| {
        ready(response(
            StatusCode::NOT_FOUND,
            &[(ETAG, "\"v1\"")],
            full(PAGE),
        ))
    };
    let reply = send(&layer, not_found, get_request(&[(IF_NONE_MATCH, "\"v1\"")])).await;

    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(reply.body, PAGE);
}

#[tokio::test]
async fn response_with_its_own_etag_keeps_it_and_is_not_buffered() {
    let layer = ConditionalLayer::from_responses();
    for etag in ["\"handler-v3\"", "W/\"handler-v3\""] {
        let headers = assert_streamed_untouched(
            &layer,
            Method::GET,
            StatusCode::OK,
            &[(ETAG, etag)],
            Some(STREAMED),
        )
        .await;
        assert_eq!(headers[ETAG], etag, "not replaced by a hash");
    }
}

/// HEAD is never hashed: a HEAD response carries the handler's own ETag (or, with a source and
/// `fill_response_validators`, the source's), else none, even where the GET response would have
/// had a body-hash tag. So a HEAD revalidating with the hash gets the plain 200.
#[tokio::test]
async fn head_gets_no_etag_from_hashing() {
    let layer = ConditionalLayer::from_responses();
    // A handler that (like a bare service_fn) answers HEAD with the body of known size.
    let reply = send(&layer, page(&[]), request(Method::HEAD, &[])).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(!reply.has(ETAG), "{reply:?}");

    let revalidate = request(Method::HEAD, &[(IF_NONE_MATCH, &page_tag())]);
    let reply = send(&layer, page(&[]), revalidate).await;
    assert_eq!(reply.status, StatusCode::OK, "nothing to compare against");

    let headers =
        assert_streamed_untouched(&layer, Method::HEAD, StatusCode::OK, &[], Some(STREAMED)).await;
    assert!(!headers.contains_key(ETAG), "{headers:?}");
}

#[tokio::test]
async fn a_hashed_get_with_if_match_naming_its_hash_proceeds() {
    let layer = ConditionalLayer::from_responses();
    let reply = send(&layer, page(&[]), get_request(&[(IF_MATCH, &page_tag())])).await;

    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.etag(), page_tag());
    assert_eq!(reply.body, PAGE);

    let stale = send(&layer, page(&[]), get_request(&[(IF_MATCH, "\"v0\"")])).await;
    assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(stale.etag(), page_tag());
}

/// Same as above, but the handler's response also carries a Last-Modified: the layer evaluates
/// once before hashing (the response has a validator, just not an ETag), and `If-Match` is false
/// against a state without an ETag.
#[tokio::test]
async fn a_hashed_get_with_last_modified_and_if_match_naming_its_hash_proceeds() {
    let layer = ConditionalLayer::from_responses();
    let handler = page(&[(LAST_MODIFIED, MODIFIED)]);
    let reply = send(&layer, handler, get_request(&[(IF_MATCH, &page_tag())])).await;

    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert_eq!(reply.etag(), page_tag());
}

/// RFC 9110 §15.4.5: a 304 must carry the ETag a 200 to the same request would have carried.
/// The 200 here would carry the body hash; the early If-Modified-Since answer (made before
/// hashing, from Last-Modified alone) has no ETag.
#[tokio::test]
async fn an_if_modified_since_304_carries_the_hash_etag_the_200_would_carry() {
    let layer = ConditionalLayer::from_responses();
    let handler = page(&[(LAST_MODIFIED, MODIFIED)]);
    let full_reply = send(&layer, handler.clone(), get_request(&[])).await;
    assert_eq!(full_reply.etag(), page_tag());

    let reply = send(
        &layer,
        handler,
        get_request(&[(IF_MODIFIED_SINCE, MODIFIED)]),
    )
    .await;
    assert_eq!(reply.status, StatusCode::NOT_MODIFIED);
    assert_eq!(reply.etag(), page_tag());
}

#[tokio::test]
async fn an_if_modified_since_revalidation_of_a_hashable_page_answers_304() {
    let layer = ConditionalLayer::from_responses();
    let handler = page(&[(LAST_MODIFIED, MODIFIED)]);
    let reply = send(
        &layer,
        handler,
        get_request(&[(IF_MODIFIED_SINCE, MODIFIED)]),
    )
    .await;

    assert_eq!(reply.status, StatusCode::NOT_MODIFIED);
    assert!(reply.body.is_empty());
}

// ---------------------------------------------------------------------------------------------
// Composition with a source
// ---------------------------------------------------------------------------------------------

fn v1() -> Lookup {
    Lookup::Present(Validators::new().with_etag(ETag::from_static("\"v1\"")))
}

#[tokio::test]
async fn source_present_decides_before_the_handler_so_a_304_never_calls_it() {
    let layer = ConditionalLayer::new(answering(v1())).fill_response_validators(true);
    let reply = send(&layer, page(&[]), get_request(&[(IF_NONE_MATCH, "\"v1\"")])).await;

    assert_eq!(reply.status, StatusCode::NOT_MODIFIED);
    assert_eq!(reply.calls, 0);
    assert_eq!(reply.etag(), "\"v1\"");
}

#[tokio::test]
async fn source_present_responses_are_not_hashed_and_not_buffered() {
    // A source that knows the resource exists but has no ETag for it: the response is left
    // alone, the body streams.
    let only_date = Validators::new()
        .with_last_modified(LastModified::from_unix_seconds(1_700_000_000).unwrap());
    let layer = ConditionalLayer::new(answering(Lookup::Present(only_date)));
    let headers =
        assert_streamed_untouched(&layer, Method::GET, StatusCode::OK, &[], Some(STREAMED)).await;
    assert!(!headers.contains_key(ETAG), "{headers:?}");

    let reply = send(&layer, page(&[]), get_request(&[])).await;
    assert!(!reply.has(ETAG), "{reply:?}");
}

#[tokio::test]
async fn source_unknown_lets_the_response_side_decide() {
    // Filling makes the layer ask about the unconditional GET too, so its 200 is tagged.
    let layer = ConditionalLayer::new(answering(Lookup::Unknown)).fill_response_validators(true);
    let first = send(&layer, page(&[]), get_request(&[])).await;
    assert_eq!(first.etag(), page_tag());

    let again = send(
        &layer,
        page(&[]),
        get_request(&[(IF_NONE_MATCH, first.etag())]),
    )
    .await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert_eq!(
        again.calls, 1,
        "the handler ran: only its response could tell"
    );
}

#[tokio::test]
async fn source_missing_is_not_unknown_if_none_match_star_reaches_the_handlers_404_untouched() {
    let layer = ConditionalLayer::new(answering(Lookup::Missing));
    let not_found = |_: Request<String>| {
        ready(response(
            StatusCode::NOT_FOUND,
            &[(CONTENT_TYPE, "text/plain")],
            full(b"no such page"),
        ))
    };
    let reply = send(&layer, not_found, get_request(&[(IF_NONE_MATCH, "*")])).await;

    assert_eq!(reply.calls, 1);
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(reply.body, "no such page");
    assert_eq!(reply.header(CONTENT_TYPE), "text/plain");
    assert!(!reply.has(ETAG));
}

#[tokio::test]
async fn source_missing_responses_are_not_hashed() {
    // Unknown would hash this 200; Missing means the source decided, and there is nothing to fill.
    let layer = ConditionalLayer::new(answering(Lookup::Missing)).fill_response_validators(true);
    let reply = send(&layer, page(&[]), get_request(&[])).await;

    assert_eq!(reply.status, StatusCode::OK);
    assert!(!reply.has(ETAG), "{reply:?}");
}

/// A per-path source on an axum router: `/known` is decided up front, `/rendered` on the
/// response, `/gone` does not exist.
#[tokio::test]
async fn a_per_path_source_on_an_axum_router_composes_present_unknown_and_missing() {
    let handled = Calls::default();
    let count = handled.clone();
    let source = |head: &Parts| {
        let lookup = match head.uri.path() {
            "/known" => v1(),
            "/rendered" => Lookup::Unknown,
            _ => Lookup::Missing,
        };
        ready(Ok::<_, Infallible>(lookup))
    };
    let app = Router::new()
        .route(
            "/known",
            get(move || {
                count.0.fetch_add(1, Ordering::SeqCst);
                async { "known" }
            }),
        )
        .route("/rendered", get(|| async { Html("<p>rendered</p>") }))
        .fallback(|| async { (StatusCode::NOT_FOUND, "gone") })
        .layer(ConditionalLayer::new(source).fill_response_validators(true));
    let get = |path: &str, inm: &str| {
        Request::get(path)
            .header(IF_NONE_MATCH, inm)
            .body(axum::body::Body::empty())
            .unwrap()
    };

    let known = read(
        app.clone().oneshot(get("/known", "\"v1\"")).await.unwrap(),
        0,
    )
    .await;
    assert_eq!(known.status, StatusCode::NOT_MODIFIED);
    assert_eq!(handled.count(), 0, "decided before the handler");

    let tag = ETag::from_content(b"<p>rendered</p>").to_string();
    let rendered = read(
        app.clone().oneshot(get("/rendered", &tag)).await.unwrap(),
        0,
    )
    .await;
    assert_eq!(rendered.status, StatusCode::NOT_MODIFIED);
    assert_eq!(rendered.etag(), tag);

    let gone = read(app.oneshot(get("/gone", "*")).await.unwrap(), 0).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert_eq!(gone.body, "gone");
    assert!(!gone.has(ETAG));
}

// ---------------------------------------------------------------------------------------------
// A body error while hashing
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn body_error_while_hashing_delivers_the_bytes_read_then_the_error_without_an_etag() {
    let layer = ConditionalLayer::from_responses();
    let body = Frames::data(&[b"abc", b"def"])
        .then_error()
        .with_hint(SizeHint::with_exact(10));
    let (response, _) = head_through(&layer, once(Response::new(body)), get_request(&[])).await;

    assert_eq!(response.status(), StatusCode::OK);
    assert!(!response.headers().contains_key(ETAG), "{response:?}");
    let mut body = response.into_body();
    let mut data = Vec::new();
    let error = loop {
        match body.frame().await {
            Some(Ok(frame)) => data.extend_from_slice(&frame.into_data().expect("data")),
            Some(Err(error)) => break error,
            None => panic!("the body ended without its error"),
        }
    };
    assert_eq!(data, b"abcdef");
    assert!(error.is::<Broken>(), "{error}");
    assert!(body.frame().await.is_none(), "nothing after the error");
}

#[tokio::test]
async fn body_error_while_hashing_is_not_answered_304_even_with_a_matching_if_none_match() {
    let layer = ConditionalLayer::from_responses();
    // What the tag would be had the body been whole.
    let tag = ETag::from_content(b"abcdef").to_string();
    let body = Frames::data(&[b"abc", b"def"]).then_error();
    let request = get_request(&[(IF_NONE_MATCH, &tag)]);
    let (response, _) = head_through(&layer, once(Response::new(body)), request).await;

    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.into_body().collect().await.is_err());
}

// ---------------------------------------------------------------------------------------------
// Compression (tower-http CompressionLayer, gzip)
// ---------------------------------------------------------------------------------------------

/// Long enough for CompressionLayer's default predicate (at least 32 bytes), and compressible.
const TEXT: &[u8] = b"conditional requests, compressed: conditional requests, compressed: \
                      conditional requests, compressed: conditional requests, compressed.";

/// 200 with `TEXT` as text/plain; 206 with its first five bytes when the request has a Range
/// (so the status says whether the handler saw one); 204 for writes, with the condition that
/// passed in `x-passed`.
async fn text_handler(request: Request<String>) -> Response<Full<Bytes>> {
    if request.method() != Method::GET && request.method() != Method::HEAD {
        let passed = request
            .extensions()
            .get::<Checked>()
            .and_then(Checked::passed)
            .map_or("none", |c| c.as_str());
        return response(
            StatusCode::NO_CONTENT,
            &[("x-passed".parse().unwrap(), passed)],
            Full::default(),
        );
    }
    if request.headers().contains_key(RANGE) {
        let range = format!("bytes 0-4/{}", TEXT.len());
        return response(
            StatusCode::PARTIAL_CONTENT,
            &[(CONTENT_TYPE, "text/plain"), (CONTENT_RANGE, &range)],
            full(&TEXT[..5]),
        );
    }
    response(StatusCode::OK, &[(CONTENT_TYPE, "text/plain")], full(TEXT))
}

/// `text_handler` with an ETag of its own.
async fn tagged_text_handler(_: Request<String>) -> Response<Full<Bytes>> {
    response(
        StatusCode::OK,
        &[(CONTENT_TYPE, "text/plain"), (ETAG, "\"v1\"")],
        full(TEXT),
    )
}

/// The source of the compression tests: the resource exists with strong tag `"v1"`.
/// Encoding-aware tags on (they are opt-in): the behaviour these compression tests pin down.
fn v1_layer() -> ConditionalLayer<impl ValidatorSource + Clone> {
    ConditionalLayer::new(answering(v1()))
        .fill_response_validators(true)
        .encoding_aware_etags(true)
}

/// `from_responses` with encoding-aware tags on.
fn aware_from_responses() -> ConditionalLayer<FromResponse> {
    ConditionalLayer::from_responses().encoding_aware_etags(true)
}

/// The supported order: `ConditionalLayer` outside `CompressionLayer`, so the layer sees the
/// `Content-Encoding` the client gets.
async fn conditional_outside<V, H, Fut>(
    layer: ConditionalLayer<V>,
    handler: H,
    request: Request<String>,
) -> Reply
where
    V: ValidatorSource + Clone,
    H: Fn(Request<String>) -> Fut + Clone,
    Fut: Future<Output = Response<Full<Bytes>>>,
{
    let calls = Calls::default();
    let service = ServiceBuilder::new()
        .layer(layer)
        .layer(CompressionLayer::new())
        .service(calls.clone().service(handler));
    let response = service.oneshot(request).await.unwrap();
    read(response, calls.count()).await
}

/// The other order: `CompressionLayer` outside `ConditionalLayer`.
async fn compression_outside<V, H, Fut>(
    layer: ConditionalLayer<V>,
    handler: H,
    request: Request<String>,
) -> Reply
where
    V: ValidatorSource + Clone,
    H: Fn(Request<String>) -> Fut + Clone,
    Fut: Future<Output = Response<Full<Bytes>>>,
{
    let calls = Calls::default();
    let service = ServiceBuilder::new()
        .layer(CompressionLayer::new())
        .layer(layer)
        .service(calls.clone().service(handler));
    let response = service.oneshot(request).await.unwrap();
    read(response, calls.count()).await
}

#[track_caller]
fn assert_gzip(reply: &Reply) {
    assert_eq!(reply.header(CONTENT_ENCODING), "gzip");
    assert!(
        reply.body.starts_with(&[0x1f, 0x8b]),
        "gzip magic: {reply:?}"
    );
}

#[track_caller]
fn assert_identity(reply: &Reply) {
    assert!(!reply.has(CONTENT_ENCODING), "{reply:?}");
    assert_eq!(reply.body, TEXT);
}

const GZIP: (HeaderName, &str) = (ACCEPT_ENCODING, "gzip");

#[tokio::test]
async fn conditional_outside_compression_tags_gzip_v1_gzip_and_identity_v1() {
    let gzip = conditional_outside(v1_layer(), text_handler, get_request(&[GZIP])).await;
    assert_eq!(gzip.status, StatusCode::OK);
    assert_gzip(&gzip);
    assert_eq!(gzip.etag(), "\"v1-gzip\"");

    let identity = conditional_outside(v1_layer(), text_handler, get_request(&[])).await;
    assert_eq!(identity.status, StatusCode::OK);
    assert_identity(&identity);
    assert_eq!(identity.etag(), "\"v1\"");
}

#[tokio::test]
async fn conditional_outside_compression_revalidates_v1_gzip_with_a_304_carrying_v1_gzip() {
    let request = get_request(&[GZIP, (IF_NONE_MATCH, "\"v1-gzip\"")]);
    let reply = conditional_outside(v1_layer(), text_handler, request).await;

    assert_eq!(reply.status, StatusCode::NOT_MODIFIED);
    assert_eq!(reply.etag(), "\"v1-gzip\"", "the form the client holds");
    assert_eq!(reply.calls, 0);
    assert!(reply.body.is_empty());
}

#[tokio::test]
async fn conditional_outside_compression_revalidates_v1_with_a_304_carrying_v1() {
    for accept in [&[GZIP][..], &[]] {
        let mut headers = accept.to_vec();
        headers.push((IF_NONE_MATCH, "\"v1\""));
        let reply = conditional_outside(v1_layer(), text_handler, get_request(&headers)).await;

        assert_eq!(reply.status, StatusCode::NOT_MODIFIED, "{accept:?}");
        assert_eq!(reply.etag(), "\"v1\"", "{accept:?}");
        assert_eq!(reply.calls, 0);
    }
}

#[tokio::test]
async fn conditional_outside_compression_lets_a_put_with_if_match_v1_gzip_through() {
    // The client read the gzip form of version "v1" and writes against that same version.
    let request = request(Method::PUT, &[GZIP, (IF_MATCH, "\"v1-gzip\"")]);
    let reply = conditional_outside(v1_layer(), text_handler, request).await;

    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    assert_eq!(reply.calls, 1);
    assert_eq!(reply.header("x-passed".parse().unwrap()), "If-Match");

    let stale = self::request(Method::PUT, &[GZIP, (IF_MATCH, "\"v0-gzip\"")]);
    let refused = conditional_outside(v1_layer(), text_handler, stale).await;
    assert_eq!(refused.status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(refused.calls, 0);
}

#[tokio::test]
async fn conditional_outside_compression_never_maps_if_range_so_v1_gzip_does_not_honour_the_range()
{
    let request = get_request(&[GZIP, (RANGE, "bytes=0-4"), (IF_RANGE, "\"v1-gzip\"")]);
    let reply = conditional_outside(v1_layer(), text_handler, request).await;
    assert_eq!(
        reply.status,
        StatusCode::OK,
        "the handler never saw the Range"
    );
    assert_gzip(&reply);
    assert_eq!(reply.etag(), "\"v1-gzip\"");

    // The identity tag is the one a range of identity bytes may be resumed with.
    let request = get_request(&[GZIP, (RANGE, "bytes=0-4"), (IF_RANGE, "\"v1\"")]);
    let reply = conditional_outside(v1_layer(), text_handler, request).await;
    assert_eq!(reply.status, StatusCode::PARTIAL_CONTENT);
    assert!(!reply.has(CONTENT_ENCODING), "ranges are not compressed");
    assert_eq!(reply.body, TEXT[..5]);
    assert_eq!(reply.etag(), "\"v1\"");
}

#[tokio::test]
async fn from_responses_outside_compression_suffixes_the_handlers_etag_and_revalidates_it() {
    let layer = aware_from_responses;
    let gzip = conditional_outside(layer(), tagged_text_handler, get_request(&[GZIP])).await;
    assert_gzip(&gzip);
    assert_eq!(gzip.etag(), "\"v1-gzip\"");

    let request = get_request(&[GZIP, (IF_NONE_MATCH, "\"v1-gzip\"")]);
    let reply = conditional_outside(layer(), tagged_text_handler, request).await;
    assert_eq!(reply.status, StatusCode::NOT_MODIFIED);
    assert_eq!(reply.etag(), "\"v1-gzip\"");

    let identity = conditional_outside(layer(), tagged_text_handler, get_request(&[])).await;
    assert_identity(&identity);
    assert_eq!(identity.etag(), "\"v1\"");
}

/// On the response side the comparison is against the tag the response leaves with: a client
/// holding the identity form `"v1"` that now accepts gzip gets the gzip 200 (`"v1-gzip"`), where
/// a source deciding up front would have answered 304 `"v1"`. A full 200 is always safe.
#[tokio::test]
async fn from_responses_outside_compression_serves_gzip_to_a_client_holding_the_identity_tag() {
    let request = get_request(&[GZIP, (IF_NONE_MATCH, "\"v1\"")]);
    let reply = conditional_outside(aware_from_responses(), tagged_text_handler, request).await;

    assert_eq!(reply.status, StatusCode::OK);
    assert_gzip(&reply);
    assert_eq!(reply.etag(), "\"v1-gzip\"");
}

/// CompressionLayer's gzip output has no known size; the layer outside it hashes the bytes that
/// leave (within the size and time bounds), so a gzip GET gets a tag of its own, in the gzip
/// form, and revalidates with it. Identity responses are hashed as before.
#[tokio::test]
async fn from_responses_outside_compression_hashes_the_gzip_bytes_that_leave() {
    let layer = || ConditionalLayer::from_responses().encoding_aware_etags(true);
    let gzip = conditional_outside(layer(), text_handler, get_request(&[GZIP])).await;
    assert_gzip(&gzip);
    let expected = format!("{}", ETag::from_content(&gzip.body))
        .replace("\"", "")
        .to_string();
    assert_eq!(
        gzip.etag(),
        format!("\"{expected}-gzip\""),
        "hash of the gzip bytes"
    );
    assert_eq!(gzip.header(VARY), "accept-encoding");

    let request = get_request(&[GZIP, (IF_NONE_MATCH, gzip.etag())]);
    let reply = conditional_outside(layer(), text_handler, request).await;
    assert_eq!(reply.status, StatusCode::NOT_MODIFIED);
    assert_eq!(reply.etag(), gzip.etag());
    assert!(reply.body.is_empty());

    let identity = conditional_outside(layer(), text_handler, get_request(&[])).await;
    assert_identity(&identity);
    let tag = ETag::from_content(TEXT).to_string();
    assert_eq!(identity.etag(), tag);

    let request = get_request(&[(IF_NONE_MATCH, &tag)]);
    let reply = conditional_outside(layer(), text_handler, request).await;
    assert_eq!(reply.status, StatusCode::NOT_MODIFIED);
    assert_eq!(reply.etag(), tag);
}

/// The other order, documented as not supported for distinct tags: the layer never sees the
/// `Content-Encoding`, so the gzip and identity bodies share the strong tag `"v1"`. Revalidation
/// still works (the layer answers 304 before compression runs).
#[tokio::test]
async fn compression_outside_conditional_shares_v1_between_encodings_but_still_revalidates() {
    let gzip = compression_outside(v1_layer(), text_handler, get_request(&[GZIP])).await;
    assert_gzip(&gzip);
    assert_eq!(
        gzip.etag(),
        "\"v1\"",
        "the same strong tag as the identity bytes"
    );

    let identity = compression_outside(v1_layer(), text_handler, get_request(&[])).await;
    assert_identity(&identity);
    assert_eq!(identity.etag(), "\"v1\"");

    let request = get_request(&[GZIP, (IF_NONE_MATCH, "\"v1\"")]);
    let reply = compression_outside(v1_layer(), text_handler, request).await;
    assert_eq!(reply.status, StatusCode::NOT_MODIFIED);
    assert_eq!(reply.etag(), "\"v1\"");
    assert_eq!(reply.calls, 0);
    assert!(reply.body.is_empty());
    assert!(
        !reply.has(CONTENT_ENCODING),
        "an empty 304 is not compressed"
    );
}

/// The other order with `from_responses`: the layer hashes the identity body (its size is still
/// known inside the compression), and that one tag then goes out on the gzip bytes too.
#[tokio::test]
async fn compression_outside_from_responses_puts_the_identity_hash_on_gzip_responses_too() {
    let layer = ConditionalLayer::from_responses;
    let tag = ETag::from_content(TEXT).to_string();

    let gzip = compression_outside(layer(), text_handler, get_request(&[GZIP])).await;
    assert_gzip(&gzip);
    assert_eq!(gzip.etag(), tag);

    let identity = compression_outside(layer(), text_handler, get_request(&[])).await;
    assert_identity(&identity);
    assert_eq!(identity.etag(), tag);

    let request = get_request(&[GZIP, (IF_NONE_MATCH, &tag)]);
    let reply = compression_outside(layer(), text_handler, request).await;
    assert_eq!(reply.status, StatusCode::NOT_MODIFIED);
    assert_eq!(reply.etag(), tag);
}

// ---------------------------------------------------------------------------------------------
// encoding_aware_etags(false)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn encoding_aware_etags_off_leaves_tags_untouched() {
    let layer = || v1_layer().encoding_aware_etags(false);
    let gzip = conditional_outside(layer(), text_handler, get_request(&[GZIP])).await;
    assert_gzip(&gzip);
    assert_eq!(gzip.etag(), "\"v1\"");

    let handler_tag = conditional_outside(
        ConditionalLayer::from_responses().encoding_aware_etags(false),
        tagged_text_handler,
        get_request(&[GZIP]),
    )
    .await;
    assert_gzip(&handler_tag);
    assert_eq!(handler_tag.etag(), "\"v1\"");
}

#[tokio::test]
async fn encoding_aware_etags_off_compares_suffixed_members_as_written() {
    let layer = || v1_layer().encoding_aware_etags(false);
    let request = get_request(&[GZIP, (IF_NONE_MATCH, "\"v1-gzip\"")]);
    let reply = conditional_outside(layer(), text_handler, request).await;
    assert_eq!(
        reply.status,
        StatusCode::OK,
        "\"v1-gzip\" is just another tag"
    );
    assert_eq!(reply.etag(), "\"v1\"");

    let put = request_with_if_match("\"v1-gzip\"");
    let refused = conditional_outside(layer(), text_handler, put).await;
    assert_eq!(refused.status, StatusCode::PRECONDITION_FAILED);
}

fn request_with_if_match(tag: &str) -> Request<String> {
    request(Method::PUT, &[(IF_MATCH, tag)])
}

// ---------------------------------------------------------------------------------------------
// Responses without validators, and bodies that lie about their size (issue 10, item 6)
// ---------------------------------------------------------------------------------------------

/// A 2xx GET response with no `ETag` and no `Last-Modified` is still a current representation:
/// preconditions are evaluated against it exactly as the source path would evaluate them
/// against `Lookup::Present` with no validators.
#[tokio::test]
async fn a_response_without_validators_is_evaluated_like_a_present_resource() {
    let layer = ConditionalLayer::from_responses().body_hash(None);
    for (headers, status) in [
        (
            vec![(IF_MATCH, "\"nope\"")],
            StatusCode::PRECONDITION_FAILED,
        ),
        (vec![(IF_MATCH, "garbage")], StatusCode::BAD_REQUEST),
        (vec![(IF_NONE_MATCH, "*")], StatusCode::NOT_MODIFIED),
        (vec![(IF_MATCH, "*")], StatusCode::OK),
        (vec![(IF_NONE_MATCH, "\"other\"")], StatusCode::OK),
    ] {
        let reply = send(&layer, page(&[]), get_request(&headers)).await;
        assert_eq!(reply.status, status, "{headers:?}");
        // And the source path agrees, request for request.
        let source = ConditionalLayer::new(answering(Lookup::Present(Validators::new())));
        let by_source = send(&source, page(&[]), get_request(&headers)).await;
        assert_eq!(by_source.status, status, "source path, {headers:?}");
    }
}

/// A body whose size hint claims a few bytes but that yields many chunks, counting its polls.
struct Lying {
    chunks: usize,
    polled: Arc<AtomicUsize>,
}

impl Body for Lying {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if self.chunks == 0 {
            return Poll::Ready(None);
        }
        self.chunks -= 1;
        self.polled.fetch_add(1, Ordering::SeqCst);
        Poll::Ready(Some(Ok(Frame::data(Bytes::from(vec![b'x'; 1024])))))
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(5)
    }
}

/// The hash limit holds on the bytes actually read, not on the size hint: past it the layer
/// stops reading, sends no tag, and hands on what it read followed by the rest, unread.
#[tokio::test]
async fn body_hash_limit_counts_the_bytes_read_whatever_the_size_hint_says() {
    let polled = Arc::new(AtomicUsize::new(0));
    let body = Lying {
        chunks: 64,
        polled: Arc::clone(&polled),
    };
    let layer = ConditionalLayer::from_responses().body_hash(BodyHashConfig::default().limit(16));
    let service = layer.layer(service_fn(move |_: Request<String>| {
        let body = Lying {
            chunks: body.chunks,
            polled: Arc::clone(&body.polled),
        };
        ready(Ok::<_, Infallible>(Response::new(body)))
    }));
    let response = service.oneshot(get_request(&[])).await.unwrap();

    assert_eq!(
        polled.load(Ordering::SeqCst),
        1,
        "stopped at the first chunk past 16 bytes"
    );
    assert!(!response.headers().contains_key(ETAG));
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(body.len(), 64 * 1024, "every byte arrives, in order");
    assert_eq!(polled.load(Ordering::SeqCst), 64);
}

/// `validators_in_412(false)` keeps the current validators off 412s, on the response side too.
#[tokio::test]
async fn validators_can_be_left_off_412_answers_on_the_response_side() {
    let layer = ConditionalLayer::from_responses().validators_in_412(false);
    let handler = page(&[(ETAG, "\"v1\""), (LAST_MODIFIED, MODIFIED)]);
    let reply = send(&layer, handler, get_request(&[(IF_MATCH, "\"v0\"")])).await;
    assert_eq!(reply.status, StatusCode::PRECONDITION_FAILED);
    assert!(!reply.has(ETAG) && !reply.has(LAST_MODIFIED), "{reply:?}");
}
