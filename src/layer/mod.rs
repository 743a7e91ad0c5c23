//! The tower middleware: [`ConditionalLayer`], the [`Conditional`] service it builds, and its
//! [`ResponseFuture`].
//!
//! On each request the service asks its [`ValidatorSource`] for the target's current
//! validators, [evaluates](crate::evaluate) the request's preconditions against them and, before
//! the inner service runs, answers 304, 412, 400 or 428 itself, or calls the inner service.
//!
//! ```
//! use std::convert::Infallible;
//! use http::{header, Request, Response, StatusCode};
//! use http::request::Parts;
//! use tower::{service_fn, ServiceBuilder, ServiceExt};
//! use tower_conditional::{ConditionalLayer, ETag, Lookup, Validators};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let source = |_: &Parts| async {
//!     Ok::<_, Infallible>(Lookup::Present(
//!         Validators::new().with_etag(ETag::from_static("\"v1\"")),
//!     ))
//! };
//! let service = ServiceBuilder::new()
//!     .layer(ConditionalLayer::new(source))
//!     .service(service_fn(|_req: Request<String>| async {
//!         Ok::<_, Infallible>(Response::new(String::from("hello")))
//!     }));
//!
//! let request = Request::get("/").header(header::IF_NONE_MATCH, "\"v1\"").body(String::new())?;
//! let response = service.oneshot(request).await?;
//! assert_eq!(response.status(), StatusCode::NOT_MODIFIED);
//! # Ok(())
//! # }
//! ```
//!
//! # Layering
//!
//! Top to bottom; each file uses only files below it (and the crate's core modules):
//!
//! 0. `compressed.rs` (feature `compression`): `ConditionalCompressionLayer`, this layer
//!    outside tower-http's `CompressionLayer`.
//! 1. `builder.rs`: the public [`ConditionalLayer`], its setters and `impl Layer`.
//! 2. `service.rs`: the [`Conditional`] service; sends each request down the fast path, to the
//!    response side, or to the source.
//! 3. `future.rs`: its [`ResponseFuture`], the state machine that drives everything below.
//! 4. `before.rs`: the request side, before the call: whether to ask the source, and what its
//!    answer means (an early answer, or the adjusted request and its `Post`).
//!    `revalidation.rs` beside it: with encoding-aware tags, which revalidations it decides
//!    and which the response's coding must (uses only the crate's core modules).
//! 5. `hashing.rs`: reading a response body whole to tag it with its hash, within a size and
//!    a time bound.
//! 6. `after.rs`: the response side, after the call: filling validators, tags per coding,
//!    evaluating against the response's own validators.
//! 7. `ranges.rs`: whether a 206 after a true `If-Range` is of the version it named.
//! 8. `drain.rs`: reading the unread request body before an early answer.
//! 9. `plan.rs`: what travels with one request (`Plan`, `Post`, `ResponseCheck`, `RangeCheck`):
//!    plain data the request side makes and the response side reads.
//! 10. `answers.rs`: the finishing of the layer's own answers (304, 412, 503) and of a
//!     handler's 412, the same from either side.
//! 11. `settings.rs`: the plain configuration (`Config`, `Settings`, and `Shared`, the
//!     configuration with the source), used by both sides and using neither; `config.rs`
//!     beside it: its public parts, each with its defaults ([`OnSourceError`],
//!     [`DrainConfig`], [`BodyHashConfig`]).
//! 12. `running.rs`: the drains running at once (their count), shared by every
//!     service of one layer.
//! 13. `trace.rs`: one `tracing` event per decision.
//! 14. `deadline.rs`: a runtime-agnostic `Deadline` that wakes its task (uses nothing).
//!
//! The validator cache is a core module (`crate::cache`: the `Hook` the layer calls, and the
//! public `ValidatorCache` behind the `validator-cache` feature). The layer touches it in three
//! places only: `before.rs` decides which requests may use it (`is_revalidation`) and whether
//! cached validators answer (`cached_answers`, only ever a 304), `service.rs` asks for the key
//! of writes and revalidations, and `future.rs` takes the key (a rejection is the answer),
//! consults the cache where the source does not (a `source_fn` consults it after its
//! extractors), fills in a present answer and invalidates after a write that did not fail.

mod after;
mod answers;
mod before;
mod builder;
#[cfg(feature = "compression")]
mod compressed;
mod config;
mod deadline;
mod drain;
mod future;
mod hashing;
mod plan;
mod ranges;
mod revalidation;
mod running;
mod service;
mod settings;
mod trace;

pub use self::builder::ConditionalLayer;
#[cfg(feature = "compression")]
pub use self::compressed::ConditionalCompressionLayer;
pub use self::config::{BodyHashConfig, DrainConfig, OnSourceError};
pub use self::future::ResponseFuture;
pub use self::service::Conditional;
