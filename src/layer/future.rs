//! The response future of [`Conditional`](super::Conditional): the state machine that drives
//! the look-up, the decision before the call, the drain or the inner call, and the response
//! side after it (with a second look-up for a 206 that does not say which version it is).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, ready};

use http::request::Parts;
use http::{Request, Response};
use http_body::Body;
use pin_project_lite::pin_project;
use tower::Service;

use super::after::{After, Again, after, after_again, finish_passing};
use super::before::{Verdict, cached_answers, decide, rejected};
use super::drain::{self, Draining, Limits, Start};
use super::hashing::Read;
use super::plan::{Plan, Post};
use super::settings::{Settings, Shared};
use crate::body::{ConditionalBody, Framing};
use crate::cache::{Consult, Invalidate, Keyed, Keying};
use crate::response::AnswerBody;
use crate::source::{Lookup, ValidatorSource};
use crate::state::Validators;

pin_project! {
    /// Response future of [`Conditional`](super::Conditional): the source's look-up (when the
    /// request needs one), then either the layer's own answer (after reading the rest of the
    /// request body, see [`ConditionalLayer::drain`](crate::ConditionalLayer::drain))
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
    /// assert_eq!(response.headers()[header::ETAG], http::HeaderValue::from(&expected));
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
        // The validator cache's key being extracted, and the request waiting for it.
        Keying {
            waiting: Box<KeyWait<S, V, B>>,
        },
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
        // The fast path: a request the layer evaluates nothing of (see `finish_passing`).
        Passing {
            #[pin]
            future: S::Future,
            encoding_tags: bool,
            validators_in_412: bool,
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
        // An answer made before any look-up (a rejection by the validator cache's key).
        Answered {
            response: Option<Box<Response<ConditionalBody<ResB>>>>,
        },
    }
}

pin_project! {
    /// The source's look-up in progress (or the validator cache's answer), and the request
    /// waiting for it.
    struct Waiting<S, V, B>
    where
        V: ValidatorSource,
    {
        #[pin]
        asking: Asking<V::Future>,
        pending: Option<Pending<S, V, B>>,
    }
}

pin_project! {
    /// Where the validators come from.
    #[project = AskingProj]
    enum Asking<F> {
        /// The source (which may consult the cache itself, see `Consult`).
        Source {
            #[pin]
            lookup: F,
        },
        /// A fresh cached state giving 304: the source's future was dropped unpolled.
        Cached {
            validators: Option<Validators>,
        },
    }
}

/// The validator cache's key being taken, and what follows it.
struct KeyWait<S, V, B> {
    /// In a `Mutex` only to keep the response future `Sync` (an extractor's future need not
    /// be): it is never locked, only reached through `get_mut`.
    keying: Mutex<Pin<Box<dyn Future<Output = Keyed> + Send>>>,
    pending: Option<Keyless<S, V, B>>,
}

/// A request waiting for its key.
struct Keyless<S, V, B> {
    next: Next,
    shared: Arc<Shared<V>>,
    inner: S,
    parts: Parts,
    body: B,
}

/// What follows a request's key.
#[derive(Debug, Clone, Copy)]
pub(super) enum Next {
    /// Call the inner service (a write that needs no look-up).
    Call,
    /// Ask the source.
    Lookup(Plan),
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
    /// A revalidation's cache entry: filled with a present answer of the source.
    consult: Option<Consult>,
    /// A write's cache keys, for its `Post`.
    invalidate: Option<Invalidate>,
}

impl<S, V, B, ResB> ResponseFuture<S, V, B, ResB>
where
    S: Service<Request<B>, Response = Response<ResB>>,
    V: ValidatorSource,
    B: Body,
    ResB: Body,
{
    /// Takes the request's validator cache key (at once, or by polling `keying`), then goes
    /// on to `next`.
    pub(super) fn keying(
        keying: Keying,
        next: Next,
        shared: Arc<Shared<V>>,
        inner: S,
        parts: Parts,
        body: B,
    ) -> Self {
        let state = match keying {
            Keying::Ready(keyed) => keyed_state(keyed, next, shared, inner, parts, body),
            Keying::Pending(keying) => State::Keying {
                waiting: Box::new(KeyWait {
                    keying: Mutex::new(keying),
                    pending: Some(Keyless {
                        next,
                        shared,
                        inner,
                        parts,
                        body,
                    }),
                }),
            },
        };
        ResponseFuture { state }
    }

    /// The inner service has been called on a request the layer evaluates nothing of: only
    /// the settings every response is finished with apply to its response.
    pub(super) fn passing(future: S::Future, settings: &Settings) -> Self {
        ResponseFuture {
            state: State::Passing {
                future,
                encoding_tags: settings.encoding_aware_etags,
                validators_in_412: settings.validators_in_412,
            },
        }
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

/// What follows a request's key: its rejection, the inner call, or the look-up.
fn keyed_state<S, V, B, ResB>(
    keyed: Keyed,
    next: Next,
    shared: Arc<Shared<V>>,
    mut inner: S,
    parts: Parts,
    body: B,
) -> State<S, V, B, ResB>
where
    S: Service<Request<B>, Response = Response<ResB>>,
    V: ValidatorSource,
    B: Body,
    ResB: Body,
{
    let drain = Limits::of(&shared.config.settings, &shared.config.drains);
    let (consult, invalidate) = match keyed {
        Keyed::Rejected(rejection) => {
            return answered_state(rejected(rejection, &parts), &parts, body, &drain);
        }
        Keyed::Unkeyed => (None, None),
        Keyed::Read(key) => (Some(key), None),
        Keyed::Write(invalidate) => (None, Some(invalidate)),
    };
    match next {
        Next::Call => {
            let post = Post {
                invalidate,
                ..Post::passing(&shared.config.settings)
            };
            State::Inner {
                future: inner.call(Request::from_parts(parts, body)),
                post: Some(post),
                shared: None,
            }
        }
        Next::Lookup(plan) => {
            let consult = consult.map(|key| {
                let aware = plan.settings.encoding_aware_etags;
                Consult::new(key, cached_answers, aware)
            });
            let pending = Pending {
                shared,
                inner,
                parts,
                body,
                plan,
                drain,
                consult,
                invalidate,
            };
            State::Lookup {
                waiting: Box::pin(ask(pending)),
            }
        }
    }
}

/// Asks the source, through the validator cache when the request has a [`Consult`]: a source
/// that claims it consults it after its extractors; for any other, a fresh cached 304 is taken
/// now and the source's future dropped unpolled (futures are lazy: its query never starts).
fn ask<S, V, B>(mut pending: Pending<S, V, B>) -> Waiting<S, V, B>
where
    V: ValidatorSource,
{
    let source = &pending.shared.source;
    let asking = match &pending.consult {
        None => Asking::Source {
            lookup: source.lookup(&pending.parts),
        },
        Some(consult) => {
            pending.parts.extensions.insert(consult.clone());
            let lookup = source.lookup(&pending.parts);
            pending.parts.extensions.remove::<Consult>();
            match consult.is_claimed() {
                true => Asking::Source { lookup },
                false => match consult.hit(&pending.parts) {
                    Some(validators) => Asking::Cached {
                        validators: Some(validators),
                    },
                    None => Asking::Source { lookup },
                },
            }
        }
    };
    Waiting {
        asking,
        pending: Some(pending),
    }
}

/// The layer answers without calling the inner service (draining the request body first
/// when it must).
fn answered_state<S, V, B, ResB>(
    response: Response<AnswerBody>,
    parts: &Parts,
    body: B,
    drain: &Limits,
) -> State<S, V, B, ResB>
where
    S: Service<Request<B>, Response = Response<ResB>>,
    V: ValidatorSource,
    B: Body,
    ResB: Body,
{
    let framing = Framing::of(&parts.method, parts.version);
    match early(response, parts, body, drain) {
        Early::Now(response) => State::Answered {
            response: Some(Box::new(ConditionalBody::answer(response, framing))),
        },
        Early::Drain(body, drain) => State::Draining {
            body,
            drain,
            framing,
        },
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
                StateProj::Keying { waiting } => {
                    let keying = waiting.keying.get_mut();
                    let keyed = ready!(
                        keying
                            .unwrap_or_else(PoisonError::into_inner)
                            .as_mut()
                            .poll(cx)
                    );
                    let Keyless {
                        next,
                        shared,
                        inner,
                        parts,
                        body,
                    } = waiting.pending.take().expect(DONE);
                    state.set(keyed_state(keyed, next, shared, inner, parts, body));
                }
                StateProj::Lookup { waiting } => {
                    let waiting = waiting.as_mut().project();
                    let answer = match waiting.asking.project() {
                        AskingProj::Source { lookup } => ready!(lookup.poll(cx)),
                        AskingProj::Cached { validators } => {
                            Ok(Lookup::Present(validators.take().expect(DONE)))
                        }
                    };
                    let Pending {
                        shared,
                        mut inner,
                        mut parts,
                        body,
                        plan,
                        drain,
                        consult,
                        invalidate,
                    } = waiting.pending.take().expect(DONE);
                    if let (Some(consult), Ok(Lookup::Present(validators))) = (consult, &answer) {
                        consult.fill(&parts, validators);
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
                            let asks_again = post.head.is_some() || post.refill.is_some();
                            let shared = asks_again.then_some(shared);
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
                StateProj::Passing {
                    future,
                    encoding_tags,
                    validators_in_412,
                } => {
                    // In place, without the `Post` of the other paths: this is most requests.
                    let mut response = ready!(future.poll(cx))?;
                    finish_passing(&mut response, *encoding_tags, *validators_in_412);
                    return Poll::Ready(Ok(response.map(ConditionalBody::inner)));
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
            State::Keying { .. } => "Keying",
            State::Lookup { .. } => "Lookup",
            State::Draining { .. } => "Draining",
            State::Passing { .. } | State::Inner { .. } => "Inner",
            State::Rechecking { .. } => "Rechecking",
            State::Hashing { .. } => "Hashing",
            State::Answered { .. } => "Answered",
        };
        f.debug_struct("ResponseFuture")
            .field("state", &state)
            .finish()
    }
}
