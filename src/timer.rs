//! How the layer waits: a timer for deadlines that must fire whether or not data arrives (the
//! drain of an early answer). On tokio (the default `tokio` feature) it needs no set-up; on
//! other runtimes a sleep function is passed with
//! [`ConditionalLayer::timer`](crate::ConditionalLayer::timer).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// A pending sleep.
pub(crate) type Sleep = Pin<Box<dyn Future<Output = ()> + Send + Sync>>;

type SleepFn = dyn Fn(Duration) -> Sleep + Send + Sync;

/// Where sleeps come from: the user's function, or the runtime the request runs on.
#[derive(Clone, Default)]
pub(crate) struct Timer {
    custom: Option<Arc<SleepFn>>,
}

impl Timer {
    /// A timer that sleeps with `sleep` (`tokio::time::sleep`, `async_io::Timer::after`, ...).
    pub(crate) fn new<F, Fut>(sleep: F) -> Self
    where
        F: Fn(Duration) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + Sync + 'static,
    {
        Timer {
            custom: Some(Arc::new(move |duration| Box::pin(sleep(duration)) as Sleep)),
        }
    }

    /// A sleep of `duration`, or `None` when there is no way to sleep here: no function was
    /// given and the request does not run on a tokio runtime (or the `tokio` feature is off).
    pub(crate) fn sleep(&self, duration: Duration) -> Option<Sleep> {
        if let Some(sleep) = &self.custom {
            return Some(sleep(duration));
        }
        runtime_sleep(duration)
    }
}

#[cfg(feature = "tokio")]
fn runtime_sleep(duration: Duration) -> Option<Sleep> {
    // Only inside a runtime: `tokio::time::sleep` panics outside one. (A runtime built without
    // `enable_time` cannot be told apart from here; axum's and `#[tokio::main]`'s enable it.)
    tokio::runtime::Handle::try_current().ok()?;
    Some(Box::pin(tokio::time::sleep(duration)))
}

#[cfg(not(feature = "tokio"))]
fn runtime_sleep(_: Duration) -> Option<Sleep> {
    None
}

impl fmt::Debug for Timer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.custom {
            Some(_) => "custom",
            None if cfg!(feature = "tokio") => "tokio",
            None => "none",
        };
        f.debug_tuple("Timer").field(&kind).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outside_a_runtime_there_is_no_sleep_and_no_panic() {
        assert!(Timer::default().sleep(Duration::from_millis(1)).is_none());
    }

    #[test]
    fn a_custom_sleep_is_used_anywhere() {
        let timer = Timer::new(|_| std::future::ready(()));
        assert!(timer.sleep(Duration::from_millis(1)).is_some());
    }

    #[cfg(feature = "tokio")]
    #[tokio::test]
    async fn on_tokio_the_runtime_sleeps() {
        let sleep = Timer::default().sleep(Duration::from_millis(1));
        sleep.expect("a tokio sleep").await;
    }
}
