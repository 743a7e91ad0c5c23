//! Validators behind compression (issue 19), through a real tower-http `CompressionLayer` (gzip
//! and br compiled in) inside the combined `ConditionalLayer::compressed()`:
//!
//! - the table: every `Accept-Encoding` a browser or a test of the edge sends, × every
//!   `If-None-Match` member a client can hold, × `If-Modified-Since`, × bodies compression
//!   treats differently; the status is what the rule says, every 304 names a tag the client
//!   sent and may accept or else the 200's, and carries the 200's `Vary`; no 406 becomes a 304;
//! - the tag mapping of the crate docs' compression section, row by row;
//! - the response side hashing compressed bodies, within its size and time bounds.

use std::collections::BTreeSet;
use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::header::{
    ACCEPT_ENCODING, CONTENT_ENCODING, CONTENT_TYPE, ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH,
    LAST_MODIFIED, VARY,
};
use http::request::Parts;
use http::{HeaderMap, Request, Response, StatusCode};
use http_body::{Body, Frame};
use http_body_util::{BodyExt, Full};
use tokio::sync::mpsc;
use tower::{Layer, ServiceExt, service_fn};
use tower_conditional::{BodyHashConfig, ConditionalLayer, ETag, LastModified, Lookup, Validators};

const MODIFIED: &str = "Tue, 14 Nov 2023 22:13:20 GMT";
const OLDER: &str = "Tue, 14 Nov 2023 22:13:19 GMT";

/// Compressible, and longer than CompressionLayer's 32-byte minimum.
const TEXT: &[u8] = b"[\"apples\", \"pears\", \"plums\", \"quinces\", \"sloes\", \"apples\", \
                      \"pears\", \"plums\", \"quinces\", \"sloes\"]";

/// A body kind compression treats in its own way.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Compressible,
    Short,
    Png,
}

impl Kind {
    fn content(self) -> (&'static str, &'static [u8]) {
        match self {
            Kind::Compressible => ("application/json", TEXT),
            Kind::Short => ("text/plain", b"tiny"),
            // An image of compressible size: the default predicate leaves images alone.
            Kind::Png => ("image/png", &[0x89; 64]),
        }
    }
}

/// Where the validators come from.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    /// A source answering `"v1"` and `MODIFIED`, filled into the 200.
    Source,
    /// The handler's own `ETag: "v1"` and `Last-Modified`, evaluated on the response.
    Responses,
}

type Reply = (StatusCode, HeaderMap, Bytes);

async fn send(mode: Mode, kind: Kind, headers: &[(http::HeaderName, &str)]) -> Reply {
    let handler = service_fn(move |_: Request<String>| async move {
        let (content_type, body) = kind.content();
        let mut response = Response::builder().header(CONTENT_TYPE, content_type);
        if mode == Mode::Responses {
            response = response
                .header(ETAG, "\"v1\"")
                .header(LAST_MODIFIED, MODIFIED);
        }
        Ok::<_, Infallible>(response.body(Full::new(Bytes::from_static(body))).unwrap())
    });
    let mut request = Request::get("/fruit");
    for (name, value) in headers {
        request = request.header(name, *value);
    }
    let request = request.body(String::new()).unwrap();
    let response = match mode {
        Mode::Source => {
            let source = |_: &Parts| async {
                let validators = Validators::new()
                    .with_etag(ETag::from_static("\"v1\""))
                    .with_last_modified(MODIFIED.parse::<LastModified>().unwrap());
                Ok::<_, Infallible>(Lookup::Present(validators))
            };
            let layer = ConditionalLayer::new(source)
                .fill_response_validators(true)
                .compressed();
            layer.layer(handler).oneshot(request).await.unwrap()
        }
        Mode::Responses => {
            let layer = ConditionalLayer::from_responses().compressed();
            layer.layer(handler).oneshot(request).await.unwrap()
        }
    };
    let (parts, body) = response.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    (parts.status, parts.headers, body)
}

/// The codings each `Accept-Encoding` of the table accepts, written out by hand (not by the
/// crate's parser): `None` is identity.
const ACCEPT: &[(Option<&str>, &[Option<&str>])] = &[
    (None, &[None]),
    (Some("gzip"), &[None, Some("gzip")]),
    (Some("br"), &[None, Some("br")]),
    (Some("gzip;q=0, br"), &[None, Some("br")]),
    (Some("identity;q=0, gzip"), &[Some("gzip")]),
    (Some("*;q=0, gzip"), &[Some("gzip")]),
    (Some("x-gzip"), &[None, Some("gzip")]),
    // Nothing compiled in is acceptable: CompressionLayer answers 406.
    (Some("*;q=0"), &[]),
    (Some("identity;q=0, zstd"), &[Some("zstd")]),
];

/// Every `If-None-Match` a client may send: none, each issued tag, its weak form, stale ones,
/// `*` (the identity tag is `"v1"`), and the form of a coding this server never sends.
const IF_NONE_MATCH_VALUES: &[Option<&str>] = &[
    None,
    Some("\"v1\""),
    Some("\"v1-gzip\""),
    Some("\"v1-br\""),
    Some("W/\"v1\""),
    Some("W/\"v1-gzip\""),
    Some("W/\"v1-br\""),
    Some("\"v0\""),
    Some("\"v0-gzip\""),
    // The form of a coding not compiled in: with `identity;q=0, zstd` compression answers 406.
    Some("\"v1-zstd\""),
    Some("*"),
];

const IF_MODIFIED_SINCE_VALUES: &[Option<&str>] = &[None, Some(MODIFIED), Some(OLDER)];

/// `"v1-gzip"` → (`"v1"`, gzip); the inverse of the issued mapping for this table's tags.
fn coding_of(opaque: &str) -> Option<&str> {
    opaque
        .strip_prefix("v1")
        .and_then(|rest| rest.strip_prefix('-'))
}

fn vary_set(headers: &HeaderMap) -> BTreeSet<String> {
    headers
        .get_all(VARY)
        .iter()
        .flat_map(|line| line.to_str().unwrap().split(','))
        .map(|name| name.trim().to_ascii_lowercase())
        .filter(|name| !name.is_empty())
        .collect()
}

/// The rule, on what the unconditional 200 (`baseline`) carried: the expected status and the
/// tag its 304 names.
fn expected(
    mode: Mode,
    accepted: &[Option<&str>],
    if_none_match: Option<&str>,
    if_modified_since: Option<&str>,
    baseline: &Reply,
) -> (StatusCode, Option<String>) {
    if baseline.0 != StatusCode::OK {
        return (baseline.0, None); // the 406 stays a 406
    }
    let issued = baseline.1[ETAG].to_str().unwrap().to_owned();
    let not_modified = |tag: &str| (StatusCode::NOT_MODIFIED, Some(tag.to_owned()));
    match (if_none_match, if_modified_since) {
        (Some("*"), _) => not_modified(&issued),
        (Some(member), _) => {
            let opaque = member.trim_start_matches("W/").trim_matches('"');
            let strong = !member.starts_with("W/");
            let coding_accepted = opaque
                .starts_with("v1")
                .then(|| coding_of(opaque))
                .is_some_and(|coding| accepted.contains(&coding));
            // Before the handler: a strong member in a coding the request accepts, where the
            // request accepts identity (so compression cannot answer 406).
            if mode == Mode::Source && strong && coding_accepted && accepted.contains(&None) {
                return not_modified(member);
            }
            // On the response: weak comparison with the tag it leaves with.
            if opaque == issued.trim_start_matches("W/").trim_matches('"') {
                return not_modified(&issued);
            }
            (StatusCode::OK, None)
        }
        (None, Some(MODIFIED)) => not_modified(&issued),
        _ => (StatusCode::OK, None),
    }
}

#[tokio::test]
async fn every_revalidation_a_browser_sends_behind_compression_as_a_table() {
    let mut cases = 0;
    let mut statuses = BTreeSet::new();
    for mode in [Mode::Source, Mode::Responses] {
        for kind in [Kind::Compressible, Kind::Short, Kind::Png] {
            for (accept, accepted) in ACCEPT {
                let mut base = Vec::new();
                if let Some(accept) = accept {
                    base.push((ACCEPT_ENCODING, *accept));
                }
                let baseline = send(mode, kind, &base).await;
                for if_none_match in IF_NONE_MATCH_VALUES {
                    for if_modified_since in IF_MODIFIED_SINCE_VALUES {
                        let mut headers = base.clone();
                        if let Some(value) = if_none_match {
                            headers.push((IF_NONE_MATCH, value));
                        }
                        if let Some(value) = if_modified_since {
                            headers.push((IF_MODIFIED_SINCE, value));
                        }
                        let (status, response, _) = send(mode, kind, &headers).await;
                        let case = format!("{mode:?} {kind:?} {headers:?}");
                        let (want, tag) = expected(
                            mode,
                            accepted,
                            *if_none_match,
                            *if_modified_since,
                            &baseline,
                        );
                        assert_eq!(status, want, "{case}");
                        statuses.insert(status.as_u16());
                        cases += 1;
                        if status != StatusCode::NOT_MODIFIED {
                            continue;
                        }
                        // A tag the client sent and may accept, or else the 200's.
                        let sent = response[ETAG].to_str().unwrap();
                        assert_eq!(Some(sent), tag.as_deref(), "{case}");
                        assert_eq!(vary_set(&response), vary_set(&baseline.1), "{case}");
                    }
                }
            }
        }
    }
    assert_eq!(cases, 2 * 3 * ACCEPT.len() * IF_NONE_MATCH_VALUES.len() * 3);
    assert_eq!(
        statuses,
        BTreeSet::from([200, 304, 406]),
        "each outcome occurs"
    );
}

/// The mapping table of the crate docs' "Compression" section, row by row: (source tag, the
/// response's `Content-Encoding`, the `ETag` it leaves with). gzip and br go through the real
/// CompressionLayer; the codings not compiled in are set by the handler.
#[tokio::test]
async fn the_documented_tag_mapping_as_a_table() {
    let rows: &[(&str, Option<&str>, &str)] = &[
        ("\"v7\"", None, "\"v7\""),
        ("\"v7\"", Some("gzip"), "\"v7-gzip\""),
        ("\"v7\"", Some("br"), "\"v7-br\""),
        ("\"v7\"", Some("deflate"), "\"v7-deflate\""),
        ("\"v7\"", Some("zstd"), "\"v7-zstd\""),
        ("\"v7\"", Some("compress"), "\"v7-compress\""),
        ("\"doc-br\"", None, "\"doc-br-identity\""),
        ("\"doc-br\"", Some("gzip"), "\"doc-br-gzip\""),
        ("\"v7\"", Some("x-custom"), "W/\"v7\""),
        ("\"v7\"", Some("gzip, br"), "W/\"v7\""),
        ("W/\"v7\"", None, "W/\"v7\""),
        ("W/\"v7\"", Some("gzip"), "W/\"v7\""),
    ];
    for &(tag, coding, issued) in rows {
        let compiled = matches!(coding, Some("gzip" | "br"));
        let handler = service_fn(move |_: Request<String>| async move {
            let mut response = Response::builder()
                .header(CONTENT_TYPE, "application/json")
                .header(ETAG, tag);
            if let (Some(coding), false) = (coding, compiled) {
                response = response.header(CONTENT_ENCODING, coding);
            }
            Ok::<_, Infallible>(response.body(Full::new(Bytes::from_static(TEXT))).unwrap())
        });
        let mut request = Request::get("/");
        if let (Some(coding), true) = (coding, compiled) {
            request = request.header(ACCEPT_ENCODING, coding);
        }
        let service = ConditionalLayer::from_responses()
            .compressed()
            .layer(handler);
        let response = service
            .oneshot(request.body(String::new()).unwrap())
            .await
            .unwrap();
        let sent = response.headers().get(CONTENT_ENCODING);
        assert_eq!(
            sent.map(|v| v.to_str().unwrap()),
            coding,
            "{tag} {coding:?}"
        );
        assert_eq!(response.headers()[ETAG], issued, "{tag} {coding:?}");
    }
}

/// A body that sends what the test puts into its channel, of unknown size.
struct Channel(mpsc::Receiver<Bytes>);

impl Body for Channel {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.0
            .poll_recv(cx)
            .map(|chunk| chunk.map(|c| Ok(Frame::data(c))))
    }
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .unwrap();
    out
}

/// The list of the issue: `from_responses` behind compression, a browser's gzip GET.
#[tokio::test]
async fn a_gzip_list_gets_a_hash_etag_and_revalidates_with_it() {
    let app = axum::Router::new()
        .route(
            "/fruit",
            axum::routing::get(|| async {
                axum::Json(serde_json::json!([
                    "apples", "pears", "plums", "quinces", "sloes", "apples", "pears", "plums"
                ]))
            }),
        )
        .layer(ConditionalLayer::from_responses().compressed());
    let gzip = || Request::get("/fruit").header(ACCEPT_ENCODING, "gzip, deflate, br, zstd");
    let first = app
        .clone()
        .oneshot(gzip().body(String::new()).unwrap())
        .await
        .unwrap();
    assert_eq!(
        first.headers()[CONTENT_ENCODING],
        "br",
        "tower-http prefers br"
    );
    let etag = first.headers()[ETAG].clone();
    assert!(etag.to_str().unwrap().ends_with("-br\""), "{etag:?}");

    let again = gzip()
        .header(IF_NONE_MATCH, etag.clone())
        .body(String::new())
        .unwrap();
    let answer = app.oneshot(again).await.unwrap();
    assert_eq!(answer.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(answer.headers()[ETAG], etag);
}

#[tokio::test]
async fn a_compressed_body_over_the_size_bound_goes_out_whole_and_untagged() {
    let handler = service_fn(|_: Request<String>| async {
        let response = Response::builder().header(CONTENT_TYPE, "application/json");
        Ok::<_, Infallible>(response.body(Full::new(Bytes::from_static(TEXT))).unwrap())
    });
    let service = ConditionalLayer::from_responses()
        .body_hash(BodyHashConfig::default().limit(16))
        .compressed()
        .layer(handler);
    let request = Request::get("/").header(ACCEPT_ENCODING, "gzip");
    let response = service
        .oneshot(request.body(String::new()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.headers()[CONTENT_ENCODING], "gzip");
    assert!(!response.headers().contains_key(ETAG));
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(gunzip(&body), TEXT, "whole");
}

/// The body stalls after its first chunk: the response must reach the test (untagged) while
/// the stream is still open, so the bound holds without any data arriving; then the rest
/// follows and the body is whole.
#[tokio::test]
async fn a_stalled_compressed_stream_is_sent_on_untagged_at_the_time_bound() {
    let (sender, receiver) = mpsc::channel(4);
    let body = std::sync::Arc::new(std::sync::Mutex::new(Some(Channel(receiver))));
    let handler = service_fn(move |_: Request<String>| {
        let body = body.lock().unwrap().take().unwrap();
        async move {
            let response = Response::builder().header(CONTENT_TYPE, "text/plain");
            Ok::<_, Infallible>(response.body(body).unwrap())
        }
    });
    let service = ConditionalLayer::from_responses()
        .body_hash(BodyHashConfig::default().timeout(Duration::from_millis(50)))
        .compressed()
        .layer(handler);
    sender.send(Bytes::from_static(&TEXT[..40])).await.unwrap();
    let request = Request::get("/").header(ACCEPT_ENCODING, "gzip");
    // A bound for the test itself, not an assertion on time: a layer holding the stream for
    // its end would never answer, as the rest is only sent once the head is here. (Biased, so
    // that the bound's own wake-up cannot be what lets the layer answer.)
    let response = tokio::select! {
        biased;
        () = tokio::time::sleep(Duration::from_secs(10)) => panic!("the response was held"),
        response = service.oneshot(request.body(String::new()).unwrap()) => response.unwrap(),
    };
    assert_eq!(response.headers()[CONTENT_ENCODING], "gzip");
    assert!(!response.headers().contains_key(ETAG));
    sender.send(Bytes::from_static(&TEXT[40..])).await.unwrap();
    drop(sender);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(gunzip(&body), TEXT, "whole");
}

/// A compressed stream that ends within the bounds is tagged like any other.
#[tokio::test]
async fn a_compressed_stream_that_ends_in_time_is_tagged() {
    let (sender, receiver) = mpsc::channel(4);
    sender.send(Bytes::from_static(&TEXT[..40])).await.unwrap();
    sender.send(Bytes::from_static(&TEXT[40..])).await.unwrap();
    drop(sender);
    let body = std::sync::Arc::new(std::sync::Mutex::new(Some(Channel(receiver))));
    let handler = service_fn(move |_: Request<String>| {
        let body = body.lock().unwrap().take().unwrap();
        async move {
            let response = Response::builder().header(CONTENT_TYPE, "text/plain");
            Ok::<_, Infallible>(response.body(body).unwrap())
        }
    });
    let service = ConditionalLayer::from_responses()
        .compressed()
        .layer(handler);
    let request = Request::get("/").header(ACCEPT_ENCODING, "gzip");
    let response = service
        .oneshot(request.body(String::new()).unwrap())
        .await
        .unwrap();
    let etag = response.headers()[ETAG].to_str().unwrap().to_owned();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let hash = ETag::from_content(&body).to_string();
    assert_eq!(etag, format!("{}-gzip\"", hash.trim_end_matches('"')));
    assert_eq!(gunzip(&body), TEXT);
}
