//! The response body of the layer, [`ConditionalBody`]: the inner service's body, a body the layer read to hash it,
//! or a short body of the layer's own.

use std::collections::VecDeque;
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::response::AnswerBody;
use bytes::Bytes;
use http::HeaderMap;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

pin_project! {
    /// The body of every response of a [`Conditional`](crate::Conditional) service (as
    /// tower-http's `Compression` answers with a `CompressionBody`): the inner service's body
    /// `B` when it ran (passed through, or read whole to hash it and handed on chunk by chunk
    /// without a copy), or the layer's own answer (an
    /// [`AnswerBody`](crate::response::AnswerBody): empty for 304, a problem+json document for
    /// 400, 412, 428 and 503) when the layer answered.
    ///
    /// ```
    /// use std::convert::Infallible;
    /// use http::{header, request::Parts, Request, Response, StatusCode};
    /// use http_body_util::BodyExt;
    /// use tower::{service_fn, Layer, ServiceExt};
    /// use tower_conditional::{ConditionalLayer, ETag, Lookup, ConditionalBody, Validators};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let source = |_: &Parts| async {
    ///     let current = Validators::new().with_etag(ETag::from_static("\"v2\""));
    ///     Ok::<_, Infallible>(Lookup::Present(current))
    /// };
    /// let service = ConditionalLayer::new(source).layer(service_fn(|_: Request<String>| async {
    ///     Ok::<_, Infallible>(Response::new(String::from("hello")))
    /// }));
    /// let read = Request::get("/").body(String::new())?;
    /// let response: Response<ConditionalBody<String>> = service.clone().oneshot(read).await?;
    /// assert_eq!(response.into_body().collect().await?.to_bytes(), "hello"); // passed through
    ///
    /// let stale = Request::put("/").header(header::IF_MATCH, "\"v1\"").body(String::new())?;
    /// let refused = service.oneshot(stale).await?;
    /// assert_eq!(refused.status(), StatusCode::PRECONDITION_FAILED);
    /// let problem = refused.into_body().collect().await?.to_bytes();
    /// assert!(problem.starts_with(b"{\"type\":\"about:blank\""));
    /// # Ok(())
    /// # }
    /// ```
    pub struct ConditionalBody<B>
    where
        B: Body,
    {
        #[pin]
        kind: Kind<B>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<B>
    where
        B: Body,
    {
        Inner { #[pin] body: B },
        Full { data: Option<Bytes> },
        // Nothing, of no stated size, already ended: the body of a 304 (see `Framing`), and of
        // the layer's answers to HEAD (their length is in `Content-Length`).
        Ended,
        Buffered {
            chunks: VecDeque<Bytes>,
            rest: Option<Pin<Box<B>>>,
            trailers: Option<HeaderMap>,
            error: Option<B::Error>,
        },
    }
}

/// How the layer's own answers to one request are framed: what of the method and protocol
/// decides whether they go out with a body and a size hint.
///
/// A 304 must not carry a `Content-Length` other than the 200's (RFC 9110 §8.6, §15.4.5), which
/// the layer does not know, and axum's router writes an exact size hint as `Content-Length`
/// whatever the status and the method (`content-length: 0` on a 304). Hyper's HTTP/1 code drops
/// it from a 304 and from a HEAD, its HTTP/2 code sends it. So a 304 goes out:
///
/// - to HEAD, and to any request over HTTP/2: with no hint, its body already ended;
/// - to GET over HTTP/1.x: with an exact empty hint, which hyper keeps off the wire, and which
///   makes a tower-http `CompressionLayer` placed (unsupported) outside this layer leave the 304
///   alone. Without a hint it would compress it: no body reaches the wire over HTTP/1 (hyper
///   drops it), but a `Content-Encoding: gzip` would, which a cache merges into its stored
///   response (RFC 9111 §4.3.4). Over HTTP/2 nothing the layer can send stops that compression
///   from putting a body on the 304 without a false `Content-Length`: see the README's
///   compression section (the supported order puts compression inside this layer).
///
/// Any other answer to HEAD (412, 400, 428, 503, ...) goes out with its `Content-Length` (the
/// length its GET would have, RFC 9110 §9.3.2) and a body that has already ended: hyper's
/// HTTP/1 code strips a HEAD response's body, but its HTTP/2 code sends it as DATA frames, a
/// malformed response (RFC 9113 §8.1.1) that clients reset, wherever nothing between the layer
/// and hyper (such as axum's router around a `route_layer`) strips it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Framing {
    head: bool,
    http2: bool,
}

impl Framing {
    pub(crate) fn of(method: &http::Method, version: http::Version) -> Self {
        Framing {
            head: method == http::Method::HEAD,
            http2: version >= http::Version::HTTP_2,
        }
    }
}

impl<B: Body> ConditionalBody<B> {
    pub(crate) fn inner(body: B) -> Self {
        ConditionalBody {
            kind: Kind::Inner { body },
        }
    }

    pub(crate) fn full(data: Bytes) -> Self {
        let data = (!data.is_empty()).then_some(data);
        ConditionalBody {
            kind: Kind::Full { data },
        }
    }

    /// A response of the layer's own, framed for its request (see [`Framing`]).
    pub(crate) fn answer(
        response: http::Response<AnswerBody>,
        framing: Framing,
    ) -> http::Response<Self> {
        let ended = ConditionalBody { kind: Kind::Ended };
        if response.status() == http::StatusCode::NOT_MODIFIED {
            if framing.head || framing.http2 {
                return response.map(|_| ended);
            }
        } else if framing.head {
            let (mut head, body) = response.into_parts();
            head.headers
                .entry(http::header::CONTENT_LENGTH)
                .or_insert_with(|| http::HeaderValue::from(body.len()));
            return http::Response::from_parts(head, ended);
        }
        response.map(|body| Self::full(body.into_bytes()))
    }

    /// A body already read: its data chunks, then its trailers or the error that ended it.
    pub(crate) fn buffered(
        chunks: VecDeque<Bytes>,
        trailers: Option<HeaderMap>,
        error: Option<B::Error>,
    ) -> Self {
        ConditionalBody {
            kind: Kind::Buffered {
                chunks,
                rest: None,
                trailers,
                error,
            },
        }
    }

    /// The chunks already read, then the rest of `body`, as it comes.
    pub(crate) fn buffered_then(chunks: VecDeque<Bytes>, body: Pin<Box<B>>) -> Self {
        ConditionalBody {
            kind: Kind::Buffered {
                chunks,
                rest: Some(body),
                trailers: None,
                error: None,
            },
        }
    }
}

impl<B> Body for ConditionalBody<B>
where
    B: Body,
    B::Data: From<Bytes>,
{
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        match self.project().kind.project() {
            KindProj::Inner { body } => body.poll_frame(cx),
            KindProj::Full { data } => {
                Poll::Ready(data.take().map(|bytes| Ok(Frame::data(bytes.into()))))
            }
            KindProj::Ended => Poll::Ready(None),
            KindProj::Buffered {
                chunks,
                rest,
                trailers,
                error,
            } => Poll::Ready(if let Some(chunk) = chunks.pop_front() {
                Some(Ok(Frame::data(chunk.into())))
            } else if let Some(rest) = rest {
                return rest.as_mut().poll_frame(cx);
            } else if let Some(error) = error.take() {
                Some(Err(error))
            } else {
                trailers
                    .take()
                    .map(|trailers| Ok(Frame::trailers(trailers)))
            }),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Inner { body } => body.is_end_stream(),
            Kind::Full { data } => data.is_none(),
            Kind::Ended => true,
            Kind::Buffered {
                chunks,
                rest,
                trailers,
                error,
            } => {
                chunks.is_empty()
                    && rest.as_ref().is_none_or(|rest| rest.is_end_stream())
                    && trailers.is_none()
                    && error.is_none()
            }
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Inner { body } => body.size_hint(),
            Kind::Full { data } => {
                SizeHint::with_exact(data.as_ref().map_or(0, |d| d.len() as u64))
            }
            Kind::Ended => SizeHint::default(),
            Kind::Buffered { chunks, rest, .. } => {
                let buffered: u64 = chunks.iter().map(|c| c.len() as u64).sum();
                match rest {
                    None => SizeHint::with_exact(buffered),
                    Some(rest) => {
                        let rest = rest.size_hint();
                        let mut hint = SizeHint::new();
                        hint.set_lower(buffered.saturating_add(rest.lower()));
                        if let Some(upper) = rest.upper() {
                            hint.set_upper(buffered.saturating_add(upper));
                        }
                        hint
                    }
                }
            }
        }
    }
}

impl<B: Body> fmt::Debug for ConditionalBody<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Inner { .. } => f.write_str("ConditionalBody::Inner"),
            Kind::Full { data } => f
                .debug_tuple("ConditionalBody::Full")
                .field(&data.as_ref().map_or(0, Bytes::len))
                .finish(),
            Kind::Ended => f.write_str("ConditionalBody::Ended"),
            Kind::Buffered { chunks, .. } => f
                .debug_tuple("ConditionalBody::Buffered")
                .field(&chunks.len())
                .finish(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::response::not_modified;
    use crate::state::Validators;
    use http::{Method, Version};

    fn not_modified_body(method: Method, version: Version) -> ConditionalBody<String> {
        ConditionalBody::answer(
            not_modified(&Validators::new()),
            Framing::of(&method, version),
        )
        .into_body()
    }

    #[test]
    fn a_304_over_http2_has_no_size_hint_and_has_ended() {
        for method in [Method::GET, Method::HEAD] {
            let body = not_modified_body(method.clone(), Version::HTTP_2);
            assert_eq!(body.size_hint().exact(), None, "{method}");
            assert!(body.is_end_stream(), "{method}");
        }
    }

    #[test]
    fn a_get_304_over_http1_keeps_its_exact_empty_hint_and_a_head_304_has_none() {
        let get = not_modified_body(Method::GET, Version::HTTP_11);
        assert_eq!(get.size_hint().exact(), Some(0));
        assert!(get.is_end_stream());
        let head = not_modified_body(Method::HEAD, Version::HTTP_11);
        assert_eq!(head.size_hint().exact(), None);
        assert!(head.is_end_stream());
    }

    #[test]
    fn a_head_answer_states_its_length_and_sends_no_body_on_any_protocol() {
        let problem = crate::response::precondition_required();
        let length = problem.body().len();
        assert!(length > 0);
        for version in [Version::HTTP_11, Version::HTTP_2] {
            let head = ConditionalBody::<String>::answer(
                crate::response::precondition_required(),
                Framing::of(&Method::HEAD, version),
            );
            assert_eq!(
                head.headers()[http::header::CONTENT_LENGTH],
                length.to_string(),
                "{version:?}"
            );
            assert!(head.body().is_end_stream(), "{version:?}");
            assert_eq!(head.body().size_hint().exact(), None, "{version:?}");
            let get = ConditionalBody::<String>::answer(
                crate::response::precondition_required(),
                Framing::of(&Method::GET, version),
            );
            assert_eq!(get.headers().get(http::header::CONTENT_LENGTH), None);
            assert_eq!(get.body().size_hint().exact(), Some(length as u64));
        }
    }
}
