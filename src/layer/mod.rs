//! The tower middleware: [`ConditionalLayer`] and the [`Conditional`] service it builds.
//!
//! On each request the service asks its [`ValidatorSource`] for the target's current
//! validators, [evaluates](crate::evaluate) the request's preconditions against them and, before
//! the inner service runs, answers 304, 412, 400 or 428 itself, or calls the inner service.
//!
//! ```
//! use std::convert::Infallible;
//! use http::{header, Request, Response, StatusCode};
//! use http::request::Parts;
//! use tower::{service_fn, ServiceBuilder, ServiceExt};
//! use tower_conditional::{ConditionalLayer, ETag, Lookup, Validators};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let source = |_: &Parts| async {
//!     Ok::<_, Infallible>(Lookup::Present(
//!         Validators::new().with_etag(ETag::from_static("\"v1\"")),
//!     ))
//! };
//! let service = ServiceBuilder::new()
//!     .layer(ConditionalLayer::new(source))
//!     .service(service_fn(|_req: Request<String>| async {
//!         Ok::<_, Infallible>(Response::new(String::from("hello")))
//!     }));
//!
//! let request = Request::get("/").header(header::IF_NONE_MATCH, "\"v1\"").body(String::new())?;
//! let response = service.oneshot(request).await?;
//! assert_eq!(response.status(), StatusCode::NOT_MODIFIED);
//! # Ok(())
//! # }
//! ```

mod future;
mod response_side;

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::{IF_RANGE, RANGE};
use http::request::Parts;
use http::{Method, Request, Response};
use http_body::Body;
use tower::{Layer, Service};

pub use self::future::ResponseFuture;
use self::response_side::{Post, ResponseCheck};
use crate::body::ResponseBody;
use crate::{
    Checked, Condition, Conditions, Decision, Lookup, RangeHandling, ResourceState,
    ValidatorSource, response,
};

/// What to do when the [`ValidatorSource`] fails (or answers [`Lookup::Unknown`] for a request
/// whose preconditions must be checked).
///
/// ```
/// use std::convert::Infallible;
/// use http::{request::Parts, Request, Response, StatusCode};
/// use tower::{service_fn, Layer, ServiceExt};
/// use tower_conditional::{ConditionalLayer, Lookup};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let down = |_: &Parts| async { Err::<Lookup, _>("database unreachable") };
/// let handler = service_fn(|_: Request<String>| async {
///     Ok::<_, Infallible>(Response::new(String::from("hello")))
/// });
/// // The default, `ServeReads`: reads are served in full, writes refused.
/// let service = ConditionalLayer::new(down).layer(handler);
/// let read = service.clone().oneshot(Request::get("/").body(String::new())?).await?;
/// assert_eq!(read.status(), StatusCode::OK);
/// let write = service.oneshot(Request::delete("/").body(String::new())?).await?;
/// assert_eq!(write.status(), StatusCode::SERVICE_UNAVAILABLE);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum OnSourceError {
    /// GET and HEAD go to the inner service unevaluated (a full response is always safe);
    /// every other method is refused with 503, so no write goes through unchecked. The default.
    #[default]
    ServeReads,
    /// Every method is refused with 503.
    RejectAll,
}

/// Applies [`Conditional`] to a service: RFC 9110 conditional requests, answered before the
/// inner service runs.
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

/// The default for [`ConditionalLayer::body_hash_limit`]: 1 MiB.
///
/// ```
/// use tower_conditional::{ConditionalLayer, DEFAULT_BODY_HASH_LIMIT};
///
/// assert_eq!(DEFAULT_BODY_HASH_LIMIT, 1024 * 1024);
/// // Hash response bodies of up to 4 MiB instead.
/// let layer = ConditionalLayer::from_responses()
///     .body_hash_limit(Some(4 * DEFAULT_BODY_HASH_LIMIT));
/// # let _ = layer;
/// ```
pub const DEFAULT_BODY_HASH_LIMIT: u64 = 1 << 20;

#[derive(Debug, Clone)]
struct Config {
    required: Option<Arc<[Method]>>,
    on_source_error: OnSourceError,
    fill_response_validators: bool,
    body_hash_limit: Option<u64>,
    encoding_aware_etags: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            required: None,
            on_source_error: OnSourceError::default(),
            fill_response_validators: false,
            body_hash_limit: Some(DEFAULT_BODY_HASH_LIMIT),
            encoding_aware_etags: true,
        }
    }
}

impl<V> ConditionalLayer<V> {
    /// A layer that asks `source` for the validators of each request's target.
    ///
    /// By default no method is required to be conditional, source failures follow
    /// [`OnSourceError::ServeReads`], validators are not filled into responses, bodies of up to
    /// [`DEFAULT_BODY_HASH_LIMIT`] are hashed where the source answers [`Lookup::Unknown`], and
    /// strong tags are made [encoding-aware](Self::encoding_aware_etags).
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
    /// let read = service.oneshot(Request::get("/").body(String::new())?).await?;
    /// assert_eq!(read.status(), StatusCode::SERVICE_UNAVAILABLE);
    /// # Ok(())
    /// # }
    /// ```
    pub fn on_source_error(mut self, policy: OnSourceError) -> Self {
        self.config.on_source_error = policy;
        self
    }

    /// When `true`, successful (2xx) responses to GET and HEAD that carry no `ETag` (or no
    /// `Last-Modified`) get the source's, so handlers need not repeat them. Off by default.
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
        self.config.fill_response_validators = fill;
        self
    }

    /// The largest body the response side reads to tag it with its hash; `None` turns body
    /// hashing off. Default: [`DEFAULT_BODY_HASH_LIMIT`] (1 MiB).
    ///
    /// Applies only where the source answered [`Lookup::Unknown`], to a 2xx GET response without
    /// an `ETag` whose size is known; see [`ConditionalLayer::from_responses`].
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
        self.config.body_hash_limit = limit;
        self
    }

    /// Whether strong tags are made specific to the response's `Content-Encoding` (`"v7"` leaves
    /// a gzip response as `"v7-gzip"`), and `If-None-Match` / `If-Match` members with such a
    /// suffix compared by their base tag. On by default; see the crate docs on compression.
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
    /// let aware = ConditionalLayer::from_responses().layer(gzipped);
    /// assert_eq!(aware.oneshot(get()?).await?.headers()[header::ETAG], "\"v7-gzip\"");
    /// let plain = ConditionalLayer::from_responses().encoding_aware_etags(false).layer(gzipped);
    /// assert_eq!(plain.oneshot(get()?).await?.headers()[header::ETAG], "\"v7\"");
    /// # Ok(())
    /// # }
    /// ```
    pub fn encoding_aware_etags(mut self, on: bool) -> Self {
        self.config.encoding_aware_etags = on;
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
    /// pass through untouched; writes that carry one (or must, see
    /// [`require_preconditions`](Self::require_preconditions)) are refused with 503, since their
    /// preconditions cannot be honoured. Protect writes with a [`ValidatorSource`] instead.
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

/// The source of [`ConditionalLayer::from_responses`]: answers [`Lookup::Unknown`] for every
/// request, so validators come from the responses.
///
/// ```
/// use http::Request;
/// use tower_conditional::{FromResponse, Lookup, ValidatorSource};
///
/// let (head, ()) = Request::get("/").body(())?.into_parts();
/// assert_eq!(FromResponse.lookup(&head).into_inner(), Ok(Lookup::Unknown));
/// # Ok::<(), http::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct FromResponse;

impl ValidatorSource for FromResponse {
    type Error = std::convert::Infallible;
    type Future = std::future::Ready<Result<Lookup, Self::Error>>;

    fn lookup(&self, _: &Parts) -> Self::Future {
        std::future::ready(Ok(Lookup::Unknown))
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
            source: self.source.clone(),
            config: self.config.clone(),
        }
    }
}

/// Middleware that evaluates conditional requests against a [`ValidatorSource`] before calling
/// the inner service. Built by [`ConditionalLayer`].
///
/// Its answers (304, 400, 412, 428, 503) are responses, never errors: the error type is the
/// inner service's. When it answers, the inner service is not called.
///
/// # What the inner service sees
///
/// - For methods other than GET and HEAD, a [`Checked`] extension with the state the
///   preconditions were evaluated against, for a compare-and-set write. It is absent when the
///   source failed or answered [`Lookup::Unknown`] (such writes only get through when they carry
///   no precondition), so take it as `Option<Extension<Checked>>` if that can happen.
/// - `Range` only when it is to be honoured, and never an `If-Range` the layer evaluated. Where
///   `If-Range` cannot be evaluated before the handler (source failed, validators unknown), both
///   are removed: a full 200 is the only answer that cannot splice two versions.
///
/// # Placement
///
/// - With axum, use `Router::route_layer`, so routing's 404 and 405 come first (RFC 9110
///   §13.2.1 evaluates preconditions after the request's other checks); with `Router::layer` the
///   source is also asked about unrouted paths.
/// - Put `ConditionalLayer` outside tower-http's `CompressionLayer` (see the crate docs on
///   compression).
/// - To bound a slow source, put a timeout outside the layer: tower-http's `TimeoutLayer`
///   answers 408 and keeps the error type; `tower::timeout::TimeoutLayer` makes it a boxed error
///   (axum then needs `HandleErrorLayer`).
///
/// # Examples
///
/// ```
/// use std::convert::Infallible;
/// use http::{header, request::Parts, Request, Response, StatusCode};
/// use tower::{service_fn, ServiceExt};
/// use tower_conditional::{Conditional, ETag, Lookup, Validators};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let source = |_: &Parts| async {
///     let current = Validators::new().with_etag(ETag::from_static("\"v2\""));
///     Ok::<_, Infallible>(Lookup::Present(current))
/// };
/// let inner = service_fn(|request: Request<String>| async move {
///     // If-Range named an old version: no Range reaches the handler, which sends all of v2.
///     assert!(!request.headers().contains_key(header::RANGE));
///     Ok::<_, Infallible>(Response::new(String::from("all of v2")))
/// });
/// let request = Request::get("/")
///     .header(header::RANGE, "bytes=100-")
///     .header(header::IF_RANGE, "\"v1\"")
///     .body(String::new())?;
/// let response = Conditional::new(inner, source).oneshot(request).await?;
/// assert_eq!(response.status(), StatusCode::OK);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Conditional<S, V> {
    inner: S,
    source: V,
    config: Config,
}

impl<S, V> Conditional<S, V> {
    /// Wraps `inner` with the default configuration; see [`ConditionalLayer`] to configure it.
    ///
    /// ```
    /// use std::convert::Infallible;
    /// use http::{header, request::Parts, Request, Response, StatusCode};
    /// use tower::{service_fn, ServiceExt};
    /// use tower_conditional::{Conditional, Lookup};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let source = |_: &Parts| async { Ok::<_, Infallible>(Lookup::Missing) };
    /// let inner = service_fn(|_: Request<String>| async {
    ///     Ok::<_, Infallible>(Response::new(String::new()))
    /// });
    /// // `If-Match: *` is false for a missing resource: the inner service is not called.
    /// let update = Request::put("/").header(header::IF_MATCH, "*").body(String::new())?;
    /// let response = Conditional::new(inner, source).oneshot(update).await?;
    /// assert_eq!(response.status(), StatusCode::PRECONDITION_FAILED);
    /// # Ok(())
    /// # }
    /// ```
    pub fn new(inner: S, source: V) -> Self {
        Conditional {
            inner,
            source,
            config: Config::default(),
        }
    }

    /// The inner service.
    ///
    /// ```
    /// use tower_conditional::{Conditional, FromResponse};
    ///
    /// #[derive(Debug, PartialEq)]
    /// struct Backend {
    ///     name: &'static str,
    /// }
    ///
    /// let service = Conditional::new(Backend { name: "api" }, FromResponse);
    /// assert_eq!(service.get_ref().name, "api");
    /// ```
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    ///
    /// ```
    /// use tower_conditional::{Conditional, FromResponse};
    ///
    /// #[derive(Debug, PartialEq)]
    /// struct Backend {
    ///     name: &'static str,
    /// }
    ///
    /// let mut service = Conditional::new(Backend { name: "api" }, FromResponse);
    /// service.get_mut().name = "api-v2";
    /// assert_eq!(service.get_ref().name, "api-v2");
    /// ```
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Consumes the middleware, returning the inner service.
    ///
    /// ```
    /// use tower_conditional::{Conditional, FromResponse};
    ///
    /// #[derive(Debug, PartialEq)]
    /// struct Backend {
    ///     name: &'static str,
    /// }
    ///
    /// let service = Conditional::new(Backend { name: "api" }, FromResponse);
    /// assert_eq!(service.into_inner(), Backend { name: "api" });
    /// ```
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S: fmt::Debug, V> fmt::Debug for Conditional<S, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Conditional")
            .field("inner", &self.inner)
            .field("source", &std::any::type_name::<V>())
            .field("config", &self.config)
            .finish()
    }
}

impl<S, V, B, ResB> Service<Request<B>> for Conditional<S, V>
where
    S: Service<Request<B>, Response = Response<ResB>> + Clone,
    V: ValidatorSource,
    ResB: Body,
{
    type Response = Response<ResponseBody<ResB>>;
    type Error = S::Error;
    type Future = ResponseFuture<S, V, B, ResB>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        // The ready service goes into the future; a fresh clone stays behind (tower-service's
        // "be careful when cloning inner services").
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        let (parts, body) = request.into_parts();
        let plan = Plan {
            precondition_required: self
                .config
                .required
                .as_ref()
                .is_some_and(|methods| methods.contains(&parts.method)),
            on_source_error: self.config.on_source_error,
            fill_response_validators: self.config.fill_response_validators,
            body_hash_limit: self.config.body_hash_limit,
            encoding_aware_etags: self.config.encoding_aware_etags,
        };
        let lookup = self.source.lookup(&parts);
        ResponseFuture::new(lookup, inner, parts, body, plan)
    }
}

/// The per-request part of the configuration, decided in `call`.
#[derive(Debug, Clone, Copy)]
struct Plan {
    precondition_required: bool,
    on_source_error: OnSourceError,
    fill_response_validators: bool,
    body_hash_limit: Option<u64>,
    encoding_aware_etags: bool,
}

/// What to do once the source has answered.
#[expect(
    clippy::large_enum_variant,
    reason = "built once per request and consumed at once; boxing would cost an allocation"
)]
enum Next<B> {
    /// Call the inner service, then apply `Post` to its response.
    Call(Request<B>, Post),
    /// Answer without calling the inner service.
    Answer(Response<Bytes>),
}

fn is_read(method: &Method) -> bool {
    method == Method::GET || method == Method::HEAD
}

/// Turns the source's answer into the next step: the heart of the layer, free of polling.
fn decide<B, E: fmt::Display>(
    answer: Result<Lookup, E>,
    mut parts: Parts,
    body: B,
    plan: Plan,
) -> Next<B> {
    let conditions = Conditions::from_headers(&parts.headers);
    let state = match answer.map(Lookup::state) {
        Ok(Some(state)) => state,
        Ok(None) => {
            // Unknown: reads are evaluated against the response; writes are fine only with
            // nothing to check.
            let post = Post {
                encoding_tags: plan.encoding_aware_etags,
                ..Post::default()
            };
            if is_read(&parts.method) {
                trace::unevaluated(&parts, "validators unknown: evaluated on the response");
                if conditions.is_conditional() {
                    // §13.2.2 evaluates preconditions before Range, and a 206 cannot become a
                    // 304 or 412: ask the handler for the whole representation.
                    drop_range(&mut parts);
                } else {
                    unchecked_if_range(&mut parts);
                }
                let post = Post {
                    check: Some(ResponseCheck::new(
                        &parts,
                        plan.body_hash_limit,
                        plan.encoding_aware_etags,
                    )),
                    ..post
                };
                return Next::Call(Request::from_parts(parts, body), post);
            }
            if !(conditions.is_conditional() || plan.precondition_required) {
                trace::unevaluated(&parts, "validators unknown");
                return Next::Call(Request::from_parts(parts, body), post);
            }
            return source_failed(
                parts,
                body,
                plan,
                &"validators unknown for a conditional write",
            );
        }
        Err(error) => return source_failed(parts, body, plan, &error),
    };

    let decision = conditions.evaluate_with(&parts.method, &state, plan.encoding_aware_etags);
    let proceed = match decision {
        Decision::Proceed(proceed) => proceed,
        decision => {
            trace::decided(&parts, decision.condition(), decision.status());
            let mut response = decision
                .response(&state)
                .expect("every decision but Proceed has a response");
            if let (Decision::NotModified(_), true, Some(current)) =
                (decision, plan.encoding_aware_etags, state.etag())
            {
                // The client holds the compressed form: tell its cache that one is still fresh.
                if let Some(alias) = conditions.if_none_match_coding_alias(current) {
                    response
                        .headers_mut()
                        .insert(http::header::ETAG, alias.into());
                }
            }
            return Next::Answer(response);
        }
    };
    // RFC 6585 §3: a write to an existing resource must say which version it replaces.
    // A field that was ignored (an invalid date, a date without a Last-Modified to compare it
    // with) protects nothing, so it does not count.
    let protected = matches!(
        proceed.passed(),
        Some(Condition::IfMatch | Condition::IfUnmodifiedSince)
    );
    let evaluated = proceed.ignored().is_none();
    if plan.precondition_required && evaluated && state.is_present() && !protected {
        let response = response::precondition_required();
        trace::decided(&parts, None, Some(response.status()));
        return Next::Answer(response);
    }
    trace::decided(&parts, proceed.passed(), None);

    match proceed.range() {
        // If-Range was false: the inner service must send the whole representation.
        RangeHandling::Ignore => drop_range(&mut parts),
        // If-Range was true: the layer has dealt with it; the handler serves the Range it sees.
        RangeHandling::Honor => {
            parts.headers.remove(IF_RANGE);
        }
        _ => {}
    }
    let read = is_read(&parts.method);
    let fill = match &state {
        ResourceState::Present(validators) if read && plan.fill_response_validators => {
            Some(validators.clone())
        }
        _ => None,
    };
    if !read {
        let checked = Checked::new(state).with_outcome(proceed.passed(), proceed.etag_matched());
        parts.extensions.insert(checked);
    }
    let post = Post {
        fill,
        encoding_tags: plan.encoding_aware_etags,
        check: None,
    };
    Next::Call(Request::from_parts(parts, body), post)
}

fn source_failed<B>(mut parts: Parts, body: B, plan: Plan, error: &dyn fmt::Display) -> Next<B> {
    if is_read(&parts.method) && plan.on_source_error == OnSourceError::ServeReads {
        trace::source_error(&parts, error, None);
        unchecked_if_range(&mut parts);
        let post = Post {
            encoding_tags: plan.encoding_aware_etags,
            ..Post::default()
        };
        return Next::Call(Request::from_parts(parts, body), post);
    }
    let response = response::service_unavailable();
    trace::source_error(&parts, error, Some(response.status()));
    Next::Answer(response)
}

/// Removes `Range` and `If-Range`, so the inner service sends the whole representation.
fn drop_range(parts: &mut Parts) {
    parts.headers.remove(RANGE);
    parts.headers.remove(IF_RANGE);
}

/// Where `If-Range` cannot be evaluated before the handler runs (validators unknown, or the
/// source failed), a range could splice two versions: only the full representation is safe.
fn unchecked_if_range(parts: &mut Parts) {
    if parts.headers.contains_key(IF_RANGE) {
        drop_range(parts);
    }
}

/// One `tracing` event per decision, when the `tracing` feature is on.
mod trace {
    use std::fmt;

    use http::StatusCode;
    use http::request::Parts;

    use crate::Condition;

    #[cfg(feature = "tracing")]
    pub(super) fn decided(parts: &Parts, condition: Option<Condition>, status: Option<StatusCode>) {
        tracing::debug!(
            target: "tower_conditional",
            method = %parts.method,
            path = parts.uri.path(),
            condition = condition.map(|c| c.as_str()),
            status = status.map(|s| s.as_u16()),
            outcome = if status.is_some() { "answered" } else { "proceed" },
            "conditional request evaluated",
        );
    }

    #[cfg(feature = "tracing")]
    pub(super) fn unevaluated(parts: &Parts, reason: &str) {
        tracing::debug!(
            target: "tower_conditional",
            method = %parts.method,
            path = parts.uri.path(),
            reason,
            outcome = "unevaluated",
            "conditional request not evaluated",
        );
    }

    #[cfg(feature = "tracing")]
    pub(super) fn source_error(
        parts: &Parts,
        error: &dyn fmt::Display,
        status: Option<StatusCode>,
    ) {
        tracing::warn!(
            target: "tower_conditional",
            method = %parts.method,
            path = parts.uri.path(),
            error = %error,
            status = status.map(|s| s.as_u16()),
            outcome = if status.is_some() { "answered" } else { "unevaluated" },
            "validator source failed",
        );
    }

    #[cfg(not(feature = "tracing"))]
    pub(super) fn decided(_: &Parts, _: Option<Condition>, _: Option<StatusCode>) {}

    #[cfg(not(feature = "tracing"))]
    pub(super) fn unevaluated(_: &Parts, _: &str) {}

    #[cfg(not(feature = "tracing"))]
    pub(super) fn source_error(_: &Parts, _: &dyn fmt::Display, _: Option<StatusCode>) {}
}
