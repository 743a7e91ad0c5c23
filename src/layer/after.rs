//! The response side, after the inner service ran: keeping a 206 of another version than
//! `If-Range` named from the client (see `ranges`), filling validators, tagging per encoding,
//! and evaluating GET and HEAD against the validators the response itself carries (for sources
//! that answered [`Lookup::Unknown`](crate::source::Lookup::Unknown)).

use http::header::{
    CACHE_CONTROL, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_LOCATION, CONTENT_TYPE, ETAG, EXPIRES,
    LAST_MODIFIED,
};
use http::{HeaderMap, Method, Response, StatusCode, response};
use http_body::Body;

use super::answers::{finish_412, finish_answer, not_modified_from, range_of_another_version};
use super::plan::{Post, RangeCheck, ResponseCheck};
use super::ranges::{self, RangeOf};
use super::settings::Settings;
use super::trace;
use crate::body::{ConditionalBody, Framing};
use crate::checked::LostRaceHead;
use crate::conditions::Conditions;
use crate::date::LastModified;
use crate::decision::Condition;
use crate::encoding::{issued_for, merge_vary, tag_for_encoding, vary_on_accept_encoding};
use crate::etag::ETag;
use crate::representation::fill;
use crate::response::AnswerBody;
use crate::source::{BoxError, Lookup};
use crate::state::{ResourceState, Validators};

/// Decides a GET or HEAD on a response now carrying its final `ETag` / `Last-Modified` (either
/// may be missing: the resource exists all the same, as the source path would have it): the
/// layer's own answer (304, 412, 400), or `None` to send the response as it is.
fn answer(check: &ResponseCheck, head: &response::Parts) -> Option<Response<AnswerBody>> {
    let source = check.source.as_ref();
    // The source's tag, where the response has none of its own, in the form issued for the
    // response's coding: the form its 200 would carry.
    let etag = head
        .headers
        .get(ETAG)
        .and_then(|v| ETag::try_from(v).ok())
        .or_else(|| Some(issued_for(source?.etag()?, &head.headers)));
    let last_modified = head
        .headers
        .get(LAST_MODIFIED)
        .and_then(|v| LastModified::parse_http_date(v.as_bytes()))
        .or_else(|| source?.last_modified());
    let mut validators = Validators::new();
    if let Some(etag) = etag {
        validators = validators.with_etag(etag);
    }
    if let Some(date) = last_modified {
        validators = validators.with_last_modified(date);
    }
    let state = ResourceState::Present(validators);
    let conditions = Conditions::from_headers(&check.conditions);
    // The response's tag is already the one issued for its coding: members are compared
    // with it as they are, and a 304 or 412 repeats it as it is.
    let decision = conditions.evaluate(&check.method, &state);
    if check.required && decision.status().is_none() {
        // The request-side decision was a 304 that the response's coding undid: without the
        // required precondition, the answer is the 428 the request side gives (RFC 6585 §3).
        return Some(crate::response::precondition_required());
    }
    let mut response = match decision.status()? {
        // The 304 repeats the response's own metadata (RFC 9110 §15.4.5), and what the source
        // gave that the response lacks, as an early 304 would.
        StatusCode::NOT_MODIFIED => {
            let mut response = not_modified_from(&head.headers);
            if let Some(source) = source {
                complete_304(response.headers_mut(), source, state.etag());
            }
            response
        }
        _ => decision.response(&state)?,
    };
    let settings = Settings {
        encoding_aware_etags: false,
        ..check.plan.settings
    };
    finish_answer(&mut response, &state, &settings);
    Some(response)
}

/// Adds to a 304 decided on the response what an early 304 would have carried from the
/// source's validators and the response lacks: the tag (`etag`, already in its issued form),
/// `Cache-Control`, `Expires`, `Content-Location`, `Vary` (with `Accept-Encoding`: the tag
/// depends on the coding).
fn complete_304(headers: &mut HeaderMap, source: &Validators, etag: Option<&ETag>) {
    if let Some(etag) = etag
        && !headers.contains_key(ETAG)
    {
        headers.insert(ETAG, etag.into());
        headers.remove(LAST_MODIFIED); // Last-Modified only without an ETag
    }
    for (name, value) in [
        (CACHE_CONTROL, source.cache_control()),
        (EXPIRES, source.expires()),
        (CONTENT_LOCATION, source.content_location()),
    ] {
        if let Some(value) = value {
            headers.entry(name).or_insert_with(|| value.clone());
        }
    }
    if let Some(vary) = source.vary() {
        merge_vary(headers, vary);
    }
    vary_on_accept_encoding(headers);
}

/// The next step for a response.
pub(super) enum After<B: Body> {
    /// Send this.
    Done(Response<ConditionalBody<B>>),
    /// Ask the source again, with `post.head`, then [`after_again`] (with `post`, whose range
    /// check and head have been taken).
    Again(Response<B>, Again, Post),
    /// Read the whole body (its size hint is within the limit), tag it with its hash, then
    /// decide. The limit is enforced on the bytes actually read.
    Hash(response::Parts, B, Box<ResponseCheck>, u64),
}

/// Why the source is asked again about a response.
pub(super) enum Again {
    /// A 206 whose request named a version, that does not say which version it is.
    Range(Box<RangeCheck>),
    /// A handler's 412 (a race lost after the layer's check) that does not name the current
    /// version.
    Refill,
    /// A success of an inner service whose validators the layer took over: the source's
    /// validators were looked up before it read, so they name its body only if a second
    /// look-up after it finds the same ones.
    Confirm,
}

/// Applies `post` to the inner service's response. Only a 2xx other than 206 is evaluated:
/// preconditions are ignored when the unconditional answer would not be a 2xx (RFC 9110
/// §13.2.1).
pub(super) fn after<B: Body>(response: Response<B>, mut post: Post) -> After<B> {
    // First, on the handler's own headers: a 206 of another version than the request named
    // never leaves (see `ranges`).
    if let Some(range) = post.range.take()
        && response.status() == StatusCode::PARTIAL_CONTENT
    {
        match ranges::judge(&range, response.headers(), post.encoding_tags) {
            RangeOf::Named => {}
            RangeOf::Unknown if post.head.is_some() => {
                return After::Again(response, Again::Range(range), post);
            }
            // Nothing to ask (the response is the only source): not shown to be the one.
            RangeOf::Unknown => return After::Done(refused(RangeOf::Other, &range, &post)),
            verdict => return After::Done(refused(verdict, &range, &post)),
        }
    }
    finish(response, post)
}

/// A response that [`after`] sent back to the source (`again`), with the source's second
/// `answer`.
pub(super) fn after_again<B: Body, E: Into<BoxError>>(
    response: Response<B>,
    again: Again,
    answer: Result<Lookup, E>,
    mut post: Post,
) -> After<B> {
    let head = post.head.take();
    match again {
        Again::Refill => {
            let mut response = response;
            refill_412(response.headers_mut(), answer, head.as_deref());
            finish(response, post)
        }
        Again::Confirm => {
            let answer = answer.map_err(Into::into);
            if let (Err(error), Some(head)) = (&answer, &head) {
                trace::source_error(head, &**error, None);
            }
            if let Some(required) = confirm(&mut post, &answer) {
                return After::Done(required);
            }
            finish(response, post)
        }
        Again::Range(range) => {
            let answer = answer.map_err(Into::into);
            if post.take_over {
                // The second look-up also confirms the taken-over validators: a field that
                // holds for two versions (a date) does not tell which one the bytes are.
                if let Some(required) = confirm(&mut post, &answer) {
                    return After::Done(required);
                }
            }
            again_in_range(response, range, answer, post, head.as_deref())
        }
    }
}

/// Keeps the first look-up's validators (`post.fill`) for a taken-over success only where
/// the second `answer` finds the same ones: the body may be of either version, so no
/// validators rather than wrong ones, and no answer decided by the first look-up's. A request
/// that lacks a required precondition could only have become a 304 by them: its 428 is
/// returned (RFC 6585 §3; it never depended on the validators).
fn confirm<B: Body>(
    post: &mut Post,
    answer: &Result<Lookup, BoxError>,
) -> Option<Response<ConditionalBody<B>>> {
    let unchanged = match answer {
        Ok(Lookup::Present(now)) => post.fill.as_deref().is_some_and(|then| {
            then.etag() == now.etag() && then.last_modified() == now.last_modified()
        }),
        _ => false,
    };
    if unchanged {
        return None;
    }
    post.fill = None;
    let check = post.check.take().filter(|check| check.required)?;
    let framing = Framing::of(&check.method, check.version);
    let required = crate::response::precondition_required();
    Some(ConditionalBody::answer(required, framing))
}

/// [`after_again`] for a 206 that did not say which version it is.
fn again_in_range<B: Body>(
    response: Response<B>,
    range: Box<RangeCheck>,
    answer: Result<Lookup, BoxError>,
    post: Post,
    head: Option<&http::request::Parts>,
) -> After<B> {
    match ranges::judge_again(&range, answer, post.encoding_tags) {
        Ok(RangeOf::Named) => finish(response, post),
        Ok(verdict) => After::Done(refused(verdict, &range, &post)),
        Err(error) => {
            if let Some(head) = head {
                trace::source_error(head, &*error, Some(SERVICE_UNAVAILABLE));
            }
            After::Done(another_version(true, &range))
        }
    }
}

const SERVICE_UNAVAILABLE: StatusCode = StatusCode::SERVICE_UNAVAILABLE;

/// The answer in place of a 206 that is not (or cannot be shown to be) of the named version:
/// 412 when an `If-Match` or `If-Unmodified-Since` is false for the version read, with its
/// validators (what the layer answers the same request now), else a 503.
fn refused<B: Body>(
    verdict: RangeOf,
    range: &RangeCheck,
    post: &Post,
) -> Response<ConditionalBody<B>> {
    let (condition, response) = match verdict {
        RangeOf::Changed(condition, state) => {
            let mut response = crate::response::precondition_failed(condition, &state);
            finish_412(
                response.headers_mut(),
                state.etag(),
                post.validators_in_412,
                post.encoding_tags,
            );
            (condition, response)
        }
        _ => (
            Condition::IfRange,
            range_of_another_version(false, range.retry_after),
        ),
    };
    if let Some(head) = &post.head {
        trace::decided(head, Some(condition), Some(response.status()));
    }
    ConditionalBody::answer(response, Framing::of(&Method::GET, range.version))
}

/// The 503 in place of a 206 that cannot be shown to be of the named version. `failed`: the
/// source failed when asked again, and the configured `Retry-After` applies.
fn another_version<B: Body>(failed: bool, range: &RangeCheck) -> Response<ConditionalBody<B>> {
    let framing = Framing::of(&Method::GET, range.version);
    ConditionalBody::answer(range_of_another_version(failed, range.retry_after), framing)
}

/// A handler's 412 that does not name the current version (`Checked::lost_race`, a
/// `refusal` without a tag): the validators of the source's second look-up, both from it so
/// they name one version. Where it fails or finds nothing, the 412 stays as it is.
fn refill_412<E: Into<BoxError>>(
    headers: &mut HeaderMap,
    answer: Result<Lookup, E>,
    head: Option<&http::request::Parts>,
) {
    let validators = match answer.map_err(Into::into) {
        Ok(Lookup::Present(validators)) => validators,
        Ok(_) => return,
        Err(error) => {
            if let Some(head) = head {
                trace::source_error(head, &*error, None);
            }
            return;
        }
    };
    if validators.etag().is_none() && validators.last_modified().is_none() {
        return;
    }
    headers.remove(ETAG);
    headers.remove(LAST_MODIFIED);
    if let Some(etag) = validators.etag() {
        headers.insert(ETAG, etag.into());
    }
    if let Some(date) = validators.last_modified() {
        headers.insert(LAST_MODIFIED, date.to_header_value());
    }
}

/// The rest of [`after`]: fill, tag per coding, finish a 412, evaluate against the response.
fn finish<B: Body>(mut response: Response<B>, mut post: Post) -> After<B> {
    let success = response.status().is_success();
    // Confirmed only where there is a validator to confirm: without one, none goes out.
    let names_a_version = post
        .fill
        .as_deref()
        .is_some_and(|fill| fill.etag().is_some() || fill.last_modified().is_some());
    if post.take_over && success && names_a_version && post.head.is_some() {
        return After::Again(response, Again::Confirm, post);
    }
    if post.take_over && success {
        // The source's validators replace the inner service's own (`take_over_validators`).
        let headers = response.headers_mut();
        headers.remove(ETAG);
        headers.remove(LAST_MODIFIED);
    }
    if let Some(validators) = &post.fill {
        fill_validators(&mut response, validators);
    }
    if response.status() == StatusCode::PRECONDITION_FAILED {
        // A handler's 412 that does not name the current version gets it from the source,
        // asked again (a lost race, see `Checked::lost_race`).
        let lost_race = response.extensions_mut().remove::<LostRaceHead>();
        if post.validators_in_412 && !response.headers().contains_key(ETAG) {
            if let Some(LostRaceHead(ticket, head)) = lost_race
                && post.refill == Some(ticket)
            {
                post.head = Some(head);
            }
            if post.head.is_some() {
                return After::Again(response, Again::Refill, post);
            }
        }
    }
    finish_passing(&mut response, post.encoding_tags, post.validators_in_412);
    let Some(check) = post.check else {
        return After::Done(response.map(ConditionalBody::inner));
    };
    let status = response.status();
    if !status.is_success() || status == StatusCode::PARTIAL_CONTENT {
        return After::Done(response.map(ConditionalBody::inner));
    }
    let (head, body) = response.into_parts();
    // A body about to be tagged is decided once, with its tag: a 304 must carry the ETag the
    // 200 would have carried, and If-Match may name it.
    if let Some(limit) = hash_limit(&check, &head, &body) {
        return After::Hash(head, body, check, limit);
    }
    if let Some(answer) = answer(&check, &head) {
        return After::Done(ConditionalBody::answer(
            answer,
            Framing::of(&check.method, check.version),
        ));
    }
    After::Done(Response::from_parts(head, ConditionalBody::inner(body)))
}

/// What every response gets, whatever the layer evaluated: a success's strong tag in the
/// form issued for its coding (`encoding_tags`); a handler's own 412 (a lost compare-and-set,
/// `Checked::refusal`) follows the layer's rules: validators only where allowed, tags in their
/// issued form.
pub(super) fn finish_passing<B>(
    response: &mut Response<B>,
    encoding_tags: bool,
    validators_in_412: bool,
) {
    let status = response.status();
    if encoding_tags && status.is_success() {
        let headers = response.headers_mut();
        tag_for_encoding(headers);
        if headers.contains_key(ETAG) {
            // The tag depends on the coding, and so on Accept-Encoding.
            vary_on_accept_encoding(headers);
        }
    } else if status == StatusCode::PRECONDITION_FAILED {
        // A kept head that no look-up of this layer takes (another request's `Checked`, a
        // request the layer let pass) leaves nothing of that request on the response.
        response.extensions_mut().remove::<LostRaceHead>();
        let headers = response.headers_mut();
        let current = headers.get(ETAG).and_then(|v| ETag::try_from(v).ok());
        finish_412(headers, current.as_ref(), validators_in_412, encoding_tags);
    }
}

/// Tags a body read whole with its hash (`None`: it was too large to hash), then decides.
pub(super) fn after_hashing<B: Body>(
    mut head: response::Parts,
    etag: Option<ETag>,
    body: ConditionalBody<B>,
    check: &ResponseCheck,
) -> Response<ConditionalBody<B>> {
    if let Some(etag) = etag {
        head.headers.insert(ETAG, etag.into());
        if check.plan.settings.encoding_aware_etags {
            tag_for_encoding(&mut head.headers);
            vary_on_accept_encoding(&mut head.headers);
        }
    }
    match answer(check, &head) {
        Some(answer) => ConditionalBody::answer(answer, Framing::of(&check.method, check.version)),
        None => Response::from_parts(head, body),
    }
}

/// Only a GET's 2xx body without an `ETag` (where the source knew none either), that is not an
/// event stream and not `no-store`, whose size hint is exact and within the limit, or that is
/// compressed (a compressor does not know its output's size) and may be within it, is read and
/// hashed: the limit to hold it to. Everything else passes untouched and unbuffered. (HEAD has
/// no body to hash: servers and frameworks send HEAD handlers' responses without one.)
fn hash_limit<B: Body>(check: &ResponseCheck, head: &response::Parts, body: &B) -> Option<u64> {
    let limit = check.plan.settings.body_hash?.limit;
    // With the takeover, the hash replaces the inner service's own tag.
    let own_tag = head.headers.contains_key(ETAG) && !check.plan.settings.take_over;
    if check.method != Method::GET || own_tag || check.source.is_some() {
        return None;
    }
    let hint = body.size_hint();
    // A body whose size hint is inexact (a file streamed in chunks) may still declare its
    // size in `Content-Length`; the limit is enforced on the bytes read all the same.
    let size = hint.exact().or_else(|| content_length(&head.headers));
    let within = match size {
        Some(size) => size <= limit,
        None => head.headers.contains_key(CONTENT_ENCODING) && hint.lower() <= limit,
    };
    if !within {
        return None;
    }
    let event_stream = head.headers.get(CONTENT_TYPE).is_some_and(|v| {
        v.as_bytes()
            .get(..17)
            .is_some_and(|t| t.eq_ignore_ascii_case(b"text/event-stream"))
    });
    let no_store = head.headers.get_all(CACHE_CONTROL).iter().any(|v| {
        v.as_bytes()
            .split(|&b| b == b',')
            .any(|directive| directive.trim_ascii().eq_ignore_ascii_case(b"no-store"))
    });
    (!event_stream && !no_store).then_some(limit)
}

/// The one `Content-Length` of a response, as a number.
fn content_length(headers: &HeaderMap) -> Option<u64> {
    let mut lines = headers.get_all(CONTENT_LENGTH).iter();
    match (lines.next(), lines.next()) {
        (Some(line), None) => line.to_str().ok()?.parse().ok(),
        _ => None,
    }
}

/// Gives a successful response the metadata a 304 would carry (RFC 9110 §15.4.5), from the
/// source's validators: the handler's own values win, and `Vary` is merged.
pub(super) fn fill_validators<B>(response: &mut Response<B>, validators: &Validators) {
    if response.status().is_success() {
        fill(response.headers_mut(), validators);
    }
}
