//! Property test of the whole configuration space (issue 18): [`ConditionalLayer`] with
//! arbitrary values of every builder option, over arbitrary request heads (fields over several
//! lines, huge members, `-identity` suffix chains, `Accept-Encoding` with weights, non-UTF-8
//! bytes), source answers (present, missing, unknown, error) and inner responses (status, raw
//! validators, codings, size hints that lie), against the layer model of `fuzz/src/model.rs`
//! (the same file the `evaluate_differential` fuzz target checks against).
//!
//! Must hold for every case: the status the model gives; the inner service called exactly when
//! the model says (a refused write never reaches it); no panic. Besides the general run, two
//! corners the general strategy rarely reaches get runs of their own: encoding-aware
//! revalidation (issue 19: decided before the handler or on its response) and a 206 after a
//! true `If-Range` (issue 21: judged by its own validators or a second look-up).

use std::convert::Infallible;
use std::future::ready;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::header::{
    ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_TYPE, ETAG, LAST_MODIFIED,
};
use http::request::Parts;
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body::{Body, Frame, SizeHint};
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::{Config, TestRunner};
use tower::{Layer, ServiceExt, service_fn};
use tower_conditional::{
    BodyHashConfig, ConditionalLayer, DrainConfig, ETag, Lookup, OnSourceError,
};

#[path = "../fuzz/src/model.rs"]
mod reference;

use reference::{
    InnerResponse, LayerConfig, Request as ModelRequest, SourceAnswer, State, T, Tag, layer_model,
};

// ---------------------------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------------------------

/// Opaque tags: a few short ones (so requests name the current tag often), coded forms,
/// suffix chains up to 45 KB, a 20 KB member, obs-text.
fn opaque() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        8 => select(vec![
            &b"a"[..], b"a", b"b", b"", b"a-gzip", b"a-gzip", b"a-br", b"a-zstd", b"a-identity",
            b"a-gzip-identity", b"a-br-identity-identity", b"\xe9", b"a,b",
        ])
        .prop_map(<[u8]>::to_vec),
        1 => (select(vec!["", "-gzip", "-zstd"]), 0..5_000usize).prop_map(|(coding, n)| {
            [b"a", coding.as_bytes(), &b"-identity".repeat(n)[..]].concat()
        }),
        1 => Just(b"x".repeat(20_000)),
    ]
}

fn tag() -> impl Strategy<Value = Vec<u8>> {
    (any::<bool>(), opaque()).prop_map(|(weak, opaque)| {
        let mut line = if weak {
            b"W/\"".to_vec()
        } else {
            b"\"".to_vec()
        };
        line.extend_from_slice(&opaque);
        line.push(b'"');
        line
    })
}

/// Dates around the model's `T`, in the three formats, and bad ones.
fn date() -> impl Strategy<Value = Vec<u8>> {
    select(vec![
        "Sun, 06 Nov 1994 08:49:36 GMT",
        "Sun, 06 Nov 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 08:49:38 GMT",
        "Sunday, 06-Nov-94 08:49:37 GMT",
        "Sun Nov  6 08:49:38 1994",
        "Thu, 01 Jan 1970 00:00:00 GMT",
        "Fri, 31 Dec 9999 23:59:59 GMT",
        "yesterday",
        "Sun, 06 Nov 1994 08:49:37 GMT, Sun, 06 Nov 1994 08:49:37 GMT",
    ])
    .prop_map(|date| date.as_bytes().to_vec())
}

/// One header line: mostly a well-formed list of tags, else a soup of pieces (tags, `*`,
/// separators, garbage, dates, raw non-UTF-8 bytes).
fn line() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        6 => tag(),
        1 => Just(b"*".to_vec()),
        3 => select(vec![", ", ",", " , ", ",,", "\t"]).prop_map(|s| s.as_bytes().to_vec()),
        1 => select(vec!["w/\"a\"", "\"a", "W/", "**", "\"a\"b"]).prop_map(|s| s.as_bytes().to_vec()),
        1 => date(),
        1 => vec(0x80u8..=0xff, 1..4),
    ];
    prop_oneof![
        3 => vec(tag(), 1..4).prop_map(|tags| tags.join(&b", "[..])),
        1 => select(vec![&b"*"[..], b"*,", b" , "]).prop_map(<[u8]>::to_vec),
        2 => vec(piece, 0..5).prop_map(|pieces| pieces.concat()),
    ]
}

/// A field: absent (no lines) or one to three lines.
fn field() -> impl Strategy<Value = Vec<Vec<u8>>> {
    prop_oneof![3 => Just(Vec::new()), 2 => vec(line(), 1..2), 1 => vec(line(), 2..4)]
}

fn date_field() -> impl Strategy<Value = Vec<Vec<u8>>> {
    prop_oneof![2 => Just(Vec::new()), 1 => vec(date(), 1..3)]
}

/// `Accept-Encoding` lines: known codings (and their `x-` aliases), `identity`, `*`, others,
/// with valid weights and invalid ones (which make the member ignored), names listed twice,
/// and now and then a line with obs-text (skipped whole).
fn accept_encoding() -> impl Strategy<Value = Vec<Vec<u8>>> {
    let member = (
        select(vec![
            "gzip",
            "BR",
            "zstd",
            "deflate",
            "compress",
            "identity",
            "*",
            "x-custom",
            "x-gzip",
            "X-Compress",
        ]),
        prop_oneof![
            6 => select(vec!["", ";q=0", ";q=0.000", "; Q=0", ";q=1", ";q=0.5", ";q=0.001"]),
            1 => select(vec![";q=2", ";q=0.0001", ";level=9", ";q=", ";q=1.001"]),
        ],
    )
        .prop_map(|(name, weight)| format!("{name}{weight}"));
    let line = prop_oneof![
        8 => vec(member, 0..4).prop_map(|m| m.join(", ").into_bytes()),
        1 => Just(b"gzip;q=0, identity;q=0, \xe9".to_vec()),
    ];
    vec(line, 0..3)
}

fn request() -> impl Strategy<Value = ModelRequest> {
    (
        select(vec![
            "GET", "GET", "GET", "HEAD", "PUT", "PUT", "POST", "PATCH", "DELETE", "OPTIONS",
            "PROPFIND", "get",
        ]),
        (field(), field(), date_field(), date_field()),
        (
            prop_oneof![3 => Just(Vec::new()), 1 => vec(tag(), 1..2)],
            any::<bool>(),
        ),
    )
        .prop_map(
            |(method, (if_match, if_none_match, ims, ius), (if_range, range))| ModelRequest {
                method: method.to_owned(),
                if_match,
                if_none_match,
                if_modified_since: ims,
                if_unmodified_since: ius,
                if_range,
                range,
            },
        )
}

fn state() -> impl Strategy<Value = State> {
    let etag = option::weighted(
        0.8,
        (
            any::<bool>(),
            select(vec![
                &b"a"[..],
                b"a",
                b"b",
                b"a-gzip",
                b"a-br",
                b"",
                b"\xe9",
            ]),
        ),
    );
    let modified = option::of((-2i64..=2, 0u64..1000, any::<bool>()));
    prop_oneof![
        1 => Just(State::Missing),
        4 => (etag, modified).prop_map(|(etag, modified)| State::Present {
            etag: etag.map(|(weak, opaque)| Tag { weak, opaque: opaque.to_vec() }),
            modified: modified
                .map(|(offset, millis, strong)| ((T as i64 + offset) as u64, millis, strong)),
        }),
    ]
}

fn answer() -> impl Strategy<Value = SourceAnswer> {
    prop_oneof![
        4 => state().prop_map(SourceAnswer::Known),
        1 => Just(SourceAnswer::Unknown),
        1 => Just(SourceAnswer::Failed),
    ]
}

fn inner() -> impl Strategy<Value = InnerResponse> {
    (
        select(vec![200u16, 200, 201, 204, 206, 304, 404, 412, 500]),
        // A tag: valid, the body's own hash (`None`), or garbage.
        option::of(prop_oneof![
            3 => tag().prop_map(Some),
            1 => Just(None),
            1 => Just(Some(b"not a tag".to_vec())),
        ]),
        option::of(date()),
        vec(select(vec!["gzip", "br", "identity", "x-custom", "", "GZIP"]), 0..3),
        (any::<bool>(), any::<bool>()),
        vec(any::<u8>(), 0..48),
        // The size hint: the truth, none, or a lie.
        prop_oneof![2 => Just(None), 1 => Just(Some(None)), 1 => (0u64..100).prop_map(|n| Some(Some(n)))],
    )
        .prop_map(
            |(status, etag, last_modified, codings, (event_stream, no_store), body, hint)| {
                let etag = etag.map(|etag| {
                    etag.unwrap_or_else(|| ETag::from_content(&body).to_string().into_bytes())
                });
                InnerResponse {
                    status,
                    etag,
                    last_modified,
                    content_encoding: codings.iter().map(|c| c.as_bytes().to_vec()).collect(),
                    event_stream,
                    no_store,
                    size_hint: match hint {
                        None => Some(body.len() as u64),
                        Some(lie) => lie,
                    },
                    body,
                }
            },
        )
}

fn config() -> impl Strategy<Value = LayerConfig> {
    (
        vec(
            select(vec!["PUT", "PATCH", "DELETE", "POST", "GET", "OPTIONS"]),
            0..3,
        ),
        (any::<bool>(), option::of(0u64..5_000), any::<bool>()),
        (select(vec![0u64, 4, 1 << 20]), 1u64..10_000),
        (
            any::<bool>(),
            option::of(select(vec![0u64, 16, 1 << 20])),
            any::<bool>(),
        ),
    )
        .prop_map(
            |(
                required,
                (reject_all, retry_after_ms, validators_in_412),
                (drain_limit, drain_timeout_ms),
                (fill, body_hash_limit, encoding_aware),
            )| {
                LayerConfig {
                    required: required.into_iter().map(str::to_owned).collect(),
                    reject_all,
                    retry_after_ms,
                    validators_in_412,
                    drain_limit,
                    drain_timeout_ms,
                    fill,
                    body_hash_limit,
                    encoding_aware,
                }
            },
        )
}

// ---------------------------------------------------------------------------------------------
// The layer
// ---------------------------------------------------------------------------------------------

/// A one-chunk body whose exact size hint may lie (`None`: no exact hint).
struct LyingBody {
    data: Option<Bytes>,
    hint: Option<u64>,
}

impl Body for LyingBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(self.data.take().map(|data| Ok(Frame::data(data))))
    }

    fn size_hint(&self) -> SizeHint {
        self.hint
            .map_or_else(SizeHint::default, SizeHint::with_exact)
    }
}

fn content_tag(body: &[u8]) -> Tag {
    let tag = ETag::from_content(body);
    Tag {
        weak: tag.is_weak(),
        opaque: tag.opaque().to_vec(),
    }
}

/// The layer's status and the inner service's calls for one case.
fn through_layer(
    runtime: &tokio::runtime::Runtime,
    config: &LayerConfig,
    request: &ModelRequest,
    accept: &[Vec<u8>],
    answer: &SourceAnswer,
    inner: &InnerResponse,
) -> (u16, usize) {
    let lookup = match answer {
        SourceAnswer::Known(state) => Ok(Lookup::from(state.to_crate())),
        SourceAnswer::Unknown => Ok(Lookup::Unknown),
        SourceAnswer::Failed => Err("the source is down"),
    };
    let calls = Arc::new(AtomicUsize::new(0));
    let handler = {
        let (calls, inner) = (Arc::clone(&calls), inner.clone());
        service_fn(move |_: Request<String>| {
            calls.fetch_add(1, Ordering::SeqCst);
            let mut response = Response::new(LyingBody {
                data: Some(Bytes::from(inner.body.clone())),
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
    let service = ConditionalLayer::new(move |_: &Parts| ready(lookup.clone()))
        .require_preconditions(
            config
                .required
                .iter()
                .map(|m| Method::from_bytes(m.as_bytes()).unwrap()),
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
        .drain(
            DrainConfig::default()
                .limit(config.drain_limit)
                .timeout(Duration::from_millis(config.drain_timeout_ms)),
        )
        .fill_response_validators(config.fill)
        .body_hash(
            config
                .body_hash_limit
                .map(|limit| BodyHashConfig::default().limit(limit)),
        )
        .encoding_aware_etags(config.encoding_aware)
        .layer(handler);
    let mut http_request = Request::new(String::from("a request body"));
    *http_request.method_mut() = request.method();
    *http_request.headers_mut() = request.headers();
    for line in accept {
        let value = HeaderValue::from_bytes(line).unwrap();
        http_request.headers_mut().append(ACCEPT_ENCODING, value);
    }
    let response = runtime
        .block_on(service.oneshot(http_request))
        .unwrap_or_else(|never| match never {});
    (response.status().as_u16(), calls.load(Ordering::SeqCst))
}

/// Runs `cases` cases of `strategy` through the layer and the model.
fn check_against_model(
    cases: u32,
    strategy: impl Strategy<
        Value = (
            LayerConfig,
            ModelRequest,
            Vec<Vec<u8>>,
            SourceAnswer,
            InnerResponse,
        ),
    >,
) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&strategy, |(config, request, accept, answer, inner)| {
            let want = layer_model(&config, &request, &accept, &answer, &inner, content_tag);
            let (status, calls) =
                through_layer(&runtime, &config, &request, &accept, &answer, &inner);
            prop_assert_eq!(status, want.status, "status");
            prop_assert_eq!(calls, usize::from(want.inner_called), "inner service calls");
            Ok(())
        })
        .unwrap();
}

#[test]
fn the_layer_with_any_configuration_answers_as_the_model() {
    // 1,000 cases: a few seconds in a debug build.
    check_against_model(
        1_000,
        (config(), request(), accept_encoding(), answer(), inner()),
    );
}

/// The corner where encoding-aware tags decide: a read revalidating coded tags of the
/// current version, `Accept-Encoding` with weights (rare in the general run above).
#[test]
fn encoding_aware_revalidation_answers_as_the_model() {
    let current = (
        any::<bool>(),
        select(vec![&b"a"[..], b"a-br", b"a-identity"]),
    )
        .prop_map(|(weak, opaque)| {
            SourceAnswer::Known(State::Present {
                etag: Some(Tag {
                    weak,
                    opaque: opaque.to_vec(),
                }),
                modified: None,
            })
        });
    let member = (
        any::<bool>(),
        select(vec![
            "a",
            "a-gzip",
            "a-br",
            "a-zstd",
            "a-deflate",
            "a-br-br",
            "a-br-identity",
        ]),
    )
        .prop_map(|(weak, opaque)| format!("{}\"{opaque}\"", if weak { "W/" } else { "" }));
    let if_none_match = vec(
        vec(member, 1..3).prop_map(|m| m.join(", ").into_bytes()),
        1..3,
    );
    let request =
        (select(vec!["GET", "HEAD", "PUT"]), if_none_match).prop_map(|(method, if_none_match)| {
            ModelRequest {
                method: method.to_owned(),
                if_match: Vec::new(),
                if_none_match,
                if_modified_since: Vec::new(),
                if_unmodified_since: Vec::new(),
                if_range: Vec::new(),
                range: false,
            }
        });
    let config = config().prop_map(|config| LayerConfig {
        encoding_aware: true,
        ..config
    });
    check_against_model(500, (config, request, accept_encoding(), current, inner()));
}

/// The corner of issue 21: a ranged GET whose `If-Range` the look-up found true (or whose
/// resource is missing), answered 206 by the inner service with its own validators or none
/// (rare in the general run above): the 206 passes only when it is of the named version.
#[test]
fn a_206_after_if_range_answers_as_the_model() {
    let if_range = prop_oneof![
        2 => (any::<bool>(), select(vec!["a", "b", "a-identity"]))
            .prop_map(|(weak, opaque)| format!("{}\"{opaque}\"", if weak { "W/" } else { "" })),
        1 => select(vec![
            "Sun, 06 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 08:49:38 GMT",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "yesterday",
        ])
        .prop_map(str::to_owned),
    ];
    let request = (if_range, select(vec!["GET", "GET", "HEAD"])).prop_map(|(if_range, method)| {
        ModelRequest {
            method: method.to_owned(),
            if_match: Vec::new(),
            if_none_match: Vec::new(),
            if_modified_since: Vec::new(),
            if_unmodified_since: Vec::new(),
            if_range: vec![if_range.into_bytes()],
            range: true,
        }
    });
    let current = prop_oneof![
        1 => Just(SourceAnswer::Known(State::Missing)),
        4 => (
            option::of((any::<bool>(), select(vec![&b"a"[..], b"b"]))),
            option::of((0i64..=1, any::<bool>())),
        )
            .prop_map(|(etag, modified)| {
                SourceAnswer::Known(State::Present {
                    etag: etag.map(|(weak, opaque)| Tag {
                        weak,
                        opaque: opaque.to_vec(),
                    }),
                    modified: modified
                        .map(|(offset, strong)| ((T as i64 + offset) as u64, 0, strong)),
                })
            }),
    ];
    // The 206's own validators: none, the named ones, others, garbage, a date in the future
    // (which names no version: it is what every later version is sent as too).
    let own_tag = option::of(select(vec![
        &b"\"a\""[..],
        b"\"b\"",
        b"W/\"a\"",
        b"\"a-gzip\"",
        b"not a tag",
    ]));
    let own_date = option::of(select(vec![
        &b"Sun, 06 Nov 1994 08:49:37 GMT"[..],
        b"Sun, 06 Nov 1994 08:49:38 GMT",
        b"Fri, 31 Dec 9999 23:59:59 GMT",
        b"yesterday",
    ]));
    let partial = (inner(), own_tag, own_date).prop_map(|(inner, etag, date)| InnerResponse {
        status: 206,
        etag: etag.map(<[u8]>::to_vec),
        last_modified: date.map(<[u8]>::to_vec),
        ..inner
    });
    let inner = prop_oneof![4 => partial, 1 => inner()];
    check_against_model(
        2_000,
        (config(), request, accept_encoding(), current, inner),
    );
}
