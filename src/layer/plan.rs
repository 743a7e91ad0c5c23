//! What travels with one request through the middleware: the [`Plan`] made when it arrives,
//! and the [`Post`] (with its [`ResponseCheck`] and [`RangeCheck`]) that the response side
//! applies to the inner service's response. Plain data, made by the request side and read by the response side.

use std::time::Duration;

use http::header::{HeaderName, IF_MATCH, IF_MODIFIED_SINCE, IF_NONE_MATCH, IF_UNMODIFIED_SINCE};
use http::request::Parts;
use http::{HeaderMap, HeaderValue, Method, Version};

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
    /// The range was honoured because `If-Range` was true: a 206 must be of the version it
    /// named.
    pub(super) range: Option<Box<RangeCheck>>,
    /// A write's cache keys, invalidated when its response is a success.
    pub(super) invalidate: Option<Invalidate>,
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

/// A GET whose `Range` the layer let through because its `If-Range` was true against the
/// look-up: what the response side needs to make sure a 206 is of that version (RFC 9110
/// §13.1.5), even when a write committed between the look-up and the handler's read.
#[derive(Debug)]
pub(super) struct RangeCheck {
    /// The request's one `If-Range` line, as evaluated.
    pub(super) if_range: HeaderValue,
    /// The look-up's `Last-Modified` was declared strong (a date names one version).
    pub(super) strong_date: bool,
    /// The request head as the source saw it, to ask the source again when the 206 carries
    /// no validator of the kind `If-Range` names.
    pub(super) head: Parts,
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
