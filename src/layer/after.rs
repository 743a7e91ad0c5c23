//! The response side, after the inner service ran: filling validators, tagging per encoding,
//! and evaluating GET and HEAD against the validators the response itself carries (for sources
//! that answered [`Lookup::Unknown`](crate::source::Lookup::Unknown)).

use http::header::{CACHE_CONTROL, CONTENT_LOCATION, CONTENT_TYPE, ETAG, EXPIRES, LAST_MODIFIED};
use http::{Method, Response, StatusCode, response};
use http_body::Body;

use super::answers::{finish_412, finish_answer, not_modified_from};
use super::plan::{Post, ResponseCheck};
use super::settings::Settings;
use crate::body::{ResponseBody, sizeless_304};
use crate::conditions::Conditions;
use crate::date::LastModified;
use crate::encoding::{merge_vary, tag_for_encoding, vary_on_accept_encoding};
use crate::etag::ETag;
use crate::response::AnswerBody;
use crate::state::{ResourceState, Validators};

/// Decides a GET or HEAD on a response now carrying its final `ETag` / `Last-Modified` (either
/// may be missing: the resource exists all the same, as the source path would have it): the
/// layer's own answer (304, 412, 400), or `None` to send the response as it is.
fn answer(check: &ResponseCheck, head: &response::Parts) -> Option<Response<AnswerBody>> {
    let etag = head.headers.get(ETAG).and_then(|v| ETag::try_from(v).ok());
    let last_modified = head
        .headers
        .get(LAST_MODIFIED)
        .and_then(|v| LastModified::parse_http_date(v.as_bytes()));
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
    let mut response = match decision.status()? {
        // The 304 repeats the response's own metadata (RFC 9110 §15.4.5).
        StatusCode::NOT_MODIFIED => not_modified_from(&head.headers),
        _ => decision.response(&state)?,
    };
    let settings = Settings {
        encoding_aware_etags: false,
        ..check.plan.settings
    };
    finish_answer(&mut response, &state, &settings);
    Some(response)
}

/// The next step for a response.
pub(super) enum After<B: Body> {
    /// Send this.
    Done(Response<ResponseBody<B>>),
    /// Read the whole body (its size hint is within the limit), tag it with its hash, then
    /// decide. The limit is enforced on the bytes actually read.
    Hash(response::Parts, B, Box<ResponseCheck>, u64),
}

/// Applies `post` to the inner service's response. Only a 2xx other than 206 is evaluated:
/// preconditions are ignored when the unconditional answer would not be a 2xx (RFC 9110
/// §13.2.1).
pub(super) fn after<B: Body>(mut response: Response<B>, post: Post) -> After<B> {
    if let Some(validators) = &post.fill {
        fill_validators(&mut response, validators);
    }
    if post.encoding_tags && response.status().is_success() {
        let headers = response.headers_mut();
        tag_for_encoding(headers);
        if headers.contains_key(ETAG) {
            // The tag depends on the coding, and so on Accept-Encoding.
            vary_on_accept_encoding(headers);
        }
    }
    if response.status() == StatusCode::PRECONDITION_FAILED {
        // A handler's own 412 (a lost compare-and-set, `Checked::refusal`) follows the same
        // rules as the layer's: validators only where allowed, tags in their issued form.
        let headers = response.headers_mut();
        let current = headers.get(ETAG).and_then(|v| ETag::try_from(v).ok());
        finish_412(
            headers,
            current.as_ref(),
            post.validators_in_412,
            post.encoding_tags,
        );
    }
    let Some(check) = post.check else {
        return After::Done(response.map(ResponseBody::inner));
    };
    let status = response.status();
    if !status.is_success() || status == StatusCode::PARTIAL_CONTENT {
        return After::Done(response.map(ResponseBody::inner));
    }
    let (head, body) = response.into_parts();
    // A body about to be tagged is decided once, with its tag: a 304 must carry the ETag the
    // 200 would have carried, and If-Match may name it.
    if let Some(limit) = hash_limit(&check, &head, &body) {
        return After::Hash(head, body, check, limit);
    }
    if let Some(answer) = answer(&check, &head) {
        return After::Done(ResponseBody::answer(
            answer,
            sizeless_304(&check.method, check.version),
        ));
    }
    After::Done(Response::from_parts(head, ResponseBody::inner(body)))
}

/// Tags a body read whole with its hash (`None`: it was too large to hash), then decides.
pub(super) fn after_hashing<B: Body>(
    mut head: response::Parts,
    etag: Option<ETag>,
    body: ResponseBody<B>,
    check: &ResponseCheck,
) -> Response<ResponseBody<B>> {
    if let Some(etag) = etag {
        head.headers.insert(ETAG, etag.into());
        if check.plan.settings.encoding_aware_etags {
            tag_for_encoding(&mut head.headers);
            vary_on_accept_encoding(&mut head.headers);
        }
    }
    match answer(check, &head) {
        Some(answer) => ResponseBody::answer(answer, sizeless_304(&check.method, check.version)),
        None => Response::from_parts(head, body),
    }
}

/// Only a GET's 2xx body without an `ETag`, whose size hint is exact and within the limit, that
/// is not an event stream and not `no-store`, is read and hashed: the limit to hold it to.
/// Everything else passes untouched and unbuffered. (HEAD has no body to hash.)
fn hash_limit<B: Body>(check: &ResponseCheck, head: &response::Parts, body: &B) -> Option<u64> {
    let limit = check.plan.settings.body_hash_limit?;
    if check.method != Method::GET || head.headers.contains_key(ETAG) {
        return None;
    }
    if body.size_hint().exact().is_none_or(|size| size > limit) {
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

/// Gives a successful response the metadata a 304 would carry (RFC 9110 §15.4.5), from the
/// source's validators: the handler's own values win, and `Vary` is merged.
pub(super) fn fill_validators<B>(response: &mut Response<B>, validators: &Validators) {
    if !response.status().is_success() {
        return;
    }
    let headers = response.headers_mut();
    if let Some(etag) = validators.etag() {
        headers
            .entry(ETAG)
            .or_insert_with(|| etag.to_header_value());
    }
    if let Some(date) = validators.last_modified() {
        headers
            .entry(LAST_MODIFIED)
            .or_insert_with(|| date.to_header_value());
    }
    for (name, value) in [
        (CACHE_CONTROL, validators.cache_control()),
        (EXPIRES, validators.expires()),
        (CONTENT_LOCATION, validators.content_location()),
    ] {
        if let Some(value) = value {
            headers.entry(name).or_insert_with(|| value.clone());
        }
    }
    if let Some(vary) = validators.vary() {
        merge_vary(headers, vary);
    }
}
