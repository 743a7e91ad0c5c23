//! Responses for the decisions that end a request: 304, 412, 400 and 428 (and 503 when the
//! validators could not be read).
//!
//! Error responses carry an RFC 9457 `application/problem+json` body whose text is the
//! library's own: request bytes are never echoed. A 412 also carries the current `ETag` and
//! `Last-Modified`, so the client can refetch and retry.
//!
//! ```
//! use http::{header, StatusCode};
//! use tower_conditional::{response, Condition, ETag, ResourceState, Validators};
//!
//! let state = ResourceState::Present(Validators::new().with_etag(ETag::from_static("\"v3\"")));
//! let res = response::precondition_failed(Condition::IfMatch, &state);
//! assert_eq!(res.status(), StatusCode::PRECONDITION_FAILED);
//! assert_eq!(res.headers()[header::ETAG], "\"v3\"");
//! assert_eq!(res.headers()[header::CONTENT_TYPE], "application/problem+json");
//! ```

use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG, HeaderValue, LAST_MODIFIED};
use http::{HeaderMap, Response, StatusCode};

use crate::date::LastModified;
use crate::decision::{Condition, Decision};
use crate::representation::not_modified_fields;
use crate::state::{ResourceState, Validators};

const PROBLEM_JSON: HeaderValue = HeaderValue::from_static("application/problem+json");

/// The body of the layer's own answers and of the responses built here: a complete, short body
/// (empty for 304, a problem+json document otherwise). The layer's service wraps it, like the
/// inner service's body, in a [`ConditionalBody`](crate::ConditionalBody).
///
/// It is an [`http_body::Body`] with `Bytes` data, so the responses can be returned from axum
/// handlers as they are, and served by hyper; it dereferences to its bytes for tests and
/// frameworks that want them.
///
/// ```
/// use http::StatusCode;
/// use tower_conditional::response;
///
/// let refused = response::precondition_required();
/// assert_eq!(refused.status(), StatusCode::PRECONDITION_REQUIRED);
/// let problem: serde_json::Value = serde_json::from_slice(refused.body())?;
/// assert_eq!(problem["status"], 428);
///
/// // In an axum handler, return it as it is:
/// async fn handler() -> axum::response::Response {
///     use axum::response::IntoResponse;
///     response::precondition_required().into_response()
/// }
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AnswerBody {
    data: Bytes,
}

impl AnswerBody {
    /// The whole body.
    ///
    /// ```
    /// use tower_conditional::response;
    ///
    /// let body = response::bad_request(tower_conditional::Condition::IfMatch).into_body();
    /// assert!(body.into_bytes().starts_with(b"{"));
    /// ```
    pub fn into_bytes(self) -> Bytes {
        self.data
    }
}

impl std::ops::Deref for AnswerBody {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.data
    }
}

impl AsRef<[u8]> for AnswerBody {
    fn as_ref(&self) -> &[u8] {
        &self.data
    }
}

impl From<Bytes> for AnswerBody {
    fn from(data: Bytes) -> Self {
        AnswerBody { data }
    }
}

impl From<AnswerBody> for Bytes {
    fn from(body: AnswerBody) -> Self {
        body.data
    }
}

impl http_body::Body for AnswerBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        let data = std::mem::take(&mut self.data);
        std::task::Poll::Ready((!data.is_empty()).then(|| Ok(http_body::Frame::data(data))))
    }

    fn is_end_stream(&self) -> bool {
        self.data.is_empty()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        http_body::SizeHint::with_exact(self.data.len() as u64)
    }
}

/// A 304 Not Modified for a representation with these validators (RFC 9110 §15.4.5).
///
/// Empty body. Carries `ETag` and whichever of `Cache-Control`, `Vary`, `Expires` and
/// `Content-Location` the validators hold; `Last-Modified` only when there is no `ETag`. Never
/// `Content-Type`, `Content-Length` or `Content-Encoding`: those describe the body it replaces.
///
/// ```
/// use http::{header, StatusCode};
/// use tower_conditional::{response, ETag, Validators};
///
/// let res = response::not_modified(&Validators::new().with_etag(ETag::from_static("\"a\"")));
/// assert_eq!(res.status(), StatusCode::NOT_MODIFIED);
/// assert_eq!(res.headers()[header::ETAG], "\"a\"");
/// assert!(res.body().is_empty());
/// ```
pub fn not_modified(validators: &Validators) -> Response<AnswerBody> {
    let mut response = empty(StatusCode::NOT_MODIFIED);
    not_modified_fields(response.headers_mut(), validators);
    response
}

/// A 412 Precondition Failed naming the false `condition`, with the current `ETag` and
/// `Last-Modified` of `state` (RFC 9110 §15.5.13).
///
/// ```
/// use http::{header, StatusCode};
/// use tower_conditional::{response, Condition, LastModified, ResourceState, Validators};
///
/// let modified = LastModified::from_unix_seconds(1_000)?;
/// let state = ResourceState::Present(Validators::new().with_last_modified(modified));
/// let res = response::precondition_failed(Condition::IfUnmodifiedSince, &state);
/// assert_eq!(res.headers()[header::LAST_MODIFIED], "Thu, 01 Jan 1970 00:16:40 GMT");
/// let problem: serde_json::Value = serde_json::from_slice(res.body())?;
/// assert_eq!(problem["status"], 412);
/// assert_eq!(problem["condition"], "If-Unmodified-Since");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn precondition_failed(condition: Condition, state: &ResourceState) -> Response<AnswerBody> {
    let detail = match (condition, state) {
        (Condition::IfMatch, ResourceState::Missing) => {
            "If-Match requires a current representation, and the resource has none"
        }
        (Condition::IfMatch, _) => {
            "the entity tag in If-Match did not match the current entity tag of the resource; fetch it again and retry with the current ETag"
        }
        (Condition::IfUnmodifiedSince, _) => {
            "the resource was modified after the If-Unmodified-Since date; fetch it again and retry"
        }
        (Condition::IfNoneMatch, _) => {
            "If-None-Match matched the current representation of the resource (for If-None-Match: *, the resource already exists)"
        }
        (Condition::IfModifiedSince | Condition::IfRange, _) => "a precondition was false",
    };
    let mut response = problem(StatusCode::PRECONDITION_FAILED, detail, Some(condition));
    if let Some(validators) = state.validators() {
        let headers = response.headers_mut();
        if let Some(etag) = validators.etag() {
            headers.insert(ETAG, HeaderValue::from(etag));
        }
        insert_last_modified(headers, validators.last_modified());
    }
    response
}

/// A 400 Bad Request for a `field` that is not `*` or a valid entity-tag list.
///
/// ```
/// use http::StatusCode;
/// use tower_conditional::{response, Condition};
///
/// let res = response::bad_request(Condition::IfMatch);
/// assert_eq!(res.status(), StatusCode::BAD_REQUEST);
/// let body = std::str::from_utf8(res.body())?;
/// assert!(body.contains("If-Match"));
/// # Ok::<(), std::str::Utf8Error>(())
/// ```
pub fn bad_request(field: Condition) -> Response<AnswerBody> {
    let detail = match field {
        Condition::IfMatch => {
            "If-Match must be \\\"*\\\" or a comma-separated list of entity tags such as \\\"v1\\\" or W/\\\"v1\\\""
        }
        Condition::IfNoneMatch => {
            "If-None-Match must be \\\"*\\\" or a comma-separated list of entity tags such as \\\"v1\\\" or W/\\\"v1\\\""
        }
        _ => "a conditional header field is malformed",
    };
    problem(StatusCode::BAD_REQUEST, detail, Some(field))
}

/// A 428 Precondition Required (RFC 6585 §3): the server requires this request to be
/// conditional. Says which headers to send; `Cache-Control: no-store`, as a 428 must not be
/// cached.
///
/// ```
/// use http::{header, StatusCode};
/// use tower_conditional::response;
///
/// let res = response::precondition_required();
/// assert_eq!(res.status(), StatusCode::PRECONDITION_REQUIRED);
/// assert_eq!(res.headers()[header::CACHE_CONTROL], "no-store");
/// ```
pub fn precondition_required() -> Response<AnswerBody> {
    let mut response = problem(
        StatusCode::PRECONDITION_REQUIRED,
        "this request must be conditional: fetch the resource, then resend the request with If-Match set to its current ETag (or If-Unmodified-Since set to its Last-Modified date)",
        None,
    );
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// A 503 Service Unavailable for a request whose preconditions could not be checked because the
/// validator source failed: the method was not performed. `Cache-Control: no-store`.
///
/// ```
/// use http::StatusCode;
/// use tower_conditional::response;
///
/// assert_eq!(response::service_unavailable().status(), StatusCode::SERVICE_UNAVAILABLE);
/// ```
pub fn service_unavailable() -> Response<AnswerBody> {
    let mut response = problem(
        StatusCode::SERVICE_UNAVAILABLE,
        "the current validators of the resource could not be determined, so the request's preconditions could not be checked; the request was not performed, retry later",
        None,
    );
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// A 412 for a write that passed `condition` and then lost the compare-and-set: another
/// request wrote between the check and this write. Carries no validators (the handler did not
/// read the new ones); the client refetches, as after any 412.
pub(crate) fn lost_race(condition: Condition) -> Response<AnswerBody> {
    problem(
        StatusCode::PRECONDITION_FAILED,
        "another request changed the resource after this request's precondition was checked, so it no longer holds and the request was not performed; fetch the resource again and retry with its current ETag",
        Some(condition),
    )
}

/// A 503 in place of a 206 that is not of the version `If-Range` named (a write committed
/// between the layer's check and the handler's read): retrying at once gets the whole current
/// representation. The caller adds `Retry-After`.
pub(crate) fn range_of_another_version() -> Response<AnswerBody> {
    let mut response = problem(
        StatusCode::SERVICE_UNAVAILABLE,
        "the resource changed while the requested range was being read, so the range could not be sent as the version If-Range names; retry the request now",
        Some(Condition::IfRange),
    );
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// A 412 for a write whose precondition cannot be verified because the resource's validators
/// are only known after the handler runs ([`Lookup::Unknown`](crate::Lookup::Unknown)).
pub(crate) fn unverifiable(condition: Condition) -> Response<AnswerBody> {
    problem(
        StatusCode::PRECONDITION_FAILED,
        "the validators of this resource are only known once a request has been performed, so this precondition cannot be verified; the request was not performed",
        Some(condition),
    )
}

/// A 500 for a method that must be conditional on a route whose validators are only known
/// after the handler runs: no precondition could ever be verified, so asking for one (428)
/// would send the client round in a loop.
pub(crate) fn unverifiable_required() -> Response<AnswerBody> {
    let mut response = problem(
        StatusCode::INTERNAL_SERVER_ERROR,
        "this method must be conditional, but the validators of this resource are only known once a request has been performed, so no precondition can be verified: a server configuration error",
        None,
    );
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The rejection of the `Checked` extractor (`axum` feature): a 500, since a handler that
/// needs what the layer checked was reached without the layer.
#[cfg(feature = "axum")]
pub(crate) fn missing_layer() -> Response<AnswerBody> {
    problem(
        StatusCode::INTERNAL_SERVER_ERROR,
        "the handler needs the preconditions checked by tower_conditional::ConditionalLayer, and the request did not pass through it: a server configuration error",
        None,
    )
}

impl Decision {
    /// The response that ends the request, or `None` for [`Decision::Proceed`].
    ///
    /// `state` is the one the decision was made against: it supplies the `ETag` and metadata of
    /// a 304 and the current validators of a 412.
    ///
    /// ```
    /// use http::{HeaderMap, Method, StatusCode};
    /// use tower_conditional::{evaluate, ETag, ResourceState, Validators};
    ///
    /// let state = ResourceState::Present(Validators::new().with_etag(ETag::from_static("\"1\"")));
    /// let mut headers = HeaderMap::new();
    /// headers.insert("if-none-match", "\"1\"".parse()?);
    ///
    /// let res = evaluate(&Method::GET, &headers, &state).response(&state).unwrap();
    /// assert_eq!(res.status(), StatusCode::NOT_MODIFIED);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn response(&self, state: &ResourceState) -> Option<Response<AnswerBody>> {
        match *self {
            Decision::Proceed(_) => None,
            Decision::NotModified(_) => Some(match state.validators() {
                Some(validators) => not_modified(validators),
                None => empty(StatusCode::NOT_MODIFIED),
            }),
            Decision::PreconditionFailed(condition) => Some(precondition_failed(condition, state)),
            Decision::BadRequest(field) => Some(bad_request(field)),
        }
    }
}

fn insert_last_modified(headers: &mut HeaderMap, last_modified: Option<LastModified>) {
    if let Some(date) = last_modified {
        headers.insert(LAST_MODIFIED, date.to_header_value());
    }
}

fn empty(status: StatusCode) -> Response<AnswerBody> {
    let mut response = Response::new(AnswerBody::default());
    *response.status_mut() = status;
    response
}

/// An RFC 9457 problem body. `detail` is a JSON string body already escaped (the library's own
/// constant text), never request data.
fn problem(status: StatusCode, detail: &str, condition: Option<Condition>) -> Response<AnswerBody> {
    let title = status.canonical_reason().unwrap_or("Error");
    let mut body = format!(
        "{{\"type\":\"about:blank\",\"title\":\"{title}\",\"status\":{},\"detail\":\"{detail}\"",
        status.as_u16()
    );
    if let Some(condition) = condition {
        body.push_str(",\"condition\":\"");
        body.push_str(condition.as_str());
        body.push('"');
    }
    body.push('}');
    let mut response = Response::new(AnswerBody::from(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(CONTENT_TYPE, PROBLEM_JSON);
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::etag::ETag;
    use http::header::{CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_LOCATION, EXPIRES, VARY};

    fn json(response: &Response<AnswerBody>) -> serde_json::Value {
        serde_json::from_slice(response.body()).expect("problem bodies are valid JSON")
    }

    fn dated(seconds: u64) -> LastModified {
        LastModified::from_unix_seconds(seconds).unwrap()
    }

    #[test]
    fn not_modified_carries_etag_and_cache_metadata_but_no_body_metadata() {
        let validators = Validators::new()
            .with_etag(ETag::from_static("\"a\""))
            .with_last_modified(dated(1_000))
            .with_cache_control(HeaderValue::from_static("max-age=60"))
            .with_vary(HeaderValue::from_static("Accept-Encoding"))
            .with_expires(HeaderValue::from_static("Thu, 01 Dec 2094 16:00:00 GMT"))
            .with_content_location(HeaderValue::from_static("/doc.en"));
        let response = not_modified(&validators);
        let headers = response.headers();
        assert_eq!(response.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(headers[ETAG], "\"a\"");
        assert_eq!(headers[CACHE_CONTROL], "max-age=60");
        assert_eq!(headers[VARY], "Accept-Encoding");
        assert_eq!(headers[EXPIRES], "Thu, 01 Dec 2094 16:00:00 GMT");
        assert_eq!(headers[CONTENT_LOCATION], "/doc.en");
        assert!(
            !headers.contains_key(LAST_MODIFIED),
            "Last-Modified only without ETag"
        );
        for name in [CONTENT_TYPE, CONTENT_LENGTH, CONTENT_ENCODING] {
            assert!(
                !headers.contains_key(&name),
                "{name} describes the replaced body"
            );
        }
        assert!(response.body().is_empty());
        assert_eq!(headers.len(), 5);
    }

    #[test]
    fn not_modified_without_etag_carries_last_modified() {
        let response = not_modified(&Validators::new().with_last_modified(dated(1_000)));
        assert_eq!(
            response.headers()[LAST_MODIFIED],
            "Thu, 01 Jan 1970 00:16:40 GMT"
        );
        assert!(!response.headers().contains_key(ETAG));
    }

    #[test]
    fn precondition_failed_carries_current_validators_and_a_problem_body() {
        let state = ResourceState::Present(
            Validators::new()
                .with_etag(ETag::from_static("\"v2\""))
                .with_last_modified(dated(1_000)),
        );
        let response = precondition_failed(Condition::IfMatch, &state);
        assert_eq!(response.status(), StatusCode::PRECONDITION_FAILED);
        assert_eq!(response.headers()[ETAG], "\"v2\"");
        assert_eq!(
            response.headers()[LAST_MODIFIED],
            "Thu, 01 Jan 1970 00:16:40 GMT"
        );
        assert_eq!(response.headers()[CONTENT_TYPE], "application/problem+json");
        let body = json(&response);
        assert_eq!(body["type"], "about:blank");
        assert_eq!(body["title"], "Precondition Failed");
        assert_eq!(body["status"], 412);
        assert_eq!(body["condition"], "If-Match");
        assert!(body["detail"].as_str().unwrap().contains("did not match"));
    }

    #[test]
    fn every_problem_body_is_valid_json_naming_its_field() {
        let state = ResourceState::Missing;
        for condition in [
            Condition::IfMatch,
            Condition::IfNoneMatch,
            Condition::IfUnmodifiedSince,
            Condition::IfModifiedSince,
            Condition::IfRange,
        ] {
            let failed = precondition_failed(condition, &state);
            assert_eq!(json(&failed)["condition"], condition.as_str());
            assert!(!failed.headers().contains_key(ETAG));
            let bad = bad_request(condition);
            assert_eq!(json(&bad)["status"], 400);
            assert_eq!(json(&bad)["condition"], condition.as_str());
        }
        let required = precondition_required();
        assert_eq!(json(&required)["status"], 428);
        assert!(
            json(&required)["detail"]
                .as_str()
                .unwrap()
                .contains("If-Match")
        );
    }

    #[test]
    fn decision_response_matches_the_decision() {
        let state = ResourceState::Present(Validators::new().with_etag(ETag::from_static("\"x\"")));
        let cases = [
            (
                Decision::NotModified(Condition::IfNoneMatch),
                StatusCode::NOT_MODIFIED,
            ),
            (
                Decision::PreconditionFailed(Condition::IfMatch),
                StatusCode::PRECONDITION_FAILED,
            ),
            (
                Decision::BadRequest(Condition::IfMatch),
                StatusCode::BAD_REQUEST,
            ),
        ];
        for (decision, status) in cases {
            let response = decision.response(&state).unwrap();
            assert_eq!(response.status(), status);
            assert_eq!(decision.status(), Some(status));
        }
    }
}
