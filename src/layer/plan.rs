//! What travels with one request through the middleware: the [`Plan`] made when it arrives,
//! and the [`Post`] (with its [`ResponseCheck`]) that the response side applies to the inner
//! service's response. Plain data, made by the request side and read by the response side.

use http::header::{IF_MATCH, IF_MODIFIED_SINCE, IF_NONE_MATCH, IF_UNMODIFIED_SINCE};
use http::request::Parts;
use http::{HeaderMap, Method, Version};

use super::settings::{Config, Settings};
use crate::state::Validators;

/// The per-request part of the configuration, copied out of [`Config`] when a request needs
/// the source or the response.
#[derive(Debug, Clone, Copy)]
pub(super) struct Plan {
    /// The request's method is one that [`Config::required`] lists.
    pub(super) precondition_required: bool,
    pub(super) settings: Settings,
}

impl Plan {
    pub(super) fn new(config: &Config, method: &Method) -> Self {
        Plan {
            precondition_required: config.requires_precondition(method),
            settings: config.settings,
        }
    }

    /// What to do with the inner service's response when nothing was evaluated before it.
    pub(super) fn post(&self) -> Post {
        Post::passing(&self.settings)
    }
}

/// What to do with the inner service's response.
#[derive(Debug)]
pub(super) struct Post {
    /// Validators to add to a successful GET/HEAD response that lacks them.
    /// (Boxed, like `check`, to keep `Post` small: it travels with every request's future.)
    pub(super) fill: Option<Box<Validators>>,
    /// Make strong tags specific to the response's content coding.
    pub(super) encoding_tags: bool,
    /// Leave the current validators on a handler's 412 (else they are removed).
    pub(super) validators_in_412: bool,
    /// Evaluate the request against the response's own validators.
    pub(super) check: Option<Box<ResponseCheck>>,
}

impl Post {
    /// Nothing to fill in or evaluate: only the settings every response is finished with.
    pub(super) fn passing(settings: &Settings) -> Self {
        Post {
            fill: None,
            encoding_tags: settings.encoding_aware_etags,
            validators_in_412: settings.validators_in_412,
            check: None,
        }
    }
}

/// The request's conditions, kept for evaluation against the response (GET and HEAD only).
#[derive(Debug)]
pub(super) struct ResponseCheck {
    pub(super) method: Method,
    pub(super) version: Version,
    pub(super) conditions: HeaderMap,
    pub(super) plan: Plan,
}

impl ResponseCheck {
    /// Copies the conditional fields of a GET or HEAD request (a cheap reference-counted copy of
    /// each value; nothing is allocated when the request has none).
    pub(super) fn new(parts: &Parts, plan: &Plan) -> Self {
        let mut conditions = HeaderMap::new();
        for name in [
            IF_MATCH,
            IF_NONE_MATCH,
            IF_MODIFIED_SINCE,
            IF_UNMODIFIED_SINCE,
        ] {
            for value in parts.headers.get_all(&name) {
                conditions.append(name.clone(), value.clone());
            }
        }
        ResponseCheck {
            method: parts.method.clone(),
            version: parts.version,
            conditions,
            plan: *plan,
        }
    }
}
