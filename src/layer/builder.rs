//! The public face of the middleware: [`ConditionalLayer`], its setters, and `impl Layer`.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http::Method;
use tower::Layer;

use super::service::Conditional;
use super::settings::{Config, OnSourceError, Shared};
#[cfg(feature = "validator-cache")]
use crate::cache::validator::ValidatorCache;
use crate::source::FromResponse;

/// Applies [`Conditional`] to a service: RFC 9110 conditional requests, answered before the
/// inner service runs.
///
/// # When the source is asked
///
/// A look-up is a database round trip, so the layer asks its [`ValidatorSource`](crate::ValidatorSource) only when the
/// answer can change what happens to the request:
///
/// | request | source asked? |
/// |---|---|
/// | CONNECT, OPTIONS, TRACE (RFC 9110 §13.2.1 ignores their preconditions) | never |
/// | GET, HEAD with `If-Match`, `If-None-Match`, `If-Modified-Since` or `If-Unmodified-Since`, or a GET with `Range` and `If-Range` | yes |
/// | any other GET or HEAD | only with [`fill_response_validators`](Self::fill_response_validators) |
/// | other methods with `If-Match`, `If-None-Match` or `If-Unmodified-Since` | yes |
/// | other methods listed in [`require_preconditions`](Self::require_preconditions) | yes (428 needs to know whether the target exists) |
/// | any other request | never |
///
/// A request the source is not asked about goes to the inner service untouched, and a failing
/// source cannot affect it. A source that always answers [`Lookup::Unknown`](crate::Lookup::Unknown)
/// ([`ConditionalLayer::from_responses`]) is never asked about GET and HEAD: those are always
/// evaluated against the response.
///
/// # Answering early
///
/// The layer answers 304, 400, 412, 428, 500 and 503 without calling the inner service, so the
/// request body is never read by a handler. To make the answer reach clients that send their
/// whole body before reading (Node's `http` and `http2`, Python's `http.client`, curl over
/// HTTP/2), the layer first reads and discards the rest of the body, over HTTP/1.1 and HTTP/2
/// alike, up to [`drain_limit`](Self::drain_limit) bytes, until
/// [`drain_timeout`](Self::drain_timeout) (a deadline that fires whether or not data arrives),
/// and for at most [`max_concurrent_drains`](Self::max_concurrent_drains) requests at once;
/// then it answers on a connection (or stream) that ends cleanly. A body declared larger than
/// the limit, one still arriving past a bound, or one past the cap, is not read further: the
/// HTTP/1 answer then carries `Connection: close`, and over HTTP/2 the stream is reset after
/// the complete answer. A request with `Expect: 100-continue` is answered at once (over
/// HTTP/1.1 with `Connection: close`) and its body is never asked for: the client never sends
/// it. Clients should send `Expect: 100-continue` with large uploads.
///
/// # Security: put authentication outside
///
/// The layer answers before the handler runs, so authorization that lives in handlers or
/// extractors runs after it: an unauthenticated client would get 412s carrying the current
/// validators, and 304 versus 200 would tell it whether its guess of a tag is current. Put
/// authentication and authorization in a layer *outside* `ConditionalLayer` (with axum, a
/// `route_layer` added after it, or a `layer` on the router), and consider
/// [`validators_in_412(false)`](Self::validators_in_412) where validators themselves are
/// sensitive.
///
/// # Examples
///
/// ```
/// use std::convert::Infallible;
/// use http::{request::Parts, Method, Request, Response, StatusCode};
/// use tower::{service_fn, Layer, ServiceExt};
/// use tower_conditional::{ConditionalLayer, Lookup, OnSourceError, Validators};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let source = |_: &Parts| async { Ok::<_, Infallible>(Lookup::Present(Validators::new())) };
/// let layer = ConditionalLayer::new(source)
///     .require_preconditions([Method::PUT, Method::PATCH, Method::DELETE])
///     .on_source_error(OnSourceError::RejectAll)
///     .fill_response_validators(true);
/// let service = layer.layer(service_fn(|_: Request<String>| async {
///     Ok::<_, Infallible>(Response::new(String::new()))
/// }));
/// let blind_delete = Request::delete("/item").body(String::new())?;
/// assert_eq!(service.oneshot(blind_delete).await?.status(), StatusCode::PRECONDITION_REQUIRED);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
#[must_use]
pub struct ConditionalLayer<V> {
    source: V,
    config: Config,
}

impl<V> ConditionalLayer<V> {
    /// A layer that asks `source` for the validators of each request's target.
    ///
    /// By default no method is required to be conditional, source failures follow
    /// [`OnSourceError::ServeReads`] (503 with `Retry-After: 1`), validators are not filled into
    /// responses, bodies of up to [`DEFAULT_BODY_HASH_LIMIT`](crate::DEFAULT_BODY_HASH_LIMIT) are hashed where the source answers
    /// [`Lookup::Unknown`](crate::Lookup::Unknown), tags are not rewritten per coding
    /// ([`encoding_aware_etags`](Self::encoding_aware_etags) is off), 412s carry the current
    /// validators, and early answers drain up to [`DEFAULT_DRAIN_LIMIT`](crate::DEFAULT_DRAIN_LIMIT) bytes of request body
    /// within [`DEFAULT_DRAIN_TIMEOUT`](crate::DEFAULT_DRAIN_TIMEOUT).
    ///
    /// ```
    /// use std::convert::Infallible;
    /// use http::{header, request::Parts, Request, Response, StatusCode};
    /// use tower::{service_fn, Layer, ServiceExt};
    /// use tower_conditional::{ConditionalLayer, ETag, Lookup, Validators};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let source = |_: &Parts| async {
    ///     let current = Validators::new().with_etag(ETag::from_static("\"v1\""));
    ///     Ok::<_, Infallible>(Lookup::Present(current))
    /// };
    /// let handler = service_fn(|_: Request<String>| async {
    ///     Ok::<_, Infallible>(Response::new(String::from("hello")))
    /// });
    /// let service = ConditionalLayer::new(source).layer(handler);
    /// // By default a write needs no precondition, but a stale one is refused.
    /// let blind = Request::put("/").body(String::new())?;
    /// assert_eq!(service.clone().oneshot(blind).await?.status(), StatusCode::OK);
    /// let stale = Request::put("/").header(header::IF_MATCH, "\"v0\"").body(String::new())?;
    /// assert_eq!(service.oneshot(stale).await?.status(), StatusCode::PRECONDITION_FAILED);
    /// # Ok(())
    /// # }
    /// ```
    pub fn new(source: V) -> Self {
        ConditionalLayer {
            source,
            config: Config::default(),
        }
    }

    /// Requires requests with these methods to carry `If-Match` or `If-Unmodified-Since` when
    /// the target exists: without either they get 428 Precondition Required (RFC 6585 §3) and
    /// the inner service is not called. Creating a resource (target missing) needs neither.
    ///
    /// The field must actually be evaluated: an `If-Unmodified-Since` that is not a valid date,
    /// or that the resource has no `Last-Modified` to compare with, is ignored by the RFC and so
    /// protects nothing; such a request gets 428 too. Methods whose preconditions RFC 9110
    /// §13.2.1 ignores (CONNECT, OPTIONS, TRACE) never get 428, even when listed.
    ///
    /// A request whose preconditions fail still gets 412 (for example a create-only `PUT` with
    /// `If-None-Match: *` on an existing item), and a malformed field still gets 400.
    ///
    /// ```
    /// use std::convert::Infallible;
    /// use http::{header, request::Parts, Method, Request, Response, StatusCode};
    /// use tower::{service_fn, Layer, ServiceExt};
    /// use tower_conditional::{ConditionalLayer, ETag, Lookup, Validators};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let source = |head: &Parts| {
    ///     let lookup = match head.uri.path() {
    ///         "/old" => Validators::new().with_etag(ETag::from_static("\"v1\"")).into(),
    ///         _ => Lookup::Missing,
    ///     };
    ///     async move { Ok::<_, Infallible>(lookup) }
    /// };
    /// let service = ConditionalLayer::new(source)
    ///     .require_preconditions([Method::PUT])
    ///     .layer(service_fn(|_: Request<String>| async {
    ///         Ok::<_, Infallible>(Response::new(String::new()))
    ///     }));
    /// let response = service.clone().oneshot(Request::put("/old").body(String::new())?).await?;
    /// assert_eq!(response.status(), StatusCode::PRECONDITION_REQUIRED);
    /// let response = service.oneshot(Request::put("/new").body(String::new())?).await?;
    /// assert_eq!(response.status(), StatusCode::OK); // creating needs no precondition
    /// # Ok(())
    /// # }
    /// ```
    pub fn require_preconditions(mut self, methods: impl IntoIterator<Item = Method>) -> Self {
        let methods: Arc<[Method]> = methods.into_iter().collect();
        self.config.required = (!methods.is_empty()).then_some(methods);
        self
    }

    /// Sets what happens when the source fails; see [`OnSourceError`].
    ///
    /// ```
    /// use std::convert::Infallible;
    /// use http::{request::Parts, Request, Response, StatusCode};
    /// use tower::{service_fn, Layer, ServiceExt};
    /// use tower_conditional::{ConditionalLayer, Lookup, OnSourceError};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let down = |_: &Parts| async { Err::<Lookup, _>("database unreachable") };
    /// let service = ConditionalLayer::new(down)
    ///     .on_source_error(OnSourceError::RejectAll)
    ///     .layer(service_fn(|_: Request<String>| async {
    ///         Ok::<_, Infallible>(Response::new(String::from("hello")))
    ///     }));
    /// let revalidate = Request::get("/").header("if-none-match", "\"v1\"").body(String::new())?;
    /// assert_eq!(service.clone().oneshot(revalidate).await?.status(), StatusCode::SERVICE_UNAVAILABLE);
    /// // An unconditional read needs no look-up, so the failing source cannot refuse it.
    /// let read = service.oneshot(Request::get("/").body(String::new())?).await?;
    /// assert_eq!(read.status(), StatusCode::OK);
    /// # Ok(())
    /// # }
    /// ```
    pub fn on_source_error(mut self, policy: OnSourceError) -> Self {
        self.config.settings.on_source_error = policy;
        self
    }

    /// The `Retry-After` of the 503 sent when the source fails, rounded up to whole seconds;
    /// `None` sends none. Default: [`DEFAULT_RETRY_AFTER`](crate::DEFAULT_RETRY_AFTER) (1 second), so clients that retry on
    /// 503 back off instead of looping.
    ///
    /// ```
    /// use std::convert::Infallible;
    /// use std::time::Duration;
    /// use http::{header, request::Parts, Request, Response, StatusCode};
    /// use tower::{service_fn, Layer, ServiceExt};
    /// use tower_conditional::{ConditionalLayer, Lookup};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let down = |_: &Parts| async { Err::<Lookup, _>("database unreachable") };
    /// let service = ConditionalLayer::new(down)
    ///     .retry_after(Some(Duration::from_millis(2_500)))
    ///     .layer(service_fn(|_: Request<String>| async {
    ///         Ok::<_, Infallible>(Response::new(String::new()))
    ///     }));
    /// let write = Request::put("/").header(header::IF_MATCH, "\"v1\"").body(String::new())?;
    /// let refused = service.oneshot(write).await?;
    /// assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
    /// assert_eq!(refused.headers()[header::RETRY_AFTER], "3");
    /// # Ok(())
    /// # }
    /// ```
    pub fn retry_after(mut self, delay: Option<Duration>) -> Self {
        self.config.settings.retry_after = delay;
        self
    }

    /// Whether a 412 carries the current `ETag` and `Last-Modified` (so the client can refetch
    /// and retry). On by default; turn it off where validators are themselves sensitive and the
    /// layer may answer clients that are not yet authorized (see "Security" above).
    ///
    /// ```
    /// use std::convert::Infallible;
    /// use http::{header, request::Parts, Request, Response, StatusCode};
    /// use tower::{service_fn, Layer, ServiceExt};
    /// use tower_conditional::{ConditionalLayer, ETag, Lookup, Validators};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let source = |_: &Parts| async {
    ///     let current = Validators::new().with_etag(ETag::from_static("\"v2\""));
    ///     Ok::<_, Infallible>(Lookup::Present(current))
    /// };
    /// let service = ConditionalLayer::new(source)
    ///     .validators_in_412(false)
    ///     .layer(service_fn(|_: Request<String>| async {
    ///         Ok::<_, Infallible>(Response::new(String::new()))
    ///     }));
    /// let stale = Request::put("/").header(header::IF_MATCH, "\"v1\"").body(String::new())?;
    /// let refused = service.oneshot(stale).await?;
    /// assert_eq!(refused.status(), StatusCode::PRECONDITION_FAILED);
    /// assert!(!refused.headers().contains_key(header::ETAG));
    /// # Ok(())
    /// # }
    /// ```
    pub fn validators_in_412(mut self, on: bool) -> Self {
        self.config.settings.validators_in_412 = on;
        self
    }

    /// How many bytes of an unread request body the layer reads and discards before an early
    /// answer (304, 400, 412, 428, 500, 503), so that clients which send the whole body before
    /// reading receive it. Default: [`DEFAULT_DRAIN_LIMIT`](crate::DEFAULT_DRAIN_LIMIT) (64 MiB). A body declared larger
    /// is not read at all, and one that turns out larger is read no further: the answer then
    /// carries `Connection: close`. `0` never drains.
    ///
    /// ```
    /// use std::convert::Infallible;
    /// use http::{header, request::Parts, Request, Response, StatusCode};
    /// use tower::{service_fn, Layer, ServiceExt};
    /// use tower_conditional::{ConditionalLayer, Lookup};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let source = |_: &Parts| async { Ok::<_, Infallible>(Lookup::Missing) };
    /// let service = ConditionalLayer::new(source)
    ///     .drain_limit(1024)
    ///     .layer(service_fn(|_: Request<String>| async {
    ///         Ok::<_, Infallible>(Response::new(String::new()))
    ///     }));
    /// let upload = "x".repeat(4096); // larger than the limit
    /// let stale = Request::put("/").header(header::IF_MATCH, "\"v1\"").body(upload)?;
    /// let refused = service.oneshot(stale).await?;
    /// assert_eq!(refused.status(), StatusCode::PRECONDITION_FAILED);
    /// assert_eq!(refused.headers()[header::CONNECTION], "close");
    /// # Ok(())
    /// # }
    /// ```
    pub fn drain_limit(mut self, bytes: u64) -> Self {
        self.config.settings.drain_limit = bytes;
        self
    }

    /// How long the layer keeps reading an unread request body before an early answer.
    /// Default: [`DEFAULT_DRAIN_TIMEOUT`](crate::DEFAULT_DRAIN_TIMEOUT) (10 seconds). Past it
    /// the answer goes out at once, with `Connection: close` over HTTP/1 (over HTTP/2 the stream
    /// is reset after the answer), whether or not data is still arriving: a client that sends
    /// one chunk and stops is answered at the deadline.
    ///
    /// The deadline needs no runtime and no feature: it is kept by the layer's one timer thread
    /// (started the first time a deadline is waited on), so it fires on tokio, async-std,
    /// smol or a hand-written executor alike.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_conditional::ConditionalLayer;
    ///
    /// let layer = ConditionalLayer::from_responses().drain_timeout(Duration::from_secs(2));
    /// # let _ = layer;
    /// ```
    pub fn drain_timeout(mut self, timeout: Duration) -> Self {
        self.config.settings.drain_timeout = timeout;
        self
    }

    /// How many early answers of this layer may drain request bodies at once (see
    /// [`drain_limit`](Self::drain_limit)). Default:
    /// [`DEFAULT_MAX_CONCURRENT_DRAINS`](crate::DEFAULT_MAX_CONCURRENT_DRAINS) (64). Past the
    /// cap an early answer goes out at once without reading, as for a body larger than the
    /// limit: with `Connection: close` over HTTP/1, followed by a reset of the stream over
    /// HTTP/2. Every service the layer builds (every route of an axum `route_layer`) shares the
    /// count. `0` never drains.
    ///
    /// ```
    /// use tower_conditional::ConditionalLayer;
    ///
    /// let layer = ConditionalLayer::from_responses().max_concurrent_drains(16);
    /// # let _ = layer;
    /// ```
    pub fn max_concurrent_drains(mut self, drains: usize) -> Self {
        self.config.settings.max_drains = drains;
        self
    }

    /// When `true`, successful (2xx) responses to GET and HEAD get the same metadata a 304
    /// for them would carry, from the source's [`Validators`](crate::Validators): `ETag`,
    /// `Last-Modified`, `Cache-Control`, `Expires` and `Content-Location` where the handler set
    /// none, and `Vary` merged with the handler's. The 200 and the 304 then cannot drift apart.
    /// Off by default.
    ///
    /// **Cost**: the validators are needed for every GET and HEAD, so the source is asked about
    /// unconditional ones too (one look-up per read instead of one per revalidation).
    ///
    /// The filled-in values are the ones the source answered before the handler ran. A handler
    /// that may read a newer version than the source saw should set its own `ETag` from the
    /// snapshot it serves; the layer never overwrites one.
    ///
    /// ```
    /// use std::convert::Infallible;
    /// use http::{header, request::Parts, Request, Response};
    /// use tower::{service_fn, Layer, ServiceExt};
    /// use tower_conditional::{ConditionalLayer, ETag, Lookup, Validators};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let source = |_: &Parts| async {
    ///     let current = Validators::new().with_etag(ETag::from_static("\"v1\""));
    ///     Ok::<_, Infallible>(Lookup::Present(current))
    /// };
    /// let service = ConditionalLayer::new(source)
    ///     .fill_response_validators(true)
    ///     .layer(service_fn(|_: Request<String>| async {
    ///         Ok::<_, Infallible>(Response::new(String::from("hello")))
    ///     }));
    /// let response = service.oneshot(Request::get("/").body(String::new())?).await?;
    /// assert_eq!(response.headers()[header::ETAG], "\"v1\"");
    /// # Ok(())
    /// # }
    /// ```
    pub fn fill_response_validators(mut self, fill: bool) -> Self {
        self.config.settings.fill_response_validators = fill;
        self
    }

    /// The largest body the response side reads to tag it with its hash; `None` turns body
    /// hashing off. Default: [`DEFAULT_BODY_HASH_LIMIT`](crate::DEFAULT_BODY_HASH_LIMIT) (1 MiB).
    ///
    /// Applies only where the source answered [`Lookup::Unknown`](crate::Lookup::Unknown), to a 2xx GET response without
    /// an `ETag` whose size is known, or that is compressed (a compressor inside the layer
    /// does not know its output's size: the bytes that leave are hashed, within this limit
    /// and [`body_hash_timeout`](Self::body_hash_timeout)); see [`ConditionalLayer::from_responses`].
    ///
    /// ```
    /// use std::convert::Infallible;
    /// use http::{header, Request, Response};
    /// use tower::{service_fn, Layer, ServiceExt};
    /// use tower_conditional::ConditionalLayer;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let page = service_fn(|_: Request<String>| async {
    ///     Ok::<_, Infallible>(Response::new(String::from("<h1>twenty bytes</h1>")))
    /// });
    /// let small = ConditionalLayer::from_responses().body_hash_limit(Some(16)).layer(page);
    /// let response = small.oneshot(Request::get("/").body(String::new())?).await?;
    /// assert!(!response.headers().contains_key(header::ETAG)); // too big to hash
    /// # Ok(())
    /// # }
    /// ```
    pub fn body_hash_limit(mut self, limit: Option<u64>) -> Self {
        self.config.settings.body_hash_limit = limit;
        self
    }

    /// How long the response side waits for a body it reads to tag with its hash (see
    /// [`body_hash_limit`](Self::body_hash_limit)). Default:
    /// [`DEFAULT_BODY_HASH_TIMEOUT`](crate::DEFAULT_BODY_HASH_TIMEOUT) (1 second). A body not
    /// whole by then is sent on as it comes, untagged, rather than held: what was read, then the
    /// rest. The bound holds while the body sends nothing too (the layer wakes itself, on any
    /// runtime, from one shared timer thread started the first time a body is hashed).
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_conditional::ConditionalLayer;
    ///
    /// let layer = ConditionalLayer::from_responses().body_hash_timeout(Duration::from_millis(200));
    /// # let _ = layer;
    /// ```
    pub fn body_hash_timeout(mut self, timeout: Duration) -> Self {
        self.config.settings.body_hash_timeout = timeout;
        self
    }

    /// Whether entity tags are made specific to the response's content coding. **Off by
    /// default**; turn it on when tower-http's `CompressionLayer` (or another compressor) runs
    /// inside this layer, so that the gzip and identity bodies of one version do not share one
    /// strong tag.
    ///
    /// With it on, a strong tag `"v7"` leaves a gzip response as `"v7-gzip"` (and the identity
    /// response of a tag that itself ends like a coding, `"doc-br"`, as `"doc-br-identity"`:
    /// every tag issued names exactly one version and one coding); 2xx responses with a tag and
    /// early 304s carry `Vary: Accept-Encoding`. On the way in:
    ///
    /// - an `If-Match` member passes only when it is a tag issued for the *current* version, in
    ///   any coding: a write is never accepted on a tag the server did not issue for it;
    /// - a strong `If-None-Match` member counts only in a coding (identity included) the
    ///   request's `Accept-Encoding` allows (a 304 tells the cache that the bytes it holds are
    ///   what it would get), and the 304 names the form the client holds;
    /// - where no member fixes the coding (a weak member, `*`, `If-Modified-Since`), or the
    ///   request refuses identity (compression may answer 406), the handler runs and the
    ///   layer decides on the response, against the tag it leaves with;
    /// - `If-Range` is never mapped: a byte range of gzip bytes is not one of identity bytes.
    ///
    /// The crate docs' "Compression" section gives the whole mapping. With the `compression`
    /// feature, [`compressed`](Self::compressed) turns this on and puts tower-http's
    /// `CompressionLayer` inside, in the one order that works.
    ///
    /// ```
    /// use std::convert::Infallible;
    /// use http::{header, Request, Response};
    /// use tower::{service_fn, Layer, ServiceExt};
    /// use tower_conditional::ConditionalLayer;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let gzipped = service_fn(|_: Request<String>| async {
    ///     let response = Response::builder()
    ///         .header(header::ETAG, "\"v7\"")
    ///         .header(header::CONTENT_ENCODING, "gzip")
    ///         .body(String::new());
    ///     Ok::<_, Infallible>(response.expect("valid headers"))
    /// });
    /// let get = || Request::get("/").body(String::new());
    /// let aware = ConditionalLayer::from_responses().encoding_aware_etags(true).layer(gzipped);
    /// let response = aware.oneshot(get()?).await?;
    /// assert_eq!(response.headers()[header::ETAG], "\"v7-gzip\"");
    /// assert_eq!(response.headers()[header::VARY], "Accept-Encoding");
    /// let plain = ConditionalLayer::from_responses().layer(gzipped);
    /// assert_eq!(plain.oneshot(get()?).await?.headers()[header::ETAG], "\"v7\"");
    /// # Ok(())
    /// # }
    /// ```
    pub fn encoding_aware_etags(mut self, on: bool) -> Self {
        self.config.settings.encoding_aware_etags = on;
        self
    }

    /// Answers revalidations (GET and HEAD with `If-None-Match` or `If-Modified-Since`) with
    /// 304 from `cache` when its fresh entry says so, without running the source's query;
    /// invalidates a write's keys unless its response is an error. What it may decide, how late
    /// a 304 can be and how much memory it takes: see [`ValidatorCache`](crate::ValidatorCache).
    /// Off by default. The cache stores what the source answers, so it needs one: a layer from
    /// [`from_responses`](ConditionalLayer::from_responses) never consults it.
    ///
    /// ```
    /// use std::convert::Infallible;
    /// use std::sync::Arc;
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use http::{header, request::Parts, Request, Response, StatusCode};
    /// use tower::{service_fn, Layer, ServiceExt};
    /// use tower_conditional::{ConditionalLayer, ETag, Lookup, ValidatorCache, Validators};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let queries = Arc::new(AtomicUsize::new(0));
    /// let counted = Arc::clone(&queries);
    /// let source = move |_: &Parts| {
    ///     let counted = Arc::clone(&counted);
    ///     async move {
    ///         counted.fetch_add(1, Ordering::SeqCst); // the query, inside the future
    ///         Ok::<_, Infallible>(Lookup::from(Validators::new().with_etag(ETag::from(3u64))))
    ///     }
    /// };
    /// let cache = ValidatorCache::builder(|head: &Parts| Some(head.uri.path().to_owned())).build();
    /// let service = ConditionalLayer::new(source)
    ///     .validator_cache(cache.clone())
    ///     .layer(service_fn(|_: Request<String>| async {
    ///         Ok::<_, Infallible>(Response::new(String::from("v3")))
    ///     }));
    /// for _ in 0..2 {
    ///     let revalidate = Request::get("/doc").header(header::IF_NONE_MATCH, "\"3\"");
    ///     let response = service.clone().oneshot(revalidate.body(String::new())?).await?;
    ///     assert_eq!(response.status(), StatusCode::NOT_MODIFIED);
    /// }
    /// assert_eq!(queries.load(Ordering::SeqCst), 1); // the second was a hit
    /// # Ok(())
    /// # }
    /// ```
    #[cfg(feature = "validator-cache")]
    pub fn validator_cache<K>(mut self, cache: ValidatorCache<K>) -> Self
    where
        K: std::hash::Hash + Eq + Clone + Send + Sync + 'static,
    {
        self.config.cache = Some(Arc::new(cache));
        self
    }
}

impl ConditionalLayer<FromResponse> {
    /// A layer for services that cannot tell their validators before the handler runs (rendered
    /// pages, proxied content): GET and HEAD are evaluated against the `ETag` / `Last-Modified`
    /// of the handler's own response, and a 2xx GET response without an `ETag` is tagged with
    /// the hash of its body (see [`body_hash_limit`](Self::body_hash_limit)).
    ///
    /// Other methods are never evaluated after the handler: a precondition checked then would
    /// come too late, as the write would already have happened. Writes without preconditions
    /// pass through untouched; a write that carries `If-Match`, `If-None-Match` or a valid
    /// `If-Unmodified-Since` gets 412 (it cannot be verified), and one that must carry a
    /// precondition (see [`require_preconditions`](Self::require_preconditions)) gets a 500
    /// naming the configuration error (see [`Lookup::Unknown`](crate::Lookup::Unknown)).
    /// Protect writes with a [`ValidatorSource`](crate::ValidatorSource) instead.
    ///
    /// ```
    /// use std::convert::Infallible;
    /// use http::{header, Request, Response, StatusCode};
    /// use tower::{service_fn, Layer, ServiceExt};
    /// use tower_conditional::ConditionalLayer;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let page = service_fn(|_: Request<String>| async {
    ///     Ok::<_, Infallible>(Response::new(String::from("<h1>rendered</h1>")))
    /// });
    /// let service = ConditionalLayer::from_responses().layer(page);
    ///
    /// let first = service.clone().oneshot(Request::get("/").body(String::new())?).await?;
    /// let etag = first.headers()[header::ETAG].clone();
    /// let again = Request::get("/").header(header::IF_NONE_MATCH, etag).body(String::new())?;
    /// assert_eq!(service.oneshot(again).await?.status(), StatusCode::NOT_MODIFIED);
    /// # Ok(())
    /// # }
    /// ```
    pub fn from_responses() -> Self {
        ConditionalLayer::new(FromResponse)
    }
}

impl<V> fmt::Debug for ConditionalLayer<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConditionalLayer")
            .field("source", &std::any::type_name::<V>())
            .field("config", &self.config)
            .finish()
    }
}

impl<S, V: Clone> Layer<S> for ConditionalLayer<V> {
    type Service = Conditional<S, V>;

    fn layer(&self, inner: S) -> Self::Service {
        Conditional {
            inner,
            shared: Arc::new(Shared {
                source: self.source.clone(),
                config: self.config.clone(),
            }),
        }
    }
}
