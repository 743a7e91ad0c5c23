//! Arbitrary header maps, methods and resource states through `evaluate`, `Decision::response`
//! and the whole `ConditionalLayer`.
//!
//! Header lines are arbitrary bytes, several per field; lines `HeaderValue::from_bytes` rejects
//! are skipped (they cannot reach the library: a `HeaderMap` cannot hold them). The resource's
//! validators and the inner service's response headers are arbitrary bytes too.
//!
//! Must hold for every input:
//!
//! - nothing panics;
//! - the decision is one the rule book allows for the method and fields (no 304 but for GET and
//!   HEAD of a present resource; 400 only for a list field that is really malformed; a request
//!   that proceeds with an `If-Match` present had a well-formed one);
//! - every header value of every response (from `Decision::response` and from the layer) is
//!   clean: no CR, LF, NUL, DEL or other control byte but HTAB;
//! - problem bodies are valid JSON, ASCII, and echo no request line;
//! - the layer calls the inner service exactly when it does not answer itself, and with
//!   encoding-aware tags off and no required preconditions answers what `evaluate` decided.
#![no_main]

use std::cell::Cell;
use std::convert::Infallible;
use std::future::ready;
use std::rc::Rc;

use arbitrary::Arbitrary;
use bytes::Bytes;
use http::header::{
    CACHE_CONTROL, CONTENT_ENCODING, CONTENT_TYPE, ETAG, HeaderName, IF_MATCH, IF_MODIFIED_SINCE,
    IF_NONE_MATCH, IF_RANGE, IF_UNMODIFIED_SINCE, LAST_MODIFIED, RANGE,
};
use http::request::Parts;
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use libfuzzer_sys::fuzz_target;
use tower::{Layer, ServiceExt, service_fn};
use tower_conditional::{Condition, ConditionalLayer, Conditions, Decision, ETag, Ignored, LastModified, Lookup, OnSourceError, ResourceState, Validators, evaluate, BodyHashConfig};

use fuzz_support::model::{ListField, list_field};
use fuzz_support::{assert_clean_headers, block_on};

#[derive(Arbitrary, Debug)]
enum MethodIn {
    Get,
    Head,
    Put,
    Post,
    Patch,
    Delete,
    Options,
    Connect,
    Trace,
    Raw(Vec<u8>),
}

#[derive(Arbitrary, Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    IfMatch,
    IfNoneMatch,
    IfModifiedSince,
    IfUnmodifiedSince,
    IfRange,
    Range,
    Other,
}

impl Field {
    fn name(self) -> HeaderName {
        match self {
            Field::IfMatch => IF_MATCH,
            Field::IfNoneMatch => IF_NONE_MATCH,
            Field::IfModifiedSince => IF_MODIFIED_SINCE,
            Field::IfUnmodifiedSince => IF_UNMODIFIED_SINCE,
            Field::IfRange => IF_RANGE,
            Field::Range => RANGE,
            Field::Other => HeaderName::from_static("x-other"),
        }
    }
}

/// What the validator source answers.
#[derive(Arbitrary, Debug)]
enum SourceIn {
    Missing,
    Present(ValidatorsIn),
    Unknown,
    Fails,
}

#[derive(Arbitrary, Debug)]
struct ValidatorsIn {
    etag: Option<Vec<u8>>,
    last_modified: Option<u64>,
    strong_last_modified: bool,
    cache_control: Option<Vec<u8>>,
    vary: Option<Vec<u8>>,
    expires: Option<Vec<u8>>,
    content_location: Option<Vec<u8>>,
}

impl ValidatorsIn {
    fn build(&self) -> Validators {
        let mut validators = Validators::new();
        if let Some(tag) = self.etag.as_deref().and_then(|b| ETag::parse(b).ok()) {
            validators = validators.with_etag(tag);
        }
        if let Some(date) = self
            .last_modified
            .and_then(|s| LastModified::from_unix_seconds(s).ok())
        {
            validators = validators.with_last_modified(date);
        }
        validators = validators.with_strong_last_modified(self.strong_last_modified);
        let value = |bytes: &Option<Vec<u8>>| {
            bytes
                .as_deref()
                .and_then(|b| HeaderValue::from_bytes(b).ok())
        };
        if let Some(v) = value(&self.cache_control) {
            validators = validators.with_cache_control(v);
        }
        if let Some(v) = value(&self.vary) {
            validators = validators.with_vary(v);
        }
        if let Some(v) = value(&self.expires) {
            validators = validators.with_expires(v);
        }
        if let Some(v) = value(&self.content_location) {
            validators = validators.with_content_location(v);
        }
        validators
    }
}

/// The inner service's response.
#[derive(Arbitrary, Debug)]
struct InnerIn {
    status: u16,
    headers: Vec<(InnerField, Vec<u8>)>,
    body: Vec<u8>,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum InnerField {
    ETag,
    LastModified,
    ContentEncoding,
    CacheControl,
    ContentType,
}

impl InnerField {
    fn name(self) -> HeaderName {
        match self {
            InnerField::ETag => ETAG,
            InnerField::LastModified => LAST_MODIFIED,
            InnerField::ContentEncoding => CONTENT_ENCODING,
            InnerField::CacheControl => CACHE_CONTROL,
            InnerField::ContentType => CONTENT_TYPE,
        }
    }
}

#[derive(Arbitrary, Debug)]
struct Input {
    method: MethodIn,
    lines: Vec<(Field, Vec<u8>)>,
    source: SourceIn,
    inner: InnerIn,
    require_preconditions: bool,
    encoding_aware_etags: bool,
    fill_response_validators: bool,
    reject_all_on_source_error: bool,
    body_hash_limit: Option<u16>,
}

fn method(input: &MethodIn) -> Option<Method> {
    Some(match input {
        MethodIn::Get => Method::GET,
        MethodIn::Head => Method::HEAD,
        MethodIn::Put => Method::PUT,
        MethodIn::Post => Method::POST,
        MethodIn::Patch => Method::PATCH,
        MethodIn::Delete => Method::DELETE,
        MethodIn::Options => Method::OPTIONS,
        MethodIn::Connect => Method::CONNECT,
        MethodIn::Trace => Method::TRACE,
        MethodIn::Raw(bytes) => Method::from_bytes(bytes).ok()?,
    })
}

/// The lines of `field` that made it into the header map.
fn lines_of(headers: &HeaderMap, field: Field) -> Vec<Vec<u8>> {
    headers
        .get_all(field.name())
        .iter()
        .map(|v| v.as_bytes().to_vec())
        .collect()
}

/// Status, headers and body of a problem response: JSON, ASCII, and no request line in it.
fn check_problem(status: StatusCode, headers: &HeaderMap, body: &[u8], request: &HeaderMap) {
    assert_eq!(headers[CONTENT_TYPE], "application/problem+json");
    assert!(body.is_ascii(), "non-ASCII problem body {body:?}");
    let json: serde_json::Value = serde_json::from_slice(body).expect("a JSON problem body");
    assert_eq!(json["status"], status.as_u16());
    for (_, value) in request {
        let line = value.as_bytes();
        if line.len() >= 16 {
            assert!(
                !body.windows(line.len()).any(|w| w == line),
                "the body echoes the request line {line:?}"
            );
        }
    }
}

fn check_decision(
    method: &Method,
    headers: &HeaderMap,
    state: &ResourceState,
    decision: &Decision,
) {
    let get_or_head = method == Method::GET || method == Method::HEAD;
    let ignored_method =
        method == Method::CONNECT || method == Method::OPTIONS || method == Method::TRACE;
    if ignored_method {
        let proceed = decision
            .proceed()
            .expect("CONNECT, OPTIONS, TRACE always proceed");
        assert_eq!(proceed.ignored(), Some(Ignored::Method));
    }
    if !state.is_present() && (get_or_head || method == Method::DELETE) {
        let proceed = decision.proceed().expect("a missing resource's 404 stands");
        assert!(ignored_method || proceed.ignored() == Some(Ignored::Missing));
    }
    let if_match = list_field(&lines_of(headers, Field::IfMatch));
    let if_none_match = list_field(&lines_of(headers, Field::IfNoneMatch));
    match decision {
        Decision::NotModified(condition) => {
            assert!(get_or_head, "304 for {method}");
            assert!(state.is_present(), "304 for a missing resource");
            match condition {
                // Never a 304 from garbage: a well-formed field that matched.
                Condition::IfNoneMatch => assert!(matches!(
                    if_none_match,
                    ListField::Star | ListField::Tags(_)
                )),
                Condition::IfModifiedSince => {
                    assert_eq!(if_none_match, ListField::Absent);
                    assert_eq!(lines_of(headers, Field::IfModifiedSince).len(), 1);
                    assert!(state.last_modified().is_some());
                }
                other => panic!("304 from {other:?}"),
            }
        }
        Decision::BadRequest(Condition::IfMatch) => {
            assert_eq!(if_match, ListField::Malformed);
        }
        Decision::BadRequest(Condition::IfNoneMatch) => {
            assert!(
                !get_or_head,
                "400 for a malformed If-None-Match on {method}"
            );
            assert_eq!(if_none_match, ListField::Malformed);
        }
        Decision::BadRequest(other) => panic!("400 for {other:?}"),
        Decision::PreconditionFailed(condition) => assert!(matches!(
            condition,
            Condition::IfMatch | Condition::IfUnmodifiedSince | Condition::IfNoneMatch
        )),
        Decision::Proceed(proceed) => {
            // Never a write through a malformed If-Match.
            if proceed.ignored().is_none() {
                assert_ne!(if_match, ListField::Malformed);
                if !get_or_head {
                    assert_ne!(if_none_match, ListField::Malformed);
                }
            }
            if proceed.etag_matched() {
                let current = state.etag().expect("a match needs a current tag");
                assert!(!current.is_weak());
            }
        }
        other => panic!("unknown decision {other:?}"),
    }

    let response = decision.response(state);
    assert_eq!(response.as_ref().map(|r| r.status()), decision.status());
    if let Some(response) = response {
        assert_clean_headers(response.headers());
        match response.status() {
            StatusCode::NOT_MODIFIED => {
                assert!(response.body().is_empty());
                assert!(!response.headers().contains_key(CONTENT_TYPE));
            }
            status => check_problem(status, response.headers(), response.body(), headers),
        }
    }
}

fuzz_target!(|input: Input| {
    let Some(method) = method(&input.method) else {
        return;
    };
    let mut headers = HeaderMap::new();
    for (field, bytes) in &input.lines {
        if let Ok(value) = HeaderValue::from_bytes(bytes) {
            headers.append(field.name(), value);
        }
    }
    let lookup = match &input.source {
        SourceIn::Missing => Ok(Lookup::Missing),
        SourceIn::Present(validators) => Ok(Lookup::Present(validators.build())),
        SourceIn::Unknown => Ok(Lookup::Unknown),
        SourceIn::Fails => Err("the source failed"),
    };

    // The pure evaluator, on every state it can be given.
    let conditions = Conditions::from_headers(&headers);
    let _ = (
        conditions.has_if_match(),
        conditions.has_if_none_match(),
        conditions.has_if_modified_since(),
        conditions.has_if_unmodified_since(),
        conditions.has_if_range(),
        conditions.has_range(),
        conditions.is_conditional(),
    );
    let state = lookup.clone().ok().and_then(Lookup::into_state);
    // A required write on a route whose validators are only known after the handler is a
    // configuration error: 500 (see `Lookup::Unknown`).
    let unknown = matches!(lookup, Ok(Lookup::Unknown));
    let decision = state.as_ref().map(|state| {
        let decision = evaluate(&method, &headers, state);
        assert_eq!(conditions.evaluate(&method, state), decision);
        check_decision(&method, &headers, state, &decision);
        decision
    });

    // The layer.
    let calls = Rc::new(Cell::new(0usize));
    let inner = {
        let calls = Rc::clone(&calls);
        let status = StatusCode::from_u16(input.inner.status % 600)
            .ok()
            .filter(|s| s.as_u16() >= 200)
            .unwrap_or(StatusCode::OK);
        let mut inner_headers = HeaderMap::new();
        for (field, bytes) in &input.inner.headers {
            if let Ok(value) = HeaderValue::from_bytes(bytes) {
                inner_headers.append(field.name(), value);
            }
        }
        let body = Bytes::from(input.inner.body.clone());
        service_fn(move |_: Request<String>| {
            calls.set(calls.get() + 1);
            let mut response = Response::new(Full::new(body.clone()));
            *response.status_mut() = status;
            *response.headers_mut() = inner_headers.clone();
            ready(Ok::<_, Infallible>(response))
        })
    };
    let mut layer = ConditionalLayer::new(move |_: &Parts| ready(lookup.clone()))
        .encoding_aware_etags(input.encoding_aware_etags)
        .fill_response_validators(input.fill_response_validators)
        .body_hash(
            input
                .body_hash_limit
                .map(|limit| BodyHashConfig::default().limit(u64::from(limit))),
        )
        .on_source_error(if input.reject_all_on_source_error {
            OnSourceError::reject_all()
        } else {
            OnSourceError::serve_reads()
        });
    if input.require_preconditions {
        layer =
            layer.require_preconditions([Method::PUT, Method::PATCH, Method::DELETE, Method::POST]);
    }
    let service = layer.layer(inner);
    let mut request = Request::new(String::new());
    *request.method_mut() = method.clone();
    *request.headers_mut() = headers.clone();
    let Ok(response) = block_on(service.oneshot(request));
    let (head, body) = response.into_parts();
    let body = block_on(body.collect())
        .unwrap_or_else(|_| panic!("the body failed"))
        .to_bytes();
    assert_clean_headers(&head.headers);
    let called = calls.get();
    assert!(called <= 1);
    if called == 0 {
        let misconfigured = unknown && input.require_preconditions && head.status == 500;
        assert!(
            matches!(head.status.as_u16(), 304 | 400 | 412 | 428 | 503) || misconfigured,
            "the layer answered {} itself",
            head.status
        );
        if head.status == StatusCode::NOT_MODIFIED {
            assert!(body.is_empty());
        } else {
            check_problem(head.status, &head.headers, &body, &headers);
        }
    }
    if let Some(decision) = decision {
        if let Decision::BadRequest(_) = decision {
            assert_eq!((called, head.status), (0, StatusCode::BAD_REQUEST));
        }
        let write = method != Method::GET && method != Method::HEAD;
        // Encoding-aware tags only widen matching: an If-Match member "X-gzip" also names "X".
        // Any other refused write stays refused, whatever the configuration.
        let widened = input.encoding_aware_etags
            && decision == Decision::PreconditionFailed(Condition::IfMatch);
        if write && decision.status().is_some() && !widened {
            assert_eq!(called, 0, "{decision:?} but the handler ran");
        }
        if !input.encoding_aware_etags && !input.require_preconditions {
            match decision.status() {
                Some(status) => assert_eq!((called, head.status), (0, status)),
                None => assert_eq!(called, 1, "{decision:?} but the handler did not run"),
            }
        }
    }
});
