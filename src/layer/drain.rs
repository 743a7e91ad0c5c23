//! Making an early answer deliverable (RFC 9112 §9.6, RFC 9113 §8.1): the unread request body
//! is read and discarded, within bounds, before the answer goes out.
//!
//! A server that answers and closes while the client is still sending leaves unread bytes in
//! its receive buffer; the kernel then resets the connection, and a client that writes its whole
//! request before reading (Node's `http`, Python's `http.client`) loses the answer. Over HTTP/2
//! the twin: the server answers, then resets the stream (`RST_STREAM`), and clients that are
//! still uploading (Node's `http2`, curl) drop the response with the stream. So before an early
//! answer the layer reads the rest of the body, up to a byte limit and a deadline, over either
//! protocol. A body that ends within them leaves the connection (HTTP/1.1) or the stream
//! (HTTP/2) to end cleanly. Otherwise the HTTP/1 answer carries `Connection: close`, so the
//! client learns that the connection ends; over HTTP/2 the stream is reset after the complete
//! answer, and the connection lives on.
//!
//! Why drain *before* answering rather than while the answer's body is sent: the answer's
//! `Connection` header must be decided before its head is written, and only after reading do we
//! know whether the body fitted the bounds; it also keeps the request body out of the response
//! body's type (no `Send + 'static` bound on it, no spawned task, no runtime needed). The cost
//! is that a client that reads while sending (curl) sees the answer once its upload is read
//! rather than at once: the same as when a handler reads the body.
//!
//! The deadline fires whether or not data arrives: a [`Deadline`] (any runtime, no feature) is
//! started when a drain starts, and only then, so the fast path never touches it. The number of
//! drains running at once is capped per layer ([`Drains`]); past the cap an answer goes out at
//! once, as for a body past the byte limit.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Buf;
use http::header::{CONNECTION, EXPECT};
use http::request::Parts;
use http::{HeaderValue, Response, Version};
use http_body::Body;

use super::deadline::Deadline;
use super::running::{Drains, Permit};
use super::settings::Settings;
use crate::response::AnswerBody;

/// The bounds of a drain, from the layer's configuration.
#[derive(Debug, Clone)]
pub(super) struct Limits {
    pub(super) bytes: u64,
    pub(super) time: Duration,
    pub(super) max_drains: usize,
    pub(super) drains: Drains,
}

impl Limits {
    /// The bounds `settings` configure, for drains counted in `drains`.
    pub(super) fn of(settings: &Settings, drains: &Drains) -> Self {
        Limits {
            // `drain(None)`: a limit of 0 bytes and no drain at once, so never read.
            bytes: settings.drain.map_or(0, |drain| drain.limit),
            time: settings.drain.map_or(Duration::ZERO, |drain| drain.timeout),
            max_drains: settings.drain.map_or(0, |drain| drain.max_concurrent),
            drains: drains.clone(),
        }
    }
}

/// How an early answer deals with the request body.
pub(super) enum Start {
    /// Answer at once, as it is: there is no body to read, or (HTTP/2) the client waits for
    /// `100 Continue`, which hyper does not send there, or the body cannot be drained within
    /// the bounds (the stream is reset after the answer; the connection lives on).
    AnswerNow,
    /// HTTP/1: answer at once with `Connection: close`: the body is declared larger than the
    /// limit, the drain cap is reached, or the client waits for `100 Continue` before sending
    /// the body (RFC 9110 §10.1.1: a server that answers before reading the content says
    /// whether it closes the connection; hyper does close it, since the unsent body cannot be
    /// told apart from a next request).
    AnswerAndClose,
    /// Read the body first, counted among the running drains while the permit lives.
    Drain(Permit),
}

impl fmt::Debug for Start {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Start::AnswerNow => "AnswerNow",
            Start::AnswerAndClose => "AnswerAndClose",
            Start::Drain(_) => "Drain",
        })
    }
}

impl PartialEq for Start {
    fn eq(&self, other: &Self) -> bool {
        std::mem::discriminant(self) == std::mem::discriminant(other)
    }
}

/// Decides how to treat the body of a request answered early.
pub(super) fn start<B: Body>(parts: &Parts, body: &B, limits: &Limits) -> Start {
    if body.is_end_stream() || body.size_hint().exact() == Some(0) {
        return Start::AnswerNow;
    }
    let http2 = parts.version >= Version::HTTP_2;
    // Not drained: past the bounds, or nothing will come before an answer.
    let refuse = if http2 {
        Start::AnswerNow // the stream is reset after the answer, the connection lives on
    } else {
        Start::AnswerAndClose
    };
    // RFC 9110 §10.1.1: the client sends the body only once told to continue; hyper says
    // `100 Continue` over HTTP/1.1 when the body is first polled (and never over HTTP/2), so
    // never poll it. HTTP/1.0 has no 100 (Continue): the expectation is ignored there and the
    // body comes at once (hyper does the same), so it is drained like any other.
    let expects_continue = parts.version >= Version::HTTP_11
        && parts.headers.get_all(EXPECT).iter().any(|value| {
            value
                .as_bytes()
                .trim_ascii()
                .eq_ignore_ascii_case(b"100-continue")
        });
    let too_large = body
        .size_hint()
        .exact()
        .is_some_and(|declared| declared > limits.bytes);
    if expects_continue || too_large || limits.bytes == 0 {
        return refuse;
    }
    match limits.drains.acquire(limits.max_drains) {
        Some(permit) => Start::Drain(permit),
        None => refuse,
    }
}

/// An early answer waiting for the request body to be read.
pub(super) struct Draining {
    response: Option<Response<AnswerBody>>,
    read: u64,
    limit: u64,
    /// Wakes the drain at the deadline even if no data arrives.
    deadline: Deadline,
    http2: bool,
    _permit: Permit,
}

impl fmt::Debug for Draining {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Draining")
            .field("read", &self.read)
            .field("limit", &self.limit)
            .field("deadline", &self.deadline)
            .finish()
    }
}

impl Draining {
    /// Starts draining before `response`, for a request of `version`.
    pub(super) fn new(
        response: Response<AnswerBody>,
        limits: &Limits,
        permit: Permit,
        version: Version,
    ) -> Self {
        let http2 = version >= Version::HTTP_2;
        Draining {
            response: Some(response),
            read: 0,
            limit: limits.bytes,
            // Created only now that a drain starts: the fast path never touches the timer.
            deadline: Deadline::after(limits.time),
            http2,
            _permit: permit,
        }
    }

    /// Reads and discards `body` until it ends (the answer as it is) or a bound is passed or
    /// the body fails (the answer with `Connection: close` over HTTP/1).
    pub(super) fn poll<B: Body>(
        &mut self,
        mut body: Pin<&mut B>,
        cx: &mut Context<'_>,
    ) -> Poll<Response<AnswerBody>> {
        const DONE: &str = "a drain is polled after its answer was taken";
        let complete = loop {
            match body.as_mut().poll_frame(cx) {
                Poll::Pending => {
                    if self.deadline.poll(cx).is_ready() {
                        break false;
                    }
                    return Poll::Pending;
                }
                Poll::Ready(None) => break true,
                Poll::Ready(Some(Err(_))) => break false,
                Poll::Ready(Some(Ok(frame))) => {
                    if let Ok(data) = frame.into_data() {
                        self.read = self.read.saturating_add(data.remaining() as u64);
                    }
                    if body.is_end_stream() {
                        break true;
                    }
                    if self.read > self.limit || self.deadline.has_passed() {
                        break false;
                    }
                }
            }
        };
        let mut response = self.response.take().expect(DONE);
        if !complete && !self.http2 {
            close(&mut response);
        }
        Poll::Ready(response)
    }
}

/// Tells the client the connection ends after this answer (RFC 9112 §9.6). HTTP/1 only: HTTP/2
/// forbids the field (RFC 9113 §8.2.2).
pub(super) fn close(response: &mut Response<AnswerBody>) {
    response
        .headers_mut()
        .insert(CONNECTION, HeaderValue::from_static("close"));
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::Request;

    fn limits(bytes: u64) -> Limits {
        Limits {
            bytes,
            time: Duration::from_secs(10),
            max_drains: 8,
            drains: Drains::default(),
        }
    }

    fn start_for(request: Request<String>, bytes: u64) -> Start {
        let (parts, body) = request.into_parts();
        start(&parts, &body, &limits(bytes))
    }

    fn drain_probe() -> Start {
        Start::Drain(Drains::default().acquire(1).expect("a permit"))
    }

    #[test]
    fn bodies_are_drained_within_the_limit_and_refused_past_it() {
        let put = || Request::put("/");
        assert_eq!(
            start_for(put().body(String::new()).unwrap(), 10),
            Start::AnswerNow
        );
        assert_eq!(
            start_for(put().body("x".repeat(10)).unwrap(), 10),
            drain_probe()
        );
        assert_eq!(
            start_for(put().body("x".repeat(11)).unwrap(), 10),
            Start::AnswerAndClose
        );
        assert_eq!(
            start_for(put().body("x".into()).unwrap(), 0),
            Start::AnswerAndClose
        );
    }

    #[test]
    fn a_client_waiting_for_100_continue_is_answered_without_reading() {
        let request = Request::put("/")
            .header(EXPECT, "100-Continue")
            .body("x".repeat(100))
            .unwrap();
        assert_eq!(start_for(request, 10), Start::AnswerAndClose);
    }

    #[test]
    fn an_http_1_0_expectation_is_ignored_and_the_body_drained() {
        let request = Request::put("/")
            .version(Version::HTTP_10)
            .header(EXPECT, "100-continue")
            .body("x".repeat(100))
            .unwrap();
        assert_eq!(start_for(request, 1000), drain_probe());
    }

    #[test]
    fn http2_streams_are_drained_and_past_the_bounds_answered_without_connection_close() {
        let h2 = |body: String| {
            Request::put("/")
                .version(Version::HTTP_2)
                .body(body)
                .unwrap()
        };
        assert_eq!(start_for(h2("x".repeat(10)), 10), drain_probe());
        assert_eq!(start_for(h2("x".repeat(11)), 10), Start::AnswerNow);
        let waits = Request::put("/")
            .version(Version::HTTP_2)
            .header(EXPECT, "100-continue")
            .body("x".repeat(10))
            .unwrap();
        assert_eq!(start_for(waits, 10), Start::AnswerNow);
    }

    #[test]
    fn drains_past_the_cap_are_answered_at_once_and_permits_are_returned() {
        let limits = Limits {
            max_drains: 2,
            ..limits(100)
        };
        let (parts, body) = Request::put("/").body("x".repeat(10)).unwrap().into_parts();
        let first = start(&parts, &body, &limits);
        let second = start(&parts, &body, &limits);
        assert_eq!(first, drain_probe());
        assert_eq!(second, drain_probe());
        assert_eq!(limits.drains.running(), 2);
        assert_eq!(start(&parts, &body, &limits), Start::AnswerAndClose);
        drop(first);
        assert_eq!(limits.drains.running(), 1);
        assert_eq!(start(&parts, &body, &limits), drain_probe());
        drop(second);
    }
}
