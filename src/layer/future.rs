//! The response future of [`Conditional`](super::Conditional).

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::{Buf, Bytes};
use http::request::Parts;
use http::{HeaderMap, Request, Response, response};
use http_body::Body;
use pin_project_lite::pin_project;
use sha2::{Digest, Sha256};
use tower::Service;

use super::response_side::{After, Post, ResponseCheck, after, after_hashing};
use super::{Next, Plan, decide};
use crate::ETag;
use crate::ValidatorSource;
use crate::body::ResponseBody;

pin_project! {
    /// Response future of [`Conditional`](super::Conditional): the source's look-up, then either
    /// the layer's own answer or the inner service's response (read and hashed first when the
    /// response side must tag it).
    ///
    /// ```
    /// use std::convert::Infallible;
    /// use http::{header, Request, Response};
    /// use tower::{service_fn, Layer, Service, ServiceExt};
    /// use tower_conditional::{ConditionalLayer, ETag, ResponseFuture};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let page = service_fn(|_: Request<String>| async {
    ///     Ok::<_, Infallible>(Response::new(String::from("hello")))
    /// });
    /// let mut service = ConditionalLayer::from_responses().layer(page);
    /// let request = Request::get("/").body(String::new())?;
    /// let future: ResponseFuture<_, _, String, String> = service.ready().await?.call(request);
    /// let response = future.await?;
    /// let expected = ETag::from_content(b"hello"); // tagged with the hash of its body
    /// assert_eq!(response.headers()[header::ETAG], expected.to_header_value());
    /// # Ok(())
    /// # }
    /// ```
    pub struct ResponseFuture<S, V, B, ResB>
    where
        S: Service<Request<B>, Response = Response<ResB>>,
        V: ValidatorSource,
        ResB: Body,
    {
        #[pin]
        state: State<S, V, B, ResB>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<S, V, B, ResB>
    where
        S: Service<Request<B>, Response = Response<ResB>>,
        V: ValidatorSource,
        ResB: Body,
    {
        Lookup {
            #[pin]
            lookup: V::Future,
            pending: Option<Pending<S, B>>,
        },
        Inner {
            #[pin]
            future: S::Future,
            post: Option<Post>,
        },
        Hashing {
            #[pin]
            body: ResB,
            read: Option<Read>,
        },
    }
}

/// What waits while the source looks the validators up.
struct Pending<S, B> {
    inner: S,
    parts: Parts,
    body: B,
    plan: Plan,
}

/// A body being read to hash it.
struct Read {
    head: response::Parts,
    check: ResponseCheck,
    chunks: VecDeque<Bytes>,
    trailers: Option<HeaderMap>,
    hasher: Sha256,
}

impl<S, V, B, ResB> ResponseFuture<S, V, B, ResB>
where
    S: Service<Request<B>, Response = Response<ResB>>,
    V: ValidatorSource,
    ResB: Body,
{
    pub(super) fn new(lookup: V::Future, inner: S, parts: Parts, body: B, plan: Plan) -> Self {
        ResponseFuture {
            state: State::Lookup {
                lookup,
                pending: Some(Pending {
                    inner,
                    parts,
                    body,
                    plan,
                }),
            },
        }
    }
}

impl<S, V, B, ResB> Future for ResponseFuture<S, V, B, ResB>
where
    S: Service<Request<B>, Response = Response<ResB>>,
    V: ValidatorSource,
    ResB: Body,
{
    type Output = Result<Response<ResponseBody<ResB>>, S::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        const DONE: &str = "ResponseFuture polled after completion";
        let mut state = self.project().state;
        loop {
            match state.as_mut().project() {
                StateProj::Lookup { lookup, pending } => {
                    let answer = ready!(lookup.poll(cx));
                    let Pending {
                        mut inner,
                        parts,
                        body,
                        plan,
                    } = pending.take().expect(DONE);
                    match decide(answer, parts, body, plan) {
                        Next::Answer(response) => {
                            return Poll::Ready(Ok(response.map(ResponseBody::full)));
                        }
                        Next::Call(request, post) => {
                            let future = inner.call(request);
                            state.set(State::Inner {
                                future,
                                post: Some(post),
                            });
                        }
                    }
                }
                StateProj::Inner { future, post } => {
                    let response = ready!(future.poll(cx))?;
                    match after(response, post.take().expect(DONE)) {
                        After::Done(response) => return Poll::Ready(Ok(response)),
                        After::Hash(head, body, check) => state.set(State::Hashing {
                            body,
                            read: Some(Read {
                                head,
                                check,
                                chunks: VecDeque::new(),
                                trailers: None,
                                hasher: Sha256::new(),
                            }),
                        }),
                    }
                }
                StateProj::Hashing { mut body, read } => {
                    let progress = read.as_mut().expect(DONE);
                    let error = loop {
                        match ready!(body.as_mut().poll_frame(cx)) {
                            None => break None,
                            Some(Err(error)) => break Some(error),
                            Some(Ok(frame)) => match frame.into_data() {
                                Ok(mut data) => {
                                    // Zero-copy for `Bytes` data: the chunk is handed on as is.
                                    let chunk = data.copy_to_bytes(data.remaining());
                                    progress.hasher.update(&chunk);
                                    progress.chunks.push_back(chunk);
                                }
                                Err(frame) => {
                                    if let Ok(trailers) = frame.into_trailers() {
                                        progress.trailers = Some(trailers);
                                    }
                                }
                            },
                        }
                    };
                    let Read {
                        head,
                        check,
                        chunks,
                        trailers,
                        hasher,
                    } = read.take().expect(DONE);
                    if let Some(error) = error {
                        // Pass on what was read, then the error: no tag for a body not seen whole.
                        let body = ResponseBody::buffered(chunks, None, Some(error));
                        return Poll::Ready(Ok(Response::from_parts(head, body)));
                    }
                    let body = ResponseBody::buffered(chunks, trailers, None);
                    let etag = ETag::from_sha256(hasher);
                    return Poll::Ready(Ok(after_hashing(head, etag, body, &check)));
                }
            }
        }
    }
}

impl<S, V, B, ResB> fmt::Debug for ResponseFuture<S, V, B, ResB>
where
    S: Service<Request<B>, Response = Response<ResB>>,
    V: ValidatorSource,
    ResB: Body,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            State::Lookup { .. } => "Lookup",
            State::Inner { .. } => "Inner",
            State::Hashing { .. } => "Hashing",
        };
        f.debug_struct("ResponseFuture")
            .field("state", &state)
            .finish()
    }
}
