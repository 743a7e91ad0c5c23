//! What [`evaluate`](crate::evaluate) decides, and the vocabulary it decides with.
//!
//! ```
//! use http::{HeaderMap, Method};
//! use tower_conditional::{evaluate, Condition, Decision, ETag, ResourceState, Validators};
//!
//! let mut headers = HeaderMap::new();
//! headers.insert("if-match", "\"v1\"".parse()?);
//! let state = ResourceState::Present(Validators::new().with_etag(ETag::from_static("\"v2\"")));
//!
//! match evaluate(&Method::PUT, &headers, &state) {
//!     Decision::PreconditionFailed(condition) => assert_eq!(condition, Condition::IfMatch),
//!     other => panic!("expected 412, got {other:?}"),
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;

use http::StatusCode;
use http::header::{self, HeaderName};

/// The outcome of evaluating a request's preconditions (RFC 9110 §13.2.2).
///
/// ```
/// use http::{HeaderMap, Method, StatusCode};
/// use tower_conditional::{evaluate, Condition, Decision, ResourceState};
///
/// let mut headers = HeaderMap::new();
/// headers.insert("if-match", "v1".parse()?); // not an entity tag: the quotes are missing
/// let decision = evaluate(&Method::PUT, &headers, &ResourceState::Missing);
/// assert_eq!(decision, Decision::BadRequest(Condition::IfMatch));
/// assert_eq!(decision.status(), Some(StatusCode::BAD_REQUEST));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Decision {
    /// Perform the method. Tells how to treat a Range request and what was checked.
    Proceed(Proceed),
    /// Answer 304 Not Modified (GET and HEAD only). Names the condition that was false.
    NotModified(Condition),
    /// Answer 412 Precondition Failed without performing the method. Names the condition that
    /// was false.
    PreconditionFailed(Condition),
    /// Answer 400 Bad Request: the named field is not a valid `*` or entity-tag list.
    BadRequest(Condition),
}

impl Decision {
    /// The status code to answer with, or `None` for [`Decision::Proceed`].
    ///
    /// ```
    /// use http::StatusCode;
    /// use tower_conditional::{Condition, Decision};
    ///
    /// assert_eq!(
    ///     Decision::NotModified(Condition::IfNoneMatch).status(),
    ///     Some(StatusCode::NOT_MODIFIED)
    /// );
    /// ```
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Decision::Proceed(_) => None,
            Decision::NotModified(_) => Some(StatusCode::NOT_MODIFIED),
            Decision::PreconditionFailed(_) => Some(StatusCode::PRECONDITION_FAILED),
            Decision::BadRequest(_) => Some(StatusCode::BAD_REQUEST),
        }
    }

    /// The details of a [`Decision::Proceed`].
    ///
    /// ```
    /// use http::{HeaderMap, Method};
    /// use tower_conditional::{evaluate, Condition, Decision, ResourceState, Validators};
    ///
    /// let state = ResourceState::Present(Validators::new());
    /// assert!(evaluate(&Method::GET, &HeaderMap::new(), &state).proceed().is_some());
    /// assert!(Decision::NotModified(Condition::IfNoneMatch).proceed().is_none());
    /// ```
    pub fn proceed(&self) -> Option<&Proceed> {
        match self {
            Decision::Proceed(proceed) => Some(proceed),
            _ => None,
        }
    }

    /// The condition that decided: the false one for 304 and 412, the malformed field for 400,
    /// the first true one for [`Decision::Proceed`] (if any was evaluated).
    ///
    /// ```
    /// use http::{HeaderMap, Method};
    /// use tower_conditional::{evaluate, Condition, ETag, ResourceState, Validators};
    ///
    /// let current = ETag::from_static("\"v2\"");
    /// let state = ResourceState::Present(Validators::new().with_etag(current));
    /// let mut headers = HeaderMap::new();
    /// headers.insert("if-none-match", "\"v1\"".parse()?);
    /// // The cached copy is stale, so If-None-Match is true: it decided that the GET proceeds.
    /// let decision = evaluate(&Method::GET, &headers, &state);
    /// assert!(decision.proceed().is_some());
    /// assert_eq!(decision.condition(), Some(Condition::IfNoneMatch));
    /// assert_eq!(evaluate(&Method::GET, &HeaderMap::new(), &state).condition(), None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn condition(&self) -> Option<Condition> {
        match self {
            Decision::Proceed(proceed) => proceed.passed(),
            Decision::NotModified(c)
            | Decision::PreconditionFailed(c)
            | Decision::BadRequest(c) => Some(*c),
        }
    }
}

/// Details of a [`Decision::Proceed`].
///
/// ```
/// use http::{HeaderMap, Method};
/// use tower_conditional::{evaluate, Condition, ETag, RangeHandling, ResourceState, Validators};
///
/// let mut headers = HeaderMap::new();
/// headers.insert("if-match", "\"v2\"".parse()?);
/// let state = ResourceState::Present(Validators::new().with_etag(ETag::from_static("\"v2\"")));
///
/// let decision = evaluate(&Method::PUT, &headers, &state);
/// let proceed = decision.proceed().expect("the tag matches");
/// assert_eq!(proceed.passed(), Some(Condition::IfMatch));
/// assert!(proceed.etag_matched());
/// assert_eq!(proceed.range(), RangeHandling::NotRequested);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Proceed {
    pub(crate) range: RangeHandling,
    pub(crate) passed: Option<Condition>,
    pub(crate) etag_matched: bool,
    pub(crate) ignored: Option<Ignored>,
}

impl Proceed {
    /// How to treat the request's `Range` header.
    ///
    /// ```
    /// use http::{HeaderMap, Method};
    /// use tower_conditional::{evaluate, RangeHandling, ResourceState, Validators};
    ///
    /// let state = ResourceState::Present(Validators::new());
    /// let mut headers = HeaderMap::new();
    /// headers.insert("range", "bytes=0-99".parse()?);
    /// let get = evaluate(&Method::GET, &headers, &state);
    /// assert_eq!(get.proceed().unwrap().range(), RangeHandling::Honor);
    /// // Range means something only for GET.
    /// let head = evaluate(&Method::HEAD, &headers, &state);
    /// assert_eq!(head.proceed().unwrap().range(), RangeHandling::NotRequested);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn range(&self) -> RangeHandling {
        self.range
    }

    /// The first precondition that was evaluated and found true, in §13.2.2 order; `None` when
    /// no precondition applied.
    ///
    /// ```
    /// use http::{header, HeaderMap, Method};
    /// use tower_conditional::{evaluate, Condition, LastModified, ResourceState, Validators};
    ///
    /// let modified = LastModified::from_unix_seconds(1_000)?;
    /// let state = ResourceState::Present(Validators::new().with_last_modified(modified));
    /// let mut headers = HeaderMap::new();
    /// headers.insert(header::IF_UNMODIFIED_SINCE, modified.to_header_value());
    /// let decision = evaluate(&Method::DELETE, &headers, &state);
    /// assert_eq!(decision.proceed().unwrap().passed(), Some(Condition::IfUnmodifiedSince));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn passed(&self) -> Option<Condition> {
        self.passed
    }

    /// Whether an `If-Match` entity tag matched the current entity tag (by strong comparison,
    /// so the matched tag *is* the current one; the layer with encoding-aware tags also counts
    /// `"v7-gzip"` for `"v7"`). `false` for `If-Match: *`.
    ///
    /// ```
    /// use http::{HeaderMap, Method};
    /// use tower_conditional::{evaluate, Condition, ETag, ResourceState, Validators};
    ///
    /// let current = ETag::from_static("\"v1\"");
    /// let state = ResourceState::Present(Validators::new().with_etag(current));
    /// let mut headers = HeaderMap::new();
    /// headers.insert("if-match", "*".parse()?);
    /// let proceed = *evaluate(&Method::PUT, &headers, &state).proceed().unwrap();
    /// assert_eq!(proceed.passed(), Some(Condition::IfMatch));
    /// assert!(!proceed.etag_matched()); // `*` names no version: nothing to compare-and-set
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn etag_matched(&self) -> bool {
        self.etag_matched
    }

    /// Why preconditions were not evaluated at all, if they were not.
    ///
    /// ```
    /// use http::{HeaderMap, Method};
    /// use tower_conditional::{evaluate, Ignored, ResourceState};
    ///
    /// let mut headers = HeaderMap::new();
    /// headers.insert("if-match", "\"v1\"".parse()?);
    /// let decision = evaluate(&Method::OPTIONS, &headers, &ResourceState::Missing);
    /// assert_eq!(decision.proceed().unwrap().ignored(), Some(Ignored::Method));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn ignored(&self) -> Option<Ignored> {
        self.ignored
    }
}

/// Why preconditions were ignored (RFC 9110 §13.2.1).
///
/// ```
/// use http::{HeaderMap, Method};
/// use tower_conditional::{evaluate, Ignored, ResourceState};
///
/// let mut headers = HeaderMap::new();
/// headers.insert("if-match", "\"v1\"".parse()?);
/// // Not a 412: the handler answers 404, as it would without the header.
/// let decision = evaluate(&Method::GET, &headers, &ResourceState::Missing);
/// assert_eq!(decision.proceed().and_then(|p| p.ignored()), Some(Ignored::Missing));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Ignored {
    /// CONNECT, OPTIONS and TRACE neither select nor modify a representation.
    Method,
    /// GET, HEAD or DELETE of a missing resource: the unconditional answer is a 404, which
    /// preconditions do not change.
    Missing,
}

/// What to do with a `Range` header (RFC 9110 §13.1.5, §14.2).
///
/// ```
/// use http::{HeaderMap, Method};
/// use tower_conditional::{evaluate, ETag, RangeHandling, ResourceState, Validators};
///
/// let state = ResourceState::Present(Validators::new().with_etag(ETag::from_static("\"v2\"")));
/// let mut headers = HeaderMap::new();
/// headers.insert("range", "bytes=1000-".parse()?);
/// headers.insert("if-range", "\"v1\"".parse()?); // the part the client has is of v1
/// let proceed = *evaluate(&Method::GET, &headers, &state).proceed().unwrap();
/// assert_eq!(proceed.range(), RangeHandling::Ignore); // send all of v2 with a 200
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RangeHandling {
    /// Not a GET, or no `Range` header: nothing to decide.
    NotRequested,
    /// Serve the requested range (206): there was no `If-Range`, or it was true.
    Honor,
    /// `If-Range` was false: ignore `Range` and send the whole representation (200).
    Ignore,
}

/// One of the five conditional request header fields (RFC 9110 §13.1).
///
/// ```
/// use tower_conditional::{Condition, Decision};
///
/// let condition = Decision::PreconditionFailed(Condition::IfMatch).condition().unwrap();
/// assert_eq!(condition.header_name(), http::header::IF_MATCH);
/// assert_eq!(format!("{condition} was false"), "If-Match was false");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Condition {
    /// `If-Match` (§13.1.1).
    IfMatch,
    /// `If-None-Match` (§13.1.2).
    IfNoneMatch,
    /// `If-Modified-Since` (§13.1.3).
    IfModifiedSince,
    /// `If-Unmodified-Since` (§13.1.4).
    IfUnmodifiedSince,
    /// `If-Range` (§13.1.5).
    IfRange,
}

impl Condition {
    /// The header field name.
    ///
    /// ```
    /// use tower_conditional::Condition;
    ///
    /// assert_eq!(Condition::IfNoneMatch.header_name(), http::header::IF_NONE_MATCH);
    /// ```
    pub fn header_name(&self) -> HeaderName {
        match self {
            Condition::IfMatch => header::IF_MATCH,
            Condition::IfNoneMatch => header::IF_NONE_MATCH,
            Condition::IfModifiedSince => header::IF_MODIFIED_SINCE,
            Condition::IfUnmodifiedSince => header::IF_UNMODIFIED_SINCE,
            Condition::IfRange => header::IF_RANGE,
        }
    }

    /// The field name as registered, e.g. `"If-None-Match"`.
    ///
    /// ```
    /// use tower_conditional::Condition;
    ///
    /// assert_eq!(Condition::IfModifiedSince.as_str(), "If-Modified-Since");
    /// assert_eq!(Condition::IfModifiedSince.to_string(), "If-Modified-Since");
    /// ```
    pub fn as_str(&self) -> &'static str {
        match self {
            Condition::IfMatch => "If-Match",
            Condition::IfNoneMatch => "If-None-Match",
            Condition::IfModifiedSince => "If-Modified-Since",
            Condition::IfUnmodifiedSince => "If-Unmodified-Since",
            Condition::IfRange => "If-Range",
        }
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
