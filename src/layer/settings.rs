//! The layer's plain configuration: the values [`ConditionalLayer`](super::ConditionalLayer)'s
//! setters write, shared by the request side and the response side, depending on neither (and
//! `Shared`, the configuration with the source).

use std::sync::Arc;

use http::Method;

use super::config::{BodyHashConfig, DrainConfig, OnSourceError};
use super::running::Drains;
use crate::cache::Hook;

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
    /// The count of running drains, shared by every service of one layer.
    pub(super) drains: Drains,
    /// The validator cache, when one is set (`ConditionalLayer::validator_cache`).
    pub(super) cache: Option<Arc<dyn Hook>>,
    /// The source answers `Lookup::Unknown` for every request (`from_responses`): GET and HEAD
    /// are then evaluated against the response without asking it, unconditional ones included.
    pub(super) responses_only: bool,
}

/// The settings of [`ConditionalLayer`](crate::ConditionalLayer) other than the method list: plain values, `Copy`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Settings {
    pub(super) on_source_error: OnSourceError,
    pub(super) fill_response_validators: bool,
    /// `None`: never hashed (`body_hash(None)`).
    pub(super) body_hash: Option<BodyHashConfig>,
    pub(super) encoding_aware_etags: bool,
    pub(super) validators_in_412: bool,
    /// `take_over_validators`: the layer hides the fields it decided from the inner service,
    /// and its source's validators replace the inner service's own.
    pub(super) take_over: bool,
    /// `None`: never drained (`drain(None)`).
    pub(super) drain: Option<DrainConfig>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            on_source_error: OnSourceError::default(),
            fill_response_validators: false,
            body_hash: Some(BodyHashConfig::default()),
            encoding_aware_etags: false,
            validators_in_412: true,
            take_over: false,
            drain: Some(DrainConfig::default()),
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
