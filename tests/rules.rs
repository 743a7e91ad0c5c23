//! One test per rule of the rule book (`conditional-requests.md`, a digest of RFC 9110 §13),
//! plus table tests over the cases implementations get wrong.
//!
//! Every test asserts the exact [`Decision`]: the variant, the condition it names and, for
//! [`Decision::Proceed`], `range()`, `passed()`, `etag_matched()` and `ignored()`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::header::{
    CACHE_CONTROL, CONTENT_LENGTH, CONTENT_LOCATION, CONTENT_TYPE, ETAG, EXPIRES, HeaderName,
    IF_MATCH, IF_MODIFIED_SINCE, IF_NONE_MATCH, IF_RANGE, IF_UNMODIFIED_SINCE, LAST_MODIFIED,
    RANGE, VARY,
};
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use tower_conditional::{
    Condition, Conditions, Decision, ETag, Ignored, LastModified, RangeHandling, ResourceState,
    Validators, evaluate, response,
};

use Condition::{IfMatch, IfModifiedSince, IfNoneMatch, IfUnmodifiedSince};
use RangeHandling::{Honor, Ignore, NotRequested};

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------

/// Sun, 06 Nov 1994 08:49:37 GMT.
const T: u64 = 784_111_777;

const IMF_BEFORE: &str = "Sun, 06 Nov 1994 08:49:36 GMT";
const IMF_AT: &str = "Sun, 06 Nov 1994 08:49:37 GMT";
const IMF_AFTER: &str = "Sun, 06 Nov 1994 08:49:38 GMT";
const RFC850_BEFORE: &str = "Sunday, 06-Nov-94 08:49:36 GMT";
const RFC850_AT: &str = "Sunday, 06-Nov-94 08:49:37 GMT";
const RFC850_AFTER: &str = "Sunday, 06-Nov-94 08:49:38 GMT";
const ASCTIME_BEFORE: &str = "Sun Nov  6 08:49:36 1994";
const ASCTIME_AT: &str = "Sun Nov  6 08:49:37 1994";
const ASCTIME_AFTER: &str = "Sun Nov  6 08:49:38 1994";

/// Methods that are neither GET nor HEAD but are evaluated (not ignored).
const EVALUATED_NON_GET: [&str; 7] = ["PUT", "POST", "PATCH", "DELETE", "PROPFIND", "get", "head"];
/// Every method whose preconditions are evaluated.
const EVALUATED: [&str; 9] = [
    "GET", "HEAD", "PUT", "POST", "PATCH", "DELETE", "PROPFIND", "get", "head",
];
const IGNORED_METHODS: [&str; 3] = ["OPTIONS", "CONNECT", "TRACE"];

fn date(seconds: u64) -> LastModified {
    LastModified::from_unix_seconds(seconds).unwrap()
}

fn bare() -> ResourceState {
    ResourceState::Present(Validators::new())
}

fn tagged(tag: &'static str) -> ResourceState {
    ResourceState::Present(Validators::new().with_etag(ETag::from_static(tag)))
}

fn dated(seconds: u64) -> ResourceState {
    ResourceState::Present(Validators::new().with_last_modified(date(seconds)))
}

fn strong_dated(seconds: u64) -> ResourceState {
    ResourceState::Present(
        Validators::new()
            .with_last_modified(date(seconds))
            .with_strong_last_modified(true),
    )
}

fn both(tag: &'static str, seconds: u64) -> ResourceState {
    ResourceState::Present(
        Validators::new()
            .with_etag(ETag::from_static(tag))
            .with_last_modified(date(seconds)),
    )
}

fn headers(fields: &[(HeaderName, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in fields {
        map.append(
            name.clone(),
            HeaderValue::from_bytes(value.as_bytes()).unwrap(),
        );
    }
    map
}

fn method(name: &str) -> Method {
    Method::from_bytes(name.as_bytes()).unwrap()
}

/// The expected outcome, spelled out completely.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Want {
    Proceed {
        range: RangeHandling,
        passed: Option<Condition>,
        etag_matched: bool,
        ignored: Option<Ignored>,
    },
    NotModified(Condition),
    PreconditionFailed(Condition),
    BadRequest(Condition),
}

/// Proceed, nothing requested, nothing passed, nothing ignored.
const GO: Want = Want::Proceed {
    range: NotRequested,
    passed: None,
    etag_matched: false,
    ignored: None,
};

impl Want {
    const fn passed(self, condition: Condition) -> Want {
        match self {
            Want::Proceed {
                range,
                etag_matched,
                ignored,
                ..
            } => Want::Proceed {
                range,
                passed: Some(condition),
                etag_matched,
                ignored,
            },
            other => other,
        }
    }

    const fn range(self, range: RangeHandling) -> Want {
        match self {
            Want::Proceed {
                passed,
                etag_matched,
                ignored,
                ..
            } => Want::Proceed {
                range,
                passed,
                etag_matched,
                ignored,
            },
            other => other,
        }
    }

    /// `If-Match` named the current tag.
    const fn matched(self) -> Want {
        match self {
            Want::Proceed {
                range,
                ignored,
                passed,
                ..
            } => Want::Proceed {
                range,
                passed,
                etag_matched: true,
                ignored,
            },
            other => other,
        }
    }

    const fn ignored(self, reason: Ignored) -> Want {
        match self {
            Want::Proceed {
                range,
                passed,
                etag_matched,
                ..
            } => Want::Proceed {
                range,
                passed,
                etag_matched,
                ignored: Some(reason),
            },
            other => other,
        }
    }

    fn of(decision: &Decision) -> Want {
        match decision {
            Decision::Proceed(proceed) => Want::Proceed {
                range: proceed.range(),
                passed: proceed.passed(),
                etag_matched: proceed.etag_matched(),
                ignored: proceed.ignored(),
            },
            Decision::NotModified(c) => Want::NotModified(*c),
            Decision::PreconditionFailed(c) => Want::PreconditionFailed(*c),
            Decision::BadRequest(c) => Want::BadRequest(*c),
            other => panic!("unknown decision {other:?}"),
        }
    }
}

/// `If-Match` passed with the current tag.
const MATCHED: Want = GO.passed(IfMatch).matched();
const IGNORED_METHOD: Want = GO.ignored(Ignored::Method);
const IGNORED_MISSING: Want = GO.ignored(Ignored::Missing);

/// Evaluates and checks the whole decision, and that its helpers agree with it.
#[track_caller]
fn check_map(method_name: &str, map: &HeaderMap, state: &ResourceState, want: Want) -> Decision {
    let m = method(method_name);
    let decision = evaluate(&m, map, state);
    assert_eq!(
        Want::of(&decision),
        want,
        "{method_name} with {map:?} against {state:?}"
    );
    assert_eq!(
        Conditions::from_headers(map).evaluate(&m, state),
        decision,
        "Conditions::evaluate and evaluate disagree"
    );
    let (status, condition) = match want {
        Want::Proceed { passed, .. } => (None, passed),
        Want::NotModified(c) => (Some(StatusCode::NOT_MODIFIED), Some(c)),
        Want::PreconditionFailed(c) => (Some(StatusCode::PRECONDITION_FAILED), Some(c)),
        Want::BadRequest(c) => (Some(StatusCode::BAD_REQUEST), Some(c)),
    };
    assert_eq!(decision.status(), status);
    assert_eq!(decision.condition(), condition);
    assert_eq!(decision.proceed().is_some(), status.is_none());
    assert_eq!(decision.response(state).map(|r| r.status()), status);
    decision
}

#[track_caller]
fn check(
    method_name: &str,
    fields: &[(HeaderName, &str)],
    state: &ResourceState,
    want: Want,
) -> Decision {
    check_map(method_name, &headers(fields), state, want)
}

// ---------------------------------------------------------------------------------------------
// Validators (8.8)
// ---------------------------------------------------------------------------------------------

#[test]
fn weak_prefix_is_case_sensitive() {
    // `w/"a"` is not an entity tag: a malformed If-Match (400), a malformed If-None-Match
    // (ignored on GET, 400 elsewhere).
    let state = tagged("\"a\"");
    check(
        "PUT",
        &[(IF_MATCH, "w/\"a\"")],
        &state,
        Want::BadRequest(IfMatch),
    );
    check("GET", &[(IF_NONE_MATCH, "w/\"a\"")], &state, GO);
    check(
        "PUT",
        &[(IF_NONE_MATCH, "w/\"a\"")],
        &state,
        Want::BadRequest(IfNoneMatch),
    );
}

#[test]
fn entity_tags_have_no_escaping_and_no_spaces() {
    let state = tagged("\"a\"");
    for bad in ["\"a\\\"b\"", "\"a b\"", "\"a\"\"", "\"a", "a", "W/ \"a\""] {
        check("PUT", &[(IF_MATCH, bad)], &state, Want::BadRequest(IfMatch));
    }
}

#[test]
fn commas_and_obs_text_are_legal_inside_opaque_tags() {
    check("PUT", &[(IF_MATCH, "\"a,b\"")], &tagged("\"a,b\""), MATCHED);
    check(
        "PUT",
        &[(IF_MATCH, "\"a,b\"")],
        &tagged("\"a\""),
        Want::PreconditionFailed(IfMatch),
    );
    check(
        "GET",
        &[(IF_NONE_MATCH, "\"b\", \"a,b\"")],
        &tagged("\"a,b\""),
        Want::NotModified(IfNoneMatch),
    );
    let mut map = HeaderMap::new();
    map.insert(IF_MATCH, HeaderValue::from_bytes(b"\"\x80\xff\"").unwrap());
    let state =
        ResourceState::Present(Validators::new().with_etag(ETag::parse(b"\"\x80\xff\"").unwrap()));
    check_map("PUT", &map, &state, MATCHED);
}

#[test]
fn last_modified_is_compared_at_second_resolution() {
    // Modified at 08:49:37.700: Last-Modified is 08:49:37, and a request date of 08:49:37 must
    // count as "not modified".
    let modified = UNIX_EPOCH + Duration::from_millis(T * 1000 + 700);
    let state = ResourceState::Present(
        Validators::new().with_last_modified(LastModified::try_from(modified).unwrap()),
    );
    check(
        "GET",
        &[(IF_MODIFIED_SINCE, IMF_AT)],
        &state,
        Want::NotModified(IfModifiedSince),
    );
    check(
        "PUT",
        &[(IF_UNMODIFIED_SINCE, IMF_AT)],
        &state,
        GO.passed(IfUnmodifiedSince),
    );
}

#[test]
fn the_three_http_date_formats_are_accepted() {
    for text in [IMF_AT, RFC850_AT, ASCTIME_AT] {
        check(
            "GET",
            &[(IF_MODIFIED_SINCE, text)],
            &dated(T),
            Want::NotModified(IfModifiedSince),
        );
    }
}

#[test]
fn if_unmodified_since_before_1970_fails_for_a_resource_modified_in_2007() {
    // Thu, 24 May 2007 09:46:40 GMT.
    let modified_2007 = dated(1_180_000_000);
    for text in [
        "Wed, 31 Dec 1969 23:59:59 GMT",
        "Wed Dec 31 23:59:59 1969",
        "Sat, 01 Jan 0000 00:00:00 GMT",
    ] {
        for method in ["PUT", "DELETE", "POST", "GET"] {
            check(
                method,
                &[(IF_UNMODIFIED_SINCE, text)],
                &modified_2007,
                Want::PreconditionFailed(IfUnmodifiedSince),
            );
        }
    }
}

#[test]
fn if_modified_since_before_1970_is_true_not_a_304() {
    for text in ["Wed, 31 Dec 1969 23:59:59 GMT", "Wed Dec 31 23:59:59 1969"] {
        for state in [dated(1_180_000_000), dated(0)] {
            let fields = [(IF_MODIFIED_SINCE, text)];
            check("GET", &fields, &state, GO.passed(IfModifiedSince));
            check("HEAD", &fields, &state, GO.passed(IfModifiedSince));
        }
    }
}

#[test]
fn dates_compare_across_1970_to_the_second() {
    // Last-Modified 1970-01-01T00:00:00Z against one second before and at it.
    let epoch = dated(0);
    let before = "Wed, 31 Dec 1969 23:59:59 GMT";
    let at = "Thu, 01 Jan 1970 00:00:00 GMT";
    check(
        "PUT",
        &[(IF_UNMODIFIED_SINCE, before)],
        &epoch,
        Want::PreconditionFailed(IfUnmodifiedSince),
    );
    check(
        "PUT",
        &[(IF_UNMODIFIED_SINCE, at)],
        &epoch,
        GO.passed(IfUnmodifiedSince),
    );
    check(
        "GET",
        &[(IF_MODIFIED_SINCE, before)],
        &epoch,
        GO.passed(IfModifiedSince),
    );
    check(
        "GET",
        &[(IF_MODIFIED_SINCE, at)],
        &epoch,
        Want::NotModified(IfModifiedSince),
    );
    // If-Range: a date before 1970 never equals a Last-Modified.
    let range = |date| [(RANGE, "bytes=0-1"), (IF_RANGE, date)];
    check("GET", &range(before), &strong_dated(0), GO.range(Ignore));
    check("GET", &range(at), &strong_dated(0), GO.range(Honor));
}

// ---------------------------------------------------------------------------------------------
// A Last-Modified in the future is sent as the current time (8.8.2.1): If-Modified-Since is
// evaluated against what was sent; If-Unmodified-Since and If-Range against the stored date,
// since "now" names every future version at once.
// ---------------------------------------------------------------------------------------------

/// An hour after `T`: the resource's clock-skewed modification time when the server's clock
/// reads `T`.
const FUTURE: u64 = T + 3600;

/// Evaluates at the given clock reading and checks the whole decision.
#[track_caller]
fn check_at(
    method_name: &str,
    fields: &[(HeaderName, &str)],
    state: &ResourceState,
    now: u64,
    want: Want,
) {
    let map = headers(fields);
    let decision =
        Conditions::from_headers(&map).evaluate_at(&method(method_name), state, date(now));
    assert_eq!(
        Want::of(&decision),
        want,
        "{method_name} with {map:?} against {state:?} at {now}"
    );
}

#[test]
fn a_future_last_modified_refuses_if_unmodified_since_even_with_the_date_sent() {
    // The client was sent `Last-Modified: <T>`; so would it have been for any other version
    // dated after `T`: the echo cannot say which one it holds, so the write is refused.
    let sent = date(FUTURE).header_value_at(date(T));
    let sent = sent.to_str().unwrap();
    assert_eq!(sent, IMF_AT);
    for state in [dated(FUTURE), dated(253_402_300_799)] {
        for now in [T, T + 1] {
            check_at(
                "PUT",
                &[(IF_UNMODIFIED_SINCE, sent)],
                &state,
                now,
                Want::PreconditionFailed(IfUnmodifiedSince),
            );
        }
        check_at(
            "PUT",
            &[(IF_UNMODIFIED_SINCE, IMF_BEFORE)],
            &state,
            T,
            Want::PreconditionFailed(IfUnmodifiedSince),
        );
    }
    // A date at or after the stored one passes, whatever the clock says.
    let stored = date(FUTURE).to_string();
    let later = date(FUTURE + 1).to_string();
    for at in [&stored, &later] {
        check_at(
            "PUT",
            &[(IF_UNMODIFIED_SINCE, at)],
            &dated(FUTURE),
            T,
            GO.passed(IfUnmodifiedSince),
        );
    }
}

/// Two versions written "in the future" (a writer's clock ahead of this server's) are both sent
/// as the current time: a date echoed from the first never lets a write replace the second.
#[test]
fn if_unmodified_since_never_passes_on_a_later_version_sent_with_the_same_date() {
    let first = date(FUTURE).header_value_at(date(T));
    let second = date(FUTURE + 5).header_value_at(date(T));
    assert_eq!(first, second, "both sent as now");
    let echo = [(IF_UNMODIFIED_SINCE, first.to_str().unwrap())];
    check_at(
        "PUT",
        &echo,
        &dated(FUTURE + 5),
        T,
        Want::PreconditionFailed(IfUnmodifiedSince),
    );
}

#[test]
fn a_future_last_modified_is_evaluated_as_now_for_if_modified_since() {
    for state in [dated(FUTURE), dated(253_402_300_799)] {
        let echo = [(IF_MODIFIED_SINCE, IMF_AT)];
        check_at("GET", &echo, &state, T, Want::NotModified(IfModifiedSince));
        check_at("HEAD", &echo, &state, T, Want::NotModified(IfModifiedSince));
        check_at("GET", &echo, &state, T + 1, GO.passed(IfModifiedSince));
        check_at(
            "GET",
            &[(IF_MODIFIED_SINCE, IMF_BEFORE)],
            &state,
            T,
            GO.passed(IfModifiedSince),
        );
    }
}

#[test]
fn a_future_last_modified_matches_if_range_only_as_stored() {
    let state = strong_dated(FUTURE);
    let range = |date| [(RANGE, "bytes=0-1"), (IF_RANGE, date)];
    // "Now", as sent, names every future version at once: never a range of one of them.
    check_at("GET", &range(IMF_AT), &state, T, GO.range(Ignore));
    check_at("GET", &range(IMF_AT), &state, T + 1, GO.range(Ignore));
    // The stored date itself names exactly one version (it is strong).
    let future = date(FUTURE).to_string();
    check_at("GET", &range(&future), &state, T, GO.range(Honor));
    check_at("GET", &range(IMF_BEFORE), &state, T, GO.range(Ignore));
    // A past Last-Modified is not affected by the clock.
    check_at(
        "GET",
        &range(IMF_AT),
        &strong_dated(T),
        T + 3600,
        GO.range(Honor),
    );
}

#[test]
fn evaluate_clamps_a_far_future_last_modified_to_the_system_clock() {
    // Last-Modified in 9999, request dates in 3000: after the clock, before Last-Modified.
    let state = strong_dated(253_402_300_799);
    let year_3000 = "Wed, 01 Jan 3000 00:00:00 GMT";
    check(
        "PUT",
        &[(IF_UNMODIFIED_SINCE, year_3000)],
        &state,
        Want::PreconditionFailed(IfUnmodifiedSince),
    );
    check(
        "GET",
        &[(IF_MODIFIED_SINCE, year_3000)],
        &state,
        Want::NotModified(IfModifiedSince),
    );
    // If-Range compares the stored date: the strong 9999 itself names one version.
    let range = |date| [(RANGE, "bytes=0-1"), (IF_RANGE, date)];
    check(
        "GET",
        &range("Fri, 31 Dec 9999 23:59:59 GMT"),
        &state,
        GO.range(Honor),
    );
    check("GET", &range(year_3000), &state, GO.range(Ignore));
    // The date the client was sent, echoed within the same second: a 304 for the cache that
    // holds it, never a write (every future version is sent with that date).
    loop {
        let before = LastModified::now();
        let sent = date(253_402_300_799).to_header_value();
        let sent = sent.to_str().unwrap();
        let write = evaluate(
            &Method::PUT,
            &headers(&[(IF_UNMODIFIED_SINCE, sent)]),
            &state,
        );
        let read = evaluate(&Method::GET, &headers(&[(IF_MODIFIED_SINCE, sent)]), &state);
        if LastModified::now() != before {
            continue; // the clock ticked: the echo is stale, as it should be; try again
        }
        assert_eq!(
            Want::of(&write),
            Want::PreconditionFailed(IfUnmodifiedSince)
        );
        assert_eq!(Want::of(&read), Want::NotModified(IfModifiedSince));
        break;
    }
}

// ---------------------------------------------------------------------------------------------
// The five request header fields (13.1)
// ---------------------------------------------------------------------------------------------

#[test]
fn if_match_star_passes_for_present_resource() {
    check(
        "PUT",
        &[(IF_MATCH, "*")],
        &both("\"a\"", T),
        GO.passed(IfMatch),
    );
}

#[test]
fn if_match_star_passes_for_present_resource_without_validators() {
    check("PUT", &[(IF_MATCH, "*")], &bare(), GO.passed(IfMatch));
    check("DELETE", &[(IF_MATCH, " * ")], &bare(), GO.passed(IfMatch));
}

#[test]
fn if_match_star_fails_for_missing_resource() {
    check(
        "PUT",
        &[(IF_MATCH, "*")],
        &ResourceState::Missing,
        Want::PreconditionFailed(IfMatch),
    );
}

#[test]
fn if_match_uses_strong_comparison() {
    check("PUT", &[(IF_MATCH, "\"a\"")], &tagged("\"a\""), MATCHED);
    for (request, current) in [
        ("W/\"a\"", "\"a\""),
        ("\"a\"", "W/\"a\""),
        ("W/\"a\"", "W/\"a\""),
        ("\"b\"", "\"a\""),
    ] {
        check(
            "PUT",
            &[(IF_MATCH, request)],
            &tagged(current),
            Want::PreconditionFailed(IfMatch),
        );
    }
}

#[test]
fn if_match_list_passes_when_any_member_matches() {
    check(
        "PUT",
        &[(IF_MATCH, "\"x\", W/\"a\", \"a\"")],
        &tagged("\"a\""),
        MATCHED,
    );
    check(
        "PUT",
        &[(IF_MATCH, "\"x\", W/\"a\"")],
        &tagged("\"a\""),
        Want::PreconditionFailed(IfMatch),
    );
}

#[test]
fn if_match_list_fails_for_present_resource_without_etag() {
    check(
        "PUT",
        &[(IF_MATCH, "\"a\"")],
        &dated(T),
        Want::PreconditionFailed(IfMatch),
    );
}

#[test]
fn if_match_applies_to_every_evaluated_method() {
    for m in EVALUATED {
        check(
            m,
            &[(IF_MATCH, "\"old\"")],
            &tagged("\"a\""),
            Want::PreconditionFailed(IfMatch),
        );
        check(m, &[(IF_MATCH, "\"a\"")], &tagged("\"a\""), MATCHED);
    }
}

#[test]
fn if_none_match_star_fails_for_present_resource() {
    for state in [tagged("\"a\""), bare()] {
        for m in ["GET", "HEAD"] {
            check(
                m,
                &[(IF_NONE_MATCH, "*")],
                &state,
                Want::NotModified(IfNoneMatch),
            );
        }
        for m in EVALUATED_NON_GET {
            check(
                m,
                &[(IF_NONE_MATCH, "*")],
                &state,
                Want::PreconditionFailed(IfNoneMatch),
            );
        }
    }
}

#[test]
fn if_none_match_star_passes_for_missing_resource() {
    for m in ["PUT", "POST", "PATCH", "PROPFIND"] {
        check(
            m,
            &[(IF_NONE_MATCH, "*")],
            &ResourceState::Missing,
            GO.passed(IfNoneMatch),
        );
    }
}

#[test]
fn if_none_match_uses_weak_comparison() {
    for (request, current) in [
        ("\"a\"", "\"a\""),
        ("W/\"a\"", "\"a\""),
        ("\"a\"", "W/\"a\""),
        ("W/\"a\"", "W/\"a\""),
    ] {
        check(
            "GET",
            &[(IF_NONE_MATCH, request)],
            &tagged(current),
            Want::NotModified(IfNoneMatch),
        );
    }
    check(
        "GET",
        &[(IF_NONE_MATCH, "W/\"b\"")],
        &tagged("\"a\""),
        GO.passed(IfNoneMatch),
    );
}

#[test]
fn if_none_match_list_is_true_for_present_resource_without_etag() {
    check(
        "GET",
        &[(IF_NONE_MATCH, "\"a\"")],
        &dated(T),
        GO.passed(IfNoneMatch),
    );
}

#[test]
fn if_modified_since_is_true_only_when_modified_after_the_date() {
    let state = dated(T);
    check(
        "GET",
        &[(IF_MODIFIED_SINCE, IMF_BEFORE)],
        &state,
        GO.passed(IfModifiedSince),
    );
    check(
        "GET",
        &[(IF_MODIFIED_SINCE, IMF_AT)],
        &state,
        Want::NotModified(IfModifiedSince),
    );
    check(
        "HEAD",
        &[(IF_MODIFIED_SINCE, IMF_AFTER)],
        &state,
        Want::NotModified(IfModifiedSince),
    );
}

#[test]
fn if_modified_since_is_ignored_for_post() {
    // A date that would give 304 on GET changes nothing on any other method.
    for m in EVALUATED_NON_GET {
        check(m, &[(IF_MODIFIED_SINCE, IMF_AT)], &dated(T), GO);
    }
}

#[test]
fn if_unmodified_since_is_true_only_when_not_modified_after_the_date() {
    let state = dated(T);
    check(
        "PUT",
        &[(IF_UNMODIFIED_SINCE, IMF_BEFORE)],
        &state,
        Want::PreconditionFailed(IfUnmodifiedSince),
    );
    check(
        "PUT",
        &[(IF_UNMODIFIED_SINCE, IMF_AT)],
        &state,
        GO.passed(IfUnmodifiedSince),
    );
    check(
        "PUT",
        &[(IF_UNMODIFIED_SINCE, IMF_AFTER)],
        &state,
        GO.passed(IfUnmodifiedSince),
    );
}

#[test]
fn if_unmodified_since_applies_to_any_method() {
    for m in EVALUATED {
        check(
            m,
            &[(IF_UNMODIFIED_SINCE, IMF_BEFORE)],
            &dated(T),
            Want::PreconditionFailed(IfUnmodifiedSince),
        );
    }
}

#[test]
fn if_range_tag_needs_a_strong_match() {
    let fields = [(RANGE, "bytes=0-1"), (IF_RANGE, "\"a\"")];
    check("GET", &fields, &tagged("\"a\""), GO.range(Honor));
    check("GET", &fields, &tagged("\"b\""), GO.range(Ignore));
    check("GET", &fields, &tagged("W/\"a\""), GO.range(Ignore));
    check("GET", &fields, &strong_dated(T), GO.range(Ignore));
}

#[test]
fn if_range_with_weak_tag_ignores_range() {
    let fields = [(RANGE, "bytes=0-1"), (IF_RANGE, "W/\"a\"")];
    check("GET", &fields, &tagged("\"a\""), GO.range(Ignore));
    check("GET", &fields, &tagged("W/\"a\""), GO.range(Ignore));
}

#[test]
fn if_range_date_needs_strong_last_modified() {
    let fields = [(RANGE, "bytes=0-1"), (IF_RANGE, IMF_AT)];
    check("GET", &fields, &strong_dated(T), GO.range(Honor));
    // Last-Modified is weak unless declared strong.
    check("GET", &fields, &dated(T), GO.range(Ignore));
    check("GET", &fields, &tagged("\"a\""), GO.range(Ignore));
}

#[test]
fn if_range_date_must_equal_last_modified_exactly() {
    for text in [IMF_BEFORE, IMF_AFTER, RFC850_AFTER, ASCTIME_BEFORE] {
        check(
            "GET",
            &[(RANGE, "bytes=0-1"), (IF_RANGE, text)],
            &strong_dated(T),
            GO.range(Ignore),
        );
    }
    for text in [IMF_AT, RFC850_AT, ASCTIME_AT] {
        check(
            "GET",
            &[(RANGE, "bytes=0-1"), (IF_RANGE, text)],
            &strong_dated(T),
            GO.range(Honor),
        );
    }
}

#[test]
fn if_range_without_range_is_ignored() {
    for value in ["\"b\"", "W/\"a\"", "garbage", IMF_BEFORE] {
        check("GET", &[(IF_RANGE, value)], &tagged("\"a\""), GO);
    }
}

#[test]
fn if_range_applies_to_get_only() {
    let fields = [(RANGE, "bytes=0-1"), (IF_RANGE, "\"b\"")];
    for m in EVALUATED_NON_GET.iter().chain(&["HEAD"]) {
        check(m, &fields, &tagged("\"a\""), GO);
    }
}

#[test]
fn range_without_if_range_is_honoured_on_get_only() {
    check(
        "GET",
        &[(RANGE, "bytes=0-1")],
        &tagged("\"a\""),
        GO.range(Honor),
    );
    check("HEAD", &[(RANGE, "bytes=0-1")], &tagged("\"a\""), GO);
    check("get", &[(RANGE, "bytes=0-1")], &tagged("\"a\""), GO);
}

#[test]
fn if_range_that_is_neither_one_tag_nor_one_date_ignores_range() {
    let state = ResourceState::Present(
        Validators::new()
            .with_etag(ETag::from_static("\"a\""))
            .with_last_modified(date(T))
            .with_strong_last_modified(true),
    );
    for value in [
        "",
        "garbage",
        "*",
        "w/\"a\"",
        "\"a\", \"a\"",
        "\"a\",",
        ", \"a\"",
        "\"a\" \"a\"",
        "\"a",
        "Sun, 06 Nov 1994 08:49:37 GMT, Sun, 06 Nov 1994 08:49:37 GMT",
        "784111777",
    ] {
        check(
            "GET",
            &[(RANGE, "bytes=0-1"), (IF_RANGE, value)],
            &state,
            GO.range(Ignore),
        );
    }
    // One tag or one date on two lines is not one value.
    for value in ["\"a\"", IMF_AT] {
        check(
            "GET",
            &[(RANGE, "bytes=0-1"), (IF_RANGE, value), (IF_RANGE, value)],
            &state,
            GO.range(Ignore),
        );
    }
    // Optional whitespace around the one value is fine.
    for value in [" \"a\" ", "\t\"a\"", " Sun, 06 Nov 1994 08:49:37 GMT\t"] {
        check(
            "GET",
            &[(RANGE, "bytes=0-1"), (IF_RANGE, value)],
            &state,
            GO.range(Honor),
        );
    }
}

#[test]
fn if_range_tag_with_trailing_comma_is_not_one_tag() {
    // Regression: `"a",` was read as the one-member list `"a"` and honoured the range.
    // If-Range is `entity-tag / HTTP-date`, not a list.
    let state = tagged("\"a\"");
    for value in ["\"a\",", "\"a\" ,", "\"a\", ,", "\"a\",\t"] {
        check(
            "GET",
            &[(RANGE, "bytes=0-1"), (IF_RANGE, value)],
            &state,
            GO.range(Ignore),
        );
    }
    check(
        "GET",
        &[(RANGE, "bytes=0-1"), (IF_RANGE, "\"a\"")],
        &state,
        GO.range(Honor),
    );
}

// ---------------------------------------------------------------------------------------------
// Details that implementations get wrong
// ---------------------------------------------------------------------------------------------

#[test]
fn list_split_over_several_lines_is_one_list() {
    check(
        "PUT",
        &[(IF_MATCH, "\"x\""), (IF_MATCH, "\"y\", \"a\"")],
        &tagged("\"a\""),
        MATCHED,
    );
    check(
        "GET",
        &[(IF_NONE_MATCH, "\"x\""), (IF_NONE_MATCH, "W/\"a\"")],
        &tagged("\"a\""),
        Want::NotModified(IfNoneMatch),
    );
}

#[test]
fn empty_list_members_are_skipped() {
    check(
        "PUT",
        &[(IF_MATCH, "\"x\", , \"a\"")],
        &tagged("\"a\""),
        MATCHED,
    );
    check(
        "GET",
        &[(IF_NONE_MATCH, ",, \"a\" ,,")],
        &tagged("\"a\""),
        Want::NotModified(IfNoneMatch),
    );
}

#[test]
fn invalid_if_modified_since_is_ignored() {
    check("GET", &[(IF_MODIFIED_SINCE, "yesterday")], &dated(T), GO);
}

#[test]
fn invalid_if_unmodified_since_is_ignored() {
    check("PUT", &[(IF_UNMODIFIED_SINCE, "yesterday")], &dated(T), GO);
}

#[test]
fn dates_with_more_than_one_member_are_ignored() {
    let two = format!("{IMF_AT}, {IMF_AT}");
    check("GET", &[(IF_MODIFIED_SINCE, &two)], &dated(T), GO);
    let two = format!("{IMF_BEFORE}, {IMF_BEFORE}");
    check("PUT", &[(IF_UNMODIFIED_SINCE, &two)], &dated(T), GO);
}

#[test]
fn dates_on_more_than_one_line_are_ignored() {
    check(
        "GET",
        &[(IF_MODIFIED_SINCE, IMF_AT), (IF_MODIFIED_SINCE, IMF_AT)],
        &dated(T),
        GO,
    );
    check(
        "PUT",
        &[
            (IF_UNMODIFIED_SINCE, IMF_BEFORE),
            (IF_UNMODIFIED_SINCE, IMF_BEFORE),
        ],
        &dated(T),
        GO,
    );
}

#[test]
fn if_none_match_takes_precedence_over_if_modified_since() {
    let state = both("\"a\"", T);
    // If-None-Match true, If-Modified-Since false: the latter is not even looked at.
    check(
        "GET",
        &[(IF_NONE_MATCH, "\"b\""), (IF_MODIFIED_SINCE, IMF_AT)],
        &state,
        GO.passed(IfNoneMatch),
    );
    // If-None-Match false, If-Modified-Since true: 304 from If-None-Match.
    check(
        "GET",
        &[(IF_NONE_MATCH, "\"a\""), (IF_MODIFIED_SINCE, IMF_BEFORE)],
        &state,
        Want::NotModified(IfNoneMatch),
    );
}

#[test]
fn if_unmodified_since_is_ignored_when_if_match_is_present() {
    let state = both("\"a\"", T);
    check(
        "PUT",
        &[(IF_MATCH, "\"a\""), (IF_UNMODIFIED_SINCE, IMF_BEFORE)],
        &state,
        MATCHED,
    );
    check(
        "PUT",
        &[(IF_MATCH, "*"), (IF_UNMODIFIED_SINCE, IMF_BEFORE)],
        &state,
        GO.passed(IfMatch),
    );
    // If-Match false: 412 names If-Match, not If-Unmodified-Since.
    check(
        "PUT",
        &[(IF_MATCH, "\"b\""), (IF_UNMODIFIED_SINCE, IMF_AFTER)],
        &state,
        Want::PreconditionFailed(IfMatch),
    );
}

#[test]
fn date_conditions_are_ignored_without_last_modified() {
    for state in [tagged("\"a\""), bare()] {
        check("PUT", &[(IF_UNMODIFIED_SINCE, IMF_BEFORE)], &state, GO);
        check("GET", &[(IF_MODIFIED_SINCE, IMF_AFTER)], &state, GO);
    }
    check(
        "PUT",
        &[(IF_UNMODIFIED_SINCE, IMF_BEFORE)],
        &ResourceState::Missing,
        GO,
    );
}

#[test]
fn if_match_list_is_false_for_missing_resource() {
    for m in ["PUT", "POST", "PATCH", "PROPFIND"] {
        check(
            m,
            &[(IF_MATCH, "\"a\"")],
            &ResourceState::Missing,
            Want::PreconditionFailed(IfMatch),
        );
    }
}

#[test]
fn if_none_match_list_is_true_for_missing_resource() {
    for m in ["PUT", "POST", "PATCH", "PROPFIND"] {
        check(
            m,
            &[(IF_NONE_MATCH, "\"a\"")],
            &ResourceState::Missing,
            GO.passed(IfNoneMatch),
        );
    }
}

#[test]
fn empty_if_match_list_matches_nothing() {
    for value in ["", ",", " , ,, "] {
        for state in [tagged("\"a\""), bare(), ResourceState::Missing] {
            check(
                "PUT",
                &[(IF_MATCH, value)],
                &state,
                Want::PreconditionFailed(IfMatch),
            );
        }
        check(
            "GET",
            &[(IF_MATCH, value)],
            &tagged("\"a\""),
            Want::PreconditionFailed(IfMatch),
        );
    }
}

#[test]
fn empty_if_none_match_list_is_true() {
    for value in ["", ",", " , ,, "] {
        check(
            "GET",
            &[(IF_NONE_MATCH, value)],
            &tagged("\"a\""),
            GO.passed(IfNoneMatch),
        );
        check(
            "PUT",
            &[(IF_NONE_MATCH, value)],
            &tagged("\"a\""),
            GO.passed(IfNoneMatch),
        );
        // Present, so If-Modified-Since is ignored even though it would give 304.
        check(
            "GET",
            &[(IF_NONE_MATCH, value), (IF_MODIFIED_SINCE, IMF_AT)],
            &both("\"a\"", T),
            GO.passed(IfNoneMatch),
        );
    }
}

#[test]
fn star_combined_with_anything_else_is_malformed() {
    let state = tagged("\"a\"");
    let cases: [&[&str]; 5] = [
        &["*, \"a\""],
        &["\"a\", *"],
        &["*", "\"a\""],
        &["*", "*"],
        &["*, *"],
    ];
    for lines in cases {
        let mut im = HeaderMap::new();
        let mut inm = HeaderMap::new();
        for line in lines {
            im.append(IF_MATCH, HeaderValue::from_str(line).unwrap());
            inm.append(IF_NONE_MATCH, HeaderValue::from_str(line).unwrap());
        }
        check_map("PUT", &im, &state, Want::BadRequest(IfMatch));
        check_map("GET", &im, &state, Want::BadRequest(IfMatch));
        check_map("PUT", &inm, &state, Want::BadRequest(IfNoneMatch));
        // Malformed If-None-Match on GET: ignored, never a 304.
        check_map("GET", &inm, &state, GO);
    }
}

#[test]
fn method_names_are_case_sensitive() {
    let state = both("\"a\"", T);
    // `get` is not GET: a matching If-None-Match is a 412, not a 304...
    check(
        "get",
        &[(IF_NONE_MATCH, "\"a\"")],
        &state,
        Want::PreconditionFailed(IfNoneMatch),
    );
    // ...If-Modified-Since does not apply, and neither does Range.
    check("get", &[(IF_MODIFIED_SINCE, IMF_AT)], &state, GO);
    check(
        "get",
        &[(RANGE, "bytes=0-1"), (IF_RANGE, "\"b\"")],
        &state,
        GO,
    );
    // A malformed If-None-Match is a 400 on `get`.
    check(
        "get",
        &[(IF_NONE_MATCH, "garbage")],
        &state,
        Want::BadRequest(IfNoneMatch),
    );
    // A missing resource is not ignored for `get`, `head` or `delete`.
    for m in ["get", "head", "delete"] {
        check(
            m,
            &[(IF_MATCH, "\"a\"")],
            &ResourceState::Missing,
            Want::PreconditionFailed(IfMatch),
        );
    }
    // `options`, `connect` and `trace` are not ignored either.
    for m in ["options", "connect", "trace"] {
        check(
            m,
            &[(IF_MATCH, "\"b\"")],
            &state,
            Want::PreconditionFailed(IfMatch),
        );
    }
}

// ---------------------------------------------------------------------------------------------
// When to evaluate (13.2.1)
// ---------------------------------------------------------------------------------------------

#[test]
fn get_and_head_of_missing_resource_ignore_preconditions() {
    let fieldsets: [&[(HeaderName, &str)]; 6] = [
        &[(IF_MATCH, "\"a\"")],
        &[(IF_MATCH, "*")],
        &[(IF_MATCH, "garbage")],
        &[(IF_NONE_MATCH, "garbage")],
        &[(IF_UNMODIFIED_SINCE, IMF_BEFORE)],
        &[(IF_MATCH, "\"a\""), (IF_NONE_MATCH, "*")],
    ];
    for fields in fieldsets {
        check("GET", fields, &ResourceState::Missing, IGNORED_MISSING);
        check("HEAD", fields, &ResourceState::Missing, IGNORED_MISSING);
    }
    // A Range request is still a Range request (the 404 decides).
    check(
        "GET",
        &[
            (IF_MATCH, "\"a\""),
            (RANGE, "bytes=0-1"),
            (IF_RANGE, "\"b\""),
        ],
        &ResourceState::Missing,
        IGNORED_MISSING.range(Honor),
    );
    check(
        "HEAD",
        &[(IF_MATCH, "\"a\""), (RANGE, "bytes=0-1")],
        &ResourceState::Missing,
        IGNORED_MISSING,
    );
}

#[test]
fn delete_of_missing_resource_ignores_preconditions() {
    for fields in [
        [(IF_MATCH, "\"a\"")],
        [(IF_MATCH, "*")],
        [(IF_MATCH, "garbage")],
        [(IF_NONE_MATCH, "garbage")],
    ] {
        check("DELETE", &fields, &ResourceState::Missing, IGNORED_MISSING);
    }
}

#[test]
fn preconditions_are_ignored_for_options_connect_trace() {
    let fieldsets: [&[(HeaderName, &str)]; 7] = [
        &[],
        &[(IF_MATCH, "\"b\"")],
        &[(IF_MATCH, "garbage")],
        &[(IF_NONE_MATCH, "\"a\"")],
        &[(IF_NONE_MATCH, "garbage")],
        &[(IF_UNMODIFIED_SINCE, IMF_BEFORE)],
        &[(RANGE, "bytes=0-1"), (IF_RANGE, "\"b\"")],
    ];
    for m in IGNORED_METHODS {
        for fields in fieldsets {
            check(m, fields, &both("\"a\"", T), IGNORED_METHOD);
            check(m, fields, &ResourceState::Missing, IGNORED_METHOD);
        }
    }
}

#[test]
fn ignored_requests_are_not_rejected_for_malformed_fields() {
    let fields = [
        (IF_MATCH, "garbage"),
        (IF_NONE_MATCH, "*, *"),
        (IF_UNMODIFIED_SINCE, "garbage"),
    ];
    check("OPTIONS", &fields, &bare(), IGNORED_METHOD);
    check("GET", &fields, &ResourceState::Missing, IGNORED_MISSING);
    check("DELETE", &fields, &ResourceState::Missing, IGNORED_MISSING);
    // The same request is rejected when it is evaluated.
    check(
        "PUT",
        &fields,
        &ResourceState::Missing,
        Want::BadRequest(IfMatch),
    );
    check("DELETE", &fields, &bare(), Want::BadRequest(IfMatch));
}

#[test]
fn unconditional_requests_proceed() {
    for m in EVALUATED {
        check(m, &[], &both("\"a\"", T), GO);
    }
    for m in ["PUT", "POST", "PATCH"] {
        check(m, &[], &ResourceState::Missing, GO);
    }
    check("GET", &[], &ResourceState::Missing, IGNORED_MISSING);
}

// ---------------------------------------------------------------------------------------------
// Order of evaluation (13.2.2)
// ---------------------------------------------------------------------------------------------

#[test]
fn if_match_false_is_412_before_anything_else() {
    let state = both("\"a\"", T);
    check(
        "GET",
        &[
            (IF_MATCH, "\"b\""),
            (IF_NONE_MATCH, "\"a\""),
            (IF_MODIFIED_SINCE, IMF_AT),
            (RANGE, "bytes=0-1"),
        ],
        &state,
        Want::PreconditionFailed(IfMatch),
    );
}

#[test]
fn if_unmodified_since_false_is_412_before_if_none_match() {
    let state = both("\"a\"", T);
    check(
        "GET",
        &[(IF_UNMODIFIED_SINCE, IMF_BEFORE), (IF_NONE_MATCH, "\"a\"")],
        &state,
        Want::PreconditionFailed(IfUnmodifiedSince),
    );
}

#[test]
fn if_none_match_false_is_304_for_get_and_head_and_412_otherwise() {
    let state = tagged("\"a\"");
    let fields = [(IF_NONE_MATCH, "\"a\"")];
    check("GET", &fields, &state, Want::NotModified(IfNoneMatch));
    check("HEAD", &fields, &state, Want::NotModified(IfNoneMatch));
    for m in EVALUATED_NON_GET {
        check(m, &fields, &state, Want::PreconditionFailed(IfNoneMatch));
    }
}

#[test]
fn if_match_true_goes_on_to_if_none_match() {
    let state = both("\"a\"", T);
    check(
        "GET",
        &[(IF_MATCH, "\"a\""), (IF_NONE_MATCH, "W/\"a\"")],
        &state,
        Want::NotModified(IfNoneMatch),
    );
    check(
        "PUT",
        &[(IF_MATCH, "*"), (IF_NONE_MATCH, "*")],
        &state,
        Want::PreconditionFailed(IfNoneMatch),
    );
    // If-Modified-Since still applies after a true If-Match when If-None-Match is absent.
    check(
        "GET",
        &[(IF_MATCH, "\"a\""), (IF_MODIFIED_SINCE, IMF_AT)],
        &state,
        Want::NotModified(IfModifiedSince),
    );
}

#[test]
fn preconditions_are_evaluated_before_if_range() {
    let state = tagged("\"a\"");
    check(
        "GET",
        &[
            (IF_NONE_MATCH, "\"a\""),
            (RANGE, "bytes=0-1"),
            (IF_RANGE, "\"a\""),
        ],
        &state,
        Want::NotModified(IfNoneMatch),
    );
    check(
        "GET",
        &[
            (IF_NONE_MATCH, "\"b\""),
            (RANGE, "bytes=0-1"),
            (IF_RANGE, "\"b\""),
        ],
        &state,
        GO.passed(IfNoneMatch).range(Ignore),
    );
    check(
        "GET",
        &[
            (IF_MATCH, "\"a\""),
            (RANGE, "bytes=0-1"),
            (IF_RANGE, "\"a\""),
        ],
        &state,
        MATCHED.range(Honor),
    );
}

#[test]
fn passed_names_the_first_true_precondition() {
    let state = both("\"a\"", T);
    let cases: [(&[(HeaderName, &str)], Want); 6] = [
        (&[(IF_MATCH, "\"a\""), (IF_NONE_MATCH, "\"b\"")], MATCHED),
        (
            &[(IF_MATCH, "*"), (IF_NONE_MATCH, "\"b\"")],
            GO.passed(IfMatch),
        ),
        (
            &[(IF_UNMODIFIED_SINCE, IMF_AT), (IF_NONE_MATCH, "\"b\"")],
            GO.passed(IfUnmodifiedSince),
        ),
        (
            &[
                (IF_UNMODIFIED_SINCE, IMF_AT),
                (IF_MODIFIED_SINCE, IMF_BEFORE),
            ],
            GO.passed(IfUnmodifiedSince),
        ),
        (
            &[(IF_NONE_MATCH, "\"b\""), (IF_MODIFIED_SINCE, IMF_BEFORE)],
            GO.passed(IfNoneMatch),
        ),
        (
            &[
                (IF_UNMODIFIED_SINCE, "garbage"),
                (IF_MODIFIED_SINCE, IMF_BEFORE),
            ],
            GO.passed(IfModifiedSince),
        ),
    ];
    for (fields, want) in cases {
        check("GET", fields, &state, want);
    }
}

#[test]
fn etag_matched_says_whether_if_match_named_the_current_tag() {
    // What a compare-and-set write needs (lost updates).
    let state = tagged("\"v2\"");
    let d = check("PUT", &[(IF_MATCH, "\"v1\", \"v2\"")], &state, MATCHED);
    assert!(d.proceed().unwrap().etag_matched());
    let d = check("PUT", &[(IF_MATCH, "*")], &state, GO.passed(IfMatch));
    assert!(!d.proceed().unwrap().etag_matched());
    let d = check(
        "PUT",
        &[(IF_NONE_MATCH, "\"v1\"")],
        &state,
        GO.passed(IfNoneMatch),
    );
    assert!(!d.proceed().unwrap().etag_matched());
}

// ---------------------------------------------------------------------------------------------
// 400 Bad Request
// ---------------------------------------------------------------------------------------------

#[test]
fn malformed_if_match_is_400_on_every_evaluated_method() {
    for m in EVALUATED {
        for state in [tagged("\"a\""), bare()] {
            check(
                m,
                &[(IF_MATCH, "garbage")],
                &state,
                Want::BadRequest(IfMatch),
            );
        }
    }
    for m in ["PUT", "POST", "PATCH", "PROPFIND"] {
        check(
            m,
            &[(IF_MATCH, "garbage")],
            &ResourceState::Missing,
            Want::BadRequest(IfMatch),
        );
    }
}

#[test]
fn malformed_if_match_never_lets_a_write_through() {
    let state = tagged("\"a\"");
    for value in [
        "\"a\", garbage",
        "garbage, \"a\"",
        "*, \"a\"",
        "\"a\" \"a\"",
        "\"a",
    ] {
        check(
            "PUT",
            &[(IF_MATCH, value)],
            &state,
            Want::BadRequest(IfMatch),
        );
    }
    check(
        "PUT",
        &[(IF_MATCH, "\"a\""), (IF_MATCH, "W/")],
        &state,
        Want::BadRequest(IfMatch),
    );
}

#[test]
fn malformed_if_none_match_is_400_except_on_get_and_head() {
    for m in EVALUATED_NON_GET {
        check(
            m,
            &[(IF_NONE_MATCH, "garbage")],
            &tagged("\"a\""),
            Want::BadRequest(IfNoneMatch),
        );
    }
    for m in ["GET", "HEAD"] {
        check(m, &[(IF_NONE_MATCH, "garbage")], &tagged("\"a\""), GO);
    }
}

#[test]
fn malformed_if_none_match_on_get_never_yields_304() {
    let state = both("\"a\"", T);
    for m in ["GET", "HEAD"] {
        // A matching tag next to garbage.
        check(m, &[(IF_NONE_MATCH, "\"a\", garbage")], &state, GO);
        check(
            m,
            &[(IF_NONE_MATCH, "\"a\""), (IF_NONE_MATCH, "\"b")],
            &state,
            GO,
        );
        // The field still counts as present: If-Modified-Since is not consulted.
        check(
            m,
            &[(IF_NONE_MATCH, "garbage"), (IF_MODIFIED_SINCE, IMF_AT)],
            &state,
            GO,
        );
    }
    // If-Match and If-Unmodified-Since still apply; If-Range too.
    check(
        "GET",
        &[(IF_NONE_MATCH, "garbage"), (IF_MATCH, "\"a\"")],
        &state,
        MATCHED,
    );
    check(
        "GET",
        &[
            (IF_NONE_MATCH, "garbage"),
            (IF_UNMODIFIED_SINCE, IMF_BEFORE),
        ],
        &state,
        Want::PreconditionFailed(IfUnmodifiedSince),
    );
    check(
        "GET",
        &[
            (IF_NONE_MATCH, "garbage"),
            (RANGE, "bytes=0-1"),
            (IF_RANGE, "\"b\""),
        ],
        &state,
        GO.range(Ignore),
    );
}

#[test]
fn bad_request_comes_before_precondition_failed() {
    let state = tagged("\"a\"");
    check(
        "PUT",
        &[(IF_MATCH, "\"b\""), (IF_NONE_MATCH, "garbage")],
        &state,
        Want::BadRequest(IfNoneMatch),
    );
    check(
        "PUT",
        &[(IF_MATCH, "garbage"), (IF_NONE_MATCH, "\"a\"")],
        &state,
        Want::BadRequest(IfMatch),
    );
    check(
        "PUT",
        &[(IF_MATCH, "garbage"), (IF_NONE_MATCH, "garbage")],
        &state,
        Want::BadRequest(IfMatch),
    );
    check(
        "PUT",
        &[
            (IF_UNMODIFIED_SINCE, IMF_BEFORE),
            (IF_NONE_MATCH, "garbage"),
        ],
        &dated(T),
        Want::BadRequest(IfNoneMatch),
    );
    check(
        "GET",
        &[(IF_MATCH, "garbage"), (IF_NONE_MATCH, "\"a\"")],
        &state,
        Want::BadRequest(IfMatch),
    );
}

#[test]
fn malformed_dates_are_never_400() {
    for m in EVALUATED {
        check(
            m,
            &[
                (IF_MODIFIED_SINCE, "garbage"),
                (IF_UNMODIFIED_SINCE, "\"a\""),
            ],
            &dated(T),
            GO,
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Responses
// ---------------------------------------------------------------------------------------------

fn json(body: &[u8]) -> serde_json::Value {
    serde_json::from_slice(body).expect("problem bodies are JSON")
}

#[test]
fn not_modified_carries_the_200_metadata_and_no_content() {
    let state = ResourceState::Present(
        Validators::new()
            .with_etag(ETag::from_static("\"a\""))
            .with_last_modified(date(T))
            .with_cache_control(HeaderValue::from_static("max-age=60"))
            .with_vary(HeaderValue::from_static("Accept-Encoding"))
            .with_expires(HeaderValue::from_static("Thu, 01 Dec 2094 16:00:00 GMT"))
            .with_content_location(HeaderValue::from_static("/doc.en")),
    );
    let decision = check(
        "GET",
        &[(IF_NONE_MATCH, "\"a\"")],
        &state,
        Want::NotModified(IfNoneMatch),
    );
    let res = decision.response(&state).unwrap();
    assert_eq!(res.status(), StatusCode::NOT_MODIFIED);
    assert!(res.body().is_empty());
    let h = res.headers();
    assert_eq!(h[ETAG], "\"a\"");
    assert_eq!(h[CACHE_CONTROL], "max-age=60");
    assert_eq!(h[VARY], "Accept-Encoding");
    assert_eq!(h[EXPIRES], "Thu, 01 Dec 2094 16:00:00 GMT");
    assert_eq!(h[CONTENT_LOCATION], "/doc.en");
    // Last-Modified only when there is no ETag; never the replaced body's metadata.
    for name in [LAST_MODIFIED, CONTENT_TYPE, CONTENT_LENGTH] {
        assert!(!h.contains_key(&name), "304 must not carry {name}");
    }
    assert_eq!(h.len(), 5, "{h:?}");
    assert_eq!(
        response::not_modified(state.validators().unwrap()).headers(),
        h
    );
}

#[test]
fn not_modified_without_etag_carries_last_modified() {
    let state = dated(T);
    let decision = check(
        "HEAD",
        &[(IF_MODIFIED_SINCE, IMF_AT)],
        &state,
        Want::NotModified(IfModifiedSince),
    );
    let res = decision.response(&state).unwrap();
    assert_eq!(res.status(), StatusCode::NOT_MODIFIED);
    assert!(res.body().is_empty());
    assert_eq!(res.headers()[LAST_MODIFIED], IMF_AT);
    assert!(!res.headers().contains_key(ETAG));
    assert!(!res.headers().contains_key(CONTENT_TYPE));
}

#[test]
fn precondition_failed_carries_current_validators_and_a_problem_body() {
    let state = both("\"v2\"", T);
    let decision = check(
        "PUT",
        &[(IF_MATCH, "\"v1\"")],
        &state,
        Want::PreconditionFailed(IfMatch),
    );
    let res = decision.response(&state).unwrap();
    assert_eq!(res.status(), StatusCode::PRECONDITION_FAILED);
    assert_eq!(res.headers()[ETAG], "\"v2\"");
    assert_eq!(res.headers()[LAST_MODIFIED], IMF_AT);
    assert_eq!(res.headers()[CONTENT_TYPE], "application/problem+json");
    let body = json(res.body());
    assert_eq!(body["status"], 412);
    assert_eq!(body["condition"], "If-Match");
    assert!(body["detail"].as_str().is_some_and(|d| !d.is_empty()));

    for (fields, condition) in [
        ([(IF_UNMODIFIED_SINCE, IMF_BEFORE)], IfUnmodifiedSince),
        ([(IF_NONE_MATCH, "*")], IfNoneMatch),
    ] {
        let decision = check("PUT", &fields, &state, Want::PreconditionFailed(condition));
        let res = decision.response(&state).unwrap();
        assert_eq!(json(res.body())["condition"], condition.as_str());
        assert_eq!(res.headers()[ETAG], "\"v2\"");
    }
}

#[test]
fn precondition_failed_for_missing_resource_has_no_validators() {
    let state = ResourceState::Missing;
    let decision = check(
        "PUT",
        &[(IF_MATCH, "*")],
        &state,
        Want::PreconditionFailed(IfMatch),
    );
    let res = decision.response(&state).unwrap();
    assert_eq!(res.status(), StatusCode::PRECONDITION_FAILED);
    assert!(!res.headers().contains_key(ETAG));
    assert!(!res.headers().contains_key(LAST_MODIFIED));
    assert_eq!(json(res.body())["condition"], "If-Match");
}

#[test]
fn future_last_modified_is_sent_as_the_current_time() {
    // 8.8.2.1: never send a Last-Modified later than the server's clock.
    let future = LastModified::from_unix_seconds(253_402_300_799).unwrap();
    let state = ResourceState::Present(Validators::new().with_last_modified(future));
    let decision = check(
        "PUT",
        &[(IF_MATCH, "\"a\"")],
        &state,
        Want::PreconditionFailed(IfMatch),
    );
    let res = decision.response(&state).unwrap();
    let sent = httpdate::parse_http_date(res.headers()[LAST_MODIFIED].to_str().unwrap()).unwrap();
    assert!(
        sent <= SystemTime::now() + Duration::from_secs(1),
        "{sent:?}"
    );
}

#[test]
fn bad_request_is_a_problem_naming_the_field() {
    let state = tagged("\"a\"");
    for (fields, field) in [
        ([(IF_MATCH, "garbage")], IfMatch),
        ([(IF_NONE_MATCH, "garbage")], IfNoneMatch),
    ] {
        let decision = check("PUT", &fields, &state, Want::BadRequest(field));
        let res = decision.response(&state).unwrap();
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        assert_eq!(res.headers()[CONTENT_TYPE], "application/problem+json");
        let body = json(res.body());
        assert_eq!(body["status"], 400);
        assert_eq!(body["condition"], field.as_str());
        // The request bytes are not echoed.
        assert!(!String::from_utf8_lossy(res.body()).contains("garbage"));
    }
}

#[test]
fn precondition_required_explains_and_is_not_cacheable() {
    let res = response::precondition_required();
    assert_eq!(res.status(), StatusCode::PRECONDITION_REQUIRED);
    assert_eq!(res.headers()[CACHE_CONTROL], "no-store");
    assert_eq!(res.headers()[CONTENT_TYPE], "application/problem+json");
    let body = json(res.body());
    assert_eq!(body["status"], 428);
    let detail = body["detail"].as_str().unwrap();
    assert!(detail.contains("If-Match"), "{detail}");
}

// ---------------------------------------------------------------------------------------------
// Table tests
// ---------------------------------------------------------------------------------------------

/// Header fields of one table row.
type Fields<'a> = &'a [(HeaderName, &'a str)];
/// Method, fields, state, expected outcome.
type Row<'a> = (&'a str, Fields<'a>, &'a ResourceState, Want);

const NOT_MODIFIED_INM: Want = Want::NotModified(IfNoneMatch);
const NOT_MODIFIED_IMS: Want = Want::NotModified(IfModifiedSince);
const FAILED_IM: Want = Want::PreconditionFailed(IfMatch);
const FAILED_INM: Want = Want::PreconditionFailed(IfNoneMatch);
const FAILED_IUS: Want = Want::PreconditionFailed(IfUnmodifiedSince);
const BYTES: (HeaderName, &str) = (RANGE, "bytes=0-1");

#[track_caller]
fn check_rows(rows: &[Row<'_>]) {
    for (m, fields, state, want) in rows {
        check(m, fields, state, *want);
    }
}

#[test]
fn table_weak_and_strong_pairs() {
    // (request tag, current tag, If-Match on PUT, If-None-Match on GET)
    let differs = GO.passed(IfNoneMatch);
    #[rustfmt::skip]
    let cases = [
        ("\"1\"",    "\"1\"",    MATCHED,   NOT_MODIFIED_INM),
        ("\"1\"",    "W/\"1\"",  FAILED_IM, NOT_MODIFIED_INM),
        ("W/\"1\"",  "\"1\"",    FAILED_IM, NOT_MODIFIED_INM),
        ("W/\"1\"",  "W/\"1\"",  FAILED_IM, NOT_MODIFIED_INM),
        ("\"1\"",    "\"2\"",    FAILED_IM, differs),
        ("W/\"1\"",  "W/\"2\"",  FAILED_IM, differs),
        ("\"\"",     "\"\"",     MATCHED,   NOT_MODIFIED_INM),
        ("W/\"\"",   "\"\"",     FAILED_IM, NOT_MODIFIED_INM),
        ("\"1\"",    "\"11\"",   FAILED_IM, differs),
        ("\"a\"",    "\"A\"",    FAILED_IM, differs),
        ("\"W/1\"",  "W/\"1\"",  FAILED_IM, differs),
    ];
    for (request, current, if_match, if_none_match) in cases {
        let state = tagged(current);
        check("PUT", &[(IF_MATCH, request)], &state, if_match);
        check("GET", &[(IF_NONE_MATCH, request)], &state, if_none_match);
    }
}

#[test]
fn table_lists_over_several_lines() {
    let state = tagged("\"c\"");
    // (lines, If-Match on PUT, If-None-Match on GET)
    let matched = (MATCHED, NOT_MODIFIED_INM);
    let unmatched = (FAILED_IM, GO.passed(IfNoneMatch));
    let malformed = (Want::BadRequest(IfMatch), GO);
    #[rustfmt::skip]
    let cases: [(&[&str], (Want, Want)); 11] = [
        (&["\"a\"", "\"c\""], matched),
        (&["\"c\"", "\"a\""], matched),
        (&["\"a\", \"b\"", "\"c\""], matched),
        (&["\"a\"", "", "\"c\""], matched),
        (&["\"a\"", "\"b\""], unmatched),
        (&["", ""], unmatched),
        (&[",", " , "], unmatched),
        (&["\"a\"", "W/\"c\""], (FAILED_IM, NOT_MODIFIED_INM)),
        (&["\"c\"", "garbage"], malformed),
        (&["\"c", "\""], malformed),
        (&["W/", "\"c\""], malformed),
    ];
    for (lines, (if_match, if_none_match)) in cases {
        let mut im = HeaderMap::new();
        let mut inm = HeaderMap::new();
        for line in lines {
            im.append(IF_MATCH, HeaderValue::from_str(line).unwrap());
            inm.append(IF_NONE_MATCH, HeaderValue::from_str(line).unwrap());
        }
        check_map("PUT", &im, &state, if_match);
        check_map("GET", &inm, &state, if_none_match);
    }
}

#[test]
fn table_star_with_missing_and_present_resources() {
    let missing = ResourceState::Missing;
    let present = both("\"a\"", T);
    let empty = bare();
    let star_im: Fields<'_> = &[(IF_MATCH, "*")];
    let star_inm: Fields<'_> = &[(IF_NONE_MATCH, "*")];
    #[rustfmt::skip]
    check_rows(&[
        ("PUT",     star_im,  &missing, FAILED_IM),
        ("PUT",     star_im,  &present, GO.passed(IfMatch)),
        ("PUT",     star_im,  &empty,   GO.passed(IfMatch)),
        ("GET",     star_im,  &missing, IGNORED_MISSING),
        ("GET",     star_im,  &present, GO.passed(IfMatch)),
        ("DELETE",  star_im,  &missing, IGNORED_MISSING),
        ("DELETE",  star_im,  &empty,   GO.passed(IfMatch)),
        ("OPTIONS", star_im,  &missing, IGNORED_METHOD),
        ("PUT",     star_inm, &missing, GO.passed(IfNoneMatch)),
        ("PUT",     star_inm, &present, FAILED_INM),
        ("PUT",     star_inm, &empty,   FAILED_INM),
        ("GET",     star_inm, &missing, IGNORED_MISSING),
        ("GET",     star_inm, &present, NOT_MODIFIED_INM),
        ("HEAD",    star_inm, &empty,   NOT_MODIFIED_INM),
        ("POST",    star_inm, &missing, GO.passed(IfNoneMatch)),
        ("TRACE",   star_inm, &present, IGNORED_METHOD),
    ]);
}

#[test]
fn table_present_without_validators() {
    let s = &bare();
    #[rustfmt::skip]
    check_rows(&[
        ("PUT", &[(IF_MATCH, "*")], s, GO.passed(IfMatch)),
        ("PUT", &[(IF_MATCH, "\"a\"")], s, FAILED_IM),
        ("GET", &[(IF_NONE_MATCH, "\"a\"")], s, GO.passed(IfNoneMatch)),
        ("GET", &[(IF_NONE_MATCH, "*")], s, NOT_MODIFIED_INM),
        ("PUT", &[(IF_NONE_MATCH, "*")], s, FAILED_INM),
        ("GET", &[(IF_MODIFIED_SINCE, IMF_AFTER)], s, GO),
        ("PUT", &[(IF_UNMODIFIED_SINCE, IMF_BEFORE)], s, GO),
        ("GET", &[BYTES, (IF_RANGE, "\"a\"")], s, GO.range(Ignore)),
        ("GET", &[BYTES, (IF_RANGE, IMF_AT)], s, GO.range(Ignore)),
        ("GET", &[BYTES], s, GO.range(Honor)),
    ]);
}

#[test]
fn table_sub_second_last_modified() {
    for millis in [0, 1, 499, 500, 700, 999] {
        let time = UNIX_EPOCH + Duration::from_millis(T * 1000 + millis);
        let lm = LastModified::try_from(time).unwrap();
        assert_eq!(lm, date(T), "{millis} ms");
        let weak = &ResourceState::Present(Validators::new().with_last_modified(lm));
        let strong = &ResourceState::Present(
            Validators::new()
                .with_last_modified(lm)
                .with_strong_last_modified(true),
        );
        #[rustfmt::skip]
        check_rows(&[
            ("GET", &[(IF_MODIFIED_SINCE, IMF_AT)], weak, NOT_MODIFIED_IMS),
            ("GET", &[(IF_MODIFIED_SINCE, IMF_BEFORE)], weak, GO.passed(IfModifiedSince)),
            ("PUT", &[(IF_UNMODIFIED_SINCE, IMF_AT)], weak, GO.passed(IfUnmodifiedSince)),
            ("PUT", &[(IF_UNMODIFIED_SINCE, IMF_BEFORE)], weak, FAILED_IUS),
            ("GET", &[BYTES, (IF_RANGE, IMF_AT)], strong, GO.range(Honor)),
            ("GET", &[BYTES, (IF_RANGE, IMF_AFTER)], strong, GO.range(Ignore)),
            ("GET", &[BYTES, (IF_RANGE, IMF_AT)], weak, GO.range(Ignore)),
        ]);
    }
}

#[test]
fn table_three_date_formats() {
    let state = dated(T);
    // (date, If-Modified-Since on GET, If-Unmodified-Since on PUT)
    let modified = GO.passed(IfModifiedSince);
    let unmodified = GO.passed(IfUnmodifiedSince);
    #[rustfmt::skip]
    let cases = [
        (IMF_BEFORE,     modified,         FAILED_IUS),
        (IMF_AT,         NOT_MODIFIED_IMS, unmodified),
        (IMF_AFTER,      NOT_MODIFIED_IMS, unmodified),
        (RFC850_BEFORE,  modified,         FAILED_IUS),
        (RFC850_AT,      NOT_MODIFIED_IMS, unmodified),
        (RFC850_AFTER,   NOT_MODIFIED_IMS, unmodified),
        (ASCTIME_BEFORE, modified,         FAILED_IUS),
        (ASCTIME_AT,     NOT_MODIFIED_IMS, unmodified),
        (ASCTIME_AFTER,  NOT_MODIFIED_IMS, unmodified),
        // Optional whitespace around the value.
        (" Sun, 06 Nov 1994 08:49:37 GMT\t", NOT_MODIFIED_IMS, unmodified),
        // The ends of the range.
        ("Thu, 01 Jan 1970 00:00:00 GMT", modified, FAILED_IUS),
        ("Fri, 31 Dec 9999 23:59:59 GMT", NOT_MODIFIED_IMS, unmodified),
        // Before 1970: `year = 4DIGIT`.
        ("Wed, 31 Dec 1969 23:59:59 GMT", modified, FAILED_IUS),
        ("Sat, 01 Jan 0000 00:00:00 GMT", modified, FAILED_IUS),
    ];
    for (text, ims, ius) in cases {
        check("GET", &[(IF_MODIFIED_SINCE, text)], &state, ims);
        check("HEAD", &[(IF_MODIFIED_SINCE, text)], &state, ims);
        check("PUT", &[(IF_UNMODIFIED_SINCE, text)], &state, ius);
    }
}

#[test]
fn table_invalid_dates() {
    let state = dated(T);
    #[rustfmt::skip]
    let invalid = [
        "",
        "0",
        "784111777",
        "yesterday",
        "Mon, 06 Nov 1994 08:49:37 GMT",    // wrong weekday
        "sun, 06 Nov 1994 08:49:37 GMT",    // case
        "Sun, 06 nov 1994 08:49:37 GMT",    // case
        "Sun, 06 Nov 1994 08:49:37 UTC",    // zone
        "Sun, 06 Nov 1994 08:49:37",        // no zone
        "Sun, 6 Nov 1994 08:49:37 GMT",     // day not two digits
        "Sun,06 Nov 1994 08:49:37 GMT",     // missing space
        "Sun, 06 Nov 1994 24:00:00 GMT",    // hour
        "Sun, 06 Nov 1994 08:60:37 GMT",    // minute
        "Tue, 31 Feb 1995 08:49:37 GMT",    // no such day
        "Thu, 31 Dec 1969 23:59:59 GMT",    // wrong weekday, before 1970
        "Sun, 06 Nov 1994 08:49:37 GMT garbage",
        "Sun, 06 Nov 1994 08:49:37 GMT,",
        "Sunday, 06-Nov-1994 08:49:37 GMT", // RFC 850 with four-digit year
        "Sun Nov 6 08:49:37 1994",          // asctime without the padding space
        "1994-11-06T08:49:37Z",
        "\"a\"",
        "*",
    ];
    for text in invalid {
        // Valid dates here would give 304 and 412: invalid ones are ignored, never 400.
        check("GET", &[(IF_MODIFIED_SINCE, text)], &state, GO);
        check("HEAD", &[(IF_MODIFIED_SINCE, text)], &state, GO);
        check("PUT", &[(IF_UNMODIFIED_SINCE, text)], &state, GO);
        check("GET", &[(IF_UNMODIFIED_SINCE, text)], &state, GO);
    }
    // Bytes that are not UTF-8 (obs-text).
    for field in [IF_MODIFIED_SINCE, IF_UNMODIFIED_SINCE] {
        let mut map = HeaderMap::new();
        map.insert(
            field,
            HeaderValue::from_bytes(b"Sun, 06 Nov 1994 08:49:37 \xff").unwrap(),
        );
        check_map("GET", &map, &state, GO);
        check_map("PUT", &map, &state, GO);
    }
}

#[test]
fn table_dates_on_several_lines() {
    let state = dated(T);
    let cases: [&[&str]; 5] = [
        &[IMF_AT, IMF_AT],
        &[IMF_AT, IMF_BEFORE],
        &[IMF_BEFORE, IMF_AT],
        &[IMF_AT, "garbage"],
        &[IMF_AT, ""],
    ];
    for lines in cases {
        for field in [IF_MODIFIED_SINCE, IF_UNMODIFIED_SINCE] {
            let mut map = HeaderMap::new();
            for line in lines {
                map.append(field.clone(), HeaderValue::from_str(line).unwrap());
            }
            check_map("GET", &map, &state, GO);
            check_map("HEAD", &map, &state, GO);
            check_map("PUT", &map, &state, GO);
        }
    }
}

#[test]
fn table_if_range() {
    let s = &ResourceState::Present(
        Validators::new()
            .with_etag(ETag::from_static("\"a\""))
            .with_last_modified(date(T))
            .with_strong_last_modified(true),
    );
    let weak = &ResourceState::Present(
        Validators::new()
            .with_etag(ETag::from_static("W/\"a\""))
            .with_last_modified(date(T)),
    );
    #[rustfmt::skip]
    check_rows(&[
        ("GET", &[BYTES, (IF_RANGE, "\"a\"")], s, GO.range(Honor)),
        ("GET", &[BYTES, (IF_RANGE, "\"b\"")], s, GO.range(Ignore)),
        ("GET", &[BYTES, (IF_RANGE, "W/\"a\"")], s, GO.range(Ignore)),
        ("GET", &[BYTES, (IF_RANGE, "\"a\"")], weak, GO.range(Ignore)),
        ("GET", &[BYTES, (IF_RANGE, "W/\"a\"")], weak, GO.range(Ignore)),
        ("GET", &[BYTES, (IF_RANGE, IMF_AT)], s, GO.range(Honor)),
        ("GET", &[BYTES, (IF_RANGE, RFC850_AT)], s, GO.range(Honor)),
        ("GET", &[BYTES, (IF_RANGE, ASCTIME_AT)], s, GO.range(Honor)),
        ("GET", &[BYTES, (IF_RANGE, IMF_BEFORE)], s, GO.range(Ignore)),
        ("GET", &[BYTES, (IF_RANGE, IMF_AFTER)], s, GO.range(Ignore)),
        ("GET", &[BYTES, (IF_RANGE, IMF_AT)], weak, GO.range(Ignore)),
        ("GET", &[BYTES, (IF_RANGE, "yesterday")], s, GO.range(Ignore)),
        ("GET", &[BYTES, (IF_RANGE, "\"a\",")], s, GO.range(Ignore)),
        ("GET", &[BYTES, (IF_RANGE, "\"a\""), (IF_RANGE, "\"a\"")], s, GO.range(Ignore)),
        ("GET", &[BYTES], s, GO.range(Honor)),
        // No Range: If-Range is ignored.
        ("GET", &[(IF_RANGE, "\"b\"")], s, GO),
        ("GET", &[(IF_RANGE, IMF_BEFORE)], s, GO),
        // Not GET: no range handling at all.
        ("HEAD", &[BYTES, (IF_RANGE, "\"b\"")], s, GO),
        ("HEAD", &[BYTES, (IF_RANGE, "\"a\"")], s, GO),
        ("PUT", &[BYTES, (IF_RANGE, "\"a\"")], s, GO),
        ("get", &[BYTES, (IF_RANGE, "\"a\"")], s, GO),
        ("OPTIONS", &[BYTES, (IF_RANGE, "\"a\"")], s, IGNORED_METHOD),
        // After the preconditions.
        ("GET", &[BYTES, (IF_RANGE, "\"a\""), (IF_NONE_MATCH, "\"b\"")], s,
            GO.passed(IfNoneMatch).range(Honor)),
        ("GET", &[BYTES, (IF_RANGE, "\"a\""), (IF_NONE_MATCH, "\"a\"")], s, NOT_MODIFIED_INM),
        ("GET", &[BYTES, (IF_RANGE, "\"a\""), (IF_MATCH, "\"b\"")], s, FAILED_IM),
    ]);
}

#[test]
fn table_method_classes() {
    #[derive(Clone, Copy)]
    enum Class {
        Get,
        Head,
        Delete,
        Other,
        Ignored,
    }
    let state = both("\"a\"", T);
    let missing = ResourceState::Missing;
    let methods = [
        ("GET", Class::Get),
        ("HEAD", Class::Head),
        ("PUT", Class::Other),
        ("POST", Class::Other),
        ("PATCH", Class::Other),
        ("DELETE", Class::Delete),
        ("OPTIONS", Class::Ignored),
        ("CONNECT", Class::Ignored),
        ("TRACE", Class::Ignored),
        ("PROPFIND", Class::Other),
        ("get", Class::Other),
    ];
    for (m, class) in methods {
        let get_or_head = matches!(class, Class::Get | Class::Head);
        let pick = |want: Want| match class {
            Class::Ignored => IGNORED_METHOD,
            _ => want,
        };
        let on_get_or_head = |yes: Want, no: Want| pick(if get_or_head { yes } else { no });
        let get_only =
            |yes: Want, no: Want| pick(if matches!(class, Class::Get) { yes } else { no });
        let on_missing = match class {
            Class::Get | Class::Head | Class::Delete => IGNORED_MISSING,
            Class::Ignored => IGNORED_METHOD,
            Class::Other => FAILED_IM,
        };
        let bad_on_missing = match class {
            Class::Other => Want::BadRequest(IfMatch),
            _ => on_missing,
        };
        #[rustfmt::skip]
        check_rows(&[
            (m, &[], &state, pick(GO)),
            (m, &[(IF_MATCH, "\"b\"")], &state, pick(FAILED_IM)),
            (m, &[(IF_MATCH, "\"a\"")], &state, pick(MATCHED)),
            (m, &[(IF_NONE_MATCH, "\"a\"")], &state, on_get_or_head(NOT_MODIFIED_INM, FAILED_INM)),
            (m, &[(IF_MODIFIED_SINCE, IMF_AT)], &state, on_get_or_head(NOT_MODIFIED_IMS, GO)),
            (m, &[(IF_UNMODIFIED_SINCE, IMF_BEFORE)], &state, pick(FAILED_IUS)),
            (m, &[(IF_NONE_MATCH, "garbage")], &state, on_get_or_head(GO, Want::BadRequest(IfNoneMatch))),
            (m, &[(IF_MATCH, "garbage")], &state, pick(Want::BadRequest(IfMatch))),
            (m, &[BYTES], &state, get_only(GO.range(Honor), GO)),
            (m, &[BYTES, (IF_RANGE, "\"b\"")], &state, get_only(GO.range(Ignore), GO)),
            (m, &[(IF_MATCH, "\"b\"")], &missing, on_missing),
            (m, &[(IF_MATCH, "garbage")], &missing, bad_on_missing),
        ]);
    }
}
