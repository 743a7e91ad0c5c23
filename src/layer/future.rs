//! The response future of [`Conditional`](super::Conditional): the state machine that drives
//! the look-up, the decision before the call, the drain or the inner call, and the response
//! side after it (with a second look-up for a 206 that does not say which version it is).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use http::request::Parts;
use http::{Request, Response};
use http_body::Body;
use pin_project_lite::pin_project;
use tower::Service;

use super::after::{After, Again, after, after_again};
use super::before::{Verdict, decide};
use super::drain::{self, Draining, Limits, Start};
use super::hashing::Read;
use super::plan::{Plan, Post};
use super::settings::Shared;
use crate::body::{ConditionalBody, Framing};
use crate::cache::{Fill, Invalidate};
use crate::response::AnswerBody;
use crate::source::{Lookup, ValidatorSource};

pin_project! {
    /// Response future of [`Conditional`](super::Conditional): the source's look-up (when the
    /// request needs one), then either the layer's own answer (after reading the rest of the
    /// request body, see [`DrainConfig`](crate::DrainConfig))
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
    /// assert_eq!(response.headers()[header::ETAG], expected.as_bytes());
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
            // How the answer goes out (see `Framing`).
            framing: Framing,
        },
        Inner {
            #[pin]
            future: S::Future,
            post: Option<Post>,
            // The source, to ask it again about a 206 (see `ranges`) or a handler's 412; kept
            // only where the request head was kept for that (`Post::head`).
            shared: Option<Arc<Shared<V>>>,
        },
        // A response waiting for the source's second look-up (see `Again`).
        Rechecking {
            waiting: Pin<Box<Recheck<V, ResB>>>,
        },
        Hashing {
            read: Option<Box<Read<ResB>>>,
        },
        // An answer made before any look-up (a 304 from the validator cache).
        Answered {
            response: Option<Box<Response<ConditionalBody<ResB>>>>,
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
        pending: Option<Pending<S, V, B>>,
    }
}

pin_project! {
    /// The source's second look-up, and the response waiting for it.
    struct Recheck<V, ResB>
    where
        V: ValidatorSource,
    {
        #[pin]
        lookup: V::Future,
        pending: Option<(Response<ResB>, Again, Post)>,
    }
}

/// What waits while the source looks the validators up.
struct Pending<S, V, B> {
    shared: Arc<Shared<V>>,
    inner: S,
    parts: Parts,
    body: B,
    plan: Plan,
    drain: Limits,
    /// Stores a present answer in the validator cache.
    fill: Option<Fill>,
    /// A write's cache keys, for its `Post`.
    invalidate: Option<Invalidate>,
}

/// What the validator cache adds to a look-up: a fill for a read, an invalidation for a write.
#[derive(Debug, Default)]
pub(super) struct CacheSteps {
    pub(super) fill: Option<Fill>,
    pub(super) invalidate: Option<Invalidate>,
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
        shared: Arc<Shared<V>>,
        inner: S,
        request: Request<B>,
        plan: Plan,
        drain: Limits,
        cache: CacheSteps,
    ) -> Self {
        let (parts, body) = request.into_parts();
        let waiting = Waiting {
            lookup,
            pending: Some(Pending {
                shared,
                inner,
                parts,
                body,
                plan,
                drain,
                fill: cache.fill,
                invalidate: cache.invalidate,
            }),
        };
        ResponseFuture {
            state: State::Lookup {
                waiting: Box::pin(waiting),
            },
        }
    }

    /// The layer answers without a look-up (draining the request body first when it must).
    pub(super) fn answered(
        response: Response<AnswerBody>,
        request: Request<B>,
        drain: Limits,
    ) -> Self {
        let (parts, body) = request.into_parts();
        let framing = Framing::of(&parts.method, parts.version);
        let state = match early(response, &parts, body, &drain) {
            Early::Now(response) => State::Answered {
                response: Some(Box::new(ConditionalBody::answer(response, framing))),
            },
            Early::Drain(body, drain) => State::Draining {
                body,
                drain,
                framing,
            },
        };
        ResponseFuture { state }
    }

    /// The inner service has been called; `post` is applied to its response.
    pub(super) fn inner(future: S::Future, post: Post) -> Self {
        ResponseFuture {
            state: State::Inner {
                future,
                post: Some(post),
                shared: None,
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
    type Output = Result<Response<ConditionalBody<ResB>>, S::Error>;

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
                        shared,
                        mut inner,
                        mut parts,
                        body,
                        plan,
                        drain,
                        fill,
                        invalidate,
                    } = pending.take().expect(DONE);
                    if let (Some(fill), Ok(Lookup::Present(validators))) = (fill, &answer) {
                        fill.present(validators);
                    }
                    match decide(answer, &mut parts, &plan) {
                        Verdict::Answer(response) => {
                            if let Some(invalidate) = invalidate {
                                invalidate.refused();
                            }
                            let framing = Framing::of(&parts.method, parts.version);
                            match early(response, &parts, body, &drain) {
                                Early::Now(response) => {
                                    return Poll::Ready(Ok(ConditionalBody::answer(
                                        response, framing,
                                    )));
                                }
                                Early::Drain(body, drain) => {
                                    state.set(State::Draining {
                                        body,
                                        drain,
                                        framing,
                                    });
                                }
                            }
                        }
                        Verdict::Call(mut post) => {
                            post.invalidate = invalidate;
                            let shared = post.head.is_some().then_some(shared);
                            let future = inner.call(Request::from_parts(parts, body));
                            state.set(State::Inner {
                                future,
                                post: Some(post),
                                shared,
                            });
                        }
                    }
                }
                StateProj::Draining {
                    body,
                    drain,
                    framing,
                } => {
                    // A HEAD with a body is drained too: its 304 keeps no size hint.
                    let response = ready!(drain.poll(body, cx));
                    return Poll::Ready(Ok(ConditionalBody::answer(response, *framing)));
                }
                StateProj::Inner {
                    future,
                    post,
                    shared,
                } => {
                    let response = ready!(future.poll(cx))?;
                    let mut post = post.take().expect(DONE);
                    if let Some(written) = post.invalidate.take() {
                        written.after(response.status());
                    }
                    let shared = shared.take();
                    if let Some(response) = step(state.as_mut(), after(response, post), shared) {
                        return Poll::Ready(Ok(response));
                    }
                }
                StateProj::Rechecking { waiting } => {
                    let waiting = waiting.as_mut().project();
                    let answer = ready!(waiting.lookup.poll(cx));
                    let (response, again, post) = waiting.pending.take().expect(DONE);
                    // `after_again` takes the head: the source is asked again at most once.
                    let next = after_again(response, again, answer, post);
                    if let Some(response) = step(state.as_mut(), next, None) {
                        return Poll::Ready(Ok(response));
                    }
                }
                StateProj::Hashing { read } => {
                    let ended = ready!(read.as_mut().expect(DONE).poll_read(cx));
                    let response = read.take().expect(DONE).finish(ended);
                    return Poll::Ready(Ok(response));
                }
                StateProj::Answered { response } => {
                    return Poll::Ready(Ok(*response.take().expect(DONE)));
                }
            }
        }
    }
}

/// Moves `state` on to what follows the response side's step `next`, or returns the response
/// to send. `shared`: the source, where it may be asked again.
fn step<S, V, B, ResB>(
    mut state: Pin<&mut State<S, V, B, ResB>>,
    next: After<ResB>,
    shared: Option<Arc<Shared<V>>>,
) -> Option<Response<ConditionalBody<ResB>>>
where
    S: Service<Request<B>, Response = Response<ResB>>,
    V: ValidatorSource,
    B: Body,
    ResB: Body,
{
    match next {
        After::Done(response) => return Some(response),
        After::Hash(head, body, check, limit) => state.set(State::Hashing {
            read: Some(Box::new(Read::new(head, body, check, limit))),
        }),
        After::Again(response, again, post) => {
            const KEPT: &str = "a kept head comes from a look-up, which keeps the source";
            let shared = shared.expect(KEPT);
            let head = post.head.as_deref().expect("asked again only with a head");
            let lookup = shared.source.lookup(head);
            let waiting = Recheck {
                lookup,
                pending: Some((response, again, post)),
            };
            state.set(State::Rechecking {
                waiting: Box::pin(waiting),
            });
        }
    }
    None
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
            State::Rechecking { .. } => "Rechecking",
            State::Hashing { .. } => "Hashing",
            State::Answered { .. } => "Answered",
        };
        f.debug_struct("ResponseFuture")
            .field("state", &state)
            .finish()
    }
}
