//! `evaluate` against the reference model of the rule book (`fuzz_support::model`, a copy of the
//! one in `tests/model.rs`), on structured input.
//!
//! The input (built with `arbitrary`) is a method, header lines of the five conditional fields
//! and `Range`, and a resource state. Each line is a sequence of pieces drawn from a mix of
//! valid and invalid structured values (entity tags over a small opaque alphabet so that matches
//! are frequent, `*`, separators, HTTP-dates in all three formats a few seconds around the
//! resource's modification date, known garbage) and raw bytes. Lines `HeaderValue::from_bytes`
//! rejects are dropped, for the crate and the model alike.
//!
//! Must hold: the crate's decision equals the model's, in every detail (`Proceed`'s range
//! handling, passed condition, `etag_matched`, ignore reason); every 304 is justified by a
//! well-formed validator that matched; and `ConditionalLayer`, configured with every builder
//! option from the input (required methods, source-error policy, Retry-After, validators in
//! 412s, drain limit and timeout, filled validators, body-hash limit, encoding-aware tags),
//! over a source answering the state, `Unknown` or an error, and an inner response of any
//! status with raw validators, codings and a size hint that may lie, answers the status of the
//! layer model (`layer_model`), calls the inner service exactly when that model says (a
//! refused write never reaches it), and sends only clean header values. Tags include suffix
//! chains (`"a-gzip-identity-identity…"`) and `Accept-Encoding` lines come with weights.
#![no_main]

use std::cell::Cell;
use std::convert::Infallible;
use std::future::ready;
use std::rc::Rc;
use std::time::{Duration, UNIX_EPOCH};

use arbitrary::Arbitrary;
use http::header::{
    ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_TYPE, ETAG, LAST_MODIFIED, RANGE,
};
use http::request::Parts;
use http::{HeaderValue, Method, Request, Response, StatusCode};
use libfuzzer_sys::fuzz_target;
use tower::{Layer, ServiceExt, service_fn};
use tower_conditional::{ConditionalLayer, Conditions, Decision, ETag, Lookup, OnSourceError, RangeHandling, evaluate, BodyHashConfig, DrainConfig};

use fuzz_support::model::{
    InnerResponse, KNOWN_CODINGS, LayerConfig, Outcome, Request as ModelRequest, SourceAnswer,
    State, T, Tag, layer_model, model,
};
use fuzz_support::{LyingBody, block_on};

/// Opaque tags: a small alphabet, so that requests name the current tag often.
#[derive(Arbitrary, Debug, Clone)]
enum Opaque {
    A,
    B,
    Empty,
    Comma,
    Latin1,
    Gzip,
    /// `a` or `a-<coding>`, then `-identity` so many times (suffix chains, issue 18).
    Chain { coding: u8, identities: u16 },
    Raw(Vec<u8>),
}

impl Opaque {
    fn bytes(&self) -> Vec<u8> {
        match self {
            Opaque::A => b"a".to_vec(),
            Opaque::B => b"b".to_vec(),
            Opaque::Empty => Vec::new(),
            Opaque::Comma => b"a,b".to_vec(),
            Opaque::Latin1 => b"\xe9".to_vec(),
            Opaque::Gzip => b"a-gzip".to_vec(),
            Opaque::Chain { coding, identities } => {
                let mut bytes = b"a".to_vec();
                if let Some(coding) = KNOWN_CODINGS.get(usize::from(*coding)) {
                    bytes.push(b'-');
                    bytes.extend_from_slice(coding.as_bytes());
                }
                bytes.extend_from_slice(&b"-identity".repeat(usize::from(*identities)));
                bytes
            }
            Opaque::Raw(bytes) => bytes.clone(),
        }
    }

    /// The opaque part of a current tag must be etagc bytes.
    fn etagc_bytes(&self) -> Vec<u8> {
        let mut bytes = self.bytes();
        bytes.retain(|&b| b == 0x21 || (0x23..=0x7e).contains(&b) || b >= 0x80);
        bytes
    }
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum DateFormat {
    Imf,
    Rfc850,
    Asctime,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum DateBase {
    /// The model's T, Sun, 06 Nov 1994 08:49:37 GMT.
    T,
    Epoch,
    Max,
}

impl DateBase {
    fn seconds(self, offset: i8) -> u64 {
        self.request_seconds(offset).max(0) as u64
    }

    /// A request may name a date before 1970 (RFC 9110 §5.6.7: `year = 4DIGIT`).
    fn request_seconds(self, offset: i8) -> i64 {
        let base: i64 = match self {
            DateBase::T => T as i64,
            DateBase::Epoch => 0,
            DateBase::Max => 253_402_300_799,
        };
        (base + i64::from(offset)).min(253_402_300_799)
    }
}

const SEPARATORS: [&str; 8] = [", ", ",", " ,", " , ", ",,", ",\t", " ", "\t"];

const GARBAGE: [&str; 24] = [
    "w/\"a\"",
    "a",
    "\"a",
    "W/a",
    "W/",
    "\"a\" \"b\"",
    "**",
    "\"a b\"",
    "W/ \"a\"",
    "\"a\"b",
    "*\"a\"",
    "'a'",
    "\"a\";",
    "W/\"a",
    "\"",
    "W//\"a\"",
    "\"a\"\"",
    "\\\"a\\\"",
    "<script>",
    "GMT",
    "-1",
    "W",
    "w",
    "/",
];

const BAD_DATES: [&str; 14] = [
    "",
    "yesterday",
    "784111777",
    "Mon, 06 Nov 1994 08:49:37 GMT",
    "Sun, 06 Nov 1994 08:49:37 UTC",
    "Sun, 06 Nov 1994 08:49:37 GMT,",
    "Sun, 06 Nov 1994 08:49:37 GMT, Sun, 06 Nov 1994 08:49:37 GMT",
    "Sun, 06 Nov 1994 24:49:37 GMT",
    "Sun, 06 Nov 1994 08:60:37 GMT",
    "Sun, 06 Nov 1994 08:49:60 GMT",
    "Sun, 31 Nov 1994 08:49:37 GMT",
    "Thu, 29 Feb 1900 00:00:00 GMT",
    "Wed, 31 Dec 1969 23:59:59 GMT",
    "Sun, 06 Nov 1994 08:49:37 GMT garbage",
];

/// One piece of a header line.
#[derive(Arbitrary, Debug)]
enum Piece {
    Tag {
        weak: bool,
        opaque: Opaque,
    },
    Star,
    Separator(u8),
    Garbage(u8),
    Date {
        format: DateFormat,
        base: DateBase,
        offset: i8,
    },
    BadDate(u8),
    Raw(Vec<u8>),
}

fn render_date(format: DateFormat, seconds: i64) -> String {
    // httpdate formats 1970 on only: a date before is formatted 2000 years later (five 400-year
    // cycles: same calendar, same weekday) and its year put back.
    const TWO_THOUSAND_YEARS: i64 = 5 * 146_097 * 86_400;
    let shift = if seconds < 0 { TWO_THOUSAND_YEARS } else { 0 };
    let mut imf =
        httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs((seconds + shift) as u64));
    if shift != 0 {
        let year: u32 = imf[12..16].parse().expect("four digits");
        imf.replace_range(12..16, &format!("{:04}", year - 2000));
    }
    // "Sun, 06 Nov 1994 08:49:37 GMT"
    let (weekday, day, month, year, time) = (
        &imf[0..3],
        &imf[5..7],
        &imf[8..11],
        &imf[12..16],
        &imf[17..25],
    );
    match format {
        DateFormat::Imf => imf.clone(),
        DateFormat::Rfc850 => {
            let long = match weekday {
                "Mon" => "Monday",
                "Tue" => "Tuesday",
                "Wed" => "Wednesday",
                "Thu" => "Thursday",
                "Fri" => "Friday",
                "Sat" => "Saturday",
                _ => "Sunday",
            };
            format!("{long}, {day}-{month}-{} {time} GMT", &year[2..])
        }
        DateFormat::Asctime => {
            let day = day.trim_start_matches('0');
            format!("{weekday} {month} {day:>2} {time} {year}")
        }
    }
}

impl Piece {
    fn write(&self, out: &mut Vec<u8>) {
        match self {
            Piece::Tag { weak, opaque } => {
                if *weak {
                    out.extend_from_slice(b"W/");
                }
                out.push(b'"');
                out.extend_from_slice(&opaque.bytes());
                out.push(b'"');
            }
            Piece::Star => out.push(b'*'),
            Piece::Separator(i) => {
                out.extend_from_slice(SEPARATORS[usize::from(*i) % SEPARATORS.len()].as_bytes())
            }
            Piece::Garbage(i) => {
                out.extend_from_slice(GARBAGE[usize::from(*i) % GARBAGE.len()].as_bytes())
            }
            Piece::Date {
                format,
                base,
                offset,
            } => out
                .extend_from_slice(render_date(*format, base.request_seconds(*offset)).as_bytes()),
            Piece::BadDate(i) => {
                out.extend_from_slice(BAD_DATES[usize::from(*i) % BAD_DATES.len()].as_bytes())
            }
            Piece::Raw(bytes) => out.extend_from_slice(bytes),
        }
    }
}

#[derive(Arbitrary, Debug, Clone, Copy)]
#[allow(clippy::enum_variant_names)]
enum Field {
    IfMatch,
    IfNoneMatch,
    IfModifiedSince,
    IfUnmodifiedSince,
    IfRange,
}

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
    Propfind,
    LowerGet,
    LowerHead,
    LowerDelete,
    Raw(String),
}

impl MethodIn {
    fn name(&self) -> Option<String> {
        let name = match self {
            MethodIn::Get => "GET",
            MethodIn::Head => "HEAD",
            MethodIn::Put => "PUT",
            MethodIn::Post => "POST",
            MethodIn::Patch => "PATCH",
            MethodIn::Delete => "DELETE",
            MethodIn::Options => "OPTIONS",
            MethodIn::Connect => "CONNECT",
            MethodIn::Trace => "TRACE",
            MethodIn::Propfind => "PROPFIND",
            MethodIn::LowerGet => "get",
            MethodIn::LowerHead => "head",
            MethodIn::LowerDelete => "delete",
            MethodIn::Raw(name) => {
                Method::from_bytes(name.as_bytes()).ok()?;
                name
            }
        };
        Some(name.to_owned())
    }
}

#[derive(Arbitrary, Debug)]
enum StateIn {
    Missing,
    Present {
        etag: Option<(bool, Opaque)>,
        modified: Option<(DateBase, i8, u16, bool)>,
    },
}

impl StateIn {
    fn to_model(&self) -> State {
        match self {
            StateIn::Missing => State::Missing,
            StateIn::Present { etag, modified } => State::Present {
                etag: etag.as_ref().map(|(weak, opaque)| Tag {
                    weak: *weak,
                    opaque: opaque.etagc_bytes(),
                }),
                modified: modified.map(|(base, offset, millis, strong)| {
                    let seconds = base.seconds(offset);
                    // No sub-second part past the last representable second.
                    let millis = if seconds == 253_402_300_799 {
                        0
                    } else {
                        u64::from(millis % 1000)
                    };
                    (seconds, millis, strong)
                }),
            },
        }
    }
}

/// An `Accept-Encoding` member.
#[derive(Arbitrary, Debug)]
enum AcceptPiece {
    Coding(u8),
    Identity,
    Star,
    Weight(u8),
    Separator(u8),
    Raw(Vec<u8>),
}

const WEIGHTS: [&str; 10] = [
    ";q=0", ";q=0.0", "; q=0.000", ";Q=0", ";q=1", ";q=0.5", ";q=0.001", ";q=0.", ";q=1.000", ";q",
];

impl AcceptPiece {
    fn write(&self, out: &mut Vec<u8>) {
        match self {
            AcceptPiece::Coding(i) => {
                let coding = KNOWN_CODINGS[usize::from(*i) % KNOWN_CODINGS.len()];
                if i & 0x80 != 0 {
                    out.extend_from_slice(coding.to_ascii_uppercase().as_bytes());
                } else {
                    out.extend_from_slice(coding.as_bytes());
                }
            }
            AcceptPiece::Identity => out.extend_from_slice(b"identity"),
            AcceptPiece::Star => out.push(b'*'),
            AcceptPiece::Weight(i) => {
                out.extend_from_slice(WEIGHTS[usize::from(*i) % WEIGHTS.len()].as_bytes())
            }
            AcceptPiece::Separator(i) => {
                out.extend_from_slice(SEPARATORS[usize::from(*i) % SEPARATORS.len()].as_bytes())
            }
            AcceptPiece::Raw(bytes) => out.extend_from_slice(bytes),
        }
    }
}

/// The source's answer: the resource state of the input, unknown, or an error.
#[derive(Arbitrary, Debug, Clone, Copy)]
enum AnswerIn {
    Known,
    Unknown,
    Failed,
}

const STATUSES: [u16; 10] = [200, 200, 201, 204, 206, 301, 404, 412, 500, 503];

/// The inner service's response.
#[derive(Arbitrary, Debug)]
struct InnerIn {
    status: u8,
    /// A valid tag (the body's own hash with `None`) or raw bytes.
    etag: Option<Result<(bool, Option<Opaque>), Vec<u8>>>,
    last_modified: Option<(DateFormat, DateBase, i8)>,
    content_encoding: Vec<AcceptPiece>,
    event_stream: bool,
    no_store: bool,
    body: Vec<u8>,
    /// The body's exact size hint: its true size, none, or a lie.
    hint: Option<Option<u16>>,
}

#[derive(Arbitrary, Debug)]
struct LayerIn {
    required: Vec<MethodIn>,
    reject_all: bool,
    retry_after_ms: Option<u16>,
    validators_in_412: bool,
    drain_limit: u16,
    drain_timeout_ms: u16,
    fill: bool,
    body_hash_limit: Option<u16>,
    encoding_aware: bool,
    answer: AnswerIn,
    accept_encoding: Vec<Vec<AcceptPiece>>,
    request_body: Vec<u8>,
    inner: InnerIn,
}

#[derive(Arbitrary, Debug)]
struct Input {
    method: MethodIn,
    lines: Vec<(Field, Vec<Piece>)>,
    range: bool,
    state: StateIn,
    layer: LayerIn,
}

/// Header lines a `HeaderMap` can hold, of the pieces' renderings.
fn valid_lines(lines: impl IntoIterator<Item = Vec<u8>>) -> Vec<Vec<u8>> {
    lines
        .into_iter()
        .filter(|line| HeaderValue::from_bytes(line).is_ok())
        .collect()
}

fn content_tag(body: &[u8]) -> Tag {
    let tag = ETag::from_content(body);
    Tag {
        weak: tag.is_weak(),
        opaque: tag.opaque().to_vec(),
    }
}

fuzz_target!(|input: Input| {
    let Some(method_name) = input.method.name() else {
        return;
    };
    let mut request = ModelRequest {
        method: method_name,
        if_match: Vec::new(),
        if_none_match: Vec::new(),
        if_modified_since: Vec::new(),
        if_unmodified_since: Vec::new(),
        if_range: Vec::new(),
        range: input.range,
    };
    for (field, pieces) in &input.lines {
        let mut line = Vec::new();
        for piece in pieces {
            piece.write(&mut line);
        }
        if HeaderValue::from_bytes(&line).is_err() {
            continue; // a HeaderMap cannot hold it: it never reaches the crate
        }
        match field {
            Field::IfMatch => request.if_match.push(line),
            Field::IfNoneMatch => request.if_none_match.push(line),
            Field::IfModifiedSince => request.if_modified_since.push(line),
            Field::IfUnmodifiedSince => request.if_unmodified_since.push(line),
            Field::IfRange => request.if_range.push(line),
        }
    }
    let state = input.state.to_model();
    let crate_state = state.to_crate();
    let method = request.method();
    let headers = request.headers();

    let expected = model(&request, &state);
    let decision = evaluate(&method, &headers, &crate_state);
    assert_eq!(
        Outcome::of(&decision),
        expected,
        "request {request:?}\nstate {state:?}"
    );
    assert_eq!(
        Conditions::from_headers(&headers).evaluate(&method, &crate_state),
        decision
    );
    if let Decision::NotModified(condition) = decision {
        assert!(
            fuzz_support::model::not_modified_is_justified(condition, &request, &state),
            "unjustified 304 for {request:?} on {state:?}"
        );
    }

    // The layer with every option, against the layer model.
    let layer = &input.layer;
    let accept_encoding = valid_lines(layer.accept_encoding.iter().map(|pieces| {
        let mut line = Vec::new();
        pieces.iter().for_each(|piece| piece.write(&mut line));
        line
    }));
    let required: Vec<String> = layer.required.iter().filter_map(MethodIn::name).collect();
    let config = LayerConfig {
        required: required.clone(),
        reject_all: layer.reject_all,
        retry_after_ms: layer.retry_after_ms.map(u64::from),
        validators_in_412: layer.validators_in_412,
        drain_limit: u64::from(layer.drain_limit),
        drain_timeout_ms: u64::from(layer.drain_timeout_ms),
        fill: layer.fill,
        body_hash_limit: layer.body_hash_limit.map(u64::from),
        encoding_aware: layer.encoding_aware,
    };
    let answer = match layer.answer {
        AnswerIn::Known => SourceAnswer::Known(state.clone()),
        AnswerIn::Unknown => SourceAnswer::Unknown,
        AnswerIn::Failed => SourceAnswer::Failed,
    };
    let inner_in = &layer.inner;
    let body = inner_in.body.clone();
    let inner = InnerResponse {
        status: STATUSES[usize::from(inner_in.status) % STATUSES.len()],
        etag: inner_in.etag.as_ref().map(|etag| match etag {
            Ok((weak, opaque)) => {
                let tag = match opaque {
                    Some(opaque) => Tag {
                        weak: *weak,
                        opaque: opaque.etagc_bytes(),
                    },
                    None => content_tag(&body),
                };
                let mut line = if tag.weak { b"W/\"".to_vec() } else { b"\"".to_vec() };
                line.extend_from_slice(&tag.opaque);
                line.push(b'"');
                line
            }
            Err(raw) => raw.clone(),
        }),
        last_modified: inner_in.last_modified.map(|(format, base, offset)| {
            render_date(format, base.request_seconds(offset)).into_bytes()
        }),
        content_encoding: valid_lines(inner_in.content_encoding.iter().map(|piece| {
            let mut line = Vec::new();
            piece.write(&mut line);
            line
        })),
        event_stream: inner_in.event_stream,
        no_store: inner_in.no_store,
        size_hint: match inner_in.hint {
            Some(Some(lie)) => Some(u64::from(lie)),
            Some(None) => None,
            None => Some(body.len() as u64),
        },
        body,
    };
    if inner
        .etag
        .as_ref()
        .is_some_and(|line| HeaderValue::from_bytes(line).is_err())
        || inner
            .last_modified
            .as_ref()
            .is_some_and(|line| HeaderValue::from_bytes(line).is_err())
    {
        return;
    }
    let want = layer_model(
        &config,
        &request,
        &accept_encoding,
        &answer,
        &inner,
        content_tag,
    );

    let lookup = match &answer {
        SourceAnswer::Known(_) => Ok(Lookup::from(crate_state.clone())),
        SourceAnswer::Unknown => Ok(Lookup::Unknown),
        SourceAnswer::Failed => Err("the source is down"),
    };
    let calls = Rc::new(Cell::new(0usize));
    let saw_range = Rc::new(Cell::new(false));
    let service_inner = {
        let (calls, saw_range, inner) = (Rc::clone(&calls), Rc::clone(&saw_range), inner.clone());
        service_fn(move |request: Request<String>| {
            calls.set(calls.get() + 1);
            saw_range.set(request.headers().contains_key(RANGE));
            let mut response = Response::new(LyingBody {
                data: Some(inner.body.clone().into()),
                hint: inner.size_hint,
            });
            *response.status_mut() = StatusCode::from_u16(inner.status).unwrap();
            let headers = response.headers_mut();
            if let Some(etag) = &inner.etag {
                headers.insert(ETAG, HeaderValue::from_bytes(etag).unwrap());
            }
            if let Some(date) = &inner.last_modified {
                headers.insert(LAST_MODIFIED, HeaderValue::from_bytes(date).unwrap());
            }
            for coding in &inner.content_encoding {
                headers.append(CONTENT_ENCODING, HeaderValue::from_bytes(coding).unwrap());
            }
            if inner.event_stream {
                headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
            }
            if inner.no_store {
                headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
            }
            ready(Ok::<_, Infallible>(response))
        })
    };
    let layer = ConditionalLayer::new(move |_: &Parts| ready(lookup.clone()))
        .require_preconditions(
            required
                .iter()
                .map(|name| Method::from_bytes(name.as_bytes()).unwrap()),
        )
        .on_source_error(
            if config.reject_all {
                OnSourceError::reject_all()
            } else {
                OnSourceError::serve_reads()
            }
            .retry_after(config.retry_after_ms.map(Duration::from_millis)),
        )
        .validators_in_412(config.validators_in_412)
        .drain(DrainConfig::default().limit(config.drain_limit).timeout(Duration::from_millis(config.drain_timeout_ms)))
        .fill_response_validators(config.fill)
        .body_hash(config.body_hash_limit.map(|limit| BodyHashConfig::default().limit(limit)))
        .encoding_aware_etags(config.encoding_aware);
    let service = layer.layer(service_inner);
    let mut http_request = Request::new(String::from_utf8_lossy(&input.layer.request_body).into_owned());
    *http_request.method_mut() = method.clone();
    *http_request.headers_mut() = headers.clone();
    for line in &accept_encoding {
        http_request
            .headers_mut()
            .append(ACCEPT_ENCODING, HeaderValue::from_bytes(line).unwrap());
    }
    let Ok(response) = block_on(service.oneshot(http_request));
    assert_eq!(
        response.status().as_u16(),
        want.status,
        "request {request:?}\naccept-encoding {accept_encoding:?}\nstate {state:?}\nanswer {answer:?}\ninner {inner:?}\nconfig {config:?}"
    );
    assert_eq!(
        calls.get(),
        usize::from(want.inner_called),
        "inner service calls for {request:?} (refused writes must never reach it)"
    );
    fuzz_support::assert_clean_headers(response.headers());

    // With the state known and nothing else on, the handler sees `Range` exactly when the
    // range is to be honoured.
    if want.inner_called && matches!(answer, SourceAnswer::Known(_)) {
        if let Outcome::Proceed { range, .. } = expected {
            let range_sent = headers.contains_key(RANGE);
            let want_range = match range {
                RangeHandling::Ignore => false,
                RangeHandling::Honor => true,
                _ => range_sent,
            };
            if !config.encoding_aware {
                assert_eq!(saw_range.get(), want_range, "{range:?}");
            }
        }
    }
});
