//! How an update ended: [`Outcome`], or an [`UpdateError`] when no answer could be read.

use std::error::Error as StdError;
use std::fmt;

use bytes::Bytes;
use http::{Response, StatusCode};

use super::current::Current;
use crate::source::BoxError;
use crate::state::Validators;

/// How [`ConditionalUpdate::update`](super::ConditionalUpdate::update) ended, when every
/// exchange got an answer.
///
/// `attempts` counts the writes sent: 0 when the update ended before its first write.
///
/// ```
/// use tower_conditional::Outcome;
///
/// fn report(outcome: &Outcome) -> String {
///     match outcome {
///         Outcome::Written { attempts, .. } => format!("saved (attempt {attempts})"),
///         Outcome::Conflict { attempts, .. } => format!("still conflicting after {attempts} tries"),
///         Outcome::Gone { .. } => "deleted by someone else".to_owned(),
///         Outcome::Refused { response, .. } => format!("refused: {}", response.status()),
///         Outcome::Aborted { .. } => "nothing to change".to_owned(),
///         Outcome::NoValidator { .. } => "the server gives no validator to write against".to_owned(),
///         _ => "something new".to_owned(),
///     }
/// }
///
/// assert_eq!(report(&Outcome::Gone { attempts: 1 }), "deleted by someone else");
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum Outcome {
    /// A write was accepted (2xx).
    Written {
        /// The write's status: typically 201 Created or 200/204 for a replacement.
        status: StatusCode,
        /// The `ETag` and `Last-Modified` of the response, when it carried them: the version
        /// just written, to use for the next conditional request.
        validators: Validators,
        /// Writes sent, this one included.
        attempts: u32,
    },
    /// Every write was answered 412 Precondition Failed: others kept writing in between, up to
    /// the bound ([`ConditionalUpdate::max_attempts`](super::ConditionalUpdate::max_attempts)).
    Conflict {
        /// The state the last attempt was based on (not refetched after the last 412).
        current: Current,
        /// Writes sent.
        attempts: u32,
    },
    /// The resource was deleted while the update ran: a `GET` after the first, or a replacing
    /// write, answered 404. Recreating it would undo that delete, so the update stops.
    Gone {
        /// Writes sent.
        attempts: u32,
    },
    /// An answer that retrying cannot change: 400 or 428 to a write (a bug on this side: the
    /// request was malformed or lacked a precondition), 401, 403, 5xx, a 404 to a create, a
    /// first `GET` answered other than 2xx or 404, ... Never retried.
    Refused {
        /// The response, read whole: usually an RFC 9457 `application/problem+json` body.
        response: Response<Bytes>,
        /// Writes sent.
        attempts: u32,
    },
    /// The change function answered [`Change::Abort`](super::Change::Abort).
    Aborted {
        /// What the function was shown.
        current: Current,
        /// Writes sent before.
        attempts: u32,
    },
    /// The representation carries neither a strong `ETag` nor a `Last-Modified`, so no write
    /// could say which version it replaces. Nothing is sent: a write without a precondition
    /// could overwrite someone else's edit. The change function is not called.
    NoValidator {
        /// The representation without validators.
        current: Current,
        /// Writes sent before.
        attempts: u32,
    },
}

impl Outcome {
    /// The number of writes sent.
    ///
    /// ```
    /// use tower_conditional::Outcome;
    ///
    /// assert_eq!(Outcome::Gone { attempts: 3 }.attempts(), 3);
    /// ```
    pub fn attempts(&self) -> u32 {
        match self {
            Outcome::Written { attempts, .. }
            | Outcome::Conflict { attempts, .. }
            | Outcome::Gone { attempts }
            | Outcome::Refused { attempts, .. }
            | Outcome::Aborted { attempts, .. }
            | Outcome::NoValidator { attempts, .. } => *attempts,
        }
    }

    /// Whether a write was accepted.
    ///
    /// ```
    /// use tower_conditional::Outcome;
    ///
    /// assert!(!Outcome::Gone { attempts: 1 }.is_written());
    /// ```
    pub fn is_written(&self) -> bool {
        matches!(self, Outcome::Written { .. })
    }
}

/// An exchange that got no answer: the client service failed (connection refused, timeout, ...)
/// or a response body could not be read.
///
/// It is an [`Error`](StdError) when the service's error is one. A service whose error is a
/// [`BoxError`](crate::BoxError) (tower's middleware) gives an `UpdateError` that is not: match
/// it, or map it with `.map_err(|e| ...)`.
///
/// ```
/// use tower_conditional::UpdateError;
///
/// use std::error::Error;
///
/// let error = UpdateError::Service(std::io::Error::other("connection refused"));
/// assert_eq!(error.to_string(), "the HTTP client failed");
/// assert_eq!(error.source().map(|e| e.to_string()).as_deref(), Some("connection refused"));
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum UpdateError<E> {
    /// The client service's own error.
    Service(E),
    /// Reading a response body failed.
    Body(BoxError),
}

impl<E> fmt::Display for UpdateError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UpdateError::Service(_) => f.write_str("the HTTP client failed"),
            UpdateError::Body(_) => f.write_str("reading a response body failed"),
        }
    }
}

impl<E: StdError + 'static> StdError for UpdateError<E> {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            UpdateError::Service(error) => Some(error),
            UpdateError::Body(error) => Some(&**error),
        }
    }
}
