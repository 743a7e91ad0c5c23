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
//!             "/greeting" => Lookup::Present(Validators::new().with_etag(ETag::from_content(b"hi"))),
//!             _ => Lookup::Missing,
//!         })
//!     }
//! };
//! # fn is_source<S: ValidatorSource>(_: &S) {}
//! # is_source(&source);
//! ```

use std::fmt;
use std::future::Future;

use http::request::Parts;

use crate::{ResourceState, Validators};

/// Answers with the current state of the resource a request targets.
///
/// The returned future must not borrow `head` or `self`: copy what it needs (a path segment, a
/// database pool handle) before the `async move` block. The future runs once per request, before
/// the inner service is called.
///
/// Implement it for your own type when the source has state, such as a connection pool:
///
/// ```
/// use std::{collections::HashMap, convert::Infallible, future::{ready, Ready}, sync::{Arc, Mutex}};
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
    /// Why the look-up failed. What the layer does then is set by
    /// [`OnSourceError`](crate::OnSourceError); the error is only displayed (in a `tracing`
    /// event when that feature is on).
    type Error: fmt::Display;

    /// The look-up in progress.
    type Future: Future<Output = Result<Lookup, Self::Error>>;

    /// Starts looking up the validators of the resource `head` targets.
    fn lookup(&self, head: &Parts) -> Self::Future;
}

impl<F, Fut, E> ValidatorSource for F
where
    F: Fn(&Parts) -> Fut,
    Fut: Future<Output = Result<Lookup, E>>,
    E: fmt::Display,
{
    type Error = E;
    type Future = Fut;

    fn lookup(&self, head: &Parts) -> Self::Future {
        self(head)
    }
}

/// A [`ValidatorSource`]'s answer.
///
/// ```
/// use tower_conditional::{ETag, Lookup, ResourceState, Validators};
///
/// let found: Lookup = Validators::new().with_etag(ETag::from_static("\"1\"")).into();
/// assert!(matches!(found.state(), Some(ResourceState::Present(_))));
/// assert_eq!(Lookup::Missing.state(), Some(ResourceState::Missing));
/// assert_eq!(Lookup::Unknown.state(), None);
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
    /// methods pass through unevaluated when they carry no precondition and none is required;
    /// otherwise they are refused with 503 as for a source error, since a precondition checked
    /// after the write would come too late.
    Unknown,
}

impl Lookup {
    /// The state the evaluator works with; `None` for [`Lookup::Unknown`].
    pub fn state(self) -> Option<ResourceState> {
        match self {
            Lookup::Missing => Some(ResourceState::Missing),
            Lookup::Present(validators) => Some(ResourceState::Present(validators)),
            Lookup::Unknown => None,
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
