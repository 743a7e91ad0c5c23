//! Issue 30 on the bare layer: a ranged GET's `If-Match` and `If-Unmodified-Since` are guarded as
//! `If-Range` is (a write committed between the look-up and the handler's read never gets the
//! client a 206 of the version it did not name), a date is judged by the second the handler was
//! called, a handler's 412 names the current version, and `from_responses` honours
//! `Content-Length` and keeps the `Range` of a request whose only condition is `If-Range`.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::header::{
    CONTENT_LENGTH, CONTENT_RANGE, ETAG, IF_MATCH, IF_NONE_MATCH, IF_RANGE, IF_UNMODIFIED_SINCE,
    LAST_MODIFIED, RANGE,
};
use http::request::Parts;
use http::{HeaderValue, Request, Response, StatusCode};
use http_body::{Body, Frame};
use http_body_util::BodyExt;
use tower::{Layer, Service, ServiceExt, service_fn};
use tower_conditional::response::AnswerBody;
use tower_conditional::{Checked, ConditionalLayer, ETag, LastModified, Lookup, Validators};

const V1: &[u8] = b"AAAAAAAA";
const V2: &[u8] = b"BBBBBBBB";

/// One document: version number, bytes, and the Unix second it is dated.
#[derive(Clone)]
struct Document(Arc<Mutex<(u64, &'static [u8], u64)>>);

impl Document {
    fn dated(seconds: u64) -> Self {
        Document(Arc::new(Mutex::new((1, V1, seconds))))
    }

    fn read(&self) -> (u64, &'static [u8], u64) {
        *self.0.lock().expect("lock")
    }

    /// Commits the next version, dated `later` seconds after this one.
    fn write(&self, later: u64) {
        let mut document = self.0.lock().expect("lock");
        *document = (document.0 + 1, V2, document.2 + later);
    }

    fn validators(&self) -> Validators {
        let (version, _, date) = self.read();
        Validators::new()
            .with_etag(ETag::strong(format!("v{version}")).expect("a tag"))
            .with_last_modified(LastModified::from_unix_seconds(date).expect("a date"))
            .with_strong_last_modified(true)
    }
}

/// A source answering the document's current state and then, once `race` is armed, committing
/// the next version (dated `later` seconds on): a write between the look-up and the read.
/// Counts its look-ups.
fn racing_source(
    document: Document,
    race: Arc<AtomicBool>,
    later: u64,
    lookups: Arc<AtomicUsize>,
) -> impl Fn(&Parts) -> std::future::Ready<Result<Lookup, Infallible>> + Clone {
    move |_: &Parts| {
        lookups.fetch_add(1, Ordering::SeqCst);
        let validators = document.validators();
        if race.swap(false, Ordering::SeqCst) {
            document.write(later);
        }
        std::future::ready(Ok(Lookup::Present(validators)))
    }
}

/// A source whose file is replaced just after the first look-up: `"v1"`, then `"v2"` (both
/// dated `modified` when given). Counts its look-ups.
fn replaced_after_first_lookup(
    lookups: Arc<AtomicUsize>,
    modified: Option<u64>,
) -> impl Fn(&Parts) -> std::future::Ready<Result<Lookup, Infallible>> + Clone {
    move |_: &Parts| {
        let tag = match lookups.fetch_add(1, Ordering::SeqCst) {
            0 => "\"v1\"",
            _ => "\"v2\"",
        };
        let mut validators = Validators::new().with_etag(ETag::from_static(tag));
        if let Some(second) = modified {
            let date = LastModified::from_unix_seconds(second).expect("a date");
            validators = validators.with_last_modified(date);
        }
        std::future::ready(Ok(Lookup::Present(validators)))
    }
}

/// What the handler's 206 says of the version it read (it never looks at `Checked`).
#[derive(Debug, Clone, Copy)]
enum Says {
    Tag,
    Date,
    Nothing,
}

fn unix_now() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
}

fn date_value(seconds: u64) -> HeaderValue {
    LastModified::from_unix_seconds(seconds)
        .expect("a date")
        .to_header_value()
}

async fn ranged(
    document: &Document,
    race: bool,
    says: Says,
    condition: (http::HeaderName, HeaderValue),
) -> (Response<Bytes>, usize) {
    let lookups = Arc::new(AtomicUsize::new(0));
    let source = racing_source(
        document.clone(),
        Arc::new(AtomicBool::new(race)),
        1,
        lookups.clone(),
    );
    let read = document.clone();
    let handler = service_fn(move |request: Request<String>| {
        let (version, content, date) = read.read();
        async move {
            assert!(
                request.headers().contains_key(RANGE),
                "the range reaches it"
            );
            let mut response = Response::builder()
                .status(StatusCode::PARTIAL_CONTENT)
                .header(CONTENT_RANGE, "bytes 4-7/8");
            match says {
                Says::Tag => response = response.header(ETAG, format!("\"v{version}\"")),
                Says::Date => response = response.header(LAST_MODIFIED, date_value(date)),
                Says::Nothing => {}
            }
            Ok::<_, Infallible>(
                response
                    .body(String::from_utf8_lossy(&content[4..]).into_owned())
                    .expect("response"),
            )
        }
    });
    let request = Request::get("/doc")
        .header(RANGE, "bytes=4-")
        .header(condition.0, condition.1)
        .body(String::new())
        .expect("request");
    let response = ConditionalLayer::new(source)
        .layer(handler)
        .oneshot(request)
        .await
        .expect("infallible");
    let (head, body) = response.into_parts();
    let body = body.collect().await.expect("body").to_bytes();
    (
        Response::from_parts(head, body),
        lookups.load(Ordering::SeqCst),
    )
}

#[track_caller]
fn assert_no_206_of_v2(response: &Response<Bytes>) {
    if response.status() == StatusCode::PARTIAL_CONTENT {
        assert_eq!(&response.body()[..], &V1[4..], "a 206 of v2: {response:?}");
    }
}

#[tokio::test]
async fn a_ranged_if_match_raced_by_a_write_gets_412_naming_the_new_version() {
    let old = unix_now().as_secs() - 100;
    for says in [Says::Tag, Says::Nothing] {
        let document = Document::dated(old);
        let if_match = (IF_MATCH, HeaderValue::from_static("\"v1\""));
        let (raced, lookups) = ranged(&document, true, says, if_match.clone()).await;
        assert_no_206_of_v2(&raced);
        assert_eq!(raced.status(), StatusCode::PRECONDITION_FAILED, "{says:?}");
        assert_eq!(raced.headers()[ETAG], "\"v2\"", "{says:?}");
        // Judged by the 206's own tag, or by a second look-up when it has none.
        let expected = if let Says::Tag = says { 1 } else { 2 };
        assert_eq!(lookups, expected, "{says:?}");

        // No race: the 206 of the version named.
        let document = Document::dated(old);
        let (matching, _) = ranged(&document, false, says, if_match).await;
        assert_eq!(matching.status(), StatusCode::PARTIAL_CONTENT, "{says:?}");
        assert_eq!(&matching.body()[..], &V1[4..]);
    }
}

#[tokio::test]
async fn a_ranged_if_unmodified_since_raced_by_a_write_gets_412() {
    let old = unix_now().as_secs() - 100;
    for says in [Says::Date, Says::Nothing] {
        let document = Document::dated(old);
        let held = (IF_UNMODIFIED_SINCE, date_value(old));
        let (raced, _) = ranged(&document, true, says, held.clone()).await;
        assert_no_206_of_v2(&raced);
        assert_eq!(raced.status(), StatusCode::PRECONDITION_FAILED, "{says:?}");
        assert_eq!(
            raced.headers()[LAST_MODIFIED],
            date_value(old + 1),
            "{says:?}"
        );

        let document = Document::dated(old);
        let (matching, _) = ranged(&document, false, says, held).await;
        assert_eq!(matching.status(), StatusCode::PARTIAL_CONTENT, "{says:?}");
    }
}

/// A handler that caps a future date at the current second and finishes just after the second
/// turns: the date it sent is judged against the second it was called, not the clock when the
/// 206 reaches the layer.
#[tokio::test]
async fn a_date_sent_as_now_is_judged_by_the_second_the_handler_was_called() {
    for field in [IF_RANGE, IF_UNMODIFIED_SINCE] {
        // Start early in a second: the look-up and the handler's read share it.
        while unix_now().subsec_millis() >= 300 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let second = unix_now().as_secs();
        let document = Document::dated(second);
        let lookups = Arc::new(AtomicUsize::new(0));
        // The racing write is dated one second on: in the future when it commits.
        let source = racing_source(
            document.clone(),
            Arc::new(AtomicBool::new(true)),
            1,
            lookups,
        );
        let read = document.clone();
        let handler = service_fn(move |_: Request<String>| {
            let (_, content, date) = read.read();
            async move {
                // The crate's own header value: a future date is sent as now (§8.8.2.1).
                let sent = date_value(date);
                // Finish after the second has turned.
                let turn = Duration::from_secs(second + 1) + Duration::from_millis(50);
                tokio::time::sleep(turn.saturating_sub(unix_now())).await;
                let response = Response::builder()
                    .status(StatusCode::PARTIAL_CONTENT)
                    .header(CONTENT_RANGE, "bytes 4-7/8")
                    .header(LAST_MODIFIED, sent)
                    .body(String::from_utf8_lossy(&content[4..]).into_owned());
                Ok::<_, Infallible>(response.expect("response"))
            }
        });
        let request = Request::get("/doc")
            .header(RANGE, "bytes=4-")
            .header(field.clone(), date_value(second))
            .body(String::new())
            .expect("request");
        let response = ConditionalLayer::new(source)
            .layer(handler)
            .oneshot(request)
            .await
            .expect("infallible");
        assert!(unix_now().as_secs() > second, "the second turned");
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        if status == StatusCode::PARTIAL_CONTENT {
            assert_eq!(&body[..], &V1[4..], "{field}: a 206 of v2");
        }
        let expected = if field == IF_RANGE {
            StatusCode::SERVICE_UNAVAILABLE
        } else {
            StatusCode::PRECONDITION_FAILED
        };
        assert_eq!(status, expected, "{field}");
    }
}

// ---------------------------------------------------------------------------------------------
// A handler's 412 names the current version.

/// A write handler whose compare-and-set always loses to another writer, who commits v2 just
/// before; it answers with `Checked::lost_race`.
async fn lost_race(
    layer: ConditionalLayer<impl tower_conditional::ValidatorSource + Clone>,
    document: &Document,
) -> Response<String> {
    lost_race_taking(layer, document, Checked::from_request).await
}

/// A handler that takes its `Checked` by `take`, then loses the race: the document's next
/// version commits before its compare-and-set, and it answers `lost_race`.
fn losing_handler(
    document: &Document,
    take: fn(&Request<String>) -> Option<Checked>,
) -> impl Service<Request<String>, Response = Response<String>, Error = Infallible, Future: Send> + Clone
{
    let racing = document.clone();
    service_fn(move |request: Request<String>| {
        let checked = take(&request);
        racing.write(1);
        async move {
            let checked = checked.expect("a checked write");
            let refused = checked
                .lost_race()
                .map(|body| String::from_utf8_lossy(&body.into_bytes()).into_owned());
            Ok::<_, Infallible>(refused)
        }
    })
}

/// [`lost_race`], with the handler taking its `Checked` by `take`.
async fn lost_race_taking(
    layer: ConditionalLayer<impl tower_conditional::ValidatorSource + Clone>,
    document: &Document,
    take: fn(&Request<String>) -> Option<Checked>,
) -> Response<String> {
    let handler = losing_handler(document, take);
    let write = Request::put("/doc")
        .header(IF_MATCH, "\"v1\"")
        .body(String::from("new"))
        .expect("request");
    layer
        .layer(handler)
        .oneshot(write)
        .await
        .expect("infallible")
        .map(|_| String::new())
}

#[tokio::test]
async fn a_lost_race_412_gets_the_current_validators_from_a_second_look_up() {
    let old = unix_now().as_secs() - 100;
    let document = Document::dated(old);
    let lookups = Arc::new(AtomicUsize::new(0));
    let never = Arc::new(AtomicBool::new(false));
    let source = racing_source(document.clone(), never.clone(), 0, lookups.clone());
    let refused = lost_race(ConditionalLayer::new(source.clone()), &document).await;
    assert_eq!(refused.status(), StatusCode::PRECONDITION_FAILED);
    assert_eq!(refused.headers()[ETAG], "\"v2\"");
    assert_eq!(refused.headers()[LAST_MODIFIED], date_value(old + 1));
    assert_eq!(lookups.load(Ordering::SeqCst), 2, "asked again once");

    // Validators kept out of 412s: none, and the source is not asked again.
    let document = Document::dated(old);
    let lookups = Arc::new(AtomicUsize::new(0));
    let source = racing_source(document.clone(), never, 0, lookups.clone());
    let layer = ConditionalLayer::new(source).validators_in_412(false);
    let refused = lost_race(layer, &document).await;
    assert_eq!(refused.status(), StatusCode::PRECONDITION_FAILED);
    assert!(!refused.headers().contains_key(ETAG));
    assert_eq!(lookups.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_lost_race_412_is_looked_up_again_with_the_request_s_own_head() {
    let document = Document::dated(unix_now().as_secs() - 100);
    let asked = Arc::new(Mutex::new(Vec::new()));
    let source = {
        let (document, asked) = (document.clone(), asked.clone());
        move |parts: &Parts| {
            let tenant = parts.headers.get("x-tenant").cloned();
            asked.lock().unwrap().push((parts.uri.to_string(), tenant));
            std::future::ready(Ok::<_, Infallible>(Lookup::Present(document.validators())))
        }
    };
    let handler = losing_handler(&document, Checked::from_request);
    let write = Request::put("/doc?x=1")
        .header(IF_MATCH, "\"v1\"")
        .header("x-tenant", "acme")
        .body(String::from("new"))
        .expect("request");
    let refused = ConditionalLayer::new(source)
        .layer(handler)
        .oneshot(write)
        .await
        .expect("infallible");
    assert_eq!(refused.status(), StatusCode::PRECONDITION_FAILED);
    assert_eq!(refused.headers()[ETAG], "\"v2\"");
    let asked = asked.lock().unwrap();
    let first = (
        String::from("/doc?x=1"),
        Some(HeaderValue::from_static("acme")),
    );
    assert_eq!(*asked, [first.clone(), first], "the same head, twice");
}

/// A service between the layer and the handler rewrites the target, and nothing says what the
/// source was asked about: the 412 goes out without a second look-up, never one about another
/// resource.
#[tokio::test]
async fn a_lost_race_whose_target_was_rewritten_is_not_looked_up_about_another_one() {
    let document = Document::dated(unix_now().as_secs() - 100);
    let asked = Arc::new(Mutex::new(Vec::new()));
    let source = {
        let (document, asked) = (document.clone(), asked.clone());
        move |parts: &Parts| {
            asked.lock().unwrap().push(parts.uri.path().to_owned());
            std::future::ready(Ok::<_, Infallible>(Lookup::Present(document.validators())))
        }
    };
    let handler = losing_handler(&document, Checked::from_request);
    let rewrite = tower::util::MapRequestLayer::new(|mut request: Request<String>| {
        *request.uri_mut() = "/elsewhere".parse().expect("a URI");
        request
    });
    let write = Request::put("/doc")
        .header(IF_MATCH, "\"v1\"")
        .body(String::from("new"))
        .expect("request");
    let refused = ConditionalLayer::new(source)
        .layer(rewrite.layer(handler))
        .oneshot(write)
        .await
        .expect("infallible");
    assert_eq!(refused.status(), StatusCode::PRECONDITION_FAILED);
    assert!(!refused.headers().contains_key(ETAG));
    assert_eq!(*asked.lock().unwrap(), ["/doc"], "asked once, about /doc");
}

#[tokio::test]
async fn a_checked_read_straight_from_the_extensions_keeps_no_head_and_no_second_look_up() {
    let document = Document::dated(unix_now().as_secs() - 100);
    let lookups = Arc::new(AtomicUsize::new(0));
    let never = Arc::new(AtomicBool::new(false));
    let source = racing_source(document.clone(), never, 0, lookups.clone());
    let straight: fn(&Request<String>) -> Option<Checked> =
        |request| request.extensions().get::<Checked>().cloned();
    let refused = lost_race_taking(ConditionalLayer::new(source), &document, straight).await;
    assert_eq!(refused.status(), StatusCode::PRECONDITION_FAILED);
    assert!(!refused.headers().contains_key(ETAG), "as documented");
    assert_eq!(lookups.load(Ordering::SeqCst), 1, "not asked again");
}

#[tokio::test]
async fn a_lost_race_412_goes_out_as_it_is_when_the_second_look_up_fails() {
    let document = Document::dated(unix_now().as_secs() - 100);
    let calls = Arc::new(AtomicUsize::new(0));
    let source = {
        let document = document.clone();
        move |_: &Parts| {
            let first = calls.fetch_add(1, Ordering::SeqCst) == 0;
            let answer = if first {
                Ok(Lookup::Present(document.validators()))
            } else {
                Err("database unreachable")
            };
            std::future::ready(answer)
        }
    };
    let refused = lost_race(ConditionalLayer::new(source), &document).await;
    assert_eq!(refused.status(), StatusCode::PRECONDITION_FAILED);
    assert!(!refused.headers().contains_key(ETAG));
}

// ---------------------------------------------------------------------------------------------
// `from_responses`.

/// A body sent in one chunk whose size hint is inexact, as a file streamed from disk.
struct Streamed(Option<Bytes>);

impl Body for Streamed {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(self.0.take().map(|chunk| Ok(Frame::data(chunk))))
    }
}

#[tokio::test]
async fn from_responses_tags_a_body_of_inexact_size_hint_by_its_content_length() {
    let file = service_fn(|_: Request<String>| async {
        let response = Response::builder()
            .header(CONTENT_LENGTH, V1.len())
            .body(Streamed(Some(Bytes::from_static(V1))));
        Ok::<_, Infallible>(response.expect("response"))
    });
    let service = ConditionalLayer::from_responses().layer(file);
    let first = service
        .clone()
        .oneshot(Request::get("/f").body(String::new()).expect("request"))
        .await
        .expect("infallible");
    assert_eq!(
        first.headers()[ETAG],
        HeaderValue::from(&ETag::from_content(V1))
    );
    let again = Request::get("/f")
        .header(IF_NONE_MATCH, first.headers()[ETAG].clone())
        .body(String::new())
        .expect("request");
    let response = service.oneshot(again).await.expect("infallible");
    assert_eq!(response.status(), StatusCode::NOT_MODIFIED);
}

#[tokio::test]
async fn from_responses_keeps_the_range_of_a_request_whose_only_condition_is_if_range() {
    // The inner service decides If-Range by its own tag, as a file server does.
    let current = Arc::new(Mutex::new("\"v1\""));
    let file = {
        let current = current.clone();
        service_fn(move |request: Request<String>| {
            let tag = *current.lock().expect("lock");
            async move {
                let honoured = request.headers().contains_key(RANGE)
                    && request
                        .headers()
                        .get(IF_RANGE)
                        .is_none_or(|named| named == tag);
                let response = Response::builder().header(ETAG, tag);
                let response = if honoured {
                    response
                        .status(StatusCode::PARTIAL_CONTENT)
                        .header(CONTENT_RANGE, "bytes 4-7/8")
                        .body(String::from("AAAA"))
                } else {
                    response.body(String::from("AAAAAAAA"))
                };
                Ok::<_, Infallible>(response.expect("response"))
            }
        })
    };
    let service = ConditionalLayer::from_responses().layer(file);
    let resume = |tag: &'static str| {
        Request::get("/f")
            .header(RANGE, "bytes=4-")
            .header(IF_RANGE, tag)
            .body(String::new())
            .expect("request")
    };
    let resumed = service
        .clone()
        .oneshot(resume("\"v1\""))
        .await
        .expect("infallible");
    assert_eq!(resumed.status(), StatusCode::PARTIAL_CONTENT);
    let stale = service
        .clone()
        .oneshot(resume("\"v0\""))
        .await
        .expect("infallible");
    assert_eq!(stale.status(), StatusCode::OK);

    // An inner service that ignores If-Range: its 206 of another version never leaves.
    let ignoring = service_fn(|_: Request<String>| async {
        let response = Response::builder()
            .status(StatusCode::PARTIAL_CONTENT)
            .header(ETAG, "\"v2\"")
            .header(CONTENT_RANGE, "bytes 4-7/8")
            .body(String::from("BBBB"));
        Ok::<_, Infallible>(response.expect("response"))
    });
    let guarded = ConditionalLayer::from_responses().layer(ignoring);
    let response = guarded.oneshot(resume("\"v1\"")).await.expect("infallible");
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
}

/// With the takeover, the inner service's own tag on a 206 is not the source's: the 206 is
/// judged by a second look-up, so a resume of the named version keeps its 206.
#[tokio::test]
async fn with_the_takeover_a_206_is_judged_by_a_second_look_up() {
    let document = Document::dated(unix_now().as_secs() - 100);
    for take_over in [false, true] {
        let lookups = Arc::new(AtomicUsize::new(0));
        let never = Arc::new(AtomicBool::new(false));
        let source = racing_source(document.clone(), never, 0, lookups.clone());
        let files = service_fn(|request: Request<String>| async move {
            assert!(!request.headers().contains_key(IF_RANGE));
            let response = Response::builder()
                .status(StatusCode::PARTIAL_CONTENT)
                .header(ETAG, "\"size-time\"")
                .header(CONTENT_RANGE, "bytes 4-7/8")
                .body(String::from("AAAA"));
            Ok::<_, Infallible>(response.expect("response"))
        });
        let layer = ConditionalLayer::new(source).take_over_validators(take_over);
        let resume = Request::get("/doc")
            .header(RANGE, "bytes=4-")
            .header(IF_RANGE, "\"v1\"")
            .body(String::new())
            .expect("request");
        let response = layer
            .layer(files)
            .oneshot(resume)
            .await
            .expect("infallible");
        if take_over {
            assert_eq!(response.status(), StatusCode::PARTIAL_CONTENT);
            assert_eq!(lookups.load(Ordering::SeqCst), 2, "asked again");
        } else {
            // Its own tag is not the one named: never sent.
            assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        }
    }
}

/// `from_responses` over a service that tags nothing (the layer's content hashes are the only
/// tags the client ever saw): a resume naming the hash the layer issued must not be answered
/// 503 for ever, since no retry can ever make it provable.
#[tokio::test]
async fn from_responses_resumes_of_an_untagged_service_are_not_refused_for_ever() {
    let file = service_fn(|request: Request<String>| async move {
        let ranged = request.headers().contains_key(RANGE);
        let response = if ranged {
            Response::builder()
                .status(StatusCode::PARTIAL_CONTENT)
                .header(CONTENT_RANGE, "bytes 4-7/8")
                .body(String::from("AAAA"))
        } else {
            Response::builder().body(String::from("AAAAAAAA"))
        };
        Ok::<_, Infallible>(response.expect("response"))
    });
    let service = ConditionalLayer::from_responses().layer(file);
    let first = service
        .clone()
        .oneshot(Request::get("/f").body(String::new()).expect("request"))
        .await
        .expect("infallible");
    let tag = first.headers()[ETAG].clone();
    for _ in 0..3 {
        let resume = Request::get("/f")
            .header(RANGE, "bytes=4-")
            .header(IF_RANGE, tag.clone())
            .body(String::new())
            .expect("request");
        let response = service.clone().oneshot(resume).await.expect("infallible");
        // The layer's own body hash can never be on the service's 206: the whole file.
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "a retry can never succeed"
        );
        assert_eq!(response.headers()[ETAG], tag);
    }
}

/// A GET of `/f` through the layer with the takeover, in front of a file server that reads
/// `bytes` and tags them with its own size-and-time tag.
async fn through_the_takeover(
    source: impl tower_conditional::ValidatorSource + Clone,
    bytes: &'static str,
) -> Response<tower_conditional::ConditionalBody<String>> {
    let files = service_fn(move |_: Request<String>| async move {
        let response = Response::builder()
            .header(ETAG, "\"size-time\"")
            .body(String::from(bytes));
        Ok::<_, Infallible>(response.expect("response"))
    });
    let service = ConditionalLayer::new(source)
        .take_over_validators(true)
        .layer(files);
    service
        .oneshot(Request::get("/f").body(String::new()).expect("request"))
        .await
        .expect("infallible")
}

/// With the takeover, a 200's `ETag` comes from the look-up made before the inner service
/// read: a file replaced in between would be sent with the previous version's tag (a client
/// holding those bytes under that tag would then get a 304 for them whenever that version came
/// back, and a resume would splice). A second look-up after the read confirms it: here it finds
/// another version, and the 200 goes out without validators.
#[tokio::test]
async fn with_the_takeover_a_200_never_carries_the_tag_of_a_version_it_is_not() {
    let lookups = Arc::new(AtomicUsize::new(0));
    let source = replaced_after_first_lookup(lookups.clone(), None);
    // The file server reads what is there when it runs: v2, with its own mtime tag.
    let response = through_the_takeover(source, "v2 bytes").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_ne!(
        response.headers().get(ETAG).map(HeaderValue::as_bytes),
        Some(&b"\"v1\""[..]),
        "v2's bytes went out tagged v1"
    );
    assert!(!response.headers().contains_key(ETAG), "nor its own tag");
    assert_eq!(lookups.load(Ordering::SeqCst), 2, "asked again once");
}

/// With the takeover, a source that names no version (present, without `ETag` or
/// `Last-Modified`) has nothing to confirm: it is asked once, and the 200 carries no validators
/// (not the inner service's own).
#[tokio::test]
async fn with_the_takeover_a_source_without_validators_is_asked_once() {
    let lookups = Arc::new(AtomicUsize::new(0));
    let source = {
        let lookups = lookups.clone();
        move |_: &Parts| {
            lookups.fetch_add(1, Ordering::SeqCst);
            std::future::ready(Ok::<_, Infallible>(Lookup::Present(Validators::new())))
        }
    };
    let response = through_the_takeover(source, "v1 bytes").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(!response.headers().contains_key(ETAG));
    assert_eq!(lookups.load(Ordering::SeqCst), 1, "nothing to confirm");
}

/// The takeover's second look-up finds the version of the first: the 200 carries the source's
/// validators, and a failing second look-up leaves it without any.
#[tokio::test]
async fn with_the_takeover_a_confirmed_200_carries_the_source_s_tag() {
    for fails in [false, true] {
        let lookups = Arc::new(AtomicUsize::new(0));
        let source = {
            let lookups = lookups.clone();
            move |_: &Parts| {
                let second = lookups.fetch_add(1, Ordering::SeqCst) > 0;
                let answer = match fails && second {
                    true => Err("database unreachable"),
                    false => Ok(Lookup::Present(
                        Validators::new().with_etag(ETag::from_static("\"v1\"")),
                    )),
                };
                std::future::ready(answer)
            }
        };
        let response = through_the_takeover(source, "v1 bytes").await;
        assert_eq!(response.status(), StatusCode::OK);
        let tag = response.headers().get(ETAG).map(HeaderValue::as_bytes);
        match fails {
            false => assert_eq!(tag, Some(&b"\"v1\""[..])),
            true => assert_eq!(tag, None, "unconfirmed: no validators"),
        }
        assert_eq!(lookups.load(Ordering::SeqCst), 2);
    }
}

/// `from_responses` over a file server that sends `Last-Modified` but no `ETag`: a browser
/// resumes with a date `If-Range`; the answer must be a 206 or the whole 200, never a 503 that
/// every retry gets again.
#[tokio::test]
async fn from_responses_date_if_range_is_never_refused_for_ever() {
    let modified = date_value(unix_now().as_secs() - 3600);
    let file = {
        let modified = modified.clone();
        service_fn(move |request: Request<String>| {
            let modified = modified.clone();
            async move {
                let honoured = request.headers().contains_key(RANGE)
                    && request
                        .headers()
                        .get(IF_RANGE)
                        .is_none_or(|named| *named == modified);
                let response = Response::builder().header(LAST_MODIFIED, modified);
                let response = if honoured {
                    response
                        .status(StatusCode::PARTIAL_CONTENT)
                        .header(CONTENT_RANGE, "bytes 4-7/8")
                        .body(String::from("AAAA"))
                } else {
                    response.body(String::from("AAAAAAAA"))
                };
                Ok::<_, Infallible>(response.expect("response"))
            }
        })
    };
    let service = ConditionalLayer::from_responses().layer(file);
    for _ in 0..2 {
        let resume = Request::get("/f")
            .header(RANGE, "bytes=4-")
            .header(IF_RANGE, modified.clone())
            .body(String::new())
            .expect("request");
        let response = service.clone().oneshot(resume).await.expect("infallible");
        assert_ne!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    }
}

/// Review finding: with the takeover, a 206 is judged by a second look-up (its own validators
/// are foreign), and an `If-Unmodified-Since` holds for any version of the same second. Where
/// that look-up finds another version of the same second, the 206 is of the version the
/// client named by date, but it must not go out with the first look-up's tag: its bytes may
/// be the other version's.
#[tokio::test]
async fn with_the_takeover_a_206_never_carries_the_tag_of_a_version_it_is_not() {
    let second = unix_now().as_secs() - 100;
    let lookups = Arc::new(AtomicUsize::new(0));
    // Rewritten within the same second, just after the first look-up.
    let source = replaced_after_first_lookup(lookups.clone(), Some(second));
    let files = service_fn(|_: Request<String>| async {
        let response = Response::builder()
            .status(StatusCode::PARTIAL_CONTENT)
            .header(ETAG, "\"size-time-2\"")
            .header(CONTENT_RANGE, "bytes 4-7/8")
            .body(String::from("BBBB"));
        Ok::<_, Infallible>(response.expect("response"))
    });
    let service = ConditionalLayer::new(source)
        .take_over_validators(true)
        .layer(files);
    let resume = Request::get("/f")
        .header(RANGE, "bytes=4-")
        .header(IF_UNMODIFIED_SINCE, date_value(second))
        .body(String::new())
        .expect("request");
    let response = service.oneshot(resume).await.expect("infallible");
    assert_eq!(lookups.load(Ordering::SeqCst), 2);
    if response.status() == StatusCode::PARTIAL_CONTENT {
        assert_ne!(
            response.headers().get(ETAG).map(HeaderValue::as_bytes),
            Some(&b"\"v1\""[..]),
            "v2's bytes went out tagged v1"
        );
    }
}

/// Review finding: the head a `Checked` keeps for its 412 is the request's, credentials and
/// all; `{checked:?}` (a handler's `tracing::debug!(?checked)`) must not print it.
#[tokio::test]
async fn a_checked_s_debug_does_not_print_the_request_s_credentials() {
    let document = Document::dated(unix_now().as_secs() - 100);
    let source = {
        let document = document.clone();
        move |_: &Parts| {
            std::future::ready(Ok::<_, Infallible>(Lookup::Present(document.validators())))
        }
    };
    let printed = Arc::new(Mutex::new(String::new()));
    let handler = {
        let printed = printed.clone();
        service_fn(move |request: Request<String>| {
            let checked = Checked::from_request(&request).expect("a checked write");
            *printed.lock().unwrap() = format!("{checked:?}");
            async { Ok::<_, Infallible>(Response::new(String::new())) }
        })
    };
    let write = Request::put("/doc")
        .header(IF_MATCH, "\"v1\"")
        .header(http::header::AUTHORIZATION, "Bearer s3cr3t")
        .body(String::from("new"))
        .expect("request");
    let response = ConditionalLayer::new(source)
        .layer(handler)
        .oneshot(write)
        .await
        .expect("infallible");
    assert_eq!(response.status(), StatusCode::OK);
    let printed = printed.lock().unwrap();
    assert!(printed.contains("Checked"), "{printed}");
    assert!(!printed.contains("s3cr3t"), "{printed}");
}

/// Review finding: a `Checked` kept from one request and answered on another (a handler's
/// cache of them, a batch) must not make the layer refill that other request's 412 with the
/// first request's resource: the 412 names the current version of its own target, or none.
#[tokio::test]
async fn a_lost_race_of_another_request_s_checked_never_names_that_request_s_resource() {
    let asked = Arc::new(Mutex::new(Vec::new()));
    let source = {
        let asked = asked.clone();
        move |parts: &Parts| {
            asked.lock().unwrap().push(parts.uri.path().to_owned());
            let tag = match parts.uri.path() {
                "/a" => "\"a1\"",
                _ => "\"b1\"",
            };
            let validators = Validators::new().with_etag(ETag::from_static(tag));
            std::future::ready(Ok::<_, Infallible>(Lookup::Present(validators)))
        }
    };
    let kept: Arc<Mutex<Option<Checked>>> = Arc::default();
    let handler = {
        let kept = kept.clone();
        service_fn(move |request: Request<String>| {
            let mine = Checked::from_request(&request).expect("a checked write");
            let response = match request.uri().path() {
                "/a" => {
                    *kept.lock().unwrap() = Some(mine);
                    Response::new(AnswerBody::from(Bytes::new()))
                }
                _ => kept.lock().unwrap().take().expect("kept").lost_race(),
            };
            async { Ok::<_, Infallible>(response) }
        })
    };
    let service = ConditionalLayer::new(source).layer(handler);
    for (path, tag) in [("/a", "\"a1\""), ("/b", "\"b1\"")] {
        let write = Request::put(path)
            .header(IF_MATCH, tag)
            .body(String::new())
            .expect("request");
        let response = service.clone().oneshot(write).await.expect("infallible");
        if path == "/b" {
            assert_eq!(response.status(), StatusCode::PRECONDITION_FAILED);
            assert_ne!(
                response
                    .headers()
                    .get(ETAG)
                    .unwrap_or(&HeaderValue::from_static("")),
                "\"a1\""
            );
        }
    }
    let asked = asked.lock().unwrap();
    assert!(!asked[2..].contains(&String::from("/a")), "asked {asked:?}");
}

/// Review finding: a lost race's 412 carries the request head back to the layer; on a
/// request the layer lets pass (no precondition, nothing looked up), that head (another
/// request's, a `Checked` kept by the handler) must not leave the layer on the response.
#[tokio::test]
async fn a_response_that_passed_the_layer_keeps_nothing_of_a_kept_head() {
    let marker = Arc::new(());
    let source = |_: &Parts| {
        let validators = Validators::new().with_etag(ETag::from_static("\"a1\""));
        std::future::ready(Ok::<_, Infallible>(Lookup::Present(validators)))
    };
    let kept: Arc<Mutex<Option<Checked>>> = Arc::default();
    let handler = {
        let kept = kept.clone();
        service_fn(move |request: Request<String>| {
            let response = match Checked::from_request(&request) {
                Some(mine) => {
                    *kept.lock().unwrap() = Some(mine);
                    Response::new(AnswerBody::from(Bytes::new()))
                }
                None => kept.lock().unwrap().take().expect("kept").lost_race(),
            };
            async { Ok::<_, Infallible>(response) }
        })
    };
    let service = ConditionalLayer::new(source).layer(handler);
    let mut write = Request::put("/a")
        .header(IF_MATCH, "\"a1\"")
        .body(String::new())
        .expect("request");
    write.extensions_mut().insert(marker.clone());
    let written = service.clone().oneshot(write).await.expect("infallible");
    assert_eq!(written.status(), StatusCode::OK);
    drop(written);
    let read = Request::get("/b").body(String::new()).expect("request");
    let refused = service.clone().oneshot(read).await.expect("infallible");
    assert_eq!(refused.status(), StatusCode::PRECONDITION_FAILED);
    assert_eq!(
        Arc::strong_count(&marker),
        1,
        "the 412 holds the write's head"
    );
}

/// Review finding: with the takeover, a read whose revalidation is decided on the response
/// (encoding-aware tags, a weak `If-None-Match` member) and that lacks a precondition
/// `require_preconditions` asks for gets the 428 unless it becomes a 304. A second look-up
/// that does not confirm the first must not turn that 428 into a 200: the 428 never depended
/// on the validators.
#[tokio::test]
async fn with_the_takeover_an_unconfirmed_read_still_gets_the_required_428() {
    let lookups = Arc::new(AtomicUsize::new(0));
    let source = replaced_after_first_lookup(lookups.clone(), None);
    let files = service_fn(|_: Request<String>| async {
        Ok::<_, Infallible>(Response::new(String::from("v2 bytes")))
    });
    let service = ConditionalLayer::new(source)
        .take_over_validators(true)
        .encoding_aware_etags(true)
        .require_preconditions([http::Method::GET])
        .layer(files);
    let revalidate = Request::get("/f")
        .header(IF_NONE_MATCH, "W/\"v1\"")
        .body(String::new())
        .expect("request");
    let response = service.oneshot(revalidate).await.expect("infallible");
    assert_eq!(lookups.load(Ordering::SeqCst), 2);
    assert_eq!(response.status(), StatusCode::PRECONDITION_REQUIRED);
}
