//! One `tracing` event per decision, when the `tracing` feature is on.

use std::error::Error;
use std::fmt;

use http::StatusCode;
use http::request::Parts;

use crate::decision::Condition;

#[cfg(feature = "tracing")]
pub(super) fn decided(parts: &Parts, condition: Option<Condition>, status: Option<StatusCode>) {
    tracing::debug!(
        target: "tower_conditional",
        method = %parts.method,
        path = parts.uri.path(),
        condition = condition.map(|c| c.as_str()),
        status = status.map(|s| s.as_u16()),
        outcome = if status.is_some() { "answered" } else { "proceed" },
        "conditional request evaluated",
    );
}

#[cfg(feature = "tracing")]
pub(super) fn unevaluated(parts: &Parts, reason: &str) {
    tracing::debug!(
        target: "tower_conditional",
        method = %parts.method,
        path = parts.uri.path(),
        reason,
        outcome = "unevaluated",
        "conditional request not evaluated",
    );
}

#[cfg(feature = "tracing")]
pub(super) fn source_error(
    parts: &Parts,
    error: &(dyn Error + Send + Sync),
    status: Option<StatusCode>,
) {
    tracing::warn!(
        target: "tower_conditional",
        method = %parts.method,
        path = parts.uri.path(),
        error = %Chain(error),
        status = status.map(|s| s.as_u16()),
        outcome = if status.is_some() { "answered" } else { "unevaluated" },
        "validator source failed",
    );
}

#[cfg(not(feature = "tracing"))]
pub(super) fn decided(_: &Parts, _: Option<Condition>, _: Option<StatusCode>) {}

#[cfg(not(feature = "tracing"))]
pub(super) fn unevaluated(_: &Parts, _: &str) {}

#[cfg(not(feature = "tracing"))]
pub(super) fn source_error(_: &Parts, _: &(dyn Error + Send + Sync), _: Option<StatusCode>) {}

/// An error and its `source()` chain, as `outer: inner: root`.
#[cfg_attr(not(feature = "tracing"), allow(dead_code))]
struct Chain<'a>(&'a (dyn Error + Send + Sync));

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(error) = source {
            write!(f, ": {error}")?;
            source = error.source();
        }
        Ok(())
    }
}
