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
    pub fn proceed(&self) -> Option<&Proceed> {
        match self {
            Decision::Proceed(proceed) => Some(proceed),
            _ => None,
        }
    }

    /// The condition that decided: the false one for 304 and 412, the malformed field for 400,
    /// the first true one for [`Decision::Proceed`] (if any was evaluated).
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
    pub fn range(&self) -> RangeHandling {
        self.range
    }

    /// The first precondition that was evaluated and found true, in §13.2.2 order; `None` when
    /// no precondition applied.
    pub fn passed(&self) -> Option<Condition> {
        self.passed
    }

    /// Whether an `If-Match` entity tag matched the current entity tag (by strong comparison,
    /// so the matched tag *is* the current one). `false` for `If-Match: *`.
    pub fn etag_matched(&self) -> bool {
        self.etag_matched
    }

    /// Why preconditions were not evaluated at all, if they were not.
    pub fn ignored(&self) -> Option<Ignored> {
        self.ignored
    }
}

/// Why preconditions were ignored (RFC 9110 §13.2.1).
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
