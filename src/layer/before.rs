//! The request side, before the inner service runs: whether the source must be asked
//! ([`need`]), and what its answer means ([`decide`]): an early answer, or the adjusted request
//! and the [`Post`] for its response. Free of polling and of tower: the future only drives
//! these.

use std::sync::Arc;

use http::header::{
    ETAG, HeaderName, IF_MATCH, IF_MODIFIED_SINCE, IF_NONE_MATCH, IF_RANGE, IF_UNMODIFIED_SINCE,
    RANGE,
};
use http::request::Parts;
use http::{HeaderMap, HeaderValue, Method, Response, StatusCode};

use super::answers::{finish_answer, source_unavailable};
use super::plan::{Plan, Post, RangeCheck, ResponseCheck, only};
use super::ranges::now_seconds;
use super::revalidation::{Timing, timing};
use super::settings::Config;
use super::trace;
use crate::accept_encoding::AcceptEncoding;
use crate::checked::{Checked, fingerprint, ticket};
use crate::conditions::Conditions;
use crate::date::parse_http_date;
use crate::decision::{Condition, Decision, Proceed, RangeHandling};
use crate::encoding::identity_form;
use crate::etag::ETag;
use crate::response::{self, AnswerBody};
use crate::source::{BoxError, Lookup, Rejection};
use crate::state::{ResourceState, Validators};

/// What a request needs before the layer can decide it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Need {
    /// Nothing the source could say changes the outcome: call the inner service as it is.
    Nothing,
    /// GET or HEAD for a source that always answers [`Lookup::Unknown`]: evaluate against the
    /// response, without asking.
    Response,
    /// Ask the source, then [`decide`].
    Lookup,
}

/// The rule of "When the source is asked" in the [`ConditionalLayer`](super::ConditionalLayer)
/// docs: a look-up only where its answer can change the outcome.
#[inline]
pub(super) fn need(method: &Method, conditions: &Conditions<'_>, config: &Config) -> Need {
    let lookup_if = |asks: bool| if asks { Need::Lookup } else { Need::Nothing };
    // Reads first: they are most requests.
    if is_read(method) {
        if config.responses_only {
            return Need::Response;
        }
        // If-Range only matters for a GET with Range (§13.1.5).
        let if_range = method == Method::GET && conditions.has_range() && conditions.has_if_range();
        // Filling in (or taking over) validators needs them for every read.
        let fill = config.settings.fill_response_validators || config.settings.take_over;
        return lookup_if(conditions.is_conditional() || if_range || fill);
    }
    // RFC 9110 §13.2.1: preconditions of these methods are ignored.
    if method == Method::CONNECT || method == Method::OPTIONS || method == Method::TRACE {
        return Need::Nothing;
    }
    // If-Modified-Since is ignored on methods other than GET and HEAD (§13.1.3).
    lookup_if(
        conditions.has_if_match()
            || conditions.has_if_none_match()
            || conditions.has_if_unmodified_since()
            || config.requires_precondition(method),
    )
}

/// The [`Post`] of a GET or HEAD evaluated against the response (validators unknown before
/// the handler), with the request adjusted for it. `responses_only`: the layer has no source
/// but the responses (`from_responses`), whose inner service is the one to decide `If-Range`.
pub(super) fn post_from_response(plan: &Plan, parts: &mut Parts, responses_only: bool) -> Post {
    let conditions = Conditions::from_headers(&parts.headers);
    let mut range = None;
    if conditions.is_conditional() {
        // §13.2.2 evaluates preconditions before Range, and a 206 cannot become a 304 or
        // 412: ask the handler for the whole representation.
        drop_range(parts);
    } else if let Some(if_range) = one_tag_if_range(parts)
        .filter(|_| responses_only)
        .filter(|tag| !is_body_hash(tag))
    {
        // Only If-Range, and no source but the responses: the inner service, whose validators
        // these are, decides it, and a 206 leaves only when its own `ETag` is the one named
        // (see `ranges`). A date names one version only when declared strong, which a response
        // cannot declare: the whole representation then. (A source that answered Unknown may
        // know the validators another time; its inner service is not assumed to decide
        // If-Range.)
        let mut names = HeaderMap::with_capacity(1);
        names.insert(IF_RANGE, if_range);
        range = Some(Box::new(RangeCheck {
            names,
            strong_date: false,
            called_at: now_seconds(),
            foreign_validators: false,
            version: parts.version,
            retry_after: plan.settings.on_source_error.retry_after,
        }));
    } else {
        unchecked_if_range(parts);
    }
    let check = Some(Box::new(ResponseCheck::new(parts, plan)));
    if plan.settings.take_over {
        hide_decided(parts);
    }
    Post {
        check,
        range,
        ..plan.post()
    }
}

/// The request's `If-Range`, when it is one entity-tag on a GET with `Range`.
fn one_tag_if_range(parts: &Parts) -> Option<HeaderValue> {
    if parts.method != Method::GET || !parts.headers.contains_key(RANGE) {
        return None;
    }
    let mut lines = parts.headers.get_all(IF_RANGE).iter();
    let (Some(line), None) = (lines.next(), lines.next()) else {
        return None;
    };
    ETag::try_from(line).is_ok().then(|| line.clone())
}

/// Whether `tag` has the form of the layer's own body-hash tags (`ETag::from_content`: 32
/// lowercase hex digits, with a `-<coding>` suffix under encoding-aware tags). With
/// `from_responses` such a tag was made by hashing a 200 the inner service sent untagged, so
/// its 206 can never carry it: resuming would be refused on every retry. The whole
/// representation is the answer instead (always right for a false or unprovable `If-Range`).
fn is_body_hash(tag: &HeaderValue) -> bool {
    let bytes = tag.as_bytes();
    let Some(opaque) = bytes
        .strip_prefix(b"\"")
        .and_then(|b| b.strip_suffix(b"\""))
    else {
        return false;
    };
    let (hash, coding) = match opaque.iter().position(|&b| b == b'-') {
        Some(dash) => (&opaque[..dash], Some(&opaque[dash + 1..])),
        None => (opaque, None),
    };
    hash.len() == 32
        && hash
            .iter()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
        && coding.is_none_or(|c| !c.is_empty() && c.iter().all(u8::is_ascii_lowercase))
}

/// What to do once the source has answered.
#[derive(Debug)]
pub(super) enum Verdict {
    /// Call the inner service with the (adjusted) request, then apply `Post` to its response.
    Call(Post),
    /// Answer without calling the inner service.
    Answer(Response<AnswerBody>),
}

pub(super) fn is_read(method: &Method) -> bool {
    method == Method::GET || method == Method::HEAD
}

/// Turns the source's answer into the next step, adjusting the request head for the inner
/// service (Range, If-Range, the [`Checked`] extension) when it is to be called.
pub(super) fn decide<E: Into<BoxError>>(
    answer: Result<Lookup, E>,
    parts: &mut Parts,
    plan: &Plan,
) -> Verdict {
    let answer = match answer {
        Ok(Lookup::Rejected(rejection)) => return Verdict::Answer(rejected(rejection, parts)),
        answer => answer,
    };
    let state = match answer.map(Lookup::into_state) {
        Ok(Some(state)) => state,
        Ok(None) if is_read(&parts.method) => {
            trace::unevaluated(parts, "validators unknown: evaluated on the response");
            return Verdict::Call(post_from_response(plan, parts, false));
        }
        Ok(None) => return unknown_write(parts, plan),
        Err(error) => return source_failed(parts, plan, &*error.into()),
    };
    let conditions = Conditions::from_headers(&parts.headers);
    // Encoding-aware tags: Accept-Encoding read once, for every member compared.
    let accept = plan
        .settings
        .encoding_aware_etags
        .then(|| AcceptEncoding::parse(&parts.headers));
    let decision = conditions.evaluate_with(&parts.method, &state, accept.as_ref());
    // RFC 6585 §3 first: a request that proceeds without the required precondition never
    // reaches the handler, whether or not the response's coding decides the rest.
    if let Decision::Proceed(proceed) = &decision
        && let Some(refusal) = precondition_missing(proceed, &state, parts, plan)
    {
        return refusal;
    }
    let timing = match &accept {
        Some(accept) if is_read(&parts.method) => timing(&decision, &conditions, &state, accept),
        _ => Timing::Now(None),
    };
    let held = match timing {
        Timing::Now(held) => held,
        Timing::OnResponse => {
            trace::unevaluated(parts, "the response's coding decides: evaluated on it");
            return Verdict::Call(on_the_response(state, parts, plan, accept.as_ref()));
        }
    };
    let proceed = match decision {
        Decision::Proceed(proceed) => proceed,
        decision => return answer_early(decision, held, &state, parts, plan),
    };
    trace::decided(parts, proceed.passed(), None);
    let range = range_check(&proceed, &state, parts, plan);
    // The head as the source saw it, for a second look-up on the response side: about a 206
    // that does not say which version it is, or a taken-over read's success (see
    // `Again::Confirm`). (A handler's lost race brings its own back: see
    // `Checked::from_request`.)
    let confirm = plan.settings.take_over && is_read(&parts.method);
    let head = (range.is_some() || confirm).then(|| Arc::new(parts.clone()));
    apply_range(proceed.range(), parts);
    hand_over(state, &proceed, parts, plan, range, head)
}

/// A `Range` honoured after a field naming the version the client holds was true: `If-Range`
/// (§13.1.5), or an `If-Match` entity-tag or `If-Unmodified-Since` (§13.1.1, §13.1.4): what the
/// response side needs to make sure the 206 is of that version. Taken before `If-Range` is
/// removed.
fn range_check(
    proceed: &Proceed,
    state: &ResourceState,
    parts: &Parts,
    plan: &Plan,
) -> Option<Box<RangeCheck>> {
    if proceed.range() != RangeHandling::Honor {
        return None;
    }
    let mut names = HeaderMap::new();
    // Honoured with an If-Range: it was true, and so exactly one line.
    if let Some(if_range) = parts.headers.get(IF_RANGE) {
        names.insert(IF_RANGE, if_range.clone());
    }
    match proceed.passed() {
        // `*` names no version: any current one is what it asks for.
        Some(Condition::IfMatch) if proceed.etag_matched() => {
            names = only_adding(names, &parts.headers, IF_MATCH);
        }
        Some(Condition::IfUnmodifiedSince) => {
            names = only_adding(names, &parts.headers, IF_UNMODIFIED_SINCE);
        }
        _ => {}
    }
    if names.is_empty() {
        return None;
    }
    Some(Box::new(RangeCheck {
        names,
        strong_date: state
            .validators()
            .is_some_and(Validators::is_last_modified_strong),
        called_at: now_seconds(),
        foreign_validators: plan.settings.take_over,
        version: parts.version,
        retry_after: plan.settings.on_source_error.retry_after,
    }))
}

/// `names` with every line of `field` in `headers` added.
fn only_adding(mut names: HeaderMap, headers: &HeaderMap, field: HeaderName) -> HeaderMap {
    for value in headers.get_all(&field) {
        names.append(field.clone(), value.clone());
    }
    names
}

/// The source refused the request itself (an extractor's rejection): its answer, whatever the
/// method, never the inner service.
pub(super) fn rejected(rejection: Rejection, parts: &Parts) -> Response<AnswerBody> {
    let response = rejection.into_response();
    trace::decided(parts, None, Some(response.status()));
    response
}

/// A revalidation the validator cache may answer (see `ValidatorCache`: a cached state may
/// only make a 304 late): a GET or HEAD carrying `If-None-Match` or `If-Modified-Since` and
/// none of `If-Match`, `If-Unmodified-Since` or `If-Range`.
pub(super) fn is_revalidation(parts: &Parts) -> bool {
    let conditions = Conditions::from_headers(&parts.headers);
    is_read(&parts.method)
        && (conditions.has_if_none_match() || conditions.has_if_modified_since())
        && !conditions.has_if_match()
        && !conditions.has_if_unmodified_since()
        && !conditions.has_if_range()
}

/// Whether cached `validators` give the revalidation `parts` a 304 that [`decide`] would send
/// before the handler: with encoding-aware tags, one whose coding a member the client sent
/// fixes (see `revalidation.rs`). Anything else goes to the source, whose answer then replaces
/// the entry.
pub(super) fn cached_answers(parts: &Parts, validators: &Validators, encoding_aware: bool) -> bool {
    let conditions = Conditions::from_headers(&parts.headers);
    let state = ResourceState::Present(validators.clone());
    let accept = encoding_aware.then(|| AcceptEncoding::parse(&parts.headers));
    let decision = conditions.evaluate_with(&parts.method, &state, accept.as_ref());
    if !matches!(decision, Decision::NotModified(_)) {
        return false;
    }
    match &accept {
        Some(accept) => matches!(
            timing(&decision, &conditions, &state, accept),
            Timing::Now(_)
        ),
        None => true,
    }
}

/// Step 1 ended the request: 304, 412 or 400, from the state checked. With encoding-aware
/// tags, a 304 names `held`, the form of the tag the client holds (see `revalidation.rs`; without
/// one the current tag is weak, the same in every coding, or absent).
fn answer_early(
    decision: Decision,
    held: Option<ETag>,
    state: &ResourceState,
    parts: &Parts,
    plan: &Plan,
) -> Verdict {
    trace::decided(parts, decision.condition(), decision.status());
    let mut response = decision
        .response(state)
        .expect("every decision but Proceed has a response");
    if let (Decision::NotModified(_), Some(current)) = (decision, state.etag())
        && plan.settings.encoding_aware_etags
    {
        let issued = held.unwrap_or_else(|| identity_form(current));
        response.headers_mut().insert(ETAG, issued.into());
    }
    finish_answer(&mut response, state, &plan.settings);
    Verdict::Answer(response)
}

/// Step 2, RFC 6585 §3: a write to an existing resource must say which version it replaces
/// (428). A field that was ignored (an invalid date, a date without a Last-Modified to compare
/// it with) protects nothing, so it does not count.
fn precondition_missing(
    proceed: &Proceed,
    state: &ResourceState,
    parts: &Parts,
    plan: &Plan,
) -> Option<Verdict> {
    let protected = matches!(
        proceed.passed(),
        Some(Condition::IfMatch | Condition::IfUnmodifiedSince)
    );
    let evaluated = proceed.ignored().is_none();
    if !(plan.precondition_required && evaluated && state.is_present() && !protected) {
        return None;
    }
    let response = response::precondition_required();
    trace::decided(parts, None, Some(response.status()));
    Some(Verdict::Answer(response))
}

/// Step 3, If-Range: the handler sees a `Range` only when it is to be honoured, and never an
/// `If-Range` the layer evaluated.
fn apply_range(range: RangeHandling, parts: &mut Parts) {
    match range {
        // If-Range was false: the inner service must send the whole representation.
        RangeHandling::Ignore => drop_range(parts),
        // If-Range was true: the layer has dealt with it; the handler serves the Range it sees.
        RangeHandling::Honor => {
            parts.headers.remove(IF_RANGE);
        }
        _ => {}
    }
}

/// Step 4: what goes with the request to the inner service. A write gets [`Checked`] for its
/// compare-and-set; a read, the validators to fill in, when asked to, and a ranged read whose
/// request named a version (`range`) gets [`Checked`] too, to serve the range of exactly that
/// version. With the takeover, the fields the layer decided are hidden from the inner service.
fn hand_over(
    state: ResourceState,
    proceed: &Proceed,
    parts: &mut Parts,
    plan: &Plan,
    range: Option<Box<RangeCheck>>,
    head: Option<Arc<Parts>>,
) -> Verdict {
    if plan.settings.take_over {
        hide_decided(parts);
    }
    // Only a write that passed a precondition can lose a race (an unconditional one is
    // refused with 428), and its 412 names the current version only with `validators_in_412`.
    // The ticket ties the head a `lost_race` brings back to this request (see `LostRaceHead`).
    let refillable = !is_read(&parts.method) && plan.settings.validators_in_412;
    // With it, the target as the source saw it: the handler's may have been rewritten.
    let refill =
        (refillable && proceed.passed().is_some()).then(|| (ticket(), fingerprint(&parts.uri)));
    let ticket = refill.as_ref().map(|(ticket, _)| *ticket);
    let checked = |state, refill| {
        Checked::new(state).with_outcome(proceed.passed(), proceed.etag_matched(), refill)
    };
    if !is_read(&parts.method) {
        parts.extensions.insert(checked(state, refill));
        return Verdict::Call(Post {
            head,
            refill: ticket,
            ..plan.post()
        });
    }
    if range.is_some() {
        parts.extensions.insert(checked(state.clone(), None));
    }
    Verdict::Call(Post {
        fill: filled(state, plan),
        range,
        head,
        take_over: plan.settings.take_over,
        ..plan.post()
    })
}

/// The validators to fill into a read's response: with `fill_response_validators`, or when
/// they replace the inner service's own (the takeover).
fn filled(state: ResourceState, plan: &Plan) -> Option<Box<Validators>> {
    let settings = &plan.settings;
    match state {
        ResourceState::Present(validators)
            if settings.fill_response_validators || settings.take_over =>
        {
            Some(Box::new(validators))
        }
        _ => None,
    }
}

/// The takeover: the conditional fields the layer decides (on the request or on the
/// response) never reach the inner service, so it cannot decide them again against validators
/// of its own. (`If-Range` is removed wherever the layer decides it; see `apply_range`.)
fn hide_decided(parts: &mut Parts) {
    for field in [
        IF_MATCH,
        IF_NONE_MATCH,
        IF_MODIFIED_SINCE,
        IF_UNMODIFIED_SINCE,
    ] {
        parts.headers.remove(field);
    }
}

/// A GET or HEAD whose answer the response's coding decides (see `revalidation.rs`): the
/// preconditions that passed stay passed, and `If-None-Match` / `If-Modified-Since` are
/// evaluated on the response, against the source's validators in the form issued for its
/// coding. Range goes: the preconditions come first (§13.2.2), and a 206 cannot become a 304.
fn on_the_response(
    state: ResourceState,
    parts: &mut Parts,
    plan: &Plan,
    accept: Option<&AcceptEncoding>,
) -> Post {
    let required =
        plan.precondition_required && state.is_present() && !protected(parts, &state, accept);
    // A taken-over success is confirmed by a second look-up (see `Again::Confirm`).
    let head = plan.settings.take_over.then(|| Arc::new(parts.clone()));
    drop_range(parts);
    let fill = filled(state.clone(), plan);
    let validators = match state {
        ResourceState::Present(validators) => validators,
        ResourceState::Missing => Validators::new(),
    };
    let check = ResponseCheck::revalidation(parts, plan, validators, required);
    if plan.settings.take_over {
        hide_decided(parts);
    }
    Post {
        fill,
        check: Some(Box::new(check)),
        head,
        take_over: plan.settings.take_over,
        ..plan.post()
    }
}

/// Whether the request carries an `If-Match` or `If-Unmodified-Since` that was evaluated and
/// passed against `state`: what `require_preconditions` asks for (RFC 6585 §3). Only asked of
/// a revalidation decided on the response (rare: with `require_preconditions` and
/// encoding-aware tags), whose request-side decision named the condition that decided it, not
/// those that passed before it.
fn protected(parts: &Parts, state: &ResourceState, accept: Option<&AcceptEncoding>) -> bool {
    let lost_update = only(&parts.headers, [IF_MATCH, IF_UNMODIFIED_SINCE]);
    let decision =
        Conditions::from_headers(&lost_update).evaluate_with(&parts.method, state, accept);
    matches!(
        decision.proceed().and_then(Proceed::passed),
        Some(Condition::IfMatch | Condition::IfUnmodifiedSince)
    )
}

/// A write the source cannot check before the handler ([`Lookup::Unknown`]): see the docs of
/// that variant for the answers and why none of them is a 503.
fn unknown_write(parts: &Parts, plan: &Plan) -> Verdict {
    let conditions = Conditions::from_headers(&parts.headers);
    // Well-formedness first, as for any request (§13.2.1): evaluating against a present
    // resource with no validators refuses exactly the malformed fields.
    let probe = ResourceState::Present(Validators::new());
    if let Decision::BadRequest(field) = conditions.evaluate(&parts.method, &probe) {
        trace::decided(parts, Some(field), Some(StatusCode::BAD_REQUEST));
        return Verdict::Answer(response::bad_request(field));
    }
    let unverifiable = if conditions.has_if_match() {
        Some(Condition::IfMatch)
    } else if conditions.has_if_unmodified_since() && one_valid_date(parts) {
        Some(Condition::IfUnmodifiedSince)
    } else if conditions.has_if_none_match() {
        Some(Condition::IfNoneMatch)
    } else {
        None
    };
    let response = match unverifiable {
        Some(condition) => response::unverifiable(condition),
        None if plan.precondition_required => response::unverifiable_required(),
        None => {
            // An ignored field (an invalid date) protects nothing: an unconditional write.
            trace::unevaluated(parts, "validators unknown");
            return Verdict::Call(plan.post());
        }
    };
    trace::decided(parts, unverifiable, Some(response.status()));
    Verdict::Answer(response)
}

/// Whether `If-Unmodified-Since` is one valid HTTP-date (otherwise it is ignored, §13.1.4).
fn one_valid_date(parts: &Parts) -> bool {
    let mut lines = parts.headers.get_all(IF_UNMODIFIED_SINCE).iter();
    match (lines.next(), lines.next()) {
        (Some(line), None) => parse_http_date(line.as_bytes()).is_some(),
        _ => false,
    }
}

fn source_failed(
    parts: &mut Parts,
    plan: &Plan,
    error: &(dyn std::error::Error + Send + Sync),
) -> Verdict {
    if is_read(&parts.method) && !plan.settings.on_source_error.reject_reads {
        trace::source_error(parts, error, None);
        unchecked_if_range(parts);
        return Verdict::Call(plan.post());
    }
    let response = source_unavailable(&plan.settings);
    trace::source_error(parts, error, Some(response.status()));
    Verdict::Answer(response)
}

/// Removes `Range` and `If-Range`, so the inner service sends the whole representation.
fn drop_range(parts: &mut Parts) {
    parts.headers.remove(RANGE);
    parts.headers.remove(IF_RANGE);
}

/// Where `If-Range` cannot be evaluated before the handler runs (validators unknown, or the
/// source failed), a range could splice two versions: only the full representation is safe.
fn unchecked_if_range(parts: &mut Parts) {
    if parts.headers.contains_key(IF_RANGE) {
        drop_range(parts);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::settings::Settings;
    use http::{HeaderMap, Request};

    fn need_of(request: Request<()>, config: &Config) -> Need {
        let conditions = Conditions::from_headers(request.headers());
        need(request.method(), &conditions, config)
    }

    #[test]
    fn the_source_is_asked_only_when_its_answer_can_matter() {
        let plain = Config::default();
        let required = Config {
            required: Some([Method::PUT].into()),
            ..Config::default()
        };
        let filled = Config {
            settings: Settings {
                fill_response_validators: true,
                ..Settings::default()
            },
            ..Config::default()
        };
        let req = |method: Method, headers: &[(&str, &str)]| {
            let mut request = Request::builder().method(method);
            for (name, value) in headers {
                request = request.header(*name, *value);
            }
            request.body(()).unwrap()
        };
        let tag = [("if-match", "\"a\"")];
        let cases = [
            (req(Method::GET, &[]), &plain, Need::Nothing),
            (req(Method::HEAD, &[]), &plain, Need::Nothing),
            (req(Method::GET, &[]), &filled, Need::Lookup),
            (
                req(Method::GET, &[("if-none-match", "\"a\"")]),
                &plain,
                Need::Lookup,
            ),
            (
                req(Method::HEAD, &[("if-modified-since", "x")]),
                &plain,
                Need::Lookup,
            ),
            (
                req(
                    Method::GET,
                    &[("range", "bytes=0-1"), ("if-range", "\"a\"")],
                ),
                &plain,
                Need::Lookup,
            ),
            (
                req(Method::GET, &[("if-range", "\"a\"")]),
                &plain,
                Need::Nothing,
            ),
            (
                req(
                    Method::HEAD,
                    &[("range", "bytes=0-1"), ("if-range", "\"a\"")],
                ),
                &plain,
                Need::Nothing,
            ),
            (req(Method::OPTIONS, &tag), &required, Need::Nothing),
            (req(Method::TRACE, &tag), &plain, Need::Nothing),
            (req(Method::CONNECT, &tag), &plain, Need::Nothing),
            (req(Method::POST, &[]), &plain, Need::Nothing),
            (req(Method::PUT, &[]), &plain, Need::Nothing),
            (req(Method::PUT, &[]), &required, Need::Lookup),
            (req(Method::POST, &[]), &required, Need::Nothing),
            (req(Method::PUT, &tag), &plain, Need::Lookup),
            (
                req(Method::DELETE, &[("if-unmodified-since", "x")]),
                &plain,
                Need::Lookup,
            ),
            (
                req(Method::POST, &[("if-none-match", "*")]),
                &plain,
                Need::Lookup,
            ),
            (
                req(Method::PUT, &[("if-modified-since", "x")]),
                &plain,
                Need::Nothing,
            ),
        ];
        for (request, config, expected) in cases {
            let described = format!("{} {:?}", request.method(), request.headers());
            assert_eq!(need_of(request, config), expected, "{described}");
        }
    }

    #[test]
    fn a_required_precondition_is_enforced_before_the_coding_decides() {
        // A GET listed in `require_preconditions`, with encoding-aware tags, whose request
        // refuses identity: the response's coding would decide a 304, but a request that
        // proceeds without If-Match never reaches the handler (RFC 6585 §3), whatever its
        // Accept-Encoding says.
        let plan = Plan {
            precondition_required: true,
            settings: Settings {
                encoding_aware_etags: true,
                ..Settings::default()
            },
        };
        let current = Validators::new().with_etag(ETag::from_static("\"a\""));
        for accept in ["identity;q=0", "gzip"] {
            let (mut parts, ()) = Request::get("/")
                .header("if-none-match", "\"a-gzip\"")
                .header("accept-encoding", accept)
                .body(())
                .unwrap()
                .into_parts();
            let answer = Ok::<_, std::convert::Infallible>(Lookup::Present(current.clone()));
            let status = match decide(answer, &mut parts, &plan) {
                Verdict::Answer(response) => Some(response.status()),
                Verdict::Call(_) => None,
            };
            let want = (accept == "gzip").then_some(StatusCode::NOT_MODIFIED);
            let want = want.or(Some(StatusCode::PRECONDITION_REQUIRED));
            assert_eq!(status, want, "Accept-Encoding: {accept}");
        }
    }

    #[test]
    fn a_response_side_source_is_never_asked_about_reads() {
        let headers = HeaderMap::new();
        let conditions = Conditions::from_headers(&headers);
        let config = Config {
            responses_only: true,
            ..Config::default()
        };
        assert_eq!(need(&Method::GET, &conditions, &config), Need::Response);
        assert_eq!(need(&Method::PUT, &conditions, &config), Need::Nothing);
    }
}
