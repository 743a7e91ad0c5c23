//! The response side of a ranged GET whose request named the version the client holds: a 206
//! reaches the client only when it is of that version.
//!
//! Three fields name a version on a ranged GET: `If-Range` (RFC 9110 §13.1.5: the range of
//! that version, else the whole current one), and `If-Match` and `If-Unmodified-Since`
//! (§13.1.1 and §13.1.4: "abort the request if the selected representation does not match one
//! that the client has already stored (or partially stored)", what resumable and multi-part
//! downloaders send). The layer evaluates them against the source's look-up, then the handler
//! reads. A write that commits in between makes the handler read the next version, and a 206 of
//! it would splice the bytes of two versions in the client's copy. So a 206 that follows such a
//! field, found true, is judged again on the way out:
//!
//! 1. against its own validators of the kinds the fields name (`ETag` for a tag,
//!    `Last-Modified` for a date): every field must hold for them as it held for the look-up.
//!    A `Last-Modified` at or after the second the handler was called may be a later version's
//!    date sent as "now" (§8.8.2.1 clamps future dates), so it shows nothing: the date the
//!    handler sent is compared with the time it was called, never with the clock when the 206
//!    reaches the layer (a second may have turned in between).
//! 2. when it carries none it can be judged by (or the layer took over from an inner service
//!    with validators of its own), against a second look-up, made after the response: the
//!    fields still true means no write committed between the two look-ups (provided the source
//!    never issues a tag twice, such as a version number; a tag that is a hash of the content
//!    comes back only with the same bytes), so the handler's read, in between, was of that
//!    version.
//!
//! What the client gets instead of a 206 of another version:
//!
//! - a false `If-Match` or `If-Unmodified-Since`: **412**, with the validators of the version
//!   that was read (or found by the second look-up): what the same request gets from the layer
//!   once the write has committed;
//! - else a false `If-Range`, or a 206 that cannot be shown to be of the named version: **503**
//!   with `Retry-After: 0`: the layer cannot produce the whole current representation itself
//!   (the request body is gone, and the inner service cannot be asked twice), and the client's
//!   immediate retry gets it, its `If-Range` now false.

use http::header::{ETAG, IF_MATCH, IF_RANGE, IF_UNMODIFIED_SINCE, LAST_MODIFIED, RANGE};
use http::{HeaderMap, HeaderValue, Method};

use super::plan::RangeCheck;
use crate::accept_encoding::AcceptEncoding;
use crate::conditions::Conditions;
use crate::date::LastModified;
use crate::decision::{Condition, Decision, RangeHandling};
use crate::etag::ETag;
use crate::source::{BoxError, Lookup};
use crate::state::{ResourceState, Validators};

/// Which version a 206 is of, as far as its headers or a second look-up tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum RangeOf {
    /// The version the request named: send it.
    Named,
    /// An `If-Match` or `If-Unmodified-Since` is false for the version read (or found by the
    /// second look-up), whose state this is: answer 412, as the layer would now.
    Changed(Condition, Box<ResourceState>),
    /// `If-Range` is false, or the 206 cannot be shown to be of the named version: never send
    /// it.
    Other,
    /// The 206 does not say: ask the source again.
    Unknown,
}

/// Judges a 206 by its own validators (before any are filled in or rewritten per coding:
/// those are the layer's, not the handler's). `aliases`: encoding-aware tags are on.
pub(super) fn judge(check: &RangeCheck, headers: &HeaderMap, aliases: bool) -> RangeOf {
    if check.foreign_validators {
        return RangeOf::Unknown;
    }
    let etag = headers.get(ETAG).and_then(|v| ETag::try_from(v).ok());
    // A date at or after the second the handler was called may be a later version's date
    // sent as "now": it cannot show which version this is.
    let date = headers
        .get(LAST_MODIFIED)
        .and_then(|value| LastModified::parse_http_date(value.as_bytes()))
        .filter(|date| date.unix_seconds() < check.called_at);
    let (tags, dates) = kinds(check);
    if (tags && etag.is_none()) || (dates && date.is_none()) {
        return RangeOf::Unknown;
    }
    let mut validators = Validators::new();
    if let Some(etag) = etag {
        validators = validators.with_etag(etag);
    }
    if let Some(date) = date {
        validators = validators
            .with_last_modified(date)
            .with_strong_last_modified(check.strong_date);
    }
    holds(check, &ResourceState::Present(validators), aliases)
}

/// Judges a 206 that does not say which version it is by a second look-up: every field true
/// against it as against the first. Unknown validators cannot show the 206 to be of the named
/// version; `Err` carries a failure, for the report.
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

/// Which kinds of validator the check's fields compare: (tags, dates).
fn kinds(check: &RangeCheck) -> (bool, bool) {
    let if_range_tag = check.names.get(IF_RANGE).map(names_a_tag);
    let tags = check.names.contains_key(IF_MATCH) || if_range_tag == Some(true);
    let dates = check.names.contains_key(IF_UNMODIFIED_SINCE) || if_range_tag == Some(false);
    (tags, dates)
}

/// The `If-Match` or `If-Unmodified-Since` the check holds, if any.
fn lost_update_field(check: &RangeCheck) -> Option<Condition> {
    if check.names.contains_key(IF_MATCH) {
        Some(Condition::IfMatch)
    } else if check.names.contains_key(IF_UNMODIFIED_SINCE) {
        Some(Condition::IfUnmodifiedSince)
    } else {
        None
    }
}

/// Whether the check's fields (and only they) are true for a ranged GET against `state`.
/// (A missing resource has no version to name: the evaluator ignores preconditions then, so
/// it is decided here.) With encoding-aware tags (`aliases`), the fields are compared as the
/// layer compared them before the handler: `If-Range` with the identity form of the tag.
fn holds(check: &RangeCheck, state: &ResourceState, aliases: bool) -> RangeOf {
    if !state.is_present() {
        return match lost_update_field(check) {
            Some(condition) => RangeOf::Changed(condition, Box::new(ResourceState::Missing)),
            None => RangeOf::Other,
        };
    }
    let mut headers = check.names.clone();
    headers.insert(RANGE, HeaderValue::from_static("bytes=0-"));
    let decision = Conditions::from_headers(&headers).evaluate_with(
        &Method::GET,
        state,
        // No field: the default reads as no `Accept-Encoding`, all that aliasing needs.
        aliases.then(AcceptEncoding::default).as_ref(),
    );
    match decision {
        Decision::Proceed(proceed) if proceed.range() == RangeHandling::Honor => RangeOf::Named,
        Decision::PreconditionFailed(condition) => {
            RangeOf::Changed(condition, Box::new(state.clone()))
        }
        _ => RangeOf::Other,
    }
}

/// Whether an `If-Range` value is an entity-tag (else it is a date; §13.1.5).
fn names_a_tag(value: &HeaderValue) -> bool {
    let value = value.as_bytes().trim_ascii_start();
    value.starts_with(b"\"") || value.starts_with(b"W/")
}

/// The current second, as Unix seconds (0 before 1970).
pub(super) fn now_seconds() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::convert::Infallible;

    /// A look-up that cannot fail.
    type Never = Result<Lookup, Infallible>;

    fn checking(names: &[(http::HeaderName, &'static str)], strong_date: bool) -> RangeCheck {
        RangeCheck {
            names: headers(names),
            strong_date,
            called_at: now_seconds(),
            foreign_validators: false,
            version: http::Version::HTTP_11,
            retry_after: None,
        }
    }

    fn check(if_range: &'static str, strong_date: bool) -> RangeCheck {
        checking(&[(IF_RANGE, if_range)], strong_date)
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
        // A tag that is not one says nothing: the source is asked.
        assert_eq!(
            judge(&tag, &headers(&[(ETAG, "v1")]), false),
            RangeOf::Unknown
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

    fn state(etag: &'static str) -> ResourceState {
        ResourceState::Present(Validators::new().with_etag(ETag::from_static(etag)))
    }

    #[test]
    fn a_206_after_if_match_of_another_version_is_a_412_naming_the_version_read() {
        let if_match = checking(&[(IF_MATCH, "\"v1\"")], false);
        let v2 = headers(&[(ETAG, "\"v2\"")]);
        assert_eq!(
            judge(&if_match, &headers(&[(ETAG, "\"v1\"")]), false),
            RangeOf::Named
        );
        assert_eq!(
            judge(&if_match, &v2, false),
            RangeOf::Changed(Condition::IfMatch, Box::new(state("\"v2\"")))
        );
        assert_eq!(judge(&if_match, &HeaderMap::new(), false), RangeOf::Unknown);
        // With If-Range too: If-Match comes first (§13.2.2).
        let both = checking(&[(IF_MATCH, "\"v1\""), (IF_RANGE, "\"v1\"")], false);
        assert_eq!(
            judge(&both, &v2, false),
            RangeOf::Changed(Condition::IfMatch, Box::new(state("\"v2\"")))
        );
        // A second look-up: the same rules; a resource gone is a false If-Match too.
        let at = |etag| -> Never { Ok(state(etag).into()) };
        assert_eq!(
            judge_again(&if_match, at("\"v1\""), false).unwrap(),
            RangeOf::Named
        );
        assert_eq!(
            judge_again(&if_match, at("\"v2\""), false).unwrap(),
            RangeOf::Changed(Condition::IfMatch, Box::new(state("\"v2\"")))
        );
        let gone: Never = Ok(Lookup::Missing);
        assert_eq!(
            judge_again(&if_match, gone, false).unwrap(),
            RangeOf::Changed(Condition::IfMatch, Box::new(ResourceState::Missing))
        );
    }

    #[test]
    fn a_206_after_if_unmodified_since_is_judged_by_its_own_date() {
        let held = checking(&[(IF_UNMODIFIED_SINCE, DATE)], false);
        let same = headers(&[(LAST_MODIFIED, DATE)]);
        assert_eq!(judge(&held, &same, false), RangeOf::Named);
        let later = headers(&[(LAST_MODIFIED, "Sun, 06 Nov 1994 08:49:38 GMT")]);
        assert!(matches!(
            judge(&held, &later, false),
            RangeOf::Changed(Condition::IfUnmodifiedSince, _)
        ));
        assert_eq!(
            judge(&held, &headers(&[(ETAG, "\"v1\"")]), false),
            RangeOf::Unknown
        );
    }

    #[test]
    fn a_date_at_or_after_the_call_shows_nothing_whatever_the_clock_says_later() {
        // The handler was called at second `called`: a Last-Modified of that second may be a
        // later version's date sent as "now", even once the clock has moved on.
        let called = 784_111_777; // DATE
        for names in [&[(IF_RANGE, DATE)][..], &[(IF_UNMODIFIED_SINCE, DATE)][..]] {
            let mut check = checking(names, true);
            check.called_at = called;
            let same = headers(&[(LAST_MODIFIED, DATE)]);
            assert_eq!(judge(&check, &same, false), RangeOf::Unknown, "{names:?}");
            check.called_at = called + 1;
            assert_eq!(judge(&check, &same, false), RangeOf::Named, "{names:?}");
        }
    }

    #[test]
    fn with_the_takeover_only_a_second_look_up_judges() {
        let mut tag = check("\"v1\"", false);
        tag.foreign_validators = true;
        assert_eq!(
            judge(&tag, &headers(&[(ETAG, "\"v1\"")]), false),
            RangeOf::Unknown
        );
    }
}
