//! What the layer asks of a validator cache ([`Hook`]), and the public
//! [`ValidatorCache`](validator::ValidatorCache) behind the `validator-cache` feature.
//!
//! The layer decides which requests may use a cache (revalidations and writes, see
//! `layer/service.rs`); the hook maps a request to its key ([`Keyed`]), possibly by running
//! extractors. A read's key becomes a [`Consult`]: the layer hands it to the source through the
//! request head's extensions, and a source that runs extractors (`source_fn`) claims it and
//! consults it after they passed, before its query starts, so that a hit never skips a
//! rejection. Without the feature no hook exists and the layer's cache field is always `None`.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use http::StatusCode;
use http::request::Parts;

use crate::source::Rejection;
use crate::state::Validators;

#[cfg(feature = "validator-cache")]
pub(crate) mod validator;
#[cfg(feature = "validator-cache")]
mod weight;

/// A validator cache as the layer sees it.
pub(crate) trait Hook: Send + Sync + fmt::Debug {
    /// Starts taking the key of the resource `head` targets, for a write (`write`) or a
    /// revalidation.
    fn key(&self, head: &Parts, write: bool) -> Keying;
}

/// A key being taken: at once (a function of the head), or by extractors.
#[cfg_attr(
    not(feature = "validator-cache"),
    allow(dead_code, reason = "made only by the ValidatorCache")
)]
pub(crate) enum Keying {
    Ready(Keyed),
    #[cfg_attr(
        not(feature = "axum"),
        allow(dead_code, reason = "extractor keys need axum")
    )]
    Pending(Pin<Box<dyn Future<Output = Keyed> + Send>>),
}

/// A request's key, as the layer uses it.
#[cfg_attr(
    not(feature = "validator-cache"),
    allow(dead_code, reason = "made only by the ValidatorCache")
)]
pub(crate) enum Keyed {
    /// No key (or the cache is switched off, for a read): the cache plays no part.
    Unkeyed,
    /// The key's extractors refused the request: the client's answer, warm cache or not.
    #[cfg_attr(
        not(feature = "axum"),
        allow(dead_code, reason = "extractor keys need axum")
    )]
    Rejected(Rejection),
    /// A revalidation's entry, stamped as the key was taken (before the source is asked).
    Read(Box<dyn ReadKey>),
    /// What the write invalidates.
    Write(Invalidate),
}

impl fmt::Debug for Keyed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Keyed::Unkeyed => "Unkeyed",
            Keyed::Rejected(_) => "Rejected",
            Keyed::Read(_) => "Read",
            Keyed::Write(_) => "Write",
        })
    }
}

/// One read's key in its cache.
pub(crate) trait ReadKey: Send + Sync {
    /// The fresh cached validators for `head`, if any (none while the cache is switched off).
    fn get(&self, head: &Parts) -> Option<Validators>;

    /// Stores the source's [`Lookup::Present`](crate::Lookup::Present) answer, unless the key
    /// was invalidated since the key was taken (the answer may then predate the write).
    fn fill(&self, head: &Parts, validators: &Validators);
}

/// Whether cached `validators` give the request `head` a 304 the layer may send before the
/// handler runs (see `ValidatorCache`: a cached state may only make a 304 late).
pub(crate) type Answers = fn(&Parts, &Validators, encoding_aware: bool) -> bool;

/// A revalidation's key, shared between the layer and the source that claims it.
#[derive(Clone)]
pub(crate) struct Consult(Arc<ConsultState>);

struct ConsultState {
    key: Box<dyn ReadKey>,
    answers: Answers,
    encoding_aware: bool,
    /// A source will consult after its extractors (set synchronously by its `lookup`).
    claimed: AtomicBool,
    /// The answer came from the cache: nothing to fill in.
    hit: AtomicBool,
}

impl Consult {
    pub(crate) fn new(key: Box<dyn ReadKey>, answers: Answers, encoding_aware: bool) -> Self {
        Consult(Arc::new(ConsultState {
            key,
            answers,
            encoding_aware,
            claimed: AtomicBool::new(false),
            hit: AtomicBool::new(false),
        }))
    }

    /// Called by a source's `lookup` that will consult the cache itself, once its extractors
    /// passed: the layer then leaves the hit to it.
    #[cfg_attr(
        not(feature = "axum"),
        allow(dead_code, reason = "claimed only by source_fn")
    )]
    pub(crate) fn claim(head: &Parts) {
        if let Some(consult) = head.extensions.get::<Consult>() {
            consult.0.claimed.store(true, Ordering::Relaxed);
        }
    }

    pub(crate) fn is_claimed(&self) -> bool {
        self.0.claimed.load(Ordering::Relaxed)
    }

    /// The cached validators, when they give `head` a 304 now.
    pub(crate) fn hit(&self, head: &Parts) -> Option<Validators> {
        let validators = self.0.key.get(head)?;
        if !(self.0.answers)(head, &validators, self.0.encoding_aware) {
            return None;
        }
        self.0.hit.store(true, Ordering::Relaxed);
        Some(validators)
    }

    /// Stores a present answer of the source to `head` (not one the cache gave).
    pub(crate) fn fill(&self, head: &Parts, validators: &Validators) {
        if !self.0.hit.load(Ordering::Relaxed) {
            self.0.key.fill(head, validators);
        }
    }
}

impl fmt::Debug for Consult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Consult")
            .field("claimed", &self.is_claimed())
            .finish_non_exhaustive()
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

    /// Invalidates when the write's response is not an error (2xx or 3xx: RFC 9111 §4.4; a
    /// POST answered 303 changed its target), as it is dropped: an error changed nothing the
    /// layer can know of (the maximum age bounds the rest).
    pub(crate) fn after(self, status: StatusCode) {
        if !(status.is_success() || status.is_redirection()) {
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
