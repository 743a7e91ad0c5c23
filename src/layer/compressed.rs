//! [`ConditionalCompressionLayer`]: the conditional layer outside tower-http's
//! `CompressionLayer`, the one order in which tags stay true (feature `compression`).

use std::fmt;

use tower::Layer;
use tower_http::compression::predicate::{DefaultPredicate, Predicate};
use tower_http::compression::{Compression, CompressionLayer};

use super::builder::ConditionalLayer;
use super::service::Conditional;

/// [`ConditionalLayer`] outside tower-http's [`CompressionLayer`], with
/// [`encoding_aware_etags`](ConditionalLayer::encoding_aware_etags) on: one layer, so the
/// supported order is the one written. Made by [`ConditionalLayer::compressed`] or
/// [`ConditionalLayer::compressed_with`]. Feature `compression`.
///
/// The service it builds is `Conditional<Compression<S, P>, V>`: tower-http's type is part of
/// this API, so the feature follows tower-http's releases (a tower-http with a new major
/// version means a new release of this crate).
///
/// ```
/// use axum::{routing::get, Router};
/// use http::{header, Request, StatusCode};
/// use tower::ServiceExt;
/// use tower_conditional::ConditionalLayer;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let list = || async { "[\"apples\", \"pears\", \"plums\", \"quinces\", \"sloes\"]" };
/// let app = Router::new()
///     .route("/fruit", get(list))
///     .layer(ConditionalLayer::from_responses().compressed());
///
/// let gzip = || Request::get("/fruit").header(header::ACCEPT_ENCODING, "gzip");
/// let first = app.clone().oneshot(gzip().body(String::new())?).await?;
/// assert_eq!(first.headers()[header::CONTENT_ENCODING], "gzip");
/// let etag = first.headers()[header::ETAG].clone(); // the hash of the gzip bytes, "…-gzip"
/// assert!(etag.to_str()?.ends_with("-gzip\""));
///
/// let again = gzip().header(header::IF_NONE_MATCH, etag).body(String::new())?;
/// assert_eq!(app.oneshot(again).await?.status(), StatusCode::NOT_MODIFIED);
/// # Ok(())
/// # }
/// ```
#[must_use]
pub struct ConditionalCompressionLayer<V, P = DefaultPredicate> {
    conditional: ConditionalLayer<V>,
    compression: CompressionLayer<P>,
}

impl<V> ConditionalLayer<V> {
    /// This layer outside tower-http's `CompressionLayer::new()` (its default predicate: bodies
    /// of at least 32 bytes, not images, event streams or gRPC), with encoding-aware tags on.
    /// See [`ConditionalCompressionLayer`].
    ///
    /// ```
    /// use tower_conditional::ConditionalLayer;
    ///
    /// let layer = ConditionalLayer::from_responses().compressed();
    /// # let _ = layer;
    /// ```
    pub fn compressed(self) -> ConditionalCompressionLayer<V> {
        self.compressed_with(CompressionLayer::new())
    }

    /// This layer outside `compression`, a `CompressionLayer` configured as you like (codings,
    /// level, predicate), with encoding-aware tags on.
    ///
    /// ```
    /// use tower_conditional::ConditionalLayer;
    /// use tower_http::compression::{CompressionLayer, CompressionLevel};
    ///
    /// let layer = ConditionalLayer::from_responses()
    ///     .compressed_with(CompressionLayer::new().quality(CompressionLevel::Fastest));
    /// # let _ = layer;
    /// ```
    pub fn compressed_with<P>(
        self,
        compression: CompressionLayer<P>,
    ) -> ConditionalCompressionLayer<V, P> {
        ConditionalCompressionLayer {
            conditional: self.encoding_aware_etags(true),
            compression,
        }
    }
}

impl<V: Clone, P: Clone> Clone for ConditionalCompressionLayer<V, P> {
    fn clone(&self) -> Self {
        ConditionalCompressionLayer {
            conditional: self.conditional.clone(),
            compression: self.compression.clone(),
        }
    }
}

impl<V, P> fmt::Debug for ConditionalCompressionLayer<V, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConditionalCompressionLayer")
            .field("conditional", &self.conditional)
            .field("compression", &std::any::type_name::<CompressionLayer<P>>())
            .finish()
    }
}

impl<S, V: Clone, P: Predicate> Layer<S> for ConditionalCompressionLayer<V, P> {
    type Service = Conditional<Compression<S, P>, V>;

    fn layer(&self, inner: S) -> Self::Service {
        self.conditional.layer(self.compression.layer(inner))
    }
}
