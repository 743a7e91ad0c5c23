//! The response future of [`Conditional`](super::Conditional): the state machine that drives
//! the look-up, the decision before the call, the drain or the inner call, and the response
//! side after it.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use http::request::Parts;
use http::{Request, Response};
use http_body::Body;
use pin_project_lite::pin_project;
use tower::Service;

use super::after::{After, after};
use super::before::{Verdict, decide};
use super::drain::{self, Draining, Limits, Start};
use super::hashing::Read;
use super::plan::{Plan, Post};
use crate::body::{ResponseBody, sizeless_304};
use crate::response::AnswerBody;
use crate::source::ValidatorSource;

pin_project! {
    /// Response future of [`Conditional`](super::Conditional): the source's look-up (when the
    /// request needs one), then either the layer's own answer (after reading the rest of the
    /// request body, see [`ConditionalLayer::drain_limit`](crate::ConditionalLayer::drain_limit))
    /// or the inner service's response (read and hashed first when the response side must tag
    /// it).
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
        B: Body,
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
        B: Body,
        ResB: Body,
    {
        // The look-up and everything waiting for it are boxed: one allocation on a path that
        // costs a round trip anyway, and a small future for requests that need no look-up.
        Lookup {
            waiting: Pin<Box<Waiting<S, V, B>>>,
        },
        Draining {
            #[pin]
            body: B,
            drain: Box<Draining>,
            // A 304 goes out with no size hint (see `sizeless_304`).
            sizeless: bool,
        },
        Inner {
            #[pin]
            future: S::Future,
            post: Option<Post>,
        },
        Hashing {
            read: Option<Box<Read<ResB>>>,
        },
    }
}

pin_project! {
    /// The source's look-up in progress, and the request waiting for it.
    struct Waiting<S, V, B>
    where
        V: ValidatorSource,
    {
        #[pin]
        lookup: V::Future,
        pending: Option<Pending<S, B>>,
    }
}

/// What waits while the source looks the validators up.
struct Pending<S, B> {
    inner: S,
    parts: Parts,
    body: B,
    plan: Plan,
    drain: Limits,
}

impl<S, V, B, ResB> ResponseFuture<S, V, B, ResB>
where
    S: Service<Request<B>, Response = Response<ResB>>,
    V: ValidatorSource,
    B: Body,
    ResB: Body,
{
    /// Waits for `lookup`, then decides.
    pub(super) fn lookup(
        lookup: V::Future,
        inner: S,
        request: Request<B>,
        plan: Plan,
        drain: Limits,
    ) -> Self {
        let (parts, body) = request.into_parts();
        let waiting = Waiting {
            lookup,
            pending: Some(Pending {
                inner,
                parts,
                body,
                plan,
                drain,
            }),
        };
        ResponseFuture {
            state: State::Lookup {
                waiting: Box::pin(waiting),
            },
        }
    }

    /// The inner service has been called; `post` is applied to its response.
    pub(super) fn inner(future: S::Future, post: Post) -> Self {
        ResponseFuture {
            state: State::Inner {
                future,
                post: Some(post),
            },
        }
    }
}

/// What follows an early answer: the answer at once, or a drain of the request body first.
enum Early<B> {
    Now(Response<AnswerBody>),
    Drain(B, Box<Draining>),
}

fn early<B: Body>(
    mut response: Response<AnswerBody>,
    parts: &Parts,
    body: B,
    limits: &Limits,
) -> Early<B> {
    match drain::start(parts, &body, limits) {
        Start::AnswerNow => Early::Now(response),
        Start::AnswerAndClose => {
            drain::close(&mut response);
            Early::Now(response)
        }
        Start::Drain(permit) => {
            let draining = Draining::new(response, limits, permit, parts.version);
            Early::Drain(body, Box::new(draining))
        }
    }
}

impl<S, V, B, ResB> Future for ResponseFuture<S, V, B, ResB>
where
    S: Service<Request<B>, Response = Response<ResB>>,
    V: ValidatorSource,
    B: Body,
    ResB: Body,
{
    type Output = Result<Response<ResponseBody<ResB>>, S::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        const DONE: &str = "ResponseFuture polled after completion";
        let mut state = self.project().state;
        loop {
            match state.as_mut().project() {
                StateProj::Lookup { waiting } => {
                    let waiting = waiting.as_mut().project();
                    let (lookup, pending) = (waiting.lookup, waiting.pending);
                    let answer = ready!(lookup.poll(cx));
                    let Pending {
                        mut inner,
                        mut parts,
                        body,
                        plan,
                        drain,
                    } = pending.take().expect(DONE);
                    match decide(answer, &mut parts, &plan) {
                        Verdict::Answer(response) => {
                            let sizeless = sizeless_304(&parts.method, parts.version);
                            match early(response, &parts, body, &drain) {
                                Early::Now(response) => {
                                    return Poll::Ready(Ok(ResponseBody::answer(
                                        response, sizeless,
                                    )));
                                }
                                Early::Drain(body, drain) => {
                                    state.set(State::Draining {
                                        body,
                                        drain,
                                        sizeless,
                                    });
                                }
                            }
                        }
                        Verdict::Call(post) => {
                            let future = inner.call(Request::from_parts(parts, body));
                            state.set(State::Inner {
                                future,
                                post: Some(post),
                            });
                        }
                    }
                }
                StateProj::Draining {
                    body,
                    drain,
                    sizeless,
                } => {
                    // A HEAD with a body is drained too: its 304 keeps no size hint.
                    let response = ready!(drain.poll(body, cx));
                    return Poll::Ready(Ok(ResponseBody::answer(response, *sizeless)));
                }
                StateProj::Inner { future, post } => {
                    let response = ready!(future.poll(cx))?;
                    match after(response, post.take().expect(DONE)) {
                        After::Done(response) => return Poll::Ready(Ok(response)),
                        After::Hash(head, body, check, limit) => state.set(State::Hashing {
                            read: Some(Box::new(Read::new(head, body, check, limit))),
                        }),
                    }
                }
                StateProj::Hashing { read } => {
                    let ended = ready!(read.as_mut().expect(DONE).poll_read(cx));
                    let response = read.take().expect(DONE).finish(ended);
                    return Poll::Ready(Ok(response));
                }
            }
        }
    }
}

impl<S, V, B, ResB> fmt::Debug for ResponseFuture<S, V, B, ResB>
where
    S: Service<Request<B>, Response = Response<ResB>>,
    V: ValidatorSource,
    B: Body,
    ResB: Body,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            State::Lookup { .. } => "Lookup",
            State::Draining { .. } => "Draining",
            State::Inner { .. } => "Inner",
            State::Hashing { .. } => "Hashing",
        };
        f.debug_struct("ResponseFuture")
            .field("state", &state)
            .finish()
    }
}
