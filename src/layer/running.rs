//! The drains of one layer running at once: their count, capped by
//! [`DrainConfig::max_concurrent`](crate::DrainConfig::max_concurrent).
//! Shared by every service the layer builds.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// What every drain of one layer shares: the count of drains running.
#[derive(Clone, Default)]
pub(super) struct Drains(Arc<Shared>);

#[derive(Default)]
struct Shared {
    running: AtomicUsize,
}

impl Drains {
    /// How many drains are running now.
    #[cfg(test)]
    pub(super) fn running(&self) -> usize {
        self.0.running.load(Ordering::Relaxed)
    }

    /// One more drain, if fewer than `max` are running.
    pub(super) fn acquire(&self, max: usize) -> Option<Permit> {
        self.0
            .running
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |running| {
                (running < max).then_some(running + 1)
            })
            .ok()?;
        Some(Permit(Arc::clone(&self.0)))
    }
}

impl fmt::Debug for Drains {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Drains")
            .field("running", &self.0.running.load(Ordering::Relaxed))
            .finish()
    }
}

/// A running drain, counted until dropped.
pub(super) struct Permit(Arc<Shared>);

impl Drop for Permit {
    fn drop(&mut self) {
        self.0.running.fetch_sub(1, Ordering::AcqRel);
    }
}
