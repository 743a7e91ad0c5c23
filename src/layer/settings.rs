//! The layer's plain configuration: the values [`ConditionalLayer`](super::ConditionalLayer)'s
//! setters write, shared by the request side and the response side, depending on neither (and
//! `Shared`, the configuration with the source).

use std::sync::Arc;
use std::time::Duration;

use http::Method;

use super::running::Drains;
use crate::cache::Hook;

/// What to do when the [`ValidatorSource`](crate::ValidatorSource) fails for a request that needed its answer.
///
/// Only requests the source is asked about are affected (see "When the source is asked" on
/// [`ConditionalLayer`](crate::ConditionalLayer)): an unconditional GET, an `OPTIONS` preflight or a write that carries no
/// precondition and needs none goes to the inner service without a look-up, so a failing
/// source cannot take it down. A refusal is `503 Service Unavailable` with a `Retry-After`
/// (see [`ConditionalLayer::retry_after`](crate::ConditionalLayer::retry_after)).
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
/// // The default, `ServeReads`: reads are served in full, checked writes refused.
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
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum OnSourceError {
    /// GET and HEAD go to the inner service unevaluated (a full response is always safe);
    /// every other method is refused with 503, so no write goes through unchecked. The default.
    #[default]
    ServeReads,
    /// Every request that needed the source is refused with 503, reads included.
    RejectAll,
}

/// The default for [`ConditionalLayer::body_hash_limit`](crate::ConditionalLayer::body_hash_limit): 1 MiB.
///
/// ```
/// use tower_conditional::{ConditionalLayer, DEFAULT_BODY_HASH_LIMIT};
///
/// assert_eq!(DEFAULT_BODY_HASH_LIMIT, 1024 * 1024);
/// // Hash response bodies of up to 4 MiB instead.
/// let layer = ConditionalLayer::from_responses()
///     .body_hash_limit(Some(4 * DEFAULT_BODY_HASH_LIMIT));
/// # let _ = layer;
/// ```
pub const DEFAULT_BODY_HASH_LIMIT: u64 = 1 << 20;

/// The default for [`ConditionalLayer::body_hash_timeout`](crate::ConditionalLayer::body_hash_timeout): 1 second.
///
/// ```
/// use std::time::Duration;
/// use tower_conditional::DEFAULT_BODY_HASH_TIMEOUT;
///
/// assert_eq!(DEFAULT_BODY_HASH_TIMEOUT, Duration::from_secs(1));
/// ```
pub const DEFAULT_BODY_HASH_TIMEOUT: Duration = Duration::from_secs(1);

/// The default for [`ConditionalLayer::drain_limit`](crate::ConditionalLayer::drain_limit): 64 MiB.
///
/// ```
/// use tower_conditional::DEFAULT_DRAIN_LIMIT;
///
/// assert_eq!(DEFAULT_DRAIN_LIMIT, 64 * 1024 * 1024);
/// ```
pub const DEFAULT_DRAIN_LIMIT: u64 = 64 << 20;

/// The default for [`ConditionalLayer::drain_timeout`](crate::ConditionalLayer::drain_timeout): 10 seconds.
///
/// ```
/// use std::time::Duration;
/// use tower_conditional::DEFAULT_DRAIN_TIMEOUT;
///
/// assert_eq!(DEFAULT_DRAIN_TIMEOUT, Duration::from_secs(10));
/// ```
pub const DEFAULT_DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// The default for [`ConditionalLayer::retry_after`](crate::ConditionalLayer::retry_after): 1 second.
///
/// ```
/// use std::time::Duration;
/// use tower_conditional::DEFAULT_RETRY_AFTER;
///
/// assert_eq!(DEFAULT_RETRY_AFTER, Duration::from_secs(1));
/// ```
pub const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(1);

/// The default for [`ConditionalLayer::max_concurrent_drains`](crate::ConditionalLayer::max_concurrent_drains):
/// 64 drains at once per layer.
///
/// ```
/// use tower_conditional::DEFAULT_MAX_CONCURRENT_DRAINS;
///
/// assert_eq!(DEFAULT_MAX_CONCURRENT_DRAINS, 64);
/// ```
pub const DEFAULT_MAX_CONCURRENT_DRAINS: usize = 64;

/// The source and the configuration, as one allocation per [`Layer::layer`](tower::Layer),
/// shared by the service's clones and by the futures that ask the source again.
pub(super) struct Shared<V> {
    pub(super) source: V,
    pub(super) config: Config,
}

/// The layer's configuration: the methods that must be conditional, and the plain settings
/// every request's [`Plan`](super::plan::Plan) copies.
#[derive(Debug, Clone, Default)]
pub(super) struct Config {
    pub(super) required: Option<Arc<[Method]>>,
    pub(super) settings: Settings,
    /// The timer and the count of running drains, shared by every service of one layer.
    pub(super) drains: Drains,
    /// The validator cache, when one is set (`ConditionalLayer::validator_cache`).
    pub(super) cache: Option<Arc<dyn Hook>>,
}

/// The settings of [`ConditionalLayer`](crate::ConditionalLayer) other than the method list: plain values, `Copy`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Settings {
    pub(super) on_source_error: OnSourceError,
    pub(super) retry_after: Option<Duration>,
    pub(super) fill_response_validators: bool,
    pub(super) body_hash_limit: Option<u64>,
    pub(super) body_hash_timeout: Duration,
    pub(super) encoding_aware_etags: bool,
    pub(super) validators_in_412: bool,
    /// `take_over_validators`: the layer hides the fields it decided from the inner service,
    /// and its source's validators replace the inner service's own.
    pub(super) take_over: bool,
    pub(super) drain_limit: u64,
    pub(super) drain_timeout: Duration,
    pub(super) max_drains: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            on_source_error: OnSourceError::default(),
            retry_after: Some(DEFAULT_RETRY_AFTER),
            fill_response_validators: false,
            body_hash_limit: Some(DEFAULT_BODY_HASH_LIMIT),
            body_hash_timeout: DEFAULT_BODY_HASH_TIMEOUT,
            encoding_aware_etags: false,
            validators_in_412: true,
            take_over: false,
            drain_limit: DEFAULT_DRAIN_LIMIT,
            drain_timeout: DEFAULT_DRAIN_TIMEOUT,
            max_drains: DEFAULT_MAX_CONCURRENT_DRAINS,
        }
    }
}

impl Config {
    /// Whether requests with `method` must carry a precondition (`require_preconditions`).
    pub(super) fn requires_precondition(&self, method: &Method) -> bool {
        self.required
            .as_ref()
            .is_some_and(|methods| methods.contains(method))
    }
}
