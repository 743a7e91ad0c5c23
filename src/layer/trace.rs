//! One `tracing` event per decision, when the `tracing` feature is on.

use std::fmt;

use http::StatusCode;
use http::request::Parts;

use crate::Condition;

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
pub(super) fn source_error(parts: &Parts, error: &dyn fmt::Display, status: Option<StatusCode>) {
    tracing::warn!(
        target: "tower_conditional",
        method = %parts.method,
        path = parts.uri.path(),
        error = %error,
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
pub(super) fn source_error(_: &Parts, _: &dyn fmt::Display, _: Option<StatusCode>) {}
