//! Revalidation with encoding-aware tags: which GET and HEAD requests can be decided before the
//! handler runs, and which only on its response.
//!
//! The tag a 200 carries depends on its coding, and the coding is chosen after the handler
//! (tower-http's `CompressionLayer` compresses only bodies of at least 32 bytes, never images
//! or event streams, only in the codings compiled in, and answers 406 when the request accepts
//! none of them). Before the handler, the layer only knows a coding from a member the client
//! sent. So:
//!
//! - a strong `If-None-Match` member naming the current tag in a coding the request accepts
//!   decides now: the 304 names that member, the copy the client holds;
//! - a 304 that no such member decided (a weak member, `*`, `If-Modified-Since`), or a weak
//!   member that could match the response's tag, is decided on the response, against the tag
//!   it leaves with;
//! - a request that does not accept identity is always decided on the response: only the
//!   compressor knows whether it answers 406, and a 406 never becomes a 304;
//! - a current tag that is weak, or none, is sent the same in every coding: nothing to wait for
//!   (unless identity is refused).

use crate::accept_encoding::AcceptEncoding;
use crate::conditions::Conditions;
use crate::decision::{Condition, Decision};
use crate::etag::ETag;
use crate::state::ResourceState;

/// When a read with encoding-aware tags is decided.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Timing {
    /// Now, as evaluated; a 304 names this member (`None`: the current tag's identity form,
    /// the same in every coding when weak).
    Now(Option<ETag>),
    /// On the response: its coding fixes the tag the 304 must name.
    OnResponse,
}

/// When `decision`, the evaluation of a GET or HEAD against `state` with coding aliases,
/// may be acted on (see the module docs).
pub(super) fn timing(
    decision: &Decision,
    conditions: &Conditions<'_>,
    state: &ResourceState,
    accept: &AcceptEncoding,
) -> Timing {
    let revalidation = conditions.has_if_none_match() || conditions.has_if_modified_since();
    let strong = state.etag().filter(|tag| !tag.is_weak());
    match decision {
        Decision::NotModified(_) if !accept.allows(None) => Timing::OnResponse,
        Decision::NotModified(condition) => match strong {
            None => Timing::Now(None),
            Some(current) => match condition {
                Condition::IfNoneMatch => conditions
                    .if_none_match_member(current, accept)
                    .map_or(Timing::OnResponse, |member| Timing::Now(Some(member))),
                _ => Timing::OnResponse,
            },
        },
        Decision::Proceed(proceed) if revalidation && proceed.ignored().is_none() => {
            let weakly_named = strong.is_some_and(|tag| conditions.if_none_match_names_weakly(tag));
            if !accept.allows(None) || weakly_named {
                Timing::OnResponse
            } else {
                Timing::Now(None)
            }
        }
        _ => Timing::Now(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::header::{ACCEPT_ENCODING, IF_NONE_MATCH};
    use http::{HeaderMap, HeaderValue, Method};

    use crate::date::LastModified;
    use crate::state::Validators;

    const MODIFIED: &str = "Sun, 06 Nov 1994 08:49:37 GMT";

    /// Request header fields.
    type Fields = &'static [(http::HeaderName, &'static str)];

    fn timing_of(tag: &'static str, fields: Fields) -> Timing {
        let mut headers = HeaderMap::new();
        for (name, value) in fields {
            headers.append(name, HeaderValue::from_static(value));
        }
        let modified = LastModified::parse_http_date(MODIFIED.as_bytes()).unwrap();
        let state = ResourceState::Present(
            Validators::new()
                .with_etag(ETag::from_static(tag))
                .with_last_modified(modified),
        );
        let accept = AcceptEncoding::parse(&headers);
        let conditions = Conditions::from_headers(&headers);
        let decision = conditions.evaluate_with(&Method::GET, &state, Some(&accept));
        timing(&decision, &conditions, &state, &accept)
    }

    fn member(tag: &'static str) -> Timing {
        Timing::Now(Some(ETag::from_static(tag)))
    }

    #[test]
    fn only_a_strong_acceptable_member_decides_before_the_handler() {
        use http::header::{ACCEPT_ENCODING as AE, IF_MODIFIED_SINCE as IMS, IF_NONE_MATCH as INM};
        let table: &[(&'static str, Fields, Timing)] = &[
            (
                "\"v1\"",
                &[(AE, "gzip"), (INM, "\"v1-gzip\"")],
                member("\"v1-gzip\""),
            ),
            ("\"v1\"", &[(AE, "gzip"), (INM, "\"v1\"")], member("\"v1\"")),
            (
                "\"v1\"",
                &[(AE, "x-gzip"), (INM, "\"v1-gzip\"")],
                member("\"v1-gzip\""),
            ),
            ("\"v1\"", &[(INM, "\"v0\", \"v1\"")], member("\"v1\"")),
            // Not acceptable: no match now, and none on the response either.
            (
                "\"v1\"",
                &[(AE, "gzip;q=0, br"), (INM, "\"v1-gzip\"")],
                Timing::Now(None),
            ),
            ("\"v1\"", &[(INM, "\"v0\"")], Timing::Now(None)),
            // Weak members, `*` and dates name no coding.
            (
                "\"v1\"",
                &[(AE, "gzip"), (INM, "W/\"v1\"")],
                Timing::OnResponse,
            ),
            (
                "\"v1\"",
                &[(AE, "gzip"), (INM, "W/\"v1-gzip\"")],
                Timing::OnResponse,
            ),
            (
                "\"v1\"",
                &[(AE, "gzip"), (INM, "W/\"v1-br\"")],
                Timing::OnResponse,
            ),
            (
                "\"v1\"",
                &[(AE, "gzip"), (INM, "W/\"v0-gzip\"")],
                Timing::Now(None),
            ),
            ("\"v1\"", &[(AE, "gzip"), (INM, "*")], Timing::OnResponse),
            (
                "\"v1\"",
                &[(AE, "gzip"), (IMS, MODIFIED)],
                Timing::OnResponse,
            ),
            (
                "\"v1\"",
                &[(IMS, "Sun, 06 Nov 1994 08:49:36 GMT")],
                Timing::Now(None),
            ),
            // Identity refused: the compressor may answer 406, so the response decides.
            (
                "\"v1\"",
                &[(AE, "identity;q=0, gzip"), (INM, "\"v1-gzip\"")],
                Timing::OnResponse,
            ),
            (
                "\"v1\"",
                &[(AE, "*;q=0, gzip"), (INM, "\"v0\"")],
                Timing::OnResponse,
            ),
            (
                "\"v1\"",
                &[(AE, "*;q=0"), (IMS, MODIFIED)],
                Timing::OnResponse,
            ),
            (
                "W/\"v1\"",
                &[(AE, "identity;q=0, gzip"), (INM, "W/\"v1\"")],
                Timing::OnResponse,
            ),
            // A weak current tag is the same in every coding.
            (
                "W/\"v1\"",
                &[(AE, "gzip"), (INM, "W/\"v1\"")],
                Timing::Now(None),
            ),
            (
                "W/\"v1\"",
                &[(AE, "gzip"), (IMS, MODIFIED)],
                Timing::Now(None),
            ),
            // Nothing that could give a 304.
            ("\"v1\"", &[(AE, "identity;q=0, gzip")], Timing::Now(None)),
        ];
        for (tag, fields, expected) in table {
            assert_eq!(&timing_of(tag, fields), expected, "{tag} {fields:?}");
        }
    }

    /// The request side of a revalidation, as `before::decide` runs it: `Accept-Encoding`
    /// read (with encoding-aware tags), the evaluation, its timing. The units of request data
    /// walked (`crate::cost`) for `members` members of `If-None-Match: "v2-zstd", ...` (each
    /// names the current tag in a coding the request does not accept) and `members` members of
    /// `Accept-Encoding: gz, ...` (then `tail`), the attack of issue 18.
    fn request_side_work(members: usize, tail: &str, encoding_aware: bool) -> u64 {
        let mut headers = HeaderMap::new();
        let if_none_match = vec!["\"v2-zstd\""; members].join(", ");
        let accept_encoding = vec!["gz"; members].join(", ") + tail;
        headers.insert(
            IF_NONE_MATCH,
            HeaderValue::from_str(&if_none_match).unwrap(),
        );
        headers.insert(
            ACCEPT_ENCODING,
            HeaderValue::from_str(&accept_encoding).unwrap(),
        );
        let state =
            ResourceState::Present(Validators::new().with_etag(ETag::from_static("\"v2\"")));
        crate::cost::visits_in(|| {
            let conditions = Conditions::from_headers(&headers);
            let accept = encoding_aware.then(|| AcceptEncoding::parse(&headers));
            let decision = conditions.evaluate_with(&Method::GET, &state, accept.as_ref());
            if let Some(accept) = &accept {
                std::hint::black_box(timing(&decision, &conditions, &state, accept));
            }
        })
    }

    #[test]
    fn if_none_match_times_accept_encoding_costs_a_small_factor_of_the_option_off() {
        // Counted work, not time: linear when 4x the members cost at most 4.5x (a quadratic
        // cost, one Accept-Encoding pass per member, is 16x), and within 4x of the cost with
        // encoding-aware tags off, whose work is the If-None-Match walk alone.
        for tail in ["", ", zstd"] {
            let (n, four_n) = (1_000, 4_000);
            let off = request_side_work(n, tail, false);
            let on = request_side_work(n, tail, true);
            let on_four = request_side_work(four_n, tail, true);
            assert!(off >= n as u64, "every member is read: {off}");
            assert!(on <= 4 * off, "{tail:?}: {on} units on, {off} off");
            assert!(
                2 * on_four <= 9 * on,
                "{tail:?}: {on} units at {n}, {on_four} at {four_n}"
            );
        }
    }
}
