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
//! well-formed validator that matched; and the layer (encoding-aware tags off) answers the same:
//! the inner service runs exactly when the model proceeds, and sees `Range` exactly when the
//! range is to be honoured.
#![no_main]

use std::cell::Cell;
use std::convert::Infallible;
use std::future::ready;
use std::rc::Rc;
use std::time::{Duration, UNIX_EPOCH};

use arbitrary::Arbitrary;
use http::header::RANGE;
use http::request::Parts;
use http::{HeaderValue, Method, Request, Response, StatusCode};
use libfuzzer_sys::fuzz_target;
use tower::{Layer, ServiceExt, service_fn};
use tower_conditional::{ConditionalLayer, Conditions, Decision, Lookup, RangeHandling, evaluate};

use fuzz_support::block_on;
use fuzz_support::model::{Outcome, Request as ModelRequest, State, T, Tag, model};

/// Opaque tags: a small alphabet, so that requests name the current tag often.
#[derive(Arbitrary, Debug, Clone)]
enum Opaque {
    A,
    B,
    Empty,
    Comma,
    Latin1,
    Gzip,
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

#[derive(Arbitrary, Debug)]
struct Input {
    method: MethodIn,
    lines: Vec<(Field, Vec<Piece>)>,
    range: bool,
    state: StateIn,
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

    // The layer answers the same (encoding-aware tags off: the model knows no coding suffixes).
    let lookup = Lookup::from(crate_state.clone());
    let calls = Rc::new(Cell::new(0usize));
    let saw_range = Rc::new(Cell::new(false));
    let inner = {
        let (calls, saw_range) = (Rc::clone(&calls), Rc::clone(&saw_range));
        service_fn(move |request: Request<String>| {
            calls.set(calls.get() + 1);
            saw_range.set(request.headers().contains_key(RANGE));
            ready(Ok::<_, Infallible>(Response::new(String::from("inner"))))
        })
    };
    let service =
        ConditionalLayer::new(move |_: &Parts| ready(Ok::<_, Infallible>(lookup.clone())))
            .encoding_aware_etags(false)
            .layer(inner);
    let mut http_request = Request::new(String::new());
    *http_request.method_mut() = method.clone();
    *http_request.headers_mut() = headers.clone();
    let Ok(response) = block_on(service.oneshot(http_request));
    match expected {
        Outcome::Proceed { range, .. } => {
            assert_eq!(
                calls.get(),
                1,
                "the model proceeds: {request:?} on {state:?}"
            );
            assert_eq!(response.status(), StatusCode::OK);
            let range_sent = headers.contains_key(RANGE);
            let want_range = match range {
                RangeHandling::Ignore => false,
                RangeHandling::Honor => true,
                _ => range_sent,
            };
            assert_eq!(saw_range.get(), want_range, "{range:?}");
        }
        refused => {
            assert_eq!(calls.get(), 0, "{refused:?} but the handler ran");
            let want = decision.status().expect("a refusal has a status");
            assert_eq!(response.status(), want);
        }
    }
});
