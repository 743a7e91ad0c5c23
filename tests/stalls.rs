//! Uploads that stall: an early answer's drain is bounded in time whether or not data arrives,
//! and in how many run at once. Driven by raw TCP clients against `axum::serve`, with the
//! crate's default `tokio` timer (no timeout layer of any kind around the app).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::put;
use axum::serve::ListenerExt;
use http::request::Parts;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;
use tower_conditional::{ConditionalLayer, DrainConfig, ETag, Lookup, Validators};

/// An app whose one resource is at `"v1"`, and whose handler must never run for a stale write.
type Source = fn(&Parts) -> std::future::Ready<Result<Lookup, Infallible>>;

async fn serve(layer: ConditionalLayer<Source>) -> SocketAddr {
    let app = Router::new()
        .route(
            "/item",
            put(|| async {
                panic!("a stale write reached the handler");
                #[allow(unreachable_code)]
                ""
            }),
        )
        .route_layer(layer);
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let listener = listener.tap_io(|stream| {
        stream.set_nodelay(true).expect("TCP_NODELAY");
    });
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

fn v1(_: &Parts) -> std::future::Ready<Result<Lookup, Infallible>> {
    std::future::ready(Ok(Lookup::Present(
        Validators::new().with_etag(ETag::from_static("\"v1\"")),
    )))
}

/// Sends the head of a stale 1 MiB PUT and `sent` bytes of its body, then nothing more.
async fn stalled_upload(addr: SocketAddr, sent: usize) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream.set_nodelay(true).expect("TCP_NODELAY");
    let head =
        "PUT /item HTTP/1.1\r\nHost: test\r\nIf-Match: \"v0\"\r\nContent-Length: 1048576\r\n\r\n";
    stream.write_all(head.as_bytes()).await.expect("head");
    stream.write_all(&vec![b'x'; sent]).await.expect("body");
    stream.flush().await.expect("flush");
    stream
}

/// Reads until the head of a response has arrived (or the connection ends): the head as text.
async fn read_head(stream: &mut TcpStream) -> String {
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).await.unwrap_or(0);
        if n == 0 {
            break;
        }
        seen.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&seen).into_owned()
}

#[tokio::test]
async fn a_stalled_upload_is_answered_at_the_drain_deadline() {
    let deadline = Duration::from_millis(400);
    let addr =
        serve(ConditionalLayer::new(v1 as Source).drain(DrainConfig::default().timeout(deadline)))
            .await;
    let started = Instant::now();
    let mut stream = stalled_upload(addr, 1024).await;
    // Without a timer the drain would wait for data that never comes: no answer at all.
    let head = timeout(Duration::from_secs(20), read_head(&mut stream))
        .await
        .expect("answered although the client sends nothing more");
    let elapsed = started.elapsed();
    assert!(head.starts_with("HTTP/1.1 412"), "{head}");
    assert!(
        head.to_ascii_lowercase().contains("connection: close"),
        "a drain that did not finish closes the connection: {head}"
    );
    assert!(elapsed >= deadline, "not before the deadline: {elapsed:?}");
}

#[tokio::test]
async fn drains_past_the_cap_are_answered_at_once_and_the_cap_frees_up() {
    let cap = 3;
    let layer = ConditionalLayer::new(v1 as Source).drain(
        DrainConfig::default()
            .timeout(Duration::from_secs(60))
            .max_concurrent(cap),
    );
    let addr = serve(layer).await;
    // `cap` stalled uploads hold every drain.
    let mut held = Vec::new();
    for _ in 0..cap {
        held.push(stalled_upload(addr, 1024).await);
    }
    // Let the server reach the drain of each.
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Every further stalled upload is answered at once, without reading, and closed.
    for n in 0..3 * cap {
        let mut stream = stalled_upload(addr, 1024).await;
        let head = timeout(Duration::from_secs(10), read_head(&mut stream))
            .await
            .unwrap_or_else(|_| panic!("upload {n} past the cap waited for a drain"));
        assert!(head.starts_with("HTTP/1.1 412"), "{head}");
        assert!(
            head.to_ascii_lowercase().contains("connection: close"),
            "{head}"
        );
    }
    // The held ones are still draining: no answer yet.
    for stream in &mut held {
        let mut byte = [0u8; 1];
        let waited = timeout(Duration::from_millis(100), stream.read(&mut byte)).await;
        assert!(waited.is_err(), "a drain within the cap is not cut short");
    }
    // Clients that give up free their drains: the next stalled upload is drained, not
    // answered at once.
    drop(held);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut stream = stalled_upload(addr, 1024).await;
    let mut byte = [0u8; 1];
    let waited = timeout(Duration::from_millis(500), stream.read(&mut byte)).await;
    assert!(waited.is_err(), "the cap was freed: this upload is drained");
}

/// A body that sends nothing, ever (and says it has 100 bytes to come).
struct Stalled;

impl http_body::Body for Stalled {
    type Data = bytes::Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        std::task::Poll::Pending
    }

    fn size_hint(&self) -> http_body::SizeHint {
        http_body::SizeHint::with_exact(100)
    }
}

#[test]
fn off_any_runtime_a_stalled_body_is_answered_at_the_deadline() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::{Context, Poll, Wake, Waker};
    use tower::{Layer, ServiceExt};

    /// Counts wake-ups and unparks the polling thread.
    struct Unpark(std::thread::Thread, AtomicUsize);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.1.fetch_add(1, Ordering::SeqCst);
            self.0.unpark();
        }
    }
    let deadline = Duration::from_millis(200);
    let handler = tower::service_fn(|_: http::Request<Stalled>| async {
        Ok::<_, Infallible>(http::Response::new(String::new()))
    });
    let service = ConditionalLayer::new(v1 as Source)
        .drain(DrainConfig::default().timeout(deadline))
        .layer(handler);
    let request = http::Request::put("/item")
        .header(http::header::IF_MATCH, "\"v0\"")
        .body(Stalled)
        .expect("request");
    // No runtime at all: only the layer's deadline (futures-timer's thread) can wake this task.
    let unpark = Arc::new(Unpark(std::thread::current(), AtomicUsize::new(0)));
    let waker = Waker::from(Arc::clone(&unpark));
    let mut cx = Context::from_waker(&waker);
    let mut future = std::pin::pin!(service.oneshot(request));
    let started = Instant::now();
    loop {
        if let Poll::Ready(response) = future.as_mut().poll(&mut cx) {
            let response = response.expect("infallible");
            assert_eq!(response.status(), http::StatusCode::PRECONDITION_FAILED);
            assert_eq!(response.headers()[http::header::CONNECTION], "close");
            assert!(started.elapsed() >= deadline);
            assert!(unpark.1.load(Ordering::SeqCst) >= 1, "woken by the timer");
            return;
        }
        // Sleep until woken (or give up long after the deadline): a wake-up must come.
        std::thread::park_timeout(Duration::from_secs(20));
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "never woken: the drain waits for data that never comes"
        );
    }
}

/// A stale PUT whose small body the layer drains before its 412, through the bare layer.
fn stale_put_with_body() -> http::Request<String> {
    http::Request::put("/item")
        .header(http::header::IF_MATCH, "\"v0\"")
        .body("x".repeat(10))
        .expect("request")
}

/// The layer over a handler that must never run (every request here is a stale write).
fn bare(
    layer: ConditionalLayer<Source>,
) -> impl tower::Service<
    http::Request<String>,
    Response = http::Response<tower_conditional::ConditionalBody<String>>,
    Error = Infallible,
> {
    use tower::Layer;
    layer.layer(tower::service_fn(|_: http::Request<String>| async {
        panic!("a stale write reached the handler");
        #[allow(unreachable_code)]
        Ok::<_, Infallible>(http::Response::new(String::new()))
    }))
}

#[test]
fn a_drain_without_a_deadline_is_answered_without_a_panic() {
    // `Duration::MAX` reads as "no deadline"; `Instant::now() + Duration::MAX` overflows.
    use tower::ServiceExt;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime");
    let service = bare(
        ConditionalLayer::new(v1 as Source).drain(DrainConfig::default().timeout(Duration::MAX)),
    );
    let response = runtime
        .block_on(service.oneshot(stale_put_with_body()))
        .expect("infallible");
    assert_eq!(response.status(), http::StatusCode::PRECONDITION_FAILED);
    assert!(!response.headers().contains_key(http::header::CONNECTION));
}

#[test]
fn a_runtime_without_timers_is_answered_without_a_panic() {
    use tower::ServiceExt;
    // A tokio context whose time driver is off: `tokio::time::sleep` would panic here ("timers
    // are disabled"); the layer's deadline does not depend on it.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let service = bare(ConditionalLayer::new(v1 as Source));
    let response = runtime
        .block_on(service.oneshot(stale_put_with_body()))
        .expect("infallible");
    assert_eq!(response.status(), http::StatusCode::PRECONDITION_FAILED);
}

#[test]
fn off_any_runtime_the_drain_runs_without_a_timer_and_without_a_panic() {
    use std::sync::Arc;
    use std::task::{Context, Poll, Wake, Waker};
    use tower::ServiceExt;

    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    // A runtime-less executor (as `futures::executor::block_on`), bounded in polls.
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let service = bare(ConditionalLayer::new(v1 as Source));
    let mut future = std::pin::pin!(service.oneshot(stale_put_with_body()));
    for _ in 0..1000 {
        if let Poll::Ready(response) = future.as_mut().poll(&mut cx) {
            let response = response.expect("infallible");
            assert_eq!(response.status(), http::StatusCode::PRECONDITION_FAILED);
            return;
        }
        std::thread::park_timeout(Duration::from_millis(10));
    }
    panic!("no answer off a runtime");
}

/// Sends `raw` on a new connection, then reads until the connection ends or `until` holds of
/// what arrived (bounded by 20 s): what arrived, as text.
async fn exchange(addr: SocketAddr, raw: &[u8], until: impl Fn(&str) -> bool) -> String {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream.set_nodelay(true).expect("TCP_NODELAY");
    stream.write_all(raw).await.expect("request");
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    let read = async {
        while !until(&String::from_utf8_lossy(&seen)) {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => seen.extend_from_slice(&buf[..n]),
            }
        }
    };
    timeout(Duration::from_secs(20), read)
        .await
        .expect("an answer within 20 s");
    String::from_utf8_lossy(&seen).into_owned()
}

#[tokio::test]
async fn an_upload_trickling_a_byte_at_a_time_is_answered_at_the_deadline() {
    let addr = serve(
        ConditionalLayer::new(v1 as Source)
            .drain(DrainConfig::default().timeout(Duration::from_millis(500))),
    )
    .await;
    let mut stream = stalled_upload(addr, 1).await;
    let (mut reader, mut writer) = stream.split();
    // A byte every 100 ms: data keeps arriving, and 1 MiB of it would take a day.
    let trickle = async {
        for _ in 0..300 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if writer.write_all(b"x").await.is_err() {
                break;
            }
        }
    };
    let answer = async {
        let mut seen = Vec::new();
        let mut buf = [0u8; 4096];
        while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
            match reader.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => seen.extend_from_slice(&buf[..n]),
            }
        }
        String::from_utf8_lossy(&seen).into_owned()
    };
    let head = tokio::select! {
        head = answer => head,
        () = trickle => panic!("no answer while the client trickled for 30 s"),
    };
    assert!(head.starts_with("HTTP/1.1 412"), "{head}");
    assert!(
        head.to_ascii_lowercase().contains("connection: close"),
        "{head}"
    );
}

#[tokio::test]
async fn a_chunked_upload_that_stalls_is_answered_at_the_deadline() {
    let addr = serve(
        ConditionalLayer::new(v1 as Source)
            .drain(DrainConfig::default().timeout(Duration::from_millis(300))),
    )
    .await;
    let raw = b"PUT /item HTTP/1.1\r\nHost: test\r\nIf-Match: \"v0\"\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nxxxxx\r\n";
    let seen = exchange(addr, raw, |seen| seen.contains("\r\n\r\n")).await;
    assert!(seen.starts_with("HTTP/1.1 412"), "{seen}");
    assert!(
        seen.to_ascii_lowercase().contains("connection: close"),
        "{seen}"
    );
}

#[tokio::test]
async fn a_pipelined_request_after_a_drained_answer_is_answered_on_the_same_connection() {
    let addr = serve(ConditionalLayer::new(v1 as Source)).await;
    let one =
        "PUT /item HTTP/1.1\r\nHost: test\r\nIf-Match: \"v0\"\r\nContent-Length: 5\r\n\r\nxxxxx";
    let chunked = "PUT /item HTTP/1.1\r\nHost: test\r\nIf-Match: \"v0\"\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
    let last = "PUT /item HTTP/1.1\r\nHost: test\r\nIf-Match: \"v0\"\r\nContent-Length: 0\r\n\r\n";
    let raw = format!("{one}{chunked}{last}");
    let seen = exchange(addr, raw.as_bytes(), |seen| {
        seen.matches("HTTP/1.1 412").count() == 3
    })
    .await;
    assert_eq!(seen.matches("HTTP/1.1 412").count(), 3, "{seen}");
    assert!(
        !seen.to_ascii_lowercase().contains("connection: close"),
        "{seen}"
    );
}

#[tokio::test]
async fn expect_100_continue_in_any_case_is_answered_at_once_without_reading() {
    let addr = serve(
        ConditionalLayer::new(v1 as Source)
            .drain(DrainConfig::default().timeout(Duration::from_secs(60))),
    )
    .await;
    for expect in ["100-continue", "100-CONTINUE", "100-Continue"] {
        // The client waits for 100 (Continue) and sends no body: a drain would wait 60 s.
        let raw = format!(
            "PUT /item HTTP/1.1\r\nHost: test\r\nIf-Match: \"v0\"\r\nExpect: {expect}\r\nContent-Length: 5\r\n\r\n"
        );
        let seen = exchange(addr, raw.as_bytes(), |seen| seen.contains("\r\n\r\n")).await;
        assert!(seen.starts_with("HTTP/1.1 412"), "{expect}: {seen}");
        assert!(!seen.contains("100 Continue"), "{expect}: {seen}");
        assert!(
            seen.to_ascii_lowercase().contains("connection: close"),
            "{expect}: {seen}"
        );
    }
}

#[tokio::test]
async fn an_http_1_0_upload_with_expect_is_drained_and_answered() {
    let addr = serve(
        ConditionalLayer::new(v1 as Source)
            .drain(DrainConfig::default().timeout(Duration::from_secs(60))),
    )
    .await;
    let raw = b"PUT /item HTTP/1.0\r\nHost: test\r\nIf-Match: \"v0\"\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\nxxxxx";
    let seen = exchange(addr, raw, |seen| seen.contains("\r\n\r\n")).await;
    assert!(seen.starts_with("HTTP/1.0 412"), "{seen}");
}

/// A request body that declares 10 bytes and never sends them (or panics when read).
struct Silent {
    panics: bool,
}

impl http_body::Body for Silent {
    type Data = bytes::Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<bytes::Bytes>, Infallible>>> {
        assert!(!self.panics, "a body that panics when read");
        std::task::Poll::Pending
    }

    fn size_hint(&self) -> http_body::SizeHint {
        http_body::SizeHint::with_exact(10)
    }
}

#[tokio::test]
async fn a_drain_dropped_or_panicking_returns_its_permit() {
    use std::future::Future;
    use std::task::{Context, Poll};
    use tower::{Layer, Service, ServiceExt};
    let layer = ConditionalLayer::new(v1 as Source).drain(
        DrainConfig::default()
            .timeout(Duration::from_secs(60))
            .max_concurrent(1),
    );
    let mut service = layer.layer(tower::service_fn(|_: http::Request<Silent>| async {
        panic!("a stale write reached the handler");
        #[allow(unreachable_code)]
        Ok::<_, Infallible>(http::Response::new(String::new()))
    }));
    let request = |panics| {
        http::Request::put("/item")
            .header(http::header::IF_MATCH, "\"v0\"")
            .body(Silent { panics })
            .expect("request")
    };
    let mut cx = Context::from_waker(std::task::Waker::noop());
    // Whether a new stale upload is drained (pending) rather than answered at once.
    macro_rules! drained {
        () => {{
            let mut future = Box::pin(service.ready().await.expect("ready").call(request(false)));
            future.as_mut().poll(&mut cx).is_pending()
        }};
    }
    assert!(drained!(), "the first upload is drained");
    // Dropped mid-drain (client gone, server shut down): the future above already was.
    assert!(drained!(), "a dropped drain returned its permit");
    // A drain whose body panics: the unwinding drops it.
    let mut future = Box::pin(service.ready().await.expect("ready").call(request(true)));
    let unwound = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = future.as_mut().poll(&mut cx);
    }));
    assert!(unwound.is_err(), "the body panicked");
    drop(future);
    assert!(drained!(), "a panicked drain returned its permit");
    // Held: the cap applies.
    let mut held = Box::pin(service.ready().await.expect("ready").call(request(false)));
    assert!(held.as_mut().poll(&mut cx).is_pending());
    let mut next = Box::pin(service.ready().await.expect("ready").call(request(false)));
    match next.as_mut().poll(&mut cx) {
        Poll::Ready(Ok(response)) => assert_eq!(response.status(), 412),
        other => panic!("past the cap, an answer at once: {other:?}"),
    }
}
