//! Correct, fast HTTP conditional requests (RFC 9110 §13): ETags, 304 Not Modified,
//! 412 Precondition Failed and 428 Precondition Required.
//!
//! The core is a pure function, [`evaluate`]: method + request headers + the resource's current
//! validators in, a [`Decision`] out. It knows nothing of tower or async, so any framework can
//! call it; [`Decision::response`] turns a decision into the response to send.
//!
//! # Example: a framework of your own
//!
//! ```
//! use http::{header, HeaderMap, Method, Request, Response, StatusCode};
//! use tower_conditional::{evaluate, Decision, ETag, ResourceState, Validators};
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
//! // First visit: 200 with an ETag.
//! let first = handle(&Request::get("/greeting").body(())?);
//! assert_eq!(first.status(), StatusCode::OK);
//! let etag = first.headers()[header::ETAG].clone();
//!
//! // Revalidation with that ETag: 304, no body.
//! let again = handle(&Request::get("/greeting").header(header::IF_NONE_MATCH, etag).body(())?);
//! assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
//!
//! // A write against a stale version: 412, carrying the current ETag.
//! let stale = Request::put("/greeting").header(header::IF_MATCH, "\"old\"").body(())?;
//! let refused = handle(&stale);
//! assert_eq!(refused.status(), StatusCode::PRECONDITION_FAILED);
//! assert_eq!(refused.headers()[header::ETAG], first.headers()[header::ETAG]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # With tower, axum or hyper
//!
//! [`ConditionalLayer`] does all of the above before your handler runs. It asks a
//! [`ValidatorSource`] (any async closure over the request head) for the target's validators,
//! answers 304, 412, 400 or 428 itself, and otherwise calls the inner service. Its answers are
//! responses, never errors, so axum needs no `HandleErrorLayer`.
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
//! let revalidate = Request::get("/greeting")
//!     .header(header::IF_NONE_MATCH, etag)
//!     .body(String::new())?;
//! assert_eq!(app.clone().oneshot(revalidate).await?.status(), StatusCode::NOT_MODIFIED);
//!
//! let blind_write = Request::put("/greeting").body(String::from("hi"))?;
//! assert_eq!(app.oneshot(blind_write).await?.status(), StatusCode::PRECONDITION_REQUIRED);
//! # Ok(())
//! # }
//! ```
//!
//! # The pieces
//!
//! - [`ETag`]: a validated entity tag with explicit [strong](ETag::strong_eq) and
//!   [weak](ETag::weak_eq) comparison, [`ETag::from_content`] for content hashes, and
//!   [`ContentHasher`] for content read in pieces (a file of any size).
//! - [`LastModified`]: a modification date at HTTP's one-second resolution.
//! - [`ResourceState`] and [`Validators`]: what the evaluator needs to know about the resource.
//! - [`Conditions`] and [`evaluate`]: the request's conditions and their evaluation.
//! - [`Decision`] and the [`response`] builders: the outcome and the response for it.
//! - [`ConditionalLayer`], [`Conditional`], [`ValidatorSource`], [`Lookup`], [`Checked`]: the
//!   tower middleware and its parts.
//!
//! # Source or response?
//!
//! Prefer a [`ValidatorSource`] that knows the validators before the handler runs: it is cheap
//! (a 304 costs no rendering), works for HEAD and streams, and protects writes. Where that is
//! impossible, [`ConditionalLayer::from_responses`] (or a source answering [`Lookup::Unknown`])
//! evaluates GET and HEAD against the validators of the handler's response and tags small 2xx
//! GET bodies with their SHA-256 hash. Writes are never evaluated after the handler: the write
//! would already have happened.
//!
//! # When the source is asked
//!
//! Only when its answer can change the outcome: never for CONNECT, OPTIONS and TRACE, never for
//! a GET or HEAD without a conditional field (unless
//! [`fill_response_validators`](ConditionalLayer::fill_response_validators) is on), never for a
//! write that carries no precondition and needs none. The table is in the
//! [`ConditionalLayer`] docs. A failing source only affects requests that needed it.
//!
//! # Collections
//!
//! A list endpoint's validators must change after any write to any item, deletes included.
//! Two ways:
//!
//! - **A collection version**: a counter the store bumps in the transaction of every item write
//!   (create, update, delete), whose value is the list's ETag. Its source costs one row read,
//!   and a 304 costs no rendering. Taking each item's version from the same counter (the
//!   revision that last wrote it) makes the bump impossible to forget: `examples/notes` does
//!   this over SQLite, with one [`ByRoute`] source for `/notes` and one for `/notes/{id}`
//!   behind one layer, and `tests/notes.rs` checks that the list answers 304 and changes after
//!   a create, a PATCH and a DELETE.
//! - **The response**: a source answering [`Lookup::Unknown`] for the list route (or
//!   [`ConditionalLayer::from_responses`]) tags the rendered list with its hash, which changes
//!   exactly when the list's bytes do. Right where rendering is cheap and the body's size is
//!   known (a compressed body inside the layer has none, so it is not hashed).
//!
//! # Compression
//!
//! A strong ETag promises byte-identical content; the gzip and identity bodies of one version
//! differ. Put [`ConditionalLayer`] outside tower-http's `CompressionLayer` (with the
//! `compression` feature, [`ConditionalLayer::compressed`] is both in that order, as one
//! layer) and turn on [`encoding_aware_etags`](ConditionalLayer::encoding_aware_etags) (the
//! combined layer does): strong tags then name their coding. It is off by default: nothing
//! rewrites tags unless asked.
//!
//! The mapping, for a source (or handler) tag with opaque part `B` (tested row by row in
//! `tests/compression.rs`):
//!
//! | source tag | response's `Content-Encoding` | `ETag` sent |
//! |---|---|---|
//! | strong `"B"` | none, or `identity` | `"B"` |
//! | strong `"B"`, `B` itself ending in `-<coding>` (`"doc-br"`) | none, or `identity` | `"B-identity"` (`"doc-br-identity"`) |
//! | strong `"B"` | `gzip`, `br`, `deflate`, `zstd`, `compress` | `"B-gzip"`, `"B-br"`, ... |
//! | strong `"B"` | any other coding, or several | `W/"B"` |
//! | weak `W/"B"` | any | `W/"B"` |
//!
//! Every strong tag sent names exactly one version and one coding, so a received member is
//! decoded without guessing. On the way in:
//!
//! - `If-Match` passes only on a tag issued for the current version, in any coding.
//! - An `If-None-Match` member matches only a representation this request may get: a strong
//!   member `"B-c"` (or `"B"`) counts when coding `c` (identity) is acceptable by the
//!   request's `Accept-Encoding` (weights, `q=0`, `identity;q=0`, `*;q=0`, `x-gzip` as gzip,
//!   read as tower-http reads them); the 304 then names that member, the copy the client holds.
//! - Where no member the client sent fixes the coding (a weak member such as `W/"B-gzip"`,
//!   `If-None-Match: *`, `If-Modified-Since` alone), the layer cannot know before the handler
//!   which coding the 200 gets (tower-http compresses only bodies of at least 32 bytes, never
//!   images, and picks among equal weights itself). It lets the handler run and decides on the
//!   response: weak comparison with the tag the response leaves with, and a 304 naming that
//!   tag, with the response's `Vary`.
//! - A request that does not accept identity is always decided on the response: only the
//!   compressor knows whether it answers 406, and a 406 never becomes a 304.
//! - `If-Range` is never mapped: a byte range of gzip bytes is not one of identity bytes.
//!
//! With [`ConditionalLayer::from_responses`], a compressed 2xx GET body (whose size a
//! compressor does not know) is tagged with the hash of the bytes that leave, within
//! [`body_hash_limit`](ConditionalLayer::body_hash_limit) and
//! [`body_hash_timeout`](ConditionalLayer::body_hash_timeout): past either it goes out whole
//! and untagged.
//!
//! # Security: authenticate outside the layer
//!
//! The layer answers before the handler runs. Authorization that lives in handlers or
//! extractors therefore runs after it: a 412 would show an unauthenticated client the current
//! validators, and 304 versus 200 would confirm a guessed tag. Put authentication in a layer
//! outside [`ConditionalLayer`], and consider
//! [`validators_in_412(false)`](ConditionalLayer::validators_in_412).
//!
//! # The client's half
//!
//! A 412 tells a client to refetch and retry. With the `client` feature, [`ConditionalUpdate`]
//! runs that loop over any tower HTTP client: `GET`, apply a change function, send the write it
//! asks for (`PUT`, `PATCH`, `DELETE`, ... with its content type) with `If-Match` (or
//! `If-None-Match: *` to create), and on 412 refetch and re-apply the change, with a bound and
//! jittered backoff. It never writes without a precondition, never retries a 400 or 428, reads
//! every response within a limit, and never takes a lost response for a write that did or did
//! not happen; the typed [`Outcome`] says whether the write happened.
//!
//! ```
//! # #[cfg(feature = "client")]
//! # async fn example(
//! #     client: &mut hyper_util::client::legacy::Client<
//! #         hyper_util::client::legacy::connect::HttpConnector,
//! #         http_body_util::Full<bytes::Bytes>,
//! #     >,
//! # ) -> Result<(), Box<dyn std::error::Error>> {
//! use tower_conditional::{Change, ConditionalUpdate, Outcome};
//!
//! let outcome = ConditionalUpdate::new(tokio::time::sleep)
//!     .max_attempts(10)
//!     .update(client, "http://localhost:3000/items/title".parse()?, |current| {
//!         let text = current.content().map(|bytes| String::from_utf8_lossy(bytes).into_owned());
//!         Change::write(text.unwrap_or_default().to_uppercase())
//!     })
//!     .await?;
//! if let Outcome::Written { validators, .. } = outcome {
//!     println!("now at {:?}", validators.etag());
//! }
//! # Ok(())
//! # }
//! ```
//!
//! # Feature flags
//!
//! - `tracing`: one `tracing` event per decision (method, path, the deciding precondition and
//!   the status), so operators can see how often they serve 304, 412 and 428; a failing
//!   source's error is reported with its `source()` chain.
//! - `axum`: sources written like handlers, from axum extractors ([`source_fn_with_state`],
//!   [`source_fn`]), whose rejections are the client's answer ([`Lookup::Rejected`]); one
//!   source per route behind one layer ([`ByRoute`], by axum's `MatchedPath`); [`Validators`]
//!   as response parts (`(validators, Json(row))`); and [`Checked`] as an extractor
//!   (`FromRequestParts`, and `Option<Checked>`), whose rejection (`MissingChecked`) names the
//!   missing layer in a problem+json 500. It depends on axum-core and on axum without default
//!   features (no server, no JSON). (The
//!   [`response`] builders need no feature: their [`AnswerBody`](response::AnswerBody) makes
//!   them axum responses as they are.)
//! - `client`: [`ConditionalUpdate`] and its [`Outcome`], the client's refetch-and-retry loop
//!   (adds `http-body-util` and `fastrand`).
//! - `compression`: [`ConditionalCompressionLayer`] ([`ConditionalLayer::compressed`]), this
//!   layer outside tower-http's `CompressionLayer` (adds `tower-http` with gzip; turn on its
//!   `compression-br`, `-zstd` or `-deflate` features in your own `Cargo.toml` for more
//!   codings). tower-http's types are part of that API: the feature follows tower-http's
//!   releases.
//!
//! # Lost updates
//!
//! Checking a precondition and performing a write are two steps: two clients holding the same
//! ETag can both pass the check before either writes. The check prevents lost updates only if
//! the write itself is conditional on the validator that was checked: a compare-and-set in the
//! store (`UPDATE ... WHERE version = $checked`), or a lock held across check and write.
//! [`Proceed::etag_matched`] says when the client's `If-Match` named the current tag; the layer
//! hands writes a [`Checked`] extension holding the state it checked, to compare-and-set against
//! ([`Checked::is_current`], then [`Checked::refusal`] when it lost the race).

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

pub use body::ResponseBody;
#[cfg(feature = "validator-cache")]
pub use cache::validator::{
    DEFAULT_CACHE_ENTRIES, DEFAULT_CACHE_MAX_AGE, ValidatorCache, ValidatorCacheBuilder,
};
pub use checked::Checked;
#[cfg(feature = "axum")]
pub use checked::MissingChecked;
#[cfg(feature = "axum")]
pub use handler_source::{ByRoute, LookupFn, SourceFn, source_fn, source_fn_with_state};
pub use layer::{
    Conditional, ConditionalLayer, DEFAULT_BODY_HASH_LIMIT, DEFAULT_BODY_HASH_TIMEOUT,
    DEFAULT_DRAIN_LIMIT, DEFAULT_DRAIN_TIMEOUT, DEFAULT_MAX_CONCURRENT_DRAINS, DEFAULT_RETRY_AFTER,
    OnSourceError, ResponseFuture,
};
pub use source::{BoxError, BoxLookup, FromResponse, Lookup, Rejection, ValidatorSource};
pub use version::NotAVersion;

/// The README's Rust snippets, compiled (and run, unless marked `no_run`) as doc tests, so
/// they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
mod readme {}

#[cfg(feature = "compression")]
pub use layer::ConditionalCompressionLayer;

#[cfg(feature = "client")]
pub use client::{
    Change, ConditionalUpdate, Current, DEFAULT_RESPONSE_LIMIT, InvalidWrite, Outcome,
    Representation, UpdateError, WriteRequest,
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
