//! The public face of the middleware: [`ConditionalLayer`], its setters, and `impl Layer`.

use std::fmt;
use std::sync::Arc;

use http::Method;
use tower::Layer;

use super::config::{BodyHashConfig, DrainConfig, OnSourceError};
use super::service::Conditional;
use super::settings::{Config, Shared};
#[cfg(feature = "validator-cache")]
use crate::cache::validator::ValidatorCache;
use crate::source::FromResponse;

/// Applies [`Conditional`] to a service: RFC 9110 conditional requests, answered before the
/// inner service runs.
///
/// # When the source is asked
///
/// A look-up is a database round trip, so the layer asks its [`ValidatorSource`](crate::ValidatorSource) only when the
/// answer can change what happens to the request:
///
/// | request | source asked? |
/// |---|---|
/// | CONNECT, OPTIONS, TRACE (RFC 9110 §13.2.1 ignores their preconditions) | never |
/// | GET, HEAD with `If-Match`, `If-None-Match`, `If-Modified-Since` or `If-Unmodified-Since`, or a GET with `Range` and `If-Range` | yes |
/// | any other GET or HEAD | only with [`fill_response_validators`](Self::fill_response_validators) |
/// | other methods with `If-Match`, `If-None-Match` or `If-Unmodified-Since` | yes |
/// | other methods listed in [`require_preconditions`](Self::require_preconditions) | yes (428 needs to know whether the target exists) |
/// | any other request | never |
///
/// A request the source is not asked about goes to the inner service untouched, and a failing
/// source cannot affect it. A source that always answers [`Lookup::Unknown`](crate::Lookup::Unknown)
/// ([`ConditionalLayer::from_responses`]) is never asked about GET and HEAD: those are always
/// evaluated against the response.
///
/// # What the inner service sees
///
/// The one place this is described; [`Conditional`], [`Checked`](crate::Checked) and the
/// setters link here.
///
/// - **Nothing changed** for a request the source is not asked about (see above), and for a
///   read served unevaluated because the source failed ([`OnSourceError`]): the layer decided
///   nothing, so everything is left to the inner service.
/// - **`Range` only when it is to be honoured**, and never an `If-Range` the layer evaluated.
///   Where `If-Range` cannot be evaluated before the handler (source failed, validators
///   unknown), both are removed: a full 200 is the only answer that cannot splice two
///   versions. The exception is [`from_responses`](Self::from_responses) with an entity-tag
///   `If-Range` as the request's only condition: `Range` and `If-Range` reach the inner
///   service, whose validators they are, and a 206 leaves only with its own `ETag` the one
///   named (a resumed download keeps its place).
/// - **A [`Checked`](crate::Checked) extension** for a write (any method other than GET and
///   HEAD) whose validators were looked up: the state the preconditions were evaluated
///   against, for a compare-and-set. It is absent for a write that needed no look-up (no
///   precondition, none required), or when the source failed or answered
///   [`Lookup::Unknown`](crate::Lookup::Unknown); take it as `Option<Checked>` if that can
///   happen.
/// - **A [`Checked`](crate::Checked) extension for a ranged GET whose request names a
///   version**: a true `If-Range`, or a true `If-Match` entity-tag or `If-Unmodified-Since`
///   (RFC 9110 §13.1.1: resumable and multi-part downloaders send them to get "more of this
///   version, or nothing"). A write may commit before the handler reads: serve the range only
///   if the version read [`is_current`](crate::Checked::is_current) for it; otherwise answer
///   what the request gets once the write has committed: for `If-Match` or
///   `If-Unmodified-Since` the 412 of [`Checked::refusal`](crate::Checked::refusal), for
///   `If-Range` alone the whole representation (200). Put the `ETag` (or `Last-Modified`) of
///   the version read on the 206.
///
///   **Whatever the handler does, a 206 of another version never reaches the client.** The
///   layer judges the 206 by its own `ETag` (for a tag) or `Last-Modified` (for a date; one
///   dated at or after the second the handler was called may be a later version's date sent as
///   "now", and shows nothing), and asks the source again when the 206 carries neither. A 206
///   of another version becomes a 412 with that version's validators when an `If-Match` or
///   `If-Unmodified-Since` is false for it (what the same request gets once the write has
///   committed), and otherwise a 503 with `Retry-After: 0` (the retry, its `If-Range` now
///   false, gets the whole new version).
/// - **With [`take_over_validators`](Self::take_over_validators)**, none of the conditional
///   fields the layer decides (`If-Match`, `If-None-Match`, `If-Modified-Since`,
///   `If-Unmodified-Since`; `If-Range` as above): the inner service cannot decide them again
///   against validators of its own. Without it, they reach the inner service as sent, after
///   the layer has decided them.
///
/// And what the client gets from the inner service's response:
///
/// - its own `ETag` and `Last-Modified`, unless
///   [`take_over_validators`](Self::take_over_validators) replaces them with the source's;
///   [`fill_response_validators`](Self::fill_response_validators) only adds the source's where
///   the response has none;
/// - a 412 of the handler (a race lost after the layer's check: [`Checked::lost_race`](crate::Checked::lost_race),
///   or a [`refusal`](crate::Checked::refusal) without a tag) that does not name the current
///   version gets it: the layer asks the source again, once (so within whatever bounds the
///   source has, such as a timeout outside the layer), with the request head kept when the
///   handler took its `Checked` (the axum extractor, or
///   [`Checked::from_request`](crate::Checked::from_request): a handler that never takes it
///   costs no copy of the head), about the target the source was first asked about, and puts
///   the `ETag` and `Last-Modified` it answers on the 412. Where that look-up fails or finds
///   nothing, or the `Checked` was read straight from the extensions, or the target was
///   rewritten on the way to the handler beyond recognition (see
///   [`lost_race`](crate::Checked::lost_race)), the 412 goes out as the handler sent it. (With
///   [`validators_in_412(false)`](Self::validators_in_412) no 412 carries validators, and the
///   source is not asked.)
///
/// # Answering early
///
/// The layer answers 304, 400, 412, 428, 500 and 503 without calling the inner service, so the
/// request body is never read by a handler. To make the answer reach clients that send their
/// whole body before reading (Node's `http` and `http2`, Python's `http.client`, curl over
/// HTTP/2), the layer first reads and discards the rest of the body, over HTTP/1.1 and HTTP/2
/// alike, within the bounds of a [`DrainConfig`](crate::DrainConfig) set with
/// [`drain`](Self::drain): a byte limit, a deadline that fires whether or not data arrives,
/// and a cap on the requests drained at once;
/// then it answers on a connection (or stream) that ends cleanly. A body declared larger than
/// the limit, one still arriving past a bound, or one past the cap, is not read further: the
/// HTTP/1 answer then carries `Connection: close`, and over HTTP/2 the stream is reset after
/// the complete answer. A request with `Expect: 100-continue` is answered at once (over
/// HTTP/1.1 with `Connection: close`) and its body is never asked for: the client never sends
/// it. Clients should send `Expect: 100-continue` with large uploads.
///
/// # Security: put authentication outside
///
/// The layer answers before the handler runs, so authorization that lives in handlers or
/// extractors runs after it: an unauthenticated client would get 412s carrying the current
/// validators, and 304 versus 200 would tell it whether its guess of a tag is current. Put
/// authentication and authorization in a layer *outside* `ConditionalLayer` (with axum, a
/// `route_layer` added after it, or a `layer` on the router), and consider
/// [`validators_in_412(false)`](Self::validators_in_412) where validators themselves are
/// sensitive.
///
/// # Examples
///
/// ```
/// use std::convert::Infallible;
/// use http::{request::Parts, Method, Request, Response, StatusCode};
/// use tower::{service_fn, Layer, ServiceExt};
/// use tower_conditional::{ConditionalLayer, Lookup, OnSourceError, Validators};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let source = |_: &Parts| async { Ok::<_, Infallible>(Lookup::Present(Validators::new())) };
/// let layer = ConditionalLayer::new(source)
///     .require_preconditions([Method::PUT, Method::PATCH, Method::DELETE])
///     .on_source_error(OnSourceError::reject_all())
///     .fill_response_validators(true);
/// let service = layer.layer(service_fn(|_: Request<String>| async {
///     Ok::<_, Infallible>(Response::new(String::new()))
/// }));
/// let blind_delete = Request::delete("/item").body(String::new())?;
/// assert_eq!(service.oneshot(blind_delete).await?.status(), StatusCode::PRECONDITION_REQUIRED);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
#[must_use]
pub struct ConditionalLayer<V> {
    source: V,
    config: Config,
}

impl<V> ConditionalLayer<V> {
    /// A layer that asks `source` for the validators of each request's target.
    ///
    /// By default no method is required to be conditional, source failures follow
    /// [`OnSourceError::serve_reads`] (503 with `Retry-After: 1` for writes), validators are not
    /// filled into responses, bodies are hashed where the source answers
    /// [`Lookup::Unknown`](crate::Lookup::Unknown) as [`BodyHashConfig::default()`] says (up to
    /// 1 MiB), tags are not rewritten per coding
    /// ([`encoding_aware_etags`](Self::encoding_aware_etags) is off), 412s carry the current
    /// validators, and early answers drain request bodies as [`DrainConfig::default()`] says
    /// (up to 64 MiB within 10 seconds).
    ///
    /// ```
    /// use std::convert::Infallible;
    /// use http::{header, request::Parts, Request, Response, StatusCode};
    /// use tower::{service_fn, Layer, ServiceExt};
    /// use tower_conditional::{ConditionalLayer, ETag, Lookup, Validators};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let source = |_: &Parts| async {
    ///     let current = Validators::new().with_etag(ETag::from_static("\"v1\""));
    ///     Ok::<_, Infallible>(Lookup::Present(current))
    /// };
    /// let handler = service_fn(|_: Request<String>| async {
    ///     Ok::<_, Infallible>(Response::new(String::from("hello")))
    /// });
    /// let service = ConditionalLayer::new(source).layer(handler);
    /// // By default a write needs no precondition, but a stale one is refused.
    /// let blind = Request::put("/").body(String::new())?;
    /// assert_eq!(service.clone().oneshot(blind).await?.status(), StatusCode::OK);
    /// let stale = Request::put("/").header(header::IF_MATCH, "\"v0\"").body(String::new())?;
    /// assert_eq!(service.oneshot(stale).await?.status(), StatusCode::PRECONDITION_FAILED);
    /// # Ok(())
    /// # }
    /// ```
    pub fn new(source: V) -> Self {
        ConditionalLayer {
            source,
            config: Config::default(),
        }
    }

    /// Requires requests with these methods to carry `If-Match` or `If-Unmodified-Since` when
    /// the target exists: without either they get 428 Precondition Required (RFC 6585 §3) and
    /// the inner service is not called. Creating a resource (target missing) needs neither.
    ///
    /// The field must actually be evaluated: an `If-Unmodified-Since` that is not a valid date,
    /// or that the resource has no `Last-Modified` to compare with, is ignored by the RFC and so
    /// protects nothing; such a request gets 428 too. Methods whose preconditions RFC 9110
    /// §13.2.1 ignores (CONNECT, OPTIONS, TRACE) never get 428, even when listed.
    ///
    /// A request whose preconditions fail still gets 412 (for example a create-only `PUT` with
    /// `If-None-Match: *` on an existing item), and a malformed field still gets 400.
    ///
    /// ```
    /// use std::convert::Infallible;
    /// use http::{header, request::Parts, Method, Request, Response, StatusCode};
    /// use tower::{service_fn, Layer, ServiceExt};
    /// use tower_conditional::{ConditionalLayer, ETag, Lookup, Validators};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let source = |head: &Parts| {
    ///     let lookup = match head.uri.path() {
    ///         "/old" => Validators::new().with_etag(ETag::from_static("\"v1\"")).into(),
    ///         _ => Lookup::Missing,
    ///     };
    ///     async move { Ok::<_, Infallible>(lookup) }
    /// };
    /// let service = ConditionalLayer::new(source)
    ///     .require_preconditions([Method::PUT])
    ///     .layer(service_fn(|_: Request<String>| async {
    ///         Ok::<_, Infallible>(Response::new(String::new()))
    ///     }));
    /// let response = service.clone().oneshot(Request::put("/old").body(String::new())?).await?;
    /// assert_eq!(response.status(), StatusCode::PRECONDITION_REQUIRED);
    /// let response = service.oneshot(Request::put("/new").body(String::new())?).await?;
    /// assert_eq!(response.status(), StatusCode::OK); // creating needs no precondition
    /// # Ok(())
    /// # }
    /// ```
    pub fn require_preconditions(mut self, methods: impl IntoIterator<Item = Method>) -> Self {
        let methods: Arc<[Method]> = methods.into_iter().collect();
        self.config.required = (!methods.is_empty()).then_some(methods);
        self
    }

    /// Sets what happens when the source fails, and the `Retry-After` of its 503; see
    /// [`OnSourceError`].
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
    ///         Ok::<_, Infallible>(Response::new(String::from("hello")))
    ///     }));
    /// let revalidate = Request::get("/").header("if-none-match", "\"v1\"").body(String::new())?;
    /// assert_eq!(service.clone().oneshot(revalidate).await?.status(), StatusCode::SERVICE_UNAVAILABLE);
    /// // An unconditional read needs no look-up, so the failing source cannot refuse it.
    /// let read = service.oneshot(Request::get("/").body(String::new())?).await?;
    /// assert_eq!(read.status(), StatusCode::OK);
    /// # Ok(())
    /// # }
    /// ```
    pub fn on_source_error(mut self, policy: OnSourceError) -> Self {
        self.config.settings.on_source_error = policy;
        self
    }

    /// Whether a 412 carries the current `ETag` and `Last-Modified` (so the client can refetch
    /// and retry). On by default; turn it off where validators are themselves sensitive and the
    /// layer may answer clients that are not yet authorized (see "Security" above).
    ///
    /// ```
    /// use std::convert::Infallible;
    /// use http::{header, request::Parts, Request, Response, StatusCode};
    /// use tower::{service_fn, Layer, ServiceExt};
    /// use tower_conditional::{ConditionalLayer, ETag, Lookup, Validators};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let source = |_: &Parts| async {
    ///     let current = Validators::new().with_etag(ETag::from_static("\"v2\""));
    ///     Ok::<_, Infallible>(Lookup::Present(current))
    /// };
    /// let service = ConditionalLayer::new(source)
    ///     .validators_in_412(false)
    ///     .layer(service_fn(|_: Request<String>| async {
    ///         Ok::<_, Infallible>(Response::new(String::new()))
    ///     }));
    /// let stale = Request::put("/").header(header::IF_MATCH, "\"v1\"").body(String::new())?;
    /// let refused = service.oneshot(stale).await?;
    /// assert_eq!(refused.status(), StatusCode::PRECONDITION_FAILED);
    /// assert!(!refused.headers().contains_key(header::ETAG));
    /// # Ok(())
    /// # }
    /// ```
    pub fn validators_in_412(mut self, on: bool) -> Self {
        self.config.settings.validators_in_412 = on;
        self
    }

    /// How the layer reads and discards an unread request body before an early answer (304,
    /// 400, 412, 428, 500, 503), so that clients which send the whole body before reading
    /// receive it; `None` never reads (the answer goes out at once, as for a body past the
    /// limit). Default: [`DrainConfig::default()`](crate::DrainConfig) (64 MiB, 10 seconds, 64
    /// drains at once).
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
    /// let handler = service_fn(|_: Request<String>| async {
    ///     Ok::<_, Infallible>(Response::new(String::new()))
    /// });
    /// let bounded = ConditionalLayer::new(source).drain(DrainConfig::default().limit(1024));
    /// let never = ConditionalLayer::new(source).drain(None);
    /// let stale = || Request::put("/").header(header::IF_MATCH, "\"v1\"").body("x".repeat(4096));
    /// for layer in [bounded, never] {
    ///     let refused = layer.layer(handler).oneshot(stale()?).await?;
    ///     assert_eq!(refused.status(), StatusCode::PRECONDITION_FAILED);
    ///     assert_eq!(refused.headers()[header::CONNECTION], "close"); // the body went unread
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn drain(mut self, drain: impl Into<Option<DrainConfig>>) -> Self {
        self.config.settings.drain = drain.into();
        self
    }

    /// When `true`, successful (2xx) responses to GET and HEAD get the same metadata a 304
    /// for them would carry, from the source's [`Validators`](crate::Validators): `ETag`,
    /// `Last-Modified`, `Cache-Control`, `Expires` and `Content-Location` where the handler set
    /// none, and `Vary` merged with the handler's. The 200 and the 304 then cannot drift apart.
    /// Off by default.
    ///
    /// **Cost**: the validators are needed for every GET and HEAD, so the source is asked about
    /// unconditional ones too (one look-up per read instead of one per revalidation).
    ///
    /// The filled-in values are the ones the source answered before the handler ran. A handler
    /// that may read a newer version than the source saw should set its own `ETag` from the
    /// snapshot it serves; the layer never overwrites one (unless
    /// [`take_over_validators`](Self::take_over_validators) says the inner service's
    /// validators are not the source's).
    ///
    /// ```
    /// use std::convert::Infallible;
    /// use http::{header, request::Parts, Request, Response};
    /// use tower::{service_fn, Layer, ServiceExt};
    /// use tower_conditional::{ConditionalLayer, ETag, Lookup, Validators};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let source = |_: &Parts| async {
    ///     let current = Validators::new().with_etag(ETag::from_static("\"v1\""));
    ///     Ok::<_, Infallible>(Lookup::Present(current))
    /// };
    /// let service = ConditionalLayer::new(source)
    ///     .fill_response_validators(true)
    ///     .layer(service_fn(|_: Request<String>| async {
    ///         Ok::<_, Infallible>(Response::new(String::from("hello")))
    ///     }));
    /// let response = service.oneshot(Request::get("/").body(String::new())?).await?;
    /// assert_eq!(response.headers()[header::ETAG], "\"v1\"");
    /// # Ok(())
    /// # }
    /// ```
    pub fn fill_response_validators(mut self, fill: bool) -> Self {
        self.config.settings.fill_response_validators = fill;
        self
    }

    /// How the response side reads a body to tag it with its hash, where the source answered
    /// [`Lookup::Unknown`](crate::Lookup::Unknown) (see [`from_responses`](Self::from_responses));
    /// `None` never hashes. Default: [`BodyHashConfig::default()`](crate::BodyHashConfig)
    /// (1 MiB, 1 second).
    ///
    /// Applies only to a 2xx GET response without an `ETag` whose size is known, or that is
    /// compressed (a compressor inside the layer does not know its output's size: the bytes
    /// that leave are hashed, within the bounds).
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
    ///     Ok::<_, Infallible>(Response::new(String::from("<h1>rendered</h1>")))
    /// });
    /// let get = || Request::get("/").body(String::new());
    /// let tagged = ConditionalLayer::from_responses()
    ///     .body_hash(BodyHashConfig::default().limit(4 << 20))
    ///     .layer(page);
    /// assert!(tagged.oneshot(get()?).await?.headers().contains_key(header::ETAG));
    /// let untagged = ConditionalLayer::from_responses().body_hash(None).layer(page);
    /// assert!(!untagged.oneshot(get()?).await?.headers().contains_key(header::ETAG));
    /// # Ok(())
    /// # }
    /// ```
    pub fn body_hash(mut self, hashing: impl Into<Option<BodyHashConfig>>) -> Self {
        self.config.settings.body_hash = hashing.into();
        self
    }

    /// Whether entity tags are made specific to the response's content coding. **Off by
    /// default**; turn it on when tower-http's `CompressionLayer` (or another compressor) runs
    /// inside this layer, so that the gzip and identity bodies of one version do not share one
    /// strong tag.
    ///
    /// With it on, a strong tag `"v7"` leaves a gzip response as `"v7-gzip"` (and the identity
    /// response of a tag that itself ends like a coding, `"doc-br"`, as `"doc-br-identity"`:
    /// every tag issued names exactly one version and one coding); 2xx responses with a tag and
    /// early 304s carry `Vary: Accept-Encoding`. On the way in:
    ///
    /// - an `If-Match` member passes only when it is a tag issued for the *current* version, in
    ///   any coding: a write is never accepted on a tag the server did not issue for it;
    /// - a strong `If-None-Match` member counts only in a coding (identity included) the
    ///   request's `Accept-Encoding` allows (a 304 tells the cache that the bytes it holds are
    ///   what it would get), and the 304 names the form the client holds;
    /// - where no member fixes the coding (a weak member, `*`, `If-Modified-Since`), or the
    ///   request refuses identity (compression may answer 406), the handler runs and the
    ///   layer decides on the response, against the tag it leaves with;
    /// - `If-Range` is never mapped: a byte range of gzip bytes is not one of identity bytes.
    ///
    /// The crate docs' "Compression" section gives the whole mapping. With the `compression`
    /// feature, [`compressed`](Self::compressed) turns this on and puts tower-http's
    /// `CompressionLayer` inside, in the one order that works.
    ///
    /// ```
    /// use std::convert::Infallible;
    /// use http::{header, Request, Response};
    /// use tower::{service_fn, Layer, ServiceExt};
    /// use tower_conditional::ConditionalLayer;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let gzipped = service_fn(|_: Request<String>| async {
    ///     let response = Response::builder()
    ///         .header(header::ETAG, "\"v7\"")
    ///         .header(header::CONTENT_ENCODING, "gzip")
    ///         .body(String::new());
    ///     Ok::<_, Infallible>(response.expect("valid headers"))
    /// });
    /// let get = || Request::get("/").body(String::new());
    /// let aware = ConditionalLayer::from_responses().encoding_aware_etags(true).layer(gzipped);
    /// let response = aware.oneshot(get()?).await?;
    /// assert_eq!(response.headers()[header::ETAG], "\"v7-gzip\"");
    /// assert_eq!(response.headers()[header::VARY], "Accept-Encoding");
    /// let plain = ConditionalLayer::from_responses().layer(gzipped);
    /// assert_eq!(plain.oneshot(get()?).await?.headers()[header::ETAG], "\"v7\"");
    /// # Ok(())
    /// # }
    /// ```
    pub fn encoding_aware_etags(mut self, on: bool) -> Self {
        self.config.settings.encoding_aware_etags = on;
        self
    }

    /// Makes the layer the only judge of preconditions in front of an inner service that has
    /// validators of its own and evaluates them itself (tower-http's `ServeDir`, a proxy):
    /// **off by default**.
    ///
    /// With it on:
    ///
    /// - the conditional fields the layer decides are removed before the inner service sees
    ///   the request (see "What the inner service sees" above), so the inner service cannot
    ///   answer 304 or 412 by validators the client was never given;
    /// - on a 2xx response to GET and HEAD, the inner service's own `ETag` and
    ///   `Last-Modified` are replaced by the source's (with or without
    ///   [encoding-aware tags](Self::encoding_aware_etags), which then rewrite the source's
    ///   tag per coding), so the client is only ever given validators the layer decides by.
    ///   The source is therefore asked about every GET and HEAD, as with
    ///   [`fill_response_validators`](Self::fill_response_validators), and asked again once
    ///   the inner service has answered with a success: its first answer was given before the
    ///   inner service read, so a version written in between would put the previous version's
    ///   tag on the new bytes. Where the second answer differs (or the look-up fails, or
    ///   finds no validators), the response goes out without validators, never with ones
    ///   that may not be its own;
    /// - with [`from_responses`](Self::from_responses) (no source), the hash of the body
    ///   replaces the inner service's own `ETag` wherever the body is hashed (see
    ///   [`body_hash`](Self::body_hash)); a body too large to hash, and a HEAD
    ///   response (it has none), keep the inner service's tag, the only one there is (a client
    ///   revalidating one with the other gets a 200, never a false 304). The inner service's
    ///   `Last-Modified` stays: it is the only date there is;
    /// - a 206 is judged by a second look-up, never by the inner service's validators; that
    ///   look-up also confirms the validators the 206 is given, as above (a date the range
    ///   was asked with holds for every version of its second).
    ///
    /// **Why it is not the default.** RFC 9110's rule for two deciders is "one or the other,
    /// never both": the layer either decides the preconditions and hides them from the inner
    /// service, or leaves them all to it. A handler written for this layer decides none itself
    /// (it uses [`Checked`](crate::Checked) for its compare-and-set), so the two never
    /// disagree, and its own `ETag`, set from the snapshot it read, is more exact than the
    /// source's look-up made before it (the layer judges a 206 by it, and never overwrites it).
    /// Replacing it by default would lose that. An inner service with validators of its own
    /// is the other case: there the layer must take over, or not be put in front of it.
    ///
    /// ```
    /// use std::convert::Infallible;
    /// use http::{header, request::Parts, Request, Response, StatusCode};
    /// use tower::{service_fn, Layer, ServiceExt};
    /// use tower_conditional::{ConditionalLayer, ETag, Lookup, Validators};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let source = |_: &Parts| async {
    ///     let current = Validators::new().with_etag(ETag::from_static("\"content-hash\""));
    ///     Ok::<_, Infallible>(Lookup::Present(current))
    /// };
    /// // A file server that answers If-Match by its own tag, made of size and time.
    /// let files = service_fn(|request: Request<String>| async move {
    ///     let status = match request.headers().get(header::IF_MATCH) {
    ///         Some(tag) if tag != "\"size-time\"" => StatusCode::PRECONDITION_FAILED,
    ///         _ => StatusCode::OK,
    ///     };
    ///     let response = Response::builder().status(status).header(header::ETAG, "\"size-time\"");
    ///     Ok::<_, Infallible>(response.body(String::from("file")).expect("valid"))
    /// });
    /// let service = ConditionalLayer::new(source).take_over_validators(true).layer(files);
    /// let first = service.clone().oneshot(Request::get("/f").body(String::new())?).await?;
    /// assert_eq!(first.headers()[header::ETAG], "\"content-hash\"");
    /// // The tag the client was given is the one the layer decides by.
    /// let given = first.headers()[header::ETAG].clone();
    /// let checked = Request::get("/f").header(header::IF_MATCH, given).body(String::new())?;
    /// assert_eq!(service.oneshot(checked).await?.status(), StatusCode::OK);
    /// # Ok(())
    /// # }
    /// ```
    pub fn take_over_validators(mut self, on: bool) -> Self {
        self.config.settings.take_over = on;
        self
    }

    /// Answers revalidations (GET and HEAD with `If-None-Match` or `If-Modified-Since`) with
    /// 304 from `cache` when its fresh entry says so, without running the source's query;
    /// invalidates a write's keys unless its response is an error. What it may decide, how late
    /// a 304 can be and how much memory it takes: see [`ValidatorCache`](crate::ValidatorCache).
    /// Off by default. The cache stores what the source answers, so it needs one: a layer from
    /// [`from_responses`](ConditionalLayer::from_responses) never consults it.
    ///
    /// ```
    /// use std::convert::Infallible;
    /// use std::sync::Arc;
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use http::{header, request::Parts, Request, Response, StatusCode};
    /// use tower::{service_fn, Layer, ServiceExt};
    /// use tower_conditional::{ConditionalLayer, ETag, Lookup, ValidatorCache, Validators};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let queries = Arc::new(AtomicUsize::new(0));
    /// let counted = Arc::clone(&queries);
    /// let source = move |_: &Parts| {
    ///     let counted = Arc::clone(&counted);
    ///     async move {
    ///         counted.fetch_add(1, Ordering::SeqCst); // the query, inside the future
    ///         Ok::<_, Infallible>(Lookup::from(Validators::new().with_etag(ETag::from(3u64))))
    ///     }
    /// };
    /// let cache = ValidatorCache::builder(|head: &Parts| Some(head.uri.path().to_owned())).build();
    /// let service = ConditionalLayer::new(source)
    ///     .validator_cache(cache.clone())
    ///     .layer(service_fn(|_: Request<String>| async {
    ///         Ok::<_, Infallible>(Response::new(String::from("v3")))
    ///     }));
    /// for _ in 0..2 {
    ///     let revalidate = Request::get("/doc").header(header::IF_NONE_MATCH, "\"3\"");
    ///     let response = service.clone().oneshot(revalidate.body(String::new())?).await?;
    ///     assert_eq!(response.status(), StatusCode::NOT_MODIFIED);
    /// }
    /// assert_eq!(queries.load(Ordering::SeqCst), 1); // the second was a hit
    /// # Ok(())
    /// # }
    /// ```
    #[cfg(feature = "validator-cache")]
    pub fn validator_cache<K>(mut self, cache: ValidatorCache<K>) -> Self
    where
        K: std::hash::Hash + Eq + Clone + Send + Sync + 'static,
    {
        self.config.cache = Some(Arc::new(cache));
        self
    }
}

impl ConditionalLayer<FromResponse> {
    /// A layer for services that cannot tell their validators before the handler runs (rendered
    /// pages, proxied content): GET and HEAD are evaluated against the `ETag` / `Last-Modified`
    /// of the handler's own response, and a 2xx GET response without an `ETag` is tagged with
    /// the hash of its body (see [`body_hash`](Self::body_hash)).
    ///
    /// Other methods are never evaluated after the handler: a precondition checked then would
    /// come too late, as the write would already have happened. Writes without preconditions
    /// pass through untouched; a write that carries `If-Match`, `If-None-Match` or a valid
    /// `If-Unmodified-Since` gets 412 (it cannot be verified), and one that must carry a
    /// precondition (see [`require_preconditions`](Self::require_preconditions)) gets a 500
    /// naming the configuration error (see [`Lookup::Unknown`](crate::Lookup::Unknown)).
    /// Protect writes with a [`ValidatorSource`](crate::ValidatorSource) instead.
    ///
    /// ```
    /// use std::convert::Infallible;
    /// use http::{header, Request, Response, StatusCode};
    /// use tower::{service_fn, Layer, ServiceExt};
    /// use tower_conditional::ConditionalLayer;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let page = service_fn(|_: Request<String>| async {
    ///     Ok::<_, Infallible>(Response::new(String::from("<h1>rendered</h1>")))
    /// });
    /// let service = ConditionalLayer::from_responses().layer(page);
    ///
    /// let first = service.clone().oneshot(Request::get("/").body(String::new())?).await?;
    /// let etag = first.headers()[header::ETAG].clone();
    /// let again = Request::get("/").header(header::IF_NONE_MATCH, etag).body(String::new())?;
    /// assert_eq!(service.oneshot(again).await?.status(), StatusCode::NOT_MODIFIED);
    /// # Ok(())
    /// # }
    /// ```
    pub fn from_responses() -> Self {
        let mut layer = ConditionalLayer::new(FromResponse { _private: () });
        layer.config.responses_only = true;
        layer
    }
}

impl<V> fmt::Debug for ConditionalLayer<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConditionalLayer")
            .field("source", &std::any::type_name::<V>())
            .field("config", &self.config)
            .finish()
    }
}

impl<S, V: Clone> Layer<S> for ConditionalLayer<V> {
    type Service = Conditional<S, V>;

    fn layer(&self, inner: S) -> Self::Service {
        Conditional {
            inner,
            shared: Arc::new(Shared {
                source: self.source.clone(),
                config: self.config.clone(),
            }),
        }
    }
}
