//! Sources written like axum handlers (`axum` feature): [`source_fn_with_state`] turns an async
//! function of axum extractors (`Path`, `State`, `Query`, typed headers, anything
//! `FromRequestParts`) into a [`ValidatorSource`], and [`ByRoute`] gives each route of one
//! router its own source, behind one layer.
//!
//! The source reads the request as the handlers do: `Path` is percent-decoded by the router,
//! `State` is the state given at construction (as `axum::middleware::from_fn_with_state` takes
//! it), so no middleware has to copy an id into an extension. An extractor's rejection is the
//! client's answer: the layer sends it and the handler does not run, whatever the method (a PUT
//! with a bad id gets the `Path` rejection's 400, never a 503, and is never performed). An
//! error the function returns is the source's, and follows
//! [`OnSourceError`](crate::OnSourceError).
//!
//! ```
//! use std::convert::Infallible;
//! use axum::extract::{Path, State};
//! use axum::{routing::get, Router};
//! use http::{header, Request, StatusCode};
//! use tower::ServiceExt;
//! use tower_conditional::{source_fn_with_state, ConditionalLayer, ETag, Lookup, Validators};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! #[derive(Clone)]
//! struct Db; // your pool
//!
//! async fn note_version(Path(id): Path<u64>, State(_db): State<Db>) -> Result<Lookup, Infallible> {
//!     // SELECT version FROM notes WHERE id = $1
//!     let version = (id == 1).then_some(7u64);
//!     Ok(version.map(|v| Validators::new().with_etag(ETag::from(v))).into())
//! }
//!
//! let app = Router::new()
//!     .route("/notes/{id}", get(|| async { "note" }))
//!     .route_layer(ConditionalLayer::new(source_fn_with_state(Db, note_version)))
//!     .with_state(Db);
//!
//! let revalidate = Request::get("/notes/1").header(header::IF_NONE_MATCH, "\"7\"");
//! let response = app.clone().oneshot(revalidate.body(String::new())?).await?;
//! assert_eq!(response.status(), StatusCode::NOT_MODIFIED);
//!
//! // Not an id: the `Path` rejection, and the handler never runs.
//! let bad = Request::put("/notes/x").header(header::IF_MATCH, "\"7\"");
//! let response = app.oneshot(bad.body(String::new())?).await?;
//! assert_eq!(response.status(), StatusCode::BAD_REQUEST);
//! # Ok(())
//! # }
//! ```
//!
//! # Cost
//!
//! The layer hands a source the request head by reference, and an extractor needs it by
//! `&mut` for the whole of its future, so the source works on a clone of the head: the URI and
//! header values are reference-counted, the header map's tables and each extension are copied.
//! That happens only when the source is asked (never on the layer's fast path). With the
//! extractor and the boxed future it costs about a microsecond per looked-up request over a
//! plain closure source (a 304 through axum: 3.1 µs against 2.1 µs, BENCHMARKS.md), next to a
//! database round trip.

use std::future::Future;
use std::marker::PhantomData;
use std::sync::Arc;

use axum::extract::MatchedPath;
use axum_core::body::Body;
use axum_core::extract::FromRequestParts;
use axum_core::response::{IntoResponse, Response};
use bytes::{Bytes, BytesMut};
use http::request::Parts;
use http_body::Body as _;

use crate::cache::Consult;
use crate::response::AnswerBody;
use crate::source::{BoxError, BoxLookup, Lookup, Rejection, ValidatorSource};

/// The longest rejection body kept: axum's rejections are a line of text. A longer body (or
/// one that fails) is dropped, and the rejection is sent with its status and headers alone.
const REJECTION_BODY_LIMIT: usize = 16 * 1024;

/// A [`ValidatorSource`] made of an async function of axum extractors and the state they
/// extract from. Built by [`source_fn_with_state`] (or [`source_fn`] without state).
pub struct SourceFn<F, S, T> {
    f: F,
    state: S,
    extractors: PhantomData<fn() -> T>,
}

/// A source from `f`, an async function whose arguments are axum extractors
/// (`FromRequestParts<S>`; up to 8) and whose output is `Result<L, E>` for any `L` that becomes
/// a [`Lookup`] (`Option<Validators>` for a row that may be missing), with the `state`
/// its `State` extractors read: the shape of `axum::middleware::from_fn_with_state`.
///
/// Body extractors (`Json`, `String`) are not allowed: the source runs before the handler,
/// which still needs the body.
///
/// ```
/// use std::convert::Infallible;
/// use axum::extract::{Query, State};
/// use tower_conditional::{source_fn_with_state, ConditionalLayer, Lookup};
///
/// #[derive(Clone)]
/// struct Pool;
///
/// #[derive(serde::Deserialize)]
/// struct Page {
///     page: u32,
/// }
///
/// let source = source_fn_with_state(Pool, |State(_): State<Pool>, Query(page): Query<Page>| async move {
///     let _ = page.page; // validators of one page of a listing
///     Ok::<_, Infallible>(Lookup::Unknown)
/// });
/// let layer = ConditionalLayer::new(source);
/// # let _ = layer;
/// ```
pub fn source_fn_with_state<F, S, T>(state: S, f: F) -> SourceFn<F, S, T>
where
    F: LookupFn<T, S>,
{
    SourceFn {
        f,
        state,
        extractors: PhantomData,
    }
}

/// [`source_fn_with_state`] for extractors that need no state (`Path`, `Query`, headers).
///
/// ```
/// use std::convert::Infallible;
/// use axum::extract::Path;
/// use tower_conditional::{source_fn, ConditionalLayer, ETag, Lookup, Validators};
///
/// let source = source_fn(|Path(name): Path<String>| async move {
///     // The decoded segment: `/files/a%20b` gives "a b".
///     let tag = ETag::from_content(name.as_bytes());
///     Ok::<_, Infallible>(Lookup::from(Validators::new().with_etag(tag)))
/// });
/// let layer = ConditionalLayer::new(source);
/// # let _ = layer;
/// ```
pub fn source_fn<F, T>(f: F) -> SourceFn<F, (), T>
where
    F: LookupFn<T, ()>,
{
    source_fn_with_state((), f)
}

impl<F: Clone, S: Clone, T> Clone for SourceFn<F, S, T> {
    fn clone(&self) -> Self {
        SourceFn {
            f: self.f.clone(),
            state: self.state.clone(),
            extractors: PhantomData,
        }
    }
}

impl<F, S, T> std::fmt::Debug for SourceFn<F, S, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourceFn")
            .field("f", &std::any::type_name::<F>())
            .field("state", &std::any::type_name::<S>())
            .finish()
    }
}

impl<F, S, T> ValidatorSource for SourceFn<F, S, T>
where
    F: LookupFn<T, S>,
    S: Clone,
{
    type Error = F::Error;
    type Future = BoxLookup<F::Error>;

    fn lookup(&self, head: &Parts) -> Self::Future {
        // The layer's validator cache is consulted once the extractors passed (see `call`).
        Consult::claim(head);
        self.f.clone().call(head.clone(), self.state.clone())
    }
}

/// An async function of axum extractors that answers with a [`Lookup`] (or anything that
/// becomes one: `Validators`, `Option<Validators>`, `ResourceState`): what
/// [`source_fn_with_state`] takes. Implemented for `Fn(T1, ..., Tn) -> impl Future<Output =
/// Result<L, E>>` with `n` up to 8, every `Ti: FromRequestParts<S>` and `L: Into<Lookup>`;
/// there is no need to implement it yourself.
pub trait LookupFn<T, S>: Clone + Send + Sync + 'static {
    /// The function's error: the source's error, handled by
    /// [`OnSourceError`](crate::OnSourceError).
    type Error: Into<BoxError>;

    /// Runs the extractors on `head`, then the function; a rejection becomes
    /// [`Lookup::Rejected`]. Behind a layer with a `ValidatorCache` (`validator-cache`
    /// feature), a fresh cached 304 is answered between the two:
    /// the extractors always run, the function only when the cache cannot answer.
    fn call(self, head: Parts, state: S) -> BoxLookup<Self::Error>;
}

/// Runs the extractor `$extractor` on `$head`, binding its value to the name `$extractor`; on a
/// rejection, returns `$rejected` of it (as a [`Rejection`]) from the enclosing async block.
/// What the source's functions and the cache's keys share.
macro_rules! extract {
    ($extractor:ident, $head:ident, $state:ident, $rejected:expr) => {
        let extracted =
            <$extractor as FromRequestParts<S>>::from_request_parts(&mut $head, &$state)
                .await
                .map_err(IntoResponse::into_response);
        let $extractor = match extracted {
            Ok(value) => value,
            Err(response) => return ($rejected)(rejection(response).await),
        };
    };
}

macro_rules! lookup_fn {
    ($($extractor:ident),*) => {
        #[allow(non_snake_case, unused_mut, unused_variables)]
        impl<F, Fut, L, E, S, $($extractor,)*> LookupFn<($($extractor,)*), S> for F
        where
            F: Fn($($extractor),*) -> Fut + Clone + Send + Sync + 'static,
            Fut: Future<Output = Result<L, E>> + Send + 'static,
            L: Into<Lookup>,
            E: Into<BoxError> + 'static,
            S: Send + Sync + 'static,
            $($extractor: FromRequestParts<S> + Send + 'static,)*
        {
            type Error = E;

            fn call(self, mut head: Parts, state: S) -> BoxLookup<E> {
                Box::pin(async move {
                    $(extract!($extractor, head, state, |rejected| Ok(Lookup::Rejected(rejected)));)*
                    // The extractors passed: a fresh cached 304 now spares the query (which
                    // has not started: the function is not even called).
                    if let Some(cached) = head.extensions.get::<Consult>().and_then(|consult| consult.hit(&head)) {
                        return Ok(Lookup::Present(cached));
                    }
                    self($($extractor),*).await.map(Into::into)
                })
            }
        }
    };
}

lookup_fn!();
lookup_fn!(T1);
lookup_fn!(T1, T2);
lookup_fn!(T1, T2, T3);
lookup_fn!(T1, T2, T3, T4);
lookup_fn!(T1, T2, T3, T4, T5);
lookup_fn!(T1, T2, T3, T4, T5, T6);
lookup_fn!(T1, T2, T3, T4, T5, T6, T7);
lookup_fn!(T1, T2, T3, T4, T5, T6, T7, T8);

/// A key being extracted, for the validator cache.
#[cfg(feature = "validator-cache")]
pub(crate) type Extracting<K> =
    std::pin::Pin<Box<dyn Future<Output = Result<K, Rejection>> + Send + 'static>>;

/// A function of axum extractors that returns a validator cache key: what
/// [`ValidatorCache::keyed_by`](crate::ValidatorCache::keyed_by) takes. Implemented for
/// `Fn(T1, ..., Tn) -> K` with `n` up to 8 and every `Ti: FromRequestParts<S>`; it cannot be
/// implemented outside this crate.
#[cfg(feature = "validator-cache")]
#[cfg_attr(docsrs, doc(cfg(feature = "validator-cache")))]
pub trait KeyFn<T, S>: sealed::Sealed<T, S> + Clone + Send + Sync + 'static {
    /// The key: what identifies the resource.
    type Key;

    /// Runs the extractors on `head`, then the function; a rejection is the client's answer.
    #[doc(hidden)]
    fn extract(self, head: Parts, state: S) -> Extracting<Self::Key>;
}

#[cfg(feature = "validator-cache")]
mod sealed {
    /// Only the crate implements [`KeyFn`](super::KeyFn).
    pub trait Sealed<T, S> {}
}

#[cfg(feature = "validator-cache")]
macro_rules! key_fn {
    ($($extractor:ident),*) => {
        impl<F, K, S, $($extractor,)*> sealed::Sealed<($($extractor,)*), S> for F
        where
            F: Fn($($extractor),*) -> K,
        {
        }

        #[allow(non_snake_case, unused_mut, unused_variables)]
        impl<F, K, S, $($extractor,)*> KeyFn<($($extractor,)*), S> for F
        where
            F: Fn($($extractor),*) -> K + Clone + Send + Sync + 'static,
            K: Send + 'static,
            S: Send + Sync + 'static,
            $($extractor: FromRequestParts<S> + Send + 'static,)*
        {
            type Key = K;

            fn extract(self, mut head: Parts, state: S) -> Extracting<K> {
                Box::pin(async move {
                    $(extract!($extractor, head, state, Err);)*
                    Ok(self($($extractor),*))
                })
            }
        }
    };
}

#[cfg(feature = "validator-cache")]
mod key_fns {
    use super::*;

    key_fn!();
    key_fn!(T1);
    key_fn!(T1, T2);
    key_fn!(T1, T2, T3);
    key_fn!(T1, T2, T3, T4);
    key_fn!(T1, T2, T3, T4, T5);
    key_fn!(T1, T2, T3, T4, T5, T6);
    key_fn!(T1, T2, T3, T4, T5, T6, T7);
    key_fn!(T1, T2, T3, T4, T5, T6, T7, T8);
}

/// An extractor's rejection as the layer's answer: its status and headers, and its body read
/// whole up to [`REJECTION_BODY_LIMIT`] (dropped beyond it, or if it fails).
async fn rejection(response: Response) -> Rejection {
    let (mut head, body) = response.into_parts();
    let body = match read_bounded(body).await {
        Some(bytes) => AnswerBody::from(bytes),
        None => {
            // What described the dropped body no longer does.
            head.headers.remove(http::header::CONTENT_LENGTH);
            head.headers.remove(http::header::CONTENT_TYPE);
            AnswerBody::default()
        }
    };
    Rejection::from(http::Response::from_parts(head, body))
}

/// The whole of `body`, or `None` when it fails or exceeds [`REJECTION_BODY_LIMIT`].
async fn read_bounded(body: Body) -> Option<Bytes> {
    let mut body = std::pin::pin!(body);
    let mut read = BytesMut::new();
    while let Some(frame) = std::future::poll_fn(|cx| body.as_mut().poll_frame(cx)).await {
        if let Ok(data) = frame.ok()?.into_data() {
            if read.len() + data.len() > REJECTION_BODY_LIMIT {
                return None;
            }
            read.extend_from_slice(&data);
        }
    }
    Some(read.freeze())
}

/// One source per route of a router, chosen by the route's pattern (axum's [`MatchedPath`]):
/// one [`ConditionalLayer`](crate::ConditionalLayer), and one layer stack, for routes whose
/// validators come from different places (an item and the list of items).
///
/// Apply the layer with `Router::route_layer` (or `Router::layer`), where the route has been
/// matched; patterns are spelled as they were given to `Router::route` (with a nested router's
/// prefix). A request whose route has no source goes to the [`fallback`](ByRoute::fallback),
/// which answers [`Lookup::Unknown`] unless set: its reads are evaluated on the response and
/// its writes are never performed against an unchecked precondition.
///
/// Each source's errors become [`BoxError`]s, and its future is boxed.
///
/// ```
/// use std::convert::Infallible;
/// use axum::extract::Path;
/// use axum::{routing::get, Router};
/// use http::{header, Request, StatusCode};
/// use tower::ServiceExt;
/// use tower_conditional::{source_fn, ByRoute, ConditionalLayer, ETag, Lookup, Validators};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let tagged = |tag: &'static str| Lookup::from(Validators::new().with_etag(ETag::from_static(tag)));
/// let sources = ByRoute::new()
///     .route("/notes", source_fn(move || async move { Ok::<_, Infallible>(tagged("\"list-3\"")) }))
///     .route("/notes/{id}", source_fn(move |Path(_id): Path<u64>| async move {
///         Ok::<_, Infallible>(tagged("\"note\""))
///     }));
/// let app = Router::new()
///     .route("/notes", get(|| async { "[]" }))
///     .route("/notes/{id}", get(|| async { "{}" }))
///     .route_layer(ConditionalLayer::new(sources));
///
/// let list = Request::get("/notes").header(header::IF_NONE_MATCH, "\"list-3\"");
/// assert_eq!(app.clone().oneshot(list.body(String::new())?).await?.status(), StatusCode::NOT_MODIFIED);
/// let note = Request::get("/notes/4").header(header::IF_NONE_MATCH, "\"list-3\"");
/// assert_eq!(app.oneshot(note.body(String::new())?).await?.status(), StatusCode::OK);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct ByRoute {
    routes: Vec<(Box<str>, Arc<dyn ErasedSource>)>,
    fallback: Option<Arc<dyn ErasedSource>>,
}

impl ByRoute {
    /// No routes yet; every request goes to the fallback.
    ///
    /// ```
    /// use tower_conditional::{ByRoute, Lookup, ValidatorSource};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tower_conditional::BoxError> {
    /// let (head, ()) = http::Request::get("/").body(())?.into_parts();
    /// assert_eq!(ByRoute::new().lookup(&head).await?, Lookup::Unknown);
    /// # Ok(())
    /// # }
    /// ```
    pub fn new() -> Self {
        ByRoute {
            routes: Vec::new(),
            fallback: None,
        }
    }

    /// Asks `source` about the requests of the route `pattern` (as given to `Router::route`).
    ///
    /// # Panics
    ///
    /// When `pattern` already has a source: a configuration error, as axum's own overlapping
    /// routes are.
    ///
    /// ```should_panic
    /// use std::convert::Infallible;
    /// use tower_conditional::{source_fn, ByRoute, Lookup};
    ///
    /// let unknown = source_fn(|| async { Ok::<_, Infallible>(Lookup::Unknown) });
    /// let _ = ByRoute::new().route("/a", unknown.clone()).route("/a", unknown);
    /// ```
    #[must_use]
    pub fn route<V>(mut self, pattern: &str, source: V) -> Self
    where
        V: ValidatorSource + Send + Sync + 'static,
        V::Future: Send + 'static,
        V::Error: 'static,
    {
        assert!(
            self.routes.iter().all(|(known, _)| &**known != pattern),
            "ByRoute: the route {pattern:?} already has a source"
        );
        self.routes.push((pattern.into(), Arc::new(source)));
        self
    }

    /// Asks `source` about requests whose route has no source of its own (by default they
    /// are [`Lookup::Unknown`]).
    ///
    /// ```
    /// use std::convert::Infallible;
    /// use tower_conditional::{source_fn, ByRoute, Lookup, ValidatorSource};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tower_conditional::BoxError> {
    /// let sources = ByRoute::new().fallback(source_fn(|| async { Ok::<_, Infallible>(Lookup::Missing) }));
    /// let (head, ()) = http::Request::get("/elsewhere").body(())?.into_parts();
    /// assert_eq!(sources.lookup(&head).await?, Lookup::Missing);
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn fallback<V>(mut self, source: V) -> Self
    where
        V: ValidatorSource + Send + Sync + 'static,
        V::Future: Send + 'static,
        V::Error: 'static,
    {
        self.fallback = Some(Arc::new(source));
        self
    }
}

impl Default for ByRoute {
    fn default() -> Self {
        ByRoute::new()
    }
}

impl std::fmt::Debug for ByRoute {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let routes: Vec<&str> = self.routes.iter().map(|(pattern, _)| &**pattern).collect();
        f.debug_struct("ByRoute")
            .field("routes", &routes)
            .field("fallback", &self.fallback.is_some())
            .finish()
    }
}

impl ValidatorSource for ByRoute {
    type Error = BoxError;
    type Future = BoxLookup<BoxError>;

    fn lookup(&self, head: &Parts) -> Self::Future {
        let pattern = head
            .extensions
            .get::<MatchedPath>()
            .map(MatchedPath::as_str);
        let route = pattern.and_then(|pattern| {
            let found = self.routes.iter().find(|(known, _)| **known == *pattern);
            found.map(|(_, source)| source)
        });
        match route.or(self.fallback.as_ref()) {
            Some(source) => source.lookup_boxed(head),
            None => Box::pin(std::future::ready(Ok(Lookup::Unknown))),
        }
    }
}

/// A source of any type, behind one vtable.
trait ErasedSource: Send + Sync {
    fn lookup_boxed(&self, head: &Parts) -> BoxLookup<BoxError>;
}

impl<V> ErasedSource for V
where
    V: ValidatorSource + Send + Sync,
    V::Future: Send + 'static,
    V::Error: 'static,
{
    fn lookup_boxed(&self, head: &Parts) -> BoxLookup<BoxError> {
        let lookup = self.lookup(head);
        Box::pin(async move { lookup.await.map_err(Into::into) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum_core::response::IntoResponse;
    use http::StatusCode;

    #[tokio::test]
    async fn a_rejection_keeps_its_status_headers_and_body() {
        let response = (StatusCode::BAD_REQUEST, "not an id").into_response();
        let rejection = rejection(response).await.into_response();
        assert_eq!(rejection.status(), StatusCode::BAD_REQUEST);
        assert_eq!(rejection.body().as_ref(), b"not an id");
        assert!(rejection.headers().contains_key(http::header::CONTENT_TYPE));
    }

    #[tokio::test]
    async fn a_rejection_body_over_the_limit_is_dropped_with_what_described_it() {
        let long = "x".repeat(REJECTION_BODY_LIMIT + 1);
        let response = (StatusCode::BAD_REQUEST, long).into_response();
        let rejection = rejection(response).await.into_response();
        assert_eq!(rejection.status(), StatusCode::BAD_REQUEST);
        assert!(rejection.body().is_empty());
        assert!(!rejection.headers().contains_key(http::header::CONTENT_TYPE));
    }
}
