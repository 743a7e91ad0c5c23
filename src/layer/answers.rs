//! The finishing of the layer's own answers (304, 412, 503, and the 503 in place of a 206 of
//! another version) and of a handler's 412: the parts that depend on the configuration,
//! applied the same way whichever side made the answer.
//! The answers themselves (bodies, statuses) are made by [`crate::response`] and
//! [`Decision::response`](crate::decision::Decision::response).

use std::time::Duration;

use http::header::{ETAG, LAST_MODIFIED, RETRY_AFTER};
use http::{HeaderMap, HeaderValue, Response, StatusCode};

use super::settings::Settings;
use crate::encoding::{identity_form, vary_on_accept_encoding};
use crate::etag::ETag;
use crate::representation::copy_not_modified_fields;
use crate::response::{self, AnswerBody};
use crate::state::ResourceState;

/// The finishing touches of an answer made from the current state: per-coding tags and `Vary`
/// with encoding-aware tags, and a 412's validators only where allowed.
pub(super) fn finish_answer(
    response: &mut Response<AnswerBody>,
    state: &ResourceState,
    settings: &Settings,
) {
    let status = response.status();
    let headers = response.headers_mut();
    match status {
        StatusCode::NOT_MODIFIED if settings.encoding_aware_etags => {
            // The representation depends on Accept-Encoding (RFC 9110 §15.4.5: the 304 carries
            // the Vary the 200 would have carried, whoever adds it to the 200).
            vary_on_accept_encoding(headers);
        }
        StatusCode::PRECONDITION_FAILED => finish_412(
            headers,
            state.etag(),
            settings.validators_in_412,
            settings.encoding_aware_etags,
        ),
        _ => {}
    }
}

/// A 412's validators, the layer's or a handler's: removed unless `validators` are allowed,
/// and the tag (the current one, `current`) in its issued identity form with `encoding_aware`
/// tags.
pub(super) fn finish_412(
    headers: &mut HeaderMap,
    current: Option<&ETag>,
    validators: bool,
    encoding_aware: bool,
) {
    if !validators {
        headers.remove(ETAG);
        headers.remove(LAST_MODIFIED);
    } else if let (true, Some(current)) = (encoding_aware, current) {
        headers.insert(ETAG, identity_form(current).into());
    }
}

/// The 503 for a source that failed, with the configured `Retry-After`.
pub(super) fn source_unavailable(settings: &Settings) -> Response<AnswerBody> {
    let mut response = response::service_unavailable();
    if let Some(delay) = settings.on_source_error.retry_after {
        response
            .headers_mut()
            .insert(RETRY_AFTER, retry_after_value(delay));
    }
    response
}

/// The 503 in place of a 206 of another version than `If-Range` named: `Retry-After: 0`, since
/// the retry gets the whole current representation at once. `failed`: the source failed when
/// asked again, and the configured `OnSourceError::retry_after` applies instead.
pub(super) fn range_of_another_version(
    failed: bool,
    retry_after: Option<Duration>,
) -> Response<AnswerBody> {
    let mut response = response::range_of_another_version();
    let delay = if failed {
        retry_after
    } else {
        Some(Duration::ZERO)
    };
    if let Some(delay) = delay {
        response
            .headers_mut()
            .insert(RETRY_AFTER, retry_after_value(delay));
    }
    response
}

/// `Retry-After` in whole seconds (RFC 9110 §10.2.3), rounded up so it is never early.
fn retry_after_value(delay: Duration) -> HeaderValue {
    let seconds = delay
        .as_secs()
        .saturating_add(u64::from(delay.subsec_nanos() > 0));
    HeaderValue::from(seconds)
}

/// A 304 made from the 200 it replaces: the fields RFC 9110 §15.4.5 lists, nothing else.
pub(super) fn not_modified_from(headers: &HeaderMap) -> Response<AnswerBody> {
    let mut response = Response::new(AnswerBody::default());
    *response.status_mut() = StatusCode::NOT_MODIFIED;
    copy_not_modified_fields(headers, response.headers_mut());
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(retry_after_value(Duration::from_secs(1)), "1");
        assert_eq!(retry_after_value(Duration::from_millis(1_001)), "2");
        assert_eq!(retry_after_value(Duration::ZERO), "0");
    }
}
