//! The response side of `If-Range` (RFC 9110 §13.1.5): a 206 reaches the client only when it
//! is of the version `If-Range` named.
//!
//! The layer evaluates `If-Range` against the source's look-up, then the handler reads. A write
//! that commits in between makes the handler read the next version, and a 206 of it would
//! splice the bytes of two versions in the client's copy: exactly what `If-Range` exists to
//! prevent. So a 206 that follows a true `If-Range` is judged again, on the way out:
//!
//! 1. against its own validator of the kind `If-Range` names (`ETag` for a tag,
//!    `Last-Modified` for a date): `If-Range` must hold for it as it held for the look-up;
//! 2. when it carries none, against a second look-up, made after the response: `If-Range`
//!    still true means no write committed between the two look-ups (provided the source never
//!    issues a tag twice, such as a version number; a tag that is a hash of the content comes
//!    back only with the same bytes), so the handler's read, in between, was of that version.
//!
//! A 206 of another version, or one that cannot be shown to be of the named one, is replaced by
//! a 503 with `Retry-After: 0`: the layer cannot produce the whole current representation
//! itself (the request body is gone, and the inner service cannot be asked twice), and the
//! client's immediate retry gets it, its `If-Range` now false.

use http::header::{ETAG, IF_RANGE, LAST_MODIFIED, RANGE};
use http::{HeaderMap, HeaderValue, Method};

use super::plan::RangeCheck;
use crate::accept_encoding::AcceptEncoding;
use crate::conditions::Conditions;
use crate::date::LastModified;
use crate::decision::{Decision, RangeHandling};
use crate::etag::ETag;
use crate::source::{BoxError, Lookup};
use crate::state::{ResourceState, Validators};

/// Which version a 206 is of, as far as its headers or a second look-up tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RangeOf {
    /// The version `If-Range` named: send it.
    Named,
    /// Another version, or one that cannot be shown to be the named one: never send it.
    Other,
    /// The 206 does not say: ask the source again.
    Unknown,
}

/// Judges a 206 by its own validators (before any are filled in or rewritten per coding:
/// those are the layer's, not the handler's). `aliases`: encoding-aware tags are on.
pub(super) fn judge(check: &RangeCheck, headers: &HeaderMap, aliases: bool) -> RangeOf {
    let names_tag = names_a_tag(&check.if_range);
    let validators = if names_tag {
        match headers.get(ETAG).map(ETag::try_from) {
            Some(Ok(etag)) => Validators::new().with_etag(etag),
            // A tag that is not one cannot be the named one.
            Some(Err(_)) => return RangeOf::Other,
            None => return RangeOf::Unknown,
        }
    } else {
        let date = headers.get(LAST_MODIFIED);
        match date.map(|value| LastModified::parse_http_date(value.as_bytes())) {
            // A date at or after this second may be a later version's date sent as "now"
            // (RFC 9110 §8.8.2.1 clamps future dates): it cannot show which version this is.
            Some(Some(date)) if date.unix_seconds() >= now_seconds() => return RangeOf::Unknown,
            Some(Some(date)) => Validators::new()
                .with_last_modified(date)
                .with_strong_last_modified(check.strong_date),
            Some(None) => return RangeOf::Other,
            None => return RangeOf::Unknown,
        }
    };
    holds(check, &ResourceState::Present(validators), aliases)
}

/// Judges a 206 that does not say which version it is by a second look-up: `If-Range` true
/// against it as against the first. Anything else (missing now, unknown, failed) cannot show
/// the 206 to be of the named version: `Err` carries a failure, for the report.
pub(super) fn judge_again<E: Into<BoxError>>(
    check: &RangeCheck,
    answer: Result<Lookup, E>,
    aliases: bool,
) -> Result<RangeOf, BoxError> {
    match answer.map_err(Into::into)?.into_state() {
        Some(state) => Ok(holds(check, &state, aliases)),
        None => Ok(RangeOf::Other),
    }
}

/// Whether `If-Range` (and only it) is true for a GET against `state`. (A missing resource
/// has no version to name: the evaluator ignores preconditions then, so it is decided here.)
/// With encoding-aware tags (`aliases`), `If-Range` names the identity form of the current tag,
/// as the layer evaluated it before the handler.
fn holds(check: &RangeCheck, state: &ResourceState, aliases: bool) -> RangeOf {
    if !state.is_present() {
        return RangeOf::Other;
    }
    let mut headers = HeaderMap::with_capacity(2);
    headers.insert(RANGE, HeaderValue::from_static("bytes=0-"));
    headers.insert(IF_RANGE, check.if_range.clone());
    let decision = Conditions::from_headers(&headers).evaluate_with(
        &Method::GET,
        state,
        // No field: the default reads as no `Accept-Encoding`, all that aliasing needs.
        aliases.then(AcceptEncoding::default).as_ref(),
    );
    match decision {
        Decision::Proceed(proceed) if proceed.range() == RangeHandling::Honor => RangeOf::Named,
        _ => RangeOf::Other,
    }
}

/// Whether an `If-Range` value is an entity-tag (else it is a date; §13.1.5).
fn names_a_tag(value: &HeaderValue) -> bool {
    let value = value.as_bytes().trim_ascii_start();
    value.starts_with(b"\"") || value.starts_with(b"W/")
}

/// The current second, as Unix seconds (0 before 1970).
fn now_seconds() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::Request;
    use std::convert::Infallible;

    /// A look-up that cannot fail.
    type Never = Result<Lookup, Infallible>;

    fn check(if_range: &'static str, strong_date: bool) -> RangeCheck {
        let (head, ()) = Request::get("/").body(()).unwrap().into_parts();
        RangeCheck {
            if_range: HeaderValue::from_static(if_range),
            strong_date,
            head,
            retry_after: None,
        }
    }

    fn headers(fields: &[(http::HeaderName, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in fields {
            map.insert(name, HeaderValue::from_static(value));
        }
        map
    }

    const DATE: &str = "Sun, 06 Nov 1994 08:49:37 GMT";

    #[test]
    fn a_206_is_judged_by_its_own_validator_of_the_kind_if_range_names() {
        let tag = check("\"v1\"", false);
        assert_eq!(
            judge(&tag, &headers(&[(ETAG, "\"v1\"")]), false),
            RangeOf::Named
        );
        assert_eq!(
            judge(&tag, &headers(&[(ETAG, "\"v2\"")]), false),
            RangeOf::Other
        );
        assert_eq!(
            judge(&tag, &headers(&[(ETAG, "W/\"v1\"")]), false),
            RangeOf::Other
        );
        assert_eq!(
            judge(&tag, &headers(&[(ETAG, "v1")]), false),
            RangeOf::Other
        );
        assert_eq!(
            judge(&tag, &headers(&[(LAST_MODIFIED, DATE)]), false),
            RangeOf::Unknown
        );
        assert_eq!(judge(&tag, &HeaderMap::new(), false), RangeOf::Unknown);

        let date = check(DATE, true);
        let same = headers(&[(LAST_MODIFIED, DATE)]);
        assert_eq!(judge(&date, &same, false), RangeOf::Named);
        let later = headers(&[(LAST_MODIFIED, "Sun, 06 Nov 1994 08:49:38 GMT")]);
        assert_eq!(judge(&date, &later, false), RangeOf::Other);
        assert_eq!(
            judge(&date, &headers(&[(ETAG, "\"v1\"")]), false),
            RangeOf::Unknown
        );
        // A date the source did not declare strong never names one version.
        assert_eq!(judge(&check(DATE, false), &same, false), RangeOf::Other);
    }

    #[test]
    fn with_encoding_aware_tags_the_206_is_compared_in_its_identity_form() {
        let tag = check("\"v1\"", false);
        assert_eq!(
            judge(&tag, &headers(&[(ETAG, "\"v1\"")]), false),
            RangeOf::Named
        );
        assert_eq!(
            judge(&tag, &headers(&[(ETAG, "\"v0\"")]), false),
            RangeOf::Other
        );
    }

    #[test]
    fn a_second_look_up_shows_the_206_of_the_named_version_only_if_if_range_still_holds() {
        let tag = check("\"v1\"", false);
        let at =
            |etag| -> Never { Ok(Validators::new().with_etag(ETag::from_static(etag)).into()) };
        assert_eq!(
            judge_again(&tag, at("\"v1\""), false).unwrap(),
            RangeOf::Named
        );
        assert_eq!(
            judge_again(&tag, at("\"v2\""), false).unwrap(),
            RangeOf::Other
        );
        let gone: Never = Ok(Lookup::Missing);
        assert_eq!(judge_again(&tag, gone, false).unwrap(), RangeOf::Other);
        let unknown: Never = Ok(Lookup::Unknown);
        assert_eq!(judge_again(&tag, unknown, false).unwrap(), RangeOf::Other);
        let failed: Result<Lookup, &str> = Err("down");
        assert!(judge_again(&tag, failed, false).is_err());
    }
}
