//! [`ConditionalLayer`] answers HTTP conditional requests (RFC 9110 §13) for tower, axum and
//! hyper: 304 Not Modified, 412 Precondition Failed and 428 Precondition Required, before your
//! handler runs.
//!
//! ```
//! use std::convert::Infallible;
//! use axum::{routing::get, Router};
//! use http::{header, request::Parts, Method, Request, StatusCode};
//! use tower::ServiceExt;
//! use tower_conditional::{ConditionalLayer, ETag, Lookup, Validators};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // Where the current validators come from: here a constant, usually a row version.
//! let source = |_: &Parts| async {
//!     let validators = Validators::new().with_etag(ETag::from_content(b"hello"));
//!     Ok::<_, Infallible>(Lookup::Present(validators))
//! };
//! let app = Router::new()
//!     .route("/greeting", get(|| async { "hello" }).put(|| async { StatusCode::NO_CONTENT }))
//!     .route_layer(
//!         ConditionalLayer::new(source)
//!             .require_preconditions([Method::PUT])
//!             .fill_response_validators(true),
//!     );
//!
//! let first = app.clone().oneshot(Request::get("/greeting").body(String::new())?).await?;
//! let etag = first.headers()[header::ETAG].clone();
//!
//! // A revalidation with that ETag: 304, no body.
//! let revalidate = Request::get("/greeting")
//!     .header(header::IF_NONE_MATCH, etag)
//!     .body(String::new())?;
//! assert_eq!(app.clone().oneshot(revalidate).await?.status(), StatusCode::NOT_MODIFIED);
//!
//! // A write against a stale version: 412.
//! let stale = Request::put("/greeting").header(header::IF_MATCH, "\"old\"").body(String::new())?;
//! assert_eq!(app.clone().oneshot(stale).await?.status(), StatusCode::PRECONDITION_FAILED);
//!
//! // A write that does not say which version it replaces: 428.
//! let blind_write = Request::put("/greeting").body(String::from("hi"))?;
//! assert_eq!(app.oneshot(blind_write).await?.status(), StatusCode::PRECONDITION_REQUIRED);
//! # Ok(())
//! # }
//! ```
//!
//! The layer asks a [`ValidatorSource`] (any async closure over the request head, or with the
//! `axum` feature a function of extractors: [`source_fn_with_state`]) for the target's
//! validators, and only when the answer can change the outcome. It answers 304, 412, 428 or 400
//! itself, and otherwise calls the inner service, handing writes a [`Checked`] for their
//! compare-and-set. Its answers are responses, never errors, so axum needs no
//! `HandleErrorLayer`. Start with the [sources guide](guide::sources).
//!
//! # Other frameworks
//!
//! The core is a pure function, [`evaluate`]: method, request headers and the resource's
//! current state in, a [`Decision`] out. It knows nothing of tower or async;
//! [`Decision::response`] turns a decision into the response to send.
//!
//! ```
//! use http::{header, Request, Response, StatusCode};
//! use tower_conditional::{evaluate, ETag, ResourceState, Validators};
//!
//! // What the application knows about the target resource right now.
//! fn current_state() -> ResourceState {
//!     ResourceState::Present(Validators::new().with_etag(ETag::from_content(b"hello")))
//! }
//!
//! fn handle(request: &Request<()>) -> Response<bytes::Bytes> {
//!     let state = current_state();
//!     let decision = evaluate(request.method(), request.headers(), &state);
//!     if let Some(response) = decision.response(&state) {
//!         return response.map(Into::into); // 304, 412 or 400: the method is not performed
//!     }
//!     let mut response = Response::new(bytes::Bytes::from_static(b"hello"));
//!     if let Some(etag) = state.etag() {
//!         response.headers_mut().insert(header::ETAG, etag.into());
//!     }
//!     response
//! }
//!
//! let first = handle(&Request::get("/greeting").body(())?);
//! assert_eq!(first.status(), StatusCode::OK);
//! let etag = first.headers()[header::ETAG].clone();
//!
//! let again = handle(&Request::get("/greeting").header(header::IF_NONE_MATCH, etag).body(())?);
//! assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
//!
//! let stale = Request::put("/greeting").header(header::IF_MATCH, "\"old\"").body(())?;
//! let refused = handle(&stale);
//! assert_eq!(refused.status(), StatusCode::PRECONDITION_FAILED);
//! assert_eq!(refused.headers()[header::ETAG], first.headers()[header::ETAG]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Guides
//!
//! - [Sources and databases](guide::sources): row versions, when the source is asked,
//!   failures, compare-and-set writes with [`Checked`], collections.
//! - [Several replicas](guide::replicas): validators in the row, dates, the compare-and-set in
//!   the statement.
//! - [The validator cache](guide::validator_cache): 304s without a query.
//! - [Compression and strong ETags](guide::compression): one strong tag per coding.
//! - [HTTP/2 and uploads](guide::http2): early answers, draining, serving HTTP/2.
//! - [The client's half](guide::client): [`ConditionalUpdate`], refetch and retry on 412.
//! - [Security](guide::security): authenticate outside the layer.
//! - [How a request is decided](guide::decisions): RFC 9110 §13.2.2 as implemented, and what
//!   each answer carries.
//! - [Validators from the response](guide::from_responses): when no source can know them.
//! - [Performance and limits](guide::limits): what one client can make the server do.
//! - [Compared with the alternatives](guide::alternatives).
//!
//! # Every public item, by purpose
//!
//! Features in brackets; everything else is always there.
//!
//! | item | what it is for |
//! |---|---|
//! | **The layer and its configuration** | |
//! | [`ConditionalLayer`] | The tower layer: asks a source, answers 304 / 412 / 428 / 400 itself, else calls the inner service. [`from_responses`](ConditionalLayer::from_responses) when validators come from the handler's responses. |
//! | [`Conditional`] | The service the layer builds around the inner service. |
//! | [`ResponseFuture`] | Its response future. |
//! | [`ConditionalBody`] | The body of every response of [`Conditional`]: the inner service's body, or the layer's own answer. |
//! | [`OnSourceError`] | What a failing source means (serve reads or refuse all) and the 503's `Retry-After`. |
//! | [`DrainConfig`] | Bounds for reading an unread request body before an early answer; `drain(None)`: never. |
//! | [`BodyHashConfig`] | Bounds for hashing a response body into its `ETag`; `body_hash(None)`: never. |
//! | [`Checked`] | The state a write was checked against, handed to the inner service for a compare-and-set. |
//! | [`ConditionalCompressionLayer`] \[`compression`\] | This layer outside tower-http's `CompressionLayer`, in the one order that works ([`ConditionalLayer::compressed`]). |
//! | **Sources** | |
//! | [`ValidatorSource`] | Where the layer learns the target's current validators; any async closure over the request head is one. |
//! | [`Lookup`] | A source's answer: a [`ResourceState`] (`Missing`, `Present`), or `Unknown` (ask the response), or `Rejected`. |
//! | [`Rejection`] | The response of a `Lookup::Rejected`: the client's error, sent as it is. |
//! | [`FromResponse`] | The source type of [`ConditionalLayer::from_responses`], to name the layer's type. |
//! | [`BoxLookup`] | The boxed future of a source written with an `async` block. |
//! | [`BoxError`] | A source's error once the layer reports it. |
//! | **Validators and tags** | |
//! | [`ETag`] | A validated entity tag, with strong and weak comparison and content hashing. |
//! | [`ContentHasher`] | The same content tag as [`ETag::from_content`], from content read in pieces (a file of any size). |
//! | [`InvalidETag`] | Why bytes are not an entity tag. |
//! | [`LastModified`] | A modification date at HTTP's one-second resolution. |
//! | [`InvalidDate`] | Why a value is not such a date. |
//! | [`Validators`] | What the resource carries now: `ETag`, `Last-Modified` and the fields a 304 repeats. |
//! | [`ResourceState`] | The resource as the evaluator sees it: missing, or present with its validators. |
//! | [`NotAVersion`] | Why an entity tag does not read back as a version number ([`Checked::version`]). |
//! | **The evaluator** | |
//! | [`evaluate`] | RFC 9110 §13.2.2 as a pure function: method, request headers and state in, a [`Decision`] out. |
//! | [`Conditions`] | A request's precondition fields, parsed once, to evaluate or inspect. |
//! | [`Decision`] | The outcome: proceed, or answer 304, 412 or 400. |
//! | [`Proceed`] | What proceeding means: which precondition passed, how to treat `Range`, what was ignored. |
//! | [`Condition`] | One precondition field (`If-Match`, `If-None-Match`, ...). |
//! | [`Ignored`] | Why the request's preconditions were ignored (its method, or a missing resource). |
//! | [`RangeHandling`] | Whether a `Range` may be honoured after `If-Range`. |
//! | **Responses** | |
//! | [`response`] | Builders for the answers: 304, 412, 400, 428, 503; [`Decision::response`] picks one. |
//! | [`response::AnswerBody`] | The body of those answers (empty, or problem+json), an `http_body::Body`. |
//! | **Cache** | |
//! | [`ValidatorCache`] \[`validator-cache`\] | Answers revalidations 304 from cached validators, without asking the source. |
//! | [`ValidatorCacheBuilder`] \[`validator-cache`\] | Its bounds (bytes, age) and related keys. |
//! | **Client** | |
//! | [`ConditionalUpdate`] \[`client`\] | Read-modify-write with `If-Match` over a tower HTTP client, retrying on 412. |
//! | [`Current`] \[`client`\] | What the change function is shown: the resource missing, or its [`Representation`]. |
//! | [`Representation`] \[`client`\] | A fetched representation: content, validators, headers. |
//! | [`Change`] \[`client`\] | What the change function answers: the write to send, or stop. |
//! | [`WriteRequest`] \[`client`\] | The write a [`Change`] describes: method, content, headers. |
//! | [`InvalidWrite`] \[`client`\] | Why a write could not be sent. |
//! | [`Outcome`] \[`client`\] | How the update ended: `Written`, or why not (`Conflict`, `Gone`, `Refused`, `Aborted`, ...). |
//! | [`UpdateError`] \[`client`\] | Why it failed, and whether the write may have happened. |
//! | **axum integration** | |
//! | [`source_fn_with_state`] \[`axum`\] | A source written like a handler: an async function of axum extractors, with state. |
//! | [`source_fn`] \[`axum`\] | The same, without state. |
//! | [`SourceFn`] \[`axum`\] | The source those two return. |
//! | [`LookupFn`] \[`axum`\] | The functions they accept (implemented for you). |
//! | [`ByRoute`] \[`axum`\] | One source per route (by `MatchedPath`) behind one layer. |
//! | [`MissingChecked`] \[`axum`\] | The rejection of the [`Checked`] extractor when the layer is missing. |
//!
//! Switches are `bool` setters (`fill_response_validators`, `encoding_aware_etags`,
//! `validators_in_412`); a behaviour with settings is turned off with `None` (`drain(None)`,
//! `body_hash(None)`, `OnSourceError::retry_after(None)`); a number is always a bound.
//!
//! # Feature flags
//!
//! None are on by default.
//!
//! - `axum`: sources written like handlers, from axum extractors ([`source_fn_with_state`],
//!   [`source_fn`]), whose rejections are the client's answer ([`Lookup::Rejected`]); one
//!   source per route behind one layer ([`ByRoute`], by axum's `MatchedPath`); [`Validators`]
//!   as response parts (`(validators, Json(row))`); and [`Checked`] as an extractor, whose
//!   rejection ([`MissingChecked`]) names the missing layer in a problem+json 500. Adds
//!   axum-core and axum without default features. (The [`response`] builders need no feature:
//!   their [`AnswerBody`](response::AnswerBody) makes them axum responses as they are.)
//! - `tracing`: one `tracing` event per decision (method, path, the deciding precondition and
//!   the status), so operators can see how often they serve 304, 412 and 428; a failing
//!   source's error is reported with its `source()` chain.
//! - `client`: [`ConditionalUpdate`] and its [`Outcome`], the client's refetch-and-retry loop
//!   (adds `http-body-util` and `fastrand`).
//! - `compression`: [`ConditionalCompressionLayer`] ([`ConditionalLayer::compressed`]), this
//!   layer outside tower-http's `CompressionLayer` (adds `tower-http` with gzip; turn on its
//!   `compression-br`, `-zstd` or `-deflate` features in your own `Cargo.toml` for more
//!   codings). tower-http's types are part of that API: the feature follows tower-http's
//!   releases.
//! - `validator-cache`: [`ValidatorCache`] ([`ConditionalLayer::validator_cache`]),
//!   revalidations answered 304 from cached validators without asking the source (adds
//!   `quick_cache`).

#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]
#![warn(missing_debug_implementations, rust_2018_idioms, unreachable_pub)]
#![forbid(unsafe_code)]

mod accept_encoding;
mod body;
mod cache;
mod checked;
#[cfg(feature = "client")]
mod client;
mod conditions;
mod cost;
mod date;
mod decision;
mod encoding;
mod etag;
#[cfg(feature = "axum")]
mod handler_source;
mod layer;
mod representation;
pub mod response;
mod source;
mod state;
mod tag_list;
mod version;

pub use conditions::{Conditions, evaluate};
pub use date::{InvalidDate, LastModified};
pub use decision::{Condition, Decision, Ignored, Proceed, RangeHandling};
pub use etag::{ContentHasher, ETag, InvalidETag};
pub use state::{ResourceState, Validators};

pub use body::ConditionalBody;
#[cfg(feature = "validator-cache")]
pub use cache::validator::{ValidatorCache, ValidatorCacheBuilder};
pub use checked::Checked;
#[cfg(feature = "axum")]
pub use checked::MissingChecked;
#[cfg(all(feature = "axum", feature = "validator-cache"))]
pub use handler_source::KeyFn;
#[cfg(feature = "axum")]
pub use handler_source::{ByRoute, LookupFn, SourceFn, source_fn, source_fn_with_state};
pub use layer::{
    BodyHashConfig, Conditional, ConditionalLayer, DrainConfig, OnSourceError, ResponseFuture,
};
pub use source::{BoxError, BoxLookup, FromResponse, Lookup, Rejection, ValidatorSource};
pub use version::NotAVersion;

/// Guides: how to use the layer with databases, replicas, caches, compression, HTTP/2 and
/// clients, and what it answers. Each is documentation only; its examples are doc tests.
pub mod guide {
    #[doc = include_str!("docs/sources.md")]
    pub mod sources {}
    #[doc = include_str!("docs/replicas.md")]
    pub mod replicas {}
    #[doc = include_str!("docs/validator_cache.md")]
    pub mod validator_cache {}
    #[doc = include_str!("docs/compression.md")]
    pub mod compression {}
    #[doc = include_str!("docs/http2.md")]
    pub mod http2 {}
    #[doc = include_str!("docs/client.md")]
    pub mod client {}
    #[doc = include_str!("docs/security.md")]
    pub mod security {}
    #[doc = include_str!("docs/decisions.md")]
    pub mod decisions {}
    #[doc = include_str!("docs/from_responses.md")]
    pub mod from_responses {}
    #[doc = include_str!("docs/limits.md")]
    pub mod limits {}
    #[doc = include_str!("docs/alternatives.md")]
    pub mod alternatives {}
}

/// The README's Rust snippets, compiled (and run, unless marked `no_run`) as doc tests, so
/// they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
mod readme {}

#[cfg(feature = "compression")]
pub use layer::ConditionalCompressionLayer;

#[cfg(feature = "client")]
pub use client::{
    Change, ConditionalUpdate, Current, InvalidWrite, Outcome, Representation, UpdateError,
    WriteRequest,
};

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync + 'static>() {}

    #[test]
    fn public_types_are_send_and_sync() {
        assert_send_sync::<ETag>();
        assert_send_sync::<InvalidETag>();
        assert_send_sync::<LastModified>();
        assert_send_sync::<InvalidDate>();
        assert_send_sync::<ResourceState>();
        assert_send_sync::<Validators>();
        assert_send_sync::<Decision>();
        assert_send_sync::<Conditions<'static>>();
    }
}
