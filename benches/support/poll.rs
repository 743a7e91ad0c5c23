//! Polling a future that completes at once, without a runtime: shared by the benches and the
//! allocation tests, each of which includes this file with `#[path]`.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

/// Polls a future that resolves immediately, once, with a no-op waker.
pub(crate) fn run<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("every future here resolves on its first poll"),
    }
}
