//! A deadline that wakes the task waiting on it, on any runtime: [`Deadline`].
//!
//! The layer must not depend on tokio (or any runtime), yet a bound in time needs a wake-up
//! when nothing else happens: a stream that stops sending never polls its reader again. One
//! shared thread, started the first time a deadline is waited on, sleeps until the earliest
//! deadline and wakes the tasks whose deadlines have passed. Registering is one lock and a heap
//! push; a deadline that is dropped before it passes costs one spurious wake-up when it does
//! (wakers tolerate those). Where no thread can be started (some `wasm32` targets), a deadline
//! is still checked whenever its task is polled for another reason, and is never an error.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

/// A point in time to wait for.
#[derive(Debug)]
pub(super) struct Deadline {
    /// `None`: too far away to represent, never passes.
    at: Option<Instant>,
    /// The waker registered last, so that polling again with the same task registers nothing.
    registered: Option<Waker>,
}

impl Deadline {
    /// `timeout` from now.
    pub(super) fn after(timeout: Duration) -> Self {
        Deadline {
            at: Instant::now().checked_add(timeout),
            registered: None,
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
        if Instant::now() >= at {
            return Poll::Ready(());
        }
        let known = self
            .registered
            .as_ref()
            .is_some_and(|waker| waker.will_wake(cx.waker()));
        if !known {
            if let Some(timers) = timers() {
                timers.register(at, cx.waker().clone());
            }
            self.registered = Some(cx.waker().clone());
        }
        Poll::Pending
    }
}

/// One waker to wake at `at`; ordered so that the heap's top is the earliest.
#[derive(Debug)]
struct Entry {
    at: Instant,
    waker: Waker,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.at == other.at
    }
}

impl Eq for Entry {}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Entry {
    fn cmp(&self, other: &Self) -> Ordering {
        other.at.cmp(&self.at) // reversed: BinaryHeap is a max-heap
    }
}

/// The shared timer thread's state.
#[derive(Debug, Default)]
struct Timers {
    queue: Mutex<BinaryHeap<Entry>>,
    changed: Condvar,
}

/// The shared timers, their thread started on first use; `None` where no thread can start.
fn timers() -> Option<&'static Timers> {
    static TIMERS: OnceLock<Option<&'static Timers>> = OnceLock::new();
    *TIMERS.get_or_init(|| {
        let timers: &'static Timers = Box::leak(Box::default());
        std::thread::Builder::new()
            .name("tower-conditional-timer".into())
            .spawn(move || timers.run())
            .ok()
            .map(|_| timers)
    })
}

impl Timers {
    fn lock(&self) -> MutexGuard<'_, BinaryHeap<Entry>> {
        // Nothing here panics while holding the lock; a poisoned queue is still a valid heap.
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn register(&self, at: Instant, waker: Waker) {
        let mut queue = self.lock();
        let earliest = queue.peek().is_none_or(|first| at < first.at);
        queue.push(Entry { at, waker });
        drop(queue);
        if earliest {
            self.changed.notify_one();
        }
    }

    /// Sleeps until the earliest deadline, wakes every task whose deadline has passed (outside
    /// the lock), and again, for ever.
    fn run(&self) {
        let mut due = Vec::new();
        loop {
            let mut queue = self.lock();
            loop {
                let now = Instant::now();
                while queue.peek().is_some_and(|first| first.at <= now) {
                    due.extend(queue.pop());
                }
                if !due.is_empty() {
                    break;
                }
                queue = match queue.peek().map(|first| first.at - now) {
                    None => self
                        .changed
                        .wait(queue)
                        .unwrap_or_else(PoisonError::into_inner),
                    Some(wait) => {
                        self.changed
                            .wait_timeout(queue, wait)
                            .unwrap_or_else(PoisonError::into_inner)
                            .0
                    }
                };
            }
            drop(queue);
            for entry in due.drain(..) {
                // A waker is user code: one that panics must not stop every other deadline.
                let waker = entry.waker;
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| waker.wake()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};
    use std::task::Wake;

    /// Counts its wake-ups.
    #[derive(Default)]
    struct Counter(AtomicUsize);

    impl Wake for Counter {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, AtomicOrdering::SeqCst);
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
            if counter.0.load(AtomicOrdering::SeqCst) > 0 {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(counter.0.load(AtomicOrdering::SeqCst), 1);
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
}
