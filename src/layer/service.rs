//! The middleware itself: [`Conditional`], and how it routes a request (straight to the inner
//! service, to the response side, or through the source).

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::request::Parts;
use http::{Request, Response};
use http_body::Body;
use tower::Service;

use super::before::{Need, is_revalidation, need, post_from_response};
use super::future::{Next, ResponseFuture};
use super::plan::Plan;
use super::settings::{Config, Shared};
use crate::body::ConditionalBody;
use crate::cache::{Keyed, Keying};
use crate::conditions::Conditions;
use crate::source::ValidatorSource;

/// Middleware that evaluates conditional requests against a [`ValidatorSource`] before calling
/// the inner service. Built by [`ConditionalLayer`](crate::ConditionalLayer).
///
/// Its answers (304, 400, 412, 428, 503) are responses, never errors: the error type is the
/// inner service's. When it answers, the inner service is not called.
///
/// # What the inner service sees
///
/// See [`ConditionalLayer`](crate::ConditionalLayer#what-the-inner-service-sees): the fields it
/// gets, the [`Checked`](crate::Checked) extension, and what happens to its response.
///
/// # Placement
///
/// - With axum, use `Router::route_layer`, so routing's 404 and 405 come first (RFC 9110
///   §13.2.1 evaluates preconditions after the request's other checks); with `Router::layer` the
///   source is also asked about unrouted paths.
/// - Put `ConditionalLayer` outside tower-http's `CompressionLayer` (see the crate docs on
///   compression); with the `compression` feature, `ConditionalLayer::compressed` is both, in
///   that order, as one layer (a `CompressionLayer` on the router around a `route_layer`
///   conditional layer is the other order, which the layer cannot detect).
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
pub struct Conditional<S, V> {
    pub(super) inner: S,
    /// Shared by every clone (services are cloned per request): one reference count to bump.
    pub(super) shared: Arc<Shared<V>>,
}

impl<S: Clone, V> Clone for Conditional<S, V> {
    fn clone(&self) -> Self {
        Conditional {
            inner: self.inner.clone(),
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<S, V> Conditional<S, V> {
    /// Wraps `inner` with the default configuration; see [`ConditionalLayer`](crate::ConditionalLayer) to configure it.
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
            shared: Arc::new(Shared {
                source,
                config: Config::default(),
            }),
        }
    }

    /// The inner service.
    ///
    /// ```
    /// use tower::Layer;
    /// use tower_conditional::ConditionalLayer;
    ///
    /// #[derive(Debug, PartialEq)]
    /// struct Backend {
    ///     name: &'static str,
    /// }
    ///
    /// let service = ConditionalLayer::from_responses().layer(Backend { name: "api" });
    /// assert_eq!(service.get_ref().name, "api");
    /// ```
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    ///
    /// ```
    /// use tower::Layer;
    /// use tower_conditional::ConditionalLayer;
    ///
    /// #[derive(Debug, PartialEq)]
    /// struct Backend {
    ///     name: &'static str,
    /// }
    ///
    /// let mut service = ConditionalLayer::from_responses().layer(Backend { name: "api" });
    /// service.get_mut().name = "api-v2";
    /// assert_eq!(service.get_ref().name, "api-v2");
    /// ```
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Consumes the middleware, returning the inner service.
    ///
    /// ```
    /// use tower::Layer;
    /// use tower_conditional::ConditionalLayer;
    ///
    /// #[derive(Debug, PartialEq)]
    /// struct Backend {
    ///     name: &'static str,
    /// }
    ///
    /// let service = ConditionalLayer::from_responses().layer(Backend { name: "api" });
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
            .field("config", &self.shared.config)
            .finish()
    }
}

impl<S, V, B, ResB> Service<Request<B>> for Conditional<S, V>
where
    S: Service<Request<B>, Response = Response<ResB>> + Clone,
    V: ValidatorSource,
    B: Body,
    ResB: Body,
{
    type Response = Response<ConditionalBody<ResB>>;
    type Error = S::Error;
    type Future = ResponseFuture<S, V, B, ResB>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let conditions = Conditions::from_headers(request.headers());
        let need = need(request.method(), &conditions, &self.shared.config);
        match need {
            // The fast path: no look-up, no split of the request, nothing to evaluate.
            Need::Nothing if self.shared.config.cache.is_none() || !is_write(request.method()) => {
                let settings = &self.shared.config.settings;
                ResponseFuture::passing(self.inner.call(request), settings)
            }
            Need::Nothing => {
                // A write that needs no look-up still invalidates its cache keys on success.
                let (parts, body) = request.into_parts();
                let keying = self.key(&parts, true);
                let shared = Arc::clone(&self.shared);
                let inner = self.take_ready();
                ResponseFuture::keying(keying, Next::Call, shared, inner, parts, body)
            }
            Need::Response => {
                let plan = Plan::new(&self.shared.config, request.method());
                let (mut parts, body) = request.into_parts();
                let post = post_from_response(&plan, &mut parts, true);
                ResponseFuture::inner(self.inner.call(Request::from_parts(parts, body)), post)
            }
            Need::Lookup => {
                let plan = Plan::new(&self.shared.config, request.method());
                let (parts, body) = request.into_parts();
                let shared = Arc::clone(&self.shared);
                let inner = self.take_ready();
                let next = Next::Lookup(plan);
                // Only writes and revalidations use the cache (see `ValidatorCache`).
                let keying = if self.shared.config.cache.is_none() {
                    Keying::Ready(Keyed::Unkeyed)
                } else if is_write(&parts.method) {
                    self.key(&parts, true)
                } else if is_revalidation(&parts) {
                    self.key(&parts, false)
                } else {
                    Keying::Ready(Keyed::Unkeyed)
                };
                ResponseFuture::keying(keying, next, shared, inner, parts, body)
            }
        }
    }
}

impl<S, V> Conditional<S, V> {
    /// The request's cache key, when a cache is set.
    /// The ready inner service, for a future that calls it later (after a look-up or a key),
    /// with a fresh clone left behind (tower-service's "be careful when cloning inner
    /// services"). The other paths call the ready service at once, without a clone.
    fn take_ready(&mut self) -> S
    where
        S: Clone,
    {
        let clone = self.inner.clone();
        std::mem::replace(&mut self.inner, clone)
    }

    fn key(&self, parts: &Parts, write: bool) -> Keying {
        match &self.shared.config.cache {
            Some(cache) => cache.key(parts, write),
            None => Keying::Ready(Keyed::Unkeyed),
        }
    }
}

/// A method that may change its target: its success invalidates the target's cache keys.
fn is_write(method: &http::Method) -> bool {
    !method.is_safe() && method != http::Method::CONNECT
}
