//! The tower middleware: [`ConditionalLayer`] (configuration, `config.rs`), the
//! [`Conditional`] service it builds (`service.rs`) and its [`ResponseFuture`] (`future.rs`).
//! What to do with a request is decided in `decide.rs`; early answers drain the request body
//! (`drain.rs`); responses of the inner service are finished in `response_side.rs`.
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

mod config;
mod decide;
mod drain;
mod future;
mod response_side;
mod service;
mod trace;

pub use self::config::{
    ConditionalLayer, DEFAULT_BODY_HASH_LIMIT, DEFAULT_DRAIN_LIMIT, DEFAULT_DRAIN_TIMEOUT,
    DEFAULT_RETRY_AFTER, OnSourceError,
};
pub use self::future::ResponseFuture;
pub use self::service::Conditional;
