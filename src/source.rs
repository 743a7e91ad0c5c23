//! Where the layer learns a resource's current validators: the [`ValidatorSource`] trait.
//!
//! A source looks at the request head (method, URI, headers, extensions) and answers, usually
//! after an async look-up in a database, file system or cache, with a [`Lookup`]. Closures
//! `Fn(&Parts) -> impl Future<Output = Result<Lookup, E>>` are sources, so the simple case is one
//! line:
//!
//! ```
//! use http::request::Parts;
//! use tower_conditional::{ETag, Lookup, Validators, ValidatorSource};
//!
//! let source = |head: &Parts| {
//!     // Copy what the look-up needs out of the head: the future must not borrow it.
//!     let path = head.uri.path().to_owned();
//!     async move {
//!         Ok::<_, std::convert::Infallible>(match path.as_str() {
//!             "/greeting" => Validators::new().with_etag(ETag::from_content(b"hi")).into(),
//!             _ => Lookup::Missing,
//!         })
//!     }
//! };
//! # fn is_source<S: ValidatorSource>(_: &S) {}
//! # is_source(&source);
//! ```

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use http::request::Parts;
use http::{Response, StatusCode};

use crate::response::AnswerBody;
use crate::state::{ResourceState, Validators};

/// An error of any kind, sendable across threads: what a source's error becomes when the layer
/// reports it (its `source()` chain intact).
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The boxed future of a source written with an `async` block, so implementing
/// [`ValidatorSource`] needs no `futures` crate.
///
/// ```
/// use http::request::Parts;
/// use tower_conditional::{BoxLookup, Lookup, ValidatorSource};
///
/// #[derive(Clone)]
/// struct Db;
///
/// impl ValidatorSource for Db {
///     type Error = std::io::Error;
///     type Future = BoxLookup<std::io::Error>;
///
///     fn lookup(&self, head: &Parts) -> Self::Future {
///         let id = head.uri.path().to_owned();
///         Box::pin(async move { Ok(if id == "/" { Lookup::Unknown } else { Lookup::Missing }) })
///     }
/// }
/// ```
pub type BoxLookup<E> = Pin<Box<dyn Future<Output = Result<Lookup, E>> + Send + 'static>>;

/// Answers with the current state of the resource a request targets.
///
/// The returned future must not borrow `head` or `self`: copy what it needs (a path segment, a
/// database pool handle) before the `async move` block. The future runs once per request, before
/// the inner service is called.
///
/// Implement it for your own type when the source has state, such as a connection pool:
///
/// ```
/// use std::collections::HashMap;
/// use std::convert::Infallible;
/// use std::future::{ready, Ready};
/// use std::sync::{Arc, Mutex};
/// use http::request::Parts;
/// use tower_conditional::{ETag, Lookup, Validators, ValidatorSource};
///
/// /// Row versions by path, standing in for `SELECT version FROM items WHERE path = $1`.
/// #[derive(Clone, Default)]
/// struct RowVersions(Arc<Mutex<HashMap<String, u64>>>);
///
/// impl ValidatorSource for RowVersions {
///     type Error = Infallible;
///     type Future = Ready<Result<Lookup, Infallible>>;
///
///     fn lookup(&self, head: &Parts) -> Self::Future {
///         let versions = self.0.lock().unwrap();
///         ready(Ok(match versions.get(head.uri.path()) {
///             Some(version) => {
///                 let tag = ETag::strong(version.to_string()).expect("digits are valid");
///                 Lookup::Present(Validators::new().with_etag(tag))
///             }
///             None => Lookup::Missing,
///         }))
///     }
/// }
/// ```
pub trait ValidatorSource {
    /// Why the look-up failed: any error type (`std::io::Error`, `sqlx::Error`, a `String`).
    /// What the layer does then is set by [`OnSourceError`](crate::OnSourceError); the error is
    /// never sent to the client, only reported, with its `source()` chain, in a `tracing` event
    /// when that feature is on.
    ///
    /// ```
    /// use std::convert::Infallible;
    /// use http::{request::Parts, Request, Response, StatusCode};
    /// use tower::{service_fn, Layer, ServiceExt};
    /// use tower_conditional::{ConditionalLayer, Lookup};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let down = |_: &Parts| async { Err::<Lookup, _>(String::from("database unreachable")) };
    /// let handler = service_fn(|_: Request<String>| async {
    ///     Ok::<_, Infallible>(Response::new(String::new()))
    /// });
    /// let service = ConditionalLayer::new(down).layer(handler);
    /// // The write is not performed unchecked, and the error text is not sent to the client.
    /// let write = Request::put("/").header("if-match", "\"v1\"").body(String::new())?;
    /// let response = service.oneshot(write).await?;
    /// assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    /// # Ok(())
    /// # }
    /// ```
    type Error: Into<BoxError>;

    /// The look-up in progress.
    ///
    /// A boxed future lets an implementation use an `async` block:
    ///
    /// ```
    /// use std::{convert::Infallible, future::Future, pin::Pin};
    /// use http::{request::Parts, Request};
    /// use tower_conditional::{Lookup, ValidatorSource};
    ///
    /// struct Store;
    ///
    /// impl ValidatorSource for Store {
    ///     type Error = Infallible;
    ///     type Future = Pin<Box<dyn Future<Output = Result<Lookup, Infallible>> + Send>>;
    ///
    ///     fn lookup(&self, head: &Parts) -> Self::Future {
    ///         let path = head.uri.path().to_owned();
    ///         Box::pin(async move {
    ///             Ok(if path == "/" { Lookup::Unknown } else { Lookup::Missing })
    ///         })
    ///     }
    /// }
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let (head, ()) = Request::get("/gone").body(())?.into_parts();
    /// assert_eq!(Store.lookup(&head).await?, Lookup::Missing);
    /// # Ok(())
    /// # }
    /// ```
    type Future: Future<Output = Result<Lookup, Self::Error>>;

    /// Starts looking up the validators of the resource `head` targets.
    ///
    /// ```
    /// use std::convert::Infallible;
    /// use http::{request::Parts, Request};
    /// use tower_conditional::{Lookup, Validators, ValidatorSource};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let source = |head: &Parts| {
    ///     let exists = head.uri.path() == "/greeting";
    ///     async move {
    ///         let validators = exists.then(Validators::new);
    ///         Ok::<_, Infallible>(validators.map_or(Lookup::Missing, Lookup::Present))
    ///     }
    /// };
    /// let (head, ()) = Request::get("/nothing").body(())?.into_parts();
    /// assert_eq!(source.lookup(&head).await?, Lookup::Missing);
    /// # Ok(())
    /// # }
    /// ```
    fn lookup(&self, head: &Parts) -> Self::Future;
}

/// The source of [`ConditionalLayer::from_responses`](crate::ConditionalLayer::from_responses),
/// the one way to make it: validators come from the handler's responses. Its name is public so
/// that the layer's type can be written out.
///
/// ```
/// use tower_conditional::{ConditionalLayer, FromResponse};
///
/// fn pages() -> ConditionalLayer<FromResponse> {
///     ConditionalLayer::from_responses()
/// }
/// # let _ = pages();
/// ```
#[derive(Debug, Clone, Copy)]
pub struct FromResponse {
    /// Made only by `from_responses`, which also tells the layer never to ask it about reads.
    pub(crate) _private: (),
}

impl ValidatorSource for FromResponse {
    type Error = std::convert::Infallible;
    type Future = std::future::Ready<Result<Lookup, Self::Error>>;

    fn lookup(&self, _: &Parts) -> Self::Future {
        std::future::ready(Ok(Lookup::Unknown))
    }
}

impl<F, Fut, E> ValidatorSource for F
where
    F: Fn(&Parts) -> Fut,
    Fut: Future<Output = Result<Lookup, E>>,
    E: Into<BoxError>,
{
    type Error = E;
    type Future = Fut;

    fn lookup(&self, head: &Parts) -> Self::Future {
        self(head)
    }
}

/// A shared source: `Arc<MySource>` is a source wherever `MySource` is, so one connection pool
/// can serve several layers without cloning it.
///
/// ```
/// use std::convert::Infallible;
/// use std::sync::Arc;
/// use http::request::Parts;
/// use tower_conditional::{ConditionalLayer, Lookup, ValidatorSource};
///
/// #[derive(Clone)]
/// struct Pool;
///
/// impl ValidatorSource for Pool {
///     type Error = Infallible;
///     type Future = std::future::Ready<Result<Lookup, Infallible>>;
///
///     fn lookup(&self, _: &Parts) -> Self::Future {
///         std::future::ready(Ok(Lookup::Missing))
///     }
/// }
///
/// let shared = Arc::new(Pool);
/// let reads = ConditionalLayer::new(Arc::clone(&shared));
/// let writes = ConditionalLayer::new(shared);
/// # let _ = (reads, writes);
/// ```
impl<T: ValidatorSource + ?Sized> ValidatorSource for Arc<T> {
    type Error = T::Error;
    type Future = T::Future;

    fn lookup(&self, head: &Parts) -> Self::Future {
        (**self).lookup(head)
    }
}

/// A [`ValidatorSource`]'s answer: a [`ResourceState`] (the two cases the evaluator works with,
/// [`Missing`](Lookup::Missing) and [`Present`](Lookup::Present), spelled as they are there),
/// plus the two answers only a source can give: [`Unknown`](Lookup::Unknown) (ask the
/// response) and [`Rejected`](Lookup::Rejected) (refuse the request). A `ResourceState`
/// converts into a `Lookup` with `From`, and back with [`into_state`](Lookup::into_state).
///
/// ```
/// use tower_conditional::{ETag, Lookup, ResourceState, Validators};
///
/// let found: Lookup = Validators::new().with_etag(ETag::from_static("\"1\"")).into();
/// assert!(matches!(found.into_state(), Some(ResourceState::Present(_))));
/// assert_eq!(Lookup::Missing.into_state(), Some(ResourceState::Missing));
/// assert_eq!(Lookup::Unknown.into_state(), None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
#[expect(
    clippy::large_enum_variant,
    reason = "boxing would cost an allocation per request; the answer is moved once"
)]
pub enum Lookup {
    /// The resource has no current representation.
    Missing,
    /// The resource exists, with these validators (each optional).
    Present(Validators),
    /// The source cannot tell before the handler runs. GET and HEAD are evaluated against the
    /// validators of the handler's response (see
    /// [`ConditionalLayer::from_responses`](crate::ConditionalLayer::from_responses)). Other
    /// methods are never evaluated after the handler (the write would already have happened):
    ///
    /// - without a precondition, and none required: passed through unevaluated;
    /// - with `If-Match`, `If-None-Match` or a valid `If-Unmodified-Since`: **412**, since a
    ///   precondition that cannot be verified is not known to be true (a malformed `If-Match`
    ///   is still 400);
    /// - without one, on a method that [requires one](crate::ConditionalLayer::require_preconditions):
    ///   **500**, naming the configuration error: no precondition could ever be verified on
    ///   such a route, so a 428 asking for one would be a loop, not an answer.
    ///
    /// None of these is a 503: nothing transient happened, and retrying cannot help.
    Unknown,
    /// The request itself is refused, before anything was looked up: the layer answers with
    /// this response and the inner service is not called, whatever the method. For the
    /// client's errors the source finds in the request (a path parameter that is not an id:
    /// the rejection of an axum extractor, see [`source_fn_with_state`](crate::source_fn_with_state)),
    /// which are neither a failing source ([`OnSourceError`](crate::OnSourceError) is for
    /// those) nor a verdict on the resource.
    ///
    /// ```
    /// use std::convert::Infallible;
    /// use http::{request::Parts, Request, Response, StatusCode};
    /// use tower::{service_fn, Layer, ServiceExt};
    /// use tower_conditional::{ConditionalLayer, Lookup, Rejection};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let source = |head: &Parts| {
    ///     let id = head.uri.path().trim_start_matches('/').parse::<u64>();
    ///     async move {
    ///         Ok::<_, Infallible>(match id {
    ///             Ok(_) => Lookup::Missing,
    ///             Err(_) => Lookup::Rejected(Rejection::from_status(StatusCode::BAD_REQUEST)),
    ///         })
    ///     }
    /// };
    /// let handler = service_fn(|_: Request<String>| async {
    ///     Ok::<_, Infallible>(Response::new(String::new()))
    /// });
    /// let write = Request::put("/x").header("if-match", "\"1\"").body(String::new())?;
    /// let refused = ConditionalLayer::new(source).layer(handler).oneshot(write).await?;
    /// assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    /// # Ok(())
    /// # }
    /// ```
    Rejected(Rejection),
}

impl Lookup {
    /// The state the evaluator works with; `None` for [`Lookup::Unknown`] and
    /// [`Lookup::Rejected`].
    ///
    /// ```
    /// use tower_conditional::{Lookup, ResourceState, Validators};
    ///
    /// let state = ResourceState::Present(Validators::new());
    /// assert_eq!(Lookup::from(state.clone()).into_state(), Some(state));
    /// assert_eq!(Lookup::Unknown.into_state(), None);
    /// ```
    #[inline]
    pub fn into_state(self) -> Option<ResourceState> {
        match self {
            Lookup::Missing => Some(ResourceState::Missing),
            Lookup::Present(validators) => Some(ResourceState::Present(validators)),
            Lookup::Unknown | Lookup::Rejected(_) => None,
        }
    }
}

impl From<ResourceState> for Lookup {
    fn from(state: ResourceState) -> Self {
        match state {
            ResourceState::Missing => Lookup::Missing,
            ResourceState::Present(validators) => Lookup::Present(validators),
        }
    }
}

impl From<Validators> for Lookup {
    fn from(validators: Validators) -> Self {
        Lookup::Present(validators)
    }
}

/// `Some(validators)` is present, `None` missing: the shape of a row look-up.
///
/// ```
/// use tower_conditional::{ETag, Lookup, Validators};
///
/// let row: Option<i64> = None; // SELECT version FROM docs WHERE id = $1
/// let lookup: Lookup = row.map(|v| Validators::new().with_etag(ETag::from(v))).into();
/// assert_eq!(lookup, Lookup::Missing);
/// ```
impl From<Option<Validators>> for Lookup {
    fn from(validators: Option<Validators>) -> Self {
        validators.map_or(Lookup::Missing, Lookup::Present)
    }
}

/// The response of a [`Lookup::Rejected`]: a complete, short response the layer sends as it
/// is (its body already read, as the crate's own answers are).
///
/// Two rejections are equal when their status, headers and body are (extensions are not
/// compared).
///
/// ```
/// use http::{header, Response, StatusCode};
/// use tower_conditional::Rejection;
/// use tower_conditional::response::AnswerBody;
///
/// let mut response = Response::new(AnswerBody::from(bytes::Bytes::from_static(b"no such id")));
/// *response.status_mut() = StatusCode::BAD_REQUEST;
/// let rejection = Rejection::from(response);
/// assert_eq!(rejection.response().status(), StatusCode::BAD_REQUEST);
/// assert_eq!(rejection.into_response().body().as_ref(), b"no such id");
/// ```
#[derive(Clone)]
pub struct Rejection(Box<Response<AnswerBody>>);

impl Rejection {
    /// A rejection with `status` and no body.
    ///
    /// ```
    /// use http::StatusCode;
    /// use tower_conditional::Rejection;
    ///
    /// assert!(Rejection::from_status(StatusCode::NOT_FOUND).response().body().is_empty());
    /// ```
    pub fn from_status(status: StatusCode) -> Self {
        let mut response = Response::new(AnswerBody::default());
        *response.status_mut() = status;
        Rejection::from(response)
    }

    /// The response to send.
    ///
    /// ```
    /// use http::StatusCode;
    /// use tower_conditional::Rejection;
    ///
    /// assert_eq!(Rejection::from_status(StatusCode::GONE).response().status(), StatusCode::GONE);
    /// ```
    pub fn response(&self) -> &Response<AnswerBody> {
        &self.0
    }

    /// The response to send, by value.
    ///
    /// ```
    /// use http::StatusCode;
    /// use tower_conditional::Rejection;
    ///
    /// let response = Rejection::from_status(StatusCode::BAD_REQUEST).into_response();
    /// assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    /// ```
    pub fn into_response(self) -> Response<AnswerBody> {
        *self.0
    }
}

impl From<Response<AnswerBody>> for Rejection {
    fn from(response: Response<AnswerBody>) -> Self {
        Rejection(Box::new(response))
    }
}

impl PartialEq for Rejection {
    fn eq(&self, other: &Self) -> bool {
        let (a, b) = (self.response(), other.response());
        a.status() == b.status() && a.headers() == b.headers() && a.body() == b.body()
    }
}

impl Eq for Rejection {}

impl std::fmt::Debug for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rejection")
            .field("status", &self.0.status())
            .field("headers", self.0.headers())
            .field("body_len", &self.0.body().len())
            .finish()
    }
}
