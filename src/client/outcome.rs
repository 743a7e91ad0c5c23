//! How an update ended: [`Outcome`], or an [`UpdateError`] when it got no answer it could use.

use std::error::Error as StdError;
use std::fmt;

use bytes::Bytes;
use http::{Method, Response, StatusCode};

use super::change::InvalidWrite;
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
///         Outcome::Unknown { .. } => "the response was lost: check before trying again".to_owned(),
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
    /// The resource was deleted while the update ran: a refetch after a lost race, or a write
    /// based on a representation, answered 404 Not Found or 410 Gone. Recreating it would undo
    /// that delete, so the update stops.
    Gone {
        /// Writes sent.
        attempts: u32,
    },
    /// An answer that retrying cannot change: 400 or 428 to a write (a bug on this side: the
    /// request was malformed or lacked a precondition), 401, 403, 409 (unless
    /// [`retry_409`](super::ConditionalUpdate::retry_409) is on), 5xx, a 404 to a create, a
    /// first `GET` answered other than 2xx, 404 or 410, ... Never retried.
    ///
    /// A 5xx to a write says the server failed, not that it did nothing: a gateway's 502 or 504
    /// can come after the origin applied the write.
    Refused {
        /// The response, read up to the
        /// [`response_limit`](super::ConditionalUpdate::response_limit): usually an RFC 9457
        /// `application/problem+json` body.
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
    /// A write was sent and its response lost (the client service failed after sending it: a
    /// timeout, a reset connection), and what the update saw afterwards cannot tell whether it
    /// was applied. It may have been, or may still be (a write in flight in a proxy or a
    /// handler can commit late). The update never retries it on its own: the caller decides,
    /// knowing what the change was, from `current`.
    ///
    /// The refetch after a lost response ends here when the resource has changed since the
    /// version the write was conditional on (the change may be ours, or someone else's made
    /// after it), when the write was a create or conditional on a date, and always unless
    /// [`etags_never_repeat`](super::ConditionalUpdate::etags_never_repeat) is on. With it on,
    /// an unchanged strong tag shows the write was not applied and the loop goes on; if that
    /// retry then loses a race (412), aborts, or runs out of attempts, the lost write is still
    /// unsettled and the update ends here too. Only a later 2xx, conditional on the same tag,
    /// settles it (as [`Written`](Outcome::Written)): the lost write and the retry cannot both
    /// apply.
    Unknown {
        /// The resource as the update last read it after the lost response.
        current: Current,
        /// Writes sent, the lost ones included.
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
            | Outcome::NoValidator { attempts, .. }
            | Outcome::Unknown { attempts, .. } => *attempts,
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

/// An update that ended without an answer it could use: the client service failed, a response
/// body could not be read or was larger than the limit, or the change asked for a write that
/// cannot be sent.
///
/// Every variant but [`Unconfirmed`](UpdateError::Unconfirmed) means that no write of this
/// update was accepted and none is in doubt: they end the update before its first write, or
/// after writes that were answered with an error status. `Unconfirmed` is the one that says
/// "a write may have been applied".
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
    /// The client service's own error, where no write was in doubt: on a `GET`, or before a
    /// write was handed to the service (its `poll_ready`).
    Service(E),
    /// Reading a response body failed.
    Body(BoxError),
    /// A response body was longer than the
    /// [`response_limit`](super::ConditionalUpdate::response_limit); the update stopped reading
    /// it there. Only responses whose body the update needs count: a `GET`'s representation, a
    /// refused write's problem document. The body of an accepted write or of a 412 is read up
    /// to the limit and dropped, without failing the update.
    ResponseTooLarge {
        /// The method of the request answered.
        method: Method,
        /// The response's status.
        status: StatusCode,
        /// The limit in bytes.
        limit: usize,
    },
    /// The change function asked for a write that cannot be sent (see [`InvalidWrite`]).
    /// Nothing of it was sent.
    InvalidWrite(InvalidWrite),
    /// A write's response was lost (`lost`: the client service failed after the request was
    /// handed to it), and the update then failed (`error`) before it could tell whether the
    /// write was applied: the refetch failed or answered neither 2xx, 404 nor 410, or a retry
    /// of a write shown not applied (see
    /// [`etags_never_repeat`](super::ConditionalUpdate::etags_never_repeat)) failed in its
    /// turn. The write may have been applied, or may still be. Never retried on its own.
    Unconfirmed {
        /// Why the write's response was lost.
        lost: E,
        /// What ended the update before it could tell.
        error: Box<UpdateError<E>>,
    },
    /// A response that shows neither the resource's state nor what became of a write, where the
    /// update needed one to settle a lost response: a 5xx or 401 to the refetch, a 400 to the
    /// retry. Found as the `error` of [`Unconfirmed`](UpdateError::Unconfirmed).
    Status(Response<Bytes>),
}

impl<E> UpdateError<E> {
    /// Whether a write of the update may have been applied: true only for
    /// [`Unconfirmed`](UpdateError::Unconfirmed).
    ///
    /// ```
    /// use tower_conditional::UpdateError;
    ///
    /// let error = UpdateError::Service(std::io::Error::other("connection refused"));
    /// assert!(!error.may_have_written());
    /// let lost = UpdateError::Unconfirmed {
    ///     lost: std::io::Error::other("reset"),
    ///     error: Box::new(error),
    /// };
    /// assert!(lost.may_have_written());
    /// ```
    pub fn may_have_written(&self) -> bool {
        matches!(self, UpdateError::Unconfirmed { .. })
    }
}

impl<E> fmt::Display for UpdateError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UpdateError::Service(_) => f.write_str("the HTTP client failed"),
            UpdateError::Body(_) => f.write_str("reading a response body failed"),
            UpdateError::ResponseTooLarge {
                method,
                status,
                limit,
            } => write!(
                f,
                "the body of the response to {method} ({status}) is longer than the response \
                 limit of {limit} bytes (ConditionalUpdate::response_limit)"
            ),
            UpdateError::InvalidWrite(invalid) => {
                write!(
                    f,
                    "the change asked for a write that cannot be sent: {invalid}"
                )
            }
            UpdateError::Unconfirmed { error, .. } => write!(
                f,
                "a write's response was lost and whether it was applied is unknown, because \
                 then {error}"
            ),
            UpdateError::Status(response) => {
                write!(f, "the server answered {}", response.status())
            }
        }
    }
}

impl<E: StdError + 'static> StdError for UpdateError<E> {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            UpdateError::Service(error) => Some(error),
            UpdateError::Body(error) => Some(&**error),
            UpdateError::InvalidWrite(invalid) => Some(invalid),
            UpdateError::Unconfirmed { lost, .. } => Some(lost),
            UpdateError::ResponseTooLarge { .. } | UpdateError::Status(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_what_went_wrong() {
        let too_large = UpdateError::<std::io::Error>::ResponseTooLarge {
            method: Method::GET,
            status: StatusCode::OK,
            limit: 1024,
        };
        assert_eq!(
            too_large.to_string(),
            "the body of the response to GET (200 OK) is longer than the response limit of \
             1024 bytes (ConditionalUpdate::response_limit)"
        );
        let unconfirmed = UpdateError::Unconfirmed {
            lost: std::io::Error::other("connection reset"),
            error: Box::new(UpdateError::Status(
                Response::builder().status(503).body(Bytes::new()).unwrap(),
            )),
        };
        assert_eq!(
            unconfirmed.to_string(),
            "a write's response was lost and whether it was applied is unknown, because then \
             the server answered 503 Service Unavailable"
        );
        let source = unconfirmed.source().map(ToString::to_string);
        assert_eq!(source.as_deref(), Some("connection reset"));
        assert!(unconfirmed.may_have_written() && !too_large.may_have_written());
    }
}
