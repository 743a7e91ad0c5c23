//! Making an early answer deliverable (RFC 9112 §9.6): the unread request body is read and
//! discarded, within bounds, before the answer goes out.
//!
//! A server that answers and closes while the client is still sending leaves unread bytes in
//! its receive buffer; the kernel then resets the connection, and a client that writes its whole
//! request before reading (Node's `http`, Python's `http.client`) loses the answer. So before an
//! early answer the layer reads the rest of the body, up to a byte limit and a deadline. A body
//! that ends within them leaves the connection reusable. Otherwise the answer carries
//! `Connection: close`, so the client learns that the connection ends.
//!
//! Why drain *before* answering rather than while the answer's body is sent: the answer's
//! `Connection` header must be decided before its head is written, and only after reading do we
//! know whether the body fitted the bounds; it also keeps the request body out of the response
//! body's type. The cost is that a client that reads while sending (curl) sees the answer once
//! its upload is read rather than at once: the same as when a handler reads the body.
//!
//! The deadline is checked whenever data arrives: no timer is needed, so this works on any
//! runtime. A client that stops sending altogether is like any idle connection and is bounded
//! by the server's own timeouts.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Buf;
use http::header::{CONNECTION, EXPECT};
use http::request::Parts;
use http::{HeaderValue, Response, Version};
use http_body::Body;

use super::settings::Settings;
use crate::response::AnswerBody;

/// The bounds of a drain, from the layer's configuration.
#[derive(Debug, Clone, Copy)]
pub(super) struct Limits {
    pub(super) bytes: u64,
    pub(super) time: Duration,
}

impl Limits {
    /// The bounds `settings` configure.
    pub(super) fn of(settings: &Settings) -> Self {
        Limits {
            bytes: settings.drain_limit,
            time: settings.drain_timeout,
        }
    }
}

/// How an early answer deals with the request body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Start {
    /// Answer at once, as it is: there is no body to read, or the protocol (HTTP/2 and later)
    /// ends the stream by itself.
    AnswerNow,
    /// Answer at once with `Connection: close`: the body is declared larger than the limit, or
    /// the client waits for `100 Continue` before sending it (RFC 9110 §10.1.1: a server that
    /// answers before reading the content says whether it closes the connection; hyper does
    /// close it, since the unsent body cannot be told apart from a next request).
    AnswerAndClose,
    /// Read the body first.
    Drain,
}

/// Decides how to treat the body of a request answered early.
pub(super) fn start<B: Body>(parts: &Parts, body: &B, limits: Limits) -> Start {
    if body.is_end_stream() || body.size_hint().exact() == Some(0) {
        return Start::AnswerNow;
    }
    if parts.version >= Version::HTTP_2 {
        return Start::AnswerNow; // the stream is reset on its own, the connection lives on
    }
    // RFC 9110 §10.1.1: the client sends the body only once told to continue; hyper says
    // `100 Continue` when the body is first polled, so never poll it, and say that the
    // connection ends with this answer.
    // HTTP/1.0 has no 100 (Continue): the expectation is ignored there and the body comes at
    // once (hyper does the same), so it is drained like any other.
    let expects_continue = parts.version == Version::HTTP_11
        && parts.headers.get_all(EXPECT).iter().any(|value| {
            value
                .as_bytes()
                .trim_ascii()
                .eq_ignore_ascii_case(b"100-continue")
        });
    if expects_continue {
        return Start::AnswerAndClose;
    }
    match body.size_hint().exact() {
        Some(declared) if declared > limits.bytes => Start::AnswerAndClose,
        _ if limits.bytes == 0 => Start::AnswerAndClose,
        _ => Start::Drain,
    }
}

/// An early answer waiting for the request body to be read.
#[derive(Debug)]
pub(super) struct Draining {
    response: Option<Response<AnswerBody>>,
    read: u64,
    limit: u64,
    deadline: Instant,
}

impl Draining {
    pub(super) fn new(response: Response<AnswerBody>, limits: Limits) -> Self {
        Draining {
            response: Some(response),
            read: 0,
            limit: limits.bytes,
            deadline: Instant::now() + limits.time,
        }
    }

    /// Reads and discards `body` until it ends (the answer as it is) or a bound is passed or
    /// the body fails (the answer with `Connection: close`).
    pub(super) fn poll<B: Body>(
        &mut self,
        mut body: Pin<&mut B>,
        cx: &mut Context<'_>,
    ) -> Poll<Response<AnswerBody>> {
        const DONE: &str = "a drain is polled after its answer was taken";
        let complete = loop {
            match body.as_mut().poll_frame(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(None) => break true,
                Poll::Ready(Some(Err(_))) => break false,
                Poll::Ready(Some(Ok(frame))) => {
                    if let Ok(data) = frame.into_data() {
                        self.read = self.read.saturating_add(data.remaining() as u64);
                    }
                    if body.is_end_stream() {
                        break true;
                    }
                    if self.read > self.limit || Instant::now() >= self.deadline {
                        break false;
                    }
                }
            }
        };
        let mut response = self.response.take().expect(DONE);
        if !complete {
            close(&mut response);
        }
        Poll::Ready(response)
    }
}

/// Tells the client the connection ends after this answer (RFC 9112 §9.6).
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
        }
    }

    fn start_for(request: Request<String>, bytes: u64) -> Start {
        let (parts, body) = request.into_parts();
        start(&parts, &body, limits(bytes))
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
            Start::Drain
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
        assert_eq!(start_for(request, 1000), Start::Drain);
    }

    #[test]
    fn http2_streams_are_not_drained() {
        let request = Request::put("/")
            .version(Version::HTTP_2)
            .body("x".repeat(100))
            .unwrap();
        assert_eq!(start_for(request, 10), Start::AnswerNow);
    }
}
