//! A bound in time that wakes the task waiting on it, on any runtime: [`Deadline`].
//!
//! The layer must not depend on tokio (or any runtime), yet a bound in time needs a wake-up
//! when nothing else happens: a stream that stops sending never polls its reader again. The
//! wake-up comes from `futures-timer` (one shared thread, no runtime), registered only once the
//! task waits, and cancelled when the deadline is dropped: a finished drain or body hash lets
//! go of its task's waker at once. On `wasm` targets, which may start no thread, a deadline is
//! checked whenever its task is polled for another reason, and is never an error.

use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// A point in time to wait for.
#[derive(Debug)]
pub(super) struct Deadline {
    /// `None`: too far away to represent, never passes.
    at: Option<Instant>,
    /// The timer entry that wakes the task, made the first time the task waits.
    #[cfg(not(target_family = "wasm"))]
    wake: Option<futures_timer::Delay>,
}

impl Deadline {
    /// `timeout` from now.
    pub(super) fn after(timeout: Duration) -> Self {
        Deadline {
            at: Instant::now().checked_add(timeout),
            #[cfg(not(target_family = "wasm"))]
            wake: None,
        }
    }

    /// Whether the deadline has passed.
    pub(super) fn has_passed(&self) -> bool {
        self.at.is_some_and(|at| Instant::now() >= at)
    }

    /// Ready once the deadline has passed; until then the task of `cx` is woken when it does.
    pub(super) fn poll(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let Some(at) = self.at else {
            return Poll::Pending;
        };
        let now = Instant::now();
        if now >= at {
            return Poll::Ready(());
        }
        #[cfg(not(target_family = "wasm"))]
        {
            use std::future::Future;
            use std::pin::Pin;
            let wake = self
                .wake
                .get_or_insert_with(|| futures_timer::Delay::new(at - now));
            // The delay ends no earlier than `at`.
            if Pin::new(wake).poll(cx).is_ready() {
                return Poll::Ready(());
            }
        }
        #[cfg(target_family = "wasm")]
        let _ = cx;
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::{Wake, Waker};

    /// Counts its wake-ups.
    #[derive(Default)]
    struct Counter(AtomicUsize);

    impl Wake for Counter {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn a_deadline_wakes_its_task_once_it_has_passed_without_being_polled() {
        let counter = Arc::new(Counter::default());
        let waker = Waker::from(Arc::clone(&counter));
        let mut cx = Context::from_waker(&waker);
        let mut deadline = Deadline::after(Duration::from_millis(20));
        assert!(deadline.poll(&mut cx).is_pending());
        assert!(deadline.poll(&mut cx).is_pending(), "registered once");
        // Bounded wait for the wake-up: 5 s at most, in steps of 5 ms.
        for _ in 0..1000 {
            if counter.0.load(Ordering::SeqCst) > 0 {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(counter.0.load(Ordering::SeqCst), 1);
        assert!(deadline.has_passed());
        assert!(deadline.poll(&mut cx).is_ready());
    }

    #[test]
    fn a_deadline_too_far_away_never_passes() {
        let waker = Waker::noop();
        let mut deadline = Deadline::after(Duration::MAX);
        assert!(!deadline.has_passed());
        assert!(deadline.poll(&mut Context::from_waker(waker)).is_pending());
        let mut zero = Deadline::after(Duration::ZERO);
        assert!(zero.has_passed());
        assert!(zero.poll(&mut Context::from_waker(waker)).is_ready());
    }

    #[test]
    fn a_dropped_deadline_lets_go_of_its_waker() {
        let counter = Arc::new(Counter::default());
        let waker = Waker::from(Arc::clone(&counter));
        let mut deadline = Deadline::after(Duration::from_secs(3600));
        assert!(deadline.poll(&mut Context::from_waker(&waker)).is_pending());
        assert!(Arc::strong_count(&counter) > 2, "the timer holds the waker");
        drop(deadline);
        drop(waker);
        // The timer drops the cancelled entry on its own thread: 5 s at most, in steps of 1 ms.
        for _ in 0..5000 {
            if Arc::strong_count(&counter) == 1 {
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(Arc::strong_count(&counter), 1);
        assert_eq!(counter.0.load(Ordering::SeqCst), 0, "never woken");
    }
}
