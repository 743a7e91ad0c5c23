//! The client's half, `ConditionalUpdate`: against the real store example over TCP (driven by
//! hyper-util's client as a tower service), and against `service_fn` stubs for the answers the
//! store never gives (always 412, 428 and 400 to a write, no validators, 410, 409, lost
//! responses, long bodies). `tests/client_json.rs` has the JSON API, the proxy that loses
//! responses over TCP and the endless body.

#[path = "../store/app.rs"]
mod app;
// The HTTP test client shared with the library's own tests.
#[path = "../../tests/support/mod.rs"]
mod support;

use std::collections::BTreeSet;
use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::header::{ETAG, IF_MATCH, IF_NONE_MATCH, IF_UNMODIFIED_SINCE, LAST_MODIFIED};
use http::{HeaderMap, Method, Request, Response, StatusCode, Uri};
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::task::JoinSet;
use tower::{Service, ServiceExt, service_fn};
use tower_conditional::{Change, ConditionalUpdate, Current, Outcome, UpdateError};

use support::Server;

type HttpClient = Client<HttpConnector, Full<Bytes>>;
type NoWait = fn(Duration) -> std::future::Ready<()>;

/// One request as a client service received it.
#[derive(Debug, Clone)]
struct Sent {
    method: Method,
    headers: HeaderMap,
}

/// Every request sent through a [`recorded`] service, in order.
type Log = Arc<Mutex<Vec<Sent>>>;

fn http_client() -> HttpClient {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    Client::builder(TokioExecutor::new()).build(connector)
}

/// `inner`, logging each request's method and headers into `log` before sending it.
fn recorded<S>(
    inner: S,
    log: Log,
) -> impl Service<
    Request<Full<Bytes>>,
    Response = S::Response,
    Error = S::Error,
    Future = impl Future<Output = Result<S::Response, S::Error>> + Send,
> + Clone
where
    S: Service<Request<Full<Bytes>>, Future: Send> + Clone + Send,
{
    service_fn(move |request: Request<Full<Bytes>>| {
        log.lock().unwrap().push(Sent {
            method: request.method().clone(),
            headers: request.headers().clone(),
        });
        inner.clone().oneshot(request)
    })
}

fn no_wait() -> ConditionalUpdate<NoWait> {
    let no_wait: NoWait = |_| std::future::ready(());
    ConditionalUpdate::new(no_wait)
}

fn puts(log: &Log) -> Vec<Sent> {
    let log = log.lock().unwrap();
    log.iter()
        .filter(|sent| sent.method == Method::PUT)
        .cloned()
        .collect()
}

fn count(log: &Log, method: Method) -> usize {
    log.lock()
        .unwrap()
        .iter()
        .filter(|sent| sent.method == method)
        .count()
}

#[track_caller]
fn assert_every_put_has_a_precondition(log: &Log) {
    for put in puts(log) {
        assert!(
            put.headers.contains_key(IF_MATCH) || put.headers.contains_key(IF_NONE_MATCH),
            "a write without a precondition: {put:?}"
        );
    }
}

fn text(current: &Current) -> Option<String> {
    current
        .content()
        .map(|bytes| String::from_utf8(bytes.to_vec()).expect("UTF-8"))
}

fn uri(server: &Server, path: &str) -> Uri {
    format!("http://{}{path}", server.addr()).parse().unwrap()
}

/// The increment of a decimal counter; a missing counter becomes 1.
fn increment(current: &Current) -> Change {
    let value: u64 = text(current).map_or(0, |text| text.parse().expect("a number"));
    Change::put((value + 1).to_string())
}

// ---------------------------------------------------------------------------------------------
// Against the store example.

/// 16 writers x 25 helper-driven increments of one counter that does not exist yet. If any write
/// went through against a stale version, two increments would have read the same value and the
/// final count would fall short of 400.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_writers_times_25_increments_reach_exactly_400() {
    const WRITERS: usize = 16;
    const ROUNDS: usize = 25;
    let server = Server::start(app::router()).await;
    let target = uri(&server, "/items/counter");
    let log = Log::default();
    let retry = ConditionalUpdate::new(tokio::time::sleep)
        .max_attempts(1_000)
        .backoff(Duration::from_millis(1), Duration::from_millis(20));

    let mut tasks = JoinSet::new();
    for _ in 0..WRITERS {
        let mut client = recorded(http_client(), log.clone());
        let (retry, target) = (retry.clone(), target.clone());
        tasks.spawn(async move {
            let mut written_from = Vec::new();
            for _ in 0..ROUNDS {
                let mut seen = Vec::new();
                let outcome = retry
                    .update(&mut client, target.clone(), |current: &Current| {
                        seen.push(text(current).map_or(0, |t| t.parse::<u64>().unwrap()));
                        increment(current)
                    })
                    .await
                    .expect("the store answers");
                assert!(outcome.is_written(), "{outcome:?}");
                assert_eq!(outcome.attempts() as usize, seen.len());
                // Each retry saw a newer version than the attempt it replaces.
                assert!(
                    seen.windows(2).all(|w| w[0] < w[1]),
                    "stale retry: {seen:?}"
                );
                written_from.push(*seen.last().unwrap());
            }
            written_from
        });
    }
    let mut written_from = Vec::new();
    while let Some(result) = tasks.join_next().await {
        written_from.extend(result.expect("writer finished"));
    }

    let reply = server.get("/items/counter", &[]).await;
    assert_eq!(
        reply.text(),
        (WRITERS * ROUNDS).to_string(),
        "no lost update"
    );
    let sent = log.lock().unwrap().len();
    let others = sent - count(&log, Method::GET) - count(&log, Method::PUT);
    assert_eq!(others, 0, "only GET and PUT are sent");
    // Every accepted write was based on a distinct version: 0, 1, ..., 399.
    let distinct: BTreeSet<u64> = written_from.iter().copied().collect();
    assert_eq!(written_from.len(), WRITERS * ROUNDS);
    assert_eq!(distinct, (0..(WRITERS * ROUNDS) as u64).collect());
    assert_every_put_has_a_precondition(&log);
    let creates = puts(&log)
        .iter()
        .filter(|put| put.headers.contains_key(IF_NONE_MATCH))
        .count();
    assert!(
        creates >= 1,
        "the counter was created with If-None-Match: *"
    );
    eprintln!(
        "{} writes accepted, {} refused with 412",
        WRITERS * ROUNDS,
        count(&log, Method::PUT) - WRITERS * ROUNDS
    );
}

/// A client service that, just before the first `PUT` passes through it, has `interfere` run
/// against the store: a deterministic lost race.
fn interfering<F, Fut>(
    server: Server,
    log: Log,
    interfere: F,
) -> impl Service<
    Request<Full<Bytes>>,
    Response = Response<hyper::body::Incoming>,
    Error = hyper_util::client::legacy::Error,
> + Clone
where
    F: Fn(Server, HeaderMap) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    let inner = recorded(http_client(), log);
    let done = Arc::new(AtomicBool::new(false));
    service_fn(move |request: Request<Full<Bytes>>| {
        let first_put = request.method() == Method::PUT && !done.swap(true, Ordering::SeqCst);
        let (server, interfere, inner) = (server.clone(), interfere.clone(), inner.clone());
        async move {
            if first_put {
                interfere(server, request.headers().clone()).await;
            }
            inner.oneshot(request).await
        }
    })
}

#[tokio::test]
async fn change_function_sees_the_fresh_representation_on_each_retry() {
    let server = Server::start(app::router()).await;
    let stale = server.create("/items/n", "7").await;
    let log = Log::default();
    // Someone else sets 100 between our read and our write.
    let mut client = interfering(server.clone(), log.clone(), |server, headers| async move {
        let etag = headers[IF_MATCH].to_str().unwrap().to_owned();
        let reply = server.put("/items/n", &[(IF_MATCH, &etag)], "100").await;
        assert_eq!(reply.status, StatusCode::NO_CONTENT);
    });

    let mut seen = Vec::new();
    let outcome = no_wait()
        .update(
            &mut client,
            uri(&server, "/items/n"),
            |current: &Current| {
                seen.push(text(current));
                increment(current)
            },
        )
        .await
        .unwrap();

    assert_eq!(seen, [Some("7".to_owned()), Some("100".to_owned())]);
    let Outcome::Written {
        status,
        validators,
        attempts,
    } = outcome
    else {
        panic!("not written: {outcome:?}");
    };
    assert_eq!((status, attempts), (StatusCode::NO_CONTENT, 2));
    let now = server.get("/items/n", &[]).await;
    assert_eq!(now.text(), "101", "the change was re-applied, not replayed");
    assert_eq!(validators.etag().unwrap().to_string(), now.etag());

    let puts = puts(&log);
    assert_eq!(puts[0].headers[IF_MATCH], stale.as_str());
    assert_eq!(
        puts[1].headers[IF_MATCH],
        store_etag("100").as_str(),
        "the retry names the refetched version"
    );
}

/// The store's ETag for some content: a content hash.
fn store_etag(content: &str) -> String {
    tower_conditional::ETag::from_content(content.as_bytes()).to_string()
}

#[tokio::test]
async fn a_missing_resource_is_created_with_if_none_match_star() {
    let server = Server::start(app::router()).await;
    let log = Log::default();
    let mut client = recorded(http_client(), log.clone());
    let mut seen = Vec::new();
    let outcome = no_wait()
        .update(
            &mut client,
            uri(&server, "/items/new"),
            |current: &Current| {
                seen.push(current.is_present());
                Change::put("first")
            },
        )
        .await
        .unwrap();

    assert_eq!(seen, [false], "the function was shown Missing");
    let Outcome::Written {
        status, validators, ..
    } = outcome
    else {
        panic!("not written: {outcome:?}");
    };
    assert_eq!(status, StatusCode::CREATED);
    let now = server.get("/items/new", &[]).await;
    assert_eq!(now.text(), "first");
    assert_eq!(validators.etag().unwrap().to_string(), now.etag());
    assert!(validators.last_modified().is_some());
    assert_eq!(puts(&log)[0].headers[IF_NONE_MATCH], "*");
}

#[tokio::test]
async fn a_create_that_loses_to_another_create_applies_the_change_to_the_winner() {
    let server = Server::start(app::router()).await;
    let log = Log::default();
    let mut client = interfering(server.clone(), log.clone(), |server, _| async move {
        server.create("/items/list", "winner").await;
    });
    let mut seen = Vec::new();
    let outcome = no_wait()
        .update(
            &mut client,
            uri(&server, "/items/list"),
            |current: &Current| {
                seen.push(text(current));
                let mut list = text(current).unwrap_or_default();
                list.push_str(",mine");
                Change::put(list)
            },
        )
        .await
        .unwrap();

    assert_eq!(seen, [None, Some("winner".to_owned())]);
    assert!(outcome.is_written(), "{outcome:?}");
    assert_eq!(outcome.attempts(), 2);
    assert_eq!(
        server.get("/items/list", &[]).await.text(),
        "winner,mine",
        "the other create was not overwritten"
    );
    let puts = puts(&log);
    assert_eq!(puts[0].headers[IF_NONE_MATCH], "*");
    assert_eq!(puts[1].headers[IF_MATCH], store_etag("winner").as_str());
}

#[tokio::test]
async fn an_item_deleted_during_the_loop_is_gone_and_not_recreated() {
    let server = Server::start(app::router()).await;
    server.create("/items/doomed", "1").await;
    let log = Log::default();
    let mut client = interfering(server.clone(), log.clone(), |server, headers| async move {
        let etag = headers[IF_MATCH].to_str().unwrap().to_owned();
        let reply = server.delete("/items/doomed", &[(IF_MATCH, &etag)]).await;
        assert_eq!(reply.status, StatusCode::NO_CONTENT);
    });
    let mut calls = 0;
    let outcome = no_wait()
        .update(
            &mut client,
            uri(&server, "/items/doomed"),
            |current: &Current| {
                calls += 1;
                increment(current)
            },
        )
        .await
        .unwrap();

    assert!(
        matches!(outcome, Outcome::Gone { attempts: 1 }),
        "{outcome:?}"
    );
    assert_eq!(calls, 1, "the function is not asked to recreate it");
    assert_eq!(
        count(&log, Method::GET),
        2,
        "the read and the refetch after 412"
    );
    assert_eq!(
        server.get("/items/doomed", &[]).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn an_aborted_change_sends_no_write() {
    let server = Server::start(app::router()).await;
    let etag = server.create("/items/keep", "as is").await;
    let log = Log::default();
    let mut client = recorded(http_client(), log.clone());
    let outcome = no_wait()
        .update(&mut client, uri(&server, "/items/keep"), |_: &Current| {
            Change::Abort
        })
        .await
        .unwrap();

    let Outcome::Aborted { current, attempts } = outcome else {
        panic!("not aborted: {outcome:?}");
    };
    assert_eq!(attempts, 0);
    assert_eq!(text(&current).as_deref(), Some("as is"));
    assert_eq!(count(&log, Method::PUT), 0);
    assert_eq!(server.get("/items/keep", &[]).await.etag(), etag);
}

#[tokio::test]
async fn a_refused_first_read_never_calls_the_function() {
    let server = Server::start(app::router()).await;
    let log = Log::default();
    let mut client = recorded(http_client(), log.clone());
    // Not a valid key: the store answers 400 to the GET.
    let outcome = no_wait()
        .update(
            &mut client,
            uri(&server, "/items/no%20spaces"),
            |_: &Current| panic!("called after a refused read"),
        )
        .await
        .unwrap();

    let Outcome::Refused { response, attempts } = outcome else {
        panic!("not refused: {outcome:?}");
    };
    assert_eq!((response.status(), attempts), (StatusCode::BAD_REQUEST, 0));
    assert!(
        std::str::from_utf8(response.body())
            .unwrap()
            .contains("item keys")
    );
    assert_eq!(count(&log, Method::PUT), 0);
}

#[tokio::test]
async fn a_client_failure_is_the_services_error() {
    // A port nobody listens on: bind one, then close it.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let mut client = http_client();
    let result = no_wait()
        .update(
            &mut client,
            format!("http://{addr}/items/x").parse().unwrap(),
            |_: &Current| Change::put("x"),
        )
        .await;
    assert!(matches!(result, Err(UpdateError::Service(_))), "{result:?}");
}

// ---------------------------------------------------------------------------------------------
// Against stubs: answers the store never gives.

/// A stub server: `GET` answers 200 with the headers `read` gives for the n-th read (0-based)
/// and content `v{n}`; `PUT` answers `write_status` with a problem body. Logs every request.
fn stub(
    log: Log,
    read: fn(usize) -> Vec<(http::HeaderName, String)>,
    write_status: StatusCode,
) -> impl Service<Request<Full<Bytes>>, Response = Response<Full<Bytes>>, Error = Infallible> + Clone
{
    let reads = Arc::new(Mutex::new(0_usize));
    service_fn(move |request: Request<Full<Bytes>>| {
        log.lock().unwrap().push(Sent {
            method: request.method().clone(),
            headers: request.headers().clone(),
        });
        let mut response = Response::builder();
        let body = if request.method() == Method::GET {
            let mut reads = reads.lock().unwrap();
            for (name, value) in read(*reads) {
                response = response.header(name, value);
            }
            *reads += 1;
            format!("v{}", *reads - 1)
        } else {
            response = response
                .status(write_status)
                .header("content-type", "application/problem+json");
            format!("{{\"status\":{}}}", write_status.as_u16())
        };
        std::future::ready(Ok(response.body(Full::from(body)).unwrap()))
    })
}

/// The stub's one resource.
const STUB: &str = "http://stub/x";

/// Writes "mine" to the stub's resource, whatever it holds, with `config`.
async fn write_mine<Z, Fut, S>(config: ConditionalUpdate<Z>, client: &mut S) -> Outcome
where
    Z: Fn(Duration) -> Fut,
    Fut: Future<Output = ()>,
    S: Service<Request<Full<Bytes>>, Response = Response<Full<Bytes>>, Error = Infallible>,
{
    let change = |_: &Current| Change::put("mine");
    let result = config.update(client, Uri::from_static(STUB), change).await;
    result.expect("a stub always answers")
}

/// A new strong tag on every read, as if someone wrote between each of our reads and writes.
fn changing_etag(read: usize) -> Vec<(http::HeaderName, String)> {
    vec![(ETAG, format!("\"v{read}\""))]
}

#[tokio::test]
async fn the_loop_stops_at_its_bound_under_an_always_412_stub() {
    let log = Log::default();
    let mut client = stub(log.clone(), changing_etag, StatusCode::PRECONDITION_FAILED);
    let mut seen = Vec::new();
    let outcome = no_wait()
        .max_attempts(4)
        .update(&mut client, Uri::from_static(STUB), |current: &Current| {
            seen.push(text(current).unwrap());
            Change::put("mine")
        })
        .await
        .unwrap();

    let Outcome::Conflict { current, attempts } = outcome else {
        panic!("not a conflict: {outcome:?}");
    };
    assert_eq!(attempts, 4);
    assert_eq!(count(&log, Method::PUT), 4, "exactly the bound");
    assert_eq!(
        count(&log, Method::GET),
        4,
        "the read and 3 refetches, none after the last"
    );
    assert_eq!(
        seen,
        ["v0", "v1", "v2", "v3"],
        "a fresh read before each write"
    );
    assert_eq!(
        text(&current).as_deref(),
        Some("v3"),
        "the last state written against"
    );
    let if_match: Vec<_> = puts(&log)
        .iter()
        .map(|put| put.headers[IF_MATCH].to_str().unwrap().to_owned())
        .collect();
    assert_eq!(if_match, ["\"v0\"", "\"v1\"", "\"v2\"", "\"v3\""]);
}

#[tokio::test]
async fn backoff_between_retries_is_jittered_under_doubling_caps() {
    let caps = [10, 20, 30, 30].map(Duration::from_millis);
    let mut all = Vec::new();
    for _ in 0..20 {
        let log = Log::default();
        let mut client = stub(log.clone(), changing_etag, StatusCode::PRECONDITION_FAILED);
        let slept = Arc::new(Mutex::new(Vec::new()));
        let recorder = slept.clone();
        let sleep = move |delay: Duration| {
            recorder.lock().unwrap().push(delay);
            std::future::ready(())
        };
        let config = ConditionalUpdate::new(sleep)
            .max_attempts(5)
            .backoff(Duration::from_millis(10), Duration::from_millis(30));
        let outcome = write_mine(config, &mut client).await;
        assert!(matches!(outcome, Outcome::Conflict { attempts: 5, .. }));

        // One sleep between two attempts (a delay drawn as exactly zero would be skipped: at
        // nanosecond resolution, never in practice), none after the last.
        let slept = slept.lock().unwrap().clone();
        assert_eq!(slept.len(), 4, "{slept:?}");
        for (delay, cap) in slept.iter().zip(caps) {
            assert!(*delay <= cap, "{delay:?} over its cap {cap:?}");
        }
        all.push(slept);
    }
    assert!(
        all.iter().any(|slept| slept[2] > caps[1]),
        "the cap grows after each 412"
    );
    let distinct: BTreeSet<_> = all.iter().flatten().collect();
    assert!(distinct.len() > 40, "jittered: {all:?}");
}

#[tokio::test]
async fn a_428_400_or_5xx_to_a_write_is_refused_after_one_attempt() {
    for status in [
        StatusCode::PRECONDITION_REQUIRED,
        StatusCode::BAD_REQUEST,
        StatusCode::CONFLICT,
        StatusCode::SERVICE_UNAVAILABLE,
    ] {
        let log = Log::default();
        let mut client = stub(log.clone(), changing_etag, status);
        let outcome = write_mine(no_wait(), &mut client).await;

        let Outcome::Refused { response, attempts } = outcome else {
            panic!("{status}: not refused: {outcome:?}");
        };
        assert_eq!(attempts, 1, "{status}");
        assert_eq!(response.status(), status);
        assert_eq!(
            response.body(),
            format!("{{\"status\":{}}}", status.as_u16()).as_str(),
            "the problem body is surfaced"
        );
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
        assert_eq!(count(&log, Method::PUT), 1, "{status}: never retried");
        assert_eq!(count(&log, Method::GET), 1, "{status}: no refetch");
    }
}

#[tokio::test]
async fn a_404_to_a_replacing_write_is_gone() {
    let log = Log::default();
    let mut client = stub(log.clone(), changing_etag, StatusCode::NOT_FOUND);
    let outcome = write_mine(no_wait(), &mut client).await;
    assert!(
        matches!(outcome, Outcome::Gone { attempts: 1 }),
        "{outcome:?}"
    );
    assert_eq!(count(&log, Method::GET), 1, "no refetch");
}

#[tokio::test]
async fn a_404_to_a_create_is_refused_not_gone() {
    // A server that has no such resource and will not create one at this URI.
    let mut client = service_fn(|_: Request<Full<Bytes>>| async {
        let response = Response::builder().status(StatusCode::NOT_FOUND);
        Ok::<_, Infallible>(response.body(Full::new(Bytes::new())).unwrap())
    });
    let outcome = write_mine(no_wait(), &mut client).await;
    let Outcome::Refused { response, attempts } = outcome else {
        panic!("not refused: {outcome:?}");
    };
    assert_eq!((response.status(), attempts), (StatusCode::NOT_FOUND, 1));
}

#[tokio::test]
async fn without_a_strong_etag_last_modified_is_the_precondition() {
    const DATE: &str = "Sun, 06 Nov 1994 08:49:37 GMT";
    let log = Log::default();
    let mut client = stub(
        log.clone(),
        |_| {
            vec![
                (ETAG, "W/\"weak\"".to_owned()),
                (LAST_MODIFIED, DATE.to_owned()),
            ]
        },
        StatusCode::NO_CONTENT,
    );
    let outcome = write_mine(no_wait(), &mut client).await;

    assert!(outcome.is_written(), "{outcome:?}");
    let put = &puts(&log)[0];
    assert_eq!(put.headers[IF_UNMODIFIED_SINCE], DATE);
    assert!(
        !put.headers.contains_key(IF_MATCH),
        "a weak tag never passes If-Match"
    );
}

#[tokio::test]
async fn without_any_validator_nothing_is_written() {
    let log = Log::default();
    let mut client = stub(
        log.clone(),
        |_| vec![(ETAG, "W/\"weak-only\"".to_owned())],
        StatusCode::NO_CONTENT,
    );
    let outcome = no_wait()
        .update(&mut client, Uri::from_static(STUB), |_: &Current| {
            panic!("the function is not asked for a write that cannot be sent")
        })
        .await
        .unwrap();

    let Outcome::NoValidator { current, attempts } = outcome else {
        panic!("not refused for lack of validators: {outcome:?}");
    };
    assert_eq!((text(&current).as_deref(), attempts), (Some("v0"), 0));
    assert_eq!(count(&log, Method::PUT), 0);
}

#[test]
fn public_client_types_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync + 'static>() {}
    assert_send_sync::<ConditionalUpdate<NoWait>>();
    assert_send_sync::<Current>();
    assert_send_sync::<Change>();
    assert_send_sync::<Outcome>();
    assert_send_sync::<UpdateError<std::io::Error>>();
    assert_send_sync::<tower_conditional::WriteRequest>();
    assert_send_sync::<tower_conditional::InvalidWrite>();
}

// ---------------------------------------------------------------------------------------------
// Against scripted stubs: writes of any method, 410, opt-in 409, lost responses, limits.

/// One request as a scripted stub received it, body included.
#[derive(Debug, Clone)]
struct Received {
    method: Method,
    headers: HeaderMap,
    body: Bytes,
}

/// Every request a [`scripted`] stub received, in order.
type Inbox = Arc<Mutex<Vec<Received>>>;

/// An answer of a scripted stub: a response, or the client failing ("connection reset").
type Answer = Result<Response<Full<Bytes>>, std::io::Error>;

/// A stub whose `n`-th `GET` (0-based) is answered `read(n)` and `n`-th write `write(n)`.
fn scripted(
    received: Inbox,
    read: impl Fn(usize) -> Answer + Clone + Send + 'static,
    write: impl Fn(usize) -> Answer + Clone + Send + 'static,
) -> impl Service<Request<Full<Bytes>>, Response = Response<Full<Bytes>>, Error = std::io::Error> + Clone
{
    let counts = Arc::new(Mutex::new((0_usize, 0_usize)));
    service_fn(move |request: Request<Full<Bytes>>| {
        let (received, counts) = (received.clone(), counts.clone());
        let (read, write) = (read.clone(), write.clone());
        async move {
            let (parts, body) = request.into_parts();
            let Ok(body) = http_body_util::BodyExt::collect(body).await;
            received.lock().unwrap().push(Received {
                method: parts.method.clone(),
                headers: parts.headers,
                body: body.to_bytes(),
            });
            let mut counts = counts.lock().unwrap();
            if parts.method == Method::GET {
                counts.0 += 1;
                read(counts.0 - 1)
            } else {
                counts.1 += 1;
                write(counts.1 - 1)
            }
        }
    })
}

/// A 200 with a strong tag and content.
fn tagged(tag: &str, content: &str) -> Answer {
    let response = Response::builder().header(ETAG, format!("\"{tag}\""));
    Ok(response.body(Full::from(content.to_owned())).unwrap())
}

fn status(status: StatusCode) -> Answer {
    let response = Response::builder().status(status);
    Ok(response
        .body(Full::from(format!("{{\"status\":{}}}", status.as_u16())))
        .unwrap())
}

/// The response to a write lost: the client service fails after taking the request.
fn lost() -> Answer {
    Err(std::io::Error::other("connection reset"))
}

fn writes(received: &Inbox) -> Vec<Received> {
    let received = received.lock().unwrap();
    let writes = received.iter().filter(|r| r.method != Method::GET);
    writes.cloned().collect()
}

fn gets(received: &Inbox) -> usize {
    let received = received.lock().unwrap();
    received.iter().filter(|r| r.method == Method::GET).count()
}

#[tokio::test]
async fn writes_carry_the_changes_method_content_type_headers_and_the_precondition() {
    /// A change, and its method, body and headers as they must arrive (the precondition aside).
    type Case = (
        Change,
        Method,
        &'static str,
        &'static [(&'static str, &'static str)],
    );
    let changes: [Case; 3] = [
        (
            Change::patch(r#"{"title":"new"}"#)
                .content_type("application/merge-patch+json")
                .header("prefer", "return=minimal"),
            Method::PATCH,
            r#"{"title":"new"}"#,
            &[
                ("content-type", "application/merge-patch+json"),
                ("prefer", "return=minimal"),
            ],
        ),
        (
            Change::delete().header("x-reason", "cleanup"),
            Method::DELETE,
            "",
            &[("x-reason", "cleanup")],
        ),
        (
            Change::send(Method::POST, "event").content_type("text/plain"),
            Method::POST,
            "event",
            &[("content-type", "text/plain")],
        ),
    ];
    for (change, method, body, headers) in changes {
        let received = Inbox::default();
        let mut client = scripted(
            received.clone(),
            |_| tagged("v0", "{}"),
            |_| status(StatusCode::NO_CONTENT),
        );
        let outcome = no_wait()
            .update(&mut client, Uri::from_static(STUB), |_: &Current| {
                change.clone()
            })
            .await
            .unwrap();
        assert!(outcome.is_written(), "{method}: {outcome:?}");

        let writes = writes(&received);
        assert_eq!(writes.len(), 1, "{method}");
        let write = &writes[0];
        assert_eq!(write.method, method);
        assert_eq!(write.body, body, "{method}");
        assert_eq!(
            write.headers[IF_MATCH], "\"v0\"",
            "{method}: the precondition"
        );
        for (name, value) in headers {
            assert_eq!(write.headers[*name], *value, "{method}: {name}");
        }
        assert_eq!(
            write.headers.len(),
            headers.len() + 1,
            "{method}: nothing else"
        );
    }
}

#[tokio::test]
async fn an_invalid_write_ends_the_update_before_anything_is_sent() {
    for change in [
        Change::put("x").header("if-match", "*"),
        Change::put("x").header("if-none-match", "*"),
        Change::put("x").content_type("a\nb"),
        Change::send(Method::GET, ""),
    ] {
        let received = Inbox::default();
        let mut client = scripted(
            received.clone(),
            |_| tagged("v0", "x"),
            |_| status(StatusCode::NO_CONTENT),
        );
        let result = no_wait()
            .update(&mut client, Uri::from_static(STUB), |_: &Current| {
                change.clone()
            })
            .await;
        let Err(UpdateError::InvalidWrite(invalid)) = result else {
            panic!("{change:?}: not invalid: {result:?}");
        };
        let Change::Write(write) = &change else {
            unreachable!()
        };
        assert_eq!(Err(invalid), write.check());
        assert!(writes(&received).is_empty(), "{change:?}: nothing sent");
    }
}

#[tokio::test]
async fn a_410_on_a_refetch_or_to_a_write_is_gone() {
    // 412, then the refetch finds the resource gone.
    let received = Inbox::default();
    let mut client = scripted(
        received.clone(),
        |n| match n {
            0 => tagged("v0", "x"),
            _ => status(StatusCode::GONE),
        },
        |_| status(StatusCode::PRECONDITION_FAILED),
    );
    let outcome = write_mine_io(no_wait(), &mut client).await.unwrap();
    assert!(
        matches!(outcome, Outcome::Gone { attempts: 1 }),
        "{outcome:?}"
    );
    assert_eq!((gets(&received), writes(&received).len()), (2, 1));

    // The write itself answered 410.
    let received = Inbox::default();
    let mut client = scripted(
        received.clone(),
        |_| tagged("v0", "x"),
        |_| status(StatusCode::GONE),
    );
    let outcome = write_mine_io(no_wait(), &mut client).await.unwrap();
    assert!(
        matches!(outcome, Outcome::Gone { attempts: 1 }),
        "{outcome:?}"
    );
    assert_eq!(gets(&received), 1, "no refetch");
}

#[tokio::test]
async fn a_410_on_the_first_read_is_missing_and_may_be_created() {
    let received = Inbox::default();
    let mut client = scripted(
        received.clone(),
        |_| status(StatusCode::GONE),
        |_| status(StatusCode::CREATED),
    );
    let mut shown = Vec::new();
    let outcome = no_wait()
        .update(&mut client, Uri::from_static(STUB), |current: &Current| {
            shown.push(current.is_present());
            Change::put("new")
        })
        .await
        .unwrap();
    assert!(outcome.is_written(), "{outcome:?}");
    assert_eq!(shown, [false]);
    assert_eq!(writes(&received)[0].headers[IF_NONE_MATCH], "*");
}

#[tokio::test]
async fn a_409_is_refused_unless_retry_409_makes_it_a_lost_race() {
    let script = |received: &Inbox| {
        scripted(
            received.clone(),
            |n| tagged(&format!("v{n}"), "x"),
            |n| match n {
                0 => status(StatusCode::CONFLICT),
                _ => status(StatusCode::NO_CONTENT),
            },
        )
    };
    let received = Inbox::default();
    let outcome = write_mine_io(no_wait(), &mut script(&received))
        .await
        .unwrap();
    assert!(
        matches!(outcome, Outcome::Refused { ref response, attempts: 1 } if response.status() == StatusCode::CONFLICT),
        "{outcome:?}"
    );

    let received = Inbox::default();
    let outcome = write_mine_io(no_wait().retry_409(true), &mut script(&received))
        .await
        .unwrap();
    assert!(
        matches!(outcome, Outcome::Written { attempts: 2, .. }),
        "{outcome:?}"
    );
    assert_eq!(gets(&received), 2, "refetched after the 409");
    let if_match: Vec<_> = writes(&received)
        .iter()
        .map(|w| w.headers[IF_MATCH].clone())
        .collect();
    assert_eq!(if_match, ["\"v0\"", "\"v1\""]);
}

#[tokio::test]
async fn with_every_opt_in_a_400_or_428_is_still_refused_once() {
    for refusal in [StatusCode::BAD_REQUEST, StatusCode::PRECONDITION_REQUIRED] {
        let received = Inbox::default();
        let mut client = scripted(
            received.clone(),
            |n| tagged(&format!("v{n}"), "x"),
            move |_| status(refusal),
        );
        let config = no_wait().retry_409(true).etags_never_repeat(true);
        let outcome = write_mine_io(config, &mut client).await.unwrap();
        let Outcome::Refused { response, attempts } = outcome else {
            panic!("{refusal}: not refused: {outcome:?}");
        };
        assert_eq!((response.status(), attempts), (refusal, 1));
        assert_eq!((gets(&received), writes(&received).len()), (1, 1));
    }
}

/// Writes "mine" to the stub's resource with `config`, over a client that can fail.
async fn write_mine_io<Z, Fut, S>(
    config: ConditionalUpdate<Z>,
    client: &mut S,
) -> Result<Outcome, UpdateError<std::io::Error>>
where
    Z: Fn(Duration) -> Fut,
    Fut: Future<Output = ()>,
    S: Service<Request<Full<Bytes>>, Response = Response<Full<Bytes>>, Error = std::io::Error>,
{
    let change = |_: &Current| Change::put("mine");
    config.update(client, Uri::from_static(STUB), change).await
}

#[tokio::test]
async fn a_lost_response_is_unknown_unless_etags_never_repeat() {
    // The stub never applies the lost write: the tag stays v0.
    let script = |received: &Inbox| {
        scripted(
            received.clone(),
            |_| tagged("v0", "x"),
            |n| match n {
                0 => lost(),
                _ => status(StatusCode::NO_CONTENT),
            },
        )
    };
    let received = Inbox::default();
    let outcome = write_mine_io(no_wait(), &mut script(&received))
        .await
        .unwrap();
    let Outcome::Unknown { current, attempts } = outcome else {
        panic!("not unknown: {outcome:?}");
    };
    assert_eq!((text(&current).as_deref(), attempts), (Some("x"), 1));
    assert_eq!(writes(&received).len(), 1, "not retried on its own");
    assert_eq!(gets(&received), 2, "refetched");

    let received = Inbox::default();
    let config = no_wait().etags_never_repeat(true);
    let outcome = write_mine_io(config, &mut script(&received)).await.unwrap();
    assert!(
        matches!(outcome, Outcome::Written { attempts: 2, .. }),
        "{outcome:?}"
    );
    let writes = writes(&received);
    assert_eq!(writes.len(), 2);
    assert_eq!(
        writes[1].headers[IF_MATCH], "\"v0\"",
        "the same precondition"
    );
}

#[tokio::test]
async fn a_lost_create_or_date_conditioned_write_is_unknown_even_with_unique_tags() {
    const DATE: &str = "Sun, 06 Nov 1994 08:49:37 GMT";
    let config = || no_wait().etags_never_repeat(true);
    // A create: the refetch still finds nothing, which proves nothing.
    let received = Inbox::default();
    let mut client = scripted(
        received.clone(),
        |_| status(StatusCode::NOT_FOUND),
        |_| lost(),
    );
    let outcome = write_mine_io(config(), &mut client).await.unwrap();
    assert!(
        matches!(
            outcome,
            Outcome::Unknown {
                current: Current::Missing,
                attempts: 1
            }
        ),
        "{outcome:?}"
    );
    assert_eq!(writes(&received).len(), 1);

    // Conditional on a date: an unchanged date proves nothing either.
    let received = Inbox::default();
    let mut client = scripted(
        received.clone(),
        |_| {
            let response = Response::builder().header(LAST_MODIFIED, DATE);
            Ok(response.body(Full::from("x")).unwrap())
        },
        |_| lost(),
    );
    let outcome = write_mine_io(config(), &mut client).await.unwrap();
    assert!(
        matches!(outcome, Outcome::Unknown { attempts: 1, .. }),
        "{outcome:?}"
    );
    assert_eq!(writes(&received)[0].headers[IF_UNMODIFIED_SINCE], DATE);
    assert_eq!(writes(&received).len(), 1);
}

#[tokio::test]
async fn after_a_lost_response_a_412_is_unknown_and_the_change_not_re_applied() {
    // Lost, refetch shows v0 (not applied yet), the retry gets 412: someone else's write, or the
    // lost one landing late.
    let received = Inbox::default();
    let mut client = scripted(
        received.clone(),
        |n| match n {
            0 | 1 => tagged("v0", "x"),
            _ => tagged("v1", "mine"),
        },
        |n| match n {
            0 => lost(),
            _ => status(StatusCode::PRECONDITION_FAILED),
        },
    );
    let mut calls = 0;
    let outcome = no_wait()
        .etags_never_repeat(true)
        .max_attempts(10)
        .update(&mut client, Uri::from_static(STUB), |_: &Current| {
            calls += 1;
            Change::put("mine")
        })
        .await
        .unwrap();
    let Outcome::Unknown { current, attempts } = outcome else {
        panic!("not unknown: {outcome:?}");
    };
    assert_eq!((text(&current).as_deref(), attempts), (Some("mine"), 2));
    assert_eq!(calls, 2, "not called for a third write");
    assert_eq!(writes(&received).len(), 2);
    assert_eq!(
        gets(&received),
        3,
        "the read, the refetch after the loss, the one after the 412"
    );
}

#[tokio::test]
async fn after_a_lost_response_the_last_attempt_or_an_abort_is_unknown() {
    // Only the first write is lost: one more would be accepted.
    let script = |received: &Inbox| {
        scripted(
            received.clone(),
            |_| tagged("v0", "x"),
            |n| match n {
                0 => lost(),
                _ => status(StatusCode::NO_CONTENT),
            },
        )
    };
    // One attempt: lost, shown not applied, but no attempt left to settle it.
    let received = Inbox::default();
    let config = no_wait().etags_never_repeat(true).max_attempts(1);
    let outcome = write_mine_io(config, &mut script(&received)).await.unwrap();
    assert!(
        matches!(outcome, Outcome::Unknown { attempts: 1, .. }),
        "{outcome:?}"
    );
    assert_eq!(writes(&received).len(), 1);

    // The change aborts on the retry: the lost write stays unsettled.
    let received = Inbox::default();
    let mut calls = 0;
    let outcome = no_wait()
        .etags_never_repeat(true)
        .update(
            &mut script(&received),
            Uri::from_static(STUB),
            |_: &Current| {
                calls += 1;
                if calls == 1 {
                    Change::put("mine")
                } else {
                    Change::Abort
                }
            },
        )
        .await
        .unwrap();
    assert!(
        matches!(outcome, Outcome::Unknown { attempts: 1, .. }),
        "{outcome:?}"
    );
    assert_eq!(writes(&received).len(), 1);
}

#[tokio::test]
async fn a_failed_refetch_after_a_lost_response_is_unconfirmed() {
    let refetches: [fn() -> Answer; 2] = [
        || Err(std::io::Error::other("connection refused")),
        || status(StatusCode::SERVICE_UNAVAILABLE),
    ];
    for refetch in refetches {
        let received = Inbox::default();
        let mut client = scripted(
            received.clone(),
            move |n| match n {
                0 => tagged("v0", "x"),
                _ => refetch(),
            },
            |_| lost(),
        );
        let config = no_wait().etags_never_repeat(true);
        let error = write_mine_io(config, &mut client).await.unwrap_err();
        assert!(error.may_have_written(), "{error:?}");
        let UpdateError::Unconfirmed { lost, error } = error else {
            panic!("not unconfirmed: {error:?}");
        };
        assert_eq!(lost.to_string(), "connection reset");
        match *error {
            UpdateError::Service(error) => assert_eq!(error.to_string(), "connection refused"),
            UpdateError::Status(response) => {
                assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE)
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(writes(&received).len(), 1, "never retried");
    }
}

/// `inner`, except that its readiness fails once it has taken `calls` requests.
#[derive(Clone)]
struct NotReadyAfter<S> {
    inner: S,
    calls: usize,
}

impl<S> Service<Request<Full<Bytes>>> for NotReadyAfter<S>
where
    S: Service<Request<Full<Bytes>>, Error = std::io::Error>,
{
    type Response = S::Response;
    type Error = std::io::Error;
    type Future = S::Future;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), std::io::Error>> {
        if self.calls == 0 {
            return std::task::Poll::Ready(Err(std::io::Error::other("pool closed")));
        }
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Full<Bytes>>) -> S::Future {
        self.calls -= 1;
        self.inner.call(request)
    }
}

/// A client that fails before it takes the write never sent it: a plain service error, which
/// says no write is in doubt.
#[tokio::test]
async fn a_client_not_ready_for_the_write_is_a_plain_service_error() {
    let received = Inbox::default();
    let inner = scripted(
        received.clone(),
        |_| tagged("v0", "x"),
        |_| status(StatusCode::NO_CONTENT),
    );
    let mut client = NotReadyAfter { inner, calls: 1 };
    let error = write_mine_io(no_wait().etags_never_repeat(true), &mut client)
        .await
        .unwrap_err();
    let UpdateError::Service(error) = error else {
        panic!("not a service error: {error:?}");
    };
    assert_eq!(error.to_string(), "pool closed");
    assert!(writes(&received).is_empty());
    assert_eq!(gets(&received), 1, "no refetch: nothing to settle");
}

#[tokio::test]
async fn bodies_are_read_within_the_limit() {
    let long = "y".repeat(2048);
    let config = || no_wait().response_limit(1024);

    // A representation over the limit: nothing is written.
    let received = Inbox::default();
    let content = long.clone();
    let mut client = scripted(
        received.clone(),
        move |_| tagged("v0", &content),
        |_| status(StatusCode::NO_CONTENT),
    );
    let error = write_mine_io(config(), &mut client).await.unwrap_err();
    assert!(
        matches!(error, UpdateError::ResponseTooLarge { ref method, status: StatusCode::OK, limit: 1024 } if method == Method::GET),
        "{error:?}"
    );
    assert!(writes(&received).is_empty());

    // A body at the limit is read whole.
    let at_limit = "y".repeat(1024);
    let mut client = scripted(
        Inbox::default(),
        move |_| tagged("v0", &at_limit),
        |_| status(StatusCode::NO_CONTENT),
    );
    let mut length = 0;
    let outcome = config()
        .update(&mut client, Uri::from_static(STUB), |current: &Current| {
            length = current.content().map_or(0, Bytes::len);
            Change::put("mine")
        })
        .await
        .unwrap();
    assert!(outcome.is_written(), "{outcome:?}");
    assert_eq!(length, 1024);

    // A 412's long body is not needed: dropped, and the loop goes on.
    let content = long.clone();
    let mut client = scripted(
        Inbox::default(),
        |n| tagged(&format!("v{n}"), "x"),
        move |n| match n {
            0 => Ok(Response::builder()
                .status(StatusCode::PRECONDITION_FAILED)
                .body(Full::from(content.clone()))
                .unwrap()),
            _ => status(StatusCode::NO_CONTENT),
        },
    );
    let outcome = write_mine_io(config(), &mut client).await.unwrap();
    assert!(
        matches!(outcome, Outcome::Written { attempts: 2, .. }),
        "{outcome:?}"
    );
}
