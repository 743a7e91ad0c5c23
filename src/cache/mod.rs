//! What the layer asks of a validator cache ([`Hook`]), and the public
//! [`ValidatorCache`](validator::ValidatorCache) behind the `validator-cache` feature.
//!
//! The layer decides which requests may use a cache (see `before.rs`); the hook only maps a
//! request to its key and the key to the cached validators. Without the feature no hook exists
//! and the layer's cache field is always `None`.

use std::fmt;

use http::StatusCode;
use http::request::Parts;

use crate::state::Validators;

#[cfg(feature = "validator-cache")]
pub(crate) mod validator;

/// A validator cache as the layer sees it.
pub(crate) trait Hook: Send + Sync + fmt::Debug {
    /// The cached validators of the resource `head` targets, when there are fresh ones, or else
    /// a [`Fill`] stamped now (before the source is asked). `None` when the request has no key.
    fn probe(&self, head: &Parts) -> Option<Probe>;

    /// A [`Fill`] stamped now, for a request whose cached state is to be replaced by the
    /// source's answer. `None` when the request has no key.
    fn fill(&self, head: &Parts) -> Option<Fill>;

    /// What a successful write to the target invalidates, taken before the write runs. `None`
    /// when the request has no key.
    fn written(&self, head: &Parts) -> Option<Invalidate>;
}

/// A hook's answer to [`Hook::probe`].
#[derive(Debug)]
#[expect(
    clippy::large_enum_variant,
    reason = "returned and matched at once; boxing would allocate on every hit"
)]
#[cfg_attr(
    not(feature = "validator-cache"),
    allow(dead_code, reason = "made only by the ValidatorCache")
)]
pub(crate) enum Probe {
    /// Fresh cached validators.
    Hit(Validators),
    /// Nothing fresh: ask the source, then fill in its answer.
    Miss(Fill),
}

/// Stores the source's answer for one key, unless the key was invalidated after the stamp was
/// taken (then the answer may predate the write, and nothing is stored).
pub(crate) struct Fill(Box<dyn FnOnce(&Validators) + Send + Sync>);

impl Fill {
    #[cfg_attr(
        not(feature = "validator-cache"),
        allow(dead_code, reason = "made only by the ValidatorCache")
    )]
    pub(crate) fn new(fill: impl FnOnce(&Validators) + Send + Sync + 'static) -> Self {
        Fill(Box::new(fill))
    }

    /// Stores `validators`: the source answered [`Lookup::Present`](crate::Lookup::Present).
    pub(crate) fn present(self, validators: &Validators) {
        (self.0)(validators);
    }
}

impl fmt::Debug for Fill {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Fill")
    }
}

/// Invalidates the keys of one write's target once it succeeded, or once its outcome can no
/// longer be known: dropped unanswered (the client went away while the handler ran, the inner
/// service failed), it invalidates too, since the write may have been performed (or may still
/// be, on a task of its own) all the same.
pub(crate) struct Invalidate(Option<Box<dyn FnOnce() + Send + Sync>>);

impl Invalidate {
    #[cfg_attr(
        not(feature = "validator-cache"),
        allow(dead_code, reason = "made only by the ValidatorCache")
    )]
    pub(crate) fn new(invalidate: impl FnOnce() + Send + Sync + 'static) -> Self {
        Invalidate(Some(Box::new(invalidate)))
    }

    /// Invalidates when the write's response is a success (2xx), as it is dropped: anything
    /// else changed nothing the layer can know of (the maximum age bounds the rest).
    pub(crate) fn after(self, status: StatusCode) {
        if !status.is_success() {
            self.refused();
        }
    }

    /// The write was refused before the inner service was called: nothing to invalidate.
    pub(crate) fn refused(mut self) {
        self.0 = None;
    }
}

impl Drop for Invalidate {
    fn drop(&mut self) {
        if let Some(invalidate) = self.0.take() {
            invalidate();
        }
    }
}

impl fmt::Debug for Invalidate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Invalidate")
    }
}
