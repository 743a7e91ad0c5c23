//! The response future of [`Conditional`](super::Conditional).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use http::request::Parts;
use http::{Request, Response};
use pin_project_lite::pin_project;
use tower::Service;

use super::{Next, Plan, decide, fill_validators};
use crate::ValidatorSource;
use crate::Validators;
use crate::body::ResponseBody;

pin_project! {
    /// Response future of [`Conditional`](super::Conditional): first the source's look-up, then
    /// either the layer's own answer or the inner service's response.
    pub struct ResponseFuture<S, V, B>
    where
        S: Service<Request<B>>,
        V: ValidatorSource,
    {
        #[pin]
        state: State<S, V, B>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<S, V, B>
    where
        S: Service<Request<B>>,
        V: ValidatorSource,
    {
        Lookup {
            #[pin]
            lookup: V::Future,
            pending: Option<Pending<S, B>>,
        },
        Inner {
            #[pin]
            future: S::Future,
            fill: Option<Validators>,
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

impl<S, V, B> ResponseFuture<S, V, B>
where
    S: Service<Request<B>>,
    V: ValidatorSource,
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

impl<S, V, B, ResB> Future for ResponseFuture<S, V, B>
where
    S: Service<Request<B>, Response = Response<ResB>>,
    V: ValidatorSource,
{
    type Output = Result<Response<ResponseBody<ResB>>, S::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
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
                    } = pending
                        .take()
                        .expect("ResponseFuture polled after completion");
                    match decide(answer, parts, body, plan) {
                        Next::Answer(response) => {
                            return Poll::Ready(Ok(response.map(ResponseBody::full)));
                        }
                        Next::Call(request, fill) => {
                            let future = inner.call(request);
                            state.set(State::Inner { future, fill });
                        }
                    }
                }
                StateProj::Inner { future, fill } => {
                    let mut response = ready!(future.poll(cx))?;
                    if let Some(validators) = fill.take() {
                        fill_validators(&mut response, &validators);
                    }
                    return Poll::Ready(Ok(response.map(ResponseBody::inner)));
                }
            }
        }
    }
}

impl<S, V, B> fmt::Debug for ResponseFuture<S, V, B>
where
    S: Service<Request<B>>,
    V: ValidatorSource,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            State::Lookup { .. } => "Lookup",
            State::Inner { .. } => "Inner",
        };
        f.debug_struct("ResponseFuture")
            .field("state", &state)
            .finish()
    }
}
