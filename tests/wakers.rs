//! A finished drain or body hash lets go of its task's waker at once, not when its deadline
//! would have passed: a server's closed connections must not keep their tasks' memory alive
//! for the length of a timeout.
//!
//! Each test polls a response future by hand with a waker that counts its references, so that
//! the deadline surely registers it (the body stalls once), then lets the body finish.

use std::convert::Infallible;
use std::future::{Ready, ready};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{IF_MATCH, IF_NONE_MATCH};
use http::request::Parts;
use http::{Request, Response, StatusCode};
use http_body::{Body, Frame, SizeHint};
use tower::{Layer, Service, service_fn};
use tower_conditional::{BodyHashConfig, ConditionalLayer, DrainConfig, ETag, Lookup, Validators};

/// Far longer than the test may take: a waker still held then is held by the deadline.
const DEADLINE: Duration = Duration::from_secs(3600);

/// How long the timer may take to drop a cancelled entry (it does so on its own thread).
const RELEASE: Duration = Duration::from_secs(5);

/// A waker that wakes nothing; its `Arc`'s strong count tells how many clones are alive.
struct Task;

impl Wake for Task {
    fn wake(self: Arc<Self>) {}
}

/// A body of `Bytes` that is not ready at first, then sends `hello` and ends. Its size is
/// known (so the response side hashes it), yet not zero (so a request body is drained).
struct StallsOnce {
    polls: u8,
}

impl StallsOnce {
    fn new() -> Self {
        StallsOnce { polls: 0 }
    }
}

impl Body for StallsOnce {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.polls += 1;
        match self.polls {
            // The test polls again itself: no wake-up needed, and no waker kept here.
            1 => Poll::Pending,
            2 => Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(b"hello"))))),
            _ => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.polls >= 3
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(5)
    }
}

/// Polls `future` once with a counting waker (it must be waiting: its deadline now holds the
/// waker), then until it is done, and answers its output and the waker's `Arc`.
fn finish<F: Future>(future: F) -> (F::Output, Arc<Task>) {
    let task = Arc::new(Task);
    let waker = Waker::from(Arc::clone(&task));
    let mut cx = Context::from_waker(&waker);
    let mut future = Box::pin(future);
    assert!(
        future.as_mut().poll(&mut cx).is_pending(),
        "the body stalls"
    );
    assert!(
        Arc::strong_count(&task) > 2,
        "the deadline holds a clone of the waker while it waits"
    );
    let output = loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            break output;
        }
    };
    drop(future);
    drop(waker);
    (output, task)
}

/// Whether every clone of `task`'s waker is gone within [`RELEASE`].
fn released(task: &Arc<Task>) -> bool {
    let start = Instant::now();
    while Arc::strong_count(task) > 1 {
        if start.elapsed() > RELEASE {
            return false;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    true
}

fn ready_service<S: Service<R>, R>(service: &mut S) {
    let mut cx = Context::from_waker(Waker::noop());
    assert!(matches!(service.poll_ready(&mut cx), Poll::Ready(Ok(()))));
}

type Source = fn(&Parts) -> Ready<Result<Lookup, Infallible>>;

fn at_v1(_: &Parts) -> Ready<Result<Lookup, Infallible>> {
    let current = Validators::new().with_etag(ETag::from_static("\"v1\""));
    ready(Ok(Lookup::Present(current)))
}

#[test]
fn a_finished_drain_releases_its_waker_at_once() {
    let handler = service_fn(|_: Request<StallsOnce>| async {
        panic!("a stale write reached the handler");
        #[allow(unreachable_code)]
        Ok::<_, Infallible>(Response::new(String::new()))
    });
    let layer =
        ConditionalLayer::new(at_v1 as Source).drain(DrainConfig::default().timeout(DEADLINE));
    let mut service = layer.layer(handler);
    ready_service(&mut service);
    let stale = Request::put("/")
        .header(IF_MATCH, "\"v0\"")
        .body(StallsOnce::new())
        .expect("a valid request");
    let (response, task) = finish(service.call(stale));
    let response = response.expect("infallible");
    assert_eq!(response.status(), StatusCode::PRECONDITION_FAILED);
    drop(response);
    assert!(
        released(&task),
        "{} clones of the waker outlive the drain",
        Arc::strong_count(&task) - 1
    );
}

#[test]
fn a_finished_body_hash_releases_its_waker_at_once() {
    let handler = service_fn(|_: Request<String>| async {
        Ok::<_, Infallible>(Response::new(StallsOnce::new()))
    });
    let layer =
        ConditionalLayer::from_responses().body_hash(BodyHashConfig::default().timeout(DEADLINE));
    let mut service = layer.layer(handler);
    ready_service(&mut service);
    let request = Request::get("/")
        .header(IF_NONE_MATCH, "\"other\"")
        .body(String::new())
        .expect("a valid request");
    let (response, task) = finish(service.call(request));
    let response = response.expect("infallible");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers().get(http::header::ETAG),
        Some(&http::HeaderValue::from(&ETag::from_content(b"hello"))),
        "the body was hashed whole"
    );
    drop(response);
    assert!(
        released(&task),
        "{} clones of the waker outlive the body hash",
        Arc::strong_count(&task) - 1
    );
}
