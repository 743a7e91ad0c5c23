//! `ConditionalUpdate` against a JSON API over TCP, as a new user would point it at one: an axum
//! app behind this crate's `ConditionalLayer`, a counter `{"count": n}` whose `ETag` is a version
//! counter, changed with `PATCH` through axum's `Json` extractor (which answers 415 without
//! `Content-Type: application/json`) and a compare-and-set.
//!
//! Between the client and the app, a TCP proxy written here loses the responses the test says:
//! a write dropped before it reaches the app, a write applied whose response is dropped, a write
//! held back and delivered late. Last, a server that streams a body without end.
#![cfg(feature = "client")]

mod support;

use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use http::header::{CONTENT_TYPE, ETAG};
use http::{Method, StatusCode, Uri};
use http_body::{Frame, SizeHint};
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio::time::timeout;
use tower_conditional::{
    Change, Checked, ConditionalLayer, ConditionalUpdate, Current, ETag, Lookup, Outcome,
    ResourceState, UpdateError, Validators,
};

use support::Server;

type HttpClient = Client<HttpConnector, Full<Bytes>>;
type NoWait = fn(Duration) -> std::future::Ready<()>;

/// No test here should come anywhere near this.
const LIMIT: Duration = Duration::from_secs(20);

fn http_client() -> HttpClient {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    Client::builder(TokioExecutor::new()).build(connector)
}

fn no_wait() -> ConditionalUpdate<NoWait> {
    let no_wait: NoWait = |_| std::future::ready(());
    ConditionalUpdate::new(no_wait)
}

// ---------------------------------------------------------------------------------------------
// The JSON API.

/// The counter, its version (the `ETag`) and how many writes the app applied.
#[derive(Debug, Default)]
struct Counter {
    count: i64,
    version: u64,
    applied: u64,
}

#[derive(Clone, Default)]
struct Db(Arc<Mutex<Counter>>);

fn state_of(counter: &Counter) -> ResourceState {
    Validators::new()
        .with_etag(ETag::from(counter.version))
        .into()
}

impl Db {
    fn state(&self) -> ResourceState {
        state_of(&self.0.lock().unwrap())
    }

    fn count(&self) -> i64 {
        self.0.lock().unwrap().count
    }

    fn applied(&self) -> u64 {
        self.0.lock().unwrap().applied
    }
}

async fn read(State(db): State<Db>) -> Response {
    let counter = db.0.lock().unwrap();
    let tag = ETag::from(counter.version).to_string();
    ([(ETAG, tag)], axum::Json(json!({ "count": counter.count }))).into_response()
}

/// `PATCH {"count": n}`: a compare-and-set against the version the layer checked.
async fn patch(
    State(db): State<Db>,
    checked: Checked,
    axum::Json(patch): axum::Json<Value>,
) -> Response {
    let Some(count) = patch.get("count").and_then(Value::as_i64) else {
        return (StatusCode::BAD_REQUEST, "count must be an integer").into_response();
    };
    // Check and set under one lock: the compare-and-set.
    let mut counter = db.0.lock().unwrap();
    let state = state_of(&counter);
    if !checked.is_current(&state) {
        return checked.refusal(&state).into_response();
    }
    counter.count = count;
    counter.version += 1;
    counter.applied += 1;
    let tag = ETag::from(counter.version).to_string();
    ([(ETAG, tag)], axum::Json(json!({ "count": count }))).into_response()
}

/// The app, over a counter at `/counter` that exists (version 1, count 0).
fn json_api(db: Db) -> Router {
    db.0.lock().unwrap().version = 1;
    let source = {
        let db = db.clone();
        move |_: &Parts| {
            let lookup = Lookup::from(db.state());
            async move { Ok::<_, Infallible>(lookup) }
        }
    };
    Router::new()
        .route("/counter", get(read).patch(patch))
        .route_layer(ConditionalLayer::new(source).require_preconditions([Method::PATCH]))
        .with_state(db)
}

/// The count of a JSON counter document, if it is one.
fn count_of(current: &Current) -> Option<i64> {
    let document: Value = serde_json::from_slice(current.content()?).ok()?;
    document.get("count")?.as_i64()
}

/// The change every writer applies: `PATCH` the count one up, as JSON.
fn increment(current: &Current) -> Change {
    match count_of(current) {
        Some(count) => Change::patch(json!({ "count": count + 1 }).to_string())
            .content_type("application/json"),
        None => Change::Abort,
    }
}

fn counter_uri(addr: SocketAddr) -> Uri {
    format!("http://{addr}/counter").parse().unwrap()
}

/// 8 writers x 25 JSON increments through `PATCH`: every lost race is a 412, refetched and
/// re-applied, and the count ends at exactly 200 with 200 writes applied.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eight_writers_times_25_json_patches_end_at_exactly_200() {
    const WRITERS: usize = 8;
    const ROUNDS: usize = 25;
    let db = Db::default();
    let server = Server::start(json_api(db.clone())).await;
    let retry = ConditionalUpdate::new(tokio::time::sleep)
        .max_attempts(1_000)
        .backoff(Duration::from_millis(1), Duration::from_millis(20))
        .etags_never_repeat(true);

    let mut tasks = JoinSet::new();
    for _ in 0..WRITERS {
        let (retry, mut client) = (retry.clone(), http_client());
        let target = counter_uri(server.addr());
        tasks.spawn(async move {
            let mut conflicts = 0;
            for _ in 0..ROUNDS {
                let outcome = retry
                    .update(&mut client, target.clone(), increment)
                    .await
                    .expect("the app answers");
                assert!(outcome.is_written(), "{outcome:?}");
                conflicts += outcome.attempts() - 1;
            }
            conflicts
        });
    }
    let run = async {
        let mut conflicts = 0;
        while let Some(result) = tasks.join_next().await {
            conflicts += result.expect("writer finished");
        }
        conflicts
    };
    let conflicts = timeout(LIMIT, run).await.expect("done in time");

    assert_eq!(db.count(), (WRITERS * ROUNDS) as i64, "no update lost");
    assert_eq!(
        db.applied(),
        (WRITERS * ROUNDS) as u64,
        "none applied twice"
    );
    let reply = server.get("/counter", &[]).await;
    assert_eq!(reply.header(CONTENT_TYPE), "application/json");
    assert_eq!(reply.text(), r#"{"count":200}"#);
    eprintln!("200 increments, {conflicts} writes answered 412");
}

/// The app is as strict as the issue's: the same `PATCH` without its content type is a 415,
/// refused once.
#[tokio::test]
async fn a_patch_without_its_content_type_is_refused_with_415() {
    let db = Db::default();
    let server = Server::start(json_api(db.clone())).await;
    let untyped = |current: &Current| {
        Change::patch(json!({ "count": count_of(current).unwrap() + 1 }).to_string())
    };
    let outcome = no_wait()
        .update(&mut http_client(), counter_uri(server.addr()), untyped)
        .await
        .unwrap();
    let Outcome::Refused { response, attempts } = outcome else {
        panic!("not refused: {outcome:?}");
    };
    assert_eq!(
        (response.status(), attempts),
        (StatusCode::UNSUPPORTED_MEDIA_TYPE, 1)
    );
    assert_eq!(db.applied(), 0);
}

// ---------------------------------------------------------------------------------------------
// A proxy that loses responses.

/// Runs while the proxy holds a lost write's connection, before closing it.
type Hook = Box<dyn FnOnce() -> Pin<Box<dyn Future<Output = ()> + Send>> + Send>;

/// What the proxy does with the next write (any request but a `GET`, which it always forwards).
enum Action {
    /// Forward it and relay the answer.
    Forward,
    /// Run the hook, then close the client's connection without forwarding: lost before it
    /// reached the app.
    Drop(Option<Hook>),
    /// Forward it, read the app's answer, run the hook, then close the client's connection
    /// without relaying the answer: applied, its response lost.
    DropResponse(Option<Hook>),
    /// Close the client's connection at once; forward the write when `release` is notified
    /// (a write in flight that lands late), and notify `landed` once the app answered it.
    Late {
        release: Arc<Notify>,
        landed: Arc<Notify>,
    },
    /// Notify `release` and wait for `landed` (a held `Late` write), then forward and relay.
    ForwardAfter {
        release: Arc<Notify>,
        landed: Arc<Notify>,
    },
}

/// A request the proxy forwarded, with the status the app answered.
#[derive(Debug, Clone, PartialEq)]
struct Forwarded {
    method: String,
    status: u16,
}

/// A TCP proxy on `127.0.0.1`, one request per connection.
#[derive(Clone)]
struct Proxy {
    addr: SocketAddr,
    plan: Arc<Mutex<VecDeque<Action>>>,
    forwarded: Arc<Mutex<Vec<Forwarded>>>,
}

impl Proxy {
    async fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let proxy = Proxy {
            addr: listener.local_addr().unwrap(),
            plan: Arc::default(),
            forwarded: Arc::default(),
        };
        let handle = proxy.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let handle = handle.clone();
                tokio::spawn(async move { handle.serve(client, upstream).await });
            }
        });
        proxy
    }

    /// Plans what happens to the next writes, in order; writes past the plan are forwarded.
    fn plan(&self, actions: impl IntoIterator<Item = Action>) {
        self.plan.lock().unwrap().extend(actions);
    }

    /// The writes forwarded to the app (GETs left out), with the app's answers.
    fn writes(&self) -> Vec<Forwarded> {
        let forwarded = self.forwarded.lock().unwrap();
        forwarded
            .iter()
            .filter(|f| f.method != "GET")
            .cloned()
            .collect()
    }

    async fn serve(&self, mut client: TcpStream, upstream: SocketAddr) {
        let Some(request) = read_request(&mut client).await else {
            return;
        };
        let method = request.split(|b| *b == b' ').next().unwrap_or_default();
        let method = String::from_utf8_lossy(method).into_owned();
        let action = if method == "GET" {
            Action::Forward
        } else {
            self.plan
                .lock()
                .unwrap()
                .pop_front()
                .unwrap_or(Action::Forward)
        };
        match action {
            Action::Forward => {
                let answer = self.forward(&method, &request, upstream).await;
                let _ = client.write_all(&answer).await;
            }
            Action::Drop(hook) => {
                if let Some(hook) = hook {
                    hook().await;
                }
            }
            Action::DropResponse(hook) => {
                self.forward(&method, &request, upstream).await;
                if let Some(hook) = hook {
                    hook().await;
                }
            }
            Action::Late { release, landed } => {
                drop(client);
                release.notified().await;
                self.forward(&method, &request, upstream).await;
                landed.notify_one();
            }
            Action::ForwardAfter { release, landed } => {
                release.notify_one();
                landed.notified().await;
                let answer = self.forward(&method, &request, upstream).await;
                let _ = client.write_all(&answer).await;
            }
        }
        // Dropping `client` closes the connection: after the answer, or instead of it.
    }

    /// Sends `request` to the app on a new connection, asking it to close after the answer, and
    /// reads the answer to its end.
    async fn forward(&self, method: &str, request: &[u8], upstream: SocketAddr) -> Vec<u8> {
        let line_end = request.windows(2).position(|w| w == b"\r\n").unwrap() + 2;
        let mut app = TcpStream::connect(upstream).await.unwrap();
        app.write_all(&request[..line_end]).await.unwrap();
        app.write_all(b"connection: close\r\n").await.unwrap();
        app.write_all(&request[line_end..]).await.unwrap();
        let mut answer = Vec::new();
        (&mut app)
            .take(1 << 20)
            .read_to_end(&mut answer)
            .await
            .unwrap();
        let status = std::str::from_utf8(&answer[9..12])
            .unwrap()
            .parse()
            .unwrap();
        self.forwarded.lock().unwrap().push(Forwarded {
            method: method.to_owned(),
            status,
        });
        answer
    }
}

/// One HTTP/1.1 request, head and `Content-Length` body; `None` when the client closed first.
async fn read_request(client: &mut TcpStream) -> Option<Vec<u8>> {
    let mut request = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(at) = request.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        assert!(
            request.len() < 64 * 1024,
            "a head this long is not the client's"
        );
        let n = client.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        request.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&request[..head_end]).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length:"))
        .map_or(0, |value| value.trim().parse().unwrap());
    while request.len() < head_end + length {
        let n = client.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        request.extend_from_slice(&chunk[..n]);
    }
    Some(request)
}

/// The app, a proxy in front of it, and a client configured for its version tags.
async fn proxied() -> (Db, Server, Proxy, ConditionalUpdate<NoWait>) {
    let db = Db::default();
    let server = Server::start(json_api(db.clone())).await;
    let proxy = Proxy::start(server.addr()).await;
    (db, server, proxy, no_wait().etags_never_repeat(true))
}

/// The update through the proxy, recording the counts each call of the change function saw.
async fn update_through(
    proxy: &Proxy,
    config: &ConditionalUpdate<NoWait>,
) -> (
    Result<Outcome, UpdateError<hyper_util::client::legacy::Error>>,
    Vec<i64>,
) {
    let mut seen = Vec::new();
    let mut client = http_client();
    let update = config.update(&mut client, counter_uri(proxy.addr), |current: &Current| {
        seen.push(count_of(current).unwrap());
        increment(current)
    });
    let result = timeout(LIMIT, update).await.expect("done in time");
    (result, seen)
}

fn forwarded(method: &str, status: StatusCode) -> Forwarded {
    Forwarded {
        method: method.to_owned(),
        status: status.as_u16(),
    }
}

#[tokio::test]
async fn a_response_lost_after_the_app_applied_the_write_is_unknown_and_not_repeated() {
    let (db, _server, proxy, config) = proxied().await;
    proxy.plan([Action::DropResponse(None)]);

    let (result, seen) = update_through(&proxy, &config).await;

    let outcome = result.expect("the refetch answered");
    let Outcome::Unknown { current, attempts } = outcome else {
        panic!("not unknown: {outcome:?}");
    };
    assert_eq!(attempts, 1);
    assert_eq!(
        count_of(&current),
        Some(1),
        "the refetched state, with our write in it"
    );
    assert_eq!(seen, [0], "the change was not re-applied");
    assert_eq!(
        proxy.writes(),
        [forwarded("PATCH", StatusCode::OK)],
        "sent once"
    );
    assert_eq!((db.count(), db.applied()), (1, 1));
}

#[tokio::test]
async fn a_write_lost_before_it_reached_the_app_is_retried_and_counted_once() {
    let (db, _server, proxy, config) = proxied().await;
    proxy.plan([Action::Drop(None)]);

    let (result, seen) = update_through(&proxy, &config).await;

    let outcome = result.expect("answered");
    assert!(
        matches!(
            outcome,
            Outcome::Written {
                status: StatusCode::OK,
                attempts: 2,
                ..
            }
        ),
        "{outcome:?}"
    );
    assert_eq!(
        seen,
        [0, 0],
        "re-applied to the refetched, unchanged version"
    );
    assert_eq!(proxy.writes(), [forwarded("PATCH", StatusCode::OK)]);
    assert_eq!((db.count(), db.applied()), (1, 1));
}

/// Another writer writes after ours was lost, before the refetch: the tag moved, so whether our
/// write was applied cannot be told, and it is not reported as written, applied or not.
#[tokio::test]
async fn another_write_after_the_lost_one_is_never_reported_as_ours() {
    for applied in [true, false] {
        let (db, server, proxy, config) = proxied().await;
        let direct = counter_uri(server.addr());
        let other_writer: Hook = Box::new(move || {
            Box::pin(async move {
                let outcome = no_wait()
                    .update(&mut http_client(), direct, increment)
                    .await
                    .unwrap();
                assert!(outcome.is_written(), "the other writer: {outcome:?}");
            })
        });
        proxy.plan([if applied {
            Action::DropResponse(Some(other_writer))
        } else {
            Action::Drop(Some(other_writer))
        }]);

        let (result, seen) = update_through(&proxy, &config).await;

        let outcome = result.expect("the refetch answered");
        let expected_count = if applied { 2 } else { 1 };
        let Outcome::Unknown { current, attempts } = outcome else {
            panic!("applied: {applied}: not unknown: {outcome:?}");
        };
        assert_eq!(attempts, 1, "applied: {applied}");
        assert_eq!(
            count_of(&current),
            Some(expected_count),
            "applied: {applied}"
        );
        assert_eq!(seen.len(), 1, "applied: {applied}: never re-applied");
        assert_eq!(db.applied(), expected_count as u64, "applied: {applied}");
        assert_eq!(db.count(), expected_count);
    }
}

/// A write whose connection broke while it was still in the proxy, delivered after the update
/// retried: the retry is written, and the late write, conditional on the same tag, is refused.
#[tokio::test]
async fn a_late_write_delivered_after_the_retry_cannot_apply_too() {
    let (db, _server, proxy, config) = proxied().await;
    let (release, landed) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
    proxy.plan([Action::Late {
        release: release.clone(),
        landed: landed.clone(),
    }]);

    let (result, seen) = update_through(&proxy, &config).await;
    let outcome = result.expect("answered");
    assert!(
        matches!(outcome, Outcome::Written { attempts: 2, .. }),
        "{outcome:?}"
    );
    assert_eq!(seen, [0, 0]);

    release.notify_one();
    timeout(LIMIT, landed.notified())
        .await
        .expect("the late write landed");
    assert_eq!(
        proxy.writes(),
        [
            forwarded("PATCH", StatusCode::OK),
            forwarded("PATCH", StatusCode::PRECONDITION_FAILED)
        ],
        "the retry, then the late write, refused"
    );
    assert_eq!((db.count(), db.applied()), (1, 1));
}

/// The other order: the late write lands between the refetch and the retry. The retry's 412 could
/// be someone else's write or our own: the update says unknown, and never applies the change on
/// top of its own.
#[tokio::test]
async fn a_late_write_delivered_before_the_retry_makes_it_unknown_not_twice() {
    let (db, _server, proxy, config) = proxied().await;
    let (release, landed) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
    proxy.plan([
        Action::Late {
            release: release.clone(),
            landed: landed.clone(),
        },
        Action::ForwardAfter { release, landed },
    ]);

    let (result, seen) = update_through(&proxy, &config).await;

    let outcome = result.expect("answered");
    let Outcome::Unknown { current, attempts } = outcome else {
        panic!("not unknown: {outcome:?}");
    };
    assert_eq!(attempts, 2);
    assert_eq!(count_of(&current), Some(1));
    assert_eq!(seen, [0, 0], "not re-applied after the 412");
    assert_eq!(
        proxy.writes(),
        [
            forwarded("PATCH", StatusCode::OK),
            forwarded("PATCH", StatusCode::PRECONDITION_FAILED)
        ],
        "the late write, then the retry, refused"
    );
    assert_eq!((db.count(), db.applied()), (1, 1));
}

// ---------------------------------------------------------------------------------------------
// A server that streams without end.

/// A body of 64 KiB chunks without end (or a length), counting the bytes produced.
struct Endless(Arc<AtomicU64>);

impl http_body::Body for Endless {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        const CHUNK: Bytes = Bytes::from_static(&[b'x'; 64 * 1024]);
        self.0.fetch_add(CHUNK.len() as u64, Ordering::Relaxed);
        Poll::Ready(Some(Ok(Frame::data(CHUNK))))
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::new()
    }
}

/// `/endless`: a `GET` that streams forever. `/refuse` and `/accept`: a small versioned
/// document whose writes are answered 400 or 200 with an endless body.
fn endless_app(produced: Arc<AtomicU64>) -> Router {
    let endless = move |status: StatusCode| {
        let produced = produced.clone();
        move || {
            let produced = produced.clone();
            async move { (status, axum::body::Body::new(Endless(produced))).into_response() }
        }
    };
    let document = || async { ([(ETAG, "\"1\"")], "{}").into_response() };
    Router::new()
        .route("/endless", get(endless(StatusCode::OK)))
        .route(
            "/refuse",
            get(document).patch(endless(StatusCode::BAD_REQUEST)),
        )
        .route("/accept", get(document).patch(endless(StatusCode::OK)))
}

#[tokio::test]
async fn an_endless_body_stops_the_client_at_the_limit_with_an_error_naming_it() {
    const LIMIT_BYTES: usize = 1 << 20;
    let produced = Arc::new(AtomicU64::new(0));
    let server = Server::start(endless_app(produced.clone())).await;
    let config = no_wait().response_limit(LIMIT_BYTES);
    let uri = |path: &str| -> Uri { format!("http://{}{path}", server.addr()).parse().unwrap() };

    let mut client = http_client();
    let read = config.update(&mut client, uri("/endless"), |_: &Current| {
        panic!("called without a representation")
    });
    let error = timeout(LIMIT, read)
        .await
        .expect("stopped in time")
        .unwrap_err();
    assert!(
        matches!(
            error,
            UpdateError::ResponseTooLarge { ref method, status: StatusCode::OK, limit: LIMIT_BYTES }
                if method == Method::GET
        ),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "the body of the response to GET (200 OK) is longer than the response limit of \
         1048576 bytes (ConditionalUpdate::response_limit)"
    );
    // The server stops too once the client hangs up; what it produced is what sat in buffers.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let first = produced.load(Ordering::Relaxed);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        produced.load(Ordering::Relaxed),
        first,
        "the client hung up"
    );
    assert!(
        first < 64 << 20,
        "read about the limit, not without end: {first}"
    );

    // A refused write's endless problem body: the same error, naming the write's status.
    let write = |_: &Current| Change::patch("{}").content_type("application/json");
    let refused = config.update(&mut client, uri("/refuse"), write);
    let error = timeout(LIMIT, refused)
        .await
        .expect("stopped in time")
        .unwrap_err();
    assert!(
        matches!(
            error,
            UpdateError::ResponseTooLarge { ref method, status: StatusCode::BAD_REQUEST, .. }
                if method == Method::PATCH
        ),
        "{error:?}"
    );
    assert!(!error.may_have_written());

    // An accepted write's endless body is not needed: drained up to the limit, and written.
    let accepted = config.update(&mut client, uri("/accept"), write);
    let outcome = timeout(LIMIT, accepted)
        .await
        .expect("stopped in time")
        .unwrap();
    assert!(outcome.is_written(), "{outcome:?}");
}
