//! The layer's public configuration types, each with its defaults: [`OnSourceError`] (what a
//! failing source means, and the 503's `Retry-After`), [`DrainConfig`] (reading an unread
//! request body before an early answer) and [`BodyHashConfig`] (tagging a response with the
//! hash of its body).
//!
//! Each is set with one setter of [`ConditionalLayer`](crate::ConditionalLayer). A behaviour that
//! can be turned off is turned off with `None` (`drain(None)`, `body_hash(None)`,
//! `retry_after(None)`); a number is always a bound.

use std::time::Duration;

/// What to do when the [`ValidatorSource`](crate::ValidatorSource) fails for a request that
/// needed its answer, and the `Retry-After` of the 503 it then sends. Set with
/// [`ConditionalLayer::on_source_error`](crate::ConditionalLayer::on_source_error).
///
/// Only requests the source is asked about are affected (see "When the source is asked" on
/// [`ConditionalLayer`](crate::ConditionalLayer)): an unconditional GET, an `OPTIONS` preflight
/// or a write that carries no precondition and needs none goes to the inner service without a
/// look-up, so a failing source cannot take it down.
///
/// The default is [`serve_reads`](Self::serve_reads) with `Retry-After: 1`.
///
/// ```
/// use std::convert::Infallible;
/// use http::{request::Parts, Request, Response, StatusCode};
/// use tower::{service_fn, Layer, ServiceExt};
/// use tower_conditional::{ConditionalLayer, Lookup};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let down = |_: &Parts| async { Err::<Lookup, _>("database unreachable") };
/// let handler = service_fn(|_: Request<String>| async {
///     Ok::<_, Infallible>(Response::new(String::from("hello")))
/// });
/// // The default, `serve_reads`: reads are served in full, checked writes refused.
/// let service = ConditionalLayer::new(down).layer(handler);
/// let revalidate = Request::get("/").header("if-none-match", "\"v1\"").body(String::new())?;
/// assert_eq!(service.clone().oneshot(revalidate).await?.status(), StatusCode::OK);
/// let checked = Request::delete("/").header("if-match", "\"v1\"").body(String::new())?;
/// let refused = service.clone().oneshot(checked).await?;
/// assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
/// assert_eq!(refused.headers()["retry-after"], "1");
/// // A write that carries no precondition (and needs none) never asked the source.
/// let blind = Request::post("/").body(String::new())?;
/// assert_eq!(service.oneshot(blind).await?.status(), StatusCode::OK);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub struct OnSourceError {
    pub(super) reject_reads: bool,
    pub(super) retry_after: Option<Duration>,
}

impl OnSourceError {
    /// GET and HEAD go to the inner service unevaluated (a full response is always safe);
    /// every other method is refused with 503, so no write goes through unchecked. The default.
    ///
    /// ```
    /// use tower_conditional::OnSourceError;
    ///
    /// assert_eq!(OnSourceError::serve_reads(), OnSourceError::default());
    /// ```
    pub fn serve_reads() -> Self {
        OnSourceError {
            reject_reads: false,
            retry_after: Some(Duration::from_secs(1)),
        }
    }

    /// Every request that needed the source is refused with 503, reads included.
    ///
    /// ```
    /// use std::convert::Infallible;
    /// use http::{request::Parts, Request, Response, StatusCode};
    /// use tower::{service_fn, Layer, ServiceExt};
    /// use tower_conditional::{ConditionalLayer, Lookup, OnSourceError};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let down = |_: &Parts| async { Err::<Lookup, _>("database unreachable") };
    /// let service = ConditionalLayer::new(down)
    ///     .on_source_error(OnSourceError::reject_all())
    ///     .layer(service_fn(|_: Request<String>| async {
    ///         Ok::<_, Infallible>(Response::new(String::new()))
    ///     }));
    /// let revalidate = Request::get("/").header("if-none-match", "\"v1\"").body(String::new())?;
    /// assert_eq!(service.oneshot(revalidate).await?.status(), StatusCode::SERVICE_UNAVAILABLE);
    /// # Ok(())
    /// # }
    /// ```
    pub fn reject_all() -> Self {
        OnSourceError {
            reject_reads: true,
            ..OnSourceError::serve_reads()
        }
    }

    /// The `Retry-After` of the 503, rounded up to whole seconds; `None` sends none. Default:
    /// 1 second, so clients that retry on 503 back off instead of looping.
    ///
    /// ```
    /// use std::convert::Infallible;
    /// use std::time::Duration;
    /// use http::{header, request::Parts, Request, Response, StatusCode};
    /// use tower::{service_fn, Layer, ServiceExt};
    /// use tower_conditional::{ConditionalLayer, Lookup, OnSourceError};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let down = |_: &Parts| async { Err::<Lookup, _>("database unreachable") };
    /// let service = ConditionalLayer::new(down)
    ///     .on_source_error(OnSourceError::serve_reads().retry_after(Duration::from_millis(2_500)))
    ///     .layer(service_fn(|_: Request<String>| async {
    ///         Ok::<_, Infallible>(Response::new(String::new()))
    ///     }));
    /// let write = Request::put("/").header(header::IF_MATCH, "\"v1\"").body(String::new())?;
    /// let refused = service.oneshot(write).await?;
    /// assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
    /// assert_eq!(refused.headers()[header::RETRY_AFTER], "3");
    /// # Ok(())
    /// # }
    /// ```
    pub fn retry_after(mut self, delay: impl Into<Option<Duration>>) -> Self {
        self.retry_after = delay.into();
        self
    }
}

impl Default for OnSourceError {
    fn default() -> Self {
        OnSourceError::serve_reads()
    }
}

/// How the layer reads an unread request body before an early answer (304, 400, 412, 428, 500,
/// 503), so that clients which send their whole body before reading receive the answer. Set
/// with [`ConditionalLayer::drain`](crate::ConditionalLayer::drain); `drain(None)` never reads,
/// and answers at once as for a body past the limit.
///
/// | setter | default |
/// |---|---|
/// | [`limit`](Self::limit) | 64 MiB |
/// | [`timeout`](Self::timeout) | 10 seconds |
/// | [`max_concurrent`](Self::max_concurrent) | 64 drains at once per layer |
///
/// A body declared larger than the limit, one still arriving past a bound, or one past the
/// cap, is not read further: the HTTP/1 answer then carries `Connection: close`, and over
/// HTTP/2 the stream is reset after the complete answer.
///
/// ```
/// use std::time::Duration;
/// use tower_conditional::{ConditionalLayer, DrainConfig};
///
/// let layer = ConditionalLayer::from_responses()
///     .drain(DrainConfig::default().limit(1 << 20).timeout(Duration::from_secs(2)));
/// # let _ = layer;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub struct DrainConfig {
    pub(super) limit: u64,
    pub(super) timeout: Duration,
    pub(super) max_concurrent: usize,
}

impl DrainConfig {
    /// The most bytes of an unread request body read and discarded before an early answer.
    /// Default: 64 MiB. A body declared larger is not read at all, and one that turns out
    /// larger is read no further: the answer then carries `Connection: close`.
    ///
    /// ```
    /// use std::convert::Infallible;
    /// use http::{header, request::Parts, Request, Response, StatusCode};
    /// use tower::{service_fn, Layer, ServiceExt};
    /// use tower_conditional::{ConditionalLayer, DrainConfig, Lookup};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let source = |_: &Parts| async { Ok::<_, Infallible>(Lookup::Missing) };
    /// let service = ConditionalLayer::new(source)
    ///     .drain(DrainConfig::default().limit(1024))
    ///     .layer(service_fn(|_: Request<String>| async {
    ///         Ok::<_, Infallible>(Response::new(String::new()))
    ///     }));
    /// let upload = "x".repeat(4096); // larger than the limit
    /// let stale = Request::put("/").header(header::IF_MATCH, "\"v1\"").body(upload)?;
    /// let refused = service.oneshot(stale).await?;
    /// assert_eq!(refused.status(), StatusCode::PRECONDITION_FAILED);
    /// assert_eq!(refused.headers()[header::CONNECTION], "close");
    /// # Ok(())
    /// # }
    /// ```
    pub fn limit(mut self, bytes: u64) -> Self {
        self.limit = bytes;
        self
    }

    /// How long the layer keeps reading. Default: 10 seconds. Past it the answer goes out at
    /// once, with `Connection: close` over HTTP/1 (over HTTP/2 the stream is reset after the
    /// answer), whether or not data is still arriving: a client that sends one chunk and stops
    /// is answered at the deadline.
    ///
    /// The deadline needs no runtime and no feature: it is kept by `futures-timer`'s one shared thread
    /// (started the first time a deadline is waited on), so it fires on tokio, async-std, smol
    /// or a hand-written executor alike.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_conditional::DrainConfig;
    ///
    /// let drain = DrainConfig::default().timeout(Duration::from_secs(2));
    /// # let _ = drain;
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How many early answers of one layer may read request bodies at once. Default: 64. Past
    /// the cap an early answer goes out at once without reading, as for a body larger than the
    /// limit. Every service the layer builds (every route of an axum `route_layer`) shares the
    /// count.
    ///
    /// ```
    /// use tower_conditional::DrainConfig;
    ///
    /// let drain = DrainConfig::default().max_concurrent(16);
    /// # let _ = drain;
    /// ```
    pub fn max_concurrent(mut self, drains: usize) -> Self {
        self.max_concurrent = drains;
        self
    }
}

impl Default for DrainConfig {
    fn default() -> Self {
        DrainConfig {
            limit: 64 << 20,
            timeout: Duration::from_secs(10),
            max_concurrent: 64,
        }
    }
}

/// How the response side reads a body to tag it with its SHA-256 hash, where the source
/// answered [`Lookup::Unknown`](crate::Lookup::Unknown) (see
/// [`ConditionalLayer::from_responses`](crate::ConditionalLayer::from_responses)). Set with
/// [`ConditionalLayer::body_hash`](crate::ConditionalLayer::body_hash); `body_hash(None)` never
/// hashes.
///
/// | setter | default |
/// |---|---|
/// | [`limit`](Self::limit) | 1 MiB |
/// | [`timeout`](Self::timeout) | 1 second |
///
/// Only a 2xx GET response without an `ETag` is hashed, whose size is known and within the
/// limit, or that is compressed (a compressor inside the layer does not know its output's
/// size: the bytes that leave are hashed, within the limit and the timeout). Past either bound
/// the body goes out whole and untagged.
///
/// ```
/// use std::time::Duration;
/// use tower_conditional::{BodyHashConfig, ConditionalLayer};
///
/// let layer = ConditionalLayer::from_responses()
///     .body_hash(BodyHashConfig::default().limit(4 << 20).timeout(Duration::from_millis(200)));
/// # let _ = layer;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub struct BodyHashConfig {
    pub(super) limit: u64,
    pub(super) timeout: Duration,
}

impl BodyHashConfig {
    /// The largest body read to tag it with its hash. Default: 1 MiB.
    ///
    /// ```
    /// use std::convert::Infallible;
    /// use http::{header, Request, Response};
    /// use tower::{service_fn, Layer, ServiceExt};
    /// use tower_conditional::{BodyHashConfig, ConditionalLayer};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let page = service_fn(|_: Request<String>| async {
    ///     Ok::<_, Infallible>(Response::new(String::from("<h1>twenty bytes</h1>")))
    /// });
    /// let small = ConditionalLayer::from_responses()
    ///     .body_hash(BodyHashConfig::default().limit(16))
    ///     .layer(page);
    /// let response = small.oneshot(Request::get("/").body(String::new())?).await?;
    /// assert!(!response.headers().contains_key(header::ETAG)); // too big to hash
    /// # Ok(())
    /// # }
    /// ```
    pub fn limit(mut self, bytes: u64) -> Self {
        self.limit = bytes;
        self
    }

    /// How long the response side waits for the body. Default: 1 second. A body not whole by
    /// then is sent on as it comes, untagged, rather than held: what was read, then the rest.
    /// The bound holds while the body sends nothing too (the layer wakes itself, on any
    /// runtime, through `futures-timer`'s one shared thread).
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_conditional::BodyHashConfig;
    ///
    /// let hashing = BodyHashConfig::default().timeout(Duration::from_millis(200));
    /// # let _ = hashing;
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

impl Default for BodyHashConfig {
    fn default() -> Self {
        BodyHashConfig {
            limit: 1 << 20,
            timeout: Duration::from_secs(1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_documented_values() {
        let drain = DrainConfig::default();
        assert_eq!(
            (drain.limit, drain.timeout, drain.max_concurrent),
            (64 * 1024 * 1024, Duration::from_secs(10), 64)
        );
        let hashing = BodyHashConfig::default();
        assert_eq!(
            (hashing.limit, hashing.timeout),
            (1024 * 1024, Duration::from_secs(1))
        );
        let on_error = OnSourceError::default();
        assert_eq!(
            (on_error.reject_reads, on_error.retry_after),
            (false, Some(Duration::from_secs(1)))
        );
        assert!(OnSourceError::reject_all().reject_reads);
    }
}
