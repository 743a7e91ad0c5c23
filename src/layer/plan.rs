//! What travels with one request through the middleware: the [`Plan`] made when it arrives,
//! and the [`Post`] (with its [`ResponseCheck`] and [`RangeCheck`]) that the response side
//! applies to the inner service's response. Plain data, made by the request side and read by the response side.

use std::sync::Arc;
use std::time::Duration;

use http::header::{HeaderName, IF_MATCH, IF_MODIFIED_SINCE, IF_NONE_MATCH, IF_UNMODIFIED_SINCE};
use http::request::Parts;
use http::{HeaderMap, Method, Version};

use super::settings::{Config, Settings};
use crate::cache::Invalidate;
use crate::state::Validators;

/// The per-request part of the configuration, copied out of [`Config`] when a request needs
/// the source or the response.
#[derive(Debug, Clone, Copy)]
pub(super) struct Plan {
    /// The request's method is one that [`Config::required`] lists.
    pub(super) precondition_required: bool,
    pub(super) settings: Settings,
}

impl Plan {
    pub(super) fn new(config: &Config, method: &Method) -> Self {
        Plan {
            precondition_required: config.requires_precondition(method),
            settings: config.settings,
        }
    }

    /// What to do with the inner service's response when nothing was evaluated before it.
    pub(super) fn post(&self) -> Post {
        Post::passing(&self.settings)
    }
}

/// What to do with the inner service's response.
#[derive(Debug)]
pub(super) struct Post {
    /// Validators to add to a successful GET/HEAD response that lacks them.
    /// (Boxed, like `check`, to keep `Post` small: it travels with every request's future.)
    pub(super) fill: Option<Box<Validators>>,
    /// Make strong tags specific to the response's content coding.
    pub(super) encoding_tags: bool,
    /// Leave the current validators on a handler's 412 (else they are removed).
    pub(super) validators_in_412: bool,
    /// Evaluate the request against the response's own validators.
    pub(super) check: Option<Box<ResponseCheck>>,
    /// The range was honoured after a true `If-Range`, `If-Match` or `If-Unmodified-Since`:
    /// a 206 must be of the version they named.
    pub(super) range: Option<Box<RangeCheck>>,
    /// A write's cache keys, invalidated when its response is a success.
    pub(super) invalidate: Option<Invalidate>,
    /// The request head as the source saw it, kept where the response may need a second
    /// look-up: a 206 that does not say which version it is (`range`); or a handler's
    /// `lost_race` 412 brought it back (see `refill`).
    pub(super) head: Option<Arc<Parts>>,
    /// A write that passed a precondition, with `validators_in_412`: a `lost_race` 412 that
    /// carries the request head (kept by the handler's taking of `Checked`) is given the
    /// current validators by a second look-up. The request's ticket: only the head of this
    /// request is taken back (a `Checked` of another request brings another's).
    pub(super) refill: Option<u64>,
    /// The layer took over from an inner service with validators of its own: the inner
    /// service's `ETag` and `Last-Modified` never leave on a success, the source's replace them.
    pub(super) take_over: bool,
}

impl Post {
    /// Nothing to fill in or evaluate: only the settings every response is finished with.
    pub(super) fn passing(settings: &Settings) -> Self {
        Post {
            fill: None,
            encoding_tags: settings.encoding_aware_etags,
            validators_in_412: settings.validators_in_412,
            check: None,
            range: None,
            invalidate: None,
            head: None,
            refill: None,
            take_over: false,
        }
    }
}

/// The request's conditions, kept for evaluation against the response (GET and HEAD only).
#[derive(Debug)]
pub(super) struct ResponseCheck {
    pub(super) method: Method,
    pub(super) version: Version,
    pub(super) conditions: HeaderMap,
    pub(super) plan: Plan,
    /// The source's validators, where it knew them but the response's coding decides the
    /// answer: the response is evaluated against them, its tag in the form issued for its
    /// coding (the response's own `ETag` and `Last-Modified` win).
    pub(super) source: Option<Validators>,
    /// A revalidation that lacks the precondition `require_preconditions` asks for: unless the
    /// response becomes a 304, it is answered 428 (RFC 6585 §3) in its place.
    pub(super) required: bool,
}

impl ResponseCheck {
    /// Copies the conditional fields of a GET or HEAD request (a cheap reference-counted copy of
    /// each value; nothing is allocated when the request has none).
    pub(super) fn new(parts: &Parts, plan: &Plan) -> Self {
        let fields = [
            IF_MATCH,
            IF_NONE_MATCH,
            IF_MODIFIED_SINCE,
            IF_UNMODIFIED_SINCE,
        ];
        Self::copying(parts, plan, fields, None)
    }

    /// Copies `If-None-Match` and `If-Modified-Since` only (the other preconditions were
    /// evaluated against `source` and passed), to evaluate them on the response. `required`:
    /// the request lacks a precondition `require_preconditions` asks for, so a response that
    /// does not become a 304 becomes a 428.
    pub(super) fn revalidation(
        parts: &Parts,
        plan: &Plan,
        source: Validators,
        required: bool,
    ) -> Self {
        let mut check = Self::copying(
            parts,
            plan,
            [IF_NONE_MATCH, IF_MODIFIED_SINCE],
            Some(source),
        );
        check.required = required;
        check
    }

    fn copying<const N: usize>(
        parts: &Parts,
        plan: &Plan,
        fields: [HeaderName; N],
        source: Option<Validators>,
    ) -> Self {
        let conditions = only(&parts.headers, fields);
        ResponseCheck {
            method: parts.method.clone(),
            version: parts.version,
            conditions,
            plan: *plan,
            source,
            required: false,
        }
    }
}

/// A ranged GET whose `Range` the layer let through because a field naming the version the
/// client holds was true against the look-up: `If-Range` (RFC 9110 §13.1.5), or `If-Match` /
/// `If-Unmodified-Since` (§13.1.1: "abort the request if the selected representation does not
/// match one that the client has already stored (or partially stored)"). What the response side
/// needs to make sure a 206 is of that version, even when a write committed between the
/// look-up and the handler's read.
#[derive(Debug)]
pub(super) struct RangeCheck {
    /// The fields that name the version, as evaluated and found true: `If-Range`, and the
    /// `If-Match` or `If-Unmodified-Since` that passed (never both: `If-Match` makes the date
    /// ignored).
    pub(super) names: HeaderMap,
    /// The look-up's `Last-Modified` was declared strong (a date names one version).
    pub(super) strong_date: bool,
    /// The second (Unix) at which the inner service was called: a `Last-Modified` it sent at
    /// or after that second may be a later version's date sent as "now" (RFC 9110 §8.8.2.1).
    pub(super) called_at: u64,
    /// The 206's own validators are the inner service's, not the source's (the layer took
    /// over from it): only a second look-up can judge it.
    pub(super) foreign_validators: bool,
    /// The request's HTTP version, for the framing of an answer in place of the 206.
    pub(super) version: Version,
    /// The `Retry-After` of a 503 when that second look-up fails.
    pub(super) retry_after: Option<Duration>,
}

/// The lines of `headers` named in `names`, as a map of their own.
pub(super) fn only<const N: usize>(headers: &HeaderMap, names: [HeaderName; N]) -> HeaderMap {
    let mut kept = HeaderMap::new();
    for name in names {
        for value in headers.get_all(&name) {
            kept.append(name.clone(), value.clone());
        }
    }
    kept
}
